"""Findings → one risk score per case, with the reasons that produced it (pure functions, no I/O).

The score ranks cases for inspection across the whole country (CONTRACT.md §5 ``risk_score``: higher =
inspect first): **what an inspection is expected to yield** — the probability that it confirms a
material under-report, and the tonnes it would recover (issue 12; DOMAIN.md §4b materiality):

* ``p_confirm`` = the evidence of :mod:`carbonqa.evidence` (independent facts combined as log-likelihood
  ratios, each code weighted by its national firing rate and by inspection labels) × :func:`p_material`
  (the probability that the tonnes at stake reach the materiality threshold);
* ``risk_score`` = :func:`yield_points` of ``p_confirm`` and the signed, bounded under-report stake,
  clamped to ``[0, 100]`` and rounded to 2 decimals. It is not a sum over findings: ten findings
  restating one fact score as one, and the score is monotone non-decreasing in any finding's
  ``tco2_at_stake`` and ``score``.

De-duplication: several findings on one unit-month describe the *same* tonnes — a carbon-content
outlier seen by a rule and by a detector, and equally a lab report found forged (lab forensics), missing
(completeness) and too low (carbon content): each says the month's carbon content would fall back to
the default — so only the largest counts (:func:`case_tonnes`). Summing families on one month
inflated a paperwork case to a third of a plant's year (session-5 screenshots). The same holds across
levels: a unit-year finding (no period: a carbon content low all year, an efficiency above the peers')
covers the unit's months, and an enterprise-year finding (no unit: the annual report against the
deposits, two meters against the report) covers its units — so a unit counts the larger of its months'
sum and its unit-year findings, and the case the larger of its units' sum and its enterprise-year
findings, never their sum (a whole-year efficiency finding added to the same months' copied lab values
doubled a case's tonnes, session-6 screenshots).

Suppressed findings (effective severity ``info``, see :mod:`carbonqa.suppression`) count for nothing.

**Learning from inspections** (DOMAIN.md §5: a little labelled data helps a lot). Every inspection outcome
is kept as an :class:`~carbonqa.store.models.InspectionLabel` with the case's rule codes;
:func:`label_calibration` turns them into one confidence factor per rule code (a shrunken Beta posterior
of how often inspectors confirmed cases carrying the code, relative to all inspected cases), and
:func:`score_case` applies it. Without labels every factor is 1 and the score is exactly what it was.
The factor never decides whether a case exists (the opening policy in :mod:`carbonqa.cases` reads
findings, not scores) and it does not touch complaints.

Every constant is in :data:`PARAMS` with its source.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from carbonqa import evidence as ev
from carbonqa.contract import FAMILIES

__all__ = [
    "PARAMS",
    "FAMILY_LABELS",
    "FindingLike",
    "CaseScore",
    "score_case",
    "LabelLike",
    "CodeCalibration",
    "label_calibration",
    "stake_by_group",
    "case_tonnes",
    "over_by_group",
    "yield_points",
    "p_material",
    "materiality_threshold_t",
    "round_tonnes",
]


#: Scoring constants, one table with sources (DOMAIN.md §4 anchors). Units in the names.
PARAMS: dict[str, dict[str, Any]] = {
    "beijing_abs_threshold_t": {
        "value": 1_000.0,
        "source": "Beijing ETS pilot verification rule: reported-verified gap > 1,000 t or > 10 % (DOMAIN.md §4.4)",
    },
    "beijing_rel_threshold": {"value": 0.10, "source": "Beijing ETS pilot verification rule (10 %) (DOMAIN.md §4.4)"},
    "eu_rel_threshold": {
        "value": 0.05,
        "source": "EU AVR (Reg. (EU) 2018/2067) art. 23: materiality level 5 % of total reported emissions",
    },
    "eu_rel_threshold_large": {
        "value": 0.02,
        "source": "EU AVR (Reg. (EU) 2018/2067) art. 23: 2 % for installations above 500 kt CO2/yr",
    },
    "eu_large_installation_t": {"value": 500_000.0, "source": "EU AVR art. 23: category C installations > 500 kt"},
    "severity_weight_pts": {  # only orders a case's findings to pick the one its summary leads with
        "value": {"critical": 15.0, "high": 10.0, "medium": 6.0, "low": 3.0, "info": 0.0},
        "source": "design choice on the ECMPS-style ladder (DOMAIN.md §5); info = suppressed, counts nothing",
    },
    "max_score": {"value": 100.0, "source": "scale of the case export's risk_score"},
    "stake_log_sigma": {
        "value": math.log(3.0),
        "source": "design choice: a stake is known within about a factor 3 (peer medians and band edges, "
        "DOMAIN.md §3 ranges span ×1.5–×3), so ln-tonnes are taken normal with σ = ln 3",
    },
    "p_material_floor": {
        "value": 0.05,
        "source": "design choice: a case whose findings put no tonnes in doubt keeps 5 % of its evidence "
        "(equal to the prior prevalence, carbonqa.evidence) so breaches of procedure still rank, last",
    },
    "yield_full_decades": {
        "value": 6.0,
        "source": "design choice: tonnes double a case's points from 0 t to 1 Mt (10^6 t, the largest units' "
        "annual emissions are a few Mt); chosen on development nights (bench/README.md, 'Evidence scoring')",
    },
    "label_prior_strength_cases": {
        "value": 5.0,
        "source": "empirical-Bayes shrinkage (Efron & Morris 1975, JASA 70:311; Casella 1985, Am. Stat. 39:83): "
        "Beta prior centred on the overall confirmation rate, worth 5 pseudo-cases — a rule code's own record "
        "weighs as much as the prior after 5 inspected cases; one label moves it at most 1/6 of the way. Fixed, "
        "not fitted: a beta-binomial moment fit is unstable with the first few dozen labels (design choice)",
    },
    "label_factor_min": {
        "value": 0.5,
        "source": "design choice (conservative): a code inspectors keep dismissing at most halves its findings' "
        "evidence: labels reorder near-ties, never bury a strong case; unsupervised detectors keep surfacing new "
        "patterns (DOMAIN.md §5, ADBench)",
    },
    "label_factor_max": {
        "value": 1.5,
        "source": "design choice (conservative): a code inspectors keep confirming gains at most +50 % "
        "evidence",
    },
}


def _p(name: str) -> Any:
    return PARAMS[name]["value"]


#: Family names as an inspector reads them (zh-CN, en).
FAMILY_LABELS: dict[str, tuple[str, str]] = {
    "completeness": ("数据完整性", "completeness"),
    "accounting": ("核算与单位错误", "accounting"),
    "carbon_content": ("单位热值含碳量", "carbon content"),
    "copied_values": ("月度数据复制", "copied monthly values"),
    "lab_forensics": ("检测报告异常", "lab-report forensics"),
    "verifier": ("核查问题", "verification"),
    "telemetry": ("运行数据不符", "telemetry mismatch"),
    "tip": ("投诉举报", "complaint"),
}
assert set(FAMILY_LABELS) == set(FAMILIES)


class FindingLike(Protocol):
    """What scoring reads of a finding: a :class:`carbonqa.findings.Finding` or a stored ``FindingRow``."""

    rule_code: str
    family: str
    severity: str
    unit_id: str | None
    period: str | None
    score: float
    tco2_at_stake: float


@dataclass(frozen=True)
class CaseScore:
    """The scored view of one case's findings.

    Attributes:
        risk_score: 0–100, higher = inspect first.
        tco2_at_stake: de-duplicated tonnes at stake (not confidence-weighted), capped at reported
            emissions when known; tCO₂.
        expected_tco2: confidence-weighted tonnes ``E`` used for the materiality component; tCO₂.
        families: counted families in contract vocabulary order.
        rule_codes: counted rule codes, sorted.
        unit_id: the unit carrying most stake; ``None`` when no finding names a unit or several units
            tie for the most stake.
        stake_by_family: tCO₂ per family (de-duplicated), for the summary.
        n_tips: complaints attached.
        count_by_family: counted findings per family.
        reasons: ``[{"code", "points", "zh", "en"}]`` — every component that contributed.
        top: the counted finding with the largest ``tco2 × score`` (ties: severity), or ``None``.
        p_confirm: probability that an inspection confirms a material under-report (0–1,
            :func:`carbonqa.evidence.p_confirm`).
        over_tco2: de-duplicated over-report stake (≤ 0, tCO₂): shown, never added.
        cny_at_stake: ``tco2_at_stake`` × the year's allowance price (CNY), ``None`` when not priced.
    """

    risk_score: float
    tco2_at_stake: float
    expected_tco2: float
    families: tuple[str, ...]
    rule_codes: tuple[str, ...]
    unit_id: str | None
    stake_by_family: dict[str, float] = field(default_factory=dict)
    n_tips: int = 0
    count_by_family: dict[str, int] = field(default_factory=dict)
    reasons: tuple[dict[str, Any], ...] = ()
    top: Any = None
    p_confirm: float = 0.0
    over_tco2: float = 0.0
    cny_at_stake: float | None = None


def materiality_threshold_t(reported_emissions_t: float | None) -> float:
    """Tonnes above which a misstatement is material for an enterprise.

    The Beijing absolute threshold (1,000 t) or, when the reported emissions are known, the EU relative
    threshold (5 %; 2 % above 500 kt) — whichever is *lower* (the stricter trigger for inspection).
    """
    thr = float(_p("beijing_abs_threshold_t"))
    if reported_emissions_t and reported_emissions_t > 0:
        rel = _p("eu_rel_threshold_large") if reported_emissions_t > _p("eu_large_installation_t") else _p("eu_rel_threshold")
        thr = min(thr, rel * reported_emissions_t)
    return thr


def stake_by_group(
    findings: Iterable[FindingLike], confidence: Callable[[FindingLike], float] | None = None
) -> dict[tuple[str, str | None, str | None], tuple[float, float]]:
    """Max tonnes per (family, unit, period) over counted (non-``info``, non-tip) findings.

    ``confidence``: a finding's confidence (default its ``score``; :func:`score_case` passes the
    inspection-calibrated one).

    Returns:
        ``{(family, unit_id, period): (max tco2_at_stake, max tco2_at_stake × confidence)}`` in tCO₂.
    """
    out: dict[tuple[str, str | None, str | None], tuple[float, float]] = {}
    for f in findings:
        if f.severity == "info" or f.family == "tip":
            continue
        key = (f.family, f.unit_id, f.period)
        t = max(0.0, float(f.tco2_at_stake or 0.0))
        e = t * (float(f.score) if confidence is None else confidence(f))
        old = out.get(key, (0.0, 0.0))
        out[key] = (max(old[0], t), max(old[1], e))
    return out


def case_tonnes(groups: Mapping[tuple[str, str | None, str | None], tuple[float, float]]) -> tuple[float, float]:
    """A case's tonnes from :func:`stake_by_group`: each unit-month once, at its largest suspicion.

    Three levels, each bounded by the one above it rather than added to it: a unit-month counts its
    largest group (the codes that saw one month's under-report describe the same tonnes); a unit counts
    the larger of Σ its months and its largest unit-year group (period ``None``: a finding about the
    whole year covers those months); the case counts the larger of Σ its units and its largest
    enterprise-year group (unit ``None``). Tonnes and confidence-weighted tonnes are bounded separately.

    Returns:
        ``(tonnes, confidence-weighted tonnes)`` in tCO₂, both ≥ 0.
    """
    months: dict[tuple[str, str], tuple[float, float]] = {}
    unit_year: dict[str, tuple[float, float]] = {}
    ent_t = ent_e = 0.0
    for (_fam, unit, period), (t, e) in groups.items():
        if unit is None:
            ent_t, ent_e = max(ent_t, t), max(ent_e, e)
        elif period is None:
            old = unit_year.get(unit, (0.0, 0.0))
            unit_year[unit] = (max(old[0], t), max(old[1], e))
        else:
            old = months.get((unit, period), (0.0, 0.0))
            months[(unit, period)] = (max(old[0], t), max(old[1], e))
    per_unit: dict[str, list[float]] = {}
    for (unit, _period), (t, e) in months.items():
        acc = per_unit.setdefault(unit, [0.0, 0.0])
        acc[0] += t
        acc[1] += e
    units_t = units_e = 0.0
    for unit in set(per_unit) | set(unit_year):
        m_t, m_e = per_unit.get(unit, (0.0, 0.0))
        y_t, y_e = unit_year.get(unit, (0.0, 0.0))
        units_t += max(m_t, y_t)
        units_e += max(m_e, y_e)
    return max(units_t, ent_t), max(units_e, ent_e)


def over_by_group(findings: Iterable[FindingLike]) -> float:
    """De-duplicated over-report stake of counted findings (≤ 0, tCO₂).

    The most negative ``tco2_at_stake`` per (family, unit, period), summed: what the reported emissions
    would fall by if the suspected data errors were corrected. Never added to an under-report stake.
    """
    out: dict[tuple[str, str | None, str | None], float] = {}
    for f in findings:
        t = float(f.tco2_at_stake or 0.0)
        if f.severity == "info" or f.family == "tip" or t >= 0:
            continue
        key = (f.family, f.unit_id, f.period)
        out[key] = min(out.get(key, 0.0), t)
    return sum(out.values())


def round_tonnes(t: float) -> int:
    """Round tonnes to 3 significant figures for plain-language text (12,345 → 12,300)."""
    if t <= 0:
        return 0
    digits = int(math.floor(math.log10(t)))
    return int(round(t, -max(0, digits - 2)))


class LabelLike(Protocol):
    """What calibration reads of an inspection label (a stored :class:`~carbonqa.store.models.InspectionLabel`)."""

    case_id: str
    outcome: str
    rule_codes: str


@dataclass(frozen=True)
class CodeCalibration:
    """What inspections say about one rule code.

    Attributes:
        rule_code: the code.
        confirmed: labelled cases carrying the code that inspectors confirmed (cases).
        dismissed: labelled cases carrying the code that were dismissed (cases).
        posterior: Beta posterior mean of the confirmation probability of a case carrying the code
            (dimensionless, 0–1).
        base_rate: confirmation rate over all labelled cases, the prior's mean (dimensionless, 0–1).
        factor: multiplier of the code's findings' confidence, ``posterior / base_rate`` clamped to
            ``[label_factor_min, label_factor_max]`` and rounded to 4 decimals (dimensionless).
    """

    rule_code: str
    confirmed: int
    dismissed: int
    posterior: float
    base_rate: float
    factor: float


def _codes_of(rule_codes: Any) -> set[str]:
    if rule_codes is None:
        return set()
    items = rule_codes.split("|") if isinstance(rule_codes, str) else rule_codes
    return {str(c).strip() for c in items if c and str(c).strip()}


def label_calibration(
    labels: Iterable[LabelLike],
    prior_strength: float | None = None,
) -> dict[str, CodeCalibration]:
    """Per-rule-code confidence factors from inspection outcomes (pure, deterministic).

    For each rule code ``c``: ``n_c`` confirmed and ``m_c`` dismissed labelled *cases* whose findings
    carried ``c`` (the label's ``rule_codes``, ``|``-joined). The overall confirmation rate
    ``p0 = confirmed cases / labelled cases`` centres a Beta prior ``Beta(s·p0, s·(1 − p0))`` of
    strength ``s`` pseudo-cases (:data:`PARAMS` ``label_prior_strength_cases``, 5) — empirical-Bayes
    shrinkage (Efron & Morris 1975; Casella 1985): the prior's mean is estimated from all labels, so a
    code with few labels stays near the average and only a consistent record moves it. The posterior
    mean is ``p_c = (s·p0 + n_c) / (s + n_c + m_c)``, and the factor is the lift ``p_c / p0`` clamped
    to ``[0.5, 1.5]`` (``label_factor_min`` / ``label_factor_max``): a code inspectors keep
    dismissing loses confidence, one they keep confirming gains it, and a code with no labels of its
    own has ``p_c = p0``, factor exactly 1.

    Example: 20 labelled cases, 10 confirmed (``p0`` = 0.5); a code confirmed 8 of 10 times gets
    ``p_c = (2.5 + 8) / 15 = 0.70``, factor 1.4; one dismissed 9 of 10 times gets ``(2.5 + 1) / 15 =
    0.233``, factor 0.467 → 0.5. With a single confirmed label it gets ``3.5 / 6 = 0.583``, factor 1.17.

    A case's latest label counts (highest ``label_id``, else the last one given): a reopened and
    re-inspected case is one case with its final outcome. Outcomes other than ``confirmed`` /
    ``dismissed`` are ignored. When every labelled case has the same outcome (``p0`` is 0 or 1), no
    code can be told apart from the others and every factor is 1.

    Args:
        labels: inspection labels (any order; see above for repeated cases).
        prior_strength: ``s`` in pseudo-cases (default: :data:`PARAMS`).

    Returns:
        ``{rule_code: CodeCalibration}`` for every code seen on a label (empty without labels).
    """
    s = float(_p("label_prior_strength_cases") if prior_strength is None else prior_strength)
    if s <= 0:
        raise ValueError(f"prior_strength must be > 0 pseudo-cases, got {s}")
    latest: dict[str, tuple[tuple[int, int, int], str, set[str]]] = {}
    for i, lab in enumerate(labels):
        if lab.outcome not in ("confirmed", "dismissed"):
            continue
        lid = getattr(lab, "label_id", None)
        key = (0 if lid is None else 1, int(lid) if lid is not None else 0, i)
        old = latest.get(lab.case_id)
        if old is None or key > old[0]:
            latest[lab.case_id] = (key, lab.outcome, _codes_of(lab.rule_codes))
    if not latest:
        return {}
    n_conf = sum(1 for v in latest.values() if v[1] == "confirmed")
    p0 = n_conf / len(latest)
    counts: dict[str, list[int]] = {}
    for _key, outcome, codes in latest.values():
        for c in codes:
            counts.setdefault(c, [0, 0])[0 if outcome == "confirmed" else 1] += 1
    lo, hi = float(_p("label_factor_min")), float(_p("label_factor_max"))
    out: dict[str, CodeCalibration] = {}
    for c in sorted(counts):
        n, m = counts[c]
        post = (s * p0 + n) / (s + n + m)
        factor = 1.0 if p0 in (0.0, 1.0) else round(min(hi, max(lo, post / p0)), 4)
        out[c] = CodeCalibration(c, n, m, post, p0, factor)
    return out


def _calibration_text(cals: list[CodeCalibration]) -> tuple[str, str]:
    zh, en = [], []
    for c in cals:
        n = c.confirmed + c.dismissed
        up = c.factor > 1
        zh.append(f"{c.rule_code} 历史核实率 {c.confirmed}/{n}，置信度{'上调' if up else '下调'}（×{c.factor:.2f}）")
        en.append(
            f"{c.rule_code} confirmed in {c.confirmed} of {n} inspected cases, confidence "
            f"{'raised' if up else 'lowered'} (×{c.factor:.2f})"
        )
    return "检查反馈：" + "；".join(zh), "inspection feedback: " + "; ".join(en)


def p_material(stake_t: float, threshold_t: float) -> float:
    """Probability that a suspicion's true tonnes reach the materiality threshold (0–1).

    A detector's stake estimates the tonnes within about a factor 3 (stakes are computed from a peer
    median or a band edge, not from the truth), so the true tonnes are taken log-normal around the
    stake with ``σ = ln 3`` (:data:`PARAMS` ``stake_log_sigma``) and
    ``P = Φ(ln(T / threshold) / σ)``: a stake at the threshold is material with probability ½, ten
    times above it 0.98, twenty times below it 0.003. A case with no tonnes at all keeps the floor
    ``p_material_floor`` (a breach of procedure is still worth a look, last).

    Args:
        stake_t: the case's under-report stake, tCO₂.
        threshold_t: :func:`materiality_threshold_t`, tCO₂ (> 0).
    """
    floor = float(_p("p_material_floor"))
    if stake_t <= 0 or threshold_t <= 0:
        return floor
    z = math.log(stake_t / threshold_t) / float(_p("stake_log_sigma"))
    return max(floor, 0.5 * math.erfc(-z / math.sqrt(2.0)))


def yield_points(p: float, stake_t: float) -> float:
    """Risk points of one case: what an inspection is expected to yield (0–100).

    ``100 · p · (1 + min(1, log10(1 + T) / 6)) / 2`` with ``p`` the probability that an inspection
    confirms a material under-report (:func:`carbonqa.evidence.p_confirm`) and ``T`` the tonnes it
    would recover (the signed under-report stake, bounded; tCO₂). The probability orders cases; the
    tonnes move a case by at most a factor 2 (0 t → ×0.5, 1 kt → ×0.75, 1 Mt and more → ×1), so a
    weak suspicion on a very large plant does not outrank a strong one on a small plant, and of two
    equally strong suspicions the larger recovers more. Chosen over ``p × T`` (expected tonnes) and
    over ``p`` alone on held-out nights by precision@k and tCO₂ recall@k (bench/README.md,
    "Evidence scoring").

    Args:
        p: probability in [0, 1].
        stake_t: tCO₂ ≥ 0 (negative values count as 0).

    Returns:
        Points in [0, 100].
    """
    decades = math.log10(1.0 + max(0.0, stake_t)) / float(_p("yield_full_decades"))
    return 100.0 * max(0.0, min(1.0, p)) * (1.0 + min(1.0, decades)) / 2.0


def score_case(
    findings: Iterable[FindingLike],
    reported_emissions_t: float | None = None,
    calibration: Mapping[str, CodeCalibration] | None = None,
    reliability: Mapping[Any, float] | None = None,
    allowance_price_cny_per_t: float | None = None,
) -> CaseScore:
    """Score one case from its findings: evidence first, then tonnes.

    Args:
        findings: the case's findings (any mix of families; ``info`` ones are ignored).
        reported_emissions_t: the enterprise's reported annual emissions (tCO₂) if known: bounds the
            under-report stake and sets the relative materiality threshold.
        calibration: per-rule-code factors from :func:`label_calibration` (``None`` or empty: no
            change); they scale each finding's evidence (:func:`carbonqa.evidence.facts`).
        reliability: reliability of the night keyed ``(code, severity)`` (or by code alone;
            :func:`carbonqa.evidence.code_firing_rates`; default 1): a code that fires on many plants is
            weak evidence.
        allowance_price_cny_per_t: the year's allowance price (:mod:`carbonqa.regulation`); gives
            ``cny_at_stake`` (``None``: not priced).

    Returns:
        A :class:`CaseScore`; an empty or all-suppressed input scores 0 with no families.

    **Stake, signed.** A finding's ``tco2_at_stake`` is what its suspicion would change: positive =
    under-reported, negative = over-reported (a percent-for-fraction typo that inflated the report).
    Under-report stakes are de-duplicated per (family, unit, period) (:func:`stake_by_group`) and
    summed; over-report stakes are shown (``over_tco2``, a reason) and never added. The under-report
    stake is capped at the reported emissions (each finding's own stake is already bounded by the
    physics of its suspicion: the months and quantities it doubts).

    **Risk** = :func:`yield_points` of ``p_confirm`` (facts combined as log-likelihood ratios,
    :mod:`carbonqa.evidence`) and the bounded stake. Reasons: ``evidence`` (the probability and the
    facts behind it), ``materiality`` (tonnes, CNY), ``over_report``, ``weak_codes`` (codes whose
    national firing rate cut their weight), ``inspections`` (label factors).
    """
    counted = [f for f in findings if f.severity != "info"]
    tips = [f for f in counted if f.family == "tip"]
    rel = dict(reliability or {})
    factors = {c: v.factor for c, v in (calibration or {}).items()}

    def conf(f: FindingLike) -> float:
        return float(f.score) * ev.reliability_of(rel, f.rule_code, f.severity) * factors.get(f.rule_code, 1.0)

    groups = stake_by_group(counted, conf)
    stake, expected = case_tonnes(groups)
    over = over_by_group(counted)
    capped = False
    if reported_emissions_t is not None and reported_emissions_t > 0 and stake > reported_emissions_t:
        capped = True
        ratio = reported_emissions_t / stake
        stake, expected = reported_emissions_t, expected * ratio

    fact_list = ev.facts(counted, rel, factors)
    p_evidence = ev.p_confirm(fact_list)
    thr = materiality_threshold_t(reported_emissions_t)
    # a material data error counts too (issue: "evidence that emissions are too low, or a material data
    # error"): an over-report typo is worth a case, with no tonnes claimed for it
    mu = p_material(max(stake, -over), thr)
    p = p_evidence * mu

    by_family: dict[str, float] = {}
    by_unit: dict[str, float] = {}
    for (fam, unit, _per), (t, _e) in groups.items():
        by_family[fam] = by_family.get(fam, 0.0) + t
        if unit is not None:
            by_unit[unit] = by_unit.get(unit, 0.0) + t
    units_named = {f.unit_id for f in counted if f.unit_id is not None}
    unit_id: str | None = None
    if by_unit:
        best = max(by_unit.values())
        leaders = [u for u, t in by_unit.items() if t == best]
        unit_id = leaders[0] if len(leaders) == 1 else None
    if unit_id is None and len(units_named) == 1:
        unit_id = next(iter(units_named))

    reasons: list[dict[str, Any]] = []
    pts = yield_points(p, stake) if counted else 0.0
    moved = sorted(
        {calibration[f.rule_code] for f in counted if calibration and f.rule_code in calibration and calibration[f.rule_code].factor != 1.0},
        key=lambda c: c.rule_code,
    )
    # the evidence reason carries the points without inspection labels, the inspections reason the rest
    pts_unlabelled = yield_points(ev.p_confirm(ev.facts(counted, rel, {})) * mu, stake) if moved else pts
    if counted:
        basis_zh = "；".join(f"{x.top_code}（{'、'.join(FAMILY_LABELS[fm][0] for fm in x.families)}，似然比 ×{math.exp(x.llr):.1f}）"
                            for x in fact_list[:4] if x.llr > 0) or "无"
        basis_en = "; ".join(f"{x.top_code} ({', '.join(FAMILY_LABELS[fm][1] for fm in x.families)}, likelihood ratio ×{math.exp(x.llr):.1f})"
                            for x in fact_list[:4] if x.llr > 0) or "none"
        n_facts = sum(1 for x in fact_list if x.llr > 0)
        reasons.append({
            "code": "evidence", "points": round(pts_unlabelled, 2), "p_confirm": round(p, 4),
            "p_evidence": round(p_evidence, 4), "p_material": round(mu, 4),
            "zh": f"检查证实实质性少报的概率约 {p:.0%}：证据表明存在少报的概率 {p_evidence:.0%}（先验 "
                  f"{ev.PARAMS['prevalence']['value']:.0%}，{n_facts} 项独立事实：{basis_zh}）× 涉及量达到实质性阈值 "
                  f"{round_tonnes(thr):,} tCO₂ 的概率 {mu:.0%}",
            "en": f"probability an inspection confirms a material under-report ≈ {p:.0%}: evidence of an "
                  f"under-report {p_evidence:.0%} (prior {ev.PARAMS['prevalence']['value']:.0%}; {n_facts} independent "
                  f"fact(s): {basis_en}) × probability the tonnes reach the materiality threshold of "
                  f"{round_tonnes(thr):,} tCO₂ {mu:.0%}",
        })
    cny = None if allowance_price_cny_per_t is None else stake * float(allowance_price_cny_per_t)
    if stake > 0:
        price_zh = f"，按配额价格约 {round_tonnes(cny):,} 元" if cny is not None else ""
        price_en = f", about CNY {round_tonnes(cny):,} at the allowance price" if cny is not None else ""
        reasons.append({
            "code": "materiality", "points": 0.0,
            "zh": f"若怀疑属实，少报约 {round_tonnes(stake):,} tCO₂{price_zh}（按置信度折算约 {round_tonnes(expected):,} tCO₂）"
                  + ("，已按报告排放量封顶" if capped else "")
                  + ("；超过实质性阈值" if stake >= materiality_threshold_t(reported_emissions_t) else "；未达实质性阈值"),
            "en": f"if the suspicion is true, about {round_tonnes(stake):,} tCO₂ under-reported{price_en} "
                  f"({round_tonnes(expected):,} t confidence-weighted)" + (", capped at reported emissions" if capped else "")
                  + ("; above the materiality threshold" if stake >= materiality_threshold_t(reported_emissions_t)
                     else "; below the materiality threshold"),
        })
    if over < 0:
        reasons.append({
            "code": "over_report", "points": 0.0,
            "zh": f"另有约 {round_tonnes(-over):,} tCO₂ 可能为多报（数据错误，不计入少报量）",
            "en": f"about {round_tonnes(-over):,} tCO₂ may be over-reported (a data error; not added to the under-report)",
        })
    weak = sorted({(c, w) for c, w in ((f.rule_code, ev.reliability_of(rel, f.rule_code, f.severity))
                                       for f in counted if f.family != "tip") if w < 1.0})
    if weak:
        reasons.append({
            "code": "weak_codes", "points": 0.0,
            "zh": "全国触发率偏高、证据权重下调：" + "、".join(f"{c}（×{w:.2f}）" for c, w in weak),
            "en": "fires on many plants nationally, weight lowered: " + ", ".join(f"{c} (×{w:.2f})" for c, w in weak),
        })
    if moved:
        zh, en = _calibration_text(moved)
        reasons.append({"code": "inspections", "points": round(pts - pts_unlabelled, 2), "zh": zh, "en": en})
    if tips:
        n = len({getattr(t, "detail_key", "") or id(t) for t in tips})
        reasons.append({"code": "tip", "points": 0.0, "zh": f"附 {n} 条投诉举报线索（计入证据）",
                        "en": f"{n} complaint(s) attached (counted as evidence)"})
    total = min(_p("max_score"), max(0.0, pts))

    weights: Mapping[str, float] = _p("severity_weight_pts")
    fams = tuple(f for f in FAMILIES if any(x.family == f for x in counted))
    codes = tuple(sorted({f.rule_code for f in counted}))
    top = None
    if counted:
        top = max(
            (f for f in counted if f.family != "tip"),
            key=lambda f: (max(0.0, float(f.tco2_at_stake or 0)) * conf(f), weights.get(f.severity, 0.0) * conf(f), f.rule_code),
            default=tips[0] if tips else None,
        )
    return CaseScore(
        risk_score=round(total, 2),
        tco2_at_stake=round(stake, 1),
        expected_tco2=round(expected, 1),
        families=fams,
        rule_codes=codes,
        unit_id=unit_id,
        stake_by_family={k: round(v, 1) for k, v in by_family.items()},
        n_tips=len({getattr(t, "detail_key", "") or id(t) for t in tips}),
        count_by_family={fam: sum(1 for x in counted if x.family == fam) for fam in fams},
        reasons=tuple(reasons),
        top=top,
        p_confirm=round(p, 4),
        over_tco2=round(over, 1),
        cny_at_stake=None if cny is None else round(cny, 0),
    )
