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

__all__ = ["Rule", "CATALOGUE", "rule", "make_finding", "validate_catalogue", "PREFIX_FAMILY", "ZH_VALUES"]

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
        zh = {k: ZH_VALUES.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
        return self.message_zh.format(**zh), self.message_en.format(**params)


#: zh-CN words for the vocabulary values that message parameters carry (quantities compared with
#: telemetry, roles, columns named by a rule), so a Chinese sentence never shows a raw field name.
ZH_VALUES: dict[str, str] = {
    "generation": "发电量", "coal": "燃煤量", "hours": "运行小时", "co2": "CO₂ 排放量",
    "lab": "检测机构", "preparer": "编制机构", "verifier": "核查机构",
    "oxidation_rate": "碳氧化率", "carbon_content_tc_per_gj": "单位热值含碳量", "load_rate": "负荷率",
}


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
        stake="recomputed − reported emissions of the month, signed (t): positive = under-reported, negative = over-reported",
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
        description_zh="收到基低位发热量不在该煤种的合理区间内（烟煤19–25，无烟煤21–27，褐煤11–16 GJ/t 等）。"
        "偏高一侧（多报排放）或超出幅度不大于发热量测定再现性限（0.30 GJ/t）为低，零吨。",
        description_en="The as-received NCV lies outside the plausible band of the unit's coal type (bituminous 19–25, anthracite 21–27, lignite 11–16 GJ/t, …). "
        "Above the band (raises emissions) or beyond it by no more than the method's reproducibility (0.30 GJ/t): low, 0 t.",
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
        stake="emissions recomputed with the corrected units − reported emissions, signed (t): a typo that inflated the report is an over-report (negative), shown and never added",
    ),
    Rule(
        code="ACC-006", family="accounting", severity="high", table="monthly_reports",
        title_zh="比例以百分数填报", title_en="Percent given for a fraction",
        description_zh="碳氧化率、负荷率应为 0–1 的小数，单位热值含碳量约 0.03 tC/GJ；填报值大于 1（如 99、2.6）为百分数单位错误。",
        description_en="Oxidation rate and load rate are fractions 0–1 and carbon content is about 0.03 tC/GJ; a value above 1 (e.g. 99, or 2.6 tC/GJ) is a percent given for a fraction.",
        message_zh="{unit_id} {period}：{column} = {value} 疑为百分数，应为 {fraction}",
        message_en="{unit_id} {period}: {column} = {value} looks like a percent; fraction {fraction}",
        source="CONTRACT.md monthly_reports.oxidation_rate/load_rate (0–1); DOMAIN.md §4.6 unit errors",
        stake="emissions recomputed with the corrected units − reported emissions, signed (t): a typo that inflated the report is an over-report (negative), shown and never added",
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
    Rule(
        code="ACC-009", family="accounting", severity="medium", table="monthly_reports",
        title_zh="碳氧化率低于指南值", title_en="Oxidation rate below the guideline value",
        description_zh="燃煤机组月报的碳氧化率低于核算指南规定值；排放量按同比例偏低，而核算恒等式仍成立。",
        description_en="A coal unit reports a carbon oxidation rate below the guideline value: its emissions are lower by the same ratio while the accounting identity still holds.",
        message_zh="{unit_id} {period}：碳氧化率 {of}，指南值 {default}",
        message_en="{unit_id} {period}: oxidation rate {of}, guideline value {default}",
        source="MRV guideline for power generation facilities (2022 revision): coal oxidation rate 0.99 [verify]; DOMAIN.md §3",
        stake="emissions × (guideline rate / reported rate − 1) (t)",
    ),
    # -- completeness --------------------------------------------------------------------------------
    Rule(
        code="CMP-001", family="completeness", severity="medium", table="monthly_reports",
        title_zh="月度存证缺失", title_en="Monthly report missing",
        description_zh="已在本年度报送的机组缺少某月的月度存证（停机月份也应报送零值）。两次存证之间缺月为中；最后一次存证之后的月份"
        "（退役、封存或尚未存证）为低、0 吨；当年投产机组首次存证之前的月份不要求。",
        description_en="A unit that deposits in the year has no monthly deposit for one of its months (outage months are reported as zeros, not omitted). "
        "A month missing between two deposits is medium; months after the last deposit (retired, mothballed or not yet deposited) are low, 0 t; "
        "a unit commissioned in the year is not expected before its first deposit.",
        message_zh="{unit_id}：缺少 {period} 月度存证",
        message_en="{unit_id}: no monthly report for {period}",
        source="MEE monthly deposit requirement (月度存证); DOMAIN.md §2 'units upload every month', §4.7",
        stake="the unit's mean reported monthly emissions of the year for a month missing between two deposits (t); 0 t after the last deposit; months before a unit commissioned in the year are not expected",
    ),
    Rule(
        code="CMP-002", family="completeness", severity="low", table="monthly_reports",
        title_zh="月度存证逾期", title_en="Late monthly deposit",
        description_zh="月度存证上传时间晚于月末后 40 日。个别月份逾期为低；同一企业同年至少 3 个月逾期为模式（中），"
        "月度存证“以月保年”的意义落空，逾期月份的排放量存疑。",
        description_en="The monthly evidence was deposited more than 40 days after the end of the month. One late month is "
        "low; at least 3 late months of one enterprise-year are a pattern (medium): monthly deposit exists to fix the data "
        "while fresh, so the late months' emissions are in doubt.",
        message_zh="{unit_id} {period}：{submitted_at} 上传，月末后 {days} 日（期限 {deadline} 日）",
        message_en="{unit_id} {period}: deposited {submitted_at}, {days} days after month end (deadline {deadline} days)",
        source="monthly deposit deadline, 40 days after month end [verify]; checks/params.py deposit_deadline_days",
        stake="0 t for an isolated late month; the month's reported emissions (t) when the enterprise has ≥ 3 late months",
    ),
    Rule(
        code="CMP-005", family="completeness", severity="low", table="monthly_reports",
        title_zh="月度存证未按期上传", title_en="Monthly deposits after their due date",
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
        stake="0 t (lateness alone moves no tonnes)",
    ),
    Rule(
        code="CMP-003", family="completeness", severity="high", table="monthly_reports",
        title_zh="实测含碳量无检测报告", title_en="Measured carbon content without a lab report",
        description_zh="含碳量取值方式为实测，但未关联或找不到对应的煤质检测报告；无报告支撑的实测值应按缺省值计。"
        "分级：低于本机组有报告月份含碳量中位数（超出自身波动）为高；与之相符且仅一个月，或全厂共用煤样的报告所挂机组当月停运，为低（补交报告）；其余为中。",
        description_en="The basis is 'measured' but no lab report is linked or the linked report does not exist; unsupported measurements fall back to the default. "
        "Graded: below the median of the unit's documented months (beyond its own variation) → high; consistent with them and a single month, "
        "or the plant's shared sample filed under a unit idle that month → low (request the report); otherwise medium.",
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
        stake="(lab CC − reported CC) × FC × NCV × OF × 44/12, signed (t)",
    ),
    Rule(
        code="LAB-004", family="lab_forensics", severity="low", table="lab_reports",
        title_zh="检测报告缺少防伪二维码", title_en="Lab report without anti-counterfeit QR code",
        description_zh="检验检测报告应带防伪二维码；删除二维码是已公开案例中的造假手法。个别报告缺码多为疏漏（低）；"
        "同一企业同年至少 3 份报告缺码、且按该检测机构对其他客户的缺码率明显不可能时，视为针对该企业的模式（中）。",
        description_en="Test reports carry an anti-counterfeit QR code; deleting it is a method named in published cases. "
        "An isolated missing code is usually a slip (low); at least 3 reports of one enterprise-year missing it, improbably "
        "many against the same lab's omission rate on its other clients (binomial tail < 1 %), is a pattern aimed at this "
        "enterprise (medium).",
        message_zh="检测报告 {lab_report_id}（{lab_agency_id}）无防伪二维码",
        message_en="Lab report {lab_report_id} ({lab_agency_id}) has no anti-counterfeit QR code",
        source="Published 2022 MEE cases (QR codes deleted from test reports); DOMAIN.md §4.3",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    ),
    Rule(
        code="LAB-005", family="lab_forensics", severity="low", table="lab_reports",
        title_zh="报告流水号与日期顺序不符", title_en="Serial number out of order with report date",
        description_zh="同一检测机构的报告流水号应随报告日期递增；倒序说明报告被补出或改日期。颠倒对的两份报告都会被标出，"
        "故单份颠倒（常是被改报告的相邻报告）为低；同一企业同年至少 3 份颠倒为模式（中）。",
        description_en="A lab's serial numbers increase with report dates; an inversion shows a report issued later or re-dated. "
        "Both members of an inverted pair are flagged, so a single inversion (often the honest neighbour of an edited "
        "report) is low; at least 3 inverted reports of one enterprise-year are a pattern (medium).",
        message_zh="机构 {lab_agency_id}：报告 {lab_report_id} 流水号 {report_no}（{report_date}）与相邻报告 {neighbour_no}（{neighbour_date}）顺序颠倒",
        message_en="Lab {lab_agency_id}: report {lab_report_id} serial {report_no} ({report_date}) inverted with neighbour {neighbour_no} ({neighbour_date})",
        source="DOMAIN.md §4.3 (serial numbers that do not follow the dates)",
        stake="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    ),
    Rule(
        code="LAB-006", family="lab_forensics", severity="medium", table="lab_reports",
        title_zh="煤质指标超出合理范围", title_en="Coal analysis value outside plausible range",
        description_zh="空干基碳 Cad 50–75%（褐煤下限 35%，煤矸石下限 20%，次烟煤下限 45%，无烟煤上限 85%，煤种不明取最宽范围）、空干基水分 Mad 0.5–12%、全水分 Mt 4–40%。"
        "抬高排放的一侧或超出幅度在检测方法精密度以内（Cad 1.0、Mad 0.2、Mt 0.5 个百分点）为低，零吨；Cad 偏低但单位热值含碳量（Car/NCV）正常（高灰煤），"
        "或 Mt 偏高而含碳量正常且引用该报告的月份能量平衡成立（湿煤按比例多烧），亦为低、零吨。",
        description_en="Cad 50–75 % (lower bound 35 % for lignite, 20 % for waste coal / gangue, 45 % for sub-bituminous, upper bound 85 % for anthracite, the widest band for an unknown coal type), Mad 0.5–12 %, Mt 4–40 %. "
        "The side that raises emissions, or beyond the edge within the method's precision (Cad 1.0, Mad 0.2, Mt 0.5 points): low, 0 t; "
        "so is a low Cad whose carbon per unit heat (Car/NCV) is ordinary (a high-ash coal), and a high Mt with an ordinary CC whose citing months keep their energy balance (a wet coal burnt in proportion).",
        message_zh="检测报告 {lab_report_id}：{component} = {value}% 超出 {low}–{high}%",
        message_en="Lab report {lab_report_id}: {component} = {value}% outside {low}–{high}%",
        source="DOMAIN.md §3 (Cad / Mad / Mt ranges); lignite and waste-coal Cad bands: checks.params "
        "cad_range_by_coal_pct [verify]",
        stake="the linked emissions' change were the component on its band edge (Car ∝ Cad·(100 − Mt)/(100 − Mad)); 0 t on the side that raises emissions",
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
        description_zh="同一技术服务机构既编制又技术审核同一企业的排放报告（自我审核），任何年度均不具公正性，2024 年条例明令禁止。",
        description_en="One agency both prepared and technically reviewed the same enterprise's report (self-review): never impartial, and forbidden outright by the 2024 regulation.",
        message_zh="机构 {agency_id} 既编制又核查 {enterprise_id} {year}年报告",
        message_en="Agency {agency_id} both prepared and verified {enterprise_id}'s {year} report",
        source="MEE verification guideline 2021 (impartiality of the verifier) [verify]; 碳排放权交易管理暂行条例 (State Council Order 775, 2024); DOMAIN.md §4.4",
        stake="materiality of the report: 5 % of reported emissions (2 % above 500 kt) (t)",
    ),
    Rule(
        code="VER-003", family="verifier", severity="low", table="verifications",
        title_zh="机构在同省同时编制和核查", title_en="Agency prepares and verifies in the same province",
        description_zh="核查机构在同一省份同年还为其他企业编制排放报告，条例禁止同省同时从事编制和审核。",
        description_en="The verifier also prepares other enterprises' reports in the same province and year; the 2024 regulation forbids both roles in one province (reviews from 1 May 2024). A breach by the agency, not evidence against this enterprise's data: low at enterprise level (visible on the agency and on any case of the enterprise, never opening one alone); the agency preparing *and* verifying this enterprise is VER-002 (critical).",
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
        title_zh="实测含碳量低于合理下限", title_en="Measured carbon content below the plausible range",
        description_zh="实测单位热值含碳量低于 0.0245 tC/GJ（合理范围 0.0245–0.0290）即少报排放；高于上限不影响配额（高碳无烟煤、褐煤、煤矸石属正常），不在此规则内。"
        "低于下限不足检测再现性（约 2%）者为低，零吨。",
        description_en="Measured carbon content below 0.0245 tC/GJ (plausible 0.0245–0.0290) under-reports emissions; values above the range cost the unit money and occur honestly (anthracite, lignite, gangue), so they are not flagged here. Below it by no more than the combined reproducibility of Car and NCV (about 2 %): low, 0 t.",
        message_zh="{unit_id} {period}：实测含碳量 {cc} tC/GJ 低于合理下限 {low}（上限 {high}）",
        message_en="{unit_id} {period}: measured carbon content {cc} tC/GJ below the plausible minimum {low} (maximum {high})",
        source="DOMAIN.md §3 (CC measured 0.0245–0.0290) and §4.1 (measured CC too low is the money lever)",
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
    Rule(
        code="CC-005", family="carbon_content", severity="medium", table="monthly_reports",
        title_zh="实测值反复等于IPCC缺省值", title_en="Measured value repeatedly equal to an IPCC default",
        description_zh="同一机组一年内有多个月的“实测”含碳量恰好等于 IPCC 缺省值（0.0258/0.0268/0.0276），疑为照抄而非实测。",
        description_en="A unit's 'measured' carbon content equals an IPCC default (0.0258/0.0268/0.0276) exactly in several months of the year: copied, not measured.",
        message_zh="{unit_id} {year}年：{n_months} 个月实测含碳量恰为 IPCC 缺省值 {value} tC/GJ",
        message_en="{unit_id} {year}: measured carbon content equals the IPCC default {value} tC/GJ in {n_months} months",
        source="DOMAIN.md §4.1 ('measured' values that equal a default); IPCC 2006 GL vol. 2 table 1.3",
        stake="Σ over those months (default CC − reported CC)⁺ × FC × NCV × OF × 44/12 (t)",
    ),
    # -- telemetry -----------------------------------------------------------------------------------
    Rule(
        code="TEL-001", family="telemetry", severity="medium", table="telemetry",
        title_zh="报告有发电但无运行数据", title_en="Output reported, no telemetry for the month",
        description_zh="月报有发电量，但该月没有任何机组运行数据（该机组其他月份有数据）。缺数据本身不构成矛盾（数据链路故障，低、0 吨）；"
        "仅当该月单位发电耗煤明显低于本机组平时（≥ 5%）时为中。",
        description_en="The month reports output but the unit has no telemetry at all for it (while it has telemetry in other months). "
        "Missing telemetry contradicts nothing (a data-link matter: low, 0 t); medium only when the month burns ≥ 5 % less coal per MWh than the unit's usual.",
        message_zh="{unit_id} {period}：报告发电 {generation} MWh，当月无运行数据",
        message_en="{unit_id} {period}: reported generation {generation} MWh, no telemetry for the month",
        source="DOMAIN.md §4.5 ('months reported with output but no telemetry')",
        stake="0 t (a month without telemetry cannot contradict the report, DOMAIN.md §4b); when the month burns ≥ 5 % less coal per MWh than the unit's usual: emissions × (usual / month coal per MWh − 1) (t)",
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
def _det(code: str, severity: str, title: tuple[str, str], desc: tuple[str, str], msg: tuple[str, str], source: str, stake: str, table: str) -> Rule:
    """Build a detector entry (family from the code prefix); severity is the ceiling, detectors grade below it."""
    return Rule(
        code=code, family=PREFIX_FAMILY[code.split("-")[0]], severity=severity, title_zh=title[0], title_en=title[1],
        description_zh=desc[0], description_en=desc[1], message_zh=msg[0], message_en=msg[1], source=source, stake=stake,
        kind="detector", table=table,
    )


_CC_STAKE = "CC gap × heat (fuel × NCV) × OF × 44/12 over the months concerned (DOMAIN.md §3)"
_BASIS_STAKE = "months recomputed at the Chinese default CC: Σ (default − CC) × heat × OF × 44/12"
_DETECTORS: tuple[Rule, ...] = (
    _det("ACC-101", "low", ("报告效率远高于同类机组", "Reported efficiency far above peers"),
         ("机组全年报告的能量平衡（发电量 × 3.6 + 供热量）÷（入炉煤量 × 低位发热量）显著高于同类、同燃烧技术、同供热方式机组。单独出现只作提示（高效机组确实存在）；与 CEMS（TEL-106）或举报瞒报燃煤量相互印证时才是证据。",
          "The unit-year's reported energy balance (generation × 3.6 + heat supplied) ÷ (coal × NCV) sits far above units of the same class, combustion technology and CHP status. Alone it is information (efficient plants exist); it is evidence where the CEMS (TEL-106) or a complaint of hidden coal points the same way."),
         ("机组 {unit_id} {year}：报告效率 {efficiency}，同类 {peer_efficiency}（{efficiency_vs_peers} 倍）",
          "Unit {unit_id} {year}: reported efficiency {efficiency} against its peers' {peer_efficiency} ({efficiency_vs_peers}×)"),
         "DOMAIN.md §4.5 (power plants: coal against generation); Iglewicz & Hoaglin 1993 modified z 3.5",
         "reported emissions × (efficiency ÷ peers' efficiency − 1): the coal the report lacks at the peers' efficiency", "monthly_reports"),
    _det("CC-101", "high", ("实测含碳量显著低于同类机组", "Measured carbon content far below peers"),
         ("扣除低位发热量可解释部分后，机组全年实测单位热值含碳量显著低于同煤种、同省份的同类机组（稳健 z 分数，单侧）。",
          "After removing what NCV explains (robust CC-on-NCV line per coal type), the unit-year's measured CC sits far below peers of the same coal type and province (one-sided robust z; ECOD corroborates)."),
         ("机组 {unit_id} {year} 年实测含碳量中位数 {cc_median} tC/GJ，同类（{peer_group}）水平 {z_center}（残差），z={z}",
          "Unit {unit_id} {year}: median measured CC {cc_median} tC/GJ, NCV-adjusted z={z} against peers ({peer_group}, residual level {z_center})"),
         "DOMAIN.md §4.1 (peers of coal type, region, season); Iglewicz & Hoaglin 1993 modified z 3.5; Li et al. 2022 ECOD",
         _CC_STAKE, "monthly_reports"),
    _det("CC-102", "high", ("含碳量年内阶跃下降", "Step down in measured carbon content"),
         ("机组自身经低位发热量校正的含碳量序列在年内出现显著阶跃下降，常见于更换检测机构之后；伴随发热量同步变化的换煤不在此列。",
          "The unit's own NCV-adjusted CC series steps down within the year, typically after a lab change; a step that comes with an NCV step (coal-source switch) is capped low."),
         ("机组 {unit_id} 自 {split_period} 起含碳量下降 {step} tC/GJ（检测机构 {lab_before} → {lab_after}）",
          "Unit {unit_id}: CC steps by {step} tC/GJ from {split_period} (lab {lab_before} → {lab_after})"),
         "DOMAIN.md §4.1 (CC that falls after a lab change); GB/T 476 repeatability of elemental carbon",
         "step × heat after the split × OF × 44/12", "monthly_reports"),
    _det("CC-103", "high", ("“实测”含碳量等于缺省值", "'Measured' carbon content equals a default"),
         ("标注为实测的单位热值含碳量恰好等于国家缺省值或 IPCC 缺省值。", "A carbon content labelled measured sits exactly on the Chinese or an IPCC default value."),
         ("机组 {unit_id} {year} 年有 {months} 个月“实测”含碳量等于缺省值 {default_value}",
          "Unit {unit_id} {year}: {months} month(s) of 'measured' CC equal to the default {default_value}"),
         "DOMAIN.md §3 (0.03085/0.03356 Chinese default [verify]; IPCC 2006 GL vol. 2 table 1.3: 0.0258/0.0268/0.0276)",
         "(Chinese default − CC) × heat × OF × 44/12; 0 when the value is the Chinese default", "monthly_reports"),
    _det("CC-104", "high", ("实测与缺省值混用", "Measured and default carbon content mixed"),
         ("同一机组同一年度内实测与缺省含碳量混用（指南要求全年实测或全年缺省）。", "Measured and default CC mixed within one unit-year (the guideline: all measured or all default)."),
         ("机组 {unit_id} {year} 年实测 {measured_months} 个月、缺省 {default_months} 个月",
          "Unit {unit_id} {year}: {measured_months} measured and {default_months} default months"),
         "DOMAIN.md §4.1 (founding documents: all measured or all default, never mixed)", _BASIS_STAKE, "monthly_reports"),
    _det("CPY-101", "high", ("化验数据跨月重复", "Lab tuple repeated across months"),
         ("同一机组不同月份的（Cad, Mad, Mt, Qnet,ar）完全或近似相同，远小于正常逐月波动。",
          "The unit's (Cad, Mad, Mt, NCV) lab tuple repeats exactly or nearly across months, far inside honest month-to-month variation."),
         ("机组 {unit_id} {year} 年 {months} 个月化验数据重复：{periods}", "Unit {unit_id} {year}: lab tuple repeated in {months} months: {periods}"),
         "DOMAIN.md §4.2; MEE 2022 published case (one batch test presented as 12 monthly samples)",
         "copied months' heat × max(peer CC − CC, peer σ of CC) × OF × 44/12", "lab_reports"),
    _det("CPY-102", "high", ("化验数据与其他企业相同", "Lab tuple identical to another enterprise's"),
         ("机组化验数据元组与其他重点排放单位的报告完全相同（同一企业共用样品除外）。",
          "The unit's lab tuple equals one in another enterprise's reports (units of one enterprise sharing a sample are excluded)."),
         ("机组 {unit_id} {year} 年 {months} 个月化验数据与 {other_enterprises} 相同",
          "Unit {unit_id} {year}: {months} month(s) of lab values identical to enterprise(s) {other_enterprises}"),
         "DOMAIN.md §4.2 (one plant's series reused by another)", "copied months' heat × max(peer CC − CC, peer σ) × OF × 44/12", "lab_reports"),
    _det("CPY-107", "high", ("月度热值序列套用其他企业", "Monthly NCV series reused from another enterprise's plant"),
         ("机组所在企业全年月度低位发热量序列（按比例缩放后）与另一企业几乎完全一致：区域季节性扣除后，诚实电厂共享季节性但不共享噪声。",
          "The enterprise's monthly NCV series (after removing scale) moves month by month exactly like another enterprise's: honest plants of a region share seasonality, not their noise (χ² lower tail, Bonferroni over all pairs)."),
         ("企业 {enterprise_id} {year} 年 {months} 个月热值序列与 {partner_enterprise} 一致（角色：{role}）",
          "Enterprise {enterprise_id} {year}: {months} months of NCV series move exactly like {partner_enterprise}'s (role: {role})"),
         "DOMAIN.md §4.2 (one plant's series reused by another)", "copier's months' heat × max(peer CC − CC, peer σ) × OF × 44/12", "monthly_reports"),
    _det("CPY-103", "high", ("活动数据与相邻月份相同", "Activity data equal to the adjacent month's"),
         ("燃煤量、发电量、供电量或运行小时与相邻月份完全相同，疑似以相邻月份数据替换。燃煤量不同（仅小时、发电量等重复）不影响排放，为低、0 吨。",
          "Coal, generation, supply or hours equal the adjacent month's exactly: suspected substitution. With the coal "
          "different (only hours, output repeating) no emissions move: low, 0 t."),
         ("机组 {unit_id} {year} 年 {periods} 有 {equal_columns} 项活动数据与相邻月份相同",
          "Unit {unit_id} {year}: {equal_columns} activity columns equal the adjacent month's in {periods}"),
         "DOMAIN.md §4.2 (adjacent-month substitution documented in steel verification)",
         "10 % of the months' reported emissions (Beijing 10 % rule as materiality proxy)", "monthly_reports"),
    _det("CPY-104", "high", ("数值连续多月相同", "Run of identical monthly values"),
         ("低位发热量或实测含碳量连续多月完全相同，超出该燃料真实重复率（EIA-923 实测基准率）。",
          "NCV or measured CC identical month after month beyond the fuel's honest repeat rate (real EIA-923 base rates)."),
         ("机组 {unit_id} {year} 年 {pairs} 组相邻月中 {repeats} 组相同（基准率 {p_base}）",
          "Unit {unit_id} {year}: {repeats} of {pairs} consecutive month pairs identical (base rate {p_base})"),
         "DOMAIN.md §4.2; real EIA-923 2011-2020 repeat base rates (carbonqa/data/real/README.md)",
         "repeated months' heat × max(peer CC − CC, peer σ) × OF × 44/12", "monthly_reports"),
    _det("CPY-105", "medium", ("末位数字偏好", "Terminal-digit preference"),
         ("某检测机构或编制机构报告数值末位数字分布显著偏离均匀分布，本企业数据亦然。",
          "A lab's or preparer's reported values show terminal-digit preference (χ²), and so do this enterprise's."),
         ("{role} {agency_id} 末位数字偏好（最常见 {top_digit}，p={p_group}）", "{role} {agency_id}: terminal-digit preference (top digit {top_digit}, p={p_group})"),
         "Nigrini 2012 (last-digit tests); DOMAIN.md §4.2", "5 % of the enterprise's reported emissions (EU materiality)", "lab_reports"),
    _det("CPY-106", "medium", ("数据过于平滑", "Series too smooth for its coal"),
         ("发热量与全水分的逐月波动远小于同煤种机组。", "NCV and total moisture move far less month to month than any honest coal of the type."),
         ("机组 {unit_id} {year} 年发热量波动为同类 {ratio_ncv} 倍、全水分 {ratio_mt} 倍",
          "Unit {unit_id} {year}: month-to-month NCV moves {ratio_ncv}× and Mt {ratio_mt}× the peers'"),
         "DOMAIN.md §4.2 ('too smooth' series)", "heat × max(peer CC − CC, peer σ) × OF × 44/12", "lab_reports"),
    _det("LAB-101", "high", ("全年报告集中出具", "Monthly reports issued within days"),
         ("一个机组多个月份的检测报告在数日内集中出具。", "Reports of many sample months of one unit issued within a few days."),
         ("机组 {unit_id} {year} 年 {cluster} 个月的报告在 {window_days} 天内出具（自 {first_report_date}）",
          "Unit {unit_id} {year}: {cluster} months' reports issued within {window_days} days from {first_report_date}"),
         "DOMAIN.md §4.3 (twelve monthly reports issued within days)", _BASIS_STAKE, "lab_reports"),
    _det("LAB-102", "high", ("报告流水号与日期不符", "Report serials out of order with dates"),
         ("检测机构报告流水号顺序与报告日期不一致（倒签或篡改日期）。", "The lab's running serial numbers do not follow its report dates (back- or forward-dated reports)."),
         ("机组 {unit_id} {year} 年检测机构 {lab_agency_id} 的报告 {reports} 流水号与日期不符",
          "Unit {unit_id} {year}: reports {reports} of lab {lab_agency_id} have serials out of order with their dates"),
         "DOMAIN.md §4.3 (serial numbers that do not follow the dates)", _BASIS_STAKE, "lab_reports"),
    _det("LAB-103", "medium", ("检测机构出具量不合理", "Lab throughput implausible"),
         ("检测机构单日出具报告数远超同行。", "A lab issues far more reports per day than its peers can."),
         ("检测机构 {lab_agency_id} 单日出具 {per_day} 份报告（同行 99% 分位 {peer_p99_per_day}）",
          "Lab {lab_agency_id} issued {per_day} reports in a day (peer 99th percentile {peer_p99_per_day})"),
         "DOMAIN.md §4.3 (a lab's throughput beyond its capacity)", _BASIS_STAKE, "lab_reports"),
    _det("LAB-104", "high", ("全水分异常偏高", "Total moisture implausibly high"),
         ("在发热量给定的条件下，全水分高于同煤种、同季节同类及本机组历史（虚增全水分可压低收到基碳）。",
          "Given its NCV, total moisture is above peers of coal type, season and region and above the unit's own history (inflated Mt lowers Car)."),
         ("机组 {unit_id} {year} 年全水分中位数 {mt_median}%，z={score_raw}（{peer_group}）",
          "Unit {unit_id} {year}: total moisture median {mt_median} %, z={score_raw} ({peer_group})"),
         "DOMAIN.md §3 (Car = Cad (100 − Mt)/(100 − Mad)), §4.3 (fabricated moisture)",
         "Car recomputed at the usual Mt: ΔCC = ΔCar/100/NCV; × heat × OF × 44/12", "lab_reports"),
    _det("LAB-105", "high", ("全水分与干基热值/碳比矛盾", "Total moisture contradicts the dry-basis heat-to-carbon ratio"),
         ("按报告的全水分折算，干基发热量相对干基碳偏高（真实的湿煤收到基发热量会同步降低），且游离水分高于同煤种同省份机组：全水分疑似虚增。",
          "At the reported total moisture the implied dry NCV is high for the coal's dry carbon (honestly wet coal loses NCV as received too), and free moisture is above peers of coal type and province: Mt looks fabricated."),
         ("机组 {unit_id} {year} 年干基热值/碳比 {heat_per_carbon}，全水分中位数 {mt_median}%，合并 z={z_comb}",
          "Unit {unit_id} {year}: dry heat per carbon {heat_per_carbon} GJ/t per %C, total moisture median {mt_median} %, combined z={z_comb}"),
         "DOMAIN.md §3 (Car = Cad (100 − Mt)/(100 − Mad)), §4.3 (fabricated moisture); GB/T 213 / ISO 1928 (NCV basis conversion), GB/T 483 / ISO 1170",
         "CC recomputed at the peers' free moisture: ΔCC = CC (Mt − Mt₀)/(100 − Mt); × heat × OF × 44/12", "lab_reports"),
    _det("VER-101", "high", ("核查机构放行异常报告比例偏高", "Verifier accepts anomalous reports far more than peers"),
         ("该核查机构无异议通过的报告中带有其他异常的比例显著高于同行（二项检验，经验贝叶斯收缩）。",
          "The verifier's accepted reports carry other anomalies far more often than its peers' (binomial test, empirical-Bayes shrinkage)."),
         ("核查机构 {verifier_agency_id} 通过的 {n} 份报告中 {k} 份有异常（全国 {rate_pooled}）",
          "Verifier {verifier_agency_id}: {k} of {n} accepted reports carry anomalies (national rate {rate_pooled})"),
         "DOMAIN.md §4.4 (rubber-stamping; one verifier's approval rate far from peers); Efron & Morris 1975",
         "the largest stake among the client's anomalies", "verifications"),
    _det("VER-102", "medium", ("核查周期过短", "Implausibly short review"),
         ("技术审核用时远短于全国同类审核。", "The review took far less time than reviews nationally."),
         ("核查机构 {verifier_agency_id} 审核仅用 {review_days} 天（通常 {typical_days} 天）",
          "Verifier {verifier_agency_id}: review took {review_days} days (typically {typical_days})"),
         "DOMAIN.md §4.4 (implausibly short reviews)", "5 % of verified emissions (EU materiality)", "verifications"),
    _det("VER-103", "high", ("核查量与报告量一吨不差但月度数据不符", "Verified = reported to the tonne despite a gap"),
         ("核查结论无异议且核查量与报告量完全相同，但月度存证合计与年报相差显著。",
          "Accepted with verified = reported to the tonne, while the monthly deposits disagree with the annual report."),
         ("核查机构 {verifier_agency_id}：年报 {reported_emissions_tco2} t，月度合计 {monthly_sum_tco2} t，仍原样通过",
          "Verifier {verifier_agency_id} accepted {reported_emissions_tco2} t unchanged while monthly deposits sum to {monthly_sum_tco2} t"),
         "DOMAIN.md §4.4 (verified = reported on reports full of anomalies; Beijing 1,000 t rule)", "|annual − Σ monthly| t", "verifications"),
    _det("VER-104", "low", ("核查机构画像异常", "Verifier profile outlier"),
         ("核查机构的通过率、原样通过率、不符合项数、审核时长等画像在同行中异常宽松。",
          "The verifier's profile (acceptance, verified = reported, findings per report, review days) is unusually lax among verifiers."),
         ("核查机构 {verifier_agency_id}：通过率 {share_accepted}，原样通过率 {share_exact}",
          "Verifier {verifier_agency_id}: accepted {share_accepted}, verified = reported {share_exact}"),
         "DOMAIN.md §4.4; Li et al. 2022 ECOD", "5 % of verified emissions (EU materiality)", "verifications"),
    _det("VER-105", "high", ("同省既编制又核查", "Same agency prepares and verifies in one province"),
         ("同一技术服务机构在同一省份同一年度既编制排放报告又承担技术审核（条例禁止）。",
          "One agency both prepares and technically reviews reports in the same province and year (forbidden by the 2024 regulation)."),
         ("机构 {verifier_agency_id} 在 {province_code} 编制 {n_prepared} 份报告并审核本企业（本企业自审：{self_review}）",
          "Agency {verifier_agency_id} prepares {n_prepared} report(s) in {province_code} and verifies this one (self-review: {self_review})"),
         "碳排放权交易管理暂行条例 (State Council Order 775, 2024); DOMAIN.md §4.4", "5 % of verified emissions (EU materiality)", "verifications"),
    _det("VER-106", "high", ("核查机构原样放行异常报告", "Verifier rubber-stamps anomalous reports"),
         ("该核查机构对筛查发现异常的企业报告无任何不符合项且核查量与报告量一吨不差地通过，频率远高于同行（二项检验，经验贝叶斯收缩）。",
          "The verifier accepts reports the screen finds anomalous with verified = reported to the tonne and no finding, far more often than its peers (binomial test, empirical-Bayes shrinkage)."),
         ("核查机构 {verifier_agency_id} 的 {n} 份核查中 {k} 份对异常报告原样放行（本企业异常：{anomaly_codes}）",
          "Verifier {verifier_agency_id}: {k} of {n} verifications stamp anomalous reports unchanged (this client: {anomaly_codes})"),
         "DOMAIN.md §4.4 (verified = reported on reports full of anomalies; accepted with zero findings); Efron & Morris 1975",
         "max(5 % of verified emissions, the client's largest anomaly stake)", "verifications"),
    _det("VER-108", "high", ("核查机构多项弱信号合并显著", "Verifier: pooled weak signals significant"),
         ("按核查机构合并多项弱证据（异常客户比例、对异常客户原样放行、核查天数偏短），Stouffer 合并 z 超过阈值（单侧 α = 1e-3），经验贝叶斯收缩小样本机构。",
          "Per verifier, weak signals — anomaly burden of its clients, stamps (accepted, verified = reported, zero findings) on anomalous clients, short reviews — pooled by Stouffer's method (one-sided α = 1e-3), empirical-Bayes shrinkage for small portfolios."),
         ("核查机构 {verifier_agency_id}：合并 z={z_stouffer}（{n} 份核查）；本企业异常：{anomaly_codes}",
          "Verifier {verifier_agency_id}: pooled z={z_stouffer} over {n} verifications; this client: {anomaly_codes}"),
         "DOMAIN.md §4.4; Stouffer et al. 1949; Efron & Morris 1975",
         "max(5 % of verified emissions, the client's largest anomaly stake)", "verifications"),
    _det("VER-107", "high", ("核查差异超过重要性仍通过", "Accepted despite a material reported–verified gap"),
         ("核查量与报告量相差超过 1,000 吨且超过重要性水平（5%，50 万吨以上 2%），结论仍为通过。",
          "Verified and reported emissions differ by more than 1,000 t and the materiality level (5 %, 2 % above 500 kt), yet the conclusion is accepted."),
         ("核查机构 {verifier_agency_id}：核查 {verified_emissions_tco2} t，报告 {reported_emissions_tco2} t（差 {gap_rel}），仍通过",
          "Verifier {verifier_agency_id}: verified {verified_emissions_tco2} t against reported {reported_emissions_tco2} t (gap {gap_rel}), accepted"),
         "DOMAIN.md §4.4 (Beijing pilot 1,000 t / 10 % rule) and 'Materiality' (EU AVR 5 %, 2 % above 500 kt)",
         "|verified − reported| t", "verifications"),
    _det("TEL-101", "high", ("月度数据偏离自身遥测比值", "Month off the unit's own telemetry band"),
         ("某月报告量与遥测量之比偏离该机组自身全年比值带（中位数 ± MAD）。", "A month's report/telemetry ratio leaves the band learned from the unit's own months (median ± MAD)."),
         ("机组 {unit_id} {quantity} 比值 {ratio}，通常 {usual_ratio}", "Unit {unit_id} {quantity}: report/telemetry {ratio}, usually {usual_ratio}"),
         "DOMAIN.md §4.5 (tolerances learned per unit; EIA-923 vs CEMS 0.98–1.17×)",
         "(expected at the usual ratio − reported) × tCO₂ per unit of the quantity, paying direction only", "telemetry"),
    _det("TEL-102", "high", ("全年比值偏离同类", "Whole-year ratio far from peers"),
         ("机组全年报告量与遥测量之比显著偏离同类机组。", "The unit's whole-year report/telemetry ratio sits far from units of the same class."),
         ("机组 {unit_id} {quantity} 全年比值 {ratio}，自身中位 {usual_ratio}", "Unit {unit_id} {quantity}: year ratio {ratio} (median {usual_ratio}) far from peers"),
         "DOMAIN.md §4.5", "(telemetry × peer ratio − reported) × tCO₂ per unit, paying direction only", "telemetry"),
    _det("TEL-103", "high", ("遥测无负荷但报告有发电", "Output reported while telemetry shows no load"),
         ("遥测覆盖完整的月份显示无负荷，但月报有发电量。", "Generation reported for a month whose fully covering telemetry shows no load."),
         ("机组 {unit_id} {period} 报告发电 {gross_generation_mwh} MWh，遥测无负荷",
          "Unit {unit_id} {period}: {gross_generation_mwh} MWh reported, telemetry shows no load"),
         "DOMAIN.md §4.5 (months reported with output but no telemetry)", "reported MWh × the unit's intensity", "telemetry"),
    _det("TEL-104", "high", ("CEMS 与核算结果不符", "CEMS CO₂ against the accounting result"),
         ("核算排放量与 CEMS 二氧化碳之比偏离机组自身比值带或同类水平。", "Accounting emissions / CEMS CO₂ leaves the unit's own band or its peers' level."),
         ("机组 {unit_id} {quantity} 核算/CEMS {ratio}，通常 {usual_ratio}", "Unit {unit_id} {quantity}: accounting/CEMS {ratio}, usually {usual_ratio}"),
         "DOMAIN.md §4.5; EU MRR Art. 63 (CEMS against calculation)", "(CEMS × usual ratio − reported) t, paying direction only", "telemetry"),
    _det("TEL-105", "high", ("皮带秤与 CEMS 同时高于报告", "Belt scales and CEMS both above the report"),
         ("全年报告入炉煤量低于皮带秤、核算排放低于 CEMS，两套独立计量同向偏离同类机组水平。",
          "Reported coal below the belt scales and accounting emissions below the CEMS all year: two independent instruments off their peers' level the same way."),
         ("企业 {enterprise_id} {year}：煤量 报告/皮带秤 为同类的 {coal_ratio_vs_peers} 倍，排放 核算/CEMS 为同类的 {co2_ratio_vs_peers} 倍",
          "Enterprise {enterprise_id} {year}: coal report/belt scale {coal_ratio_vs_peers}× its peers', emissions accounting/CEMS {co2_ratio_vs_peers}× its peers'"),
         "DOMAIN.md §4.5; EU MRR Art. 63 (CEMS against calculation; consumption against purchase); Stouffer (1949) combination of independent evidence",
         "Σ (belt coal × peers' usual ratio − reported coal) × tCO₂ per t", "telemetry"),
    _det("TEL-106", "high", ("报告效率高于同类且核算低于 CEMS", "Efficiency above peers, emissions below the CEMS"),
         ("全年报告的发电（供热）效率（产出热量 ÷ 入炉煤热量）高于同类、同燃烧技术、同供热方式机组，同时核算排放低于 CEMS：少报入炉煤量（皮带秤同步调整时）留下的两处独立痕迹。",
          "The whole-year conversion efficiency implied by the report (output GJ ÷ coal heat GJ) sits above units of the same class, combustion technology and CHP status, and the accounting emissions sit below the CEMS: the two independent traces of coal under-reported together with its belt scales."),
         ("企业 {enterprise_id} {year}：报告效率为同类的 {efficiency_vs_peers} 倍，核算/CEMS 为同类的 {co2_ratio_vs_peers} 倍",
          "Enterprise {enterprise_id} {year}: reported efficiency {efficiency_vs_peers}× its peers', accounting/CEMS {co2_ratio_vs_peers}× its peers'"),
         "DOMAIN.md §4.5 and §4b (meters disagree honestly and stably); EU MRR Art. 63 (CEMS against calculation); Stouffer (1949) combination of independent evidence",
         "Σ over units of min(emissions × (reported efficiency ÷ peers' − 1), CEMS × peers' usual ratio − reported emissions)", "telemetry"),
)

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
