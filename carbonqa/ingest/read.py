"""Read one table file of a bundle into a polars frame with contract column names.

Formats: CSV (UTF-8; GBK/GB18030 and other encodings detected with ``charset-normalizer``, decoded and
reported as a warning), Parquet (native dtypes kept; hive ``key=value`` path segments become columns),
``.xlsx`` (``polars.read_excel``, calamine engine, every cell read as text so nothing is coerced away).
CSV and xlsx cells stay text here; :mod:`carbonqa.ingest.cast` parses them.

Headers are matched to contract columns through :func:`carbonqa.contract.header_aliases`, after
normalising case, surrounding/inner spaces, full-width parentheses and a trailing unit in parentheses
(``燃煤消耗量（t）`` → ``fuel_consumed_t``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

from carbonqa import contract
from carbonqa.ingest.report import Issue

__all__ = ["ReadResult", "read_table_file", "map_headers", "normalise_header", "hive_values", "FORMATS", "conform", "scan_parquet_batches"]

#: File suffix → format name.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}

_UNIT_SUFFIX = re.compile(r"\([^()]*\)$")


def normalise_header(h: str) -> str:
    """Canonical form of a header for matching: :func:`carbonqa.contract.normalise_header`, lower-cased."""
    return contract.normalise_header(h).lower()


def _alias_index(table: str) -> dict[str, str]:
    idx: dict[str, str] = {}
    for alias, name in contract.header_aliases(table).items():
        n = normalise_header(alias)
        idx.setdefault(n, name)
        bare = _UNIT_SUFFIX.sub("", n)
        if bare:
            idx.setdefault(bare, name)
    return idx


def map_headers(headers: list[str], table: str) -> tuple[dict[str, str], list[str], dict[str, list[str]]]:
    """Match file headers to contract columns of ``table``.

    Returns ``(rename, extras, ambiguous)``: ``rename`` maps a file header to its contract column,
    ``extras`` are headers matching nothing, ``ambiguous`` maps a contract column to the several headers
    that claim it.
    """
    idx = _alias_index(table)
    rename: dict[str, str] = {}
    extras: list[str] = []
    claims: dict[str, list[str]] = {}
    for h in headers:
        n = normalise_header(h)
        name = idx.get(n) or idx.get(_UNIT_SUFFIX.sub("", n))
        if name is None:
            extras.append(h)
            continue
        rename[h] = name
        claims.setdefault(name, []).append(h)
    ambiguous = {k: v for k, v in claims.items() if len(v) > 1}
    return rename, extras, ambiguous


def hive_values(rel_path: str) -> dict[str, str]:
    """``key=value`` directory segments of a bundle-relative path (hive partitioning)."""
    out: dict[str, str] = {}
    for seg in Path(rel_path).parts[:-1]:
        if "=" in seg:
            k, v = seg.split("=", 1)
            out[k] = v
    return out


@dataclass
class ReadResult:
    """A file read and renamed to contract columns.

    ``df`` has the contract columns found, plus ``__file`` and ``__row`` (1-based data row); ``None``
    when the whole file is quarantined (see ``issues``). ``encoding`` is the detected CSV encoding.
    """

    df: pl.DataFrame | None
    issues: list[Issue] = field(default_factory=list)
    encoding: str | None = None
    extras: list[str] = field(default_factory=list)


def _decode_csv(data: bytes, table: str, rel: str) -> tuple[str | None, str | None, list[Issue]]:
    """Return ``(text, encoding, issues)``; text ``None`` when undecodable."""
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return None, None, [Issue(table, rel, "file_unreadable", expected="a CSV file in UTF-8",
                                  fix="the file is not text in any known encoding; re-export it as CSV UTF-8")]
    enc = best.encoding
    # GB2312 and GBK are subsets of GB18030: decode with the superset so no character is lost.
    if enc.lower().replace("-", "").replace("_", "") in {"gb2312", "gbk", "gb18030", "hz", "cp936"}:
        enc = "gb18030"
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError):
        text = str(best)
    return text, enc, [Issue(
        table, rel, "non_utf8_encoding", value=f"detected encoding: {best.encoding}",
        expected="CSV in UTF-8 (CONTRACT.md §1)",
        fix=f"decoded as {enc} and ingested; please export as 'CSV UTF-8' next time "
            "(Excel: Save As → CSV UTF-8 (逗号分隔))")]


def read_table_file(path: Path, rel: str, table: str, fmt: str | None = None) -> ReadResult:
    """Read ``path`` (bundle-relative name ``rel``) as contract table ``table``.

    ``fmt`` (``csv``/``parquet``/``xlsx``) overrides the suffix. A file that cannot be read, lacks a
    required column or has two headers for one column comes back with ``df=None`` and an error issue
    naming the column and the accepted headers; an unknown column is dropped with a warning.
    Never raises for bad content.
    """
    fmt = fmt or FORMATS.get(path.suffix.lower())
    issues: list[Issue] = []
    encoding = None
    try:
        if fmt == "csv":
            text, encoding, enc_issues = _decode_csv(path.read_bytes(), table, rel)
            issues += enc_issues
            if text is None:
                return ReadResult(None, issues, None)
            df = pl.read_csv(text.encode("utf-8"), infer_schema=False, raise_if_empty=False)
        elif fmt == "parquet":
            df = pl.read_parquet(path)
        elif fmt == "xlsx":
            df = pl.read_excel(path, engine="calamine", infer_schema_length=0, drop_empty_rows=False,
                               raise_if_empty=False)
        else:
            return ReadResult(None, [Issue(table, rel, "file_unreadable", value=path.suffix,
                                           expected="a .csv, .parquet or .xlsx file",
                                           fix="deliver the table as CSV (UTF-8), Parquet or xlsx")])
    except Exception as exc:  # noqa: BLE001 - any reader failure quarantines the file with the message
        return ReadResult(None, issues + [Issue(
            table, rel, "file_unreadable", value=f"{type(exc).__name__}: {str(exc)[:300]}",
            expected=f"a readable {fmt} file with a header row",
            fix="re-export the file (check for truncated upload, ragged rows or a password-protected sheet)")],
            encoding)
    conformed, more = conform(df, rel, table, fmt=fmt)
    return ReadResult(conformed, issues + more, encoding)


def conform(
    df: pl.DataFrame, rel: str, table: str, fmt: str | None = None, row_offset: int = 0, warn_extras: bool = True
) -> tuple[pl.DataFrame | None, list[Issue]]:
    """Rename a frame as read to contract columns; add hive columns, ``__file`` and ``__row``.

    ``row_offset``: data rows before this frame in the file (batches). Returns ``(df, issues)`` with
    ``df=None`` when a required column is missing or ambiguous (whole file quarantined).
    """
    issues: list[Issue] = []
    for k, v in hive_values(rel).items():
        if k not in df.columns:
            df = df.with_columns(pl.lit(v).alias(k))
    df = df.with_columns(pl.int_range(row_offset + 1, pl.len() + row_offset + 1, dtype=pl.Int64).alias("__row"),
                         pl.lit(rel).alias("__file"))
    if fmt == "xlsx":  # blank spreadsheet rows: skip, but keep the row numbers of the others
        data_cols = [c for c in df.columns if not c.startswith("__")]
        if data_cols:
            df = df.filter(~pl.all_horizontal([pl.col(c).is_null() for c in data_cols]))
    headers = [c for c in df.columns if c not in ("__row", "__file")]
    rename, extras, ambiguous = map_headers(headers, table)
    t = contract.table(table)
    hive = hive_values(rel)
    for col, hs in ambiguous.items():
        issues.append(Issue(table, rel, "ambiguous_column", column=col, value=", ".join(hs),
                            expected=f"one header for {col} ({t.column(col).zh})",
                            fix="delete or rename the duplicate column and re-upload"))
    missing = [c for c in t.columns if not c.nullable and c.name not in rename.values()]
    for c in missing:
        accepted = sorted({c.name, c.zh, c.label_zh} - {""})
        issues.append(Issue(
            table, rel, "missing_column", column=c.name, value=None,
            expected="a column headed " + " or ".join(f"'{a}'" for a in accepted),
            fix=f"add the required column {c.name} ({c.zh}) to the file and re-upload it"))
    if ambiguous or missing:
        return None, issues
    for h in extras if warn_extras else []:
        if h in hive:
            continue  # a partition column outside the contract (e.g. province_code=15/): not data
        issues.append(Issue(
            table, rel, "extra_column", column=h,
            expected=f"only contract columns of {table} ({t.zh})",
            fix="column ignored (rows kept); remove it or rename it to a contract header"))
    return df.rename(rename).select([*rename.values(), "__file", "__row"]), issues


def scan_parquet_batches(
    path: Path, rel: str, table: str, batch_rows: int
) -> Iterator[tuple[pl.DataFrame | None, list[Issue]]]:
    """Read a (large) Parquet file in slices of ``batch_rows`` rows, each conformed like :func:`conform`.

    Yields ``(df, issues)``; stops after the first ``df=None`` (missing column). Raises polars errors for
    an unreadable file (callers quarantine it).
    """
    lf = pl.scan_parquet(path, hive_partitioning=False)
    n = lf.select(pl.len()).collect().item()
    for i, off in enumerate(range(0, max(n, 1), batch_rows)):
        df = lf.slice(off, batch_rows).collect()
        out, issues = conform(df, rel, table, fmt="parquet", row_offset=off, warn_extras=i == 0)
        yield out, issues
        if out is None:
            return
