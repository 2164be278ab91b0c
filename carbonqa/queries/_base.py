"""Shared helpers of the scoped reads: sessions, frames, the reader's scope in SQL, labels."""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa import contract
from carbonqa.jurisdiction import Scope
from carbonqa.store.db import get_engine
from carbonqa.store.models import (
    Case,
    CaseFinding,
    FindingRow,
    raw_table,
)

#: Statuses of a case still being worked on (not yet closed by an outcome or a suppression).
OPEN_STATUSES: tuple[str, ...] = ("new", "triaged", "assigned", "inspection_scheduled")

#: Sort keys of the queue: risk (rank order), tCO₂ at stake, most recently updated.
SORTS: tuple[str, ...] = ("risk", "tco2", "updated")


def _not_found(case_id: str) -> str:
    return f"no case {str(case_id)[:80]!r}"


def province_label(code: str | None, lang: str = "zh") -> str:
    """Name of a GB/T 2260 province (``zh`` 中文 or ``en``); foreign/unknown codes are returned as is."""
    if code is None:
        return ""
    names = contract.PROVINCES.get(code)
    if names is None:
        return code
    return names[1] if lang == "zh" else names[0]


def _conn(url: str | None) -> Session:
    """Open a read session (ORM entities and Core rows alike); closed by its ``with`` block."""
    return Session(get_engine(url))


def _frame(rows: list[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    data = {k: [r._mapping[k] for r in rows] for k in schema}
    return pl.DataFrame(data, schema=schema)


def _case_scope(scope: Scope) -> sa.ColumnElement[bool]:
    return scope.clause(Case.province_code, Case.city_name)


def _finding_scope(stmt: sa.Select, scope: Scope) -> sa.Select:
    """Restrict a select over ``FindingRow`` to the reader's jurisdiction.

    National and auditor readers see every finding; provincial readers the findings routed to their
    province; municipal readers only findings attached to a case in their city (findings carry no
    city of their own).
    """
    if scope.role in ("national", "auditor"):
        return stmt
    if scope.role == "provincial":
        return stmt.where(FindingRow.province_code == scope.province_code)
    in_city = (
        sa.select(CaseFinding.finding_id)
        .join(Case, Case.case_id == CaseFinding.case_id)
        .where(_case_scope(scope))
    )
    return stmt.where(FindingRow.finding_id.in_(in_city))


def _enterprise_names(conn: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    t = raw_table("enterprises")
    rows = conn.execute(
        sa.select(t.c.enterprise_id, t.c.enterprise_name, t.c.record_version)
        .where(t.c.enterprise_id.in_(ids))
        .order_by(t.c.record_version)
    ).fetchall()
    return {r[0]: r[1] for r in rows}  # later versions overwrite earlier ones


def _year_periods(year: int) -> tuple[str, str]:
    return f"{year}-01", f"{year}-12"


#: Case statuses in Chinese and English (the dashboard and the brief show these, never the codes).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "new": ("新建", "New"),
    "triaged": ("已初审", "Triaged"),
    "assigned": ("已分派", "Assigned"),
    "inspection_scheduled": ("已安排现场检查", "Inspection scheduled"),
    "confirmed": ("已查实", "Confirmed"),
    "dismissed": ("已排除", "Dismissed"),
    "suppressed": ("已豁免", "Suppressed"),
}

#: Case-history actions (``case_events.action``) in Chinese and English.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "created": ("立案", "Opened"),
    "status": ("状态变更", "Status change"),
    "assign": ("分派", "Assignment"),
    "note": ("备注", "Note"),
    "outcome": ("检查结果", "Inspection outcome"),
    "rescored": ("重新评分", "Re-scored"),
    "findings": ("新增发现", "New findings"),
}

_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "risk_score": ("风险分", "risk score"),
    "rank": ("排名", "rank"),
    "tco2_at_stake": ("涉及排放量 (tCO₂)", "at stake (tCO₂)"),
    "cny_at_stake": ("涉及金额 (元)", "at stake (CNY)"),
    "n_findings": ("发现数", "findings"),
    "p_confirm": ("查实概率", "p(confirm)"),
}


def _label(table: dict[str, tuple[str, str]], code: Any, lang: str) -> str:
    pair = table.get(str(code)) if code is not None else None
    return (pair[0] if lang == "zh" else pair[1]) if pair else ("" if code is None else str(code))


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
