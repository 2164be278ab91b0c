"""Telemetry reconciliation (family ``telemetry``, codes TEL-101…TEL-106; DOMAIN.md §4.5).

Reported monthly quantities against monthly aggregates of plant telemetry
(:func:`carbonqa.lake.monthly_telemetry`). Honest sources disagree by a few percent and coverage has
gaps (real EIA-923 fuel vs EPA CEMS heat input run 0.98–1.17× at one plant, and 0.18× where not all
units carry CEMS, ``carbonqa/data/real/README.md``), so nothing here uses a fixed tolerance: the band of
each unit is **learned from its own months** (median log ratio, MAD) with a floor from its peers.

* :class:`TelemetryReconciliation` — per unit and quantity (generation, coal, hours, CEMS CO₂):
  TEL-101 a month whose ratio leaves the unit's own band (generation/coal/hours); TEL-102 a unit whose
  whole-year ratio sits far from its peers' (same unit class); TEL-104 the same two tests for CEMS CO₂
  against the reported (accounting) emissions.
  TEL-101 also carries a **step** in the unit's own ratio: a run of months whose ratio shifted
  against the rest of the unit's months (a mid-year change of what is reported, invisible to the
  median band when the shifted run is half the year or more). The run may touch either end of the
  year (a step) or lie inside it (an under-report of February–November leaves one honest month at
  each end). It is tested like CC-102: the run with the largest two-sample t, with the unit's
  month-to-month noise (robust: median |Δ| × 1.4826/√2, unaffected by one step) floored by its
  peers'. Which side is the suspect one: when coal and CO₂ shifted together (the report moved
  against two independent meters, belt scale and CEMS — reported CO₂ is computed from reported
  coal, a recalibrated meter moves one ratio), the side where the report is low; otherwise the side
  farther from the peers' level.
* :func:`output_without_load` — TEL-103: output reported for a month the (fully covering) telemetry
  shows without load.
* :func:`corroborated_shortfall` — TEL-105: coal below the belt scales *and* emissions below the CEMS
  at one enterprise, each within its honest spread alone, together beyond it (Stouffer of two
  independent instruments).
* :func:`efficiency_and_cems` — TEL-106: a reported efficiency above peers of the same class, technology
  and CHP status *and* emissions below the CEMS (coal under-reported with its belt scales: the energy
  balance and the stack, two independent traces; Stouffer).

Only months whose telemetry covers ≥ 90 % of the month's hours are compared (partial coverage is an
honest gap, not a suspicion), and a month with a logger gap is read as the interval of ratios the gap
leaves (idle or running through it), tested at its point nearest the unit's band. Stake is
direction-aware: only a deviation in the direction that pays (coal or CO₂ reported *below*
telemetry; generation or hours reported *above*) carries tonnes; the other direction carries no tonnes and is capped ``medium`` for a month or step of generation, coal or
hours (a report that disagrees with its own meters is still wrong data: the reviewer should see it,
but it does not lead the ranking) and ``low`` for a whole-year level or CEMS CO₂ (the honest per-unit
meter bias of real data, CEMS vs EIA-923 fuel heat 0.98–1.17×). A
unit-month where *every* telemetry quantity falls short of the report together is a
metering/coverage shortfall, not a report anomaly, and is capped ``low`` — provided the load side
(generation or hours) is among them: coal and CO₂ alone moving together is the report's fuel moving.
One month of the CEMS alone (the belt scale of the month not moving with it, no other month of the
unit's CEMS off the same way, ``|z| < z_sure``: ``cems_alone``) is also ``low``: the CEMS is the noisiest
of the meters, and a report whose coal moved shows on both; several such months, or one far out, stay
graded (a carbon content lowered in some months moves the CO₂ ratio only).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from carbonqa.contract import period_hours
from carbonqa.findings import Finding
from detectors._common import FrameDetector, diff_sigma, emit, peer_robust_z, score_from_z, step_se, wrap
from detectors.efficiency import efficiency_levels

__all__ = ["CorroboratedShortfall", "EfficiencyAndCems", "OutputWithoutLoad", "QUANTITIES", "corroborated_shortfall", "efficiency_and_cems", "TelemetryReconciliation", "output_without_load", "reconcile_frame", "run"]

#: (name, reported column, telemetry column, paying direction of log(report/telemetry): -1 = under-report pays)
QUANTITIES: tuple[tuple[str, str, str, int], ...] = (
    ("generation", "gross_generation_mwh", "generation_mwh", +1),
    ("coal", "fuel_consumed_t", "coal_feed_t", -1),
    ("hours", "operating_hours", "hours_with_load", +1),
    ("co2", "emissions_tco2", "cems_co2_t", -1),
)
MIN_COVERAGE = 0.9


def reconcile_frame(um: pl.DataFrame, tel: pl.DataFrame) -> pl.DataFrame:
    """Long frame of report/telemetry log ratios: one row per unit × period × quantity.

    Columns: keys, ``quantity``, ``reported``, ``telemetry`` (÷ coverage: extrapolated to the whole
    month), ``lr`` = ln(reported / telemetry), ``lr_lo`` / ``lr_hi`` (the interval a logger gap leaves:
    telemetry between the measured sum — the unit idle through the gap — and the measured sum plus the
    gap's hours at the unit's average rate per running hour — the unit running through it; equal to
    ``lr`` for a fully covered month),
    ``direction``, ``coverage`` (hours covered / hours in month; 1.0 when the lake gives no hours),
    ``t_per_unit`` (tCO₂ per unit of the quantity: emissions / quantity — to turn a deviation into
    tonnes), ``unit_class``.
    """
    t = tel.select([c for c in ("unit_id", "period", "generation_mwh", "coal_feed_t", "cems_co2_t", "hours_with_load", "hours_covered") if c in tel.columns])
    df = um.join(t, on=["unit_id", "period"], how="inner")
    mh = period_hours("period")
    cov = (pl.col("hours_covered") / mh).fill_null(1.0) if "hours_covered" in df.columns else pl.lit(1.0)
    df = df.with_columns(cov.alias("coverage"), (mh * (1.0 - cov.clip(0.0, 1.0))).alias("_gap_h"))
    run_h = pl.col("hours_with_load").cast(pl.Float64) if "hours_with_load" in df.columns else None
    parts = []
    for name, rep, tcol, direction in QUANTITIES:
        if rep not in df.columns or tcol not in df.columns:
            continue
        parts.append(
            df.select(
                "unit_id", "enterprise_id", "province_code", "year", "period", "unit_class", "coverage",
                pl.lit(name).alias("quantity"),
                pl.col(rep).cast(pl.Float64).alias("reported"),
                pl.col(tcol).cast(pl.Float64).alias("telemetry"),
                # the gap run through at the average rate per running hour (hours: one per gap hour)
                (pl.col(tcol).cast(pl.Float64) + pl.col("_gap_h") * (
                    pl.lit(1.0) if tcol == "hours_with_load" or run_h is None
                    else pl.when(run_h > 0).then(pl.col(tcol).cast(pl.Float64) / run_h).otherwise(0.0))).alias("_tel_hi"),
                pl.lit(direction).alias("direction"),
                (pl.col("emissions_tco2") / pl.col(rep)).cast(pl.Float64).alias("t_per_unit"),
            )
        )
    if not parts:
        return pl.DataFrame()
    out = pl.concat(parts)
    # a month covered ≥ 90 % is compared with its telemetry extrapolated to the whole month (a day's
    # logger gap is 3 % of the month: the size of the honest differences this module must tolerate)
    return out.filter((pl.col("reported") > 0) & (pl.col("telemetry") > 0) & (pl.col("coverage") >= MIN_COVERAGE)).with_columns(
        (pl.col("reported") / pl.col("_tel_hi")).log().alias("lr_lo"),
        (pl.col("reported") / pl.col("telemetry")).log().alias("lr_hi"),
        (pl.col("telemetry") / pl.col("coverage").clip(MIN_COVERAGE, 1.0)).alias("telemetry"),
    ).with_columns((pl.col("reported") / pl.col("telemetry")).log().alias("lr")).drop("_tel_hi")


def unit_levels(f: pl.DataFrame, *, floor_level: float) -> pl.DataFrame:
    """Whole-year report/telemetry level of each unit × quantity, robust-z'd against its peers.

    ``f``: :func:`reconcile_frame` rows (already restricted to the units with enough months). One row
    per unit × quantity: ``m_u`` (median ``lr``), ``n_u``, summed ``reported`` / ``telemetry``, ``emis``
    (tCO₂ behind the reported quantity) and the ``zl*`` columns of :func:`peer_robust_z` against units
    of the same class (≥ 15), else all units, for that quantity (floor ``floor_level``). Shared by
    TEL-102/104 (level) and TEL-105.
    """
    emis = pl.col("emissions_tco2_sum") if "emissions_tco2_sum" in f.columns else (pl.col("t_per_unit") * pl.col("reported")).sum()
    units = f.group_by(["unit_id", "enterprise_id", "province_code", "year", "unit_class", "quantity", "direction"]).agg(
        pl.col("lr").median().alias("m_u"), pl.len().alias("n_u"), pl.col("reported").sum(), pl.col("telemetry").sum(), emis.alias("emis"),
    )
    return peer_robust_z(units, "m_u", (["unit_class", "quantity"], ["quantity"]), min_peers=15, floor=floor_level, out="zl")


class TelemetryReconciliation(FrameDetector):
    """TEL-101 / TEL-102 / TEL-104: report-vs-telemetry ratios against the unit's own band and its peers.

    Parameters:
        z_month: a month's robust z against its unit's band that flags it (4.0).
        z_level: a unit's median ratio's robust z against peers (same class, quantity) that flags it.
        z_sure: z giving confidence 1.0 (month and level alike).
        min_rel: smallest deviation flagged, on the log scale (0.03 ≈ 3 %: honest sources differ by a
            few percent, DOMAIN.md §4.5).
        floor_month: minimal within-unit scale on the log scale (0.01), raised to half the peers'
            median within-unit scale; floor_level: minimal between-unit scale (0.02).
        min_months: months a unit needs before its own band is trusted.
        t_step: two-sample t of a run in the unit's own ratio that flags it (5.0, as CC-102: with the
            ≈ 50 candidate steps and interior runs of a 12-month year still Bonferroni-safe under normal
            noise, 50 × 5.7e-7 ≈ 3e-5 per unit and quantity).
        min_side: months needed on each side of a step, and inside an interior run (3; shorter runs
            are the month test's job).
        min_rest: months needed outside an interior run (2: one before it and one after it).
        t_partner: t of the partner quantity (coal ↔ CO₂) at the same split that makes the meters
            agree (3.0), so the report — not a meter — moved (see :meth:`_steps`).

    ``fit(frame)`` takes :func:`reconcile_frame` output; ``keys_`` holds one row per flagged-candidate
    (unit, quantity, period or ``None`` for a level finding) with ``kind`` ``month``/``level``.
    """

    def __init__(
        self, z_month: float = 4.0, z_level: float = 4.0, z_sure: float = 8.0, min_rel: float = 0.03,
        floor_month: float = 0.01, floor_level: float = 0.02, min_months: int = 4, t_step: float = 5.0, min_side: int = 3,
        min_rest: int = 2, t_partner: float = 3.0,
    ) -> None:
        self.z_month = z_month
        self.z_level = z_level
        self.z_sure = z_sure
        self.min_rel = min_rel
        self.floor_month = floor_month
        self.floor_level = floor_level
        self.min_months = min_months
        self.t_step = t_step
        self.min_side = min_side
        self.min_rest = min_rest
        self.t_partner = t_partner

    def _threshold(self) -> float:
        return min(self.z_month, self.z_level, self.t_step)

    def _segments(self, n: int) -> list[tuple[int, int]]:
        """Candidate runs ``[a, b)`` of a unit's ``n`` months: steps and interior runs.

        A step (run touching either end) needs ``min_side`` months on both sides; an interior run needs
        ``min_side`` months inside and ``min_rest`` outside (one before it, one after it at least): an
        under-report of February–November leaves two honest months, one at each end of the year.
        """
        out = []
        for a in range(n):
            for b in range(a + self.min_side, n + 1):
                rest = n - (b - a)
                if (a == 0) != (b == n):  # a step: one contiguous rest
                    if rest >= self.min_side:
                        out.append((a, b))
                elif 0 < a and b < n and rest >= self.min_rest:  # an interior run
                    out.append((a, b))
        return out

    def _steps(self, f: pl.DataFrame, centers: pl.DataFrame) -> pl.DataFrame:
        """Best run per unit × quantity (the step or interior run with the largest |t|) and its suspect side.

        ``f``: the month frame of :meth:`_fit` (``lr``, ``n_u``); ``centers``: peer centre ``zl_center``
        per (unit_class, quantity). Which side of the split is the suspect one:

        * coal and CO₂ shifted *together* at the split (the partner quantity's t at the same split has
          the same sign and ``|t| ≥ t_partner``): the report moved against two independent meters (belt
          scale, CEMS) — reported CO₂ is computed from the reported coal, a meter recalibration moves
          one ratio only — so the suspect side is the one where the report is low (the paying side);
        * otherwise the side farther from the peers' level (the other side is the unit's honest level).

        The suspect side's months, ratio and expected report are returned.
        """
        g = ["unit_id", "quantity"]
        f = f.sort("unit_id", "quantity", "period").with_columns(
            pl.int_range(pl.len()).over(g).alias("i"),
            diff_sigma(pl.col("lr")).over(g).alias("sig_d"),
        )
        peer = f.group_by("quantity", "unit_id").agg(pl.col("sig_d").first()).group_by("quantity").agg((pl.col("sig_d").median() * 0.5).alias("sig_peer"))
        f = f.join(peer, on="quantity").with_columns(pl.max_horizontal("sig_d", "sig_peer", pl.lit(self.floor_month)).alias("sig"))
        keys = ["unit_id", "enterprise_id", "province_code", "year", "unit_class", "quantity", "direction"]
        # one group-by per month count n, every candidate run's two medians as columns of it (a query per
        # run re-hashed the seven keys fifty times), then one long row per (unit, quantity, run)
        ids = f.select(keys).unique(maintain_order=True).with_row_index("_gid")
        f = f.join(ids, on=keys, how="left")
        cands = []
        for n in sorted(f["n_u"].unique().to_list()):
            segs = self._segments(int(n))
            if not segs:
                continue
            aggs = [pl.col("sig").first(), pl.col("n_u").first()]
            for k, (a, b) in enumerate(segs):
                inside = (pl.col("i") >= a) & (pl.col("i") < b)
                aggs += [pl.col("lr").filter(inside).median().alias(f"_in{k}"), pl.col("lr").filter(~inside).median().alias(f"_out{k}")]
            w = f.filter(pl.col("n_u") == n).group_by("_gid").agg(aggs)
            cands += [w.select("_gid", pl.col(f"_in{k}").alias("lvl_in"), pl.col(f"_out{k}").alias("lvl_out"), "sig", "n_u",
                               pl.lit(a).alias("a"), pl.lit(b).alias("b")) for k, (a, b) in enumerate(segs)]
        if not cands:
            return pl.DataFrame()
        f = f.drop("_gid")
        c = pl.concat(cands).join(ids, on="_gid", maintain_order="left").select(*keys, "lvl_in", "lvl_out", "sig", "n_u", "a", "b").with_columns(
            ((pl.col("lvl_in") - pl.col("lvl_out"))
             / (pl.col("sig") * step_se(pl.col("b") - pl.col("a"), pl.col("n_u") - pl.col("b") + pl.col("a")))).alias("t"))
        best = c.sort(pl.col("t").abs(), descending=True).unique(subset=g, keep="first")
        best = best.filter((pl.col("t").abs() >= self.t_step) & ((pl.col("lvl_in") - pl.col("lvl_out")).abs() >= self.min_rel))
        if best.height == 0:
            return best
        partner = {"coal": "co2", "co2": "coal"}
        pc = c.filter(pl.col("quantity").is_in(list(partner))).select(
            "unit_id", pl.col("quantity").replace(partner).alias("quantity"), "a", "b", pl.col("t").alias("t_partner"))
        best = best.join(pc, on=["unit_id", "quantity", "a", "b"], how="left").join(centers, on=["unit_class", "quantity"], how="left").with_columns(
            pl.col("zl_center").fill_null(0.0))
        together = (pl.col("t_partner") * pl.col("t") > 0) & (pl.col("t_partner").abs() >= self.t_partner)
        in_pays = pl.col("direction") * (pl.col("lvl_in") - pl.col("lvl_out")) > 0
        in_odd = (pl.col("lvl_in") - pl.col("zl_center")).abs() > (pl.col("lvl_out") - pl.col("zl_center")).abs()
        best = best.with_columns(pl.when(together.fill_null(False)).then(in_pays).otherwise(in_odd).alias("suspect_in")).with_columns(
            pl.when(pl.col("suspect_in")).then(pl.col("lvl_in")).otherwise(pl.col("lvl_out")).alias("lvl_s"),
            pl.when(pl.col("suspect_in")).then(pl.col("lvl_out")).otherwise(pl.col("lvl_in")).alias("lvl_o"),
            together.fill_null(False).alias("meters_agree"),
        )
        inside = (pl.col("i") >= pl.col("a")) & (pl.col("i") < pl.col("b"))
        seg = f.join(best.select(*g, "a", "b", "suspect_in", "lvl_s", "lvl_o", "t", "meters_agree"), on=g).filter(inside == pl.col("suspect_in"))
        return seg.group_by(keys).agg(
            pl.col("period").min().alias("period"),
            pl.col("period").sort().alias("periods"),
            pl.col("reported").sum(),
            pl.col("telemetry").sum(),
            (pl.col("t_per_unit") * pl.col("reported")).sum().alias("emis"),
            pl.col("lvl_s").first(), pl.col("lvl_o").first(), pl.col("t").first(), pl.col("meters_agree").first(),
            pl.col("shortfall").mean().alias("shortfall_share"),
        ).with_columns(
            pl.lit("step").alias("kind"),
            pl.col("t").abs().alias("score_raw"),
            (pl.col("telemetry") * pl.col("lvl_o").exp()).alias("expected"),
            (pl.col("emis") / pl.col("reported")).alias("t_per_unit"),
            (pl.col("lvl_s") - pl.col("lvl_o")).alias("dev"),
            pl.col("t").alias("z"),
            pl.col("lvl_o").alias("m_u"),
            (pl.col("shortfall_share") > 0.5).alias("shortfall"),
            pl.lit(False).alias("cems_alone"),
        )

    def _fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        empty = pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        if frame.height == 0:
            return empty
        g = ["unit_id", "quantity"]
        f = frame.with_columns(
            pl.col("lr").median().over(g).alias("m_u"),
            ((pl.col("lr") - pl.col("lr").median().over(g)).abs().median().over(g) * 1.4826).alias("s_u"),
            pl.len().over(g).alias("n_u"),
        ).filter(pl.col("n_u") >= self.min_months)
        if f.height == 0:
            return empty
        peer_s = f.group_by("quantity", "unit_id").agg(pl.col("s_u").first()).group_by("quantity").agg((pl.col("s_u").median() * 0.5).alias("s_peer"))
        f = f.join(peer_s, on="quantity").with_columns(pl.max_horizontal("s_u", "s_peer", pl.lit(self.floor_month)).alias("s_eff"))
        # a month with a logger gap is an interval of ratios: test the point of it nearest the unit's band
        # (the gap may have been idle or running time; neither reading alone is evidence)
        if "lr_lo" in f.columns:
            f = f.with_columns(pl.col("m_u").clip(pl.col("lr_lo"), pl.col("lr_hi")).alias("lr")).with_columns(
                (pl.col("reported") / pl.col("lr").exp()).alias("telemetry"))
        f = f.with_columns(((pl.col("lr") - pl.col("m_u")) / pl.col("s_eff")).alias("z"), (pl.col("lr") - pl.col("m_u")).alias("dev"))
        # telemetry quantities of a unit-month falling short together, the load side (generation or hours)
        # among them = telemetry coverage shortfall (e.g. not all units behind a meter carry CEMS: real West
        # Phoenix 2016, 0.18×), not a report anomaly. Coal and CO₂ alone moving together is the report's
        # fuel moving (reported CO₂ is computed from reported coal), not missing telemetry.
        up = (pl.col("z") >= self.z_month) & (pl.col("dev") >= self.min_rel)
        load = up & pl.col("quantity").is_in(["generation", "hours"])
        f = f.with_columns(((up.cast(pl.Int32).sum().over("unit_id", "period") >= 2) & load.any().over("unit_id", "period")).alias("shortfall"))
        # the partner meter of the same unit-month (coal ↔ CO₂): both moving the same way = the report moved
        zq = {q: pl.col("z").filter(pl.col("quantity") == q).first().over("unit_id", "period") for q in ("coal", "co2")}
        z_partner = pl.when(pl.col("quantity") == "coal").then(zq["co2"]).when(pl.col("quantity") == "co2").then(zq["coal"])
        month = f.with_columns(z_partner.alias("z_partner")).filter((pl.col("z").abs() >= self.z_month) & (pl.col("dev").abs() >= self.min_rel)).with_columns(
            pl.lit("month").alias("kind"),
            pl.col("z").abs().alias("score_raw"),
            (pl.col("telemetry") * pl.col("m_u").exp()).alias("expected"),
            pl.concat_list("period").alias("periods"),
            ((pl.col("z_partner") * pl.col("z") > 0) & (pl.col("z_partner").abs() >= self.t_partner)).fill_null(False).alias("meters_agree"),
            # one month of the CEMS alone — the belt scale of that month not agreeing, no other month of the
            # unit's CEMS off the same way, not beyond z_sure — is the noisiest meter's chance, not a pattern
            ((pl.col("quantity") == "co2") & pl.col("z_partner").is_not_null() & (pl.col("z").abs() < self.z_sure)).alias("_cems_alone"),
        ).with_columns(
            (pl.col("_cems_alone") & ~pl.col("meters_agree")
             & (pl.len().over("unit_id", "quantity", pl.col("dev").sign()) == 1)).alias("cems_alone"))
        units = unit_levels(f, floor_level=self.floor_level)
        level = units.filter((pl.col("zl").abs() >= self.z_level) & ((pl.col("m_u") - pl.col("zl_center")).abs() >= self.min_rel)).with_columns(
            pl.lit("level").alias("kind"),
            pl.col("zl").abs().alias("score_raw"),
            pl.lit(None, pl.String).alias("period"),
            (pl.col("telemetry") * pl.col("zl_center").exp()).alias("expected"),
            (pl.col("emis") / pl.col("reported")).alias("t_per_unit"),
            (pl.col("m_u") - pl.col("zl_center")).alias("dev"),
            pl.col("zl").alias("z"),
        )
        level = level.with_columns(pl.lit(False).alias("shortfall"), pl.lit(None, pl.List(pl.String)).alias("periods"), pl.lit(False).alias("meters_agree"),
                                   pl.lit(False).alias("cems_alone"))
        cols = ["unit_id", "enterprise_id", "province_code", "year", "period", "periods", "quantity", "direction", "kind", "reported", "telemetry", "expected", "dev", "z", "m_u",
                "score_raw", "t_per_unit", "shortfall", "meters_agree", "cems_alone"]
        parts = [month.select(cols), level.select(cols)]
        steps = self._steps(f, units.select("unit_class", "quantity", "zl_center").unique(["unit_class", "quantity"]))
        if steps.height:
            parts.append(steps.select(cols))
        out = pl.concat(parts, how="vertical_relaxed")
        pays = (pl.col("direction") * pl.col("dev")) > 0
        # tonnes: gap between what was reported and what the learned band expects, in the paying direction
        gap = (pl.col("expected") - pl.col("reported")).abs() * pl.col("t_per_unit").fill_null(0.0)
        return out.with_columns(
            pl.when(pays).then(gap).otherwise(0.0).alias("stake_t"),
            pl.when(pl.col("shortfall") | pl.col("cems_alone")).then(pl.lit("low")).when(pays).then(pl.lit("high"))
            # non-paying: a within-unit month/step of a reported quantity is wrong data (medium); a whole-year
            # level or a CEMS ratio in that direction is the honest meter bias real data show (low)
            .when((pl.col("kind") != "level") & (pl.col("quantity") != "co2")).then(pl.lit("medium"))
            .otherwise(pl.lit("low")).alias("cap"),
            pl.concat_str(pl.col("quantity"), pl.when(pl.col("kind") == "step").then(pl.lit(":step")).otherwise(pl.lit(""))).alias("detail"),
            pl.col("m_u").exp().alias("usual_ratio"),
            (pl.col("reported") / pl.col("telemetry")).alias("ratio"),
        )

    def findings(self) -> list[Finding]:
        """TEL-101/102 (generation, coal, hours) and TEL-104 (CEMS CO₂) findings."""
        f = self.flagged()
        if f.height == 0:
            return []
        kind = f["kind"].to_numpy()
        thr = np.where(kind == "month", self.z_month, np.where(kind == "step", self.t_step, self.z_level))
        f = f.with_columns(pl.Series("score", np.clip(0.5 + 0.5 * (f["score_raw"].to_numpy() - thr) / (self.z_sure - thr), 0, 1)))
        out: list[Finding] = []
        ev = ["quantity", "kind", "periods", "ratio", "usual_ratio", "z", "reported", "telemetry", "expected", "shortfall", "meters_agree", "cems_alone"]
        for code, sel in (
            ("TEL-101", pl.col("kind").is_in(["month", "step"]) & (pl.col("quantity") != "co2")),
            ("TEL-102", (pl.col("kind") == "level") & (pl.col("quantity") != "co2")),
            ("TEL-104", pl.col("quantity") == "co2"),
        ):
            out += emit(
                code,
                f.filter(sel),
                params=["unit_id", "quantity", "ratio", "usual_ratio"],
                evidence=ev,
                observed="ratio",
                expected="usual_ratio",
                detail_key="detail",
                peers="the unit's own months (month, step) / units of the same class (level)",
            )
        return out


def output_without_load(um: pl.DataFrame, tel: pl.DataFrame) -> list[Finding]:
    """TEL-103: generation reported for a month whose telemetry (≥ 90 % coverage) shows no load.

    Score 0.85; stake = the reported generation × the unit's reported intensity (tCO₂/MWh) — the
    allowance-equivalent of output that did not happen.
    """
    if tel.height == 0:
        return []
    df = um.join(tel, on=["unit_id", "period"], how="inner").with_columns(
        (pl.col("hours_covered") / period_hours("period")).fill_null(1.0).alias("coverage")
    )
    intensity = um.filter(pl.col("gross_generation_mwh") > 0).group_by("unit_id").agg(
        (pl.col("emissions_tco2").sum() / pl.col("gross_generation_mwh").sum()).alias("intensity")
    )
    hit = df.filter(
        (pl.col("gross_generation_mwh") > 0) & (pl.col("coverage") >= MIN_COVERAGE) & ((pl.col("hours_with_load") == 0) | (pl.col("generation_mwh") <= 0))
    ).join(intensity, on="unit_id", how="left")
    hit = hit.with_columns((pl.col("gross_generation_mwh") * pl.col("intensity").fill_null(0.0)).alias("stake_t"), pl.lit(0.85).alias("score"))
    return emit(
        "TEL-103",
        hit,
        params=["unit_id", "period", "gross_generation_mwh"],
        evidence=["gross_generation_mwh", "generation_mwh", "hours_with_load", "hours_covered", "coverage"],
        observed="gross_generation_mwh",
    )


def corroborated_shortfall(
    rf: pl.DataFrame, *, z_flag: float = 4.0, min_each: float = 1.5, min_rel: float = 0.03, floor_level: float = 0.02, min_months: int = 4
) -> list[Finding]:
    """TEL-105: coal reported below the belt scales *and* emissions below the CEMS, at one enterprise.

    Two independent instruments — the belt-scale coal feed and the stack CEMS — each read more than the
    report. Per unit and quantity, the whole-year median log ratio ln(report/telemetry) is robust-z'd
    against units of the same class (as TEL-102); per enterprise-year the coal z's of its units are
    *averaged* (units of one plant may share a calibration bias: no √n pooling across units) and so are
    the CO₂ z's; the two instruments' meter biases are independent, so ``Z = (z̄_coal + z̄_co2)/√2`` is
    standard normal for an honest plant (Stouffer). Flagged when ``Z ≤ −z_flag`` (one-sided, 3e-5),
    each instrument's mean z ≤ ``−min_each`` (both point the paying way) and the coal shortfall is at
    least ``min_rel`` (3 %: honest sources differ by a few percent, DOMAIN.md §4.5). One instrument alone
    within its honest spread is what TEL-102/TEL-104 leave quiet (real CEMS/EIA 0.98–1.17×); two
    agreeing are not meter bias. A carbon-content understatement moves CO₂ only (CC-101's), a
    coverage shortfall moves the ratios the other way.

    ``rf``: :func:`reconcile_frame` output. Stake: Σ over the enterprise's units of (belt coal × the
    peers' usual ratio − reported coal) × the unit's tCO₂ per t. Score 0.5 at ``z_flag``, 1.0 at 2×.
    """
    f = rf.filter(pl.col("quantity").is_in(["coal", "co2"]))
    if f.height == 0:
        return []
    units = unit_levels(f.filter(pl.len().over("unit_id", "quantity") >= min_months), floor_level=floor_level)
    if units.height == 0:
        return []
    units = units.with_columns(
        ((pl.col("telemetry") * pl.col("zl_center").exp() - pl.col("reported")).clip(0.0) * pl.col("emis") / pl.col("reported")).fill_nan(0.0).alias("gap_t"),
        (pl.col("m_u") - pl.col("zl_center")).alias("dev"),
    )
    ent = units.group_by("enterprise_id", "province_code", "year").agg(
        *[pl.col(c).filter(pl.col("quantity") == q).mean().alias(f"{c}_{q}") for q in ("coal", "co2") for c in ("zl", "dev")],
        pl.col("gap_t").filter(pl.col("quantity") == "coal").sum().alias("stake_t"),
        pl.col("unit_id").filter(pl.col("quantity") == "coal").n_unique().alias("units"),
    ).drop_nulls(["zl_coal", "zl_co2"]).with_columns(((pl.col("zl_coal") + pl.col("zl_co2")) / np.sqrt(2.0)).alias("z"))
    hit = ent.filter(
        (pl.col("z") <= -z_flag) & (pl.col("zl_coal") <= -min_each) & (pl.col("zl_co2") <= -min_each) & (pl.col("dev_coal") <= -min_rel)
    )
    if hit.height == 0:
        return []
    hit = hit.with_columns(
        pl.Series("score", score_from_z(-hit["z"].to_numpy(), z_flag, 2 * z_flag)),
        pl.col("dev_coal").exp().alias("coal_ratio_vs_peers"), pl.col("dev_co2").exp().alias("co2_ratio_vs_peers"),
    )
    return emit(
        "TEL-105",
        hit,
        params=["enterprise_id", "year", "coal_ratio_vs_peers", "co2_ratio_vs_peers"],
        evidence=["z", "zl_coal", "zl_co2", "coal_ratio_vs_peers", "co2_ratio_vs_peers", "units"],
        observed="z",
        peers="units of the same class (whole-year report/telemetry ratio), belt scale and CEMS combined",
    )


def efficiency_and_cems(
    um: pl.DataFrame, rf: pl.DataFrame, *, z_flag: float = 3.5, min_each: float = 2.0, min_rel: float = 0.03,
    floor_level: float = 0.02, min_months: int = 4,
) -> list[Finding]:
    """TEL-106: a reported efficiency above its peers' *and* accounting emissions below the CEMS, at one enterprise.

    Coal under-reported together with the belt scales it is read from leaves TEL-101/102/105 quiet (the
    report agrees with its belt scales) and two traces elsewhere: the energy balance — the same output
    from less coal heat, an efficiency above what units of the same class, technology and CHP status
    reach (:func:`detectors.efficiency.efficiency_levels`) — and the stack, whose CEMS still sees the coal burnt (TEL-104's
    whole-year level, :func:`unit_levels`). Each alone is an honest quirk (DOMAIN.md §4b: an efficient
    plant; a CEMS reading several percent high, stably); their errors are independent (an efficient
    plant emits less and its CEMS sees that, so the report/CEMS ratio does not move), so per enterprise
    the units' mean efficiency z and mean CEMS z (averaged, not √n-pooled: a plant's units share coal
    and meters) combine as ``Z = (z̄_eff − z̄_co2)/√2`` (Stouffer 1949), standard normal for an honest plant.

    Flagged when ``Z ≥ z_flag`` (3.5: one-sided 2.3e-4, ≈ 0.3 honest enterprises on a national night of
    1,156), **each** source is unusual by itself — ``|z̄| ≥ min_each`` (2.0, one-sided 0.023) the paying
    way: an honest quirk's distribution has heavy tails (one CEMS reading 10 % high is a large z where
    the fleet's meters agree closely), so one extreme source must not carry an ordinary other through
    the sum — and moves by ≥ ``min_rel`` (3 %: honest meters differ by a few percent, DOMAIN.md §4.5).
    Score 0.5 at ``z_flag``, 1.0 at 2×.

    Args:
        um: :func:`detectors.frames.unit_months`.
        rf: :func:`reconcile_frame` output (CEMS CO₂ rows are used).

    Returns:
        One finding per enterprise-year. Stake (tCO₂, ≥ 0): Σ over its units of the smaller of the two
        instruments' shortfalls — reported emissions × (η_reported / η_peers − 1) and CEMS × the peers'
        usual accounting/CEMS ratio − reported emissions: what would change if the coal were under-reported,
        bounded by both instruments.
    """
    co2 = rf.filter(pl.col("quantity") == "co2") if rf.height else rf
    if co2.height == 0:
        return []
    eff = efficiency_levels(um)
    if eff.height == 0:
        return []
    cems = unit_levels(co2.filter(pl.len().over("unit_id", "quantity") >= min_months), floor_level=floor_level)
    if cems.height == 0:
        return []
    both = eff.join(cems.select("unit_id", "year", "zl", "zl_center", "m_u", "telemetry", "reported"), on=["unit_id", "year"], how="inner").with_columns(
        (pl.col("leff") - pl.col("ze_center")).alias("dev_eff"),
        (pl.col("m_u") - pl.col("zl_center")).alias("dev_co2"),
    ).with_columns(
        pl.min_horizontal(
            pl.col("coal_gap_t"),
            (pl.col("telemetry") * pl.col("zl_center").exp() - pl.col("reported")).clip(0.0),
        ).fill_nan(0.0).alias("gap_t"))
    if both.height == 0:
        return []
    ent = both.group_by("enterprise_id", "province_code", "year").agg(
        pl.col("ze").mean().alias("z_eff"), pl.col("zl").mean().alias("z_co2"),
        pl.col("dev_eff").mean(), pl.col("dev_co2").mean(),
        pl.col("gap_t").sum().alias("stake_t"), pl.len().alias("units"),
    ).with_columns(((pl.col("z_eff") - pl.col("z_co2")) / np.sqrt(2.0)).alias("z"))
    hit = ent.filter(
        (pl.col("z") >= z_flag) & (pl.col("z_eff") >= min_each) & (pl.col("z_co2") <= -min_each)
        & (pl.col("dev_eff") >= min_rel) & (pl.col("dev_co2") <= -min_rel)
    )
    if hit.height == 0:
        return []
    hit = hit.sort("enterprise_id", "year")
    hit = hit.with_columns(
        pl.Series("score", score_from_z(hit["z"].to_numpy(), z_flag, 2 * z_flag)),
        pl.col("dev_eff").exp().alias("efficiency_vs_peers"), pl.col("dev_co2").exp().alias("co2_ratio_vs_peers"),
    )
    return emit(
        "TEL-106",
        hit,
        params=["enterprise_id", "year", "efficiency_vs_peers", "co2_ratio_vs_peers"],
        evidence=["z", "z_eff", "z_co2", "efficiency_vs_peers", "co2_ratio_vs_peers", "units"],
        observed="z",
        peers="units of the same class, combustion technology and CHP status (whole-year efficiency); units of the same class (accounting/CEMS)",
    )


#: PyOD-contract estimators around the function-style detectors (ARCHITECTURE.md convention 5).
OutputWithoutLoad = wrap(output_without_load, "OutputWithoutLoad")
CorroboratedShortfall = wrap(corroborated_shortfall, "CorroboratedShortfall")
EfficiencyAndCems = wrap(efficiency_and_cems, "EfficiencyAndCems")


def run(um: pl.DataFrame, tel: pl.DataFrame | None) -> list[Finding]:
    """All telemetry detectors; ``tel`` = :func:`carbonqa.lake.monthly_telemetry` output (or ``None``)."""
    if tel is None or tel.height == 0:
        return []
    rf = reconcile_frame(um, tel)
    return [*TelemetryReconciliation().fit(rf).findings(), *OutputWithoutLoad().fit(um, tel).findings(), *CorroboratedShortfall().fit(rf).findings(),
            *EfficiencyAndCems().fit(um, rf).findings()]
