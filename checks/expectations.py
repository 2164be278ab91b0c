"""The one Great Expectations expectation of the rules: :class:`ExpectRuleHolds` (ARCHITECTURE.md convention 4).

A GX row rule (a :class:`~checks.spec.RuleSpec` with ``gx=True``) is asserted in its table's nightly suite
(:mod:`checks.suites`) as ``ExpectRuleHolds(code=…, year=…, column_list=<the columns its violation reads>)``.
Its metric, ``carbonqa.rule_holds``, evaluates the spec's own ``violation`` expression — the one the
findings are built from, resolved with the year's :func:`checks.params.params_for` — row by row on the
pandas batch GX hands it (converted to polars; pandas NaN/NaT read as null, which passes, as GX treats
missing values), so a rule's logic is written once, in its spec, and GX reports exactly the rows whose
findings :mod:`checks.emit` builds. The table frames of :mod:`checks.frames` carry the derived columns
the violations read (GX has no polars engine and no cross-column arithmetic of its own).

Importing this module imports GX (≈3–5 s); import it lazily. GX logging is silenced first.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

logging.getLogger("great_expectations").setLevel(logging.WARNING)

from great_expectations.execution_engine import PandasExecutionEngine  # noqa: E402
from great_expectations.expectations.expectation import MulticolumnMapExpectation  # noqa: E402
from great_expectations.expectations.metrics.map_metric_provider import MulticolumnMapMetricProvider  # noqa: E402
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (  # noqa: E402
    multicolumn_condition_partial,
)

__all__ = ["ExpectRuleHolds", "RuleHolds", "violating"]


def violating(code: str, year: int, frame: Any) -> Any:
    """Boolean numpy array: which rows of ``frame`` (pandas) violate rule ``code`` for reporting ``year``."""
    import polars as pl

    from checks.params import params_for
    from checks.registry import SPECS
    from checks.spec import resolve

    expr = resolve(SPECS[code].violation, params_for(int(year)))
    df = pl.from_pandas(frame, nan_to_null=True)
    return df.select(expr.fill_null(False).alias("v")).get_column("v").to_numpy()


class RuleHolds(MulticolumnMapMetricProvider):
    """Metric ``carbonqa.rule_holds``: per row, ``True`` when the row does not violate the rule's spec."""

    condition_metric_name = "carbonqa.rule_holds"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")
    condition_value_keys = ("code", "year")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
        import pandas as pd

        return pd.Series(~violating(kwargs["code"], kwargs["year"], column_list), index=column_list.index)


class ExpectRuleHolds(MulticolumnMapExpectation):
    """Rows of the batch satisfy the catalogue rule ``code`` (its spec's ``violation`` is false or null).

    ``column_list``: the columns the violation reads; ``year``: the reporting year whose parameters
    (:func:`checks.params.params_for`) resolve it. ``meta={"code": code}`` names the finding code.
    """

    code: str
    year: int
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "never"
    map_metric = "carbonqa.rule_holds"
    success_keys = ("mostly", "code", "year")
    args_keys = ("column_list", "code", "year")
