"""Rules page (规则): the catalogue with fire counts in scope, and the suppressions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from carbonqa.catalogue import CATALOGUE
from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import _case_scope, _conn, _finding_scope
from carbonqa.store.models import (
    Case,
    FindingRow,
    Suppression,
)


# ---- rules, suppressions, runs ----------------------------------------------------------------------
def rules(scope: Scope, url: str | None = None) -> pl.DataFrame:
    """Return the catalogue with how often each rule fired in ``scope``.

    Returns ``code, family, severity, kind, title_zh, title_en, description_zh, description_en, source,
    findings, enterprises, suppressed, last_run_id`` — one row per catalogue code, plus codes seen in
    findings but not (yet) catalogued; sorted by findings, descending.
    """
    stmt = _finding_scope(
        sa.select(
            FindingRow.rule_code,
            sa.func.min(FindingRow.family),
            sa.func.count(),
            sa.func.count(sa.distinct(FindingRow.enterprise_id)),
            sa.func.count(FindingRow.suppression_id),
            sa.func.max(FindingRow.last_run_id),
        ).group_by(FindingRow.rule_code),
        scope,
    )
    with _conn(url) as conn:
        fired = {r[0]: r for r in conn.execute(stmt).fetchall()}
    codes = list(CATALOGUE) + sorted(c for c in fired if c not in CATALOGUE)
    recs = []
    for code in codes:
        r = CATALOGUE.get(code)
        f = fired.get(code)
        recs.append(
            {
                "code": code,
                "family": r.family if r else (f[1] if f else ""),
                "severity": r.severity if r else "",
                "kind": r.kind if r else "",
                "title_zh": r.title_zh if r else "",
                "title_en": r.title_en if r else "",
                "description_zh": r.description_zh if r else "",
                "description_en": r.description_en if r else "",
                "source": r.source if r else "",
                "findings": int(f[2]) if f else 0,
                "enterprises": int(f[3]) if f else 0,
                "suppressed": int(f[4]) if f else 0,
                "last_run_id": f[5] if f else None,
            }
        )
    schema: dict[str, pl.DataType] = {k: pl.String for k in recs[0]} if recs else {"code": pl.String}
    for k in ("findings", "enterprises", "suppressed"):
        if k in schema:
            schema[k] = pl.Int64
    frame = pl.DataFrame(recs, schema=schema)
    return frame.sort(["findings", "code"], descending=[True, False]) if recs else frame


def suppressions(scope: Scope, url: str | None = None, *, include_inactive: bool = True) -> pl.DataFrame:
    """Approved suppressions visible to ``scope`` with ``is_active`` (not revoked, not expired).

    National and auditor readers see all; provincial and municipal readers see the ones without an
    enterprise (rule-wide) and those about enterprises with a case in their jurisdiction.
    """
    stmt = sa.select(Suppression)
    if scope.role not in ("national", "auditor"):
        ents = sa.select(Case.enterprise_id).where(_case_scope(scope))
        stmt = stmt.where(sa.or_(Suppression.enterprise_id.is_(None), Suppression.enterprise_id.in_(ents)))
    with _conn(url) as conn:
        rows = conn.execute(stmt.order_by(Suppression.approved_at.desc())).scalars().all()
    now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    cols = [
        "suppression_id", "rule_code", "enterprise_id", "unit_id", "period_from", "period_to", "reason",
        "approved_by", "approved_at", "expires_at", "revoked_at",
    ]
    schema: dict[str, pl.DataType] = {c: pl.String for c in cols}
    schema |= {"suppression_id": pl.Int64, "approved_at": pl.Datetime("us"), "expires_at": pl.Datetime("us"),
               "revoked_at": pl.Datetime("us")}
    frame = pl.DataFrame({c: [getattr(r, c) for r in rows] for c in cols}, schema=schema)
    frame = frame.with_columns(
        is_active=pl.col("revoked_at").is_null() & (pl.col("expires_at").is_null() | (pl.col("expires_at") > now))
    )
    return frame if include_inactive else frame.filter(pl.col("is_active"))
