"""Australian NGER designated generation facility data 2012-13 … 2017-18 → a contract bundle.

Input: ``nger_au_designated_generation_facilities_2012-2018.csv`` (Clean Energy Regulator, CC BY —
attribute the Clean Energy Regulator), six yearly files stacked with harmonised headers. ``type``
F = facility, C = corporate total, FA = facility aggregate. Numbers are text with thousands separators;
``-``, ``N/A`` and blanks mean "no value".

Output: ``enterprises`` (one per reporting entity) and ``annual_reports`` (one per entity and year).

* **Year**: the Australian reporting year runs 1 July – 30 June; ``2012-2013`` becomes ``year`` 2013 (the
  calendar year in which it ends), and so on up to 2018.
* **Which rows**: the report of an entity-year is its corporate total (``C``) row; where an entity has no
  ``C`` row that year, the sum of its ``F`` and ``FA`` rows. ``reported_emissions_tco2`` = total
  (scope 1 + scope 2, t CO₂-e; scope 2 is purchased electricity, as in the contract's identity);
  ``reported_power_supply_mwh`` = electricity production MWh, else GJ / 3.6 (1 MWh = 3.6 GJ exactly).
  A corporate total that differs from its facility rows by more than 1 % (and 1 t) is kept and listed
  in the adapter report as a ``warning`` (``facility_sum_differs``).
* **Enterprise identity**: the entity name normalised (upper case, punctuation dropped, whitespace
  collapsed: ``PTY. LTD.`` = ``PTY LTD``); ``enterprise_id`` = ``AU`` + 16 hex digits of its SHA-1 (18
  characters, like a USCC). The most recent spelling is the ``enterprise_name``.
* **Province**: ``AU-<state>`` (ISO 3166-2:AU) of the entity's largest facility by total emissions over
  all years; a facility's state is taken from any year that gives it (the early files have no state
  column). An entity none of whose facilities ever has a state gets ``AU`` (country only).
  ``city_name`` is null (NGER has no locality).
* ``submitted_at`` = 31 October after the reporting year (NGER Act 2007 s 19: reports are due by
  31 October), 00:00.

Quarantined (never silently dropped; ``<bundle>.adapter_report.csv`` beside the bundle, one row per
source record, ``source_line`` = 1-based record number after the header):

* ``summary_row`` — grand totals, grid-connected totals and empty trailer rows;
* ``malformed_row`` — broken quoting that shifted fields (type not F/C/FA, a number where the state
  belongs, a sentence in the type column such as the note that a report was not received);
* ``unparseable_number`` — a numeric cell that is neither a number nor ``-``/``N/A``/blank.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import polars as pl

from carbonqa.adapters._bundle import AdaptedBundle, to_contract, write_adapter_report, write_bundle

__all__ = ["NGER_FILE", "AU_STATES", "MWH_GJ", "load_nger", "adapt_nger", "entity_key", "enterprise_id"]

NGER_FILE = "nger_au_designated_generation_facilities_2012-2018.csv"
BUNDLE_ID = "au-nger-designated-generation-2013-2018"
CREATED_AT = "2026-01-01T00:00:00+08:00"
#: ISO 3166-2:AU subdivision codes (states and territories).
AU_STATES: frozenset[str] = frozenset({"NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"})
#: GJ per MWh (exact: 1 MWh = 3.6 × 10⁹ J).
MWH_GJ = 3.6
#: Relative and absolute tolerance of the corporate-total vs facility-sum comparison.
SUM_RTOL, SUM_ATOL_T = 0.01, 1.0
NUMERIC = (
    "electricity_production_gj",
    "electricity_production_mwh",
    "scope1_emissions_tco2e",
    "scope2_emissions_tco2e",
    "total_emissions_tco2e",
    "emission_intensity_t_per_mwh",
)
_NULL_TOKENS = ("", "-", "N/A", "n/a", "NA")
_NUMBER = r"^-?\d+(\.\d+)?$"
_SUMMARY = r"(?i)^\s*(grand total|grid connected total)"


def entity_key(name: str) -> str:
    """Normalised reporting-entity name (upper case, no punctuation, single spaces)."""
    return " ".join(re.sub(r"[^\w\s&]", " ", name.upper()).split())


def enterprise_id(name: str) -> str:
    """18-character enterprise id of a reporting entity: ``AU`` + 16 hex of SHA-1 of :func:`entity_key`."""
    return "AU" + hashlib.sha1(entity_key(name).encode()).hexdigest()[:16].upper()


def load_nger(path: Path) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Read and clean the NGER file; return (valid rows, quarantine report rows).

    Valid rows: ``type`` in F/C/FA, a ``YYYY-YYYY`` reporting year, an entity name, a known or empty
    state, every numeric column parsed to Float64 (thousands separators removed; ``-``/``N/A``/blank →
    null). Adds ``year`` (end year, Int64), ``source_line`` and ``state_code`` (``NSW``… or null).
    """
    raw = pl.read_csv(path, infer_schema_length=0, truncate_ragged_lines=True).with_row_index("source_line", offset=1)
    df = raw.with_columns(pl.col(pl.String).str.strip_chars())
    report: list[dict[str, Any]] = []

    def quarantine(mask: pl.Expr, reason: str, detail: str) -> None:
        nonlocal df
        bad = df.filter(mask)
        for r in bad.iter_rows(named=True):
            raw_row = {k: v for k, v in r.items() if k != "source_line" and v is not None}
            report.append({"source_file": NGER_FILE, "source_line": r["source_line"], "action": "quarantined",
                           "reason": reason, "detail": detail, "raw": str(raw_row)})
        df = df.filter(~mask.fill_null(False))

    ent = pl.col("reporting_entity")
    quarantine(ent.is_null() | ent.str.contains(_SUMMARY), "summary_row",
               "report total or empty trailer row, not an entity's report")
    quarantine(
        ~pl.col("type").is_in(["F", "C", "FA"]).fill_null(False)
        | ~pl.col("reporting_year").str.contains(r"^\d{4}-\d{4}$").fill_null(False)
        | ~(pl.col("state").is_null() | pl.col("state").is_in([*AU_STATES, *_NULL_TOKENS])),
        "malformed_row",
        "broken quoting in the source shifted the fields (type / year / state not recognisable)",
    )
    cleaned = [
        pl.when(pl.col(c).is_in(_NULL_TOKENS) | pl.col(c).is_null())
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.col(c).str.replace_all(",", ""))
        .alias(c)
        for c in NUMERIC
    ]
    df = df.with_columns(cleaned)
    unparseable = pl.any_horizontal([pl.col(c).is_not_null() & ~pl.col(c).str.contains(_NUMBER) for c in NUMERIC])
    quarantine(unparseable, "unparseable_number", "a numeric cell is neither a number nor -/N/A/blank")
    df = df.with_columns(
        *[pl.col(c).cast(pl.Float64) for c in NUMERIC],
        pl.col("reporting_year").str.slice(5, 4).cast(pl.Int64).alias("year"),
        pl.when(pl.col("state").is_in(list(AU_STATES))).then(pl.col("state")).alias("state_code"),
    )
    return df, report


def _total(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.coalesce(
            pl.col("total_emissions_tco2e"),
            pl.when(pl.col("scope1_emissions_tco2e").is_not_null() | pl.col("scope2_emissions_tco2e").is_not_null())
            .then(pl.col("scope1_emissions_tco2e").fill_null(0) + pl.col("scope2_emissions_tco2e").fill_null(0)),
        ).alias("_total"),
        pl.coalesce(pl.col("electricity_production_mwh"), pl.col("electricity_production_gj") / MWH_GJ).alias("_mwh"),
    )


def _frames(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, list[dict[str, Any]]]:
    """Build (enterprises, annual_reports, warning rows) from the valid rows."""
    df = _total(df.with_columns(
        pl.col("reporting_entity").map_elements(enterprise_id, return_dtype=pl.String).alias("enterprise_id")
    ))
    fac = df.filter(pl.col("type").is_in(["F", "FA"]))
    corp = df.filter(pl.col("type") == "C")
    fac_sum = fac.group_by("enterprise_id", "year").agg(
        pl.col("_total").sum().alias("f_total"), pl.col("_mwh").sum().alias("f_mwh"),
        pl.col("_total").is_not_null().any().alias("f_has_total"),
    )
    corp_one = corp.group_by("enterprise_id", "year").agg(
        pl.col("_total").sum().alias("c_total"), pl.col("_mwh").sum().alias("c_mwh"),
        pl.col("source_line").min(), pl.len().alias("c_rows"),
    )
    rep = fac_sum.join(corp_one, on=["enterprise_id", "year"], how="full", coalesce=True)
    warnings: list[dict[str, Any]] = []
    diff = rep.filter(
        pl.col("c_total").is_not_null() & pl.col("f_has_total").fill_null(False)
        & ((pl.col("c_total") - pl.col("f_total")).abs() > pl.max_horizontal(SUM_ATOL_T, SUM_RTOL * pl.col("c_total").abs()))
    )
    for r in diff.sort("year", "enterprise_id").iter_rows(named=True):
        warnings.append({"source_file": NGER_FILE, "source_line": r["source_line"], "action": "warning",
                         "reason": "facility_sum_differs",
                         "detail": f"{r['enterprise_id']} {r['year']}: corporate total {r['c_total']:.0f} t vs "
                                   f"facility rows {r['f_total']:.0f} t; corporate total reported"})
    annual = rep.with_columns(
        pl.when(pl.col("c_rows").is_not_null()).then(pl.col("c_total")).otherwise(pl.col("f_total")).alias("reported_emissions_tco2"),
        pl.when(pl.col("c_rows").is_not_null()).then(pl.col("c_mwh")).otherwise(pl.col("f_mwh")).alias("reported_power_supply_mwh"),
        pl.format("NGER-{}-{}", pl.col("year"), pl.col("enterprise_id")).alias("report_id"),
        pl.datetime(pl.col("year"), 10, 31).cast(pl.Datetime("us")).alias("submitted_at"),
        pl.lit(None, dtype=pl.Float64).alias("reported_heat_supply_gj"),
    ).sort("year", "enterprise_id")

    # facility state from any year, then the entity's largest facility
    fstate = (
        fac.filter(pl.col("state_code").is_not_null())
        .group_by("facility_name").agg(pl.col("state_code").mode().first().alias("fstate"))
    )
    largest = (
        fac.join(fstate, on="facility_name", how="left")
        .filter(pl.col("fstate").is_not_null())
        .group_by("enterprise_id", "fstate").agg(pl.col("_total").fill_null(0).sum().alias("t"))
        .sort("enterprise_id", "t", "fstate", descending=[False, True, False])
        .group_by("enterprise_id", maintain_order=True).first()
    )
    names = (
        df.sort("year", "source_line").group_by("enterprise_id", maintain_order=True)
        .agg(pl.col("reporting_entity").last().alias("enterprise_name"))
    )
    ent = (
        names.join(largest.select("enterprise_id", "fstate"), on="enterprise_id", how="left")
        .with_columns(
            pl.when(pl.col("fstate").is_not_null()).then(pl.format("AU-{}", pl.col("fstate"))).otherwise(pl.lit("AU"))
            .alias("province_code"),
            pl.lit(None, dtype=pl.String).alias("city_name"),
            pl.lit("power").alias("sector"),
            pl.lit(False).alias("is_captive"),
        )
        .sort("enterprise_id")
    )
    return ent, annual, warnings


def adapt_nger(out: Path, *, real_dir: Path | None = None) -> AdaptedBundle:
    """Turn the NGER file into a bundle of enterprises + annual reports (see module docstring).

    Args:
        out: bundle directory to write (an earlier adapted bundle there is replaced).
        real_dir: folder of the real files; default ``get_settings().real_data_dir``.

    Returns:
        :class:`AdaptedBundle`; quarantined rows and warnings are in ``<out>.adapter_report.csv``.

    Raises:
        FileNotFoundError: the NGER file is missing.
    """
    if real_dir is None:
        from carbonqa.settings import get_settings

        real_dir = get_settings().real_data_dir
    path = Path(real_dir) / NGER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; set CARBONQA_REAL_DATA_DIR or pass --real-dir")
    df, report = load_nger(path)
    ent, annual, warnings = _frames(df)
    rows = write_bundle(
        Path(out),
        bundle_id=BUNDLE_ID,
        source=f"adapted from {NGER_FILE} (Australian Clean Energy Regulator, CC BY)",
        created_at=CREATED_AT,
        tables={"enterprises": to_contract("enterprises", ent), "annual_reports": to_contract("annual_reports", annual)},
        extra={"period_start": f"{annual['year'].min() - 1}-07", "period_end": f"{annual['year'].max()}-06"},
    )
    report += warnings
    rpath = write_adapter_report(Path(out), report)
    n_q = sum(r["action"] == "quarantined" for r in report)
    return AdaptedBundle(
        Path(out), BUNDLE_ID, rows, rpath, len(report),
        notes=[f"{n_q} source rows quarantined, {len(warnings)} warnings",
               "reporting year 2012-13 → year 2013 (year in which the July-June period ends)"],
    )
