"""Telemetry → the Parquet lake, hive-partitioned ``province_code=XX/period=YYYY-MM/``.

Each bundle part is read in slices of :data:`BATCH_ROWS` rows (bounded memory whatever the part's size),
cast and validated like every table (:func:`carbonqa.ingest.cast.cast_table`, with the failing-row
report capped to a sample), given the unit's province (unit → enterprise → ``province_code``), and
written as one file per (part, slice, partition) named ``<bundle_id>__<hash>.parquet``, its rows sorted
by (``unit_id``, ``ts``) (issue 13 item 5). The layout works on stretches of rows of one unit in one
month (:func:`_segments`) — a few thousand per slice when the logger exported unit by unit in time order,
so the province lookup and the partitioning touch stretches, not rows, and the rows are gathered once
into partition order; rows in any other order are first grouped by one integer sort
(:func:`_unit_month_order`). ``hash`` is
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
#: Column statistics (min/max) in lake files: none. :mod:`carbonqa.lake` prunes by partition folder only
#: and aggregates every row it scans, so no read uses them; skipping them saves ~7 % of the write.
LAKE_STATISTICS = False
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


#: Bits of a (unit, month) sort key left to the offset of ``ts`` in its month: 2⁴² µs ≈ 50.9 days > 31.
_OFFSET_BITS = 42


def _months(ts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Month starts spanned by ``ts`` (Datetime µs, no null) and each row's 0-based index among them (Int64).

    Found by binary search among the months (at most 2,412 after the cast's
    :data:`carbonqa.contract.DATE_MIN`–``DATE_MAX`` check), cheaper than a calendar computation per row.
    """
    lo: dt.datetime = ts.min()  # type: ignore[assignment]
    months = pl.datetime_range(dt.datetime(lo.year, lo.month, 1), ts.max(), "1mo", time_unit="us", eager=True)
    return months, months.search_sorted(ts, side="right").cast(pl.Int64) - 1


def _ym_of(months: pl.Series) -> pl.Series:
    """``year × 100 + month`` (Int64) of month starts: the integer partition key ``__ym``."""
    return months.dt.year().cast(pl.Int64) * 100 + months.dt.month()


def _province_per_unit(unit_province: pl.DataFrame) -> pl.DataFrame:
    """``unit_id, province_code`` as text, one row per unit (a repeated unit takes its last row)."""
    return unit_province.select(pl.col("unit_id").cast(pl.String), pl.col("province_code").cast(pl.String)) \
        .unique("unit_id", keep="last")


def _segments(valid: pl.DataFrame, unit_province: pl.DataFrame, ordered: bool = False) -> pl.DataFrame | None:
    """Stretches of consecutive rows of one unit in one month, or ``None`` when they cannot be laid out as they are.

    ``valid``: contract telemetry rows (``unit_id``, ``ts`` never null). Returns a frame with one row per
    stretch, in row order — ``start`` (row offset), ``len`` (rows), ``unit_id``, ``province_code`` (the
    unit's, :data:`UNKNOWN_PROVINCE` when its enterprise is not known; a unit repeated in
    ``unit_province`` takes its last row), ``__ym`` (month of ``ts`` as ``year × 100 + month``, a cheap
    integer partition key whose ``YYYY-MM`` text is formatted once per month, not per row) — provided
    ``ts`` strictly increases inside each stretch and no (unit, month) has two stretches, as when a logger
    exports unit by unit (or month by month, unit by unit) in time order: a few thousand stretches for
    2 M rows. Otherwise ``None``, found early where it is cheap: ``ts`` stalls inside a run of one unit, or
    there are more stretches than ``unit_province``'s units × months (a time-major export).
    ``ordered``: the caller already laid the rows out so (:func:`_unit_month_order`, or whole partitions
    dropped from such rows); the checks are skipped.
    """
    schema = {"start": pl.UInt32, "len": pl.UInt32, "unit_id": pl.String, "province_code": pl.String, "__ym": pl.Int64}
    if valid.height == 0:
        return pl.DataFrame(schema=schema)
    ts = valid.get_column("ts")
    months, mi = _months(ts)
    lens = valid.select(pl.col("unit_id").rle().struct.field("len").cast(pl.Int64)).to_series()
    if not ordered and lens.len() > unit_province.height * months.len():  # more runs than (unit, month) pairs
        return None
    run_starts = lens.cum_sum() - lens
    step = pl.DataFrame({"__mi": mi, "ts": ts}).select(
        (pl.col("__mi") != pl.col("__mi").shift(1)).fill_null(False).arg_true().cast(pl.Int64).implode().alias("month"),
        (pl.col("ts") <= pl.col("ts").shift(1)).fill_null(False).arg_true().cast(pl.Int64).implode().alias("stall"))
    month_starts, stalls = step.get_column("month")[0], step.get_column("stall")[0]
    start = pl.concat([run_starts, month_starts]).unique().sort()
    if not ordered and (start.len() > unit_province.height * months.len() or stalls.len() >= run_starts.len()
                        or not stalls.is_in(run_starts.implode()).all()):  # ts strictly increases in a unit's run
        return None
    yms = _ym_of(months)
    segs = pl.DataFrame({"start": start}).select(
        pl.col("start"),
        pl.col("start").shift(-1).fill_null(valid.height).sub(pl.col("start")).alias("len"),
        valid.get_column("unit_id").gather(start).alias("unit_id"),
        yms.gather(mi.gather(start)).alias("__ym"),
    )
    if not ordered and segs.height != segs.select("unit_id", "__ym").n_unique():
        return None
    segs = segs.join(_province_per_unit(unit_province), on="unit_id", how="left", maintain_order="left").with_columns(
        pl.col("province_code").fill_null(UNKNOWN_PROVINCE))
    return segs.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _row_keys(valid: pl.DataFrame, unit_province: pl.DataFrame) -> pl.DataFrame:
    """``province_code`` and ``__ym`` of each row of ``valid`` (see :func:`_segments`), in row order."""
    months, mi = _months(valid.get_column("ts"))
    return valid.select("unit_id").join(_province_per_unit(unit_province), on="unit_id", how="left",
                                        maintain_order="left").select(
        pl.col("province_code").fill_null(UNKNOWN_PROVINCE), _ym_of(months).gather(mi).alias("__ym"))


def _unit_month_order(valid: pl.DataFrame) -> pl.DataFrame:
    """``valid`` reordered so that each (unit, month) is one stretch in time order (rows of any export order).

    Keys (unit_id, ts) must be distinct (as :func:`carbonqa.ingest.cast.cast_table` leaves them). One sort
    of a 64-bit integer ``(unit index × months + month) << 42 | µs into the month`` — ~4× cheaper than
    sorting by the unit's text — unless units × months exceed what 21 bits hold (2,097,152; a slice has at
    most :data:`BATCH_ROWS` units), when the rows are sorted by (unit_id, ts) directly.
    """
    ts = valid.get_column("ts")
    months, mi = _months(ts)
    units = valid.get_column("unit_id").unique()
    if units.len() * months.len() >= 1 << (63 - _OFFSET_BITS):
        return valid.sort("unit_id", "ts")
    code = valid.get_column("unit_id").cast(pl.Enum(units)).to_physical().cast(pl.Int64)
    offset = ts.to_physical() - months.to_physical().gather(mi)
    return valid[((code * months.len() + mi) * (1 << _OFFSET_BITS) + offset).arg_sort()]


def _lake_partitions(
    valid: pl.DataFrame, segs: pl.DataFrame, ingested_at: dt.datetime
) -> dict[tuple[str, int], pl.DataFrame]:
    """Lake frames (columns :data:`LAKE_COLUMNS`) per (province_code, ``__ym``), each sorted by (unit_id, ts).

    ``segs``: :func:`_segments` of ``valid`` with ``ordered`` true. Its stretches are sorted by (province,
    month, unit_id) and the rows gathered once in that order; each partition is then a slice (no copy).
    ``interval_hours`` missing → 1 h (the contract's default); ``ingested_at`` the same for every row.
    """
    order = segs.sort("province_code", "__ym", "unit_id")
    perm = order.select(pl.int_ranges("start", pl.col("start") + pl.col("len"), dtype=pl.UInt32).explode()).to_series()
    rows = valid[perm].with_columns(
        pl.col("interval_hours").fill_null(1.0), pl.lit(ingested_at, dtype=pl.Datetime("us")).alias("ingested_at"))
    sizes = order.group_by("province_code", "__ym", maintain_order=True).agg(pl.col("len").sum())
    out: dict[tuple[str, int], pl.DataFrame] = {}
    offset = 0
    for prov, ym, n in sizes.iter_rows():
        out[(prov, ym)] = rows.slice(offset, n).select(LAKE_COLUMNS)
        offset += n
    return out


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
        g.write_parquet(tmp, compression=LAKE_COMPRESSION, statistics=LAKE_STATISTICS)
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

    ``unit_province``: frame ``[unit_id, province_code]`` of every known unit (store + bundle), one row
    per unit (a repeated unit takes its last row).
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
            valid = res.valid
            lay, segs = valid, _segments(valid, unit_province)
            if segs is None:  # not exported unit by unit in time order (keys are distinct after the cast)
                lay = _unit_month_order(valid)
                segs = _segments(lay, unit_province, ordered=True)
            assert segs is not None
            period_of, bad = _partition_ok(segs.select("province_code", "__ym").unique(maintain_order=True).rows())
            if bad:
                bad_keys = pl.DataFrame(bad, schema={"province_code": pl.String, "__ym": pl.Int64}, orient="row") \
                    .select(pl.struct("province_code", "__ym")).to_series().implode()
                refused = pl.struct("province_code", "__ym").is_in(bad_keys)
                # the refused rows in the part's order; the others stay in the layout (whole partitions go)
                bad_part = valid.select("unit_id", "ts").hstack(_row_keys(valid, unit_province)).filter(refused)
                lay = lay.filter(~_row_keys(lay, unit_province).select(refused).to_series())
                segs = _segments(lay, unit_province, ordered=True)
                assert segs is not None
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
            parts = _lake_partitions(lay, segs, ingested_at)
            out.rows_valid += lay.height
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
