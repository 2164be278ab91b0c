"""The case map page (案件地图): renders for every tier in both languages, scoped, with drill-down."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.test_app import _open, _texts

CJK = re.compile(r"[\u4e00-\u9fff]")


def _table(at):
    return at.dataframe[0].value


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("user", ["nat", "prov15", "baotou", "audit"])
def test_map_page_renders(app, user, lang):
    at = _open(app, user, "app_pages/map.py", lang)
    assert at.title[0].value == ("案件地图" if lang == "zh" else "Case map")
    assert not at.error, [e.value for e in at.error]
    table = _table(at)
    if user in ("nat", "audit"):  # the whole country: one row per province with an open case
        assert set(table.iloc[:, 0]) <= ({"内蒙古", "山东", "江苏"} if lang == "zh" else {"Inner Mongolia", "Shandong", "Jiangsu"})
    elif user == "prov15":  # Inner Mongolia's cities only
        assert set(table.iloc[:, 0]) <= ({"包头市", "鄂尔多斯市"} if lang == "zh" else {"Baotou", "Ordos"})
    else:  # one city
        assert set(table.iloc[:, 0]) == ({"包头市"} if lang == "zh" else {"Baotou"})
    if lang == "en":
        assert not CJK.search(" ".join(str(v) for v in table.iloc[:, 0]))


def test_national_reader_drills_down_to_a_province(app):
    at = _open(app, "nat", "app_pages/map.py")
    at.selectbox(key="map_pick").set_value("15")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert set(_table(at).iloc[:, 0]) <= {"包头市", "鄂尔多斯市"}
    at.button(key="map_back").click()
    at.run()
    assert "山东" in set(_table(at).iloc[:, 0]) or "江苏" in set(_table(at).iloc[:, 0])
    assert "map_back" not in [b.key for b in at.button]
    assert "案件地图" in _texts(at)
