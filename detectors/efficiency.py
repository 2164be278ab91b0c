"""Conversion efficiency against peers (family ``accounting``, code ACC-101; DOMAIN.md §4.5, §4b).

A power unit turns coal heat into electricity and supplied heat; how well it can is set by its class,
combustion technology and CHP status (a CHP unit's heat supply counts as output). The report carries
its own energy balance — η = (gross generation × 3.6 + heat supplied) / (coal × NCV), GJ out per GJ
in — so coal hidden from the report (a bypass belt, off-book deliveries) shows as an efficiency above
what the unit's peers reach, even when every meter the plant controls was moved with it.

* :func:`efficiency_levels` — each unit-year's whole-year η, robust-z'd against its peers (shared with
  TEL-106, :func:`detectors.telemetry.efficiency_and_cems`).
* :func:`efficiency_above_peers` — ACC-101: a unit-year far above its peers. **Graded ``low``**: honest
  plants differ by a few percent (age, cooling, load; DOMAIN.md §4b), so an efficient plant alone is
  information, never a case. It is evidence where another source points the same way: TEL-106 (the
  CEMS still sees the coal) and a complaint alleging hidden coal (the case policy lets it corroborate
  a complaint, :mod:`carbonqa.cases.policy` ``tip_corroborating_codes``).
"""

from __future__ import annotations

import polars as pl

from carbonqa.contract import GJ_PER_MWH, gross_output_gj
from carbonqa.findings import Finding
from detectors._common import emit, peer_robust_z, score_from_z, wrap

__all__ = ["EFFICIENCY_PEERS", "ETA_MAX", "EfficiencyAbovePeers", "efficiency_above_peers", "efficiency_levels", "run"]

#: Above this overall efficiency (GJ out per GJ of coal heat) a report is not an efficient plant but a
#: data error in its output (a MWh/kWh unit slip): the best CHP units turn about 90 % of fuel heat into
#: power and heat (EU Directive 2012/27/EU Annex II reference overall efficiency 75–80 % for
#: high-efficiency CHP), so hidden coal cannot explain it and its stake is 0 t (the ACC rules own it).
ETA_MAX = 0.95

#: Peer groupings of a unit's conversion efficiency, most specific first: its class, combustion
#: technology and CHP status, then class and CHP status, then CHP status.
EFFICIENCY_PEERS: tuple[tuple[str, ...], ...] = (("unit_class", "_tech", "_chp"), ("unit_class", "_chp"), ("_chp",))


def efficiency_levels(um: pl.DataFrame, *, min_months: int = 6, min_peers: int = 15, floor: float = 0.02) -> pl.DataFrame:
    """Whole-year conversion efficiency of each coal unit, robust-z'd against its peers.

    η = Σ (gross generation × 3.6 + heat supplied) / Σ (coal × NCV) over the unit-year's months with
    output and coal (≥ ``min_months``) — the same η ACC-004's grading uses (``checks.frames``).
    ``ln η`` is z'd against the first of :data:`EFFICIENCY_PEERS` holding ``min_peers`` units, scale
    floor ``floor`` (2 % in ln η: units of one class and technology differ by a few percent with age,
    cooling and load — the order of ``checks.params`` ``ncv_energy_rel_tol`` for one unit's months).

    Args:
        um: :func:`detectors.frames.unit_months` (``combustion_technology`` / ``is_chp`` optional).

    Returns:
        One row per unit-year: ``unit_id, enterprise_id, province_code, year, unit_class, _tech, _chp,
        leff`` (ln η), ``n_eff`` (months), ``emis`` (reported tCO₂) and ``ze, ze_center, ze_scale, ze_n,
        ze_peers`` (:func:`detectors._common.peer_robust_z`) and ``coal_gap_t`` (tCO₂ ≥ 0: reported emissions
        × (η / η_peers − 1), the coal the report lacks at the peers' efficiency; 0 above :data:`ETA_MAX`).
        Gas units and units with fewer months are left out; an empty frame when none is left.
    """
    out_gj = gross_output_gj() if "heat_supply_gj" in um.columns else pl.col("gross_generation_mwh").fill_null(0.0) * GJ_PER_MWH
    heat_in = pl.col("fuel_consumed_t") * pl.col("ncv_gj_per_t")
    tech = pl.col("combustion_technology").cast(pl.String).fill_null("") if "combustion_technology" in um.columns else pl.lit("")
    chp = pl.col("is_chp").cast(pl.Boolean).fill_null(False) if "is_chp" in um.columns else pl.lit(False)
    m = um.filter(~pl.col("is_gas") & (out_gj > 0) & (heat_in > 0)).with_columns(
        out_gj.alias("_out"), heat_in.alias("_in"), tech.alias("_tech"), chp.alias("_chp"))
    units = m.group_by("unit_id", "enterprise_id", "province_code", "year", "unit_class", "_tech", "_chp").agg(
        (pl.col("_out").sum() / pl.col("_in").sum()).log().alias("leff"),
        pl.len().alias("n_eff"),
        pl.col("emissions_tco2").sum().alias("emis"),
    ).filter(pl.col("n_eff") >= min_months)
    if units.height == 0:
        return units
    z = peer_robust_z(units, "leff", EFFICIENCY_PEERS, min_peers=min_peers, floor=floor, out="ze")
    # the coal the report lacks at the peers' efficiency; none above ETA_MAX (a data error in the output)
    return z.with_columns(
        pl.when(pl.col("leff").exp() <= ETA_MAX)
        .then(pl.col("emis") * ((pl.col("leff") - pl.col("ze_center")).exp() - 1.0)).otherwise(0.0).clip(0.0).alias("coal_gap_t"))


def efficiency_above_peers(um: pl.DataFrame, *, z_flag: float = 3.5, min_rel: float = 0.03) -> list[Finding]:
    """ACC-101: a unit-year whose reported efficiency sits far above its peers' (always ``low``).

    Flagged when the robust z of ln η against its peers is ≥ ``z_flag`` (3.5, Iglewicz & Hoaglin's
    modified-z cut) and η exceeds the peers' by ≥ ``min_rel`` (3 %). Score 0.5 at ``z_flag``, 1.0 at
    2×. Stake (tCO₂, ≥ 0): reported emissions × (η / η_peers − 1) — the coal the report would lack
    at the peers' efficiency; 0 when η exceeds :data:`ETA_MAX` (physically impossible: a data error in
    the output, not hidden coal).

    Args:
        um: :func:`detectors.frames.unit_months`.

    Returns:
        One ``low`` finding per flagged unit-year (``observed`` η, ``expected`` the peers' η).
    """
    eff = efficiency_levels(um)
    if eff.height == 0:
        return []
    hit = eff.filter((pl.col("ze") >= z_flag) & ((pl.col("leff") - pl.col("ze_center")) >= min_rel)).sort("unit_id", "year")
    if hit.height == 0:
        return []
    hit = hit.with_columns(
        pl.Series("score", score_from_z(hit["ze"].to_numpy(), z_flag, 2 * z_flag)),
        pl.col("leff").exp().alias("efficiency"), pl.col("ze_center").exp().alias("peer_efficiency"),
        (pl.col("leff") - pl.col("ze_center")).exp().alias("efficiency_vs_peers"),
        pl.col("coal_gap_t").alias("stake_t"),
        pl.lit("low").alias("severity"),
    )
    return emit(
        "ACC-101",
        hit,
        params=["unit_id", "year", "efficiency", "peer_efficiency", "efficiency_vs_peers"],
        evidence=["efficiency", "peer_efficiency", "efficiency_vs_peers", "ze", "ze_n", "ze_peers", "n_eff"],
        observed="efficiency",
        expected="peer_efficiency",
        peers="units of the same class, combustion technology and CHP status (whole-year efficiency)",
    )


#: PyOD-contract estimator around the function-style detector (ARCHITECTURE.md convention 5).
EfficiencyAbovePeers = wrap(efficiency_above_peers, "EfficiencyAbovePeers")


def run(um: pl.DataFrame) -> list[Finding]:
    """All accounting-family detectors on the unit-months frame."""
    return EfficiencyAbovePeers().fit(um).findings()
