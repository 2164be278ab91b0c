"""Read one table file of a bundle into a polars frame with contract column names.

Formats: CSV (UTF-8; GBK/GB18030 and other encodings detected with ``charset-normalizer``, decoded and
reported as a warning), Parquet (native dtypes kept; hive ``key=value`` path segments become columns),
``.xlsx`` (``polars.read_excel``, calamine engine, every cell read as text so nothing is coerced away).
CSV and xlsx cells stay text here; :mod:`carbonqa.ingest.cast` parses them.

Hostile or careless files (issue 14): a CSV line whose number of fields differs from the header is
quarantined on its own (``ragged_line``, with its line number) and the other lines are read; an xlsx
whose sheets would inflate beyond :data:`XLSX_MAX_UNCOMPRESSED` bytes is refused before it is opened (a
zip bomb); formula cells are read as the value Excel last calculated (a ``formula_cells`` warning says
so) and a formula cell without such a value quarantines its row (``formula_without_value``) instead of
becoming a silent NULL.

Headers are matched to contract columns through :func:`carbonqa.contract.header_aliases`, after
normalising case, surrounding/inner spaces, full-width parentheses and a trailing unit in parentheses
(``燃煤消耗量（t）`` → ``fuel_consumed_t``).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

from carbonqa import contract
from carbonqa.ingest.report import Issue

__all__ = ["ReadResult", "read_table_file", "map_headers", "normalise_header", "hive_values", "FORMATS", "conform",
           "scan_parquet_batches", "XLSX_MAX_UNCOMPRESSED", "ISSUES_PER_FILE", "MAX_TABLE_ROWS"]

#: Most bytes the worksheets of one xlsx may inflate to. A national year of monthly reports (38,423
#: rows × 17 columns, README "Measured") written by polars/xlsxwriter is ≈ 26 MB of sheet XML (measured:
#: 8,885 rows → 5.9 MB); 64 MiB leaves ×2.5 and keeps a bomb of bad rows to about 80,000 rows (≈ 2 s,
#: ≈ 200 MB) before calamine holds it in memory (a 300,000-row bomb: 247 MiB, 9 s, 640 MB peak).
XLSX_MAX_UNCOMPRESSED = 64 * 1024 * 1024
#: Most rows (or CSV lines) one file of a registry or periodic table may have. A national year has
#: 38,423 monthly reports (README "Measured"); ten years of them stay below 500,000, so 5 M leaves ×10
#: and stops a file of millions of blank lines from costing gigabytes. Telemetry (27.8 M rows a year)
#: is read in bounded slices instead (:mod:`carbonqa.ingest.telemetry`).
MAX_TABLE_ROWS = 5_000_000
#: Issue rows listed per file before one "and N more" row (same cap as :mod:`carbonqa.ingest.cast`).
ISSUES_PER_FILE = 1000

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
    ``bad_rows``: rows of the file quarantined by the reader (ragged CSV lines, formula cells without a
    value) as text, ``__file``/``__row`` plus whatever columns they had; they are not in ``df``.
    """

    df: pl.DataFrame | None
    issues: list[Issue] = field(default_factory=list)
    encoding: str | None = None
    extras: list[str] = field(default_factory=list)
    bad_rows: pl.DataFrame | None = None


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
            if table != "telemetry" and (n_lines := text.count("\n")) > MAX_TABLE_ROWS:
                return ReadResult(None, issues + [_too_many_rows(table, rel, n_lines)], encoding)
            ragged, rag_issues = _ragged_lines(text, table, rel)
            issues += rag_issues
            if ragged is None:
                df = pl.read_csv(text.encode("utf-8"), infer_schema=False, raise_if_empty=False)
            else:
                df, bad = ragged
                conformed, more = conform(df, rel, table, fmt=fmt, keep_rows=True)
                return ReadResult(conformed, issues + more, encoding, bad_rows=bad)
        elif fmt == "parquet":
            n_rows = pl.scan_parquet(path, hive_partitioning=False).select(pl.len()).collect().item()
            if table != "telemetry" and n_rows > MAX_TABLE_ROWS:
                return ReadResult(None, [_too_many_rows(table, rel, n_rows)])
            df = pl.read_parquet(path)
        elif fmt == "xlsx":
            too_big = _xlsx_too_big(path, table, rel)
            if too_big is not None:
                return ReadResult(None, [too_big])
            df = pl.read_excel(path, engine="calamine", infer_schema_length=0, drop_empty_rows=False,
                               raise_if_empty=False)
            f_issues, f_rows = _xlsx_formulas(path, table, rel)
            issues += f_issues
            if f_rows:
                conformed, more = conform(df, rel, table, fmt=fmt)
                if conformed is None:
                    return ReadResult(None, issues + more, encoding)
                is_bad = pl.col("__row").is_in(pl.Series(sorted(f_rows), dtype=pl.Int64).implode())
                bad = conformed.filter(is_bad).select(pl.all().cast(pl.String))
                return ReadResult(conformed.filter(~is_bad), issues + more, encoding, bad_rows=bad)
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


def _ragged_lines(
    text: str, table: str, rel: str
) -> tuple[tuple[pl.DataFrame, pl.DataFrame] | None, list[Issue]]:
    """Find CSV records whose field count differs from the header's (polars pads short ones silently).

    Returns ``(None, [])`` when every record has the header's width (a blank line counts as a row of
    empty cells, as polars reads it). Otherwise ``((good, bad), issues)``: ``good`` the other records as
    text with ``__row`` (1-based data row), ``bad`` the ragged ones (``__file``, ``__row``, ``line``,
    ``text``), one ``ragged_line`` issue each (at most :data:`ISSUES_PER_FILE`, then one summary).
    Uses the standard :mod:`csv` parser (quoted line breaks are one record; ``line`` is where it ends).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return None, []
    width = len(header)
    ragged: list[tuple[int, int, list[str]]] = []
    for i, rec in enumerate(reader, start=1):
        if rec and len(rec) != width:
            ragged.append((i, reader.line_num, rec))
    if not ragged:
        return None, []
    bad_idx = {i for i, _, _ in ragged}
    good_rows: list[list[str]] = []
    row_no: list[int] = []
    for i, rec in enumerate(csv.reader(io.StringIO(text, newline="")), start=0):
        if i == 0 or i in bad_idx:
            continue
        good_rows.append(rec + [""] * (width - len(rec)) if not rec else rec)
        row_no.append(i)
    names = [h if h else f"column_{k + 1}" for k, h in enumerate(header)]
    seen: dict[str, int] = {}
    for k, h in enumerate(names):  # polars-style de-duplication of repeated headers
        if h in seen:
            seen[h] += 1
            names[k] = f"{h}_duplicated_{seen[h] - 1}"
        else:
            seen[h] = 1
    good = pl.DataFrame({n: [r[k] if r[k] != "" else None for r in good_rows] for k, n in enumerate(names)},
                        schema={n: pl.String for n in names}).with_columns(pl.Series("__row", row_no, dtype=pl.Int64))
    bad = pl.DataFrame({
        "__file": [rel] * len(ragged), "__row": [i for i, _, _ in ragged], "line": [ln for _, ln, _ in ragged],
        "text": [",".join(rec)[:2000] for _, _, rec in ragged]})
    issues = [Issue(table, rel, "ragged_line", i, None, f"line {ln}: {len(rec)} fields",
                    f"{width} fields, like the header line",
                    "line not ingested (the other lines were): a separator is missing or extra, or a cell with a "
                    "comma or line break lacks its quotes; correct the line and re-deliver")
              for i, ln, rec in ragged[:ISSUES_PER_FILE]]
    if len(ragged) > ISSUES_PER_FILE:
        issues.append(Issue(table, rel, "more_issues", None, None, f"and {len(ragged) - ISSUES_PER_FILE} more",
                            f"at most {ISSUES_PER_FILE} issues listed per file",
                            "every ragged line is kept in the quarantine folder (rows/)"))
    return (good, bad), issues


def _too_many_rows(table: str, rel: str, n: int) -> Issue:
    return Issue(table, rel, "file_too_large", value=f"{n} rows", expected=f"at most {MAX_TABLE_ROWS} rows",
                 fix="file not read (quarantined whole): split it into several files (parts) and re-deliver")


def _xlsx_too_big(path: Path, table: str, rel: str) -> Issue | None:
    """An issue when the xlsx's worksheets inflate beyond :data:`XLSX_MAX_UNCOMPRESSED` (zip bomb)."""
    try:
        with zipfile.ZipFile(path) as z:
            size = sum(i.file_size for i in z.infolist() if i.filename.startswith("xl/"))
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # not a zip: the reader reports it as unreadable
    if size <= XLSX_MAX_UNCOMPRESSED:
        return None
    return Issue(table, rel, "file_too_large", value=f"{size / 2**20:.0f} MiB of sheet data when unpacked",
                 expected=f"at most {XLSX_MAX_UNCOMPRESSED / 2**20:.0f} MiB unpacked",
                 fix="file not opened (quarantined whole): split it, or deliver the table as CSV or Parquet")


def _has_formula(path: Path) -> bool:
    """True when any worksheet XML of the xlsx holds a ``<f>`` element (streamed, 1 MiB chunks)."""
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                    continue
                tail = b""
                with z.open(info) as fh:
                    while chunk := fh.read(1 << 20):
                        buf = tail + chunk
                        if re.search(rb"<(?:\w+:)?f[ >/]", buf):
                            return True
                        tail = buf[-16:]
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return False


def _xlsx_formulas(path: Path, table: str, rel: str) -> tuple[list[Issue], set[int]]:
    """Formula cells of the first sheet: a warning for those read as cached values, rows without one.

    Returns ``(issues, rows)``: ``rows`` are 1-based data rows (header row = 0) holding a formula cell in
    a contract column with no cached value. Reads with openpyxl (read-only, twice: formulas and cached
    values) only when :func:`_has_formula` finds one, so a plain sheet costs one streamed scan.
    """
    if not _has_formula(path):
        return [], set()
    import openpyxl

    wb_f = openpyxl.load_workbook(path, read_only=True, data_only=False)
    wb_v = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws_f, ws_v = wb_f.worksheets[0], wb_v.worksheets[0]
        header: list[str] | None = None
        header_row = 0
        idx = _alias_index(table)
        cols: dict[int, str] = {}
        issues: list[Issue] = []
        rows: set[int] = set()
        cached = 0
        example = None
        for r, (row_f, row_v) in enumerate(zip(ws_f.iter_rows(), ws_v.iter_rows(), strict=False), start=1):
            if header is None:
                if any(c.value is not None for c in row_f):
                    header = ["" if c.value is None else str(c.value) for c in row_f]
                    header_row = r
                    for k, h in enumerate(header):
                        n = normalise_header(h)
                        name = idx.get(n) or idx.get(_UNIT_SUFFIX.sub("", n))
                        if name:
                            cols[k] = name
                continue
            for k, (cf, cv) in enumerate(zip(row_f, row_v, strict=False)):
                if getattr(cf, "data_type", None) != "f" or k not in cols:
                    continue
                if cv.value is None:
                    rows.add(r - header_row)
                    if len(issues) < ISSUES_PER_FILE:
                        issues.append(Issue(
                            table, rel, "formula_without_value", r - header_row, cols[k], str(cf.value)[:200],
                            "a value: a formula cell is read as the value the spreadsheet last calculated, and "
                            "this one was never calculated",
                            "row not ingested: open the file in Excel/WPS and save it (it calculates), or paste the "
                            "cells as values (复制 → 选择性粘贴 → 数值), and re-deliver"))
                else:
                    cached += 1
                    example = example or f"row {r - header_row} {cols[k]}: {str(cf.value)[:80]} → {cv.value}"
        if cached:
            issues.append(Issue(table, rel, "formula_cells", None, None, f"{cached} formula cells, e.g. {example}",
                                "values, not formulas",
                                "read as the values the spreadsheet last calculated (ingested); deliver values to "
                                "be sure they are what you see"))
        if len(rows) > ISSUES_PER_FILE:
            issues.append(Issue(table, rel, "more_issues", None, None, f"and {len(rows) - ISSUES_PER_FILE} more",
                                f"at most {ISSUES_PER_FILE} issues listed per file",
                                "every such row is kept in the quarantine folder (rows/)"))
        return issues, rows
    finally:
        wb_f.close()
        wb_v.close()


def conform(
    df: pl.DataFrame, rel: str, table: str, fmt: str | None = None, row_offset: int = 0, warn_extras: bool = True,
    keep_rows: bool = False,
) -> tuple[pl.DataFrame | None, list[Issue]]:
    """Rename a frame as read to contract columns; add hive columns, ``__file`` and ``__row``.

    ``row_offset``: data rows before this frame in the file (batches). ``keep_rows``: ``df`` already has
    its ``__row`` (rows were dropped by the reader). Returns ``(df, issues)`` with ``df=None`` when a
    required column is missing or ambiguous (whole file quarantined).
    """
    issues: list[Issue] = []
    for k, v in hive_values(rel).items():
        if k not in df.columns:
            df = df.with_columns(pl.lit(v).alias(k))
    if not keep_rows:
        df = df.with_columns(pl.int_range(row_offset + 1, pl.len() + row_offset + 1, dtype=pl.Int64).alias("__row"))
    df = df.with_columns(pl.lit(rel).alias("__file"))
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
    for h, name in rename.items():  # a nested or duration column cannot be read as one contract value
        dtype = df.schema[h]
        if dtype == pl.Binary:  # Parquet BYTE_ARRAY without a UTF-8 annotation (older writers)
            df = df.with_columns(pl.Series(h, [None if v is None else v.decode("utf-8", "replace")
                                               for v in df.get_column(h).to_list()], dtype=pl.String))
            continue
        if isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Duration | pl.Object):
            issues.append(Issue(
                table, rel, "file_unreadable", column=name, value=f"column {h!r} has type {dtype}",
                expected=f"{name} as a plain {t.column(name).dtype} column",
                fix="write the column as text or numbers (not a list, struct or duration) and re-deliver"))
    if ambiguous or missing or any(i.reason == "file_unreadable" for i in issues):
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
