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

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dags.conftest import DAGS, REPO

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres]

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
RUN_TIMEOUT_S = 420
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def metadata_db() -> Iterator[str]:
    """A scratch PostgreSQL database for Airflow's metadata; yields its SQLAlchemy URL."""
    psycopg = pytest.importorskip("psycopg")
    name = f"af_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CARBONQA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL needed: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def test_scheduler_localexecutor_postgres(
    metadata_db: str, pg_url: str, tmp_path: Path, real_dir: Path
) -> None:
    import psycopg

    from carbonqa.adapters import adapt_us

    inbox = tmp_path / "inbox"
    adapt_us(inbox / "us", real_dir=real_dir)
    home = tmp_path / "airflow"
    home.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        # psycopg 3 serves the async engine too (Airflow would otherwise pick asyncpg, not installed)
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_db,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "CARBONQA_NIGHTLY_CRON": "none",
        "CARBONQA_INBOX": str(inbox),
        "CARBONQA_DATABASE_URL": pg_url,
        "CARBONQA_HOME": str(tmp_path / "var"),
        "PYTHONPATH": str(REPO),
    }
    t0 = time.monotonic()
    mig = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert mig.returncode == 0, mig.stderr[-3000:]
    t_migrate = time.monotonic() - t0

    procs: list[subprocess.Popen[bytes]] = []
    logs = {}
    try:
        for comp in (["api-server", "--port", str(port)], ["dag-processor"], ["scheduler"]):
            log = tmp_path / f"{comp[0]}.log"
            logs[comp[0]] = log
            procs.append(
                subprocess.Popen(
                    [AIRFLOW, *comp], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                    start_new_session=True, cwd=tmp_path,
                )
            )
        conn_str = metadata_db.replace("postgresql+psycopg://", "postgresql://")
        deadline = time.monotonic() + RUN_TIMEOUT_S

        def query(sql: str, *args: object) -> list[tuple[object, ...]]:
            with psycopg.connect(conn_str) as c:
                return c.execute(sql, args).fetchall()

        # wait until the dag-processor has serialised the DAG
        while not query("select 1 from serialized_dag where dag_id = %s", "nightly_screening"):
            assert time.monotonic() < deadline, "DAG never serialised:\n" + _tail(logs["dag-processor"])
            assert all(p.poll() is None for p in procs), {k: _tail(v, 30) for k, v in logs.items()}
            time.sleep(2)
        t_serialised = time.monotonic() - t0

        trig = subprocess.run(
            [AIRFLOW, "dags", "trigger", "nightly_screening", "-c", json.dumps({"year": 2016}),
             "-l", "2024-08-10T02:00:00+08:00", "-r", "pgtest-night"],
            env=env, capture_output=True, text=True, timeout=180,
        )
        assert trig.returncode == 0, trig.stdout[-2000:] + trig.stderr[-2000:]
        state = None
        while True:
            rows = query("select state from dag_run where dag_id = %s and run_id = %s", "nightly_screening", "pgtest-night")
            state = rows[0][0] if rows else None
            if state in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"run still {state!r} after {RUN_TIMEOUT_S}s:\n" + _tail(logs["scheduler"])
            assert all(p.poll() is None for p in procs), {k: _tail(v, 30) for k, v in logs.items()}
            time.sleep(3)
        tis = query(
            "select task_id, map_index, state, try_number from task_instance where dag_id = %s and run_id = %s "
            "order by task_id, map_index", "nightly_screening", "pgtest-night",
        )
        assert state == "success", f"{tis}\n{_tail(logs['scheduler'])}"
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
        _stop(procs)

    # the carbonqa side: the run was recorded in the PostgreSQL case store
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine

    with get_engine(pg_url).connect() as c:
        runs = c.execute(sa.text("select run_id, status from screening_runs")).all()
    assert [tuple(r)[1] for r in runs] == ["success"]
    assert runs[0][0] == "airflow-nightly-20240809T180000"
