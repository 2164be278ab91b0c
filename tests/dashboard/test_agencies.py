"""AppTest of the agency case page (机构案件): every role, scoping by clients, selection, text never Markdown."""

from __future__ import annotations

import datetime as dt

import pytest

PAGE = "app_pages/agencies.py"
HOSTILE = "![x](http://evil.example/p.png) [官方通知](http://phish.example) <img src=x onerror=alert(1)> :red[红]"


def _seed_agency_cases(url: str) -> None:
    """Two agency cases on the seeded store: V1 with clients in 包头市 and 济南市, L1 with one in 南京市."""
    from carbonqa.store import session_scope
    from carbonqa.store.models import AgencyCase, AgencyCaseClient

    now = dt.datetime(2025, 3, 1)
    with session_scope(url) as s:
        if s.get(AgencyCase, "AQ-2024-lab-L1") is not None:
            return
        s.add_all([
            AgencyCase(case_id="AQ-2024-verifier-V1", agency_id="V1", agency_role="verifier", agency_name=HOSTILE,
                       year=2024, province_code="11", status="new", risk_score=62.5, rank=1,
                       rule_codes="VER-106|VER-108", clients="E0000|E0002", n_clients=2, tco2_at_stake=52_000.0,
                       summary="2024年度：核查机构 V1 核查放行异常报告，涉及 2 家客户企业。", score_reasons=[],
                       summary_en="2024: verifier V1 passes anomalous reports, 2 client enterprise(s).",
                       created_at=now, updated_at=now, last_run_id="r1"),
            AgencyCase(case_id="AQ-2024-lab-L1", agency_id="L1", agency_role="lab", agency_name="某检测中心",
                       year=2024, province_code="32", status="triaged", risk_score=30.0, rank=2,
                       rule_codes="LAB-103", clients="E0003", n_clients=1, tco2_at_stake=0.0,
                       summary="2024年度：检测机构 L1 出具量不合理，涉及 1 家客户企业。", score_reasons=[],
                       created_at=now, updated_at=now, last_run_id="r1"),
        ])
        s.flush()
        s.add_all([
            AgencyCaseClient(case_id="AQ-2024-verifier-V1", enterprise_id="E0000", province_code="15", city_name="包头市",
                             rule_codes="VER-106", own_rule_codes="CC-101|CPY-101", tco2_at_stake=40_000.0,
                             enterprise_case_id="CQ-2024-E0000"),
            AgencyCaseClient(case_id="AQ-2024-verifier-V1", enterprise_id="E0002", province_code="37", city_name="济南市",
                             rule_codes="VER-108", own_rule_codes="TEL-001", tco2_at_stake=12_000.0),
            AgencyCaseClient(case_id="AQ-2024-lab-L1", enterprise_id="E0003", province_code="32", city_name="南京市",
                             rule_codes="LAB-103", own_rule_codes="", tco2_at_stake=0.0),
        ])


def _open(app, url: str, user: str, lang: str = "zh"):
    _seed_agency_cases(url)
    at = app(user, lang)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("user", ["nat", "prov15", "baotou", "ordos", "audit"])
def test_page_draws_for_every_role(app, seeded_url, user):
    at = _open(app, seeded_url, user)
    assert at.title[0].value == "机构案件"
    assert not at.error


def test_national_sees_every_agency_case_and_its_clients(app, seeded_url):
    at = _open(app, seeded_url, "nat")
    cases = at.dataframe[0].value
    assert list(cases["case_id"]) == ["AQ-2024-verifier-V1", "AQ-2024-lab-L1"]  # rank order
    assert list(cases["n_clients_in_scope"]) == [2, 1]
    assert "核查机构" in set(cases["role_label"])
    clients = at.dataframe[1].value  # the top case's clients by default
    assert list(clients["enterprise_id"]) == ["E0000", "E0002"]
    assert list(clients["rule_codes"]) == ["VER-106", "VER-108"]
    assert list(clients["own_rule_codes"]) == ["CC-101|CPY-101", "TEL-001"]
    at.selectbox(key="ag_pick").set_value("AQ-2024-lab-L1").run()
    assert not at.exception
    assert list(at.dataframe[1].value["enterprise_id"]) == ["E0003"]


def test_provincial_and_municipal_see_only_their_clients(app, seeded_url):
    at = _open(app, seeded_url, "prov15")
    assert list(at.dataframe[0].value["case_id"]) == ["AQ-2024-verifier-V1"]
    assert list(at.dataframe[1].value["enterprise_id"]) == ["E0000"]  # not 济南's client
    at = _open(app, seeded_url, "baotou")
    assert list(at.dataframe[1].value["enterprise_id"]) == ["E0000"]
    at = _open(app, seeded_url, "ordos")  # no client in 鄂尔多斯市
    assert not at.dataframe and "没有机构案件" in at.info[0].value
    at = _open(app, seeded_url, "prov37")
    assert list(at.dataframe[1].value["enterprise_id"]) == ["E0002"]


def test_english_labels(app, seeded_url):
    at = _open(app, seeded_url, "nat", lang="en")
    assert at.title[0].value == "Agency cases"
    assert set(at.dataframe[0].value["role_label"]) == {"verifier", "laboratory"}


def test_agency_name_is_shown_as_text_never_markdown(app, seeded_url):
    import re

    from dashboard.text import md

    at = _open(app, seeded_url, "nat")
    assert HOSTILE in list(at.dataframe[0].value["agency_name"])  # tables show text as is
    sources = [str(e.value) for kind in ("title", "subheader", "markdown", "caption", "info") for e in getattr(at, kind)]
    assert any(md(HOSTILE) in v for v in sources)  # the heading names the agency, escaped
    assert not [v for v in sources if re.findall(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(|(?<!\\)<img|(?<!\\):red\[", v)]


def test_open_a_clients_enterprise_case_and_download_buttons(app, seeded_url):
    at = _open(app, seeded_url, "prov15")
    assert at.selectbox(key="ag_open_pick").options == ["CQ-2024-E0000"]
    assert {b.key for b in at.get("download_button")} >= {"ag_dl_csv", "ag_dl_xlsx"}
    at.button(key="ag_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["case_id"] == "CQ-2024-E0000"


def test_scoped_export_bytes(seeded_url):
    import io

    import polars as pl

    from carbonqa.cases.agency import AGENCY_EXPORT_COLUMNS, agency_export_bytes
    from carbonqa.jurisdiction import Scope

    _seed_agency_cases(seeded_url)
    df = pl.read_csv(io.BytesIO(agency_export_bytes("csv", seeded_url, Scope("prov15", "provincial", "15"))))
    assert tuple(df.columns) == AGENCY_EXPORT_COLUMNS
    assert list(df["case_id"]) == ["AQ-2024-verifier-V1"] and list(df["clients"]) == ["E0000"]
    df = pl.read_excel(io.BytesIO(agency_export_bytes("xlsx", seeded_url, None)), sheet_name="agency_cases")
    assert list(df["case_id"]) == ["AQ-2024-verifier-V1", "AQ-2024-lab-L1"]
