"""Telemetry rules (``TEL-0NN``): reported output without telemetry, telemetry output in a month reported as zero.

One :class:`~checks.spec.RuleSpec` per rule (see :mod:`checks.spec`). Telemetry is the monthly aggregate of
the lake (:meth:`carbonqa.screening.ScreenContext.telemetry_monthly`, restricted to the partition by
:func:`checks.frames.telemetry_in_scope`): MWh, coal t, CEMS CO₂ t, hours under load per unit-month.
"""

from __future__ import annotations

import polars as pl

from carbonqa.contract import gross_output_gj
from carbonqa.screening import ScreenContext
from checks.frames import monthly_frame, telemetry_in_scope
from checks.params import params_for
from checks.spec import RuleSpec, rounded

__all__ = ["TEL_001", "TEL_002", "SPECS"]

#: TEL-001: the month burns ≥ 5 % less coal than the unit's other months say its output needs — and it
#: is not alone: another such month without telemetry in the enterprise-year, or ≥ 15 % less. One month
#: 5–15 % light is within an honest unit's month-to-month spread (supply coal consumption of one
#: technology spans ≈ 7 %, DOMAIN.md §3; a month without telemetry is a data-link matter, §4b); two are a
#: pattern (their likelihood ratios multiply) [design choice]
_LIGHT = pl.col("fuel_per_output_rel") <= -0.05
_EFFICIENT = _LIGHT & ((pl.col("light_months_without") >= 2) | (pl.col("fuel_per_output_rel") <= -0.15))


def _months_without_telemetry(ctx: ScreenContext) -> pl.DataFrame:
    """TEL-001 candidates: months with output of units that have telemetry in the year; ``_tel`` null = none that month.

    Units with no telemetry at all in the year are not candidates (not connected: a registry matter; real
    US data show partial CEMS coverage is honest). A month whose rows carry no measurement (all empty)
    has no telemetry. ``months_without``: the unit-year's months without telemetry. ``fuel_per_output_rel``:
    the month's coal against what the unit's other months say its output needs (−0.05 = 5 % less):
    :func:`_usual_coal`; ``light_months_without``: the enterprise-year's unit-months without telemetry
    that burn ≥ 5 % less coal than that. ``fuel_per_output_sigma``: the unit's own month-to-month spread of coal per MWh
    (1.4826 · MAD of the log), evidence for the reviewer.
    """
    t = telemetry_in_scope(ctx)
    m = monthly_frame(ctx)
    if t is None:
        return m.clear()
    have = (t.filter((pl.col("rows") > 0) & (pl.col("hours_covered").fill_null(1.0) > 0)).select("unit_id", "period")
            .unique().with_columns(pl.lit(True).alias("_tel")))
    connected = have.select("unit_id").unique()
    cand = (m.filter(pl.col("gross_generation_mwh") > 0)
            .join(connected, on="unit_id", how="semi")
            .join(have, on=["unit_id", "period"], how="left")
            .with_columns(pl.col("_tel").is_null().sum().over("unit_id", "year").alias("months_without")))
    light = (pl.col("_tel").is_null() & _LIGHT).sum().over("enterprise_id", "year")
    return _usual_coal(cand, m).with_columns(light.alias("light_months_without"))


#: TEL-001: a CHP unit's power and heat are told apart only when its months' mix varies — the squared
#: correlation of generation and heat over its other months below 0.95 (else one ratio serves) [design choice]
_MIX_R2_MAX = 0.95


def _usual_coal(cand: pl.DataFrame, m: pl.DataFrame) -> pl.DataFrame:
    """Add ``fuel_per_output_rel`` / ``fuel_per_output_sigma`` to ``cand`` (months of ``m``'s units).

    A unit without heat supply: the month's coal per MWh against the unit-year's median month. A unit that
    supplies heat in some months (CHP, DOMAIN.md §4b: its heating season burns more coal per MWh, and
    less per GJ of output, since a GJ of heat costs about a GJ of coal and a GJ of power about 2.5): the
    coal its output needs by the unit's own marginal rates, t = a · MWh + b · GJ of heat, fitted by least
    squares over the unit-year's **other** months (leave-one-out, closed form from the 2 × 2 normal
    equations); where the mix does not vary (r² ≥ :data:`_MIX_R2_MAX`) or a rate comes out ≤ 0, coal per GJ
    of output (MWh × 3.6 + heat) against the median month.
    """
    gen, heat, fuel = pl.col("gross_generation_mwh"), pl.col("heat_supply_gj").fill_null(0.0), pl.col("fuel_consumed_t")
    ok = (gen > 0) & (fuel > 0)
    keys = ["unit_id", "year"]
    lr = (fuel / gen).log()
    per_gj = fuel / gross_output_gj()
    usual = m.filter(ok).group_by(keys).agg(
        (fuel / gen).median().alias("_per_mwh"), per_gj.median().alias("_per_gj"),
        (1.4826 * (lr - lr.median()).abs().median()).alias("_sigma"),
        (heat > 0).any().alias("_heat_any"),
        (gen * gen).sum().alias("_s11"), (gen * heat).sum().alias("_s12"), (heat * heat).sum().alias("_s22"),
        (gen * fuel).sum().alias("_s1y"), (heat * fuel).sum().alias("_s2y"))
    own = pl.when(ok).then(pl.lit(1.0)).otherwise(pl.lit(0.0))  # leave the month itself out of the sums
    s11, s12, s22 = (pl.col("_s11") - own * gen * gen), (pl.col("_s12") - own * gen * heat), (pl.col("_s22") - own * heat * heat)
    s1y, s2y = (pl.col("_s1y") - own * gen * fuel), (pl.col("_s2y") - own * heat * fuel)
    det = s11 * s22 - s12 * s12
    a, b = (s22 * s1y - s12 * s2y) / det, (s11 * s2y - s12 * s1y) / det
    fit = ((s11 > 0) & (s22 > 0) & (det > (1.0 - _MIX_R2_MAX) * s11 * s22)).fill_null(False)
    rel = (pl.when(~pl.col("_heat_any")).then(fuel / gen / pl.col("_per_mwh"))
           .when(fit & (a > 0) & (b > 0)).then(fuel / (a * gen + b * heat))
           .otherwise(per_gj / pl.col("_per_gj")) - 1.0)
    return (cand.join(usual, on=keys, how="left")
            .with_columns(rel.fill_null(0.0).fill_nan(0.0).alias("fuel_per_output_rel"),
                          pl.col("_sigma").fill_null(0.0).fill_nan(0.0).alias("fuel_per_output_sigma"))
            .drop("_per_mwh", "_per_gj", "_sigma", "_heat_any", "_s11", "_s12", "_s22", "_s1y", "_s2y"))


def _zero_months_with_telemetry(ctx: ScreenContext) -> pl.DataFrame:
    """TEL-002 candidates: ``ctx``'s months with the telemetry's output (MWh > 0 with hours under load), if any.

    Adds ``tel_generation``, ``hours_with_load``, ``cems_co2_t`` (null: no such telemetry) and the unit's
    ``intensity`` (its reported tCO₂/MWh of the year, else ``typical_coal_intensity_tco2_per_mwh``) that
    prices the stake when CEMS has no CO₂.
    """
    p = params_for(ctx.year)
    t = telemetry_in_scope(ctx)
    m = monthly_frame(ctx)
    if t is None:
        return m.clear()
    intensity = m.group_by("unit_id").agg(
        (pl.col("emissions_tco2").sum() / pl.col("gross_generation_mwh").sum()).alias("intensity"))
    tel = t.filter((pl.col("generation_mwh") > 0) & (pl.col("hours_with_load") > 0)).select(
        "unit_id", "period", pl.col("generation_mwh").alias("tel_generation"), "hours_with_load", "cems_co2_t")
    return (m.join(tel, on=["unit_id", "period"], how="left")
            .join(intensity, on="unit_id", how="left")
            .with_columns(pl.when(pl.col("intensity").is_finite() & (pl.col("intensity") > 0)).then(pl.col("intensity"))
                          .otherwise(p.typical_coal_intensity_tco2_per_mwh).alias("intensity")))


TEL_001 = RuleSpec(
    code="TEL-001",
    family="telemetry",
    table="telemetry",
    severity="medium",
    title_zh="报告有发电但无运行数据",
    title_en="Output reported, no telemetry for the month",
    description_zh="月报有发电量，但该月没有任何机组运行数据（该机组其他月份有数据）。缺数据本身不构成矛盾（数据链路故障，低、0 吨）；"
        "仅当该月耗煤明显低于本机组其他月份按发电量和供热量推算的耗煤（≥ 5%），且同一企业年内另有此类无数据月份或偏低 ≥ 15% 时为中。",
    description_en="The month reports output but the unit has no telemetry at all for it (while it has telemetry in other months). "
        "Missing telemetry contradicts nothing (a data-link matter: low, 0 t); medium only when the month burns ≥ 5 % less coal than the unit's other months say its power and heat need, and another such month without telemetry exists in the enterprise-year or it is ≥ 15 % less.",
    message_zh="{unit_id} {period}：报告发电 {generation} MWh，当月无运行数据",
    message_en="{unit_id} {period}: reported generation {generation} MWh, no telemetry for the month",
    source="DOMAIN.md §4.5 ('months reported with output but no telemetry')",
    stake_text="0 t (a month without telemetry cannot contradict the report, DOMAIN.md §4b); when the month burns ≥ 5 % less coal than the unit's other months say its power and heat need: emissions × (needed / reported coal − 1) (t)",
    frame=_months_without_telemetry, keys="monthly",
    violation=pl.col("_tel").is_null(),
    observed=pl.lit("no telemetry"), expected=pl.col("gross_generation_mwh"),
    # a month without telemetry cannot contradict the report (DOMAIN.md §4b): 0 t, unless the month
    # itself looks efficient — then the coal it lacks against what the unit's other months say its output needs
    stake=pl.when(_EFFICIENT).then(pl.col("emissions_tco2") * (1.0 / (1.0 + pl.col("fuel_per_output_rel")) - 1.0)).otherwise(0.0),
    params={"unit_id": pl.col("unit_id"), "period": pl.col("period"), "generation": rounded("gross_generation_mwh", 0)},
    evidence={"months_without_telemetry": pl.col("months_without"), "fuel_per_output_vs_usual": pl.col("fuel_per_output_rel").round(4),
              "fuel_per_output_sigma": pl.col("fuel_per_output_sigma").round(4),
              "light_months_without_telemetry": pl.col("light_months_without")},
    # months without telemetry are a data-link follow-up (low, however many: loggers and links fail
    # for months at a time); medium only when the month burns noticeably less coal than its output needs by the
    # unit's other months — the month that lacks the meter is the month that looks efficient
    grade=pl.when(_EFFICIENT).then(pl.lit("medium")).otherwise(pl.lit("low")),
)

TEL_002 = RuleSpec(
    code="TEL-002",
    family="telemetry",
    table="telemetry",
    severity="high",
    title_zh="运行数据有出力但报告为零",
    title_en="Telemetry shows output in a month reported as zero",
    description_zh="运行数据显示机组当月有出力，月报发电量却为零。",
    description_en="Telemetry shows the unit generating in a month whose report gives zero generation.",
    message_zh="{unit_id} {period}：运行数据 {tel_generation} MWh（带负荷 {hours_with_load} h），月报 {generation} MWh",
    message_en="{unit_id} {period}: telemetry {tel_generation} MWh ({hours_with_load} h with load), report {generation} MWh",
    source="DOMAIN.md §4.5 (reported generation vs sum of hourly output)",
    stake_text="CEMS CO2 of the month if measured, else telemetry MWh × the unit's reported intensity (t)",
    frame=_zero_months_with_telemetry, keys="monthly",
    violation=(pl.col("gross_generation_mwh").fill_null(0.0) == 0) & pl.col("tel_generation").is_not_null(),
    observed=pl.col("tel_generation"), expected=pl.col("gross_generation_mwh"),
    stake=pl.coalesce(pl.col("cems_co2_t"), pl.col("tel_generation") * pl.col("intensity")),
    params={"unit_id": pl.col("unit_id"), "period": pl.col("period"), "tel_generation": rounded("tel_generation", 0),
            "hours_with_load": rounded("hours_with_load", 0), "generation": rounded("gross_generation_mwh", 0)},
)

#: The telemetry rules, in code order.
SPECS: tuple[RuleSpec, ...] = (TEL_001, TEL_002)
