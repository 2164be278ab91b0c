"""Reading the current state of raw submissions as polars frames.

"Current" = for each contract key the row with the highest ``record_version`` — and for
``monthly_reports``, first the highest submitter ``version`` of a (unit, period). Older versions are
never deleted; :func:`history` returns them all.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.store.db import get_engine
from carbonqa.store.models import raw_table

__all__ = ["current", "history", "CURRENT_KEYS"]

#: The key that "current" is taken over, per table (contract key minus the submitter's version).
CURRENT_KEYS: dict[str, tuple[str, ...]] = {
    name: tuple(k for k in t.key if k != "version") for name, t in contract.TABLES.items() if t.kind != "telemetry"
}


def _schema(name: str, with_meta: bool) -> dict[str, pl.DataType]:
    schema = dict(contract.polars_schema(name))
    if with_meta:
        schema |= {"record_version": pl.Int64(), "bundle_id": pl.String(), "ingested_at": pl.Datetime("us")}
    return schema


def _read(stmt: sa.Select, url: str | None, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows of ``stmt`` (selecting exactly ``schema``'s columns, SQLAlchemy's type processing applied) as a frame."""
    with get_engine(url).connect() as conn:
        return pl.read_database(stmt, conn, schema_overrides=schema).select(list(schema))


def current(
    name: str,
    url: str | None = None,
    where: sa.ColumnElement[bool] | None = None,
    with_meta: bool = False,
) -> pl.DataFrame:
    """Current rows of raw table ``name`` as a polars frame in contract column order.

    Args:
        name: contract table name (not ``telemetry``: see :mod:`carbonqa.lake`).
        url: case-store URL (default: settings).
        where: optional SQLAlchemy filter on the raw table's columns, e.g.
            ``raw_table("monthly_reports").c.period.like("2024-%")``.
        with_meta: add ``record_version``, ``bundle_id``, ``ingested_at``.

    Returns:
        One row per key, dtypes of :func:`carbonqa.contract.polars_schema`.

    Raises:
        KeyError: for ``telemetry`` or an unknown table.
    """
    t = raw_table(name)
    keys = [t.c[k] for k in CURRENT_KEYS[name]]
    order = [t.c.version.desc(), t.c.record_version.desc()] if name == "monthly_reports" else [t.c.record_version.desc()]
    rn = sa.func.row_number().over(partition_by=keys, order_by=order).label("_rn")
    inner = sa.select(t, rn)
    if where is not None:
        inner = inner.where(where)
    sub = inner.subquery()
    schema = _schema(name, with_meta)
    return _read(sa.select(*(sub.c[c] for c in schema)).where(sub.c._rn == 1), url, schema)


def history(name: str, url: str | None = None, where: sa.ColumnElement[bool] | None = None) -> pl.DataFrame:
    """Every stored version of raw table ``name`` (with ``record_version``, ``bundle_id``, ``ingested_at``)."""
    t = raw_table(name)
    schema = _schema(name, True)
    stmt = sa.select(*(t.c[c] for c in schema))
    if where is not None:
        stmt = stmt.where(where)
    return _read(stmt, url, schema)
