"""Reads of the telemetry lake (``get_settings().lake_dir``), written by :mod:`carbonqa.ingest`.

Layout: ``province_code=XX/period=YYYY-MM/<bundle_id>__<hash>.parquet``; each file has the columns
``unit_id, ts, gross_load_mw, coal_feed_t, cems_co2_t, interval_hours, ingested_at`` (``ts`` naive China
Standard Time, start of the interval; ``interval_hours`` hours covered by the row, 1 for hourly data),
its rows sorted by (``unit_id``, ``ts``) (files written before that change may be in delivery order; no
read here depends on the order).

Beside each lake file ingest writes its unit × month statistics, ``<bundle_id>__<hash>.monthly.arrow``
(:data:`SIDECAR_SUFFIX`; Arrow IPC, columns :data:`SIDECAR_COLUMNS`, one row per unit, computed by
:func:`aggregate_monthly` from the rows it wrote), so :func:`monthly_telemetry` need not re-read the
27.8 M rows of a national year that ingest held in memory moments before (bench/README "speed",
session 8). A sidecar stands for its own lake file only (the name hashes the file's content): a
partition is read from sidecars when every file in it has one and they can simply be put side by side;
otherwise — files of several bundles (the latest delivery must win), a file without a sidecar (written
before them, or an unreadable one), a unit-month split over two files — its rows are scanned as before.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from carbonqa import contract
from carbonqa.settings import get_settings

__all__ = ["scan_telemetry", "monthly_telemetry", "aggregate_monthly", "sidecar_path", "TELEMETRY_COLUMNS",
           "MONTHLY_COLUMNS", "SIDECAR_COLUMNS", "SIDECAR_SUFFIX"]

#: Columns of :func:`scan_telemetry`, in order.
TELEMETRY_COLUMNS: dict[str, pl.DataType] = {
    "unit_id": pl.String(),
    "ts": pl.Datetime("us"),
    "gross_load_mw": pl.Float64(),
    "coal_feed_t": pl.Float64(),
    "cems_co2_t": pl.Float64(),
    "interval_hours": pl.Float64(),
    "province_code": pl.String(),
    "period": pl.String(),
}
#: Columns of :func:`monthly_telemetry`, in order.
MONTHLY_COLUMNS: dict[str, pl.DataType] = {
    "unit_id": pl.String(),
    "period": pl.String(),
    "province_code": pl.String(),
    "generation_mwh": pl.Float64(),
    "coal_feed_t": pl.Float64(),
    "cems_co2_t": pl.Float64(),
    "hours_with_load": pl.Float64(),
    "hours_covered": pl.Float64(),
    "rows": pl.UInt32(),
}

#: Columns of a lake file's statistics sidecar (:func:`sidecar_path`): :data:`MONTHLY_COLUMNS` without the
#: partition's ``province_code`` and ``period`` (the folder names hold them).
SIDECAR_COLUMNS: dict[str, pl.DataType] = {k: v for k, v in MONTHLY_COLUMNS.items() if k not in ("period", "province_code")}
#: Suffix of a statistics sidecar, in place of the lake file's ``.parquet``.
SIDECAR_SUFFIX = ".monthly.arrow"

_HIVE = {"province_code": pl.String(), "period": pl.String()}


def _inside(lake: Path, p: Path) -> bool:
    """A real entry of the lake: not a symbolic link, resolving inside it."""
    return not p.is_symlink() and p.resolve().is_relative_to(lake.resolve())


def _partition_files(lake: Path, provinces: list[str] | None, periods: list[str] | None) -> dict[Path, list[Path]]:
    """Lake files per partition folder, only those ingest could have written.

    Folders whose value is outside the vocabulary (:func:`carbonqa.contract.is_province_code` or
    ``unknown``; :func:`~carbonqa.contract.is_period`) and symbolic links are skipped (issue 14 item 1).
    """
    out: dict[Path, list[Path]] = {}
    if not lake.is_dir():
        return out
    for pdir in sorted(lake.glob("province_code=*")):
        prov = pdir.name.split("=", 1)[1]
        if not (prov == "unknown" or contract.is_province_code(prov)) or not _inside(lake, pdir):
            continue
        if provinces is not None and prov not in provinces:
            continue
        for mdir in sorted(pdir.glob("period=*")):
            period = mdir.name.split("=", 1)[1]
            if not contract.is_period(period) or not _inside(lake, mdir):
                continue
            if periods is not None and period not in periods:
                continue
            files = sorted(f for f in mdir.glob("*.parquet") if _inside(lake, f))
            if files:
                out[mdir] = files
    return out


def scan_telemetry(
    provinces: list[str] | None = None, periods: list[str] | None = None, lake_dir: Path | None = None
) -> pl.LazyFrame:
    """Lazy scan of the lake, optionally restricted to provinces and periods (partition pruning).

    Returns columns :data:`TELEMETRY_COLUMNS` (MW, t, tCO₂, h). When several bundles delivered the same
    (unit_id, ts), only the rows of the latest-ingested one are kept (resolved only in partitions holding
    files of more than one bundle, so a single national delivery costs no de-duplication). An empty or
    missing lake gives an empty frame with that schema.
    """
    lake = Path(lake_dir) if lake_dir is not None else get_settings().lake_dir
    return _scan(_partition_files(lake, provinces, periods))


def _bundles(files: list[Path]) -> set[str]:
    """Bundle ids of lake files (the part of the name before ``__``)."""
    return {f.name.split("__")[0] for f in files}


def _scan(parts: dict[Path, list[Path]]) -> pl.LazyFrame:
    """:func:`scan_telemetry` of the files ``parts`` (partition folder → its lake files)."""
    single = [f for fs in parts.values() if len(_bundles(fs)) == 1 for f in fs]
    multi = [f for fs in parts.values() if len(_bundles(fs)) > 1 for f in fs]
    cols = list(TELEMETRY_COLUMNS)
    frames: list[pl.LazyFrame] = []
    if single:
        frames.append(pl.scan_parquet(single, hive_partitioning=True, hive_schema=_HIVE).select(cols))
    if multi:
        lf = pl.scan_parquet(multi, hive_partitioning=True, hive_schema=_HIVE)
        lf = (lf.filter(pl.col("ingested_at") == pl.col("ingested_at").max().over("unit_id", "ts"))
              .unique(subset=["unit_id", "ts"], keep="any"))
        frames.append(lf.select(cols))
    if not frames:
        return pl.LazyFrame(schema=TELEMETRY_COLUMNS)
    return pl.concat(frames, how="vertical_relaxed").cast(TELEMETRY_COLUMNS)  # type: ignore[arg-type]


def sidecar_path(lake_file: Path) -> Path:
    """The statistics sidecar of lake file ``<bundle_id>__<hash>.parquet``: ``<bundle_id>__<hash>.monthly.arrow``."""
    return lake_file.with_suffix(SIDECAR_SUFFIX)


def aggregate_monthly(lf: pl.LazyFrame, by: list[str], *first: str) -> pl.LazyFrame:
    """Telemetry rows ``lf`` (columns of :data:`TELEMETRY_COLUMNS`) aggregated per ``by``: the monthly statistics.

    One row per group: the ``by`` columns, then ``first`` columns (each group's first value), then
    ``generation_mwh`` = Σ gross_load_mw × interval_hours (MWh); ``coal_feed_t``, ``cems_co2_t`` sums (null
    when the group has no such measurement, not 0); ``hours_with_load`` = Σ interval_hours where
    gross_load_mw > 0; ``hours_covered`` = Σ interval_hours of rows carrying at least one measurement (an
    all-null row is a logger gap exported as empty cells, not coverage); ``rows`` = rows. Groups in no
    particular order. Used by :func:`monthly_telemetry` (by unit × period) and by ingest for the
    sidecars (by stretch of one unit-month, :mod:`carbonqa.ingest.telemetry`).
    """
    measured = pl.any_horizontal(pl.col("gross_load_mw").is_not_null(), pl.col("coal_feed_t").is_not_null(), pl.col("cems_co2_t").is_not_null())

    def _sum_or_null(c: str) -> pl.Expr:
        return pl.when(pl.col(c).count() > 0).then(pl.col(c).sum()).alias(c)

    # the per-row terms as columns before the group-by (a filter inside each group's aggregation cost
    # 1.5 CPU-s more on the 27.8 M rows of a national year)
    return (
        lf.with_columns(
            (pl.col("gross_load_mw") * pl.col("interval_hours")).alias("_mwh"),
            pl.when(pl.col("gross_load_mw") > 0).then(pl.col("interval_hours")).alias("_loaded_h"),
            pl.when(measured).then(pl.col("interval_hours")).alias("_covered_h"),
        )
        .group_by(*by)
        .agg(
            *(pl.col(c).first() for c in first),
            pl.col("_mwh").sum().alias("generation_mwh"),
            _sum_or_null("coal_feed_t"),
            _sum_or_null("cems_co2_t"),
            pl.col("_loaded_h").sum().alias("hours_with_load"),
            pl.col("_covered_h").sum().alias("hours_covered"),
            pl.len().alias("rows"),
        )
    )


def _from_sidecars(parts: dict[Path, list[Path]]) -> tuple[pl.DataFrame | None, dict[Path, list[Path]]]:
    """Monthly statistics of the partitions of ``parts`` that sidecars can give; the rest to scan.

    Returns ``(frame, to_scan)``: the statistics read from sidecars (columns :data:`MONTHLY_COLUMNS`, or
    ``None``) and the partitions (folder → files) that must be scanned: files of more than one bundle, a
    file without its sidecar, a unit in two files of the partition; all of them when a sidecar cannot be
    read or has other columns than :data:`SIDECAR_COLUMNS`. The sidecars are read in one scan (one file at
    a time cost 1.7 s for 346 partitions, the scan 0.1 s).
    """
    ok = {mdir: files for mdir, files in parts.items() if len(_bundles(files)) == 1
          and all((c := sidecar_path(f)).is_file() and not c.is_symlink() for f in files)}
    to_scan = {mdir: files for mdir, files in parts.items() if mdir not in ok}
    if not ok:
        return None, to_scan
    try:
        df = pl.scan_ipc([sidecar_path(f) for fs in ok.values() for f in fs], hive_partitioning=True,
                         hive_schema=_HIVE).collect()
    except (OSError, pl.exceptions.PolarsError):  # an unreadable sidecar only costs the scan
        return None, parts
    if dict(df.drop(*_HIVE).schema) != SIDECAR_COLUMNS:
        return None, parts
    split = df.filter(pl.struct("province_code", "period", "unit_id").is_duplicated()) \
        .select("province_code", "period").unique()
    if split.height:
        df = df.join(split, on=["province_code", "period"], how="anti")
        folder = {(m.parent.name.split("=", 1)[1], m.name.split("=", 1)[1]): m for m in ok}
        to_scan.update({folder[k]: ok[folder[k]] for k in split.iter_rows()})
    return df.select(list(MONTHLY_COLUMNS)), to_scan


def monthly_telemetry(
    provinces: list[str] | None = None, periods: list[str] | None = None, lake_dir: Path | None = None
) -> pl.DataFrame:
    """Telemetry aggregated per unit_id × period (one row each, sorted so), columns :data:`MONTHLY_COLUMNS`.

    The statistics of :func:`aggregate_monthly` over :func:`scan_telemetry`'s rows; partitions whose lake
    files all have statistics sidecars are read from them instead (module docstring). The two agree but
    for the order of the floating-point additions (a relative 1e-15 on seed 303's sums).
    """
    lake = Path(lake_dir) if lake_dir is not None else get_settings().lake_dir
    side, to_scan = _from_sidecars(_partition_files(lake, provinces, periods))
    frames = [] if side is None else [side]
    if to_scan or side is None:
        frames.append(aggregate_monthly(_scan(to_scan), ["unit_id", "period"], "province_code").collect()
                      .select(list(MONTHLY_COLUMNS)))
    return pl.concat(frames, how="vertical_relaxed").cast(MONTHLY_COLUMNS).sort("unit_id", "period")  # type: ignore[arg-type]
