"""The one module that runs GX and reads its result objects (ARCHITECTURE.md convention 4).

:func:`validate` validates a suite on a polars frame as **one batch** (the caller hands it a whole
table of the night: GX's cost is per batch — building the metric dependency graph — not per row;
STACK.md), as a pandas copy (GX has no polars engine), in one pass with ``result_format``
``COMPLETE`` and ``unexpected_index_column_names=["_row"]`` so that **every** failing row comes back,
not GX's first 20/200 (the same result is what the Data Docs page shows). It returns a
:class:`Validation` (a plain polars frame ``(code, _row)`` and counts);
:func:`write_data_docs` renders the night's validation report from them. Nothing outside this
module sees a GX object.

GX is configured once per process: an ephemeral context (no files, no network), progress bars off,
INFO logging off (STACK.md). :data:`GX_SECONDS` accumulates the wall time spent inside GX so the
bench can report GX's share.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from checks.errors import ExpectationCrashed

__all__ = ["Validation", "validate", "failing_rows", "write_data_docs", "gx_seconds", "reset_gx_seconds", "ensure_context"]

logging.getLogger("great_expectations").setLevel(logging.WARNING)

_STATE: dict[str, Any] = {"seconds": 0.0}
_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["_row"],
    "return_unexpected_index_query": False,
    "include_unexpected_rows": False,
}


def gx_seconds() -> float:
    """Wall seconds spent inside GX (import, context, validation) since the last reset."""
    return float(_STATE["seconds"])


def reset_gx_seconds() -> None:
    """Reset the GX timer (the bench calls this before a run)."""
    _STATE["seconds"] = 0.0


def _batch_definition() -> Any:
    if "bd" not in _STATE:
        t0 = time.perf_counter()
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = ctx.data_sources.add_pandas("carbonqa_checks").add_dataframe_asset("partition")
        _STATE["bd"] = asset.add_batch_definition_whole_dataframe("whole_partition")
        _STATE["seconds"] += time.perf_counter() - t0
    return _STATE["bd"]


def ensure_context() -> None:
    """Create the process's ephemeral GX context (suites can only be built with one active)."""
    _batch_definition()


def _columns_used(suite: Any, available: list[str]) -> list[str]:
    cols = {"_row"}
    for e in suite.expectations:
        for attr in ("column", "column_A", "column_B"):
            v = getattr(e, attr, None)
            if isinstance(v, str):
                cols.add(v)
        cols |= set(getattr(e, "column_list", None) or ())
        cond = getattr(e, "row_condition", None)
        if cond is not None:  # a str or a GX condition object (PassThroughCondition in 1.24): use its text
            cols |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(cond)))
    return [c for c in available if c in cols]


def _crash_message(info: Any) -> str | None:
    """GX's exception message if the expectation raised (``exception_info`` is flat or keyed by metric)."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for v in info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return str(v.get("exception_message"))
    return None


def _raise_if_crashed(r: Any, where: dict[str, Any]) -> None:
    crash = _crash_message(r.exception_info)
    if crash:
        raise ExpectationCrashed(
            f"{_label(r.expectation_config.meta)} ({r.expectation_config.type}) crashed on {where}: {crash}"
        )


def _label(meta: dict[str, Any]) -> str:
    return str(meta.get("code") or meta.get("contract") or "?")


@dataclass(frozen=True)
class Validation:
    """What one table's validation of the night says, without GX objects for the caller.

    Attributes:
        table: suite name (the contract table).
        rows: rows validated (one batch).
        failing: frame ``code: str, _row: int64`` — every failing row of every *rule* expectation
            (``meta["code"]``), deduplicated per (code, row).
        failed: labels of the expectations that failed (rule codes and ``contract`` labels such as
            ``monthly_reports.oxidation_rate``), sorted, with their number of unexpected rows.
        evaluated: number of expectations evaluated.
        seconds: wall seconds inside GX for this table.
    """

    table: str
    rows: int
    failing: pl.DataFrame
    failed: dict[str, int]
    evaluated: int
    seconds: float
    _result: Any = field(default=None, repr=False, compare=False)


def failing_rows(frame: pl.DataFrame, suite: Any) -> pl.DataFrame:
    """Rows of ``frame`` that fail each rule expectation of ``suite`` (:func:`validate`'s ``failing``)."""
    return validate(frame, suite).failing


def validate(frame: pl.DataFrame, suite: Any) -> Validation:
    """Validate ``suite`` on ``frame`` as one GX batch; every failing row of its rule expectations.

    Expectations with ``meta={"code": ...}`` are rules: all their failing rows come back
    (``result_format`` ``COMPLETE`` with the ``_row`` index column). Expectations without a code
    (``meta={"contract": "table.column"}``, derived from
    :mod:`carbonqa.contract`) are reported by label and count only: a stored row that breaks the
    contract is an ingest defect for the validation report, not a finding.

    Args:
        frame: derived frame with an integer ``_row`` id column and every column the suite names
            (a whole table of the night; only the columns the suite names are copied to pandas).
        suite: ``ExpectationSuite``; its name is the table's.

    Returns:
        :class:`Validation` (``failing``: frame ``code: str, _row: int64``).

    Raises:
        ExpectationCrashed: an expectation raised (GX reports it in ``exception_info``).
    """
    empty = pl.DataFrame(schema={"code": pl.String(), "_row": pl.Int64()})
    if frame.height == 0 or not suite.expectations:
        return Validation(suite.name, frame.height, empty, {}, 0, 0.0)
    used = _columns_used(suite, frame.columns)
    bd = _batch_definition()
    codes: list[str] = []
    rows: list[int] = []
    failed: dict[str, int] = {}
    where = {"table": suite.name, "rows": frame.height}
    t0 = time.perf_counter()
    try:
        batch = bd.get_batch(batch_parameters={"dataframe": frame.select(used).to_pandas()})
        # one pass, COMPLETE: on a whole table nearly every rule fails somewhere, so a cheap BOOLEAN_ONLY
        # pass to find the failing expectations would be followed by a second graph over almost the same
        # suite (measured on the national year: 0.26 s CPU for one COMPLETE pass, 0.45 s for the two)
        result = batch.validate(suite, result_format=_RESULT_FORMAT)
        for r in result.results:
            _raise_if_crashed(r, where)
            if r.success:
                continue
            label = _label(r.expectation_config.meta)
            failed[label] = failed.get(label, 0) + int((r.result or {}).get("unexpected_count") or 0)
            if r.expectation_config.meta.get("code"):
                idx = (r.result or {}).get("unexpected_index_list") or []
                codes.extend([r.expectation_config.meta["code"]] * len(idx))
                rows.extend(int(d["_row"]) for d in idx)
    finally:
        secs = time.perf_counter() - t0
        _STATE["seconds"] += secs
    fails = (pl.DataFrame({"code": codes, "_row": rows}, schema={"code": pl.String(), "_row": pl.Int64()}).unique()
             if rows else empty)
    return Validation(suite.name, frame.height, fails, dict(sorted(failed.items())), len(result.results), secs, result)


def write_data_docs(validations: Iterable[Validation], out_dir: Path, title: str) -> Path:
    """Publish the night's validation report: one GX Data Docs page per table and an ``index.html``.

    Pages are rendered with GX's own Data Docs renderer (``ValidationResultsPageRenderer`` +
    ``DefaultJinjaPageView``) from the validation results, so they show every expectation, its verdict
    and its unexpected values; styles load from GX's CDN like GX's own sites.

    Args:
        validations: results of :func:`validate` (empty tables are listed, not rendered).
        out_dir: folder to write (created); existing pages of the same tables are replaced.
        title: heading of the index page (e.g. the run id and year).

    Returns:
        Path of ``index.html``.
    """
    from html import escape

    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for v in validations:
        if v._result is not None:
            page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(v._result))
            (out_dir / f"{v.table}.html").write_text(page, encoding="utf-8")
            link = f'<a href="{escape(v.table)}.html">{escape(v.table)}</a>'
        else:
            link = escape(v.table)
        bad = ", ".join(f"{escape(k)} ({n})" for k, n in v.failed.items()) or "—"
        items.append(f"<tr><td>{link}</td><td>{v.rows:,}</td><td>{v.evaluated}</td><td>{bad}</td></tr>")
    index = out_dir / "index.html"
    index.write_text(
        f"<!doctype html><meta charset='utf-8'><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        "<p>Great Expectations validation of the night, one batch per table (rule expectations carry the "
        "catalogue code; contract expectations the table.column they come from).</p>"
        "<table border='1' cellpadding='4'><tr><th>table</th><th>rows</th><th>expectations</th>"
        f"<th>failed (unexpected rows)</th></tr>{''.join(items)}</table>",
        encoding="utf-8")
    _STATE["seconds"] += time.perf_counter() - t0
    return index
