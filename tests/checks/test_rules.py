"""Each rule: the honest enterprise-year passes it, a mutated copy fails it (on the right keys)."""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from rule_frames import codes, honest, lab_row, month_end, monthly_row, telemetry_for

import checks
from checks.registry import SPECS

Mut = Callable[[dict], None]


def _m(d: dict, period: str) -> dict:
    return next(r for r in d["monthly_reports"] if r["period"] == period)


def _lab(d: dict, period: str) -> dict:
    return next(r for r in d["lab_reports"] if r["sample_period"] == period)


def _set(rows_of: Callable[[dict], dict], **kw) -> Mut:
    def f(d: dict) -> None:
        rows_of(d).update(kw)
    return f


def _scale(period: str, col: str, factor: float) -> Mut:
    def f(d: dict) -> None:
        r = _m(d, period)
        r[col] = r[col] * factor
    return f


def _acc_007(d: dict) -> None:
    r = _m(d, "2024-04")
    r["gross_generation_mwh"] *= 1000
    r["power_supply_mwh"] *= 1000


def _cmp_001(d: dict) -> None:
    d["monthly_reports"] = [r for r in d["monthly_reports"] if r["period"] != "2024-05"]


def _cmp_003(d: dict) -> None:
    _m(d, "2024-06")["lab_report_id"] = None
    _m(d, "2024-07")["lab_report_id"] = "NO-SUCH-REPORT"


def _lab_002(d: dict) -> None:
    _lab(d, "2024-08")["carbon_ar_pct"] -= 2.0


def _lab_005(d: dict) -> None:
    a, b = _lab(d, "2024-03"), _lab(d, "2024-04")
    a["report_no"], b["report_no"] = b["report_no"], a["report_no"]


def _ver_003(d: dict) -> None:
    d["enterprises"].append(dict(enterprise_id="E2", enterprise_name="乙电厂", province_code="15", city_name="鄂尔多斯市",
                                 sector="power", is_captive=False))
    d["annual_reports"].append(dict(report_id="AR-E2", enterprise_id="E2", year=2024, reported_emissions_tco2=1e6,
                                    preparer_agency_id="V1", submitted_at=dt.datetime(2025, 3, 1)))


def _cc_001(d: dict) -> None:
    r = _m(d, "2024-02")
    r.update(carbon_content_basis="default", carbon_content_tc_per_gj=0.0280, lab_report_id=None)


def _cc_002(d: dict) -> None:
    for p in ("2024-11", "2024-12"):
        _m(d, p).update(carbon_content_basis="default", carbon_content_tc_per_gj=0.03085, lab_report_id=None)


def _cc_004(d: dict) -> None:
    _m(d, "2024-09")["carbon_content_tc_per_gj"] = 0.03356


def _cc_005(d: dict) -> None:
    for p in ("2024-06", "2024-07", "2024-08"):
        _m(d, p)["carbon_content_tc_per_gj"] = 0.0258


def _tel_001(d: dict) -> pl.DataFrame:
    return telemetry_for(d).filter(pl.col("period") != "2024-10")


def _tel_002(d: dict) -> pl.DataFrame:
    tel = telemetry_for(d)
    r = _m(d, "2024-10")
    r.update(gross_generation_mwh=0.0, power_supply_mwh=0.0)
    return tel


#: code → (mutation, expected (unit_id or enterprise_id, period or None) of one finding)
CASES: dict[str, tuple[Callable[[dict], object], tuple[str, str | None]]] = {
    "ACC-001": (_scale("2024-03", "emissions_tco2", 0.9), ("U1", "2024-03")),
    "ACC-002": (lambda d: _m(d, "2024-01").update(power_supply_mwh=_m(d, "2024-01")["gross_generation_mwh"] * 1.1),
                ("U1", "2024-01")),
    "ACC-003": (_set(lambda d: _m(d, "2024-02"), operating_hours=700.0), ("U1", "2024-02")),
    "ACC-004": (_set(lambda d: _m(d, "2024-05"), ncv_gj_per_t=17.0), ("U1", "2024-05")),
    "ACC-005": (_set(lambda d: _m(d, "2024-05"), ncv_gj_per_t=5250.0), ("U1", "2024-05")),
    "ACC-006": (_set(lambda d: _m(d, "2024-06"), oxidation_rate=99.0), ("U1", "2024-06")),
    "ACC-007": (_acc_007, ("U1", "2024-04")),
    "ACC-009": (_set(lambda d: _m(d, "2024-05"), oxidation_rate=0.93), ("U1", "2024-05")),
    "ACC-008": (lambda d: d["annual_reports"][0].update(reported_emissions_tco2=d["annual_reports"][0]["reported_emissions_tco2"] * 0.8),
                ("E1", None)),
    "ACC-010": (lambda d: d["annual_reports"][0].update(reported_power_supply_mwh=d["annual_reports"][0]["reported_power_supply_mwh"] * 1.05),
                ("E1", None)),
    "CMP-001": (_cmp_001, ("U1", "2024-05")),
    "CMP-002": (_set(lambda d: _m(d, "2024-03"), submitted_at=dt.datetime(2024, 5, 20, 9)), ("U1", "2024-03")),
    "CMP-003": (_cmp_003, ("U1", "2024-06")),
    "CMP-004": (_set(lambda d: _m(d, "2024-03"), lab_report_id="LAB-U1-2024-02"), ("U1", "2024-03")),
    "CMP-005": (_set(lambda d: _m(d, "2024-07"), submitted_at=dt.datetime(2024, 8, 25, 9)), ("E1", None)),
    "LAB-001": (lambda d: _lab(d, "2024-02").update(receipt_date=_lab(d, "2024-02")["sampling_end_date"] - dt.timedelta(days=2)),
                ("U1", "2024-02")),
    "LAB-002": (_lab_002, ("U1", "2024-08")),
    "LAB-003": (_scale("2024-07", "carbon_content_tc_per_gj", 0.95), ("U1", "2024-07")),
    "LAB-004": (_set(lambda d: _lab(d, "2024-09"), has_anti_counterfeit_code=False), ("U1", "2024-09")),
    "LAB-005": (_lab_005, ("U1", "2024-03")),
    "LAB-006": (_set(lambda d: _lab(d, "2024-01"), total_moisture_pct=45.0), ("U1", "2024-01")),
    "VER-001": (lambda d: d["verifications"][0].update(verified_emissions_tco2=d["verifications"][0]["verified_emissions_tco2"] - 5000),
                ("E1", None)),
    "VER-002": (_set(lambda d: d["verifications"][0], verifier_agency_id="P1"), ("E1", None)),
    "VER-003": (_ver_003, ("E1", None)),
    "VER-004": (_set(lambda d: d["verifications"][0], review_completed=dt.date(2025, 4, 2)), ("E1", None)),
    "CC-001": (_cc_001, ("U1", "2024-02")),
    "CC-002": (_cc_002, ("U1", None)),
    "CC-003": (_set(lambda d: _m(d, "2024-08"), carbon_content_tc_per_gj=0.0220), ("U1", "2024-08")),
    "CC-004": (_cc_004, ("U1", "2024-09")),
    "CC-005": (_cc_005, ("U1", None)),
    "TEL-001": (_tel_001, ("U1", "2024-10")),
    "TEL-002": (_tel_002, ("U1", "2024-10")),
}


def test_every_rule_code_has_a_case_and_an_implementation():
    implemented = {c for c, s in SPECS.items() if s.family != "tip"}
    assert implemented == set(checks.RULE_CODES) == set(CASES)


@pytest.fixture(scope="module")
def honest_findings(tmp_path_factory) -> list:
    from rule_frames import context, insert

    from carbonqa.store import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('honest') / 'h.db'}"
    upgrade(url)
    d = honest()
    insert(url, d)
    return checks.run(context(url, telemetry=telemetry_for(d)))


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_passes_on_honest_data(code, honest_findings):
    assert [f for f in honest_findings if f.rule_code == code] == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fails_on_mutated_data(code, data, screen):
    mutate, (who, period) = CASES[code]
    tel_base = telemetry_for(data)
    ret = mutate(data)
    tel = ret if isinstance(ret, pl.DataFrame) else tel_base
    found = checks.run_codes(screen(data, telemetry=tel), [code])
    assert found, f"{code} did not fire"
    assert all(f.rule_code == code for f in found)
    hit = [f for f in found if who in (f.unit_id, f.enterprise_id) and f.period == period]
    assert hit, [(f.unit_id, f.enterprise_id, f.period) for f in found]
    f = hit[0]
    assert f.message_zh and f.message_en and "{" not in f.message_en
    assert f.province_code == "15" and f.enterprise_id == "E1"
    assert math.isfinite(f.tco2_at_stake)


def test_stakes_are_computed_not_counted(data, screen):
    """CC too low: stake = (default − reported) × FC × NCV × OF × 44/12; verifier gap: the gap."""
    _m(data, "2024-08")["carbon_content_tc_per_gj"] = 0.0220
    data["verifications"][0]["verified_emissions_tco2"] -= 5000
    found = {f.rule_code: f for f in checks.run_codes(screen(data), ["CC-003", "VER-001"])}
    r = _m(data, "2024-08")
    want = (0.03085 - 0.0220) * r["fuel_consumed_t"] * r["ncv_gj_per_t"] * 0.99 * 44 / 12
    assert found["CC-003"].tco2_at_stake == pytest.approx(want, rel=1e-6)
    assert found["VER-001"].tco2_at_stake == pytest.approx(5000, abs=1)


def test_all_failing_rows_are_reported_not_a_sample(data, screen):
    for r in data["monthly_reports"]:
        r["operating_hours"] = 800.0
    found = checks.run_codes(screen(data), ["ACC-003"])
    assert len(found) == 12 and len({f.id for f in found}) == 12


def test_honest_look_alikes_pass(data, screen):
    """Shared plant report, an outage month, a gas unit, an all-default unit, a unit without telemetry,
    a small accepted gap, and 2023 preparer = verifier (before the 2024 ban) raise nothing."""
    # a second unit of the same plant citing U1's lab reports (shared composite sample)
    for p in [f"2024-{m:02d}" for m in range(1, 13)]:
        data["monthly_reports"].append(monthly_row("U1b", p, _lab(data, p)) | {"unit_id": "U1b"})
    data["units"].append(data["units"][0] | {"unit_id": "U1b", "unit_name": "2号机组"})
    # outage month for U1 in 2024-07: zero fuel, empty quality columns, zero output
    _m(data, "2024-07").update(fuel_consumed_t=0.0, ncv_gj_per_t=None, carbon_content_tc_per_gj=None,
                               carbon_content_basis=None, oxidation_rate=None, lab_report_id=None,
                               gross_generation_mwh=0.0, power_supply_mwh=0.0, operating_hours=0.0, load_rate=0.0,
                               emissions_tco2=round(100 * 0.5703, 1))
    # a gas unit and an all-default coal unit of a second enterprise, the latter without telemetry
    data["enterprises"].append(dict(enterprise_id="E3", enterprise_name="丙", province_code="15", city_name="包头市",
                                    sector="power", is_captive=False))
    data["units"] += [dict(unit_id="G1", enterprise_id="E3", unit_class="gas", capacity_mw=400.0, coal_type="none",
                           commissioning_year=2015),
                      dict(unit_id="D1", enterprise_id="E3", unit_class="coal_conventional_below_300mw", capacity_mw=200.0,
                           coal_type="lignite", commissioning_year=2000)]
    for p in [f"2024-{m:02d}" for m in range(1, 13)]:
        g = monthly_row("G1", p, None, fuel=2000.0, capacity=400.0, basis="default", cc=0.01532)
        g.update(ncv_gj_per_t=389.31, emissions_tco2=round(2000 * 389.31 * 0.01532 * 0.99 * 44 / 12 + 100 * 0.5703, 1))
        d = monthly_row("D1", p, None, fuel=80_000.0, capacity=200.0, basis="default", cc=0.03085)
        d.update(ncv_gj_per_t=14.0, emissions_tco2=round(80_000 * 14.0 * 0.03085 * 0.99 * 44 / 12 + 100 * 0.5703, 1),
                 gross_generation_mwh=200 * 24 * month_end(p).day * 0.6, power_supply_mwh=200 * 24 * month_end(p).day * 0.55)
        data["monthly_reports"] += [g, d]
    # a registered unit with no deposit all year (not yet in the scheme / source without coverage)
    data["units"].append(data["units"][0] | {"unit_id": "Z1", "enterprise_id": "E3"})
    total = sum(r["emissions_tco2"] for r in data["monthly_reports"] if r["unit_id"] in ("U1", "U1b"))
    data["annual_reports"][0]["reported_emissions_tco2"] = round(total, 1)
    # the annual report sums both units' output too (ACC-010)
    data["annual_reports"][0]["reported_power_supply_mwh"] = sum(
        r["power_supply_mwh"] for r in data["monthly_reports"] if r["unit_id"] in ("U1", "U1b"))
    data["verifications"][0].update(verified_emissions_tco2=round(total - 800, 1))  # 800 t < 1,000 t and < 10 %
    tel = telemetry_for(data).filter(pl.col("unit_id") != "D1")
    tel = tel.with_columns(pl.when(pl.col("generation_mwh") == 0).then(0.0).otherwise(pl.col("hours_with_load"))
                           .alias("hours_with_load"))
    found = checks.run(screen(data, telemetry=tel))
    assert codes(found) == {}, [(f.rule_code, f.unit_id, f.period, f.message_en) for f in found]


def test_province_ban_only_for_reviews_from_may_2024_self_review_always(screen):
    d = copy.deepcopy(honest(2023))
    _ver_003(d)  # V1 verifies E1 and prepared E2's report in the same province
    d["annual_reports"][-1]["year"] = 2023
    # review 2024-04-01 … 04-20: before Order 775 → no province-level ban yet
    assert checks.run_codes(screen(d, year=2023), ["VER-003"]) == []
    d["verifications"][0].update(review_started=dt.date(2024, 5, 6), review_completed=dt.date(2024, 5, 30))
    found = checks.run_codes(screen(d, year=2024), ["VER-003"])  # the 2024 screening sees the 2023 cycle
    assert [(f.rule_code, f.year) for f in found] == [("VER-003", 2023)]
    # self-review is a conflict in any year
    d["verifications"][0].update(verifier_agency_id="P1", review_started=dt.date(2024, 4, 1))
    assert [f.rule_code for f in checks.run_codes(screen(d, year=2023), ["VER-002"])] == ["VER-002"]


def test_province_scope_and_lab_row_helper(data, screen):
    """A context scoped to another province sees nothing of province 15."""
    _m(data, "2024-03")["emissions_tco2"] *= 0.5
    assert checks.run_codes(screen(data, provinces=("37",)), ["ACC-001"]) == []
    assert lab_row("X", "U", "2024-02", 1)["sampling_end_date"] == dt.date(2024, 2, 29)


def test_run_finds_many_rules_at_once_in_one_partition(data, screen):
    """Several codes failing in one batch/suite: each comes back on its own rows (regression: GX does not
    return results in suite order)."""
    wanted = ["ACC-001", "ACC-002", "ACC-003", "ACC-005", "ACC-007", "CMP-002", "CMP-003", "LAB-001",
              "LAB-004", "LAB-006", "VER-004", "CC-003"]
    tel = telemetry_for(data)
    for code in wanted:
        CASES[code][0](data)
    import checks as C

    found = C.run(screen(data, telemetry=tel))
    got = {(f.rule_code, f.period) for f in found}
    for code in wanted:
        assert (code, CASES[code][1][1]) in got, code


def test_carbon_content_given_in_percent(data, screen):
    r = _m(data, "2024-06")
    r["carbon_content_tc_per_gj"] *= 100  # 2.6 "tC/GJ": percent for fraction, emissions left correct
    found = checks.run_codes(screen(data), ["ACC-006", "ACC-001"])
    assert [(f.rule_code, f.period) for f in found] == [("ACC-006", "2024-06")]
    assert found[0].tco2_at_stake < 10 and "carbon_content" in found[0].message_en


def test_chinese_defaults_bind_only_chinese_provinces(data, screen):
    """A bundle adapted from US data (ISO 3166-2 province) with IPCC default CC and no deposit deadline."""
    data["enterprises"][0]["province_code"] = "US-AZ"
    for r in data["monthly_reports"]:
        r.update(carbon_content_basis="default", carbon_content_tc_per_gj=0.0262, lab_report_id=None)
    _m(data, "2024-03")["submitted_at"] = dt.datetime(2024, 9, 1)
    assert checks.run_codes(screen(data), ["CC-001", "CC-004", "CMP-002"]) == []
    data["enterprises"][0]["province_code"] = "15"
    assert {f.rule_code for f in checks.run_codes(screen(data), ["CC-001", "CMP-002"])} == {"CC-001", "CMP-002"}


# ---- graded severities: isolated occurrences are low, patterns medium (precision on honest data) -------------
def _second_client(d: dict, n: int = 24, missing: int = 0) -> None:
    """E9: another client of lab L1 (province 15) with ``n`` monthly reports, ``missing`` without a QR code."""
    d["enterprises"].append(dict(enterprise_id="E9", enterprise_name="丁电厂", province_code="15", city_name="包头市",
                                 sector="power", is_captive=False))
    d["units"].append(d["units"][0] | {"unit_id": "U9", "enterprise_id": "E9"})
    for i in range(n):
        p = f"2024-{i % 12 + 1:02d}"
        lab = lab_row(f"LAB-U9-{i}", "U9", p, serial=100 + i) | {"has_anti_counterfeit_code": i >= missing}
        d["lab_reports"].append(lab)


def test_lab_004_isolated_missing_qr_is_low_a_pattern_medium(data, screen):
    _lab(data, "2024-09")["has_anti_counterfeit_code"] = False
    _second_client(data)
    found = checks.run_codes(screen(data), ["LAB-004"])
    assert [(f.enterprise_id, f.severity) for f in found] == [("E1", "low")]
    # four of E1's twelve reports without a code while the lab's other client has all of them: a pattern
    for p in ("2024-02", "2024-05", "2024-07"):
        _lab(data, p)["has_anti_counterfeit_code"] = False
    found = checks.run_codes(screen(data), ["LAB-004"])
    assert len(found) == 4 and {f.severity for f in found} == {"medium"}
    assert found[0].evidence["missing_in_year"] == 4 and found[0].evidence["pattern"] is True


def test_lab_004_a_sloppy_lab_is_not_one_clients_pattern(data, screen):
    """The same four missing codes at a lab that omits them for its other clients too stay low."""
    for p in ("2024-02", "2024-05", "2024-07", "2024-09"):
        _lab(data, p)["has_anti_counterfeit_code"] = False
    _second_client(data, n=24, missing=8)  # the lab omits a third of its other client's codes
    found = checks.run_codes(screen(data), ["LAB-004"])
    e1 = [f for f in found if f.enterprise_id == "E1"]
    assert len(e1) == 4 and {f.severity for f in e1} == {"low"}


def test_lab_005_single_inversion_low_a_run_medium(data, screen):
    _lab_005(data)  # one swapped pair: both members flagged, 2 < 3 reports
    found = checks.run_codes(screen(data), ["LAB-005"])
    assert len(found) == 2 and {f.severity for f in found} == {"low"}
    data = honest()
    labs = sorted(data["lab_reports"], key=lambda r: r["sample_period"])[2:8]
    serials = [r["report_no"] for r in labs]
    for r, s in zip(labs, reversed(serials), strict=True):  # six reports re-dated: serials run backwards
        r["report_no"] = s
    found = checks.run_codes(screen(data), ["LAB-005"])
    assert len(found) >= 3 and {f.severity for f in found} == {"medium"}


def test_lab_006_cad_band_follows_the_coal_type(data, screen):
    _lab(data, "2024-01")["carbon_ad_pct"] = 42.0
    found = checks.run_codes(screen(data), ["LAB-006"])
    assert [(f.period, f.evidence["component"], f.evidence["low"]) for f in found] == [("2024-01", "Cad", 50.0)]
    data["units"][0]["coal_type"] = "lignite"  # 42 % is an ordinary Cad for a high-ash lignite
    assert checks.run_codes(screen(data), ["LAB-006"]) == []
    _lab(data, "2024-02")["carbon_ad_pct"] = 30.0  # but not 30 %
    found = checks.run_codes(screen(data), ["LAB-006"])
    assert [(f.period, f.evidence["low"]) for f in found] == [("2024-02", 35.0)]


def test_range_rules_grade_by_the_direction_that_pays(data, screen):
    """Off-band values that raise the reported emissions (Cad or NCV above the band, Mt below) are a
    data-quality note (low, 0 t); the side that lowers them keeps medium and its stake."""
    _lab(data, "2024-01")["carbon_ad_pct"] = 79.0
    wet = _lab(data, "2024-02")  # moisture written up, the as-received carbon recomputed down with it
    wet["carbon_ar_pct"] *= (100.0 - 45.0) / (100.0 - wet["total_moisture_pct"])
    wet["total_moisture_pct"] = 45.0
    _lab(data, "2024-03")["total_moisture_pct"] = 2.0
    found = {f.period: f for f in checks.run_codes(screen(data), ["LAB-006"])}
    assert (found["2024-01"].severity, found["2024-01"].tco2_at_stake) == ("low", 0.0)
    assert found["2024-02"].severity == "medium" and found["2024-02"].tco2_at_stake > 0
    # proportionate: Mt 45 % against the 40 % edge is (100 − 40)/(100 − 45) − 1 ≈ 9 % of the linked emissions
    assert found["2024-02"].tco2_at_stake < 0.2 * sum(r["emissions_tco2"] for r in data["monthly_reports"] if r["period"] == "2024-02")
    assert (found["2024-03"].severity, found["2024-03"].tco2_at_stake) == ("low", 0.0)
    _m(data, "2024-05")["ncv_gj_per_t"] = 28.5
    _m(data, "2024-06")["ncv_gj_per_t"] = 16.0
    found = {f.period: f for f in checks.run_codes(screen(data), ["ACC-004"])}
    assert (found["2024-05"].severity, found["2024-05"].tco2_at_stake) == ("low", 0.0)
    assert found["2024-06"].severity == "medium" and found["2024-06"].tco2_at_stake > 0


def test_ver_003_is_low_ver_002_critical(data, screen):
    _ver_003(data)
    (f,) = checks.run_codes(screen(data), ["VER-003"])
    assert f.severity == "low"
    data = honest()
    data["annual_reports"][0]["preparer_agency_id"] = "V1"
    (f,) = checks.run_codes(screen(data), ["VER-002"])
    assert f.severity == "critical"


def test_cmp_002_one_late_month_low_a_pattern_medium_with_stake(data, screen):
    late = dt.timedelta(days=80)
    _m(data, "2024-02")["submitted_at"] += late
    (f,) = checks.run_codes(screen(data), ["CMP-002"])
    assert f.severity == "low" and f.tco2_at_stake == 0
    for p in ("2024-05", "2024-08"):
        _m(data, p)["submitted_at"] += late
    found = checks.run_codes(screen(data), ["CMP-002"])
    assert len(found) == 3 and {f.severity for f in found} == {"medium"}
    assert all(f.tco2_at_stake == pytest.approx(_m(data, f.period)["emissions_tco2"]) for f in found)


def test_cmp_005_late_first_deposit_is_low_a_correction_is_not_late(data, screen):
    """Due within 20 days of month end (DOMAIN.md §5): day 25 is late (low, 0 t, one finding per enterprise-year);
    past the city's close (day 40) it is CMP-002's; a correction deposited on day 30 of a month first deposited
    on day 10 is not late."""
    import copy

    _m(data, "2024-04")["submitted_at"] = dt.datetime(2024, 5, 25, 9)  # day 25: after the due date
    _m(data, "2024-09")["submitted_at"] = dt.datetime(2024, 10, 31, 9)  # day 31
    _m(data, "2024-05")["submitted_at"] = dt.datetime(2024, 7, 20, 9)  # day 50: past the close → CMP-002
    v2 = copy.deepcopy(_m(data, "2024-06"))
    v2.update(version=2, fuel_consumed_t=v2["fuel_consumed_t"] * 1.01, submitted_at=dt.datetime(2024, 7, 30, 9))
    data["monthly_reports"].append(v2)  # 2024-06: first deposit day 10, correction day 30
    found = checks.run_codes(screen(data), ["CMP-005", "CMP-002"])
    assert [(f.rule_code, f.period) for f in found] == [("CMP-002", "2024-05"), ("CMP-005", None)]
    f = found[1]
    assert (f.enterprise_id, f.unit_id, f.severity, f.tco2_at_stake, f.observed) == ("E1", None, "low", 0.0, 2)
    assert f.evidence["late_unit_months"] == "U1 2024-04,U1 2024-09" and f.evidence["max_days"] == 31
    assert "2 of 12 unit-months" in f.message_en and "20 days" in f.message_en


def test_lab_005_honest_neighbours_of_a_moved_report_stay_low(screen):
    """Another client's report carrying a serial from far later makes its honest neighbours at the same
    lab look inverted too; they are displaced by one place only, so they stay low (no pattern)."""
    data = honest()
    labs = sorted(data["lab_reports"], key=lambda r: r["sample_period"])
    serials = [r["report_no"] for r in labs]
    # month 02's report carries month 09's serial; months 03..09 each carry the serial one place
    # earlier: month 02 sits seven places off, every other report one place
    moved = [serials[8]] + serials[1:8]
    for r, s in zip(labs[1:9], moved, strict=True):
        r["report_no"] = s
    assert sorted(r["report_no"] for r in labs) == sorted(serials)
    found = checks.run_codes(screen(data), ["LAB-005"])
    assert found and all(f.severity == "low" for f in found)


def test_tel_001_months_without_telemetry_are_low_0t_unless_the_month_looks_efficient(data, screen):
    """A month without telemetry cannot contradict the report (DOMAIN.md §4b): low, 0 t, however many months
    the link was down; medium with the coal it lacks only when that month burns less coal than its output needs and is not
    alone (another such month, or ≥ 15 % less) — and a
    month whose rows are all empty has no telemetry either."""
    tel = telemetry_for(data).filter(pl.col("period") != "2024-10")
    found = checks.run_codes(screen(data, telemetry=tel), ["TEL-001"])
    assert [(f.period, f.severity, f.tco2_at_stake) for f in found] == [("2024-10", "low", 0.0)]
    m = next(r for r in data["monthly_reports"] if r["period"] == "2024-10")
    m["fuel_consumed_t"] *= 0.9  # the month without a meter also burns 10 % less coal per MWh: one such month
    found = checks.run_codes(screen(data, telemetry=tel), ["TEL-001"])  # is within an honest unit's spread
    assert [(f.period, f.severity, f.tco2_at_stake) for f in found] == [("2024-10", "low", 0.0)]
    m9 = next(r for r in data["monthly_reports"] if r["period"] == "2024-09")
    m9["fuel_consumed_t"] *= 0.9  # two light months without telemetry are a pattern
    found = checks.run_codes(screen(data, telemetry=tel.filter(pl.col("period") != "2024-09")), ["TEL-001"])
    assert [(f.period, f.severity) for f in found] == [("2024-09", "medium"), ("2024-10", "medium")]
    assert found[1].tco2_at_stake == pytest.approx(m["emissions_tco2"] * (1 / 0.9 - 1), rel=0.05)
    assert found[1].evidence["light_months_without_telemetry"] == 2
    m9["fuel_consumed_t"] /= 0.9
    m["fuel_consumed_t"] *= 0.8 / 0.9  # one month 20 % light stands alone
    found = checks.run_codes(screen(data, telemetry=tel), ["TEL-001"])
    assert [(f.period, f.severity) for f in found] == [("2024-10", "medium")]
    m["fuel_consumed_t"] /= 0.8
    tel = tel.with_columns(
        pl.when(pl.col("period").is_in(["2024-03", "2024-04"])).then(0.0).otherwise(pl.col("hours_covered")).alias("hours_covered")
    )
    found = checks.run_codes(screen(data, telemetry=tel), ["TEL-001"])
    assert sorted(f.period for f in found) == ["2024-03", "2024-04", "2024-10"]
    assert {f.severity for f in found} == {"low"} and {f.tco2_at_stake for f in found} == {0.0}


def test_tel_001_a_chp_summer_month_without_telemetry_is_not_efficient(data, screen):
    """A CHP unit supplies heat seven months a year (north-east heating season, Oct–Apr) and burns more coal
    then; its summer month without telemetry burns less coal per MWh than its usual (winter) month, but
    not per GJ of output (power × 3.6 + heat): low, 0 t (DOMAIN.md §4b, CHP seasons)."""
    for r in data["monthly_reports"]:
        if int(r["period"][5:]) in (1, 2, 3, 4, 10, 11, 12):
            r["heat_supply_gj"] = 0.3 * r["gross_generation_mwh"] * 3.6
            r["fuel_consumed_t"] *= 1.3
            r["emissions_tco2"] *= 1.3
    tel = telemetry_for(data).filter(pl.col("period") != "2024-07")
    found = checks.run_codes(screen(data, telemetry=tel), ["TEL-001"])
    assert [(f.period, f.severity, f.tco2_at_stake) for f in found] == [("2024-07", "low", 0.0)]
    assert found[0].evidence["fuel_per_output_vs_usual"] == pytest.approx(0.0, abs=0.04)


def test_cmp_003_graded_by_what_the_unsupported_value_hides(data, screen):
    """A measured CC without a report that agrees with the unit's documented months is an evidence gap: one
    month low, several medium; one below them pays (high) — whatever the count."""
    _m(data, "2024-06")["lab_report_id"] = None
    (f,) = checks.run_codes(screen(data), ["CMP-003"])
    assert f.severity == "low" and f.evidence["undocumented_months_in_year"] == 1
    _m(data, "2024-07")["lab_report_id"] = None
    found = checks.run_codes(screen(data), ["CMP-003"])
    assert {f.period: f.severity for f in found} == {"2024-06": "medium", "2024-07": "medium"}
    r = _m(data, "2024-07")
    r["carbon_content_tc_per_gj"] *= 0.95  # 5 % below the documented months, emissions kept consistent
    r["emissions_tco2"] *= 0.95
    found = {f.period: f for f in checks.run_codes(screen(data), ["CMP-003"])}
    assert (found["2024-06"].severity, found["2024-07"].severity) == ("medium", "high")
    assert found["2024-07"].evidence["below_documented"] is True
    # 1.5 % below: within the between-lab reproducibility of CC (≈ 2 %) — the lab is unknown — an evidence gap
    r["carbon_content_tc_per_gj"] *= 0.985 / 0.95
    r["emissions_tco2"] *= 0.985 / 0.95
    found = {f.period: f for f in checks.run_codes(screen(data), ["CMP-003"])}
    assert found["2024-07"].severity == "medium" and found["2024-07"].evidence["below_documented"] is False


def test_cmp_003_shared_sample_filed_under_an_idle_unit_is_low(screen):
    """Units of one plant may share one sample (CONTRACT §3); when the unit it is filed under burnt no coal
    that month, its siblings' consistent measured CC without the report is a deposit gap (low)."""
    data = honest()
    u2 = dict(data["units"][0], unit_id="U2", unit_name="2号机组")
    data["units"].append(u2)
    data["monthly_reports"] += [dict(r, unit_id="U2") for r in copy.deepcopy(data["monthly_reports"])]
    for r in data["monthly_reports"]:
        if r["period"] in ("2024-04", "2024-05"):
            if r["unit_id"] == "U1":
                r.update(fuel_consumed_t=0.0, emissions_tco2=0.0, gross_generation_mwh=0.0, power_supply_mwh=0.0,
                         operating_hours=0.0, ncv_gj_per_t=None, carbon_content_tc_per_gj=None,
                         carbon_content_basis=None, lab_report_id=None)
            else:
                r["lab_report_id"] = None
    data["lab_reports"] = [r for r in data["lab_reports"] if r["sample_period"] not in ("2024-04", "2024-05")]
    found = checks.run_codes(screen(data), ["CMP-003"])
    assert sorted((f.unit_id, f.period, f.severity) for f in found) == [("U2", "2024-04", "low"), ("U2", "2024-05", "low")]
    assert found[0].evidence["sample_filed_under"] == "U1" and found[0].evidence["filing_unit_idle"] is True


def test_range_rules_within_method_precision_of_the_edge_are_low(data, screen):
    """A value beyond its band edge by less than the test method's precision (Mad 0.4 against 0.5; NCV
    0.2 GJ/t under the band) cannot be told from one on the edge: low, 0 t; farther out keeps medium."""
    _lab(data, "2024-01")["moisture_ad_pct"] = 0.4
    _lab(data, "2024-02")["moisture_ad_pct"] = 0.2
    found = {f.period: f for f in checks.run_codes(screen(data), ["LAB-006"])}
    assert (found["2024-01"].severity, found["2024-01"].tco2_at_stake) == ("low", 0.0)
    assert found["2024-02"].severity == "medium" and found["2024-02"].tco2_at_stake > 0
    lo = 19.0 - 1.5  # bituminous band less the plausibility margin (checks.params)
    _m(data, "2024-05")["ncv_gj_per_t"] = lo - 0.2
    _m(data, "2024-06")["ncv_gj_per_t"] = lo - 1.0
    found = {f.period: f for f in checks.run_codes(screen(data), ["ACC-004"])}
    assert (found["2024-05"].severity, found["2024-05"].tco2_at_stake) == ("low", 0.0)
    assert found["2024-06"].severity == "medium" and found["2024-06"].tco2_at_stake > 0


def test_cc_005_a_unit_centred_on_the_default_may_land_on_it(data, screen):
    """A unit whose own measured CC varies around 0.0258 hits 0.02580 by chance now and then: three such
    months are not a copied default; three at 0.0258 in a unit that otherwise sits at 0.0262 are."""
    drift = [0.00004, -0.00012, 0.00015, -0.00003, 0.00009, 0.0, 0.0, 0.0, -0.00016, 0.00011, -0.00007, 0.00013]
    for r, d in zip(sorted(data["monthly_reports"], key=lambda r: r["period"]), drift, strict=True):
        r["carbon_content_tc_per_gj"] = round(0.0258 + d, 5)
    assert checks.run_codes(screen(data), ["CC-005"]) == []
    data = honest()
    _cc_005(data)
    (f,) = checks.run_codes(screen(data), ["CC-005"])
    assert f.evidence["chance_p"] < 0.001 and f.evidence["chance_fleet"] < 0.05 and f.evidence["units_tested"] >= 1
    assert f.evidence["chance_fleet"] >= f.evidence["chance_p"]


def test_cc_005_a_rare_coincidence_is_not_rare_in_a_fleet(data, screen):
    """The per-unit tail is multiplied by the units tested nationally (Bonferroni): a unit near the default
    with 3 of 12 months on it (tail ≈ 5·10⁻⁴, as on an honest held-out plant, session 9) fires in a fleet of
    one unit but not among 2,500 measured units; a copied default fires in either."""
    near = [0.00005, 0.00017, -0.00008, 0.0, 0.00021, 0.00026, 0.0, 0.00013, 0.00035, 0.0, 0.00011, 0.00029]
    for r, d in zip(sorted(data["monthly_reports"], key=lambda r: r["period"]), near, strict=True):
        r["carbon_content_tc_per_gj"] = round(0.0258 + d, 5)
    ctx = screen(data)
    (f,) = checks.run_codes(ctx, ["CC-005"])
    assert 1e-4 < f.evidence["chance_p"] < 1e-3 and f.evidence["units_tested"] == 1
    fleet = screen(data)
    fleet.national().memo("checks.cc005_units_tested", lambda: 2500)  # as many measured units as a national year
    assert checks.run_codes(fleet, ["CC-005"]) == []
    data = honest()
    _cc_005(data)
    copied = screen(data)
    copied.national().memo("checks.cc005_units_tested", lambda: 2500)
    (f,) = checks.run_codes(copied, ["CC-005"])
    assert f.evidence["units_tested"] == 2500 and f.evidence["chance_fleet"] < 0.05


def test_cc_003_within_reproducibility_of_the_bound_is_low(data, screen):
    """0.0241 tC/GJ is 1.6 % under the 0.0245 bound — within the combined reproducibility of Car and NCV
    (≈ 2 %): low, 0 t; 0.0230 is not."""
    for p, v in (("2024-03", 0.0241), ("2024-04", 0.0230)):
        _m(data, p)["carbon_content_tc_per_gj"] = v
    found = {f.period: f for f in checks.run_codes(screen(data), ["CC-003"])}
    assert (found["2024-03"].severity, found["2024-03"].tco2_at_stake) == ("low", 0.0)
    assert found["2024-04"].severity == "high" and found["2024-04"].tco2_at_stake > 0


def test_cc_003_a_lone_month_just_beyond_reproducibility_is_low(data, screen):
    """A unit at the band's edge has 12 monthly chances a year: its only month at 0.0240 (2.0 % under 0.0245,
    just beyond the ≈ 2 % reproducibility, within 1.6 × it) is low, 0 t; two such months, or one at 0.0235
    (4.1 % under), are evidence."""
    _m(data, "2024-05")["carbon_content_tc_per_gj"] = 0.0240
    found = {f.period: f for f in checks.run_codes(screen(data), ["CC-003"])}
    assert (found["2024-05"].severity, found["2024-05"].tco2_at_stake) == ("low", 0.0)
    _m(data, "2024-09")["carbon_content_tc_per_gj"] = 0.0240
    found = {f.period: f for f in checks.run_codes(screen(data), ["CC-003"])}
    assert {found[p].severity for p in ("2024-05", "2024-09")} == {"high"}
    _m(data, "2024-09")["carbon_content_tc_per_gj"] = 0.0262
    _m(data, "2024-05")["carbon_content_tc_per_gj"] = 0.0235
    found = {f.period: f for f in checks.run_codes(screen(data), ["CC-003"])}
    assert found["2024-05"].severity == "high" and found["2024-05"].tco2_at_stake > 0


def test_lab_004_national_tails_are_fdr_adjusted():
    """1 500 honest (lab, enterprise) tails at a 5 % omission rate: at a fixed 1 % level several honest
    clients' three or four missing codes look like a pattern by chance; after Benjamini–Hochberg none
    does, while six of twelve reports stripped at one client of the same lab still are."""
    from checks.frames import qr_pattern_frame

    rng = np.random.default_rng(3)
    rows = []
    for e in range(1500):
        miss = rng.random(12) < 0.05
        for m in range(12):
            rows.append(dict(lab_agency_id=f"L{e % 30}", enterprise_id=f"E{e}", sample_period=f"2024-{m + 1:02d}",
                             has_anti_counterfeit_code=not (miss[m] or (e == 7 and m < 6))))
    out = qr_pattern_frame(pl.DataFrame(rows), min_reports=3, max_fdr=0.05)
    chance = out.filter((pl.col("enterprise_id") != "E7") & (pl.col("qr_missing_n") >= 3) & (pl.col("qr_tail_p") < 0.01))
    assert chance.height >= 3  # what a fixed 1 % level would have called patterns
    assert out.filter(pl.col("qr_pattern"))["enterprise_id"].to_list() == ["E7"]


def test_acc_004_leaner_coal_burnt_in_proportion_is_low(data, screen):
    """An NCV under the band with the tonnes unchanged raises the month's conversion efficiency (output per
    GJ of coal heat) by the same factor — the NCV was written down: medium with tonnes. The same NCV with
    proportionally more coal (a leaner coal genuinely burnt) keeps the unit's efficiency: low, 0 t."""
    r = _m(data, "2024-07")
    ncv0 = r["ncv_gj_per_t"]
    r["ncv_gj_per_t"] = 16.0
    (f,) = [x for x in checks.run_codes(screen(data), ["ACC-004"]) if x.period == "2024-07"]
    assert f.severity == "medium" and f.tco2_at_stake > 0 and f.evidence["energy_balance_holds"] is False
    r["fuel_consumed_t"] = round(r["fuel_consumed_t"] * ncv0 / 16.0, 2)
    (f,) = [x for x in checks.run_codes(screen(data), ["ACC-004"]) if x.period == "2024-07"]
    assert (f.severity, f.tco2_at_stake) == ("low", 0.0) and f.evidence["energy_balance_holds"] is True


# ---- honest operations that look like anomalies (DOMAIN.md §4b) -----------------------------------------
def test_cmp_001_commissioning_and_last_deposit_are_not_missing_months(data, screen):
    """A unit commissioned in the year is not expected before its first deposit; months after a unit's last
    deposit (retired or mothballed) are a follow-up (low, 0 t); a hole between two deposits stays medium."""
    # a second unit of the plant, commissioned in April 2024: deposits from April on
    data["units"].append(data["units"][0] | {"unit_id": "U9", "unit_name": "9号机组", "commissioning_year": 2024})
    for p in [f"2024-{m:02d}" for m in range(4, 13)]:
        data["monthly_reports"].append(monthly_row("U9", p, _lab(data, p)) | {"unit_id": "U9"})
    assert checks.run_codes(screen(data), ["CMP-001"]) == []
    # the same unit registered as commissioned in 2023: January–March are missing months between nothing
    # and its first deposit of the year — still before its first deposit, but it existed: medium
    data["units"][-1]["commissioning_year"] = 2023
    found = checks.run_codes(screen(data), ["CMP-001"])
    assert sorted((f.period, f.severity) for f in found) == [(f"2024-0{m}", "medium") for m in (1, 2, 3)]
    data["units"][-1]["commissioning_year"] = 2024
    # U1 retires after September: October–December are low with no tonnes; a hole in May stays medium
    data["monthly_reports"] = [r for r in data["monthly_reports"]
                               if not (r["unit_id"] == "U1" and r["period"] in ("2024-05", "2024-10", "2024-11", "2024-12"))]
    found = {f.period: f for f in checks.run_codes(screen(data), ["CMP-001"])}
    assert set(found) == {"2024-05", "2024-10", "2024-11", "2024-12"}
    assert (found["2024-05"].severity, found["2024-05"].tco2_at_stake > 0) == ("medium", True)
    assert {(found[p].severity, found[p].tco2_at_stake) for p in ("2024-10", "2024-11", "2024-12")} == {("low", 0.0)}


def test_lab_006_low_cad_with_ordinary_carbon_per_unit_heat_is_information(data, screen):
    """A high-ash coal has a low Cad *and* a low NCV: its carbon per unit heat (Car / NCV) is ordinary and the
    report moves no emissions (low, 0 t). A Cad written down alone lowers Car / NCV below the measured band:
    medium with its stake."""
    lab = _lab(data, "2024-01")
    ratio = 42.0 / lab["carbon_ad_pct"]
    lab.update(carbon_ad_pct=42.0, carbon_ar_pct=lab["carbon_ar_pct"] * ratio, ncv_ar_gj_per_t=lab["ncv_ar_gj_per_t"] * ratio)
    (f,) = checks.run_codes(screen(data), ["LAB-006"])
    assert (f.evidence["component"], f.severity, f.tco2_at_stake, f.evidence["cc_ordinary"]) == ("Cad", "low", 0.0, True)
    lab["ncv_ar_gj_per_t"] /= ratio  # the heat of the full coal with the carbon of the diluted one
    (f,) = checks.run_codes(screen(data), ["LAB-006"])
    assert f.severity == "medium" and f.tco2_at_stake > 0 and f.evidence["cc_ordinary"] is False


def test_acc_004_a_plant_burning_a_low_ncv_coal_all_year_is_judged_against_its_peers(data, screen):
    """A high-ash plant's NCV sits under its type's band in every month — no in-band month of its own to
    compare with — but it burns more tonnes for the same output, so its conversion efficiency is what its
    technology reaches (peers' in-band months): low, 0 t. The same NCV written down with the tonnes
    unchanged gives an efficiency no peer reaches: medium with its stake."""
    for u in ("P1", "P2", "P3"):  # peers of the same class and technology, ordinary coal
        data["units"].append(data["units"][0] | {"unit_id": u, "unit_name": u})
        for p in [f"2024-{m:02d}" for m in range(1, 13)]:  # coal in proportion to the month's output
            data["monthly_reports"].append(monthly_row(u, p, None, basis="default", fuel=4_000.0 * month_end(p).day) | {"unit_id": u})
    for r in data["monthly_reports"]:
        if r["unit_id"] == "U1":
            r["fuel_consumed_t"] = 4_000.0 * month_end(r["period"]).day * 22.0 / 15.0  # more tonnes of a leaner coal
            r["ncv_gj_per_t"] = 15.0
    found = [f for f in checks.run_codes(screen(data), ["ACC-004"]) if f.unit_id == "U1"]
    assert len(found) == 12 and {(f.severity, f.tco2_at_stake) for f in found} == {("low", 0.0)}
    for r in data["monthly_reports"]:
        if r["unit_id"] == "U1":
            r["fuel_consumed_t"] = 4_000.0 * month_end(r["period"]).day  # the usual tonnes: the NCV alone was written down
    found = [f for f in checks.run_codes(screen(data), ["ACC-004"]) if f.unit_id == "U1"]
    assert found and {f.severity for f in found} == {"medium"} and all(f.tco2_at_stake > 0 for f in found)


def test_acc_004_peers_are_national_when_one_province_is_screened(data, screen):
    """The high-ash plant's only in-band peers of its class and technology are in another province: a night
    screening its province alone (one Airflow partition) still judges it against them — the same verdict
    the in-process night over every province gives (checks.frames._efficiency_peers is national)."""
    data["enterprises"].append(data["enterprises"][0] | {"enterprise_id": "E9", "enterprise_name": "丙电厂",
                                                           "province_code": "37", "city_name": "济南市"})
    for u in ("P1", "P2", "P3"):
        data["units"].append(data["units"][0] | {"unit_id": u, "unit_name": u, "enterprise_id": "E9"})
        for p in [f"2024-{m:02d}" for m in range(1, 13)]:
            data["monthly_reports"].append(monthly_row(u, p, None, basis="default", fuel=4_000.0 * month_end(p).day)
                                           | {"unit_id": u, "enterprise_id": "E9"})
    for r in data["monthly_reports"]:
        if r["unit_id"] == "U1":
            r["fuel_consumed_t"] = 4_000.0 * month_end(r["period"]).day * 22.0 / 15.0  # more tonnes of a leaner coal
            r["ncv_gj_per_t"] = 15.0
    for provinces in (("15",), None):
        found = [f for f in checks.run_codes(screen(data, provinces=provinces), ["ACC-004"]) if f.unit_id == "U1"]
        assert len(found) == 12 and {(f.severity, f.tco2_at_stake) for f in found} == {("low", 0.0)}, provinces


def test_cmp_001_telemetry_running_after_the_last_deposit_is_a_missing_month(data, screen):
    """The unit that stops declaring in October but keeps running (its telemetry shows load) has missing
    months, not a retirement: medium with the stake."""
    data["units"].append(data["units"][0] | {"unit_id": "U2", "unit_name": "2号机组"})
    for p in [f"2024-{m:02d}" for m in range(1, 13)]:  # a unit that reports all year (the national periods)
        data["monthly_reports"].append(monthly_row("U2", p, _lab(data, p)) | {"unit_id": "U2"})
    tel = telemetry_for(data)  # the plant ran all year …
    data["monthly_reports"] = [r for r in data["monthly_reports"]  # … and U1 declared nothing after October
                               if not (r["unit_id"] == "U1" and r["period"] in ("2024-11", "2024-12"))]
    found = {f.period: f for f in checks.run_codes(screen(data, telemetry=tel), ["CMP-001"]) if f.unit_id == "U1"}
    assert set(found) == {"2024-11", "2024-12"}
    assert all(f.severity == "medium" and f.tco2_at_stake > 0 and f.evidence["telemetry_shows_running"] for f in found.values())
    # without telemetry for those months (the unit retired): low, 0 t
    tel = tel.filter(~((pl.col("unit_id") == "U1") & pl.col("period").is_in(["2024-11", "2024-12"])))
    found = [f for f in checks.run_codes(screen(data, telemetry=tel), ["CMP-001"]) if f.unit_id == "U1"]
    assert {(f.severity, f.tco2_at_stake) for f in found} == {("low", 0.0)}


def test_lab_006_a_wet_coal_burnt_in_proportion_is_information(data, screen):
    """Mt above its band lowers Car and the as-received NCV together; when the month's coal rose with the
    water (its conversion efficiency holds) and Car / NCV is ordinary, it is a wet coal: low, 0 t. The same
    Mt with the carbon written down alone (CC below the band) keeps medium and its stake."""
    lab, mon = _lab(data, "2024-03"), _m(data, "2024-03")
    w = (100.0 - 45.0) / (100.0 - lab["total_moisture_pct"])
    lab.update(total_moisture_pct=45.0, carbon_ar_pct=lab["carbon_ar_pct"] * w, ncv_ar_gj_per_t=lab["ncv_ar_gj_per_t"] * w)
    mon.update(ncv_gj_per_t=mon["ncv_gj_per_t"] * w, fuel_consumed_t=mon["fuel_consumed_t"] / w)
    (f,) = [x for x in checks.run_codes(screen(data), ["LAB-006"]) if x.period == "2024-03"]
    assert (f.evidence["component"], f.severity, f.tco2_at_stake) == ("Mt", "low", 0.0)
    assert f.evidence["cc_ordinary"] is True and f.evidence["energy_balance_holds"] is True
    # moisture written up with the heat and tonnes untouched: the carbon falls alone (CC below the band)
    mon.update(ncv_gj_per_t=mon["ncv_gj_per_t"] / w, fuel_consumed_t=mon["fuel_consumed_t"] * w)
    lab.update(ncv_ar_gj_per_t=lab["ncv_ar_gj_per_t"] / w)
    (f,) = [x for x in checks.run_codes(screen(data), ["LAB-006"]) if x.period == "2024-03"]
    assert f.severity == "medium" and f.tco2_at_stake > 0
