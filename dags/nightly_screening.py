"""# nightly_screening — 全国碳市场数据质量夜间筛查 / nightly data-quality screening.

One run = one night, keyed by its **data interval** (never the wall clock):

```
start ─► discover ─► ingest[bundle]* ─► plan ─┬─► screen[year × province]* ──────┬─► national[year]* ─► cases ─► export ─► finish
           (inbox)    outlet carbonqa://store/raw └─► years ─┬─► detect[year]* ──────┤                         outlet carbonqa://exports/cases
                                                             └───────────────────────┘
```

* **start** — migrates the case store (idempotent) and opens the screening run; `run_id` is derived
  from the logical date, i.e. the data interval (`airflow-nightly-<UTC YYYYmmddTHHMMSS>`), so every retry and every re-run of
  the same night writes to the same run and findings/cases are not duplicated.
* **discover** — bundle folders with a `manifest.json` not yet ingested, under the inbox: Airflow
  Variable `carbonqa_inbox`, else env `CARBONQA_INBOX`, else `var/inbox`.
* **ingest** — dynamically mapped, one task per bundle (serialised: the raw store is append-only and
  SQLite allows one writer); emits the asset `carbonqa://store/raw`.
* **plan** — partitions (year × province) with data: the years this night's bundles touched, or every
  year when nothing new arrived (rules and peers may have changed); DAG param `year` restricts to one
  year. Mapped per partition; when there are more than `[core] max_map_length` (1,024) partitions they
  are packed into at most that many chunks.
* **screen** — dynamically mapped per (year, province), one real unit of work each: the rules on the
  province's own rows (partition-local; this is what fans out) and the tips; the province's findings
  stored (`pipeline.screen_partition`).
* **years / detect** — `detect` is mapped per year (`years` lists them) and runs in parallel with the
  province screens (it needs only the plan): the non-verifier detectors once over the whole country —
  they score each unit against *national* peer statistics, so splitting them by province would only
  repeat the national computation in every task — and every province's findings stored
  (`pipeline.detect_national`).
* **national** — mapped per year, after every `screen` and `detect` of the run: the verifier
  detectors, which pool each verifier's clients across provinces, with every finding the run stored
  for that year as input (`pipeline.screen_national`); their findings stored.
* **cases / export / finish** — scoring and cases (after every `national`), the national case export (asset
  `carbonqa://exports/cases`), the run closed with its stage timings. A task that fails for good marks
  the run `failed` (task `on_failure_callback`).

**One DAG, asset as outlet.** Ingest and screening stay in one DAG run so that the night's screening
sees exactly what that night's ingest landed, under one `run_id`, and `airflow dags test
nightly_screening <date>` runs the whole night on the embedded default. The raw-store asset links the
two parts in the asset graph and lets any other DAG (a dashboard cache refresh, an intraday re-screen)
be scheduled on `carbonqa://store/raw` without touching this file. A second, asset-scheduled screening
DAG was rejected: this DAG's own ingest would trigger it every night (double screening), and a run
triggered by an asset event has no data interval of its own to key findings on.

Scaling out: see `dags/README.md` (PostgreSQL metadata, LocalExecutor or CeleryExecutor, same file).
This file only wires: carbonqa, polars, GX and PyOD are imported inside the tasks.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

#: The raw submission store (append-only raw tables + telemetry lake), updated by ingest.
RAW_STORE = Asset("carbonqa://store/raw", extra={"layer": "raw"})
#: The national case export written at the end of the night.
CASE_EXPORT = Asset("carbonqa://exports/cases", extra={"format": "csv"})

#: Cron of the night in China Standard Time; env ``CARBONQA_NIGHTLY_CRON`` overrides it, ``none``
#: disables the schedule (runs only when triggered, e.g. in tests or a second installation).
_CRON = os.environ.get("CARBONQA_NIGHTLY_CRON", "0 2 * * *")
#: Screening tasks of one run allowed at once: 1 on the SQLite case store (one writer), else
#: ``CARBONQA_SCREEN_CONCURRENCY`` (default 8) on PostgreSQL.
_PG = os.environ.get("CARBONQA_DATABASE_URL", "").startswith("postgresql")
SCREEN_CONCURRENCY = int(os.environ.get("CARBONQA_SCREEN_CONCURRENCY", "8" if _PG else "1"))


def _run_id(context: Any) -> str:
    """Screening run id of this DAG run, ``airflow-nightly-<UTC YYYYmmddTHHMMSS>``.

    Keyed on the logical date (the identity of the run's data interval: with the cron trigger timetable
    it equals the interval end); a manual run of an unscheduled DAG gets ``data_interval_end`` = the
    trigger time, which is not stable, so the logical date comes first. Without either (a run
    triggered with no logical date) Airflow's own run id is used — stable across retries too.
    """
    import datetime as dt

    when = context.get("logical_date") or context.get("data_interval_end")
    if when is not None:
        return f"airflow-nightly-{when.astimezone(dt.UTC):%Y%m%dT%H%M%S}"
    return f"airflow-{context['dag_run'].run_id}"


def _on_failure(context: Any) -> None:
    """Mark the screening run failed when a task fails for good (after its retries)."""
    from carbonqa import pipeline

    exc = context.get("exception")
    ti = context.get("ti")
    where = getattr(ti, "task_id", "?")
    try:
        pipeline.finish_run(_run_id(context), "failed", error=f"{where}: {type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001 - the callback must never mask the task's own failure
        import logging

        logging.getLogger(__name__).exception("could not mark run failed")


def _chunks(parts: list[dict[str, Any]], max_map: int) -> list[list[dict[str, Any]]]:
    """One chunk per partition, or at most ``max_map`` round-robin chunks when there are more."""
    if len(parts) <= max_map:
        return [[p] for p in parts]
    out: list[list[dict[str, Any]]] = [[] for _ in range(max_map)]
    for i, p in enumerate(parts):
        out[i % max_map].append(p)
    return out


def _years(chunks: list[list[dict[str, Any]]]) -> list[int]:
    """Distinct reporting years of the planned partitions, sorted (one ``national`` task each)."""
    return sorted({int(p["year"]) for chunk in chunks for p in chunk})


def _screeners() -> Any:
    """The night's screeners, named here (the composition layer): the rules, the tips and both detector stages."""
    import checks
    import detectors
    from carbonqa.screening import Screeners

    return Screeners(
        rules=checks.SCREENER,
        detectors=detectors.LOCAL,
        verifier=detectors.VERIFIER,
        publish_validation=checks.publish_validation,
        tips=checks.TIPS,
    )


@dag(
    dag_id="nightly_screening",
    schedule=None if _CRON.lower() == "none" else CronTriggerTimetable(_CRON, timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2000, 1, 1, tz="Asia/Shanghai"),  # early: a task whose start_date
    # follows the logical date is silently not run (airflow dags test with an old date would do nothing)
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["carbonqa", "screening", "nightly"],
    params={"year": Param(None, type=["null", "integer"], description="screen only this reporting year")},
    default_args={
        "owner": "carbonqa",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=20),
        "execution_timeout": timedelta(hours=3),
        "on_failure_callback": _on_failure,
    },
)
def nightly_screening() -> None:
    """Wire the nightly stages (see the module docstring)."""

    @task
    def start(**context: Any) -> str:
        from carbonqa import pipeline
        from carbonqa.store import upgrade

        upgrade()
        return pipeline.start_run(
            _run_id(context), context.get("data_interval_start"), context.get("data_interval_end"), trigger="airflow"
        )

    @task
    def discover() -> list[str]:
        from pathlib import Path

        from airflow.sdk import Variable

        from carbonqa import pipeline

        inbox = Variable.get("carbonqa_inbox", default=None) or os.environ.get("CARBONQA_INBOX") or "var/inbox"
        return pipeline.discover_bundles(Path(inbox))

    @task(outlets=[RAW_STORE], max_active_tis_per_dag=1, map_index_template="{{ bundle_dir.rsplit('/', 1)[-1] }}")
    def ingest(bundle_dir: str, **context: Any) -> dict[str, Any]:
        from carbonqa import pipeline

        return pipeline.ingest_one(bundle_dir, run_id=_run_id(context))

    @task(trigger_rule="none_failed")
    def plan(ingested: list[dict[str, Any]] | None = None, **context: Any) -> list[list[dict[str, Any]]]:
        from airflow.sdk import conf

        from carbonqa import pipeline

        year = context["params"].get("year")
        touched = sorted({int(y) for i in (ingested or []) for y in i.get("years", [])})
        if year is not None:
            parts = pipeline.partitions(int(year))
        elif touched:
            parts = [p for p in pipeline.partitions() if p["year"] in touched]
        else:
            parts = pipeline.partitions()
        return _chunks(parts, conf.getint("core", "max_map_length", fallback=1024))

    @task
    def years(chunks: list[list[dict[str, Any]]]) -> list[int]:
        # a mapped task cannot expand over a custom XCom key of plan: the years get their own XCom
        return _years(chunks)

    @task(
        max_active_tis_per_dagrun=SCREEN_CONCURRENCY,
        map_index_template="{{ chunk[0]['year'] }}/{{ chunk[0]['province_code'] }}",
    )
    def screen(chunk: list[dict[str, Any]], screening_run: str) -> list[dict[str, Any]]:
        from carbonqa import pipeline

        sc = _screeners()
        return [pipeline.screen_partition(p["year"], p["province_code"], screening_run, screeners=sc) for p in chunk]

    @task(max_active_tis_per_dagrun=SCREEN_CONCURRENCY, map_index_template="{{ year }}")
    def detect(year: int, screening_run: str) -> dict[str, Any]:
        from carbonqa import pipeline

        return pipeline.detect_national(int(year), screening_run, screeners=_screeners())

    @task(trigger_rule="none_failed", map_index_template="{{ year }}")
    def national(year: int, screening_run: str) -> dict[str, Any]:
        from carbonqa import pipeline

        return pipeline.screen_national(int(year), screening_run, screeners=_screeners())

    @task(trigger_rule="none_failed")
    def cases(
        screened: list[list[dict[str, Any]]] | None,
        detected: list[dict[str, Any]] | None,
        nationals: list[dict[str, Any]] | None,
        screening_run: str,
    ) -> dict[str, Any]:
        from carbonqa import pipeline

        done = [c for chunk in (screened or []) for c in chunk]
        det, nat = list(detected or []), list(nationals or [])
        years = sorted({int(c["year"]) for c in done} | {int(d["year"]) for d in det} | {int(n["year"]) for n in nat})
        return {
            "cases": pipeline.update_cases(screening_run, years),
            "partitions": len(done),
            "findings": sum(int(x.get("findings", 0)) for x in [*done, *det, *nat]),
            "screen_seconds": round(sum(float(c.get("seconds", 0.0)) for c in done), 3),
            "detect_seconds": round(sum(float(d.get("seconds", 0.0)) for d in det), 3),
            "national_seconds": round(sum(float(n.get("seconds", 0.0)) for n in nat), 3),
        }

    @task(outlets=[CASE_EXPORT])
    def export(screening_run: str) -> str:
        from carbonqa import pipeline
        from carbonqa.settings import get_settings

        return pipeline.export(screening_run, get_settings().exports_dir)

    @task
    def finish(screening_run: str, summary: dict[str, Any], path: str) -> dict[str, Any]:
        from carbonqa import pipeline

        pipeline.finish_run(
            screening_run,
            "success",
            {"screen": summary["screen_seconds"], "detect": summary["detect_seconds"], "national": summary["national_seconds"]},
        )
        return {**summary, "export": path, "screening_run": screening_run}

    run = start()
    bundles = discover()
    run >> bundles
    ingested = ingest.expand(bundle_dir=bundles)
    chunks = plan(ingested)
    screened = screen.partial(screening_run=run).expand(chunk=chunks)  # rules: what fans out
    per_year = years(chunks)
    detected = detect.partial(screening_run=run).expand(year=per_year)  # national peers: once per year
    nationals = national.partial(screening_run=run).expand(year=per_year)
    [screened, detected] >> nationals  # the verifier detectors need every rule and detector finding of the year
    summary = cases(screened, detected, nationals, run)
    path = export(run)
    summary >> path
    finish(run, summary, path)


nightly_screening()
