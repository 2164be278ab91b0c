"""Telemetry → the Parquet lake, hive-partitioned ``province_code=XX/period=YYYY-MM/``.

Each bundle part is read in slices of :data:`BATCH_ROWS` rows (bounded memory whatever the part's size),
cast and validated like every table (:func:`carbonqa.ingest.cast.cast_table`, with the failing-row
report capped to a sample), joined to the unit's province (unit → enterprise → ``province_code``), and
written as one file per (part, slice, partition) named ``<bundle_id>__<hash>.parquet``. ``hash`` is
derived from the part's SHA-256, the slice and the partition only, so re-ingesting the same content —
even under another bundle id — writes nothing new. Files are written to a temporary name and renamed
(readers never see half a file). Lake files carry ``ingested_at`` so :func:`carbonqa.lake.scan_telemetry`
can resolve the same (unit_id, ts) delivered by several bundles to the latest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from carbonqa.ingest.cast import cast_table
from carbonqa.ingest.read import read_table_file, scan_parquet_batches
from carbonqa.ingest.report import Issue

__all__ = ["BATCH_ROWS", "LAKE_COLUMNS", "TelemetryCounts", "ingest_telemetry_part", "safe_name"]

#: Rows per slice of a telemetry part (≈ 100 MB of working memory).
BATCH_ROWS = 2_000_000
#: Columns of a lake file (province_code and period live in the directory names).
LAKE_COLUMNS = ("unit_id", "ts", "gross_load_mw", "coal_feed_t", "cems_co2_t", "interval_hours", "ingested_at")
#: Failing rows listed individually per check and part; the rest are counted and kept in quarantine.
SAMPLE_ROWS = 20


def safe_name(s: str) -> str:
    """File-name-safe form of a bundle id."""
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", s)


@dataclass
class TelemetryCounts:
    """What one telemetry part produced."""

    rows_read: int = 0
    rows_valid: int = 0
    rows_new: int = 0
    rows_quarantined: int = 0
    files_written: int = 0
    issues: list[Issue] = field(default_factory=list)
    whole_file_quarantined: bool = False


def _write_partitions(
    valid: pl.DataFrame, lake_dir: Path, bundle_id: str, part_sha: str, batch: int
) -> tuple[int, int]:
    written = rows = 0
    for (prov, period), g in valid.partition_by(["province_code", "period"], as_dict=True).items():
        h = hashlib.sha256(f"{part_sha}|{batch}|{BATCH_ROWS}|{prov}|{period}".encode()).hexdigest()[:16]
        d = lake_dir / f"province_code={prov}" / f"period={period}"
        d.mkdir(parents=True, exist_ok=True)
        if any(d.glob(f"*__{h}.parquet")):
            continue
        target = d / f"{safe_name(bundle_id)}__{h}.parquet"
        tmp = target.with_suffix(".parquet.tmp")
        g.select(LAKE_COLUMNS).write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, target)
        written += 1
        rows += g.height
    return written, rows


def ingest_telemetry_part(
    path: Path,
    rel: str,
    part_sha: str,
    bundle_id: str,
    unit_province: pl.DataFrame,
    lake_dir: Path,
    ingested_at: dt.datetime,
    bad_rows_dir: Path,
) -> TelemetryCounts:
    """Validate one telemetry file and add its valid rows to the lake.

    ``unit_province``: frame ``[unit_id, province_code]`` of every known unit (store + bundle).
    Failing rows (unknown unit_id, unparseable ts, negative values, …) are counted, a sample of
    :data:`SAMPLE_ROWS` per check becomes issues, and all of them are written to
    ``bad_rows_dir/<part>.parquet``. Never raises for bad content; an unreadable file is reported.
    """
    out = TelemetryCounts()
    known = {"units.unit_id": unit_province.get_column("unit_id")}
    fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else None
    try:
        if fmt == "parquet":
            batches = scan_parquet_batches(path, rel, "telemetry", BATCH_ROWS)
        else:
            r = read_table_file(path, rel, "telemetry")
            out.issues += r.issues
            batches = iter([(r.df, [])])
        bad_frames: list[pl.DataFrame] = []
        for b, (df, issues) in enumerate(batches):
            out.issues += issues
            if df is None:
                out.whole_file_quarantined = True
                return out
            res = cast_table(df, "telemetry", known_refs=known, sample_limit=SAMPLE_ROWS)
            out.rows_read += res.n_read
            out.rows_quarantined += res.n_bad
            out.issues += res.issues
            if res.n_bad:
                bad_frames.append(res.bad_rows)
            valid = res.valid.with_columns(
                pl.col("interval_hours").fill_null(1.0),
                pl.col("ts").dt.strftime("%Y-%m").alias("period"),
                pl.lit(ingested_at, dtype=pl.Datetime("us")).alias("ingested_at"),
            ).join(unit_province, on="unit_id", how="left").with_columns(pl.col("province_code").fill_null("unknown"))
            out.rows_valid += valid.height
            w, n = _write_partitions(valid, lake_dir, bundle_id, part_sha, b)
            out.files_written += w
            out.rows_new += n
    except Exception as exc:  # noqa: BLE001 - a reader failure quarantines the file with the message
        out.issues.append(Issue(
            "telemetry", rel, "file_unreadable", value=f"{type(exc).__name__}: {str(exc)[:300]}",
            expected="a readable Parquet/CSV telemetry file",
            fix="re-export the file (check for a truncated upload)"))
        out.whole_file_quarantined = True
        return out
    if bad_frames:
        bad_rows_dir.mkdir(parents=True, exist_ok=True)
        pl.concat(bad_frames, how="diagonal_relaxed").write_parquet(bad_rows_dir / (safe_name(rel) + ".parquet"))
    return out
