"""Verifier rules (``VER-0NN``): accepted despite a gap, conflicts of interest, implausibly short reviews.

One :class:`~checks.spec.RuleSpec` per rule (see :mod:`checks.spec`); they read the ``verifications``
frame of :mod:`checks.frames` (the verification joined to the same enterprise-year's annual report).
Stakes: the EU AVR materiality of the report (``materiality_t``) or the reported–verified gap, t.
"""

from __future__ import annotations

import polars as pl

from carbonqa.screening import ScreenContext
from checks.frames import verification_frame
from checks.spec import RuleSpec, rounded

__all__ = ["VER_001", "VER_002", "VER_003", "VER_004", "SPECS"]

_VER = {"agency_id": pl.col("verifier_agency_id"), "enterprise_id": pl.col("enterprise_id"), "year": pl.col("year")}


def _prepared_in_province(ctx: ScreenContext) -> pl.DataFrame:
    """VER-003 candidates: ``ctx``'s verifications with the *other* enterprises their verifier prepared reports for.

    Per verification: ``n_prepared`` — annual reports of the same year and province, of other enterprises,
    that the verifier prepared (null when none) — and ``examples`` (up to five of those enterprises).
    """
    v = verification_frame(ctx)
    prep = (ctx.national().annual_reports()
            .filter(pl.col("preparer_agency_id").is_not_null())
            .select(pl.col("preparer_agency_id").alias("verifier_agency_id"), "province_code", "year",
                    pl.col("enterprise_id").alias("prepared_enterprise_id")))
    j = (v.join(prep, on=["verifier_agency_id", "province_code", "year"], how="inner")
         .filter(pl.col("prepared_enterprise_id") != pl.col("enterprise_id")))
    n = j.group_by("_row").agg(pl.len().alias("n_prepared"),
                               pl.col("prepared_enterprise_id").sort().head(5).alias("examples"))
    return v.join(n, on="_row", how="left")


VER_001 = RuleSpec(
    code="VER-001",
    family="verifier",
    table="verifications",
    severity="high",
    title_zh="核查差异超限仍判无异议",
    title_en="Accepted despite a gap above 1,000 t or 10 %",
    description_zh="核查排放量与报告排放量相差超过 1000 吨或 10%，核查结论却为“无异议”。",
    description_en="Verified and reported emissions differ by more than 1,000 t or 10 %, yet the conclusion is 'accepted'.",
    message_zh="{enterprise_id} {year}年：核查 {verified} t，报告 {reported} t，差 {gap} t（限值 {limit} t），结论无异议",
    message_en="{enterprise_id} {year}: verified {verified} t vs reported {reported} t, gap {gap} t (limit {limit} t), accepted",
    source="Beijing pilot verification rule (1,000 t / 10 %); DOMAIN.md §4.4 and §4 materiality",
    stake_text="|verified − reported emissions| (t)",
    frame="verifications", keys="verification", gx=True,
    violation=(pl.col("conclusion") == "accepted") & (pl.col("gap_t") > pl.col("gap_allowed_t")),
    observed=pl.col("verified_emissions_tco2"), expected=pl.col("reported_emissions_tco2"), stake=pl.col("gap_t"),
    params={"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"),
            "verified": rounded("verified_emissions_tco2", 0), "reported": rounded("reported_emissions_tco2", 0),
            "gap": rounded("gap_t", 0), "limit": rounded("gap_allowed_t", 0)},
    evidence={"verifier_agency_id": pl.col("verifier_agency_id")},
)

VER_002 = RuleSpec(
    code="VER-002",
    family="verifier",
    table="verifications",
    severity="critical",
    title_zh="同一机构编制并核查同一企业报告",
    title_en="Same agency prepared and verified the report",
    description_zh="同一技术服务机构既编制又技术审核同一企业的排放报告（自我审核），任何年度均不具公正性，2024 年条例明令禁止。",
    description_en="One agency both prepared and technically reviewed the same enterprise's report (self-review): never impartial, and forbidden outright by the 2024 regulation.",
    message_zh="机构 {agency_id} 既编制又核查 {enterprise_id} {year}年报告",
    message_en="Agency {agency_id} both prepared and verified {enterprise_id}'s {year} report",
    source="MEE verification guideline 2021 (impartiality of the verifier) [verify]; 碳排放权交易管理暂行条例 (State Council Order 775, 2024); DOMAIN.md §4.4",
    stake_text="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    frame="verifications", keys="verification",
    violation=pl.col("verifier_agency_id") == pl.col("preparer_agency_id"),
    observed=pl.col("verifier_agency_id"), expected=pl.lit("independent verifier"), stake=pl.col("materiality_t"),
    params=_VER,
)

VER_003 = RuleSpec(
    code="VER-003",
    family="verifier",
    table="verifications",
    severity="low",
    title_zh="机构在同省同时编制和核查",
    title_en="Agency prepares and verifies in the same province",
    description_zh="核查机构在同一省份同年还为其他企业编制排放报告，条例禁止同省同时从事编制和审核。",
    description_en="The verifier also prepares other enterprises' reports in the same province and year; the 2024 regulation forbids both roles in one province (reviews from 1 May 2024). A breach by the agency, not evidence against this enterprise's data: low at enterprise level (visible on the agency and on any case of the enterprise, never opening one alone); the agency preparing *and* verifying this enterprise is VER-002 (critical).",
    message_zh="机构 {agency_id} 核查 {enterprise_id}（{province_code}），同年在该省编制了 {n_prepared} 份报告",
    message_en="Agency {agency_id} verified {enterprise_id} ({province_code}) and prepared {n_prepared} report(s) in that province in {year}",
    source="碳排放权交易管理暂行条例 (State Council Order 775, 2024); DOMAIN.md §4.4 conflict of interest",
    stake_text="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    frame=_prepared_in_province, keys="verification",
    violation=lambda p: (pl.col("review_date") >= p.coi_forbidden_from) & pl.col("n_prepared").is_not_null()
    & ((pl.col("verifier_agency_id") != pl.col("preparer_agency_id")) | pl.col("preparer_agency_id").is_null()),
    observed=pl.col("verifier_agency_id"), expected=pl.lit("independent verifier"), stake=pl.col("materiality_t"),
    params=_VER | {"n_prepared": pl.col("n_prepared"), "province_code": pl.col("province_code")},
    evidence={"prepared_for_examples": pl.col("examples").list.join(",")},
)

VER_004 = RuleSpec(
    code="VER-004",
    family="verifier",
    table="verifications",
    severity="medium",
    title_zh="核查用时过短",
    title_en="Implausibly short review",
    description_zh="技术审核从开始到完成的天数低于合理最短天数（或完成早于开始）。",
    description_en="The technical review took fewer days than a plausible minimum (or finished before it started).",
    message_zh="{enterprise_id} {year}年：{agency_id} 核查用时 {days} 天（最少 {min_days} 天）",
    message_en="{enterprise_id} {year}: review by {agency_id} took {days} days (minimum {min_days})",
    source="DOMAIN.md §4.4 ('implausibly short reviews'); checks/params.py min_review_days [verify]",
    stake_text="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    frame="verifications", keys="verification", gx=True,
    violation=lambda p: pl.col("review_days") < p.min_review_days,
    observed=pl.col("review_days"), expected=lambda p: pl.lit(float(p.min_review_days)), stake=pl.col("materiality_t"),
    params=lambda p: {"enterprise_id": pl.col("enterprise_id"), "year": pl.col("year"),
                      "agency_id": pl.col("verifier_agency_id"), "days": rounded("review_days", 0),
                      "min_days": pl.lit(p.min_review_days)},
    evidence={"review_started": pl.col("review_started"), "review_completed": pl.col("review_completed")},
)

#: The verifier rules, in code order.
SPECS: tuple[RuleSpec, ...] = (VER_001, VER_002, VER_003, VER_004)
