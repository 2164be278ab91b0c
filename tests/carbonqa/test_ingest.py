"""Ingest of submission bundles: counts, idempotency, versioning, quarantine, formats, lake, CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from carbonqa.ingest import ingest_bundle
from carbonqa.store import get_engine
from carbonqa.store.models import Bundle, QuarantineItem, raw_table

E1, E2 = "911500000000000001", "913700000000000002"


# ---- bundle builder --------------------------------------------------------------------------------
def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _write(df: pl.DataFrame, path: Path, fmt: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        text = df.write_csv()
        path.write_bytes(text.encode(encoding))
    elif fmt == "parquet":
        df.write_parquet(path)
    elif fmt == "xlsx":
        df.write_excel(path)
    else:
        raise ValueError(fmt)


def make_bundle(
    root: Path,
    tables: dict[str, pl.DataFrame | dict],
    bundle_id: str = "b1",
    telemetry_parts: dict[str, pl.DataFrame] | None = None,
    manifest_extra: dict | None = None,
) -> Path:
    """Write tables (CSV unless a spec dict says ``fmt``/``encoding``/``file``) and a correct manifest."""
    root.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict] = {}
    for name, spec in tables.items():
        if isinstance(spec, pl.DataFrame):
            spec = {"df": spec}
        fmt = spec.get("fmt", "csv")
        fname = spec.get("file", f"{name}.{fmt}")
        _write(spec["df"], root / fname, fmt, spec.get("encoding", "utf-8"))
        entries[name] = {"file": fname, "sha256": _sha(root / fname), "rows": spec["df"].height}
    if telemetry_parts:
        parts = []
        for rel, df in telemetry_parts.items():
            _write(df, root / rel, "parquet")
            parts.append({"file": rel, "sha256": _sha(root / rel), "rows": df.height})
        comb = hashlib.sha256("".join(f"{p['file']}:{p['sha256']}\n" for p in parts).encode()).hexdigest()
        entries["telemetry"] = {"file": "telemetry", "format": "parquet", "rows": sum(p["rows"] for p in parts),
                                "parts": parts, "sha256": comb}
    manifest = {"contract_version": "1", "bundle_id": bundle_id, "created_at": "2024-08-10T02:00:00+08:00",
                "source": "test", "tables": entries, **(manifest_extra or {})}
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return root


def enterprises() -> pl.DataFrame:
    return pl.DataFrame({
        "enterprise_id": [E1, E2], "enterprise_name": ["包头第一热电有限公司", "济南能源有限公司"],
        "province_code": ["15", "37"], "city_name": ["包头市", "济南市"], "sector": ["power", "power"],
        "is_captive": ["false", "false"],
    })


def units() -> pl.DataFrame:
    return pl.DataFrame({
        "unit_id": ["U1", "U2", "U3"], "enterprise_id": [E1, E1, E2], "unit_name": ["1号机组", "2号机组", "1号机组"],
        "unit_class": ["coal_conventional_300mw_plus"] * 3, "capacity_mw": [600.0, 600.0, 350.0],
        "combustion_technology": ["supercritical"] * 3, "coal_type": ["bituminous"] * 3,
        "cooling_type": ["water", "air", "water"], "is_chp": ["true", "false", "true"],
        "commissioning_year": [2008, 2009, 2012], "registry_ref": [None, None, None],
    })


def agencies() -> pl.DataFrame:
    return pl.DataFrame({"agency_id": ["A1"], "agency_name": ["某检测中心"], "roles": ["lab|preparer"],
                         "home_province_code": ["15"], "cma_no": ["CMA-1"]})


def monthly(periods=("2024-06", "2024-07"), unit_ids=("U1", "U2", "U3")) -> pl.DataFrame:
    rows = []
    for u in unit_ids:
        for p in periods:
            rows.append({
                "unit_id": u, "period": p, "version": 1, "fuel_consumed_t": 120000.0, "ncv_gj_per_t": 21.5,
                "carbon_content_tc_per_gj": 0.0265, "carbon_content_basis": "measured", "oxidation_rate": 0.99,
                "gross_generation_mwh": 300000.0, "power_supply_mwh": 280000.0, "heat_supply_gj": 0.0,
                "operating_hours": 700.0, "load_rate": 0.7, "purchased_electricity_mwh": 0.0,
                "emissions_tco2": 248000.0, "lab_report_id": f"L-{u}-{p}", "submitted_at": f"{p}-28T10:00:00+08:00",
            })
    return pl.DataFrame(rows)


def labs(periods=("2024-06", "2024-07"), unit_ids=("U1", "U2", "U3")) -> pl.DataFrame:
    rows = []
    for u in unit_ids:
        for p in periods:
            rows.append({
                "lab_report_id": f"L-{u}-{p}", "report_no": "0001", "lab_agency_id": "A1", "unit_id": u,
                "sample_period": p, "sampling_end_date": f"{p}-28", "receipt_date": f"{p}-28", "test_date": f"{p}-28",
                "report_date": f"{p}-28", "carbon_ad_pct": 60.0, "moisture_ad_pct": 2.0, "total_moisture_pct": 10.0,
                "carbon_ar_pct": 55.1, "ncv_ar_gj_per_t": 21.5, "ash_ad_pct": 20.0, "has_anti_counterfeit_code": "true",
            })
    return pl.DataFrame(rows)


def telemetry(unit_ids=("U1", "U3"), start=dt.datetime(2024, 6, 30), hours=48) -> pl.DataFrame:
    ts = [start + dt.timedelta(hours=h) for h in range(hours)]
    return pl.DataFrame({
        "unit_id": [u for u in unit_ids for _ in ts], "ts": ts * len(unit_ids),
        "gross_load_mw": [400.0] * (hours * len(unit_ids)), "coal_feed_t": [180.0] * (hours * len(unit_ids)),
        "cems_co2_t": [None] * (hours * len(unit_ids)),
    }, schema_overrides={"cems_co2_t": pl.Float64})


def full_bundle(root: Path, bundle_id: str = "b1") -> Path:
    return make_bundle(
        root,
        {"enterprises": enterprises(), "units": units(), "agencies": agencies(), "monthly_reports": monthly(),
         "lab_reports": labs()},
        bundle_id=bundle_id,
        telemetry_parts={"telemetry/province_code=15/part-0.parquet": telemetry(("U1",)),
                         "telemetry/province_code=37/part-0.parquet": telemetry(("U3",))},
    )


def count(url: str, table: str) -> int:
    with get_engine(url).connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(raw_table(table))).scalar_one()


def rows(url: str, table: str) -> pl.DataFrame:
    rt = raw_table(table)
    with get_engine(url).connect() as c:
        res = c.execute(sa.select(rt))
        return pl.DataFrame([dict(r._mapping) for r in res], infer_schema_length=None)


def items(url: str) -> list[dict]:
    with get_engine(url).connect() as c:
        return [dict(r._mapping) for r in c.execute(sa.select(QuarantineItem.__table__))]


# ---- clean ingest, idempotency, versioning ---------------------------------------------------------
def test_clean_bundle_lands_with_counts(db_url, tmp_path):
    res = ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    assert res.outcome == "landed", res.describe()
    assert {k: (v.declared, v.read, v.new, v.quarantined) for k, v in res.tables.items()} == {
        "enterprises": (2, 2, 2, 0), "units": (3, 3, 3, 0), "agencies": (1, 1, 1, 0),
        "monthly_reports": (6, 6, 6, 0), "lab_reports": (6, 6, 6, 0), "telemetry": (96, 96, 96, 0)}
    assert count(db_url, "monthly_reports") == 6 and count(db_url, "units") == 3
    m = rows(db_url, "monthly_reports")
    assert set(m["record_version"]) == {1} and set(m["bundle_id"]) == {"b1"}
    assert m["row_sha256"].str.len_chars().to_list() == [64] * 6
    # timestamps normalised to naive CST; +08:00 kept as wall clock
    assert m.sort("unit_id", "period")["submitted_at"][0] == dt.datetime(2024, 6, 28, 10, 0)
    with get_engine(db_url).connect() as c:
        b = c.execute(sa.select(Bundle.__table__)).mappings().one()
    assert b["outcome"] == "landed" and b["files"]["monthly_reports"]["rows_new"] == 6
    assert Path(b["report_path"]).is_file()
    text = res.describe()
    assert "月度存证" in text and "landed" in text


def test_second_ingest_is_duplicate_and_adds_nothing(db_url, tmp_path):
    b = full_bundle(tmp_path / "b1")
    assert ingest_bundle(b, url=db_url).outcome == "landed"
    lake_files = sorted((tmp_path / "var" / "data" / "lake").rglob("*.parquet"))
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "duplicate"
    assert "already ingested" in res.describe()
    assert count(db_url, "monthly_reports") == 6 and count(db_url, "lab_reports") == 6
    assert sorted((tmp_path / "var" / "data" / "lake").rglob("*.parquet")) == lake_files
    with get_engine(db_url).connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(Bundle.__table__)).scalar_one() == 1


def test_new_manifest_same_bundle_id_is_new_delivery_rows_dedupe(db_url, tmp_path):
    ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    b = full_bundle(tmp_path / "b1bis")
    m = json.loads((b / "manifest.json").read_text())
    m["source"] = "re-delivery"
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "landed" and res.bundle_id.startswith("b1@")
    assert sum(t.new for t in res.tables.values()) == 0
    assert res.tables["monthly_reports"].unchanged == 6
    assert count(db_url, "monthly_reports") == 6


def test_resubmitted_month_version_2_lands_and_version_1_stays(db_url, tmp_path):
    ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    m2 = monthly(periods=("2024-07",), unit_ids=("U1",)).with_columns(
        pl.lit(2).alias("version"), pl.lit(130000.0).alias("fuel_consumed_t"))
    res = ingest_bundle(make_bundle(tmp_path / "b2", {"monthly_reports": m2}, bundle_id="b2"), url=db_url)
    assert res.outcome == "landed", res.describe()
    m = rows(db_url, "monthly_reports").filter(unit_id="U1", period="2024-07").sort("version")
    assert m["version"].to_list() == [1, 2]
    assert m["fuel_consumed_t"].to_list() == [120000.0, 130000.0]
    assert m["record_version"].to_list() == [1, 1]


def test_changed_content_same_key_gets_record_version_2(db_url, tmp_path):
    ingest_bundle(make_bundle(tmp_path / "a", {"enterprises": enterprises(), "units": units()}, "a"), url=db_url)
    u = units().with_columns(pl.when(pl.col("unit_id") == "U2").then(660.0).otherwise(pl.col("capacity_mw"))
                             .alias("capacity_mw"))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"units": u}, "b"), url=db_url)
    assert res.tables["units"].new == 1 and res.tables["units"].unchanged == 2
    r = rows(db_url, "units").filter(unit_id="U2").sort("record_version")
    assert r["record_version"].to_list() == [1, 2]
    assert r["capacity_mw"].to_list() == [600.0, 660.0]
    assert r["bundle_id"].to_list() == ["a", "b"]
    # back to the old content: a third version, nothing overwritten
    ingest_bundle(make_bundle(tmp_path / "c", {"units": units()}, "c"), url=db_url)
    assert rows(db_url, "units").filter(unit_id="U2")["record_version"].sort().to_list() == [1, 2, 3]


# ---- quarantine ------------------------------------------------------------------------------------
def test_bad_bundle_lands_valid_rows_and_quarantines_the_rest(db_url, tmp_path):
    root = tmp_path / "bad"
    m = monthly()
    m = m.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("2024-13")).otherwise(pl.col("period")).alias("period"),
        pl.when(pl.int_range(pl.len()) == 2).then(-5.0).otherwise(pl.col("fuel_consumed_t")).alias("fuel_consumed_t"),
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("U9")).otherwise(pl.col("unit_id")).alias("unit_id"),
        pl.when(pl.int_range(pl.len()) == 4).then(730.0).otherwise(pl.col("operating_hours")).alias("operating_hours"),
        pl.lit("x").alias("备注"),
    )
    m = pl.concat([m, m.slice(0, 1)])  # duplicate key of data row 1 at data row 7
    labs_df = labs().drop("unit_id")  # missing required column → whole file quarantined
    make_bundle(root, {"enterprises": enterprises(), "units": units(), "agencies": agencies(),
                       "monthly_reports": m, "lab_reports": labs_df})
    (root / "agencies.csv").write_text("agency_id,agency_name,roles\nA1,tampered,lab\n", encoding="utf-8")
    (root / "notes.txt").write_text("hello")
    res = ingest_bundle(root, url=db_url)
    assert res.outcome == "partial", res.describe()
    by = {(i.file, i.row, i.reason): i for i in res.issues}
    # checksum mismatch: whole file, expected vs actual
    cs = by[("agencies.csv", None, "checksum_mismatch")]
    assert "sha256" in cs.expected and _sha(root / "agencies.csv") in cs.value and "re-export" in cs.fix
    # bad rows: file, row, column, value, expected, fix
    bad_period = by[("monthly_reports.csv", 2, "unparseable_period")]
    assert (bad_period.column, bad_period.value) == ("period", "2024-13") and "YYYY-MM" in bad_period.expected
    neg = by[("monthly_reports.csv", 3, "out_of_range")]
    assert (neg.column, neg.value) == ("fuel_consumed_t", "-5.0") and "negative" in neg.fix
    unk = by[("monthly_reports.csv", 4, "unknown_reference")]
    assert (unk.column, unk.value) == ("unit_id", "U9") and "units" in unk.expected
    hrs = by[("monthly_reports.csv", 5, "hours_exceed_month")]
    assert hrs.column == "operating_hours" and hrs.severity == "warning"  # lands; rule ACC screens it
    dup = by[("monthly_reports.csv", 7, "duplicate_key")]
    assert "row 1" in dup.fix
    miss = by[("lab_reports.csv", None, "missing_column")]
    assert miss.column == "unit_id" and "机组编号" in miss.expected
    extra = by[("monthly_reports.csv", None, "extra_column")]
    assert extra.severity == "warning" and extra.column == "备注"
    assert ("notes.txt", None, "unlisted_file") in by
    # the valid rows landed: rows 1, 5 (warning only) and 6 of monthly_reports; registry except agencies
    assert count(db_url, "monthly_reports") == 3
    assert count(db_url, "agencies") == 0 and count(db_url, "lab_reports") == 0 and count(db_url, "units") == 3
    mr = res.tables["monthly_reports"]
    assert (mr.read, mr.new, mr.quarantined) == (7, 3, 4)
    stored = items(db_url)
    assert len(stored) == len(res.issues)
    assert {"file", "row", "column", "value", "expected", "fix"} <= set(stored[0])
    qdir = tmp_path / "var" / "data" / "quarantine" / "b1"
    assert (qdir / "files" / "agencies.csv").is_file() and (qdir / "files" / "lab_reports.csv").is_file()
    assert (qdir / "rows" / "monthly_reports.csv").is_file()
    report = (qdir / "report.md").read_text(encoding="utf-8")
    assert "2024-13" in report and "校验和不符" in report
    csv_head = (qdir / "report.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "文件 file" in csv_head and "修正方法 fix" in csv_head


def test_row_checks_vectorised_cover_types(db_url, tmp_path):
    lab = labs().with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("2024-02-30")).otherwise(pl.col("test_date")).alias("test_date"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("abc")).otherwise(pl.col("carbon_ad_pct").cast(pl.String))
        .alias("carbon_ad_pct"),
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("2024/07/05")).otherwise(pl.col("report_date"))
        .alias("report_date"),
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("202407")).otherwise(pl.col("sample_period"))
        .alias("sample_period"),
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("A9")).otherwise(pl.col("lab_agency_id")).alias("lab_agency_id"),
    )
    ent = enterprises().with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("oil")).otherwise(pl.col("sector"))
                                     .alias("sector"))
    res = ingest_bundle(make_bundle(tmp_path / "x", {"enterprises": ent, "units": units().filter(unit_id="U1"),
                                                     "agencies": agencies(), "lab_reports": lab}), url=db_url)
    reasons = {(i.file, i.row, i.column, i.reason) for i in res.errors}
    assert reasons == {
        ("lab_reports.csv", 1, "test_date", "unparseable_date"),
        ("lab_reports.csv", 2, "carbon_ad_pct", "non_numeric"),
        ("lab_reports.csv", 5, "lab_agency_id", "unknown_reference"),
        ("enterprises.csv", 2, "sector", "bad_enum"),
        # U2/U3 rows reference units absent from store and bundle
        ("lab_reports.csv", 3, "unit_id", "unknown_reference"),
        ("lab_reports.csv", 4, "unit_id", "unknown_reference"),
        ("lab_reports.csv", 5, "unit_id", "unknown_reference"),
        ("lab_reports.csv", 6, "unit_id", "unknown_reference"),
    }
    assert count(db_url, "lab_reports") == 0  # rows 1,2 bad; row 3 (2024/07/05) → unit U2 unknown
    res2 = ingest_bundle(make_bundle(tmp_path / "y", {"units": units(), "lab_reports": lab}, "y"), url=db_url)
    lr = rows(db_url, "lab_reports").sort("lab_report_id")
    # rows 3 and 4 land; U3 stays unknown: its enterprise E2 was quarantined (bad sector) in the first bundle
    assert res2.tables["lab_reports"].new == 2
    assert {(i.file, i.column, i.value) for i in res2.errors} >= {("units.csv", "enterprise_id", E2)}
    assert dt.date(2024, 7, 5) in lr["report_date"].to_list()
    assert "2024-07" in lr.filter(unit_id="U2")["sample_period"].to_list()


def test_missing_manifest_rejected_and_cli_exit_codes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from carbonqa.cli import app

    db = tmp_path / "cli.db"
    monkeypatch.setenv("CARBONQA_DATABASE_URL", f"sqlite:///{db}")
    from carbonqa.settings import get_settings

    get_settings.cache_clear()
    empty = tmp_path / "nomanifest"
    empty.mkdir()
    (empty / "units.csv").write_text("unit_id\nU1\n")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "--bundle", str(empty)])
    assert r.exit_code == 1 and "manifest.json" in r.output and "rejected" in r.output
    good = full_bundle(tmp_path / "good")
    r = runner.invoke(app, ["ingest", "--bundle", str(good)])
    assert r.exit_code == 0, r.output
    assert "landed" in r.output
    r = runner.invoke(app, ["ingest", "--bundle", str(good)])
    assert r.exit_code == 0 and "duplicate" in r.output
    # every file corrupted → nothing ingested → exit 1
    bad = make_bundle(tmp_path / "bad", {"units": units()}, bundle_id="bad")
    (bad / "units.csv").write_text("unit_id\nU1\n")
    r = runner.invoke(app, ["ingest", "--bundle", str(bad)])
    assert r.exit_code == 1 and "checksum" in r.output


def test_wrong_contract_version_rejected(tmp_path, db_url):
    b = full_bundle(tmp_path / "b")
    m = json.loads((b / "manifest.json").read_text())
    m["contract_version"] = "2"
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "rejected" and "contract_version" in res.reason


# ---- formats ---------------------------------------------------------------------------------------
def test_gbk_csv_with_chinese_headers_decoded_with_warning(db_url, tmp_path):
    from carbonqa import contract

    t = contract.table("enterprises")
    zh = enterprises().rename({c.name: c.zh for c in t.columns})
    res = ingest_bundle(make_bundle(tmp_path / "g", {"enterprises": {"df": zh, "encoding": "gbk"}}), url=db_url)
    assert res.outcome == "landed", res.describe()
    warn = [i for i in res.issues if i.reason == "non_utf8_encoding"]
    assert len(warn) == 1 and "UTF-8" in warn[0].fix and warn[0].severity == "warning"
    e = rows(db_url, "enterprises").sort("enterprise_id")
    assert e["enterprise_name"].to_list() == ["包头第一热电有限公司", "济南能源有限公司"]


def test_xlsx_with_chinese_headers_units_and_fullwidth_parens(db_url, tmp_path):
    from carbonqa import contract

    t = contract.table("monthly_reports")
    df = monthly().with_columns(pl.col("period").str.replace("-", "/"))  # 2024/06
    df = df.with_columns(pl.col("submitted_at").str.slice(0, 10).str.to_date())  # a date cell → midnight CST
    headers = {c.name: (c.label_zh.replace("(", "（").replace(")", "）") if i % 2 else c.zh)
               for i, c in enumerate(t.columns)}
    df = df.rename(headers)
    make = {"enterprises": enterprises(), "units": units(), "monthly_reports": {"df": df, "fmt": "xlsx"}}
    res = ingest_bundle(make_bundle(tmp_path / "x", make), url=db_url)
    assert res.outcome == "landed", res.describe()
    m = rows(db_url, "monthly_reports")
    assert m.height == 6 and sorted(set(m["period"])) == ["2024-06", "2024-07"]
    assert m["fuel_consumed_t"].to_list() == [120000.0] * 6
    assert dt.datetime(2024, 6, 28) in m["submitted_at"].to_list()


def test_parquet_table_and_timestamp_offsets(db_url, tmp_path):
    m = monthly(unit_ids=("U1",)).with_columns(
        pl.Series("submitted_at", ["2024-06-28T02:00:00Z", "2024-07-28 10:00"]))
    res = ingest_bundle(make_bundle(tmp_path / "p", {"enterprises": enterprises(), "units": units(),
                                                     "monthly_reports": {"df": m, "fmt": "parquet"}}), url=db_url)
    assert res.outcome == "landed", res.describe()
    got = sorted(rows(db_url, "monthly_reports")["submitted_at"].to_list())
    assert got == [dt.datetime(2024, 6, 28, 10, 0), dt.datetime(2024, 7, 28, 10, 0)]


# ---- telemetry lake --------------------------------------------------------------------------------
def test_telemetry_lake_partitioning_unknown_units_and_idempotency(db_url, tmp_path):
    from carbonqa.lake import monthly_telemetry, scan_telemetry

    tel = pl.concat([telemetry(("U1", "U3")), telemetry(("U404",), hours=30)])
    b = make_bundle(tmp_path / "t", {"enterprises": enterprises(), "units": units()},
                    telemetry_parts={"telemetry/part-0.parquet": tel})
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "partial"
    tc = res.tables["telemetry"]
    assert (tc.read, tc.new, tc.quarantined) == (126, 96, 30)
    unk = [i for i in res.issues if i.reason == "unknown_reference"]
    assert len(unk) == 21  # 20 sampled rows + one summary line, not 30 lines per row... capped
    assert any("30 rows in total" in (i.value or "") for i in unk)
    lake = tmp_path / "var" / "data" / "lake" / "telemetry"
    dirs = sorted(p.relative_to(lake).as_posix() for p in lake.glob("*/*"))
    assert dirs == ["province_code=15/period=2024-06", "province_code=15/period=2024-07",
                    "province_code=37/period=2024-06", "province_code=37/period=2024-07"]
    files = sorted(lake.rglob("*.parquet"))
    assert all(f.name.startswith("b1__") for f in files)
    # the same content again (another bundle id): nothing new in the lake
    b2 = make_bundle(tmp_path / "t2", {}, bundle_id="b2", telemetry_parts={"telemetry/part-0.parquet": tel})
    res2 = ingest_bundle(b2, url=db_url)
    assert res2.tables["telemetry"].new == 0 and sorted(lake.rglob("*.parquet")) == files
    df = scan_telemetry(provinces=["15"]).collect()
    assert df.height == 48 and set(df["period"]) == {"2024-06", "2024-07"} and set(df["unit_id"]) == {"U1"}
    assert df["interval_hours"].to_list() == [1.0] * 48
    mt = monthly_telemetry(periods=["2024-07"])
    assert mt.sort("unit_id")["generation_mwh"].to_list() == [400.0 * 24] * 2
    assert mt["cems_co2_t"].null_count() == 2 and mt["hours_covered"].to_list() == [24.0, 24.0]
    assert (tmp_path / "var" / "data" / "quarantine" / "b1" / "rows" / "telemetry").is_dir()


def test_telemetry_checksum_mismatch_quarantines_one_part(db_url, tmp_path):
    b = full_bundle(tmp_path / "b")
    telemetry(("U3",), hours=5).write_parquet(b / "telemetry/province_code=37/part-0.parquet")
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "partial"
    cs = [i for i in res.issues if i.reason == "checksum_mismatch"]
    assert [i.file for i in cs] == ["telemetry/province_code=37/part-0.parquet"]
    assert res.tables["telemetry"].new == 48 and res.tables["monthly_reports"].new == 6


def test_monthly_interval_hours_telemetry(db_url, tmp_path):
    from carbonqa.lake import monthly_telemetry

    tel = pl.DataFrame({"unit_id": ["U1", "U1"], "ts": ["2016-01-01T00:00:00", "2016-02-01T00:00:00"],
                        "gross_load_mw": [300.0, 0.0], "coal_feed_t": [1000.0, 0.0], "cems_co2_t": [2000.0, 0.0],
                        "interval_hours": [744.0, 696.0]})
    b = make_bundle(tmp_path / "us", {"enterprises": enterprises(), "units": units(),
                                      "telemetry": {"df": tel, "fmt": "csv"}})
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "landed", res.describe()
    mt = monthly_telemetry().sort("period")
    assert mt["generation_mwh"].to_list() == [300.0 * 744, 0.0]
    assert mt["hours_with_load"].to_list() == [744.0, 0.0] and mt["hours_covered"].to_list() == [744.0, 696.0]


# ---- parsers and manifest edge cases ---------------------------------------------------------------
def test_parsers_periods_dates_datetimes_without_store():
    from carbonqa.ingest.cast import cast_table

    n = 7
    df = pl.DataFrame({
        "unit_id": ["U1"] * n,
        "period": ["2024-07", "2024/7", "202407", "2024年7月", "2024-07-01 00:00:00", "2024-7-31", "07/2024"],
        "version": ["1", "2", "3", "4", "5", "6", "7"],
        "submitted_at": ["2024-08-01T00:30:00+08:00", "2024-07-31T16:30:00Z", "2024-08-01 00:30",
                         "2024/08/01 00:30:00", "2024-07-31T17:30:00+0100", "2024-08-01", "yesterday"],
        "operating_hours": ["744", "0", "abc", None, " 1,2.5 ", "-1", "0"],
        "carbon_content_basis": ["measured", "实测", "Default", "缺省值", None, "guess", None],
        "__file": ["f"] * n, "__row": list(range(1, n + 1)),
    })
    r = cast_table(df, "monthly_reports")
    bad = {(i.row, i.column, i.reason) for i in r.issues}
    assert bad == {(3, "operating_hours", "non_numeric"),
                   (6, "operating_hours", "out_of_range"), (6, "carbon_content_basis", "bad_enum"),
                   (7, "period", "unparseable_period"), (7, "submitted_at", "unparseable_datetime")}
    v = r.valid.sort("version")
    assert v["period"].to_list() == ["2024-07"] * 4
    assert v["submitted_at"].to_list() == [dt.datetime(2024, 8, 1, 0, 30)] * 4
    assert v["version"].to_list() == [1, 2, 4, 5]
    assert v["carbon_content_basis"].to_list() == ["measured", "measured", "default", None]
    assert v["operating_hours"].to_list() == [744.0, 0.0, None, 12.5]


def test_hive_partition_value_becomes_column_and_combined_sha_checked(db_url, tmp_path):
    tel = telemetry(("U1",), hours=3).drop("unit_id")
    b = make_bundle(tmp_path / "h", {"enterprises": enterprises(), "units": units()},
                    telemetry_parts={"telemetry/unit_id=U1/part-0.parquet": tel})
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "landed", res.describe()
    assert res.tables["telemetry"].new == 3
    # a manifest whose combined sha256 does not match its parts: the directory table is quarantined
    b2 = make_bundle(tmp_path / "h2", {}, bundle_id="h2", telemetry_parts={"telemetry/part-0.parquet": telemetry()})
    m = json.loads((b2 / "manifest.json").read_text())
    m["tables"]["telemetry"]["sha256"] = "0" * 64
    (b2 / "manifest.json").write_text(json.dumps(m))
    res2 = ingest_bundle(b2, url=db_url)
    assert res2.outcome == "rejected"
    assert [i.reason for i in res2.errors] == ["checksum_mismatch"] and "combined" in res2.errors[0].expected


def test_row_count_mismatch_is_warning_and_rows_land(db_url, tmp_path):
    b = make_bundle(tmp_path / "r", {"enterprises": enterprises()})
    m = json.loads((b / "manifest.json").read_text())
    m["tables"]["enterprises"]["rows"] = 5
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "landed"
    (w,) = res.issues
    assert (w.reason, w.severity, w.expected) == ("row_count_mismatch", "warning", "5 rows (manifest.json)")
    assert count(db_url, "enterprises") == 2


def test_xlsx_date_cells_become_periods(db_url, tmp_path):
    df = monthly().with_columns(pl.col("period").str.to_date("%Y-%m").alias("period"))
    res = ingest_bundle(make_bundle(tmp_path / "xd", {"enterprises": enterprises(), "units": units(),
                                                      "monthly_reports": {"df": df, "fmt": "xlsx"}}), url=db_url)
    assert res.outcome == "landed", res.describe()
    assert sorted(set(rows(db_url, "monthly_reports")["period"])) == ["2024-06", "2024-07"]


# --- telemetry staging: the typed fast path of the cast and the lake layout (sorted by unit_id, ts) ---


def _typed_telemetry(units: list[str], hours: int, unit_major: bool = True) -> pl.DataFrame:
    """Hourly rows from 2024-01-31 18:00 over a month boundary, unit by unit (or hour by hour)."""
    start = dt.datetime(2024, 1, 31, 18)
    rows = [(u, start + dt.timedelta(hours=h), 100.0 + h, 40.0 + i, None if h % 3 else 90.0)
            for i, u in enumerate(units) for h in range(hours)]
    df = pl.DataFrame(rows, orient="row", schema={"unit_id": pl.String, "ts": pl.Datetime("us"),
                                                  "gross_load_mw": pl.Float64, "coal_feed_t": pl.Float64,
                                                  "cems_co2_t": pl.Float64})
    return df if unit_major else df.sort("ts", "unit_id")


def _idx() -> pl.Expr:
    return pl.int_range(pl.len())


_MUTATIONS = {
    "clean": lambda d: d,
    "interval_hours": lambda d: d.with_columns(pl.lit(1.0).alias("interval_hours")),
    "interval_hours_zero": lambda d: d.with_columns(pl.lit(0.0).alias("interval_hours")),
    "negative": lambda d: d.with_columns(pl.when(_idx() == 5).then(-1.0).otherwise("coal_feed_t").alias("coal_feed_t")),
    "nan": lambda d: d.with_columns(pl.when(_idx() == 5).then(float("nan")).otherwise("gross_load_mw").alias("gross_load_mw")),
    "too_large": lambda d: d.with_columns(pl.when(_idx() == 5).then(1e12).otherwise("cems_co2_t").alias("cems_co2_t")),
    "unknown_unit": lambda d: d.with_columns(pl.when(_idx() == 5).then(pl.lit("GHOST")).otherwise("unit_id").alias("unit_id")),
    "padded_unit": lambda d: d.with_columns(pl.when(_idx() < 4).then(pl.col("unit_id") + " ").otherwise("unit_id").alias("unit_id")),
    "empty_unit": lambda d: d.with_columns(pl.when(_idx() == 5).then(pl.lit("")).otherwise("unit_id").alias("unit_id")),
    "null_ts": lambda d: d.with_columns(pl.when(_idx() == 5).then(None).otherwise("ts").alias("ts")),
    "ts_1800": lambda d: d.with_columns(pl.when(_idx() == 5).then(dt.datetime(1800, 1, 1)).otherwise("ts").alias("ts")),
    "duplicate": lambda d: pl.concat([d, d.slice(3, 2)]),
    "time_major": lambda d: d.sort("ts", "unit_id"),
    "unit_twice": lambda d: pl.concat([d.head(3), d.slice(10), d.slice(3, 7)]),
    "ms_ts": lambda d: d.with_columns(pl.col("ts").dt.cast_time_unit("ms")),
    "utc_ts": lambda d: d.with_columns(pl.col("ts").dt.replace_time_zone("UTC")),
    "text_ts": lambda d: d.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S")),
    "float32": lambda d: d.with_columns(pl.col("gross_load_mw").cast(pl.Float32)),
    "no_cems": lambda d: d.drop("cems_co2_t"),
}


def test_typed_telemetry_fast_path_is_cast_table(monkeypatch):
    """The shortcut of cast_table for clean typed telemetry returns exactly what the full cast returns."""
    from carbonqa.ingest import cast
    from carbonqa.ingest.read import conform

    known = pl.Series(["U1", "U2", "U3"])
    taken = []
    for name, mutate in _MUTATIONS.items():
        df, issues = conform(mutate(_typed_telemetry(["U2", "U1", "U3"], 20)), "telemetry/p.parquet", "telemetry",
                             fmt="parquet")
        assert df is not None and not issues, name
        fast = cast.cast_table(df, "telemetry", known_refs={"units.unit_id": known}, sample_limit=20)
        with monkeypatch.context() as m:
            m.setattr(cast, "_telemetry_all_valid", lambda *a, **k: None)
            full = cast.cast_table(df, "telemetry", known_refs={"units.unit_id": known}, sample_limit=20)
        assert fast.valid.equals(full.valid) and fast.valid.schema == full.valid.schema, name
        assert fast.bad_rows.equals(full.bad_rows) and fast.bad_rows.schema == full.bad_rows.schema, name
        assert (fast.issues, fast.n_read, fast.reason_counts) == (full.issues, full.n_read, full.reason_counts), name
        if cast._telemetry_all_valid(df, known) is not None:
            taken.append(name)
    assert taken == ["clean", "interval_hours", "no_cems"]


def _stage(tmp_path: Path, df: pl.DataFrame, name: str, unit_province: pl.DataFrame):
    from carbonqa.ingest.telemetry import ingest_telemetry_part

    part = tmp_path / f"{name}.parquet"
    df.write_parquet(part)
    stage = tmp_path / f"stage-{name}"
    res = ingest_telemetry_part(part, "telemetry/p.parquet", "ab" * 32, "b1", unit_province, tmp_path / "lake",
                                dt.datetime(2025, 1, 1), tmp_path / f"bad-{name}", stage_dir=stage)
    files = {str(f.relative_to(stage)): pl.read_parquet(f) for f in sorted(stage.rglob("*.parquet"))}
    return res, files


def test_lake_files_sorted_by_unit_and_time_whatever_the_export_order(tmp_path, monkeypatch):
    """Each lake file holds its partition's rows sorted by (unit_id, ts), identical for any row order of the part."""
    from carbonqa.ingest import telemetry

    up = pl.DataFrame({"unit_id": ["U1", "U2", "U3", "U4"], "province_code": ["15", "37", "15", None]})
    base = _typed_telemetry(["U3", "U1", "U4", "U2"], 30)
    orders = {"unit_major": base, "time_major": base.sort("ts", "unit_id"),
              "month_major": base.sort(pl.col("ts").dt.month(), maintain_order=True),
              "shuffled": base.sample(fraction=1.0, shuffle=True, seed=7), "reversed": base.reverse()}
    staged = {k: _stage(tmp_path, df, k, up) for k, df in orders.items()}
    ref_res, ref = staged["unit_major"]
    assert sorted(ref) == [f"province_code={p}/period={m}/b1__{h}.parquet" for p, m, h in sorted(
        (k.split("/")[0].split("=")[1], k.split("/")[1].split("=")[1], k.split("__")[1][:16]) for k in ref)]
    assert {k.rsplit("/", 1)[0] for k in ref} == {f"province_code={p}/period={m}" for p in ("15", "37", "unknown")
                                                  for m in ("2024-01", "2024-02")}
    assert ref_res.rows_new == ref_res.rows_valid == base.height and ref_res.issues == []
    for f in ref.values():
        assert f.columns == list(telemetry.LAKE_COLUMNS)
        assert f.select(pl.struct("unit_id", "ts").is_sorted()).item()
        assert f["interval_hours"].to_list() == [1.0] * f.height
    for k, (res, files) in staged.items():
        assert res.rows_new == base.height and res.issues == [], k
        assert files.keys() == ref.keys() and all(files[n].equals(ref[n]) for n in ref), k
    # more units × months than a 64-bit key holds: the rows are sorted by their text instead, same files
    monkeypatch.setattr(telemetry, "_OFFSET_BITS", 62)
    _, files = _stage(tmp_path, orders["shuffled"], "text_sort", up)
    assert files.keys() == ref.keys() and all(files[n].equals(ref[n]) for n in ref)


def test_refused_partition_quarantined_whatever_the_export_order(tmp_path):
    """A unit whose enterprise has a province outside the vocabulary: its rows quarantined, the rest laid out."""
    up = pl.DataFrame({"unit_id": ["U1", "U2", "U3"], "province_code": ["15", "9X", "37"]})
    base = _typed_telemetry(["U3", "U2", "U1"], 30)
    ref = None
    for name, df in {"unit_major": base, "time_major": base.sort("ts", "unit_id")}.items():
        res, files = _stage(tmp_path, df, name, up)
        assert res.rows_quarantined == 30 and res.rows_valid == res.rows_new == 60, name
        assert [(i.reason, i.column) for i in res.issues] == [("bad_partition", "province_code")] * 2, name
        assert {k.split("/")[0] for k in files} == {"province_code=15", "province_code=37"}, name
        assert all(f.select(pl.struct("unit_id", "ts").is_sorted()).item() for f in files.values())
        bad = pl.read_parquet(next((tmp_path / f"bad-{name}").glob("*.parquet")))
        assert bad["unit_id"].unique().to_list() == ["U2"] and bad.height == 30
        ref = ref or files
        assert files.keys() == ref.keys() and all(files[k].equals(ref[k]) for k in ref)


def test_large_bundles_stage_telemetry_in_processes_with_the_same_result(tmp_path, monkeypatch):
    """Above LAKE_PROCESS_MIN_BYTES the parts go to spawned processes: same counts, issues, lake files and rows."""
    import carbonqa.ingest.core as core
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    spawned = []

    class Spy(core.ProcessPoolExecutor):
        def __init__(self, *a, **kw):
            spawned.append(kw["mp_context"].get_start_method())
            super().__init__(*a, **kw)

    monkeypatch.setattr(core, "ProcessPoolExecutor", Spy)
    tel = pl.concat([telemetry(("U1", "U3")), telemetry(("U404",), hours=30)])
    seen = {}
    for mode, threshold in (("threads", 2**62), ("processes", 0)):
        root = tmp_path / mode
        monkeypatch.setenv("CARBONQA_HOME", str(root / "var"))
        monkeypatch.delenv("CARBONQA_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        monkeypatch.setattr(core, "LAKE_PROCESS_MIN_BYTES", threshold)
        b = make_bundle(root / "b", {"enterprises": enterprises(), "units": units()},
                        telemetry_parts={"telemetry/part-0.parquet": tel, "telemetry/part-1.parquet": telemetry(("U3",))})
        url = f"sqlite:///{root / 'c.db'}"
        upgrade(url)
        res = ingest_bundle(b, url=url)
        lake = root / "var" / "data" / "lake" / "telemetry"
        files = {p.relative_to(lake).as_posix(): pl.read_parquet(p).drop("ingested_at") for p in sorted(lake.rglob("*.parquet"))}
        tc = res.tables["telemetry"]
        seen[mode] = ((tc.read, tc.valid, tc.new, tc.quarantined), [(i.reason, i.row, i.column) for i in res.issues], files)
    get_settings.cache_clear()
    (c_t, i_t, f_t), (c_p, i_p, f_p) = seen["threads"], seen["processes"]
    assert c_t == c_p and c_t[2] > 0 and i_t == i_p and i_t
    assert f_t and list(f_t) == list(f_p) and all(f_t[k].equals(f_p[k]) for k in f_t)
    assert spawned == ["spawn"]  # only the large bundle went to processes
