"""SQLAlchemy 2.0 models of the case store.

Two kinds of tables share one ``MetaData``:

* **raw tables** ``raw_<contract table>`` (registry and periodic tables of the contract, not telemetry),
  generated from :mod:`carbonqa.contract` so columns are never written twice. They are append-only and
  versioned: each row carries ``record_version`` (1, 2, … per contract key, assigned by ingest when a
  key is resubmitted with different content), the ``bundle_id`` it came in, the SHA-256 of its
  canonical content and when it landed. "Current" = the highest ``record_version`` of a key (for
  ``monthly_reports`` the highest submitter ``version`` first). Nothing is ever updated or deleted:
  database triggers refuse UPDATE and DELETE, and each row carries ``prev_hash`` / ``row_hash`` of a
  hash chain in insert order (:mod:`carbonqa.store.chain`).
* **service tables**: bundles, quarantine, screening runs, findings, cases, case events (append-only
  audit trail, hash-chained like the raw tables), chain heads (the head of every chain recorded at the
  end of each run, itself a chain), inspection labels, users with their jurisdiction and sign-in
  throttling state, and suppressions.

Timestamps are naive China Standard Time wall clock (see :mod:`carbonqa.contract`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from carbonqa import contract

__all__ = [
    "Base",
    "metadata",
    "raw_table",
    "RAW_TABLES",
    "Bundle",
    "QuarantineItem",
    "ScreeningRun",
    "ScreenedPartition",
    "FindingRow",
    "Case",
    "CaseFinding",
    "CaseEvent",
    "ChainHead",
    "InspectionLabel",
    "User",
    "Suppression",
    "AgencyCase",
    "AgencyCaseClient",
    "now_cst",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def now_cst() -> dt.datetime:
    """Current wall-clock time in China Standard Time, naive (the store's convention)."""
    return dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base sharing the store's ``MetaData``."""

    metadata = metadata
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


_SA_TYPES = {
    "str": lambda: String(200),
    "int": Integer,
    "float": Float,
    "bool": Boolean,
    "date": Date,
    "datetime": DateTime,
    "period": lambda: String(7),
}


def _chain_columns() -> list[Column]:
    """``prev_hash`` / ``row_hash`` of the tamper-evident hash chain (:mod:`carbonqa.store.chain`).

    Nullable in the schema so the migration can add them to stored rows; every writer fills them, and
    ``carbonqa verify`` reports a row without them as a broken link.
    """
    return [Column("prev_hash", String(64)), Column("row_hash", String(64))]


def _make_raw_table(t: contract.Table) -> Table:
    cols: list[Any] = [Column("id", Integer, primary_key=True, autoincrement=True)]
    for c in t.columns:
        sa_type = _SA_TYPES[c.dtype]()
        if c.name in ("summary", "category", "enterprise_name", "agency_name", "unit_name"):
            sa_type = Text()
        cols.append(Column(c.name, sa_type, nullable=c.nullable or not c.key, comment=c.zh or None))
    cols += [
        Column("record_version", Integer, nullable=False, default=1),
        Column("bundle_id", String(200), nullable=False, index=True),
        Column("row_sha256", String(64), nullable=False),
        Column("ingested_at", DateTime, nullable=False, default=now_cst),
        *_chain_columns(),
    ]
    key = list(t.key)
    cols.append(UniqueConstraint(*key, "record_version", name=f"uq_raw_{t.name}_key_version"))
    cols.append(Index(f"ix_raw_{t.name}_key", *key))
    return Table(f"raw_{t.name}", metadata, *cols, comment=f"{t.zh} (append-only, versioned)")


#: Raw tables by contract table name (telemetry lives in the Parquet lake, not here).
RAW_TABLES: dict[str, Table] = {
    name: _make_raw_table(t) for name, t in contract.TABLES.items() if t.kind != "telemetry"
}
Index("ix_raw_monthly_reports_period", RAW_TABLES["monthly_reports"].c.period)
Index("ix_raw_lab_reports_unit_period", RAW_TABLES["lab_reports"].c.unit_id, RAW_TABLES["lab_reports"].c.sample_period)


def raw_table(name: str) -> Table:
    """The raw table of contract table ``name``; raises ``KeyError`` for telemetry or unknown names."""
    try:
        return RAW_TABLES[name]
    except KeyError:
        raise KeyError(f"no raw table for {name!r} (telemetry lives in the Parquet lake)") from None


class Bundle(Base):
    """One received submission bundle and what became of it."""

    __tablename__ = "bundles"

    bundle_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    contract_version: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(200))
    path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    period_start: Mapped[str | None] = mapped_column(String(7))
    period_end: Mapped[str | None] = mapped_column(String(7))
    grid_factor_tco2_per_mwh: Mapped[float | None] = mapped_column(Float)
    #: ``landed`` (all rows), ``partial`` (some quarantined), ``rejected`` (nothing could be ingested)
    outcome: Mapped[str] = mapped_column(String(20))
    #: per table: {"file", "sha256", "rows_declared", "rows_read", "rows_new", "rows_quarantined"}
    files: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quarantine_count: Mapped[int] = mapped_column(Integer, default=0)
    report_path: Mapped[str | None] = mapped_column(Text)


class QuarantineItem(Base):
    """One quarantined file or row, with what was wrong and how to fix it."""

    __tablename__ = "quarantine_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bundle_id: Mapped[str] = mapped_column(String(200), index=True)
    table_name: Mapped[str | None] = mapped_column(String(50))
    file: Mapped[str] = mapped_column(Text)
    row: Mapped[int | None] = mapped_column(Integer)  # 1-based data row (header = row 0); None = whole file
    column: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(50))  # machine code, e.g. unparseable_date
    expected: Mapped[str | None] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)


class ScreeningRun(Base):
    """One screening run (a night, or a CLI ``screen``)."""

    __tablename__ = "screening_runs"

    run_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|success|failed
    trigger: Mapped[str | None] = mapped_column(String(50))  # cli|airflow
    data_interval_start: Mapped[dt.datetime | None] = mapped_column(DateTime)
    data_interval_end: Mapped[dt.datetime | None] = mapped_column(DateTime)
    bundle_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stage_seconds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ScreenedPartition(Base):
    """One stage of one (year, province) partition done by a run: what the findings store knows was screened.

    ``stage``: ``screen`` (rules + tips of the province) or ``detect`` (the province's share of the
    national detectors). A retried stage overwrites its row (idempotent). Read by the case update (which
    provinces a run screened) and by the verifier stage (which provinces' findings form its prior).
    """

    __tablename__ = "screened_partitions"

    run_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)


class FindingRow(Base):
    """A stored :class:`carbonqa.findings.Finding`; immutable once written (id = what was found)."""

    __tablename__ = "findings"

    finding_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_run_id: Mapped[str] = mapped_column(String(100), index=True)
    last_run_id: Mapped[str] = mapped_column(String(100))
    rule_code: Mapped[str] = mapped_column(String(20), index=True)
    family: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))  # effective (after suppression)
    original_severity: Mapped[str] = mapped_column(String(10))
    enterprise_id: Mapped[str | None] = mapped_column(String(200), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(7))
    province_code: Mapped[str | None] = mapped_column(String(10), index=True)
    message_zh: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    observed: Mapped[str | None] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float, default=1.0)
    tco2_at_stake: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[str | None] = mapped_column(Text)
    detail_key: Mapped[str] = mapped_column(String(200), default="")
    source_table: Mapped[str | None] = mapped_column(String(50))
    suppression_id: Mapped[int | None] = mapped_column(ForeignKey("suppressions.suppression_id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)


class Case(Base):
    """One case per enterprise and year; stable ``case_id`` across nights; optimistic locking."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("enterprise_id", "year", name="uq_cases_enterprise_year"),)

    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(200), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str] = mapped_column(String(10), index=True)
    city_name: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(30), default="new", index=True)
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int | None] = mapped_column(Integer)
    families: Mapped[str] = mapped_column(Text, default="")
    rule_codes: Mapped[str] = mapped_column(Text, default="")
    tco2_at_stake: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str | None] = mapped_column(Text)
    score_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.user_id"))
    outcome_pattern: Mapped[str | None] = mapped_column(String(100))
    dismissal_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    last_run_id: Mapped[str | None] = mapped_column(String(100))
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.event_id")


class CaseFinding(Base):
    """Which findings are attached to which case."""

    __tablename__ = "case_findings"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.finding_id"), primary_key=True)
    attached_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    run_id: Mapped[str | None] = mapped_column(String(100))


class CaseEvent(Base):
    """Append-only audit trail of a case: who, when, what before, what after."""

    __tablename__ = "case_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    actor: Mapped[str] = mapped_column(String(100))  # username, or "system:<run_id>"
    action: Mapped[str] = mapped_column(String(50))  # created|rescored|status|assign|note|outcome|findings
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    #: hash chain over all case events in ``event_id`` order (:mod:`carbonqa.store.chain`)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))

    case: Mapped[Case] = relationship(back_populates="events")


class ChainHead(Base):
    """The head of one hash chain (a raw table or ``case_events``) when a run finished; append-only.

    The rows of this table form a chain of their own, so the ``row_hash`` of a run's last head row
    commits to every chained row stored until then: that one value is the run's published head.
    """

    __tablename__ = "chain_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(100), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    last_row_id: Mapped[int | None] = mapped_column(Integer)  # None: the chain was empty
    n_rows: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class InspectionLabel(Base):
    """An inspection outcome kept as a label for later learning (confirmed pattern or dismissal)."""

    __tablename__ = "inspection_labels"

    label_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # confirmed|dismissed
    family: Mapped[str | None] = mapped_column(String(20))
    pattern: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    rule_codes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)


class User(Base):
    """A reviewer and their jurisdiction (national / one province / one city) or an auditor."""

    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))  # national|provincial|municipal|auditor
    province_code: Mapped[str | None] = mapped_column(String(10))
    city_name: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    #: consecutive failed sign-ins since the last success or lockout (:mod:`carbonqa.auth`)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: sign-in refused until then (naive CST); None = not locked
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Suppression(Base):
    """An approved suppression: downgrades matching findings to ``info`` (kept visible) until expiry."""

    __tablename__ = "suppressions"

    suppression_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_code: Mapped[str] = mapped_column(String(20), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(200))
    period_from: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM inclusive; None = open
    period_to: Mapped[str | None] = mapped_column(String(7))
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AgencyCase(Base):
    """One case about a technical service agency per (agency, role, year) (CONTRACT.md §5 Agency cases).

    Derived each night by :mod:`carbonqa.cases.agency`; ``case_id = AQ-<year>-<role>-<agency_id>`` is
    stable across nights. ``status`` uses the enterprise workflow vocabulary
    (:data:`carbonqa.contract.CASE_STATUSES`) and is never changed by rescoring. ``rank`` (1 = first,
    national, per year) is derived data. ``clients`` is the ``|``-separated enterprise ids; their rows
    are in :class:`AgencyCaseClient`.
    """

    __tablename__ = "agency_cases"
    __table_args__ = (UniqueConstraint("agency_id", "agency_role", "year", name="uq_agency_cases_agency_role_year"),)

    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(200), index=True)
    agency_role: Mapped[str] = mapped_column(String(20))  # lab|preparer|verifier
    agency_name: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str | None] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(30), default="new", index=True)
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int | None] = mapped_column(Integer)
    rule_codes: Mapped[str] = mapped_column(Text, default="")
    clients: Mapped[str] = mapped_column(Text, default="")
    n_clients: Mapped[int] = mapped_column(Integer, default=0)
    tco2_at_stake: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str | None] = mapped_column(Text)
    score_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now_cst)
    last_run_id: Mapped[str | None] = mapped_column(String(100))
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class AgencyCaseClient(Base):
    """One client (enterprise) of an agency case.

    Where it is, which agency codes name the agency in its findings, its own evidence codes and its own
    under-report stake (tCO₂, ≥ 0), and its own enterprise case if it has one.
    """

    __tablename__ = "agency_case_clients"

    case_id: Mapped[str] = mapped_column(ForeignKey("agency_cases.case_id"), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    province_code: Mapped[str | None] = mapped_column(String(10), index=True)
    city_name: Mapped[str | None] = mapped_column(String(100))
    rule_codes: Mapped[str] = mapped_column(Text, default="")
    own_rule_codes: Mapped[str] = mapped_column(Text, default="")
    tco2_at_stake: Mapped[float] = mapped_column(Float, default=0.0)
    enterprise_case_id: Mapped[str | None] = mapped_column(String(100))
