"""The nightly screening pipeline as plain functions: one per Airflow task, or all at once from the CLI.

Stages (the DAG in ``dags/`` calls one function per task; :func:`screen_cli` runs them in-process)::

    start_run ─► discover_bundles ─► ingest_one (per bundle) ─► partitions ─► screen_partition (per
    year × province) ─► update_cases ─► export ─► finish_run

Every stage is idempotent and keyed: a run is keyed by ``run_id`` (Airflow's run id, never ``now()``);
a partition by (year, province); findings by their deterministic id. Re-running a task or the whole
night adds no duplicate finding, case or event (see :mod:`carbonqa.cases`).

``checks`` and ``detectors`` are separate packages (they import ``carbonqa``, never the reverse): they
are imported lazily, and when one is not installed the partition records it under ``missing`` in its
counts instead of failing. Errors *inside* them propagate (the task fails and Airflow retries): a
silently skipped detector would make its findings look resolved and lower the cases' scores.

Detectors need national peers, and the verifier detectors need every rule finding of the country as
``prior``: :func:`screen_partition` shares one national :class:`~carbonqa.screening.ScreenContext` per
(run, year, store) in a module-level cache, runs rules and detectors over the whole country once per
process in it, and keeps each partition's share (findings are routed by ``province_code``; one without
a province cannot be routed and is dropped, except tips whose enterprise is unknown). A process
screening 31 provinces (the CLI, a DAG task holding a chunk of partitions) thus loads and screens the
country once.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from carbonqa.findings import Finding
from carbonqa.screening import ScreenContext
from carbonqa.store.db import get_engine, session_scope
from carbonqa.store.models import Bundle, ScreeningRun, now_cst, raw_table

__all__ = [
    "discover_bundles",
    "ingest_one",
    "partitions",
    "screen_partition",
    "update_cases",
    "export",
    "start_run",
    "finish_run",
    "screen_cli",
    "run_night",
    "national_context",
    "clear_context_cache",
]

log = logging.getLogger(__name__)

#: National contexts shared across partitions of one run in one process: (run_id, year, url) → ctx.
_NATIONAL_CACHE: dict[tuple[str, int, str | None], ScreenContext] = {}
_CACHE_MAX = 2


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
    Interval bounds may be datetimes or ISO strings (aware ones are converted to naive CST).
    """
    dis, die = _naive_cst(data_interval_start), _naive_cst(data_interval_end)
    with session_scope(url) as s:
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
    """Read-modify-write a run's JSON columns under a row lock (PostgreSQL), retrying SQLite busy errors."""
    for i in range(attempts):
        try:
            with session_scope(url) as s:
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


def ingest_one(bundle_dir: str, url: str | None = None) -> dict[str, Any]:
    """Ingest one bundle (:func:`carbonqa.ingest.ingest_bundle`) and say which partitions it touched.

    Returns:
        ``{"bundle_id", "outcome", "years", "provinces", "quarantined", "reason"}`` — ``years`` (ints)
        and ``provinces`` (codes) of the rows this bundle added (empty for a duplicate).
    """
    from carbonqa.ingest import ingest_bundle

    res = ingest_bundle(Path(bundle_dir), url=url)
    years, provinces = _touched(res.bundle_id, url) if res.outcome in ("landed", "partial") else (set(), set())
    return {
        "bundle_id": res.bundle_id,
        "outcome": res.outcome,
        "years": sorted(years),
        "provinces": sorted(provinces),
        "quarantined": int(getattr(res, "quarantine_count", 0) or 0),
        "reason": res.reason,
    }


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
def national_context(run_id: str, year: int, url: str | None = None) -> ScreenContext:
    """Return the process-wide national :class:`ScreenContext` of (run, year, store), created on first use."""
    key = (run_id, int(year), url)
    ctx = _NATIONAL_CACHE.get(key)
    if ctx is None:
        while len(_NATIONAL_CACHE) >= _CACHE_MAX:
            _NATIONAL_CACHE.pop(next(iter(_NATIONAL_CACHE)))
        ctx = ScreenContext(year=int(year), provinces=None, run_id=run_id, url=url)
        _NATIONAL_CACHE[key] = ctx
    return ctx


def clear_context_cache() -> None:
    """Forget cached national contexts (tests; after ingesting new data into a live process)."""
    _NATIONAL_CACHE.clear()


def _run_package(name: str, ctx: ScreenContext, missing: list[str], prior: list[Finding] | None = None) -> list[Finding]:
    """``<name>.run(ctx[, prior=...])``; a package that is not installed (or has no ``run``) → ``missing``."""
    import importlib

    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == name:
            missing.append(name)
            log.warning("package %s is not installed: its findings are skipped this run", name)
            return []
        raise
    run = getattr(mod, "run", None)
    if run is None:
        missing.append(name)
        log.warning("package %s has no run(ctx): its findings are skipped this run", name)
        return []
    if prior is not None and "prior" in inspect.signature(run).parameters:
        return list(run(ctx, prior=prior) or [])
    return list(run(ctx) or [])


def _national_findings(nat: ScreenContext) -> tuple[list[Finding], list[Finding], list[str]]:
    """Rules and detectors over the whole country, once per national context (cached in it).

    Detectors get the rules' findings as ``prior`` (the verifier detectors pool every client's
    anomalies per verifier across provinces, so the prior must be national too). Rules give the same
    findings (same ids) whether run nationally or per province, so each partition keeps its share.

    Returns:
        ``(rule findings, detector findings, missing packages)``, all provinces.
    """
    key = "pipeline.national_findings"
    if key not in nat._cache:
        missing: list[str] = []
        rules = _run_package("checks", nat, missing)
        dets = _run_package("detectors", nat, missing, prior=rules)
        nat._cache[key] = (rules, dets, missing)
    return nat._cache[key]


def _apply_suppressions(findings: list[Finding], run_id: str, url: str | None) -> tuple[list[Finding], int]:
    """Downgrade findings covered by an approved suppression (:mod:`carbonqa.suppression`) to ``info``.

    Expiry and revocation are judged at the run's ``data_interval_end`` (never ``now()`` inside a
    task), falling back to the current time for CLI runs without an interval. Returns the findings and
    how many were suppressed.
    """
    from carbonqa.suppression import apply_suppressions, load_active_suppressions

    with session_scope(url) as s:
        run = s.get(ScreeningRun, run_id)
        at = (run.data_interval_end if run is not None else None) or now_cst()
    out = apply_suppressions(findings, load_active_suppressions(url, at), at)
    return out, sum(1 for a, b in zip(findings, out, strict=True) if a is not b)


def screen_partition(year: int, province_code: str, run_id: str, url: str | None = None) -> dict[str, Any]:
    """Screen one (year, province): checks + detectors + tips → suppressions → stored findings.

    Returns:
        ``{"year", "province_code", "findings", "new", "by_family", "by_severity", "by_package",
        "missing", "suppressed", "seconds"}`` — also recorded in the run's
        ``counts["partitions"]["<year>/<province>"]`` (which :func:`update_cases` reads to know what
        was screened).
    """
    from carbonqa.cases import store_findings, tip_findings

    t0 = time.perf_counter()
    prov = str(province_code)
    nat = national_context(run_id, year, url)
    ctx = ScreenContext(year=int(year), provinces=(prov,), run_id=run_id, url=url, _national=nat)
    rules, dets, missing = _national_findings(nat)
    missing = list(missing)
    by_pkg: dict[str, int] = {}
    findings: list[Finding] = []
    for pkg, fs in (("checks", rules), ("detectors", dets), ("tips", tip_findings(ctx.tips(), int(year)))):
        mine = [f for f in fs if f.province_code == prov or (f.province_code is None and pkg == "tips")]
        by_pkg[pkg] = len(mine)
        findings += mine
    findings, supp = _apply_suppressions(findings, run_id, url)
    stored = store_findings(findings, run_id, url)
    counts = {
        "year": int(year),
        "province_code": str(province_code),
        "findings": stored["total"],
        "new": stored["new"],
        "by_family": dict(sorted(Counter(f.family for f in findings).items())),
        "by_severity": dict(sorted(Counter(f.severity for f in findings).items())),
        "by_package": by_pkg,
        "missing": missing,
        "suppressed": supp,
        "seconds": round(time.perf_counter() - t0, 3),
    }

    def rec(run: ScreeningRun) -> None:
        c = dict(run.counts or {})
        parts = dict(c.get("partitions") or {})
        parts[f"{int(year)}/{province_code}"] = counts
        c["partitions"] = parts
        if missing:
            c["missing"] = sorted(set(c.get("missing") or []) | set(missing))
        run.counts = c

    _update_run_json(run_id, url, rec)
    return counts


def update_cases(run_id: str, years: list[int], url: str | None = None) -> dict[str, int]:
    """Attach the run's findings to cases, rescore, re-rank (see :func:`carbonqa.cases.update_cases`)."""
    from carbonqa import cases

    out = cases.update_cases(run_id, years, url=url)

    def rec(run: ScreeningRun) -> None:
        run.counts = {**(run.counts or {}), "cases": out}

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
) -> dict[str, Any]:
    """Run every stage in-process (what the DAG does, without Airflow); returns what each stage said.

    ``on_stage(name, seconds)`` is called after each stage (the national bench uses it).
    """
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    upgrade(url)
    start_run(run_id, trigger=trigger, url=url)
    stage: dict[str, float] = {}
    result: dict[str, Any] = {"run_id": run_id}

    def done(name: str, t0: float) -> None:
        stage[name] = time.perf_counter() - t0
        if on_stage:
            on_stage(name, stage[name])

    try:
        t0 = time.perf_counter()
        ingested = [ingest_one(str(b), url=url) for b in bundles]
        result["ingested"] = ingested
        bids = [i["bundle_id"] for i in ingested]
        if bids:
            _update_run_json(run_id, url, lambda r: setattr(r, "bundle_ids", sorted(set(r.bundle_ids or []) | set(bids))))
        done("ingest", t0)

        t0 = time.perf_counter()
        parts = partitions(year, url=url)
        result["partitions"] = [screen_partition(p["year"], p["province_code"], run_id, url=url) for p in parts]
        done("screen", t0)

        t0 = time.perf_counter()
        years = sorted({p["year"] for p in parts})
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


def screen_cli(bundles: list[Path], year: int | None, url: str | None = None) -> dict[str, Any]:
    """``carbonqa screen``: ingest → all partitions → cases → export, then print a ranked summary."""
    import polars as pl

    from carbonqa.cases import case_frame

    run_id = f"cli-{now_cst():%Y%m%dT%H%M%S}"
    res = run_night(bundles, year, run_id, url=url, trigger="cli")
    for i in res["ingested"]:
        print(f"ingest {i['bundle_id']}: {i['outcome']} (years {i['years']}, provinces {len(i['provinces'])})")
    n_find = sum(p["findings"] for p in res["partitions"])
    missing = sorted({m for p in res["partitions"] for m in p["missing"]})
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
