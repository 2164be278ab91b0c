"""Scoring: evidence × tonnes, never the count of rules fired; one fact counts once; tips are evidence; suppressed ones don't count."""

from __future__ import annotations

import pytest

from carbonqa.findings import Finding
from carbonqa.scoring import (
    PARAMS,
    label_calibration,
    materiality_threshold_t,
    p_material,
    round_tonnes,
    score_case,
    stake_by_group,
)


def F(code="CC-101", family="carbon_content", severity="high", unit="U1", period="2024-03", score=1.0, t=0.0, **kw):  # noqa: N802
    return Finding(
        rule_code=code, family=family, severity=severity, enterprise_id="E1", unit_id=unit, year=2024,
        period=period, province_code="15", score=score, tco2_at_stake=t, **kw,
    )


def test_empty_and_all_suppressed_score_zero():
    assert score_case([]).risk_score == 0
    cs = score_case([F(severity="info", t=1e6)])
    assert cs.risk_score == 0 and cs.tco2_at_stake == 0 and cs.families == ()


@pytest.mark.parametrize("tonnes", [[0, 10, 100, 1_000, 10_000, 100_000, 1_000_000]])
def test_monotone_in_materiality(tonnes):
    scores = [score_case([F(t=t)]).risk_score for t in tonnes]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)


def test_monotone_in_confidence():
    scores = [score_case([F(t=5_000, score=s)]).risk_score for s in (0.1, 0.4, 0.7, 1.0)]
    assert scores == sorted(scores) and len(set(scores)) == 4


def test_ten_tiny_findings_score_below_one_big_one():
    tiny = [
        F(code=f"ACC-00{i % 9 + 1}", family=fam, severity="high", period=f"2024-{i + 1:02d}", t=5.0)
        for i, fam in enumerate(["accounting", "completeness", "lab_forensics", "copied_values", "telemetry"] * 2)
    ]
    big = [F(code="CC-101", severity="medium", score=0.8, t=50_000)]
    assert len(tiny) == 10
    assert score_case(tiny).risk_score < score_case(big).risk_score


def test_rule_count_does_not_add_up():
    one = score_case([F(code="LAB-001", family="lab_forensics", severity="high", t=0)])
    many = score_case([F(code=f"LAB-00{i}", family="lab_forensics", severity="high", t=0, period=f"2024-0{i}") for i in range(1, 10)])
    assert many.risk_score == one.risk_score


def test_same_family_unit_month_is_not_double_counted():
    a = F(code="CC-001", t=10_000)
    b = F(code="CC-101", t=8_000)  # same family, unit, month: the same tonnes seen twice
    c = F(code="CC-001", t=10_000, period="2024-04")  # another month: new tonnes
    d = F(code="TEL-001", family="telemetry", t=3_000)  # another family on the same month: the same month's tonnes
    e = F(code="LAB-101", family="lab_forensics", t=12_000)  # the month's lab report forged: the same tonnes again
    f = F(code="TEL-001", family="telemetry", unit="U2", t=3_000)  # another unit: new tonnes
    assert score_case([a, b]).tco2_at_stake == 10_000
    assert score_case([a, b, c]).tco2_at_stake == 20_000
    # one unit-month's under-report is bounded by its largest suspicion, not the sum of the codes that saw it
    assert score_case([a, b, d]).tco2_at_stake == 10_000
    assert score_case([a, b, d, e]).tco2_at_stake == 12_000
    assert score_case([a, b, f]).tco2_at_stake == 13_000
    assert stake_by_group([a, b])[("carbon_content", "U1", "2024-03")] == (10_000, 10_000)


def test_stake_capped_at_reported_emissions():
    fs = [F(t=400_000, period=f"2024-{m:02d}") for m in range(1, 13)]
    cs = score_case(fs, reported_emissions_t=1_000_000)
    assert cs.tco2_at_stake == 1_000_000
    assert any("封顶" in r["zh"] for r in cs.reasons)


def test_tips_raise_the_score():
    base = [F(t=2_000)]
    tip = F(code="TIP-001", family="tip", severity="medium", unit=None, period=None, t=0, detail_key="T1")
    tip2 = F(code="TIP-001", family="tip", severity="medium", unit=None, period=None, t=0, detail_key="T2")
    s0, s1, s2 = (score_case(x).risk_score for x in (base, base + [tip], base + [tip, tip2]))
    assert s0 < s1 < s2
    # the same complaint twice is one complaint
    assert score_case(base + [tip, tip]).risk_score == s1
    assert "tip" in score_case(base + [tip]).families


def test_suppressed_findings_do_not_count():
    real = F(t=2_000)
    supp = F(code="CC-001", period="2024-05", severity="info", t=500_000, original_severity="high", suppression_id=3)
    assert score_case([real, supp]).risk_score == score_case([real]).risk_score
    assert score_case([real, supp]).rule_codes == ("CC-101",)


def test_materiality_anchors():
    assert materiality_threshold_t(None) == 1_000  # Beijing absolute rule
    assert materiality_threshold_t(10_000) == pytest.approx(500)  # EU 5 %
    assert materiality_threshold_t(1_000_000) == 1_000  # 2 % = 20 kt, Beijing's 1,000 t is stricter
    # the probability that the true tonnes reach the threshold: ½ at it, ~1 ten times above, ~0 far below
    assert p_material(1_000, 1_000) == pytest.approx(0.5)
    assert p_material(10_000, 1_000) > 0.95 and p_material(50, 1_000) == pytest.approx(0.05)
    below, above = score_case([F(t=900)]), score_case([F(t=1_100)])
    assert below.p_confirm < above.p_confirm
    assert "未达实质性阈值" in next(r["zh"] for r in below.reasons if r["code"] == "materiality")
    assert "超过实质性阈值" in next(r["zh"] for r in above.reasons if r["code"] == "materiality")


def test_reasons_are_bilingual_and_add_up():
    cs = score_case([F(t=12_345, score=0.9), F(code="TIP-001", family="tip", severity="medium", unit=None, period=None, detail_key="T")])
    assert {r["code"] for r in cs.reasons} == {"evidence", "materiality", "tip"}
    assert all(r["zh"] and r["en"] for r in cs.reasons)
    assert sum(r["points"] for r in cs.reasons) == pytest.approx(cs.risk_score, abs=0.05)
    ev = next(r for r in cs.reasons if r["code"] == "evidence")
    assert ev["p_confirm"] == cs.p_confirm and 0 < cs.p_confirm < 1 and "CC-101" in ev["zh"]


def test_one_fact_counts_once_independent_facts_combine():
    cc = F(code="CC-101", severity="medium", t=20_000)
    same_month = F(code="TEL-104", family="telemetry", severity="medium", t=20_000)  # the same month, another code
    other = F(code="TEL-104", family="telemetry", severity="medium", unit="U2", period="2024-07", t=20_000)
    one, restated, two = score_case([cc]), score_case([cc, same_month]), score_case([cc, other])
    def p_ev(cs):
        return next(r["p_evidence"] for r in cs.reasons if r["code"] == "evidence")

    assert p_ev(restated) == p_ev(one)  # one month seen by two codes is one fact
    assert p_ev(two) > p_ev(one)  # another unit-month of another family is a second fact


def test_stake_is_signed_over_report_shown_not_added():
    under = F(code="ACC-001", family="accounting", t=5_000)
    over = F(code="ACC-006", family="accounting", period="2024-04", t=-11_600_000)  # a percent-for-fraction typo
    cs = score_case([under, over], reported_emissions_t=12_000_000, allowance_price_cny_per_t=95.84)
    assert cs.tco2_at_stake == 5_000 and cs.over_tco2 == -11_600_000
    assert cs.cny_at_stake == round(5_000 * 95.84)
    assert any(r["code"] == "over_report" and "多报" in r["zh"] for r in cs.reasons)
    assert score_case([over]).tco2_at_stake == 0


def test_weak_codes_lose_weight_and_say_so():
    f = F(code="CMP-003", family="completeness", severity="high", t=20_000)
    strong, weak = score_case([f]), score_case([f], reliability={"CMP-003": 0.3})
    assert weak.p_confirm < strong.p_confirm and weak.risk_score < strong.risk_score
    assert any(r["code"] == "weak_codes" and "CMP-003" in r["zh"] for r in weak.reasons)


def test_unit_with_most_stake_or_none_on_tie():
    assert score_case([F(unit="U1", t=10), F(unit="U2", t=20)]).unit_id == "U2"
    assert score_case([F(unit="U1", t=10), F(unit="U2", t=10)]).unit_id is None
    assert score_case([F(unit=None, period=None, t=10)]).unit_id is None


def test_round_tonnes():
    assert round_tonnes(12_345) == 12_300 and round_tonnes(987) == 987 and round_tonnes(0) == 0


# ---- learning from inspections ------------------------------------------------------------------------
class L:
    """A label as calibration reads it."""

    _n = 0

    def __init__(self, outcome: str, codes: str, case_id: str | None = None) -> None:
        L._n += 1
        self.label_id, self.outcome, self.rule_codes = L._n, outcome, codes
        self.case_id = case_id or f"CQ-{L._n}"


def labels(code: str, confirmed: int, dismissed: int) -> list[L]:
    return [L("confirmed", code) for _ in range(confirmed)] + [L("dismissed", code) for _ in range(dismissed)]


def test_calibration_posterior_is_shrunken_beta_mean():
    # 20 cases, 10 confirmed: p0 = 0.5, prior Beta(2.5, 2.5)
    cal = label_calibration(labels("CC-101", 8, 2) + labels("TEL-101", 2, 8))
    a, b = cal["CC-101"], cal["TEL-101"]
    assert a.base_rate == pytest.approx(0.5) and (a.confirmed, a.dismissed) == (8, 2)
    assert a.posterior == pytest.approx((2.5 + 8) / 15)  # 0.70, shrunk from the raw 0.8
    assert a.factor == pytest.approx(1.4)
    assert b.posterior == pytest.approx((2.5 + 2) / 15)  # 0.30, shrunk from the raw 0.2
    assert b.factor == pytest.approx(0.6)
    assert PARAMS["label_prior_strength_cases"]["value"] == 5 and "Efron" in PARAMS["label_prior_strength_cases"]["source"]


def test_calibration_bounds_and_degenerate_cases():
    lo, hi = PARAMS["label_factor_min"]["value"], PARAMS["label_factor_max"]["value"]
    cal = label_calibration(labels("A", 200, 0) + labels("B", 0, 200) + labels("C", 5, 95))
    assert cal["A"].factor == hi and cal["B"].factor == lo
    assert all(lo <= c.factor <= hi for c in cal.values())
    assert label_calibration([]) == {}
    # every labelled case the same outcome: nothing tells codes apart, factor 1
    assert {c.factor for c in label_calibration(labels("A", 3, 0) + labels("B", 4, 0)).values()} == {1.0}
    assert {c.factor for c in label_calibration(labels("A", 0, 3)).values()} == {1.0}
    with pytest.raises(ValueError):
        label_calibration(labels("A", 1, 1), prior_strength=0)


def test_calibration_shrinks_few_labels_toward_one():
    background = labels("X", 50, 50)  # p0 = 0.5 overall
    one = label_calibration(background + labels("A", 1, 0))["A"].factor
    five = label_calibration(background + labels("A", 5, 0))["A"].factor
    many = label_calibration(background + labels("A", 30, 0))["A"].factor
    assert 1.0 < one < five < many <= PARAMS["label_factor_max"]["value"]
    assert one < 1.2  # a single label moves a code at most 1/6 of the way from the prior
    assert label_calibration(background + labels("A", 0, 1))["A"].factor > 0.8


def test_calibration_counts_cases_once_with_latest_outcome_and_all_codes():
    ls = [L("dismissed", "A|B", "C1"), L("confirmed", "A|B", "C1"), L("dismissed", "B", "C2"), L("triaged", "A", "C3")]
    cal = label_calibration(list(reversed(ls)))  # order-independent: label_id decides
    assert (cal["A"].confirmed, cal["A"].dismissed) == (1, 0)
    assert (cal["B"].confirmed, cal["B"].dismissed) == (1, 1)
    assert label_calibration(ls) == cal  # deterministic


def test_no_labels_changes_nothing():
    cases = [
        [F(t=12_345, score=0.9)],
        [F(t=400_000, period=f"2024-{m:02d}") for m in range(1, 13)],
        [F(t=2_000), F(code="TIP-001", family="tip", severity="medium", unit=None, period=None, t=0, detail_key="T1")],
        [F(code="TEL-101", family="telemetry", severity="medium", score=0.4, t=800)],
    ]
    for fs in cases:
        base = score_case(fs, 1_000_000)
        assert score_case(fs, 1_000_000, {}) == base
        assert score_case(fs, 1_000_000, label_calibration([])) == base
        # labels about other codes leave this case untouched too
        assert score_case(fs, 1_000_000, label_calibration(labels("ZZ-999", 9, 1) + labels("YY-1", 1, 9))) == base


def test_labels_reorder_otherwise_equal_cases_and_explain_it():
    cal = label_calibration(labels("CC-001", 8, 2) + labels("CC-101", 1, 9) + labels("ACC-001", 5, 5))
    trusted = [F(code="CC-001", t=5_000, score=0.6)]
    doubted = [F(code="CC-101", t=5_000, score=0.6)]
    assert score_case(trusted).risk_score == score_case(doubted).risk_score  # equal without labels
    st, sd = score_case(trusted, None, cal), score_case(doubted, None, cal)
    assert st.risk_score > score_case(trusted).risk_score > sd.risk_score
    r_up = next(r for r in st.reasons if r["code"] == "inspections")
    r_dn = next(r for r in sd.reasons if r["code"] == "inspections")
    assert "历史核实率 8/10" in r_up["zh"] and "上调" in r_up["zh"] and "8 of 10" in r_up["en"] and r_up["points"] > 0
    assert "历史核实率 1/10" in r_dn["zh"] and "下调" in r_dn["zh"] and "lowered" in r_dn["en"] and r_dn["points"] < 0
    for cs in (st, sd):
        assert sum(r["points"] for r in cs.reasons) == pytest.approx(cs.risk_score, abs=0.05)
        assert cs.tco2_at_stake == 5_000  # tonnes and rule codes are not what labels change
    # bounded: even the most dismissed code at most halves the confidence
    worst = label_calibration(labels("X", 500, 0) + labels("CC-101", 0, 500))
    assert score_case(doubted, None, worst).p_confirm == pytest.approx(score_case([F(code="CC-101", t=5_000, score=0.3)]).p_confirm)


def test_one_regulation_table_for_the_mrv_defaults():
    """The default CC and oxidation rate live in carbonqa.regulation; the detectors read them from there."""
    from carbonqa.regulation import MRV_DEFAULTS, chinese_default_ccs, mrv_defaults
    from detectors._common import DEFAULT_OXIDATION, default_cc

    assert mrv_defaults(2021).default_cc_tc_per_gj == 0.03356 and mrv_defaults(2022).default_cc_tc_per_gj == 0.03085
    assert mrv_defaults(2030) is MRV_DEFAULTS[-1] and all(r.source for r in MRV_DEFAULTS)
    assert [default_cc(y) for y in (2019, 2021, 2022, 2024)] == [mrv_defaults(y).default_cc_tc_per_gj for y in (2019, 2021, 2022, 2024)]
    assert DEFAULT_OXIDATION == mrv_defaults(2024).oxidation_rate_default and chinese_default_ccs() == (0.03085, 0.03356)


def test_case_tonnes_bound_each_level_by_the_one_above():
    """A unit-year finding covers the unit's months and an enterprise-year finding covers its units: the
    case counts the larger of each level and the levels below it, never their sum."""
    from carbonqa.scoring import case_tonnes

    months = {("copied_values", "U1", f"2024-{m:02d}"): (1_000.0, 500.0) for m in range(1, 4)}
    assert case_tonnes(months) == (3_000.0, 1_500.0)
    # a whole-year efficiency finding on U1 larger than its months' sum replaces them, a smaller one does not
    assert case_tonnes(months | {("accounting", "U1", None): (10_000.0, 1_000.0)}) == (10_000.0, 1_500.0)
    assert case_tonnes(months | {("accounting", "U1", None): (2_000.0, 100.0)}) == (3_000.0, 1_500.0)
    # another unit adds; an enterprise-year finding bounds the units' sum from below only
    two = months | {("carbon_content", "U2", None): (4_000.0, 4_000.0)}
    assert case_tonnes(two) == (7_000.0, 5_500.0)
    assert case_tonnes(two | {("telemetry", None, None): (5_000.0, 6_000.0)}) == (7_000.0, 6_000.0)
    assert case_tonnes(two | {("accounting", None, None): (9_000.0, 1.0)}) == (9_000.0, 5_500.0)
    assert case_tonnes({}) == (0.0, 0.0)
