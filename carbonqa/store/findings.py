"""The findings store: finding ↔ row, the prior a later stage reads back, and the partitions a run screened.

Stages of a night share nothing but this store (issue 13 item 3): :func:`store_findings` writes a stage's
findings idempotently (a finding row is immutable; a re-run only moves ``last_run_id``),
:func:`record_partitions` records which (year, province) partitions a stage finished
(table ``screened_partitions``), :func:`screened_provinces` reads them back (the verifier stage and the
case update ask which provinces a run screened), and :func:`stored_prior` reads a run's findings back as
:class:`~carbonqa.findings.Finding` (the verifier detectors' prior) — the same whether the stages ran in
one process or one process per task.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa.findings import Finding
from carbonqa.store.db import get_engine, session_scope
from carbonqa.store.models import FindingRow, ScreenedPartition, now_cst

__all__ = ["store_findings", "stored_prior", "record_partitions", "screened_provinces"]

_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit


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



def record_partitions(
    s: Session, run_id: str, year: int, stage: str, by_prov: Mapping[str, Mapping[str, Any]]
) -> None:
    """Record that ``stage`` (``screen`` | ``detect``) of run ``run_id`` finished these provinces of ``year``.

    ``by_prov`` maps a province code to the stage's counts (``findings``, ``new``, ``suppressed``,
    ``seconds``). A retried stage replaces its rows (idempotent). Runs in the caller's session ``s``.
    """
    t = ScreenedPartition.__table__
    provs = sorted(by_prov)
    if not provs:
        return
    s.execute(sa.delete(t).where(t.c.run_id == run_id, t.c.year == int(year), t.c.stage == stage,
                                 t.c.province_code.in_(provs)))
    now = now_cst()
    s.execute(sa.insert(t), [
        {"run_id": run_id, "year": int(year), "province_code": p, "stage": stage,
         "findings": int(by_prov[p].get("findings") or 0), "new": int(by_prov[p].get("new") or 0),
         "suppressed": int(by_prov[p].get("suppressed") or 0), "seconds": float(by_prov[p].get("seconds") or 0.0),
         "recorded_at": now}
        for p in provs
    ])


def screened_provinces(s: Session, run_id: str, year: int, stage: str = "screen") -> set[str] | None:
    """Provinces of ``year`` whose ``stage`` run ``run_id`` recorded; ``None`` when the run recorded none at all."""
    t = ScreenedPartition.__table__
    rows = s.execute(sa.select(t.c.year, t.c.province_code, t.c.stage).where(t.c.run_id == run_id)).all()
    if not rows:
        return None
    return {p for y, p, st in rows if y == int(year) and st == stage}


def stored_prior(run_id: str, year: int, provinces: Iterable[str], exclude_codes: Iterable[str] = (), url: str | None = None) -> list[Finding]:
    """The rule and local-detector findings run ``run_id`` stored for ``year``, back as :class:`Finding`.

    Rows with ``last_run_id = run_id`` in ``provinces``, of ``year`` (or without a year, or of
    ``year − 1`` without a period: annual reports and verifications of the previous year are screened
    with ``year``), excluding tips and ``exclude_codes`` (the verifier detectors' own codes, which a
    previous attempt of :func:`screen_national` may have stored). Severity is the original one
    (suppression is re-applied downstream, as in the in-process path), ordered by finding id.

    A stored finding is immutable: its score and tonnes are those of the night it was first seen.
    """
    ft = FindingRow.__table__
    provs = sorted(set(provinces))
    y = int(year)
    q = (
        sa.select(ft)
        .where(
            ft.c.last_run_id == run_id,
            ft.c.province_code.in_(provs),
            ft.c.family != "tip",
            sa.or_(ft.c.year == y, ft.c.year.is_(None), sa.and_(ft.c.year == y - 1, ft.c.period.is_(None))),
        )
        .order_by(ft.c.finding_id)
    )
    excl = set(exclude_codes)
    out: list[Finding] = []
    with get_engine(url).connect() as conn:
        for r in conn.execute(q).mappings():
            if r["rule_code"] in excl:
                continue
            out.append(
                Finding(
                    rule_code=r["rule_code"], family=r["family"], severity=r["original_severity"] or r["severity"],
                    enterprise_id=r["enterprise_id"], unit_id=r["unit_id"], year=r["year"], period=r["period"],
                    province_code=r["province_code"], message_zh=r["message_zh"] or "", message_en=r["message_en"] or "",
                    observed=_loads(r["observed"]), expected=_loads(r["expected"]), score=float(r["score"]),
                    tco2_at_stake=float(r["tco2_at_stake"]), evidence=_loads(r["evidence"]) or {},
                    detail_key=r["detail_key"] or "", source_table=r["source_table"],
                )
            )
    return out


def _loads(v: str | None) -> Any:
    """A stored JSON text column → its value (a text that is not JSON is returned as it is; NULL → ``None``)."""
    if v is None:
        return None
    try:
        return json.loads(v)
    except ValueError:
        return v
