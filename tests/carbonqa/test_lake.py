"""Reads of the telemetry lake: partition pruning, cross-bundle de-duplication, monthly aggregates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from carbonqa.lake import MONTHLY_COLUMNS, TELEMETRY_COLUMNS, monthly_telemetry, scan_telemetry


def _put(lake: Path, prov: str, period: str, name: str, df: pl.DataFrame) -> None:
    d = lake / f"province_code={prov}" / f"period={period}"
    d.mkdir(parents=True, exist_ok=True)
    df.write_parquet(d / name)


def _tel(unit: str, start: dt.datetime, hours: int, load: float, ingested: dt.datetime, interval: float = 1.0):
    ts = [start + dt.timedelta(hours=h) for h in range(hours)]
    return pl.DataFrame({
        "unit_id": [unit] * hours, "ts": ts, "gross_load_mw": [load] * hours, "coal_feed_t": [10.0] * hours,
        "cems_co2_t": [None] * hours, "interval_hours": [interval] * hours, "ingested_at": [ingested] * hours,
    }, schema_overrides={"cems_co2_t": pl.Float64, "ts": pl.Datetime("us"), "ingested_at": pl.Datetime("us")})


def test_empty_lake_has_schema(tmp_path):
    df = scan_telemetry(lake_dir=tmp_path / "nothing").collect()
    assert df.height == 0 and dict(df.schema) == TELEMETRY_COLUMNS
    m = monthly_telemetry(lake_dir=tmp_path / "nothing")
    assert m.height == 0 and list(m.columns) == list(MONTHLY_COLUMNS)


def test_latest_ingested_bundle_wins_and_pruning(tmp_path):
    lake = tmp_path / "lake"
    t1, t2 = dt.datetime(2024, 8, 1), dt.datetime(2024, 9, 1)
    _put(lake, "15", "2024-07", "a__1.parquet", _tel("U1", dt.datetime(2024, 7, 1), 10, 100.0, t1))
    # a later bundle re-delivers hours 5..14 with another load
    _put(lake, "15", "2024-07", "b__2.parquet", _tel("U1", dt.datetime(2024, 7, 1, 5), 10, 200.0, t2))
    _put(lake, "37", "2024-07", "a__3.parquet", _tel("U3", dt.datetime(2024, 7, 1), 4, 50.0, t1))
    _put(lake, "37", "2024-08", "a__4.parquet", _tel("U3", dt.datetime(2024, 8, 1), 4, 50.0, t1))
    df = scan_telemetry(provinces=["15"], lake_dir=lake).collect().sort("ts")
    assert df.height == 15 and df["unit_id"].unique().to_list() == ["U1"]
    assert df["gross_load_mw"].to_list() == [100.0] * 5 + [200.0] * 10
    assert df.columns == list(TELEMETRY_COLUMNS) and df["province_code"].dtype == pl.String
    assert scan_telemetry(periods=["2024-08"], lake_dir=lake).collect().height == 4
    m = monthly_telemetry(lake_dir=lake).sort("unit_id", "period")
    assert m.select("unit_id", "period", "province_code").rows() == [
        ("U1", "2024-07", "15"), ("U3", "2024-07", "37"), ("U3", "2024-08", "37")]
    assert m["generation_mwh"].to_list() == [5 * 100.0 + 10 * 200.0, 200.0, 200.0]
    assert m["coal_feed_t"].to_list() == [150.0, 40.0, 40.0]
    assert m["cems_co2_t"].null_count() == 3
    assert m["rows"].to_list() == [15, 4, 4]


def test_monthly_interval_and_hours_with_load(tmp_path):
    lake = tmp_path / "lake"
    t = dt.datetime(2017, 1, 1)
    df = pl.concat([_tel("US1", dt.datetime(2016, 1, 1), 1, 300.0, t, interval=744.0),
                    _tel("US2", dt.datetime(2016, 1, 1), 1, 0.0, t, interval=744.0)])
    _put(lake, "US-AZ", "2016-01", "us__1.parquet", df)
    m = monthly_telemetry(lake_dir=lake).sort("unit_id")
    assert m["generation_mwh"].to_list() == [300.0 * 744, 0.0]
    assert m["hours_with_load"].to_list() == [744.0, 0.0]
    assert m["hours_covered"].to_list() == [744.0, 744.0]


def test_all_null_rows_are_a_logger_gap_not_coverage(tmp_path):
    """Hours exported as rows with every measurement empty do not count as covered (a 5-day gap)."""
    lake = tmp_path / "lake"
    t = dt.datetime(2024, 8, 1)
    rows = _tel("U1", dt.datetime(2024, 7, 1), 744, 100.0, t)
    gap = (pl.col("ts") >= dt.datetime(2024, 7, 10)) & (pl.col("ts") < dt.datetime(2024, 7, 15))
    rows = rows.with_columns([pl.when(gap).then(None).otherwise(pl.col(c)).alias(c) for c in ("gross_load_mw", "coal_feed_t")])
    _put(lake, "15", "2024-07", "a__1.parquet", rows)
    m = monthly_telemetry(lake_dir=lake)
    assert m["rows"].to_list() == [744] and m["hours_covered"].to_list() == [744.0 - 120.0]
    assert m["generation_mwh"].to_list() == [100.0 * 624]
