"""Helpers for tests that run Airflow 3.3 as real, separate processes (api-server, dag-processor, scheduler, workers).

Used by ``test_celery_worker.py`` (CeleryExecutor) and ``test_scheduler_postgres.py`` (LocalExecutor). Every component is started with ``start_new_session=True`` (its own
process group, like ``setsid``) and stopped by process group — never by name, so other engineers'
Airflow processes on the same machine are untouched. Metadata lives in a scratch PostgreSQL database
(``scratch_database``) that is dropped afterwards.
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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.dags.conftest import DAGS, REPO

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAG_ID = "nightly_screening"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scratch_database(prefix: str = "af") -> Iterator[str]:
    """Create a scratch PostgreSQL database, yield its name, drop it (``WITH (FORCE)``) afterwards.

    Skips when PostgreSQL is unreachable, unless ``CARBONQA_REQUIRE_POSTGRES=1`` (CI), then fails.
    """
    psycopg = pytest.importorskip("psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CARBONQA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL needed: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(home: Path, metadata_url: str, api_port: int, executor: str, **extra: str) -> dict[str, str]:
    """Environment shared by every Airflow component of one test deployment.

    ``metadata_url`` is a ``postgresql+psycopg://`` URL; it also serves the async engine (psycopg 3 is
    async-capable, otherwise Airflow wants asyncpg, which is not installed). ``extra`` overrides.
    """
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "CARBONQA_NIGHTLY_CRON": "none",
        "PYTHONPATH": str(REPO),
    }
    env.update(extra)
    return env


def start(args: list[str], env: Mapping[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``airflow <args>`` in its own process group (``setsid``), output to ``log``."""
    return subprocess.Popen(
        [AIRFLOW, *args], env=dict(env), stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True, cwd=cwd,
    )


def stop(procs: list[subprocess.Popen[bytes]], grace_s: float = 20) -> None:
    """SIGTERM each process group, wait up to ``grace_s`` in total, then SIGKILL the stragglers' groups."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        # the group leader may be gone while children (task processes) linger: kill the group regardless
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.poll() is None:
            p.wait(timeout=10)


def tail(path: Path, n: int = 60) -> str:
    """The last ``n`` lines of a log file ('' if unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def querier(metadata_url: str) -> Callable[..., list[tuple[object, ...]]]:
    """A ``query(sql, *args) -> rows`` function on the metadata database (fresh connection per call)."""
    import psycopg

    conn_str = metadata_url.replace("postgresql+psycopg://", "postgresql://")

    def query(sql: str, *args: object) -> list[tuple[object, ...]]:
        with psycopg.connect(conn_str) as c:
            return c.execute(sql, args).fetchall()

    return query


def alive_or_fail(procs: list[subprocess.Popen[bytes]], logs: Mapping[str, Path]) -> None:
    """Fail the test, with every component's log tail, when one of the components has exited."""
    if any(p.poll() is not None for p in procs):
        pytest.fail("an Airflow component exited:\n" + "\n".join(f"== {k}\n{tail(v, 30)}" for k, v in logs.items()))


def wait_serialised(query: Callable[..., list[tuple[object, ...]]], deadline: float,
                    procs: list[subprocess.Popen[bytes]], logs: Mapping[str, Path]) -> None:
    """Wait until the dag-processor has serialised ``nightly_screening``."""
    while not query("select 1 from serialized_dag where dag_id = %s", DAG_ID):
        assert time.monotonic() < deadline, "DAG never serialised:\n" + tail(logs["dag-processor"])
        alive_or_fail(procs, logs)
        time.sleep(2)


def trigger(env: Mapping[str, str], run_id: str, logical_date: str, conf: dict[str, object]) -> None:
    """``airflow dags trigger nightly_screening`` with a fixed run id, logical date and conf."""
    trig = subprocess.run(
        [AIRFLOW, "dags", "trigger", DAG_ID, "-c", json.dumps(conf), "-l", logical_date, "-r", run_id],
        env=dict(env), capture_output=True, text=True, timeout=180,
    )
    assert trig.returncode == 0, trig.stdout[-2000:] + trig.stderr[-2000:]


def wait_run(query: Callable[..., list[tuple[object, ...]]], run_id: str, deadline: float,
             procs: list[subprocess.Popen[bytes]], logs: Mapping[str, Path]) -> str:
    """Poll the DAG run until it is ``success`` or ``failed`` (bounded by ``deadline``); return the state."""
    while True:
        rows = query("select state from dag_run where dag_id = %s and run_id = %s", DAG_ID, run_id)
        state = str(rows[0][0]) if rows else None
        if state in ("success", "failed"):
            return state
        assert time.monotonic() < deadline, f"run still {state!r} at the deadline:\n" + "\n".join(
            f"== {k}\n{tail(v, 25)}" for k, v in logs.items()
        )
        alive_or_fail(procs, logs)
        time.sleep(3)
