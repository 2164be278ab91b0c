"""Expectation suites built in code, one builder per table (ARCHITECTURE.md convention 4).

Each builder takes the regulation parameters of the reporting year (:func:`checks.params.params_for`)
and optionally the catalogue codes to include (per-family runs), and returns a GX
``ExpectationSuite`` of the named expectation classes of :mod:`checks.expectations`, each with
``meta={"code": ...}``. The suites run on the derived partition frames of :mod:`checks.frames`.

Applicability ("only coal units that burnt coal", "only accepted conclusions") is not expressed as
GX ``row_condition``: GX 1.24 evaluates each condition with ``DataFrame.query`` per metric (measured:
half of a partition's validation time). Instead :mod:`checks.frames` writes ``chk_*`` columns that
are null where a rule does not apply, and GX ignores missing values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checks.params import RegulationParams

__all__ = [
    "build_monthly_reports_suite",
    "build_lab_reports_suite",
    "build_verifications_suite",
    "contract_expectations",
    "SUITE_CODES",
]

#: Codes each suite can produce (row rules asserted by GX; the other codes are polars/SQL rules).
SUITE_CODES: dict[str, tuple[str, ...]] = {
    "monthly_reports": (
        "ACC-001", "ACC-002", "ACC-003", "ACC-004", "ACC-005", "ACC-006", "ACC-007",
        "CMP-002", "CMP-003", "CMP-004", "LAB-003", "CC-001", "CC-003", "CC-004",
    ),
    "lab_reports": ("LAB-001", "LAB-002", "LAB-004", "LAB-006"),
    "verifications": ("VER-001", "VER-004"),
}

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


def _suite(name: str, items: list[tuple[str, Any]], codes: Iterable[str] | None) -> Any:
    import great_expectations as gx

    from checks.gx_results import ensure_context

    ensure_context()
    wanted = set(codes) if codes is not None else None
    suite = gx.ExpectationSuite(name=name)
    for code, exp in items:
        if wanted is None or code in wanted:
            suite.add_expectation(exp)
    if wanted is None:  # the night's whole-table suite: the contract's expectations too
        for exp in contract_expectations(name):
            suite.add_expectation(exp)
    return suite


def build_monthly_reports_suite(p: RegulationParams, codes: Iterable[str] | None = None) -> Any:
    """Suite over a ``monthly_reports`` partition frame (see :func:`checks.frames.monthly_frame`).

    Args:
        p: parameter table of the reporting year.
        codes: catalogue codes to include (default: all of :data:`SUITE_CODES` ``monthly_reports`` and
            the table's :func:`contract_expectations`).

    Returns:
        ``great_expectations.ExpectationSuite`` named ``monthly_reports``.
    """
    from checks import expectations as x

    def m(code: str) -> dict[str, Any]:
        return {"meta": {"code": code}}

    items: list[tuple[str, Any]] = [
        ("ACC-001", x.ExpectEmissionIdentity(**m("ACC-001"))),
        ("ACC-002", x.ExpectSupplyNotAboveGeneration(**m("ACC-002"))),
        ("ACC-003", x.ExpectHoursWithinMonth(**m("ACC-003"))),
        ("ACC-004", x.ExpectNcvInCoalTypeRange(**m("ACC-004"))),
        ("ACC-005", x.ExpectNcvInGjPerTonne(max_value=p.ncv_unit_error_above_gj_per_t, **m("ACC-005"))),
        ("ACC-006", x.ExpectFractionNotPercent(column="oxidation_rate", **m("ACC-006"))),
        ("ACC-006", x.ExpectFractionNotPercent(column="load_rate", **m("ACC-006"))),
        ("ACC-006", x.ExpectFractionNotPercent(column="carbon_content_tc_per_gj", **m("ACC-006"))),
        ("ACC-007", x.ExpectGenerationWithinCapacity(**m("ACC-007"))),
        ("CMP-002", x.ExpectTimelyDeposit(max_value=p.deposit_deadline_days, **m("CMP-002"))),
        ("CMP-003", x.ExpectMeasuredHasLabReport(**m("CMP-003"))),
        ("CMP-004", x.ExpectLabReportOfSameEnterpriseAndMonth(**m("CMP-004"))),
        ("LAB-003", x.ExpectCcMatchesLab(max_value=p.lab_cc_rel_tolerance, **m("LAB-003"))),
        ("CC-001", x.ExpectDefaultCcIsDefault(max_value=p.cc_default_tolerance_tc_per_gj, **m("CC-001"))),
        ("CC-003", x.ExpectMeasuredCcPlausible(min_value=p.cc_measured_min_tc_per_gj, **m("CC-003"))),
        ("CC-004", x.ExpectMeasuredCcNotADefault(
            value_set=sorted({round(v, 6) for v in (p.default_cc_tc_per_gj, *p.other_default_cc_tc_per_gj)}),
            **m("CC-004"))),
    ]
    return _suite("monthly_reports", items, codes)


def build_lab_reports_suite(p: RegulationParams, codes: Iterable[str] | None = None) -> Any:
    """Suite over a ``lab_reports`` partition frame (see :func:`checks.frames.lab_frame`)."""
    from checks import expectations as x

    def m(code: str) -> dict[str, Any]:
        return {"meta": {"code": code}}

    items: list[tuple[str, Any]] = [
        ("LAB-001", x.ExpectLabDatesOrdered(column_A="receipt_date", column_B="sampling_end_date", **m("LAB-001"))),
        ("LAB-001", x.ExpectLabDatesOrdered(column_A="test_date", column_B="receipt_date", **m("LAB-001"))),
        ("LAB-001", x.ExpectLabDatesOrdered(column_A="report_date", column_B="test_date", **m("LAB-001"))),
        ("LAB-002", x.ExpectCarRecomputes(max_value=p.car_tolerance_pct, **m("LAB-002"))),
        ("LAB-004", x.ExpectQrCodePresent(**m("LAB-004"))),
    ]
    # Cad: the band depends on the coal type (lignite, waste coal), so the frame derives the excess
    items.append(("LAB-006", x.ExpectLabComponentInRange(column="chk_cad_range_excess", max_value=0.0, **m("LAB-006"))))
    for col, (lo, hi) in (("moisture_ad_pct", p.mad_range_pct), ("total_moisture_pct", p.mt_range_pct)):
        items.append(("LAB-006", x.ExpectLabComponentInRange(column=col, min_value=lo, max_value=hi, **m("LAB-006"))))
    return _suite("lab_reports", items, codes)


def build_verifications_suite(p: RegulationParams, codes: Iterable[str] | None = None) -> Any:
    """Suite over a ``verifications`` partition frame (see :func:`checks.frames.verification_frame`)."""
    from checks import expectations as x

    items: list[tuple[str, Any]] = [
        ("VER-001", x.ExpectAcceptedGapWithinLimit(meta={"code": "VER-001"})),
        ("VER-004", x.ExpectPlausibleReviewDuration(min_value=p.min_review_days, meta={"code": "VER-004"})),
    ]
    return _suite("verifications", items, codes)
