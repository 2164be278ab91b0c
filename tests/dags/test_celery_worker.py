"""The DAG under the CeleryExecutor: PostgreSQL metadata, a Redis (or RabbitMQ) broker, one Celery worker.

Scale-out rehearsal on one machine (``docs/scale-out.md``): ``airflow api-server``, ``airflow
dag-processor``, ``airflow scheduler`` (CeleryExecutor inside it, it only *queues* tasks) and
``airflow celery worker --concurrency 2 --queues default`` run as separate process groups with one
shared environment. Broker: the local Redis, database ``REDIS_DB`` (flushed before and after); if Redis
is down, the local RabbitMQ (guest/guest) with a private queue name. Celery result backend: the scratch
metadata database (``db+postgresql+psycopg://`` — a bare ``db+postgresql://`` would make SQLAlchemy load
psycopg2, which is not installed), with ``result_extended`` so that ``celery_taskmeta`` records the
worker's name for each task.

Proof that the tasks ran **on the Celery worker**: the scheduler pre-assigns each task instance's
``external_executor_id``, which is the Celery task id; every task instance of the run, the mapped
``screen`` tasks included, must have a ``celery_taskmeta`` row with status ``SUCCESS`` written by our
worker (its unique ``--celery-hostname``), and the worker's log must name those Celery task ids. The
case store (a scratch PostgreSQL schema, shared by URL) must hold the run and its cases.

Skips only when neither broker is reachable and ``CI`` / ``CARBONQA_REQUIRE_POSTGRES=1`` are unset.
``CARBONQA_TEST_BROKER=rabbitmq`` skips Redis and uses the RabbitMQ path.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dags import airflow_proc as ap

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/7"  # a database of its own: flushed before and after, nothing else
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672//"
RUN_TIMEOUT_S = 480  # from the start of the components to the end of the run
RUN_ID = "celerytest-night"
LOGICAL_DATE = "2025-03-10T02:00:00+08:00"
STORE_RUN_ID = "airflow-nightly-20250309T180000"  # the case store's run id: the logical date in UTC
PROVINCES = ("46", "63", "64")  # Hainan, Qinghai, Ningxia: the smallest registries


@dataclass(frozen=True)
class Broker:
    """The broker the test uses and the Celery queue its tasks go to."""

    url: str
    queue: str


def _redis_ok() -> str | None:
    try:
        import redis

        r = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        r.ping()
        r.close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return f"Redis {REDIS_URL}: {exc}"


def _flush_redis() -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
    r.flushdb()
    r.close()


def _rabbit(queue_to_delete: str | None = None) -> str | None:
    try:
        from kombu import Connection

        with Connection(RABBIT_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
            if queue_to_delete:
                conn.default_channel.queue_delete(queue_to_delete)
        return None
    except Exception as exc:  # noqa: BLE001
        return f"RabbitMQ {RABBIT_URL}: {exc}"


@pytest.fixture
def broker() -> Iterator[Broker]:
    """Redis db 7 (flushed before/after) with queue ``default``; else RabbitMQ with a private queue.

    ``CARBONQA_TEST_BROKER=rabbitmq`` forces the RabbitMQ path (to exercise the fallback).
    """
    forced = os.environ.get("CARBONQA_TEST_BROKER", "").lower()
    redis_err = "RabbitMQ forced by CARBONQA_TEST_BROKER" if forced == "rabbitmq" else _redis_ok()
    if redis_err is None:
        _flush_redis()
        try:
            yield Broker(REDIS_URL, "default")
        finally:
            _flush_redis()
        return
    rabbit_err = _rabbit()
    if rabbit_err is None:
        # the default vhost is shared: a queue name of our own, deleted afterwards
        queue = f"cq-{uuid.uuid4().hex[:8]}"
        try:
            yield Broker(RABBIT_URL, queue)
        finally:
            _rabbit(queue_to_delete=queue)
        return
    if os.environ.get("CI") or os.environ.get("CARBONQA_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"no Celery broker reachable: {redis_err}; {rabbit_err}")
    pytest.skip(f"no Celery broker reachable: {redis_err}; {rabbit_err}")


@pytest.fixture
def metadata_db() -> Iterator[str]:
    """A scratch PostgreSQL database for Airflow metadata and the Celery result backend; yields its name."""
    with ap.scratch_database("afc") as name:
        yield name


def test_celery_worker_runs_mapped_screening(
    metadata_db: str, broker: Broker, pg_url: str, tmp_path: Path, real_dir: Path
) -> None:
    """Trigger one night on a tiny US bundle; every task, the mapped ``screen`` ones too, runs on the worker."""
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.synth import generate_bundle

    # Tiny input, one bundle in an inbox as in the LocalExecutor test, but synthetic: three small
    # provinces (2024, telemetry on, fraud injected) so that screening fans out to more mapped tasks than
    # worker slots and produces cases (the real US bundle gives only low findings, hence no case).
    inbox = tmp_path / "inbox"
    generate_bundle(inbox / "cn", year=2024, provinces=list(PROVINCES), seed=5, fraud_rate=0.3,
                    labels_path=tmp_path / "labels.csv", real_dir=real_dir)
    home = tmp_path / "airflow"
    home.mkdir()
    port = ap.free_port()
    worker_name = f"cqtest-{uuid.uuid4().hex[:8]}@localhost"
    metadata_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{metadata_db}"
    env = ap.base_env(
        home, metadata_url, port, "CeleryExecutor",
        AIRFLOW__CELERY__BROKER_URL=broker.url,
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+{metadata_url}",
        AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
        AIRFLOW__CELERY__EXTRA_CELERY_CONFIG=json.dumps({"result_extended": True}),
        AIRFLOW__CELERY__SYNC_PARALLELISM="1",  # the scheduler's result-polling pool: 1 process on 2 cores
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=broker.queue,
        # the worker's log server (default 8793) on a free port: no clash with other deployments here
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(ap.free_port()),
        CARBONQA_INBOX=str(inbox),
        CARBONQA_DATABASE_URL=pg_url,
        CARBONQA_HOME=str(tmp_path / "var"),  # case store is PostgreSQL; this holds the Parquet lake + exports
    )
    t0 = time.monotonic()
    mig = subprocess.run([ap.AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert mig.returncode == 0, mig.stderr[-3000:]
    t_migrate = time.monotonic() - t0

    components = {
        "api-server": ["api-server", "--port", str(port)],
        "dag-processor": ["dag-processor"],
        "scheduler": ["scheduler"],
        "celery-worker": ["celery", "worker", "--concurrency", "2", "--queues", broker.queue,
                          "--celery-hostname", worker_name, "--without-mingle", "--without-gossip"],
    }
    procs = []
    logs = {name: tmp_path / f"{name}.log" for name in components}
    query = ap.querier(metadata_url)
    try:
        t1 = time.monotonic()
        for name, args in components.items():
            procs.append(ap.start(args, env, logs[name], tmp_path))
        deadline = t1 + RUN_TIMEOUT_S
        ap.wait_serialised(query, deadline, procs, logs)
        t_serialised = time.monotonic() - t1
        ap.trigger(env, RUN_ID, LOGICAL_DATE, {"year": 2024})
        state = ap.wait_run(query, RUN_ID, deadline, procs, logs)
        t_run = time.monotonic() - t1
        tis = query(
            "select task_id, map_index, state, external_executor_id, queue, rendered_map_index, "
            "extract(epoch from (end_date - start_date)), start_date, end_date from task_instance "
            "where dag_id = %s and run_id = %s order by task_id, map_index", ap.DAG_ID, RUN_ID,
        )
        assert state == "success", "\n".join(map(str, tis)) + "\n" + ap.tail(logs["celery-worker"])
        # Celery writes the task result a moment after the task process reported success to the API
        celery_ids = {str(t[3]) for t in tis if t[3] is not None}
        meta: dict[str, tuple[object, ...]] = {}
        settle = time.monotonic() + 60
        while True:
            rows = query("select task_id, status, worker, queue from celery_taskmeta")
            meta = {str(r[0]): r for r in rows}
            if celery_ids <= {k for k, r in meta.items() if r[1] == "SUCCESS"} or time.monotonic() > settle:
                break
            time.sleep(2)
        worker_log = logs["celery-worker"].read_text(errors="replace")
    finally:
        ap.stop(procs)
    t_total = time.monotonic() - t0

    screens = [t for t in tis if t[0] == "screen"]
    assert sorted(str(t[5]) for t in screens) == [f"2024/{p}" for p in PROVINCES], f"screen not mapped per province: {tis}"
    assert {t[2] for t in tis} == {"success"}, tis
    assert {t[4] for t in tis} == {broker.queue}, tis
    for t in tis:
        ext = t[3]
        assert ext is not None, f"{t[0]}[{t[1]}] has no Celery task id: not queued through Celery"
        row = meta.get(str(ext))
        assert row is not None, f"{t[0]}[{t[1]}]: Celery task {ext} has no result in celery_taskmeta"
        assert row[1] == "SUCCESS" and row[2] == worker_name, f"{t[0]}[{t[1]}]: {row}"
        assert str(ext) in worker_log, f"worker log does not mention Celery task {ext} ({t[0]}[{t[1]}])"

    with get_engine(pg_url).connect() as c:
        runs = c.execute(sa.text("select run_id, status from screening_runs")).all()
        n_cases = c.execute(sa.text("select count(*) from cases")).scalar_one()
        n_findings = c.execute(sa.text("select count(*) from findings")).scalar_one()
    assert [tuple(r) for r in runs] == [(STORE_RUN_ID, "success")]
    assert n_findings > 0 and n_cases > 0, (n_findings, n_cases)
    # the shared file storage: the Parquet lake the worker's ingest wrote and the export it produced
    data = tmp_path / "var" / "data"
    assert any((data / "lake" / "telemetry").rglob("*.parquet")), "no telemetry Parquet in the lake"
    assert (data / "exports" / f"cases_{STORE_RUN_ID}.csv").is_file()

    screen_s = sorted(round(float(t[6] or 0)) for t in screens)
    # how many screen tasks overlapped at most (2 = both worker slots busy); reported, not asserted
    edges = sorted([(t[7], 1) for t in screens] + [(t[8], -1) for t in screens], key=lambda e: (e[0], e[1]))
    peak = busy = 0
    for _, d in edges:
        busy += d
        peak = max(peak, busy)
    print(
        f"\ncelery: broker {broker.url} queue {broker.queue}; {len(tis)} task instances, {len(screens)} mapped "
        f"screen tasks on {worker_name}; {n_findings} findings, {n_cases} cases; "
        f"peak concurrent screen tasks {peak}\n"
        f"timings: migrate {t_migrate:.0f}s, serialised {t_serialised:.0f}s after start, run done "
        f"{t_run:.0f}s after start, total {t_total:.0f}s; screen task durations {screen_s}"
    )
