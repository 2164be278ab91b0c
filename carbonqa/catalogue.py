"""The check catalogue: every rule and detector with a stable code (anchor: US EPA ECMPS check catalogue).

Each entry has a stable ``code`` (``ACC-001``), one ``family`` of the contract vocabulary, a
``severity`` on the ladder ``critical > high > medium > low > info``, a title and description in zh-CN
and en, message templates with ``{placeholders}``, the ``source`` it rests on (guideline clause,
regulation article, published case, DOMAIN.md section) and ``stake``: how its ``tco2_at_stake`` is
computed.

Code ranges: rules (``checks/``, the complaints rule ``TIP-001`` included) use 001–099 within their
prefix, detectors (``detectors/``) 101–199. Prefixes: ``ACC`` accounting, ``CMP`` completeness, ``LAB`` lab_forensics,
``VER`` verifier, ``CC`` carbon_content, ``CPY`` copied_values, ``TEL`` telemetry, ``TIP`` tip.

The rules' entries are declared by the rules package, one per rule spec (``checks/<family>.py``), through
the entry-point group ``carbonqa.catalogue`` (:data:`ENTRY_POINT_GROUP`; the core never imports
``checks``); the detectors' entries are declared below. :data:`CATALOGUE` merges them on first use and
:func:`validate_catalogue` proves codes unique, families valid and templates renderable.
"""

from __future__ import annotations

import string
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal

from carbonqa.contract import FAMILIES, SEVERITIES
from carbonqa.findings import Finding

__all__ = ["Rule", "CATALOGUE", "ENTRY_POINT_GROUP", "rule", "make_finding", "validate_catalogue", "PREFIX_FAMILY",
           "ZH_VALUES"]

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

#: Entry-point group under which a distribution declares catalogue entries (``pyproject.toml``): each entry
#: point loads a function returning :class:`Rule` objects (the rules package: its specs' entries).
ENTRY_POINT_GROUP = "carbonqa.catalogue"


def _declared() -> list[Rule]:
    """Entries the installed distributions declare (:data:`ENTRY_POINT_GROUP`), in entry-point name order.

    A declared package that cannot be imported is left out (its codes are then unknown); any other
    import error propagates.
    """
    out: list[Rule] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            fn = ep.load()
        except ModuleNotFoundError as exc:
            if not exc.name or exc.name.split(".")[0] != ep.value.split(":")[0].split(".")[0]:
                raise
            continue
        out.extend(fn())
    return out


def _merge() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for r in (*_declared(), *_DETECTORS):
        if r.code in out:
            raise ValueError(f"duplicate catalogue code {r.code}")
        out[r.code] = r
    return out


class _Catalogue(Mapping[str, Rule]):
    """The catalogue, built on first use: the declared entries (the rules, from their specs) + the detectors'.

    Lazy so that importing :mod:`carbonqa.catalogue` imports no screener package (the rules package's
    specs import the core).
    """

    def __init__(self) -> None:
        self._data: dict[str, Rule] | None = None
        self._lock = threading.RLock()

    def _get(self) -> dict[str, Rule]:
        if self._data is None:
            with self._lock:
                if self._data is None:
                    self._data = _merge()
        return self._data

    def __getitem__(self, code: str) -> Rule:
        return self._get()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return f"CATALOGUE({len(self)} entries)"


#: Every rule and detector by code (a read-only mapping, loaded on first use).
CATALOGUE: Mapping[str, Rule] = _Catalogue()


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


def validate_catalogue(catalogue: Mapping[str, Rule] | None = None) -> None:
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
