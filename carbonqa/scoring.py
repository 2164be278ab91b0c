"""Findings → one risk score per case, with the reasons that produced it (pure functions, no I/O).

The score ranks cases for inspection across the whole country (CONTRACT.md §5 ``risk_score``: higher =
inspect first). It rests on **materiality first** (DOMAIN.md §4: rank by the tonnes that would change if
the suspicion is true, combined with confidence — *not* by the number of rules that fired):

====================  ==========================================================================
component             points
====================  ==========================================================================
materiality           ``10 × log10(1 + E)`` where ``E`` = expected tonnes at stake = Σ over distinct
                      (family, unit, period) of ``max(tco2_at_stake × score)``; capped at the
                      enterprise's reported emissions when known. 10 t → 10, 1 kt → 30, 100 kt → 50.
material bonus        ``+10`` when ``E`` crosses a materiality threshold: Beijing pilot 1,000 t
                      absolute, or the EU relative threshold (5 %, 2 % above 500 kt) of reported
                      emissions when these are known.
severity              the single most serious counted finding: ``weight(severity) × score``
                      (critical 15, high 10, medium 6, low 3); the max, never a sum.
tips                  ``+10`` (worth one decade of tonnes) for the first complaint naming the
                      enterprise, ``+5`` per further one, at most ``+20`` (the 2024 regulation makes
                      complaints a lead to follow up).
====================  ==========================================================================

The sum is clamped to ``[0, 100]`` and rounded to 2 decimals. Because nothing is summed over findings
except de-duplicated tonnes, ten tiny findings score below one big one, and the score is monotone
non-decreasing in any finding's ``tco2_at_stake`` and ``score``.

De-duplication: several findings of one family on one unit-month usually describe the *same* tonnes
(e.g. a carbon-content outlier seen by a rule and by a detector), so only the largest counts. Different
families on one unit-month are summed (they are different suspicions: carbon content and coal quantity
multiply). Findings without a unit or period form their own (family, None, None) group.

Suppressed findings (effective severity ``info``, see :mod:`carbonqa.suppression`) count for nothing.

Every constant is in :data:`PARAMS` with its source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from carbonqa.contract import FAMILIES

__all__ = [
    "PARAMS",
    "FAMILY_LABELS",
    "FindingLike",
    "CaseScore",
    "score_case",
    "stake_by_group",
    "materiality_threshold_t",
    "round_tonnes",
]


#: Scoring constants, one table with sources (DOMAIN.md §4 anchors). Units in the names.
PARAMS: dict[str, dict[str, Any]] = {
    "materiality_pts_per_decade": {
        "value": 10.0,
        "source": "design choice: log-scaled tonnes so 10× the tonnes adds a fixed 10 points (DOMAIN.md §4)",
    },
    "material_bonus_pts": {"value": 10.0, "source": "design choice: crossing a verification materiality threshold"},
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
    "severity_weight_pts": {
        "value": {"critical": 15.0, "high": 10.0, "medium": 6.0, "low": 3.0, "info": 0.0},
        "source": "design choice on the ECMPS-style ladder (DOMAIN.md §5); info = suppressed, counts nothing",
    },
    "tip_first_pts": {
        "value": 10.0,
        "source": "碳排放权交易管理暂行条例 (Order 775, 2024): complaints are leads to follow up (DOMAIN.md §4.8)",
    },
    "tip_more_pts": {"value": 5.0, "source": "design choice: further complaints corroborate, with diminishing weight"},
    "tip_max_pts": {"value": 20.0, "source": "design choice: complaints raise priority but never outweigh tonnes"},
    "max_score": {"value": 100.0, "source": "scale of the case export's risk_score"},
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


def stake_by_group(findings: Iterable[FindingLike]) -> dict[tuple[str, str | None, str | None], tuple[float, float]]:
    """Max tonnes per (family, unit, period) over counted (non-``info``, non-tip) findings.

    Returns:
        ``{(family, unit_id, period): (max tco2_at_stake, max tco2_at_stake × score)}`` in tCO₂.
    """
    out: dict[tuple[str, str | None, str | None], tuple[float, float]] = {}
    for f in findings:
        if f.severity == "info" or f.family == "tip":
            continue
        key = (f.family, f.unit_id, f.period)
        t = float(f.tco2_at_stake or 0.0)
        e = t * float(f.score)
        old = out.get(key, (0.0, 0.0))
        out[key] = (max(old[0], t), max(old[1], e))
    return out


def round_tonnes(t: float) -> int:
    """Round tonnes to 3 significant figures for plain-language text (12,345 → 12,300)."""
    if t <= 0:
        return 0
    digits = int(math.floor(math.log10(t)))
    return int(round(t, -max(0, digits - 2)))


def score_case(
    findings: Iterable[FindingLike],
    reported_emissions_t: float | None = None,
) -> CaseScore:
    """Score one case from its findings.

    Args:
        findings: the case's findings (any mix of families; ``info`` ones are ignored).
        reported_emissions_t: the enterprise's reported annual emissions (tCO₂) if known: caps the
            stake and sets the relative materiality threshold.

    Returns:
        A :class:`CaseScore`; an empty or all-suppressed input scores 0 with no families.
    """
    counted = [f for f in findings if f.severity != "info"]
    tips = [f for f in counted if f.family == "tip"]
    groups = stake_by_group(counted)

    stake = sum(v[0] for v in groups.values())
    expected = sum(v[1] for v in groups.values())
    capped = False
    if reported_emissions_t is not None and reported_emissions_t > 0 and stake > reported_emissions_t:
        capped = True
        ratio = reported_emissions_t / stake
        stake, expected = reported_emissions_t, expected * ratio

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
    pts_mat = _p("materiality_pts_per_decade") * math.log10(1.0 + expected)
    if pts_mat > 0:
        reasons.append(
            {
                "code": "materiality",
                "points": round(pts_mat, 2),
                "zh": f"涉及排放量约 {round_tonnes(stake):,} tCO₂（按置信度折算约 {round_tonnes(expected):,} tCO₂）"
                + ("，已按报告排放量封顶" if capped else ""),
                "en": f"about {round_tonnes(stake):,} tCO₂ at stake ({round_tonnes(expected):,} t confidence-weighted)"
                + (", capped at reported emissions" if capped else ""),
            }
        )
    thr = materiality_threshold_t(reported_emissions_t)
    pts_bonus = 0.0
    if expected >= thr and expected > 0:
        pts_bonus = float(_p("material_bonus_pts"))
        reasons.append(
            {
                "code": "material",
                "points": pts_bonus,
                "zh": f"超过实质性阈值 {round_tonnes(thr):,} tCO₂（北京 1,000 吨 / 欧盟 5%·2% 规则）",
                "en": f"above the materiality threshold of {round_tonnes(thr):,} tCO₂ (Beijing 1,000 t / EU 5 %·2 %)",
            }
        )
    weights: Mapping[str, float] = _p("severity_weight_pts")
    pts_sev, sev_top = 0.0, None
    for f in counted:
        if f.family == "tip":
            continue
        v = weights.get(f.severity, 0.0) * float(f.score)
        if v > pts_sev:
            pts_sev, sev_top = v, f
    if sev_top is not None:
        reasons.append(
            {
                "code": "severity",
                "points": round(pts_sev, 2),
                "zh": f"最严重的发现：{sev_top.rule_code}（{sev_top.severity}，置信度 {float(sev_top.score):.2f}）",
                "en": f"most serious finding {sev_top.rule_code} ({sev_top.severity}, confidence {float(sev_top.score):.2f})",
            }
        )
    pts_tip = 0.0
    if tips:
        n = len({getattr(t, "detail_key", "") or id(t) for t in tips})
        pts_tip = min(_p("tip_max_pts"), _p("tip_first_pts") + _p("tip_more_pts") * (n - 1))
        reasons.append(
            {
                "code": "tip",
                "points": pts_tip,
                "zh": f"附 {n} 条投诉举报线索，提高优先级",
                "en": f"{n} complaint(s) attached, priority raised",
            }
        )
    total = min(_p("max_score"), max(0.0, pts_mat + pts_bonus + pts_sev + pts_tip))

    fams = tuple(f for f in FAMILIES if any(x.family == f for x in counted))
    codes = tuple(sorted({f.rule_code for f in counted}))
    top = None
    if counted:
        top = max(
            (f for f in counted if f.family != "tip"),
            key=lambda f: (float(f.tco2_at_stake or 0) * float(f.score), weights.get(f.severity, 0.0), f.rule_code),
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
    )
