"""The clean-room generator (bench/xsynth.py) writes bundles the ingest path accepts, with sound truth files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]


def _xsynth():
    spec = importlib.util.spec_from_file_location("xsynth", REPO / "bench" / "xsynth.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("xsynth", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("xs")
    s = _xsynth().generate(root / "bundle", year=2024, provinces=["13", "64"], seed=7, fraud_rate=0.15,
                           telemetry=True, labels_path=root / "labels.csv")
    return root, s


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_manifest_checksums(small):
    root, _ = small
    b = root / "bundle"
    man = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    assert man["contract_version"] == "1"
    assert set(man["tables"]) == {"enterprises", "units", "agencies", "monthly_reports", "lab_reports",
                                  "annual_reports", "verifications", "tips", "telemetry"}
    for name, t in man["tables"].items():
        if name == "telemetry":
            text = "".join(f"{p['file']}:{p['sha256']}\n" for p in t["parts"])
            assert hashlib.sha256(text.encode()).hexdigest() == t["sha256"]
            assert sum(p["rows"] for p in t["parts"]) == t["rows"]
            for p in t["parts"]:
                assert _sha(b / p["file"]) == p["sha256"]
                assert pl.read_parquet(b / p["file"]).height == p["rows"]
        else:
            assert _sha(b / t["file"]) == t["sha256"]
            assert pl.read_csv(b / t["file"], infer_schema=False).height == t["rows"]
    assert not (b / "labels.csv").exists()


def test_labels_reference_real_enterprises(small):
    root, s = small
    lab = pl.read_csv(root / "labels.csv", infer_schema=False)
    ent = pl.read_csv(root / "bundle" / "enterprises.csv", infer_schema=False)
    units = pl.read_csv(root / "bundle" / "units.csv", infer_schema=False)
    assert lab.columns == ["enterprise_id", "year", "unit_id", "period", "family", "pattern"]
    assert lab.height > 0 and s["injected_enterprises"] > 0
    assert set(lab["enterprise_id"]) <= set(ent["enterprise_id"])
    assert set(lab["unit_id"].drop_nulls()) <= set(units["unit_id"])
    assert ent["enterprise_id"].str.len_chars().eq(18).all()
    look = pl.read_csv(root / "lookalikes.csv", infer_schema=False)
    assert set(look["enterprise_id"]) <= set(ent["enterprise_id"])


def test_ingest_accepts_with_zero_quarantine(small, tmp_path, monkeypatch):
    root, _ = small
    monkeypatch.setenv("CARBONQA_HOME", str(tmp_path / "home"))
    from carbonqa import pipeline
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    res = pipeline.ingest_one(str(root / "bundle"), url=url)
    assert res["outcome"] == "landed", res
    assert res["quarantined"] == 0, res
    assert res["provinces"] == ["13", "64"]


def test_same_seed_same_bytes(small, tmp_path):
    root, _ = small
    _xsynth().generate(tmp_path / "bundle", year=2024, provinces=["13", "64"], seed=7, fraud_rate=0.15,
                       telemetry=True, labels_path=tmp_path / "labels.csv")
    files = sorted(p.relative_to(root / "bundle") for p in (root / "bundle").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "bundle") for p in (tmp_path / "bundle").rglob("*") if p.is_file())
    for f in files:
        assert (root / "bundle" / f).read_bytes() == (tmp_path / "bundle" / f).read_bytes(), f
    assert (root / "labels.csv").read_bytes() == (tmp_path / "labels.csv").read_bytes()
    assert (root / "lookalikes.csv").read_bytes() == (tmp_path / "lookalikes.csv").read_bytes()


# ---------------------------------------------------------------- honest operations (DOMAIN §4b, issue 12 item 3)

NEW_KINDS = {"commissioned_in_year", "retired_in_year", "high_ash_coal", "default_cc_all_year", "chp_heating_season",
             "many_client_verifier"}
HEATING = {1, 2, 3, 11, 12}
CAD_LO = {"bituminous": 50.0, "anthracite": 60.0, "subbituminous": 45.0, "lignite": 35.0, "waste_coal": 25.0}


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("xh")
    _xsynth().generate(root / "bundle", year=2024, provinces=["15", "37"], seed=11, fraud_rate=0.08,
                       telemetry=False, labels_path=root / "labels.csv")
    b = root / "bundle"
    num = ["fuel_consumed_t", "ncv_gj_per_t", "carbon_content_tc_per_gj", "gross_generation_mwh", "heat_supply_gj",
           "operating_hours", "load_rate"]
    mr = pl.read_csv(b / "monthly_reports.csv", infer_schema=False).with_columns(
        [pl.col(c).cast(pl.Float64) for c in num] + [pl.col("period").str.slice(5, 2).cast(pl.Int64).alias("m")])
    lab = pl.read_csv(b / "lab_reports.csv", infer_schema=False).with_columns(
        [pl.col(c).cast(pl.Float64) for c in ("carbon_ad_pct", "carbon_ar_pct", "ncv_ar_gj_per_t")]
        + [pl.col("sample_period").str.slice(5, 2).cast(pl.Int64).alias("m")])
    return {"root": root, "look": pl.read_csv(root / "lookalikes.csv", infer_schema=False),
            "labels": pl.read_csv(root / "labels.csv", infer_schema=False),
            "units": pl.read_csv(b / "units.csv", infer_schema=False),
            "monthly": mr, "current": mr.sort("version").unique(["unit_id", "period"], keep="last"), "lab": lab,
            "verifications": pl.read_csv(b / "verifications.csv", infer_schema=False)}


def _kind(h: dict, kind: str) -> pl.DataFrame:
    return h["look"].filter(pl.col("kind") == kind)


def test_honest_kinds_on_clean_enterprises_at_national_rates(honest):
    look, units = honest["look"], honest["units"]
    assert NEW_KINDS <= set(look["kind"])
    fraud = set(honest["labels"]["enterprise_id"])
    assert not set(look.filter(pl.col("kind").is_in(list(NEW_KINDS)))["enterprise_id"]) & fraud
    n = units.height

    def share(kind: str) -> float:
        return _kind(honest, kind)["unit_id"].n_unique() / n

    assert 0.015 <= share("commissioned_in_year") <= 0.03
    assert 0.007 <= share("retired_in_year") <= 0.015
    assert 0.025 <= share("high_ash_coal") <= 0.05
    basis = honest["current"].filter(pl.col("fuel_consumed_t") > 0).group_by("unit_id").agg(
        (pl.col("carbon_content_basis") == "default").all().alias("dflt"))
    assert 0.07 <= basis["dflt"].mean() <= 0.13  # ≈ 10 % of units use the default all year
    chp = units.filter((pl.col("is_chp") == "true") & ~pl.col("enterprise_id").is_in(list(fraud)))["unit_id"]
    kind_chp = set(_kind(honest, "chp_heating_season")["unit_id"])
    assert kind_chp <= set(chp) and len(kind_chp) >= 0.9 * chp.len()
    assert not (root := honest["root"] / "bundle" / "lookalikes.csv").exists(), root


def test_commissioned_in_year_reports_only_from_first_operating_month(honest):
    com = _kind(honest, "commissioned_in_year")
    units = honest["units"]
    assert set(com["unit_id"]) == set(units.filter(pl.col("commissioning_year") == "2024")["unit_id"])
    first = honest["monthly"].group_by("unit_id").agg(pl.col("m").min().alias("first"))
    x = com.with_columns(pl.col("period").str.slice(5, 2).cast(pl.Int64).alias("m0")).join(first, on="unit_id")
    assert x.height == com.height and (x["first"] == x["m0"]).all() and x["m0"].is_between(2, 10).all()
    lab_first = honest["lab"].group_by("unit_id").agg(pl.col("m").min().alias("lf"))
    y = x.join(lab_first, on="unit_id", how="inner")
    assert (y["lf"] >= y["m0"]).all()
    low = honest["current"].join(x.select("unit_id", "m0"), on="unit_id").filter(
        (pl.col("m") < pl.col("m0") + 2) & (pl.col("fuel_consumed_t") > 0))
    assert low.height > 0 and low["load_rate"].is_between(0.3, 0.5).all()


def test_retired_in_year_reports_nothing_after_last_month(honest):
    ret = _kind(honest, "retired_in_year").with_columns(pl.col("period").str.slice(5, 2).cast(pl.Int64).alias("last"))
    assert ret.height > 0 and ret["last"].is_between(6, 11).all()
    last = honest["monthly"].group_by("unit_id").agg(pl.col("m").max().alias("mx"))
    x = ret.join(last, on="unit_id")
    assert x.height == ret.height and (x["mx"] == x["last"]).all()
    y = ret.join(honest["lab"].group_by("unit_id").agg(pl.col("m").max().alias("lm")), on="unit_id")
    assert (y["lm"] <= y["last"]).all()


def test_high_ash_coal_low_cad_with_ordinary_carbon_per_heat(honest):
    ha = _kind(honest, "high_ash_coal")
    units = honest["units"].select("unit_id", "coal_type")
    lab = honest["lab"].join(ha.select("unit_id"), on="unit_id").join(units, on="unit_id")
    assert lab.height > 0
    lo = lab["coal_type"].replace_strict(CAD_LO, return_dtype=pl.Float64)
    assert ((lab["carbon_ad_pct"] < lo - 4.9) & (lab["carbon_ad_pct"] >= lo - 12.1)).all()  # 5–12 points below
    cc = lab["carbon_ar_pct"] / 100 / lab["ncv_ar_gj_per_t"]
    assert cc.is_between(0.0245, 0.0290).all()
    assert lab["ncv_ar_gj_per_t"].is_between(12, 29).all()
    rep = honest["current"].join(ha.select("unit_id"), on="unit_id").filter(pl.col("fuel_consumed_t") > 0)
    assert rep["carbon_content_tc_per_gj"].is_between(0.0245, 0.0290).all()


def test_default_cc_all_year_every_month_no_lab(honest):
    d = _kind(honest, "default_cc_all_year")
    rep = honest["monthly"].join(d.select("unit_id"), on="unit_id").filter(pl.col("fuel_consumed_t") > 0)
    assert rep.height > 0
    assert (rep["carbon_content_basis"] == "default").all() and (rep["carbon_content_tc_per_gj"] == 0.03085).all()
    assert rep["lab_report_id"].is_null().all()
    assert not set(honest["lab"]["unit_id"]) & set(d["unit_id"])


def test_chp_heating_season_coal_per_mwh_rises_generation_does_not(honest):
    chp = _kind(honest, "chp_heating_season").select("unit_id")
    x = (honest["current"].join(chp, on="unit_id").filter(pl.col("fuel_consumed_t") > 0)
         .with_columns(pl.col("m").is_in(list(HEATING)).alias("h"))
         .group_by("unit_id", "h").agg(
             (pl.col("fuel_consumed_t").sum() / pl.col("gross_generation_mwh").sum()).alias("cpm"),
             pl.col("heat_supply_gj").mean().alias("heat"), pl.col("load_rate").mean().alias("lr"))
         .pivot(on="h", index="unit_id", values=["cpm", "heat", "lr"]).drop_nulls())
    assert x.height >= 0.9 * chp.height
    assert (x["heat_true"] > 2 * x["heat_false"]).all()
    assert (x["cpm_true"] > 1.02 * x["cpm_false"]).all()  # coal per MWh rises in winter
    assert (x["lr_true"] <= 1.05 * x["lr_false"]).all()  # generation does not
    assert (x["lr_true"] / x["lr_false"]).mean() < 1.0


def test_many_client_verifiers_serve_clean_clients(honest):
    mc = set(_kind(honest, "many_client_verifier")["enterprise_id"])
    ver = honest["verifications"]
    per = ver.filter(pl.col("enterprise_id").is_in(list(mc))).group_by("verifier_agency_id").len()
    big = per.filter(pl.col("len") >= 30)["verifier_agency_id"]
    fraud = set(honest["labels"]["enterprise_id"])
    clean_only = [a for a in big if not set(ver.filter(pl.col("verifier_agency_id") == a)["enterprise_id"]) & fraud]
    assert len(clean_only) >= 2  # at least two honest verifiers whose ≥ 30 clients are all clean


def test_units_that_did_not_exist_have_no_telemetry(small):
    root, _ = small
    look = pl.read_csv(root / "lookalikes.csv", infer_schema=False)
    ev = look.filter(pl.col("kind").is_in(["commissioned_in_year", "retired_in_year"])).with_columns(
        pl.col("period").str.slice(5, 2).cast(pl.Int64).alias("m0"))
    assert set(ev["kind"]) == {"commissioned_in_year", "retired_in_year"}
    tel = (pl.read_parquet(root / "bundle" / "telemetry" / "*" / "*.parquet", hive_partitioning=False)
           .join(ev.select("unit_id", "kind", "m0"), on="unit_id").with_columns(pl.col("ts").dt.month().alias("m")))
    mr = pl.read_csv(root / "bundle" / "monthly_reports.csv", infer_schema=False).join(
        ev.select("unit_id", "kind", "m0"), on="unit_id").with_columns(pl.col("period").str.slice(5, 2).cast(pl.Int64).alias("m"))
    for df in (tel, mr):
        assert df.height > 0
        com, ret = df.filter(pl.col("kind") == "commissioned_in_year"), df.filter(pl.col("kind") == "retired_in_year")
        assert (com["m"] >= com["m0"]).all() and (ret["m"] <= ret["m0"]).all()


def test_lab_forensics_labels_point_at_filed_reports(small):
    """A lab pattern lands on a report the bundle contains: a shared-sample plant files its one report under
    its first unit, so a label cell on another of its units would be a fraud with no trace (session 9)."""
    root, _ = small
    lab = pl.read_csv(root / "labels.csv", infer_schema=False).filter(
        (pl.col("family") == "lab_forensics") & pl.col("unit_id").is_not_null())
    assert lab.height
    filed = pl.read_csv(root / "bundle" / "lab_reports.csv", infer_schema=False).select(
        "unit_id", pl.col("sample_period").alias("period")).unique()
    ghosts = lab.join(filed, on=["unit_id", "period"], how="anti")
    assert ghosts.height == 0, ghosts
