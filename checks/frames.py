"""The table frames the rules read: one row per current row of a table, with the facts several rules share.

Every frame keeps the contract columns of its table, the routing columns of the
:class:`~carbonqa.screening.ScreenContext` enrichment (``enterprise_id``, ``province_code``,
``city_name``), an integer row id ``_row`` and derived columns (recomputed emissions, the linked lab
report, bands, stakes) that the rules' specs (:mod:`checks.spec`, one module per family) read in their
violation and finding expressions. What is one rule's own (its violation, its grading) is in its spec,
not here. Cross-table inputs (the lab
report a monthly report cites, the annual report a verification reviews) are joined here in polars:
the context has already resolved "current" versions once (:func:`carbonqa.store.read.current`), so a
polars join is the same on SQLite and PostgreSQL and needs no second SQL notion of "current".

Frames are memoised on the context (``ctx.memo``), so the families share one build per run.

Units: t, GJ/t, tC/GJ, MWh, h, days; rates are fractions; percentages are named ``_pct``.
"""

from __future__ import annotations

import polars as pl

from carbonqa.contract import CO2_PER_C, PROVINCES, gross_output_gj
from carbonqa.screening import ScreenContext
from checks.params import HOURS_PER_DAY, KCAL_PER_KG_TO_GJ_PER_T, RegulationParams, params_for

__all__ = [
    "monthly_frame",
    "lab_frame",
    "verification_frame",
    "annual_frame",
    "telemetry_in_scope",
    "table_frame",
    "materiality",
    "default_gap_stake",
]


def _period_bounds(col: str = "period") -> list[pl.Expr]:
    start = (pl.col(col) + "-01").str.to_date("%Y-%m-%d", strict=False)
    return [start.alias("_month_start"), start.dt.month_end().alias("_month_end")]


def default_gap_stake(p: RegulationParams) -> pl.Expr:
    """(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 in t (0 for non-coal or no fuel).

    OF falls back to the default oxidation rate (and a percent OF is read as a fraction) so the stake
    of a CC rule does not inherit a unit error of another column.
    """
    of = _of_fraction(p)
    gap = (pl.lit(p.default_cc_tc_per_gj) - pl.col("carbon_content_tc_per_gj")).clip(lower_bound=0.0)
    val = gap * pl.col("fuel_consumed_t") * _ncv_gj(p) * of * CO2_PER_C
    return pl.when(pl.col("is_coal") & pl.col("has_fuel")).then(val.fill_null(0.0)).otherwise(0.0)


def _of_fraction(p: RegulationParams) -> pl.Expr:
    of = pl.col("oxidation_rate")
    return pl.when(of > 1.0).then(of / 100.0).otherwise(of).fill_null(p.oxidation_rate_default)


def _cc_fraction() -> pl.Expr:
    """Carbon content with a percent-for-fraction error undone (no CC is above 1 tC/GJ; ×100 gives ~2.6)."""
    cc = pl.col("carbon_content_tc_per_gj")
    return pl.when(cc > 1.0).then(cc / 100.0).otherwise(cc)


def _ncv_gj(p: RegulationParams) -> pl.Expr:
    ncv = pl.col("ncv_gj_per_t")
    return pl.when(pl.col("is_coal") & (ncv > p.ncv_unit_error_above_gj_per_t)).then(
        ncv * KCAL_PER_KG_TO_GJ_PER_T
    ).otherwise(ncv)


def materiality(p: RegulationParams, col: str = "reported_emissions_tco2") -> pl.Expr:
    """EU AVR materiality of a report in t: 5 % of emissions, 2 % above 500 kt (see params sources)."""
    e = pl.col(col).fill_null(0.0)
    return pl.when(e > p.materiality_large_above_t).then(e * p.materiality_rel_large).otherwise(e * p.materiality_rel)


def monthly_frame(ctx: ScreenContext) -> pl.DataFrame:
    """Monthly reports of ``ctx`` with the derived columns of the monthly suite.

    Returns:
        One row per current monthly report in scope with contract columns, ``enterprise_id``,
        ``province_code``, ``city_name``, unit registry columns (``unit_class``, ``capacity_mw``,
        ``coal_type``) and: ``_row``, ``year``, ``hours_in_month``, ``is_coal``, ``has_fuel``,
        ``unit_error``, ``e_recomputed_t``, ``e_corrected_t``, ``identity_abs_gap_t``,
        ``identity_tol_t``, ``generation_max_mwh``, ``deposit_days``, ``lab_found``, ``lab_matches``,
        ``lab_unit_id``, ``lab_period``, ``lab_enterprise_id``, ``lab_cc``, ``lab_cc_rel_gap``,
        ``cc_default_abs_gap``, ``cc_r6``, ``ncv_lo``/``ncv_hi``, ``heat_of_gj``, ``stake_default_t``,
        ``is_cn`` (a GB/T 2260 province: Chinese deadlines and defaults bind), ``cc_measured`` / ``cc_default``
        (a coal month with fuel whose CC basis is measured / default — default only where Chinese defaults
        bind), ``ncv_range_excess`` (GJ/t outside the coal type's band), ``ncv_eff_dev``,
        ``ncv_energy_consistent``.
    """
    return ctx.memo("checks.monthly_frame", lambda: _monthly_frame(ctx))


def _monthly_lookups(nat: ScreenContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The national lookups a monthly frame joins, built once per national context ``nat`` (cached on it): ``(units, labs)``.

    ``units``: ``unit_id, unit_class, capacity_mw, coal_type, _tech, _chp``; ``labs``: one row per
    ``lab_report_id`` with ``lab_unit_id, lab_enterprise_id, lab_period, lab_cc, lab_found``.
    """

    def build() -> tuple[pl.DataFrame, pl.DataFrame]:
        units = nat.units().select("unit_id", "unit_class", "capacity_mw", "coal_type",
                                   pl.col("combustion_technology").cast(pl.String).fill_null("").alias("_tech"),
                                   pl.col("is_chp").cast(pl.Boolean).fill_null(False).alias("_chp"))
        labs = nat.lab_reports().select(
            "lab_report_id",
            pl.col("unit_id").alias("lab_unit_id"),
            pl.col("enterprise_id").alias("lab_enterprise_id"),
            pl.col("sample_period").alias("lab_period"),
            (pl.col("carbon_ar_pct") / 100.0 / pl.col("ncv_ar_gj_per_t")).alias("lab_cc"),
            pl.lit(True).alias("lab_found"),
        ).unique("lab_report_id")
        return units, labs

    return nat.memo("checks.monthly_lookups", build)


def _monthly_frame(ctx: ScreenContext) -> pl.DataFrame:
    p = params_for(ctx.year)
    units, labs = _monthly_lookups(ctx.national())
    m = ctx.monthly_reports().join(units, on="unit_id", how="left").join(labs, on="lab_report_id", how="left")
    grid = ctx.grid_factor_tco2_per_mwh
    fuel, ncv, cc, of = (pl.col(c) for c in ("fuel_consumed_t", "ncv_gj_per_t", "carbon_content_tc_per_gj", "oxidation_rate"))
    purchased = pl.col("purchased_electricity_mwh").fill_null(0.0) * grid
    m = m.with_columns(
        *_period_bounds(),
        pl.col("unit_class").fill_null("").str.starts_with("coal").alias("is_coal"),
        pl.col("province_code").is_in(list(PROVINCES)).fill_null(False).alias("is_cn"),
        (fuel.fill_null(0.0) > 0).alias("has_fuel"),
        pl.lit(ctx.year).alias("year"),
        pl.col("lab_found").fill_null(False),
    ).with_columns(
        (pl.col("_month_end").dt.day().cast(pl.Float64) * HOURS_PER_DAY).alias("hours_in_month"),
        ((pl.col("is_coal") & (ncv > p.ncv_unit_error_above_gj_per_t)) | (of > 1.0) | (cc > 1.0))
        .fill_null(False).alias("unit_error"),
        (pl.when(fuel.fill_null(0.0) == 0).then(0.0).otherwise(fuel * ncv * cc * of * CO2_PER_C) + purchased)
        .alias("e_recomputed_t"),
        (pl.when(fuel.fill_null(0.0) == 0).then(0.0).otherwise(fuel * _ncv_gj(p) * _cc_fraction() * _of_fraction(p) * CO2_PER_C)
         + purchased).alias("e_corrected_t"),
        (pl.col("submitted_at").dt.date() - pl.col("_month_end")).dt.total_days().cast(pl.Float64).alias("deposit_days"),
        (pl.col("lab_found") & (pl.col("lab_enterprise_id") == pl.col("enterprise_id")).fill_null(False)
         & (pl.col("lab_period") == pl.col("period")).fill_null(False)).alias("lab_matches"),
        ((cc - pl.col("lab_cc")).abs() / pl.col("lab_cc")).alias("lab_cc_rel_gap"),
        (cc - p.default_cc_tc_per_gj).abs().alias("cc_default_abs_gap"),
        cc.round(6).alias("cc_r6"),
        *_ncv_band(p),
    ).with_columns(
        (pl.col("emissions_tco2") - pl.col("e_recomputed_t")).abs().alias("identity_abs_gap_t"),
        pl.max_horizontal(pl.lit(p.identity_abs_tolerance_t), pl.col("e_recomputed_t") * p.identity_rel_tolerance)
        .alias("identity_tol_t"),
        (pl.col("capacity_mw") * pl.col("hours_in_month") * p.generation_capacity_factor_max).alias("generation_max_mwh"),
        (fuel * _ncv_gj(p) * _of_fraction(p)).alias("heat_of_gj"),
        default_gap_stake(p).alias("stake_default_t"),
    )
    coal_fuel = pl.col("is_coal") & pl.col("has_fuel")
    # Chinese regulatory values (default CC, deposit deadline) bind only units under GB/T 2260 provinces;
    # bundles adapted from foreign data (ISO 3166-2 codes, CONTRACT.md §2) carry IPCC defaults, no deadline
    m = m.with_columns(
        (coal_fuel & (pl.col("carbon_content_basis") == "measured").fill_null(False)).alias("cc_measured"),
        (coal_fuel & (pl.col("carbon_content_basis") == "default").fill_null(False) & pl.col("is_cn")).alias("cc_default"),
        _ncv_range_excess(p),
    )
    m = _ncv_energy_balance(m, p, _efficiency_peers(ctx.national()))
    return m.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def _ncv_band(p: RegulationParams) -> tuple[pl.Expr, pl.Expr]:
    """``ncv_lo``, ``ncv_hi``: the registered coal type's NCV band widened by ``ncv_range_margin_gj_per_t`` (GJ/t; null: no band)."""
    band = p.ncv_range_gj_per_t
    return (pl.col("coal_type").replace_strict({k: v[0] - p.ncv_range_margin_gj_per_t for k, v in band.items()},
                                               default=None, return_dtype=pl.Float64).alias("ncv_lo"),
            pl.col("coal_type").replace_strict({k: v[1] + p.ncv_range_margin_gj_per_t for k, v in band.items()},
                                               default=None, return_dtype=pl.Float64).alias("ncv_hi"))


def _ncv_range_excess(p: RegulationParams) -> pl.Expr:
    """``ncv_range_excess``: GJ/t of NCV outside the coal type's band (0 inside; null: no coal, a unit error or no band).

    Needs ``is_coal``, ``ncv_lo``, ``ncv_hi`` and ``fuel_consumed_t`` / ``ncv_gj_per_t`` of a monthly report.
    """
    ncv = pl.col("ncv_gj_per_t")
    coal_fuel = pl.col("is_coal") & (pl.col("fuel_consumed_t").fill_null(0.0) > 0)
    return (pl.when(coal_fuel & (ncv <= p.ncv_unit_error_above_gj_per_t) & pl.col("ncv_lo").is_not_null())
            .then(pl.max_horizontal(pl.col("ncv_lo") - ncv, ncv - pl.col("ncv_hi"), pl.lit(0.0)))
            .alias("ncv_range_excess"))


#: ACC-004's peer groups: units of the same class, combustion technology and CHP status (a CHP unit's heat
#: supply raises its η), across the whole country.
EFFICIENCY_PEER_KEYS = ("unit_class", "_tech", "_chp")


def _efficiency_peers(nat: ScreenContext) -> pl.DataFrame:
    """ACC-004's national peer reference: per peer group, the whole-year η of its units burning in-band coal.

    Args:
        nat: the year's national context (``ctx.national()``; built once per night with ``nat.memo``).

    Returns:
        One row per :data:`EFFICIENCY_PEER_KEYS` group: ``_peer_top`` (the highest over its units of the
        unit's η over its in-band months, Σ output / Σ heat in, for units with ≥ 3 such months: what the
        technology reaches), ``_peer_n`` (those units) and ``_peer_months`` (their in-band months).

    National, not per province: a province has too few in-band units of a kind for a plant burning an
    off-band coal all year (high-ash, low-rank: DOMAIN.md §4b) to be judged against, and every partition of
    a night must judge such a plant against the same peers. Whole years, not months: a unit's level
    differs from its peers' more than its months differ from each other, and a CHP unit's heating months
    raise its η (heat supplied counts as output) — a month against the peers' months would read both as
    a written-down NCV.
    """

    def build() -> pl.DataFrame:
        p = params_for(nat.year)
        units, _ = _monthly_lookups(nat)
        keys = list(EFFICIENCY_PEER_KEYS)
        m = (nat.monthly_reports().select("unit_id", "fuel_consumed_t", "ncv_gj_per_t", "gross_generation_mwh", "heat_supply_gj")
             .join(units.select("unit_id", "unit_class", "coal_type", "_tech", "_chp"), on="unit_id", how="left")
             .with_columns(pl.col("unit_class").fill_null("").str.starts_with("coal").alias("is_coal"), *_ncv_band(p))
             .with_columns(_ncv_range_excess(p), *_energy_terms())
             .filter((pl.col("ncv_range_excess") == 0).fill_null(False) & pl.col("_eff").is_not_null()))
        per_unit = (m.group_by("unit_id", *keys)
                    .agg((pl.col("_out_gj").sum() / pl.col("_in_gj").sum()).alias("_eff_u"), pl.len().alias("_months"))
                    .filter(pl.col("_months") >= 3))
        return per_unit.group_by(keys).agg(
            pl.col("_eff_u").max().alias("_peer_top"),
            pl.len().cast(pl.UInt32).alias("_peer_n"), pl.col("_months").sum().cast(pl.UInt32).alias("_peer_months"))

    return nat.memo("checks.efficiency_peers", build)


def _energy_terms() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """``_out_gj``, ``_in_gj`` and ``_eff`` of a monthly report where it has both output and coal, else null.

    ``_out_gj``: :func:`carbonqa.contract.gross_output_gj`; ``_in_gj``: coal × NCV (GJ); ``_eff``: η, their
    ratio (GJ out per GJ in).
    """
    out_gj, heat_in = gross_output_gj(), pl.col("fuel_consumed_t") * pl.col("ncv_gj_per_t")
    ok = (out_gj > 0) & (heat_in > 0)
    return (pl.when(ok).then(out_gj).alias("_out_gj"), pl.when(ok).then(heat_in).alias("_in_gj"),
            pl.when(ok).then(out_gj / heat_in).alias("_eff"))


def _ncv_energy_balance(m: pl.DataFrame, p: RegulationParams, peers: pl.DataFrame) -> pl.DataFrame:
    """Add ``ncv_eff_dev`` and ``ncv_energy_consistent`` (ACC-004 grading): does an off-band NCV keep the energy balance.

    A month's conversion efficiency η = (gross generation × 3.6 + heat supplied) / (coal × NCV), GJ out per
    GJ in, against a reference η: an honest coal outside the registered type's band is burnt in
    proportion — more tonnes of a leaner coal for the same output — so η holds; an NCV written down with
    the tonnes unchanged **raises** η by the same factor (one-sided: a lower η — a partial or low-load
    month — moves no emissions down). The reference is the median η of the unit-year's months whose NCV
    lies within the band (≥ 3 of them): consistent while η / reference − 1 ≤ max(``ncv_energy_rel_tol``,
    3 robust σ of those months' η). A unit that burns an off-band coal all year (a high-ash or low-rank
    plant, DOMAIN.md §4b) has no such months: its whole-year η (Σ output / Σ heat in) is then judged
    against its **national peers** (``peers``, :func:`_efficiency_peers`: units of the same class,
    combustion technology and CHP status, ≥ 3 units with ≥ 30 in-band months), consistent while
    η_year / the best peer's η − 1 ≤ ``ncv_energy_rel_tol`` — physics (an efficiency the technology
    reaches) instead of the unit's own history. Not against the peers' median or a percentile: an
    efficient plant is no evidence by itself (ACC-101 grades exactly that ``low``), and an honest unit
    lies above the best of n peers with probability 1/(n + 1); only an η beyond what every peer reaches
    says the NCV was written down. Null η (no output, no coal) is not consistent.

    Args:
        m: monthly frame with ``unit_id, year, ncv_range_excess``, the η inputs and the peer keys.
        p: the year's regulation parameters.
        peers: :func:`_efficiency_peers` of the night's national context.
    """
    in_band = (pl.col("ncv_range_excess") == 0).fill_null(False)
    keys = ["unit_id", "year"]
    ref_ok = in_band & pl.col("_eff").is_not_null()
    m = m.with_columns(*_energy_terms()).with_columns(
        pl.col("_eff").filter(ref_ok).median().over(keys).alias("_eff_ref"),
        ref_ok.sum().over(keys).alias("_eff_n"),
        (pl.col("_out_gj").sum().over(keys) / pl.col("_in_gj").sum().over(keys)).alias("_eff_year"),
    ).with_columns(
        ((pl.col("_eff") / pl.col("_eff_ref") - 1.0).abs().filter(ref_ok).median().over(keys) * 1.4826).alias("_eff_sd"),
    ).join(peers, on=list(EFFICIENCY_PEER_KEYS), how="left", nulls_equal=True, maintain_order="left")
    own = pl.col("_eff_n") >= 3
    peer = ~own & (pl.col("_peer_n").fill_null(0) >= 3) & (pl.col("_peer_months").fill_null(0) >= 30)
    m = m.with_columns(
        pl.when(own).then(pl.col("_eff") / pl.col("_eff_ref") - 1.0)
        .when(peer & pl.col("_eff").is_not_null()).then(pl.col("_eff_year") / pl.col("_peer_top") - 1.0).alias("ncv_eff_dev"),
        pl.when(own).then(pl.col("_eff_sd")).otherwise(0.0).alias("_sd"),
    )
    ok = (own | peer) & (pl.col("ncv_eff_dev") <= pl.max_horizontal(pl.lit(p.ncv_energy_rel_tol), pl.col("_sd") * 3.0))
    return m.with_columns(ok.fill_null(False).alias("ncv_energy_consistent")).drop(
        "_eff", "_out_gj", "_in_gj", "_eff_ref", "_eff_n", "_eff_year", "_eff_sd",
        "_peer_top", "_peer_n", "_peer_months", "_sd")


def lab_frame(ctx: ScreenContext) -> pl.DataFrame:
    """Lab reports of ``ctx`` with the derived columns of the lab suite and the stakes of the reports citing them.

    Returns:
        Contract columns + ``enterprise_id``/``province_code``/``city_name`` + ``_row``,
        ``car_recomputed_pct``, ``car_abs_gap_pct``, ``linked_heat_of_gj`` (Σ FC × NCV × OF of the
        citing monthly reports, GJ), ``stake_default_t`` (Σ of their default-gap stakes, t).
    """
    return ctx.memo("checks.lab_frame", lambda: _lab_frame(ctx))


def _lab_frame(ctx: ScreenContext) -> pl.DataFrame:
    m = monthly_frame(ctx)
    links = (
        m.filter(pl.col("lab_report_id").is_not_null())
        .group_by("lab_report_id")
        .agg(pl.col("heat_of_gj").sum().alias("linked_heat_of_gj"), pl.col("stake_default_t").sum(),
             # every month citing the report keeps the unit's conversion efficiency (ACC-004's energy balance)
             pl.col("ncv_energy_consistent").fill_null(False).all().alias("linked_energy_ok"))
    )
    p = params_for(ctx.year)
    coal = ctx.national().units().select("unit_id", "coal_type")
    # a unit whose coal type is unknown (GCPT "unknown", or missing) may burn any of them: the widest band
    bands = [p.cad_range_pct, *p.cad_range_by_coal_pct.values()]
    widest = (min(b[0] for b in bands), max(b[1] for b in bands))
    lows = {k: v[0] for k, v in p.cad_range_by_coal_pct.items()} | {"unknown": widest[0], "": widest[0]}
    highs = {k: v[1] for k, v in p.cad_range_by_coal_pct.items()} | {"unknown": widest[1], "": widest[1]}
    cad_lo = pl.col("coal_type").fill_null("").replace_strict(lows, default=p.cad_range_pct[0], return_dtype=pl.Float64)
    cad_hi = pl.col("coal_type").fill_null("").replace_strict(highs, default=p.cad_range_pct[1], return_dtype=pl.Float64)
    lab = ctx.lab_reports().join(coal, on="unit_id", how="left").join(links, on="lab_report_id", how="left").with_columns(
        cad_lo.alias("cad_lo"),
        cad_hi.alias("cad_hi"),
        pl.col("linked_heat_of_gj").fill_null(0.0),
        pl.col("stake_default_t").fill_null(0.0),
        pl.col("linked_energy_ok").fill_null(False),
        (pl.col("carbon_ad_pct") * (100.0 - pl.col("total_moisture_pct")) / (100.0 - pl.col("moisture_ad_pct")))
        .alias("car_recomputed_pct"),
        pl.col("sample_period").str.slice(0, 4).cast(pl.Int64, strict=False).alias("year"),
    ).with_columns(
        (pl.col("carbon_ar_pct") - pl.col("car_recomputed_pct")).abs().alias("car_abs_gap_pct"),
    )
    lab = lab.join(qr_patterns(ctx), on=["lab_agency_id", "enterprise_id", "year"], how="left").with_columns(
        pl.col("qr_pattern").fill_null(False), pl.col("qr_missing_n").fill_null(0))
    return lab.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def qr_patterns(ctx: ScreenContext) -> pl.DataFrame:
    """Per (lab, enterprise, year) of the national lab table: :func:`qr_pattern_frame` (LAB-004).

    Computed over the national lab table (labs serve several provinces), with the parameters of
    ``ctx.year``, once per national context (cached on ``ctx.national()``: every province's lab frame joins it).
    """
    nat = ctx.national()
    p = params_for(nat.year)
    return nat.memo("checks.qr_patterns", lambda: qr_pattern_frame(nat.lab_reports(), min_reports=p.lab_pattern_min_reports,
                                                                   max_fdr=p.qr_pattern_max_fdr))


def qr_pattern_frame(lab: pl.DataFrame, *, min_reports: int, max_fdr: float) -> pl.DataFrame:
    """Per (lab, enterprise, year): whether the enterprise's missing QR codes are its own pattern (LAB-004).

    ``lab``: lab reports (``lab_agency_id``, ``enterprise_id``, ``sample_period``,
    ``has_anti_counterfeit_code``). With ``n`` reports of the enterprise at that lab, ``m`` of them
    without a QR code, and the lab's omission rate on its *other* clients ``q = (m_other + 1) /
    (n_other + 2)`` (Laplace-smoothed), the missing codes are a pattern when ``m ≥ min_reports`` and
    the binomial tail ``P(X ≥ m | n, q)``, Benjamini–Hochberg adjusted over all (lab, enterprise)
    tails of the year (``qr_tail_q``), is below ``max_fdr``: a lab that omits codes for everyone is a
    lab-quality matter, deletion aimed at one client is not, and the country's ~1 500 tails must not
    yield chance 'patterns' (sources: ``checks.params`` ``lab_pattern_min_reports``,
    ``qr_pattern_max_fdr``).

    Returns:
        ``lab_agency_id, enterprise_id, year, qr_missing_n, qr_lab_other_rate, qr_tail_p, qr_tail_q,
        qr_pattern``.
    """
    from scipy.stats import binom, false_discovery_control

    lab = lab.filter(pl.col("lab_agency_id").is_not_null()).with_columns(
        pl.col("sample_period").str.slice(0, 4).cast(pl.Int64, strict=False).alias("year"),
        (~pl.col("has_anti_counterfeit_code").fill_null(True)).alias("_miss"))
    per = lab.group_by("lab_agency_id", "enterprise_id", "year").agg(
        pl.len().alias("n"), pl.col("_miss").sum().alias("qr_missing_n"))
    tot = per.group_by("lab_agency_id", "year").agg(pl.col("n").sum().alias("n_lab"),
                                                    pl.col("qr_missing_n").sum().alias("m_lab"))
    per = per.join(tot, on=["lab_agency_id", "year"], how="left").with_columns(
        ((pl.col("m_lab") - pl.col("qr_missing_n") + 1) / (pl.col("n_lab") - pl.col("n") + 2)).alias("qr_lab_other_rate"))
    tail = binom.sf(per["qr_missing_n"].cast(pl.Int64).to_numpy() - 1, per["n"].to_numpy(), per["qr_lab_other_rate"].to_numpy())
    per = per.with_columns(pl.Series("qr_tail_p", tail, dtype=pl.Float64)).with_columns(
        pl.col("qr_tail_p").map_batches(lambda s: pl.Series(false_discovery_control(s.to_numpy(), method="bh")),
                                        return_dtype=pl.Float64).over("year").alias("qr_tail_q"))
    return per.with_columns(
        ((pl.col("qr_missing_n") >= min_reports) & (pl.col("qr_tail_q") < max_fdr)).alias("qr_pattern")).select(
        "lab_agency_id", "enterprise_id", "year", "qr_missing_n", "qr_lab_other_rate", "qr_tail_p", "qr_tail_q",
        "qr_pattern")


def annual_frame(ctx: ScreenContext) -> pl.DataFrame:
    """Annual reports of ``ctx.year`` in scope (enriched with routing columns)."""
    return ctx.annual_reports((ctx.year,))


def verification_frame(ctx: ScreenContext) -> pl.DataFrame:
    """Verifications of ``ctx.year`` and the year before, joined to the same enterprise-year's annual report.

    The year before is included because verification follows the reporting year (reviews of year
    ``y`` run in ``y + 1``): the screening of ``y`` sees the last completed cycle. Findings carry the
    verification's own year, so a later run that sees it again yields the same finding id.

    Returns:
        Contract columns + routing + ``_row``, ``reported_emissions_tco2``, ``preparer_agency_id``,
        ``gap_t`` (|verified − reported|), ``gap_allowed_t`` (min(1,000 t, 10 % of reported)),
        ``review_days`` (completed − started), ``review_date`` (started, else completed, else 1 June
        of the next year), ``materiality_t``.
    """
    return ctx.memo("checks.verification_frame", lambda: _verification_frame(ctx))


def _verification_frame(ctx: ScreenContext) -> pl.DataFrame:
    p = params_for(ctx.year)
    ann = (
        ctx.national().annual_reports()
        .sort("submitted_at", nulls_last=False)
        .unique(["enterprise_id", "year"], keep="last")
        .select("enterprise_id", "year", "reported_emissions_tco2", "preparer_agency_id")
    )
    v = ctx.verifications().join(ann, on=["enterprise_id", "year"], how="left")
    v = v.with_columns(
        pl.coalesce("review_started", "review_completed", pl.date(pl.col("year") + 1, 6, 1)).alias("review_date"),
        (pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2")).abs().alias("gap_t"),
        pl.min_horizontal(pl.lit(p.verifier_gap_abs_t), pl.col("reported_emissions_tco2") * p.verifier_gap_rel)
        .alias("gap_allowed_t"),
        (pl.col("review_completed") - pl.col("review_started")).dt.total_days().cast(pl.Float64).alias("review_days"),
        materiality(p).alias("materiality_t"),
    )
    return v.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def telemetry_in_scope(ctx: ScreenContext) -> pl.DataFrame | None:
    """Monthly telemetry of ``ctx``'s scope, or ``None`` when there is none.

    The national aggregate (one lake pass per night, shared with the detectors through the national
    context), restricted to the partition's lake provinces (or its units, for a frame without
    ``province_code``).
    """
    try:
        t = ctx.national().telemetry_monthly()
    except (ImportError, FileNotFoundError):
        return None
    if t is not None and ctx.provinces is not None:
        t = (t.filter(pl.col("province_code").is_in(list(ctx.provinces))) if "province_code" in t.columns
             else t.join(ctx.units().select("unit_id"), on="unit_id", how="semi"))
    if t is None or t.height == 0:
        return None
    return t


def table_frame(ctx: ScreenContext, table: str) -> pl.DataFrame:
    """The frame of ``table`` (a name of :data:`checks.spec.TABLE_FRAMES`) for ``ctx``.

    Raises:
        KeyError: ``table`` has no table frame.
    """
    fns = {"monthly_reports": monthly_frame, "lab_reports": lab_frame, "verifications": verification_frame}
    return fns[table](ctx)
