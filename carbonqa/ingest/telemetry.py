"""Telemetry → the Parquet lake, hive-partitioned ``province_code=XX/period=YYYY-MM/``.

Each bundle part is read in slices of :data:`BATCH_ROWS` rows (bounded memory whatever the part's size),
cast and validated like every table (:func:`carbonqa.ingest.cast.cast_table`, with the failing-row
report capped to a sample), joined to the unit's province (unit → enterprise → ``province_code``), and
written as one file per (part, slice, partition) named ``<bundle_id>__<hash>.parquet``. ``hash`` is
derived from the part's SHA-256, the slice and the partition only, so re-ingesting the same content —
even under another bundle id — writes nothing new. Files are written into a *staging* folder outside
the lake (``stage_dir``), which :func:`carbonqa.ingest.ingest_bundle` moves into the lake only after
the database commit: a killed ingest leaves nothing that screening reads (issue 14 item 3).

Partition values come from data (the enterprise's ``province_code``, the month of ``ts``), so each is
checked against its vocabulary (:func:`carbonqa.contract.is_province_code`, ``unknown`` for a unit whose
enterprise is not known; :func:`carbonqa.contract.is_period`) and the folder resolved inside the lake;
rows that fail are quarantined (``bad_partition``), never written elsewhere. Lake files carry ``ingested_at`` so :func:`carbonqa.lake.scan_telemetry`
can resolve the same (unit_id, ts) delivered by several bundles to the latest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from carbonqa import contract
from carbonqa.ingest.cast import cast_table
from carbonqa.ingest.read import read_table_file, scan_parquet_batches
from carbonqa.ingest.report import Issue
from carbonqa.ingest.safety import resolve_inside, safe_dir_name

__all__ = ["BATCH_ROWS", "LAKE_COLUMNS", "TelemetryCounts", "ingest_telemetry_part", "safe_name"]

#: Rows per slice of a telemetry part (≈ 100 MB of working memory).
BATCH_ROWS = 2_000_000
#: Columns of a lake file (province_code and period live in the directory names).
LAKE_COLUMNS = ("unit_id", "ts", "gross_load_mw", "coal_feed_t", "cems_co2_t", "interval_hours", "ingested_at")
#: Lake file compression: Snappy writes a national year's 27.8 M rows about twice as fast as zstd and
#: reads them back faster, for ~1.6× the bytes (bench/README "speed"; the lake is a working copy —
#: the submitted parts stay in the bundle).
LAKE_COMPRESSION = "snappy"
#: Failing rows listed individually per check and part; the rest are counted and kept in quarantine.
SAMPLE_ROWS = 20


def safe_name(s: str) -> str:
    """File-name-safe form of a bundle id or path: :func:`carbonqa.ingest.safety.safe_dir_name`."""
    return safe_dir_name(s)


#: Province value of lake rows whose unit's enterprise is not known (written by ingest itself).
UNKNOWN_PROVINCE = "unknown"


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


#: Month of ``ts`` as ``year × 100 + month`` (a cheap integer partition key; the ``YYYY-MM`` text of a
#: period is formatted once per distinct key, not once per row).
_YM = (pl.col("ts").dt.year().cast(pl.Int64) * 100 + pl.col("ts").dt.month()).alias("__ym")


def _partition_ok(keys: list[tuple[str, int]]) -> tuple[dict[int, str], list[tuple[str, int]]]:
    """Period text per ``__ym`` and the (province, ``__ym``) keys that may *not* name a lake folder.

    Checked once per distinct (province, period), not per row (27.8 M rows a national year). The period is
    ``ts.dt.strftime("%Y-%m")`` of the month's first day (the same text as of any ``ts`` of that month).
    """
    yms = pl.DataFrame({"__ym": sorted({ym for _, ym in keys})}, schema={"__ym": pl.Int64}).with_columns(
        pl.date(pl.col("__ym") // 100, pl.col("__ym") % 100, 1).dt.strftime("%Y-%m").alias("period"))
    period_of = dict(zip(yms["__ym"].to_list(), yms["period"].to_list(), strict=True))
    bad = [(p, ym) for p, ym in keys
           if not ((p == UNKNOWN_PROVINCE or contract.is_province_code(p)) and contract.is_period(period_of[ym]))]
    return period_of, bad


def _write_partitions(
    parts: dict[tuple[str, int], pl.DataFrame], period_of: dict[int, str], lake_dir: Path, bundle_id: str,
    part_sha: str, batch: int, stage_dir: Path | None = None,
) -> tuple[int, int]:
    written = rows = 0
    for (prov, ym), g in parts.items():
        period = period_of[ym]
        h = hashlib.sha256(f"{part_sha}|{batch}|{BATCH_ROWS}|{prov}|{period}".encode()).hexdigest()[:16]
        rel = f"province_code={prov}/period={period}"
        final, why = resolve_inside(lake_dir, rel)
        if final is None:  # unreachable after _partition_ok; kept as the last line of defence
            raise ValueError(f"lake partition {rel!r} refused: {why}")
        if final.is_dir() and any(final.glob(f"*__{h}.parquet")):
            continue
        d = (stage_dir / rel) if stage_dir is not None else final
        d.mkdir(parents=True, exist_ok=True)
        target = d / f"{safe_name(bundle_id)}__{h}.parquet"
        tmp = target.with_suffix(".parquet.tmp")
        g.select(LAKE_COLUMNS).write_parquet(tmp, compression=LAKE_COMPRESSION, statistics=True)
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
    stage_dir: Path | None = None,
) -> TelemetryCounts:
    """Validate one telemetry file and add its valid rows to the lake (or to ``stage_dir``).

    ``stage_dir``: where lake files are written (same layout as the lake) for the caller to move into
    ``lake_dir`` after its commit; ``None`` writes into ``lake_dir`` directly.

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
        if fmt != "parquet" and r.bad_rows is not None and r.bad_rows.height:  # ragged lines, formula cells
            out.rows_read += r.bad_rows.height
            out.rows_quarantined += r.bad_rows.height
            bad_frames.append(r.bad_rows.select(pl.all().cast(pl.String)))
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
                bad_frames.append(res.bad_rows.select(pl.all().cast(pl.String)))
            valid = res.valid.with_columns(
                pl.col("interval_hours").fill_null(1.0),
                _YM,
                pl.lit(ingested_at, dtype=pl.Datetime("us")).alias("ingested_at"),
            ).join(unit_province, on="unit_id", how="left").with_columns(
                pl.col("province_code").fill_null(UNKNOWN_PROVINCE))
            # one partition_by gives the keys to check and the files to write (a bad key's rows are dropped
            # from ``parts``; the other partitions hold the same rows in the same order either way)
            parts = valid.partition_by(["province_code", "__ym"], as_dict=True)
            period_of, bad = _partition_ok(list(parts))
            if bad:
                bad_keys = pl.DataFrame(bad, schema={"province_code": pl.String, "__ym": pl.Int64}, orient="row")
                ok = ~pl.struct("province_code", "__ym").is_in(
                    bad_keys.select(pl.struct("province_code", "__ym")).to_series().implode())
                bad_part = valid.filter(~ok)
                valid = valid.filter(ok)
                refused = set(bad)
                parts = {k: g for k, g in parts.items() if k not in refused}
                bad_part = bad_part.with_columns(pl.col("ts").dt.strftime("%Y-%m").alias("period"))
                out.rows_quarantined += bad_part.height
                for prov, period, n_bad in (bad_part.group_by("province_code", "period", maintain_order=True)
                                            .len().head(SAMPLE_ROWS).iter_rows()):
                    out.issues.append(Issue(
                        "telemetry", rel, "bad_partition", None, "province_code" if not (
                            prov == UNKNOWN_PROVINCE or contract.is_province_code(prov)) else "ts",
                        f"province_code {str(prov)[:40]!r}, period {str(period)[:12]!r}: {n_bad} rows",
                        "a GB/T 2260 province code of the unit's enterprise and a month YYYY-MM",
                        "rows not ingested: correct the enterprise's province_code (enterprises) or the timestamps, "
                        "then re-deliver"))
                bad_frames.append(bad_part.select(pl.col("unit_id"), pl.col("ts").cast(pl.String),
                                                  pl.col("province_code").cast(pl.String), pl.col("period")))
            out.rows_valid += valid.height
            w, n = _write_partitions(parts, period_of, lake_dir, bundle_id, part_sha, b, stage_dir)
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
        pl.concat(bad_frames, how="diagonal_relaxed").write_parquet(bad_rows_dir / (safe_name(rel)[:120] + f"-{part_sha[:12]}.parquet"))
    return out
