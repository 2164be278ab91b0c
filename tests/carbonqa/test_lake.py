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


# ---- statistics sidecars (issue 13, session 8) -------------------------------------------------------
def _put_with_sidecar(lake: Path, prov: str, period: str, name: str, df: pl.DataFrame, **override: float) -> None:
    """A lake file and its sidecar as ingest writes them; ``override`` sets sidecar values (to see it read)."""
    from carbonqa.lake import SIDECAR_COLUMNS, aggregate_monthly, sidecar_path

    _put(lake, prov, period, name, df)
    stats = aggregate_monthly(df.lazy(), ["unit_id"]).collect().with_columns(
        *(pl.lit(v).alias(k) for k, v in override.items())).select(list(SIDECAR_COLUMNS)).cast(SIDECAR_COLUMNS)
    stats.write_ipc(sidecar_path(lake / f"province_code={prov}" / f"period={period}" / name))


def test_sidecars_agree_with_the_scan_and_are_read(tmp_path):
    lake, t = tmp_path / "lake", dt.datetime(2024, 8, 1)
    rows = pl.concat([_tel("U1", dt.datetime(2024, 7, 1), 30, 100.0, t), _tel("U2", dt.datetime(2024, 7, 1), 20, 0.0, t)])
    _put(lake, "15", "2024-07", "a__1.parquet", rows)
    scanned = monthly_telemetry(lake_dir=lake)
    _put_with_sidecar(lake, "15", "2024-07", "a__1.parquet", rows)
    assert (lake / "province_code=15" / "period=2024-07" / "a__1.monthly.arrow").is_file()
    assert monthly_telemetry(lake_dir=lake).equals(scanned)
    # the sidecar is what is read: a (deliberately) different sidecar shows through
    _put_with_sidecar(lake, "15", "2024-07", "a__1.parquet", rows, generation_mwh=7.0)
    assert monthly_telemetry(lake_dir=lake)["generation_mwh"].to_list() == [7.0, 7.0]
    assert monthly_telemetry(periods=["2024-08"], lake_dir=lake).height == 0


def test_partitions_that_sidecars_cannot_give_are_scanned(tmp_path):
    lake, t1, t2 = tmp_path / "lake", dt.datetime(2024, 8, 1), dt.datetime(2024, 9, 1)
    # 15/07: a second bundle re-delivers hours 5..14 — the latest must win, so the rows are scanned
    _put_with_sidecar(lake, "15", "2024-07", "a__1.parquet", _tel("U1", dt.datetime(2024, 7, 1), 10, 100.0, t1), generation_mwh=-1.0)
    _put_with_sidecar(lake, "15", "2024-07", "b__2.parquet", _tel("U1", dt.datetime(2024, 7, 1, 5), 10, 200.0, t2), generation_mwh=-1.0)
    # 37/07: one unit-month in two files of one bundle (a slice boundary) — scanned
    _put_with_sidecar(lake, "37", "2024-07", "a__3.parquet", _tel("U3", dt.datetime(2024, 7, 1), 4, 50.0, t1), generation_mwh=-1.0)
    _put_with_sidecar(lake, "37", "2024-07", "a__4.parquet", _tel("U3", dt.datetime(2024, 7, 2), 4, 50.0, t1), generation_mwh=-1.0)
    # 37/08: a file without its sidecar (written before sidecars existed) — scanned
    _put_with_sidecar(lake, "37", "2024-08", "a__5.parquet", _tel("U3", dt.datetime(2024, 8, 1), 4, 50.0, t1), generation_mwh=-1.0)
    _put(lake, "37", "2024-08", "a__6.parquet", _tel("U4", dt.datetime(2024, 8, 1), 2, 10.0, t1))
    # 37/09: read from its sidecar
    _put_with_sidecar(lake, "37", "2024-09", "a__7.parquet", _tel("U3", dt.datetime(2024, 9, 1), 4, 50.0, t1), generation_mwh=-1.0)
    m = monthly_telemetry(lake_dir=lake)
    assert m.select("unit_id", "period", "province_code", "generation_mwh", "rows").rows() == [
        ("U1", "2024-07", "15", 5 * 100.0 + 10 * 200.0, 15), ("U3", "2024-07", "37", 400.0, 8),
        ("U3", "2024-08", "37", 200.0, 4), ("U3", "2024-09", "37", -1.0, 4), ("U4", "2024-08", "37", 20.0, 2)]
    assert list(m.columns) == list(MONTHLY_COLUMNS) and dict(m.schema) == MONTHLY_COLUMNS
    # an unreadable sidecar: everything is scanned, nothing fails
    (lake / "province_code=37" / "period=2024-09" / "a__7.monthly.arrow").write_bytes(b"not arrow")
    assert monthly_telemetry(lake_dir=lake).filter(pl.col("period") == "2024-09")["generation_mwh"].to_list() == [200.0]
