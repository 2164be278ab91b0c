"""One-case inspection brief (现场检查简报) as a PDF: what a municipal inspector takes on site.

Built from the same scoped evidence pack the dashboard shows (:func:`carbonqa.queries.case_detail`,
so a reader outside the case's jurisdiction gets ``CaseNotFound`` here too, as for a missing id), with fpdf2 for the
layout and matplotlib (Agg) for the charts: the unit's monthly carbon content with suspicious months
highlighted, the unit against its national coal-type peers, and the lab reports' date timeline.

Chinese text needs a CJK font. :func:`find_cjk_font` looks, in order, at ``CARBONQA_CJK_FONT``
(``/path/font.ttc`` or ``/path/font.ttc#2`` for a face of a collection), at fontconfig
(``fc-list :lang=zh``, preferring Noto Sans CJK SC), and at known paths of Debian's
``fonts-noto-cjk`` and WenQuanYi. Without one the brief fails with :class:`CJKFontMissing` (how to
install it in the message) instead of printing empty boxes ("tofu").

Errors::

    BriefError (RuntimeError)
    └── CJKFontMissing      no font with Chinese glyphs found
    carbonqa.queries.CaseNotFound  (from the scoped read: missing and out of scope alike)
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from carbonqa import contract, labels, queries
from carbonqa.errors import CarbonqaError
from carbonqa.jurisdiction import Scope
from carbonqa.queries import CaseDetail, case_detail, province_label
from carbonqa.store.models import now_cst

__all__ = ["BriefError", "CJKFontMissing", "CJKFont", "find_cjk_font", "build_brief"]


class BriefError(CarbonqaError, RuntimeError):
    """The brief cannot be built."""


class CJKFontMissing(BriefError):
    """No font with Chinese glyphs is installed; the message says how to install one."""


@dataclass(frozen=True)
class CJKFont:
    """A font file with Chinese glyphs and, for a collection (``.ttc``), the face to use."""

    path: Path
    index: int = 0
    family: str = ""


_KNOWN: tuple[tuple[str, int, str], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC"),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, "Noto Serif CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "WenQuanYi Micro Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "WenQuanYi Zen Hei"),
)

_INSTALL_HINT = (
    "no CJK font found for the inspection brief: install Debian's fonts-noto-cjk "
    "(`apt-get install -y fonts-noto-cjk`, done by scripts/setup.sh) or set CARBONQA_CJK_FONT=/path/font.ttc[#face]"
)


def _fc_list() -> list[tuple[str, int, str]]:
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}|%{index}|%{family[0]}|%{style[0]}\n", ":lang=zh"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) >= 3 and parts[0]:
            style = parts[3] if len(parts) > 3 else ""
            if style and style.lower() not in ("regular", "book", "normal", "medium"):
                continue
            try:
                found.append((parts[0], int(parts[1] or 0), parts[2]))
            except ValueError:
                continue

    def rank(item: tuple[str, int, str]) -> tuple[int, str]:
        fam = item[2]
        order = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK", "WenQuanYi", "Noto Serif CJK SC"]
        for i, name in enumerate(order):
            if name in fam and "Mono" not in fam:
                return (i, fam)
        return (len(order), fam)

    return sorted(found, key=rank)


def find_cjk_font() -> CJKFont:
    """Find the CJK font to render Chinese with; raises :class:`CJKFontMissing` if none is installed."""
    env = os.environ.get("CARBONQA_CJK_FONT")
    if env:
        path, _, idx = env.partition("#")
        if not Path(path).is_file():
            raise CJKFontMissing(f"CARBONQA_CJK_FONT={env!r} is not a file; {_INSTALL_HINT}")
        return CJKFont(Path(path), int(idx or 0), "")
    for path, idx, fam in _fc_list():
        if Path(path).is_file() and Path(path).suffix.lower() in (".ttf", ".otf", ".ttc"):
            return CJKFont(Path(path), idx, fam)
    for path, idx, fam in _KNOWN:
        if Path(path).is_file():
            return CJKFont(Path(path), idx, fam)
    raise CJKFontMissing(_INSTALL_HINT)


# ---- charts -----------------------------------------------------------------------------------------
def _mpl(font: CJKFont) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font.path))
    family = font.family or font_manager.FontProperties(fname=str(font.path)).get_name()
    plt.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _chart_monthly(plt: Any, d: CaseDetail, zh: bool) -> bytes | None:
    m = d.monthly.filter(pl.col("carbon_content_tc_per_gj").is_not_null())
    if m.is_empty():
        return None
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    for unit in m["unit_id"].unique().sort().to_list():
        u = m.filter(pl.col("unit_id") == unit).sort("period")
        ax.plot(u["period"].to_list(), u["carbon_content_tc_per_gj"].to_list(), marker="o", lw=1.5, label=unit)
        s = u.filter(pl.col("is_suspicious"))
        if s.height:
            ax.scatter(s["period"].to_list(), s["carbon_content_tc_per_gj"].to_list(), s=90, facecolors="none",
                       edgecolors="red", linewidths=2, zorder=5, label="可疑月份" if zh else "suspicious month")
    ax.set_ylabel("单位热值含碳量 (tC/GJ)" if zh else "carbon content (tC/GJ)")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title("月度单位热值含碳量（红圈为可疑月份）" if zh else "Monthly carbon content (red = suspicious)", fontsize=9)
    return _png(fig)


def _chart_peers(plt: Any, d: CaseDetail, zh: bool) -> bytes | None:
    if d.cc_peers.is_empty() or d.cc_unit.is_empty():
        return None
    fig, ax = plt.subplots(figsize=(7.2, 2.4))
    ax.hist(d.cc_peers["cc_tc_per_gj"].to_list(), bins=30, color="#9bb7d4", edgecolor="white")
    for r in d.cc_unit.iter_rows(named=True):
        ax.axvline(r["cc_tc_per_gj"], color="red", lw=2)
        ax.annotate(r["unit_id"], (r["cc_tc_per_gj"], ax.get_ylim()[1] * 0.9), color="red", fontsize=7, ha="left")
    ax.set_xlabel("单位热值含碳量 (tC/GJ)" if zh else "carbon content (tC/GJ)")
    ax.set_ylabel("机组数" if zh else "units")
    ax.set_title(
        f"本机组与全国同煤种机组（{d.cc_peers.height} 台）对比" if zh else f"This unit vs {d.cc_peers.height} national peers",
        fontsize=9,
    )
    return _png(fig)


def _chart_lab_timeline(plt: Any, d: CaseDetail, zh: bool) -> bytes | None:
    lt = d.lab_timeline
    if lt.is_empty():
        return None
    cols = [("sampling_end_date", "采样截止", "sampling end", "o"), ("receipt_date", "收样", "receipt", "s"),
            ("test_date", "检测", "test", "^"), ("report_date", "报告", "report", "D")]
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    y = lt["lab_report_id"].to_list()
    labels = [f"{p}" for p in lt["sample_period"].to_list()]
    for col, zl, el, mk in cols:
        xs = lt[col].to_list()
        pts = [(x, i) for i, x in enumerate(xs) if x is not None]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=mk, s=22, label=zl if zh else el)
    ax.set_yticks(range(len(y)), labels, fontsize=6)
    ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncols=4, loc="upper left")
    ax.set_title("检测报告日期时间线（每行一个月份的报告）" if zh else "Lab report dates (one row per month)", fontsize=9)
    return _png(fig)


# ---- the PDF ----------------------------------------------------------------------------------------
#: Characters the CJK fonts lack, written plainly instead (Noto Sans CJK has no subscript two).
_PLAIN = str.maketrans({"₂": "2", "₃": "3"})


def _clean(text: str) -> str:
    return text.translate(_PLAIN)


def _txt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1 else f"{v:,.0f}"
    return _clean(str(v))


def build_brief(
    scope: Scope,
    case_id: str,
    url: str | None = None,
    *,
    lang: str = "zh",
    detail: CaseDetail | None = None,
) -> bytes:
    """Build the inspection brief of ``case_id`` as PDF bytes (A4, Chinese first).

    Args:
        scope: the reader (the read is scoped: outside the jurisdiction raises ``CaseNotFound`` as a missing id does).
        case_id: the case.
        url: case-store URL (default: settings).
        lang: ``zh`` (default) or ``en``: headings, labels, chart axes, finding messages and the history;
            submitted text (names, complaints, notes) is not translated and is marked "Original (Chinese):" in ``en``.
        detail: an already loaded evidence pack of the same case and reader (skips the read).

    Raises:
        CJKFontMissing: no Chinese font installed.
        carbonqa.queries.CaseNotFound: from the scoped read (missing and out of scope alike).
    """
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
    from fpdf.fonts import FontFace

    font = find_cjk_font()  # fail before any work, with the fix in the message
    d = detail if detail is not None and detail.case.get("case_id") == case_id else case_detail(scope, case_id, url)
    zh = lang != "en"
    c = d.case
    plt = _mpl(font)
    charts = [x for x in (_chart_monthly(plt, d, zh), _chart_peers(plt, d, zh), _chart_lab_timeline(plt, d, zh)) if x]

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", "", str(font.path), collection_font_number=font.index)
    pdf.set_title(f"现场检查简报 {case_id}")
    pdf.set_author("carbonqa")
    pdf.set_creator("carbonqa.brief")
    pdf.add_page()

    def h1(text: str) -> None:
        pdf.set_font("cjk", size=16)
        pdf.cell(0, 10, _clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def h2(text: str) -> None:
        pdf.ln(2)
        pdf.set_font("cjk", size=12)
        pdf.set_fill_color(230, 236, 245)
        pdf.cell(0, 7, _clean(text), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        pdf.set_font("cjk", size=9)

    def para(text: str) -> None:
        pdf.set_font("cjk", size=9)
        pdf.multi_cell(0, 5, _clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(headers: list[str], rows: list[list[Any]], widths: tuple[int, ...]) -> None:
        pdf.set_font("cjk", size=8)
        head = FontFace(emphasis="", fill_color=(240, 240, 240))
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.5, first_row_as_headings=True,
                       headings_style=head) as tb:
            r = tb.row()
            for h in headers:
                r.cell(_clean(h))
            for row in rows:
                r = tb.row()
                for v in row:
                    r.cell(_txt(v))

    ent = d.enterprise or {}
    place = f"{province_label(c['province_code'], lang)} {labels.city(c.get('city_name'), c['province_code'], lang)}"
    h1(("现场检查简报 · " if zh else "Inspection brief · ") + case_id)
    pdf.set_font("cjk", size=8)
    pdf.cell(0, 5, ("生成时间 " if zh else "Generated ") + f"{now_cst():%Y-%m-%d %H:%M} · {scope.username} ({labels.label(labels.ROLE_LABELS, scope.role, lang)})",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    from carbonqa.scoring import FAMILY_LABELS

    li = 0 if zh else 1
    fams = ("、" if zh else ", ").join((FAMILY_LABELS[f][li][:1].upper() + FAMILY_LABELS[f][li][1:]) if f in FAMILY_LABELS
                                      else f for f in (c.get("families") or "").split("|") if f)
    facts = [
        ("重点排放单位" if zh else "Enterprise", f"{labels.original(ent.get('enterprise_name'), lang)} ({c['enterprise_id']})"),
        ("所在地" if zh else "Location", place),
        ("机组 / 年度" if zh else "Unit / year", f"{c.get('unit_id') or '–'} / {c['year']}"),
        ("状态" if zh else "Status", queries.STATUS_LABELS.get(c["status"], (c["status"],) * 2)[li]),
        ("风险分 / 全国排名" if zh else "Risk score / rank", f"{c['risk_score']:.1f} / {c.get('rank') or '–'}"),
        ("涉及排放量" if zh else "At stake", f"{c['tco2_at_stake']:,.0f} tCO₂"),
        ("按配额价格折算" if zh else "At the allowance price",
         f"{c.get('cny_at_stake') or 0:,.0f} {'元' if zh else 'CNY'} ({c.get('allowance_price_cny_per_t') or 0:.2f}/t)"),
        ("检查证实概率" if zh else "P(inspection confirms)",
         f"{c['p_confirm']:.0%}" if c.get("p_confirm") is not None else "–"),
        ("疑点类别" if zh else "Families", fams),
        ("承办人" if zh else "Assignee", c.get("assignee") or "–"),
    ]
    h2("案件概况" if zh else "The case")
    table(["项目" if zh else "Item", "内容" if zh else "Value"], [list(f) for f in facts], (40, 140))
    summary = c.get("summary") if zh else (c.get("summary_en") or labels.original(c.get("summary"), lang))
    if summary:
        pdf.ln(1)
        para(summary)

    if d.units.height:
        h2("机组登记信息" if zh else "Registered units")
        cols = [k for k in ("unit_id", "unit_name", "capacity_mw", "coal_type", "commissioning_year", "registry_ref")
                if k in d.units.columns]
        heads = {"unit_id": ("机组", "Unit"), "unit_name": ("名称", "Name"), "capacity_mw": ("装机 (MW)", "MW"),
                 "coal_type": ("煤种", "Coal"), "commissioning_year": ("投运年份", "Since"),
                 "registry_ref": ("登记号", "Registry ref")}
        shown = [[labels.label(labels.COAL_LABELS, r[k], lang) if k == "coal_type" else r[k] for k in cols]
                 for r in d.units.iter_rows(named=True)]
        table([heads[k][0 if zh else 1] for k in cols], shown,
              tuple([180 // len(cols)] * len(cols)))

    sched = [r for r in d.events.iter_rows(named=True)
             if r["action"] == "status" and "inspection_scheduled" in str(r.get("after") or "")]
    h2("检查安排" if zh else "Inspection arrangement")
    if sched:
        last = sched[-1]
        para(("安排时间 " if zh else "Scheduled ") + f"{last['at']:%Y-%m-%d %H:%M} · {queries.actor_label(last['actor'], lang)}"
             + (f" · {labels.original(last['note'], lang)}" if last.get("note") else ""))
    else:
        para("尚未安排现场检查。" if zh else "No inspection scheduled yet.")

    h2(("发现（{n} 项）" if zh else "Findings ({n})").format(n=d.findings.height))
    rows = [
        [r["rule_code"], labels.label(labels.SEVERITY_LABELS, r["severity"], lang), r["period"] or "",
         labels.generated(r["message_zh"] if zh else (r["message_en"] or r["message_zh"]), lang),
         f"{r['tco2_at_stake'] or 0:,.0f}"]
        for r in d.findings.iter_rows(named=True)
    ]
    table(["代码" if zh else "Code", "严重程度" if zh else "Severity", "月份" if zh else "Month",
           "说明" if zh else "Explanation", "tCO₂"], rows, (20, 18, 18, 104, 20))

    if charts:
        h2("证据图表" if zh else "Evidence charts")
        for png in charts:
            if pdf.get_y() > 200:
                pdf.add_page()
            pdf.image(io.BytesIO(png), w=180)
            pdf.ln(2)

    rep = d.lab_values.filter(pl.col("is_repeated"))
    if rep.height:
        h2("重复的化验数值" if zh else "Repeated lab values")
        table(["月份" if zh else "Month", "Cad %", "Mad %", "Mt %", "Qnet,ar GJ/t", "报告" if zh else "Report"],
              [[r["sample_period"], r["carbon_ad_pct"], r["moisture_ad_pct"], r["total_moisture_pct"],
                r["ncv_ar_gj_per_t"], r["lab_report_id"]] for r in rep.iter_rows(named=True)], (22, 22, 22, 22, 30, 62))

    if d.verifications.height:
        h2("核查记录" if zh else "Verifications")
        table(["年度" if zh else "Year", "核查机构" if zh else "Verifier", "结论" if zh else "Conclusion",
               "核查排放量 tCO₂" if zh else "Verified tCO₂", "报告排放量 tCO₂" if zh else "Reported tCO₂",
               "不符合项" if zh else "Findings"],
              [[r["year"], r.get("agency_name") or r["verifier_agency_id"],
                labels.label(labels.CONCLUSION_LABELS, r["conclusion"], lang), r["verified_emissions_tco2"],
                r.get("reported_emissions_tco2"), r["findings_count"]] for r in d.verifications.iter_rows(named=True)],
              (14, 50, 22, 34, 34, 26))

    if d.tips.height:
        h2("投诉举报线索" if zh else "Complaints")
        for r in d.tips.iter_rows(named=True):
            para(f"{r['received_date'] or ''} · {labels.label(labels.TIP_CHANNEL_LABELS, r['channel'], lang)} · "
                 f"{labels.label(labels.TIP_CATEGORY_LABELS, r['category'], lang)}{'：' if zh else ': '}"
                 f"{labels.original(r['summary'], lang)}")

    h2("处理记录" if zh else "Case history")
    ev = d.events.tail(15)
    table(["时间" if zh else "When", "操作人" if zh else "Who", "操作" if zh else "Action", "变更内容" if zh else "Change",
           "备注" if zh else "Note"],
          [[f"{r['at']:%Y-%m-%d %H:%M}" if r["at"] else "", queries.actor_label(r["actor"], lang),
            queries.ACTION_LABELS.get(r["action"], (r["action"], r["action"]))[0 if zh else 1],
            r["change_zh" if zh else "change_en"] or "", labels.original(r["note"], lang)]
           for r in ev.iter_rows(named=True)], (30, 35, 20, 55, 40))

    families = [f for f in (c.get("families") or "").split("|") if f in contract.FAMILIES]
    h2("现场检查清单" if zh else "On-site checklist")
    items = checklist(families, d.findings["rule_code"].to_list() if d.findings.height else [], lang)
    table(["", "检查事项（依据本案发现生成）" if zh else "Check (from this case's findings)", "结果" if zh else "Result"],
          [[f"{i}.", text, "□ 属实  □ 不属实" if zh else "□ confirmed  □ not confirmed"] for i, text in enumerate(items, 1)],
          (8, 132, 40))

    h2("签字确认" if zh else "Sign-off")
    for line in (("检查人员（签字）：", "日期："), ("被检查单位负责人（签字）：", "日期：")) if zh else \
            (("Inspectors (signature):", "Date:"), ("Head of the inspected unit (signature):", "Date:")):
        pdf.ln(4)
        para(f"{line[0]}{'_' * 40}    {line[1]}{'_' * 16}")
    return bytes(pdf.output())


#: What to verify on site for each finding family (zh, en) — the inspection checklist's items.
CHECKS: dict[str, tuple[tuple[str, str], ...]] = {
    "carbon_content": (
        ("调阅入炉煤采样、制样记录与元素碳化验原始记录（仪器打印件），核对与月报含碳量一致",
         "Read the coal sampling and preparation records and the raw elemental-carbon results (instrument printouts); "
         "check they match the monthly carbon content"),
        ("核实化验所用煤样与入炉煤批次对应，留存样品抽检复测",
         "Check the lab samples match the coal burnt; keep retained samples for a re-test"),
    ),
    "copied_values": (
        ("逐月核对化验原始记录，确认各月结果不是同一批次结果的复用",
         "Check each month's raw lab record: the results must not be one batch reused"),
    ),
    "lab_forensics": (
        ("核实检测报告编号、日期、防伪二维码与检测机构台账一致；核对采样、收样、检测、出具日期的先后",
         "Check report numbers, dates and anti-counterfeit codes against the laboratory's register, and the order of "
         "sampling, receipt, test and report dates"),
    ),
    "verifier": (
        ("调阅核查机构工作底稿、现场核查记录与不符合项整改记录",
         "Read the verifier's working papers, site-visit record and the closing of its non-conformities"),
    ),
    "telemetry": (
        ("比对 DCS/CEMS 运行数据与月度存证的发电量、耗煤量、运行小时",
         "Compare DCS/CEMS plant data with the reported generation, coal burnt and running hours"),
    ),
    "accounting": (
        ("复核排放量计算、计量单位换算与缺省值的使用",
         "Re-check the emission calculation, the unit conversions and the use of default values"),
    ),
    "completeness": (
        ("核实缺报月份的原始数据与未报原因", "Find the raw data of the missing months and why they were not filed"),
    ),
    "tip": (
        ("逐项核实投诉举报所述情况并记录", "Check and record each point of the complaint"),
    ),
}


def checklist(families: list[str], rule_codes: list[str], lang: str = "zh") -> list[str]:
    """The on-site checklist of a case: the checks of its finding families, then its rule codes to close.

    Args:
        families: the case's finding families (contract vocabulary).
        rule_codes: the codes of its findings (each listed once, in order).
        lang: ``zh`` or ``en``.
    """
    li = 0 if lang == "zh" else 1
    items = [pair[li] for f in families for pair in CHECKS.get(f, ())]
    codes = list(dict.fromkeys(c for c in rule_codes if c))
    if codes:
        items.append(("逐条核实以下发现并记录结论：" if li == 0 else "Settle each of these findings: ") + ", ".join(codes))
    return items
