"""Honest repeat base rates of monthly fuel-quality values, derived from real US EIA-923 data.

The real EIA-923 monthly file (``carbonqa/data/real/eia923_monthly_generation_fuel_AZ_CA_2011-2020.csv``,
Catalyst Cooperative PUDL cleaning; README there) shows how often an *honest* operator reports the same
heat content (``fuel_mmbtu_per_unit``, the NCV analogue) in two consecutive months: oil almost always
(a fixed annual value), sub-bituminous coal almost never. :func:`eia923_repeat_rates` recomputes that
table from the file — nothing is hard-coded — and :func:`repeat_rate_for` maps a contract unit to a
rate with empirical-Bayes shrinkage towards its fuel group, since some cells rest on few pairs
(bituminous: 10 pairs at one plant).

Pairs are (plant, prime mover, fuel) month t and t+1, both with heat content > 0; the two stacked
releases of the file (``source_db``) are de-duplicated on (plant, prime mover, fuel, month).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

__all__ = ["EIA923_FILE", "eia923_repeat_rates", "repeat_rate_for", "FUEL_GROUP", "COAL_TYPE_TO_EIA"]

#: Default location of the real file: shipped inside the ``carbonqa`` package (``carbonqa/data/real``,
#: licences and checksums in its README), so a clone or a wheel runs without anything beside it.
EIA923_FILE = Path(__file__).resolve().parents[1] / "carbonqa" / "data" / "real" / "eia923_monthly_generation_fuel_AZ_CA_2011-2020.csv"

#: EIA fuel code → fuel group (EIA-923 instructions: AER fuel codes).
FUEL_GROUP: dict[str, str] = {"BIT": "coal", "SUB": "coal", "LIG": "coal", "ANT": "coal", "WC": "coal", "DFO": "oil", "RFO": "oil", "NG": "gas"}

#: Contract ``coal_type`` → EIA fuel code of the closest rank (``None`` = use the pooled coal group).
COAL_TYPE_TO_EIA: dict[str, str | None] = {
    "bituminous": "BIT",
    "subbituminous": "SUB",
    "anthracite": None,
    "lignite": None,
    "waste_coal": None,
    "mixed": None,
    "unknown": None,
}

#: Prior strength (pseudo-pairs) of the shrinkage towards the fuel group's pooled rate.
PRIOR_PAIRS = 30.0


@lru_cache(maxsize=4)
def eia923_repeat_rates(path: str | Path = EIA923_FILE) -> pl.DataFrame:
    """Per-fuel repeat base rate of consecutive-month heat content in the real EIA-923 file.

    Returns:
        Frame ``[fuel_type, fuel_group, pairs, repeats, rate, group_rate, rate_shrunk]`` where
        ``rate = repeats / pairs`` and ``rate_shrunk = (repeats + 30 × group_rate) / (pairs + 30)``
        (empirical-Bayes shrinkage towards the group's pooled rate; Efron & Morris 1975). Rows for
        the groups themselves carry ``fuel_type`` = ``"<group>*"``.

    Raises:
        FileNotFoundError: when the file is missing (say where it was looked for).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"EIA-923 base-rate file not found at {p}; pass its path explicitly")
    keys = ["plant_id_eia", "prime_mover_code", "fuel_type"]
    df = (
        pl.read_csv(p, columns=[*keys, "report_date", "fuel_mmbtu_per_unit"], try_parse_dates=True)
        .unique(subset=[*keys, "report_date"], keep="first")
        .with_columns((pl.col("report_date").dt.year() * 12 + pl.col("report_date").dt.month()).alias("mi"))
        .sort([*keys, "mi"])
        .with_columns(
            pl.col("fuel_mmbtu_per_unit").shift(1).over(keys).alias("prev"),
            pl.col("mi").shift(1).over(keys).alias("prev_mi"),
        )
        .filter((pl.col("mi") - pl.col("prev_mi") == 1) & (pl.col("fuel_mmbtu_per_unit") > 0) & (pl.col("prev") > 0))
        .with_columns(pl.col("fuel_type").replace_strict(FUEL_GROUP, default=None).alias("fuel_group"))
        .filter(pl.col("fuel_group").is_not_null())
    )
    rep = (pl.col("fuel_mmbtu_per_unit") == pl.col("prev")).cast(pl.Int64)
    per = df.group_by("fuel_type", "fuel_group").agg(pl.len().alias("pairs"), rep.sum().alias("repeats"))
    grp = df.group_by("fuel_group").agg(pl.len().alias("pairs"), rep.sum().alias("repeats")).with_columns(
        (pl.col("fuel_group") + "*").alias("fuel_type")
    )
    grp_rate = grp.select("fuel_group", (pl.col("repeats") / pl.col("pairs")).alias("group_rate"))
    out = pl.concat([per, grp.select(per.columns)]).join(grp_rate, on="fuel_group", how="left")
    return out.with_columns(
        (pl.col("repeats") / pl.col("pairs")).alias("rate"),
        ((pl.col("repeats") + PRIOR_PAIRS * pl.col("group_rate")) / (pl.col("pairs") + PRIOR_PAIRS)).alias("rate_shrunk"),
    ).sort("fuel_group", "fuel_type")


def repeat_rate_for(unit_class: str | None, coal_type: str | None, rates: pl.DataFrame | None = None) -> float:
    """Honest month-to-month repeat rate of NCV for a contract unit (shrunk EIA-923 rate).

    Gas units (``unit_class == "gas"``) take the natural-gas rate; coal units the rate of their rank's
    EIA fuel code when there is one, else the pooled coal rate. Oil is not a contract unit class but is
    in the table (the "fixed annual value" fuel).
    """
    r = rates if rates is not None else eia923_repeat_rates()
    lut = dict(zip(r["fuel_type"].to_list(), r["rate_shrunk"].to_list(), strict=True))
    if unit_class == "gas":
        return float(lut.get("NG", lut.get("gas*", 0.2)))
    code = COAL_TYPE_TO_EIA.get(coal_type or "unknown")
    return float(lut.get(code or "", lut.get("coal*", 0.05)))
