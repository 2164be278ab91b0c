"""Agency cases (机构案件): technical service agencies whose behaviour is anomalous (issue 12 item 4).

DOMAIN.md §4b: *intermediaries serve many clients* — one verifier, lab or consultant works for dozens
of enterprises. When it misbehaves (rubber-stamping, short reviews, impossible throughput, preparing
and verifying in one province) the **agency** is the subject of a case; its clients become suspects
only through evidence in their own data (their enterprise cases, :mod:`carbonqa.cases`, are untouched
by this module).

**Which findings name an agency** (:data:`AGENCY_CODES`). A stored finding (:class:`FindingRow`, its
``evidence`` JSON) names an agency under the keys the rule or detector writes:

=========  ===========  ======================================  ==========================================
code       role         evidence key                            level (what it says about the agency)
=========  ===========  ======================================  ==========================================
VER-002    verifier     ``agency_id``                           agency — self-review, forbidden outright
VER-003    verifier     ``agency_id``                           agency — prepares and verifies in one province
VER-105    verifier     ``verifier_agency_id``                  agency — same, seen by the detector
VER-101    verifier     ``verifier_agency_id``                  agency — accepts anomalous reports vs peers
VER-106    verifier     ``verifier_agency_id``                  agency — rubber-stamps vs peers
VER-108    verifier     ``verifier_agency_id``                  agency — pooled weak signals vs peers
VER-104    verifier     ``verifier_agency_id``                  supporting — lax profile (never opens alone)
VER-001    verifier     ``verifier_agency_id``                  engagement — accepted despite 1,000 t / 10 %
VER-107    verifier     ``verifier_agency_id``                  engagement — accepted despite a material gap
VER-103    verifier     ``verifier_agency_id``                  engagement — verified = reported despite gap
VER-004    verifier     ``agency_id``                           engagement — short review (rule)
VER-102    verifier     ``verifier_agency_id``                  engagement — short review (detector)
LAB-103    lab          ``lab_agency_id``                       agency — throughput beyond capacity
LAB-102    lab          ``lab_agency_id``                       engagement — serials out of order with dates
LAB-005    lab          ``lab_agency_id``                       engagement — serial inversions (pattern)
LAB-004    lab          ``lab_agency_id``                       engagement — QR codes missing (pattern)
CPY-105    lab|preparer ``agency_id`` + ``role``                agency — terminal-digit preference (χ²)
=========  ===========  ======================================  ==========================================

*Agency* codes test the agency itself against its peers (or are a breach by the agency), so one such
finding is about the agency; *engagement* codes are about one engagement and say something about the
agency only when they recur at **two or more clients** (a habit, not one client's problem); a
*supporting* code never opens an agency case alone. A finding counts only at an effective severity of
at least ``min_severity`` (a later-approved suppression makes it ``info``: nothing), e.g. ``LAB-004``
and ``LAB-005`` only in their ``medium`` (pattern) grade — an isolated missing QR code is a slip.
Codes not in the table (all other findings) are the clients' **own** evidence.

**Risk score** (0–100, :func:`agency_risk`)::

    q_f   = P_SEV[s_f] · score_f            per finding (s_f: agency severity, see below)
    E     = 1 − Π_facts (1 − max_{f ∈ fact} q_f)          evidence that the agency misbehaves (0–1)
    C     = (1 + min(1, ln(1 + n_clients) / ln(1 + N_SAT))) / 2                    breadth (½–1)
    T     = (1 + min(1, log10(1 + tCO₂) / 6)) / 2                                   tonnes (½–1)
    risk  = round(100 · E · C · T, 2)

``P_SEV`` is :data:`carbonqa.evidence.PARAMS` ``p_by_severity`` (critical 0.9, high 0.7, medium 0.3,
low 0.08: the design prior of what an inspection would confirm). ``s_f`` is the finding's effective
severity, except for the breaches by the agency itself, which the enterprise ladder grades for the
*client* (VER-003 is ``low`` there by design): :data:`AGENCY_SEVERITY` grades them for the agency
(VER-002 critical — self-review; VER-003 / VER-105 high — Order 775 forbids preparing and verifying in
one province). Findings restating one fact about the agency count once (:data:`FACTS`: conflict of
interest, stamping, short reviews, throughput, serials, QR codes, digits); different facts combine as
independent evidence (noisy-OR, the probability form of adding log-likelihood ratios in
:mod:`carbonqa.evidence`). ``N_SAT`` = 24 clients ("dozens of enterprises", DOMAIN.md §4b): the breadth
factor saturates at two dozen. The tonnes factor is the one of the enterprise ``risk_score``
(:mod:`carbonqa.evidence` / :mod:`carbonqa.scoring`: 1 Mt saturates), so agency and enterprise scores
read on one scale. E = 0 gives 0; the score is monotone in every finding's score, the clients and the
tonnes.

**Tonnes at stake** (``tco2_at_stake``): Σ over clients of the client's *own* de-duplicated
under-report stake — :func:`carbonqa.scoring.stake_by_group` over its live findings that are not agency
codes (positive stakes only; over-reports are never added; agency codes' own materiality proxies are
not counted: they are the agency's, not tonnes in the client's data). The client's findings of the
case's year count when the run holds any there, else those of its year with the largest own stake: a
screening of year Y usually sees the verifications of Y − 1, and the client's problems the run sees are
what the agency should have seen (the rule ``detectors.verifier.client_anomalies`` applies to a
verifier's clients). The client's enterprise case is likewise the one of the year, else its latest.

**Nightly update** (:func:`update_agency_cases`): idempotent. A case is written only when a scored
field changed (``updated_at`` and ``last_run_id`` then move, ``lock_version`` bumps); its ``status``
(workflow vocabulary of :data:`carbonqa.contract.CASE_STATUSES`) is never touched by rescoring. An
existing case no longer supported by the run's findings is rescored to nothing (risk 0, no clients)
when every province of its clients was screened by the run; otherwise it is left as it was (a partial
night says nothing about the provinces it did not screen). ``rank`` (1 = first, national, per year,
ties by tonnes then case id) is derived data written without bumping ``lock_version``. Each case
carries one sentence about it in zh-CN (``summary``, the export's) and in English (``summary_en``,
migration 0005, the dashboard's English mode), both from :func:`agency_summary`; the export keeps its
CONTRACT.md §5 columns (``summary`` only).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa import catalogue
from carbonqa.cases.update import run_provinces, values_differ
from carbonqa.evidence import PARAMS as EVIDENCE_PARAMS
from carbonqa.evidence import SEVERITY_ORDER
from carbonqa.jurisdiction import Scope
from carbonqa.scoring import round_tonnes, stake_by_group
from carbonqa.store.db import get_engine, session_scope
from carbonqa.store.models import AgencyCase, AgencyCaseClient, Case, FindingRow, ScreeningRun, now_cst
from carbonqa.suppression import load_active_suppressions, matches

__all__ = [
    "AGENCY_ROLES",
    "AGENCY_CODES",
    "AGENCY_SEVERITY",
    "FACTS",
    "N_SAT",
    "AGENCY_EXPORT_COLUMNS",
    "AgencyCode",
    "agency_case_id",
    "agency_of",
    "opening_agencies",
    "agency_risk",
    "agency_summary",
    "update_agency_cases",
    "agency_case_frame",
    "export_agency_cases",
    "agency_export_bytes",
]

log = logging.getLogger(__name__)

#: Agency roles (CONTRACT.md §2 ``agencies.roles``; §5 ``agency_role``).
AGENCY_ROLES: tuple[str, ...] = ("lab", "preparer", "verifier")

#: Columns of the agency case export, in order (CONTRACT.md §5 "Agency cases", v1.1).
AGENCY_EXPORT_COLUMNS: tuple[str, ...] = (
    "case_id",
    "agency_id",
    "agency_role",
    "province_code",
    "year",
    "risk_score",
    "rank",
    "status",
    "rule_codes",
    "clients",
    "tco2_at_stake",
    "summary",
)

#: Breadth saturation: two dozen clients ("one verifier, lab or consultant works for dozens of
#: enterprises", DOMAIN.md §4b).
N_SAT = 24


@dataclass(frozen=True)
class AgencyCode:
    """How one rule code names an agency (see the module docstring's table).

    Attributes:
        role: ``lab`` / ``preparer`` / ``verifier``; ``None`` = read from ``evidence["role"]`` (CPY-105).
        keys: evidence keys holding the agency id, first present wins.
        level: ``agency`` (opens a case alone), ``engagement`` (opens at ≥ 2 clients), ``supporting``
            (never opens alone).
        fact: the fact about the agency it restates (:data:`FACTS`).
        min_severity: lowest effective severity at which a finding counts.
    """

    role: str | None
    keys: tuple[str, ...]
    level: str
    fact: str
    min_severity: str = "medium"


_V, _VA = ("verifier_agency_id", "agency_id"), ("agency_id", "verifier_agency_id")
#: Agency-behaviour codes (sources: carbonqa.catalogue entries, DOMAIN.md §4.3–4.4 and §4b).
AGENCY_CODES: dict[str, AgencyCode] = {
    "VER-002": AgencyCode("verifier", _VA, "agency", "conflict", "low"),
    "VER-003": AgencyCode("verifier", _VA, "agency", "conflict", "low"),
    "VER-105": AgencyCode("verifier", _V, "agency", "conflict", "low"),
    "VER-101": AgencyCode("verifier", _V, "agency", "stamping"),
    "VER-106": AgencyCode("verifier", _V, "agency", "stamping"),
    "VER-108": AgencyCode("verifier", _V, "agency", "stamping"),
    "VER-104": AgencyCode("verifier", _V, "supporting", "stamping", "low"),
    "VER-001": AgencyCode("verifier", _V, "engagement", "stamping"),
    "VER-107": AgencyCode("verifier", _V, "engagement", "stamping"),
    "VER-103": AgencyCode("verifier", _V, "engagement", "stamping"),
    "VER-004": AgencyCode("verifier", _VA, "engagement", "short_review"),
    "VER-102": AgencyCode("verifier", _V, "engagement", "short_review"),
    "LAB-103": AgencyCode("lab", ("lab_agency_id",), "agency", "throughput"),
    "LAB-102": AgencyCode("lab", ("lab_agency_id",), "engagement", "serials"),
    "LAB-005": AgencyCode("lab", ("lab_agency_id",), "engagement", "serials"),
    "LAB-004": AgencyCode("lab", ("lab_agency_id",), "engagement", "qr_codes"),
    "CPY-105": AgencyCode(None, ("agency_id",), "agency", "digits"),
}

#: Facts about an agency: codes of one fact count once (the strongest finding).
FACTS: dict[str, tuple[str, str]] = {
    "conflict": ("同一机构编制并核查", "prepares and verifies (conflict of interest)"),
    "stamping": ("核查放行异常报告", "accepts anomalous reports"),
    "short_review": ("核查用时过短", "implausibly short reviews"),
    "throughput": ("出具量不合理", "implausible throughput"),
    "serials": ("报告流水号与日期不符", "serials out of order with dates"),
    "qr_codes": ("报告缺少防伪二维码", "reports without QR codes"),
    "digits": ("末位数字偏好", "terminal-digit preference"),
}
assert {c.fact for c in AGENCY_CODES.values()} <= set(FACTS)
assert set(AGENCY_CODES) <= set(catalogue.CATALOGUE)

#: Severity of a breach by the agency itself, graded for the agency (the enterprise ladder grades it
#: for the client): self-review is never impartial (critical, catalogue VER-002); preparing and
#: verifying in one province is forbidden by Order 775 (2024) — high, the catalogue grade of VER-105.
AGENCY_SEVERITY: dict[str, str] = {"VER-002": "critical", "VER-003": "high", "VER-105": "high"}

_OPEN_ENGAGEMENT_CLIENTS = 2  # an engagement code about the agency recurs at ≥ 2 clients (a habit)


def agency_case_id(agency_id: str, role: str, year: int) -> str:
    """Stable id of an agency case: ``AQ-<year>-<role>-<agency_id>`` (e.g. ``AQ-2024-verifier-V017``)."""
    return f"AQ-{int(year)}-{role}-{agency_id}"


def _evidence(f: Any) -> dict[str, Any]:
    ev = getattr(f, "evidence", None)
    if isinstance(ev, dict):
        return ev
    if not ev:
        return {}
    try:
        out = json.loads(ev)
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def agency_of(f: Any) -> tuple[str, str] | None:
    """``(agency_id, role)`` named by a finding of an agency code, else ``None``.

    Args:
        f: a :class:`~carbonqa.store.models.FindingRow` (``evidence`` JSON text) or a
            :class:`~carbonqa.findings.Finding` (``evidence`` dict).

    Returns:
        ``None`` for a code not in :data:`AGENCY_CODES`, a missing or empty agency id, or a role
        outside :data:`AGENCY_ROLES` (CPY-105's ``evidence["role"]``).
    """
    spec = AGENCY_CODES.get(f.rule_code)
    if spec is None:
        return None
    ev = _evidence(f)
    agency = next((ev[k] for k in spec.keys if ev.get(k) not in (None, "")), None)
    role = spec.role or ev.get("role")
    if agency is None or role not in AGENCY_ROLES:
        return None
    return str(agency), str(role)


def opening_agencies(items: Iterable[tuple[Any, tuple[str, str] | None]], year: int) -> dict[tuple[str, str], list[Any]]:
    """The agencies whose findings of ``year`` open an agency case, with those findings.

    Args:
        items: ``(finding, agency)`` pairs — any finding with ``rule_code``, ``severity`` (effective:
            ``info`` when suppressed), ``year`` and ``enterprise_id``; ``agency`` is its
            :func:`agency_of` (``None``: names no agency).
        year: the reporting year of the agency cases.

    Returns:
        ``{(agency_id, role): [findings]}`` — the findings of an :data:`AGENCY_CODES` code of ``year`` at
        its ``min_severity`` or above, for each agency with an *agency*-level finding or an
        *engagement*-level code at ≥ 2 clients (a habit, not one client's problem). The clients an agency
        case lists are those findings' enterprises.
    """
    by: dict[tuple[str, str], list[Any]] = {}
    for f, agency in items:
        spec = AGENCY_CODES.get(f.rule_code)
        if spec is not None and agency is not None and f.year == year and _sev_ok(f.severity, spec.min_severity):
            by.setdefault(agency, []).append(f)
    return {
        k: fs for k, fs in by.items()
        if any(AGENCY_CODES[f.rule_code].level == "agency" for f in fs)
        or len({f.enterprise_id for f in fs if AGENCY_CODES[f.rule_code].level == "engagement"}) >= _OPEN_ENGAGEMENT_CLIENTS
    }


def _p_sev(severity: str) -> float:
    return float(EVIDENCE_PARAMS["p_by_severity"]["value"].get(severity, 0.0))


def agency_risk(facts: dict[str, float], n_clients: int, tco2: float) -> tuple[float, dict[str, float]]:
    """Risk score of an agency case (0–100) and its parts (formula in the module docstring).

    Args:
        facts: per fact (:data:`FACTS`), the largest ``q = P_SEV[severity] · score`` of its findings (0–1).
        n_clients: clients named (≥ 0).
        tco2: the clients' own under-report tonnes (tCO₂; negative counts as 0).

    Returns:
        ``(risk_score rounded to 2 decimals, {"evidence": E, "breadth": C, "tonnes": T})``.
    """
    e = 1.0 - math.prod(1.0 - min(1.0, max(0.0, q)) for q in facts.values())
    c = (1.0 + min(1.0, math.log1p(max(0, n_clients)) / math.log1p(N_SAT))) / 2.0
    t = (1.0 + min(1.0, math.log10(1.0 + max(0.0, tco2)) / 6.0)) / 2.0
    return round(100.0 * e * c * t, 2), {
        "evidence": round(e, 4),
        "breadth": round(c, 4),
        "tonnes": round(t, 4),
    }


@dataclass(frozen=True)
class _F:
    """A live finding as this module reads it (effective severity after later suppressions)."""

    finding_id: str
    rule_code: str
    family: str
    severity: str
    enterprise_id: str
    year: int | None
    unit_id: str | None
    period: str | None
    province_code: str | None
    score: float
    tco2_at_stake: float
    agency: tuple[str, str] | None


def _sev_ok(severity: str, minimum: str) -> bool:
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(minimum)


#: The phrasebook of the agency case summary, one entry per language (as
#: :data:`carbonqa.cases.summary._SUMMARY` for enterprise cases): role names, no live finding, head
#: (agency, its strongest facts and codes), more-codes mark, joiner, clients, clients with an enterprise
#: case, the clients' own tonnes (or none), separator, full stop.
_AGENCY_SUMMARY: dict[str, dict[str, Any]] = {
    "zh": dict(
        role={"lab": "检测机构", "preparer": "编制机构", "verifier": "核查机构"},
        none="{year}年度：{role} {agency} 当前无有效的机构行为发现（均已抑制或不再出现）。",
        head="{year}年度：{role} {agency} {labels}（{codes}{more}）",
        more="等",
        join="、",
        clients="，涉及 {n} 家客户企业",
        with_case="，其中 {n} 家已有企业案件",
        tonnes="客户自身数据中的发现合计约 {t:,} tCO₂",
        no_tonnes="客户自身数据暂无可量化的少报发现",
        sep="；",
        stop="。",
    ),
    "en": dict(
        role={"lab": "lab", "preparer": "preparer", "verifier": "verifier"},
        none="{year}: {role} {agency}: no live finding about the agency (all suppressed or no longer seen).",
        head="{year}: {role} {agency}: {labels} ({codes}{more})",
        more=" etc.",
        join=", ",
        clients=", {n} client enterprise(s)",
        with_case=", {n} of them with an enterprise case",
        tonnes="the clients' own findings total about {t:,} tCO₂",
        no_tonnes="no quantifiable under-report in the clients' own data yet",
        sep="; ",
        stop=".",
    ),
}


def agency_summary(
    year: int,
    role: str,
    agency_id: str,
    codes: list[str],
    facts: dict[str, float],
    n: int,
    tco2: float,
    n_with_case: int,
    lang: str = "zh",
) -> str:
    """One plain-language sentence about an agency case, in ``lang`` (``zh`` or ``en``).

    The agency, its three strongest facts (:data:`FACTS`) with up to four rule codes, the clients (and
    how many already have an enterprise case), the clients' own tonnes — the same facts in both
    languages, e.g. ``2024年度：核查机构 V1 核查放行异常报告（VER-106），涉及 2 家客户企业，其中 2 家已有企业案件；
    客户自身数据中的发现合计约 12,000 tCO₂。`` / ``2024: verifier V1: accepts anomalous reports (VER-106), 2
    client enterprise(s), 2 of them with an enterprise case; the clients' own findings total about 12,000
    tCO₂.`` ``zh`` is ``agency_cases.summary`` (the export's), ``en`` is ``agency_cases.summary_en``.
    """
    p = _AGENCY_SUMMARY[lang]
    li = 0 if lang == "zh" else 1
    if not facts:
        return p["none"].format(year=year, role=p["role"][role], agency=agency_id)
    top = sorted(facts, key=lambda k: (-facts[k], k))
    labels = p["join"].join(FACTS[k][li] for k in top[:3])
    head = p["head"].format(
        year=year,
        role=p["role"][role],
        agency=agency_id,
        labels=labels,
        codes=p["join"].join(codes[:4]),
        more=p["more"] if len(codes) > 4 else "",
    )
    head += p["clients"].format(n=n)
    if n_with_case:
        head += p["with_case"].format(n=n_with_case)
    tail = p["tonnes"].format(t=round_tonnes(tco2)) if tco2 >= 1 else p["no_tonnes"]
    return head + p["sep"] + tail + p["stop"]


def _summaries(*args: Any) -> dict[str, str]:
    """``summary`` (zh-CN) and ``summary_en`` of an agency case: :func:`agency_summary` in both languages."""
    return {"summary": agency_summary(*args, lang="zh"), "summary_en": agency_summary(*args, lang="en")}


def _update_year(
    run_id: str,
    year: int,
    url: str | None,
    ent_map: dict[str, tuple[str | None, str | None]],
    agencies: dict[str, tuple[str | None, str | None]],
    out: dict[str, int],
) -> None:
    """One year of :func:`update_agency_cases` in one transaction (counts added to ``out``)."""
    with session_scope(url) as s:
        run = s.get(ScreeningRun, run_id)
        at = (run.data_interval_end if run is not None else None) or now_cst()
        supps = load_active_suppressions(url, at)
        # every finding the run saw (all years: a client's own evidence may sit in another year, below)
        rows = s.scalars(
            sa.select(FindingRow).where(
                FindingRow.enterprise_id.is_not(None), FindingRow.last_run_id == run_id
            )
        )
        live: list[_F] = []
        for f in rows:
            sev = f.severity
            if sev != "info" and any(sp.rule_code == f.rule_code and matches(sp, f) for sp in supps):
                sev = "info"
            live.append(
                _F(
                    f.finding_id,
                    f.rule_code,
                    f.family,
                    sev,
                    f.enterprise_id,
                    f.year,
                    f.unit_id,
                    f.period,
                    f.province_code,
                    float(f.score),
                    float(f.tco2_at_stake or 0.0),
                    agency_of(f),
                )
            )

        # the agency findings of the year that count, by (agency, role), for the agencies that open a case;
        # the rest is the clients' own
        by_agency = opening_agencies(((f, f.agency) for f in live), year)
        own_by_year: dict[str, dict[int | None, list[_F]]] = {}
        for f in live:
            if f.rule_code not in AGENCY_CODES:
                own_by_year.setdefault(f.enterprise_id, {}).setdefault(f.year, []).append(f)
        own_stake: dict[str, float] = {}
        own_codes: dict[str, list[str]] = {}
        for e, ys in own_by_year.items():
            per = {y: sum(t for t, _ in stake_by_group(fs).values()) for y, fs in ys.items()}
            # the case's year when the client has findings there, else its year of largest own stake
            y = year if year in ys else max(ys, key=lambda k: (per[k], k or 0))
            own_stake[e] = per[y]
            own_codes[e] = sorted({f.rule_code for f in ys[y] if f.severity != "info" and f.family != "tip"})
        case_years: dict[str, dict[int, str]] = {}
        for e, cid, y in s.execute(sa.select(Case.enterprise_id, Case.case_id, Case.year)):
            case_years.setdefault(e, {})[int(y)] = cid
        # the client's enterprise case of the year, else its latest
        ent_cases = {e: ys[year] if year in ys else ys[max(ys)] for e, ys in case_years.items()}

        derived: dict[str, dict[str, Any]] = {}
        for (agency_id, role), fs in by_agency.items():
            clients = sorted({f.enterprise_id for f in fs})
            facts: dict[str, float] = {}
            for f in fs:
                q = _p_sev(AGENCY_SEVERITY.get(f.rule_code, f.severity)) * f.score
                k = AGENCY_CODES[f.rule_code].fact
                facts[k] = max(facts.get(k, 0.0), q)
            tco2 = round(sum(max(0.0, own_stake.get(e, 0.0)) for e in clients), 1)
            risk, parts = agency_risk(facts, len(clients), tco2)
            codes = sorted({f.rule_code for f in fs})
            name, home = agencies.get(agency_id, (None, None))
            provs = [
                ent_map.get(e, (None, None))[0]
                or next((f.province_code for f in fs if f.enterprise_id == e), None)
                for e in clients
            ]
            if not home:  # the agency's registry province, else where most of its clients are
                counts: dict[str, int] = {}
                for p in provs:
                    if p:
                        counts[p] = counts.get(p, 0) + 1
                home = min(counts, key=lambda p: (-counts[p], p)) if counts else None
            reasons = [
                {"code": "evidence", **parts, "facts": {k: round(v, 4) for k, v in sorted(facts.items())}},
                {"code": "clients", "n": len(clients)},
                {"code": "tonnes", "tco2_at_stake": tco2},
            ]
            client_rows = [
                {
                    "enterprise_id": e,
                    "province_code": p,
                    "city_name": ent_map.get(e, (None, None))[1],
                    "rule_codes": "|".join(sorted({f.rule_code for f in fs if f.enterprise_id == e})),
                    "own_rule_codes": "|".join(own_codes.get(e, [])),
                    "tco2_at_stake": round(max(0.0, own_stake.get(e, 0.0)), 1),
                    "enterprise_case_id": ent_cases.get(e),
                }
                for e, p in zip(clients, provs, strict=True)
            ]
            derived[agency_case_id(agency_id, role, year)] = {
                "agency_id": agency_id,
                "agency_role": role,
                "vals": {
                    "risk_score": risk,
                    "rule_codes": "|".join(codes),
                    "clients": "|".join(clients),
                    "n_clients": len(clients),
                    "tco2_at_stake": tco2,
                    **_summaries(
                        year,
                        role,
                        agency_id,
                        codes,
                        facts,
                        len(clients),
                        tco2,
                        sum(1 for e in clients if e in ent_cases),
                    ),
                    "score_reasons": reasons,
                    "agency_name": name,
                    "province_code": home,
                },
                "clients": client_rows,
            }

        existing = {c.case_id: c for c in s.scalars(sa.select(AgencyCase).where(AgencyCase.year == year))}
        stored_clients: dict[str, dict[str, dict[str, Any]]] = {}
        ct = AgencyCaseClient.__table__
        for r in s.execute(
            sa.select(ct).join(AgencyCase, AgencyCase.case_id == ct.c.case_id).where(AgencyCase.year == year)
        ):
            m = dict(r._mapping)
            stored_clients.setdefault(m["case_id"], {})[m["enterprise_id"]] = m
        screened = run_provinces(s, run_id, year)
        now = now_cst()
        for cid in sorted(set(derived) | set(existing)):
            d = derived.get(cid)
            case = existing.get(cid)
            if d is None:  # no longer supported by this run's findings
                have = stored_clients.get(cid, {})
                if screened is not None and not {m["province_code"] for m in have.values()} <= screened:
                    out["unchanged"] += 1  # a partial night: its other provinces were not screened
                    continue
                d = {
                    "vals": {
                        "risk_score": 0.0,
                        "rule_codes": "",
                        "clients": "",
                        "n_clients": 0,
                        "tco2_at_stake": 0.0,
                        **_summaries(year, case.agency_role, case.agency_id, [], {}, 0, 0.0, 0),
                        "score_reasons": [],
                        "agency_name": case.agency_name,
                        "province_code": case.province_code,
                    },
                    "clients": [],
                }
            vals = d["vals"]
            if case is None:
                case = AgencyCase(
                    case_id=cid,
                    agency_id=d["agency_id"],
                    agency_role=d["agency_role"],
                    year=year,
                    status="new",
                    created_at=now,
                    updated_at=now,
                    last_run_id=run_id,
                    **vals,
                )
                s.add(case)
                out["created"] += 1
            else:
                changed = {k: v for k, v in vals.items() if values_differ(getattr(case, k), v)}
                if changed:
                    for k, v in changed.items():
                        setattr(case, k, v)
                    case.updated_at, case.last_run_id = now, run_id
                    out["rescored"] += 1
                else:
                    out["unchanged"] += 1
            s.flush()
            # client rows: insert new, update changed, delete the ones no longer named
            have = stored_clients.get(cid, {})
            want = {r["enterprise_id"]: r for r in d["clients"]}
            gone = sorted(set(have) - set(want))
            if gone:
                s.execute(sa.delete(ct).where(ct.c.case_id == cid, ct.c.enterprise_id.in_(gone)))
            for e, r in want.items():
                old = have.get(e)
                if old is None:
                    s.execute(sa.insert(ct).values(case_id=cid, **r))
                elif any(values_differ(old[k], v) for k, v in r.items()):
                    s.execute(sa.update(ct).where(ct.c.case_id == cid, ct.c.enterprise_id == e).values(**r))
        s.flush()
        _rerank(s, year)


def _rerank(s: Session, year: int) -> None:
    """Write national ranks of ``year``'s agency cases (1 = highest risk) without bumping ``lock_version``."""
    t = AgencyCase.__table__
    rows = s.execute(
        sa.select(t.c.case_id, t.c.rank)
        .where(t.c.year == year)
        .order_by(t.c.risk_score.desc(), t.c.tco2_at_stake.desc(), t.c.case_id)
    ).fetchall()
    changes = [{"cid": r[0], "r": i} for i, r in enumerate(rows, start=1) if r[1] != i]
    if changes:
        s.execute(
            sa.update(t).where(t.c.case_id == sa.bindparam("cid")).values(rank=sa.bindparam("r")), changes
        )


def update_agency_cases(run_id: str, years: Iterable[int], url: str | None = None) -> dict[str, int]:
    """Derive, rescore and re-rank the agency cases of ``years`` from the findings run ``run_id`` saw.

    Call after :func:`carbonqa.cases.update_cases` of the same run (the clients' enterprise case ids are
    read from it). Reads the current ``enterprises`` (client province and city) and ``agencies``
    (name, home province) registries.

    Args:
        run_id: the screening run (findings with ``last_run_id == run_id`` are live).
        years: reporting years to update.
        url: case-store URL (default: settings).

    Returns:
        Counts ``{"created", "rescored", "unchanged", "agency_cases"}`` (``agency_cases`` = cases of
        those years stored after the update).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: store errors (the year's transaction is rolled back).
    """
    from carbonqa.store.read import current

    out = dict.fromkeys(("created", "rescored", "unchanged", "agency_cases"), 0)
    ents = current("enterprises", url).select("enterprise_id", "province_code", "city_name")
    ent_map = {r[0]: (r[1], r[2]) for r in ents.iter_rows()}
    ag = current("agencies", url)
    agencies = {
        r[0]: (r[1], r[2]) for r in ag.select("agency_id", "agency_name", "home_province_code").iter_rows()
    }
    ys = sorted({int(y) for y in years})
    for year in ys:
        _update_year(run_id, year, url, ent_map, agencies, out)
    if ys:
        with get_engine(url).connect() as conn:
            out["agency_cases"] = conn.execute(
                sa.select(sa.func.count()).select_from(AgencyCase).where(AgencyCase.year.in_(ys))
            ).scalar_one()
    return out


_EXPORT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "agency_id": pl.String(),
    "agency_role": pl.String(),
    "province_code": pl.String(),
    "year": pl.Int64(),
    "risk_score": pl.Float64(),
    "rank": pl.Int64(),
    "status": pl.String(),
    "rule_codes": pl.String(),
    "clients": pl.String(),
    "tco2_at_stake": pl.Float64(),
    "summary": pl.String(),
}
assert tuple(_EXPORT_SCHEMA) == AGENCY_EXPORT_COLUMNS


def agency_case_frame(url: str | None = None, scope: Scope | None = None) -> pl.DataFrame:
    """Agency cases as a frame with exactly :data:`AGENCY_EXPORT_COLUMNS`, in rank order.

    Order: newest reporting year first, then national rank (1 first), then case id. With ``scope``:
    the cases with at least one client in the reader's jurisdiction, ``clients`` cut to the clients
    in it (ranks, scores and tonnes stay national).
    """
    t = AgencyCase.__table__
    ct = AgencyCaseClient.__table__
    stmt = sa.select(*[t.c[c] for c in AGENCY_EXPORT_COLUMNS]).order_by(
        t.c.year.desc(), t.c.rank.asc().nulls_last(), t.c.case_id
    )
    with get_engine(url).connect() as conn:
        if scope is not None and scope.role not in ("national", "auditor"):
            inside = sa.select(ct.c.case_id, ct.c.enterprise_id).where(
                scope.clause(ct.c.province_code, ct.c.city_name)
            )
            seen: dict[str, list[str]] = {}
            for cid, e in conn.execute(inside.order_by(ct.c.case_id, ct.c.enterprise_id)):
                seen.setdefault(cid, []).append(e)
            rows = [r for r in conn.execute(stmt.where(t.c.case_id.in_(list(seen) or [""])))]
            data = {c: [r._mapping[c] for r in rows] for c in AGENCY_EXPORT_COLUMNS}
            data["clients"] = ["|".join(seen[r._mapping["case_id"]]) for r in rows]
        else:
            rows = conn.execute(stmt).fetchall()
            data = {c: [r._mapping[c] for r in rows] for c in AGENCY_EXPORT_COLUMNS}
    return pl.DataFrame(data, schema=_EXPORT_SCHEMA)


def export_agency_cases(
    out: Path, fmt: str = "csv", url: str | None = None, scope: Scope | None = None
) -> int:
    """Write the agency case export (CONTRACT.md §5 Agency cases): exact columns, national rank order.

    Args:
        out: file to write (parent folders are created).
        fmt: ``csv`` (UTF-8, header row) or ``xlsx`` (one sheet ``agency_cases``).
        url: case-store URL (default: settings).
        scope: restrict to a reader's jurisdiction (``None`` = everything), see :func:`agency_case_frame`.

    Text cells a spreadsheet would run as a formula get a leading ``'`` (:mod:`carbonqa.textsafe`,
    OWASP CSV Injection guidance); numbers stay numbers.

    Returns:
        Number of agency cases written.

    Raises:
        ValueError: unknown format.
    """
    from carbonqa.textsafe import write_table

    return write_table(agency_case_frame(url, scope), Path(out), fmt, "agency_cases")


def agency_export_bytes(fmt: str = "csv", url: str | None = None, scope: Scope | None = None) -> bytes:
    """The agency case export as file bytes (the dashboard's download), scoped like :func:`agency_case_frame`.

    Args:
        fmt: ``csv`` (UTF-8, header row) or ``xlsx`` (one sheet ``agency_cases``).
        url: case-store URL (default: settings).
        scope: the reader (``None`` = everything).

    Returns:
        The file's bytes: exactly :data:`AGENCY_EXPORT_COLUMNS`, rank order, formula cells neutralised.

    Raises:
        ValueError: unknown format.
    """
    import io

    from carbonqa.textsafe import write_table

    buf = io.BytesIO()
    write_table(agency_case_frame(url, scope), buf, fmt, "agency_cases")
    return buf.getvalue()
