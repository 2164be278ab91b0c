"""GEM Global Coal Plant Tracker (China, July 2024) → the registry part of a bundle.

Input: ``gcpt_2024-07_china_coal_units.csv`` (Global Energy Monitor, CC BY 4.0 — attribute GEM), one
row per unit, 41 columns, text throughout (``Capacity (MW)`` and ``Start year`` are read as text and
cast explicitly).

Output: ``enterprises`` (one per plant, ``GEM location ID``) and ``units`` (one per operating unit) —
no periodic tables. Only ``Status == operating`` units are carried (3,168 units at 1,156 plants in the
July 2024 file); the other statuses are counted in the adapter report, not listed row by row.

Mapping (constants shared with ``carbonqa.synth.params``; **ids** taken from
``carbonqa.synth.registry.build_registry`` so that this bundle and the synthetic bundles name the same
plants alike — its imputed attributes, drawn at random for unknown coal type, cooling and CHP, are
deliberately *not* taken: a registry adapted from real data carries only what GEM states):

* ``enterprise_id`` = the generator's GB 32100 code of the plant (``CNGEM`` + location id before the
  swap); ``unit_id`` = ``<enterprise_id>-NN``;
  ``enterprise_name`` = ``Plant name (local)`` (Chinese), else ``Plant name``.
* ``province_code`` from the English province name (``PROVINCE_BY_NAME``, GB/T 2260); ``city_name`` =
  ``Major area (prefecture, district)``, else the provincial capital (``PROVINCE_CAPITAL``, a model
  choice shared with the generator).
* ``is_captive`` = ``Captive`` names an industry.
* ``registry_ref`` = GEM unit id; ``unit_name`` = plant name + unit name.
* ``combustion_technology``: ``ultra-supercritical``/``supercritical``/``subcritical`` (``/CCS`` dropped),
  ``CFB`` → ``cfb``, ``IGCC`` → ``igcc``, else ``unknown``.
* ``coal_type``: GEM's value with `` with CCS`` dropped, ``waste coal`` → ``waste_coal``.
* ``unit_class``: CFB or waste coal → ``coal_unconventional`` (MRV guideline: 非常规燃煤 includes CFB
  and coal gangue); else ``Capacity (MW)`` ≥ 400 → ``coal_conventional_300mw_plus``
  (``CLASS_300MW_PLUS_MIN_MW``, the 2019–2020 allocation plan), else ``coal_conventional_below_300mw``.
* ``is_chp`` = heat is supplied: ``Captive industry use == both`` or ``Captive residential use`` in
  (``heat``, ``both``) (GEM has no CHP flag; a heuristic, false otherwise).
* ``cooling_type``: not in GCPT → null. ``commissioning_year`` = ``Start year``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from carbonqa.adapters._bundle import AdaptedBundle, to_contract, write_adapter_report, write_bundle

__all__ = ["GCPT_FILE", "load_gcpt", "registry_frames", "adapt_gcpt"]

GCPT_FILE = "gcpt_2024-07_china_coal_units.csv"
BUNDLE_ID = "cn-gcpt-2024-07-registry"
CREATED_AT = "2026-01-01T00:00:00+08:00"

_TECH = {
    "ultra-supercritical": "ultra_supercritical",
    "supercritical": "supercritical",
    "subcritical": "subcritical",
    "cfb": "cfb",
    "igcc": "igcc",
}
_COAL = {
    "bituminous": "bituminous",
    "subbituminous": "subbituminous",
    "anthracite": "anthracite",
    "lignite": "lignite",
    "waste coal": "waste_coal",
}


def load_gcpt(path: Path) -> pl.DataFrame:
    """Read the GCPT units file with every column as text (the file's numbers are text), trimmed."""
    df = pl.read_csv(path, infer_schema_length=0)
    return df.with_columns(pl.col(pl.String).str.strip_chars())


def registry_frames(gcpt: pl.DataFrame, statuses: tuple[str, ...] = ("operating",)) -> tuple[pl.DataFrame, pl.DataFrame]:
    """GCPT rows → (enterprises, units) frames in contract columns (see module docstring for the mapping).

    Raises ``ValueError`` if a province name is not in GB/T 2260 (``PROVINCE_BY_NAME``) or a unit of a
    carried status has no parseable capacity.
    """
    from carbonqa.synth.params import CLASS_300MW_PLUS_MIN_MW, PROVINCE_BY_NAME, PROVINCE_CAPITAL

    df = gcpt.filter(pl.col("Status").is_in(statuses))
    prov = pl.col("Subnational unit (province, state)")
    unknown = sorted(set(df[prov.meta.output_name()].unique().drop_nulls()) - set(PROVINCE_BY_NAME))
    if unknown:
        raise ValueError(f"GCPT provinces not in GB/T 2260 table: {unknown}; extend PROVINCE_BY_NAME")
    df = df.with_columns(
        prov.replace_strict(PROVINCE_BY_NAME).alias("province_code"),
        pl.col("Capacity (MW)").str.replace_all(",", "").cast(pl.Float64, strict=False).alias("capacity_mw"),
        pl.col("Start year").cast(pl.Float64, strict=False).cast(pl.Int64).alias("commissioning_year"),
        pl.col("Combustion technology").str.to_lowercase().str.replace(r"/ccs$", "").alias("_tech"),
        pl.col("Coal type").str.to_lowercase().str.replace(r" with ccs$", "").alias("_coal"),
    )
    bad = df.filter(pl.col("capacity_mw").is_null() | (pl.col("capacity_mw") <= 0))
    if bad.height:
        raise ValueError(f"GCPT units without a positive capacity: {bad['GEM unit/phase ID'].to_list()[:10]}")
    ent = (
        df.sort("GEM location ID", "GEM unit/phase ID")
        .group_by("GEM location ID", maintain_order=True)
        .agg(
            pl.coalesce(pl.col("Plant name (local)"), pl.col("Plant name")).first().alias("enterprise_name"),
            pl.col("province_code").first(),
            pl.col("Major area (prefecture, district)").drop_nulls().first().alias("city_name"),
            pl.col("Captive").drop_nulls().first().alias("_captive"),
        )
        .with_columns(
            pl.format("CNGEM{}", pl.col("GEM location ID")).alias("enterprise_id"),
            pl.coalesce(pl.col("city_name"), pl.col("province_code").replace_strict(PROVINCE_CAPITAL)).alias("city_name"),
            pl.lit("power").alias("sector"),
            pl.col("_captive").is_not_null().alias("is_captive"),
        )
        .sort("enterprise_id")
    )
    tech = pl.col("_tech").replace_strict(_TECH, default="unknown")
    coal = pl.col("_coal").replace_strict(_COAL, default="unknown")
    units = df.with_columns(
        pl.col("GEM unit/phase ID").alias("unit_id"),
        pl.format("CNGEM{}", pl.col("GEM location ID")).alias("enterprise_id"),
        pl.format("{} {}", pl.col("Plant name"), pl.col("Unit name")).alias("unit_name"),
        tech.alias("combustion_technology"),
        coal.alias("coal_type"),
        pl.when((tech == "cfb") | (coal == "waste_coal"))
        .then(pl.lit("coal_unconventional"))
        .when(pl.col("capacity_mw") >= CLASS_300MW_PLUS_MIN_MW)
        .then(pl.lit("coal_conventional_300mw_plus"))
        .otherwise(pl.lit("coal_conventional_below_300mw"))
        .alias("unit_class"),
        pl.lit(None, dtype=pl.String).alias("cooling_type"),
        (
            (pl.col("Captive industry use") == "both").fill_null(False)
            | pl.col("Captive residential use").is_in(["heat", "both"]).fill_null(False)
        ).alias("is_chp"),
        pl.col("GEM unit/phase ID").alias("registry_ref"),
    ).sort("unit_id")
    return ent, units


def _with_synth_ids(ent: pl.DataFrame, units: pl.DataFrame, real_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Replace the ids by those of :func:`carbonqa.synth.registry.build_registry` (same plants, same ids).

    The synthetic generator derives a GB 32100 unified social credit code per plant and
    ``<code>-NN`` per unit deterministically from the GEM ids (its random draws only fill unknown
    attributes, which this adapter does not take). Using its ids makes this registry bundle and the
    synthetic national bundles describe the same enterprises and units. Raises ``ValueError`` if a
    unit has no counterpart (the two mappings disagree on what is operating). ``city_name`` is taken
    from the registry too: the Chinese prefecture name of :func:`carbonqa.geo.city_zh`, which municipal
    inspectors are scoped by.
    """
    import numpy as np

    from carbonqa.synth.registry import build_registry
    from carbonqa.synth.registry import load_gcpt as synth_load

    reg = build_registry(synth_load(real_dir), np.random.default_rng(0))
    ids = reg.units.select(
        pl.col("registry_ref"), pl.col("unit_id").alias("_uid"), pl.col("enterprise_id").alias("_eid")
    )
    u = units.join(ids, on="registry_ref", how="left")
    if u["_uid"].null_count():
        raise ValueError(f"{u['_uid'].null_count()} GCPT units have no id in carbonqa.synth.registry")
    plant_ids = u.select(pl.col("enterprise_id"), pl.col("_eid")).unique()
    if plant_ids["enterprise_id"].n_unique() != plant_ids.height:
        raise ValueError("carbonqa.synth.registry groups GCPT units into plants differently")
    ent = ent.join(plant_ids, on="enterprise_id").with_columns(pl.col("_eid").alias("enterprise_id")).drop("_eid")
    cities = reg.enterprises.select("enterprise_id", pl.col("city_name").alias("_city"))
    ent = ent.join(cities, on="enterprise_id", how="left").with_columns(
        pl.coalesce("_city", "city_name").alias("city_name")
    ).drop("_city")
    units = u.with_columns(pl.col("_uid").alias("unit_id"), pl.col("_eid").alias("enterprise_id")).drop("_uid", "_eid")
    return ent.sort("enterprise_id"), units.sort("unit_id")


def adapt_gcpt(out: Path, *, real_dir: Path | None = None) -> AdaptedBundle:
    """Write the GCPT registry (operating Chinese coal units) as a bundle of enterprises + units.

    Args:
        out: bundle directory to write (an earlier adapted bundle there is replaced).
        real_dir: folder of the real files; default ``get_settings().real_data_dir``.

    Returns:
        :class:`AdaptedBundle`; the adapter report counts the units left out per status.

    Raises:
        FileNotFoundError: the GCPT file is missing. ValueError: see :func:`registry_frames`.
    """
    if real_dir is None:
        from carbonqa.settings import get_settings

        real_dir = get_settings().real_data_dir
    path = Path(real_dir) / GCPT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; set CARBONQA_REAL_DATA_DIR or pass --real-dir")
    gcpt = load_gcpt(path)
    ent, units = _with_synth_ids(*registry_frames(gcpt), Path(real_dir))
    rows = write_bundle(
        Path(out),
        bundle_id=BUNDLE_ID,
        source=f"adapted from {GCPT_FILE} (Global Energy Monitor, Global Coal Plant Tracker July 2024, CC BY 4.0)",
        created_at=CREATED_AT,
        tables={"enterprises": to_contract("enterprises", ent), "units": to_contract("units", units)},
    )
    report: list[dict[str, Any]] = [
        {
            "source_file": GCPT_FILE,
            "action": "quarantined",
            "reason": f"status_not_carried:{r['Status']}",
            "detail": f"{r['len']} units with status {r['Status']!r} left out (registry of operating units)",
        }
        for r in gcpt.filter(pl.col("Status") != "operating").group_by("Status").len().sort("Status").iter_rows(named=True)
    ]
    rpath = write_adapter_report(Path(out), report)
    return AdaptedBundle(Path(out), BUNDLE_ID, rows, rpath, len(report),
                         notes=["registry only (enterprises, units); status 'operating'"])
