"""Adapters on the real public files: counts, manifests, contract dtypes, facts, and ingest."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from carbonqa import contract
from carbonqa.adapters import adapt_gcpt, adapt_nger, adapt_us
from carbonqa.adapters import us as us_mod
from carbonqa.adapters.nger import load_nger
from carbonqa.ingest.manifest import combined_sha256, load_manifest, sha256_file

EXPECTED = {
    "us": {"enterprises": 6, "units": 8, "monthly_reports": 708, "telemetry": 36},
    "nger": {"enterprises": 146, "annual_reports": 466},
    "gcpt": {"enterprises": 1156, "units": 3168},
}
ADAPTERS = {"us": adapt_us, "nger": adapt_nger, "gcpt": adapt_gcpt}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, real_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapted")
    out = {}
    for name, fn in ADAPTERS.items():
        res = fn(root / name, real_dir=real_dir)
        assert res.path == root / name
        out[name] = root / name
    return out


def read_table(bundle: Path, name: str) -> pl.DataFrame:
    """Read a bundle table strictly with the contract schema (fails on any dtype mismatch)."""
    schema = contract.polars_schema(name)
    if name == "telemetry":
        return pl.read_parquet(bundle / "telemetry" / "**" / "*.parquet")
    return pl.read_csv(bundle / f"{name}.csv", schema=schema, try_parse_dates=False)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_row_counts_and_manifest(bundles: dict[str, Path], name: str) -> None:
    b = bundles[name]
    man = load_manifest(b)
    assert man.contract_version == contract.CONTRACT_VERSION
    assert {t: e.rows for t, e in man.tables.items()} == EXPECTED[name]
    # only contract files + manifest in the bundle
    files = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    listed = {"manifest.json"} | {p.file for e in man.tables.values() for p in e.parts}
    assert files == listed
    for t, e in man.tables.items():
        for p in e.parts:
            assert sha256_file(b / p.file) == p.sha256, f"{t}: {p.file} checksum"
        if e.is_directory:
            assert e.sha256 == combined_sha256([(p.file, p.sha256) for p in e.parts])
        df = read_table(b, t)
        assert df.height == e.rows
        assert df.schema == contract.polars_schema(t)


def test_adapting_twice_is_byte_identical(bundles: dict[str, Path], real_dir: Path, tmp_path: Path) -> None:
    res = adapt_us(tmp_path / "again", real_dir=real_dir)
    assert (tmp_path / "again" / "manifest.json").read_bytes() == (bundles["us"] / "manifest.json").read_bytes()
    assert res.rows == EXPECTED["us"]


def test_telemetry_has_interval_hours(bundles: dict[str, Path]) -> None:
    assert "interval_hours" in contract.polars_schema("telemetry")
    t = read_table(bundles["us"], "telemetry")
    feb = t.filter((pl.col("unit_id") == "US-00113-COAL") & (pl.col("ts").dt.month() == 2))
    assert feb["interval_hours"].to_list() == [696.0]  # 2016 is a leap year
    assert t["coal_feed_t"].null_count() == t.height
    assert t["ts"].dt.day().unique().to_list() == [1] and t["ts"].dt.hour().unique().to_list() == [0]
    assert set(t["unit_id"]) == {"US-00113-COAL", "US-00116-GAS", "US-00117-GAS"}


def _heat_ratio(bundles: dict[str, Path], real_dir: Path, plant: int) -> pl.DataFrame:
    """CEMS heat input / adapted EIA fuel heat (back to gross MMBtu), per month of 2016."""
    mr = read_table(bundles["us"], "monthly_reports")
    units = read_table(bundles["us"], "units")
    eid = f"US-EIA-PLANT-{plant:05d}"
    u = units.filter(pl.col("enterprise_id") == eid).select(
        "unit_id", pl.when(pl.col("unit_class") == "gas").then(pl.lit("gas")).otherwise(pl.lit("coal")).alias("fam")
    )
    gcv = pl.col("fam").replace_strict(us_mod.GCV_TO_NCV, return_dtype=pl.Float64)
    heat = (
        mr.join(u, on="unit_id")
        .filter(pl.col("period").str.starts_with("2016"))
        .with_columns((pl.col("fuel_consumed_t") * pl.col("ncv_gj_per_t").fill_null(0) / gcv / us_mod.MMBTU_GJ).alias("mmbtu"))
        .group_by(pl.col("period").str.slice(5, 2).cast(pl.Int64).alias("month"))
        .agg(pl.col("mmbtu").sum())
    )
    ampd = us_mod.load_ampd(real_dir / us_mod.AMPD_FILE).filter(pl.col("plant_id_eia") == plant)
    return heat.join(ampd.select("month", "heat_input_mmbtu"), on="month").with_columns(
        (pl.col("heat_input_mmbtu") / pl.col("mmbtu")).alias("ratio")
    ).sort("month")


def test_cholla_cems_heat_tracks_eia_fuel_heat(bundles: dict[str, Path], real_dir: Path) -> None:
    r = _heat_ratio(bundles, real_dir, 113)
    assert r.height == 12
    # README: 0.98-1.17 (two decimals; oil, 0.17 % of the heat, is not in the bundle)
    assert r["ratio"].round(2).min() >= 0.98 and r["ratio"].round(2).max() <= 1.17, r


def test_west_phoenix_has_a_month_far_below(bundles: dict[str, Path], real_dir: Path) -> None:
    r = _heat_ratio(bundles, real_dir, 117)
    low = r.filter(pl.col("ratio") < 0.25)
    assert low["month"].to_list() == [10]
    assert abs(low["ratio"][0] - 0.18) < 0.01


def test_oil_heat_content_repeats_in_source(real_dir: Path) -> None:
    eia = us_mod.load_eia923(real_dir / us_mod.EIA_FILE).sort("plant_id_eia", "prime_mover_code", "fuel_type", "report_date")
    key = ["plant_id_eia", "prime_mover_code", "fuel_type"]
    pairs = eia.with_columns(
        pl.col("fuel_mmbtu_per_unit").shift(1).over(key).alias("prev"),
        pl.col("report_date").shift(1).over(key).alias("prev_date"),
    ).filter(
        (pl.col("fuel_mmbtu_per_unit") > 0) & (pl.col("prev") > 0)
        & (pl.col("report_date").dt.offset_by("-1mo") == pl.col("prev_date"))
    )
    share = pairs.group_by("fuel_type_code_pudl").agg((pl.col("fuel_mmbtu_per_unit") == pl.col("prev")).mean().alias("s"))
    s = dict(share.iter_rows())
    assert s["oil"] > 0.8 and s["gas"] < 0.3  # README: oil 88 %, gas 17 %
    assert pairs.height == 1156  # README: 1,156 consecutive non-zero month pairs


def test_us_identity_conversions_and_generation(bundles: dict[str, Path]) -> None:
    mr = read_table(bundles["us"], "monthly_reports")
    calc = mr["fuel_consumed_t"] * mr["ncv_gj_per_t"].fill_null(0) * mr["carbon_content_tc_per_gj"].fill_null(0) * mr[
        "oxidation_rate"
    ] * contract.CO2_PER_C
    assert ((calc - mr["emissions_tco2"]).abs() < 1e-6 * (1 + mr["emissions_tco2"])).all()
    assert (mr["gross_generation_mwh"] == mr["power_supply_mwh"]).all()
    assert (mr["carbon_content_basis"].drop_nulls() == "default").all()
    coal = mr.filter(pl.col("unit_id") == "US-00113-COAL", pl.col("fuel_consumed_t") > 0)
    assert coal["ncv_gj_per_t"].is_between(16, 24).all()  # sub-bituminous / bituminous, net basis
    gas = mr.filter(pl.col("unit_id") == "US-00117-GAS", pl.col("fuel_consumed_t") > 0)
    assert gas["ncv_gj_per_t"].is_between(330, 400).all()  # GJ per 10^4 Nm3, net basis
    sub = mr.filter(pl.col("period") == "2016-07", pl.col("unit_id") == "US-00113-COAL")
    assert sub["submitted_at"][0].isoformat() == "2016-08-20T00:00:00"
    assert abs(us_mod.MCF_NM3 - 26.853) < 0.01


def test_us_adapter_report_lists_what_was_left_out(bundles: dict[str, Path]) -> None:
    rep = pl.read_csv(bundles["us"].parent / "us.adapter_report.csv")
    reasons = set(rep["reason"])
    assert {"fuel_not_in_contract:oil", "fuel_not_in_contract:hydro", "no_activity"} <= reasons


def test_nger_quarantine_accounts_for_every_row(real_dir: Path, bundles: dict[str, Path]) -> None:
    valid, report = load_nger(real_dir / "nger_au_designated_generation_facilities_2012-2018.csv")
    raw = pl.read_csv(real_dir / "nger_au_designated_generation_facilities_2012-2018.csv", infer_schema_length=0,
                      truncate_ragged_lines=True)
    assert valid.height + len(report) == raw.height
    rep = pl.read_csv(bundles["nger"].parent / "nger.adapter_report.csv", infer_schema_length=0)
    q = rep.filter(pl.col("action") == "quarantined")
    assert q.height == len(report) == 13
    assert set(q["reason"]) == {"summary_row", "malformed_row"}
    assert q.filter(pl.col("raw").str.contains("did not receive")).height == 1
    ann = read_table(bundles["nger"], "annual_reports")
    assert sorted(ann["year"].unique()) == [2013, 2014, 2015, 2016, 2017, 2018]
    ent = read_table(bundles["nger"], "enterprises")
    assert ent["enterprise_id"].str.len_chars().unique().to_list() == [18]
    assert set(ent["province_code"]) <= {f"AU-{s}" for s in ("NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT")} | {"AU"}
    # AGL Loy Yang, 2012-13: corporate totals with thousands separators parsed
    agl = ann.join(ent, on="enterprise_id").filter(pl.col("enterprise_name").str.starts_with("AGL ENERGY"), pl.col("year") == 2013)
    assert agl.height == 1 and agl["reported_emissions_tco2"][0] > 19_127_315


def test_gcpt_registry(bundles: dict[str, Path]) -> None:
    units = read_table(bundles["gcpt"], "units")
    ent = read_table(bundles["gcpt"], "enterprises")
    assert set(ent["province_code"]) <= set(contract.PROVINCES)
    assert ent["province_code"].n_unique() == 29
    assert 1_140_000 < units["capacity_mw"].sum() < 1_155_000  # README: 1,147 GW operating
    for col in ("unit_class", "combustion_technology", "coal_type"):
        assert set(units[col].drop_nulls()) <= set(contract.table("units").column(col).enum or ())
    assert units.join(ent, on="enterprise_id", how="anti").height == 0
    assert ent["enterprise_id"].str.len_chars().unique().to_list() == [18]


def test_gcpt_ids_match_the_synthetic_generator(bundles: dict[str, Path], real_dir: Path) -> None:
    import numpy as np

    from carbonqa.synth.registry import build_registry
    from carbonqa.synth.registry import load_gcpt as synth_load

    reg = build_registry(synth_load(real_dir), np.random.default_rng(7))  # ids must not depend on the seed
    units = read_table(bundles["gcpt"], "units")
    j = units.join(reg.units.select("registry_ref", pl.col("unit_id").alias("synth")), on="registry_ref")
    assert j.height == units.height and (j["unit_id"] == j["synth"]).all()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_bundles_ingest_cleanly(bundles: dict[str, Path], name: str, db_url: str) -> None:
    from carbonqa.ingest import ingest_bundle

    res = ingest_bundle(bundles[name], url=db_url)
    assert res.outcome == "landed", res.reason
    for t, n in EXPECTED[name].items():
        c = res.tables[t]
        assert (c.valid, c.new, c.quarantined) == (n, n, 0), c
    again = ingest_bundle(bundles[name], url=db_url)
    assert again.outcome == "duplicate"
    man = json.loads((bundles[name] / "manifest.json").read_text())
    assert man["bundle_id"] == res.bundle_id
