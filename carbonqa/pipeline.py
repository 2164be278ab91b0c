"""The nightly screening pipeline as plain functions: one per Airflow task, or all at once from the CLI.

Stages (the DAG in ``dags/`` calls one function per task; :func:`run_night` runs them in-process)::

    start_run ─► discover_bundles ─► ingest_one (per bundle) ─► partitions ─┬─► screen_partition (per
    year × province) ─┬─► screen_national (per year) ─► update_cases ─► export ─► finish_run
                                                                           └─► detect_national (per
    year) ───────────────┘

Every stage is idempotent and keyed: a run is keyed by ``run_id`` (Airflow's run id, never ``now()``);
a partition by (year, province); findings by their deterministic id. Re-running a task or the whole
night adds no duplicate finding, case or event (see :mod:`carbonqa.cases`).

**Screeners are passed in.** The rules and detectors implement :class:`carbonqa.screening.Screener`
(``run(ctx, prior) -> list[Finding]``) in the separate packages ``checks`` and ``detectors`` (they
import ``carbonqa``, never the reverse). The composition layer hands them to each stage as a
:class:`~carbonqa.screening.Screeners` set: the DAG names them explicitly; the CLI takes what the
installed distribution declares (:meth:`Screeners.installed`, entry points in ``pyproject.toml``). An
empty slot is recorded under ``missing`` in the stage's counts instead of failing; errors *inside* a
screener propagate (the task fails and Airflow retries): a silently skipped detector would make its
findings look resolved and lower the cases' scores.

**What fans out, what runs once per year.** :func:`screen_partition` runs the rules on its own
province (``ctx.provinces = (p,)``; rules are partition-local) plus the tips: that is the work that
fans out. The detectors compare each unit with *national* peer statistics, so they cannot be split by
province: :func:`detect_national` runs every non-verifier family once per year over the whole country
(in parallel with the province screens) and stores every province's share. The verifier detectors pool
every client's anomalies per verifier across provinces, so they run once per year in
:func:`screen_national`, after both, with ``prior`` = every rule and detector finding the run stored
for the year, read back from the findings store — stages share nothing but the store, so the same code
runs in one process (CLI, ``airflow dags test``) and one process per task (LocalExecutor, Celery). A
module-level cache shares one national :class:`~carbonqa.screening.ScreenContext` (its loaded tables)
per (run, year, store) within a process.

Per partition the run's ``counts["partitions"]["<year>/<province>"]`` holds the sum of the stages that
wrote to it (``screen``: rules + tips, ``detect``: the province's detector findings), each kept under
``stages``; ``counts["detect"]["<year>"]`` and ``counts["national"]["<year>"]`` hold the per-year stages.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import object_session

from carbonqa.findings import Finding
from carbonqa.screening import ScreenContext, Screeners
from carbonqa.store import chain
from carbonqa.store.db import get_engine, session_scope
from carbonqa.store.findings import record_partitions, screened_provinces, stored_prior
from carbonqa.store.models import Bundle, ScreeningRun, now_cst, raw_table
from carbonqa.store.runs import close_interrupted

__all__ = [
    "IngestResult",
    "PartitionCounts",
    "screen_provinces",
    "DetectCounts",
    "NationalCounts",
    "discover_bundles",
    "ingest_one",
    "partitions",
    "screen_partition",
    "detect_national",
    "screen_national",
    "stored_prior",
    "grid_factor",
    "update_cases",
    "export",
    "start_run",
    "finish_run",
    "screen_cli",
    "run_night",
    "national_context",
    "clear_context_cache",
    "validation_dir",
]

log = logging.getLogger(__name__)

# ---- typed stage results (plain dicts at run time: Airflow passes them between tasks as XCom JSON) ----
class IngestResult(TypedDict):
    """What :func:`ingest_one` reports for one bundle."""

    bundle_id: str
    outcome: str  # landed | partial | duplicate | rejected
    years: list[int]
    provinces: list[str]
    quarantined: int
    warnings: int
    reason: str | None


class PartitionCounts(TypedDict):
    """What :func:`screen_partition` recorded for one (year, province) — its ``screen`` stage."""

    year: int
    province_code: str
    findings: int
    new: int
    by_family: dict[str, int]
    by_severity: dict[str, int]
    by_package: dict[str, int]
    missing: list[str]
    suppressed: int
    seconds: float
    phase_seconds: dict[str, float]


class DetectCounts(TypedDict):
    """What :func:`detect_national` recorded for one year."""

    year: int
    provinces: int
    findings: int
    new: int
    by_family: dict[str, int]
    by_severity: dict[str, int]
    suppressed: int
    missing: list[str]
    seconds: float
    phase_seconds: dict[str, float]


class NationalCounts(TypedDict):
    """What :func:`screen_national` recorded for one year."""

    year: int
    provinces: int
    validation_report: str | None
    validation_seconds: float
    prior: int
    prior_source: str  # store | none
    findings: int
    new: int
    by_severity: dict[str, int]
    suppressed: int
    missing: list[str]
    seconds: float


#: National contexts shared across partitions of one run in one process: (run_id, year, url) → ctx.
_NATIONAL_CACHE: dict[tuple[str, int, str | None], ScreenContext] = {}
#: National contexts kept per process, least recently used evicted first. An Airflow night runs its
#: years' tasks in no fixed order (the US bundle alone adds ten one-plant years): with 2 contexts
#: evicted in insertion order the 2024 context was rebuilt six times in one in-process night (≈ 5 s
#: each: frames and the GX validation). A national year's context holds its frames (≈ 100–200 MB), a
#: one-plant year's almost nothing; the busy national year is used by most tasks, so it stays.
_CACHE_MAX = 8


# ---- runs --------------------------------------------------------------------------------------------
def start_run(
    run_id: str,
    data_interval_start: Any = None,
    data_interval_end: Any = None,
    trigger: str = "cli",
    url: str | None = None,
) -> str:
    """Record (or re-open) the :class:`~carbonqa.store.models.ScreeningRun` ``run_id``; idempotent.

    A second call for the same id keeps the row (and its partition counts) and sets it ``running``.
    Interval bounds may be datetimes or ISO strings (aware ones are converted to naive CST). Cached
    national contexts of this process are forgotten (a night starts from what is stored).
    """
    clear_context_cache()
    dis, die = _naive_cst(data_interval_start), _naive_cst(data_interval_end)
    with session_scope(url) as s:
        close_interrupted(s, run_id)  # a run a killed process left "running" is closed as failed
        run = s.get(ScreeningRun, run_id)
        if run is None:
            s.add(
                ScreeningRun(
                    run_id=run_id,
                    trigger=trigger,
                    data_interval_start=dis,
                    data_interval_end=die,
                    status="running",
                    bundle_ids=[],
                    stage_seconds={},
                    counts={},
                )
            )
        elif run.status != "running":
            run.status, run.finished_at, run.error = "running", None, None
    return run_id


def finish_run(
    run_id: str,
    status: str,
    stage_seconds: dict[str, float] | None = None,
    error: str | None = None,
    url: str | None = None,
) -> None:
    """Close run ``run_id`` with ``status`` (``success`` | ``failed`` | …), merging stage timings (s).

    Creates the run row first if no :func:`start_run` was recorded.
    """
    with session_scope(url) as s:
        run = s.get(ScreeningRun, run_id)
        if run is None:
            run = ScreeningRun(run_id=run_id, trigger="unknown", bundle_ids=[], stage_seconds={}, counts={})
            s.add(run)
        run.status = status
        run.finished_at = now_cst()
        if stage_seconds:
            run.stage_seconds = {**(run.stage_seconds or {}), **{k: round(float(v), 3) for k, v in stage_seconds.items()}}
        run.error = error
        chain.record_heads(s.connection(), run_id)  # the night's hash-chain heads (carbonqa verify)


def _naive_cst(v: Any) -> Any:
    import datetime as dt

    if v is None:
        return None
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    return v


def _update_run_json(run_id: str, url: str | None, fn: Callable[[ScreeningRun], None], attempts: int = 8) -> None:
    """Read-modify-write a run's JSON columns under a lock, retrying SQLite busy errors.

    PostgreSQL: the run row's lock (``SELECT … FOR UPDATE``). SQLite has no row locks and pysqlite starts
    the write transaction only at the first write, so the database's write lock is taken *before* the
    read (a write that changes nothing) — else two writers (the night's detect thread and its province
    screens, or two processes) would each write back the JSON they read and one update would be lost.
    """
    for i in range(attempts):
        try:
            with session_scope(url) as s:
                if s.get_bind().dialect.name == "sqlite":
                    s.execute(sa.text("UPDATE screening_runs SET status = status WHERE 0"))
                run = s.execute(sa.select(ScreeningRun).where(ScreeningRun.run_id == run_id).with_for_update()).scalar_one_or_none()
                if run is None:
                    run = ScreeningRun(run_id=run_id, trigger="airflow", status="running", bundle_ids=[], stage_seconds={}, counts={})
                    s.add(run)
                fn(run)
            return
        except sa.exc.OperationalError:  # SQLite: database is locked / stale snapshot
            if i == attempts - 1:
                raise
            time.sleep(0.2 * (i + 1))


# ---- bundles -----------------------------------------------------------------------------------------
def discover_bundles(inbox: Path, url: str | None = None) -> list[str]:
    """Bundle directories under ``inbox`` (the folder itself, or one level down) not yet ingested.

    A directory is a bundle when it holds ``manifest.json``; it is new unless a bundle with its
    ``bundle_id`` (or ``bundle_id@…``) and the same manifest SHA-256 is recorded in ``bundles``
    (whatever its outcome: a fixed bundle has a different manifest). Unreadable manifests are returned
    too, so that ingest rejects them visibly.

    Returns:
        Sorted absolute paths as strings (XCom-friendly).
    """
    from carbonqa.ingest.manifest import sha256_file

    inbox = Path(inbox)
    if not inbox.is_dir():
        return []
    cands = [inbox] if (inbox / "manifest.json").is_file() else sorted(p for p in inbox.iterdir() if (p / "manifest.json").is_file())
    b = Bundle.__table__
    with get_engine(url).connect() as conn:
        known = {(r[0].split("@", 1)[0], r[1]) for r in conn.execute(sa.select(b.c.bundle_id, b.c.manifest_sha256))}
    out = []
    for d in cands:
        m = d / "manifest.json"
        try:
            bid = str(json.loads(m.read_text(encoding="utf-8")).get("bundle_id"))
        except (OSError, ValueError, AttributeError):
            out.append(str(d.resolve()))
            continue
        if (bid, sha256_file(m)) not in known:
            out.append(str(d.resolve()))
    return sorted(out)


def ingest_one(bundle_dir: str, url: str | None = None, run_id: str | None = None) -> IngestResult:
    """Ingest one bundle (:func:`carbonqa.ingest.ingest_bundle`) and say which partitions it touched.

    With ``run_id`` (the DAG's ingest task and :func:`run_night`), the bundle is recorded on that run's
    ``bundle_ids``, so the run says how many bundles it ingested (the one place that records them).

    Returns:
        ``{"bundle_id", "outcome", "years", "provinces", "quarantined", "warnings", "reason"}`` —
        ``years`` (ints) and ``provinces`` (codes) of the rows this bundle added (empty for a
        duplicate); ``quarantined`` rows not ingested (whole files counted by their rows);
        ``warnings`` report items about data that landed anyway.
    """
    from carbonqa.ingest import ingest_bundle

    res = ingest_bundle(Path(bundle_dir), url=url)
    years, provinces = _touched(res.bundle_id, url) if res.outcome in ("landed", "partial") else (set(), set())
    if run_id is not None and res.bundle_id:
        _update_run_json(run_id, url, lambda r: setattr(r, "bundle_ids", sorted(set(r.bundle_ids or []) | {res.bundle_id})))
    return IngestResult(**{
        "bundle_id": res.bundle_id,
        "outcome": res.outcome,
        "years": sorted(years),
        "provinces": sorted(provinces),
        "quarantined": sum(t.quarantined for t in res.tables.values()),
        "warnings": len(res.issues) - len(res.errors),
        "reason": res.reason,
    })


def _touched(bundle_id: str, url: str | None) -> tuple[set[int], set[str]]:
    """Years and provinces of the periodic rows bundle ``bundle_id`` added."""
    m, u, e = raw_table("monthly_reports"), raw_table("units"), raw_table("enterprises")
    a, v = raw_table("annual_reports"), raw_table("verifications")
    yr = sa.func.substr(m.c.period, 1, 4)
    q_month = (
        sa.select(yr, e.c.province_code)
        .select_from(m.join(u, u.c.unit_id == m.c.unit_id).join(e, e.c.enterprise_id == u.c.enterprise_id))
        .where(m.c.bundle_id == bundle_id)
        .distinct()
    )
    q_ann = [
        sa.select(t.c.year, e.c.province_code)
        .select_from(t.join(e, e.c.enterprise_id == t.c.enterprise_id))
        .where(t.c.bundle_id == bundle_id)
        .distinct()
        for t in (a, v)
    ]
    years: set[int] = set()
    provs: set[str] = set()
    with get_engine(url).connect() as conn:
        for q in (q_month, *q_ann):
            for y, p in conn.execute(q):
                if y is not None:
                    years.add(int(y))
                if p:
                    provs.add(str(p))
    return years, provs


def partitions(year: int | None = None, url: str | None = None) -> list[dict[str, Any]]:
    """Screening partitions: ``[{"year": int, "province_code": str}]`` with data, sorted.

    Years come from monthly report periods and annual report years in the store; provinces from the
    enterprises owning those rows. ``year`` restricts to one reporting year.
    """
    m, u, e, a = raw_table("monthly_reports"), raw_table("units"), raw_table("enterprises"), raw_table("annual_reports")
    yr = sa.func.substr(m.c.period, 1, 4)
    q1 = (
        sa.select(yr.label("y"), e.c.province_code)
        .select_from(m.join(u, u.c.unit_id == m.c.unit_id).join(e, e.c.enterprise_id == u.c.enterprise_id))
        .distinct()
    )
    q2 = sa.select(a.c.year, e.c.province_code).select_from(a.join(e, e.c.enterprise_id == a.c.enterprise_id)).distinct()
    out: set[tuple[int, str]] = set()
    with get_engine(url).connect() as conn:
        for q in (q1, q2):
            for y, p in conn.execute(q):
                if y is None or not p:
                    continue
                if year is None or int(y) == int(year):
                    out.add((int(y), str(p)))
    return [{"year": y, "province_code": p} for y, p in sorted(out)]




# ---- screening ---------------------------------------------------------------------------------------
def _screeners(screeners: Screeners | None) -> Screeners:
    """``screeners``, or those the installed distributions declare (the CLI's composition)."""
    return screeners if screeners is not None else Screeners.installed()


def grid_factor(year: int, url: str | None = None) -> float:
    """Grid emission factor (tCO₂/MWh) for purchased electricity in reporting year ``year``.

    The factor the bundles of that year declare (``grid_emission_factor_tco2_per_mwh`` of the
    manifest, stored on the :class:`~carbonqa.store.models.Bundle` row): among landed or partial
    bundles whose period range (``period_start`` … ``period_end``) touches ``year`` and that state one,
    the most recently received wins (a warning is logged when they disagree). Without any: the
    contract's v1 default :data:`carbonqa.contract.DEFAULT_GRID_FACTOR_TCO2_PER_MWH` (0.5703, CONTRACT.md
    §3, MEE 2022 national grid average).
    """
    from carbonqa import contract

    b = Bundle.__table__
    y0, y1 = f"{int(year)}-01", f"{int(year)}-12"
    q = (
        sa.select(b.c.bundle_id, b.c.grid_factor_tco2_per_mwh)
        .where(
            b.c.grid_factor_tco2_per_mwh.is_not(None),
            b.c.outcome.in_(("landed", "partial")),
            sa.or_(b.c.period_start.is_(None), b.c.period_start <= y1),
            sa.or_(b.c.period_end.is_(None), b.c.period_end >= y0),
        )
        .order_by(b.c.received_at.desc(), b.c.bundle_id.desc())
    )
    with get_engine(url).connect() as conn:
        rows = conn.execute(q).all()
    if not rows:
        return contract.DEFAULT_GRID_FACTOR_TCO2_PER_MWH
    if len({float(r[1]) for r in rows}) > 1:
        log.warning("bundles of %s declare different grid factors %s: using %s's", year, sorted({float(r[1]) for r in rows}), rows[0][0])
    return float(rows[0][1])


def national_context(run_id: str, year: int, url: str | None = None) -> ScreenContext:
    """Return the process-wide national :class:`ScreenContext` of (run, year, store), created on first use.

    Its ``grid_factor_tco2_per_mwh`` is :func:`grid_factor` of the year.
    """
    key = (run_id, int(year), url)
    ctx = _NATIONAL_CACHE.pop(key, None)  # least recently used first: re-inserted at the end
    if ctx is None:
        return _new_national(key, run_id, year, url)
    _NATIONAL_CACHE[key] = ctx
    return ctx


def _new_national(key: tuple[str, int, str | None], run_id: str, year: int, url: str | None) -> ScreenContext:
    """Create and cache the national context of ``key``, evicting the least recently used beyond :data:`_CACHE_MAX`."""
    while len(_NATIONAL_CACHE) >= _CACHE_MAX:
        _NATIONAL_CACHE.pop(next(iter(_NATIONAL_CACHE)))
    ctx = ScreenContext(
        year=int(year), provinces=None, run_id=run_id, url=url, grid_factor_tco2_per_mwh=grid_factor(year, url)
    )
    _NATIONAL_CACHE[key] = ctx
    return ctx


def clear_context_cache() -> None:
    """Forget cached national contexts (tests; after ingesting new data into a live process)."""
    _NATIONAL_CACHE.clear()


def _apply_suppressions(findings: list[Finding], run_id: str, url: str | None) -> tuple[list[Finding], int]:
    """Downgrade findings covered by an approved suppression (:mod:`carbonqa.suppression`) to ``info``.

    Expiry and revocation are judged at the run's ``data_interval_end`` (never ``now()`` inside a
    task), falling back to the current time for CLI runs without an interval. Returns the findings and
    how many were suppressed.
    """
    from carbonqa.suppression import apply_suppressions, load_active_suppressions

    with get_engine(url).connect() as conn:  # the interval only: the run row's JSON counts grow with the night
        at = conn.execute(sa.select(ScreeningRun.data_interval_end).where(ScreeningRun.run_id == run_id)).scalar() or now_cst()
    out = apply_suppressions(findings, load_active_suppressions(url, at), at)
    return out, sum(1 for a, b in zip(findings, out, strict=True) if a is not b)


def _merge_stages(year: int, prov: str, stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One partition's record in ``counts["partitions"]``: the sum of the stages that wrote to it.

    ``stages`` maps ``screen`` (rules + tips) and ``detect`` (the province's detector findings) to
    what each recorded; the totals (``findings``, ``new``, ``by_family``, ``by_severity``,
    ``by_package``, ``missing``, ``suppressed``, ``seconds``, ``phase_seconds``) are recomputed from
    them on every write, so the record is the same whichever stage finishes first or is retried.
    """
    out: dict[str, Any] = {"year": int(year), "province_code": prov}
    vals = [stages[k] for k in sorted(stages)]
    for k in ("findings", "new", "suppressed"):
        out[k] = sum(int(v.get(k) or 0) for v in vals)
    for k in ("by_family", "by_severity", "by_package"):
        c: Counter[str] = Counter()
        for v in vals:
            c.update(dict(v.get(k) or {}))
        out[k] = dict(sorted(c.items()))
    out["missing"] = sorted({str(m) for v in vals for m in v.get("missing") or []})
    out["seconds"] = round(sum(float(v.get("seconds") or 0.0) for v in vals), 3)
    ph: Counter[str] = Counter()
    for v in vals:
        ph.update({str(k): float(x) for k, x in dict(v.get("phase_seconds") or {}).items()})
    out["phase_seconds"] = {k: round(x, 3) for k, x in ph.items()}
    out["stages"] = {k: stages[k] for k in sorted(stages)}
    return out


def _record_partitions(run_id: str, url: str | None, year: int, stage: str, by_prov: dict[str, dict[str, Any]],
                       extra: Callable[[dict[str, Any]], None] | None = None) -> dict[str, dict[str, Any]]:
    """Record ``stage``'s counts of each province, in one transaction under the run row's lock.

    In the findings store's ``screened_partitions`` (what later stages read) and, for the dashboard's
    run pages, merged into the run's ``counts["partitions"]``.

    Returns the merged partition records written, by province.
    """
    merged: dict[str, dict[str, Any]] = {}

    def rec(run: ScreeningRun) -> None:
        c = dict(run.counts or {})
        parts = dict(c.get("partitions") or {})
        for prov, counts in by_prov.items():
            key = f"{int(year)}/{prov}"
            stages = dict((parts.get(key) or {}).get("stages") or {})
            stages[stage] = counts
            merged[prov] = parts[key] = _merge_stages(year, prov, stages)
        c["partitions"] = parts
        missing = {m for v in by_prov.values() for m in v.get("missing") or []}
        if missing:
            c["missing"] = sorted(set(c.get("missing") or []) | missing)
        if extra is not None:
            extra(c)
        run.counts = c
        record_partitions(object_session(run), run_id, year, stage, by_prov)

    _update_run_json(run_id, url, rec)
    return merged


def screen_partition(
    year: int, province_code: str, run_id: str, url: str | None = None, screeners: Screeners | None = None
) -> PartitionCounts:
    """Screen one (year, province): rules + tips → suppressions → stored findings.

    * **rules** — ``screeners.rules.run(ctx)`` on the province's own partition (``ctx.provinces = (p,)``): the
      rules are partition-local, and give the same findings as a national run restricted to ``p``
      (tested). This is the work that fans out.
    * **tips** — ``screeners.tips.run(ctx)``: ``TIP-001`` for complaints naming the province's enterprises.

    The detectors are not run here: their peer statistics are national, so they run once per year in
    :func:`detect_national` (non-verifier families) and :func:`screen_national` (verifier).

    Findings are routed by ``province_code``; one without a province is dropped (except tips).
    Idempotent per (run, year, province). ``screeners`` default: :meth:`Screeners.installed`; an
    empty ``rules`` or ``tips`` slot is recorded as ``missing: ["checks"]``, not an error.
    :func:`screen_provinces` with one province (the DAG's mapped task).

    Returns:
        This stage's ``{"year", "province_code", "findings", "new", "by_family", "by_severity",
        "by_package" ({"checks", "tips"}), "missing", "suppressed", "seconds", "phase_seconds"}`` —
        ``phase_seconds`` = ``{"context", "rules", "tips", "store"}``; recorded as the ``screen`` stage
        of the run's ``counts["partitions"]["<year>/<province>"]`` (which :func:`update_cases` and
        :func:`screen_national` read to know what was screened).

    Raises:
        Whatever the rules raise (the task fails and Airflow retries it).
    """
    return screen_provinces(year, [province_code], run_id, url=url, screeners=screeners)[0]


def screen_provinces(
    year: int, provinces: Sequence[str], run_id: str, url: str | None = None, screeners: Screeners | None = None
) -> list[PartitionCounts]:
    """Screen the (year, province) partitions of ``provinces`` in one pass of the rules and tips.

    What :func:`screen_partition` does for each province, with the rules and tips run once over all of
    them. The rules are partition-local (every statistic they compare against is taken within a province), so
    one run over ``ctx.provinces = provinces`` gives each province exactly the findings of its own
    partition (tested); the work per province that remains is routing, suppressions and storing. The
    in-process night (:func:`run_night`) screens a year's provinces this way — 58 partitions of a
    national night cost ~260 small polars calls each when screened one by one — while the DAG maps
    :func:`screen_partition` over them. Each partition is recorded as its own ``screen`` stage, in one
    write; ``phase_seconds`` of every partition carry the shared pass's ``context`` / ``rules`` / ``tips``
    seconds and its own ``store`` seconds, ``seconds`` their sum.

    Returns:
        One :class:`PartitionCounts` per province, in the order given (duplicates screened once).

    Raises:
        Whatever the rules raise.
    """
    from carbonqa.cases import store_findings

    sc = _screeners(screeners)
    provs = list(dict.fromkeys(str(p) for p in provinces))
    t0 = time.perf_counter()
    phase: dict[str, float] = {}
    nat = national_context(run_id, year, url)
    ctx = ScreenContext(
        year=int(year), provinces=tuple(provs), run_id=run_id, url=url,
        grid_factor_tco2_per_mwh=nat.grid_factor_tco2_per_mwh, _national=nat,
    )
    phase["context"] = time.perf_counter() - t0
    missing = sc.missing("rules", "tips")

    t = time.perf_counter()
    all_rules = sc.rules.run(ctx) if sc.rules is not None else []
    phase["rules"] = time.perf_counter() - t

    t = time.perf_counter()
    all_tips = sc.tips.run(ctx) if sc.tips is not None else []
    phase["tips"] = time.perf_counter() - t

    t = time.perf_counter()
    found = [*all_rules, *all_tips]  # suppressions read once, applied finding by finding
    effective = dict(zip(map(id, found), _apply_suppressions(found, run_id, url)[0], strict=True))
    suppress_s = time.perf_counter() - t  # part of every partition's "store" phase, as when screened alone

    out: dict[str, PartitionCounts] = {}
    for prov in provs:
        t = time.perf_counter()
        rules = [f for f in all_rules if f.province_code == prov]
        tips = [f for f in all_tips if f.province_code in (prov, None)]
        findings = [effective[id(f)] for f in (*rules, *tips)]
        supp = sum(1 for f, e in zip((*rules, *tips), findings, strict=True) if e is not f)
        stored = store_findings(findings, run_id, url)
        own = {**phase, "store": suppress_s + time.perf_counter() - t}
        out[prov] = {
            "year": int(year),
            "province_code": prov,
            "findings": stored["total"],
            "new": stored["new"],
            "by_family": dict(sorted(Counter(f.family for f in findings).items())),
            "by_severity": dict(sorted(Counter(f.severity for f in findings).items())),
            "by_package": {"checks": len(rules), "tips": len(tips)},
            "missing": missing,
            "suppressed": supp,
            "seconds": round(sum(own.values()), 3),
            "phase_seconds": {k: round(v, 3) for k, v in own.items()},
        }
    _record_partitions(run_id, url, int(year), "screen", dict(out))
    return [out[p] for p in provs]


def detect_national(
    year: int,
    run_id: str,
    url: str | None = None,
    provinces: Iterable[str] | None = None,
    screeners: Screeners | None = None,
) -> DetectCounts:
    """The non-verifier detectors of ``year``, once over the whole country → every province's share stored.

    The detectors score each unit against *national* peer statistics (same unit class, coal type, …
    across every province), so their work is one national computation per year, not per province:
    ``screeners.detectors.run(nat)`` (every family but the verifier's). Runs in parallel with :func:`screen_partition` (it needs only the raw store).
    Findings are routed to ``provinces`` (default: :func:`partitions` of the year — the plan's
    provinces); one outside them or without a province is dropped. Suppressed, stored per province
    (where :func:`screen_national` reads them back). Idempotent per (run, year).

    Returns:
        ``{"year", "provinces", "findings", "new", "by_family", "by_severity", "suppressed", "missing",
        "seconds", "phase_seconds" ({"context", "detectors", "store"})}``, recorded in the run's
        ``counts["detect"]["<year>"]``; each province's share is recorded as the ``detect`` stage of
        ``counts["partitions"]["<year>/<province>"]``.

    Raises:
        Whatever the detectors raise (the task fails and Airflow retries it).
    """
    from carbonqa.cases import store_findings

    sc = _screeners(screeners)
    t0 = time.perf_counter()
    y = int(year)
    provs = sorted({str(p) for p in provinces} if provinces is not None else {p["province_code"] for p in partitions(y, url)})
    phase: dict[str, float] = {}
    nat = national_context(run_id, y, url)
    phase["context"] = time.perf_counter() - t0

    t = time.perf_counter()
    missing = sc.missing("detectors")
    all_dets = list(sc.detectors.run(nat)) if provs and sc.detectors is not None else []
    phase["detectors"] = time.perf_counter() - t

    t = time.perf_counter()
    keep = set(provs)
    dets = [f for f in all_dets if f.province_code in keep]
    dets, _ = _apply_suppressions(dets, run_id, url)
    by_prov: dict[str, list[Finding]] = {p: [] for p in provs}
    for f in dets:
        by_prov[str(f.province_code)].append(f)
    per_prov: dict[str, dict[str, Any]] = {}
    tot_new = tot_supp = tot_find = 0
    for p, mine in by_prov.items():
        ts = time.perf_counter()
        stored = store_findings(mine, run_id, url)
        supp = sum(1 for f in mine if f.suppression_id is not None)
        tot_new, tot_supp, tot_find = tot_new + stored["new"], tot_supp + supp, tot_find + stored["total"]
        secs = round(time.perf_counter() - ts, 3)
        per_prov[p] = {
            "findings": stored["total"],
            "new": stored["new"],
            "by_family": dict(sorted(Counter(f.family for f in mine).items())),
            "by_severity": dict(sorted(Counter(f.severity for f in mine).items())),
            "by_package": {"detectors": len(mine)},
            "missing": list(missing),
            "suppressed": supp,
            "seconds": secs,  # the national computation is in counts["detect"]
            "phase_seconds": {"store": secs},
        }
    phase["store"] = time.perf_counter() - t
    counts: DetectCounts = {
        "year": y,
        "provinces": len(provs),
        "findings": tot_find,
        "new": tot_new,
        "by_family": dict(sorted(Counter(f.family for f in dets).items())),
        "by_severity": dict(sorted(Counter(f.severity for f in dets).items())),
        "suppressed": tot_supp,
        "missing": list(missing),
        "seconds": round(time.perf_counter() - t0, 3),
        "phase_seconds": {k: round(v, 3) for k, v in phase.items()},
    }

    def extra(c: dict[str, Any]) -> None:
        c["detect"] = {**dict(c.get("detect") or {}), str(y): counts}

    _record_partitions(run_id, url, y, "detect", per_prov, extra)
    return counts


def _run_counts(run_id: str, url: str | None) -> dict[str, Any]:
    with session_scope(url) as s:
        run = s.get(ScreeningRun, run_id)
        return dict(run.counts or {}) if run is not None else {}


def _screened_provinces(run_id: str, year: int, url: str | None) -> list[str]:
    """Provinces of ``year`` whose ``screen`` stage run ``run_id`` recorded (the findings store's partitions)."""
    with session_scope(url) as s:
        return sorted(screened_provinces(s, run_id, year) or ())


def screen_national(year: int, run_id: str, url: str | None = None, screeners: Screeners | None = None) -> NationalCounts:
    """The national stage of ``year``: verifier detectors over every province's findings → stored; GX Data Docs.

    Runs after every :func:`screen_partition` of (run, year) and after :func:`detect_national` of the
    year. The verifier detectors (``screeners.verifier.run(nat, prior)``) pool each verifier's clients
    across provinces, so ``prior`` is every rule and non-verifier detector finding this run stored for
    the year, read back from the findings store (:func:`stored_prior`) — one path whether the stages
    ran in this process (CLI, ``airflow dags test``) or one process per task (LocalExecutor, Celery).
    Their findings are routed to the provinces
    screened, suppressed, stored. Idempotent per (run, year): findings are keyed by id and the prior
    excludes the verifier detectors' own codes.

    Returns:
        ``{"year", "provinces", "validation_report" (path of the night's GX Data Docs index, see
        :func:`validation_dir`; ``None`` without ``checks`` or provinces), "validation_seconds",
        "prior", "prior_source" ("store" | "none"), "findings", "new", "by_severity",
        "suppressed", "missing", "seconds"}``, also recorded in the run's ``counts["national"]["<year>"]``.

    Raises:
        RuntimeError: when the run recorded no :func:`detect_national` for the year (the prior would
        silently lack the detector findings); whatever the verifier detectors raise.
    """
    from carbonqa.cases import store_findings
    from carbonqa.catalogue import CATALOGUE

    sc = _screeners(screeners)
    t0 = time.perf_counter()
    y = int(year)
    provs = _screened_provinces(run_id, y, url)
    missing = sc.missing("verifier") if provs else []
    prior: list[Finding] = []
    source = "none"
    found: list[Finding] = []
    if provs and sc.verifier is not None:
        if str(y) not in dict(_run_counts(run_id, url).get("detect") or {}):
            raise RuntimeError(f"run {run_id}: detect_national({y}) has not run; the verifier prior needs it")
        nat = national_context(run_id, y, url)
        own = {c for c, r in CATALOGUE.items() if r.kind == "detector" and r.family == "verifier"}
        prior, source = stored_prior(run_id, y, provs, own, url), "store"
        keep = set(provs)
        found = [f for f in sc.verifier.run(nat, prior) if f.province_code in keep]
    found, supp = _apply_suppressions(found, run_id, url)
    stored = store_findings(found, run_id, url)
    t = time.perf_counter()
    report = _publish_validation(run_id, y, url, sc) if provs else None
    counts: NationalCounts = {
        "year": y,
        "provinces": len(provs),
        "validation_report": report,
        "validation_seconds": round(time.perf_counter() - t, 3),
        "prior": len(prior),
        "prior_source": source,
        "findings": stored["total"],
        "new": stored["new"],
        "by_severity": dict(sorted(Counter(f.severity for f in found).items())),
        "suppressed": supp,
        "missing": missing,
        "seconds": round(time.perf_counter() - t0, 3),
    }

    def rec(run: ScreeningRun) -> None:
        c = dict(run.counts or {})
        c["national"] = {**dict(c.get("national") or {}), str(y): counts}
        run.counts = c

    _update_run_json(run_id, url, rec)
    return counts


def validation_dir(run_id: str, year: int) -> Path:
    """Folder of the night's GX Data Docs: ``$CARBONQA_DATA_DIR/validation/<run_id>/<year>/``."""
    from carbonqa.settings import get_settings

    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
    return get_settings().data_root / "validation" / safe / str(int(year))


def _publish_validation(run_id: str, year: int, url: str | None, sc: Screeners) -> str | None:
    """``sc.publish_validation`` of (run, year) into :func:`validation_dir`; its index path, or ``None``.

    The validation is the one the province screens of this process already ran (cached on the
    national context); a process that ran none (one process per task) validates once per table.
    ``None`` when the night has no validation publisher.
    """
    if sc.publish_validation is None:
        return None
    return str(sc.publish_validation(national_context(run_id, year, url), validation_dir(run_id, year)))


def update_cases(run_id: str, years: list[int], url: str | None = None) -> dict[str, int]:
    """Attach the run's findings to cases, rescore, re-rank (see :func:`carbonqa.cases.update_cases`).

    Then the agency cases (:func:`carbonqa.cases.agency.update_agency_cases`): their counts are recorded
    as the run's ``counts["agency_cases"]`` and their number as ``agency_cases`` in the returned counts.
    """
    from carbonqa import cases
    from carbonqa.cases.agency import update_agency_cases

    out = cases.update_cases(run_id, years, url=url)
    agency = update_agency_cases(run_id, years, url=url)
    out["agency_cases"] = agency["agency_cases"]

    def rec(run: ScreeningRun) -> None:
        run.counts = {**(run.counts or {}), "cases": out, "agency_cases": agency}

    _update_run_json(run_id, url, rec)
    return out


def export(run_id: str, out_dir: Path, url: str | None = None) -> str:
    """Write the national case export of run ``run_id`` as ``<out_dir>/cases_<run_id>.csv``; return its path."""
    from carbonqa.cases import export_cases

    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
    out = Path(out_dir) / f"cases_{safe}.csv"
    export_cases(out, fmt="csv", url=url)
    return str(out)


# ---- all at once -------------------------------------------------------------------------------------
def run_night(
    bundles: Iterable[Path],
    year: int | None,
    run_id: str,
    url: str | None = None,
    out_dir: Path | None = None,
    trigger: str = "cli",
    on_stage: Callable[[str, float], None] | None = None,
    screeners: Screeners | None = None,
) -> dict[str, Any]:
    """Run every stage in-process (what the DAG does, without Airflow); returns what each stage said.

    Stages ``ingest``, ``detect`` (:func:`detect_national` per year), ``screen`` (every partition of the
    year, :func:`screen_provinces`), ``national`` (:func:`screen_national` per year), ``cases``,
    ``export``, one after the other; they go year by year, so the year's national context (its loaded
    tables) is shared by its stages. ``screeners`` default:
    :meth:`Screeners.installed`. ``on_stage(name, seconds)`` is called after
    each stage (the national bench uses it).

    Returns:
        ``{"run_id", "ingested", "partitions", "detect", "national", "cases", "export",
        "stage_seconds"}`` — ``partitions`` the run's merged partition records (screen + detect stages,
        as in ``counts["partitions"]``), in partition order.
    """
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    upgrade(url)
    sc = _screeners(screeners)
    sc.warm()  # the screeners' imports overlap the ingest (bench/README "speed")
    start_run(run_id, trigger=trigger, url=url)
    stage: dict[str, float] = {}
    result: dict[str, Any] = {"run_id": run_id}

    def done(name: str, t0: float) -> None:
        stage[name] = time.perf_counter() - t0
        if on_stage:
            on_stage(name, stage[name])

    try:
        t0 = time.perf_counter()
        ingested = [ingest_one(str(b), url=url, run_id=run_id) for b in bundles]  # each recorded on the run
        result["ingested"] = ingested
        done("ingest", t0)

        parts = partitions(year, url=url)
        years = sorted({p["year"] for p in parts})
        result["partitions"], result["detect"], result["national"] = [], [], []
        stage["detect"] = stage["screen"] = stage["national"] = 0.0
        for y in years:  # year by year: the year's national context stays cached for its national stage
            provs = [p["province_code"] for p in parts if p["year"] == y]
            # one after the other: run side by side in two threads (as the DAG's tasks may) they contend for
            # the GIL and the two cores polars already uses — measured 1–2 s slower on a national night
            counts, det_s = _timed(detect_national, y, run_id, url=url, provinces=provs, screeners=sc)
            t0 = time.perf_counter()
            screen_provinces(y, provs, run_id, url=url, screeners=sc)  # the rules once over the year's provinces
            stage["screen"] += time.perf_counter() - t0
            result["detect"].append(counts)
            stage["detect"] += det_s
            t0 = time.perf_counter()
            result["national"].append(screen_national(y, run_id, url=url, screeners=sc))
            stage["national"] += time.perf_counter() - t0
        recs = dict(_run_counts(run_id, url).get("partitions") or {})
        result["partitions"] = [recs[f"{p['year']}/{p['province_code']}"] for p in parts]
        for name in ("detect", "screen", "national"):
            if on_stage:
                on_stage(name, stage[name])

        t0 = time.perf_counter()
        result["cases"] = update_cases(run_id, years, url=url)
        done("cases", t0)

        t0 = time.perf_counter()
        result["export"] = export(run_id, out_dir or get_settings().exports_dir, url=url)
        done("export", t0)
    except BaseException as exc:
        finish_run(run_id, "failed", stage, error=f"{type(exc).__name__}: {exc}", url=url)
        raise
    finally:
        clear_context_cache()
    finish_run(run_id, "success", stage, url=url)
    result["stage_seconds"] = stage
    return result


def _timed(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, float]:
    """``(fn(*args, **kw), seconds it took)``."""
    t0 = time.perf_counter()
    return fn(*args, **kw), time.perf_counter() - t0


def screen_cli(bundles: list[Path], year: int | None, url: str | None = None, screeners: Screeners | None = None) -> dict[str, Any]:
    """``carbonqa screen``: ingest → all partitions → cases → export, then print a ranked summary."""
    import polars as pl

    from carbonqa.cases import case_frame

    run_id = f"cli-{now_cst():%Y%m%dT%H%M%S}"
    res = run_night(bundles, year, run_id, url=url, trigger="cli", screeners=screeners)
    for i in res["ingested"]:
        print(f"ingest {i['bundle_id']}: {i['outcome']} (years {i['years']}, provinces {len(i['provinces'])})")
    n_find = sum(p["findings"] for p in res["partitions"]) + sum(n["findings"] for n in res["national"])
    missing = sorted({m for p in [*res["partitions"], *res["national"]] for m in p["missing"]})
    print(
        f"run {run_id}: {len(res['partitions'])} partitions screened, {n_find} findings"
        + (f" (not installed: {', '.join(missing)})" if missing else "")
    )
    c = res["cases"]
    print(f"cases: {c['cases']} total, {c['created']} new, {c['rescored']} rescored, {c['unchanged']} unchanged")
    df = case_frame(url)
    if year is not None:
        df = df.filter(pl.col("year") == year)
    if df.height:
        print("\n rank  case_id                          prov  score    tCO2 at stake  families")
        for r in df.head(10).iter_rows(named=True):
            print(
                f" {r['rank'] or '-':>4}  {r['case_id']:<32} {r['province_code']:>4}  {r['risk_score']:5.1f}  "
                f"{r['tco2_at_stake']:>14,.0f}  {r['families']}"
            )
    print(f"\nexport: {res['export']}")
    return res
