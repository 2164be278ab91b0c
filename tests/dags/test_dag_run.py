"""dag.test() end to end on the real pipeline: the adapted US bundle (real EIA-923 + EPA CEMS data),
one partition (param year=2016), then a second night that finds nothing new and adds no duplicates."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pendulum
import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _dag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import DAGS

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags["nightly_screening"]


def test_dag_test_end_to_end(airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_dir: Path) -> None:
    import sqlalchemy as sa

    from carbonqa.adapters import adapt_us
    from carbonqa.settings import get_settings
    from carbonqa.store.db import get_engine

    inbox = tmp_path / "inbox"
    adapt_us(inbox / "us", real_dir=real_dir)
    monkeypatch.setenv("CARBONQA_INBOX", str(inbox))
    dag = _dag()
    night = pendulum.datetime(2024, 8, 10, 2, tz="Asia/Shanghai")
    run = dag.test(logical_date=night, run_conf={"year": 2016})
    assert run.state == "success"
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert states[("ingest", 0)] == "success" and states[("screen", 0)] == "success"
    assert ("screen", 1) not in states  # one partition: 2016 × US-AZ
    assert states[("national", 0)] == "success" and ("national", 1) not in states  # one year
    assert states[("detect", 0)] == "success" and ("detect", 1) not in states  # detectors once for the year
    run_id = f"airflow-nightly-{night.in_timezone('UTC'):%Y%m%dT%H%M%S}"
    with get_engine().connect() as c:
        row = c.execute(sa.text("select status, trigger, counts, stage_seconds from screening_runs where run_id = :r"), {"r": run_id}).one()
        bids = c.execute(sa.text("select bundle_ids from screening_runs where run_id = :r"), {"r": run_id}).scalar_one()
        assert len(bids if isinstance(bids, list) else json.loads(bids)) == 1  # the run says what it ingested
        assert tuple(row[:2]) == ("success", "airflow")
        counts = row[2] if isinstance(row[2], dict) else json.loads(row[2])
        assert set(counts["partitions"]) == {"2016/US-AZ"}
        # the verifier detectors took the province's findings from the findings store
        assert counts["national"]["2016"]["provinces"] == 1 and counts["national"]["2016"]["prior_source"] == "store"
        assert counts["national"]["2016"]["prior"] == counts["partitions"]["2016/US-AZ"]["by_package"]["checks"] + counts["partitions"]["2016/US-AZ"]["by_package"]["detectors"]
        part = counts["partitions"]["2016/US-AZ"]
        assert set(part["stages"]) == {"screen", "detect"}  # rules + tips, and the province's detector share
        assert part["by_package"]["detectors"] == part["stages"]["detect"]["findings"] <= counts["detect"]["2016"]["findings"]
        assert {"screen", "detect", "national"} <= set(row[3] if isinstance(row[3], dict) else json.loads(row[3]))
        bundles = c.execute(sa.text("select bundle_id, outcome from bundles")).all()
        assert [tuple(b) for b in bundles] == [("us-eia923-ampd-az-2011-2020", "landed")]
        n_find = c.execute(sa.text("select count(*) from findings")).scalar_one()
    export = get_settings().exports_dir / f"cases_{run_id}.csv"
    assert export.is_file()
    with export.open(encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    assert header[:3] == ["case_id", "enterprise_id", "unit_id"]

    # the same night again: nothing new in the inbox, same run id, no duplicate findings
    run2 = dag.test(logical_date=night, run_conf={"year": 2016})
    assert run2.state == "success"
    states2 = {(ti.task_id, ti.map_index): ti.state for ti in run2.get_task_instances()}
    assert states2.get(("ingest", -1)) == "skipped" or not any(k[0] == "ingest" and v == "success" for k, v in states2.items())
    with get_engine().connect() as c:
        assert c.execute(sa.text("select count(*) from findings")).scalar_one() == n_find
        assert c.execute(sa.text("select count(*) from bundles")).scalar_one() == 1
