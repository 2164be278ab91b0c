"""Submitted text made safe for the files we hand back: CSV/xlsx formula ("CSV injection") neutralisation.

Enterprise names, city names and summaries come from the units we supervise. A cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by spreadsheet programs when a
reviewer opens the export (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, DDE). Following the OWASP "CSV
Injection" guidance (https://owasp.org/www-community/attacks/CSV_Injection): such a cell is prefixed
with a single quote ``'`` so it is shown as text. A ``+``/``-`` that starts a number (``-12.5``,
``+3``) is left alone — it is a value, not a formula — so negative figures stay numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import polars as pl

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_frame", "write_table"]

#: First characters that make a spreadsheet cell a formula (OWASP CSV Injection guidance).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _is_number(s: str) -> bool:
    try:
        float(s.strip())
    except ValueError:
        return False
    return True


def neutralise_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text starting with a formula prefix; others unchanged.

    ``+``/``-`` followed by a number (``"-12.5"``) is not prefixed. Non-text values pass through.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if value[0] in "+-" and _is_number(value):
        return value
    return "'" + value


def neutralise_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Apply :func:`neutralise_cell` to every String column of ``df`` (vectorised; shape unchanged)."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype != pl.String:
            continue
        c = pl.col(name)
        first = c.str.slice(0, 1)
        is_num = c.str.strip_chars().cast(pl.Float64, strict=False).is_not_null()
        danger = first.is_in(["=", "@", "\t", "\r"]) | (first.is_in(["+", "-"]) & ~is_num)
        exprs.append(pl.when(danger.fill_null(False)).then(pl.lit("'") + c).otherwise(c).alias(name))
    return df.with_columns(exprs) if exprs else df


def write_table(df: pl.DataFrame, target: Path | BinaryIO, fmt: str, worksheet: str, bom: bool = False) -> int:
    """Write an export table safely: formula cells neutralised (:func:`neutralise_frame`), CSV or XLSX.

    The one writer behind every export (the case export, the agency-case export, the dashboard's
    downloads), so that none of them can forget the OWASP neutralisation.

    Args:
        df: the table (exact columns and row order are the caller's).
        target: a file path (parent folders are created) or a binary buffer.
        fmt: ``csv`` (UTF-8, header row) or ``xlsx`` (one sheet named ``worksheet``), case-insensitive.
        worksheet: sheet name for ``xlsx``.
        bom: prefix a CSV with a UTF-8 byte-order mark (spreadsheet programs then read Chinese text).

    Returns:
        Number of rows written.

    Raises:
        ValueError: ``fmt`` is not ``csv`` or ``xlsx``.
    """
    fmt = fmt.lower()
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"export format must be 'csv' or 'xlsx', got {fmt!r}")
    df = neutralise_frame(df)  # submitted text: no formula cells (OWASP CSV Injection)
    if isinstance(target, (str, Path)):
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        data = (("\ufeff" if bom else "") + df.write_csv()).encode()
        if isinstance(target, Path):
            target.write_bytes(data)
        else:
            target.write(data)
    else:
        df.write_excel(target, worksheet=worksheet, autofit=True)
    return df.height
