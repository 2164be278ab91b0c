"""Cases: idempotent findings, stable cases across nights, workflow, jurisdiction, locking, export."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from carbonqa import cases, contract
from carbonqa.cases import (
    AssignmentError,
    InvalidTransition,
    PermissionDenied,
    StaleCaseError,
    allowed_transitions,
    case_id_for,
    store_findings,
    update_cases,
)
from carbonqa.findings import Finding
from carbonqa.jurisdiction import Scope
from carbonqa.store import get_engine, raw_table, session_scope
from carbonqa.store.models import Case, CaseEvent, CaseFinding, FindingRow, InspectionLabel, User

ENTS = [
    ("E1", "15", "包头市"),
    ("E2", "15", "呼和浩特市"),
    ("E3", "37", "济南市"),
]


def seed(url: str) -> None:
    """Registry rows (enterprises, one annual report) and one user per tier."""
    rows = [
        {"enterprise_id": e, "enterprise_name": f"{e} 电厂", "province_code": p, "city_name": c, "sector": "power",
         "is_captive": False, "record_version": 1, "bundle_id": "seed", "row_sha256": "x" * 64,
         "ingested_at": dt.datetime(2025, 1, 1)}
        for e, p, c in ENTS
    ]
    with get_engine(url).begin() as conn:
        conn.execute(sa.insert(raw_table("enterprises")), rows)
        conn.execute(sa.insert(raw_table("annual_reports")), [{
            "report_id": "AR-E1-2024", "enterprise_id": "E1", "year": 2024, "reported_emissions_tco2": 2_000_000.0,
            "record_version": 1, "bundle_id": "seed", "row_sha256": "y" * 64, "ingested_at": dt.datetime(2025, 1, 1)}])
    with session_scope(url) as s:
        for name, role, prov, city in [
            ("nat", "national", None, None),
            ("nm", "provincial", "15", None),
            ("sd", "provincial", "37", None),
            ("baotou", "municipal", "15", "包头市"),
            ("hohhot", "municipal", "15", "呼和浩特市"),
            ("jinan", "municipal", "37", "济南市"),
            ("aud", "auditor", None, None),
        ]:
            s.add(User(username=name, password_hash="x", role=role, province_code=prov, city_name=city))


def user(url: str, name: str) -> User:
    with session_scope(url) as s:
        return s.scalars(sa.select(User).where(User.username == name)).one()


def F(ent="E1", code="CC-101", family="carbon_content", period="2024-03", unit=None, t=5_000.0, sev="high", **kw):  # noqa: N802
    prov = next(p for e, p, _ in ENTS if e == ent)
    return Finding(rule_code=code, family=family, severity=sev, enterprise_id=ent, unit_id=unit or f"{ent}-U1",
                   year=2024, period=period, province_code=prov, message_zh="单位热值含碳量偏低", score=0.9,
                   tco2_at_stake=t, **kw)


NIGHT1 = [
    F("E1", t=12_000), F("E1", code="CPY-001", family="copied_values", period="2024-04", t=0),
    F("E2", t=1_500, sev="medium"),  # medium with a material stake (≥ 1,000 t): opens a case
    F("E3", code="TEL-101", family="telemetry", t=40_000),
]


def snapshot(url: str) -> dict:
    with session_scope(url) as s:
        cs = {c.case_id: (c.lock_version, c.risk_score, c.rank, c.status, c.summary, c.updated_at) for c in s.scalars(sa.select(Case))}
        n_ev = s.execute(sa.select(sa.func.count()).select_from(CaseEvent)).scalar_one()
        n_f = s.execute(sa.select(sa.func.count()).select_from(FindingRow)).scalar_one()
        n_cf = s.execute(sa.select(sa.func.count()).select_from(CaseFinding)).scalar_one()
    return {"cases": cs, "events": n_ev, "findings": n_f, "case_findings": n_cf}


@pytest.fixture
def store(db_url: str) -> str:
    seed(db_url)
    return db_url


def night(url: str, run_id: str, findings: list[Finding]) -> dict:
    store_findings(findings, run_id, url)
    return update_cases(run_id, [2024], url=url)


# ---- findings and cases -----------------------------------------------------------------------------
def test_store_findings_is_idempotent_and_rows_immutable(store):
    assert store_findings(NIGHT1, "r1", store) == {"new": 4, "seen": 0, "total": 4}
    assert store_findings(NIGHT1 + NIGHT1[:1], "r2", store) == {"new": 0, "seen": 4, "total": 4}
    with session_scope(store) as s:
        rows = list(s.scalars(sa.select(FindingRow)))
    assert {r.first_run_id for r in rows} == {"r1"} and {r.last_run_id for r in rows} == {"r2"}
    assert {r.finding_id for r in rows} == {f.id for f in NIGHT1}


def test_cases_created_stable_ids_ranks_and_summary(store):
    out = night(store, "r1", NIGHT1)
    assert out["created"] == 3 and out["cases"] == 3
    with session_scope(store) as s:
        cs = {c.case_id: c for c in s.scalars(sa.select(Case))}
    assert set(cs) == {case_id_for(e, 2024) for e, _, _ in ENTS} == {"CQ-2024-E1", "CQ-2024-E2", "CQ-2024-E3"}
    ranked = sorted(cs.values(), key=lambda c: c.rank)
    assert [c.rank for c in ranked] == [1, 2, 3]
    assert [c.risk_score for c in ranked] == sorted((c.risk_score for c in ranked), reverse=True)
    # evidence first: two independent facts on 12 kt (carbon content + copied values) outrank one fact on
    # 40 kt, which outranks one medium finding on an immaterial-looking 1.5 kt
    assert [c.case_id for c in ranked] == ["CQ-2024-E1", "CQ-2024-E3", "CQ-2024-E2"]
    e1 = cs["CQ-2024-E1"]
    assert e1.city_name == "包头市" and e1.unit_id == "E1-U1" and e1.status == "new"
    assert e1.families == "carbon_content|copied_values" and e1.rule_codes == "CC-101|CPY-001"
    assert e1.summary.startswith("2024年度：") and "12,000 tCO₂" in e1.summary and "月度数据复制" in e1.summary
    assert e1.score_reasons and all("zh" in r for r in e1.score_reasons)


def test_same_night_twice_changes_nothing(store):
    night(store, "r1", NIGHT1)
    before = snapshot(store)
    again = night(store, "r1", NIGHT1)  # Airflow retry of the same run
    assert snapshot(store) == before and again["created"] == again["rescored"] == again["attached"] == 0
    night(store, "r1-rerun", NIGHT1)  # the same night re-run under another run id
    assert snapshot(store) == before


def test_later_night_attaches_to_existing_cases_and_keeps_reviewers_work(store):
    night(store, "r1", NIGHT1)
    nm, baotou = user(store, "nm"), user(store, "baotou")
    c = cases.transition("CQ-2024-E1", "triaged", nm, 1, note="先看含碳量")
    c = cases.assign("CQ-2024-E1", "baotou", nm, c.lock_version)
    cases.add_note("CQ-2024-E1", "已约企业 12 月 3 日现场检查", baotou)
    c = cases.transition("CQ-2024-E1", "inspection_scheduled", baotou, c.lock_version)
    before = snapshot(store)

    night2 = NIGHT1 + [F("E1", period="2024-05", t=9_000)]  # one new month of data
    out = night(store, "r2", night2)
    assert out["created"] == 0 and out["attached"] == 1 and out["rescored"] == 1
    after = snapshot(store)
    assert set(after["cases"]) == set(before["cases"])
    with session_scope(store) as s:
        c1 = s.get(Case, "CQ-2024-E1")
        evs = list(s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == "CQ-2024-E1").order_by(CaseEvent.event_id)))
        n_att = s.execute(sa.select(sa.func.count()).select_from(CaseFinding).where(CaseFinding.case_id == "CQ-2024-E1")).scalar_one()
    assert c1.status == "inspection_scheduled" and c1.assignee_user_id == baotou.user_id
    assert c1.tco2_at_stake == 21_000 and n_att == 3
    assert c1.risk_score > before["cases"]["CQ-2024-E1"][1]
    actions = [e.action for e in evs]
    assert actions.count("note") == 1 and "rescored" in actions and "findings" in actions
    assert [e.note for e in evs if e.action == "note"] == ["已约企业 12 月 3 日现场检查"]
    # the other cases did not change
    for cid in ("CQ-2024-E2", "CQ-2024-E3"):
        assert after["cases"][cid][:2] == before["cases"][cid][:2]


def test_findings_no_longer_seen_stop_counting(store):
    night(store, "r1", NIGHT1)
    night(store, "r2", [f for f in NIGHT1 if f.enterprise_id != "E2"] + [F("E2", code="CMP-001", family="completeness", t=0, sev="low")])
    with session_scope(store) as s:
        c2 = s.get(Case, "CQ-2024-E2")
    assert c2.families == "completeness" and c2.tco2_at_stake == 0


def test_tips_attach_to_the_enterprise_case_and_raise_priority(store):
    night(store, "r1", NIGHT1)
    with session_scope(store) as s:
        s0 = s.get(Case, "CQ-2024-E2").risk_score
    tips = pl.DataFrame({"tip_id": ["T1", "T2"], "enterprise_id": ["E2", None], "received_date": [dt.date(2025, 2, 1)] * 2,
                         "channel": ["hotline"] * 2, "category": ["煤样造假"] * 2, "summary": ["煤样掺假", "匿名"],
                         "province_code": ["15", None]})
    from checks.tips import tip_findings

    tf = tip_findings(tips, 2024)
    assert len(tf) == 1 and tf[0].rule_code == "TIP-001" and tf[0].enterprise_id == "E2"
    night(store, "r2", NIGHT1 + tf)
    with session_scope(store) as s:
        c2 = s.get(Case, "CQ-2024-E2")
    assert c2.risk_score > s0 and "tip" in c2.families and "投诉举报" in c2.summary


# ---- case-opening policy ---------------------------------------------------------------------------------
def test_opening_reason_policy_table():
    hi = F("E1", sev="high", t=0)
    assert cases.opening_reason([hi]) == "severity:CC-101"  # a breach in itself, whatever the tonnes
    assert cases.opening_reason([F("E1", sev="critical", code="VER-002", family="verifier", t=0)]) == "severity:VER-002"
    assert cases.opening_reason([F("E1", sev="medium", t=999)]) is None  # below the Beijing 1,000 t
    assert cases.opening_reason([F("E1", sev="medium", t=1_000)]) == "material:1000t"
    # medium stakes add up over distinct unit-months, but one unit-month counts once (de-duplicated)
    two = [F("E1", sev="medium", t=600, period="2024-03"), F("E1", sev="medium", t=600, period="2024-04")]
    assert cases.opening_reason(two) == "material:1200t"
    same = [F("E1", sev="medium", t=600), F("E1", sev="medium", code="CC-003", t=600)]
    assert cases.opening_reason(same) is None
    # the EU relative threshold (5 % of reported emissions) binds a small emitter first
    assert cases.opening_reason([F("E1", sev="medium", t=600)], reported_emissions_t=10_000) == "material:600t"
    assert cases.opening_reason([F("E1", sev="medium", t=600)], reported_emissions_t=2_000_000) is None
    # low never opens, whatever the tonnes; a suppressed (info) high opens nothing
    assert cases.opening_reason([F("E1", sev="low", t=90_000)]) is None
    assert cases.opening_reason([F("E1", sev="info", t=90_000)]) is None
    tip = F("E1", code="TIP-001", family="tip", sev="medium", t=0, period=None)
    assert cases.opening_reason([tip]) is None  # an uncorroborated complaint alone
    assert cases.opening_reason([tip, F("E1", sev="medium", t=10)]) == "tip"  # corroborated, however small
    assert cases.opening_reason([tip, F("E1", sev="low", t=10)]) is None  # a low finding is no suspicion
    assert cases.opening_reason([tip, F("E1", sev="info", t=10)]) is None
    # an efficiency above the unit's peers (ACC-101, low: information alone) is the trace hidden coal leaves:
    # it corroborates a complaint — unless its code fires on too many plants that night to be evidence
    eff = F("E1", code="ACC-101", family="accounting", sev="low", t=20_000, period=None)
    assert cases.opening_reason([eff]) is None
    assert cases.opening_reason([tip, eff]) == "tip"
    assert cases.opening_reason([tip, eff], reliability={("ACC-101", "low"): 0.2}) is None
    assert cases.opens_case([hi]) and not cases.opens_case([])


def test_low_or_immaterial_findings_open_no_case_but_attach_to_an_open_one(store):
    low = [F("E2", code="LAB-004", family="lab_forensics", sev="low", t=50_000),
           F("E3", sev="medium", t=400)]
    out = night(store, "r1", NIGHT1[:2] + low)
    assert out["created"] == 1  # E1 only: E2's low finding and E3's immaterial medium open nothing
    with session_scope(store) as s:
        assert {c.case_id for c in s.scalars(sa.select(Case))} == {"CQ-2024-E1"}
        ev = s.scalars(sa.select(CaseEvent).where(CaseEvent.action == "created")).one()
    assert ev.after["opened_because"] == "severity:CC-101"
    # a low finding of an enterprise that has a case attaches and counts for its score
    out = night(store, "r2", NIGHT1[:2] + low + [F("E1", code="LAB-004", family="lab_forensics", sev="low", t=50)])
    assert out["created"] == 0 and out["attached"] == 1
    with session_scope(store) as s:
        c1 = s.get(Case, "CQ-2024-E1")
    assert "LAB-004" in c1.rule_codes and "lab_forensics" in c1.families
    # a complaint with only E2's low finding is not corroborated; one with E3's immaterial medium is
    tip = F("E2", code="TIP-001", family="tip", sev="medium", t=0, period=None, detail_key="T9")
    out = night(store, "r3", NIGHT1[:2] + low + [tip])
    assert out["created"] == 0
    tip3 = F("E3", code="TIP-001", family="tip", sev="medium", t=0, period=None, detail_key="T10")
    out = night(store, "r4", NIGHT1[:2] + low + [tip, tip3])
    with session_scope(store) as s:
        assert s.get(Case, "CQ-2024-E2") is None
        c3 = s.get(Case, "CQ-2024-E3")
        ev = s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == "CQ-2024-E3", CaseEvent.action == "created")).one()
    assert out["created"] == 1 and c3 is not None and ev.after["opened_because"] == "tip"
    assert "TIP-001" in c3.rule_codes.split("|")


def test_policy_never_closes_a_case_and_keeps_reviewers_work(store):
    night(store, "r1", NIGHT1)
    nm, baotou = user(store, "nm"), user(store, "baotou")
    c = cases.transition("CQ-2024-E1", "triaged", nm, 1, note="先看含碳量")
    c = cases.assign("CQ-2024-E1", "baotou", nm, c.lock_version)
    cases.add_note("CQ-2024-E1", "已约企业现场检查", baotou)
    # next night E1 only carries a low finding (the data were corrected): below the opening bar
    out = night(store, "r2", [F("E1", code="CMP-002", family="completeness", sev="low", t=0)] + NIGHT1[2:])
    assert out["created"] == 0
    with session_scope(store) as s:
        c1 = s.get(Case, "CQ-2024-E1")
        notes = [e.note for e in s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == "CQ-2024-E1",
                                                                     CaseEvent.action == "note"))]
        n_att = s.execute(sa.select(sa.func.count()).select_from(CaseFinding)
                          .where(CaseFinding.case_id == "CQ-2024-E1")).scalar_one()
    assert c1.status == "assigned" and c1.assignee_user_id == baotou.user_id and notes == ["已约企业现场检查"]
    assert c1.rule_codes == "CMP-002" and c1.tco2_at_stake == 0 and n_att == 3  # history kept, rescored
    # and a night where E1 has nothing at all still keeps the case
    night(store, "r3", NIGHT1[2:])
    with session_scope(store) as s:
        c1 = s.get(Case, "CQ-2024-E1")
    assert c1.status == "assigned" and c1.risk_score == 0


# ---- workflow ------------------------------------------------------------------------------------------
def test_transition_table():
    assert allowed_transitions("new", "provincial") == ["triaged", "dismissed", "suppressed"]
    assert allowed_transitions("new", "municipal") == []
    assert allowed_transitions("assigned", "municipal") == ["inspection_scheduled"]
    assert allowed_transitions("inspection_scheduled", "municipal") == ["assigned", "confirmed", "dismissed"]
    assert allowed_transitions("dismissed", "provincial") == ["triaged"]
    assert allowed_transitions("dismissed", "municipal") == []
    assert allowed_transitions("confirmed", "national") == ["triaged"]
    for st in contract.CASE_STATUSES:
        assert allowed_transitions(st, "auditor") == []
    with pytest.raises(ValueError):
        allowed_transitions("closed", "national")


def test_allowed_and_forbidden_moves(store):
    night(store, "r1", NIGHT1)
    nm, baotou, hohhot, aud, sd = (user(store, n) for n in ("nm", "baotou", "hohhot", "aud", "sd"))
    cid = "CQ-2024-E1"
    with pytest.raises(InvalidTransition):
        cases.transition(cid, "triaged", baotou, 1)  # municipal cannot triage
    with pytest.raises(InvalidTransition):
        cases.transition(cid, "inspection_scheduled", nm, 1)  # not a move from new
    with pytest.raises(PermissionDenied):
        cases.transition(cid, "triaged", aud, 1)  # read-only
    with pytest.raises(PermissionDenied):
        cases.transition(cid, "triaged", sd, 1)  # another province
    with pytest.raises(PermissionDenied):
        cases.add_note(cid, "x", hohhot)  # another city
    with pytest.raises(InvalidTransition):
        cases.transition(cid, "assigned", nm, 1)  # needs assign()
    c = cases.transition(cid, "triaged", nm, 1)
    c = cases.assign(cid, "baotou", nm, c.lock_version)
    assert c.status == "assigned"
    with pytest.raises(PermissionDenied):
        cases.transition(cid, "inspection_scheduled", hohhot, c.lock_version)
    c = cases.transition(cid, "inspection_scheduled", baotou, c.lock_version)
    with pytest.raises(InvalidTransition):
        cases.record_outcome(cid, "dismissed", baotou, c.lock_version)  # a dismissal needs a reason
    c = cases.record_outcome(cid, "confirmed", baotou, c.lock_version, family="carbon_content", pattern="moisture_inflation")
    assert c.status == "confirmed" and c.outcome_pattern == "carbon_content:moisture_inflation"
    with pytest.raises(InvalidTransition):
        cases.transition(cid, "triaged", baotou, c.lock_version)  # only national/provincial reopen
    c = cases.transition(cid, "triaged", nm, c.lock_version, note="复核")
    assert c.status == "triaged" and c.assignee_user_id is None and c.outcome_pattern is None
    c = cases.transition(cid, "dismissed", nm, c.lock_version, note="煤源切换，已核实")
    assert c.status == "dismissed" and c.dismissal_reason == "煤源切换，已核实"
    with session_scope(store) as s:
        labels = list(s.scalars(sa.select(InspectionLabel).order_by(InspectionLabel.label_id)))
        evs = list(s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.actor != "system:r1").order_by(CaseEvent.event_id)))
    assert [(lb.outcome, lb.family, lb.recorded_by) for lb in labels] == [("confirmed", "carbon_content", "baotou"), ("dismissed", None, "nm")]
    assert labels[0].rule_codes == "CC-101|CPY-001" and labels[1].reason == "煤源切换，已核实"
    assert [(e.actor, e.action, e.before["status"], e.after["status"]) for e in evs] == [
        ("nm", "status", "new", "triaged"), ("nm", "assign", "triaged", "assigned"),
        ("baotou", "status", "assigned", "inspection_scheduled"), ("baotou", "outcome", "inspection_scheduled", "confirmed"),
        ("nm", "status", "confirmed", "triaged"), ("nm", "outcome", "triaged", "dismissed"),
    ]


def test_assignment_jurisdiction(store):
    night(store, "r1", NIGHT1)
    nm, nat = user(store, "nm"), user(store, "nat")
    c = cases.transition("CQ-2024-E1", "triaged", nm, 1)
    for bad in ("hohhot", "jinan", "nm", "aud", "nobody"):  # other city, other province, not municipal, auditor, unknown
        with pytest.raises(AssignmentError):
            cases.assign("CQ-2024-E1", bad, nm, c.lock_version)
    with pytest.raises(AssignmentError):
        cases.assign("CQ-2024-E1", "sd", nat, c.lock_version)  # national, but assignee's province differs
    c = cases.assign("CQ-2024-E1", "nm", nat, c.lock_version)  # national may hand it to the province
    c = cases.assign("CQ-2024-E1", "baotou", nm, c.lock_version)  # province hands it to the city
    assert c.status == "assigned"
    with pytest.raises(InvalidTransition):
        cases.assign("CQ-2024-E2", "hohhot", nm, 1)  # not triaged yet


def test_stale_version_is_refused_and_nothing_written(store):
    night(store, "r1", NIGHT1)
    nm, nat = user(store, "nm"), user(store, "nat")
    cases.transition("CQ-2024-E1", "triaged", nm, 1)
    n = snapshot(store)["events"]
    with pytest.raises(StaleCaseError, match="reload"):
        cases.transition("CQ-2024-E1", "suppressed", nat, 1)
    assert snapshot(store)["events"] == n
    assert cases.get_case("CQ-2024-E1", nat).status == "triaged"


@pytest.mark.postgres
def test_concurrent_reviewers_never_lose_an_update(pg_url, monkeypatch):
    """Two threads, two real sessions, both read version 1; exactly one write lands, the other is told to reload."""
    seed(pg_url)
    night(pg_url, "r1", NIGHT1)
    nm, nat = user(pg_url, "nm"), user(pg_url, "nat")
    barrier = threading.Barrier(2, timeout=20)
    real_load = cases._load_case

    def load_then_wait(s, case_id):
        case = real_load(s, case_id)
        barrier.wait()  # both sessions hold version 1 before either writes
        return case

    monkeypatch.setattr(cases.workflow, "_load_case", load_then_wait)  # where _mutate looks it up
    results: dict[str, object] = {}

    def act(name, fn):
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001
            results[name] = exc

    t1 = threading.Thread(target=act, args=("nm", lambda: cases.transition("CQ-2024-E1", "triaged", nm, 1, note="A")))
    t2 = threading.Thread(target=act, args=("nat", lambda: cases.transition("CQ-2024-E1", "suppressed", nat, 1, note="B")))
    t1.start(), t2.start()
    t1.join(30), t2.join(30)
    errs = [r for r in results.values() if isinstance(r, Exception)]
    oks = [r for r in results.values() if isinstance(r, Case)]
    assert len(oks) == 1 and len(errs) == 1 and isinstance(errs[0], StaleCaseError), results
    assert errs[0].current is None  # caught by the UPDATE ... WHERE lock_version = 1, not the pre-check
    monkeypatch.setattr(cases.workflow, "_load_case", real_load)
    final = cases.get_case("CQ-2024-E1", nat)
    assert final.lock_version == 2 and final.status == oks[0].status
    with session_scope(pg_url) as s:
        evs = list(s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == "CQ-2024-E1", CaseEvent.action == "status")))
    assert len(evs) == 1 and evs[0].after["status"] == final.status
    # the loser reloads and succeeds
    nxt = "assigned" if final.status == "triaged" else "triaged"
    if nxt == "assigned":
        cases.assign("CQ-2024-E1", "baotou", nm, final.lock_version)
    else:
        cases.transition("CQ-2024-E1", "triaged", nm, final.lock_version)
    assert cases.get_case("CQ-2024-E1", nat).lock_version == 3


# ---- export --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_columns_order_and_scope(store, tmp_path: Path, fmt):
    night(store, "r1", NIGHT1)
    out = tmp_path / f"cases.{fmt}"
    assert cases.export_cases(out, fmt=fmt, url=store) == 3
    df = pl.read_csv(out) if fmt == "csv" else pl.read_excel(out)
    assert tuple(df.columns) == contract.CASE_EXPORT_COLUMNS_V11
    assert df["rank"].to_list() == [1, 2, 3] and df["case_id"][0] == "CQ-2024-E1"
    # v1.1: tonnes at the 2024 allowance price, and the probability an inspection confirms
    assert df["cny_at_stake"].to_list() == [round(t * 95.84) for t in df["tco2_at_stake"].to_list()]
    assert all(0 < p < 1 for p in df["p_confirm"].to_list())
    baotou = Scope.of(user(store, "baotou"))
    assert cases.export_cases(out, fmt=fmt, url=store, scope=baotou) == 1
    df = pl.read_csv(out) if fmt == "csv" else pl.read_excel(out)
    assert tuple(df.columns) == contract.CASE_EXPORT_COLUMNS_V11
    assert df["case_id"].to_list() == ["CQ-2024-E1"] and df["city_name"].to_list() == ["包头市"]
    nm = Scope.of(user(store, "nm"))
    assert cases.export_cases(out, fmt=fmt, url=store, scope=nm) == 2
    with pytest.raises(ValueError):
        cases.export_cases(out, fmt="pdf", url=store)


def test_suppression_approved_later_lowers_the_score_rows_stay_immutable(store):
    from carbonqa.store.models import Suppression

    night(store, "r1", NIGHT1)
    with session_scope(store) as s:
        before = s.get(Case, "CQ-2024-E1")
        s.add(Suppression(rule_code="CC-101", enterprise_id="E1", period_from="2024-01", period_to="2024-06",
                          reason="煤源切换，已现场核实", approved_by="nat"))
    night(store, "r2", NIGHT1)
    with session_scope(store) as s:
        after = s.get(Case, "CQ-2024-E1")
        row = s.get(FindingRow, NIGHT1[0].id)
    assert row.severity == "high"  # the stored finding is untouched
    assert after.risk_score < before.risk_score and after.families == "copied_values" and after.tco2_at_stake == 0


@pytest.mark.postgres
def test_rescoring_while_a_reviewer_acts_loses_nothing(pg_url, monkeypatch):
    """A reviewer commits between the night's read and write: the night redoes the year, both changes stay."""
    seed(pg_url)
    night(pg_url, "r1", NIGHT1)
    nm = user(pg_url, "nm")
    real = cases.update.score_case
    fired = []

    def score_and_interfere(fs, reported=None, calibration=None, *more):
        if not fired:
            fired.append(1)
            cases.transition("CQ-2024-E1", "triaged", nm, 1, note="meanwhile")  # another session commits
        return real(fs, reported, calibration, *more)

    monkeypatch.setattr(cases.update, "score_case", score_and_interfere)  # where _update_year looks it up
    out = night(pg_url, "r2", NIGHT1 + [F("E1", period="2024-05", t=9_000)])
    assert out["rescored"] == 1 and out["attached"] == 1
    c = cases.get_case("CQ-2024-E1", user(pg_url, "nat"))
    assert c.status == "triaged" and c.tco2_at_stake == 21_000 and c.lock_version == 3


# ---- learning from inspections ------------------------------------------------------------------------
def add_history(url: str, history: dict[str, tuple[int, int]], year: int = 2023) -> None:
    """Past inspected cases: ``{rule_code: (confirmed, dismissed)}``, one case (and label) each."""
    with session_scope(url) as s:
        i = 0
        for code, (n_conf, n_dis) in history.items():
            for outcome in ["confirmed"] * n_conf + ["dismissed"] * n_dis:
                i += 1
                ent = f"H{len(history)}-{code}-{i}"
                cid = case_id_for(ent, year)
                s.add(Case(case_id=cid, enterprise_id=ent, year=year, province_code="15", status=outcome, rule_codes=code))
                s.flush()
                s.add(InspectionLabel(case_id=cid, enterprise_id=ent, year=year, outcome=outcome, rule_codes=code,
                                      reason=None if outcome == "confirmed" else "数据无误", recorded_by="baotou"))


EQUAL = [F("E1", code="CC-101", t=5_000), F("E2", code="CC-001", t=5_000)]  # otherwise equal, other codes


def ranks(url: str, year: int = 2024) -> dict[str, int]:
    with session_scope(url) as s:
        return {c.case_id: c.rank for c in s.scalars(sa.select(Case).where(Case.year == year))}


def test_no_labels_scores_exactly_as_before(store):
    from carbonqa.regulation import allowance_price
    from carbonqa.scoring import score_case

    assert cases.load_calibration(store) == {}
    night(store, "r1", NIGHT1)
    with session_scope(store) as s:
        stored = {c.enterprise_id: (c.risk_score, c.score_reasons) for c in s.scalars(sa.select(Case))}
    reported = {"E1": 2_000_000.0}
    for ent in ("E1", "E2", "E3"):
        cs = score_case([f for f in NIGHT1 if f.enterprise_id == ent], reported.get(ent), None, None,
                        allowance_price(2024).cny_per_t)
        assert stored[ent] == (cs.risk_score, [dict(r) for r in cs.reasons])
        assert all(r["code"] != "inspections" for r in stored[ent][1])
    # labels about codes no case carries change nothing: no write, no event
    before = snapshot(store)
    add_history(store, {"ZZ-001": (8, 2), "ZZ-002": (1, 9)})
    night(store, "r2", NIGHT1)
    after = snapshot(store)
    assert {k: v for k, v in after["cases"].items() if "-2024-" in k} == before["cases"] and after["events"] == before["events"]


def test_inspection_labels_rank_a_confirmed_code_above_a_dismissed_one(store):
    night(store, "r1", EQUAL)
    r = ranks(store)
    assert r["CQ-2024-E1"] < r["CQ-2024-E2"]  # equal scores and tonnes: case id breaks the tie
    add_history(store, {"CC-001": (8, 2), "CC-101": (1, 9), "TEL-101": (5, 5)})
    out = night(store, "r2", EQUAL)
    assert out["rescored"] == 2 and out["created"] == 0
    r = ranks(store)
    assert r["CQ-2024-E2"] < r["CQ-2024-E1"]  # inspectors confirm CC-001, dismiss CC-101
    with session_scope(store) as s:
        c1, c2 = s.get(Case, "CQ-2024-E1"), s.get(Case, "CQ-2024-E2")
        assert c2.risk_score > c1.risk_score
        why1 = next(x for x in c1.score_reasons if x["code"] == "inspections")
        why2 = next(x for x in c2.score_reasons if x["code"] == "inspections")
        evs = list(s.scalars(sa.select(CaseEvent).where(CaseEvent.action == "rescored")))
    assert "CC-101 历史核实率 1/10" in why1["zh"] and "下调" in why1["zh"] and why1["points"] < 0
    assert "CC-001 历史核实率 8/10" in why2["zh"] and "上调" in why2["zh"] and "raised" in why2["en"]
    assert {e.case_id for e in evs} == {"CQ-2024-E1", "CQ-2024-E2"}


def test_same_labels_same_night_is_idempotent(store):
    add_history(store, {"CC-001": (8, 2), "CC-101": (1, 9)})
    night(store, "r1", EQUAL)
    first = snapshot(store)
    night(store, "r1", EQUAL)  # the same night re-run
    assert snapshot(store) == first
    night(store, "r2", EQUAL)  # the next night, same findings, same labels
    again = snapshot(store)
    assert again["events"] == first["events"]
    assert {k: v[:5] for k, v in again["cases"].items()} == {k: v[:5] for k, v in first["cases"].items()}


def test_labels_never_change_which_cases_exist(store):
    # inspectors always dismiss CC-101 and always confirm CPY-001: opening still follows the policy only
    add_history(store, {"CC-101": (0, 40), "CPY-001": (40, 0)})
    fs = [
        F("E1", code="CC-101", t=1_500, sev="medium"),  # material medium of a dismissed code: opens
        F("E2", code="CPY-001", family="copied_values", t=0, sev="low"),  # low of a confirmed code: no case
        F("E3", code="CC-101", t=0),  # high of a dismissed code: opens
    ]
    out = night(store, "r1", fs)
    assert out["created"] == 2
    assert set(ranks(store)) == {"CQ-2024-E1", "CQ-2024-E3"}
    with session_scope(store) as s:
        why = {e.case_id: e.after["opened_because"] for e in s.scalars(sa.select(CaseEvent).where(CaseEvent.action == "created"))}
    assert why == {"CQ-2024-E1": "material:1500t", "CQ-2024-E3": "severity:CC-101"}


# ---- evidence, not rule hits (issue 12) -------------------------------------------------------------------
def test_an_intermediarys_behaviour_never_opens_a_client_case_alone():
    """A rubber-stamping verifier is the subject of its own case; a client gets one only with evidence in its
    own data (DOMAIN.md §4b)."""
    stamp = F("E1", code="VER-106", family="verifier", unit=None, period=None, t=50_000, sev="high")
    coi = F("E1", code="VER-105", family="verifier", unit=None, period=None, t=50_000, sev="high")
    digits = F("E1", code="CPY-105", family="copied_values", unit=None, period=None, t=50_000, sev="medium")
    assert cases.opening_reason([stamp, coi, digits]) is None
    own = F("E1", code="CC-101", t=12_000, sev="medium")
    assert cases.opening_reason([stamp, own]) == "material:12000t"  # its own data opens it; the verifier's attaches


def test_a_code_that_fires_on_many_plants_opens_one_step_lower():
    high = F("E1", code="CC-101", t=200, sev="high")
    assert cases.opening_reason([high]) == "severity:CC-101"
    assert cases.opening_reason([high], reliability={"CC-101": 0.9}) == "severity:CC-101"
    # weak: counts as medium, and 200 t is not material
    assert cases.opening_reason([high], reliability={"CC-101": 0.3}) is None
    assert cases.opening_reason([F("E1", code="CC-101", t=20_000, sev="high")], reliability={"CC-101": 0.3}).startswith("material:")
    # a weak medium is low: never opens
    assert cases.opening_reason([F("E1", code="CC-101", t=20_000, sev="medium")], reliability={"CC-101": 0.3}) is None


def test_firing_rates_bound_a_codes_reliability():
    from carbonqa.evidence import code_firing_rates, reliability_of

    by = {f"E{i}": [F("E1", code="CMP-001", family="completeness", sev="medium")] for i in range(150)}
    by |= {f"X{i}": [F("E1", code="CC-101", sev="high")] for i in range(5)}
    # a grade that fires on every plant (a rule's "low" slip) says nothing; the same code's rare grade still does
    by |= {f"L{i}": [F("E1", code="CMP-005", family="completeness", sev="low")] for i in range(845)}
    by["X0"].append(F("E1", code="CMP-005", family="completeness", sev="medium"))
    rates = code_firing_rates(by, 1_000)
    assert rates[("CMP-001", "medium")].n_firing == 150 and rates[("CMP-001", "medium")].reliability < 0.5  # 15 %: weak
    assert rates[("CC-101", "high")].reliability == 1.0  # 0.5 %: could all be fraud
    assert rates[("CMP-005", "low")].reliability < 0.05 and rates[("CMP-005", "medium")].reliability == 1.0
    rel = {k: r.reliability for k, r in rates.items()}
    assert reliability_of(rel, "CMP-005", "low") < 0.05 and reliability_of(rel, "CMP-005", "medium") == 1.0
    assert reliability_of({"CC-101": 0.3}, "CC-101", "high") == 0.3 and reliability_of(None, "X", "low") == 1.0
    assert code_firing_rates(by, 1_155)[("CC-101", "high")].reliability == 1.0
    import pytest as _pt

    with _pt.raises(ValueError):
        code_firing_rates(by, 10)


def test_case_summary_in_both_languages(store):
    night(store, "r1", NIGHT1)
    with session_scope(store) as s:
        c = s.get(Case, "CQ-2024-E1")
        zh, en = c.summary, c.summary_en
    assert zh.startswith("2024年度：") and "12,000 tCO₂" in zh
    assert en.startswith("2024: ") and "12,000 tCO₂ at stake" in en and "copied monthly values" in en
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)  # no Chinese left in the English summary
