"""Which findings open a case (:func:`opening_reason`, constants in :data:`CASE_POLICY`).

A case is an inspector's time, so not every finding opens one. For an enterprise-year with no case yet,
a case opens when its *live* findings (effective severity, i.e. after approved suppressions) contain

1. a finding of severity ``high`` or ``critical`` — a breach in itself (identity broken, unit error,
   self-review, implausible carbon content …), whatever the tonnes; or
2. findings of severity ``medium`` whose de-duplicated tonnes at stake (the
   :func:`carbonqa.scoring.case_tonnes`, not confidence-weighted) reach the materiality
   threshold of :func:`carbonqa.scoring.materiality_threshold_t` — the Beijing pilot's 1,000 t, or
   the EU AVR's 5 % (2 % above 500 kt) of reported emissions when that is lower; or
3. a complaint (``TIP-001``) naming the enterprise together with another finding of severity ``medium``
   or above, material or not: the complaint is corroborated by a suspicion in the data (Order 775 makes
   complaints leads to follow up) — or with a ``low`` finding of a ``tip_corroborating_codes`` code
   (ACC-101, an efficiency above what the unit's peers reach: the trace hidden coal leaves in the
   report's own energy balance) while that code is reliable on the night.

Before these tests, a finding counts one severity step lower when its code fires on too many of the
night's enterprises to be strong evidence (:mod:`carbonqa.evidence`), and findings about an
intermediary's behaviour (``agency_behaviour_codes``: rubber-stamping, short reviews, preparing and
verifying in one province, digit preference) count as ``low`` — the agency is the subject of its own
case (:mod:`carbonqa.cases.agency`), its clients only through evidence in their own data.

``low`` findings never open a case on their own; neither does a complaint alone, nor a complaint with
only ``low`` findings — a ``low`` finding is by definition not a suspicion (a clerical slip, a meter
gap, a value on the conservative side), so it corroborates nothing (except the physical trace of
rule 3); the complaint is handled on the
complaint channel until the data corroborate it. Anchors: the US EPA ECMPS check engine lets
non-critical and informational results (NONCRIT, INFORM) through without blocking a submission —
only critical results stop it; EU AVR art. 23 and the Beijing pilot define what misstatement is
material. Once a case exists, **every** live finding of its enterprise-year attaches to it and counts
for its score, ``low`` ones included, and the policy never closes or deletes a case: a case whose
findings no longer meet the bar (or disappeared) is rescored, its status, assignee, notes and events
untouched — the reviewers' work is kept (:mod:`carbonqa.cases.update`). The "created" event records why
the case opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from carbonqa.evidence import PARAMS as EVIDENCE_PARAMS
from carbonqa.evidence import demoted, reliability_of
from carbonqa.scoring import case_tonnes, materiality_threshold_t, round_tonnes, stake_by_group

__all__ = ["CASE_POLICY", "opening_reason", "opens_case"]


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
        "preference) makes the *agency* the subject of a case (carbonqa.cases.agency); its clients become suspects "
        "only through evidence in their own data — these codes attach to an enterprise case, never open one",
    },
    "tip_corroborating_codes": {
        "value": ("ACC-101",),
        "source": "DOMAIN.md §4.5 and §4b: an efficiency above what a unit's peers reach is information alone (efficient "
        "plants exist) but it is the trace hidden coal leaves in the report's own energy balance, so it corroborates a "
        "complaint (Order 775 lead) although graded low — while its code is reliable on the night (carbonqa.evidence "
        "demote_below) [design choice]",
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
    corroborating = CASE_POLICY["tip_corroborating_codes"]["value"]
    if any(f.family == "tip" for f in live) and any(
        f.severity in CASE_POLICY["tip_opens_with"]["value"]
        or (f.rule_code in corroborating and f.severity == "low"
            and reliability_of(rel, f.rule_code, "low") >= float(EVIDENCE_PARAMS["demote_below"]["value"]))
        for f in data
    ):
        return "tip"
    return None


def opens_case(
    findings: Iterable[Any],
    reported_emissions_t: float | None = None,
    reliability: Mapping[Any, float] | None = None,
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
