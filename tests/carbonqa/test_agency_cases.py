"""Agency cases (机构案件): derivation from stored findings, idempotence, export, scoping (SQLite + PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from carbonqa.cases import agency as ac
from carbonqa.cases import store_findings, update_cases
from carbonqa.findings import Finding
from carbonqa.jurisdiction import Scope
from carbonqa.store import get_engine, raw_table, session_scope
from carbonqa.store.models import AgencyCase, AgencyCaseClient, User

ENTS = [
    ("E1", "15", "包头市"),
    ("E2", "15", "呼和浩特市"),
    ("E3", "37", "济南市"),
    ("E4", "37", "青岛市"),
]
AGENCIES = [("V1", "=HYPERLINK(\"http://evil\") 核查公司", "verifier", "11"), ("L1", "某检测中心", "lab", None),
            ("V2", "另一核查公司", "verifier|preparer", "37")]


def seed(url: str) -> None:
    """Enterprises and agencies registries, one user per tier."""
    meta = {"record_version": 1, "bundle_id": "seed", "ingested_at": dt.datetime(2025, 1, 1)}
    with get_engine(url).begin() as conn:
        conn.execute(sa.insert(raw_table("enterprises")), [
            {"enterprise_id": e, "enterprise_name": f"{e} 电厂", "province_code": p, "city_name": c, "sector": "power",
             "is_captive": False, "row_sha256": e.ljust(64, "x"), **meta} for e, p, c in ENTS])
        conn.execute(sa.insert(raw_table("agencies")), [
            {"agency_id": a, "agency_name": n, "roles": r, "home_province_code": h, "row_sha256": a.ljust(64, "y"), **meta}
            for a, n, r, h in AGENCIES])
    with session_scope(url) as s:
        for name, role, prov, city in [("nat", "national", None, None), ("nm", "provincial", "15", None),
                                       ("sd", "provincial", "37", None), ("baotou", "municipal", "15", "包头市")]:
            s.add(User(username=name, password_hash="x", role=role, province_code=prov, city_name=city))


def F(code: str, ent: str, ev: dict | None = None, *, family: str | None = None, sev: str = "high",  # noqa: N802
      t: float = 0.0, period: str | None = None, score: float = 0.9) -> Finding:
    prov = next(p for e, p, _ in ENTS if e == ent)
    fam = family or {"VER": "verifier", "LAB": "lab_forensics", "CPY": "copied_values", "CC": "carbon_content"}[code.split("-")[0]]
    return Finding(rule_code=code, family=fam, severity=sev, enterprise_id=ent, unit_id=f"{ent}-U1" if period else None,
                   year=2024, period=period, province_code=prov, message_zh="发现", score=score, tco2_at_stake=t,
                   evidence=ev or {}, detail_key=str((ev or {}).get("verifier_agency_id") or (ev or {}).get("agency_id") or ""))


NIGHT = [
    # V1 rubber-stamps (an agency-level detector) at E1 and E3; E1 and E3 have their own evidence
    F("VER-106", "E1", {"verifier_agency_id": "V1", "k": 3, "n": 5}, t=40_000),
    F("VER-106", "E3", {"verifier_agency_id": "V1", "k": 3, "n": 5}, t=40_000),
    F("CC-101", "E1", t=12_000, period="2024-03"),
    F("CC-101", "E1", t=9_000, period="2024-03", sev="medium"),  # same fact (family, unit, month): counts once
    F("CC-101", "E3", t=-3_000, period="2024-05"),  # over-report: never added
    # V2: prepares and verifies in one province (VER-003, low at enterprise level) at E4
    F("VER-003", "E4", {"agency_id": "V2", "enterprise_id": "E4", "n_prepared": 2}, sev="low", t=5_000),
    # L1: a short-review-like engagement code at one client only -> no case; QR pattern at two clients -> case
    F("LAB-004", "E2", {"lab_agency_id": "L1", "pattern": True}, sev="medium", t=800),
    F("LAB-004", "E4", {"lab_agency_id": "L1", "pattern": True}, sev="medium", t=700),
    F("LAB-004", "E3", {"lab_agency_id": "L1", "pattern": False}, sev="low"),  # isolated slip: not counted
    # V3 (not registered): one short review at one client -> no case
    F("VER-004", "E2", {"agency_id": "V3", "days": 1}, sev="medium"),
    # terminal digits of a preparer (CPY-105 role from evidence)
    F("CPY-105", "E2", {"agency_id": "V2", "role": "preparer", "p_group": 1e-6}, sev="medium", t=2_000),
    F("CPY-105", "E2", {"agency_id": "X9", "role": "consultant"}, sev="medium"),  # unknown role: ignored
]


@pytest.fixture
def store(db_url: str) -> str:
    seed(db_url)
    return db_url


def night(url: str, run_id: str, findings: list[Finding]) -> dict:
    store_findings(findings, run_id, url)
    update_cases(run_id, [2024], url=url)
    return ac.update_agency_cases(run_id, [2024], url=url)


def cases_of(url: str) -> dict[str, AgencyCase]:
    with session_scope(url) as s:
        out = {c.case_id: c for c in s.scalars(sa.select(AgencyCase))}
        s.expunge_all()
    return out


def clients_of(url: str, case_id: str) -> dict[str, dict]:
    t = AgencyCaseClient.__table__
    with get_engine(url).connect() as conn:
        return {r.enterprise_id: dict(r._mapping) for r in conn.execute(sa.select(t).where(t.c.case_id == case_id))}


def test_agency_of_reads_the_evidence_keys():
    assert ac.agency_of(F("VER-106", "E1", {"verifier_agency_id": "V1"})) == ("V1", "verifier")
    assert ac.agency_of(F("VER-002", "E1", {"agency_id": "V1"})) == ("V1", "verifier")
    assert ac.agency_of(F("CPY-105", "E1", {"agency_id": "L7", "role": "lab"}, sev="medium")) == ("L7", "lab")
    assert ac.agency_of(F("CPY-105", "E1", {"agency_id": "L7"}, sev="medium")) is None  # no role
    assert ac.agency_of(F("VER-106", "E1", {})) is None
    assert ac.agency_of(F("CC-101", "E1", {"agency_id": "V1"})) is None  # not an agency code


def test_risk_formula_bounds_and_monotone():
    assert ac.agency_risk({}, 10, 1e6)[0] == 0.0
    top, parts = ac.agency_risk({"conflict": 1.0}, ac.N_SAT, 1e6)
    assert top == 100.0 and parts == {"evidence": 1.0, "breadth": 1.0, "tonnes": 1.0}
    a = ac.agency_risk({"stamping": 0.63}, 2, 50_000)[0]
    assert a < ac.agency_risk({"stamping": 0.63}, 3, 50_000)[0]
    assert a < ac.agency_risk({"stamping": 0.63}, 2, 60_000)[0]
    assert a < ac.agency_risk({"stamping": 0.63, "digits": 0.27}, 2, 50_000)[0]
    assert 0 < a < 100


def test_derivation_from_stored_findings(store):
    out = night(store, "r1", NIGHT)
    cs = cases_of(store)
    assert set(cs) == {"AQ-2024-verifier-V1", "AQ-2024-verifier-V2", "AQ-2024-lab-L1", "AQ-2024-preparer-V2"}
    assert out["created"] == 4 and out["agency_cases"] == 4
    v1 = cs["AQ-2024-verifier-V1"]
    assert (v1.agency_id, v1.agency_role, v1.status, v1.n_clients) == ("V1", "verifier", "new", 2)
    assert v1.clients == "E1|E3" and v1.rule_codes == "VER-106"
    # the clients' own positive stakes: E1's month counted once (12,000), E3's over-report not added
    assert v1.tco2_at_stake == pytest.approx(12_000.0)
    assert v1.province_code == "11"  # the agency's registry province
    assert v1.agency_name.startswith("=HYPERLINK")
    assert "核查机构 V1" in v1.summary and "2 家客户企业" in v1.summary and "12,000 tCO₂" in v1.summary
    cl = clients_of(store, v1.case_id)
    assert cl["E1"]["own_rule_codes"] == "CC-101" and cl["E1"]["tco2_at_stake"] == pytest.approx(12_000)
    assert cl["E3"]["tco2_at_stake"] == 0.0 and cl["E3"]["city_name"] == "济南市"
    assert cl["E1"]["enterprise_case_id"] == "CQ-2024-E1"  # the client's own enterprise case
    v2 = cs["AQ-2024-verifier-V2"]  # a breach by the agency opens alone, graded for the agency (high)
    assert v2.rule_codes == "VER-003" and v2.clients == "E4" and v2.risk_score > 0
    l1 = cs["AQ-2024-lab-L1"]  # an engagement code at two clients; the isolated low slip is not counted
    assert l1.clients == "E2|E4" and l1.province_code == "15"  # no home province: ties go to the smaller code
    assert cs["AQ-2024-preparer-V2"].rule_codes == "CPY-105"
    assert sorted(c.rank for c in cs.values()) == [1, 2, 3, 4]
    order = sorted(cs.values(), key=lambda c: c.rank)
    assert [c.risk_score for c in order] == sorted((c.risk_score for c in order), reverse=True)
    # the enterprise cases are untouched by the agency's behaviour: E2 has only agency-coded findings
    # at medium / no material stake of its own from them


def test_rerun_changes_nothing_and_status_survives_rescoring(store):
    night(store, "r1", NIGHT)
    before = {k: (c.lock_version, c.risk_score, c.rank, c.updated_at, c.summary) for k, c in cases_of(store).items()}
    again = night(store, "r1", NIGHT)
    assert again["created"] == 0 and again["rescored"] == 0 and again["unchanged"] == 4
    assert {k: (c.lock_version, c.risk_score, c.rank, c.updated_at, c.summary) for k, c in cases_of(store).items()} == before
    # a reviewer triages V1's case; a later night with more evidence rescores it and keeps the status
    with session_scope(store) as s:
        s.get(AgencyCase, "AQ-2024-verifier-V1").status = "triaged"
    later = [*NIGHT, F("VER-106", "E4", {"verifier_agency_id": "V1"}, t=1_000),
             F("CC-101", "E4", t=30_000, period="2024-07")]
    out = night(store, "r2", later)
    assert out["rescored"] >= 1
    v1 = cases_of(store)["AQ-2024-verifier-V1"]
    assert v1.status == "triaged" and v1.clients == "E1|E3|E4" and v1.last_run_id == "r2"
    assert v1.tco2_at_stake == pytest.approx(42_000.0) and v1.risk_score > before["AQ-2024-verifier-V1"][1]
    assert set(clients_of(store, v1.case_id)) == {"E1", "E3", "E4"}
    # a night where V1's findings are gone (all provinces screened): rescored to nothing, status kept
    out = night(store, "r3", [f for f in later if f.rule_code != "VER-106"])
    v1 = cases_of(store)["AQ-2024-verifier-V1"]
    assert (v1.status, v1.risk_score, v1.clients, v1.n_clients) == ("triaged", 0.0, "", 0)
    assert clients_of(store, v1.case_id) == {}
    assert "当前无有效" in v1.summary


def test_summary_in_zh_and_en_from_one_phrasebook(store):
    """Each agency case carries the same facts in zh-CN (``summary``) and English (``summary_en``)."""
    night(store, "r1", NIGHT)
    cs = cases_of(store)
    v1 = cs["AQ-2024-verifier-V1"]
    assert v1.summary == ("2024年度：核查机构 V1 核查放行异常报告（VER-106），涉及 2 家客户企业，其中 2 家已有企业案件；"
                          "客户自身数据中的发现合计约 12,000 tCO₂。")
    assert v1.summary_en == ("2024: verifier V1: accepts anomalous reports (VER-106), 2 client enterprise(s), "
                             "2 of them with an enterprise case; the clients' own findings total about 12,000 tCO₂.")
    for c in cs.values():  # every case has both, and no Chinese is left in the English one
        assert c.summary and c.summary_en and not any("\u4e00" <= ch <= "\u9fff" for ch in c.summary_en)
    assert cs["AQ-2024-preparer-V2"].summary_en.startswith("2024: preparer V2: terminal-digit preference (CPY-105)")
    more = ac.agency_summary(2024, "lab", "L9", ["LAB-004", "LAB-005", "LAB-102", "LAB-103", "VER-001"],
                             {"qr_codes": 0.2, "throughput": 0.5}, 3, 0.0, 0, lang="en")
    assert more == ("2024: lab L9: implausible throughput, reports without QR codes (LAB-004, LAB-005, LAB-102, "
                    "LAB-103 etc.), 3 client enterprise(s); no quantifiable under-report in the clients' own data yet.")


def test_summary_en_survives_a_rerun_and_is_filled_for_older_rows(store):
    night(store, "r1", NIGHT)
    before = {k: (c.lock_version, c.updated_at, c.summary, c.summary_en) for k, c in cases_of(store).items()}
    again = night(store, "r1", NIGHT)
    assert again["unchanged"] == 4 and again["rescored"] == 0
    assert {k: (c.lock_version, c.updated_at, c.summary, c.summary_en) for k, c in cases_of(store).items()} == before
    # a case derived before migration 0005 has no English summary: the next night writes it, once
    with session_scope(store) as s:
        s.get(AgencyCase, "AQ-2024-lab-L1").summary_en = None
    out = night(store, "r1", NIGHT)
    assert out["rescored"] == 1 and out["unchanged"] == 3
    assert cases_of(store)["AQ-2024-lab-L1"].summary_en == before["AQ-2024-lab-L1"][3]
    # no longer supported by the night's findings: rescored to nothing in both languages
    night(store, "r2", [f for f in NIGHT if f.rule_code != "VER-106"])
    v1 = cases_of(store)["AQ-2024-verifier-V1"]
    assert "当前无有效" in v1.summary
    assert v1.summary_en == "2024: verifier V1: no live finding about the agency (all suppressed or no longer seen)."


def test_suppressed_finding_does_not_count(store):
    from carbonqa.store.models import Suppression

    with session_scope(store) as s:
        s.add(Suppression(rule_code="VER-003", enterprise_id="E4", reason="已核实为整改后", approved_by="nat",
                          approved_at=dt.datetime(2020, 1, 1)))
    night(store, "r1", NIGHT)
    assert "AQ-2024-verifier-V2" not in cases_of(store)


def test_export_columns_order_and_formula_neutralisation(store, tmp_path: Path):
    night(store, "r1", NIGHT)
    with session_scope(store) as s:  # a summary beginning with a formula prefix is neutralised
        s.get(AgencyCase, "AQ-2024-lab-L1").summary = "=cmd|' /C calc'!A0"
    out = tmp_path / "ag.csv"
    assert ac.export_agency_cases(out, "csv", store) == 4
    df = pl.read_csv(out, infer_schema_length=0)
    assert tuple(df.columns) == ac.AGENCY_EXPORT_COLUMNS == (
        "case_id", "agency_id", "agency_role", "province_code", "year", "risk_score", "rank", "status",
        "rule_codes", "clients", "tco2_at_stake", "summary")
    assert [int(r) for r in df["rank"]] == [1, 2, 3, 4]
    assert df.filter(pl.col("case_id") == "AQ-2024-lab-L1")["summary"][0] == "'=cmd|' /C calc'!A0"
    assert set(df["agency_role"]) <= set(ac.AGENCY_ROLES)
    x = tmp_path / "ag.xlsx"
    assert ac.export_agency_cases(x, "xlsx", store) == 4
    assert tuple(pl.read_excel(x, sheet_name="agency_cases").columns) == ac.AGENCY_EXPORT_COLUMNS
    with pytest.raises(ValueError):
        ac.export_agency_cases(tmp_path / "a.json", "json", store)


def test_cli_export_subject_agency_and_enterprise_default(store, tmp_path: Path):
    from typer.testing import CliRunner

    from carbonqa import contract
    from carbonqa.cli import app

    night(store, "r1", NIGHT)
    r = CliRunner().invoke(app, ["cases", "export", "--subject", "agency", "--format", "csv", "--out", str(tmp_path / "a.csv")])
    assert r.exit_code == 0, r.output
    assert tuple(pl.read_csv(tmp_path / "a.csv").columns) == ac.AGENCY_EXPORT_COLUMNS
    r = CliRunner().invoke(app, ["cases", "export", "--format", "csv", "--out", str(tmp_path / "e.csv")])
    assert r.exit_code == 0, r.output
    assert tuple(pl.read_csv(tmp_path / "e.csv").columns) == contract.CASE_EXPORT_COLUMNS_V11
    r = CliRunner().invoke(app, ["cases", "export", "--subject", "agencies", "--out", str(tmp_path / "x.csv")])
    assert r.exit_code != 0


def test_scoping_by_client_jurisdiction(store):
    from carbonqa.queries import agency_queue

    night(store, "r1", NIGHT)
    cases_nat, clients_nat = agency_queue(Scope("nat", "national"), store)
    assert cases_nat.height == 4 and clients_nat.height == 6
    cases_nm, clients_nm = agency_queue(Scope("nm", "provincial", "15"), store)
    # Inner Mongolia: V1 (client E1), L1 (client E2), V2 as preparer (client E2); not V2 as verifier (E4 in 37)
    assert set(cases_nm["case_id"]) == {"AQ-2024-verifier-V1", "AQ-2024-lab-L1", "AQ-2024-preparer-V2"}
    assert set(clients_nm["enterprise_id"]) == {"E1", "E2"}  # only in-scope clients
    assert cases_nm.filter(pl.col("case_id") == "AQ-2024-verifier-V1")["clients_in_scope"][0] == "E1"
    cases_bt, clients_bt = agency_queue(Scope("baotou", "municipal", "15", "包头市"), store)
    assert list(cases_bt["case_id"]) == ["AQ-2024-verifier-V1"] and list(clients_bt["enterprise_id"]) == ["E1"]
    # the scoped export cuts the clients too; ranks stay national
    df = ac.agency_case_frame(store, Scope("sd", "provincial", "37"))
    assert set(df["case_id"]) == {"AQ-2024-verifier-V1", "AQ-2024-verifier-V2", "AQ-2024-lab-L1"}
    assert df.filter(pl.col("case_id") == "AQ-2024-verifier-V1")["clients"][0] == "E3"
    assert cases_nat.filter(pl.col("case_id") == "AQ-2024-verifier-V1")["rank"][0] == \
        df.filter(pl.col("case_id") == "AQ-2024-verifier-V1")["rank"][0]
    # the queue carries names as submitted (rendered as text by the dashboard)
    assert cases_nat.filter(pl.col("agency_id") == "V1")["agency_name"][0].startswith("=HYPERLINK")


def test_status_vocabulary_is_the_enterprise_workflow(store):
    from carbonqa import contract

    night(store, "r1", NIGHT)
    assert {c.status for c in cases_of(store).values()} <= set(contract.CASE_STATUSES)


def test_pipeline_stage_updates_and_counts_agency_cases(store):
    from carbonqa import pipeline
    from carbonqa.store.models import ScreeningRun

    store_findings(NIGHT, "night-1", store)
    out = pipeline.update_cases("night-1", [2024], url=store)
    assert out["agency_cases"] == 4 and out["created"] >= 1  # enterprise counts unchanged in shape
    with session_scope(store) as s:
        counts = s.get(ScreeningRun, "night-1").counts
    assert counts["agency_cases"]["created"] == 4 and counts["cases"]["agency_cases"] == 4
    again = pipeline.update_cases("night-1", [2024], url=store)
    assert again["agency_cases"] == 4
    with session_scope(store) as s:
        assert s.get(ScreeningRun, "night-1").counts["agency_cases"] == {
            "created": 0, "rescored": 0, "unchanged": 4, "agency_cases": 4}


def test_clients_own_evidence_from_another_year_when_the_case_year_has_none(store):
    # a screening of 2024 sees the verification of 2023: the verifier's case is 2023, its client's own
    # findings are on 2024 (the year with the client's largest own stake counts)
    ver = Finding(rule_code="VER-106", family="verifier", severity="high", enterprise_id="E1", year=2023,
                  province_code="15", score=0.9, evidence={"verifier_agency_id": "V1"}, detail_key="V1")
    own = [F("CC-101", "E1", t=12_000, period="2024-03"), F("CC-101", "E1", t=8_000, period="2024-04")]
    store_findings([ver, *own], "r1", store)
    update_cases("r1", [2023, 2024], url=store)
    out = ac.update_agency_cases("r1", [2023, 2024], url=store)
    assert out["created"] == 1
    v1 = cases_of(store)["AQ-2023-verifier-V1"]
    assert v1.tco2_at_stake == pytest.approx(20_000.0) and v1.clients == "E1"
    cl = clients_of(store, v1.case_id)["E1"]
    assert cl["own_rule_codes"] == "CC-101" and cl["enterprise_case_id"] == "CQ-2024-E1"
