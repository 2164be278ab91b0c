"""Finding specs of the GX row rules, and the cross-table / cross-row rules written in polars.

Why polars and not GX ``UnexpectedRowsExpectation`` for cross-table rules: the inputs are the
*current* versions resolved once by :class:`~carbonqa.screening.ScreenContext` (highest submitter
version, then highest record version). A SQL expectation would have to restate that window logic per
rule and per dialect, and would run on SQLite and PostgreSQL differently; polars joins over the cached
context frames are vectorised, engine-agnostic and cost milliseconds at national scale.

Each ``rule_*`` function returns ``(hits, spec, kind)``: the failing rows, the :class:`~checks.emit.Spec`
of their findings and the key set. Constants come from :mod:`checks.params` only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from carbonqa import contract
from carbonqa.contract import CO2_PER_C
from carbonqa.screening import ScreenContext
from checks.emit import Spec
from checks.frames import annual_frame, first_deposits, lab_frame, monthly_frame, verification_frame
from checks.params import KCAL_PER_KG_TO_GJ_PER_T, RegulationParams, params_for

__all__ = ["gx_specs", "GX_KIND", "POLARS_RULES", "RuleOutput"]

RuleOutput = tuple[pl.DataFrame, Spec, str]


def _r(col: str | pl.Expr, n: int = 1) -> pl.Expr:
    e = pl.col(col) if isinstance(col, str) else col
    return e.cast(pl.Float64).round(n)


def gx_specs(p: RegulationParams) -> dict[str, Spec]:
    """Return the finding specs of every GX-asserted code, over the derived frames of :mod:`checks.frames`."""
    lo, hi = pl.col("ncv_lo"), pl.col("ncv_hi")
    ncv = pl.col("ncv_gj_per_t")
    heat44 = pl.col("heat_of_gj") * CO2_PER_C
    cc = pl.col("carbon_content_tc_per_gj")
    of_col = (pl.when(pl.col("oxidation_rate") > 1.0).then(pl.lit("oxidation_rate"))
              .when(pl.col("carbon_content_tc_per_gj") > 1.0).then(pl.lit("carbon_content_tc_per_gj"))
              .otherwise(pl.lit("load_rate")))
    of_val = (pl.when(pl.col("oxidation_rate") > 1.0).then(pl.col("oxidation_rate"))
              .when(pl.col("carbon_content_tc_per_gj") > 1.0).then(pl.col("carbon_content_tc_per_gj"))
              .otherwise(pl.col("load_rate")))
    cad, mad, mt = (pl.col(c) for c in ("carbon_ad_pct", "moisture_ad_pct", "total_moisture_pct"))
    cad_bad = (cad < pl.col("cad_lo")) | (cad > pl.col("cad_hi"))
    mad_bad = (mad < p.mad_range_pct[0]) | (mad > p.mad_range_pct[1])
    comp = pl.when(cad_bad).then(pl.lit("Cad")).when(mad_bad).then(pl.lit("Mad")).otherwise(pl.lit("Mt"))
    comp_val = pl.when(cad_bad).then(cad).when(mad_bad).then(mad).otherwise(mt)
    comp_lo = pl.when(cad_bad).then(pl.col("cad_lo")).when(mad_bad).then(p.mad_range_pct[0]).otherwise(p.mt_range_pct[0])
    comp_hi = pl.when(cad_bad).then(pl.col("cad_hi")).when(mad_bad).then(p.mad_range_pct[1]).otherwise(p.mt_range_pct[1])
    # direction of materiality (DOMAIN.md §3, Car = Cad·(100 − Mt)/(100 − Mad), E ∝ NCV·CC): a value off
    # its band on the side that *raises* the reported emissions gains the unit nothing — a data-quality
    # note (low, 0 t); the side that lowers them keeps the rule's severity and stake
    comp_conservative = ((comp == "Cad") & (comp_val > comp_hi)) | ((comp == "Mad") & (comp_val > comp_hi)) | ((comp == "Mt") & (comp_val < comp_lo))
    ncv_conservative = ncv > hi
    # within the test method's precision of the edge: indistinguishable from a value on it (low, 0 t)
    tol = p.range_method_tolerance
    comp_tol = pl.when(comp == "Cad").then(tol["Cad"]).when(comp == "Mad").then(tol["Mad"]).otherwise(tol["Mt"])
    comp_within = (comp_val >= comp_lo - comp_tol) & (comp_val <= comp_hi + comp_tol)
    ncv_within = (ncv >= lo - tol["NCV"]) & (ncv <= hi + tol["NCV"])
    comp_conservative = comp_conservative | comp_within
    # ash dilutes carbon and heat alike (DOMAIN.md §3 Cad row, §4b coal quality spread): a Cad off its band
    # whose report's carbon per unit heat (Car / NCV) is an ordinary measured CC moves no emissions — information
    lab_cc = pl.col("carbon_ar_pct") / 100.0 / pl.col("ncv_ar_gj_per_t")
    cc_ordinary = ((lab_cc >= p.cc_measured_min_tc_per_gj * (1 - tol["CC_rel"]))
                   & (lab_cc <= p.cc_measured_max_tc_per_gj * (1 + tol["CC_rel"]))).fill_null(False)
    cad_cc_ordinary = (comp == "Cad") & cc_ordinary
    # a wet coal (Mt above its band) lowers Car and the as-received NCV together: honest when its CC is
    # ordinary *and* every month citing the report keeps the unit's conversion efficiency (the tonnes rose
    # with the water); moisture written up to lower the carbon fails one of the two
    mt_wet_honest = (comp == "Mt") & (mt > pl.lit(p.mt_range_pct[1])) & cc_ordinary & pl.col("linked_energy_ok")
    comp_conservative = comp_conservative | cad_cc_ordinary | mt_wet_honest
    cc_within = ((cc >= p.cc_measured_min_tc_per_gj * (1 - tol["CC_rel"]))
                 & (cc <= p.cc_measured_max_tc_per_gj * (1 + tol["CC_rel"])))
    ncv_conservative = ncv_conservative | ncv_within
    up = {"unit_id": pl.col("unit_id"), "period": pl.col("period")}
    lab_id = {"lab_report_id": pl.col("lab_report_id")}
    return {
        # stakes are signed (positive = under-reported): the recomputed minus the reported emissions
        "ACC-001": Spec(pl.col("emissions_tco2"), _r("e_recomputed_t", 1), pl.col("e_recomputed_t") - pl.col("emissions_tco2"),
                        up | {"reported": _r("emissions_tco2"), "recomputed": _r("e_recomputed_t"),
                              "gap": _r("identity_abs_gap_t"), "tolerance": _r("identity_tol_t")}),
        "ACC-002": Spec(pl.col("power_supply_mwh"), pl.col("gross_generation_mwh"),
                        (pl.col("power_supply_mwh") - pl.col("gross_generation_mwh"))
                        * pl.col("emissions_tco2") / pl.col("power_supply_mwh"),
                        up | {"supply": _r("power_supply_mwh"), "generation": _r("gross_generation_mwh")}),
        "ACC-003": Spec(pl.col("operating_hours"), pl.col("hours_in_month"), pl.lit(0.0),
                        up | {"hours": _r("operating_hours"), "hours_in_month": _r("hours_in_month", 0)}),
        # below the band: low when the month keeps the unit's conversion efficiency (a leaner coal burnt in
        # proportion: frames._ncv_energy_balance), medium when the NCV fell without the tonnes rising
        "ACC-004": Spec(ncv, pl.concat_str(lo.cast(pl.String), pl.lit("–"), hi.cast(pl.String)),
                        pl.when(ncv_conservative | pl.col("ncv_energy_consistent")).then(0.0)
                        .otherwise((ncv - ncv.clip(lo, hi)).abs() * pl.col("fuel_consumed_t") * cc * pl.col("oxidation_rate") * CO2_PER_C),
                        up | {"ncv": _r(ncv, 2), "coal_type": pl.col("coal_type"), "low": lo, "high": hi},
                        {"efficiency_vs_in_band_months": _r("ncv_eff_dev", 4), "energy_balance_holds": pl.col("ncv_energy_consistent")},
                        severity=pl.when(ncv_conservative | pl.col("ncv_energy_consistent")).then(pl.lit("low")).otherwise(pl.lit("medium"))),
        # a unit typo that inflated the report is an over-report (negative): shown, never added to a stake
        "ACC-005": Spec(ncv, _r(ncv * KCAL_PER_KG_TO_GJ_PER_T, 3),
                        pl.col("e_corrected_t") - pl.col("emissions_tco2"),
                        up | {"ncv": _r(ncv, 1), "ncv_gj": _r(ncv * KCAL_PER_KG_TO_GJ_PER_T, 2)},
                        {"e_corrected_t": _r("e_corrected_t")}),
        "ACC-006": Spec(of_val, of_val / 100.0, pl.col("e_corrected_t") - pl.col("emissions_tco2"),
                        up | {"column": of_col, "value": _r(of_val, 3), "fraction": _r(of_val / 100.0, 4)},
                        {"e_corrected_t": _r("e_corrected_t")}),
        "ACC-007": Spec(pl.col("gross_generation_mwh"), _r("generation_max_mwh", 0), pl.col("emissions_tco2"),
                        up | {"generation": _r("gross_generation_mwh", 0), "capacity": _r("capacity_mw", 1),
                              "hours_in_month": _r("hours_in_month", 0), "max_generation": _r("generation_max_mwh", 0),
                              "ratio": _r(pl.col("gross_generation_mwh") / (pl.col("capacity_mw") * pl.col("hours_in_month")), 1)}),
        # one late month is a slip (low, no stake); late months as a pattern defeat the monthly deposit's
        # point (data fixed while fresh), so the late months' emissions are at stake (medium)
        "CMP-002": Spec(pl.col("deposit_days"), pl.lit(float(p.deposit_deadline_days)),
                        pl.when(pl.col("late_months_n") >= p.lab_pattern_min_reports).then(pl.col("emissions_tco2"))
                        .otherwise(0.0),
                        up | {"submitted_at": pl.col("submitted_at"), "days": _r("deposit_days", 0),
                              "deadline": pl.lit(p.deposit_deadline_days)},
                        {"late_months_in_year": pl.col("late_months_n")},
                        severity=pl.when(pl.col("late_months_n") >= p.lab_pattern_min_reports).then(pl.lit("medium"))
                        .otherwise(pl.lit("low"))),
        # an unsupported value below the unit's documented months pays (high); one that agrees with them is an
        # evidence gap: isolated, or the plant's shared-sample unit idle that month → low; else medium
        "CMP-003": Spec(pl.col("lab_report_id"), pl.lit("existing lab report"), pl.col("stake_default_t"),
                        up | {"cc": _r(cc, 5), "lab_report_id": pl.col("lab_report_id").fill_null("—")},
                        {"documented_cc_median": _r("undoc_cc_ref", 5), "undocumented_months_in_year": pl.col("undoc_months_n"),
                         "below_documented": pl.col("undoc_lower"), "sample_filed_under": pl.col("undoc_filing_unit"),
                         "filing_unit_idle": pl.col("undoc_explained")},
                        severity=pl.when(pl.col("undoc_lower")).then(pl.lit("high"))
                        .when((pl.col("undoc_months_n") <= 1) | pl.col("undoc_explained")).then(pl.lit("low"))
                        .otherwise(pl.lit("medium"))),
        "CMP-004": Spec(pl.concat_str(pl.col("lab_unit_id"), pl.lit("/"), pl.col("lab_period")),
                        pl.concat_str(pl.col("unit_id"), pl.lit("/"), pl.col("period")), pl.col("stake_default_t"),
                        up | lab_id | {"lab_unit_id": pl.col("lab_unit_id"), "lab_period": pl.col("lab_period")},
                        {"lab_enterprise_id": pl.col("lab_enterprise_id")}),
        "LAB-003": Spec(cc, _r("lab_cc", 6), (pl.col("lab_cc") - cc) * heat44,
                        up | lab_id | {"cc": _r(cc, 5), "lab_cc": _r("lab_cc", 5)}),
        "CC-001": Spec(cc, pl.lit(p.default_cc_tc_per_gj), (pl.lit(p.default_cc_tc_per_gj) - cc).abs() * heat44,
                       up | {"cc": _r(cc, 5), "default": pl.lit(p.default_cc_tc_per_gj)}),
        # within the combined reproducibility of Car and NCV of the band: indistinguishable from the edge (low, 0 t)
        "CC-003": Spec(cc, pl.lit(f"{p.cc_measured_min_tc_per_gj}–{p.cc_measured_max_tc_per_gj}"),
                       pl.when(cc_within).then(0.0).otherwise(pl.col("stake_default_t")),
                       up | {"cc": _r(cc, 5), "low": pl.lit(p.cc_measured_min_tc_per_gj),
                             "high": pl.lit(p.cc_measured_max_tc_per_gj)},
                       severity=pl.when(cc_within).then(pl.lit("low")).otherwise(pl.lit("high"))),
        "CC-004": Spec(cc, pl.lit("a measured value, not a default"), pl.col("stake_default_t"), up | {"cc": _r(cc, 5)}),
        # lab_reports frame
        "LAB-001": Spec(pl.concat_str(*[pl.col(c).cast(pl.String) for c in
                                        ("sampling_end_date", "receipt_date", "test_date", "report_date")], separator=" / ",
                                      ignore_nulls=True),
                        pl.lit("sampling_end ≤ receipt ≤ test ≤ report"), pl.col("stake_default_t"),
                        lab_id | {"sampling_end": pl.col("sampling_end_date"), "receipt": pl.col("receipt_date"),
                                  "test": pl.col("test_date"), "report": pl.col("report_date")}),
        "LAB-002": Spec(pl.col("carbon_ar_pct"), _r("car_recomputed_pct", 2),
                        pl.col("car_abs_gap_pct") / 100.0 / pl.col("ncv_ar_gj_per_t") * pl.col("linked_heat_of_gj") * CO2_PER_C,
                        lab_id | {"car": _r("carbon_ar_pct", 2), "car_recomputed": _r("car_recomputed_pct", 2),
                                  "cad": _r(cad, 2), "mad": _r(mad, 2), "mt": _r(mt, 2)}),
        # isolated missing codes: low; a pattern of the enterprise's own (see frames.qr_patterns): medium
        "LAB-004": Spec(pl.col("has_anti_counterfeit_code"), pl.lit(True), pl.col("stake_default_t"),
                        lab_id | {"lab_agency_id": pl.col("lab_agency_id")},
                        {"missing_in_year": pl.col("qr_missing_n"), "lab_other_rate": _r("qr_lab_other_rate", 3), "tail_p_bh": pl.col("qr_tail_q"),
                         "pattern": pl.col("qr_pattern")},
                        severity=pl.when(pl.col("qr_pattern")).then(pl.lit("medium")).otherwise(pl.lit("low"))),
        # stake: the linked emissions' change if the component sat on its band edge (Car ∝ Cad·(100 − Mt)/(100 − Mad))
        "LAB-006": Spec(comp_val, pl.concat_str(comp_lo.cast(pl.String), pl.lit("–"), comp_hi.cast(pl.String)),
                        pl.when(comp_conservative).then(0.0).otherwise(
                            pl.when(comp == "Cad").then(comp_lo / comp_val - 1.0)
                            .when(comp == "Mad").then((100.0 - comp_val) / (100.0 - comp_lo) - 1.0)
                            .otherwise((100.0 - comp_hi) / (100.0 - comp_val) - 1.0).abs()
                            * pl.col("linked_heat_of_gj") * pl.col("carbon_ar_pct") / 100.0 / pl.col("ncv_ar_gj_per_t") * CO2_PER_C
                        ).fill_nan(0.0).fill_null(0.0),
                        lab_id | {"component": comp, "value": _r(comp_val, 2), "low": comp_lo, "high": comp_hi},
                        {"report_cc_tc_per_gj": _r(lab_cc, 5), "cc_ordinary": cc_ordinary,
                         "energy_balance_holds": pl.col("linked_energy_ok")},
                        severity=pl.when(comp_conservative).then(pl.lit("low")).otherwise(pl.lit("medium"))),
        # verifications frame
        "VER-001": Spec(pl.col("verified_emissions_tco2"), pl.col("reported_emissions_tco2"), pl.col("gap_t"),
                        {"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"),
                         "verified": _r("verified_emissions_tco2", 0), "reported": _r("reported_emissions_tco2", 0),
                         "gap": _r("gap_t", 0), "limit": _r("gap_allowed_t", 0)},
                        {"verifier_agency_id": pl.col("verifier_agency_id")}),
        "VER-004": Spec(pl.col("review_days"), pl.lit(float(p.min_review_days)), pl.col("materiality_t"),
                        {"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"),
                         "agency_id": pl.col("verifier_agency_id"), "days": _r("review_days", 0),
                         "min_days": pl.lit(p.min_review_days)},
                        {"review_started": pl.col("review_started"), "review_completed": pl.col("review_completed")}),
    }


#: Frame kind (key set) of each GX-asserted code.
GX_KIND: dict[str, str] = {"lab_reports": "lab", "verifications": "verification", "monthly_reports": "monthly"}


# ---- cross-table / cross-row rules (polars) ---------------------------------------------------------
def rule_acc_008(ctx: ScreenContext) -> RuleOutput:
    """ACC-008: Σ monthly emissions of an enterprise-year vs its annual report (when one exists)."""
    p = params_for(ctx.year)
    m = monthly_frame(ctx)
    sums = m.group_by("enterprise_id").agg(pl.col("emissions_tco2").sum().alias("monthly_sum"),
                                           pl.len().alias("n_months"))
    ann = (annual_frame(ctx).sort("submitted_at", nulls_last=False).unique(["enterprise_id"], keep="last")
           .select("enterprise_id", "year", "province_code", pl.col("reported_emissions_tco2").alias("annual")))
    j = ann.join(sums, on="enterprise_id", how="inner").with_columns(
        (pl.col("monthly_sum") - pl.col("annual")).abs().alias("gap"))
    hits = j.filter(pl.col("gap") > pl.max_horizontal(pl.lit(p.annual_sum_abs_tolerance_t),
                                                      pl.col("annual").abs() * p.annual_sum_rel_tolerance))
    spec = Spec(pl.col("monthly_sum"), pl.col("annual"), pl.col("gap"),
                {"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"), "monthly_sum": _r("monthly_sum", 0),
                 "annual": _r("annual", 0), "gap": _r("gap", 0)}, {"n_monthly_reports": pl.col("n_months")})
    return hits, spec, "enterprise_year"


def rule_cmp_001(ctx: ScreenContext) -> RuleOutput:
    """CMP-001: months January … latest period seen nationally with no report, for units that deposited in the year.

    A registered unit with no deposit at all in the year is not flagged month by month: it is a scope
    matter (commissioned later, retired, not yet in the scheme, or a source that does not cover it —
    the real EIA-923 file has Agua Fria and Apache only from 2018). Units commissioned after the year
    are not expected. Honest operations that look like missing months (DOMAIN.md §4b) are graded apart:

    * a unit commissioned in the reporting year (``commissioning_year``) is expected from its first
      deposit on — the months before it did not exist for the unit (no finding);
    * months after a unit's last deposit of the year (it retired, was mothballed, or its later months
      are not deposited yet) are ``low`` with 0 t: a follow-up, not a suspicion;
    * a month missing *between* two deposits is ``medium``: outage months are deposited as zeros, so
      a hole inside the year hides a month the unit ran. Stake: the unit's mean reported monthly
      emissions of the year.

    Telemetry overrides both exemptions: a month before the first deposit or after the last one in which
    the plant's own telemetry shows the unit generating (MWh > 0 with hours under load) is a month it
    ran and did not declare — ``medium`` with the stake, like a hole (the retiring unit has no load; the
    unit that stops declaring in November keeps running).
    """
    p = params_for(ctx.year)
    nat_periods = ctx.national().monthly_reports().get_column("period")
    if nat_periods.len() == 0:
        return pl.DataFrame(), _empty_spec(), "monthly"
    last = int(str(nat_periods.max())[5:7])
    periods = pl.DataFrame({"period": [f"{ctx.year}-{mm:02d}" for mm in range(1, last + 1)]})
    units = ctx.units().filter(pl.col("commissioning_year").is_null() | (pl.col("commissioning_year") <= ctx.year))
    m = monthly_frame(ctx)
    seen = m.group_by("unit_id").agg(pl.col("emissions_tco2").mean().alias("mean_e"),
                                     pl.col("period").min().alias("_first"), pl.col("period").max().alias("_last"))
    t = _telemetry(ctx)
    ran = (t.filter((pl.col("generation_mwh") > 0) & (pl.col("hours_with_load").fill_null(0.0) > 0))
           .select("unit_id", "period").unique().with_columns(pl.lit(True).alias("ran"))
           if t is not None else pl.DataFrame(schema={"unit_id": pl.String, "period": pl.String, "ran": pl.Boolean}))
    expected = (units.select("unit_id", "enterprise_id", "province_code", "capacity_mw", "commissioning_year")
                .join(seen, on="unit_id", how="inner").join(periods, how="cross")
                .join(ran, on=["unit_id", "period"], how="left").with_columns(pl.col("ran").fill_null(False))
                # commissioned this year: the months before its first deposit did not exist for the unit
                # (unless its telemetry shows it running then)
                .filter(~((pl.col("commissioning_year") == ctx.year) & (pl.col("period") < pl.col("_first")) & ~pl.col("ran"))))
    hits = (expected.join(m.select("unit_id", "period"), on=["unit_id", "period"], how="anti")
            .with_columns(pl.lit(ctx.year).alias("year"),
                          ((pl.col("period") > pl.col("_last")) & ~pl.col("ran")).alias("after_last"),
                          contract.period_hours("period").alias("hours_in_month")))
    mean_stake = pl.coalesce(pl.col("mean_e"), pl.col("capacity_mw") * pl.col("hours_in_month") * p.typical_load_factor
                             * p.typical_coal_intensity_tco2_per_mwh)
    spec = Spec(pl.lit("no report"), pl.lit("monthly report"),
                pl.when(pl.col("after_last")).then(0.0).otherwise(mean_stake),
                {"unit_id": pl.col("unit_id"), "period": pl.col("period")},
                {"after_last_deposit": pl.col("after_last"), "last_deposit": pl.col("_last"),
                 "telemetry_shows_running": pl.col("ran")},
                severity=pl.when(pl.col("after_last")).then(pl.lit("low")).otherwise(pl.lit("medium")))
    return hits, spec, "monthly"


def rule_cmp_005(ctx: ScreenContext) -> RuleOutput:
    """CMP-005: an enterprise-year whose unit-months were first deposited after the due date (day 20), by the close.

    DOMAIN.md §5: monthly deposits are due within ``deposit_due_days`` (20) of month end, the district
    checks them by day 25, the city closes the month by day ``deposit_deadline_days`` (40); past the
    close is CMP-002. Lateness counts from the *first* deposit of a unit-month
    (:func:`checks.frames.first_deposits`), so an honest correction weeks later is not late. Chinese
    deadlines bind only GB/T 2260 provinces. One finding per enterprise-year (its late unit-months in
    the evidence), not per month: a month deposited on day 25 is a reminder for the city, and one per
    month would bury the night in slips. Low, 0 t: a late deposit is not evidence of under-reporting
    and never opens a case on its own (:mod:`carbonqa.cases` policy).
    """
    p = params_for(ctx.year)
    days = (pl.col("first_submitted_at").dt.date() - pl.col("_month_end")).dt.total_days()
    m = (monthly_frame(ctx).filter(pl.col("is_cn"))
         .join(first_deposits(ctx), on=["unit_id", "period"], how="left")
         .with_columns(pl.coalesce("first_submitted_at", "submitted_at").alias("first_submitted_at"))
         .with_columns(days.alias("first_deposit_days")))
    late = (pl.col("first_deposit_days") > p.deposit_due_days) & (pl.col("first_deposit_days") <= p.deposit_deadline_days)
    hits = (m.group_by("enterprise_id", "province_code", "year")
            .agg(late.sum().alias("late_n"), pl.len().alias("months_n"),
                 pl.col("first_deposit_days").filter(late).max().alias("max_days"),
                 pl.concat_str("unit_id", pl.lit(" "), "period").filter(late).sort().alias("late_unit_months"))
            .filter(pl.col("late_n") > 0))
    spec = Spec(pl.col("late_n"), pl.lit(0), pl.lit(0.0),
                {"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"), "late": pl.col("late_n"),
                 "months": pl.col("months_n"), "due": pl.lit(p.deposit_due_days), "max_days": pl.col("max_days")},
                {"late_unit_months": pl.col("late_unit_months").list.join(","), "city_close_days": pl.lit(p.deposit_deadline_days)})
    return hits, spec, "enterprise_year"


def rule_acc_009(ctx: ScreenContext) -> RuleOutput:
    """ACC-009: a coal unit-month reporting a carbon oxidation rate below the guideline value.

    The MRV guideline sets the oxidation rate of coal (0.99 [verify], :mod:`checks.params`); a lower
    rate lowers the emissions of the same coal one for one, and the accounting identity still holds,
    so ACC-001 cannot see it. Rates given in percent (> 1) are normalised first (ACC-006 reports the
    unit error). Stake: emissions × (default / reported rate − 1).
    """
    p = params_for(ctx.year)
    m = monthly_frame(ctx)
    of = pl.when(pl.col("oxidation_rate") > 1.0).then(pl.col("oxidation_rate") / 100.0).otherwise(pl.col("oxidation_rate"))
    hits = m.filter(pl.col("is_coal") & (pl.col("fuel_consumed_t") > 0) & (of > 0)
                    & (of < p.oxidation_rate_default - p.oxidation_rate_tolerance)).with_columns(of.alias("of_fraction"))
    spec = Spec(pl.col("of_fraction"), pl.lit(p.oxidation_rate_default),
                pl.col("emissions_tco2") * (p.oxidation_rate_default / pl.col("of_fraction") - 1.0),
                {"unit_id": pl.col("unit_id"), "period": pl.col("period"), "of": _r("of_fraction", 3),
                 "default": pl.lit(p.oxidation_rate_default)})
    return hits, spec, "monthly"


def rule_cc_002(ctx: ScreenContext) -> RuleOutput:
    """CC-002: measured and default bases mixed among a coal unit's months with fuel burnt."""
    m = monthly_frame(ctx).filter(pl.col("is_coal") & pl.col("has_fuel") & pl.col("carbon_content_basis").is_not_null())
    agg = m.group_by("unit_id", "enterprise_id", "province_code", "year").agg(
        (pl.col("carbon_content_basis") == "measured").sum().alias("n_measured"),
        (pl.col("carbon_content_basis") == "default").sum().alias("n_default"),
        pl.col("stake_default_t").filter(pl.col("carbon_content_basis") == "measured").sum().alias("stake"),
        pl.col("period").filter(pl.col("carbon_content_basis") == "default").sort().alias("default_periods"),
    )
    hits = agg.filter((pl.col("n_measured") > 0) & (pl.col("n_default") > 0))
    spec = Spec(pl.concat_str(pl.col("n_measured").cast(pl.String), pl.lit(" measured / "),
                              pl.col("n_default").cast(pl.String), pl.lit(" default")),
                pl.lit("one basis for the year"), pl.col("stake"),
                {"unit_id": pl.col("unit_id"), "year": pl.col("year"), "n_measured": pl.col("n_measured"),
                 "n_default": pl.col("n_default")},
                {"default_periods": pl.col("default_periods").list.join(",")})
    return hits, spec, "unit_year"


def rule_cc_005(ctx: ScreenContext) -> RuleOutput:
    """CC-005: a coal unit's measured CC equals an IPCC default (6 decimals) in ≥ N months of the year.

    Only more often than chance allows for a unit whose own CC lies near that default counts.

    Chance: with the unit's other measured months' median μ and robust σ (1.4826 × MAD, floored at the
    reporting resolution), a month lands on the default ``d`` with probability ``p ≈ res × φ((d − μ)/σ)/σ``
    (``res``: the finest decimal the unit's values use); the hit stands when ``P(X ≥ n | N, p)`` <
    ``ipcc_default_chance_max_p`` or fewer than 3 other months exist to show variation.
    """
    from scipy.stats import binom, norm

    p = params_for(ctx.year)
    meas = monthly_frame(ctx).filter(pl.col("chk_cc_measured").is_not_null())
    defaults = [round(v, 6) for v in p.ipcc_default_cc_tc_per_gj]
    m = meas.filter(pl.col("cc_r6").is_in(defaults))
    agg = m.group_by("unit_id", "enterprise_id", "province_code", "year").agg(
        pl.len().alias("n_months"), pl.col("cc_r6").mode().sort().first().alias("value"),
        pl.col("period").sort().alias("periods"), pl.col("stake_default_t").sum().alias("stake"))
    hits = agg.filter(pl.col("n_months") >= p.min_months_equal_ipcc_default)
    if hits.height:
        others = (meas.join(hits.select("unit_id", "year", "value", "n_months"), on=["unit_id", "year"])
                  .group_by("unit_id", "year").agg(
                      pl.len().alias("n_all"), pl.col("value").first(), pl.col("n_months").first(),
                      pl.col("cc_r6").filter(pl.col("cc_r6") != pl.col("value")).alias("o")))
        tails = []
        for uid, yr, n_all, value, n_months, o in others.iter_rows():
            if len(o) < 3:
                tails.append((uid, yr, 0.0))
                continue
            arr = np.asarray(o, dtype=float)
            res = next((10.0 ** -k for k in range(2, 7) if np.allclose(arr * 10**k, np.round(arr * 10**k), atol=1e-6)), 1e-6)
            mu = float(np.median(arr))
            sd = max(1.4826 * float(np.median(np.abs(arr - mu))), res)
            chance = min(1.0, res * float(norm.pdf((value - mu) / sd)) / sd)
            tails.append((uid, yr, float(binom.sf(n_months - 1, n_all, chance))))
        tail = pl.DataFrame(tails, schema={"unit_id": pl.String, "year": pl.Int32, "chance_p": pl.Float64}, orient="row")
        hits = (hits.join(tail.with_columns(pl.col("year").cast(hits.schema["year"])), on=["unit_id", "year"], how="left")
                .filter(pl.col("chance_p").fill_null(0.0) < p.ipcc_default_chance_max_p))
    else:
        hits = hits.with_columns(pl.lit(None, pl.Float64).alias("chance_p"))
    spec = Spec(pl.col("value"), pl.lit("measured values that vary"), pl.col("stake"),
                {"unit_id": pl.col("unit_id"), "year": pl.col("year"), "n_months": pl.col("n_months"),
                 "value": pl.col("value")}, {"periods": pl.col("periods").list.join(","), "chance_p": pl.col("chance_p")})
    return hits, spec, "unit_year"


def rule_lab_005(ctx: ScreenContext) -> RuleOutput:
    """LAB-005: serial numbers (trailing digits of ``report_no``) inverted against report dates per lab.

    Reports are ordered per lab by (report_date, serial); a report is flagged when it has a later date
    than its predecessor but a smaller serial, or an earlier date than its successor but a larger
    serial — both members of an inverted pair are flagged, ``low``. Severity ``medium`` needs a pattern:
    at least ``lab_pattern_min_reports`` reports of one enterprise-year that are themselves out of step
    (serial rank displaced from date rank by two or more places, or at least as far as their inverted
    neighbour's), so the honest clients around another client's moved report — each displaced by one
    place only — stay ``low``. Computed over the national lab table
    (labs serve several provinces); only reports in ``ctx``'s scope are returned.
    """
    nat = ctx.national().lab_reports().select("lab_report_id", "lab_agency_id", "report_no", "report_date")
    s = (nat.with_columns(pl.col("report_no").str.extract(r"(\d+)\D*$", 1).cast(pl.Int64, strict=False).alias("serial"))
         .filter(pl.col("serial").is_not_null() & pl.col("report_date").is_not_null() & pl.col("lab_agency_id").is_not_null())
         .sort("lab_agency_id", "report_date", "serial"))
    g = "lab_agency_id"
    # displacement: how far a report's serial rank sits from its date rank within its lab. A report whose
    # serial was edited (or a batch issued out of sequence) is displaced by many places; its honest
    # neighbours only by one — so the displaced member of an inverted pair is the one out of step.
    s = s.with_columns(
        (pl.int_range(pl.len()).over(g) - (pl.col("serial").rank("ordinal").over(g) - 1)).abs().alias("displacement")
    )
    s = s.with_columns(
        pl.col("serial").shift(1).over(g).alias("prev_serial"), pl.col("report_date").shift(1).over(g).alias("prev_date"),
        pl.col("report_no").shift(1).over(g).alias("prev_no"), pl.col("displacement").shift(1).over(g).alias("prev_disp"),
        pl.col("serial").shift(-1).over(g).alias("next_serial"), pl.col("report_date").shift(-1).over(g).alias("next_date"),
        pl.col("report_no").shift(-1).over(g).alias("next_no"), pl.col("displacement").shift(-1).over(g).alias("next_disp"),
    )
    after_prev = (pl.col("report_date") > pl.col("prev_date")) & (pl.col("serial") < pl.col("prev_serial"))
    before_next = (pl.col("report_date") < pl.col("next_date")) & (pl.col("serial") > pl.col("next_serial"))
    ap, bn = after_prev.fill_null(False), before_next.fill_null(False)
    neighbour_disp = pl.when(ap & bn).then(pl.max_horizontal("prev_disp", "next_disp")).when(ap).then(
        pl.col("prev_disp")).otherwise(pl.col("next_disp"))
    flagged = s.filter(ap | bn).with_columns(
        pl.when(ap).then(pl.col("prev_no")).otherwise(pl.col("next_no")).alias("neighbour_no"),
        pl.when(ap).then(pl.col("prev_date")).otherwise(pl.col("next_date")).alias("neighbour_date"),
        ((pl.col("displacement") >= 2) | (pl.col("displacement") >= neighbour_disp.fill_null(0))).alias("out_of_step"),
    ).select("lab_report_id", "neighbour_no", "neighbour_date", "out_of_step")
    hits = lab_frame(ctx).join(flagged, on="lab_report_id", how="inner")
    # both members of an inverted pair are flagged (low); a pattern (medium) is several reports of one
    # enterprise-year that are themselves out of step — not the honest neighbours of another client's
    # edited report at the same lab
    p = params_for(ctx.year)
    n_ent = (ctx.national().lab_reports().join(flagged.filter(pl.col("out_of_step")), on="lab_report_id", how="semi")
             .group_by("enterprise_id", pl.col("sample_period").str.slice(0, 4).alias("_y"))
             .agg(pl.len().alias("n_inverted")))
    hits = hits.with_columns(pl.col("sample_period").str.slice(0, 4).alias("_y")).join(
        n_ent, on=["enterprise_id", "_y"], how="left")
    spec = Spec(pl.col("report_no"), pl.lit("serial increasing with report date"), pl.col("stake_default_t"),
                {"lab_agency_id": pl.col("lab_agency_id"), "lab_report_id": pl.col("lab_report_id"),
                 "report_no": pl.col("report_no"), "report_date": pl.col("report_date"),
                 "neighbour_no": pl.col("neighbour_no"), "neighbour_date": pl.col("neighbour_date")},
                {"inverted_in_year": pl.col("n_inverted")},
                severity=pl.when(pl.col("n_inverted") >= p.lab_pattern_min_reports).then(pl.lit("medium"))
                .otherwise(pl.lit("low")))
    return hits, spec, "lab"


def _ver_spec(extra: dict[str, pl.Expr]) -> Spec:
    return Spec(pl.col("verifier_agency_id"), pl.lit("independent verifier"), pl.col("materiality_t"),
                {"agency_id": pl.col("verifier_agency_id"), "enterprise_id": pl.col("enterprise_id"),
                 "year": pl.col("year")} | extra)


def rule_ver_002(ctx: ScreenContext) -> RuleOutput:
    """VER-002: the verifier also prepared the same enterprise-year's report (self-review, any year).

    Reviewing one's own report was never impartial (2021 verification guideline); Order 775 widened the
    ban to the whole province from 1 May 2024 (VER-003).
    """
    v = verification_frame(ctx)
    hits = v.filter(pl.col("verifier_agency_id") == pl.col("preparer_agency_id"))
    return hits, _ver_spec({}), "verification"


def rule_ver_003(ctx: ScreenContext) -> RuleOutput:
    """VER-003: the verifier prepared *other* enterprises' reports of the same year in the same province."""
    p = params_for(ctx.year)
    v = verification_frame(ctx).filter(pl.col("review_date") >= p.coi_forbidden_from)
    prep = (ctx.national().annual_reports()
            .filter(pl.col("preparer_agency_id").is_not_null())
            .select(pl.col("preparer_agency_id").alias("verifier_agency_id"), "province_code", "year",
                    pl.col("enterprise_id").alias("prepared_enterprise_id")))
    j = (v.join(prep, on=["verifier_agency_id", "province_code", "year"], how="inner")
         .filter(pl.col("prepared_enterprise_id") != pl.col("enterprise_id")))
    n = j.group_by("_row").agg(pl.len().alias("n_prepared"),
                               pl.col("prepared_enterprise_id").sort().head(5).alias("examples"))
    hits = v.join(n, on="_row", how="inner").filter(
        (pl.col("verifier_agency_id") != pl.col("preparer_agency_id")) | pl.col("preparer_agency_id").is_null())
    spec = _ver_spec({"n_prepared": pl.col("n_prepared"), "province_code": pl.col("province_code")})
    spec = Spec(spec.observed, spec.expected, spec.stake, spec.params,
                {"prepared_for_examples": pl.col("examples").list.join(",")})
    return hits, spec, "verification"


def _telemetry(ctx: ScreenContext) -> pl.DataFrame | None:
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


def rule_tel_001(ctx: ScreenContext) -> RuleOutput:
    """TEL-001: output reported in a month with no telemetry row, for a unit with telemetry in other months.

    Units with no telemetry at all in the year are not flagged (not connected: a registry matter; real
    US data show partial CEMS coverage is honest). A month whose rows carry no measurement (all
    empty) has no telemetry. Such months are ``low`` with 0 t (DOMAIN.md §4b: a month without
    telemetry cannot contradict the report; links and loggers fail for months), unless the month burns
    ≥ 5 % less coal per MWh than the unit's median month (the month that lacks the meter is the month
    that looks efficient): ``medium``, stake = the coal it lacks against the usual coal per MWh. The
    unit's own month-to-month spread (robust σ) is carried as evidence for the reviewer.
    """
    t = _telemetry(ctx)
    # efficient: ≥ 5 % less coal per MWh than the unit's usual month (the unit's own spread is shown as evidence)
    efficient = pl.col("fuel_per_mwh_rel") <= -0.05
    spec = Spec(pl.lit("no telemetry"), pl.col("gross_generation_mwh"),
                # a month without telemetry cannot contradict the report (DOMAIN.md §4b): 0 t, unless the month
                # itself looks efficient — then the coal it lacks against the unit's usual coal per MWh
                pl.when(efficient).then(pl.col("emissions_tco2") * (1.0 / (1.0 + pl.col("fuel_per_mwh_rel")) - 1.0))
                .otherwise(0.0),
                {"unit_id": pl.col("unit_id"), "period": pl.col("period"), "generation": _r("gross_generation_mwh", 0)},
                evidence={"months_without_telemetry": pl.col("months_without"), "fuel_per_mwh_vs_usual": pl.col("fuel_per_mwh_rel").round(4),
                          "fuel_per_mwh_sigma": pl.col("fuel_per_mwh_sigma").round(4)},
                # months without telemetry are a data-link follow-up (low, however many: loggers and links fail
                # for months at a time); medium only when the month burns noticeably less coal per MWh than the
                # unit's other months — the month that lacks the meter is the month that looks efficient
                severity=pl.when(efficient).then(pl.lit("medium")).otherwise(pl.lit("low")))
    m = monthly_frame(ctx)
    if t is None:
        return m.clear().with_columns(pl.lit(0, pl.UInt32).alias("months_without"), pl.lit(0.0).alias("fuel_per_mwh_rel"),
                                      pl.lit(0.0).alias("fuel_per_mwh_sigma")), spec, "monthly"
    have = t.filter((pl.col("rows") > 0) & (pl.col("hours_covered").fill_null(1.0) > 0)).select("unit_id", "period").unique()
    connected = have.select("unit_id").unique()
    hits = (m.filter(pl.col("gross_generation_mwh") > 0)
            .join(connected, on="unit_id", how="semi")
            .join(have, on=["unit_id", "period"], how="anti")
            .with_columns(pl.len().over("unit_id", "year").alias("months_without")))
    lr = (pl.col("fuel_consumed_t") / pl.col("gross_generation_mwh")).log()
    usual = m.filter((pl.col("gross_generation_mwh") > 0) & (pl.col("fuel_consumed_t") > 0)).group_by("unit_id", "year").agg(
        (pl.col("fuel_consumed_t") / pl.col("gross_generation_mwh")).median().alias("_usual"),
        # the unit's own month-to-month spread of coal per MWh (1.4826 · MAD of its log, a robust σ)
        (1.4826 * (lr - lr.median()).abs().median()).alias("_sigma"))
    hits = hits.join(usual, on=["unit_id", "year"], how="left").with_columns(
        (pl.col("fuel_consumed_t") / pl.col("gross_generation_mwh") / pl.col("_usual") - 1.0).fill_null(0.0).fill_nan(0.0).alias("fuel_per_mwh_rel"),
        pl.col("_sigma").fill_null(0.0).fill_nan(0.0).alias("fuel_per_mwh_sigma"))
    return hits, spec, "monthly"


def rule_tel_002(ctx: ScreenContext) -> RuleOutput:
    """TEL-002: telemetry with output (MWh > 0 and hours with load > 0) in a month reported as zero output."""
    p = params_for(ctx.year)
    t = _telemetry(ctx)
    m = monthly_frame(ctx)
    spec = Spec(pl.col("tel_generation"), pl.col("gross_generation_mwh"),
                pl.coalesce(pl.col("cems_co2_t"), pl.col("tel_generation") * pl.col("intensity")),
                {"unit_id": pl.col("unit_id"), "period": pl.col("period"), "tel_generation": _r("tel_generation", 0),
                 "hours_with_load": _r("hours_with_load", 0), "generation": _r("gross_generation_mwh", 0)})
    if t is None:
        return m.clear(), spec, "monthly"
    intensity = m.group_by("unit_id").agg(
        (pl.col("emissions_tco2").sum() / pl.col("gross_generation_mwh").sum()).alias("intensity"))
    tel = t.filter((pl.col("generation_mwh") > 0) & (pl.col("hours_with_load") > 0)).select(
        "unit_id", "period", pl.col("generation_mwh").alias("tel_generation"), "hours_with_load", "cems_co2_t")
    hits = (m.filter(pl.col("gross_generation_mwh").fill_null(0.0) == 0)
            .join(tel, on=["unit_id", "period"], how="inner")
            .join(intensity, on="unit_id", how="left")
            .with_columns(pl.when(pl.col("intensity").is_finite() & (pl.col("intensity") > 0)).then(pl.col("intensity"))
                          .otherwise(p.typical_coal_intensity_tco2_per_mwh).alias("intensity")))
    return hits, spec, "monthly"


def _empty_spec() -> Spec:
    return Spec(pl.lit(None), pl.lit(None), pl.lit(0.0), {})


#: Polars rules by code.
POLARS_RULES: dict[str, Callable[[ScreenContext], RuleOutput]] = {
    "ACC-008": rule_acc_008,
    "ACC-009": rule_acc_009,
    "CMP-001": rule_cmp_001,
    "CMP-005": rule_cmp_005,
    "CC-002": rule_cc_002,
    "CC-005": rule_cc_005,
    "LAB-005": rule_lab_005,
    "VER-002": rule_ver_002,
    "VER-003": rule_ver_003,
    "TEL-001": rule_tel_001,
    "TEL-002": rule_tel_002,
}
