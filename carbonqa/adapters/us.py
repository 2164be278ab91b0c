"""US EIA-923 monthly generation & fuel + EPA AMPD monthly CEMS → a contract bundle.

Inputs (``carbonqa/data/real/``, see its README):

* ``eia923_monthly_generation_fuel_AZ_CA_2011-2020.csv`` — PUDL-cleaned EIA Form 923, one row per
  plant × month × prime mover × fuel, two PowerGenome test-database releases stacked (``source_db``).
* ``epa_ampd_monthly_facility_emissions_2016.csv`` — EPA Air Markets Program Data, monthly facility
  totals 2016 (``Facility ID (ORISPL)`` = ``plant_id_eia``).

Output tables (shapes for the real files: 6 enterprises, 8 units, 708 monthly reports, 36 telemetry
rows — the exact counts are asserted in ``tests/carbonqa/test_adapters.py``):

``enterprises``
    one per EIA plant that burns coal or gas; ``enterprise_id`` = ``US-EIA-PLANT-`` + 5-digit plant id
    (18 characters like a USCC); ``province_code`` ISO 3166-2 (``US-AZ``); ``city_name`` the county
    where known (:data:`PLANT_COUNTY`), else the state's name.
``units``
    one per plant × fuel family (``coal`` / ``gas``), prime movers of a family merged (listed in
    ``unit_name``). The monthly report carries one fuel per unit-month, so coal grades burnt in one
    month (Cholla burns SUB and BIT) are merged: tonnes and heat add up, NCV = heat / tonnes, carbon
    content heat-weighted. ``coal_type`` is the grade with ≥ 90 % of the unit's coal heat, else
    ``mixed``. Capacity is not in these files: ``capacity_mw`` is the peak monthly mean net output
    (MWh / hours of the month), a lower bound of nameplate, and ``unit_class`` follows it (≥ 400 MW
    → ``coal_conventional_300mw_plus``, ``carbonqa.synth.params.CLASS_300MW_PLUS_MIN_MW``).
``monthly_reports``
    one per unit-month, version 1, all years of the EIA file. See :func:`monthly_reports` for units.
``telemetry``
    EPA CEMS monthly facility totals of 2016 as **monthly-granularity telemetry**: one row per plant-month
    on the plant's principal unit (largest 2016 fuel heat), ``ts`` = first hour of the month,
    ``interval_hours`` = hours of the month, ``gross_load_mw`` = gross MWh / hours, ``cems_co2_t`` =
    short tons × 0.907185, ``coal_feed_t`` null. Only plants with EIA-923 data in 2016 (Cholla 113,
    Ocotillo 116, West Phoenix 117): Agua Fria and Apache report CEMS in 2016 but the EIA file has them
    only from 2018, so there would be nothing to compare against.

Left out (listed in ``<bundle>.adapter_report.csv``): a plant's fuel family whose rows are all zero
(West Phoenix has one all-zero BIT row at a combustion turbine in 2018-11: no unit is made of it); oil (DFO/RFO) — the contract's unit classes are
coal and gas and a monthly report carries one fuel; at Cholla oil is 0.17 % of 2016 fuel heat (start-up
fuel) — hydro and solar (no fuel), and negative net generation (auxiliary load exceeding output in
a month of a standby unit), which is clipped to 0 because the contract requires generation ≥ 0.

Conversions (every constant is a module constant with its source):

* mass: 1 short ton = 0.907185 t (NIST SP 811 B.9: 907.18474 kg).
* heat: 1 MMBtu = 1.055056 GJ (NIST SP 811: 1 Btu_IT = 1055.056 J).
* EIA heat contents are **gross** (higher heating value; EIA-923 instructions, "Btu content … on a
  gross (higher heating value) basis"), the contract's NCV is **net**: GCV → NCV × 0.95 for coal and
  oil, × 0.90 for natural gas (IPCC 2006 GL vol. 2 ch. 1 §1.4.1.2).
* gas: 1 Mcf (10³ ft³ at 60 °F, 14.73 psia, EIA's standard) = 26.853 Nm³ (0 °C, 101.325 kPa), ideal gas;
  ``fuel_consumed_t`` of a gas unit is in 10⁴ Nm³ (CONTRACT.md §3) and its ``ncv_gj_per_t`` in
  GJ/10⁴ Nm³.
* carbon content: IPCC 2006 GL vol. 2 table 1.3 default carbon content (kg C/GJ on NCV): bituminous
  25.8, sub-bituminous 26.2, lignite 27.6, anthracite 26.8, natural gas 15.3 → tC/GJ / 1000; basis
  ``default``; oxidation rate 1.0 (IPCC 2006 GL vol. 2 ch. 1 §1.4.2.1 default oxidation factor).
* generation: EIA-923 has **net** generation only: ``gross_generation_mwh`` = ``power_supply_mwh`` =
  net generation (so auxiliary use reads 0 — a known property of this bundle, not a finding).
* ``heat_supply_gj`` = 0 and ``purchased_electricity_mwh`` = 0: EIA-923 generation & fuel has neither
  (none of these plants is CHP); ``operating_hours``/``load_rate`` null (not reported).
* ``emissions_tco2`` = fuel × NCV × CC × OF × 44/12 (CONTRACT.md §3 identity, no purchased electricity).
* ``submitted_at`` = last day of the month + 20 days, 00:00 (a modelling choice of the adapter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from carbonqa import contract
from carbonqa.adapters._bundle import AdaptedBundle, to_contract, write_adapter_report, write_bundle

__all__ = [
    "EIA_FILE",
    "AMPD_FILE",
    "SHORT_TON_T",
    "MMBTU_GJ",
    "MCF_NM3",
    "GCV_TO_NCV",
    "IPCC_CC_TC_PER_GJ",
    "load_eia923",
    "load_ampd",
    "adapt_us",
]

EIA_FILE = "eia923_monthly_generation_fuel_AZ_CA_2011-2020.csv"
AMPD_FILE = "epa_ampd_monthly_facility_emissions_2016.csv"

#: 1 short ton in tonnes (NIST SP 811 appendix B.9: 1 ton (short) = 907.18474 kg).
SHORT_TON_T = 0.907185
#: 1 MMBtu in GJ (NIST SP 811: 1 Btu_IT = 1055.056 J).
MMBTU_GJ = 1.055056
#: Mcf at EIA standard conditions (60 °F = 288.7056 K, 14.73 psia) in Nm³ (273.15 K, 14.69595 psia =
#: 101.325 kPa), ideal-gas law; 1 ft³ = 0.028316846592 m³ (NIST SP 811).
MCF_NM3 = 1000 * 0.028316846592 * (14.73 / 14.69595) * (273.15 / 288.7055556)
#: Net/gross calorific value ratio by fuel family (IPCC 2006 GL vol. 2 ch. 1 §1.4.1.2: NCV ≈ 95 % of
#: GCV for coal and oil, 90 % for natural gas).
GCV_TO_NCV: dict[str, float] = {"coal": 0.95, "oil": 0.95, "gas": 0.90}
#: IPCC 2006 GL vol. 2 table 1.3 default carbon content, kg C/GJ (NCV basis) / 1000 → tC/GJ, keyed by
#: EIA energy source code (fuel_type).
IPCC_CC_TC_PER_GJ: dict[str, float] = {
    "BIT": 0.0258,
    "SUB": 0.0262,
    "LIG": 0.0276,
    "ANT": 0.0268,
    "WC": 0.0258,  # waste coal: IPCC has no row; bituminous used (the coal it is washed from)
    "RC": 0.0258,  # refined coal: IPCC has no row; bituminous used
    "NG": 0.0153,
}
#: IPCC default oxidation factor (IPCC 2006 GL vol. 2 ch. 1 §1.4.2.1: "assume 1").
OXIDATION_RATE = 1.0
#: EIA energy source code of coal → contract coal_type.
COAL_TYPE: dict[str, str] = {
    "BIT": "bituminous",
    "SUB": "subbituminous",
    "LIG": "lignite",
    "ANT": "anthracite",
    "WC": "waste_coal",
    "RC": "unknown",
}
#: Share of a unit's coal heat one grade must have for the unit's coal_type to be that grade.
DOMINANT_COAL_SHARE = 0.90
#: County of the plants (city_name), from each plant's public EIA-860 location: Cholla near Joseph
#: City, Ocotillo in Tempe, West Phoenix in Phoenix, Agua Fria in Glendale, Apache near Cochise.
PLANT_COUNTY: dict[int, str] = {
    113: "Navajo County",
    116: "Maricopa County",
    117: "Maricopa County",
    141: "Maricopa County",
    160: "Cochise County",
}
#: State of plants absent from the 2016 AMPD file (which gives every other plant's state). EIA plant
#: ids 100-199 lie in the block first assigned to Arizona (Cholla 113 … Apache 160 are all AZ), and
#: the input file holds AZ and CA only; 151 is therefore taken as AZ (an inference, not a lookup).
STATE_FALLBACK: dict[int, str] = {151: "AZ"}
#: Plant names for plants absent from the 2016 AMPD file.
NAME_FALLBACK: dict[int, str] = {151: "EIA plant 151"}
STATE_NAMES: dict[str, str] = {"AZ": "Arizona", "CA": "California"}
#: Days after month end at which the adapted monthly report counts as submitted (adapter choice).
SUBMISSION_LAG_DAYS = 20
#: The year of the AMPD file (the only CEMS year available).
CEMS_YEAR = 2016
#: Fixed creation time of the adapted bundle (reproducible bytes).
CREATED_AT = "2026-01-01T00:00:00+08:00"
BUNDLE_ID = "us-eia923-ampd-az-2011-2020"
_FAMILIES = ("coal", "gas")


def load_eia923(path: Path) -> pl.DataFrame:
    """Read the EIA-923 file, typed, with the two stacked releases deduplicated.

    Shape: one row per ``plant_id_eia`` × ``report_date`` × ``prime_mover_code`` × ``fuel_type``
    (2,367 rows for the real file: the releases cover 2011-2017 and 2018-2020 and do not overlap, but
    a key present in both is resolved in favour of the release whose data reach furthest, i.e. the
    newer PUDL build). Adds ``period`` (``YYYY-MM``), ``year``, ``month`` and ``heat_hhv_mmbtu`` =
    ``fuel_consumed_units`` × ``fuel_mmbtu_per_unit``.

    Raises ``FileNotFoundError`` if the file is absent and ``polars`` errors if a column is missing.
    """
    raw = pl.read_csv(path, infer_schema_length=0)
    num = ["fuel_consumed_units", "fuel_consumed_for_electricity_units", "fuel_mmbtu_per_unit",
           "fuel_consumed_mmbtu", "fuel_consumed_for_electricity_mmbtu", "net_generation_mwh"]
    df = raw.with_columns(
        pl.col("plant_id_eia").str.strip_chars().cast(pl.Int64),
        pl.col("report_date").str.strip_chars().str.to_date("%Y-%m-%d"),
        *[pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in num],
    )
    rank = (
        df.group_by("source_db").agg(pl.col("report_date").max().alias("_reach"))
        .with_columns(pl.col("_reach").rank("ordinal", descending=True).alias("_release_rank"))
        .select("source_db", "_release_rank")
    )
    key = ["plant_id_eia", "report_date", "prime_mover_code", "fuel_type"]
    df = (
        df.join(rank, on="source_db", how="left")
        .sort([*key, "_release_rank"])
        .unique(subset=key, keep="first", maintain_order=True)
        .drop("_release_rank")
    )
    return df.with_columns(
        pl.col("report_date").dt.strftime("%Y-%m").alias("period"),
        pl.col("report_date").dt.year().cast(pl.Int64).alias("year"),
        pl.col("report_date").dt.month().cast(pl.Int64).alias("month"),
        (pl.col("fuel_consumed_units").fill_null(0.0) * pl.col("fuel_mmbtu_per_unit").fill_null(0.0)).alias(
            "heat_hhv_mmbtu"
        ),
    ).sort(key)


#: Canonical AMPD column names in file order (the header has a space after each comma).
AMPD_COLUMNS: dict[str, str] = {
    "State": "state",
    "Facility Name": "facility_name",
    "Facility ID (ORISPL)": "plant_id_eia",
    "Month": "month",
    "Year": "year",
    "Gross Load (MW-h)": "gross_load_mwh",
    "SO2 (tons)": "so2_short_tons",
    "NOx (tons)": "nox_short_tons",
    "CO2 (short tons)": "co2_short_tons",
    "Heat Input (MMBtu)": "heat_input_mmbtu",
}


def load_ampd(path: Path) -> pl.DataFrame:
    """Read the EPA AMPD monthly facility file defensively.

    The header has a space after each comma, every data row ends with a trailing comma (one more field
    than the header), every value is quoted and some cells are blank. The header is read and stripped
    by hand, then the body is read as strings with one extra throw-away column and cast with
    ``strict=False`` (blank → null).

    Shape: one row per facility-month, columns of :data:`AMPD_COLUMNS` (snake-case), numbers Float64,
    ids/months/years Int64. Raises ``ValueError`` if an expected header is missing.
    """
    with path.open(encoding="utf-8-sig") as fh:
        header = [h.strip().strip('"') for h in fh.readline().rstrip("\r\n").split(",")]
    header = [h for h in header if h]
    missing = [h for h in AMPD_COLUMNS if h not in header]
    if missing:
        raise ValueError(f"{path.name}: expected AMPD columns missing: {missing}; header is {header}")
    names = [AMPD_COLUMNS.get(h, h) for h in header] + ["_trailing"]
    df = pl.read_csv(
        path,
        has_header=False,
        skip_rows=1,
        new_columns=names,
        schema_overrides={n: pl.String for n in names},
        truncate_ragged_lines=True,
    ).drop("_trailing")
    ints = ["plant_id_eia", "month", "year"]
    floats = ["gross_load_mwh", "so2_short_tons", "nox_short_tons", "co2_short_tons", "heat_input_mmbtu"]
    return df.with_columns(
        pl.col("state").str.strip_chars(),
        pl.col("facility_name").str.strip_chars(),
        *[pl.col(c).str.strip_chars().cast(pl.Int64, strict=False) for c in ints],
        *[pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in floats],
    )


def _unit_months(eia: pl.DataFrame) -> pl.DataFrame:
    """Aggregate EIA rows to unit-months (plant × fuel family × month) in source units."""
    fossil = eia.filter(pl.col("fuel_type_code_pudl").is_in(_FAMILIES))
    cc = pl.col("fuel_type").replace_strict(IPCC_CC_TC_PER_GJ, default=None, return_dtype=pl.Float64)
    return (
        fossil.with_columns(
            pl.col("fuel_type_code_pudl").alias("family"),
            (pl.col("heat_hhv_mmbtu") * cc).alias("_cc_heat"),
        )
        .group_by("plant_id_eia", "family", "period", "year", "month")
        .agg(
            pl.col("fuel_consumed_units").fill_null(0.0).sum().alias("fuel_units"),
            pl.col("heat_hhv_mmbtu").sum(),
            pl.col("_cc_heat").sum(),
            pl.col("net_generation_mwh").fill_null(0.0).sum().alias("net_mwh"),
            pl.col("prime_mover_code").unique().sort().str.join("+").alias("prime_movers"),
        )
        .with_columns(
            pl.when(pl.col("heat_hhv_mmbtu") > 0)
            .then(pl.col("_cc_heat") / pl.col("heat_hhv_mmbtu"))
            .otherwise(None)
            .alias("cc_tc_per_gj")
        )
        .drop("_cc_heat")
        .filter(
            (pl.col("fuel_units").abs().sum() + pl.col("net_mwh").abs().sum()).over("plant_id_eia", "family") > 0
        )
        .sort("plant_id_eia", "family", "period")
    )


def _unit_id(plant: pl.Expr, family: pl.Expr) -> pl.Expr:
    return pl.format("US-{}-{}", plant.cast(pl.String).str.zfill(5), family.str.to_uppercase())


def _enterprise_id(plant: pl.Expr) -> pl.Expr:
    return pl.format("US-EIA-PLANT-{}", plant.cast(pl.String).str.zfill(5))


def monthly_reports(um: pl.DataFrame) -> pl.DataFrame:
    """Unit-months (from :func:`_unit_months`) → contract ``monthly_reports`` (see module docstring).

    Coal: ``fuel_consumed_t`` = short tons × :data:`SHORT_TON_T`; gas: 10⁴ Nm³ = Mcf × :data:`MCF_NM3`
    / 10⁴. ``ncv_gj_per_t`` = HHV MMBtu × :data:`MMBTU_GJ` × :data:`GCV_TO_NCV` / fuel (null when no
    fuel was burnt, as the contract allows for outage months).
    """
    is_coal = pl.col("family") == "coal"
    fuel = (
        pl.when(is_coal).then(pl.col("fuel_units") * SHORT_TON_T).otherwise(pl.col("fuel_units") * MCF_NM3 / 1e4)
    )
    ncv_factor = pl.col("family").replace_strict(GCV_TO_NCV, return_dtype=pl.Float64)
    heat_gj = pl.col("heat_hhv_mmbtu") * MMBTU_GJ * ncv_factor
    burnt = pl.col("fuel_consumed_t") > 0
    month_end = pl.col("report_date").dt.month_end()
    return (
        um.with_columns(
            fuel.alias("fuel_consumed_t"),
            heat_gj.alias("_heat_gj"),
            pl.col("period").str.to_date("%Y-%m").alias("report_date"),
        )
        .with_columns(
            pl.when(burnt).then(pl.col("_heat_gj") / pl.col("fuel_consumed_t")).alias("ncv_gj_per_t"),
            pl.when(burnt).then(pl.col("cc_tc_per_gj")).alias("carbon_content_tc_per_gj"),
            pl.when(burnt).then(pl.lit("default")).alias("carbon_content_basis"),
            pl.lit(OXIDATION_RATE).alias("oxidation_rate"),
            pl.col("net_mwh").clip(lower_bound=0.0).alias("gross_generation_mwh"),
            pl.col("net_mwh").clip(lower_bound=0.0).alias("power_supply_mwh"),
            pl.lit(0.0).alias("heat_supply_gj"),
            pl.lit(0.0).alias("purchased_electricity_mwh"),
            (month_end.cast(pl.Datetime("us")) + pl.duration(days=SUBMISSION_LAG_DAYS)).alias("submitted_at"),
            _unit_id(pl.col("plant_id_eia"), pl.col("family")).alias("unit_id"),
            pl.lit(1).alias("version"),
        )
        .with_columns(
            pl.when(burnt)
            .then(
                pl.col("fuel_consumed_t") * pl.col("ncv_gj_per_t") * pl.col("carbon_content_tc_per_gj")
                * pl.col("oxidation_rate") * contract.CO2_PER_C
            )
            .otherwise(0.0)
            .alias("emissions_tco2")
        )
        .sort("unit_id", "period")
    )


def _registry(eia: pl.DataFrame, um: pl.DataFrame, ampd: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Enterprises and units of the plants with coal or gas."""
    names = ampd.group_by("plant_id_eia").agg(pl.col("facility_name").first(), pl.col("state").first())
    plants = um.select("plant_id_eia").unique().sort("plant_id_eia").join(names, on="plant_id_eia", how="left")
    rows = []
    for p in plants.iter_rows(named=True):
        pid = p["plant_id_eia"]
        state = p["state"] or STATE_FALLBACK.get(pid)
        if state is None:
            raise ValueError(f"EIA plant {pid}: state unknown (not in AMPD 2016); add it to STATE_FALLBACK")
        rows.append(
            {
                "plant_id_eia": pid,
                "enterprise_name": p["facility_name"] or NAME_FALLBACK.get(pid, f"EIA plant {pid}"),
                "province_code": f"US-{state}",
                "city_name": PLANT_COUNTY.get(pid, STATE_NAMES.get(state, state)),
            }
        )
    ent = pl.DataFrame(rows).with_columns(
        _enterprise_id(pl.col("plant_id_eia")).alias("enterprise_id"),
        pl.lit("power").alias("sector"),
        pl.lit(False).alias("is_captive"),
    )

    coal = eia.filter(pl.col("fuel_type_code_pudl") == "coal")
    grade = (
        coal.group_by("plant_id_eia", "fuel_type").agg(pl.col("heat_hhv_mmbtu").sum())
        .with_columns((pl.col("heat_hhv_mmbtu") / pl.col("heat_hhv_mmbtu").sum().over("plant_id_eia")).alias("share"))
        .sort("plant_id_eia", "share", descending=[False, True])
        .group_by("plant_id_eia", maintain_order=True)
        .agg(pl.col("fuel_type").first(), pl.col("share").first())
        .with_columns(
            pl.when(pl.col("share") >= DOMINANT_COAL_SHARE)
            .then(pl.col("fuel_type").replace_strict(COAL_TYPE, default="unknown"))
            .otherwise(pl.lit("mixed"))
            .alias("coal_type"),
            pl.lit("coal").alias("family"),
        )
        .select("plant_id_eia", "family", "coal_type")
    )
    hours = contract.period_hours("period")
    units = (
        um.with_columns((pl.col("net_mwh") / hours).alias("_mean_mw"))
        .group_by("plant_id_eia", "family")
        .agg(
            pl.col("_mean_mw").max().alias("capacity_mw"),
            pl.col("prime_movers").str.split("+").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().str.join("+").alias("pm"),
        )
        .join(grade, on=["plant_id_eia", "family"], how="left")
        .join(ent.select("plant_id_eia", "enterprise_name"), on="plant_id_eia")
        .with_columns(
            pl.max_horizontal(pl.col("capacity_mw"), pl.lit(1.0)).alias("capacity_mw"),
        )
        .with_columns(
            _unit_id(pl.col("plant_id_eia"), pl.col("family")).alias("unit_id"),
            _enterprise_id(pl.col("plant_id_eia")).alias("enterprise_id"),
            pl.format("{} {} ({})", pl.col("enterprise_name"), pl.col("family"), pl.col("pm")).alias("unit_name"),
            pl.when(pl.col("family") == "gas")
            .then(pl.lit("gas"))
            .when(pl.col("capacity_mw") >= _class_threshold())
            .then(pl.lit("coal_conventional_300mw_plus"))
            .otherwise(pl.lit("coal_conventional_below_300mw"))
            .alias("unit_class"),
            pl.lit("unknown").alias("combustion_technology"),
            pl.when(pl.col("family") == "gas").then(pl.lit("none")).otherwise(pl.col("coal_type")).alias("coal_type"),
            pl.lit(False).alias("is_chp"),
            pl.format("EIA:{}", pl.col("plant_id_eia")).alias("registry_ref"),
        )
        .sort("unit_id")
    )
    return ent.sort("enterprise_id"), units


def _class_threshold() -> float:
    """Capacity threshold of ``coal_conventional_300mw_plus`` (shared with the synthetic generator)."""
    from carbonqa.synth.params import CLASS_300MW_PLUS_MIN_MW

    return CLASS_300MW_PLUS_MIN_MW


def _telemetry(ampd: pl.DataFrame, um: pl.DataFrame) -> pl.DataFrame:
    """AMPD 2016 facility-months → telemetry rows on each plant's principal unit (see module docstring)."""
    y = um.filter(pl.col("year") == CEMS_YEAR)
    principal = (
        y.group_by("plant_id_eia", "family").agg(pl.col("heat_hhv_mmbtu").sum())
        .sort("plant_id_eia", "heat_hhv_mmbtu", "family", descending=[False, True, False])
        .group_by("plant_id_eia", maintain_order=True)
        .first()
        .select("plant_id_eia", "family")
    )
    a = ampd.filter(pl.col("year") == CEMS_YEAR).join(principal, on="plant_id_eia", how="inner")
    hours = pl.date(pl.col("year"), pl.col("month"), 1).dt.month_end().dt.day().cast(pl.Float64) * 24
    return (
        a.with_columns(hours.alias("interval_hours"))
        .with_columns(
            _unit_id(pl.col("plant_id_eia"), pl.col("family")).alias("unit_id"),
            pl.datetime(pl.col("year"), pl.col("month"), 1).cast(pl.Datetime("us")).alias("ts"),
            (pl.col("gross_load_mwh") / pl.col("interval_hours")).alias("gross_load_mw"),
            pl.lit(None, dtype=pl.Float64).alias("coal_feed_t"),
            (pl.col("co2_short_tons") * SHORT_TON_T).alias("cems_co2_t"),
        )
        .sort("unit_id", "ts")
    )


def _report_rows(eia: pl.DataFrame, src: str) -> list[dict[str, Any]]:
    """Adapter-report rows: fuels left out and negative net generation clipped."""
    out: list[dict[str, Any]] = []
    left = eia.filter(~pl.col("fuel_type_code_pudl").is_in(_FAMILIES))
    for r in (
        left.group_by("plant_id_eia", "prime_mover_code", "fuel_type", "fuel_type_code_pudl")
        .agg(pl.len(), pl.col("heat_hhv_mmbtu").sum(), pl.col("net_generation_mwh").sum())
        .sort("plant_id_eia", "prime_mover_code", "fuel_type")
        .iter_rows(named=True)
    ):
        out.append(
            {
                "source_file": src,
                "action": "quarantined",
                "reason": f"fuel_not_in_contract:{r['fuel_type_code_pudl']}",
                "detail": (
                    f"plant {r['plant_id_eia']} {r['prime_mover_code']}/{r['fuel_type']}: {r['len']} months, "
                    f"{r['heat_hhv_mmbtu']:.0f} MMBtu, {r['net_generation_mwh']:.0f} MWh net left out "
                    "(contract unit classes are coal and gas)"
                ),
            }
        )
    fossil = eia.filter(pl.col("fuel_type_code_pudl").is_in(_FAMILIES))
    empty = fossil.group_by("plant_id_eia", "fuel_type_code_pudl").agg(
        (pl.col("fuel_consumed_units").fill_null(0).abs().sum() + pl.col("net_generation_mwh").fill_null(0).abs().sum())
        .alias("activity"),
        pl.len(),
        pl.format("{}/{} {}", pl.col("prime_mover_code"), pl.col("fuel_type"), pl.col("period")).str.join(", ").alias("rows"),
    ).filter(pl.col("activity") == 0)
    for r in empty.sort("plant_id_eia").iter_rows(named=True):
        out.append(
            {
                "source_file": src,
                "action": "quarantined",
                "reason": "no_activity",
                "detail": f"plant {r['plant_id_eia']} {r['fuel_type_code_pudl']}: {r['len']} rows all zero "
                f"({r['rows']}); no unit created",
            }
        )
    neg = eia.filter(pl.col("fuel_type_code_pudl").is_in(_FAMILIES) & (pl.col("net_generation_mwh") < 0))
    for r in neg.sort("plant_id_eia", "report_date").iter_rows(named=True):
        out.append(
            {
                "source_file": src,
                "action": "warning",
                "reason": "negative_net_generation_clipped",
                "detail": f"plant {r['plant_id_eia']} {r['prime_mover_code']}/{r['fuel_type']} {r['period']}: "
                f"net generation {r['net_generation_mwh']} MWh counted as 0",
            }
        )
    return out


def adapt_us(out: Path, *, real_dir: Path | None = None) -> AdaptedBundle:
    """Turn the EIA-923 and EPA AMPD files into a contract bundle at ``out`` (see module docstring).

    Args:
        out: bundle directory to write (created; an earlier adapted bundle there is replaced).
        real_dir: folder of the real files; default ``get_settings().real_data_dir``.

    Returns:
        :class:`AdaptedBundle` with row counts; the adapter report is ``<out>.adapter_report.csv``.

    Raises:
        FileNotFoundError: an input file is missing.
        ValueError: a plant's state cannot be determined or the AMPD header is not the expected one.
    """
    if real_dir is None:
        from carbonqa.settings import get_settings

        real_dir = get_settings().real_data_dir
    real_dir = Path(real_dir)
    for f in (EIA_FILE, AMPD_FILE):
        if not (real_dir / f).is_file():
            raise FileNotFoundError(f"{real_dir / f} not found; set CARBONQA_REAL_DATA_DIR or pass --real-dir")
    eia = load_eia923(real_dir / EIA_FILE)
    ampd = load_ampd(real_dir / AMPD_FILE)
    um = _unit_months(eia)
    ent, units = _registry(eia, um, ampd)
    mr = monthly_reports(um)
    tel = _telemetry(ampd, um)
    tables = {
        "enterprises": to_contract("enterprises", ent),
        "units": to_contract("units", units),
        "monthly_reports": to_contract("monthly_reports", mr),
    }
    rows = write_bundle(
        Path(out),
        bundle_id=BUNDLE_ID,
        source=f"adapted from {EIA_FILE} (US EIA / Catalyst Cooperative PUDL, CC BY 4.0) and {AMPD_FILE} (US EPA)",
        created_at=CREATED_AT,
        tables=tables,
        telemetry=to_contract("telemetry", tel),
        extra={
            "period_start": mr["period"].min(),
            "period_end": mr["period"].max(),
            "grid_emission_factor_tco2_per_mwh": contract.DEFAULT_GRID_FACTOR_TCO2_PER_MWH,
        },
    )
    report = _report_rows(eia, EIA_FILE)
    rpath = write_adapter_report(Path(out), report)
    return AdaptedBundle(
        path=Path(out),
        bundle_id=BUNDLE_ID,
        rows=rows,
        report=rpath,
        report_rows=len(report),
        notes=[
            "EIA-923 has net generation only: gross_generation_mwh = power_supply_mwh = net",
            f"telemetry: EPA CEMS {CEMS_YEAR} monthly totals (interval_hours = hours of the month)",
        ],
    )
