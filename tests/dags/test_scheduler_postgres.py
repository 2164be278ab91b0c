"""The DAG under a real Airflow 3.3 deployment: PostgreSQL metadata, LocalExecutor, separate processes.

Airflow 3 needs three long-running components for this (no ``standalone``): the **scheduler** (with
the LocalExecutor inside it), the **dag-processor** (parses ``dags/`` and serialises the DAG) and the
**api-server** (task processes talk to the execution API on it). They start with ``setsid`` (own
process group) and are stopped by process group. Metadata goes to a scratch database on the local
PostgreSQL (``af_<hex>``, dropped afterwards); the carbonqa case store to a scratch schema
(``pg_url``). The cron schedule is switched off (``CARBONQA_NIGHTLY_CRON=none``) so that only the
triggered run exists. Bounded: the run must succeed within ``RUN_TIMEOUT_S``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dags import airflow_proc as ap

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres]

RUN_TIMEOUT_S = 420
RUN_ID = "pgtest-night"


@pytest.fixture
def metadata_db() -> Iterator[str]:
    """A scratch PostgreSQL database for Airflow's metadata; yields its SQLAlchemy URL."""
    with ap.scratch_database("af") as name:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def test_scheduler_localexecutor_postgres(
    metadata_db: str, pg_url: str, tmp_path: Path, real_dir: Path
) -> None:
    from carbonqa.adapters import adapt_us

    inbox = tmp_path / "inbox"
    adapt_us(inbox / "us", real_dir=real_dir)
    home = tmp_path / "airflow"
    home.mkdir()
    port = ap.free_port()
    env = ap.base_env(
        home, metadata_db, port, "LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="2",
        CARBONQA_INBOX=str(inbox),
        CARBONQA_DATABASE_URL=pg_url,
        CARBONQA_HOME=str(tmp_path / "var"),
    )
    t0 = time.monotonic()
    mig = subprocess.run([ap.AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert mig.returncode == 0, mig.stderr[-3000:]
    t_migrate = time.monotonic() - t0

    procs: list[subprocess.Popen[bytes]] = []
    logs: dict[str, Path] = {}
    try:
        for comp in (["api-server", "--port", str(port)], ["dag-processor"], ["scheduler"]):
            logs[comp[0]] = tmp_path / f"{comp[0]}.log"
            procs.append(ap.start(comp, env, logs[comp[0]], tmp_path))
        query = ap.querier(metadata_db)
        deadline = time.monotonic() + RUN_TIMEOUT_S

        ap.wait_serialised(query, deadline, procs, logs)
        t_serialised = time.monotonic() - t0

        ap.trigger(env, RUN_ID, "2024-08-10T02:00:00+08:00", {"year": 2016})
        state = ap.wait_run(query, RUN_ID, deadline, procs, logs)
        tis = query(
            "select task_id, map_index, state, try_number from task_instance where dag_id = %s and run_id = %s "
            "order by task_id, map_index", ap.DAG_ID, RUN_ID,
        )
        assert state == "success", f"{tis}\n{ap.tail(logs['scheduler'])}"
        assert {(t[0], t[2]) for t in tis} >= {
            ("ingest", "success"), ("screen", "success"), ("detect", "success"), ("national", "success"), ("finish", "success")
        }
        assert [t[1] for t in tis if t[0] == "detect"] == [0]  # one year: the detectors run once
        # the asset event of the raw store was recorded by the real scheduler
        ev = query(
            "select count(*) from asset_event e join asset a on a.id = e.asset_id where a.uri = %s",
            "carbonqa://store/raw",
        )
        assert ev[0][0] >= 1
        t_total = time.monotonic() - t0
        print(f"timings: migrate {t_migrate:.0f}s, serialised {t_serialised:.0f}s, run done {t_total:.0f}s")
    finally:
        ap.stop(procs)

    # the carbonqa side: the run was recorded in the PostgreSQL case store
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine

    with get_engine(pg_url).connect() as c:
        runs = c.execute(sa.text("select run_id, status from screening_runs")).all()
    assert [tuple(r)[1] for r in runs] == ["success"]
    assert runs[0][0] == "airflow-nightly-20240809T180000"
