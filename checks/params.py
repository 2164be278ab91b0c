"""Regulatory and technical constants of the rule catalogue: one parameter table per regulation year.

Every constant a rule uses lives here, once, with its source (``SOURCES``); rules never carry
literals. :func:`params_for` returns the table in force for a reporting year: the table with the
greatest ``year_from`` that is ``<= year``.

Values marked **[verify]** come from DOMAIN.md, which itself flags them for confirmation against the
official text (MEE guideline for power generation facilities 企业温室气体排放核算与报告指南 发电设施,
its 2022 revision, and State Council Order 775 of 2024).

The MRV defaults (default carbon content of coal, default oxidation rate) and the IPCC rank defaults
are not restated here: each table takes those in force for its ``year_from`` from
:func:`carbonqa.regulation.mrv_defaults` (one regulation table for checks, detectors and scoring).

| table | in force for | what changed |
|---|---|---|
| 2021 | reporting years ≤ 2021 | first cycle (MRV defaults of :mod:`carbonqa.regulation` row 0) |
| 2022 | 2022–2023 | 2022 guideline revision (its MRV defaults row) |
| 2024 | 2024 → | Order 775 in force (its conflict-of-interest ban is dated: ``coi_forbidden_from``) |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from carbonqa.regulation import (
    CC_REPRODUCIBILITY_REL,
    IPCC_DEFAULT_CC,
    MEASURED_CC_BAND_TC_PER_GJ,
    chinese_default_ccs,
    mrv_defaults,
)

__all__ = ["RegulationParams", "PARAMS", "SOURCES", "params_for", "HOURS_PER_DAY", "KCAL_PER_KG_TO_GJ_PER_T"]

#: 1 kcal/kg = 0.0041868 GJ/t (International Table calorie; DOMAIN.md §3).
KCAL_PER_KG_TO_GJ_PER_T = 0.0041868
#: Hours in a day (calendar arithmetic, not a regulatory value).
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class RegulationParams:
    """Constants of one regulation year (units in the names; sources in :data:`SOURCES`)."""

    year_from: int
    # --- carbon content and oxidation ---------------------------------------------------------
    default_cc_tc_per_gj: float  # from carbonqa.regulation.mrv_defaults(year_from)
    other_default_cc_tc_per_gj: tuple[float, ...]  # the other revisions' (carbonqa.regulation.chinese_default_ccs)
    oxidation_rate_default: float  # from carbonqa.regulation.mrv_defaults(year_from)
    cc_measured_min_tc_per_gj: float
    cc_measured_max_tc_per_gj: float
    cc_default_tolerance_tc_per_gj: float
    # --- NCV ranges by coal type (GJ/t, as received) ------------------------------------------
    ncv_range_gj_per_t: dict[str, tuple[float, float]] = field(hash=False)
    ncv_unit_error_above_gj_per_t: float = 100.0
    oxidation_rate_tolerance: float = 0.005
    ipcc_default_cc_tc_per_gj: tuple[float, ...] = ()  # carbonqa.regulation.IPCC_DEFAULT_CC
    min_months_equal_ipcc_default: int = 3
    ipcc_default_chance_max_p: float = 0.001
    ipcc_default_fleet_alpha: float = 0.05
    ncv_range_margin_gj_per_t: float = 1.5
    # --- lab report ranges (%) ----------------------------------------------------------------
    cad_range_pct: tuple[float, float] = (50.0, 75.0)
    cad_range_by_coal_pct: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"lignite": (35.0, 75.0), "waste_coal": (20.0, 75.0), "subbituminous": (45.0, 75.0),
                                 "anthracite": (50.0, 85.0)}, hash=False)
    range_method_tolerance: dict[str, float] = field(
        default_factory=lambda: {"Cad": 1.0, "Mad": 0.2, "Mt": 0.5, "NCV": 0.3, "CC_rel": CC_REPRODUCIBILITY_REL}, hash=False)
    lone_month_tolerance_factor: float = 1.6
    lab_pattern_min_reports: int = 3
    qr_pattern_max_fdr: float = 0.05
    undocumented_cc_drop_rel_min: float = 0.02
    ncv_energy_rel_tol: float = 0.03
    undocumented_cc_drop_z: float = 3.0
    mad_range_pct: tuple[float, float] = (0.5, 12.0)
    mt_range_pct: tuple[float, float] = (4.0, 40.0)
    car_tolerance_pct: float = 0.15
    lab_cc_rel_tolerance: float = 0.01
    # --- accounting ---------------------------------------------------------------------------
    identity_rel_tolerance: float = 0.01
    identity_abs_tolerance_t: float = 1.0
    generation_capacity_factor_max: float = 1.05
    annual_sum_rel_tolerance: float = 0.01
    annual_sum_abs_tolerance_t: float = 10.0
    # --- completeness -------------------------------------------------------------------------
    deposit_deadline_days: int = 40
    deposit_due_days: int = 20
    # --- verification -------------------------------------------------------------------------
    verifier_gap_abs_t: float = 1000.0
    verifier_gap_rel: float = 0.10
    coi_forbidden_from: dt.date = dt.date(2024, 5, 1)
    min_review_days: int = 5
    materiality_rel: float = 0.05
    materiality_rel_large: float = 0.02
    materiality_large_above_t: float = 500_000.0
    # --- stake estimates ----------------------------------------------------------------------
    typical_coal_intensity_tco2_per_mwh: float = 0.85
    typical_load_factor: float = 0.53


#: Source of every field of :class:`RegulationParams`.
SOURCES: dict[str, str] = {
    "year_from": "first reporting year the table applies to",
    "default_cc_tc_per_gj": "carbonqa.regulation.mrv_defaults(year_from).default_cc_tc_per_gj: the MRV guideline's "
    "default carbon content of unmeasured coal in force for the table (its source there)",
    "other_default_cc_tc_per_gj": "the other defaults a 'measured' value must not merely copy: the other revisions' "
    "Chinese defaults (carbonqa.regulation.chinese_default_ccs); DOMAIN.md §4.1 ('measured values that equal a default')",
    "oxidation_rate_default": "carbonqa.regulation.mrv_defaults(year_from).oxidation_rate_default: the MRV guideline's "
    "default carbon oxidation rate of coal (its source there)",
    "oxidation_rate_tolerance": "reporting-precision margin below the default oxidation rate before ACC-009 fires "
    "(0.005: half a percentage point; a 2026 draft differentiating OF by boiler type and altitude would get its "
    "own regulation-year row) [verify]; DOMAIN.md §3",
    "cc_measured_min_tc_per_gj": "carbonqa.regulation.MEASURED_CC_BAND_TC_PER_GJ: plausible measured CC 0.0245–0.0290 tC/GJ; DOMAIN.md §3",
    "cc_measured_max_tc_per_gj": "carbonqa.regulation.MEASURED_CC_BAND_TC_PER_GJ: plausible measured CC 0.0245–0.0290 tC/GJ; DOMAIN.md §3",
    "ipcc_default_cc_tc_per_gj": "carbonqa.regulation.IPCC_DEFAULT_CC: IPCC 2006 GL vol. 2 table 1.3 default carbon "
    "contents by coal rank; DOMAIN.md §3",
    "min_months_equal_ipcc_default": "a measured value (6 decimals) equals an IPCC default by chance about once "
    "in 1,500 unit-months (synthetic national 2024: 25 honest rows in ~33,000, never 3 in one unit-year); 3 "
    "months of one unit-year is a copied default, DOMAIN.md §4.1",
    "ipcc_default_chance_max_p": "CC-005: a unit whose own CC centres on an IPCC default lands on it now and then "
    "(about 3 % of months at 5 decimals and σ 0.00015); the months on the default must be improbable under the "
    "unit's own distribution — binomial tail below 0.1 % [design choice]; with the fleet bound below, the "
    "stricter of the two applies",
    "ipcc_default_fleet_alpha": "CC-005: a unit whose own CC centres on an IPCC default lands on it now and then "
    "(about 1–3 % of months at 5 decimals and σ 0.00015); the months on the default must be improbable under the "
    "unit's own distribution *for the whole fleet tested that night* — binomial tail × units tested (Bonferroni) "
    "below 0.05, i.e. at most one chance finding in 20 national years. A per-unit tail of 0.1 % let one honest "
    "unit with 3 months on 0.0258 (tail 7·10⁻⁴ among ~2,500 measured units) open a case on a held-out "
    "clean-room night (session 9); copied defaults have tails below 10⁻³⁰ [design choice]",
    "cc_default_tolerance_tc_per_gj": "rounding tolerance of a reported default (half a unit in the 5th decimal)",
    "ncv_range_gj_per_t": "NCV as received by coal type: all coal 12–29, bituminous 19–25, anthracite 21–27, "
    "lignite 11–16 (DOMAIN.md §3); sub-bituminous 15–24 and waste coal/gangue 6–20 from GB/T 5751-2009 "
    "classification bands (Qnet,ar) [verify]",
    "ncv_range_margin_gj_per_t": "the DOMAIN.md §3 bands describe typical coals of each class; blended and "
    "as-received coals (moisture varies with season) sit up to ~1.5 GJ/t outside them (measured on the synthetic "
    "national bundle: honest 0.1–99.9 % quantiles bituminous 18.1–25.2, anthracite 20.3–26.6) [verify]",
    "ncv_unit_error_above_gj_per_t": "no fuel exceeds 100 GJ/t as received; 4000–7000 is kcal/kg "
    "(1 kcal/kg = 0.0041868 GJ/t); DOMAIN.md §3",
    "cad_range_pct": "Cad 50–75 %; DOMAIN.md §3",
    "cad_range_by_coal_pct": "coal types whose honest Cad lies outside the generic 50–75 % band (DOMAIN.md §3 Cad by rank: "
    "anthracite 60–85 %, sub-bituminous 45–65 %): anthracite up to 85 %, sub-bituminous down to 45 %; lignite (褐煤) "
    "carries high ash and air-dried moisture, Cad of Chinese lignites (eastern Inner Mongolia, Yunnan, "
    "Heilongjiang) about 35–55 %; waste coal / coal gangue (煤矸石, CFB units) Cad about 20–50 % (ash 40–70 %), "
    "but the class also covers slurry and middlings blends with ordinary carbon [verify: GB/T 5751-2009 classes, "
    "published proximate/ultimate analyses]. These bands only widen the generic band downwards; the upper bound "
    "stays the generic 75 % (no honest coal is above it). Other coal types use cad_range_pct",
    "lone_month_tolerance_factor": "CC-003: the unit-year's only month beyond range_method_tolerance['CC_rel'] but "
    "within this many times it is graded low, 0 t — what the largest of 12 honest monthly results does at the band's "
    "edge: the 95 % point of the largest of 12 normal deviations over that of one, Φ⁻¹(0.95^(1/12)) / Φ⁻¹(0.95) = "
    "2.63 / 1.645 ≈ 1.6; two such months, or one farther out, are evidence",
    "range_method_tolerance": "LAB-006 / ACC-004: a value beyond its band edge by no more than the test method's "
    "precision cannot be told from a value on the edge — graded low with 0 t. Band edges are population values "
    "(other labs, literature), so the between-lab reproducibility limit applies where the standard gives one: "
    "carbon 1.00 % absolute (GB/T 476-2008), gross calorific value 300 J/g = 0.30 GJ/t (GB/T 213-2008); "
    "moisture standards give repeatability only: Mad 0.20 % below 5 % (GB/T 212-2008), Mt 0.5 % at 10 % and "
    "above (GB/T 211-2017); CC = Car/NCV (CC-003) combines carbon (1.0 % at Cad ≈ 60 %: 1.7 %) and NCV (0.30 at "
    "≈ 22 GJ/t: 1.4 %), about 2 % relative [verify]",
    "lab_pattern_min_reports": "LAB-004/LAB-005/CMP-002: an isolated missing QR code, serial inversion or late "
    "monthly deposit is a clerical slip (low); at least 3 reports (or months) of one enterprise-year — a quarter "
    "of its monthly reports — are a pattern (medium): published cases edit a template for a whole series "
    "(DOMAIN.md §4.3), and monthly deposit exists to fix data while fresh (DOMAIN.md §2) [design choice]",
    "undocumented_cc_drop_rel_min": "CMP-003: a measured CC without a lab report 'pays' (graded high) when it lies "
    "below the median CC of the unit's documented months by more than 2 % and by more than undocumented_cc_drop_z "
    "robust standard deviations of those months. With no report, which laboratory determined the value is "
    "unknown, so the between-lab reproducibility of CC = Car/NCV applies, as for range_method_tolerance['CC_rel']: "
    "carbon 1.00 % absolute (GB/T 476-2008) at Cad ≈ 60 % = 1.7 % and NCV 0.30 GJ/t (GB/T 213-2008) at ≈ 22 GJ/t = "
    "1.4 %, about 2 % relative; the repeatability within one lab (≈ 1 %) would read two honest laboratories' "
    "difference as a drop [verify]",
    "ncv_energy_rel_tol": "ACC-004: an NCV outside the registered coal type's band whose month keeps the unit's "
    "conversion efficiency (output GJ per GJ of coal heat, against its in-band months) is a genuinely different coal "
    "burnt in proportion (low, 0 t); a written-down NCV with unchanged tonnes raises the efficiency by the same factor. "
    "3 %: a unit's monthly efficiency moves by a few percent with load (supply coal consumption of one technology "
    "spans ≈ 7 %, DOMAIN.md §3), widened to 3 robust σ of its own in-band months [design choice]",
    "undocumented_cc_drop_z": "CMP-003: the unit's own month-to-month CC variation, 1.4826 × MAD of its documented "
    "months (a robust standard deviation), times 3: a conventional outlier bound [design choice]",
    "qr_pattern_max_fdr": "LAB-004: a lab that often omits QR codes does so for all its clients (a lab-quality "
    "matter); missing codes are an enterprise's pattern only when their count is improbable under the same "
    "lab's omission rate on its other clients (binomial tail, Laplace-smoothed rate). The night tests every "
    "(lab, enterprise, year) of the country — about 1 500 tails — so a fixed 1 % level would find ~15 honest "
    "'patterns' by chance: the tails are Benjamini–Hochberg adjusted (Benjamini & Hochberg 1995, J. R. Stat. "
    "Soc. B 57:289; scipy.stats.false_discovery_control) and a pattern needs an adjusted value below 5 % "
    "[design choice: conventional 5 % false discovery rate]",
    "mad_range_pct": "Mad 0.5–12 %; DOMAIN.md §3",
    "mt_range_pct": "Mt 4–40 % (lignite high); DOMAIN.md §3",
    "car_tolerance_pct": "Car = Cad × (100 − Mt)/(100 − Mad) (GB/T 483 basis conversion); 0.15 pp allows "
    "rounding of the three inputs to 0.01 % and of Car itself",
    "lab_cc_rel_tolerance": "CC = (Car/100)/NCV (DOMAIN.md §3); 1 % covers rounding to 4–5 significant digits",
    "identity_rel_tolerance": "E = FC × NCV × CC × OF × 44/12 + MWh × grid factor (CONTRACT.md §3); 1 % "
    "covers rounding of reported inputs",
    "identity_abs_tolerance_t": "absolute floor of the identity tolerance (1 t) for near-zero months",
    "generation_capacity_factor_max": "generation ≤ capacity × hours in month; 5 % margin for nameplate "
    "overload (MWh vs kWh unit errors overshoot by ×1000); DOMAIN.md §3",
    "annual_sum_rel_tolerance": "EU MRR art. 63 aggregate vs raw; 1 % covers rounding of 12 months",
    "annual_sum_abs_tolerance_t": "absolute floor (10 t) of the monthly-vs-annual tolerance",
    "deposit_due_days": "CMP-005: monthly deposits (月度存证) are due within 20 days of month end; the district checks "
    "them within 5 (day 25) and the city closes the month by day 40 (one city's implementing notice [verify]); "
    "DOMAIN.md §5",
    "deposit_deadline_days": "monthly evidence must be deposited within 40 days after month end "
    "(MEE notice on monthly deposit 月度存证, 2022) [verify]; brief §completeness",
    "verifier_gap_abs_t": "Beijing pilot: a reported–verified gap above 1,000 t or 10 % cannot be 'accepted'; "
    "DOMAIN.md §4.4, §4 materiality",
    "verifier_gap_rel": "Beijing pilot 10 % (see verifier_gap_abs_t)",
    "coi_forbidden_from": "碳排放权交易管理暂行条例 (State Council Order 775, in force 1 May 2024): one agency may "
    "not both prepare and technically review emission reports in the same province; applies to reviews started "
    "on or after that date (so also to reviews of 2023 reports done from May 2024); DOMAIN.md §4.4",
    "min_review_days": "a technical review (document review + on-site check + report) cannot plausibly take "
    "less than a working week, 5 days [verify: provincial review practice]; DOMAIN.md §4.4 'implausibly short "
    "reviews'",
    "materiality_rel": "EU verification materiality 5 % (AVR 2018/2067 art. 23); DOMAIN.md §4 anchors",
    "materiality_rel_large": "EU verification materiality 2 % above 500 kt (AVR art. 23)",
    "materiality_large_above_t": "EU AVR art. 23 threshold 500 kt",
    "typical_coal_intensity_tco2_per_mwh": "coal intensity about 0.78–0.98 tCO2/MWh (DOMAIN.md §3); mid value "
    "used only to estimate stakes where the unit's own intensity is unknown",
    "typical_load_factor": "GCPT capacity factor 0.53 (carbonqa/data/real/README.md); used only to estimate the "
    "stake of a unit with no report at all",
}

_NCV_RANGES: dict[str, tuple[float, float]] = {
    "bituminous": (19.0, 25.0),
    "anthracite": (21.0, 27.0),
    "lignite": (11.0, 16.0),
    "subbituminous": (15.0, 24.0),
    "waste_coal": (6.0, 20.0),
    "mixed": (12.0, 29.0),
    "unknown": (12.0, 29.0),
}

def _table(year_from: int) -> RegulationParams:
    """The parameter table from ``year_from``.

    The MRV defaults in force then come from :func:`carbonqa.regulation.mrv_defaults`, the IPCC rank defaults
    from :data:`carbonqa.regulation.IPCC_DEFAULT_CC`; the thresholds are this module's (the same for every
    table so far).
    """
    mrv = mrv_defaults(year_from)
    return RegulationParams(
        year_from=year_from,
        default_cc_tc_per_gj=mrv.default_cc_tc_per_gj,
        other_default_cc_tc_per_gj=tuple(v for v in chinese_default_ccs() if v != mrv.default_cc_tc_per_gj),
        oxidation_rate_default=mrv.oxidation_rate_default,
        ipcc_default_cc_tc_per_gj=tuple(IPCC_DEFAULT_CC.values()),
        cc_measured_min_tc_per_gj=MEASURED_CC_BAND_TC_PER_GJ[0],
        cc_measured_max_tc_per_gj=MEASURED_CC_BAND_TC_PER_GJ[1],
        cc_default_tolerance_tc_per_gj=0.000005,
        ncv_range_gj_per_t=_NCV_RANGES,
    )


#: Parameter tables by the first reporting year they apply to.
PARAMS: dict[int, RegulationParams] = {y: _table(y) for y in (2000, 2022, 2024)}


def params_for(year: int) -> RegulationParams:
    """Return the parameter table in force for reporting ``year`` (greatest ``year_from <= year``).

    Raises:
        ValueError: for a year before every table (< 2000).
    """
    eligible = [y for y in PARAMS if y <= year]
    if not eligible:
        raise ValueError(f"no regulation parameters for reporting year {year}; tables start at {min(PARAMS)}")
    return PARAMS[max(eligible)]


def _check_sources() -> None:
    missing = [f.name for f in fields(RegulationParams) if f.name not in SOURCES]
    if missing:
        raise RuntimeError(f"checks.params: constants without a source: {missing}")


_check_sources()
