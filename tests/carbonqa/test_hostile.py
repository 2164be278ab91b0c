"""Hostile and careless bundles (issue 14 items 1–3, 6): each class is contained, the rest lands, nothing changes.

Every test first ingests a clean base bundle, then the hostile one, and checks (i) the quarantine item
names file, row and column, (ii) the bundle's other rows still land, (iii) no stored row of the base
bundle changed and nothing was written outside the store, the lake and the bundle's quarantine folder.
Parametrised over SQLite and PostgreSQL through ``db_url`` (PostgreSQL enforces widths and refuses NUL,
SQLite does neither: the same outcome is required on both).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import zipfile
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from carbonqa.ingest import ingest_bundle  # noqa: E402
from carbonqa.ingest import read as read_mod  # noqa: E402
from carbonqa.settings import get_settings  # noqa: E402
from carbonqa.store import get_engine  # noqa: E402
from carbonqa.store.models import Bundle, QuarantineItem, raw_table  # noqa: E402
from tests.carbonqa.test_ingest import (  # noqa: E402
    E1,
    _sha,
    agencies,
    enterprises,
    full_bundle,
    labs,
    make_bundle,
    monthly,
    telemetry,
    units,
)

RAW = ("enterprises", "units", "agencies", "monthly_reports", "lab_reports")


# ---- helpers -----------------------------------------------------------------------------------------
def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every stored raw row (all columns), sorted: compared before/after a hostile ingest."""
    out = {}
    with get_engine(url).connect() as c:
        for t in RAW:
            rt = raw_table(t)
            out[t] = sorted(tuple(str(v) for v in r) for r in c.execute(sa.select(rt)))
    return out


def unchanged_since(before: dict[str, list[tuple]], url: str) -> bool:
    """True when every row of ``before`` is still stored, identical (new rows may have been added)."""
    after = snapshot(url)
    return all(set(before[t]) <= set(after[t]) for t in RAW)


def items(url: str, bundle_id: str | None = None) -> list[dict]:
    q = sa.select(QuarantineItem.__table__)
    if bundle_id:
        q = q.where(QuarantineItem.__table__.c.bundle_id == bundle_id)
    with get_engine(url).connect() as c:
        return [dict(r._mapping) for r in c.execute(q)]


def base(url: str, tmp_path: Path) -> dict[str, list[tuple]]:
    """Ingest the clean base bundle; return the snapshot of the store."""
    res = ingest_bundle(full_bundle(tmp_path / "base", "base"), url=url)
    assert res.outcome == "landed", res.describe()
    return snapshot(url)


def data_root(tmp_path: Path) -> Path:
    return tmp_path / "var" / "data"


def files_outside(tmp_path: Path, allowed: list[Path]) -> list[Path]:
    """Files under tmp_path not under any allowed folder (bundles, store, data root)."""
    out = []
    for p in tmp_path.rglob("*"):
        if p.is_file() and not p.name.startswith("store.db") and not any(p.is_relative_to(a) for a in allowed):
            out.append(p)
    return out


def reseal(bundle: Path) -> None:
    """Recompute every sha256 and row count of the manifest after a file was edited by hand."""
    m = json.loads((bundle / "manifest.json").read_text())
    for e in m["tables"].values():
        if "parts" not in e and (bundle / e["file"]).is_file() and not (bundle / e["file"]).is_symlink():
            e["sha256"] = _sha(bundle / e["file"])
    (bundle / "manifest.json").write_text(json.dumps(m, ensure_ascii=False))


# ---- 1. confinement --------------------------------------------------------------------------------
@pytest.mark.parametrize("bad_path", ["../outside.csv", "ABSOLUTE", "sub/../../outside.csv"])
def test_manifest_path_outside_bundle_is_not_read(db_url, tmp_path, bad_path):
    before = base(db_url, tmp_path)
    outside = tmp_path / "hostile" / "outside.csv"
    outside.parent.mkdir(parents=True)
    e = enterprises().with_columns(pl.lit("外部数据").alias("enterprise_name"))
    outside.write_text(e.write_csv(), encoding="utf-8")
    b = make_bundle(tmp_path / "hostile" / "b", {"monthly_reports": monthly(periods=("2024-08",))}, "h1")
    m = json.loads((b / "manifest.json").read_text())
    rel = str(outside) if bad_path == "ABSOLUTE" else bad_path
    m["tables"]["enterprises"] = {"file": rel, "sha256": _sha(outside), "rows": 2}
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "partial", res.describe()
    it = [i for i in res.issues if i.reason == "path_outside_bundle"]
    assert len(it) == 1 and it[0].file == rel and it[0].table == "enterprises"
    assert res.tables["monthly_reports"].new == 3  # the rest of the bundle landed
    assert res.tables["enterprises"].read == 0
    assert unchanged_since(before, db_url)
    with get_engine(db_url).connect() as c:
        names = [r[0] for r in c.execute(sa.select(raw_table("enterprises").c.enterprise_name))]
    assert "外部数据" not in names
    qdir = get_settings().quarantine_dir / "h1"
    assert not any(p.name == "outside.csv" for p in qdir.rglob("*"))


def test_symlink_out_of_bundle_is_not_read_nor_copied(db_url, tmp_path):
    before = base(db_url, tmp_path)
    secret = tmp_path / "secret" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    ent_secret = tmp_path / "secret" / "enterprises.csv"
    ent_secret.write_text(enterprises().write_csv())
    b = make_bundle(tmp_path / "b", {"monthly_reports": monthly(periods=("2024-08",))}, "h2")
    (b / "passwd").symlink_to(secret)  # unlisted link to a secret
    (b / "enterprises.csv").symlink_to(ent_secret)  # a listed table that is a link out
    (b / "linkdir").symlink_to(secret.parent, target_is_directory=True)
    m = json.loads((b / "manifest.json").read_text())
    m["tables"]["enterprises"] = {"file": "enterprises.csv", "sha256": _sha(ent_secret), "rows": 2}
    m["tables"]["agencies"] = {"file": "linkdir/enterprises.csv", "sha256": _sha(ent_secret), "rows": 2}
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "partial", res.describe()
    by_file = {i.file: i for i in res.issues if i.reason == "symlink_outside_bundle"}
    assert set(by_file) == {"passwd", "enterprises.csv", "linkdir/enterprises.csv", "linkdir"}, res.describe()
    assert "outside the bundle" in by_file["passwd"].value
    assert res.tables["monthly_reports"].new == 3
    assert unchanged_since(before, db_url)
    # nothing of the secret reached the quarantine folder or the store
    for p in data_root(tmp_path).rglob("*"):
        if p.is_file():
            assert b"root:x:0:0" not in p.read_bytes(), p
    assert all("root:x" not in str(i["value"]) for i in items(db_url))


@pytest.mark.parametrize("bid", ["..", ".", "../../escape", "a/b", "a\\b", "x\x00y", "a@b", "x" * 190, "\u202egnp.exe"])
def test_unsafe_bundle_id_is_refused_clearly(db_url, tmp_path, bid):
    before = base(db_url, tmp_path)
    b = make_bundle(tmp_path / "b", {"monthly_reports": monthly(periods=("2024-08",))}, bid)
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "rejected"
    assert "bundle_id" in res.reason and "re-deliver" in res.reason
    assert unchanged_since(before, db_url)
    q = get_settings().quarantine_dir
    assert sorted(p.name for p in q.iterdir()) == ["base"]
    assert files_outside(tmp_path, [tmp_path / "base", tmp_path / "b", data_root(tmp_path)])\
        == []


def test_enterprise_province_traversal_is_quarantined_not_written(db_url, tmp_path):
    before = base(db_url, tmp_path)
    ent = pl.DataFrame({"enterprise_id": ["919999000000000009", "911500000000000077"],
                        "enterprise_name": ["越界公司", "正常公司"], "province_code": ["../../..", "15"],
                        "city_name": ["x", "包头市"], "sector": ["power", "power"], "is_captive": ["false", "false"]})
    un = pl.DataFrame({"unit_id": ["UX", "UY"], "enterprise_id": ["919999000000000009", "911500000000000077"],
                       "unit_name": ["x", "y"], "unit_class": ["coal_conventional_300mw_plus"] * 2,
                       "capacity_mw": [600.0, 600.0], "combustion_technology": ["supercritical"] * 2,
                       "coal_type": ["bituminous"] * 2, "cooling_type": ["water"] * 2, "is_chp": ["false"] * 2,
                       "commissioning_year": [2010, 2010], "registry_ref": [None, None]})
    b = make_bundle(tmp_path / "b", {"enterprises": ent, "units": un}, "h3",
                    telemetry_parts={"telemetry/part-0.parquet": telemetry(("UX", "UY"))})
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "partial", res.describe()
    it = [i for i in res.issues if i.reason == "bad_format"]
    assert [(i.file, i.row, i.column, i.value) for i in it] == [("enterprises.csv", 1, "province_code", "../../..")]
    assert "GB/T 2260" in it[0].expected and it[0].fix
    assert res.tables["enterprises"].new == 1 and res.tables["units"].new == 1
    assert res.tables["telemetry"].new == 48  # UY's rows; UX's are quarantined (unknown unit)
    lake = get_settings().lake_dir
    assert {p.name for p in lake.iterdir()} == {"province_code=15", "province_code=37"}
    assert files_outside(tmp_path, [tmp_path / "base", tmp_path / "b", data_root(tmp_path)])\
        == []
    assert unchanged_since(before, db_url)


def test_stored_bad_province_never_names_a_lake_folder(tmp_path):
    """Defence in depth: a registry row from before the check cannot steer telemetry out of the lake."""
    from carbonqa.ingest.telemetry import ingest_telemetry_part

    part = tmp_path / "t.parquet"
    telemetry(("U1", "U3")).write_parquet(part)
    lake = tmp_path / "lake"
    up = pl.DataFrame({"unit_id": ["U1", "U3"], "province_code": ["../../../etc", "15"]})
    r = ingest_telemetry_part(part, "t.parquet", "abc", "b", up, lake, dt.datetime(2024, 8, 1), tmp_path / "bad")
    assert r.rows_new == 48 and r.rows_quarantined == 48
    assert [i.reason for i in r.issues] == ["bad_partition", "bad_partition"]  # two periods of U1
    assert {p.name for p in lake.iterdir()} == {"province_code=15"}
    assert not (tmp_path / "etc").exists()


# ---- 2. values the store can hold ---------------------------------------------------------------
@pytest.mark.parametrize("value,reason", [("inf", "non_numeric"), ("nan", "non_numeric"), ("-inf", "non_numeric"),
                                          ("1e308", "out_of_range"), ("1e400", "non_numeric"),
                                          ("5000000", "out_of_range")])
def test_non_finite_and_impossible_emissions_quarantined(db_url, tmp_path, value, reason):
    before = base(db_url, tmp_path)
    m = monthly(periods=("2024-08",)).with_columns(pl.col("emissions_tco2").cast(pl.String))
    m = m.with_columns(pl.when(pl.col("unit_id") == "U1").then(pl.lit(value)).otherwise(pl.col("emissions_tco2"))
                       .alias("emissions_tco2"))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"monthly_reports": m}, "h4"), url=db_url)
    bad = [i for i in res.issues if i.severity == "error"]
    assert [(i.file, i.row, i.column, i.reason) for i in bad] == [("monthly_reports.csv", 1, "emissions_tco2", reason)]
    assert bad[0].expected and bad[0].fix
    if value == "5000000":  # 600 MW × 744 h × 10 t/MWh = 4.46 Mt: the capacity bound, not the absolute one
        assert "capacity_mw" in bad[0].expected
    assert res.tables["monthly_reports"].new == 2
    assert unchanged_since(before, db_url)


def test_capacity_bound_admits_plausible_and_unit_error_values(db_url, tmp_path):
    """A kWh-for-MWh generation or kcal/kg NCV still lands: the accounting rules must see it."""
    base(db_url, tmp_path)
    m = monthly(periods=("2024-08",)).with_columns(
        pl.Series("gross_generation_mwh", [300000.0 * 1000, 300000.0, 300000.0]),
        pl.Series("ncv_gj_per_t", [5200.0, 21.5, 21.5]), pl.Series("emissions_tco2", [4.4e6, 248000.0, 248000.0]))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"monthly_reports": m}, "h5"), url=db_url)
    assert res.outcome == "landed", res.describe()


def test_non_finite_in_parquet_quarantined(db_url, tmp_path):
    before = base(db_url, tmp_path)
    m = monthly(periods=("2024-08",)).with_columns(
        pl.Series("fuel_consumed_t", [float("inf"), float("nan"), 1.0e300]))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"monthly_reports": {"df": m, "fmt": "parquet"}}, "h6"), url=db_url)
    got = sorted((i.row, i.column, i.reason) for i in res.issues if i.severity == "error")
    assert got == [(1, "fuel_consumed_t", "non_numeric"), (2, "fuel_consumed_t", "non_numeric"),
                   (3, "fuel_consumed_t", "out_of_range")]
    assert unchanged_since(before, db_url)


@pytest.mark.parametrize("col,value", [
    ("enterprise_id", "9115000000000000\x0099"), ("enterprise_name", "正常\x00公司"),
    ("enterprise_name", "公司\u202egnp.exe"), ("city_name", "包头\x1b[31m市"), ("enterprise_id", "E\u2066X"),
])
def test_control_nul_and_bidi_characters_quarantined(db_url, tmp_path, col, value):
    before = base(db_url, tmp_path)
    e = enterprises().with_columns(pl.col("enterprise_id").str.replace("0001$", "0099"))
    e = e.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(value)).otherwise(pl.col(col)).alias(col))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"enterprises": e}, "h7"), url=db_url)
    bad = [i for i in res.issues if i.severity == "error"]
    assert [(i.file, i.row, i.column, i.reason) for i in bad] == [("enterprises.csv", 1, col, "control_character")]
    assert res.tables["enterprises"].valid == 1
    assert unchanged_since(before, db_url)
    stored = items(db_url, "h7")[0]["value"]
    assert "\x00" not in stored and "\u202e" not in stored  # the report escapes it


def test_line_breaks_allowed_in_free_text_only(db_url, tmp_path):
    base(db_url, tmp_path)
    tips = pl.DataFrame({"tip_id": ["T1", "T2\nX"], "enterprise_id": [E1, E1], "received_date": ["2024-07-01"] * 2,
                         "channel": ["hotline"] * 2, "category": ["煤样造假"] * 2, "summary": ["第一行\n第二行", "x"]})
    res = ingest_bundle(make_bundle(tmp_path / "b", {"tips": tips}, "h8"), url=db_url)
    assert [(i.row, i.column, i.reason) for i in res.errors] == [(2, "tip_id", "control_character")]
    assert res.tables["tips"].new == 1


@pytest.mark.parametrize("col,n", [("unit_id", 201), ("city_name", 101)])
def test_too_long_values_quarantined_before_insert(db_url, tmp_path, col, n):
    """One 201-char id crashed a PostgreSQL ingest; one 101-char city name failed the night's cases stage."""
    from carbonqa.ingest.safety import store_width

    before = base(db_url, tmp_path)
    assert store_width("units", "unit_id") == 200 and store_width("enterprises", "city_name") == 100
    if col == "unit_id":
        u = units().with_columns(pl.Series("unit_id", ["U" * n, "U8", "U9"]))
        tables = {"units": u}
        fname = "units.csv"
    else:
        e = enterprises().with_columns(pl.Series("enterprise_id", ["911500000000000055", "913700000000000056"]),
                                       pl.Series("city_name", ["市" * n, "济南市"]))
        tables = {"enterprises": e}
        fname = "enterprises.csv"
    res = ingest_bundle(make_bundle(tmp_path / "b", tables, "h9"), url=db_url)
    assert [(i.file, i.row, i.column, i.reason) for i in res.errors] == [(fname, 1, col, "too_long")]
    assert str(n - 1) in res.errors[0].expected
    assert unchanged_since(before, db_url)
    assert sum(t.new for t in res.tables.values()) == (2 if col == "unit_id" else 1)


def test_integer_overflow_and_far_dates_quarantined(db_url, tmp_path):
    before = base(db_url, tmp_path)
    m = monthly(periods=("2024-08",)).with_columns(
        pl.Series("version", [3_000_000_000, 1, 1]), pl.Series("submitted_at", ["2024-08-28", "9999-12-31", "2024-08-28"]))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"monthly_reports": m}, "h10"), url=db_url)
    assert sorted((i.row, i.column, i.reason) for i in res.errors) == [
        (1, "version", "out_of_range"), (2, "submitted_at", "out_of_range")]
    assert res.tables["monthly_reports"].new == 1
    assert unchanged_since(before, db_url)


def test_long_hostile_header_is_stored_clipped_and_escaped(db_url, tmp_path):
    base(db_url, tmp_path)
    e = enterprises().with_columns(pl.col("enterprise_id").str.replace("0001$", "0098"),
                                   pl.lit("x").alias("h\x00" + "H" * 300))
    res = ingest_bundle(make_bundle(tmp_path / "b", {"enterprises": e}, "h11"), url=db_url)
    assert res.outcome == "landed", res.describe()
    it = [i for i in items(db_url, "h11") if i["reason"] == "extra_column"]
    assert len(it) == 1 and len(it[0]["column"]) <= 100 and "\x00" not in it[0]["column"]


def test_xlsx_formula_cells_cached_or_quarantined(db_url, tmp_path):
    import openpyxl

    before = base(db_url, tmp_path)
    b = make_bundle(tmp_path / "b", {"monthly_reports": monthly(periods=("2024-08",))}, "h12")
    m = monthly(periods=("2024-08",))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(m.columns)
    for r in m.iter_rows():
        ws.append(list(r))
    col = m.columns.index("emissions_tco2") + 1
    ws.cell(row=2, column=col, value="=248000*1")  # never calculated: no cached value
    wb.save(b / "monthly_reports.xlsx")
    # a second file whose formula has a cached value (as Excel saves it)
    path2 = b / "monthly_cached.xlsx"
    wb.save(path2)
    with zipfile.ZipFile(path2) as z:
        data = {n: z.read(n) for n in z.namelist()}
    sheet = next(n for n in data if n.startswith("xl/worksheets/sheet"))
    assert b"<f>248000*1</f><v />" in data[sheet]
    data[sheet] = data[sheet].replace(b"<f>248000*1</f><v />", b"<f>248000*1</f><v>248000</v>")
    with zipfile.ZipFile(path2, "w") as z:
        for n, d in data.items():
            z.writestr(n, d)
    (b / "monthly_reports.csv").unlink()
    man = json.loads((b / "manifest.json").read_text())
    man["tables"]["monthly_reports"] = {"file": "monthly_reports.xlsx", "sha256": _sha(b / "monthly_reports.xlsx"),
                                        "rows": 3}
    man["tables"]["lab_reports"] = {"file": "monthly_cached.xlsx", "sha256": _sha(path2), "rows": 3}
    (b / "manifest.json").write_text(json.dumps(man))
    res = ingest_bundle(b, url=db_url)
    f = [i for i in res.issues if i.reason == "formula_without_value"]
    assert [(i.file, i.row, i.column) for i in f] == [("monthly_reports.xlsx", 1, "emissions_tco2")]
    assert "选择性粘贴" in f[0].fix
    assert res.tables["monthly_reports"].new == 2 and res.tables["monthly_reports"].quarantined == 1
    assert unchanged_since(before, db_url)
    # the cached value is read (and said so), not a silent NULL
    r = read_mod.read_table_file(path2, "monthly_cached.xlsx", "monthly_reports")
    assert r.df is not None and r.df.filter(pl.col("__row") == 1)["emissions_tco2"][0] in ("248000", "248000.0")
    assert [i.reason for i in r.issues] == ["formula_cells"]


def test_ragged_csv_lines_reported_with_line_numbers(db_url, tmp_path):
    before = base(db_url, tmp_path)
    b = make_bundle(tmp_path / "b", {"monthly_reports": monthly(periods=("2024-08", "2024-09"))}, "h13")
    lines = (b / "monthly_reports.csv").read_text().splitlines()
    lines[2] = lines[2] + ",extra"  # line 3: too many fields (polars refused the whole file)
    lines[4] = ",".join(lines[4].split(",")[:5])  # line 5: too few (polars padded it with nulls)
    (b / "monthly_reports.csv").write_text("\n".join(lines) + "\n")
    reseal(b)
    res = ingest_bundle(b, url=db_url)
    rag = [i for i in res.issues if i.reason == "ragged_line"]
    assert [(i.file, i.row, i.value) for i in rag] == [("monthly_reports.csv", 2, "line 3: 18 fields"),
                                                      ("monthly_reports.csv", 4, "line 5: 5 fields")]
    assert res.tables["monthly_reports"].new == 4 and res.tables["monthly_reports"].quarantined == 2
    assert (get_settings().quarantine_dir / "h13" / "rows" / "monthly_reports.csv").is_file()
    assert unchanged_since(before, db_url)


def test_issue_bomb_is_capped_per_file(db_url, tmp_path):
    base(db_url, tmp_path)
    n = 5000
    bad = pl.DataFrame({"tip_id": [f"T{i}" for i in range(n)], "enterprise_id": [E1] * n,
                        "received_date": ["not a date"] * n, "channel": ["pigeon"] * n, "category": ["x"] * n,
                        "summary": ["y"] * n})
    res = ingest_bundle(make_bundle(tmp_path / "b", {"tips": bad}, "h14"), url=db_url)
    assert res.tables["tips"].quarantined == n
    listed = [i for i in res.issues if i.file == "tips.csv"]
    assert len(listed) == 1001 and listed[-1].reason == "more_issues"
    assert listed[-1].value == f"and {2 * n - 1000} more"
    assert len(items(db_url, "h14")) == 1001
    rows_csv = get_settings().quarantine_dir / "h14" / "rows" / "tips.csv"
    assert pl.read_csv(rows_csv).height == n  # every failing row is still kept


def test_xlsx_zip_bomb_refused_before_opening(db_url, tmp_path, monkeypatch):
    base(db_url, tmp_path)
    monkeypatch.setattr(read_mod, "XLSX_MAX_UNCOMPRESSED", 4096)
    b = make_bundle(tmp_path / "b", {"monthly_reports": {"df": monthly(), "fmt": "xlsx"},
                                     "lab_reports": labs()}, "h15")
    res = ingest_bundle(b, url=db_url)
    it = [i for i in res.issues if i.reason == "file_too_large"]
    assert [(i.file, i.row) for i in it] == [("monthly_reports.xlsx", None)]
    assert res.tables["lab_reports"].valid == 6


def test_bad_manifest_fields_refused(db_url, tmp_path):
    base(db_url, tmp_path)
    for extra, word in [({"period_start": "2024-07' OR 1=1"}, "period_start"),
                        ({"source": "s" * 201}, "source"),
                        ({"grid_emission_factor_tco2_per_mwh": 1e308}, "grid_emission_factor"),
                        ({"tables": {"monthly_reports": {"file": "monthly_reports.csv", "rows": 1e300}}}, "rows")]:
        b = make_bundle(tmp_path / f"b{word}", {"monthly_reports": monthly()}, "hm", manifest_extra=extra)
        res = ingest_bundle(b, url=db_url)
        assert res.outcome == "rejected" and word in res.reason, (word, res.reason)


# ---- 3. crash safety and concurrency ---------------------------------------------------------------
def test_failed_ingest_leaves_nothing_visible(db_url, tmp_path, monkeypatch):
    before = base(db_url, tmp_path)
    lake_before = sorted(get_settings().lake_dir.rglob("*.parquet"))
    import carbonqa.ingest.core as core

    def boom(*a, **k):
        raise OSError("disk full (simulated crash before the commit)")

    monkeypatch.setattr(core, "append_versioned", boom)
    b = make_bundle(tmp_path / "b", {"monthly_reports": monthly(periods=("2024-08",)).with_columns(
        pl.lit("x").alias("emissions_tco2"))}, "h16",
        telemetry_parts={"telemetry/part-0.parquet": telemetry(("U1",), start=dt.datetime(2024, 8, 5))})
    with pytest.raises(OSError):
        ingest_bundle(b, url=db_url)
    assert sorted(get_settings().lake_dir.rglob("*.parquet")) == lake_before
    assert not (get_settings().quarantine_dir / "h16").exists()
    assert not any((data_root(tmp_path) / ".staging").glob("*"))
    assert snapshot(db_url) == before
    with get_engine(db_url).connect() as c:
        assert c.execute(sa.select(Bundle.__table__.c.bundle_id)).scalars().all() == ["base"]


def test_staging_left_by_a_killed_ingest_is_published_or_discarded(db_url, tmp_path):
    base(db_url, tmp_path)
    staging = data_root(tmp_path) / ".staging"
    lake = get_settings().lake_dir
    # killed after its commit: recorded bundle → its files are published
    done = staging / "base-1-1"
    (done / "lake" / "province_code=15" / "period=2024-09").mkdir(parents=True)
    telemetry(("U1",), start=dt.datetime(2024, 9, 1), hours=2).write_parquet(
        done / "lake" / "province_code=15" / "period=2024-09" / "base__late.parquet")
    with get_engine(db_url).connect() as c:
        sha = c.execute(sa.select(Bundle.__table__.c.manifest_sha256)).scalar_one()
    (done / "bundle.json").write_text(json.dumps({"bundle_id": "base", "manifest_sha256": sha}))
    # killed before its commit: unknown bundle → discarded, never visible
    dead = staging / "ghost-1-2"
    (dead / "lake" / "province_code=15" / "period=2024-10").mkdir(parents=True)
    (dead / "lake" / "province_code=15" / "period=2024-10" / "ghost__x.parquet").write_bytes(b"PAR1")
    (dead / "bundle.json").write_text(json.dumps({"bundle_id": "ghost", "manifest_sha256": "0" * 64}))
    ingest_bundle(make_bundle(tmp_path / "b", {"agencies": agencies()}, "next"), url=db_url)
    assert (lake / "province_code=15" / "period=2024-09" / "base__late.parquet").is_file()
    assert not (lake / "province_code=15" / "period=2024-10").exists()
    assert not any(staging.iterdir())


def test_concurrent_overlapping_ingests_serialise(db_url, tmp_path):
    """Two deliveries of overlapping rows at once: both land, versions follow received_at, no UniqueViolation."""
    base(db_url, tmp_path)
    bundles = []
    for k in range(3):
        m = monthly(periods=("2024-08",)).with_columns(pl.lit(248000.0 + k).alias("emissions_tco2"))
        bundles.append(make_bundle(tmp_path / f"c{k}", {"monthly_reports": m}, f"c{k}"))
    errors: list[BaseException] = []
    results = []

    def run(b: Path) -> None:
        try:
            results.append(ingest_bundle(b, url=db_url))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and sorted(r.outcome for r in results) == ["landed"] * 3
    rt = raw_table("monthly_reports")
    with get_engine(db_url).connect() as c:
        got = c.execute(sa.select(rt.c.unit_id, rt.c.record_version, rt.c.bundle_id, rt.c.ingested_at)
                        .where(rt.c.period == "2024-08")).all()
        received = dict(c.execute(sa.select(Bundle.__table__.c.bundle_id, Bundle.__table__.c.received_at)).all())
    assert sorted(v for u, v, _, _ in got if u == "U1") == [1, 2, 3]
    order = [b for _, _, b, _ in sorted((r for r in got if r[0] == "U1"), key=lambda r: r[1])]
    assert order == sorted(order, key=lambda b: received[b])  # the current version is the last received


def test_ingest_lock_file_is_used(db_url, tmp_path):
    from carbonqa.ingest.core import _lock_paths

    paths = _lock_paths(db_url, data_root(tmp_path))
    assert paths[0] == data_root(tmp_path) / ".ingest.lock"
    if db_url.startswith("sqlite"):
        assert paths[1] == Path(f"{tmp_path / 'store.db'}.ingest.lock")


def test_unlisted_fifo_is_not_opened(tmp_path, db_url):
    base(db_url, tmp_path)
    b = make_bundle(tmp_path / "b", {"agencies": agencies()}, "h17")
    os.mkfifo(b / "pipe")
    res = ingest_bundle(b, url=db_url)  # must not hang on the FIFO
    assert res.outcome == "landed"


# ---- 4. exports: formula cells neutralised (OWASP CSV Injection) --------------------------------------
@pytest.mark.parametrize("value,out", [
    ("=HYPERLINK(\"http://x\",\"点击\")", "'=HYPERLINK(\"http://x\",\"点击\")"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|x", "'-2+3+cmd|x"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-12.5", "-12.5"), ("+3", "+3"), ("包头市", "包头市"), ("a=b", "a=b"), ("", ""),
])
def test_neutralise_cell_and_frame_agree(value, out):
    from carbonqa.textsafe import neutralise_cell, neutralise_frame

    assert neutralise_cell(value) == out
    assert neutralise_frame(pl.DataFrame({"s": [value], "n": [1.0]})).row(0) == (out, 1.0)


def test_case_exports_neutralise_formula_cells(db_url, tmp_path):
    from carbonqa.cases import export_cases
    from carbonqa.jurisdiction import Scope
    from carbonqa.queries import export_queue
    from carbonqa.store import session_scope
    from carbonqa.store.models import Case

    with session_scope(db_url) as s:
        s.add(Case(case_id="C-1", enterprise_id=E1, year=2024, province_code="15", city_name="=cmd|' /C calc'!A0",
                   summary="@SUM(1+1)*cmd|' /C calc'!A0", risk_score=50.0, rank=1, tco2_at_stake=-12.5,
                   families="accounting", rule_codes="ACC-001"))
    out = tmp_path / "cases.csv"
    assert export_cases(out, "csv", url=db_url) == 1
    row = pl.read_csv(out, infer_schema=False).row(0, named=True)
    assert row["city_name"] == "'=cmd|' /C calc'!A0" and row["summary"].startswith("'@SUM")
    assert row["tco2_at_stake"] == "-12.5" and row["enterprise_id"] == E1
    xl = tmp_path / "cases.xlsx"
    export_cases(xl, "xlsx", url=db_url)
    row = pl.read_excel(xl, infer_schema_length=0).row(0, named=True)
    assert row["city_name"] == "'=cmd|' /C calc'!A0"
    data = export_queue(Scope("nat", "national"), fmt="csv", url=db_url)
    assert b"'=cmd|" in data and b",=cmd" not in data


# ---- kill -9 during an ingest ------------------------------------------------------------------------
_CHILD = """
import sys, time
from pathlib import Path
import carbonqa.ingest.core as core
stage = sys.argv[3]
if stage == "before_commit":  # rows appended and telemetry staged, the report being written: not committed
    def hang(*a, **k):
        print("READY", flush=True); time.sleep(600)
    core.write_report = hang
else:
    real = core._publish
    def hang(*a, **k):
        print("READY", flush=True); time.sleep(600)
    core._publish = hang
core.ingest_bundle(Path(sys.argv[1]), url=sys.argv[2])
"""


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_kill_9_during_ingest_leaves_nothing_half_visible(db_url, tmp_path, when):
    import signal
    import subprocess

    before = base(db_url, tmp_path)
    lake = get_settings().lake_dir
    lake_before = sorted(lake.rglob("*.parquet"))
    b = make_bundle(tmp_path / "k", {"monthly_reports": monthly(periods=("2024-08",))}, "k1",
                    telemetry_parts={"telemetry/part-0.parquet": telemetry(("U1",), start=dt.datetime(2024, 8, 5))})
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(b), db_url, when], stdout=subprocess.PIPE,
                             env={**os.environ})
    try:
        assert child.stdout.readline().strip() == b"READY"
        staged = list((data_root(tmp_path) / ".staging").rglob("*.parquet"))
        assert staged, "the telemetry was staged before the hang"
        assert sorted(lake.rglob("*.parquet")) == lake_before  # nothing visible yet
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    with get_engine(db_url).connect() as c:
        recorded = c.execute(sa.select(Bundle.__table__.c.bundle_id)).scalars().all()
    if when == "before_commit":
        assert recorded == ["base"] and snapshot(db_url) == before
        assert sorted(lake.rglob("*.parquet")) == lake_before and not (get_settings().quarantine_dir / "k1").exists()
    else:
        assert sorted(recorded) == ["base", "k1"] and unchanged_since(before, db_url)
        assert sorted(lake.rglob("*.parquet")) == lake_before  # committed, not yet published
    # the next ingest (any bundle) publishes a committed leftover and discards an uncommitted one
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == ("landed" if when == "before_commit" else "duplicate"), res.describe()
    assert len(sorted(lake.rglob("*.parquet"))) == len(lake_before) + 1
    assert not any((data_root(tmp_path) / ".staging").iterdir())
    assert (get_settings().quarantine_dir / "k1" / "report.md").is_file()


# ---- property-based fuzzing of the readers and guards (hypothesis) -------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELL = st.lists(st.sampled_from(list("ab1.-=,\"\n\r\t \x00\u202e中") + ["1e308", "inf", "../", "15", "US-AZ"]),
                 max_size=6).map("".join)
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(rows=st.lists(st.lists(_CELL, min_size=0, max_size=8), max_size=12))
def test_fuzz_csv_reader_and_cast_never_raise(tmp_path_factory, rows):
    """Any CSV: read + cast return frames and issues (no exception); rows are accounted for once each;
    every landed text value is printable, within the store's width and a valid province code."""
    import csv as csv_mod
    import io

    from carbonqa.ingest.cast import cast_table
    from carbonqa.ingest.safety import store_width

    header = ["enterprise_id", "enterprise_name", "province_code", "city_name", "sector", "is_captive"]
    buf = io.StringIO()
    w = csv_mod.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    p = tmp_path_factory.mktemp("fz") / "enterprises.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    r = read_mod.read_table_file(p, "enterprises.csv", "enterprises")
    if r.df is None:
        assert any(i.severity == "error" for i in r.issues)
        return
    n_bad = r.bad_rows.height if r.bad_rows is not None else 0
    assert r.df["__row"].n_unique() == r.df.height
    assert r.df.height + n_bad == len(list(csv_mod.reader(io.StringIO(buf.getvalue(), newline="")))) - 1
    res = cast_table(r.df, "enterprises", known_refs={})
    assert res.valid.height + res.n_bad == r.df.height
    for c in ("enterprise_id", "province_code", "city_name"):
        for v in res.valid[c].drop_nulls().to_list():
            assert "\x00" not in v and "\u202e" not in v and "\n" not in v
            assert len(v) <= (store_width("enterprises", c) or 10**9)
    from carbonqa import contract

    assert all(contract.is_province_code(v) for v in res.valid["province_code"].to_list())


@_FUZZ
@given(rel=st.lists(st.sampled_from(["..", "/", "a", ".", "\\", "\x00", "b/", "~", "\u202e", "out"]), max_size=10)
       .map("".join))
def test_fuzz_resolve_inside_never_escapes(tmp_path_factory, rel):
    from carbonqa.ingest.safety import resolve_inside

    root = tmp_path_factory.mktemp("root")
    (root / "a").mkdir()
    (root / "a" / "out").symlink_to(root.parent, target_is_directory=True)
    path, why = resolve_inside(root, rel)
    assert (path is None) == (why is not None)
    if path is not None:
        assert path.is_relative_to(root.resolve())


@_FUZZ
@given(a=st.text(max_size=30), b=st.text(max_size=30))
def test_fuzz_safe_dir_name_is_a_safe_injective_folder_name(a, b):
    from carbonqa.ingest.safety import safe_dir_name

    for x in (a, b):
        s = safe_dir_name(x)
        assert "/" not in s and "\x00" not in s and s not in ("", ".", "..")
    if a != b:
        assert safe_dir_name(a) != safe_dir_name(b)


@_FUZZ
@given(v=st.text(max_size=20))
def test_fuzz_neutralised_cells_never_start_a_formula(v):
    from carbonqa.textsafe import FORMULA_PREFIXES, neutralise_cell, neutralise_frame

    out = neutralise_cell(v)
    assert neutralise_frame(pl.DataFrame({"s": [v]}))["s"][0] == out
    if out.startswith(FORMULA_PREFIXES):
        assert out[0] in "+-" and float(out.strip()) == float(out.strip())  # a signed number, not a formula


def test_manifest_bombs_and_links_refused(db_url, tmp_path):
    before = base(db_url, tmp_path)
    outside = tmp_path / "outside_manifest.json"
    b = make_bundle(tmp_path / "ml", {"agencies": agencies()}, "ml")
    (b / "manifest.json").rename(outside)
    (b / "manifest.json").symlink_to(outside)
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "rejected" and "symbolic link" in res.reason
    big = make_bundle(tmp_path / "mt", {"agencies": agencies()}, "mt",
                      manifest_extra={"tables": {f"t{i}": {"file": f"f{i}.csv"} for i in range(1000)}})
    res = ingest_bundle(big, url=db_url)
    assert res.outcome == "rejected" and "1000 tables" in res.reason
    assert unchanged_since(before, db_url)


def test_unknown_table_names_and_many_unlisted_files_are_stored_safely(db_url, tmp_path):
    before = base(db_url, tmp_path)
    b = make_bundle(tmp_path / "b", {"agencies": agencies()}, "h18")
    m = json.loads((b / "manifest.json").read_text())
    m["tables"]["evil\x00\u202etable"] = {"file": "x\x00.csv", "rows": 1}
    (b / "manifest.json").write_text(json.dumps(m))
    for i in range(ISSUES + 5):
        (b / f"junk{i}.txt").write_text("x")
    res = ingest_bundle(b, url=db_url)
    assert res.outcome == "landed", res.describe()
    unl = [i for i in res.issues if i.reason == "unlisted_file"]
    assert len(unl) == ISSUES + 1 and unl[-1].value == "and 5 more"
    with get_engine(db_url).connect() as c:
        files = c.execute(sa.select(Bundle.__table__.c.files).where(Bundle.__table__.c.bundle_id == "h18")).scalar_one()
    assert any("\\x00" in k for k in files) and not any("\x00" in k for k in files)
    assert unchanged_since(before, db_url)


ISSUES = 1000


def test_ragged_telemetry_csv_lines_counted_and_kept(db_url, tmp_path):
    base(db_url, tmp_path)
    t = telemetry(("U1",), start=dt.datetime(2024, 8, 1), hours=5).with_columns(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M"))
    lines = t.write_csv().splitlines()
    lines[3] += ",9,9"
    b = make_bundle(tmp_path / "b", {"agencies": agencies()}, "h19")
    (b / "telemetry").mkdir()
    (b / "telemetry" / "part-0.csv").write_text("\n".join(lines) + "\n")
    m = json.loads((b / "manifest.json").read_text())
    m["tables"]["telemetry"] = {"file": "telemetry", "rows": 5, "parts": [
        {"file": "telemetry/part-0.csv", "sha256": _sha(b / "telemetry" / "part-0.csv"), "rows": 5}]}
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    tc = res.tables["telemetry"]
    assert (tc.read, tc.new, tc.quarantined) == (5, 4, 1), res.describe()
    assert [(i.file, i.row, i.value) for i in res.issues if i.reason == "ragged_line"] == [
        ("telemetry/part-0.csv", 3, "line 4: 7 fields")]
    kept = list((get_settings().quarantine_dir / "h19" / "rows" / "telemetry").glob("*.parquet"))
    assert len(kept) == 1 and pl.read_parquet(kept[0]).height == 1


def test_nested_parquet_columns_and_deep_manifest_do_not_crash(db_url, tmp_path):
    before = base(db_url, tmp_path)
    e = enterprises().with_columns(pl.Series("enterprise_name", [["a"], ["b"]]))
    b = make_bundle(tmp_path / "b", {"enterprises": {"df": e, "fmt": "parquet"}, "agencies": agencies()}, "h20")
    res = ingest_bundle(b, url=db_url)
    it = [i for i in res.issues if i.reason == "file_unreadable"]
    assert [(i.file, i.column) for i in it] == [("enterprises.parquet", "enterprise_name")]
    assert res.tables["agencies"].valid == 1 and res.outcome == "partial"
    d = make_bundle(tmp_path / "d", {"agencies": agencies()}, "h21")
    (d / "manifest.json").write_text("[" * 200_000)
    res = ingest_bundle(d, url=db_url)
    assert res.outcome == "rejected" and "not valid UTF-8 JSON" in res.reason
    assert unchanged_since(before, db_url)


def test_parquet_binary_and_uint64_cells_quarantined_not_crashing(db_url, tmp_path):
    before = base(db_url, tmp_path)
    e = enterprises().with_columns(pl.Series("enterprise_id", ["911500000000000031", "913700000000000032"]),
                                   pl.Series("enterprise_name", [b"\xff\xfe", "济南".encode()], dtype=pl.Binary))
    m = monthly(periods=("2024-08",)).with_columns(pl.Series("version", [2**64 - 1, 1, 1], dtype=pl.UInt64))
    b = make_bundle(tmp_path / "b", {"enterprises": {"df": e, "fmt": "parquet"},
                                     "monthly_reports": {"df": m, "fmt": "parquet"}}, "h22")
    res = ingest_bundle(b, url=db_url)
    assert sorted((i.file, i.row, i.column, i.reason) for i in res.errors) == [
        ("enterprises.parquet", 1, "enterprise_name", "bad_encoding"),
        ("monthly_reports.parquet", 1, "version", "not_integer")]
    assert res.tables["enterprises"].new == 1 and res.tables["monthly_reports"].new == 2
    assert unchanged_since(before, db_url)


_POOL = {
    pl.String: ["x", "", None, "1e308", "2024-07", "中\x00", "-0", "15"],
    pl.Int64: [0, -1, 2**63 - 1, None, 2024],
    pl.UInt64: [0, 2**64 - 1, None],
    pl.Float64: [0.0, float("inf"), float("nan"), -1e308, None, 21.5],
    pl.Boolean: [True, False, None],
    pl.Date: [dt.date(2024, 7, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31), None],
    pl.Datetime("us", "UTC"): [dt.datetime(2024, 7, 1, tzinfo=dt.UTC), None],
    pl.Binary: [b"\xff", b"ok", None],
    pl.Time: [dt.time(1), None],
    pl.Duration("us"): [dt.timedelta(1), None],
    pl.List(pl.String): [["a"], None],
    pl.Decimal(10, 2): [None],
}
_DTYPES = list(_POOL)


@_FUZZ
@given(data=st.data(), table=st.sampled_from(["enterprises", "monthly_reports"]))
def test_fuzz_parquet_any_dtype_never_crashes(tmp_path_factory, data, table):
    """Any Parquet column type and extreme value: read + cast give frames and issues, never an exception."""
    from carbonqa import contract
    from carbonqa.ingest.cast import cast_table

    cols = {}
    for c in contract.table(table).names:
        dtype = data.draw(st.sampled_from(_DTYPES), label=c)
        vals = data.draw(st.lists(st.sampled_from(_POOL[dtype]), min_size=3, max_size=3), label=f"{c} values")
        cols[c] = pl.Series(c, vals, dtype=dtype)
    p = tmp_path_factory.mktemp("pq") / f"{table}.parquet"
    pl.DataFrame(cols).write_parquet(p)
    r = read_mod.read_table_file(p, p.name, table)
    if r.df is None:
        assert r.issues
        return
    res = cast_table(r.df, table, known_refs={})
    assert res.valid.height + res.n_bad == r.df.height
    res.valid.to_dicts()  # every landed value converts to Python (what the insert does)


def test_same_bundle_delivered_twice_at_once_lands_once(db_url, tmp_path):
    b = full_bundle(tmp_path / "same", "same")
    results, errors = [], []

    def run() -> None:
        try:
            results.append(ingest_bundle(b, url=db_url).outcome)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and sorted(results) == ["duplicate", "duplicate", "landed"]
    assert len(list(get_settings().lake_dir.rglob("*.parquet"))) == 4


def test_issues_capped_per_bundle(db_url, tmp_path, monkeypatch):
    import carbonqa.ingest.core as core

    base(db_url, tmp_path)
    monkeypatch.setattr(core, "BUNDLE_MAX_ISSUES", 50)
    n = 300
    bad = pl.DataFrame({"tip_id": [f"T{i}" for i in range(n)], "enterprise_id": [E1] * n,
                        "received_date": ["not a date"] * n, "channel": ["hotline"] * n, "category": ["x"] * n,
                        "summary": ["y"] * n})
    res = ingest_bundle(make_bundle(tmp_path / "b", {"tips": bad}, "h23"), url=db_url)
    assert len(res.issues) == 51 and res.issues[-1].value == f"and {n - 50} more"
    assert len(items(db_url, "h23")) == 51


def test_failed_publish_after_commit_keeps_staging_for_the_next_ingest(db_url, tmp_path, monkeypatch):
    import carbonqa.ingest.core as core

    base(db_url, tmp_path)
    real = core._publish

    def fail(*a, **k):
        raise OSError("disk full (simulated, after the commit)")

    monkeypatch.setattr(core, "_publish", fail)
    b = make_bundle(tmp_path / "b", {"agencies": agencies()}, "h24",
                    telemetry_parts={"telemetry/part-0.parquet": telemetry(("U1",), start=dt.datetime(2024, 9, 1))})
    with pytest.raises(OSError):
        ingest_bundle(b, url=db_url)
    assert any((data_root(tmp_path) / ".staging").rglob("*.parquet"))  # kept, not deleted
    monkeypatch.setattr(core, "_publish", real)
    assert ingest_bundle(b, url=db_url).outcome == "duplicate"  # committed; its files now published
    assert any(get_settings().lake_dir.glob("province_code=15/period=2024-09/h24__*.parquet"))


def test_labels_file_listed_as_a_table_is_never_read(db_url, tmp_path):
    """CONTRACT.md §4: truth labels are never read while screening, even when a manifest lists them."""
    base(db_url, tmp_path)
    b = make_bundle(tmp_path / "b", {"agencies": agencies()}, "h25")
    (b / "labels.csv").write_text("tip_id,enterprise_id\nT-LEAK," + E1 + "\n")
    m = json.loads((b / "manifest.json").read_text())
    m["tables"]["tips"] = {"file": "./labels.csv", "sha256": _sha(b / "labels.csv"), "rows": 1}
    (b / "manifest.json").write_text(json.dumps(m))
    res = ingest_bundle(b, url=db_url)
    assert [(i.file, i.reason) for i in res.errors] == [("./labels.csv", "reserved_file")]
    with get_engine(db_url).connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(raw_table("tips"))).scalar_one() == 0
