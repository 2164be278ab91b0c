"""Tests of ``carbonqa synth`` on small provinces (Ningxia 64, Hainan 46); fast (a few seconds)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from carbonqa.contract import CO2_PER_C, FAMILIES, TABLES, polars_schema
from carbonqa.synth import LABEL_COLUMNS, generate_bundle
from carbonqa.synth import params as P

PROV = ["64", "46"]
OPTIONAL = {"interval_hours"}  # optional contract extensions the generator does not write
CSV_TABLES = ("enterprises", "units", "agencies", "monthly_reports", "lab_reports", "annual_reports", "verifications", "tips")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("synth")
    out = root / "b"
    summary = generate_bundle(out, year=2024, provinces=PROV, seed=3, fraud_rate=0.6, telemetry=True)
    tables = {n: pl.read_csv(out / f"{n}.csv", schema=polars_schema(n)) for n in CSV_TABLES}
    tables["telemetry"] = pl.read_parquet(out / "telemetry" / "**" / "*.parquet", hive_partitioning=True)
    labels = pl.read_csv(summary.labels_path, schema_overrides={"year": pl.Int64, "unit_id": pl.String, "period": pl.String})
    look = pl.read_csv(summary.lookalikes_path, schema_overrides={"year": pl.Int64, "unit_id": pl.String, "period": pl.String})
    return {"out": out, "summary": summary, "t": tables, "labels": labels, "look": look}


def _honest(b: dict) -> pl.DataFrame:
    """Current versions of honest units' monthly rows (enterprises without any label)."""
    bad = b["labels"]["enterprise_id"].unique().implode()
    t = b["t"]
    cur = t["monthly_reports"].sort("version").group_by("unit_id", "period").last()
    units = t["units"].select("unit_id", "enterprise_id", "capacity_mw", "is_chp", "coal_type")
    return cur.join(units, on="unit_id").filter(~pl.col("enterprise_id").is_in(bad))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_matches_files(bundle: dict) -> None:
    out = bundle["out"]
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["contract_version"] == "1"
    assert man["period_start"] == "2024-01" and man["period_end"] == "2024-12"
    assert man["grid_emission_factor_tco2_per_mwh"] == pytest.approx(0.5703)
    assert man["bundle_id"] == "synth-2024-p46-64-s3-f600"
    for name in CSV_TABLES:
        e = man["tables"][name]
        assert e["sha256"] == _sha(out / e["file"])
        assert e["rows"] == bundle["t"][name].height
    tel = man["tables"]["telemetry"]
    assert [p["file"] for p in tel["parts"]] == ["telemetry/province_code=46/part-0.parquet", "telemetry/province_code=64/part-0.parquet"]
    lines = ""
    for p in tel["parts"]:
        assert p["sha256"] == _sha(out / p["file"])
        assert p["rows"] == pl.read_parquet(out / p["file"]).height
        lines += f"{p['file']}:{p['sha256']}\n"
    assert tel["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert tel["rows"] == bundle["t"]["telemetry"].height


def test_deterministic_per_seed(bundle: dict, tmp_path: Path) -> None:
    again = generate_bundle(tmp_path / "b", year=2024, provinces=PROV, seed=3, fraud_rate=0.6, telemetry=True)
    m1 = json.loads((bundle["out"] / "manifest.json").read_text())
    m2 = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m1 == m2
    assert _sha(bundle["summary"].labels_path) == _sha(again.labels_path)
    other = generate_bundle(tmp_path / "c", year=2024, provinces=PROV, seed=4, fraud_rate=0.6, telemetry=False)
    m3 = json.loads((other.out / "manifest.json").read_text())
    assert m3["tables"]["monthly_reports"]["sha256"] != m1["tables"]["monthly_reports"]["sha256"]
    assert m3["tables"]["units"]["sha256"] != m1["tables"]["units"]["sha256"] or True  # registry may coincide


def test_contract_conformance(bundle: dict) -> None:
    t = bundle["t"]
    for name in (*CSV_TABLES, "telemetry"):
        df = t[name]
        schema = polars_schema(name)
        required = {c for c in schema if c not in OPTIONAL}
        assert required <= set(df.columns), name
        df.select([pl.col(c).cast(dt, strict=True) for c, dt in schema.items() if c in df.columns])
        for col in TABLES[name].columns:
            if col.name not in df.columns:
                continue
            if col.enum:
                vals = df[col.name].drop_nulls()
                if col.multi:
                    vals = vals.str.split("|").explode()
                assert set(vals.unique().to_list()) <= set(col.enum), (name, col.name)
            if not col.nullable:
                assert df[col.name].null_count() == 0, (name, col.name)
        key = list(TABLES[name].key)
        assert df.select(key).is_duplicated().sum() == 0, name
    ent = t["enterprises"]
    assert ent["enterprise_id"].str.len_chars().eq(18).all()
    assert ent["enterprise_id"].str.starts_with("91").all()
    assert set(ent["province_code"].unique()) == set(PROV)
    # references
    assert t["units"]["enterprise_id"].is_in(ent["enterprise_id"].implode()).all()
    ids = t["lab_reports"]["lab_report_id"].implode()
    assert t["monthly_reports"]["lab_report_id"].drop_nulls().is_in(ids).all()
    ag = t["agencies"]["agency_id"].implode()
    assert t["lab_reports"]["lab_agency_id"].is_in(ag).all()
    assert t["verifications"]["verifier_agency_id"].is_in(ag).all()
    assert t["annual_reports"]["preparer_agency_id"].drop_nulls().is_in(ag).all()
    assert set(t["annual_reports"]["year"].unique()) == {2023, 2024}
    assert set(t["verifications"]["year"].unique()) == {2023}


def test_agencies_registry(bundle: dict) -> None:
    ag = bundle["t"]["agencies"]
    roles = ag["roles"].str.split("|")
    n = {r: int(roles.list.contains(r).sum()) for r in ("lab", "preparer", "verifier")}
    assert 140 <= n["lab"] <= 160 and 70 <= n["preparer"] <= 90 and 50 <= n["verifier"] <= 70
    assert (roles.list.len() > 1).sum() > 0


def test_identities_hold_for_honest_rows(bundle: dict) -> None:
    h = _honest(bundle).filter(pl.col("fuel_consumed_t") > 0)
    assert h.height > 100
    e = (
        h["fuel_consumed_t"] * h["ncv_gj_per_t"] * h["carbon_content_tc_per_gj"] * h["oxidation_rate"] * CO2_PER_C
        + h["purchased_electricity_mwh"] * 0.5703
    )
    assert ((e - h["emissions_tco2"]).abs() <= 0.01 + 1e-5 * h["emissions_tco2"]).all()
    assert (h["power_supply_mwh"] <= h["gross_generation_mwh"]).all()
    measured = h.filter(pl.col("carbon_content_basis") == "measured")
    assert measured["lab_report_id"].null_count() == 0
    default = h.filter(pl.col("carbon_content_basis") == "default")
    assert (default["carbon_content_tc_per_gj"] == P.regulation(2024).default_cc_tc_per_gj).all()
    assert default["lab_report_id"].null_count() == default.height
    # lab: Car recomputation and CC = Car / NCV for honest reports
    bad = bundle["labels"]["enterprise_id"].unique().implode()
    lab = bundle["t"]["lab_reports"].join(bundle["t"]["units"].select("unit_id", "enterprise_id"), on="unit_id")
    lab = lab.filter(~pl.col("enterprise_id").is_in(bad))
    car = lab["carbon_ad_pct"] * (100 - lab["total_moisture_pct"]) / (100 - lab["moisture_ad_pct"])
    assert ((car - lab["carbon_ar_pct"]).abs() <= 0.0051).all()
    j = measured.join(lab.select("lab_report_id", "carbon_ar_pct", "ncv_ar_gj_per_t"), on="lab_report_id")
    assert j.height == measured.height
    assert (j["ncv_gj_per_t"] == j["ncv_ar_gj_per_t"]).all()
    cc = j["carbon_ar_pct"] / 100 / j["ncv_ar_gj_per_t"]
    assert ((cc - j["carbon_content_tc_per_gj"]).abs() <= 6e-7).all()
    # dates in order, serials increase with report date per lab
    assert (lab["sampling_end_date"] <= lab["receipt_date"]).all()
    assert (lab["receipt_date"] <= lab["test_date"]).all()
    assert (lab["test_date"] <= lab["report_date"]).all()
    # outage months: fuel 0 and empty quality columns
    zero = _honest(bundle).filter(pl.col("fuel_consumed_t") == 0)
    assert zero.height > 0
    assert zero["ncv_gj_per_t"].null_count() == zero.height and zero["lab_report_id"].null_count() == zero.height


def test_serials_follow_dates_for_honest_labs(bundle: dict) -> None:
    lab = bundle["t"]["lab_reports"]
    bad_ids = bundle["labels"].filter(pl.col("pattern") == "serial_out_of_order")["enterprise_id"].implode()
    lab = lab.join(bundle["t"]["units"].select("unit_id", "enterprise_id"), on="unit_id").filter(
        ~pl.col("enterprise_id").is_in(bad_ids)
    )
    s = lab.with_columns(pl.col("report_no").str.extract(r"-(\d+)$", 1).cast(pl.Int64).alias("serial")).sort(
        "lab_agency_id", "serial"
    )
    ok = s.group_by("lab_agency_id").agg((pl.col("report_date").diff().drop_nulls() >= 0).all().alias("mono"))
    assert ok["mono"].all()


def test_ranges_hold_for_honest_rows(bundle: dict) -> None:
    h = _honest(bundle).filter(pl.col("fuel_consumed_t") > 0)
    assert h["ncv_gj_per_t"].is_between(12, 29).all()
    m = h.filter(pl.col("carbon_content_basis") == "measured")
    assert m["carbon_content_tc_per_gj"].is_between(0.0245, 0.0290).all()
    aux = 1 - h["power_supply_mwh"] / h["gross_generation_mwh"]
    assert aux.is_between(0.0399, 0.0901).all()
    assert h["load_rate"].is_between(0.4, 0.95).all()
    assert (h["operating_hours"] <= 744).all()
    assert h["oxidation_rate"].eq(0.99).all()
    flat = m.filter(~pl.col("is_chp"))
    inten = flat["emissions_tco2"] / flat["power_supply_mwh"]
    assert inten.quantile(0.05) > 0.76 and inten.quantile(0.95) < 1.0
    bad = bundle["labels"]["enterprise_id"].unique().implode()
    lab = bundle["t"]["lab_reports"].join(bundle["t"]["units"].select("unit_id", "enterprise_id"), on="unit_id").filter(
        ~pl.col("enterprise_id").is_in(bad)
    )
    assert lab["carbon_ad_pct"].is_between(50, 75).all()
    assert lab["moisture_ad_pct"].is_between(0.5, 12).all()
    assert lab["total_moisture_pct"].is_between(4, 40).all()
    assert lab["has_anti_counterfeit_code"].mean() > 0.9
    sub = bundle["t"]["monthly_reports"].join(
        bundle["t"]["units"].select("unit_id", "enterprise_id"), on="unit_id"
    ).filter(~pl.col("enterprise_id").is_in(bad))
    month_end = pl.col("period").str.to_date("%Y-%m").dt.offset_by("1mo").cast(pl.Datetime("us"))
    assert sub.select(((pl.col("submitted_at") - month_end).dt.total_days() <= 40).all()).item()


def test_telemetry_matches_honest_reports(bundle: dict) -> None:
    tel = bundle["t"]["telemetry"]
    assert tel["ts"].dt.year().unique().to_list() == [2024]
    per_unit = tel.group_by("unit_id").len()
    assert per_unit["len"].max() == 8784
    tm = tel.group_by("unit_id", pl.col("ts").dt.strftime("%Y-%m").alias("period")).agg(
        pl.col("gross_load_mw").sum().alias("tg"),
        pl.col("coal_feed_t").sum().alias("tc"),
        (pl.col("gross_load_mw") > 0).sum().alias("th"),
        pl.col("gross_load_mw").null_count().alias("gaps"),
    )
    h = _honest(bundle).join(tm, on=["unit_id", "period"]).filter((pl.col("gross_generation_mwh") > 0) & (pl.col("gaps") == 0))
    assert h.height > 100
    dg = h["tg"] / h["gross_generation_mwh"] - 1
    assert dg.abs().max() < 0.03
    dc = h["tc"] / h["fuel_consumed_t"] - 1
    assert dc.abs().max() < 0.08
    assert (h["th"] == h["operating_hours"]).all()
    # loads never exceed capacity
    cap = tel.join(bundle["t"]["units"].select("unit_id", "capacity_mw"), on="unit_id")
    assert (cap["gross_load_mw"].fill_null(0) <= cap["capacity_mw"] + 1e-6).all()
    # CEMS on some units only
    cems_units = tel.group_by("unit_id").agg(pl.col("cems_co2_t").is_not_null().any().alias("c"))
    assert 0 < cems_units["c"].sum() < cems_units.height


def test_labels_every_family_outside_bundle(bundle: dict) -> None:
    s = bundle["summary"]
    out = bundle["out"].resolve()
    assert not s.labels_path.resolve().is_relative_to(out)
    assert not s.lookalikes_path.resolve().is_relative_to(out)
    assert not list(out.rglob("*label*")) and not list(out.rglob("*lookalike*"))
    labels = bundle["labels"]
    assert tuple(labels.columns) == LABEL_COLUMNS
    assert set(labels["family"].unique()) == set(FAMILIES)
    ent = bundle["t"]["enterprises"]
    assert labels["enterprise_id"].is_in(ent["enterprise_id"].implode()).all()
    n_inj = labels.filter(pl.col("family") != "tip")["enterprise_id"].n_unique()
    assert n_inj == round(0.6 * ent.height)
    # verifier labels concern the previous year's verification
    assert set(labels.filter(pl.col("family") == "verifier")["year"].unique()) == {2023}
    # tips: most name injected enterprises
    tips = bundle["t"]["tips"]
    named = tips["enterprise_id"].drop_nulls()
    inj = labels.filter(pl.col("family") != "tip")["enterprise_id"].unique().implode()
    assert named.is_in(inj).mean() >= 0.5


def test_lookalikes_present_and_honest(bundle: dict) -> None:
    look = bundle["look"]
    assert tuple(look.columns) == LABEL_COLUMNS
    assert set(look["family"].unique()) == {"none"}
    pats = set(look["pattern"].unique())
    assert {"shared_sample_plant", "outage_month", "honest_resubmission", "default_basis_all_year"} <= pats
    bad = set(bundle["labels"]["enterprise_id"].unique())
    assert not (set(look["enterprise_id"].unique()) & bad)
    # shared sample: several units point to one report, the report's unit is one of them
    mr = bundle["t"]["monthly_reports"].drop_nulls("lab_report_id")
    shared = mr.group_by("lab_report_id").agg(pl.col("unit_id").n_unique().alias("n")).filter(pl.col("n") > 1)
    assert shared.height > 0
    # resubmissions keep version 1
    assert bundle["t"]["monthly_reports"]["version"].max() == 2


def test_injected_patterns_are_visible(bundle: dict) -> None:
    """A few spot checks that injected values differ from the honest ones in the intended direction."""
    labels = bundle["labels"]
    t = bundle["t"]
    mr = t["monthly_reports"].sort("version").group_by("unit_id", "period").last()
    lab = t["lab_reports"]
    if (lab_ids := labels.filter(pl.col("pattern") == "impossible_date_order")).height:
        j = lab.join(lab_ids.select("unit_id", pl.col("period").alias("sample_period")), on=["unit_id", "sample_period"])
        bad = (j["receipt_date"] < j["sampling_end_date"]) | (j["test_date"] < j["receipt_date"]) | (j["report_date"] < j["test_date"])
        assert bad.all()
    if (k := labels.filter(pl.col("pattern") == "ncv_kcal_unit_error")).height:
        j = mr.join(k.select("unit_id", "period"), on=["unit_id", "period"])
        assert (j["ncv_gj_per_t"] > 2000).all()
    if (k := labels.filter(pl.col("pattern") == "supply_exceeds_generation")).height:
        j = mr.join(k.select("unit_id", "period"), on=["unit_id", "period"])
        assert (j["power_supply_mwh"] > j["gross_generation_mwh"]).all()
    if (k := labels.filter(pl.col("pattern") == "missing_months")).height:
        j = mr.join(k.select("unit_id", "period"), on=["unit_id", "period"])
        assert j.height == 0


def test_no_telemetry_variant_and_errors(tmp_path: Path) -> None:
    s = generate_bundle(tmp_path / "h", provinces=["46"], seed=1, telemetry=False, fraud_rate=0.5)
    man = json.loads((tmp_path / "h" / "manifest.json").read_text())
    assert "telemetry" not in man["tables"] and not (tmp_path / "h" / "telemetry").exists()
    assert s.labels_path == tmp_path / "h.labels.csv"
    labels = pl.read_csv(s.labels_path)
    assert "telemetry" not in set(labels["family"].to_list())
    with pytest.raises(ValueError, match="outside"):
        generate_bundle(tmp_path / "x", provinces=["46"], telemetry=False, labels_path=tmp_path / "x" / "labels.csv")
    with pytest.raises(ValueError, match="province"):
        generate_bundle(tmp_path / "y", provinces=["99"], telemetry=False)
    with pytest.raises(ValueError, match="province"):
        generate_bundle(tmp_path / "y", provinces=["54"], telemetry=False)  # Tibet: no coal unit
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        generate_bundle(tmp_path / "z", provinces=["46"], telemetry=False)


def test_national_registry_without_telemetry(tmp_path: Path) -> None:
    s = generate_bundle(tmp_path / "n", seed=0, telemetry=False)
    assert s.rows["units"] == 3168 and s.rows["enterprises"] == 1156
    units = pl.read_csv(tmp_path / "n" / "units.csv", schema=polars_schema("units"))
    ent = pl.read_csv(tmp_path / "n" / "enterprises.csv", schema=polars_schema("enterprises"))
    assert ent["province_code"].n_unique() == 29
    assert units["registry_ref"].n_unique() == 3168
    assert set(units["coal_type"].unique()) <= {"bituminous", "subbituminous", "anthracite", "lignite", "waste_coal", "mixed"}
    air = units.join(ent.select("enterprise_id", "province_code"), on="enterprise_id").group_by(
        pl.col("province_code").is_in(sorted(P.ARID_NORTHWEST)).alias("arid")
    ).agg((pl.col("cooling_type") == "air").mean())
    assert air.filter("arid")["cooling_type"].item() > 0.4 > air.filter(~pl.col("arid"))["cooling_type"].item()
    look = pl.read_csv(s.lookalikes_path, schema_overrides={"unit_id": pl.String, "period": pl.String})
    assert look.filter(pl.col("pattern") == "ccs_unit").height == 6  # operating CCS units of GCPT 2024-07
    labels = pl.read_csv(s.labels_path, schema_overrides={"unit_id": pl.String, "period": pl.String})
    n_inj = labels.filter(pl.col("family") != "tip")["enterprise_id"].n_unique()
    assert abs(n_inj - 0.08 * 1156) <= 1
    # magnitudes vary between instances of one pattern
    det = pl.read_csv(str(s.labels_path).replace(".labels.csv", ".labels_detail.csv"),
                      schema_overrides={"unit_id": pl.String, "period": pl.String})
    cc = det.filter(pl.col("pattern").is_in(["cc_low_for_coal", "coal_below_belt_scale", "identity_broken"]))
    spread = cc.group_by("pattern").agg(pl.col("magnitude").n_unique().alias("n")).filter(pl.col("n") > 0)
    assert (spread["n"] > 1).all() or spread.height == 0
    assert np.isfinite(det["magnitude"].drop_nulls().to_numpy()).all()
    # Order 775 (reviews from May 2024): no honest agency both prepares and verifies in one province
    ar = pl.read_csv(tmp_path / "n" / "annual_reports.csv", schema=polars_schema("annual_reports"))
    ver = pl.read_csv(tmp_path / "n" / "verifications.csv", schema=polars_schema("verifications"))
    injected = labels.filter(pl.col("family") == "verifier")["enterprise_id"].unique().implode()
    prov = ent.select("enterprise_id", "province_code")
    prep = (ar.filter(pl.col("preparer_agency_id").is_not_null() & ~pl.col("enterprise_id").is_in(injected))
            .join(prov, on="enterprise_id").select(pl.col("preparer_agency_id").alias("agency"), "province_code", "year"))
    honest_ver = (ver.filter(~pl.col("enterprise_id").is_in(injected)).join(prov, on="enterprise_id")
                  .select(pl.col("verifier_agency_id").alias("agency"), "province_code", "year"))
    assert prep.height > 0 and honest_ver.height > 0
    assert honest_ver.join(prep.unique(), on=["agency", "province_code", "year"], how="semi").height == 0


def test_cli_synth(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from carbonqa.cli import app

    r = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "c"), "--provinces", "46", "--seed", "2", "--no-telemetry"])
    assert r.exit_code == 0, r.output
    assert "synth-2024-p46-s2" in r.output
    assert (tmp_path / "c.labels.csv").exists()
