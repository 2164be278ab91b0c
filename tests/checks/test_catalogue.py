"""Catalogue: unique codes, valid families/severities, every message renders with declared sample params;
parameter tables carry a source for every constant."""

from __future__ import annotations

import dataclasses

import pytest

import checks
from carbonqa.catalogue import CATALOGUE, validate_catalogue
from carbonqa.contract import FAMILIES, SEVERITIES
from checks.params import PARAMS, SOURCES, RegulationParams, params_for

#: Sample message parameters declared per rule code.
EXAMPLE_PARAMS: dict[str, dict] = {
    "ACC-001": dict(unit_id="U1", period="2024-03", reported=225000.0, recomputed=250000.0, gap=25000.0, tolerance=2500.0),
    "ACC-002": dict(unit_id="U1", period="2024-01", supply=330000.0, generation=300000.0),
    "ACC-003": dict(unit_id="U1", period="2024-02", hours=700.0, hours_in_month=696),
    "ACC-004": dict(unit_id="U1", period="2024-05", ncv=17.0, coal_type="bituminous", low=19.0, high=25.0),
    "ACC-005": dict(unit_id="U1", period="2024-05", ncv=5250.0, ncv_gj=21.98),
    "ACC-006": dict(unit_id="U1", period="2024-06", column="oxidation_rate", value=99.0, fraction=0.99),
    "ACC-007": dict(unit_id="U1", period="2024-04", generation=3.0e8, capacity=600.0, hours_in_month=720,
                    max_generation=453600, ratio=700.0),
    "ACC-008": dict(enterprise_id="E1", year=2024, monthly_sum=3.0e6, annual=2.4e6, gap=6.0e5),
    "ACC-009": dict(unit_id="U1", period="2024-05", of=0.93, default=0.99),
    "ACC-010": dict(enterprise_id="E1", year=2024, annual_out=1.2e7, monthly_out=1.14e7, gap=6.0e5),
    "CMP-001": dict(unit_id="U1", period="2024-05"),
    "CMP-002": dict(unit_id="U1", period="2024-03", submitted_at="2024-05-20 09:00", days=50, deadline=40),
    "CMP-003": dict(unit_id="U1", period="2024-06", cc=0.02615, lab_report_id="—"),
    "CMP-004": dict(unit_id="U1", period="2024-03", lab_report_id="LAB-2", lab_unit_id="U1", lab_period="2024-02"),
    "CMP-005": dict(enterprise_id="E1", year=2024, late=1, months=12, due=20, max_days=25),
    "LAB-001": dict(lab_report_id="LAB-2", sampling_end="2024-02-29", receipt="2024-02-27", test="2024-03-03",
                    report="2024-03-05"),
    "LAB-002": dict(lab_report_id="LAB-8", car=55.5, car_recomputed=57.53, cad=62.0, mad=3.0, mt=10.0),
    "LAB-003": dict(unit_id="U1", period="2024-07", cc=0.02484, lab_report_id="LAB-7", lab_cc=0.02615),
    "LAB-004": dict(lab_report_id="LAB-9", lab_agency_id="L1"),
    "LAB-005": dict(lab_agency_id="L1", lab_report_id="LAB-3", report_no="LR-00004", report_date="2024-04-05",
                    neighbour_no="LR-00003", neighbour_date="2024-05-05"),
    "LAB-006": dict(lab_report_id="LAB-1", component="Mt", value=45.0, low=4.0, high=40.0),
    "VER-001": dict(enterprise_id="E1", year=2024, verified=2995000, reported=3000000, gap=5000, limit=1000),
    "VER-002": dict(agency_id="P1", enterprise_id="E1", year=2024),
    "VER-003": dict(agency_id="V1", enterprise_id="E1", province_code="15", n_prepared=3, year=2024),
    "VER-004": dict(enterprise_id="E1", year=2024, agency_id="V1", days=1, min_days=5),
    "CC-001": dict(unit_id="U1", period="2024-02", cc=0.028, default=0.03085),
    "CC-002": dict(unit_id="U1", year=2024, n_measured=10, n_default=2),
    "CC-003": dict(unit_id="U1", period="2024-08", cc=0.022, low=0.0245, high=0.029),
    "CC-004": dict(unit_id="U1", period="2024-09", cc=0.03356),
    "CC-005": dict(unit_id="U1", year=2024, n_months=6, value=0.0258),
    "TEL-001": dict(unit_id="U1", period="2024-10", generation=300000),
    "TEL-002": dict(unit_id="U1", period="2024-10", tel_generation=300000, hours_with_load=600, generation=0),
}


def test_catalogue_valid():
    validate_catalogue()
    assert len(set(CATALOGUE)) == len(CATALOGUE)


@pytest.mark.parametrize("code", checks.RULE_CODES)
def test_rule_entry(code):
    r = CATALOGUE[code]
    assert r.family in FAMILIES and r.severity in SEVERITIES and r.kind == "rule"
    assert 1 <= int(code.split("-")[1]) <= 99, "rules use 001-099"
    assert r.placeholders == set(EXAMPLE_PARAMS[code]), f"{code}: declare sample params for {r.placeholders}"
    zh, en = r.render(EXAMPLE_PARAMS[code])
    assert "{" not in zh + en and zh != en
    assert r.source.strip() and r.stake.strip() and r.table


def test_example_params_cover_exactly_the_rules():
    assert set(EXAMPLE_PARAMS) == set(checks.RULE_CODES)


def test_every_family_but_copied_values_and_tip_has_rules():
    fams = {CATALOGUE[c].family for c in checks.RULE_CODES}
    assert fams == set(FAMILIES) - {"copied_values", "tip"}


def test_params_tables_and_sources():
    for f in dataclasses.fields(RegulationParams):
        assert SOURCES[f.name].strip()
    assert params_for(2021).default_cc_tc_per_gj == 0.03356
    assert params_for(2022).default_cc_tc_per_gj == params_for(2024).default_cc_tc_per_gj == 0.03085
    assert params_for(2023).coi_forbidden_from.isoformat() == "2024-05-01"
    assert params_for(2024).deposit_deadline_days == 40 and params_for(2024).oxidation_rate_default == 0.99
    assert (params_for(2024).verifier_gap_abs_t, params_for(2024).verifier_gap_rel) == (1000.0, 0.10)
    assert sorted(PARAMS) == [2000, 2022, 2024]
    with pytest.raises(ValueError):
        params_for(1999)


def test_zh_messages_never_show_a_raw_field_name():
    """A telemetry quantity or an agency role renders in Chinese in message_zh, as itself in message_en."""
    from carbonqa.catalogue import rule

    r = rule("TEL-101")
    zh, en = r.render({"unit_id": "U1", "quantity": "generation", "ratio": 2.06, "usual_ratio": 1.0})
    assert "发电量" in zh and "generation" not in zh and "generation" in en
