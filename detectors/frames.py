"""Input frames of the detectors, built once per run from a :class:`~carbonqa.screening.ScreenContext`.

:func:`unit_months` joins the current monthly reports with their unit (coal type, class) and their lab
report (Cad, Mad, Mt, Car, lab NCV, lab, dates): one row per unit × period, all in polars. Tests build
the same frame from tiny inline tables.
"""

from __future__ import annotations

import polars as pl

from detectors._common import DEFAULT_OXIDATION, period_month

__all__ = ["unit_months", "LAB_COLUMNS"]

#: Lab-report columns carried into :func:`unit_months` (CONTRACT.md §3 ``lab_reports``).
LAB_COLUMNS: tuple[str, ...] = (
    "lab_report_id",
    "report_no",
    "lab_agency_id",
    "sampling_end_date",
    "receipt_date",
    "test_date",
    "report_date",
    "carbon_ad_pct",
    "moisture_ad_pct",
    "total_moisture_pct",
    "carbon_ar_pct",
    "ncv_ar_gj_per_t",
)


#: Monthly-report columns that must be numeric (a CSV column that is empty throughout reads as text).
MONTHLY_FLOATS: tuple[str, ...] = (
    "fuel_consumed_t", "ncv_gj_per_t", "carbon_content_tc_per_gj", "oxidation_rate", "gross_generation_mwh",
    "power_supply_mwh", "heat_supply_gj", "operating_hours", "load_rate", "purchased_electricity_mwh", "emissions_tco2",
)


def _ensure(df: pl.DataFrame, cols: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing columns as nulls of the given dtype (a bundle may lack optional tables/columns)."""
    return df.with_columns([pl.lit(None, dt).alias(c) for c, dt in cols.items() if c not in df.columns])


def unit_months(monthly: pl.DataFrame, lab: pl.DataFrame | None, units: pl.DataFrame) -> pl.DataFrame:
    """Monthly reports enriched with unit attributes and their lab report.

    Args:
        monthly: current ``monthly_reports`` (contract columns; ``enterprise_id``/``province_code``
            enrichment optional — taken from ``units`` when absent).
        lab: current ``lab_reports`` or ``None``.
        units: current ``units`` (with ``province_code``/``city_name`` when enriched).

    Returns:
        One row per (unit_id, period) with the monthly columns plus ``coal_type``, ``unit_class``,
        ``combustion_technology`` / ``is_chp`` (when ``units`` has them), ``is_gas``, ``year``, ``month`` (1–12), ``quarter`` (1–4), ``heat_gj`` (fuel × NCV, GJ; 10⁴ Nm³ ×
        GJ/10⁴ Nm³ for gas), ``ox`` (oxidation rate, default 0.99 when empty) and the lab columns of
        :data:`LAB_COLUMNS`. Sorted by unit and period (consecutive-month logic relies on it).
    """
    u_cols = [c for c in ("unit_id", "enterprise_id", "province_code", "city_name", "coal_type", "unit_class", "combustion_technology", "is_chp")
              if c in units.columns]
    u = units.select(u_cols)
    if "is_chp" in u.columns and u.schema["is_chp"] == pl.String():  # frames read as text (adapters, CSV)
        from carbonqa.ingest.cast import parse_bool

        u = u.with_columns(parse_bool(pl.col("is_chp")))
    floats = [c for c in MONTHLY_FLOATS if c in monthly.columns]
    monthly = monthly.with_columns([pl.col(c).cast(pl.Float64, strict=False) for c in floats])
    m = monthly.drop([c for c in ("enterprise_id", "province_code", "city_name") if c in monthly.columns and c in u_cols])
    df = m.join(u, on="unit_id", how="left")
    df = _ensure(
        df,
        {
            "coal_type": pl.String(),
            "unit_class": pl.String(),
            "province_code": pl.String(),
            "city_name": pl.String(),
            "lab_report_id": pl.String(),
            "oxidation_rate": pl.Float64(),
            "emissions_tco2": pl.Float64(),
        },
    )
    if lab is not None and lab.height:
        lab_sel = lab.select([c for c in LAB_COLUMNS if c in lab.columns]).unique(subset=["lab_report_id"], keep="first")
        df = df.join(lab_sel, on="lab_report_id", how="left")
    df = _ensure(df, {c: (pl.Float64() if c.endswith(("_pct", "_per_t")) else pl.String()) for c in LAB_COLUMNS})
    for c in ("sampling_end_date", "receipt_date", "test_date", "report_date"):
        if df.schema[c] == pl.String():
            df = df.with_columns(pl.col(c).str.to_date(strict=False))
    return df.with_columns(
        pl.col("period").str.slice(0, 4).cast(pl.Int32, strict=False).alias("year"),
        period_month().alias("month"),
        ((period_month() - 1) // 3 + 1).alias("quarter"),
        (pl.col("unit_class") == "gas").fill_null(False).alias("is_gas"),
        (pl.col("fuel_consumed_t") * pl.col("ncv_gj_per_t")).alias("heat_gj"),
        pl.col("oxidation_rate").fill_null(DEFAULT_OXIDATION).alias("ox"),
        pl.col("coal_type").fill_null("unknown"),
    ).sort("unit_id", "period")
