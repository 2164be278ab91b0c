"""Labels of the stored codes in Chinese and English, and the rules for text that cannot be translated.

One table per code list (severity, coal type, verification conclusion, complaint channel and category),
read by the dashboard (``dashboard.i18n``) and the PDF brief (:mod:`carbonqa.brief`) alike, so a code is
never shown raw in either language. Submitted free text (complaints, notes, names) is not machine
translated: :func:`original` marks it "Original (Chinese):" in English. City names in English come from
the GB/T 2260 table of :mod:`carbonqa.geo`, else pinyin (:func:`pinyin_name`, needs ``pypinyin``, part
of the dashboard extra).
"""

from __future__ import annotations

import re
from typing import Any

#: Reader roles (``users.role``).
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "national": ("国家级筛查", "national screener"),
    "provincial": ("省级审核", "provincial reviewer"),
    "municipal": ("市级检查", "municipal inspector"),
    "auditor": ("审计（只读）", "auditor (read-only)"),
}
SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "critical": ("严重", "Critical"),
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
    "info": ("提示", "Info"),
}
COAL_LABELS: dict[str, tuple[str, str]] = {
    "bituminous": ("烟煤", "bituminous"),
    "subbituminous": ("次烟煤", "subbituminous"),
    "anthracite": ("无烟煤", "anthracite"),
    "lignite": ("褐煤", "lignite"),
    "waste_coal": ("煤矸石", "waste coal"),
    "mixed": ("混煤", "mixed"),
    "unknown": ("未知", "unknown"),
    "none": ("无", "none"),
}
CONCLUSION_LABELS: dict[str, tuple[str, str]] = {
    "accepted": ("通过", "accepted"),
    "revised": ("修改后通过", "revised"),
    "rejected": ("不通过", "rejected"),
}
TIP_CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "hotline": ("热线", "hotline"),
    "letter": ("来信", "letter"),
    "online": ("网络", "online"),
    "referral": ("移送", "referral"),
}
TIP_CATEGORY_LABELS: dict[str, tuple[str, str]] = {  # categories are recorded in Chinese
    "数据错误": ("数据错误", "data error"),
    "数据造假": ("数据造假", "data falsification"),
    "煤样造假": ("煤样造假", "falsified coal samples"),
    "检测报告篡改": ("检测报告篡改", "altered lab report"),
    "虚报瞒报": ("虚报瞒报", "false or concealed reporting"),
    "未按时报送": ("未按时报送", "late reporting"),
    "核查机构弄虚作假": ("核查机构弄虚作假", "verifier fraud"),
}


_CJK = re.compile(r"[\u4e00-\u9fff]")

#: The mark before submitted Chinese text shown in the English interface (zh: nothing is marked).
ORIGINAL_MARK = "Original (Chinese):"


def label(table: dict[str, tuple[str, str]], code: Any, lang: str = "zh") -> str:
    """``code``'s label in ``lang`` (``zh``/``en``) from ``table``; an unknown code as is, ``None`` as ``""``."""
    if code is None:
        return ""
    pair = table.get(str(code))
    return (pair[0] if lang == "zh" else pair[1]) if pair else str(code)


def has_cjk(text: Any) -> bool:
    """Whether ``text`` contains a Chinese character."""
    return bool(_CJK.search(str(text or "")))


def original(text: Any, lang: str = "zh") -> str:
    """Submitted text as shown in ``lang``, marked as original Chinese in English.

    In English, Chinese text is prefixed with :data:`ORIGINAL_MARK` (it is not machine-translated);
    otherwise unchanged. ``None`` → ``""``.
    """
    if text is None:
        return ""
    s = str(text)
    return f"{ORIGINAL_MARK} {s}" if lang == "en" and has_cjk(s) else s


def generated(text: Any, lang: str = "zh") -> str:
    """A generated sentence (a finding's message, observed / expected value) as shown in ``lang``.

    ``None``, ``""`` and JSON ``null`` → ``""``; a JSON-quoted string loses its quotes. In English, the
    complaint categories it names are translated (:data:`TIP_CATEGORY_LABELS`) and submitted Chinese text it
    quotes (a complaint's words) is marked with :data:`ORIGINAL_MARK` where it starts (after the last
    ``": "`` before it, else right before it).
    """
    if text is None:
        return ""
    s = str(text).strip()
    if s in ("", "null", "None"):
        return ""
    if len(s) >= 2 and s[0] == s[-1] == '"':
        s = s[1:-1]
    if lang != "en":
        return s
    for zh, (_, en) in TIP_CATEGORY_LABELS.items():
        s = s.replace(zh, en)
    m = _CJK.search(s)
    if m is None:
        return s
    cut = s.rfind(": ", 0, m.start())
    at = cut + 2 if cut >= 0 else m.start()
    return f"{s[:at]}{ORIGINAL_MARK} {s[at:]}"


_CITY_EN: tuple[dict[tuple[str, str], str], dict[str, str]] | None = None


def _city_table() -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    global _CITY_EN
    if _CITY_EN is None:
        from carbonqa.geo import PREFECTURE_ZH

        by_pair = {(prov, zh): en for (prov, en), zh in PREFECTURE_ZH.items()}
        names: dict[str, set[str]] = {}
        for (_, zh), en in by_pair.items():
            names.setdefault(zh, set()).add(en)
        _CITY_EN = by_pair, {zh: next(iter(en)) for zh, en in names.items() if len(en) == 1}
    return _CITY_EN


def city_en(name: str | None, province_code: str | None = None) -> str:
    """A city (地市) in English.

    Its GB/T 2260 division's English name (:mod:`carbonqa.geo`), else the name in pinyin
    (:func:`pinyin_name`). ``None`` → ``""``.
    """
    if not name:
        return ""
    by_pair, by_name = _city_table()
    return by_pair.get((province_code or "", name)) or by_name.get(name) or pinyin_name(name)


def city(name: str | None, province_code: str | None = None, lang: str = "zh") -> str:
    """A city in ``lang``: the Chinese name as filed, or :func:`city_en`."""
    return (name or "") if lang == "zh" else city_en(name, province_code)


_SUFFIX_EN = (
    ("自治州", " Autonomous Prefecture"),
    ("自治县", " Autonomous County"),
    ("地区", " Prefecture"),
    ("盟", " League"),
    ("市", ""),
    ("县", " County"),
)
#: Ethnic names that precede 自治州 / 自治县 (dropped from the English name, as GB/T 2260's English list does).
_ETHNIC = ("蒙古族", "蒙古", "回族", "藏族", "维吾尔", "哈萨克", "柯尔克孜", "布依族", "苗族", "侗族", "土家族",
           "彝族", "傣族", "景颇族", "哈尼族", "傈僳族", "白族", "壮族", "朝鲜族", "羌族", "黎族", "瑶族", "土族",
           "撒拉族", "东乡族", "保安族", "裕固族", "纳西族", "怒族", "独龙族", "普米族", "拉祜族", "佤族", "水族",
           "仫佬族", "毛南族", "仡佬族", "畲族", "满族", "达斡尔族", "鄂温克族", "鄂伦春族", "锡伯族", "塔吉克")


def pinyin_name(name: str) -> str:
    """A Chinese place name in pinyin, title case, with its administrative suffix in English.

    ``"临夏回族自治州"`` → ``"Linxia Autonomous Prefecture"``, ``"白银市"`` → ``"Baiyin"``. A name without
    Chinese characters is returned as is.
    """
    if not re.search(r"[\u4e00-\u9fff]", name or ""):
        return name or ""
    from pypinyin import lazy_pinyin

    core, suffix = name, ""
    for zh, en in _SUFFIX_EN:
        if core.endswith(zh) and len(core) > len(zh) + 1:
            core, suffix = core[: -len(zh)], en
            break
    if suffix.startswith(" Autonomous"):
        stripped = True
        while stripped:
            stripped = False
            for e in _ETHNIC:
                if core.endswith(e) and len(core) > len(e) + 1:
                    core, stripped = core[: -len(e)], True
                    break
    return "".join(lazy_pinyin(core)).title() + suffix
