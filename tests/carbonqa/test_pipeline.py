"""The pipeline end to end on tiny inline bundles: discover → ingest → partitions → detect / screen → national →
cases → export.

The installed screeners are replaced by fakes (the detectors emit data-driven findings: a low measured
carbon content per unit-month; the rules emit none), so these tests pin the pipeline's behaviour, not
the rules'. The pipeline only ever sees :class:`carbonqa.screening.Screeners` (no import of ``checks``
or ``detectors``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from carbonqa import cases, contract, pipeline
from carbonqa.findings import Finding
from carbonqa.screening import Screeners
from carbonqa.store import session_scope
from carbonqa.store.models import Case, CaseEvent, CaseFinding, FindingRow, ScreeningRun, User

E1, E2, E3 = "911502000000000001", "911501000000000002", "913701000000000003"


def _bundle(root: Path, bundle_id: str, tables: dict[str, pl.DataFrame]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, df in tables.items():
        p = root / f"{name}.csv"
        p.write_text(df.write_csv(), encoding="utf-8")
        entries[name] = {"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "rows": df.height}
    (root / "manifest.json").write_text(json.dumps({
        "contract_version": "1", "bundle_id": bundle_id, "created_at": "2025-01-10T02:00:00+08:00",
        "source": "test", "tables": entries}, ensure_ascii=False), encoding="utf-8")
    return root


def _monthly(periods: list[str]) -> pl.DataFrame:
    rows = []
    for u, cc in (("U1", 0.0215), ("U2", 0.0262), ("U3", 0.0230)):
        for p in periods:
            rows.append({
                "unit_id": u, "period": p, "version": 1, "fuel_consumed_t": 100000.0, "ncv_gj_per_t": 21.0,
                "carbon_content_tc_per_gj": cc, "carbon_content_basis": "measured", "oxidation_rate": 0.99,
                "gross_generation_mwh": 250000.0, "power_supply_mwh": 235000.0, "heat_supply_gj": 0.0,
                "operating_hours": 600.0, "load_rate": 0.7, "purchased_electricity_mwh": 0.0,
                "emissions_tco2": round(100000 * 21.0 * cc * 0.99 * 44 / 12, 1), "lab_report_id": None,
                "submitted_at": f"{p}-28T10:00:00+08:00",
            })
    return pl.DataFrame(rows)


def national_bundle(root: Path) -> Path:
    ents = pl.DataFrame({
        "enterprise_id": [E1, E2, E3], "enterprise_name": ["包头热电", "呼和浩特电厂", "济南能源"],
        "province_code": ["15", "15", "37"], "city_name": ["包头市", "呼和浩特市", "济南市"],
        "sector": ["power"] * 3, "is_captive": ["false"] * 3,
    })
    units = pl.DataFrame({
        "unit_id": ["U1", "U2", "U3"], "enterprise_id": [E1, E2, E3], "unit_name": ["1号机组"] * 3,
        "unit_class": ["coal_conventional_300mw_plus"] * 3, "capacity_mw": [600.0, 600.0, 350.0],
        "combustion_technology": ["supercritical"] * 3, "coal_type": ["bituminous"] * 3,
        "cooling_type": ["water"] * 3, "is_chp": ["false"] * 3, "commissioning_year": [2008, 2009, 2012],
        "registry_ref": [None, None, None],
    })
    tips = pl.DataFrame({"tip_id": ["T1"], "enterprise_id": [E3], "received_date": ["2025-01-05"], "channel": ["hotline"],
                         "category": ["煤样造假"], "summary": ["举报煤样掺假"]})
    return _bundle(root, "2024-national", {"enterprises": ents, "units": units, "tips": tips,
                                            "monthly_reports": _monthly(["2024-01", "2024-02"])})


def fake_detectors(ctx, prior=()) -> list[Finding]:
    """A low measured carbon content per unit-month, with the tonnes the default would add."""
    m = ctx.monthly_reports().filter(pl.col("carbon_content_tc_per_gj") < 0.0245).sort("unit_id", "period")
    out = []
    for r in m.iter_rows(named=True):
        t = r["fuel_consumed_t"] * r["ncv_gj_per_t"] * (0.0262 - r["carbon_content_tc_per_gj"]) * r["oxidation_rate"] * contract.CO2_PER_C
        out.append(Finding(rule_code="CC-199", family="carbon_content", severity="high", enterprise_id=r["enterprise_id"],
                           unit_id=r["unit_id"], year=ctx.year, period=r["period"], province_code=r["province_code"],
                           message_zh=f"含碳量 {r['carbon_content_tc_per_gj']} 低于同类机组", score=0.9, tco2_at_stake=t))
    return out


@dataclass
class FakeScreener:
    name: str
    fn: object

    def run(self, ctx, prior=()):  # noqa: ANN001, ANN201
        return self.fn(ctx, prior)

    def warm(self) -> None:
        pass


def real_tips(ctx, prior=()):  # noqa: ANN001, ANN201
    """The real TIP-001 (the tips slot): complaints are findings whatever the fake rules and detectors."""
    import checks

    return checks.TIPS.run(ctx, prior)


FAKES = Screeners(rules=FakeScreener("checks", lambda ctx, prior: []), detectors=FakeScreener("detectors", fake_detectors),
                  tips=FakeScreener("checks", real_tips))


@pytest.fixture
def fakes(monkeypatch):
    """The installed distribution declares the fakes (what ``Screeners.installed()`` returns)."""
    monkeypatch.setattr(Screeners, "installed", classmethod(lambda cls: FAKES))
    pipeline.clear_context_cache()
    yield FAKES
    pipeline.clear_context_cache()


def test_installed_screeners_are_the_declared_ones():
    """The distribution declares its screeners as entry points: the core finds them without importing them."""
    import checks
    import detectors

    sc = Screeners.installed()
    assert sc.rules is checks.SCREENER and sc.detectors is detectors.LOCAL and sc.verifier is detectors.VERIFIER
    assert sc.publish_validation is checks.publish_validation and sc.missing("rules", "detectors", "verifier", "tips") == []
    assert sc.tips is checks.TIPS
    assert "verifier" not in sc.detectors.families and sc.verifier.families == ("verifier",)
    assert Screeners().missing("rules", "verifier") == ["checks", "detectors"]
    th = sc.warm()  # the night starts this before ingesting: imports overlap the ingest
    th.join(120)
    import sys

    assert not th.is_alive() and {"great_expectations", "pyod.models.ecod", "sklearn.linear_model"} <= set(sys.modules)


def state(url: str) -> dict:
    with session_scope(url) as s:
        return {
            "cases": {c.case_id: (c.lock_version, c.risk_score, c.rank, c.status, c.tco2_at_stake, c.summary)
                      for c in s.scalars(sa.select(Case))},
            "events": s.execute(sa.select(sa.func.count()).select_from(CaseEvent)).scalar_one(),
            "findings": s.execute(sa.select(sa.func.count()).select_from(FindingRow)).scalar_one(),
            "attached": s.execute(sa.select(sa.func.count()).select_from(CaseFinding)).scalar_one(),
        }


def test_discover_ingest_partitions(db_url, tmp_path):
    inbox = tmp_path / "inbox"
    b = national_bundle(inbox / "b1")
    (inbox / "not-a-bundle").mkdir()
    assert pipeline.discover_bundles(inbox, url=db_url) == [str(b.resolve())]
    res = pipeline.ingest_one(str(b), url=db_url)
    assert res["outcome"] == "landed" and res["years"] == [2024] and res["provinces"] == ["15", "37"]
    assert pipeline.discover_bundles(inbox, url=db_url) == []
    assert pipeline.partitions(url=db_url) == [{"year": 2024, "province_code": "15"}, {"year": 2024, "province_code": "37"}]
    assert pipeline.partitions(2023, url=db_url) == []
    assert pipeline.ingest_one(str(b), url=db_url)["years"] == []  # duplicate: nothing new


def test_runs_are_idempotent_records(db_url):
    pipeline.start_run("r1", "2025-01-01T00:00:00+08:00", "2025-01-02T00:00:00+08:00", trigger="airflow", url=db_url)
    pipeline.start_run("r1", url=db_url)
    pipeline.finish_run("r1", "success", {"screen": 1.5}, url=db_url)
    with session_scope(db_url) as s:
        runs = list(s.scalars(sa.select(ScreeningRun)))
    assert len(runs) == 1 and runs[0].status == "success" and runs[0].stage_seconds == {"screen": 1.5}
    assert runs[0].trigger == "airflow" and runs[0].data_interval_start.hour == 0


def test_night_twice_then_a_new_month(db_url, tmp_path, fakes):
    b1 = national_bundle(tmp_path / "b1")
    r1 = pipeline.run_night([b1], None, "night-1", url=db_url, out_dir=tmp_path / "exp")
    assert [p["by_package"] for p in r1["partitions"]] == [{"checks": 0, "detectors": 2, "tips": 0},
                                                          {"checks": 0, "detectors": 2, "tips": 1}]
    s1 = state(db_url)
    assert set(s1["cases"]) == {f"CQ-2024-{E1}", f"CQ-2024-{E3}"}  # E2 is clean
    assert Path(r1["export"]).is_file()
    exp = pl.read_csv(r1["export"], infer_schema=False)
    assert tuple(exp.columns) == contract.CASE_EXPORT_COLUMNS_V11 and exp["rank"].to_list() == ["1", "2"]
    assert "tip" in exp.filter(pl.col("enterprise_id") == E3)["families"][0]

    # same night again (Airflow retry) and under a new run id: nothing changes
    pipeline.run_night([b1], None, "night-1", url=db_url, out_dir=tmp_path / "exp")
    assert state(db_url) == s1
    pipeline.run_night([], None, "night-1b", url=db_url, out_dir=tmp_path / "exp")
    assert state(db_url) == s1

    # a reviewer works the case
    with session_scope(db_url) as s:
        s.add(User(username="nm", password_hash="x", role="provincial", province_code="15"))
        s.add(User(username="baotou", password_hash="x", role="municipal", province_code="15", city_name="包头市"))
    with session_scope(db_url) as s:
        nm = s.scalars(sa.select(User).where(User.username == "nm")).one()
    cid = f"CQ-2024-{E1}"
    c = cases.transition(cid, "triaged", nm, s1["cases"][cid][0])
    c = cases.assign(cid, "baotou", nm, c.lock_version)
    cases.add_note(cid, "请调取3月入厂煤化验单", nm)

    # next night: a delta bundle with one new month
    b2 = _bundle(tmp_path / "b2", "2024-03-delta", {"monthly_reports": _monthly(["2024-03"])})
    r3 = pipeline.run_night([b2], 2024, "night-2", url=db_url, out_dir=tmp_path / "exp")
    assert r3["ingested"][0]["years"] == [2024] and r3["cases"]["created"] == 0
    s3 = state(db_url)
    assert set(s3["cases"]) == set(s1["cases"])
    assert s3["findings"] == s1["findings"] + 2 and s3["attached"] == s1["attached"] + 2
    assert s3["cases"][cid][3] == "assigned"  # the reviewer's status survives
    assert s3["cases"][cid][4] > s1["cases"][cid][4]  # more tonnes
    with session_scope(db_url) as s:
        notes = [e.note for e in s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "note"))]
        assert s.get(Case, cid).assignee_user_id is not None
    assert notes == ["请调取3月入厂煤化验单"]


def test_missing_package_is_recorded_not_fatal(db_url, tmp_path, monkeypatch, fakes):
    no_rules = Screeners(detectors=fakes.detectors)  # checks not installed
    monkeypatch.setattr(Screeners, "installed", classmethod(lambda cls: no_rules))
    b1 = national_bundle(tmp_path / "b1")
    pipeline.start_run("r-miss", url=db_url)
    pipeline.ingest_one(str(b1), url=db_url)
    out = pipeline.screen_partition(2024, "15", "r-miss", url=db_url)
    assert out["missing"] == ["checks"] and out["by_family"] == {}  # rules + tips only
    det = pipeline.detect_national(2024, "r-miss", url=db_url)
    assert det["provinces"] == 2 and det["findings"] == 4 and det["missing"] == []
    with session_scope(db_url) as s:
        run = s.get(ScreeningRun, "r-miss")
    assert run.counts["missing"] == ["checks"] and "2024/15" in run.counts["partitions"]
    rec = run.counts["partitions"]["2024/15"]  # screen + detect merged into one partition record
    assert rec["missing"] == ["checks"] and rec["by_family"] == {"carbon_content": 2} and rec["findings"] == 2
    assert set(rec["stages"]) == {"screen", "detect"} and rec["by_package"] == {"checks": 0, "detectors": 2, "tips": 0}
    assert set(run.counts["partitions"]["2024/37"]["stages"]) == {"detect"}  # not screened yet
    assert run.counts["detect"]["2024"]["findings"] == 4


def test_screened_partitions_are_a_table_of_the_findings_store(db_url, tmp_path, fakes):
    """Which partitions a run screened is a table the later stages query, not JSON they parse; retries replace."""
    from carbonqa.store.findings import screened_provinces
    from carbonqa.store.models import ScreenedPartition

    pipeline.ingest_one(str(national_bundle(tmp_path / "b1")), url=db_url)
    pipeline.start_run("r-tab", url=db_url)
    with session_scope(db_url) as s:
        assert screened_provinces(s, "r-tab", 2024) is None and cases.run_provinces(s, "r-tab", 2024) is None
    pipeline.screen_partition(2024, "15", "r-tab", url=db_url)
    pipeline.detect_national(2024, "r-tab", url=db_url)
    pipeline.screen_partition(2024, "15", "r-tab", url=db_url)  # a retry
    with session_scope(db_url) as s:
        assert screened_provinces(s, "r-tab", 2024) == {"15"} == cases.run_provinces(s, "r-tab", 2024)
        assert screened_provinces(s, "r-tab", 2024, "detect") == {"15", "37"}
        assert screened_provinces(s, "r-tab", 2023) == set()
        rows = s.scalars(sa.select(ScreenedPartition).order_by(ScreenedPartition.stage, ScreenedPartition.province_code)).all()
        assert [(r.stage, r.province_code, r.findings) for r in rows] == [("detect", "15", 2), ("detect", "37", 2), ("screen", "15", 0)]


def test_a_broken_detector_fails_the_detect_stage(db_url, tmp_path, monkeypatch, fakes):
    def boom(ctx, prior):
        raise RuntimeError("detector bug")

    broken = Screeners(rules=fakes.rules, detectors=FakeScreener("detectors", boom))
    pipeline.ingest_one(str(national_bundle(tmp_path / "b1")), url=db_url)
    pipeline.screen_partition(2024, "15", "r-boom", url=db_url, screeners=broken)  # rules only here
    with pytest.raises(RuntimeError, match="detector bug"):
        pipeline.detect_national(2024, "r-boom", url=db_url, screeners=broken)


def test_national_context_is_loaded_once_per_run(db_url, tmp_path, monkeypatch, fakes):
    import carbonqa.screening as screening

    pipeline.ingest_one(str(national_bundle(tmp_path / "b1")), url=db_url)
    calls: list[str] = []
    real = screening.current

    def counting(name, *a, **kw):
        calls.append(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(screening, "current", counting)
    pipeline.detect_national(2024, "r-ctx", url=db_url)
    for p in pipeline.partitions(url=db_url):
        pipeline.screen_partition(p["year"], p["province_code"], "r-ctx", url=db_url)
    assert calls.count("monthly_reports") == 1 and calls.count("tips") == 1


def test_screen_cli_prints_ranked_summary(db_url, tmp_path, fakes, capsys):
    b1 = national_bundle(tmp_path / "b1")
    pipeline.screen_cli([b1], None)
    out = capsys.readouterr().out
    assert "rank" in out and f"CQ-2024-{E1}" in out and "export:" in out
    assert "carbon_content" in out


def test_approved_suppressions_are_applied_before_storing(db_url, tmp_path, fakes):
    from carbonqa.store.models import Suppression

    with session_scope(db_url) as s:
        s.add(Suppression(rule_code="CC-199", enterprise_id=E1, reason="CCS 机组，含碳量低属正常", approved_by="nat"))
    r = pipeline.run_night([national_bundle(tmp_path / "b1")], 2024, "night-s", url=db_url, out_dir=tmp_path / "exp")
    assert [p["suppressed"] for p in r["partitions"]] == [2, 0]
    with session_scope(db_url) as s:
        rows = list(s.scalars(sa.select(FindingRow).where(FindingRow.enterprise_id == E1)))
        assert s.get(Case, f"CQ-2024-{E1}") is None  # only suppressed findings: no case
    assert {(f.severity, f.original_severity) for f in rows} == {("info", "high")}
    assert all(f.suppression_id is not None for f in rows)


@pytest.mark.slow
def test_real_packages_on_a_small_synth_province(db_url, tmp_path):
    """The real checks + detectors on one synthetic province: cases ranked, the night re-run changes nothing."""
    from carbonqa.synth import generate_bundle

    pipeline.clear_context_cache()
    b = tmp_path / "b"
    generate_bundle(b, year=2024, provinces=["64"], seed=7, fraud_rate=0.3, telemetry=False, labels_path=tmp_path / "labels.csv")
    r = pipeline.run_night([b], 2024, "synth-1", url=db_url, out_dir=tmp_path / "exp")
    assert r["partitions"] and not any(p["missing"] for p in r["partitions"])
    exp = pl.read_csv(r["export"], infer_schema=False)
    assert tuple(exp.columns) == contract.CASE_EXPORT_COLUMNS_V11 and exp.height > 0
    assert exp["rank"].to_list() == [str(i) for i in range(1, exp.height + 1)]
    scores = [float(x) for x in exp["risk_score"]]
    assert scores == sorted(scores, reverse=True)
    labels = pl.read_csv(tmp_path / "labels.csv", infer_schema=False)
    top = set(exp.head(max(1, exp.height // 4))["enterprise_id"])
    assert top & set(labels["enterprise_id"])  # injected enterprises reach the top quarter
    before = state(db_url)
    pipeline.run_night([], 2024, "synth-2", url=db_url, out_dir=tmp_path / "exp")
    assert state(db_url) == before


def test_grid_factor_comes_from_the_bundle_of_the_year(db_url, tmp_path, fakes):
    pipeline.ingest_one(str(national_bundle(tmp_path / "b1")), url=db_url)
    assert pipeline.grid_factor(2024, url=db_url) == contract.DEFAULT_GRID_FACTOR_TCO2_PER_MWH == 0.5703
    b2 = _bundle(tmp_path / "b2", "2024-03-delta", {"monthly_reports": _monthly(["2024-03"])})
    man = json.loads((b2 / "manifest.json").read_text(encoding="utf-8"))
    man.update(grid_emission_factor_tco2_per_mwh=0.5366, period_start="2024-03", period_end="2024-03")
    (b2 / "manifest.json").write_text(json.dumps(man, ensure_ascii=False), encoding="utf-8")
    pipeline.ingest_one(str(b2), url=db_url)
    assert pipeline.grid_factor(2024, url=db_url) == 0.5366
    assert pipeline.grid_factor(2023, url=db_url) == 0.5703  # the 2024 bundle does not speak for 2023
    assert pipeline.national_context("r-grid", 2024, url=db_url).grid_factor_tco2_per_mwh == 0.5366


def _synth_two_provinces(tmp_path: Path) -> Path:
    """The brief's small bundle: ``carbonqa synth --provinces 64,46 --seed 5`` (2024, telemetry)."""
    from carbonqa.synth import generate_bundle

    b = tmp_path / "synth"
    generate_bundle(b, year=2024, provinces=["64", "46"], seed=5, labels_path=tmp_path / "labels.csv")
    return b


def _key(fid: str, code: str, unit: str | None, year: int | None) -> tuple:
    return (fid,)  # every finding id is deterministic (LAB-101 breaks window ties by date, then period)


def _ids(url: str, run_id: str) -> set[tuple]:
    t = FindingRow
    with session_scope(url) as s:
        rows = s.execute(sa.select(t.finding_id, t.rule_code, t.unit_id, t.year).where(t.last_run_id == run_id)).all()
    return {_key(*r) for r in rows}


@pytest.mark.slow
def test_fanout_gives_the_whole_country_findings(tmp_path, monkeypatch):
    """Rules per province = national rules restricted; both fan-out paths store today's whole-country ids.

    The detectors run once per year (``detect_national``), the rules per province (``screen_partition``),
    the verifier detectors after both (``screen_national``). The verifier detectors' ``prior`` is
    pinned too (in-process = one process per task = rules + non-verifier detectors of the country), so the test
    bites even on a bundle where no verifier is flagged.
    """
    import checks
    import detectors
    from carbonqa.screening import ScreenContext

    real_run = detectors.run
    priors: list[set[str]] = []
    local_runs: list[tuple[int, object]] = []  # (year, provinces of the context) of each non-verifier run

    def spy(ctx, prior=(), families=None):  # noqa: ANN001, ANN202
        if families is not None and tuple(families) == ("verifier",):
            priors.append({_key(f.id, f.rule_code, f.unit_id, f.year) for f in prior})
        else:
            local_runs.append((ctx.year, ctx.provinces))
        return real_run(ctx, prior=prior, families=families)

    url = f"sqlite:///{tmp_path / 'fan.db'}"
    pipeline.clear_context_cache()
    b = _synth_two_provinces(tmp_path)
    # in-process (CLI / dags test): the stages share nothing but the store
    monkeypatch.setattr(detectors, "run", spy)
    mem = pipeline.run_night([b], 2024, "mem", url=url, out_dir=tmp_path / "exp")
    assert [n["prior_source"] for n in mem["national"]] == ["store"]
    provs = [p["province_code"] for p in pipeline.partitions(2024, url=url)]
    assert provs == ["46", "64"]
    assert local_runs == [(2024, None)]  # the non-verifier detectors: once, nationally
    assert [d["provinces"] for d in mem["detect"]] == [2]
    assert all(set(p["stages"]) == {"screen", "detect"} for p in mem["partitions"])
    assert sum(p["by_package"]["detectors"] for p in mem["partitions"]) == mem["detect"][0]["findings"] > 0

    # the reference: today's whole-country run (rules, then every detector with the rules as prior)
    monkeypatch.setattr(detectors, "run", real_run)
    nat = ScreenContext(year=2024, url=url, grid_factor_tco2_per_mwh=pipeline.grid_factor(2024, url))
    rules = checks.run(nat)
    dets = detectors.run(nat, prior=rules)
    tips = checks.TIPS.run(nat)
    ref = {_key(f.id, f.rule_code, f.unit_id, f.year) for f in [*rules, *dets, *tips] if f.province_code in provs}
    ref_prior = {_key(f.id, f.rule_code, f.unit_id, f.year) for f in [*rules, *(d for d in dets if d.family != "verifier")]
                 if f.province_code in provs}
    assert len(ref) > 20
    for p in provs:  # the rules are partition-local
        local = checks.run(ScreenContext(year=2024, provinces=(p,), url=url, _national=nat))
        assert sorted(f.id for f in local) == sorted(f.id for f in rules if f.province_code == p)
    assert _ids(url, "mem") == ref

    # one process per task (LocalExecutor / Celery): a fresh national context per stage
    monkeypatch.setattr(detectors, "run", spy)
    local_runs.clear()
    pipeline.start_run("fan", url=url)
    for p in provs:
        pipeline.clear_context_cache()
        pipeline.screen_partition(2024, p, "fan", url=url)
    pipeline.clear_context_cache()
    with pytest.raises(RuntimeError, match="detect_national"):  # the verifier prior needs the detect stage
        pipeline.screen_national(2024, "fan", url=url)
    assert local_runs == [] and priors == priors[:1]  # screen ran the rules only
    pipeline.clear_context_cache()
    det = pipeline.detect_national(2024, "fan", url=url)  # its own process, once per year
    assert local_runs == [(2024, None)] and det == {**mem["detect"][0], "new": det["new"],
                                                    "seconds": det["seconds"], "phase_seconds": det["phase_seconds"]}
    pipeline.clear_context_cache()
    out = pipeline.screen_national(2024, "fan", url=url)
    assert out["prior_source"] == "store" and out["prior"] == mem["national"][0]["prior"]
    assert _ids(url, "fan") == ref
    assert len(priors) == 2 and priors[0] == priors[1] == ref_prior  # in-process, per task, today's prior
    again = pipeline.screen_national(2024, "fan", url=url)  # a retry adds nothing
    assert again["new"] == 0 and again["findings"] == out["findings"] and _ids(url, "fan") == ref
    pipeline.clear_context_cache()
    det2 = pipeline.detect_national(2024, "fan", url=url)  # a detect retry adds nothing either
    assert det2["new"] == 0 and det2["findings"] == det["findings"] and _ids(url, "fan") == ref
    with session_scope(url) as s:
        fan = s.get(ScreeningRun, "fan").counts
        mem_counts = s.get(ScreeningRun, "mem").counts

    def strip(rec: dict) -> dict:  # the partition records without timings or "new" (the second run found them)
        out = {k: v for k, v in rec.items() if k not in ("seconds", "phase_seconds", "stages", "new")}
        return out

    assert {k: strip(v) for k, v in fan["partitions"].items()} == {k: strip(v) for k, v in mem_counts["partitions"].items()}
    # the dashboard's run summary still sees every finding of the run (partitions: screen + detect; national)
    from carbonqa.queries import run_summary

    summ = run_summary(mem_counts)
    assert summ["findings"] == len(ref) and summ["partitions"] == 2 and summ["years"] == [2024]
    assert summ["by_family"] and sum(summ["by_family"].values()) == summ["findings"]
