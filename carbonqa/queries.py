"""Every read the dashboard makes, scoped by the reader's jurisdiction (国家 / 省 / 市).

Each public function takes the reader's :class:`~carbonqa.jurisdiction.Scope` first and applies it in
SQL (``Scope.clause``) or checks it (``Scope.require``) before anything leaves this module: a municipal
inspector cannot read another city's case by id, through a filter or through an export, whatever the UI
does. Reads return polars frames (picklable, so the dashboard can cache them) or small dataclasses.

| function | what | scoped by |
|---|---|---|
| :func:`overview` | cases and tCO₂ at stake by province / family / status, trend over nights, last run | cases in scope |
| :func:`case_queue` | one page of the filtered, risk-sorted queue with counts | cases in scope |
| :func:`queue_options` | values for the queue's filter widgets | cases in scope |
| :func:`export_queue` | the filtered queue as CSV / XLSX (CONTRACT.md §5 columns) | cases in scope |
| :func:`get_case` | one case row | raises ``CaseNotFound`` (missing and out of scope alike) |
| :func:`case_detail` | the evidence pack of one case | as :func:`get_case` |
| :func:`assignable_users` | who a case in scope may be assigned to | users inside the scope |
| :func:`rules` | the catalogue with fire counts | findings in scope |
| :func:`suppressions` | approved suppressions | national/auditor all; others those touching their enterprises |
| :func:`runs` | screening runs, stage durations, counts, failures | counts and failures cut to the reader's jurisdiction |
| :func:`agency_queue` | agency cases (机构案件) and their clients | agencies with a client in scope; only in-scope clients |

Errors: :class:`CaseNotFound` (``KeyError``) for an unknown case id *and* for a case outside the
reader's jurisdiction, with the same message: an id answers alike whether it exists elsewhere or not
(no existence oracle).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import io
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa import contract
from carbonqa.catalogue import CATALOGUE
from carbonqa.errors import CaseNotFound
from carbonqa.jurisdiction import PermissionDenied, Scope
from carbonqa.store.db import get_engine
from carbonqa.store.models import (
    AgencyCase,
    AgencyCaseClient,
    Case,
    CaseEvent,
    CaseFinding,
    FindingRow,
    ScreeningRun,
    Suppression,
    User,
    raw_table,
)
from carbonqa.store.read import CURRENT_KEYS, current

__all__ = [
    "CaseNotFound",
    "PermissionDenied",
    "QueueFilter",
    "QueuePage",
    "Overview",
    "CaseDetail",
    "OPEN_STATUSES",
    "overview",
    "case_queue",
    "queue_options",
    "export_queue",
    "export_readable",
    "READABLE_COLUMNS",
    "get_case",
    "case_detail",
    "clear_national_cache",
    "assignable_users",
    "rules",
    "suppressions",
    "runs",
    "run_stages",
    "run_summary",
    "chain_head",
    "ensure_visible",
    "agency_queue",
    "province_label",
    "STATUS_LABELS",
    "ACTION_LABELS",
    "event_summary",
    "actor_label",
]

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


# ---- overview ---------------------------------------------------------------------------------------
@dataclass
class Overview:
    """Aggregates of the cases in one jurisdiction.

    Attributes:
        totals: ``cases``, ``open_cases``, ``tco2_at_stake`` (tCO₂), ``open_tco2_at_stake``, ``confirmed``,
            ``dismissed``, ``provinces``.
        by_province: ``province_code, province_zh, province_en, cases, open_cases, tco2_at_stake,
            confirmed`` sorted by tCO₂ at stake, descending.
        by_family: ``family, cases, tco2_at_stake`` (a case counts once in each of its families).
        by_city: ``province_code, city_name, cases, open_cases, tco2_at_stake, confirmed`` (city may be
            null), sorted by tCO₂ at stake, descending.
        by_status: ``status, cases, tco2_at_stake`` in workflow order.
        trend: one row per night (date): ``night, new_cases, new_findings, new_tco2_at_stake``.
        latest_run: the newest screening run as a dict (``stage_seconds`` and ``counts`` as dicts, and
            ``summary``: :func:`run_summary` of its counts) or ``None``; for a provincial or municipal
            reader its counts are cut to their jurisdiction and its error text withheld (see :func:`runs`).
    """

    totals: dict[str, float]
    by_province: pl.DataFrame
    by_family: pl.DataFrame
    by_status: pl.DataFrame
    trend: pl.DataFrame
    latest_run: dict[str, Any] | None
    by_city: pl.DataFrame = field(default_factory=pl.DataFrame)


def overview(scope: Scope, url: str | None = None, *, nights: int = 30, year: int | None = None) -> Overview:
    """Cases and tCO₂ at stake in ``scope`` by province, family and status; trend over the last ``nights``.

    ``year`` restricts every block (totals, breakdowns, trend) to the cases and findings of one reporting
    year, as the queue shows one year at a time; ``None`` counts every year.
    """
    case_year = [Case.year == int(year)] if year else []
    with _conn(url) as conn:
        rows = conn.execute(
            sa.select(Case.province_code, Case.status, Case.families, Case.tco2_at_stake, Case.city_name)
            .where(_case_scope(scope), *case_year)
        ).fetchall()
        created = conn.execute(
            sa.select(CaseEvent.at, Case.tco2_at_stake)
            .join(Case, Case.case_id == CaseEvent.case_id)
            .where(_case_scope(scope), CaseEvent.action == "created", *case_year)
        ).fetchall()
        fstmt = _finding_scope(
            sa.select(ScreeningRun.started_at, sa.func.count(FindingRow.finding_id).label("n"))
            .join(ScreeningRun, ScreeningRun.run_id == FindingRow.first_run_id)
            .where(*([FindingRow.year == int(year)] if year else []))
            .group_by(ScreeningRun.started_at),
            scope,
        )
        new_findings = conn.execute(fstmt).fetchall()
    cases = pl.DataFrame(
        {
            "province_code": [r[0] for r in rows],
            "status": [r[1] for r in rows],
            "families": [r[2] or "" for r in rows],
            "tco2_at_stake": [float(r[3] or 0.0) for r in rows],
            "city_name": [r[4] for r in rows],
        },
        schema={"province_code": pl.String, "status": pl.String, "families": pl.String, "tco2_at_stake": pl.Float64,
                "city_name": pl.String},
    ).with_columns(is_open=pl.col("status").is_in(OPEN_STATUSES))

    by_province = (
        cases.group_by("province_code")
        .agg(
            cases=pl.len(),
            open_cases=pl.col("is_open").sum(),
            tco2_at_stake=pl.col("tco2_at_stake").sum(),
            confirmed=(pl.col("status") == "confirmed").sum(),
        )
        .with_columns(
            province_zh=pl.col("province_code").map_elements(lambda c: province_label(c, "zh"), return_dtype=pl.String),
            province_en=pl.col("province_code").map_elements(lambda c: province_label(c, "en"), return_dtype=pl.String),
        )
        .sort(["tco2_at_stake", "province_code"], descending=[True, False])
        .select("province_code", "province_zh", "province_en", "cases", "open_cases", "tco2_at_stake", "confirmed")
    )
    by_city = (
        cases.group_by("province_code", "city_name")
        .agg(
            cases=pl.len(),
            open_cases=pl.col("is_open").sum(),
            tco2_at_stake=pl.col("tco2_at_stake").sum(),
            confirmed=(pl.col("status") == "confirmed").sum(),
        )
        .sort(["tco2_at_stake", "province_code", "city_name"], descending=[True, False, False], nulls_last=True)
    )
    by_family = (
        cases.with_columns(family=pl.col("families").str.split("|"))
        .explode("family")
        .filter(pl.col("family") != "")
        .group_by("family")
        .agg(cases=pl.len(), tco2_at_stake=pl.col("tco2_at_stake").sum())
        .sort(["tco2_at_stake", "family"], descending=[True, False])
    )
    order = {s: i for i, s in enumerate(contract.CASE_STATUSES)}
    by_status = (
        cases.group_by("status")
        .agg(cases=pl.len(), tco2_at_stake=pl.col("tco2_at_stake").sum())
        .with_columns(_o=pl.col("status").replace_strict(order, default=99, return_dtype=pl.Int64))
        .sort("_o")
        .drop("_o")
    )
    c_frame = pl.DataFrame(
        {"night": [r[0].date() for r in created], "tco2": [float(r[1] or 0.0) for r in created]},
        schema={"night": pl.Date, "tco2": pl.Float64},
    ).group_by("night").agg(new_cases=pl.len(), new_tco2_at_stake=pl.col("tco2").sum())
    f_frame = (
        pl.DataFrame(
            {"night": [r[0].date() for r in new_findings], "new_findings": [int(r[1]) for r in new_findings]},
            schema={"night": pl.Date, "new_findings": pl.Int64},
        )
        .group_by("night")
        .agg(pl.col("new_findings").sum())
    )
    trend = (
        c_frame.join(f_frame, on="night", how="full", coalesce=True)
        .with_columns(
            pl.col("new_cases").fill_null(0).cast(pl.Int64),
            pl.col("new_findings").fill_null(0).cast(pl.Int64),
            pl.col("new_tco2_at_stake").fill_null(0.0),
        )
        .sort("night")
        .tail(nights)
        .select("night", "new_cases", "new_findings", "new_tco2_at_stake")
    )
    totals = {
        "cases": cases.height,
        "open_cases": int(cases["is_open"].sum()),
        "tco2_at_stake": float(cases["tco2_at_stake"].sum()),
        "open_tco2_at_stake": float(cases.filter(pl.col("is_open"))["tco2_at_stake"].sum()),
        "confirmed": int((cases["status"] == "confirmed").sum()),
        "dismissed": int((cases["status"] == "dismissed").sum()),
        "provinces": by_province.height,
    }
    latest = _run_records(url, 1, scope)  # the run's counts cut to the reader's jurisdiction
    if latest:
        latest[0]["summary"] = run_summary(latest[0]["counts"])
    return Overview(
        totals=totals,
        by_province=by_province,
        by_family=by_family,
        by_city=by_city,
        by_status=by_status,
        trend=trend,
        latest_run=latest[0] if latest else None,
    )


# ---- the queue --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilter:
    """Filters of the case queue (empty tuple = no restriction).

    Attributes:
        province_codes / cities / families / statuses: allowed values (a case matches a family filter
            when any of its families is listed).
        years: allowed reporting years (ranks are per year, so a queue usually shows one year).
        min_score: lowest ``risk_score`` shown.
        assignee: a user name, ``"-"`` for unassigned cases, ``None`` for any.
        search: text found in the case id, enterprise id or name, unit id or name, city, province, or
            verifier or laboratory agency (see :func:`_search_clause`); scoped like every filter.
        sort: ``risk`` (national rank order), ``tco2`` (tCO₂ at stake) or ``updated`` (newest first).
    """

    province_codes: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    min_score: float = 0.0
    assignee: str | None = None
    search: str = ""
    sort: str = "risk"


@dataclass
class QueuePage:
    """One page of the queue.

    Attributes:
        rows: the page's cases (``case_id, enterprise_id, enterprise_name, unit_id, year, province_code,
            province_zh, city_name, risk_score, rank, status, families, rule_codes, tco2_at_stake,
            summary, assignee, updated_at, lock_version``).
        total: cases matching the filters (all pages).
        tco2_at_stake: their summed tCO₂ at stake.
        by_status: ``status → count`` over the matching cases.
        page / page_size / pages: pagination (``page`` is 1-based).
    """

    rows: pl.DataFrame
    total: int
    tco2_at_stake: float
    by_status: dict[str, int]
    page: int
    page_size: int
    pages: int


_QUEUE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String,
    "enterprise_id": pl.String,
    "unit_id": pl.String,
    "year": pl.Int64,
    "province_code": pl.String,
    "city_name": pl.String,
    "risk_score": pl.Float64,
    "rank": pl.Int64,
    "status": pl.String,
    "families": pl.String,
    "rule_codes": pl.String,
    "tco2_at_stake": pl.Float64,
    "summary": pl.String,
    "summary_en": pl.String,
    "assignee": pl.String,
    "updated_at": pl.Datetime("us"),
    "lock_version": pl.Int64,
}


def _queue_where(scope: Scope, f: QueueFilter) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = [_case_scope(scope)]
    if f.province_codes:
        conds.append(Case.province_code.in_(f.province_codes))
    if f.cities:
        conds.append(Case.city_name.in_(f.cities))
    if f.statuses:
        conds.append(Case.status.in_(f.statuses))
    if f.years:
        conds.append(Case.year.in_([int(y) for y in f.years]))
    if f.families:
        wrapped = sa.literal("|").concat(Case.families).concat("|")
        conds.append(sa.or_(*[wrapped.like(f"%|{fam}|%") for fam in f.families]))
    if f.min_score:
        conds.append(Case.risk_score >= f.min_score)
    if f.assignee == "-":
        conds.append(Case.assignee_user_id.is_(None))
    elif f.assignee:
        conds.append(User.username == f.assignee)
    if f.search.strip():
        conds.append(_search_clause(f.search))
    return conds


def _search_clause(text: str) -> sa.ColumnElement[bool]:
    """Cases matching the queue's search ``text`` (case-insensitive, ``%``/``_`` taken literally).

    A case matches when its case id, enterprise id or name, unit id or name, city, province, or verifier
    or laboratory agency (name or id) contains the text. Every enterprise name and city ever filed counts (a renamed plant is found under its old name). The
    clause only narrows: the reader's scope is another condition of the same query.
    """
    q = text.strip()[:100]
    pat = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

    def like(col: sa.ColumnElement) -> sa.ColumnElement[bool]:
        return col.ilike(pat, escape="\\")

    ent, unit, ag = raw_table("enterprises"), raw_table("units"), raw_table("agencies")
    ver, lab = raw_table("verifications"), raw_table("lab_reports")
    agencies = sa.select(ag.c.agency_id).where(sa.or_(like(ag.c.agency_name), like(ag.c.agency_id)))
    enterprises = sa.union(
        sa.select(ent.c.enterprise_id).where(sa.or_(like(ent.c.enterprise_name), like(ent.c.city_name))),
        sa.select(unit.c.enterprise_id).where(sa.or_(like(unit.c.unit_name), like(unit.c.unit_id))),
        sa.select(ver.c.enterprise_id).where(ver.c.verifier_agency_id.in_(agencies)),
        sa.select(unit.c.enterprise_id).where(
            unit.c.unit_id.in_(sa.select(lab.c.unit_id).where(lab.c.lab_agency_id.in_(agencies)))),
    )
    provinces = [code for code, names in contract.PROVINCES.items()
                 if q and any(q.lower() in str(n).lower() for n in names)]
    return sa.or_(
        like(Case.case_id), like(Case.enterprise_id), like(Case.unit_id), like(Case.city_name),
        Case.province_code.in_(provinces),
        Case.enterprise_id.in_(sa.select(enterprises.subquery().c.enterprise_id)),
    )


def _queue_order(sort: str) -> list[Any]:
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    if sort == "tco2":
        return [Case.tco2_at_stake.desc(), Case.risk_score.desc(), Case.case_id]
    if sort == "updated":
        return [Case.updated_at.desc(), Case.case_id]
    return [Case.risk_score.desc(), Case.tco2_at_stake.desc(), Case.case_id]


def _queue_select() -> sa.Select:
    return sa.select(
        Case.case_id,
        Case.enterprise_id,
        Case.unit_id,
        Case.year,
        Case.province_code,
        Case.city_name,
        Case.risk_score,
        Case.rank,
        Case.status,
        Case.families,
        Case.rule_codes,
        Case.tco2_at_stake,
        Case.summary,
        Case.summary_en,
        User.username.label("assignee"),
        Case.updated_at,
        Case.lock_version,
    ).outerjoin(User, User.user_id == Case.assignee_user_id)


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


def case_queue(
    scope: Scope,
    filters: QueueFilter | None = None,
    *,
    page: int = 1,
    page_size: int = 50,
    url: str | None = None,
) -> QueuePage:
    """One page of the cases in ``scope`` matching ``filters``, sorted by risk (or ``filters.sort``).

    ``page`` is 1-based and clamped to the last page. Raises ``ValueError`` for an unknown sort.
    """
    f = filters or QueueFilter()
    page_size = max(1, int(page_size))
    conds = _queue_where(scope, f)
    base_from = sa.select(Case).outerjoin(User, User.user_id == Case.assignee_user_id).where(*conds).subquery()
    with _conn(url) as conn:
        agg = conn.execute(
            sa.select(base_from.c.status, sa.func.count(), sa.func.coalesce(sa.func.sum(base_from.c.tco2_at_stake), 0.0))
            .group_by(base_from.c.status)
        ).fetchall()
        by_status = {r[0]: int(r[1]) for r in agg}
        total = sum(by_status.values())
        pages = max(1, -(-total // page_size))
        page = min(max(1, int(page)), pages)
        rows = conn.execute(
            _queue_select().where(*conds).order_by(*_queue_order(f.sort)).limit(page_size).offset((page - 1) * page_size)
        ).fetchall()
        frame = _frame(rows, _QUEUE_SCHEMA)
        names = _enterprise_names(conn, frame["enterprise_id"].unique().to_list())
    frame = frame.with_columns(
        enterprise_name=pl.col("enterprise_id").replace_strict(names, default=None, return_dtype=pl.String),
        province_zh=pl.col("province_code").map_elements(lambda c: province_label(c, "zh"), return_dtype=pl.String),
    )
    order = ["case_id", "enterprise_id", "enterprise_name", "unit_id", "year", "province_code", "province_zh"]
    frame = frame.select(order + [c for c in frame.columns if c not in order])
    return QueuePage(
        rows=frame,
        total=total,
        tco2_at_stake=float(sum(r[2] or 0.0 for r in agg)),
        by_status=by_status,
        page=page,
        page_size=page_size,
        pages=pages,
    )


def queue_options(scope: Scope, url: str | None = None) -> dict[str, list[Any]]:
    """Values for the queue's filter widgets, restricted to ``scope``.

    Returns ``{"provinces": [code…], "cities": [(province_code, city)…], "families": [...],
    "statuses": [...], "assignees": [username…], "years": [year…]}`` (years with cases, newest first).
    """
    with _conn(url) as conn:
        pc = conn.execute(
            sa.select(Case.province_code, Case.city_name).where(_case_scope(scope)).distinct()
        ).fetchall()
        years = conn.execute(
            sa.select(Case.year).where(_case_scope(scope)).distinct().order_by(Case.year.desc())
        ).scalars().all()
        assignees = conn.execute(
            sa.select(User.username)
            .join(Case, Case.assignee_user_id == User.user_id)
            .where(_case_scope(scope))
            .distinct()
            .order_by(User.username)
        ).scalars().all()
    provinces = sorted({r[0] for r in pc if r[0]})
    cities = sorted({(r[0], r[1]) for r in pc if r[1]})
    return {
        "provinces": provinces,
        "cities": cities,
        "families": list(contract.FAMILIES),
        "statuses": list(contract.CASE_STATUSES),
        "assignees": list(assignees),
        "years": [int(y) for y in years if y is not None],
    }


def export_queue(scope: Scope, filters: QueueFilter | None = None, fmt: str = "csv", url: str | None = None) -> bytes:
    """Every case in ``scope`` matching ``filters`` as CSV or XLSX bytes, columns of CONTRACT.md §5.

    Rows follow the queue's sort; CSV is UTF-8 with a byte-order mark so spreadsheet programs read the
    Chinese summaries correctly. Raises ``ValueError`` for another ``fmt``.
    """
    from carbonqa.textsafe import write_table

    if fmt not in ("csv", "xlsx"):  # before the query: a bad format costs nothing
        raise ValueError(f"export format must be 'csv' or 'xlsx', got {fmt!r}")
    f = filters or QueueFilter()
    with _conn(url) as conn:
        rows = conn.execute(_queue_select().where(*_queue_where(scope, f)).order_by(*_queue_order(f.sort))).fetchall()
    buf = io.BytesIO()
    write_table(_frame(rows, _QUEUE_SCHEMA).select(list(contract.CASE_EXPORT_COLUMNS)), buf, fmt, "cases", bom=True)
    return buf.getvalue()


#: Columns of the readable export (:func:`export_readable`) with their Chinese and English headers.
READABLE_COLUMNS: dict[str, tuple[str, str]] = {
    "case_id": ("案件号", "Case"),
    "rank": ("全国排名", "Rank"),
    "year": ("年度", "Year"),
    "enterprise_name": ("重点排放单位", "Enterprise"),
    "enterprise_id": ("统一社会信用代码", "Enterprise id"),
    "province": ("省份", "Province"),
    "city_name": ("地市", "City"),
    "risk_score": ("风险分", "Risk score"),
    "tco2_at_stake": ("涉及排放量 (tCO₂)", "At stake (tCO₂)"),
    "status": ("状态", "Status"),
    "families": ("疑点类别", "Families"),
    "rule_codes": ("规则代码", "Rule codes"),
    "assignee": ("承办人", "Assignee"),
    "summary": ("摘要", "Summary"),
    "updated_at": ("更新时间", "Updated"),
}


def export_readable(
    scope: Scope, filters: QueueFilter | None = None, fmt: str = "xlsx", url: str | None = None, *, lang: str = "zh"
) -> bytes:
    """The filtered queue for people: names, labels and headers in ``lang`` (``zh``/``en``), CSV or XLSX.

    Beside the contract export (:func:`export_queue`, codes and contract columns for machines): enterprise
    names, province and status labels, families in words, the assignee's user name; scoped and sorted as the
    queue; formula-like cells neutralised as in the contract export.
    """
    from carbonqa.scoring import FAMILY_LABELS
    from carbonqa.textsafe import write_table

    if fmt not in ("csv", "xlsx"):  # before the query: a bad format costs nothing
        raise ValueError(f"export format must be 'csv' or 'xlsx', got {fmt!r}")

    li = 0 if lang == "zh" else 1
    f = filters or QueueFilter()
    with _conn(url) as conn:
        rows = conn.execute(_queue_select().where(*_queue_where(scope, f)).order_by(*_queue_order(f.sort))).fetchall()
        frame = _frame(rows, _QUEUE_SCHEMA)
        names = _enterprise_names(conn, frame["enterprise_id"].unique().to_list())
    sep = "、" if li == 0 else ", "
    frame = frame.with_columns(
        enterprise_name=pl.Series([names.get(e) for e in frame["enterprise_id"]], dtype=pl.String),
        province=pl.Series([province_label(p, lang) for p in frame["province_code"]], dtype=pl.String),
        status=pl.Series([_label(STATUS_LABELS, x, lang) for x in frame["status"]], dtype=pl.String),
        families=pl.Series([sep.join(FAMILY_LABELS[x][li] if x in FAMILY_LABELS else x
                                     for x in (fs or "").split("|") if x) for fs in frame["families"]], dtype=pl.String),
        rule_codes=pl.col("rule_codes").str.replace_all("|", ", ", literal=True),
        tco2_at_stake=pl.col("tco2_at_stake").round(0),
        risk_score=pl.col("risk_score").round(1),
    ).select(list(READABLE_COLUMNS))
    frame = frame.rename({k: v[li] for k, v in READABLE_COLUMNS.items()})
    buf = io.BytesIO()
    write_table(frame, buf, fmt, "案件" if li == 0 else "cases", bom=True)
    return buf.getvalue()


# ---- one case ---------------------------------------------------------------------------------------
def chain_head(url: str | None = None) -> dict[str, Any] | None:
    """The store's latest tamper-evidence chain head: ``{"run_id", "hash", "recorded_at"}`` or ``None``.

    The hash that every raw submission and case event recorded so far chains into
    (:func:`carbonqa.store.chain.latest_head`); the same value sits in each export's sidecar, so a
    reader can compare the two and anyone can later check with ``carbonqa verify`` that the store still
    extends it. It names no enterprise and no jurisdiction: every reader may see it.
    """
    from carbonqa.store import chain

    with _conn(url) as conn:
        head = chain.latest_head(conn)
    return None if head is None else {"run_id": head[0], "hash": head[1], "recorded_at": head[2]}


def get_case(scope: Scope, case_id: str, url: str | None = None) -> dict[str, Any]:
    """Return the case ``case_id`` as a dict (with ``assignee`` user name) if it lies in ``scope``.

    Raises:
        CaseNotFound: no such case in ``scope`` — raised alike for an id that does not exist and for one
            outside the reader's jurisdiction (the scope is part of the query), so an id cannot be
            probed for existence.
    """
    with _conn(url) as conn:
        row = conn.execute(
            sa.select(Case, User.username.label("assignee"))
            .outerjoin(User, User.user_id == Case.assignee_user_id)
            .where(Case.case_id == case_id, _case_scope(scope))
        ).first()
    if row is None:
        raise CaseNotFound(_not_found(case_id))
    case: Case = row[0]
    out = {c.key: getattr(case, c.key) for c in sa.inspect(Case).column_attrs}
    out["assignee"] = row[1]
    out["province_zh"] = province_label(case.province_code, "zh")
    # what the reviewer needs to trust the score: the probability and the money (CONTRACT.md §5 v1.1)
    from carbonqa.cases import p_confirm_of
    from carbonqa.regulation import allowance_price, cny_of

    out["p_confirm"] = p_confirm_of(case.score_reasons)
    out["allowance_price_cny_per_t"] = allowance_price(int(case.year)).cny_per_t
    out["cny_at_stake"] = cny_of(case.tco2_at_stake, case.year)
    return out


@dataclass
class CaseDetail:
    """The evidence pack (证据包) of one case.

    Attributes:
        case: the case (see :func:`get_case`).
        enterprise: the enterprise's registry row (``enterprise_name``, ``city_name``, ``sector`` …) or ``{}``.
        units: the enterprise's units (``unit_id, unit_name, unit_class, capacity_mw, coal_type, …``).
        findings: every attached finding (``finding_id, rule_code, family, severity, original_severity,
            unit_id, period, message_zh, message_en, observed, expected, score, tco2_at_stake, evidence,
            title_zh, title_en, suppression_id``), most serious first.
        events: the case history (``event_id, at, actor, action, before, after, note, change_zh,
            change_en``; ``change_*`` the event as a readable sentence, :func:`event_summary`), oldest first.
        monthly: the units' current monthly reports of the case year with ``is_suspicious`` (a finding
            names the unit and month) and ``suspicious_codes``.
        lab_values: the units' lab reports of the year side by side (``sample_period, carbon_ad_pct,
            moisture_ad_pct, total_moisture_pct, ncv_ar_gj_per_t …``) with ``repeat_count`` (months
            sharing the same (Cad, Mad, Mt, NCV) tuple) and ``is_repeated``.
        cc_unit: the case units' mean measured carbon content (``unit_id, coal_type, cc_tc_per_gj``).
        cc_peers: measured carbon content (tC/GJ, unit means of the year) of every other unit in the
            country with the same coal type — values only, no identities, so the national distribution can be
            shown to any reader.
        lab_timeline: per lab report ``lab_report_id, report_no, lab_agency_id, sample_period,
            sampling_end_date, receipt_date, test_date, report_date, has_anti_counterfeit_code``.
        telemetry: ``unit_id, period, reported_generation_mwh, telemetry_generation_mwh,
            reported_coal_t, telemetry_coal_t, reported_emissions_tco2, cems_co2_t`` or an empty frame
            when no telemetry lake / reader is available.
        verifications: the enterprise's verifications over all years with the reported emissions and
            the verifier's name.
        verifier_stats: per verifier of this enterprise, over the whole country: ``verifier_agency_id,
            agency_name, verifications, accepted_share, zero_findings_share, mean_abs_gap_pct,
            provinces``.
        tips: complaints naming the enterprise.
    """

    case: dict[str, Any]
    enterprise: dict[str, Any]
    units: pl.DataFrame
    findings: pl.DataFrame
    events: pl.DataFrame
    monthly: pl.DataFrame
    lab_values: pl.DataFrame
    cc_unit: pl.DataFrame
    cc_peers: pl.DataFrame
    lab_timeline: pl.DataFrame
    telemetry: pl.DataFrame
    verifications: pl.DataFrame
    verifier_stats: pl.DataFrame
    tips: pl.DataFrame
    notes: list[str] = field(default_factory=list)


_SEV_ORDER = {s: i for i, s in enumerate(contract.SEVERITIES)}


def _findings_of(conn: Session, case_id: str) -> pl.DataFrame:
    rows = conn.execute(
        sa.select(FindingRow)
        .join(CaseFinding, CaseFinding.finding_id == FindingRow.finding_id)
        .where(CaseFinding.case_id == case_id)
    ).scalars().all()
    cols = [
        "finding_id", "rule_code", "family", "severity", "original_severity", "unit_id", "period",
        "message_zh", "message_en", "observed", "expected", "score", "tco2_at_stake", "evidence",
        "suppression_id", "last_run_id",
    ]
    schema: dict[str, pl.DataType] = {c: pl.String for c in cols}
    schema |= {"score": pl.Float64, "tco2_at_stake": pl.Float64, "suppression_id": pl.Int64}
    frame = pl.DataFrame({c: [getattr(r, c) for r in rows] for c in cols}, schema=schema)
    titles_zh = {code: r.title_zh for code, r in CATALOGUE.items()}
    titles_en = {code: r.title_en for code, r in CATALOGUE.items()}
    return (
        frame.with_columns(
            title_zh=pl.col("rule_code").replace_strict(titles_zh, default=pl.col("rule_code"), return_dtype=pl.String),
            title_en=pl.col("rule_code").replace_strict(titles_en, default=pl.col("rule_code"), return_dtype=pl.String),
            _sev=pl.col("severity").replace_strict(_SEV_ORDER, default=99, return_dtype=pl.Int64),
        )
        .sort(["_sev", "tco2_at_stake", "rule_code", "period"], descending=[False, True, False, False], nulls_last=True)
        .drop("_sev")
    )


def _events_of(conn: Session, case_id: str) -> pl.DataFrame:
    rows = conn.execute(
        sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.event_id)
    ).scalars().all()
    return pl.DataFrame(
        {
            "event_id": [r.event_id for r in rows],
            "at": [r.at for r in rows],
            "actor": [r.actor for r in rows],
            "action": [r.action for r in rows],
            "before": [_short(r.before) for r in rows],
            "after": [_short(r.after) for r in rows],
            "note": [r.note for r in rows],
            "change_zh": [event_summary(r.action, r.before, r.after, "zh") for r in rows],
            "change_en": [event_summary(r.action, r.before, r.after, "en") for r in rows],
        },
        schema={
            "event_id": pl.Int64, "at": pl.Datetime("us"), "actor": pl.String, "action": pl.String,
            "before": pl.String, "after": pl.String, "note": pl.String, "change_zh": pl.String, "change_en": pl.String,
        },
    )


def _short(d: dict[str, Any] | None) -> str | None:
    if not d:
        return None
    return ", ".join(f"{k}={v}" for k, v in d.items())


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


def event_summary(action: str, before: dict[str, Any] | None, after: dict[str, Any] | None, lang: str = "zh") -> str:
    """One case-history event as a readable sentence in ``lang`` (``zh``/``en``), without raw codes.

    Statuses, families and field names are translated; values the store does not describe (free text)
    are left to the event's note.
    """
    from carbonqa.scoring import FAMILY_LABELS

    b, a = dict(before or {}), dict(after or {})
    zh = lang == "zh"
    sep = "；" if zh else "; "
    colon = "：" if zh else ": "
    st = lambda x: _label(STATUS_LABELS, x, lang)  # noqa: E731
    if action == "created":
        fams = "、".join(_label(FAMILY_LABELS, f, lang) for f in str(a.get("families") or "").split("|") if f)
        parts = [f"{_label(_FIELD_LABELS, k, lang)} {_num(a[k])}" for k in ("risk_score", "tco2_at_stake") if k in a]
        if fams:
            parts.append(("疑点类别" if zh else "families") + colon + fams)
        return sep.join(parts)
    if action == "status":
        text = f"{st(b.get('status'))} → {st(a.get('status'))}"
        if "assignee" in b and b.get("assignee") and a.get("status") in ("triaged", "new"):
            text += sep + ("撤回分派" if zh else "assignment withdrawn") + colon + str(b["assignee"])
        return text
    if action == "assign":
        none = "未分派" if zh else "unassigned"
        text = ("承办人" if zh else "assignee") + colon + f"{b.get('assignee') or none} → {a.get('assignee') or none}"
        if b.get("status") and a.get("status") and b["status"] != a["status"]:
            text += sep + f"{st(b['status'])} → {st(a['status'])}"
        return text
    if action == "outcome":
        text = f"{st(b.get('status'))} → {st(a.get('status'))}"
        if a.get("family"):
            text += sep + ("查实类别" if zh else "family") + colon + _label(FAMILY_LABELS, a["family"], lang)
        if a.get("pattern"):
            text += sep + ("问题类型" if zh else "pattern") + colon + str(a["pattern"])
        return text
    if action == "findings":
        n0, n1 = b.get("n_findings"), a.get("n_findings")
        if isinstance(n0, int) and isinstance(n1, int):
            return f"{n0} → {n1}" + (" 项发现" if zh else " findings")
        return ""
    if action == "rescored":
        parts = [f"{_label(_FIELD_LABELS, k, lang)} {_num(b.get(k))} → {_num(a[k])}" for k in _FIELD_LABELS if k in a]
        if "families" in a:
            fams = "、".join(_label(FAMILY_LABELS, f, lang) for f in str(a.get("families") or "").split("|") if f)
            parts.append(("疑点类别" if zh else "families") + colon + fams)
        return sep.join(parts) or ("评分更新" if zh else "score updated")
    return ""


def actor_label(actor: str | None, lang: str = "zh") -> str:
    """Who acted: a user name, or the nightly screening for ``system:<run id>``."""
    if actor and actor.startswith("system:"):
        return ("夜间筛查 " if lang == "zh" else "nightly screening ") + actor.split(":", 1)[1]
    return actor or ""


def _year_periods(year: int) -> tuple[str, str]:
    return f"{year}-01", f"{year}-12"


def _telemetry(
    unit_ids: list[str], year: int, monthly: pl.DataFrame, province_code: str | None
) -> tuple[pl.DataFrame, str | None]:
    """Join reported vs telemetry per unit-month via ``carbonqa.lake.monthly_telemetry`` when it exists."""
    empty = pl.DataFrame(
        schema={
            "unit_id": pl.String, "period": pl.String, "reported_generation_mwh": pl.Float64,
            "telemetry_generation_mwh": pl.Float64, "reported_coal_t": pl.Float64, "telemetry_coal_t": pl.Float64,
            "reported_emissions_tco2": pl.Float64, "cems_co2_t": pl.Float64,
        }
    )
    if not unit_ids:
        return empty, None
    try:
        lake = importlib.import_module("carbonqa.lake")
    except ImportError:
        return empty, "telemetry lake reader (carbonqa.lake) not available"
    fn = getattr(lake, "monthly_telemetry", None)
    if fn is None:
        return empty, "carbonqa.lake.monthly_telemetry not available"
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    for name in ("unit_ids", "units"):
        if name in params:
            kwargs[name] = unit_ids
    if "year" in params:
        kwargs["year"] = year
    if "provinces" in params and province_code:
        kwargs["provinces"] = [province_code]
    for name in ("periods",):
        if name in params:
            kwargs[name] = [f"{year}-{m:02d}" for m in range(1, 13)]
    try:
        tel = fn(**kwargs)
    except Exception as exc:  # noqa: BLE001 - evidence is optional; say why it is missing
        return empty, f"telemetry unavailable: {exc}"
    if isinstance(tel, pl.LazyFrame):
        tel = tel.collect()
    if not isinstance(tel, pl.DataFrame) or tel.is_empty():
        return empty, None
    tel = tel.filter(pl.col("unit_id").is_in(unit_ids))
    if "period" in tel.columns:
        tel = tel.filter(pl.col("period").cast(pl.String).str.starts_with(str(year)))
    rename = {}
    for src, dst in (
        ("generation_mwh", "telemetry_generation_mwh"),
        ("gross_generation_mwh", "telemetry_generation_mwh"),
        ("coal_feed_t", "telemetry_coal_t"),
        ("cems_co2_t", "cems_co2_t"),
    ):
        if src in tel.columns and dst not in tel.columns:
            rename[src] = dst
    tel = tel.rename(rename)
    for c in ("telemetry_generation_mwh", "telemetry_coal_t", "cems_co2_t"):
        if c not in tel.columns:
            tel = tel.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    rep = monthly.select(
        "unit_id", "period",
        pl.col("gross_generation_mwh").alias("reported_generation_mwh"),
        pl.col("fuel_consumed_t").alias("reported_coal_t"),
        pl.col("emissions_tco2").alias("reported_emissions_tco2"),
    )
    tel = tel.select(
        pl.col("unit_id").cast(pl.String), pl.col("period").cast(pl.String),
        pl.col("telemetry_generation_mwh").cast(pl.Float64),
        pl.col("telemetry_coal_t").cast(pl.Float64),
        pl.col("cems_co2_t").cast(pl.Float64),
    )
    out = rep.join(tel, on=["unit_id", "period"], how="full", coalesce=True).sort("unit_id", "period")
    return out.select(list(empty.columns)), None


def case_detail(scope: Scope, case_id: str, url: str | None = None) -> CaseDetail:
    """Return the evidence pack of ``case_id`` (see :class:`CaseDetail`); scoped as :func:`get_case`.

    Raises:
        CaseNotFound: no such case in ``scope`` (missing and out of scope alike).
    """
    case = get_case(scope, case_id, url)
    ent_id, year = case["enterprise_id"], int(case["year"])
    notes: list[str] = []
    ent = current("enterprises", url, where=raw_table("enterprises").c.enterprise_id == ent_id)
    units = current("units", url, where=raw_table("units").c.enterprise_id == ent_id)
    unit_ids = units["unit_id"].to_list()
    if case.get("unit_id") and case["unit_id"] not in unit_ids:
        unit_ids.append(case["unit_id"])
    p0, p1 = _year_periods(year)
    mr = raw_table("monthly_reports")
    monthly = current("monthly_reports", url, where=sa.and_(mr.c.unit_id.in_(unit_ids), mr.c.period.between(p0, p1)))
    lr = raw_table("lab_reports")
    labs = current("lab_reports", url, where=sa.and_(lr.c.unit_id.in_(unit_ids), lr.c.sample_period.between(p0, p1)))
    with _conn(url) as conn:
        findings = _findings_of(conn, case_id)
        events = _events_of(conn, case_id)

    # suspicious months: a finding names the unit (or the whole enterprise) and the month
    flagged = findings.filter(pl.col("period").is_not_null()).select("unit_id", "period", "rule_code")
    per_month = flagged.group_by("period", "unit_id").agg(codes=pl.col("rule_code").unique().sort().str.join(", "))
    monthly = monthly.sort("unit_id", "period")
    unit_hit = per_month.filter(pl.col("unit_id").is_not_null())
    ent_hit = per_month.filter(pl.col("unit_id").is_null()).group_by("period").agg(ent_codes=pl.col("codes").str.join(", "))
    monthly = (
        monthly.join(unit_hit.rename({"codes": "unit_codes"}), on=["unit_id", "period"], how="left")
        .join(ent_hit, on="period", how="left")
        .with_columns(
            suspicious_codes=pl.concat_str(["unit_codes", "ent_codes"], separator=", ", ignore_nulls=True)
        )
        .with_columns(
            suspicious_codes=pl.when(pl.col("suspicious_codes") == "").then(None).otherwise(pl.col("suspicious_codes"))
        )
        .with_columns(is_suspicious=pl.col("suspicious_codes").is_not_null())
        .drop("unit_codes", "ent_codes")
    )

    # lab values side by side, with repeated (Cad, Mad, Mt, NCV) tuples flagged
    tuple_cols = ["carbon_ad_pct", "moisture_ad_pct", "total_moisture_pct", "ncv_ar_gj_per_t"]
    lab_values = (
        labs.sort("unit_id", "sample_period")
        .with_columns(repeat_count=pl.len().over(tuple_cols))
        .with_columns(is_repeated=(pl.col("repeat_count") > 1) & pl.all_horizontal(pl.col(tuple_cols).is_not_null()))
        .select("unit_id", "sample_period", "lab_report_id", "lab_agency_id", *tuple_cols, "carbon_ar_pct",
                "repeat_count", "is_repeated")
    )
    lab_timeline = labs.select(
        "lab_report_id", "report_no", "lab_agency_id", "unit_id", "sample_period", "sampling_end_date",
        "receipt_date", "test_date", "report_date", "has_anti_counterfeit_code",
    ).sort("sample_period", "unit_id")

    cc_unit, cc_peers = _carbon_content(url, year, units)
    telemetry, tel_note = _telemetry(unit_ids, year, monthly, case["province_code"])
    if tel_note:
        notes.append(tel_note)
    verifications, verifier_stats = _verifiers(url, ent_id)
    tp = raw_table("tips")
    tips = current("tips", url, where=tp.c.enterprise_id == ent_id).sort("received_date", nulls_last=True)
    return CaseDetail(
        case=case,
        enterprise=ent.row(0, named=True) if ent.height else {},
        units=units,
        findings=findings,
        events=events,
        monthly=monthly,
        lab_values=lab_values,
        cc_unit=cc_unit,
        cc_peers=cc_peers,
        lab_timeline=lab_timeline,
        telemetry=telemetry,
        verifications=verifications,
        verifier_stats=verifier_stats,
        tips=tips,
        notes=notes,
    )


# ---- national aggregates, computed once per store state ---------------------------------------------
# The peer carbon-content distribution and the verifier statistics are national statistics over the
# whole country's raw data: the same for every case (and every reader) until new raw rows land. They
# are computed once per (store, raw-data state, year) and reused; a case only filters them (its own
# units, its coal types, its verifiers), so the case itself stays scoped by :func:`get_case`.

#: Raw tables the national aggregates read; their highest ``id`` (append-only, autoincrement) is the
#: store state the cache is keyed by: any ingest changes it, and reading it is an index lookup.
_NATIONAL_TABLES: tuple[str, ...] = ("monthly_reports", "units", "verifications", "annual_reports", "enterprises",
                                     "agencies")
_NATIONAL_MAX = 16  # cached entries (store states × kinds × years) kept before the oldest is dropped
_national_cache: dict[tuple[Any, ...], pl.DataFrame] = {}
_national_lock = threading.Lock()


def _store_state(url: str | None) -> tuple[Any, ...]:
    """(database URL, highest raw ``id`` per table the national aggregates read): changes on any ingest."""
    engine = get_engine(url)
    stmt = sa.select(*[
        sa.select(sa.func.max(raw_table(n).c.id)).scalar_subquery().label(n) for n in _NATIONAL_TABLES
    ])
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    return (engine.url.render_as_string(hide_password=True), *row)


def _national(kind: str, url: str | None, year: int | None, compute: Any) -> pl.DataFrame:
    """``compute()`` once per (``kind``, store state, ``year``); later calls return the cached frame."""
    key = (kind, _store_state(url), year)
    with _national_lock:
        hit = _national_cache.get(key)
    if hit is not None:
        return hit
    frame = compute()
    with _national_lock:
        _national_cache[key] = frame
        while len(_national_cache) > _NATIONAL_MAX:
            _national_cache.pop(next(iter(_national_cache)))
    return frame


def clear_national_cache() -> None:
    """Drop the cached national aggregates (they are also recomputed on their own after any ingest)."""
    with _national_lock:
        _national_cache.clear()


_CC_SCHEMA: dict[str, pl.DataType] = {"unit_id": pl.String, "coal_type": pl.String, "cc_tc_per_gj": pl.Float64}


def _is_current(name: str, t: sa.Table) -> sa.ColumnElement[bool]:
    """``t``'s row is current (as :func:`carbonqa.store.read.current`): no newer version of its key exists.

    An anti-join on the key index instead of ``row_number()`` over the whole table: the national
    aggregates only need a few columns of current rows, and the window's sort dominated their cost.
    """
    newer = raw_table(name).alias(f"_newer_{name}")
    keys = CURRENT_KEYS[name]
    if name == "monthly_reports":
        is_newer = sa.or_(
            newer.c.version > t.c.version,
            sa.and_(newer.c.version == t.c.version, newer.c.record_version > t.c.record_version),
        )
    else:
        is_newer = newer.c.record_version > t.c.record_version
    return ~sa.exists().where(*[newer.c[k] == t.c[k] for k in keys], is_newer)


def _current_cols(url: str | None, name: str, cols: list[str], where: Any = None) -> pl.DataFrame:
    """Only ``cols`` of the current rows of raw table ``name`` (dtypes of the contract)."""
    t = raw_table(name)
    stmt = sa.select(*[t.c[c] for c in cols]).where(_is_current(name, t))
    if where is not None:
        stmt = stmt.where(where)
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).fetchall()
    schema = contract.polars_schema(name)
    return pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(cols)}, schema={c: schema[c] for c in cols})


def _national_carbon_content(url: str | None, year: int) -> pl.DataFrame:
    """Mean measured carbon content (tC/GJ) of every unit of the country in ``year``, with its coal type."""
    mr, ut = raw_table("monthly_reports"), raw_table("units")
    p0, p1 = _year_periods(year)
    stmt = (
        sa.select(mr.c.unit_id, ut.c.coal_type, sa.func.avg(mr.c.carbon_content_tc_per_gj))
        .join(ut, ut.c.unit_id == mr.c.unit_id)
        .where(
            mr.c.period.between(p0, p1),
            _is_current("monthly_reports", mr),  # the current row of (unit, period), then: is it measured?
            _is_current("units", ut),
            mr.c.carbon_content_basis == "measured",
            mr.c.carbon_content_tc_per_gj.is_not(None),
        )
        .group_by(mr.c.unit_id, ut.c.coal_type)
    )
    with _conn(url) as conn:
        rows = conn.execute(stmt).fetchall()
    return pl.DataFrame(
        {"unit_id": [r[0] for r in rows], "coal_type": [r[1] for r in rows], "cc_tc_per_gj": [float(r[2]) for r in rows]},
        schema=_CC_SCHEMA,
    )


def _carbon_content(url: str | None, year: int, units: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mean measured CC per unit for the case units, and the national peer values of the same coal types."""
    empty_unit = pl.DataFrame(schema=_CC_SCHEMA)
    empty_peers = pl.DataFrame(schema={"coal_type": pl.String, "cc_tc_per_gj": pl.Float64})
    if units.is_empty():
        return empty_unit, empty_peers
    coal_types = [c for c in units["coal_type"].unique().to_list() if c]
    allf = _national("carbon_content", url, year, lambda: _national_carbon_content(url, year))
    own = set(units["unit_id"].to_list())
    cc_unit = allf.filter(pl.col("unit_id").is_in(own)).sort("unit_id")
    cc_peers = allf.filter(pl.col("coal_type").is_in(coal_types) & ~pl.col("unit_id").is_in(own)).select(
        "coal_type", "cc_tc_per_gj"
    )
    return cc_unit, cc_peers


_VSTATS_SCHEMA: dict[str, pl.DataType] = {
    "verifier_agency_id": pl.String, "agency_name": pl.String, "verifications": pl.Int64,
    "accepted_share": pl.Float64, "zero_findings_share": pl.Float64, "mean_abs_gap_pct": pl.Float64,
    "provinces": pl.Int64,
}


def _national_verifier_stats(url: str | None) -> pl.DataFrame:
    """Per verifier agency, over every verification in the country (see ``CaseDetail.verifier_stats``)."""
    vt = raw_table("verifications")
    allv = _current_cols(
        url, "verifications",
        ["verifier_agency_id", "enterprise_id", "year", "conclusion", "findings_count", "verified_emissions_tco2"],
        vt.c.verifier_agency_id.is_not(None),
    )
    ann_all = _current_cols(url, "annual_reports", ["enterprise_id", "year", "reported_emissions_tco2"])
    ents = _current_cols(url, "enterprises", ["enterprise_id", "province_code"])
    agencies = _current_cols(url, "agencies", ["agency_id", "agency_name"])
    return (
        allv.join(ann_all.unique(["enterprise_id", "year"]), on=["enterprise_id", "year"], how="left")
        .join(ents, on="enterprise_id", how="left")
        .group_by("verifier_agency_id")
        .agg(
            verifications=pl.len(),
            accepted_share=(pl.col("conclusion") == "accepted").mean(),
            zero_findings_share=(pl.col("findings_count") == 0).mean(),
            mean_abs_gap_pct=(
                (pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2")).abs()
                / pl.col("reported_emissions_tco2")
                * 100
            ).mean(),
            provinces=pl.col("province_code").n_unique(),
        )
        .join(agencies, left_on="verifier_agency_id", right_on="agency_id", how="left")
        .with_columns(pl.col("verifications").cast(pl.Int64), pl.col("provinces").cast(pl.Int64))
        .select(list(_VSTATS_SCHEMA))
        .sort("verifier_agency_id")
    )


def _verifiers(url: str | None, enterprise_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    vt = raw_table("verifications")
    ver = current("verifications", url, where=vt.c.enterprise_id == enterprise_id).sort("year")
    ann = current("annual_reports", url, where=raw_table("annual_reports").c.enterprise_id == enterprise_id)
    agencies = current("agencies", url).select("agency_id", "agency_name")
    ver = (
        ver.join(ann.select("enterprise_id", "year", "reported_emissions_tco2").unique(["enterprise_id", "year"]),
                 on=["enterprise_id", "year"], how="left")
        .join(agencies, left_on="verifier_agency_id", right_on="agency_id", how="left")
        .with_columns(
            gap_tco2=pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2"),
        )
    )
    agency_ids = [a for a in ver["verifier_agency_id"].unique().to_list() if a]
    if not agency_ids:
        return ver, pl.DataFrame(schema=_VSTATS_SCHEMA)
    stats = _national("verifier_stats", url, None, lambda: _national_verifier_stats(url))
    return ver, stats.filter(pl.col("verifier_agency_id").is_in(agency_ids))


# ---- assignment -------------------------------------------------------------------------------------
def assignable_users(scope: Scope, province_code: str | None = None, url: str | None = None) -> pl.DataFrame:
    """Users a reader in ``scope`` may assign cases to: active, non-auditor, inside the reader's scope.

    ``province_code`` narrows the list to users of that province (for a national reader assigning a
    province's cases). Returns ``username, display_name, role, province_code, city_name``.
    """
    stmt = sa.select(User.username, User.display_name, User.role, User.province_code, User.city_name).where(
        User.is_active.is_(True), User.role != "auditor"
    )
    if scope.role == "provincial":
        stmt = stmt.where(User.province_code == scope.province_code)
    elif scope.role == "municipal":
        stmt = stmt.where(User.province_code == scope.province_code, User.city_name == scope.city_name)
    elif scope.role == "auditor":
        stmt = stmt.where(sa.false())
    if province_code:
        stmt = stmt.where(User.province_code == province_code)
    with _conn(url) as conn:
        rows = conn.execute(stmt.order_by(User.role, User.city_name, User.username)).fetchall()
    return _frame(rows, {k: pl.String for k in ("username", "display_name", "role", "province_code", "city_name")})


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


def ensure_visible(scope: Scope, case_ids: list[str], url: str | None = None) -> None:
    """Raise :class:`CaseNotFound` unless every case of ``case_ids`` exists and lies in ``scope``.

    A missing id and an id outside the jurisdiction raise the same error with the same message.
    """
    with _conn(url) as conn:
        found = set(conn.execute(
            sa.select(Case.case_id).where(Case.case_id.in_(case_ids), _case_scope(scope))
        ).scalars().all())
    missing = [c for c in case_ids if c not in found]
    if missing:
        raise CaseNotFound(_not_found(missing[0]))


_AGENCY_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(), "agency_id": pl.String(), "agency_name": pl.String(), "agency_role": pl.String(),
    "year": pl.Int64(), "province_code": pl.String(), "rank": pl.Int64(), "risk_score": pl.Float64(),
    "status": pl.String(), "rule_codes": pl.String(), "n_clients": pl.Int64(), "tco2_at_stake": pl.Float64(),
    "summary": pl.String(), "updated_at": pl.Datetime("us"),
}
_AGENCY_CLIENT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(), "enterprise_id": pl.String(), "province_code": pl.String(), "city_name": pl.String(),
    "rule_codes": pl.String(), "own_rule_codes": pl.String(), "tco2_at_stake": pl.Float64(),
    "enterprise_case_id": pl.String(),
}


def agency_queue(scope: Scope, url: str | None = None, *, year: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Agency cases (机构案件, :mod:`carbonqa.agency_cases`) visible to the reader, and their clients.

    National and auditor readers see every agency case and client; a provincial reader the agencies with
    at least one client in the province, a municipal reader those with a client in the city — and only
    those clients (``Scope.clause`` over the clients' province and city). Scores, ranks, rule codes and
    tonnes stay national (they are the agency's).

    Args:
        scope: the reader.
        url: case-store URL (default: settings).
        year: one reporting year, or ``None`` for all.

    Returns:
        ``(cases, clients)``: ``cases`` with :data:`_AGENCY_SCHEMA` columns plus ``clients_in_scope``
        (``|``-separated enterprise ids) and ``n_clients_in_scope``, newest year first then national rank;
        ``clients`` one row per in-scope client (:data:`_AGENCY_CLIENT_SCHEMA` plus ``enterprise_name``),
        ordered by case, then tonnes (descending), then enterprise id. Agency and enterprise names are
        submitted text: show them as plain text.
    """
    t, ct = AgencyCase.__table__, AgencyCaseClient.__table__
    cl = sa.select(*[ct.c[k] for k in _AGENCY_CLIENT_SCHEMA]).join(t, t.c.case_id == ct.c.case_id).where(
        scope.clause(ct.c.province_code, ct.c.city_name))
    stmt = sa.select(*[t.c[k] for k in _AGENCY_SCHEMA])
    if year is not None:
        cl, stmt = cl.where(t.c.year == int(year)), stmt.where(t.c.year == int(year))
    with _conn(url) as conn:
        clients = _frame(conn.execute(cl.order_by(ct.c.case_id, ct.c.tco2_at_stake.desc(), ct.c.enterprise_id)).fetchall(),
                         _AGENCY_CLIENT_SCHEMA)
        if scope.role not in ("national", "auditor"):
            stmt = stmt.where(t.c.case_id.in_(sa.select(ct.c.case_id).where(scope.clause(ct.c.province_code, ct.c.city_name))))
        cases = _frame(conn.execute(stmt.order_by(t.c.year.desc(), t.c.rank.asc().nulls_last(), t.c.case_id)).fetchall(),
                       _AGENCY_SCHEMA)
        names = _enterprise_names(conn, clients["enterprise_id"].unique().to_list())
    clients = clients.with_columns(
        enterprise_name=pl.col("enterprise_id").replace_strict(names, default=None, return_dtype=pl.String))
    per_case = clients.group_by("case_id", maintain_order=True).agg(
        pl.col("enterprise_id").sort().str.join("|").alias("clients_in_scope"), pl.len().cast(pl.Int64).alias("n_clients_in_scope"))
    cases = cases.join(per_case, on="case_id", how="left", maintain_order="left").with_columns(
        pl.col("clients_in_scope").fill_null(""), pl.col("n_clients_in_scope").fill_null(0))
    return cases, clients
