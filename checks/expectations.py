"""The rules as named Great Expectations 1.x expectation subclasses (ARCHITECTURE.md convention 4).

Each class is a small subclass of a built-in GX expectation with its column defaults and a
``description``; the suite builders in :mod:`checks.suites` instantiate them with the bounds of the
regulation year (:mod:`checks.params`) and ``meta={"code": ...}``, the catalogue code the failing rows
become findings of. The columns they name are the contract columns plus the *derived* columns that
:mod:`checks.frames` computes in polars before a partition is handed to GX (GX has no polars engine and
no cross-column arithmetic; polars computes, GX asserts).

Importing this module imports GX (≈3–5 s); import it lazily. GX logging is silenced first.
"""

from __future__ import annotations

import logging

logging.getLogger("great_expectations").setLevel(logging.WARNING)

import great_expectations.expectations as gxe  # noqa: E402

__all__ = [
    "ExpectEmissionIdentity",
    "ExpectSupplyNotAboveGeneration",
    "ExpectHoursWithinMonth",
    "ExpectNcvInCoalTypeRange",
    "ExpectNcvInGjPerTonne",
    "ExpectFractionNotPercent",
    "ExpectGenerationWithinCapacity",
    "ExpectTimelyDeposit",
    "ExpectMeasuredHasLabReport",
    "ExpectLabReportOfSameEnterpriseAndMonth",
    "ExpectCcMatchesLab",
    "ExpectDefaultCcIsDefault",
    "ExpectMeasuredCcPlausible",
    "ExpectMeasuredCcNotADefault",
    "ExpectLabDatesOrdered",
    "ExpectCarRecomputes",
    "ExpectQrCodePresent",
    "ExpectLabComponentInRange",
    "ExpectAcceptedGapWithinLimit",
    "ExpectPlausibleReviewDuration",
]

_EITHER = "either_value_is_missing"


# ---- monthly_reports --------------------------------------------------------------------------------
class ExpectEmissionIdentity(gxe.ExpectColumnPairValuesAToBeGreaterThanB):
    """ACC-001: |reported − recomputed emissions| within tolerance (derived columns, t)."""

    column_A: str = "identity_tol_t"
    column_B: str = "chk_identity_gap_t"
    or_equal: bool = True
    ignore_row_if: str = _EITHER
    description: str = "Reported emissions equal FC × NCV × CC × OF × 44/12 + purchased MWh × grid factor"


class ExpectSupplyNotAboveGeneration(gxe.ExpectColumnPairValuesAToBeGreaterThanB):
    """ACC-002: power supplied never exceeds gross generation (MWh)."""

    column_A: str = "gross_generation_mwh"
    column_B: str = "power_supply_mwh"
    or_equal: bool = True
    ignore_row_if: str = _EITHER
    description: str = "Power supply ≤ gross generation"


class ExpectHoursWithinMonth(gxe.ExpectColumnPairValuesAToBeGreaterThanB):
    """ACC-003: operating hours at most the hours of the calendar month."""

    column_A: str = "hours_in_month"
    column_B: str = "operating_hours"
    or_equal: bool = True
    ignore_row_if: str = _EITHER
    description: str = "Operating hours ≤ hours in the month"


class ExpectNcvInCoalTypeRange(gxe.ExpectColumnValuesToBeBetween):
    """ACC-004: distance (GJ/t) of NCV outside its coal type's plausible band is zero (derived)."""

    column: str = "chk_ncv_range_excess"
    min_value: float | None = None
    max_value: float = 0.0
    description: str = "NCV as received inside the plausible range of the coal type"


class ExpectNcvInGjPerTonne(gxe.ExpectColumnValuesToBeBetween):
    """ACC-005: a coal NCV above 100 GJ/t is a unit error (kcal/kg ≈ 4000–7000)."""

    column: str = "chk_ncv_coal"
    min_value: float | None = None
    description: str = "NCV given in GJ/t, not kcal/kg"


class ExpectFractionNotPercent(gxe.ExpectColumnValuesToBeBetween):
    """ACC-006: a fraction column (oxidation rate, load rate) is at most 1, not a percent like 99."""

    column: str = "oxidation_rate"
    min_value: float | None = None
    max_value: float = 1.0
    description: str = "Fraction given as a fraction (0–1), not a percent"


class ExpectGenerationWithinCapacity(gxe.ExpectColumnPairValuesAToBeGreaterThanB):
    """ACC-007: gross generation ≤ capacity × hours in month × margin (kWh reported as MWh)."""

    column_A: str = "generation_max_mwh"
    column_B: str = "gross_generation_mwh"
    or_equal: bool = True
    ignore_row_if: str = _EITHER
    description: str = "Gross generation physically possible for the capacity (MWh, not kWh)"


class ExpectTimelyDeposit(gxe.ExpectColumnValuesToBeBetween):
    """CMP-002: deposited at most N days after month end (derived ``deposit_days``)."""

    column: str = "chk_deposit_days"
    min_value: float | None = None
    description: str = "Monthly evidence deposited within the deadline after month end"


class ExpectMeasuredHasLabReport(gxe.ExpectColumnValuesToBeInSet):
    """CMP-003: a measured month with coal burnt links to an existing lab report (``lab_found``)."""

    column: str = "chk_lab_found"
    value_set: list = [True]  # noqa: RUF012 - pydantic field default
    description: str = "A measured carbon content is backed by a lab report"


class ExpectLabReportOfSameEnterpriseAndMonth(gxe.ExpectColumnValuesToBeInSet):
    """CMP-004: the linked lab report is of the same enterprise (plant) and the same month."""

    column: str = "chk_lab_matches"
    value_set: list = [True]  # noqa: RUF012 - pydantic field default
    description: str = "The linked lab report belongs to the same plant and month"


class ExpectCcMatchesLab(gxe.ExpectColumnValuesToBeBetween):
    """LAB-003: reported CC equals the linked lab's Car/NCV (relative gap, derived)."""

    column: str = "chk_lab_cc_rel_gap"
    min_value: float | None = None
    description: str = "Reported carbon content equals (Car/100)/NCV of the linked lab report"


class ExpectDefaultCcIsDefault(gxe.ExpectColumnValuesToBeBetween):
    """CC-001: a 'default' basis carries the year's default value (absolute gap, derived)."""

    column: str = "chk_cc_default_abs_gap"
    min_value: float | None = None
    description: str = "Default basis uses the default carbon content of the reporting year"


class ExpectMeasuredCcPlausible(gxe.ExpectColumnValuesToBeBetween):
    """CC-003: measured CC not below the plausible minimum (tC/GJ); high values are honest (anthracite)."""

    column: str = "chk_cc_measured"
    max_value: float | None = None
    description: str = "Measured carbon content not below the plausible minimum"


class ExpectMeasuredCcNotADefault(gxe.ExpectColumnValuesToNotBeInSet):
    """CC-004: a measured CC (rounded to 6 decimals) is not exactly a Chinese default value."""

    column: str = "chk_cc_measured_r6"
    description: str = "A measured carbon content is not a copied default"


# ---- lab_reports ------------------------------------------------------------------------------------
class ExpectLabDatesOrdered(gxe.ExpectColumnPairValuesAToBeGreaterThanB):
    """LAB-001: one link of sampling_end ≤ receipt ≤ test ≤ report (columns per instance)."""

    or_equal: bool = True
    ignore_row_if: str = _EITHER
    description: str = "Lab dates in order: sampling end ≤ receipt ≤ test ≤ report"


class ExpectCarRecomputes(gxe.ExpectColumnValuesToBeBetween):
    """LAB-002: |Car − Cad × (100 − Mt)/(100 − Mad)| within tolerance (percentage points)."""

    column: str = "car_abs_gap_pct"
    min_value: float | None = None
    description: str = "Car recomputes from Cad, Mad and Mt"


class ExpectQrCodePresent(gxe.ExpectColumnValuesToBeInSet):
    """LAB-004: the lab report carries its anti-counterfeit QR code."""

    column: str = "has_anti_counterfeit_code"
    value_set: list = [True]  # noqa: RUF012 - pydantic field default
    description: str = "Lab report carries the anti-counterfeit QR code"


class ExpectLabComponentInRange(gxe.ExpectColumnValuesToBeBetween):
    """LAB-006: Cad / Mad / Mt inside their plausible bands (column and bounds per instance)."""

    description: str = "Cad, Mad and Mt inside plausible ranges"


# ---- verifications ----------------------------------------------------------------------------------
class ExpectAcceptedGapWithinLimit(gxe.ExpectColumnPairValuesAToBeGreaterThanB):
    """VER-001: an accepted conclusion's |verified − reported| ≤ min(1,000 t, 10 % of reported)."""

    column_A: str = "gap_allowed_t"
    column_B: str = "chk_accepted_gap_t"
    or_equal: bool = True
    ignore_row_if: str = _EITHER
    description: str = "An accepted verification has no gap above 1,000 t or 10 %"


class ExpectPlausibleReviewDuration(gxe.ExpectColumnValuesToBeBetween):
    """VER-004: review_completed − review_started at least the minimum plausible days."""

    column: str = "review_days"
    max_value: float | None = None
    description: str = "Technical review takes a plausible minimum number of days"
