"""Queue page (案件队列): the filtered, sorted queue, its filter options and its exports."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import (
    SORTS,
    STATUS_LABELS,
    _case_scope,
    _conn,
    _enterprise_names,
    _frame,
    _label,
    province_label,
)
from carbonqa.store.models import (
    Case,
    User,
    raw_table,
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
