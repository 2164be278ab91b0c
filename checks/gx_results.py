"""The one module that runs GX and reads its result objects (ARCHITECTURE.md convention 4).

:func:`failing_rows` validates a suite on a polars frame as **one batch** (the caller hands it a whole
table of the night: GX's cost is per batch — building the metric dependency graph — not per row;
STACK.md), as a pandas copy (GX has no polars engine), in two phases: the whole suite with
``BOOLEAN_ONLY`` (which expectations fail — about half the cost of COMPLETE), then only the
failing expectations with ``result_format`` ``COMPLETE`` and
``unexpected_index_column_names=["_row"]`` so that **every** failing row comes back, not GX's first
20/200. It returns a plain polars frame ``(code, _row)``; nothing outside this module
sees a GX object.

GX is configured once per process: an ephemeral context (no files, no network), progress bars off,
INFO logging off (STACK.md). :data:`GX_SECONDS` accumulates the wall time spent inside GX so the
bench can report GX's share.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import polars as pl

from checks.errors import ExpectationCrashed

__all__ = ["failing_rows", "gx_seconds", "reset_gx_seconds", "ensure_context"]

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
            f"{r.expectation_config.meta.get('code')} ({r.expectation_config.type}) crashed on {where}: {crash}"
        )


def failing_rows(frame: pl.DataFrame, suite: Any) -> pl.DataFrame:
    """Rows of ``frame`` that fail each expectation of ``suite``, validated as one GX batch.

    Args:
        frame: derived frame with an integer ``_row`` id column and every column the suite names
            (a whole table of the night; only the columns the suite names are copied to pandas).
        suite: ``ExpectationSuite`` whose expectations carry ``meta={"code": ...}``.

    Returns:
        Frame ``code: str, _row: int64``, one row per failing (code, row) — deduplicated when two
        expectations of one code fail on the same row.

    Raises:
        ExpectationCrashed: an expectation raised (GX reports it in ``exception_info``).
    """
    empty = pl.DataFrame(schema={"code": pl.String(), "_row": pl.Int64()})
    if frame.height == 0 or not suite.expectations:
        return empty
    used = _columns_used(suite, frame.columns)
    bd = _batch_definition()
    codes: list[str] = []
    rows: list[int] = []
    where = {"rows": frame.height}
    t0 = time.perf_counter()
    try:
        batch = bd.get_batch(batch_parameters={"dataframe": frame.select(used).to_pandas()})
        # phase 1: which expectations fail (cheap); phase 2: all failing rows of those only
        # (GX does not return results in suite order: select the phase-2 expectations by code)
        first = batch.validate(suite, result_format="BOOLEAN_ONLY")
        failed_codes: set[str] = set()
        for r in first.results:
            _raise_if_crashed(r, where)
            if not r.success:
                failed_codes.add(r.expectation_config.meta["code"])
        if failed_codes:
            import great_expectations as gx

            sub = gx.ExpectationSuite(name=f"{suite.name}-failing",
                                      expectations=[e.copy() for e in suite.expectations if e.meta["code"] in failed_codes])
            for r in batch.validate(sub, result_format=_RESULT_FORMAT).results:
                _raise_if_crashed(r, where)
                idx = (r.result or {}).get("unexpected_index_list") or []
                codes.extend([r.expectation_config.meta["code"]] * len(idx))
                rows.extend(int(d["_row"]) for d in idx)
    finally:
        _STATE["seconds"] += time.perf_counter() - t0
    if not rows:
        return empty
    return pl.DataFrame({"code": codes, "_row": rows}, schema={"code": pl.String(), "_row": pl.Int64()}).unique()
