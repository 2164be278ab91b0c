"""The check catalogue: every rule and detector with a stable code (anchor: US EPA ECMPS check catalogue).

Each entry has a stable ``code`` (``ACC-001``), one ``family`` of the contract vocabulary, a
``severity`` on the ladder ``critical > high > medium > low > info``, a title and description in zh-CN
and en, message templates with ``{placeholders}``, the ``source`` it rests on (guideline clause,
regulation article, published case, DOMAIN.md section) and ``stake``: how its ``tco2_at_stake`` is
computed.

Code ranges: rules (``checks/``) use 001–099 within their prefix, detectors (``detectors/``) 101–199,
the pipeline (tips) ``TIP-``. Prefixes: ``ACC`` accounting, ``CMP`` completeness, ``LAB`` lab_forensics,
``VER`` verifier, ``CC`` carbon_content, ``CPY`` copied_values, ``TEL`` telemetry, ``TIP`` tip.

Entries are declared in the three tuples below (rules, detectors, pipeline); :data:`CATALOGUE` merges
them and :func:`validate_catalogue` proves codes unique, families valid and templates renderable.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Literal

from carbonqa.contract import FAMILIES, SEVERITIES
from carbonqa.findings import Finding

__all__ = ["Rule", "CATALOGUE", "rule", "make_finding", "validate_catalogue", "PREFIX_FAMILY"]

PREFIX_FAMILY: dict[str, str] = {
    "ACC": "accounting",
    "CMP": "completeness",
    "LAB": "lab_forensics",
    "VER": "verifier",
    "CC": "carbon_content",
    "CPY": "copied_values",
    "TEL": "telemetry",
    "TIP": "tip",
}


@dataclass(frozen=True)
class Rule:
    """One catalogue entry (rule or detector)."""

    code: str
    family: str
    severity: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    message_zh: str
    message_en: str
    source: str
    stake: str
    kind: Literal["rule", "detector", "pipeline"] = "rule"
    table: str | None = None

    @property
    def placeholders(self) -> set[str]:
        """Names used by the message templates (both languages)."""
        names: set[str] = set()
        for tpl in (self.message_zh, self.message_en):
            names |= {f for _, f, _, _ in string.Formatter().parse(tpl) if f}
        return {n.split(".")[0].split("[")[0].split(":")[0] for n in names}

    def render(self, params: dict[str, Any]) -> tuple[str, str]:
        """Render (zh, en) messages; raises ``KeyError`` naming a missing placeholder."""
        missing = self.placeholders - params.keys()
        if missing:
            raise KeyError(f"{self.code}: message needs {sorted(missing)}")
        return self.message_zh.format(**params), self.message_en.format(**params)


# ---- rules (owner: checks/) -------------------------------------------------------------------------
_RULES: tuple[Rule, ...] = (
    # -- accounting ----------------------------------------------------------------------------------
    Rule(
        code="ACC-001", family="accounting", severity="high", table="monthly_reports",
        title_zh="排放量与核算公式不符", title_en="Emissions do not follow the accounting identity",
        description_zh="按 燃煤量×低位发热量×单位热值含碳量×碳氧化率×44/12 + 购入电量×电网排放因子 重算的排放量与报告值之差超出容差。",
        description_en="Emissions recomputed as FC × NCV × CC × OF × 44/12 + purchased MWh × grid factor differ from the reported value beyond tolerance.",
        message_zh="{unit_id} {period}：报告排放量 {reported} tCO₂，按公式重算 {recomputed} tCO₂，差 {gap} t（容差 {tolerance} t）",
        message_en="{unit_id} {period}: reported {reported} tCO2, recomputed {recomputed} tCO2, gap {gap} t (tolerance {tolerance} t)",
        source="MRV guideline for power generation facilities (2022 rev.) eq. for combustion emissions; CONTRACT.md §3 identity; DOMAIN.md §3",
        stake="|reported − recomputed emissions| of the month (t)",
    ),
    Rule(
        code="ACC-002", family="accounting", severity="high", table="monthly_reports",
        title_zh="供电量大于发电量", title_en="Power supply above gross generation",
        description_zh="供电量为扣除厂用电后的电量，不可能大于发电量；供电量虚高直接抬高免费配额。",
        description_en="Power supplied is net of auxiliary use and can never exceed gross generation; inflated supply inflates free allowances.",
        message_zh="{unit_id} {period}：供电量 {supply} MWh 大于发电量 {generation} MWh",
        message_en="{unit_id} {period}: power supply {supply} MWh exceeds gross generation {generation} MWh",
        source="DOMAIN.md §3 ('power_supply ≤ gross_generation always'); allocation plan: allowance = benchmark × power supplied",
        stake="excess supply (MWh) × the month's reported intensity (emissions / supply): the allowance-equivalent tonnes",
    ),
    Rule(
        code="ACC-003", family="accounting", severity="medium", table="monthly_reports",
        title_zh="运行小时数超过当月小时数", title_en="Operating hours exceed the hours in the month",
        description_zh="运行小时数不可能超过当月日历小时数。",
        description_en="Operating hours cannot exceed the calendar hours of the month.",
        message_zh="{unit_id} {period}：运行小时数 {hours} h 超过当月 {hours_in_month} h",
        message_en="{unit_id} {period}: operating hours {hours} h exceed the month's {hours_in_month} h",
        source="DOMAIN.md §3 (load rate / hours ≤ hours in the month); CONTRACT.md monthly_reports.operating_hours",
        stake="0 t: a plausibility defect that changes no emissions by itself",
    ),
    Rule(
        code="ACC-004", family="accounting", severity="medium", table="monthly_reports",
        title_zh="低位发热量超出煤种合理范围", title_en="NCV outside the plausible range of the coal type",
        description_zh="收到基低位发热量不在该煤种的合理区间内（烟煤19–25，无烟煤21–27，褐煤11–16 GJ/t 等）。",
        description_en="The as-received NCV lies outside the plausible band of the unit's coal type (bituminous 19–25, anthracite 21–27, lignite 11–16 GJ/t, …).",
        message_zh="{unit_id} {period}：低位发热量 {ncv} GJ/t 超出{coal_type}合理范围 {low}–{high} GJ/t",
        message_en="{unit_id} {period}: NCV {ncv} GJ/t outside the {coal_type} range {low}–{high} GJ/t",
        source="DOMAIN.md §3 NCV ranges by coal type; checks/params.py ncv_range_gj_per_t",
        stake="|NCV − nearest plausible bound| × FC × CC × OF × 44/12 (t)",
    ),
    Rule(
        code="ACC-005", family="accounting", severity="high", table="monthly_reports",
        title_zh="低位发热量单位错误（kcal/kg）", title_en="NCV unit error (kcal/kg given for GJ/t)",
        description_zh="燃煤低位发热量超过 100 GJ/t，应为以 kcal/kg 填报（约 4000–7000）。",
        description_en="A coal NCV above 100 GJ/t is a unit error: kcal/kg (about 4,000–7,000) reported as GJ/t.",
        message_zh="{unit_id} {period}：低位发热量 {ncv} 疑为 kcal/kg，折合 {ncv_gj} GJ/t",
        message_en="{unit_id} {period}: NCV {ncv} looks like kcal/kg, i.e. {ncv_gj} GJ/t",
        source="DOMAIN.md §3 (1 kcal/kg = 0.0041868 GJ/t: a value like 5000 is a kcal/kg unit error); §4.6",
        stake="|reported emissions − emissions recomputed with the corrected units| (t)",
    ),
    Rule(
        code="ACC-006", family="accounting", severity="high", table="monthly_reports",
        title_zh="比例以百分数填报", title_en="Percent given for a fraction",
        description_zh="碳氧化率、负荷率应为 0–1 的小数，填报值大于 1（如 99）为百分数单位错误。",
        description_en="Oxidation rate and load rate are fractions 0–1; a value above 1 (e.g. 99) is a percent given for a fraction.",
        message_zh="{unit_id} {period}：{column} = {value} 疑为百分数，应为 {fraction}",
        message_en="{unit_id} {period}: {column} = {value} looks like a percent; fraction {fraction}",
        source="CONTRACT.md monthly_reports.oxidation_rate/load_rate (0–1); DOMAIN.md §4.6 unit errors",
        stake="|reported emissions − emissions recomputed with the corrected units| (t)",
    ),
    Rule(
        code="ACC-007", family="accounting", severity="high", table="monthly_reports",
        title_zh="发电量超过装机容量极限（MWh/kWh 错误）", title_en="Generation above capacity × hours (MWh vs kWh)",
        description_zh="发电量大于 装机容量×当月小时数，物理上不可能，常见于以 kWh 填报 MWh。",
        description_en="Gross generation above capacity × hours in the month is physically impossible; typical of kWh reported as MWh.",
        message_zh="{unit_id} {period}：发电量 {generation} MWh 超过 {capacity} MW × {hours_in_month} h 上限 {max_generation} MWh（{ratio} 倍）",
        message_en="{unit_id} {period}: generation {generation} MWh above {capacity} MW × {hours_in_month} h = {max_generation} MWh ({ratio}×)",
        source="DOMAIN.md §3 (load ≤ 1, hours ≤ month) and §4.6 (MWh vs kWh)",
        stake="the month's reported emissions (t): the month's generation-based allocation cannot be trusted until corrected",
    ),
    Rule(
        code="ACC-008", family="accounting", severity="high", table="annual_reports",
        title_zh="月度合计与年度报告不一致", title_en="Monthly sum differs from the annual report",
        description_zh="企业各机组月度存证排放量合计与年度排放报告的排放量不一致。",
        description_en="The enterprise's monthly deposited emissions, summed over units and months, differ from its annual report.",
        message_zh="{enterprise_id} {year}年：月度排放合计 {monthly_sum} tCO₂，年报 {annual} tCO₂，差 {gap} t",
        message_en="{enterprise_id} {year}: monthly emissions sum {monthly_sum} tCO2 vs annual report {annual} tCO2, gap {gap} t",
        source="EU MRR art. 63 (aggregate vs raw); DOMAIN.md §4.6 'monthly sums that do not match the annual report'",
        stake="|Σ monthly − annual reported emissions| (t)",
    ),
    # -- completeness --------------------------------------------------------------------------------
    Rule(
        code="CMP-001", family="completeness", severity="medium", table="monthly_reports",
        title_zh="月度存证缺失", title_en="Monthly report missing",
        description_zh="机组在报告年度内缺少某月的月度存证（停机月份也应报送零值）。",
        description_en="A unit has no monthly deposit for a month of the year (outage months are reported as zeros, not omitted).",
        message_zh="{unit_id}：缺少 {period} 月度存证",
        message_en="{unit_id}: no monthly report for {period}",
        source="MEE monthly deposit requirement (月度存证); DOMAIN.md §2 'units upload every month', §4.7",
        stake="the unit's mean reported monthly emissions of the year, else capacity × hours × 0.53 load × 0.85 t/MWh",
    ),
    Rule(
        code="CMP-002", family="completeness", severity="low", table="monthly_reports",
        title_zh="月度存证逾期", title_en="Late monthly deposit",
        description_zh="月度存证上传时间晚于月末后 40 日。",
        description_en="The monthly evidence was deposited more than 40 days after the end of the month.",
        message_zh="{unit_id} {period}：{submitted_at} 上传，月末后 {days} 日（期限 {deadline} 日）",
        message_en="{unit_id} {period}: deposited {submitted_at}, {days} days after month end (deadline {deadline} days)",
        source="monthly deposit deadline, 40 days after month end [verify]; checks/params.py deposit_deadline_days",
        stake="0 t: timeliness does not change emissions",
    ),
    Rule(
        code="CMP-003", family="completeness", severity="high", table="monthly_reports",
        title_zh="实测含碳量无检测报告", title_en="Measured carbon content without a lab report",
        description_zh="含碳量取值方式为实测，但未关联或找不到对应的煤质检测报告；无报告支撑的实测值应按缺省值计。",
        description_en="The basis is 'measured' but no lab report is linked or the linked report does not exist; unsupported measurements fall back to the default.",
        message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 无检测报告（报告编号 {lab_report_id}）",
        message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ without lab report (id {lab_report_id})",
        source="MRV guideline (2022 rev.) §carbon content: measured values need test reports, otherwise defaults apply; DOMAIN.md §4.7",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    ),
    Rule(
        code="CMP-004", family="completeness", severity="high", table="monthly_reports",
        title_zh="检测报告与机组或月份不符", title_en="Lab report of another plant or month",
        description_zh="月报关联的检测报告属于其他企业的机组或其他月份（同一电厂机组共用报告属正常）。",
        description_en="The linked lab report is for a unit of another enterprise or for another month (units of one plant may share a report).",
        message_zh="{unit_id} {period}：检测报告 {lab_report_id} 属于机组 {lab_unit_id}、{lab_period} 月",
        message_en="{unit_id} {period}: lab report {lab_report_id} is for unit {lab_unit_id}, month {lab_period}",
        source="MRV guideline: monthly composite sample per unit/plant and month; DOMAIN.md §4.2 (copied lab values), CONTRACT.md lab_reports",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    ),
    # -- lab forensics -------------------------------------------------------------------------------
    Rule(
        code="LAB-001", family="lab_forensics", severity="high", table="lab_reports",
        title_zh="检测报告日期顺序异常", title_en="Lab report dates out of order",
        description_zh="应满足 采样截止 ≤ 收样 ≤ 检测 ≤ 报告 日期；顺序颠倒是篡改模板的典型痕迹。",
        description_en="Dates must satisfy sampling end ≤ receipt ≤ test ≤ report; inversions are a trace of edited templates.",
        message_zh="检测报告 {lab_report_id}：采样截止 {sampling_end}、收样 {receipt}、检测 {test}、报告 {report} 顺序异常",
        message_en="Lab report {lab_report_id}: sampling end {sampling_end}, receipt {receipt}, test {test}, report {report} out of order",
        source="Published 2022 MEE cases on falsified coal test reports (altered dates); DOMAIN.md §4.3",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    ),
    Rule(
        code="LAB-002", family="lab_forensics", severity="high", table="lab_reports",
        title_zh="收到基碳含量无法由空干基换算", title_en="Car does not recompute from Cad, Mad, Mt",
        description_zh="Car 应等于 Cad×(100−Mt)/(100−Mad)；不符说明数值被单独改动（如虚增全水分）。",
        description_en="Car must equal Cad × (100 − Mt)/(100 − Mad); a mismatch shows a value edited on its own (e.g. fabricated moisture).",
        message_zh="检测报告 {lab_report_id}：Car {car}% 与换算值 {car_recomputed}% 不符（Cad {cad}%，Mad {mad}%，Mt {mt}%）",
        message_en="Lab report {lab_report_id}: Car {car}% vs {car_recomputed}% recomputed from Cad {cad}%, Mad {mad}%, Mt {mt}%",
        source="GB/T 483 basis conversion; DOMAIN.md §3 (Car formula) and §4.3 (moisture fabricated)",
        stake="|ΔCar|/100/NCV × Σ(FC × NCV × OF) × 44/12 of the monthly reports citing it (t)",
    ),
    Rule(
        code="LAB-003", family="lab_forensics", severity="high", table="monthly_reports",
        title_zh="月报含碳量与检测报告不符", title_en="Reported carbon content differs from the lab report",
        description_zh="月报单位热值含碳量应等于所引检测报告的 Car/100/Qnet,ar。",
        description_en="The monthly carbon content must equal (Car/100)/NCV of the lab report it cites.",
        message_zh="{unit_id} {period}：报告含碳量 {cc} tC/GJ，检测报告 {lab_report_id} 折算 {lab_cc} tC/GJ",
        message_en="{unit_id} {period}: reported CC {cc} tC/GJ, lab report {lab_report_id} gives {lab_cc} tC/GJ",
        source="DOMAIN.md §3 (CC = (Car/100)/NCV); MRV guideline carbon content from elemental carbon",
        stake="|lab CC − reported CC| × FC × NCV × OF × 44/12 (t)",
    ),
    Rule(
        code="LAB-004", family="lab_forensics", severity="medium", table="lab_reports",
        title_zh="检测报告缺少防伪二维码", title_en="Lab report without anti-counterfeit QR code",
        description_zh="检验检测报告应带防伪二维码；删除二维码是已公开案例中的造假手法。",
        description_en="Test reports carry an anti-counterfeit QR code; deleting it is a method named in published cases.",
        message_zh="检测报告 {lab_report_id}（{lab_agency_id}）无防伪二维码",
        message_en="Lab report {lab_report_id} ({lab_agency_id}) has no anti-counterfeit QR code",
        source="Published 2022 MEE cases (QR codes deleted from test reports); DOMAIN.md §4.3",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    ),
    Rule(
        code="LAB-005", family="lab_forensics", severity="medium", table="lab_reports",
        title_zh="报告流水号与日期顺序不符", title_en="Serial number out of order with report date",
        description_zh="同一检测机构的报告流水号应随报告日期递增；倒序说明报告被补出或改日期。",
        description_en="A lab's serial numbers increase with report dates; an inversion shows a report issued later or re-dated.",
        message_zh="机构 {lab_agency_id}：报告 {lab_report_id} 流水号 {report_no}（{report_date}）与相邻报告 {neighbour_no}（{neighbour_date}）顺序颠倒",
        message_en="Lab {lab_agency_id}: report {lab_report_id} serial {report_no} ({report_date}) inverted with neighbour {neighbour_no} ({neighbour_date})",
        source="DOMAIN.md §4.3 (serial numbers that do not follow the dates)",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    ),
    Rule(
        code="LAB-006", family="lab_forensics", severity="medium", table="lab_reports",
        title_zh="煤质指标超出合理范围", title_en="Coal analysis value outside plausible range",
        description_zh="空干基碳 Cad 50–75%、空干基水分 Mad 0.5–12%、全水分 Mt 4–40%。",
        description_en="Cad 50–75 %, Mad 0.5–12 %, Mt 4–40 %.",
        message_zh="检测报告 {lab_report_id}：{component} = {value}% 超出 {low}–{high}%",
        message_en="Lab report {lab_report_id}: {component} = {value}% outside {low}–{high}%",
        source="DOMAIN.md §3 (Cad / Mad / Mt ranges)",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    ),
    # -- verifier ------------------------------------------------------------------------------------
    Rule(
        code="VER-001", family="verifier", severity="high", table="verifications",
        title_zh="核查差异超限仍判无异议", title_en="Accepted despite a gap above 1,000 t or 10 %",
        description_zh="核查排放量与报告排放量相差超过 1000 吨或 10%，核查结论却为“无异议”。",
        description_en="Verified and reported emissions differ by more than 1,000 t or 10 %, yet the conclusion is 'accepted'.",
        message_zh="{enterprise_id} {year}年：核查 {verified} t，报告 {reported} t，差 {gap} t（限值 {limit} t），结论无异议",
        message_en="{enterprise_id} {year}: verified {verified} t vs reported {reported} t, gap {gap} t (limit {limit} t), accepted",
        source="Beijing pilot verification rule (1,000 t / 10 %); DOMAIN.md §4.4 and §4 materiality",
        stake="|verified − reported emissions| (t)",
    ),
    Rule(
        code="VER-002", family="verifier", severity="critical", table="verifications",
        title_zh="同一机构编制并核查同一企业报告", title_en="Same agency prepared and verified the report",
        description_zh="同一技术服务机构既编制又技术审核同一企业的排放报告，条例禁止。",
        description_en="One agency both prepared and technically reviewed the same enterprise's report, forbidden by the 2024 regulation.",
        message_zh="机构 {agency_id} 既编制又核查 {enterprise_id} {year}年报告",
        message_en="Agency {agency_id} both prepared and verified {enterprise_id}'s {year} report",
        source="碳排放权交易管理暂行条例 (State Council Order 775, 2024): no preparing and reviewing in the same province; DOMAIN.md §4.4",
        stake="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    ),
    Rule(
        code="VER-003", family="verifier", severity="high", table="verifications",
        title_zh="机构在同省同时编制和核查", title_en="Agency prepares and verifies in the same province",
        description_zh="核查机构在同一省份同年还为其他企业编制排放报告，条例禁止同省同时从事编制和审核。",
        description_en="The verifier also prepares other enterprises' reports in the same province and year; the 2024 regulation forbids both roles in one province.",
        message_zh="机构 {agency_id} 核查 {enterprise_id}（{province_code}），同年在该省编制了 {n_prepared} 份报告",
        message_en="Agency {agency_id} verified {enterprise_id} ({province_code}) and prepared {n_prepared} report(s) in that province in {year}",
        source="碳排放权交易管理暂行条例 (State Council Order 775, 2024); DOMAIN.md §4.4 conflict of interest",
        stake="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    ),
    Rule(
        code="VER-004", family="verifier", severity="medium", table="verifications",
        title_zh="核查用时过短", title_en="Implausibly short review",
        description_zh="技术审核从开始到完成的天数低于合理最短天数（或完成早于开始）。",
        description_en="The technical review took fewer days than a plausible minimum (or finished before it started).",
        message_zh="{enterprise_id} {year}年：{agency_id} 核查用时 {days} 天（最少 {min_days} 天）",
        message_en="{enterprise_id} {year}: review by {agency_id} took {days} days (minimum {min_days})",
        source="DOMAIN.md §4.4 ('implausibly short reviews'); checks/params.py min_review_days [verify]",
        stake="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    ),
    # -- carbon content ------------------------------------------------------------------------------
    Rule(
        code="CC-001", family="carbon_content", severity="high", table="monthly_reports",
        title_zh="缺省值与当年缺省值不符", title_en="Default basis with a non-default value",
        description_zh="含碳量取值方式为缺省值，但数值不等于该年度规定的缺省值。",
        description_en="The basis is 'default' but the value differs from that year's default carbon content.",
        message_zh="{unit_id} {period}：缺省值取值 {cc} tC/GJ，当年缺省值 {default} tC/GJ",
        message_en="{unit_id} {period}: default basis with {cc} tC/GJ; the year's default is {default} tC/GJ",
        source="MRV guideline (2022 rev.): default 0.03085 tC/GJ from 2022, 0.03356 before [verify]; DOMAIN.md §3",
        stake="|default − reported CC| × FC × NCV × OF × 44/12 (t)",
    ),
    Rule(
        code="CC-002", family="carbon_content", severity="high", table="monthly_reports",
        title_zh="实测与缺省混用", title_en="Measured and default mixed within a unit-year",
        description_zh="同一机组同一年度内部分月份实测、部分月份缺省，指南要求全年一致。",
        description_en="A unit mixes measured and default carbon content across the months of one year; the guideline requires one basis.",
        message_zh="{unit_id} {year}年：{n_measured} 个月实测、{n_default} 个月缺省",
        message_en="{unit_id} {year}: {n_measured} measured and {n_default} default months",
        source="MRV guideline: 'all measured or all default, never mixed'; DOMAIN.md §4.1",
        stake="Σ over measured months (default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    ),
    Rule(
        code="CC-003", family="carbon_content", severity="high", table="monthly_reports",
        title_zh="实测含碳量超出合理范围", title_en="Measured carbon content outside the plausible range",
        description_zh="实测单位热值含碳量不在 0.0245–0.0290 tC/GJ 之内；过低即少报排放。",
        description_en="Measured carbon content outside 0.0245–0.0290 tC/GJ; too low means under-reported emissions.",
        message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 超出 {low}–{high}",
        message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ outside {low}–{high}",
        source="DOMAIN.md §3 (CC measured 0.0245–0.0290) and §4.1",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t): an implausible measurement falls back to the default",
    ),
    Rule(
        code="CC-004", family="carbon_content", severity="low", table="monthly_reports",
        title_zh="实测值等于缺省值", title_en="Measured value equal to a default",
        description_zh="标为实测的含碳量恰好等于某一缺省值，疑似照抄缺省值。",
        description_en="A carbon content labelled measured equals a default value exactly: probably a copied default.",
        message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 等于缺省值",
        message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ equals a default value",
        source="DOMAIN.md §4.1 ('measured' values that equal a default)",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    ),
    # -- telemetry -----------------------------------------------------------------------------------
    Rule(
        code="TEL-001", family="telemetry", severity="medium", table="telemetry",
        title_zh="报告有发电但无运行数据", title_en="Output reported, no telemetry for the month",
        description_zh="月报有发电量，但该月没有任何机组运行数据（该机组其他月份有数据）。",
        description_en="The month reports output but the unit has no telemetry at all for it (while it has telemetry in other months).",
        message_zh="{unit_id} {period}：报告发电 {generation} MWh，当月无运行数据",
        message_en="{unit_id} {period}: reported generation {generation} MWh, no telemetry for the month",
        source="DOMAIN.md §4.5 ('months reported with output but no telemetry')",
        stake="the month's reported emissions (t): unverifiable against the plant",
    ),
    Rule(
        code="TEL-002", family="telemetry", severity="high", table="telemetry",
        title_zh="运行数据有出力但报告为零", title_en="Telemetry shows output in a month reported as zero",
        description_zh="运行数据显示机组当月有出力，月报发电量却为零。",
        description_en="Telemetry shows the unit generating in a month whose report gives zero generation.",
        message_zh="{unit_id} {period}：运行数据 {tel_generation} MWh（带负荷 {hours_with_load} h），月报 {generation} MWh",
        message_en="{unit_id} {period}: telemetry {tel_generation} MWh ({hours_with_load} h with load), report {generation} MWh",
        source="DOMAIN.md §4.5 (reported generation vs sum of hourly output)",
        stake="CEMS CO2 of the month if measured, else telemetry MWh × the unit's reported intensity (t)",
    ),
)

# ---- detectors (owner: detectors/) -----------------------------------------------------------------
_DETECTORS: tuple[Rule, ...] = ()

# ---- pipeline (owner: carbonqa/cases.py) ----------------------------------------------------------
_PIPELINE: tuple[Rule, ...] = (
    Rule(
        code="TIP-001",
        family="tip",
        severity="medium",
        title_zh="投诉举报线索",
        title_en="Complaint or tip-off attached",
        description_zh="有投诉举报线索指向该重点排放单位，按条例应予核实。",
        description_en="A complaint names the enterprise; the 2024 regulation requires following up leads.",
        message_zh="{received_date} 收到{channel}线索（{category}）：{summary}",
        message_en="Tip received {received_date} via {channel} ({category}): {summary}",
        source="碳排放权交易管理暂行条例 (State Council Order 775, 2024) art. 20: 投诉举报线索; DOMAIN.md §4.8",
        stake="none by itself (0 t); it raises the case's priority in scoring",
        kind="pipeline",
        table="tips",
    ),
)


def _merge() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for r in (*_RULES, *_DETECTORS, *_PIPELINE):
        if r.code in out:
            raise ValueError(f"duplicate catalogue code {r.code}")
        out[r.code] = r
    return out


#: Every rule and detector by code.
CATALOGUE: dict[str, Rule] = _merge()


def rule(code: str) -> Rule:
    """Catalogue entry ``code``; raises ``KeyError`` for an unknown code."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"unknown rule code {code!r}") from None


def make_finding(
    code: str,
    *,
    enterprise_id: str | None,
    unit_id: str | None = None,
    year: int | None = None,
    period: str | None = None,
    province_code: str | None = None,
    params: dict[str, Any] | None = None,
    observed: Any = None,
    expected: Any = None,
    score: float = 1.0,
    tco2_at_stake: float = 0.0,
    evidence: dict[str, Any] | None = None,
    detail_key: str = "",
    severity: str | None = None,
) -> Finding:
    """Build a :class:`~carbonqa.findings.Finding` for catalogue entry ``code`` with rendered messages.

    ``params`` fill the message templates; ``severity`` may override the catalogue's default (e.g. a
    detector grading by score). Raises ``KeyError`` for an unknown code or a missing placeholder.
    """
    r = rule(code)
    zh, en = r.render(params or {})
    return Finding(
        rule_code=code,
        family=r.family,
        severity=severity or r.severity,
        enterprise_id=enterprise_id,
        unit_id=unit_id,
        year=year,
        period=period,
        province_code=province_code,
        message_zh=zh,
        message_en=en,
        observed=observed,
        expected=expected,
        score=float(min(1.0, max(0.0, score))),
        tco2_at_stake=float(max(0.0, tco2_at_stake or 0.0)),
        evidence=evidence or {},
        detail_key=detail_key,
        source_table=r.table,
    )


def validate_catalogue(catalogue: dict[str, Rule] | None = None) -> None:
    """Prove the catalogue is well formed; raises ``ValueError`` naming the first bad entry.

    Checks: code shape ``PREFIX-NNN`` with a known prefix whose family matches, family and severity in
    the contract vocabularies, non-empty zh/en texts and source, templates that parse.
    """
    for code, r in (catalogue or CATALOGUE).items():
        prefix, _, num = code.partition("-")
        if prefix not in PREFIX_FAMILY or not (num.isdigit() and len(num) == 3):
            raise ValueError(f"{code}: code must look like PREFIX-NNN with PREFIX in {sorted(PREFIX_FAMILY)}")
        if r.family not in FAMILIES or PREFIX_FAMILY[prefix] != r.family:
            raise ValueError(f"{code}: family {r.family!r} does not match prefix {prefix}")
        if r.severity not in SEVERITIES:
            raise ValueError(f"{code}: severity {r.severity!r} not in {SEVERITIES}")
        for f in ("title_zh", "title_en", "description_zh", "description_en", "message_zh", "message_en", "source", "stake"):
            if not getattr(r, f).strip():
                raise ValueError(f"{code}: empty {f}")
        _ = r.placeholders
