"""The DAG file parses cleanly, is configured as the house rules say, and imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.dags.conftest import DAGS, REPO

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    pytest.importorskip("airflow")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert "nightly_screening" in dagbag.dags


def test_dag_configuration(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["nightly_screening"]
    assert {"carbonqa", "screening"} <= set(dag.tags)
    assert dag.doc_md and "data interval" in dag.doc_md
    assert dag.max_active_runs == 1 and not dag.catchup
    assert set(dag.task_ids) == {
        "start", "discover", "ingest", "plan", "screen", "years", "detect", "national", "cases", "export", "finish"
    }
    for t in dag.tasks:
        assert t.retries >= 2, t.task_id
        assert t.retry_delay.total_seconds() > 0
    # dynamic task mapping: per bundle and per (year, province)
    assert dag.get_task("screen").is_mapped and dag.get_task("ingest").is_mapped
    # rules per province, non-verifier detectors once per year (national peers), in parallel:
    # plan → screen, plan → years → detect; both → national (verifier detectors) → cases
    assert dag.get_task("detect").is_mapped
    assert dag.get_task("detect").upstream_task_ids == {"years", "start"}
    assert "screen" not in dag.get_task("detect").upstream_task_ids and "detect" not in dag.get_task("screen").upstream_task_ids
    assert dag.get_task("national").is_mapped
    assert {"screen", "detect"} <= dag.get_task("national").upstream_task_ids
    assert "national" in dag.get_task("cases").upstream_task_ids
    assert dag.get_task("national").trigger_rule == "none_failed"
    uris = {a.uri for a in dag.get_task("ingest").outlets}
    assert "carbonqa://store/raw" in uris
    assert {a.uri for a in dag.get_task("export").outlets} == {"carbonqa://exports/cases"}
    assert dag.get_task("plan").trigger_rule == "none_failed"


def test_chunking_respects_max_map_length() -> None:
    sys.path.insert(0, str(DAGS))
    try:
        import nightly_screening as ns
    finally:
        sys.path.remove(str(DAGS))
    parts = [{"year": 2024, "province_code": f"{i:04d}"} for i in range(2500)]
    chunks = ns._chunks(parts, 1024)
    assert len(chunks) == 1024 and sum(len(c) for c in chunks) == 2500
    assert sorted(p["province_code"] for c in chunks for p in c) == [p["province_code"] for p in parts]
    assert ns._chunks(parts[:31], 1024) == [[p] for p in parts[:31]]
    assert ns._years(chunks) == [2024] and ns._years([[{"year": 2024, "province_code": "11"}, {"year": 2023, "province_code": "11"}]]) == [2023, 2024]


def test_parse_time_is_light() -> None:
    """Parsing the file imports neither carbonqa nor polars/GX/PyOD and takes little time."""
    code = (
        "import sys, time, runpy; t=time.perf_counter(); "
        f"runpy.run_path({str(DAGS / 'nightly_screening.py')!r}); "
        "heavy=[m for m in ('carbonqa','polars','great_expectations','pyod','sqlalchemy.orm','pandas') if m in sys.modules]; "
        "print(round(time.perf_counter()-t,2), ','.join(heavy))"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, check=True)
    secs, heavy = out.stdout.strip().splitlines()[-1].split(" ", 1) if " " in out.stdout.strip().splitlines()[-1] else (out.stdout.strip(), "")
    assert "carbonqa" not in heavy and "polars" not in heavy and "great_expectations" not in heavy and "pyod" not in heavy, heavy
    assert float(secs) < 10, f"parse took {secs}s (process {time.perf_counter() - t0:.1f}s)"
