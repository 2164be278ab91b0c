"""Runs page (运行记录): screening runs, their stages and counts cut to the reader's jurisdiction."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import _case_scope, _conn, _finding_scope
from carbonqa.store.models import (
    Case,
    CaseEvent,
    FindingRow,
    ScreeningRun,
)

_RUN_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String,
    "started_at": pl.Datetime("us"),
    "finished_at": pl.Datetime("us"),
    "status": pl.String,
    "trigger": pl.String,
    "duration_s": pl.Float64,
    "bundles": pl.Int64,
    "stage_seconds": pl.String,
    "counts": pl.String,
    "error": pl.String,
}


def run_summary(counts: dict[str, Any] | None, *, slowest: int = 5) -> dict[str, Any]:
    """A readable digest of one screening run's ``counts`` (the JSON the pipeline records).

    Args:
        counts: ``ScreeningRun.counts`` — ``partitions`` (``"<year>/<province>" → {findings, new,
            by_family, by_severity, seconds, missing, error?}``), optional ``national``
            (``"<year>" → {findings, new, by_severity, …}``), ``cases`` and ``missing``.
        slowest: how many of the slowest partitions to list.

    Returns:
        ``{"findings", "new", "by_family" (family → n, descending), "by_severity", "partitions"
        (screened), "failed" (partition keys that recorded an error or a failed status), "provinces",
        "years" (ascending), "national_findings", "cases" (the case stage's counts: ``created``,
        ``attached``, … — or just ``cases`` when the run recorded a bare number),
        "missing" (packages that were not importable), "slowest"}`` — ``slowest`` a frame
        ``year, province_code, seconds, findings`` of the slowest partitions, slowest first.
    """
    c = dict(counts or {})
    parts = {str(k): dict(v) for k, v in dict(c.get("partitions") or {}).items() if isinstance(v, dict)}
    national = {str(k): dict(v) for k, v in dict(c.get("national") or {}).items() if isinstance(v, dict)}
    fam: Counter[str] = Counter()
    sev: Counter[str] = Counter()
    for v in [*parts.values(), *national.values()]:
        fam.update({str(k): int(n) for k, n in dict(v.get("by_family") or {}).items() if _is_number(n)})
        sev.update({str(k): int(n) for k, n in dict(v.get("by_severity") or {}).items() if _is_number(n)})
    failed = sorted(k for k, v in parts.items() if v.get("error") or v.get("status") == "failed")
    missing = sorted({str(m) for v in [*parts.values(), *national.values()] for m in v.get("missing") or []}
                     | {str(m) for m in c.get("missing") or []})
    rows = [
        {"year": int(v.get("year") or k.split("/", 1)[0]), "province_code": str(v.get("province_code") or k.split("/", 1)[-1]),
         "seconds": float(v.get("seconds") or 0.0), "findings": int(v.get("findings") or 0)}
        for k, v in parts.items()
    ]
    schema = {"year": pl.Int64, "province_code": pl.String, "seconds": pl.Float64, "findings": pl.Int64}
    slow = (pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)).sort(
        ["seconds", "year", "province_code"], descending=[True, False, False]).head(slowest)
    return {
        "findings": sum(int(v.get("findings") or 0) for v in [*parts.values(), *national.values()]),
        "new": sum(int(v.get("new") or 0) for v in [*parts.values(), *national.values()]),
        "by_family": dict(sorted(fam.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_severity": dict(sev),
        "partitions": len(parts),
        "failed": failed,
        "provinces": len({r["province_code"] for r in rows}),
        "years": sorted({r["year"] for r in rows}),
        "national_findings": sum(int(v.get("findings") or 0) for v in national.values()),
        "cases": dict(c["cases"]) if isinstance(c.get("cases"), dict) else {"cases": c.get("cases") or 0},
        "missing": missing,
        "slowest": slow,
    }


def _run_records(url: str | None, limit: int, scope: Scope | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` runs; with a provincial or municipal ``scope``, counts and errors cut to it."""
    with _conn(url) as conn:
        rows = conn.execute(sa.select(ScreeningRun).order_by(ScreeningRun.started_at.desc()).limit(limit)).scalars().all()
        recs = [
            {
                "run_id": r.run_id,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "status": r.status,
                "trigger": r.trigger,
                "duration_s": (r.finished_at - r.started_at).total_seconds() if r.finished_at and r.started_at else None,
                "bundles": len(r.bundle_ids or []),
                "stage_seconds": {str(k): float(v) for k, v in (r.stage_seconds or {}).items() if _is_number(v)},
                "counts": dict(r.counts or {}),
                "error": r.error,
            }
            for r in rows
        ]
        if scope is not None and scope.role in ("provincial", "municipal"):
            for rec in recs:
                rec["counts"] = _scoped_counts(conn, scope, rec["run_id"], rec["counts"])
                # a run's error text may quote any province's rows: a regional reader learns only that it failed
                rec["error"] = _ERROR_WITHHELD if rec["error"] else None
    return recs


#: What a provincial or municipal reader sees in place of a failed run's (or partition's) error text.
_ERROR_WITHHELD = "withheld"


def _scoped_counts(conn: Session, scope: Scope, run_id: str, counts: dict[str, Any]) -> dict[str, Any]:
    """A run's ``counts`` as a provincial or municipal reader may see them (the format of ``counts``).

    Only the partitions of the reader's province are kept (their error text withheld), the national
    detectors' block is dropped, and the case stage counts only the cases in scope that the run opened.
    A municipal reader's partitions carry the findings of their city's cases (partitions are per
    province), so no figure of a neighbouring city or province leaves this function.
    """
    parts: dict[str, Any] = {}
    for key, v in dict(counts.get("partitions") or {}).items():
        if not isinstance(v, dict):
            continue
        prov = str(v.get("province_code") or str(key).split("/", 1)[-1])
        if prov != scope.province_code:
            continue
        v = dict(v)
        if v.get("error"):
            v["error"] = _ERROR_WITHHELD
        parts[str(key)] = v
    if scope.role == "municipal" and parts:
        stmt = _finding_scope(
            sa.select(FindingRow.year, FindingRow.family, FindingRow.severity,
                      (FindingRow.first_run_id == run_id).label("is_new"), sa.func.count().label("n"))
            .where(FindingRow.last_run_id == run_id)
            .group_by(FindingRow.year, FindingRow.family, FindingRow.severity, sa.literal_column("is_new")),
            scope,
        )
        by_year: dict[int, dict[str, Any]] = {}
        for year, fam, sev, is_new, n in conn.execute(stmt).fetchall():
            d = by_year.setdefault(int(year), {"findings": 0, "new": 0, "by_family": Counter(), "by_severity": Counter()})
            d["findings"] += int(n)
            d["new"] += int(n) if is_new else 0
            d["by_family"][str(fam)] += int(n)
            d["by_severity"][str(sev)] += int(n)
        for key, v in parts.items():
            year = int(v.get("year") or str(key).split("/", 1)[0])
            d = by_year.get(year, {"findings": 0, "new": 0, "by_family": {}, "by_severity": {}})
            v.update(findings=d["findings"], new=d["new"], by_family=dict(d["by_family"]),
                     by_severity=dict(d["by_severity"]))
    created = conn.execute(
        sa.select(sa.func.count())
        .select_from(CaseEvent)
        .join(Case, Case.case_id == CaseEvent.case_id)
        .where(CaseEvent.actor == f"system:{run_id}", CaseEvent.action == "created", _case_scope(scope))
    ).scalar_one()
    return {"partitions": parts, "cases": {"created": int(created)}, "missing": list(counts.get("missing") or [])}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def runs(scope: Scope, url: str | None = None, *, limit: int = 60) -> pl.DataFrame:
    """Return the newest ``limit`` screening runs, newest first.

    A run's times and stages are national operational metadata that every reader may see; its
    ``counts`` and ``error`` are cut to a provincial or municipal reader's jurisdiction (partitions of
    their province only, findings of their city for a municipal reader, cases they can see; error text
    withheld — it may quote any province's rows). Returns ``run_id, started_at, finished_at, status,
    trigger, duration_s, bundles, stage_seconds, counts, error`` where ``stage_seconds`` and ``counts``
    are JSON text (see :func:`run_stages` for the stages as rows).
    """
    recs = _run_records(url, limit, scope)
    for r in recs:
        r["stage_seconds"] = json.dumps(r["stage_seconds"], ensure_ascii=False)
        r["counts"] = json.dumps(r["counts"], ensure_ascii=False, default=str)
    return pl.DataFrame(recs, schema=_RUN_SCHEMA) if recs else pl.DataFrame(schema=_RUN_SCHEMA)


def run_stages(scope: Scope, url: str | None = None, *, limit: int = 60) -> pl.DataFrame:
    """Seconds per stage of the newest ``limit`` runs as rows ``run_id, started_at, stage, seconds``."""
    del scope  # not jurisdictional, as runs()
    recs = [
        {"run_id": r["run_id"], "started_at": r["started_at"], "stage": k, "seconds": v}
        for r in _run_records(url, limit)
        for k, v in r["stage_seconds"].items()
    ]
    schema = {"run_id": pl.String, "started_at": pl.Datetime("us"), "stage": pl.String, "seconds": pl.Float64}
    return pl.DataFrame(recs, schema=schema) if recs else pl.DataFrame(schema=schema)
