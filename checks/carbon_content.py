"""Carbon-content rules (``CC-0NN``): the default value, mixed bases, implausible and copied measured values.

One :class:`~checks.spec.RuleSpec` per rule (see :mod:`checks.spec`). CC in tC/GJ; the Chinese and IPCC
defaults come from :mod:`carbonqa.regulation` through :mod:`checks.params`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from carbonqa.contract import CO2_PER_C
from carbonqa.screening import ScreenContext
from checks.frames import monthly_frame
from checks.params import RegulationParams, params_for
from checks.spec import RuleSpec, rounded

__all__ = ["CC_001", "CC_002", "CC_003", "CC_004", "CC_005", "SPECS"]

_UP = {"unit_id": pl.col("unit_id"), "period": pl.col("period")}
_CC = pl.col("carbon_content_tc_per_gj")
#: heat × OF × 44/12 of the month (GJ · tCO₂/tC): a CC gap (tC/GJ) times this is tonnes of CO₂
_HEAT44 = pl.col("heat_of_gj") * CO2_PER_C


def _cc_within(p: RegulationParams) -> pl.Expr:
    """CC inside the plausible band widened by the combined reproducibility of Car and NCV (``CC_rel``)."""
    tol = p.range_method_tolerance["CC_rel"]
    return (_CC >= p.cc_measured_min_tc_per_gj * (1 - tol)) & (_CC <= p.cc_measured_max_tc_per_gj * (1 + tol))


def _cc_edge_noise(p: RegulationParams) -> pl.Expr:
    """CC-003 failing rows indistinguishable from the band's edge (graded low, 0 t).

    Within the combined reproducibility of Car and NCV (:func:`_cc_within`), or the unit-year's only month
    beyond it and within ``p.lone_month_tolerance_factor`` × that reproducibility — 12 monthly results give
    a unit at the edge 12 chances; two such months, or one farther out, are evidence. Evaluated on the failing
    rows (a unit's rows are all in its province's partition, so the count is the same however the night is
    partitioned).
    """
    within = _cc_within(p)
    lone = (~within).cast(pl.Int32).sum().over("unit_id", "year") == 1
    near = _CC >= p.cc_measured_min_tc_per_gj * (1 - p.lone_month_tolerance_factor * p.range_method_tolerance["CC_rel"])
    return within | (lone & near)


def _bases_per_unit(ctx: ScreenContext) -> pl.DataFrame:
    """CC-002 candidates: per coal unit-year with fuel burnt, its measured and default months.

    Returns:
        ``unit_id, enterprise_id, province_code, year, n_measured, n_default, stake`` (Σ default-gap stakes of
        the measured months, t), ``default_periods`` (sorted list).
    """
    m = monthly_frame(ctx).filter(pl.col("is_coal") & pl.col("has_fuel") & pl.col("carbon_content_basis").is_not_null())
    return m.group_by("unit_id", "enterprise_id", "province_code", "year").agg(
        (pl.col("carbon_content_basis") == "measured").sum().alias("n_measured"),
        (pl.col("carbon_content_basis") == "default").sum().alias("n_default"),
        pl.col("stake_default_t").filter(pl.col("carbon_content_basis") == "measured").sum().alias("stake"),
        pl.col("period").filter(pl.col("carbon_content_basis") == "default").sort().alias("default_periods"),
    )


def _ipcc_default_months(ctx: ScreenContext) -> pl.DataFrame:
    """CC-005 candidates: per coal unit-year, its measured months whose CC (6 decimals) equals an IPCC default.

    Only more often than chance allows for a unit whose own CC lies near that default counts. Chance: with
    the unit's other measured months' median μ and robust σ (1.4826 × MAD, floored at the reporting
    resolution), a month lands on the default ``d`` with probability ``p ≈ res × φ((d − μ)/σ)/σ`` (``res``:
    the finest decimal the unit's values use); ``chance_p`` = ``P(X ≥ n | N, p)``, 0 when fewer than 3
    other months exist to show variation. The test is made for every measured unit of the country each
    night, so a tail that is rare for one unit is not rare for the fleet: ``chance_fleet`` =
    ``min(1, chance_p × units_tested)`` (Bonferroni over ``units_tested``, the units with a measured CC in
    the national monthly reports of the year — the same count whichever province is screened) is the
    expected number of such coincidences in the national year, which the rule bounds as well as the unit's
    own tail (a small fleet does not loosen the per-unit test).

    Returns:
        ``unit_id, enterprise_id, province_code, year, n_months, value`` (the most frequent default hit),
        ``periods``, ``stake`` (Σ default-gap stakes, t), ``chance_p``, ``units_tested``, ``chance_fleet``.
    """
    from scipy.stats import binom, norm

    p = params_for(ctx.year)
    meas = monthly_frame(ctx).filter(pl.col("cc_measured") & _CC.is_not_null())
    defaults = [round(v, 6) for v in p.ipcc_default_cc_tc_per_gj]
    m = meas.filter(pl.col("cc_r6").is_in(defaults))
    agg = m.group_by("unit_id", "enterprise_id", "province_code", "year").agg(
        pl.len().alias("n_months"), pl.col("cc_r6").mode().sort().first().alias("value"),
        pl.col("period").sort().alias("periods"), pl.col("stake_default_t").sum().alias("stake"))
    if agg.height == 0:
        return agg.with_columns(pl.lit(None, pl.Float64).alias("chance_p"), pl.lit(None, pl.Int64).alias("units_tested"),
                                pl.lit(None, pl.Float64).alias("chance_fleet"))
    nat = ctx.national()
    units_tested = nat.memo("checks.cc005_units_tested", lambda: int(
        nat.monthly_reports().filter(pl.col("carbon_content_basis") == "measured").select(pl.col("unit_id").n_unique()).item()))
    others = (meas.join(agg.select("unit_id", "year", "value", "n_months"), on=["unit_id", "year"])
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
    return agg.join(tail.with_columns(pl.col("year").cast(agg.schema["year"])), on=["unit_id", "year"], how="left") \
        .with_columns(pl.lit(max(units_tested, 1), pl.Int64).alias("units_tested")) \
        .with_columns(pl.min_horizontal(pl.lit(1.0), pl.col("chance_p") * pl.col("units_tested")).alias("chance_fleet"))


CC_001 = RuleSpec(
    code="CC-001",
    family="carbon_content",
    table="monthly_reports",
    severity="high",
    title_zh="缺省值与当年缺省值不符",
    title_en="Default basis with a non-default value",
    description_zh="含碳量取值方式为缺省值，但数值不等于该年度规定的缺省值。",
    description_en="The basis is 'default' but the value differs from that year's default carbon content.",
    message_zh="{unit_id} {period}：缺省值取值 {cc} tC/GJ，当年缺省值 {default} tC/GJ",
    message_en="{unit_id} {period}: default basis with {cc} tC/GJ; the year's default is {default} tC/GJ",
    source="MRV guideline (2022 rev.): default 0.03085 tC/GJ from 2022, 0.03356 before [verify]; DOMAIN.md §3",
    stake_text="|default − reported CC| × FC × NCV × OF × 44/12 (t)",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=lambda p: pl.col("cc_default") & (pl.col("cc_default_abs_gap") > p.cc_default_tolerance_tc_per_gj),
    observed=_CC, expected=lambda p: pl.lit(p.default_cc_tc_per_gj),
    stake=lambda p: (pl.lit(p.default_cc_tc_per_gj) - _CC).abs() * _HEAT44,
    params=lambda p: _UP | {"cc": rounded(_CC, 5), "default": pl.lit(p.default_cc_tc_per_gj)},
)

CC_002 = RuleSpec(
    code="CC-002",
    family="carbon_content",
    table="monthly_reports",
    severity="high",
    title_zh="实测与缺省混用",
    title_en="Measured and default mixed within a unit-year",
    description_zh="同一机组同一年度内部分月份实测、部分月份缺省，指南要求全年一致。",
    description_en="A unit mixes measured and default carbon content across the months of one year; the guideline requires one basis.",
    message_zh="{unit_id} {year}年：{n_measured} 个月实测、{n_default} 个月缺省",
    message_en="{unit_id} {year}: {n_measured} measured and {n_default} default months",
    source="MRV guideline: 'all measured or all default, never mixed'; DOMAIN.md §4.1",
    stake_text="Σ over measured months (default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    frame=_bases_per_unit, keys="unit_year",
    violation=(pl.col("n_measured") > 0) & (pl.col("n_default") > 0),
    observed=pl.concat_str(pl.col("n_measured").cast(pl.String), pl.lit(" measured / "),
                           pl.col("n_default").cast(pl.String), pl.lit(" default")),
    expected=pl.lit("one basis for the year"), stake=pl.col("stake"),
    params={"unit_id": pl.col("unit_id"), "year": pl.col("year"), "n_measured": pl.col("n_measured"),
            "n_default": pl.col("n_default")},
    evidence={"default_periods": pl.col("default_periods").list.join(",")},
)

CC_003 = RuleSpec(
    code="CC-003",
    family="carbon_content",
    table="monthly_reports",
    severity="high",
    title_zh="实测含碳量低于合理下限",
    title_en="Measured carbon content below the plausible range",
    description_zh="实测单位热值含碳量低于 0.0245 tC/GJ（合理范围 0.0245–0.0290）即少报排放；高于上限不影响配额（高碳无烟煤、褐煤、煤矸石属正常），不在此规则内。"
        "低于下限不足检测再现性（约 2%）者为低，零吨；全年仅一个月略超（不足再现性的 1.6 倍）亦为低。",
    description_en="Measured carbon content below 0.0245 tC/GJ (plausible 0.0245–0.0290) under-reports emissions; values above the range cost the unit money and occur honestly (anthracite, lignite, gangue), so they are not flagged here. Below it by no more than the combined reproducibility of Car and NCV (about 2 %): low, 0 t; so is the unit-year's only month beyond that by less than 1.6 times it.",
    message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 低于合理下限 {low}（上限 {high}）",
    message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ below the plausible minimum {low} (maximum {high})",
    source="DOMAIN.md §3 (CC measured 0.0245–0.0290) and §4.1 (measured CC too low is the money lever)",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t): an implausible measurement falls back to the default",
    frame="monthly_reports", keys="monthly", gx=True,
    # high values are honest (anthracite): only the low side is a rule
    violation=lambda p: pl.col("cc_measured") & (_CC < p.cc_measured_min_tc_per_gj),
    observed=_CC, expected=lambda p: pl.lit(f"{p.cc_measured_min_tc_per_gj}–{p.cc_measured_max_tc_per_gj}"),
    # within the combined reproducibility of Car and NCV of the band, or a lone month just beyond it:
    # indistinguishable from the edge (low, 0 t)
    stake=lambda p: pl.when(_cc_edge_noise(p)).then(0.0).otherwise(pl.col("stake_default_t")),
    params=lambda p: _UP | {"cc": rounded(_CC, 5), "low": pl.lit(p.cc_measured_min_tc_per_gj),
                            "high": pl.lit(p.cc_measured_max_tc_per_gj)},
    grade=lambda p: pl.when(_cc_edge_noise(p)).then(pl.lit("low")).otherwise(pl.lit("high")),
)

CC_004 = RuleSpec(
    code="CC-004",
    family="carbon_content",
    table="monthly_reports",
    severity="low",
    title_zh="实测值等于缺省值",
    title_en="Measured value equal to a default",
    description_zh="标为实测的含碳量恰好等于某一缺省值，疑似照抄缺省值。",
    description_en="A carbon content labelled measured equals a default value exactly: probably a copied default.",
    message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 等于缺省值",
    message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ equals a default value",
    source="DOMAIN.md §4.1 ('measured' values that equal a default)",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=lambda p: pl.col("cc_measured") & pl.col("is_cn") & pl.col("cc_r6").is_in(
        sorted({round(v, 6) for v in (p.default_cc_tc_per_gj, *p.other_default_cc_tc_per_gj)})),
    observed=_CC, expected=pl.lit("a measured value, not a default"), stake=pl.col("stake_default_t"),
    params=_UP | {"cc": rounded(_CC, 5)},
)

CC_005 = RuleSpec(
    code="CC-005",
    family="carbon_content",
    table="monthly_reports",
    severity="medium",
    title_zh="实测值反复等于IPCC缺省值",
    title_en="Measured value repeatedly equal to an IPCC default",
    description_zh="同一机组一年内有多个月的“实测”含碳量恰好等于 IPCC 缺省值（0.0258/0.0268/0.0276），疑为照抄而非实测。",
    description_en="A unit's 'measured' carbon content equals an IPCC default (0.0258/0.0268/0.0276) exactly in several months of the year: copied, not measured.",
    message_zh="{unit_id} {year}年：{n_months} 个月实测含碳量恰为 IPCC 缺省值 {value} tC/GJ",
    message_en="{unit_id} {year}: measured carbon content equals the IPCC default {value} tC/GJ in {n_months} months",
    source="DOMAIN.md §4.1 ('measured' values that equal a default); IPCC 2006 GL vol. 2 table 1.3",
    stake_text="Σ over those months (default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    frame=_ipcc_default_months, keys="unit_year",
    violation=lambda p: (pl.col("n_months") >= p.min_months_equal_ipcc_default)
    & (pl.col("chance_p").fill_null(0.0) < p.ipcc_default_chance_max_p)
    & (pl.col("chance_fleet").fill_null(0.0) < p.ipcc_default_fleet_alpha),
    observed=pl.col("value"), expected=pl.lit("measured values that vary"), stake=pl.col("stake"),
    params={"unit_id": pl.col("unit_id"), "year": pl.col("year"), "n_months": pl.col("n_months"), "value": pl.col("value")},
    evidence={"periods": pl.col("periods").list.join(","), "chance_p": pl.col("chance_p"),
              "units_tested": pl.col("units_tested"), "chance_fleet": pl.col("chance_fleet")},
)

#: The carbon_content rules, in code order.
SPECS: tuple[RuleSpec, ...] = (CC_001, CC_002, CC_003, CC_004, CC_005)
