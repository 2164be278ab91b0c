"""Evidence, not rule hits: how much a night's findings say about under-reporting (pure functions, no I/O).

A finding says *a rule fired*. What an inspector needs is how much more likely the finding is if the
enterprise under-reports than if it operates honestly (DOMAIN.md §4b: every national fleet shows honest
operations that look like anomalies). This module turns findings into that evidence in three steps.

**1. A code's weight is bounded by how often it fires** (empirical Bayes over the night), per grade: a
rule that grades its findings (``low`` for an isolated slip, ``medium`` for a pattern) makes two
statements, and each has its own firing rate. If a fraction
``π`` of enterprises under-report (:data:`PARAMS` ``prevalence``), a code that fires on a fraction ``r``
of a night's enterprises can be right at most ``π_code / r`` of the time, where ``π_code`` is the share of
enterprises whose under-reporting the one code could possibly see. No single code sees every kind of
fraud (DOMAIN.md §4 lists eight families and dozens of patterns), so ``π_code = π · code_share_max``.
The firing rate is estimated every night from the night itself — its lower Wilson bound at 95 % (so a
small province or a rare code is not penalised for chance) — which makes the service calibrate itself on
a new year, a new province or a new generator of honest quirks:

    reliability(c) = min(1, π · code_share_max / r_lo(c))

A code with reliability below :data:`PARAMS` ``demote_below`` (more than half of its hits must be honest
plants) is *weak evidence*: its findings count one severity step lower when deciding whether a case
opens (high → medium → low), and its confidence is multiplied by the reliability when scoring.

**2. One fact counts once; independent facts combine.** A finding of severity ``s`` and confidence
``score`` on a code of reliability ``w`` is taken to signal a material under-report with probability
``q = P_SEV[s] · score · w · label_factor`` (:data:`PARAMS` ``p_by_severity``: what an inspection of a
case carrying only that finding would confirm, a design prior the inspection labels then move). Its
log-likelihood ratio against the prior odds is ``llr = logit(q) − logit(π)`` (only positive evidence
counts: a rule that did not fire is not evidence of honesty). Findings that restate one fact are linked:
two findings belong to the same fact when they share a family (one suspicion, e.g. a carbon content
written down all year, seen month after month) or the same unit-month (one month seen by several
codes). Each fact contributes the largest ``llr`` among its findings; facts add (naive Bayes over
independent facts, Hand & Yu 2001, Int. Stat. Rev. 69:385):

    p_confirm = sigmoid(logit(π) + Σ_facts max llr)

A complaint (``TIP-001``) is one more fact: ``q = 1 − (1 − p_tip)^n`` for ``n`` distinct complaints
(:data:`PARAMS` ``p_tip``; independent complainants, each a lead of its own).

**3. What an inspection is expected to yield**: :func:`carbonqa.scoring.score_case` combines
``p_confirm`` with the signed, bounded tonnes at stake (see there).

Every constant is in :data:`PARAMS` with its source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "PARAMS",
    "SEVERITY_ORDER",
    "CodeRate",
    "code_firing_rates",
    "reliability_of",
    "demoted",
    "EvidenceFinding",
    "Fact",
    "facts",
    "p_confirm",
]

#: Evidence constants with sources.
PARAMS: dict[str, dict[str, Any]] = {
    "prevalence": {
        "value": 0.05,
        "source": "DOMAIN.md §5: 'at a 5 % fraud rate' (MEE second compliance period: ~2.4 % of checked values "
        "anomalous); also the inspection capacity of a province (about 5 % of its enterprises a year)",
    },
    "code_share_max": {
        "value": 0.5,
        "source": "design choice: no single rule code sees more than half of all under-reporting — DOMAIN.md §4 "
        "lists 8 families and dozens of patterns, and frauds of one family rarely show in another's codes",
    },
    "firing_rate_alpha": {
        "value": 0.05,
        "source": "two-sided 95 % Wilson interval (Wilson 1927, JASA 22:209; Brown, Cai & DasGupta 2001, "
        "Stat. Sci. 16:101); its lower bound is the firing rate the code has surely reached",
    },
    "demote_below": {
        "value": 0.5,
        "source": "design choice: below 0.5 a hit of the code is more likely an honest plant than a fraud, so it "
        "is not a suspicion on its own (one severity step down when opening a case)",
    },
    "min_enterprises": {
        "value": 50,
        "source": "design choice: a firing rate over fewer screened enterprises is not estimated (reliability 1)",
    },
    "p_by_severity": {
        "value": {"critical": 0.9, "high": 0.7, "medium": 0.3, "low": 0.08, "info": 0.0},
        "source": "design prior on the ECMPS-style ladder (DOMAIN.md §5): the share of cases carrying only such a "
        "finding an inspection would confirm; moved by inspection labels (carbonqa.scoring.label_calibration)",
    },
    "p_tip": {
        "value": 0.15,
        "source": "design prior: a complaint is a lead to follow up (Order 775, 2024; DOMAIN.md §4.8), weaker "
        "than a medium finding in the data",
    },
    "p_max": {"value": 0.99, "source": "numerical bound: no single finding is certain (logit finite)"},
}

#: Severity ladder, weakest first (CONTRACT.md severities).
SEVERITY_ORDER: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


def _p(name: str) -> Any:
    return PARAMS[name]["value"]


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


@dataclass(frozen=True)
class CodeRate:
    """How often one rule code fired in a night, and what that leaves of its evidence.

    Attributes:
        rule_code: the code.
        severity: the grade (a code's ``low`` and ``medium`` findings are different statements).
        n_firing: enterprises with a live finding of the code at that grade.
        n_enterprises: enterprises screened (the denominator).
        rate: ``n_firing / n_enterprises`` (0–1).
        rate_lo: lower bound of the 95 % Wilson interval of the rate (0–1).
        reliability: ``min(1, prevalence · code_share_max / rate_lo)`` (0–1]; 1 when fewer than
            ``min_enterprises`` were screened.
    """

    rule_code: str
    severity: str
    n_firing: int
    n_enterprises: int
    rate: float
    rate_lo: float
    reliability: float


def _wilson_lo(k: int, n: int, alpha: float) -> float:
    """Lower bound of the Wilson score interval (scipy's implementation)."""
    if n <= 0 or k <= 0:
        return 0.0
    from scipy.stats import binomtest

    return float(binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="wilson").low)


class EvidenceFinding(Protocol):
    """What the evidence model reads of a finding (a ``Finding``, a stored row or a scoring view)."""

    rule_code: str
    family: str
    severity: str
    unit_id: str | None
    period: str | None
    score: float


def code_firing_rates(by_enterprise: Mapping[str, Iterable[EvidenceFinding]], n_enterprises: int) -> dict[tuple[str, str], CodeRate]:
    """Each (code, grade)'s national firing rate over one night's enterprises and its reliability.

    Args:
        by_enterprise: ``{enterprise_id: findings}`` of the night (live, effective severity); tips and
            ``info`` findings are not counted.
        n_enterprises: enterprises screened that night (≥ the number of keys of ``by_enterprise``).

    Returns:
        ``{(rule_code, severity): CodeRate}`` for every code and grade that fired on at least one
        enterprise. Look a finding up with :func:`reliability_of`.

    Raises:
        ValueError: ``n_enterprises`` smaller than the enterprises that have findings.
    """
    n = int(n_enterprises)
    if n < len(by_enterprise):
        raise ValueError(f"n_enterprises {n} < {len(by_enterprise)} enterprises with findings")
    counts: dict[tuple[str, str], int] = {}
    for fs in by_enterprise.values():
        for key in {(f.rule_code, f.severity) for f in fs if f.family != "tip" and f.severity != "info"}:
            counts[key] = counts.get(key, 0) + 1
    bound = float(_p("prevalence")) * float(_p("code_share_max"))
    out: dict[tuple[str, str], CodeRate] = {}
    for (code, sev), k in sorted(counts.items()):
        lo = _wilson_lo(k, n, float(_p("firing_rate_alpha")))
        rel = 1.0 if n < int(_p("min_enterprises")) or lo <= bound else bound / lo
        out[(code, sev)] = CodeRate(code, sev, k, n, k / n if n else 0.0, lo, round(rel, 4))
    return out


def reliability_of(reliability: Mapping[Any, float] | None, rule_code: str, severity: str) -> float:
    """A finding's reliability from a map keyed ``(code, severity)`` (the night's) or by code alone (1 if absent)."""
    if not reliability:
        return 1.0
    v = reliability.get((rule_code, severity))
    return float(v if v is not None else reliability.get(rule_code, 1.0))


def demoted(severity: str, reliability: float) -> str:
    """The severity a finding counts with when opening a case: one step lower for a weak code.

    ``reliability`` below :data:`PARAMS` ``demote_below`` moves ``critical``→``high``→``medium``→``low``;
    ``low`` and ``info`` stay.
    """
    if reliability >= float(_p("demote_below")) or severity in ("info", "low"):
        return severity
    return SEVERITY_ORDER[SEVERITY_ORDER.index(severity) - 1]


@dataclass(frozen=True)
class Fact:
    """One independent fact: the findings that restate it and the strongest of them.

    Attributes:
        families: families of its findings.
        rule_codes: codes of its findings, sorted.
        top_code: the code of its strongest finding.
        q: probability that the fact signals a material under-report (0–1).
        llr: natural-log likelihood ratio against the prior (≥ 0).
    """

    families: tuple[str, ...]
    rule_codes: tuple[str, ...]
    top_code: str
    q: float
    llr: float


def _q(f: Any, reliability: Mapping[Any, float], factors: Mapping[str, float]) -> float:
    if f.family == "tip":
        return float(_p("p_tip"))
    base = float(_p("p_by_severity").get(f.severity, 0.0))
    q = base * float(f.score) * reliability_of(reliability, f.rule_code, f.severity) * factors.get(f.rule_code, 1.0)
    return min(float(_p("p_max")), max(0.0, q))


def facts(
    findings: Iterable[EvidenceFinding],
    reliability: Mapping[Any, float] | None = None,
    factors: Mapping[str, float] | None = None,
) -> list[Fact]:
    """Group one case's live findings into independent facts (see the module docstring).

    Args:
        findings: the case's findings (``info`` ones are ignored).
        reliability: per-code reliability (:func:`code_firing_rates`), default 1.
        factors: per-code inspection-label factors (:func:`carbonqa.scoring.label_calibration`), default 1.

    Returns:
        Facts, strongest first (ties by code).
    """
    rel = reliability or {}
    fac = factors or {}
    live = [f for f in findings if f.severity != "info"]
    parent = list(range(len(live)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple, int] = {}
    for i, f in enumerate(live):
        keys = [("fam", f.family)]
        if f.unit_id is not None and f.period is not None and f.family != "tip":
            keys.append(("um", f.unit_id, f.period))
        for k in keys:
            j = first.setdefault(k, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    groups: dict[int, list[Any]] = {}
    for i, f in enumerate(live):
        groups.setdefault(find(i), []).append(f)
    prior = _logit(float(_p("prevalence")))
    out = []
    for fs in groups.values():
        scored = [(_q(f, rel, fac), f.rule_code) for f in fs]
        q, code = max(scored)
        if all(f.family == "tip" for f in fs):  # n distinct complaints: 1 − (1 − p_tip)^n
            n = len({getattr(f, "detail_key", "") or id(f) for f in fs})
            q = 1.0 - (1.0 - float(_p("p_tip"))) ** n
        out.append(Fact(tuple(sorted({f.family for f in fs})), tuple(sorted({f.rule_code for f in fs})), code, q,
                        max(0.0, _logit(q) - prior) if q > 0 else 0.0))
    return sorted(out, key=lambda x: (-x.llr, x.top_code))


def p_confirm(fs: Iterable[Fact]) -> float:
    """Posterior probability that an inspection confirms a material under-report (0–1).

    ``sigmoid(logit(prevalence) + Σ llr)`` over independent facts (:func:`facts`); the prior alone
    (``prevalence``) without facts.
    """
    return _sigmoid(_logit(float(_p("prevalence"))) + sum(f.llr for f in fs))
