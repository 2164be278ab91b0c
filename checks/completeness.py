"""Completeness rules (``CMP-0NN``): missing months, late deposits, measured values without (or with a foreign) lab report.

One :class:`~checks.spec.RuleSpec` per rule (see :mod:`checks.spec`). Deadlines (days after month end)
come from :mod:`checks.params` (``deposit_due_days``, ``deposit_deadline_days``) and bind only GB/T 2260
provinces (``is_cn`` of the monthly frame).
"""

from __future__ import annotations

import polars as pl

from carbonqa import contract
from carbonqa.screening import ScreenContext
from checks.frames import monthly_frame, telemetry_in_scope
from checks.params import RegulationParams, params_for
from checks.spec import RuleSpec, rounded

__all__ = ["CMP_001", "CMP_002", "CMP_003", "CMP_004", "CMP_005", "SPECS"]

_UP = {"unit_id": pl.col("unit_id"), "period": pl.col("period")}

#: CMP-003: a month with coal burnt whose carbon content is 'measured' and whose lab report does not exist.
_UNDOCUMENTED = (pl.col("has_fuel") & (pl.col("carbon_content_basis") == "measured").fill_null(False)
                 & ~pl.col("lab_found"))


def _late(p: RegulationParams) -> pl.Expr:
    """CMP-002: deposited more than ``deposit_deadline_days`` after month end (Chinese deadlines: GB/T 2260 provinces)."""
    return pl.col("is_cn") & (pl.col("deposit_days") > p.deposit_deadline_days)


def _late_months(m: pl.DataFrame, p: RegulationParams) -> pl.DataFrame:
    """CMP-002 grading: ``late_months_n`` — distinct late months of the enterprise (a pattern from ``lab_pattern_min_reports``)."""
    return m.with_columns(pl.col("period").filter(_late(p).fill_null(False)).n_unique().over("enterprise_id")
                          .alias("late_months_n"))


def _undocumented_cc(m: pl.DataFrame, p: RegulationParams) -> pl.DataFrame:
    """Add the CMP-003 grading columns: does a measured month without a lab report hide a lower value.

    A month whose measured CC has no report is compared with the median CC of the unit's *documented*
    measured months (the enterprise's when the unit has none): ``undoc_lower`` when it lies below by more
    than ``undocumented_cc_drop_rel_min`` and ``undocumented_cc_drop_z`` robust standard deviations of
    those months (the unsupported value pays). ``undoc_explained``: the unit's documented months cite a
    plant sample filed under another unit (CONTRACT §3 lets units of one plant share one sample) and that
    unit burnt no coal in the month — the shared report was not deposited with that unit's empty month.
    ``undoc_months_n``: distinct undocumented months of the enterprise-year.

    Adds ``undoc_months_n``, ``undoc_cc_ref``, ``undoc_lower``, ``undoc_filing_unit``, ``undoc_explained``.
    """
    cc = pl.col("carbon_content_tc_per_gj")
    doc = pl.col("cc_measured") & pl.col("lab_found")
    m = m.with_columns(
        pl.col("period").filter(_UNDOCUMENTED).n_unique().over("enterprise_id", "year").alias("undoc_months_n"),
        pl.coalesce(cc.filter(doc).median().over("unit_id", "year"),
                    cc.filter(doc).median().over("enterprise_id", "year")).alias("undoc_cc_ref"),
        pl.col("lab_unit_id").filter(doc).mode().sort().first().over("unit_id", "year").alias("undoc_filing_unit"),
    ).with_columns(
        ((cc - pl.col("undoc_cc_ref")).abs().filter(doc).median().over("unit_id", "year") * 1.4826)
        .fill_null(0.0).alias("_undoc_sd"),
    )
    ran = (m.filter(pl.col("has_fuel")).select(pl.col("unit_id").alias("undoc_filing_unit"), "period")
           .unique().with_columns(pl.lit(True).alias("_filing_ran")))
    m = m.join(ran, on=["undoc_filing_unit", "period"], how="left")
    drop = pl.col("undoc_cc_ref") - cc
    return m.with_columns(
        (drop > pl.max_horizontal(pl.col("undoc_cc_ref") * p.undocumented_cc_drop_rel_min,
                                  pl.col("_undoc_sd") * p.undocumented_cc_drop_z))
        .fill_null(True).alias("undoc_lower"),
        ((pl.col("undoc_filing_unit") != pl.col("unit_id")) & pl.col("_filing_ran").is_null())
        .fill_null(False).alias("undoc_explained"),
    ).drop("_undoc_sd", "_filing_ran")


def _expected_months(ctx: ScreenContext) -> pl.DataFrame:
    """CMP-001 candidates: every unit-month January … the latest period seen nationally that a report is expected for.

    A registered unit with no deposit at all in the year is not expected month by month: it is a scope
    matter (commissioned later, retired, not yet in the scheme, or a source that does not cover it —
    the real EIA-923 file has Agua Fria and Apache only from 2018). Units commissioned after the year
    are not expected. Honest operations that look like missing months (DOMAIN.md §4b) are graded apart:

    * a unit commissioned in the reporting year (``commissioning_year``) is expected from its first
      deposit on — the months before it did not exist for the unit (not a candidate);
    * months after a unit's last deposit of the year (it retired, was mothballed, or its later months
      are not deposited yet): ``after_last`` (graded low with 0 t: a follow-up, not a suspicion);
    * a month missing *between* two deposits is medium: outage months are deposited as zeros, so a
      hole inside the year hides a month the unit ran. Stake: the unit's mean reported monthly
      emissions of the year.

    Telemetry overrides both exemptions: a month before the first deposit or after the last one in which
    the plant's own telemetry shows the unit generating (MWh > 0 with hours under load, ``ran``) is a
    month it ran and did not declare — medium with the stake, like a hole.

    Returns:
        One row per expected unit-month: ``unit_id, enterprise_id, province_code, capacity_mw, period, year,
        mean_e, _first, _last, ran, after_last, hours_in_month`` and ``_reported`` (``True`` when a report
        exists, else null: the violation).
    """
    nat_periods = ctx.national().monthly_reports().get_column("period")
    if nat_periods.len() == 0:
        return pl.DataFrame()
    last = int(str(nat_periods.max())[5:7])
    periods = pl.DataFrame({"period": [f"{ctx.year}-{mm:02d}" for mm in range(1, last + 1)]})
    units = ctx.units().filter(pl.col("commissioning_year").is_null() | (pl.col("commissioning_year") <= ctx.year))
    m = monthly_frame(ctx)
    seen = m.group_by("unit_id").agg(pl.col("emissions_tco2").mean().alias("mean_e"),
                                     pl.col("period").min().alias("_first"), pl.col("period").max().alias("_last"))
    t = telemetry_in_scope(ctx)
    ran = (t.filter((pl.col("generation_mwh") > 0) & (pl.col("hours_with_load").fill_null(0.0) > 0))
           .select("unit_id", "period").unique().with_columns(pl.lit(True).alias("ran"))
           if t is not None else pl.DataFrame(schema={"unit_id": pl.String, "period": pl.String, "ran": pl.Boolean}))
    expected = (units.select("unit_id", "enterprise_id", "province_code", "capacity_mw", "commissioning_year")
                .join(seen, on="unit_id", how="inner").join(periods, how="cross")
                .join(ran, on=["unit_id", "period"], how="left").with_columns(pl.col("ran").fill_null(False))
                # commissioned this year: the months before its first deposit did not exist for the unit
                # (unless its telemetry shows it running then)
                .filter(~((pl.col("commissioning_year") == ctx.year) & (pl.col("period") < pl.col("_first")) & ~pl.col("ran"))))
    reported = m.select("unit_id", "period", pl.lit(True).alias("_reported"))
    return (expected.join(reported, on=["unit_id", "period"], how="left")
            .with_columns(pl.lit(ctx.year).alias("year"),
                          ((pl.col("period") > pl.col("_last")) & ~pl.col("ran")).alias("after_last"),
                          contract.period_hours("period").alias("hours_in_month")))


def first_deposits(ctx: ScreenContext) -> pl.DataFrame:
    """When each unit-month of ``ctx.year`` was *first* deposited: the earliest ``submitted_at`` of any version.

    A correction (a higher ``version``) is an honest resubmission weeks later (DOMAIN.md §4 honest
    patterns); the deposit was made when its first version arrived. One SQL aggregate over the raw table
    (every stored version, national, cached on ``ctx.national()``).

    Returns:
        ``unit_id: str, period: str, first_submitted_at: datetime[us]``, one row per unit-month.
    """
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import raw_table

    nat = ctx.national()

    def load() -> pl.DataFrame:
        t = raw_table("monthly_reports")
        q = (sa.select(t.c.unit_id, t.c.period, sa.func.min(t.c.submitted_at))
             .where(t.c.period.like(f"{nat.year}-%")).group_by(t.c.unit_id, t.c.period))
        with get_engine(nat.url).connect() as conn:
            rows = [tuple(r) for r in conn.execute(q)]
        return pl.DataFrame(rows, schema={"unit_id": pl.String(), "period": pl.String(),
                                          "first_submitted_at": pl.Datetime("us")}, orient="row")

    return nat.memo("checks.first_deposits", load)


def _first_deposits_late(ctx: ScreenContext) -> pl.DataFrame:
    """CMP-005 candidates: per enterprise-year of a GB/T 2260 province, its unit-months first deposited late.

    DOMAIN.md §5: monthly deposits are due within ``deposit_due_days`` (20) of month end, the district
    checks them by day 25, the city closes the month by day ``deposit_deadline_days`` (40); past the
    close is CMP-002. Lateness counts from the *first* deposit of a unit-month (:func:`first_deposits`),
    so an honest correction weeks later is not late. Chinese deadlines bind only GB/T 2260 provinces. One
    finding per enterprise-year (its late unit-months in the evidence), not per month: a month deposited
    on day 25 is a reminder for the city, and one per month would bury the night in slips.

    Returns:
        ``enterprise_id, province_code, year, late_n, months_n, max_days, late_unit_months`` (list of
        ``"<unit_id> <period>"``).
    """
    p = params_for(ctx.year)
    days = (pl.col("first_submitted_at").dt.date() - pl.col("_month_end")).dt.total_days()
    m = (monthly_frame(ctx).filter(pl.col("is_cn"))
         .join(first_deposits(ctx), on=["unit_id", "period"], how="left")
         .with_columns(pl.coalesce("first_submitted_at", "submitted_at").alias("first_submitted_at"))
         .with_columns(days.alias("first_deposit_days")))
    late = (pl.col("first_deposit_days") > p.deposit_due_days) & (pl.col("first_deposit_days") <= p.deposit_deadline_days)
    return (m.group_by("enterprise_id", "province_code", "year")
            .agg(late.sum().alias("late_n"), pl.len().alias("months_n"),
                 pl.col("first_deposit_days").filter(late).max().alias("max_days"),
                 pl.concat_str("unit_id", pl.lit(" "), "period").filter(late).sort().alias("late_unit_months")))


CMP_001 = RuleSpec(
    code="CMP-001",
    family="completeness",
    table="monthly_reports",
    severity="medium",
    title_zh="月度存证缺失",
    title_en="Monthly report missing",
    description_zh="已在本年度报送的机组缺少某月的月度存证（停机月份也应报送零值）。两次存证之间缺月为中；最后一次存证之后的月份"
        "（退役、封存或尚未存证）为低、0 吨；当年投产机组首次存证之前的月份不要求。",
    description_en="A unit that deposits in the year has no monthly deposit for one of its months (outage months are reported as zeros, not omitted). "
        "A month missing between two deposits is medium; months after the last deposit (retired, mothballed or not yet deposited) are low, 0 t; "
        "a unit commissioned in the year is not expected before its first deposit.",
    message_zh="{unit_id}：缺少 {period} 月度存证",
    message_en="{unit_id}: no monthly report for {period}",
    source="MEE monthly deposit requirement (月度存证); DOMAIN.md §2 'units upload every month', §4.7",
    stake_text="the unit's mean reported monthly emissions of the year for a month missing between two deposits (t); 0 t after the last deposit; months before a unit commissioned in the year are not expected",
    frame=_expected_months, keys="monthly",
    violation=pl.col("_reported").is_null(),
    observed=pl.lit("no report"), expected=pl.lit("monthly report"),
    stake=lambda p: pl.when(pl.col("after_last")).then(0.0).otherwise(pl.coalesce(
        pl.col("mean_e"),
        pl.col("capacity_mw") * pl.col("hours_in_month") * p.typical_load_factor * p.typical_coal_intensity_tco2_per_mwh)),
    params=_UP,
    evidence={"after_last_deposit": pl.col("after_last"), "last_deposit": pl.col("_last"),
              "telemetry_shows_running": pl.col("ran")},
    grade=pl.when(pl.col("after_last")).then(pl.lit("low")).otherwise(pl.lit("medium")),
)

CMP_002 = RuleSpec(
    code="CMP-002",
    family="completeness",
    table="monthly_reports",
    severity="low",
    title_zh="月度存证逾期",
    title_en="Late monthly deposit",
    description_zh="月度存证上传时间晚于月末后 40 日。个别月份逾期为低；同一企业同年至少 3 个月逾期为模式（中），"
        "月度存证“以月保年”的意义落空，逾期月份的排放量存疑。",
    description_en="The monthly evidence was deposited more than 40 days after the end of the month. One late month is "
        "low; at least 3 late months of one enterprise-year are a pattern (medium): monthly deposit exists to fix the data "
        "while fresh, so the late months' emissions are in doubt.",
    message_zh="{unit_id} {period}：{submitted_at} 上传，月末后 {days} 日（期限 {deadline} 日）",
    message_en="{unit_id} {period}: deposited {submitted_at}, {days} days after month end (deadline {deadline} days)",
    source="monthly deposit deadline, 40 days after month end [verify]; checks/params.py deposit_deadline_days",
    stake_text="0 t for an isolated late month; the month's reported emissions (t) when the enterprise has ≥ 3 late months",
    frame="monthly_reports", keys="monthly", gx=True, prepare=_late_months,
    violation=lambda p: _late(p),
    observed=pl.col("deposit_days"), expected=lambda p: pl.lit(float(p.deposit_deadline_days)),
    # one late month is a slip (low, no stake); late months as a pattern defeat the monthly deposit's
    # point (data fixed while fresh), so the late months' emissions are at stake (medium)
    stake=lambda p: pl.when(pl.col("late_months_n") >= p.lab_pattern_min_reports).then(pl.col("emissions_tco2")).otherwise(0.0),
    params=lambda p: _UP | {"submitted_at": pl.col("submitted_at"), "days": rounded("deposit_days", 0),
                            "deadline": pl.lit(p.deposit_deadline_days)},
    evidence={"late_months_in_year": pl.col("late_months_n")},
    grade=lambda p: pl.when(pl.col("late_months_n") >= p.lab_pattern_min_reports).then(pl.lit("medium")).otherwise(pl.lit("low")),
)

CMP_003 = RuleSpec(
    code="CMP-003",
    family="completeness",
    table="monthly_reports",
    severity="high",
    title_zh="实测含碳量无检测报告",
    title_en="Measured carbon content without a lab report",
    description_zh="含碳量取值方式为实测，但未关联或找不到对应的煤质检测报告；无报告支撑的实测值应按缺省值计。"
        "分级：低于本机组有报告月份含碳量中位数（超出自身波动）为高；与之相符且仅一个月，或全厂共用煤样的报告所挂机组当月停运，为低（补交报告）；其余为中。",
    description_en="The basis is 'measured' but no lab report is linked or the linked report does not exist; unsupported measurements fall back to the default. "
        "Graded: below the median of the unit's documented months (beyond its own variation) → high; consistent with them and a single month, "
        "or the plant's shared sample filed under a unit idle that month → low (request the report); otherwise medium.",
    message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 无检测报告（报告编号 {lab_report_id}）",
    message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ without lab report (id {lab_report_id})",
    source="MRV guideline (2022 rev.) §carbon content: measured values need test reports, otherwise defaults apply; DOMAIN.md §4.7",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    frame="monthly_reports", keys="monthly", gx=True, prepare=_undocumented_cc,
    violation=_UNDOCUMENTED,
    observed=pl.col("lab_report_id"), expected=pl.lit("existing lab report"), stake=pl.col("stake_default_t"),
    params=_UP | {"cc": rounded("carbon_content_tc_per_gj", 5), "lab_report_id": pl.col("lab_report_id").fill_null("—")},
    evidence={"documented_cc_median": rounded("undoc_cc_ref", 5), "undocumented_months_in_year": pl.col("undoc_months_n"),
              "below_documented": pl.col("undoc_lower"), "sample_filed_under": pl.col("undoc_filing_unit"),
              "filing_unit_idle": pl.col("undoc_explained")},
    # an unsupported value below the unit's documented months pays (high); one that agrees with them is an
    # evidence gap: isolated, or the plant's shared-sample unit idle that month → low; else medium
    grade=pl.when(pl.col("undoc_lower")).then(pl.lit("high"))
    .when((pl.col("undoc_months_n") <= 1) | pl.col("undoc_explained")).then(pl.lit("low")).otherwise(pl.lit("medium")),
)

CMP_004 = RuleSpec(
    code="CMP-004",
    family="completeness",
    table="monthly_reports",
    severity="high",
    title_zh="检测报告与机组或月份不符",
    title_en="Lab report of another plant or month",
    description_zh="月报关联的检测报告属于其他企业的机组或其他月份（同一电厂机组共用报告属正常）。",
    description_en="The linked lab report is for a unit of another enterprise or for another month (units of one plant may share a report).",
    message_zh="{unit_id} {period}：检测报告 {lab_report_id} 属于机组 {lab_unit_id}、{lab_period} 月",
    message_en="{unit_id} {period}: lab report {lab_report_id} is for unit {lab_unit_id}, month {lab_period}",
    source="MRV guideline: monthly composite sample per unit/plant and month; DOMAIN.md §4.2 (copied lab values), CONTRACT.md lab_reports",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=pl.col("lab_found") & ~pl.col("lab_matches"),
    observed=pl.concat_str(pl.col("lab_unit_id"), pl.lit("/"), pl.col("lab_period")),
    expected=pl.concat_str(pl.col("unit_id"), pl.lit("/"), pl.col("period")), stake=pl.col("stake_default_t"),
    params=_UP | {"lab_report_id": pl.col("lab_report_id"), "lab_unit_id": pl.col("lab_unit_id"),
                  "lab_period": pl.col("lab_period")},
    evidence={"lab_enterprise_id": pl.col("lab_enterprise_id")},
)

CMP_005 = RuleSpec(
    code="CMP-005",
    family="completeness",
    table="monthly_reports",
    severity="low",
    title_zh="月度存证未按期上传",
    title_en="Monthly deposits after their due date",
    description_zh="企业本年度有机组月的月度存证首次上传晚于月末后 20 日的截止日（区县核查、地市关账之前）。"
        "逾期上传本身不是少报的证据：每企业每年一条低级别提示，从不单独立案；超过地市关账（40 日）见 CMP-002。更正重报按首次上传计。",
    description_en="Unit-months of the enterprise-year were first deposited after their due date, 20 days after month "
        "end (before the district check and the city's close). A late deposit is not evidence of under-reporting: one low "
        "finding per enterprise-year, never opening a case on its own; past the city's close (40 days) see CMP-002. A "
        "corrected resubmission counts from its first deposit.",
    message_zh="{enterprise_id} {year}：{months} 个机组月中 {late} 个首次上传晚于月末后 {due} 日（最迟 {max_days} 日）",
    message_en="{enterprise_id} {year}: {late} of {months} unit-months first deposited more than {due} days after month end "
        "(latest day {max_days})",
    source="monthly deposit due within 20 days of month end, district check by day 25, city close by day 40 (one "
        "city's implementing notice [verify]); DOMAIN.md §5; checks/params.py deposit_due_days",
    stake_text="0 t (lateness alone moves no tonnes)",
    frame=_first_deposits_late, keys="enterprise_year",
    violation=pl.col("late_n") > 0,
    observed=pl.col("late_n"), expected=pl.lit(0), stake=pl.lit(0.0),
    params=lambda p: {"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"), "late": pl.col("late_n"),
                      "months": pl.col("months_n"), "due": pl.lit(p.deposit_due_days), "max_days": pl.col("max_days")},
    evidence=lambda p: {"late_unit_months": pl.col("late_unit_months").list.join(","),
                        "city_close_days": pl.lit(p.deposit_deadline_days)},
)

#: The completeness rules, in code order.
SPECS: tuple[RuleSpec, ...] = (CMP_001, CMP_002, CMP_003, CMP_004, CMP_005)
