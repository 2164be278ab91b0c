"""carbonqa.geo: Chinese prefecture names for every place of the GCPT registry."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from carbonqa.geo import ALIASES, COUNTY_ZH, DIRECT_COUNTY_LEVEL, PREFECTURE_ZH, city_zh, prefecture_zh
from carbonqa.synth import params as P

GCPT = "gcpt_2024-07_china_coal_units.csv"
PREF = "Major area (prefecture, district)"
SUFFIX = re.compile(r"(市|自治州|州|盟|地区)$")


@pytest.fixture(scope="module")
def gcpt(real_dir: Path) -> pl.DataFrame:
    df = pl.read_csv(real_dir / GCPT, infer_schema=False, encoding="utf8")
    return df.with_columns(
        pl.col("Subnational unit (province, state)").replace_strict(P.PROVINCE_BY_NAME, default=None).alias("province_code")
    )


def _pairs(df: pl.DataFrame) -> list[tuple[str, str | None]]:
    return df.select("province_code", PREF).unique().sort("province_code", PREF).rows()


def _ok(name: str | None) -> bool:
    return bool(name) and (SUFFIX.search(name) is not None or name in DIRECT_COUNTY_LEVEL)


def test_every_operating_pair_has_a_chinese_name(gcpt: pl.DataFrame) -> None:
    pairs = _pairs(gcpt.filter(pl.col("Status") == "operating"))
    assert 270 <= len(pairs) <= 300  # 284 in the July 2024 file
    bad = [(c, n, prefecture_zh(c, n)) for c, n in pairs if not _ok(prefecture_zh(c, n))]
    assert not bad


def test_every_pair_of_any_status_has_a_chinese_name(gcpt: pl.DataFrame) -> None:
    assert gcpt["province_code"].null_count() == 0
    bad = [(c, n) for c, n in _pairs(gcpt) if not _ok(prefecture_zh(c, n))]
    assert not bad


def test_every_row_resolves_with_the_blank_rule(gcpt: pl.DataFrame) -> None:
    rows = gcpt.select("province_code", PREF, "Local area (taluk, county)", "Location", "Plant name (local)").unique()
    names = {r: city_zh(*r) for r in rows.iter_rows()}
    assert all(_ok(n) for n in names.values())
    assert not any(re.search(r"[A-Za-z]", n or "") for n in names.values())
    # exceptions that do not end in 市/州/盟/地区 are the documented ones
    assert {n for n in names.values() if not SUFFIX.search(n or "")} <= {"乐东黎族自治县"}


def test_spot_checks() -> None:
    assert prefecture_zh("15", "Baotou") == "包头市"
    assert prefecture_zh("15", "Ordos") == "鄂尔多斯市"
    assert prefecture_zh("61", "Yulin") == "榆林市"
    assert prefecture_zh("45", "Yulin") == "玉林市"
    assert prefecture_zh("65", "Changji") == prefecture_zh("65", "Changji Hui Autonomous Prefecture") == "昌吉回族自治州"
    assert prefecture_zh("15", "Hulunbuir") == "呼伦贝尔市"
    assert prefecture_zh("15", "Alxa") == prefecture_zh("15", "Alashan") == "阿拉善盟"
    assert prefecture_zh("15", "Xilingol") == prefecture_zh("15", "Xilingol League") == "锡林郭勒盟"
    assert prefecture_zh("32", "Taizhou") == "泰州市" and prefecture_zh("33", "Taizhou") == "台州市"
    assert prefecture_zh("32", "Suzhou") == "苏州市" and prefecture_zh("34", "Suzhou") == "宿州市"
    assert prefecture_zh("35", "Fuzhou") == "福州市" and prefecture_zh("36", "Fuzhou") == "抚州市"
    assert prefecture_zh("23", "Yichun") == "伊春市" and prefecture_zh("36", "Yichun") == "宜春市"
    # county-level or former prefectures → their prefecture-level city
    assert prefecture_zh("37", "Laiwu") == "济南市"
    assert prefecture_zh("34", "Chaohu") == "合肥市"
    assert prefecture_zh("32", "Jiangyin") == "无锡市"
    assert prefecture_zh("23", "Jiagedaqi") == "大兴安岭地区"
    assert prefecture_zh("15", "Nowhere") is None and prefecture_zh("99", "Baotou") is None


def test_blank_prefecture_rule() -> None:
    assert prefecture_zh("31", None) == "上海市" and prefecture_zh("50", "") == "重庆市"
    assert prefecture_zh("15", None) == "呼和浩特市" and prefecture_zh("65", None) == "乌鲁木齐市"
    assert city_zh("65", None, "Shihezi", "Shihezi City", "天富集团石河子天富北发电厂") == "石河子市"
    assert city_zh("46", None, "Danzhou", "Yangpu EDZ") == "儋州市"
    assert city_zh("64", None, None, None, "青铜峡工业园区热力岛项目") == "吴忠市"
    assert city_zh("45", None, None, "Dadong", "广西大东电厂") == "南宁市"  # nothing better: the capital
    assert city_zh("15", "Baotou", "Shihezi") == "包头市"  # the prefecture column wins


def test_every_capital_resolves() -> None:
    from carbonqa.contract import PROVINCES

    assert set(P.PROVINCE_CAPITAL) == set(PROVINCES)
    assert all(_ok(prefecture_zh(code, None)) for code in PROVINCES)


def test_names_unique_within_a_province() -> None:
    seen: dict[tuple[str, str], str] = {}
    for (code, en), zh in PREFECTURE_ZH.items():
        assert (code, zh) not in seen, f"{en} and {seen[(code, zh)]} both {zh} in {code}: make one an alias"
        seen[(code, zh)] = en
    assert all((c, en) in PREFECTURE_ZH for (c, _a), en in ALIASES.items())
    assert not set(ALIASES) & set(PREFECTURE_ZH)
    # the county table lists only places the prefecture table does not already name
    assert not set(COUNTY_ZH) & set(PREFECTURE_ZH)


def test_registry_city_names_are_chinese(real_dir: Path) -> None:
    import numpy as np

    from carbonqa.synth.registry import build_registry, load_gcpt

    reg = build_registry(load_gcpt(real_dir), np.random.default_rng(0))
    cities = reg.enterprises["city_name"]
    assert cities.null_count() == 0 and not cities.str.contains(r"[A-Za-z]").any()
    assert "_city_en" not in reg.enterprises.columns
    assert set(cities) >= {"包头市", "鄂尔多斯市", "榆林市", "昌吉回族自治州", "石河子市"}
