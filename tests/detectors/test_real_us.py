"""Real US data (EIA-923 monthly reports, EPA AMPD CEMS telemetry) through the US adapter: what fires.

Honest real patterns — oil/gas heat content repeated month after month, CEMS 0.98–1.17× of EIA fuel
heat, partial CEMS coverage (West Phoenix 2016-10, 0.18×) — must never produce ``high``. Thin reader:
the adapted bundle's CSV/Parquet files straight into :func:`detectors.run_frames` (no store).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import detectors


@pytest.fixture(scope="module")
def us_bundle(tmp_path_factory, real_dir) -> Path:
    adapters = pytest.importorskip("carbonqa.adapters.us")
    out = tmp_path_factory.mktemp("us") / "us"
    adapters.adapt_us(out, real_dir=real_dir)
    return out


def _frames(b: Path, year: int):
    mon = pl.read_csv(b / "monthly_reports.csv", infer_schema_length=10000).filter(pl.col("period").str.starts_with(str(year)))
    ent = pl.read_csv(b / "enterprises.csv", infer_schema_length=0)
    units = pl.read_csv(b / "units.csv", infer_schema_length=0).join(ent.select("enterprise_id", "province_code", "city_name"), on="enterprise_id")
    tel = pl.read_parquet(b / "telemetry" / "**" / "*.parquet")
    ih = pl.col("interval_hours").cast(pl.Float64) if "interval_hours" in tel.columns else pl.lit(1.0)
    tel = tel.with_columns(ih.alias("_h"), pl.col("ts").cast(pl.String).str.slice(0, 7).alias("period")).filter(pl.col("period").str.starts_with(str(year)))
    tm = tel.group_by("unit_id", "period").agg(
        (pl.col("gross_load_mw") * pl.col("_h")).sum().alias("generation_mwh"),
        pl.when(pl.col("coal_feed_t").count() > 0).then(pl.col("coal_feed_t").sum()).alias("coal_feed_t"),
        pl.when(pl.col("cems_co2_t").count() > 0).then(pl.col("cems_co2_t").sum()).alias("cems_co2_t"),
        pl.col("_h").filter(pl.col("gross_load_mw") > 0).sum().alias("hours_with_load"),
        pl.col("_h").sum().alias("hours_covered"),
        pl.len().alias("rows"),
    )
    return mon, units, tm


@pytest.mark.parametrize("year", [2016, 2019])
def test_real_us_data_nothing_high(us_bundle, year):
    mon, units, tm = _frames(us_bundle, year)
    assert mon.height > 0
    f = detectors.run_frames(mon, units, telemetry_monthly=tm)
    high = [(x.rule_code, x.unit_id, x.period, x.message_en) for x in f if x.severity in ("critical", "high")]
    assert not high, high
    if year == 2016:  # West Phoenix partial-CEMS month shows, as low, with the shortfall marked
        wp = [x for x in f if x.unit_id and "00117" in x.unit_id and x.period == "2016-10"]
        assert all(x.severity == "low" for x in wp)
