"""Expectation suites built in code, one per table, from the rule specs (ARCHITECTURE.md convention 4).

:func:`build_suite` returns a GX ``ExpectationSuite`` named after the table: one
:class:`~checks.expectations.ExpectRuleHolds` per GX row rule of the table (:func:`checks.registry.gx_rules`,
``meta={"code": ...}``, described by the rule's English title) and, for the night's whole-table suite,
the table's :func:`contract_expectations`. The suites run on the table frames of :mod:`checks.frames`.

Applicability ("only coal units that burnt coal", "only accepted conclusions") is part of each spec's
violation expression, not a GX ``row_condition``: GX 1.24 evaluates each condition with
``DataFrame.query`` per metric (measured: half of a partition's validation time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checks.params import RegulationParams
from checks.spec import TABLE_FRAMES, resolve

__all__ = ["build_suite", "contract_expectations", "suite_codes"]


def suite_codes(table: str) -> tuple[str, ...]:
    """Codes the suite of ``table`` asserts (its GX row rules)."""
    from checks.registry import gx_rules

    return tuple(s.code for s in gx_rules(table))


def contract_expectations(table: str) -> list[Any]:
    """GX expectations of ``table`` derived from :mod:`carbonqa.contract` (no ``code``: not rules).

    Per column: ``nullable=False`` → not null; ``min``/``max`` → between (inclusive); a single-valued
    ``enum`` → in set; ``pattern`` → matches the regex; and the table's current key
    (:data:`carbonqa.store.read.CURRENT_KEYS`, the contract key without the submitter's version) is
    unique. Each carries ``meta={"contract": "<table>.<column>"}``. Ingest enforces the same contract
    (a violating row is quarantined), so on stored data these pass: they are the night's published
    proof that the screened tables meet the contract, and catch a store written around ingest.

    Raises:
        KeyError: ``table`` is not a contract table.
    """
    import great_expectations.expectations as gxe

    from carbonqa import contract
    from carbonqa.store.read import CURRENT_KEYS

    t = contract.table(table)
    keys = list(CURRENT_KEYS[table])
    key_meta = {"contract": f"{table}.key({', '.join(keys)})"}
    out: list[Any] = [gxe.ExpectColumnValuesToBeUnique(column=keys[0], meta=key_meta) if len(keys) == 1
                      else gxe.ExpectCompoundColumnsToBeUnique(column_list=keys, meta=key_meta)]
    for c in t.columns:
        meta = {"contract": f"{table}.{c.name}"}
        if not c.nullable and not c.key:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=c.name, meta=meta))
        if c.min is not None or c.max is not None:
            out.append(gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min, max_value=c.max, meta=meta))
        if c.enum and not c.multi:
            out.append(gxe.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.enum), meta=meta))
        pattern = getattr(c, "pattern", None)  # contract columns gained patterns in 2026-12
        if pattern:
            out.append(gxe.ExpectColumnValuesToMatchRegex(column=c.name, regex=pattern, meta=meta))
    return out


def build_suite(table: str, p: RegulationParams, year: int, codes: Iterable[str] | None = None) -> Any:
    """Suite over ``table``'s frame (:func:`checks.frames.table_frame`) for reporting ``year``.

    Args:
        table: a name of :data:`checks.spec.TABLE_FRAMES`.
        p: parameter table of the reporting year (resolves the violations' column lists).
        year: reporting year (the expectations resolve their violations with its parameters).
        codes: rule codes to include (default: every GX row rule of the table and the table's
            :func:`contract_expectations`).

    Returns:
        ``great_expectations.ExpectationSuite`` named ``table``.

    Raises:
        KeyError: ``table`` is not a table frame.
    """
    import great_expectations as gx

    from checks.expectations import ExpectRuleHolds
    from checks.gx_results import ensure_context
    from checks.registry import gx_rules

    if table not in TABLE_FRAMES:
        raise KeyError(f"no suite for {table!r}; tables: {TABLE_FRAMES}")
    ensure_context()
    wanted = set(codes) if codes is not None else None
    suite = gx.ExpectationSuite(name=table)
    for s in gx_rules(table):
        if wanted is None or s.code in wanted:
            # + the row id: GX's multicolumn expectations need two columns (and the frames all carry ``_row``)
            cols = sorted(set(resolve(s.violation, p).meta.root_names()) | {"_row"})
            suite.add_expectation(ExpectRuleHolds(column_list=cols, code=s.code, year=int(year),
                                                  meta={"code": s.code}, description=s.title_en))
    if wanted is None:  # the night's whole-table suite: the contract's expectations too
        for exp in contract_expectations(table):
            suite.add_expectation(exp)
    return suite
