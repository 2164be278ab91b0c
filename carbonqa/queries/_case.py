"""Case page (案件详情): one case, its evidence pack, its history as sentences, assignment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa import contract, lake
from carbonqa.catalogue import CATALOGUE
from carbonqa.errors import CaseNotFound
from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import (
    _FIELD_LABELS,
    STATUS_LABELS,
    _case_scope,
    _conn,
    _frame,
    _label,
    _not_found,
    _num,
    _year_periods,
    province_label,
)
from carbonqa.queries._cache import _carbon_content, _verifiers
from carbonqa.store.models import (
    Case,
    CaseEvent,
    CaseFinding,
    FindingRow,
    User,
    raw_table,
)
from carbonqa.store.read import current


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


def _telemetry(
    unit_ids: list[str], year: int, monthly: pl.DataFrame, province_code: str | None
) -> tuple[pl.DataFrame, str | None]:
    """Join reported vs telemetry per unit-month (:func:`carbonqa.lake.monthly_telemetry`); ``(frame, note)``.

    The note says why telemetry is missing when the lake cannot be read (evidence is optional).
    """
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
        tel = lake.monthly_telemetry(
            provinces=[province_code] if province_code else None,
            periods=[f"{year}-{m:02d}" for m in range(1, 13)],
        )
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
