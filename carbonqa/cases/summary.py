"""Case summaries: one plain-language sentence about a case, in zh-CN or English.

One builder (:func:`case_summary`) with a phrasebook per language (:data:`_SUMMARY`): the same facts —
the top finding's catalogue title and message, the tonnes at stake, the other families, the complaints
— in both languages. :func:`summary_zh` is the export's ``summary``; :func:`summary_en` is
``cases.summary_en`` (the dashboard's English mode).
"""

from __future__ import annotations

from carbonqa import catalogue
from carbonqa.scoring import FAMILY_LABELS, CaseScore, round_tonnes

__all__ = ["case_summary", "summary_zh", "summary_en"]


def _title(rule_code: str, family: str, lang: str) -> str:
    li = 0 if lang == "zh" else 1
    try:
        r = catalogue.rule(rule_code)
        return r.title_zh if li == 0 else r.title_en
    except KeyError:
        return FAMILY_LABELS.get(family, (family, family))[li]


#: The phrasebook of the case summary, one entry per language: (year head, no finding, complaint head,
#: message cut (length, earliest cut, separators, strip, ellipsis), parentheses, tonnes, other findings,
#: complaints, separator, full stop, family-label joiner).
_SUMMARY = {
    "zh": dict(
        year="{year}年度：",
        none="{year}年度：当前无有效发现（均已抑制或不再出现）。",
        tip="{year}年度：收到投诉举报线索",
        cut=(60, 20, ("，", "；", "、", "（", "("), "，；、 "),
        end_strip="。",
        paren="（{msg}）",
        tonnes="，涉及约 {t:,} tCO₂",
        others="另有 {n} 项{labels}方面的发现",
        tips="附 {n} 条投诉举报线索",
        sep="；",
        stop="。",
        join="、",
    ),
    "en": dict(
        year="{year}: ",
        none="{year}: no live finding (all suppressed or no longer seen).",
        tip="{year}: a complaint was received",
        cut=(90, 30, (", ", "; ", " ("), ",; "),
        end_strip=".",
        paren=" ({msg})",
        tonnes=", about {t:,} tCO₂ at stake",
        others="{n} more finding(s) on {labels}",
        tips="{n} complaint(s) attached",
        sep="; ",
        stop=".",
        join=", ",
    ),
}


def case_summary(year: int, cs: CaseScore, lang: str = "zh") -> str:
    """One plain-language sentence about a case, in ``lang`` (``zh`` or ``en``).

    E.g. ``2024年度：单位热值含碳量显著低于同类机组（…），涉及约 12,300 tCO₂；另有 2 项月度数据复制方面的发现；
    附 1 条投诉举报线索。`` / ``2024: Carbon content far below peers (…), about 12,300 tCO₂ at stake; 2 more
    finding(s) on copied monthly values; 1 complaint(s) attached.`` Built from the top finding (largest
    tonnes × confidence: its catalogue title and message, cut at a clause boundary), the tonnes at stake,
    the other families and the complaints — the same facts in both languages.
    """
    p = _SUMMARY[lang]
    li = 0 if lang == "zh" else 1
    top = cs.top
    if top is None:
        return p["none"].format(year=year)
    parts: list[str] = []
    if top.family == "tip":
        head = p["tip"].format(year=year)
    else:
        msg = (
            (getattr(top, "message_zh" if li == 0 else "message_en", "") or "").strip().rstrip(p["end_strip"])
        )
        size, earliest, seps, strip = p["cut"]
        if len(msg) > size:  # cut at a clause boundary, never inside a parenthesis
            cut = msg[:size]
            for sep in seps:
                if sep in cut[earliest:]:
                    cut = cut[: cut.rindex(sep)]
                    break
            msg = cut.rstrip(strip) + "…"
        head = (
            p["year"].format(year=year)
            + _title(top.rule_code, top.family, lang)
            + (p["paren"].format(msg=msg) if msg else "")
        )
    if cs.tco2_at_stake >= 1:
        head += p["tonnes"].format(t=round_tonnes(cs.tco2_at_stake))
    parts.append(head)
    others = [f for f in cs.families if f not in (top.family, "tip")]
    if others:
        labels = p["join"].join(FAMILY_LABELS[f][li] for f in others)
        parts.append(p["others"].format(n=sum(cs.count_by_family.get(f, 0) for f in others), labels=labels))
    if cs.n_tips and top.family != "tip":
        parts.append(p["tips"].format(n=cs.n_tips))
    return p["sep"].join(parts) + p["stop"]


def summary_zh(year: int, cs: CaseScore) -> str:
    """:func:`case_summary` in zh-CN (the export's ``summary``)."""
    return case_summary(year, cs, "zh")


def summary_en(year: int, cs: CaseScore) -> str:
    """:func:`case_summary` in English (``cases.summary_en``, the dashboard's English mode)."""
    return case_summary(year, cs, "en")
