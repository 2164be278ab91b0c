"""Helpers: build a store and a ScreenContext from tiny inline frames.

``honest()`` returns one honest enterprise-year (province 15, one 600 MW bituminous unit, 12 measured
months each backed by its own lab report, an annual report equal to the monthly sum, an independent
verification). Tests mutate a copy and call ``screen(tables)`` which inserts the rows into the raw
tables of a fresh SQLite store (``bundle_id``, ``row_sha256``, ``ingested_at``, ``record_version``) and
returns a :class:`ScreenContext` for 2024. ``store`` does the same on a given URL (for ``db_url``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.screening import ScreenContext
from carbonqa.store import get_engine, raw_table

YEAR = 2024
CO2 = 44.0 / 12.0


def month_end(period: str) -> dt.date:
    y, m = int(period[:4]), int(period[5:7])
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def lab_row(lab_id: str, unit_id: str, period: str, serial: int, cad=62.0, mad=3.0, mt=10.0, ncv=22.0) -> dict:
    end = month_end(period)
    car = round(cad * (100 - mt) / (100 - mad), 4)
    return dict(
        lab_report_id=lab_id, report_no=f"LR-{serial:05d}", lab_agency_id="L1", unit_id=unit_id, sample_period=period,
        sampling_end_date=end, receipt_date=end + dt.timedelta(days=1), test_date=end + dt.timedelta(days=3),
        report_date=end + dt.timedelta(days=5), carbon_ad_pct=cad, moisture_ad_pct=mad, total_moisture_pct=mt,
        carbon_ar_pct=car, ncv_ar_gj_per_t=ncv, ash_ad_pct=20.0, has_anti_counterfeit_code=True,
    )


def monthly_row(unit_id: str, period: str, lab: dict | None, fuel=120_000.0, of=0.99, capacity=600.0, basis="measured",
                cc: float | None = None, grid=0.5703) -> dict:
    ncv = lab["ncv_ar_gj_per_t"] if lab else 22.0
    if cc is None:
        cc = round(lab["carbon_ar_pct"] / 100 / ncv, 6) if lab else 0.03085
    gen = capacity * 24 * month_end(period).day * 0.7
    purchased = 100.0
    e = fuel * ncv * cc * of * CO2 + purchased * grid
    return dict(
        unit_id=unit_id, period=period, version=1, fuel_consumed_t=fuel, ncv_gj_per_t=ncv, carbon_content_tc_per_gj=cc,
        carbon_content_basis=basis, oxidation_rate=of, gross_generation_mwh=gen, power_supply_mwh=gen * 0.94,
        heat_supply_gj=0.0, operating_hours=600.0, load_rate=0.7, purchased_electricity_mwh=purchased,
        emissions_tco2=round(e, 1), lab_report_id=lab["lab_report_id"] if lab else None,
        submitted_at=dt.datetime.combine(month_end(period) + dt.timedelta(days=10), dt.time(9, 0)),
    )


def honest(year: int = YEAR) -> dict[str, list[dict]]:
    periods = [f"{year}-{m:02d}" for m in range(1, 13)]
    labs = [lab_row(f"LAB-U1-{p}", "U1", p, serial=i + 1) for i, p in enumerate(periods)]
    monthly = [monthly_row("U1", p, lab) for p, lab in zip(periods, labs, strict=True)]
    total = sum(r["emissions_tco2"] for r in monthly)
    return {
        "enterprises": [dict(enterprise_id="E1", enterprise_name="甲电厂", province_code="15", city_name="包头市",
                             sector="power", is_captive=False)],
        "units": [dict(unit_id="U1", enterprise_id="E1", unit_name="1号机组", unit_class="coal_conventional_300mw_plus",
                       capacity_mw=600.0, combustion_technology="supercritical", coal_type="bituminous",
                       cooling_type="water", is_chp=False, commissioning_year=2010)],
        "agencies": [dict(agency_id="L1", agency_name="检测所", roles="lab", home_province_code="15"),
                     dict(agency_id="P1", agency_name="编制公司", roles="preparer", home_province_code="15"),
                     dict(agency_id="V1", agency_name="核查公司", roles="verifier", home_province_code="11")],
        "lab_reports": labs,
        "monthly_reports": monthly,
        "annual_reports": [dict(report_id="AR-E1", enterprise_id="E1", year=year, reported_emissions_tco2=round(total, 1),
                                reported_power_supply_mwh=sum(r["power_supply_mwh"] for r in monthly),
                                reported_heat_supply_gj=0.0, preparer_agency_id="P1",
                                submitted_at=dt.datetime(year + 1, 3, 20))],
        "verifications": [dict(verification_id="VR-E1", enterprise_id="E1", year=year, verifier_agency_id="V1",
                               verified_emissions_tco2=round(total, 1), conclusion="accepted", findings_count=0,
                               review_started=dt.date(year + 1, 4, 1), review_completed=dt.date(year + 1, 4, 20))],
    }


def insert(url: str, tables: dict[str, list[dict]]) -> None:
    """Insert inline rows into the raw tables (record_version 1 unless given)."""
    meta = {"bundle_id": "test-bundle", "row_sha256": "0" * 64, "ingested_at": dt.datetime(2025, 6, 1)}
    with get_engine(url).begin() as c:
        for name in ("enterprises", "units", "agencies", "lab_reports", "monthly_reports", "annual_reports",
                     "verifications", "tips"):
            rows = tables.get(name) or []
            if rows:
                blank = {col: None for col in contract.table(name).names}
                c.execute(sa.insert(raw_table(name)), [blank | {"record_version": 1} | r | meta for r in rows])


def telemetry_for(tables: dict[str, list[dict]]) -> pl.DataFrame:
    """Honest monthly telemetry matching every monthly report (shape of carbonqa.lake.monthly_telemetry)."""
    rows = [dict(unit_id=r["unit_id"], period=r["period"], generation_mwh=r["gross_generation_mwh"],
                 coal_feed_t=r["fuel_consumed_t"], cems_co2_t=None, hours_with_load=r["operating_hours"],
                 hours_covered=24.0 * month_end(r["period"]).day, rows=24 * month_end(r["period"]).day)
            for r in tables["monthly_reports"]]
    return pl.DataFrame(rows, schema={"unit_id": pl.String, "period": pl.String, "generation_mwh": pl.Float64,
                                      "coal_feed_t": pl.Float64, "cems_co2_t": pl.Float64,
                                      "hours_with_load": pl.Float64, "hours_covered": pl.Float64, "rows": pl.Int64})


def context(url: str, year: int = YEAR, provinces: tuple[str, ...] | None = None,
            telemetry: pl.DataFrame | None = None) -> ScreenContext:
    ctx = ScreenContext(year=year, provinces=provinces, url=url, run_id="test")
    if telemetry is not None:
        ctx.telemetry_monthly = lambda: telemetry  # type: ignore[method-assign]
        ctx.national().telemetry_monthly = lambda: telemetry  # type: ignore[method-assign]
    return ctx


_counter = itertools.count()


def codes(findings: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.rule_code] = out.get(f.rule_code, 0) + 1
    return out
