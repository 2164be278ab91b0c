"""GX validates each table once per night; the night's Data Docs; contract expectations are reported, not findings."""

from __future__ import annotations

from pathlib import Path

import checks
import checks.gx_results as G
from carbonqa.screening import ScreenContext
from checks.params import params_for
from checks.suites import build_suite, contract_expectations, suite_codes


def _m(d: dict, period: str) -> dict:
    return next(r for r in d["monthly_reports"] if r["period"] == period)


def test_one_national_batch_per_table_shared_by_the_partitions(data, screen, monkeypatch):
    _m(data, "2024-03")["power_supply_mwh"] = 10 * _m(data, "2024-03")["gross_generation_mwh"]  # ACC-002
    nat = screen(data)
    calls: list[tuple[str, int]] = []
    real = G.validate

    def spy(frame, suite):  # noqa: ANN001, ANN202
        calls.append((suite.name, frame.height))
        return real(frame, suite)

    monkeypatch.setattr(G, "validate", spy)
    local = [ScreenContext(year=2024, provinces=(p,), url=nat.url, _national=nat) for p in ("15", "37", "15")]
    found = [checks.run(c) for c in local]
    assert sorted(n for n, _ in calls) == ["lab_reports", "monthly_reports", "verifications"]  # once each, not per partition
    assert dict(calls)["monthly_reports"] == 12  # the national table, one batch
    assert [f.period for f in found[0] if f.rule_code == "ACC-002"] == ["2024-03"]
    assert found[1] == [] and found[0] == found[2]
    assert checks.run(nat) == found[0]  # split back by the rows' keys: national = the partitions together


def test_data_docs_of_the_night(data, screen, tmp_path: Path):
    _m(data, "2024-05")["operating_hours"] = 800.0  # ACC-003 (hours > 744 also breaks the contract's max)
    nat = screen(data)
    index = checks.publish_validation(nat, tmp_path / "docs")
    html = index.read_text(encoding="utf-8")
    assert index.name == "index.html" and "monthly_reports.html" in html
    page = (tmp_path / "docs" / "monthly_reports.html").read_text(encoding="utf-8")
    assert "operating_hours" in page
    # a stored row around ingest that breaks the contract is in the report, and only the rule is a finding
    assert "monthly_reports.operating_hours (1)" in html and "ACC-003 (1)" in html
    assert {f.rule_code for f in checks.run(nat)} == {"ACC-003"}


def test_contract_expectations_come_from_the_contract():
    exps = contract_expectations("monthly_reports")
    labels = {e.meta["contract"] for e in exps}
    assert "monthly_reports.key(unit_id, period)" in labels
    assert {"monthly_reports.carbon_content_basis", "monthly_reports.oxidation_rate"} <= labels
    assert all("code" not in e.meta for e in exps)
    suite = build_suite("monthly_reports", params_for(2024), 2024)
    assert len(suite.expectations) == len(suite_codes("monthly_reports")) + len(exps)  # one per rule + the contract's
    assert len(suite_codes("monthly_reports")) == 14
    assert len(build_suite("monthly_reports", params_for(2024), 2024, ["ACC-001"]).expectations) == 1
