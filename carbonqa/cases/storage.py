"""Finding storage: stable case ids, idempotent finding rows, and the row helpers the case modules share.

**Findings.** :func:`store_findings` is idempotent: new finding ids are inserted, existing rows only get
``last_run_id`` updated — a finding row is otherwise immutable. :func:`case_id_for` is the case id of an
enterprise-year, ``CQ-<year>-<enterprise_id>`` (stable across nights: deterministic from what the case
is about).

Row helpers used by :mod:`carbonqa.cases.update` and :mod:`carbonqa.cases.export`: :func:`_chunks`
(``IN (…)`` lists under SQLite's bound-parameter limit), :func:`_insert_ignore` (``INSERT … ON CONFLICT
DO NOTHING`` on PostgreSQL and SQLite) and :func:`_jsonable` (dates → ISO 8601 strings for JSON
columns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa.findings import Finding
from carbonqa.store.db import session_scope
from carbonqa.store.models import FindingRow, now_cst

__all__ = ["case_id_for", "store_findings"]

_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit


def case_id_for(enterprise_id: str, year: int) -> str:
    """Stable case id of an enterprise-year: ``CQ-<year>-<enterprise_id>``."""
    return f"CQ-{int(year)}-{enterprise_id}"


def _chunks(seq: Sequence[Any], n: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _insert_ignore(session: Session, table: sa.Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT rows, skipping ones whose key already exists (concurrent partitions may race)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
    else:  # pragma: no cover - other databases are not supported targets
        stmt = sa.insert(table)
    for part in _chunks(rows, 500):
        session.execute(stmt, list(part))


def store_findings(findings: Iterable[Finding], run_id: str, url: str | None = None) -> dict[str, int]:
    """Store findings idempotently.

    New finding ids are inserted with ``first_run_id = last_run_id = run_id``; findings already stored
    only get ``last_run_id = run_id`` (nothing else of a stored finding ever changes). Duplicate ids in
    the input keep the first occurrence.

    Returns:
        ``{"new": n inserted, "seen": n already stored, "total": n distinct}``.
    """
    by_id: dict[str, Finding] = {}
    for f in findings:
        by_id.setdefault(f.id, f)
    ids = list(by_id)
    table = FindingRow.__table__
    with session_scope(url) as s:
        existing: set[str] = set()
        for part in _chunks(ids):
            existing |= set(
                s.scalars(sa.select(FindingRow.finding_id).where(FindingRow.finding_id.in_(part)))
            )
        now = now_cst()
        rows = []
        for fid in ids:
            if fid in existing:
                continue
            d = by_id[fid].to_row()
            rows.append(
                {
                    "finding_id": fid,
                    "first_run_id": run_id,
                    "last_run_id": run_id,
                    "rule_code": d["rule_code"],
                    "family": d["family"],
                    "severity": d["severity"],
                    "original_severity": d["original_severity"] or d["severity"],
                    "enterprise_id": d["enterprise_id"],
                    "unit_id": d["unit_id"],
                    "year": int(d["year"]) if d["year"] is not None else None,
                    "period": d["period"],
                    "province_code": d["province_code"],
                    "message_zh": d["message_zh"],
                    "message_en": d["message_en"],
                    "observed": d["observed"],
                    "expected": d["expected"],
                    "score": float(d["score"]),
                    "tco2_at_stake": float(d["tco2_at_stake"]),
                    "evidence": d["evidence"],
                    "detail_key": d["detail_key"],
                    "source_table": d["source_table"],
                    "suppression_id": d["suppression_id"],
                    "created_at": now,
                }
            )
        _insert_ignore(s, table, rows, ["finding_id"])
        seen = [i for i in ids if i in existing]
        for part in _chunks(seen):
            s.execute(
                sa.update(table)
                .where(table.c.finding_id.in_(part), table.c.last_run_id != run_id)
                .values(last_run_id=run_id)
            )
    return {"new": len(rows), "seen": len(seen), "total": len(ids)}


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in d.items()}
