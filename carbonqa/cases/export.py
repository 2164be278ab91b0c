"""The case export (CONTRACT.md §5) and its sidecar.

:func:`case_frame` is the export as a frame (:data:`carbonqa.contract.CASE_EXPORT_COLUMNS_V11`, rank
order, optionally scoped); :func:`export_cases` writes it as CSV or XLSX through
:func:`carbonqa.textsafe.write_table` and then :func:`write_sidecar` (sha256, row count and the hash-chain
head a recipient can verify). :func:`p_confirm_of` reads ``p_confirm`` from a case's ``score_reasons``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.cases.storage import _jsonable
from carbonqa.jurisdiction import Scope
from carbonqa.regulation import cny_of
from carbonqa.store.db import get_engine
from carbonqa.store.models import Case, now_cst

__all__ = ["case_frame", "export_cases", "write_sidecar", "p_confirm_of"]


_EXPORT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "enterprise_id": pl.String(),
    "unit_id": pl.String(),
    "year": pl.Int64(),
    "province_code": pl.String(),
    "city_name": pl.String(),
    "risk_score": pl.Float64(),
    "rank": pl.Int64(),
    "status": pl.String(),
    "families": pl.String(),
    "rule_codes": pl.String(),
    "tco2_at_stake": pl.Float64(),
    "summary": pl.String(),
    "cny_at_stake": pl.Float64(),
    "p_confirm": pl.Float64(),
}
assert tuple(_EXPORT_SCHEMA) == contract.CASE_EXPORT_COLUMNS_V11


def p_confirm_of(score_reasons: Any) -> float | None:
    """The ``p_confirm`` stored in a case's ``score_reasons`` (its ``evidence`` reason), else ``None``."""
    for r in score_reasons or ():
        if isinstance(r, dict) and r.get("code") == "evidence" and r.get("p_confirm") is not None:
            return float(r["p_confirm"])
    return None


def case_frame(url: str | None = None, scope: Scope | None = None) -> pl.DataFrame:
    """Cases as a frame with :data:`carbonqa.contract.CASE_EXPORT_COLUMNS_V11`, in rank order.

    The v1 columns, then ``cny_at_stake`` (``tco2_at_stake`` × the year's allowance price,
    :func:`carbonqa.regulation.allowance_price`, CNY, rounded to 1 yuan) and ``p_confirm`` (0–1, from the
    case's ``evidence`` reason; null for a case scored before it existed). Order: newest reporting year
    first, then national rank (1 first), then case id. Scoped to the reader's jurisdiction when
    ``scope`` is given (ranks stay national).
    """
    t = Case.__table__
    v1 = contract.CASE_EXPORT_COLUMNS
    stmt = sa.select(*[t.c[c] for c in v1], t.c.score_reasons)
    if scope is not None:
        stmt = stmt.where(scope.clause(t.c.province_code, t.c.city_name))
    stmt = stmt.order_by(t.c.year.desc(), t.c.rank.asc().nulls_last(), t.c.case_id)
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).fetchall()
    data: dict[str, list[Any]] = {c: [r[i] for r in rows] for i, c in enumerate(v1)}
    iy, it = v1.index("year"), v1.index("tco2_at_stake")
    data["cny_at_stake"] = [cny_of(r[it], r[iy]) for r in rows]
    data["p_confirm"] = [p_confirm_of(r[len(v1)]) for r in rows]
    return pl.DataFrame(data, schema=_EXPORT_SCHEMA)


def export_cases(out: Path, fmt: str = "csv", url: str | None = None, scope: Scope | None = None) -> int:
    """Write the case export (CONTRACT.md §5): one row per case, exact columns, national rank order.

    Args:
        out: file to write (parent folders are created).
        fmt: ``csv`` (UTF-8, header row) or ``xlsx`` (one sheet ``cases`` via polars ``write_excel``).
        url: case-store URL (default: settings).
        scope: restrict to a reader's jurisdiction (``None`` = everything).

    Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) are
    prefixed with ``'`` (:mod:`carbonqa.textsafe`, OWASP CSV Injection guidance).

    Returns:
        Number of cases written.

    Raises:
        ValueError: unknown format.
    """
    from carbonqa.textsafe import write_table

    n = write_table(case_frame(url, scope), Path(out), fmt, "cases")
    write_sidecar(Path(out), n, url)
    return n


def write_sidecar(out: Path, rows: int, url: str | None = None) -> Path:
    """Write ``<out>.sidecar.json`` beside an export: what a recipient needs to trust the file.

    ``{"file", "sha256" (of the file's bytes), "rows", "generated_at" (Asia/Shanghai ISO 8601),
    "chain_head": {"run_id", "hash", "recorded_at"} | null}`` — the chain head is the latest recorded head
    of the store's tamper-evident hash chains (:func:`carbonqa.store.chain.latest_head`): anyone holding
    the sidecar can later run ``carbonqa verify`` and check that the store still extends that head. The
    promise the national platform makes with blockchain, kept with plain hashing (issue 14 item 4).

    Returns:
        The sidecar's path.
    """
    import hashlib
    import json

    from carbonqa.store import chain

    with get_engine(url).connect() as conn:
        head = chain.latest_head(conn)
    h = hashlib.sha256()
    with open(out, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    side = Path(f"{out}.sidecar.json")
    side.write_text(
        json.dumps(
            {
                "file": Path(out).name,
                "sha256": h.hexdigest(),
                "rows": rows,
                "generated_at": now_cst().isoformat(),
                "chain_head": None
                if head is None
                else {"run_id": head[0], "hash": head[1], "recorded_at": _jsonable({"t": head[2]})["t"]},
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return side
