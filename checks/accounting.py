"""Accounting rules (``ACC-0NN``): the emission identity, physical limits, unit errors, monthly vs annual.

One :class:`~checks.spec.RuleSpec` per rule (see :mod:`checks.spec`); the GX row rules read the
``monthly_reports`` frame of :mod:`checks.frames`. Units: t, GJ/t, tC/GJ, MWh, h; constants from
:mod:`checks.params`.
"""

from __future__ import annotations

import polars as pl

from carbonqa.contract import CO2_PER_C
from carbonqa.screening import ScreenContext
from checks.frames import annual_frame, monthly_frame
from checks.params import KCAL_PER_KG_TO_GJ_PER_T, RegulationParams
from checks.spec import RuleSpec, rounded

__all__ = ["ACC_001", "ACC_002", "ACC_003", "ACC_004", "ACC_005", "ACC_006", "ACC_007", "ACC_008", "ACC_009", "SPECS"]

_UP = {"unit_id": pl.col("unit_id"), "period": pl.col("period")}
_NCV, _LO, _HI = pl.col("ncv_gj_per_t"), pl.col("ncv_lo"), pl.col("ncv_hi")
# ACC-006: the first column found in percent (oxidation rate, then carbon content, else load rate)
_OF_COL = (pl.when(pl.col("oxidation_rate") > 1.0).then(pl.lit("oxidation_rate"))
           .when(pl.col("carbon_content_tc_per_gj") > 1.0).then(pl.lit("carbon_content_tc_per_gj"))
           .otherwise(pl.lit("load_rate")))
_OF_VAL = (pl.when(pl.col("oxidation_rate") > 1.0).then(pl.col("oxidation_rate"))
           .when(pl.col("carbon_content_tc_per_gj") > 1.0).then(pl.col("carbon_content_tc_per_gj"))
           .otherwise(pl.col("load_rate")))


def _ncv_information(p: RegulationParams) -> pl.Expr:
    """ACC-004 graded low with 0 t: the off-band NCV moves no emissions down.

    Above the band (raises the emissions: gains the unit nothing), within the method's reproducibility of
    the edge, or an off-band coal burnt in proportion (the month keeps the unit's conversion efficiency).
    """
    tol = p.range_method_tolerance["NCV"]
    within = (_NCV >= _LO - tol) & (_NCV <= _HI + tol)
    return (_NCV > _HI) | within | pl.col("ncv_energy_consistent")


def _annual_vs_monthly(ctx: ScreenContext) -> pl.DataFrame:
    """ACC-008 / ACC-010 candidates: per enterprise-year of ``ctx``, the annual report (latest) and Σ of its months.

    Returns:
        ``enterprise_id, year, province_code, annual, monthly_sum, n_months, gap`` (|Σ monthly − annual|
        emissions, t) and the output the allocation rests on: ``annual_out_gj`` / ``monthly_out_gj``
        (power supplied × 3.6 + heat supplied, GJ; the annual report's ``reported_*_supply`` against Σ
        the monthly deposits' ``power_supply_mwh`` / ``heat_supply_gj``), ``out_gap_gj`` (annual −
        monthly, signed), ``t_per_gj_out`` (the enterprise's reported tCO₂ per GJ of output) and
        ``out_net_gain_t`` (out_gap × t_per_gj_out − (annual − Σ monthly emissions), t, signed).
        Built once per context (``ctx.memo``): both rules read it.
    """
    return ctx.memo("checks.annual_vs_monthly", lambda: _annual_vs_monthly_frame(ctx))


def _annual_vs_monthly_frame(ctx: ScreenContext) -> pl.DataFrame:
    m = monthly_frame(ctx)
    out_gj = pl.col("power_supply_mwh").fill_null(0.0) * 3.6 + pl.col("heat_supply_gj").fill_null(0.0)
    sums = m.group_by("enterprise_id").agg(pl.col("emissions_tco2").sum().alias("monthly_sum"), pl.len().alias("n_months"),
                                           out_gj.sum().alias("monthly_out_gj"))
    ann = (annual_frame(ctx).sort("submitted_at", nulls_last=False).unique(["enterprise_id"], keep="last")
           .select("enterprise_id", "year", "province_code", pl.col("reported_emissions_tco2").alias("annual"),
                   (pl.col("reported_power_supply_mwh").fill_null(0.0) * 3.6
                    + pl.col("reported_heat_supply_gj").fill_null(0.0)).alias("annual_out_gj")))
    return ann.join(sums, on="enterprise_id", how="inner").with_columns(
        (pl.col("monthly_sum") - pl.col("annual")).abs().alias("gap"),
        (pl.col("annual_out_gj") - pl.col("monthly_out_gj")).alias("out_gap_gj"),
        pl.when(pl.col("monthly_out_gj") > 0).then(pl.col("monthly_sum") / pl.col("monthly_out_gj")).alias("t_per_gj_out"),
    ).with_columns(
        # ACC-010's signed stake: the allowances the added output earns, net of the emissions added with it
        (pl.col("out_gap_gj") * pl.col("t_per_gj_out").fill_null(0.0) - (pl.col("annual") - pl.col("monthly_sum")))
        .alias("out_net_gain_t"))


def _of_fraction(m: pl.DataFrame, p: RegulationParams) -> pl.DataFrame:
    """ACC-009: ``of_fraction`` — the oxidation rate with a percent (> 1) read as a fraction."""
    of = pl.col("oxidation_rate")
    return m.with_columns(pl.when(of > 1.0).then(of / 100.0).otherwise(of).alias("of_fraction"))


ACC_001 = RuleSpec(
    code="ACC-001",
    family="accounting",
    table="monthly_reports",
    severity="high",
    title_zh="排放量与核算公式不符",
    title_en="Emissions do not follow the accounting identity",
    description_zh="按 燃煤量×低位发热量×单位热值含碳量×碳氧化率×44/12 + 购入电量×电网排放因子 重算的排放量与报告值之差超出容差。",
    description_en="Emissions recomputed as FC × NCV × CC × OF × 44/12 + purchased MWh × grid factor differ from the reported value beyond tolerance.",
    message_zh="{unit_id} {period}：报告排放量 {reported} tCO₂，按公式重算 {recomputed} tCO₂，差 {gap} t（容差 {tolerance} t）",
    message_en="{unit_id} {period}: reported {reported} tCO2, recomputed {recomputed} tCO2, gap {gap} t (tolerance {tolerance} t)",
    source="MRV guideline for power generation facilities (2022 rev.) eq. for combustion emissions; CONTRACT.md §3 identity; DOMAIN.md §3",
    stake_text="recomputed − reported emissions of the month, signed (t): positive = under-reported, negative = over-reported",
    frame="monthly_reports", keys="monthly", gx=True,
    # a unit error (ACC-005/006) breaks the identity too: reported there, not twice
    violation=~pl.col("unit_error") & (pl.col("identity_abs_gap_t") > pl.col("identity_tol_t")),
    observed=pl.col("emissions_tco2"), expected=rounded("e_recomputed_t", 1),
    # stakes are signed (positive = under-reported): the recomputed minus the reported emissions
    stake=pl.col("e_recomputed_t") - pl.col("emissions_tco2"),
    params=_UP | {"reported": rounded("emissions_tco2"), "recomputed": rounded("e_recomputed_t"),
                  "gap": rounded("identity_abs_gap_t"), "tolerance": rounded("identity_tol_t")},
)

ACC_002 = RuleSpec(
    code="ACC-002",
    family="accounting",
    table="monthly_reports",
    severity="high",
    title_zh="供电量大于发电量",
    title_en="Power supply above gross generation",
    description_zh="供电量为扣除厂用电后的电量，不可能大于发电量；供电量虚高直接抬高免费配额。",
    description_en="Power supplied is net of auxiliary use and can never exceed gross generation; inflated supply inflates free allowances.",
    message_zh="{unit_id} {period}：供电量 {supply} MWh 大于发电量 {generation} MWh",
    message_en="{unit_id} {period}: power supply {supply} MWh exceeds gross generation {generation} MWh",
    source="DOMAIN.md §3 ('power_supply ≤ gross_generation always'); allocation plan: allowance = benchmark × power supplied",
    stake_text="excess supply (MWh) × the month's reported intensity (emissions / supply): the allowance-equivalent tonnes",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=pl.col("power_supply_mwh") > pl.col("gross_generation_mwh"),
    observed=pl.col("power_supply_mwh"), expected=pl.col("gross_generation_mwh"),
    stake=(pl.col("power_supply_mwh") - pl.col("gross_generation_mwh")) * pl.col("emissions_tco2") / pl.col("power_supply_mwh"),
    params=_UP | {"supply": rounded("power_supply_mwh"), "generation": rounded("gross_generation_mwh")},
)

ACC_003 = RuleSpec(
    code="ACC-003",
    family="accounting",
    table="monthly_reports",
    severity="medium",
    title_zh="运行小时数超过当月小时数",
    title_en="Operating hours exceed the hours in the month",
    description_zh="运行小时数不可能超过当月日历小时数。",
    description_en="Operating hours cannot exceed the calendar hours of the month.",
    message_zh="{unit_id} {period}：运行小时数 {hours} h 超过当月 {hours_in_month} h",
    message_en="{unit_id} {period}: operating hours {hours} h exceed the month's {hours_in_month} h",
    source="DOMAIN.md §3 (load rate / hours ≤ hours in the month); CONTRACT.md monthly_reports.operating_hours",
    stake_text="0 t: a plausibility defect that changes no emissions by itself",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=pl.col("operating_hours") > pl.col("hours_in_month"),
    observed=pl.col("operating_hours"), expected=pl.col("hours_in_month"), stake=pl.lit(0.0),
    params=_UP | {"hours": rounded("operating_hours"), "hours_in_month": rounded("hours_in_month", 0)},
)

ACC_004 = RuleSpec(
    code="ACC-004",
    family="accounting",
    table="monthly_reports",
    severity="medium",
    title_zh="低位发热量超出煤种合理范围",
    title_en="NCV outside the plausible range of the coal type",
    description_zh="收到基低位发热量不在该煤种的合理区间内（烟煤19–25，无烟煤21–27，褐煤11–16 GJ/t 等）。"
        "偏高一侧（多报排放）或超出幅度不大于发热量测定再现性限（0.30 GJ/t）为低，零吨。",
    description_en="The as-received NCV lies outside the plausible band of the unit's coal type (bituminous 19–25, anthracite 21–27, lignite 11–16 GJ/t, …). "
        "Above the band (raises emissions) or beyond it by no more than the method's reproducibility (0.30 GJ/t): low, 0 t.",
    message_zh="{unit_id} {period}：低位发热量 {ncv} GJ/t 超出{coal_type}合理范围 {low}–{high} GJ/t",
    message_en="{unit_id} {period}: NCV {ncv} GJ/t outside the {coal_type} range {low}–{high} GJ/t",
    source="DOMAIN.md §3 NCV ranges by coal type; checks/params.py ncv_range_gj_per_t",
    stake_text="|NCV − nearest plausible bound| × FC × CC × OF × 44/12 (t)",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=pl.col("ncv_range_excess") > 0,
    observed=_NCV, expected=pl.concat_str(_LO.cast(pl.String), pl.lit("–"), _HI.cast(pl.String)),
    # below the band: low when the month keeps the unit's conversion efficiency (a leaner coal burnt in
    # proportion: frames._ncv_energy_balance), medium when the NCV fell without the tonnes rising
    stake=lambda p: pl.when(_ncv_information(p)).then(0.0).otherwise(
        (_NCV - _NCV.clip(_LO, _HI)).abs() * pl.col("fuel_consumed_t") * pl.col("carbon_content_tc_per_gj")
        * pl.col("oxidation_rate") * CO2_PER_C),
    params=_UP | {"ncv": rounded(_NCV, 2), "coal_type": pl.col("coal_type"), "low": _LO, "high": _HI},
    evidence={"efficiency_vs_in_band_months": rounded("ncv_eff_dev", 4), "energy_balance_holds": pl.col("ncv_energy_consistent")},
    grade=lambda p: pl.when(_ncv_information(p)).then(pl.lit("low")).otherwise(pl.lit("medium")),
)

ACC_005 = RuleSpec(
    code="ACC-005",
    family="accounting",
    table="monthly_reports",
    severity="high",
    title_zh="低位发热量单位错误（kcal/kg）",
    title_en="NCV unit error (kcal/kg given for GJ/t)",
    description_zh="燃煤低位发热量超过 100 GJ/t，应为以 kcal/kg 填报（约 4000–7000）。",
    description_en="A coal NCV above 100 GJ/t is a unit error: kcal/kg (about 4,000–7,000) reported as GJ/t.",
    message_zh="{unit_id} {period}：低位发热量 {ncv} 疑为 kcal/kg，折合 {ncv_gj} GJ/t",
    message_en="{unit_id} {period}: NCV {ncv} looks like kcal/kg, i.e. {ncv_gj} GJ/t",
    source="DOMAIN.md §3 (1 kcal/kg = 0.0041868 GJ/t: a value like 5000 is a kcal/kg unit error); §4.6",
    stake_text="emissions recomputed with the corrected units − reported emissions, signed (t): a typo that inflated the report is an over-report (negative), shown and never added",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=lambda p: pl.col("is_coal") & pl.col("has_fuel") & (_NCV > p.ncv_unit_error_above_gj_per_t),
    observed=_NCV, expected=rounded(_NCV * KCAL_PER_KG_TO_GJ_PER_T, 3),
    # a unit typo that inflated the report is an over-report (negative): shown, never added to a stake
    stake=pl.col("e_corrected_t") - pl.col("emissions_tco2"),
    params=_UP | {"ncv": rounded(_NCV, 1), "ncv_gj": rounded(_NCV * KCAL_PER_KG_TO_GJ_PER_T, 2)},
    evidence={"e_corrected_t": rounded("e_corrected_t")},
)

ACC_006 = RuleSpec(
    code="ACC-006",
    family="accounting",
    table="monthly_reports",
    severity="high",
    title_zh="比例以百分数填报",
    title_en="Percent given for a fraction",
    description_zh="碳氧化率、负荷率应为 0–1 的小数，单位热值含碳量约 0.03 tC/GJ；填报值大于 1（如 99、2.6）为百分数单位错误。",
    description_en="Oxidation rate and load rate are fractions 0–1 and carbon content is about 0.03 tC/GJ; a value above 1 (e.g. 99, or 2.6 tC/GJ) is a percent given for a fraction.",
    message_zh="{unit_id} {period}：{column} = {value} 疑为百分数，应为 {fraction}",
    message_en="{unit_id} {period}: {column} = {value} looks like a percent; fraction {fraction}",
    source="CONTRACT.md monthly_reports.oxidation_rate/load_rate (0–1); DOMAIN.md §4.6 unit errors",
    stake_text="emissions recomputed with the corrected units − reported emissions, signed (t): a typo that inflated the report is an over-report (negative), shown and never added",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=(pl.col("oxidation_rate") > 1.0) | (pl.col("load_rate") > 1.0) | (pl.col("carbon_content_tc_per_gj") > 1.0),
    observed=_OF_VAL, expected=_OF_VAL / 100.0, stake=pl.col("e_corrected_t") - pl.col("emissions_tco2"),
    params=_UP | {"column": _OF_COL, "value": rounded(_OF_VAL, 3), "fraction": rounded(_OF_VAL / 100.0, 4)},
    evidence={"e_corrected_t": rounded("e_corrected_t")},
)

ACC_007 = RuleSpec(
    code="ACC-007",
    family="accounting",
    table="monthly_reports",
    severity="high",
    title_zh="发电量超过装机容量极限（MWh/kWh 错误）",
    title_en="Generation above capacity × hours (MWh vs kWh)",
    description_zh="发电量大于 装机容量×当月小时数，物理上不可能，常见于以 kWh 填报 MWh。",
    description_en="Gross generation above capacity × hours in the month is physically impossible; typical of kWh reported as MWh.",
    message_zh="{unit_id} {period}：发电量 {generation} MWh 超过 {capacity} MW × {hours_in_month} h 上限 {max_generation} MWh（{ratio} 倍）",
    message_en="{unit_id} {period}: generation {generation} MWh above {capacity} MW × {hours_in_month} h = {max_generation} MWh ({ratio}×)",
    source="DOMAIN.md §3 (load ≤ 1, hours ≤ month) and §4.6 (MWh vs kWh)",
    stake_text="the month's reported emissions (t): the month's generation-based allocation cannot be trusted until corrected",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=pl.col("gross_generation_mwh") > pl.col("generation_max_mwh"),
    observed=pl.col("gross_generation_mwh"), expected=rounded("generation_max_mwh", 0), stake=pl.col("emissions_tco2"),
    params=_UP | {"generation": rounded("gross_generation_mwh", 0), "capacity": rounded("capacity_mw", 1),
                  "hours_in_month": rounded("hours_in_month", 0), "max_generation": rounded("generation_max_mwh", 0),
                  "ratio": rounded(pl.col("gross_generation_mwh") / (pl.col("capacity_mw") * pl.col("hours_in_month")), 1)},
)

ACC_008 = RuleSpec(
    code="ACC-008",
    family="accounting",
    table="annual_reports",
    severity="high",
    title_zh="月度合计与年度报告不一致",
    title_en="Monthly sum differs from the annual report",
    description_zh="企业各机组月度存证排放量合计与年度排放报告的排放量不一致。",
    description_en="The enterprise's monthly deposited emissions, summed over units and months, differ from its annual report.",
    message_zh="{enterprise_id} {year}年：月度排放合计 {monthly_sum} tCO₂，年报 {annual} tCO₂，差 {gap} t",
    message_en="{enterprise_id} {year}: monthly emissions sum {monthly_sum} tCO2 vs annual report {annual} tCO2, gap {gap} t",
    source="EU MRR art. 63 (aggregate vs raw); DOMAIN.md §4.6 'monthly sums that do not match the annual report'",
    stake_text="|Σ monthly − annual reported emissions| (t)",
    frame=_annual_vs_monthly, keys="enterprise_year",
    violation=lambda p: pl.col("gap") > pl.max_horizontal(pl.lit(p.annual_sum_abs_tolerance_t),
                                                          pl.col("annual").abs() * p.annual_sum_rel_tolerance),
    observed=pl.col("monthly_sum"), expected=pl.col("annual"), stake=pl.col("gap"),
    params={"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"), "monthly_sum": rounded("monthly_sum", 0),
            "annual": rounded("annual", 0), "gap": rounded("gap", 0)},
    evidence={"n_monthly_reports": pl.col("n_months")},
)

ACC_009 = RuleSpec(
    code="ACC-009",
    family="accounting",
    table="monthly_reports",
    severity="medium",
    title_zh="碳氧化率低于指南值",
    title_en="Oxidation rate below the guideline value",
    description_zh="燃煤机组月报的碳氧化率低于核算指南规定值；排放量按同比例偏低，而核算恒等式仍成立。",
    description_en="A coal unit reports a carbon oxidation rate below the guideline value: its emissions are lower by the same ratio while the accounting identity still holds.",
    message_zh="{unit_id} {period}：碳氧化率 {of}，指南值 {default}",
    message_en="{unit_id} {period}: oxidation rate {of}, guideline value {default}",
    source="MRV guideline for power generation facilities (2022 revision): coal oxidation rate 0.99 [verify]; DOMAIN.md §3",
    stake_text="emissions × (guideline rate / reported rate − 1) (t)",
    frame="monthly_reports", keys="monthly", prepare=_of_fraction,
    # rates given in percent (> 1) are normalised first (ACC-006 reports the unit error)
    violation=lambda p: pl.col("is_coal") & (pl.col("fuel_consumed_t") > 0) & (pl.col("of_fraction") > 0)
    & (pl.col("of_fraction") < p.oxidation_rate_default - p.oxidation_rate_tolerance),
    observed=pl.col("of_fraction"), expected=lambda p: pl.lit(p.oxidation_rate_default),
    stake=lambda p: pl.col("emissions_tco2") * (p.oxidation_rate_default / pl.col("of_fraction") - 1.0),
    params=lambda p: _UP | {"of": rounded("of_fraction", 3), "default": pl.lit(p.oxidation_rate_default)},
)

ACC_010 = RuleSpec(
    code="ACC-010",
    family="accounting",
    table="annual_reports",
    severity="high",
    title_zh="年报供电供热量与月度合计不一致",
    title_en="Annual output differs from the monthly deposits",
    description_zh="年度排放报告的供电量、供热量（配额分配的依据）与各机组月度存证的合计不一致：年报多报供电供热量即多得配额。",
    description_en="The annual report's power and heat supplied — what allowances are allocated on — differ from the sum of the units' monthly deposits: output added in the annual report earns allowances it never produced.",
    message_zh="{enterprise_id} {year}年：年报供电供热 {annual_out} GJ，月度合计 {monthly_out} GJ，差 {gap} GJ",
    message_en="{enterprise_id} {year}: annual report output {annual_out} GJ vs monthly deposits {monthly_out} GJ, gap {gap} GJ",
    source="national allowance allocation plan for the power sector (allocation on power and heat supplied); "
    "EU MRR art. 63 (aggregate vs raw); DOMAIN.md §4.6 (monthly sums that do not match the annual report)",
    stake_text="(annual − Σ monthly output, GJ) × the enterprise's reported tCO₂ per GJ of output − (annual − Σ monthly "
    "emissions): the allowances the added output earns net of the emissions the annual report adds with it, signed "
    "(months missing from the deposits but in the annual report add both: ≈ 0 t)",
    frame=_annual_vs_monthly, keys="enterprise_year",
    # the emissions' 1 % aggregate tolerance (rounding of twelve months) applies to the output too
    violation=lambda p: (pl.col("annual_out_gj") > 0)
    & (pl.col("out_gap_gj").abs() > pl.col("monthly_out_gj").abs() * p.annual_sum_rel_tolerance),
    observed=pl.col("annual_out_gj"), expected=pl.col("monthly_out_gj"),
    stake=pl.col("out_net_gain_t"),
    # a material net gain (the Beijing pilot's 1,000 t, verifier_gap_abs_t) is a breach; otherwise a contradiction to correct
    grade=lambda p: pl.when(pl.col("out_net_gain_t") >= p.verifier_gap_abs_t).then(pl.lit("high")).otherwise(pl.lit("medium")),
    params={"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"), "annual_out": rounded("annual_out_gj", 0),
            "monthly_out": rounded("monthly_out_gj", 0), "gap": rounded("out_gap_gj", 0)},
    evidence={"n_monthly_reports": pl.col("n_months"), "t_per_gj_out": rounded("t_per_gj_out", 5)},
)

#: The accounting rules, in code order.
SPECS: tuple[RuleSpec, ...] = (ACC_001, ACC_002, ACC_003, ACC_004, ACC_005, ACC_006, ACC_007, ACC_008, ACC_009, ACC_010)
