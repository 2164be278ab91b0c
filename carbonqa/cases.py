"""Findings → cases; the joint-review workflow; the audit trail; the case export (CONTRACT.md §5).

**Cases.** One case per enterprise and reporting year, ``case_id = CQ-<year>-<enterprise_id>`` (stable
across nights: deterministic from what the case is about). Its units live inside; the case's ``unit_id``
is the unit carrying most stake (``None`` when several tie or none is named, see
:func:`carbonqa.scoring.score_case`).

**Findings.** :func:`store_findings` is idempotent: new finding ids are inserted, existing rows only get
``last_run_id`` updated — a finding row is otherwise immutable. :func:`update_cases` attaches the
findings a run saw to the (open or closed) case of their enterprise-year and rescores it. A finding
counts for a case's score when the latest run that screened its (year, province) saw it
(``last_run_id == run_id``); findings no longer seen (e.g. data corrected by a resubmission) stay
attached as history but stop counting. Rescoring writes the case (and a ``rescored`` event) only when
score, families, rule codes, tonnes, unit, summary or reasons changed, so re-running a night changes
nothing. ``Case.last_run_id`` is the last run that *changed* the case. The national ``rank`` (1 =
inspect first, per reporting year, over all cases of the year, ties broken by tonnes then case id) is
derived data: it is written without bumping ``lock_version`` and without an event.

Scores learn from inspections: :func:`update_cases` reads the stored inspection labels once and scales
each finding's confidence by its rule code's factor (:func:`carbonqa.scoring.label_calibration`, 1
without labels); a new label therefore rescores (with an event) the cases carrying codes whose factor
moved, and the same labels on a re-run change nothing.

Finding rows keep the severity they were stored with; an approved suppression that came later is
applied when scoring (the finding then counts as ``info``: nothing), so rows stay immutable and the
case still reflects the regulator's decision. Suppressions in force are judged at the run's
``data_interval_end`` (else now).

**Which findings open a case** (:func:`opening_reason`, constants in :data:`CASE_POLICY`). A case is
an inspector's time, so not every finding opens one. For an enterprise-year with no case yet, a case
opens when its *live* findings (effective severity, i.e. after approved suppressions) contain

1. a finding of severity ``high`` or ``critical`` — a breach in itself (identity broken, unit error,
   self-review, implausible carbon content …), whatever the tonnes; or
2. findings of severity ``medium`` whose de-duplicated tonnes at stake (the
   :func:`carbonqa.scoring.case_tonnes`, not confidence-weighted) reach the materiality
   threshold of :func:`carbonqa.scoring.materiality_threshold_t` — the Beijing pilot's 1,000 t, or
   the EU AVR's 5 % (2 % above 500 kt) of reported emissions when that is lower; or
3. a complaint (``TIP-001``) naming the enterprise together with another finding of severity ``medium``
   or above, material or not: the complaint is corroborated by a suspicion in the data (Order 775 makes
   complaints leads to follow up).

Before these tests, a finding counts one severity step lower when its code fires on too many of the
night's enterprises to be strong evidence (:mod:`carbonqa.evidence`), and findings about an
intermediary's behaviour (``agency_behaviour_codes``: rubber-stamping, short reviews, preparing and
verifying in one province, digit preference) count as ``low`` — the agency is the subject of its own
case (:mod:`carbonqa.agency_cases`), its clients only through evidence in their own data.

``low`` findings never open a case on their own; neither does a complaint alone, nor a complaint with
only ``low`` findings — a ``low`` finding is by definition not a suspicion (a clerical slip, a meter
gap, a value on the conservative side), so it corroborates nothing; the complaint is handled on the
complaint channel until the data corroborate it. Anchors: the US EPA ECMPS check engine lets
non-critical and informational results (NONCRIT, INFORM) through without blocking a submission —
only critical results stop it; EU AVR art. 23 and the Beijing pilot define what misstatement is
material. Once a case exists, **every** live finding of its enterprise-year attaches to it and counts
for its score, ``low`` ones included, and the policy never closes or deletes a case: a case whose
findings no longer meet the bar (or disappeared) is rescored, its status, assignee, notes and events
untouched — the reviewers' work is kept. The "created" event records why the case opened.

**Workflow.** :data:`TRANSITIONS` is the whole state machine (N national, P provincial, M municipal):

========================  =================================================  ===========
from                      to                                                 who
========================  =================================================  ===========
new                       triaged, dismissed (desk review), suppressed       N P
triaged                   assigned (via :func:`assign`), dismissed, suppressed  N P
assigned                  inspection_scheduled                               N P M
assigned                  triaged (sent back; assignee cleared)              N P
inspection_scheduled      confirmed, dismissed (:func:`record_outcome`),      N P M
                          assigned (inspection called off / rescheduled)
confirmed / dismissed /   triaged (reopen; outcome fields cleared, the       N P
suppressed                inspection labels stay)
========================  =================================================  ===========

National and provincial reviewers triage, assign, suppress, dismiss on desk review and reopen;
municipal inspectors schedule the inspection and record its outcome; auditors are read-only. Every
action takes the acting :class:`~carbonqa.store.models.User` (or a
:class:`~carbonqa.jurisdiction.Scope`), re-reads that user's role, jurisdiction and active flag from the
store in the writing transaction (a deactivated user's old scope writes nothing) and calls
``Scope.require(..., write=True)``: a municipal user cannot touch another city's case (:class:`~carbonqa.jurisdiction.PermissionDenied`). Assignment goes
to an active user whose jurisdiction contains the case; a provincial reviewer assigns to a municipal
inspector of the case's city. Every change is an append-only :class:`~carbonqa.store.models.CaseEvent`
(who, when, before, after); inspection outcomes are also kept as
:class:`~carbonqa.store.models.InspectionLabel` for later learning.

**Concurrency.** Actions that change the case row take ``expected_lock_version`` (the version the
reviewer saw). A different current version, or a concurrent commit between read and write (the
``UPDATE … WHERE lock_version = n`` of SQLAlchemy's ``version_id_col`` matching no row), raises
:class:`StaleCaseError` and nothing is written: no update is ever lost silently.

Errors::

    CaseError                         base of this module's errors (carbonqa.errors: the whole tree)
    ├── CaseNotFound (KeyError)       no case with that id (the same class as carbonqa.queries raises)
    ├── InvalidTransition (ValueError) the workflow forbids it for this status / role, or data missing
    ├── AssignmentError (ValueError)  assignee unknown, inactive or outside the case's jurisdiction
    └── StaleCaseError                someone changed the case since you loaded it: reload
    PermissionDenied (carbonqa.jurisdiction)  outside the actor's jurisdiction, or read-only
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from carbonqa import catalogue, contract
from carbonqa.errors import AssignmentError, CaseError, CaseNotFound, InvalidTransition, StaleCaseError
from carbonqa.evidence import code_firing_rates, demoted, reliability_of
from carbonqa.findings import Finding
from carbonqa.jurisdiction import PermissionDenied, Scope
from carbonqa.regulation import allowance_price, cny_of
from carbonqa.scoring import (
    FAMILY_LABELS,
    CaseScore,
    CodeCalibration,
    case_tonnes,
    label_calibration,
    materiality_threshold_t,
    round_tonnes,
    score_case,
    stake_by_group,
)
from carbonqa.store.db import get_engine, session_scope
from carbonqa.store.models import (
    Case,
    CaseEvent,
    CaseFinding,
    FindingRow,
    InspectionLabel,
    ScreeningRun,
    User,
    now_cst,
)
from carbonqa.suppression import ActiveSuppression, load_active_suppressions, matches

__all__ = [
    "TRANSITIONS",
    "OPEN_STATUSES",
    "CaseError",
    "CaseNotFound",
    "InvalidTransition",
    "AssignmentError",
    "StaleCaseError",
    "PermissionDenied",
    "case_id_for",
    "store_findings",
    "update_cases",
    "load_calibration",
    "CASE_POLICY",
    "opening_reason",
    "opens_case",
    "p_confirm_of",
    "run_provinces",
    "values_differ",
    "write_sidecar",
    "case_summary",
    "summary_zh",
    "summary_en",
    "tip_findings",
    "allowed_transitions",
    "transition",
    "assign",
    "add_note",
    "record_outcome",
    "get_case",
    "case_frame",
    "export_cases",
]

log = logging.getLogger(__name__)

_ROLES_REVIEW = ("national", "provincial")
_ROLES_ALL = ("national", "provincial", "municipal")

#: The workflow: ``TRANSITIONS[from_status][to_status]`` = roles allowed to make that move.
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "new": {"triaged": _ROLES_REVIEW, "dismissed": _ROLES_REVIEW, "suppressed": _ROLES_REVIEW},
    "triaged": {"assigned": _ROLES_REVIEW, "dismissed": _ROLES_REVIEW, "suppressed": _ROLES_REVIEW},
    "assigned": {"inspection_scheduled": _ROLES_ALL, "triaged": _ROLES_REVIEW},
    "inspection_scheduled": {"confirmed": _ROLES_ALL, "dismissed": _ROLES_ALL, "assigned": _ROLES_ALL},
    "confirmed": {"triaged": _ROLES_REVIEW},
    "dismissed": {"triaged": _ROLES_REVIEW},
    "suppressed": {"triaged": _ROLES_REVIEW},
}
assert set(TRANSITIONS) == set(contract.CASE_STATUSES)

#: Statuses of cases still being worked on.
OPEN_STATUSES: tuple[str, ...] = ("new", "triaged", "assigned", "inspection_scheduled")

#: Statuses from which :func:`assign` may (re)assign a case.
_ASSIGNABLE = ("triaged", "assigned", "inspection_scheduled")

_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit


#: The case-opening policy: one table, every constant with its source (see the module docstring).
CASE_POLICY: dict[str, dict[str, Any]] = {
    "opens_alone_severities": {
        "value": ("critical", "high"),
        "source": "US EPA ECMPS check engine severity ladder (DOMAIN.md §5): critical results are the ones that "
        "stop a submission; our high/critical rules are breaches of the MRV guideline or Order 775 in themselves",
    },
    "opens_if_material_severities": {
        "value": ("medium",),
        "source": "design choice on the ECMPS ladder: a medium result is a question to the unit, worth an "
        "inspector's visit only when the tonnes it puts in doubt are material",
    },
    "material_threshold": {
        "value": "carbonqa.scoring.materiality_threshold_t",
        "source": "Beijing ETS pilot 1,000 t absolute; EU AVR (Reg. (EU) 2018/2067) art. 23 5 % (2 % above 500 kt) "
        "when lower (DOMAIN.md §4 materiality; constants in carbonqa.scoring.PARAMS)",
    },
    "never_opens_severities": {
        "value": ("low", "info"),
        "source": "ECMPS NONCRIT / INFORM results do not block a submission; low findings attach to an open "
        "case only; info = suppressed by the regulator (carbonqa.suppression)",
    },
    "agency_behaviour_codes": {
        "value": ("VER-004", "VER-101", "VER-102", "VER-104", "VER-105", "VER-106", "VER-108", "CPY-105"),
        "source": "DOMAIN.md §4b (intermediaries serve many clients) and issue 12: a verifier's, lab's or preparer's "
        "behaviour (rubber-stamping, short reviews, throughput, preparing and verifying in one province, digit "
        "preference) makes the *agency* the subject of a case (carbonqa.agency_cases); its clients become suspects "
        "only through evidence in their own data — these codes attach to an enterprise case, never open one",
    },
    "tip_opens_with": {
        "value": ("critical", "high", "medium"),
        "source": "碳排放权交易管理暂行条例 (Order 775, 2024): complaints are leads (投诉举报线索) to follow up — a "
        "complaint plus a corroborating finding opens a case (DOMAIN.md §4.8); a low finding is not a suspicion "
        "and corroborates nothing [design choice]",
    },
}


def opening_reason(
    findings: Iterable[Any],
    reported_emissions_t: float | None = None,
    reliability: Mapping[Any, float] | None = None,
) -> str | None:
    """Why the findings of one enterprise-year open a case, or ``None`` when they do not.

    Args:
        findings: the enterprise-year's live findings (:class:`~carbonqa.findings.Finding`, stored rows
            or scoring views) with their *effective* severity (``info`` = suppressed).
        reported_emissions_t: the enterprise's reported emissions of the year (tCO₂), if known; sets
            the EU relative materiality threshold.
        reliability: per-code reliability of the night (:func:`carbonqa.evidence.code_firing_rates`);
            a finding of a code below ``demote_below`` counts one severity step lower
            (:func:`carbonqa.evidence.demoted`: a signal that fires on many plants is weak evidence).
            Default: every code 1. Only stakes of under-reporting (``tco2_at_stake > 0``) are material.
            Findings of an intermediary's behaviour (``agency_behaviour_codes``) count as ``low``: they
            never open an enterprise case on their own.

    Returns:
        ``"severity:<code>"`` (a high/critical finding), ``"material:<tonnes>t"`` (medium findings with
        a material stake), ``"tip"`` (a complaint corroborated by a finding), or ``None``.
    """
    rel = reliability or {}
    agency = CASE_POLICY["agency_behaviour_codes"]["value"]
    live = [f for f in findings if f.severity != "info"]
    live = [_Demoted(f, "low") if f.rule_code in agency else f for f in live]
    if rel:
        live = [_Demoted(f, demoted(f.severity, reliability_of(rel, f.rule_code, f.severity))) for f in live]
        live = [f for f in live if f.severity != "info"]
    data = [f for f in live if f.family != "tip"]
    alone = [f for f in data if f.severity in CASE_POLICY["opens_alone_severities"]["value"]]
    if alone:
        return f"severity:{min(f.rule_code for f in alone)}"
    medium = [f for f in data if f.severity in CASE_POLICY["opens_if_material_severities"]["value"]]
    if medium:
        stake = case_tonnes(stake_by_group(medium))[0]
        if stake > 0 and stake >= materiality_threshold_t(reported_emissions_t):
            return f"material:{round_tonnes(stake)}t"
    if any(f.family == "tip" for f in live) and any(f.severity in CASE_POLICY["tip_opens_with"]["value"] for f in data):
        return "tip"
    return None


def opens_case(
    findings: Iterable[Any], reported_emissions_t: float | None = None, reliability: Mapping[Any, float] | None = None
) -> bool:
    """``True`` when :func:`opening_reason` says the findings open a case (same arguments)."""
    return opening_reason(list(findings), reported_emissions_t, reliability) is not None


class _Demoted:
    """A finding seen with the severity it counts with for opening (delegates everything else)."""

    __slots__ = ("_f", "severity")

    def __init__(self, f: Any, severity: str) -> None:
        self._f, self.severity = f, severity

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


# ---- errors (carbonqa.errors: one tree, re-exported here) -------------------------------------


# ---- ids and findings --------------------------------------------------------------------------------
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
            existing |= set(s.scalars(sa.select(FindingRow.finding_id).where(FindingRow.finding_id.in_(part))))
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


def tip_findings(tips: pl.DataFrame, year: int) -> list[Finding]:
    """``TIP-001`` findings: one per complaint naming an enterprise, attached to its ``year`` case.

    A complaint received in year ``Y`` or ``Y + 1`` concerns the data of reporting year ``Y`` (annual
    reports for ``Y`` are filed and verified during ``Y + 1``), so it attaches to the ``Y`` case.

    Args:
        tips: current ``tips`` rows (contract columns, optionally ``province_code``).
        year: reporting year screened.
    """
    if tips.is_empty():
        return []
    df = tips.filter(pl.col("enterprise_id").is_not_null())
    if "received_date" in df.columns:
        df = df.filter(pl.col("received_date").dt.year().is_in([year, year + 1]) | pl.col("received_date").is_null())
    out = []
    for r in df.sort("tip_id").iter_rows(named=True):
        out.append(
            catalogue.make_finding(
                "TIP-001",
                enterprise_id=r["enterprise_id"],
                year=year,
                province_code=r.get("province_code"),
                params={
                    "received_date": r.get("received_date") or "",
                    "channel": r.get("channel") or "",
                    "category": r.get("category") or "",
                    "summary": r.get("summary") or "",
                },
                observed=r.get("category"),
                evidence={"tip_id": r["tip_id"], "channel": r.get("channel")},
                detail_key=str(r["tip_id"]),
            )
        )
    return out


# ---- summary -----------------------------------------------------------------------------------------
def _title(rule_code: str, family: str, lang: str) -> str:
    li = 0 if lang == "zh" else 1
    try:
        r = catalogue.rule(rule_code)
        return r.title_zh if li == 0 else r.title_en
    except KeyError:
        return FAMILY_LABELS.get(family, (family, family))[li]


#: The phrasebook of the case summary, one entry per language: (year head, no finding, complaint head,
#: message cut (length, earliest cut, separators, strip, ellipsis), parentheses, tonnes, other findings,
#: complaints, separator, full stop, family-label joiner).
_SUMMARY = {
    "zh": dict(year="{year}年度：", none="{year}年度：当前无有效发现（均已抑制或不再出现）。", tip="{year}年度：收到投诉举报线索",
               cut=(60, 20, ("，", "；", "、", "（", "("), "，；、 "), end_strip="。", paren="（{msg}）",
               tonnes="，涉及约 {t:,} tCO₂", others="另有 {n} 项{labels}方面的发现", tips="附 {n} 条投诉举报线索",
               sep="；", stop="。", join="、"),
    "en": dict(year="{year}: ", none="{year}: no live finding (all suppressed or no longer seen).", tip="{year}: a complaint was received",
               cut=(90, 30, (", ", "; ", " ("), ",; "), end_strip=".", paren=" ({msg})",
               tonnes=", about {t:,} tCO₂ at stake", others="{n} more finding(s) on {labels}", tips="{n} complaint(s) attached",
               sep="; ", stop=".", join=", "),
}


def case_summary(year: int, cs: CaseScore, lang: str = "zh") -> str:
    """One plain-language sentence about a case, in ``lang`` (``zh`` or ``en``).

    E.g. ``2024年度：单位热值含碳量显著低于同类机组（…），涉及约 12,300 tCO₂；另有 2 项月度数据复制方面的发现；
    附 1 条投诉举报线索。`` / ``2024: Carbon content far below peers (…), about 12,300 tCO₂ at stake; 2 more
    finding(s) on copied monthly values; 1 complaint(s) attached.`` Built from the top finding (largest
    tonnes × confidence: its catalogue title and message, cut at a clause boundary), the tonnes at stake,
    the other families and the complaints — the same facts in both languages.
    """
    p = _SUMMARY[lang]
    li = 0 if lang == "zh" else 1
    top = cs.top
    if top is None:
        return p["none"].format(year=year)
    parts: list[str] = []
    if top.family == "tip":
        head = p["tip"].format(year=year)
    else:
        msg = (getattr(top, "message_zh" if li == 0 else "message_en", "") or "").strip().rstrip(p["end_strip"])
        size, earliest, seps, strip = p["cut"]
        if len(msg) > size:  # cut at a clause boundary, never inside a parenthesis
            cut = msg[:size]
            for sep in seps:
                if sep in cut[earliest:]:
                    cut = cut[: cut.rindex(sep)]
                    break
            msg = cut.rstrip(strip) + "…"
        head = p["year"].format(year=year) + _title(top.rule_code, top.family, lang) + (p["paren"].format(msg=msg) if msg else "")
    if cs.tco2_at_stake >= 1:
        head += p["tonnes"].format(t=round_tonnes(cs.tco2_at_stake))
    parts.append(head)
    others = [f for f in cs.families if f not in (top.family, "tip")]
    if others:
        labels = p["join"].join(FAMILY_LABELS[f][li] for f in others)
        parts.append(p["others"].format(n=sum(cs.count_by_family.get(f, 0) for f in others), labels=labels))
    if cs.n_tips and top.family != "tip":
        parts.append(p["tips"].format(n=cs.n_tips))
    return p["sep"].join(parts) + p["stop"]


def summary_zh(year: int, cs: CaseScore) -> str:
    """:func:`case_summary` in zh-CN (the export's ``summary``)."""
    return case_summary(year, cs, "zh")


def summary_en(year: int, cs: CaseScore) -> str:
    """:func:`case_summary` in English (``cases.summary_en``, the dashboard's English mode)."""
    return case_summary(year, cs, "en")


# ---- rescoring ---------------------------------------------------------------------------------------
_SCORED_FIELDS = ("risk_score", "tco2_at_stake", "families", "rule_codes", "unit_id", "summary", "summary_en", "score_reasons")


def _scored_values(year: int, cs: CaseScore) -> dict[str, Any]:
    return {
        "risk_score": cs.risk_score,
        "tco2_at_stake": cs.tco2_at_stake,
        "families": "|".join(cs.families),
        "rule_codes": "|".join(cs.rule_codes),
        "unit_id": cs.unit_id,
        "summary": summary_zh(year, cs),
        "summary_en": summary_en(year, cs),
        "score_reasons": [dict(r) for r in cs.reasons],
    }


def values_differ(a: Any, b: Any) -> bool:
    """Whether a stored case value and a freshly scored one differ (floats compared to 1e-9)."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is not b
        return abs(float(a) - float(b)) > 1e-9
    return a != b


@dataclass(frozen=True)
class _Scored:
    """What scoring and the summary read of a stored finding, with its *effective* severity."""

    finding_id: str
    rule_code: str
    family: str
    severity: str
    unit_id: str | None
    period: str | None
    score: float
    tco2_at_stake: float
    detail_key: str
    message_zh: str
    province_code: str | None
    message_en: str = ""


def _view(f: FindingRow, supps: Sequence[ActiveSuppression]) -> _Scored:
    """Return a stored finding as scoring sees it: ``info`` when a later-approved suppression applies."""
    sev = "info" if f.severity != "info" and any(matches(sp, f) for sp in supps if sp.rule_code == f.rule_code) else f.severity
    return _Scored(f.finding_id, f.rule_code, f.family, sev, f.unit_id, f.period, float(f.score),
                   float(f.tco2_at_stake or 0.0), f.detail_key or "", f.message_zh or "", f.province_code,
                   f.message_en or "")


def run_provinces(s: Session, run_id: str, year: int) -> set[str] | None:
    """Provinces run ``run_id`` screened for ``year`` (its ``counts["partitions"]`` keys), ``None`` when unrecorded."""
    run = s.get(ScreeningRun, run_id)
    parts = (run.counts or {}).get("partitions") if run is not None else None
    if not parts:
        return None
    return {p.split("/", 1)[1] for p in parts if p.split("/", 1)[0] == str(year)}


def _update_year(
    run_id: str,
    year: int,
    url: str | None,
    provinces: Iterable[str] | None,
    ent_map: dict[str, tuple[str | None, str | None]],
    reported: dict[str, float | None],
    out: dict[str, int],
    calibration: dict[str, CodeCalibration] | None = None,
) -> None:
    """One year of :func:`update_cases` in one transaction (counts added to ``out``)."""
    with session_scope(url) as s:
        prov = set(provinces) if provinces is not None else run_provinces(s, run_id, year)
        q = sa.select(FindingRow).where(FindingRow.year == year, FindingRow.enterprise_id.is_not(None))
        q = q.where(FindingRow.last_run_id == run_id)
        live = list(s.scalars(q))
        if prov is None:
            prov = {f.province_code for f in live if f.province_code}
        run = s.get(ScreeningRun, run_id)
        at = (run.data_interval_end if run is not None else None) or now_cst()
        supps = load_active_suppressions(url, at)
        by_ent: dict[str, list[_Scored]] = {}
        for f in live:
            by_ent.setdefault(f.enterprise_id, []).append(_view(f, supps))
        # each code's national firing rate over the enterprises this run screened (carbonqa.evidence)
        n_screened = max(len(by_ent), sum(1 for p, _c in ent_map.values() if p in prov))
        rates = code_firing_rates(by_ent, n_screened)
        reliability = {k: r.reliability for k, r in rates.items() if r.reliability < 1.0}
        if reliability:
            log.info("year %s: codes weakened by their national firing rate: %s", year,
                     {f"{c}:{sv}": (rates[(c, sv)].n_firing, rates[(c, sv)].reliability) for c, sv in sorted(reliability)})
        price = allowance_price(year).cny_per_t

        cases = {c.enterprise_id: c for c in s.scalars(sa.select(Case).where(Case.year == year))}
        attached: dict[str, set[str]] = {}
        for part in _chunks([c.case_id for c in cases.values()]):
            for cid, fid in s.execute(
                sa.select(CaseFinding.case_id, CaseFinding.finding_id).where(CaseFinding.case_id.in_(part))
            ):
                attached.setdefault(cid, set()).add(fid)

        # cases of screened provinces whose findings were all not seen this run: rescore to nothing
        targets = set(by_ent) | {e for e, c in cases.items() if c.province_code in prov}
        actor = f"system:{run_id}"
        for ent in sorted(targets):
            fs = by_ent.get(ent, [])
            case = cases.get(ent)
            if case is None:
                why = opening_reason(fs, reported.get(ent), reliability)
                if why is None:  # low-only, suppressed or an uncorroborated complaint: no case (policy)
                    continue
                province, city = ent_map.get(ent, (None, None))
                province = province or next((f.province_code for f in fs if f.province_code), None)
                if not province:
                    out["unroutable"] += 1
                    log.warning("findings of enterprise %s cannot be routed: unknown province", ent)
                    continue
                cs = score_case(fs, reported.get(ent), calibration, reliability, price)
                vals = _scored_values(year, cs)
                case = Case(
                    case_id=case_id_for(ent, year),
                    enterprise_id=ent,
                    year=year,
                    province_code=province,
                    city_name=city,
                    status="new",
                    last_run_id=run_id,
                    **vals,
                )
                s.add(case)
                s.add(
                    CaseEvent(
                        case_id=case.case_id,
                        actor=actor,
                        action="created",
                        before=None,
                        after=_jsonable({k: vals[k] for k in vals if k != "score_reasons"}
                                        | {"status": "new", "opened_because": why}),
                    )
                )
                cases[ent] = case
                out["created"] += 1
                s.flush()
            else:
                cs = score_case(fs, reported.get(ent), calibration, reliability, price)
                vals = _scored_values(year, cs)
                changed = {k: v for k, v in vals.items() if values_differ(getattr(case, k), v)}
                if changed:
                    before = {k: getattr(case, k) for k in changed}
                    for k, v in changed.items():
                        setattr(case, k, v)
                    case.last_run_id = run_id
                    case.updated_at = now_cst()
                    s.add(
                        CaseEvent(
                            case_id=case.case_id,
                            actor=actor,
                            action="rescored",
                            before=_jsonable(before),
                            after=_jsonable(changed),
                        )
                    )
                    out["rescored"] += 1
                else:
                    out["unchanged"] += 1
            have = attached.get(case.case_id, set())
            new_ids = sorted(f.finding_id for f in fs if f.finding_id not in have)
            if new_ids:
                _insert_ignore(
                    s,
                    CaseFinding.__table__,
                    [{"case_id": case.case_id, "finding_id": i, "run_id": run_id, "attached_at": now_cst()} for i in new_ids],
                    ["case_id", "finding_id"],
                )
                if have:  # a brand-new case's findings are covered by its "created" event
                    s.add(
                        CaseEvent(
                            case_id=case.case_id,
                            actor=actor,
                            action="findings",
                            before={"n_findings": len(have)},
                            after={"n_findings": len(have) + len(new_ids), "attached": new_ids[:50]},
                        )
                    )
                out["attached"] += len(new_ids)
        s.flush()
        _rerank(s, year)


def load_calibration(url: str | None = None) -> dict[str, CodeCalibration]:
    """Per-rule-code confidence factors from every stored inspection label (empty without labels).

    Labels of all reporting years are pooled (a rule behaves the same from year to year), read in
    ``label_id`` order so a re-inspected case counts with its latest outcome; see
    :func:`carbonqa.scoring.label_calibration`.
    """
    t = InspectionLabel.__table__
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            sa.select(t.c.label_id, t.c.case_id, t.c.outcome, t.c.rule_codes).order_by(t.c.label_id)
        ).fetchall()
    cal = label_calibration(rows)
    moved = {c: round(v.factor, 2) for c, v in cal.items() if v.factor != 1.0}
    if moved:
        log.info("inspection labels: %d cases, factors %s", len({r.case_id for r in rows}), moved)
    return cal


def update_cases(
    run_id: str,
    years: Iterable[int],
    url: str | None = None,
    provinces: Iterable[str] | None = None,
) -> dict[str, int]:
    """Attach the findings run ``run_id`` saw to their cases and rescore them; then re-rank.

    Args:
        run_id: the screening run.
        years: reporting years to update.
        url: case-store URL (default: settings).
        provinces: provinces the run screened; default: those recorded in the run's
            ``counts["partitions"]`` (``"<year>/<province>"`` keys written by
            :func:`carbonqa.pipeline.screen_partition`), else the provinces of the findings it saw.

    Returns:
        Counts ``{"created", "rescored", "unchanged", "attached", "unroutable", "cases"}``.

    Each year is one transaction; if a reviewer changes a case while it is being rescored (the
    version check fails), the year is rolled back and redone (up to 3 times) — idempotent.

    The inspection labels are read once (:func:`load_calibration`) and every case of the run is scored
    with the same per-rule-code factors (:func:`carbonqa.scoring.label_calibration`); the opening
    policy reads findings only, so labels never change which cases exist.
    """
    from carbonqa.store.read import current

    out = dict.fromkeys(("created", "rescored", "unchanged", "attached", "unroutable", "cases"), 0)
    provinces = set(provinces) if provinces is not None else None
    ents = current("enterprises", url).select("enterprise_id", "province_code", "city_name")
    ent_map = {r[0]: (r[1], r[2]) for r in ents.iter_rows()}
    ar_all = current("annual_reports", url)
    calibration = load_calibration(url)
    for year in sorted({int(y) for y in years}):
        ar = ar_all.filter(pl.col("year") == year)
        reported = {r[0]: r[1] for r in ar.select("enterprise_id", "reported_emissions_tco2").iter_rows()}
        for attempt in range(3):
            part = dict.fromkeys(out, 0)
            try:
                _update_year(run_id, year, url, provinces, ent_map, reported, part, calibration)
                break
            except StaleDataError:  # a reviewer changed a case meanwhile: the transaction rolled back, redo
                if attempt == 2:
                    raise
                log.info("case changed concurrently while rescoring %s; retrying year %s", run_id, year)
        for k, v in part.items():
            out[k] += v
        with get_engine(url).connect() as conn:
            out["cases"] += conn.execute(sa.select(sa.func.count()).select_from(Case).where(Case.year == year)).scalar_one()
    return out


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in d.items()}


def _rerank(s: Session, year: int) -> None:
    """Write national ranks of ``year`` (1 = highest score) without bumping ``lock_version``."""
    t = Case.__table__
    rows = s.execute(
        sa.select(t.c.case_id, t.c.rank).where(t.c.year == year).order_by(
            t.c.risk_score.desc(), t.c.tco2_at_stake.desc(), t.c.case_id
        )
    ).fetchall()
    changes = [{"cid": r[0], "r": i} for i, r in enumerate(rows, start=1) if r[1] != i]
    if changes:
        s.execute(
            sa.update(t).where(t.c.case_id == sa.bindparam("cid")).values(rank=sa.bindparam("r")),
            changes,
        )


# ---- workflow ----------------------------------------------------------------------------------------
def _scope(user: User | Scope, s: Session | None = None) -> Scope:
    """The acting user's scope; with a session, re-read from the store on every write.

    A :class:`Scope` (or a ``User`` loaded at sign-in) only names the actor: role, jurisdiction and
    active flag are read again from ``users`` in the writing transaction, so a user deactivated or
    moved since signing in cannot write with the old scope. Raises :class:`PermissionDenied` for an
    unknown or deactivated user.
    """
    scope = user if isinstance(user, Scope) else Scope.of(user)
    if s is None:
        return scope
    stored = s.scalars(sa.select(User).where(User.username == scope.username)).one_or_none()
    if stored is None or not stored.is_active:
        raise PermissionDenied(f"user {scope.username!r} is unknown or deactivated: nothing written (sign in again)")
    return Scope.of(stored)


def allowed_transitions(status: str, role: str) -> list[str]:
    """Statuses a user of ``role`` may move a case in ``status`` to (in contract order).

    Raises:
        ValueError: unknown status.
    """
    if status not in TRANSITIONS:
        raise ValueError(f"unknown case status {status!r}; expected one of {contract.CASE_STATUSES}")
    nxt = TRANSITIONS[status]
    return [s for s in contract.CASE_STATUSES if s in nxt and role in nxt[s]]


def _load_case(s: Session, case_id: str) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id!r}")
    return case


T = TypeVar("T")


def _mutate(
    case_id: str,
    user: User | Scope,
    expected_lock_version: int | None,
    url: str | None,
    fn: Callable[[Session, Case, Scope], T],
) -> T:
    """Re-read the actor, load, check jurisdiction and version, apply ``fn``, flush, commit."""
    with session_scope(url) as s:
        scope = _scope(user, s)
        case = _load_case(s, case_id)
        scope.require(case.province_code, case.city_name, write=True)
        if expected_lock_version is not None and case.lock_version != expected_lock_version:
            raise StaleCaseError(case_id, expected_lock_version, case.lock_version)
        result = fn(s, case, scope)
        try:
            s.flush()
        except StaleDataError as exc:
            raise StaleCaseError(case_id, expected_lock_version, None) from exc
        return result


def _check_move(case: Case, to_status: str, scope: Scope) -> None:
    if to_status not in contract.CASE_STATUSES:
        raise InvalidTransition(f"unknown case status {to_status!r}; expected one of {contract.CASE_STATUSES}")
    roles = TRANSITIONS[case.status].get(to_status)
    if roles is None:
        raise InvalidTransition(
            f"case {case.case_id}: {case.status} → {to_status} is not a workflow move; "
            f"from {case.status} the moves are {sorted(TRANSITIONS[case.status])}"
        )
    if scope.role not in roles:
        raise InvalidTransition(
            f"case {case.case_id}: a {scope.role} user may not move {case.status} → {to_status} (allowed: {list(roles)})"
        )


def _event(s: Session, case: Case, scope: Scope, action: str, before: dict | None, after: dict | None, note: str | None = None) -> None:
    s.add(CaseEvent(case_id=case.case_id, actor=scope.username, action=action, before=before, after=after, note=note))


def transition(
    case_id: str,
    to_status: str,
    user: User | Scope,
    expected_lock_version: int | None,
    note: str | None = None,
    url: str | None = None,
) -> Case:
    """Move a case along the workflow (:data:`TRANSITIONS`).

    ``confirmed`` / ``dismissed`` delegate to :func:`record_outcome` (the note is the dismissal reason,
    which is required). Moving to ``assigned`` needs an assignee already on the case (use
    :func:`assign`). Reopening (→ ``triaged``) clears the assignee and outcome fields on the case;
    the inspection labels stay.

    Args:
        case_id: the case.
        to_status: target status (contract vocabulary).
        user: the acting user (or their scope).
        expected_lock_version: ``lock_version`` the user saw (``None`` skips the pre-check; scripts only).
        note: optional free text kept on the event.
        url: case-store URL (default: settings).

    Returns:
        The updated case (detached).

    Raises:
        CaseNotFound, PermissionDenied, InvalidTransition, StaleCaseError.
    """
    if to_status in ("confirmed", "dismissed"):
        return record_outcome(case_id, to_status, user, expected_lock_version, reason=note, url=url)

    def fn(s: Session, case: Case, scope: Scope) -> Case:
        _check_move(case, to_status, scope)
        before: dict[str, Any] = {"status": case.status}
        after: dict[str, Any] = {"status": to_status}
        if to_status == "assigned" and case.assignee_user_id is None:
            raise InvalidTransition(f"case {case.case_id}: assign an inspector with cases.assign() first")
        if to_status == "triaged" and case.status != "new":
            before |= {
                "assignee": _username(s, case.assignee_user_id),
                "outcome_pattern": case.outcome_pattern,
                "dismissal_reason": case.dismissal_reason,
            }
            after |= {"assignee": None, "outcome_pattern": None, "dismissal_reason": None}
            case.assignee_user_id = None
            case.outcome_pattern = None
            case.dismissal_reason = None
        case.status = to_status
        case.updated_at = now_cst()
        _event(s, case, scope, "status", before, after, note)
        return case

    return _mutate(case_id, user, expected_lock_version, url, fn)


def _username(s: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    u = s.get(User, user_id)
    return u.username if u is not None else None


def assign(
    case_id: str,
    assignee_username: str,
    user: User | Scope,
    expected_lock_version: int | None,
    url: str | None = None,
) -> Case:
    """Assign (or reassign) a case to an inspector.

    Allowed from ``triaged`` (→ ``assigned``), ``assigned`` and ``inspection_scheduled`` (status kept)
    by national and provincial reviewers. The assignee must be an active, non-auditor user whose
    jurisdiction contains the case; a provincial reviewer assigns only to municipal inspectors of the
    case's city.

    Raises:
        CaseNotFound, PermissionDenied, InvalidTransition, AssignmentError, StaleCaseError.
    """

    def fn(s: Session, case: Case, scope: Scope) -> Case:
        if scope.role not in _ROLES_REVIEW:
            raise InvalidTransition(f"case {case.case_id}: a {scope.role} user may not assign cases")
        if case.status not in _ASSIGNABLE:
            raise InvalidTransition(f"case {case.case_id}: cannot assign a case in status {case.status} (triage it first)")
        a = s.scalars(sa.select(User).where(User.username == assignee_username)).one_or_none()
        if a is None:
            raise AssignmentError(f"no user {assignee_username!r}")
        if not a.is_active or a.role == "auditor":
            raise AssignmentError(f"user {assignee_username!r} cannot take cases ({a.role}, active={a.is_active})")
        if not Scope.of(a).allows(case.province_code, case.city_name):
            raise AssignmentError(
                f"{assignee_username} ({a.role} {a.province_code or ''} {a.city_name or ''}) is outside case "
                f"{case.case_id} (province {case.province_code}, city {case.city_name})"
            )
        if scope.role == "provincial" and a.role != "municipal":
            raise AssignmentError(
                f"a provincial reviewer assigns to municipal inspectors of {case.city_name}; {assignee_username} is {a.role}"
            )
        before = {"assignee": _username(s, case.assignee_user_id), "status": case.status}
        case.assignee_user_id = a.user_id
        if case.status == "triaged":
            case.status = "assigned"
        case.updated_at = now_cst()
        _event(s, case, scope, "assign", before, {"assignee": a.username, "status": case.status})
        return case

    return _mutate(case_id, user, expected_lock_version, url, fn)


def add_note(case_id: str, text: str, user: User | Scope, url: str | None = None) -> int:
    """Append a note to a case's audit trail (the case row is untouched: no version bump).

    Returns:
        The new event id.

    Raises:
        CaseNotFound, PermissionDenied, ValueError (empty note).
    """
    if not text or not text.strip():
        raise ValueError("a note needs some text")
    with session_scope(url) as s:
        scope = _scope(user, s)
        case = _load_case(s, case_id)
        scope.require(case.province_code, case.city_name, write=True)
        ev = CaseEvent(case_id=case_id, actor=scope.username, action="note", before=None, after=None, note=text.strip())
        s.add(ev)
        s.flush()
        return int(ev.event_id)


def record_outcome(
    case_id: str,
    outcome: str,
    user: User | Scope,
    expected_lock_version: int | None,
    family: str | None = None,
    pattern: str | None = None,
    reason: str | None = None,
    url: str | None = None,
) -> Case:
    """Record an inspection (or desk-review) outcome: the case becomes ``confirmed`` or ``dismissed``.

    The outcome is also stored as an :class:`~carbonqa.store.models.InspectionLabel` (with the case's
    rule codes) for later learning.

    Args:
        outcome: ``confirmed`` or ``dismissed``.
        family: confirmed pattern's family (contract vocabulary), optional but recommended.
        pattern: free-text pattern name, e.g. ``moisture_inflation``.
        reason: why it was dismissed (required for ``dismissed``).

    Raises:
        CaseNotFound, PermissionDenied, InvalidTransition (move not allowed, missing reason, bad family),
        StaleCaseError.
    """
    if outcome not in ("confirmed", "dismissed"):
        raise InvalidTransition(f"outcome must be 'confirmed' or 'dismissed', got {outcome!r}")
    if family is not None and family not in contract.FAMILIES:
        raise InvalidTransition(f"family {family!r} not in {contract.FAMILIES}")
    if outcome == "dismissed" and not (reason and reason.strip()):
        raise InvalidTransition("a dismissal needs a reason (驳回需说明理由)")

    def fn(s: Session, case: Case, scope: Scope) -> Case:
        _check_move(case, outcome, scope)
        before = {"status": case.status}
        case.status = outcome
        if outcome == "confirmed":
            case.outcome_pattern = ":".join(x for x in (family, pattern) if x) or None
            case.dismissal_reason = None
        else:
            case.dismissal_reason = reason.strip() if reason else None
            case.outcome_pattern = None
        case.updated_at = now_cst()
        s.add(
            InspectionLabel(
                case_id=case.case_id,
                enterprise_id=case.enterprise_id,
                unit_id=case.unit_id,
                year=case.year,
                outcome=outcome,
                family=family,
                pattern=pattern,
                reason=reason,
                rule_codes=case.rule_codes,
                recorded_by=scope.username,
            )
        )
        after = {"status": outcome, "family": family, "pattern": pattern, "reason": reason}
        _event(s, case, scope, "outcome", before, after, reason)
        return case

    return _mutate(case_id, user, expected_lock_version, url, fn)


def get_case(case_id: str, user: User | Scope, url: str | None = None) -> Case:
    """One case (detached) if the reader may see it; raises ``CaseNotFound`` / ``PermissionDenied``."""
    scope = _scope(user)
    with session_scope(url) as s:
        case = _load_case(s, case_id)
        scope.require(case.province_code, case.city_name)
        return case


# ---- export ------------------------------------------------------------------------------------------
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
    side.write_text(json.dumps({
        "file": Path(out).name, "sha256": h.hexdigest(), "rows": rows, "generated_at": now_cst().isoformat(),
        "chain_head": None if head is None else {"run_id": head[0], "hash": head[1], "recorded_at": _jsonable({"t": head[2]})["t"]},
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    return side
