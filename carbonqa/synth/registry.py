"""Registry mapping: the real GCPT unit list → contract ``enterprises``, ``units`` and ``agencies``.

One plant (GCPT ``GEM location ID``) = one key emitting unit (enterprise) = one unified social credit
code; its generating units are the contract units. Agencies (labs, preparers, verifiers) are synthetic.
``city_name`` is the Chinese name of the prefecture-level division (GB/T 2260, :mod:`carbonqa.geo`);
GCPT's English prefecture is kept only internally, to key the region part of the credit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from carbonqa.contract import PROVINCES
from carbonqa.geo import city_zh
from carbonqa.synth import params as P

__all__ = ["Registry", "Agencies", "load_gcpt", "build_registry", "build_agencies", "assign_agencies"]

GCPT_FILE = "gcpt_2024-07_china_coal_units.csv"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 code set (31 symbols, no I O S V Z)
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)


def load_gcpt(real_dir: Path) -> pl.DataFrame:
    """Read the operating units of the GCPT China file with explicit types.

    Args:
        real_dir: folder holding ``gcpt_2024-07_china_coal_units.csv`` (``Settings.real_data_dir``).

    Returns:
        One row per operating unit (3,168 in the July 2024 file), sorted by province, plant, unit id;
        ``Capacity (MW)`` Float64, ``Start year`` Int64 (null where blank), longitude Float64.

    Raises:
        FileNotFoundError: the file is absent.
    """
    path = Path(real_dir) / GCPT_FILE
    if not path.exists():
        raise FileNotFoundError(f"real registry not found: {path}")
    df = pl.read_csv(path, infer_schema=False, encoding="utf8")
    df = df.filter(pl.col("Status") == "operating").with_columns(
        pl.col("Capacity (MW)").cast(pl.Float64),
        pl.col("Start year").cast(pl.Int64, strict=False),
        pl.col("Longitude").cast(pl.Float64, strict=False),
        pl.col("Subnational unit (province, state)")
        .replace_strict(P.PROVINCE_BY_NAME, default=None)
        .alias("province_code"),
    )
    unknown = df.filter(pl.col("province_code").is_null())
    if unknown.height:
        raise ValueError(f"unmapped GCPT provinces: {unknown['Subnational unit (province, state)'].unique().to_list()}")
    return df.sort("province_code", "GEM location ID", "GEM unit/phase ID")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Vectorised splitmix64 finaliser on uint64 (deterministic hash, independent of the seed)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uscc_codes(region6: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Unified social credit codes, 18 chars: ``91`` + 6-digit region + 9 hashed chars + check char.

    Args:
        region6: (n,) str array of 6-digit administrative region codes.
        keys: (n,) uint64 keys (e.g. the number of the GEM location id) hashed into the organisation
            part.

    Returns:
        (n,) str array; the check character follows GB 32100-2015 (weights 3^i mod 31).
    """
    n = len(keys)
    digits = np.zeros((n, 17), dtype=np.int64)
    digits[:, 0] = 9
    digits[:, 1] = 1
    reg = np.ascontiguousarray(np.asarray(region6, dtype="<U6")).view("<U1").reshape(n, 6).astype(np.int64)
    digits[:, 2:8] = reg
    h = _splitmix64(keys.astype(np.uint64))
    for i in range(9):  # 9 base-31 digits of the hash (loop over positions, not rows)
        digits[:, 8 + i] = (h % np.uint64(31)).astype(np.int64)
        h = h // np.uint64(31)
    check = (31 - (digits * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    allc = np.concatenate([digits, check[:, None]], axis=1)
    lut = np.array(list(_USCC_CHARS))
    chars = np.ascontiguousarray(lut[allc])
    return chars.view("<U18").ravel()


@dataclass
class Registry:
    """Contract registry tables plus aligned numpy helpers.

    ``enterprises`` (P rows) and ``units`` (U rows) carry exactly the contract columns. ``plant`` maps
    each unit to its enterprise row; the other arrays are per enterprise (``p_*``) or per unit.
    """

    enterprises: pl.DataFrame
    units: pl.DataFrame
    plant: np.ndarray  # (U,) int enterprise row of each unit
    p_province: np.ndarray  # (P,) str GB/T code
    p_coal: np.ndarray  # (P,) str contract coal type
    p_chp: np.ndarray  # (P,) bool
    p_captive: np.ndarray  # (P,) bool
    capacity: np.ndarray  # (U,) MW
    tech: np.ndarray  # (U,) str contract technology
    is_ccs: np.ndarray  # (U,) bool
    air_cooled: np.ndarray  # (U,) bool

    @property
    def n_units(self) -> int:
        """Number of units U."""
        return len(self.plant)

    @property
    def n_plants(self) -> int:
        """Number of enterprises P."""
        return len(self.p_province)


def _draw_mix(rng: np.random.Generator, mix: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names = np.array([m[0] for m in mix])
    p = np.array([m[1] for m in mix])
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


_CITY_KEYS = (
    "province_code",
    "Major area (prefecture, district)",
    "Local area (taluk, county)",
    "Location",
    "Plant name (local)",
)


def _city_names(g: pl.DataFrame) -> pl.DataFrame:
    """Chinese ``city_name`` (GB/T 2260 name, :func:`carbonqa.geo.city_zh`) per distinct place of ``g``.

    Raises:
        ValueError: a prefecture of the registry is not in :data:`carbonqa.geo.PREFECTURE_ZH`.
    """
    keys = g.select(_CITY_KEYS).unique(maintain_order=True)
    names = [city_zh(*row) for row in keys.iter_rows()]
    missing = sorted({(r[0], r[1]) for r, n in zip(keys.iter_rows(), names, strict=True) if n is None})
    if missing:
        raise ValueError(f"GCPT prefectures without a Chinese name in carbonqa.geo: {missing}")
    return keys.with_columns(pl.Series("city_name", names, dtype=pl.String))


def build_registry(gcpt: pl.DataFrame, rng: np.random.Generator) -> Registry:
    """Map GCPT operating units to contract enterprises and units.

    Args:
        gcpt: output of :func:`load_gcpt`, possibly filtered to some provinces.
        rng: generator for the plausible-but-unknown attributes (coal type of ``unknown``, cooling,
            CHP, missing start year).

    Returns:
        :class:`Registry` with P enterprises and U units (units sorted by enterprise, then GEM id).

    Raises:
        ValueError: ``gcpt`` is empty.
    """
    if gcpt.height == 0:
        raise ValueError("no operating units in the selected provinces")
    g = gcpt.with_columns(
        # internal only: the English prefecture keys the region part of the USCC (ids stay stable)
        pl.col("Major area (prefecture, district)").fill_null(
            pl.col("province_code").replace_strict(P.PROVINCE_CAPITAL, default="未知")
        ).alias("_city_en"),
    )
    g = g.join(_city_names(g), on=list(_CITY_KEYS), how="left", nulls_equal=True, maintain_order="left")
    plants = (
        g.group_by("GEM location ID", maintain_order=True)
        .agg(
            pl.col("province_code").first(),
            pl.col("city_name").first(),
            pl.col("_city_en").first(),
            pl.coalesce(pl.col("Plant name (local)"), pl.col("Plant name")).first().alias("enterprise_name"),
            pl.col("Captive").drop_nulls().first().alias("captive"),
            pl.col("Capacity (MW)").mean().alias("mean_cap"),
            pl.col("Longitude").mean().alias("lon"),
            pl.col("Coal type").replace_strict(P.GCPT_COAL_TYPE, default=None).drop_nulls().first().alias("coal_known"),
        )
        .with_columns(
            (pl.col("_city_en").rank("dense").over("province_code").cast(pl.Int64) % 99 + 1).alias("city_idx")
        )
    )
    n_p = plants.height
    prov = plants["province_code"].to_numpy().astype(str)
    region6 = (
        plants.select(pl.col("province_code") + pl.col("city_idx").cast(pl.String).str.zfill(2) + pl.lit("00"))
        .to_series()
        .to_numpy()
        .astype(str)
    )
    keys = plants["GEM location ID"].str.slice(1).cast(pl.UInt64).to_numpy()
    ent_id = uscc_codes(region6, keys)

    # coal type per plant: GCPT where known, else by province (eastern Inner Mongolia lignite)
    coal = plants["coal_known"].to_numpy().astype(object)
    unknown = np.array([c is None for c in coal])
    draws = np.empty(n_p, dtype=object)
    for code in sorted(set(prov.tolist())):  # loop over provinces
        m = prov == code
        draws[m] = _draw_mix(rng, P.COAL_BY_PROVINCE.get(code, P.COAL_DEFAULT_MIX), int(m.sum()))
    lon = plants["lon"].fill_null(0.0).to_numpy()
    east_im = (prov == "15") & (lon > P.LIGNITE_EAST_IM[0]) & (rng.random(n_p) < P.LIGNITE_EAST_IM[1])
    draws[east_im] = "lignite"
    coal[unknown] = draws[unknown]
    p_coal = coal.astype(str)

    captive = plants["captive"].is_not_null().to_numpy()
    north = np.isin(prov, list(P.NORTH))
    small = plants["mean_cap"].to_numpy() < 300
    p_chp_prob = np.where(north, P.CHP_P["north"], P.CHP_P["south"]) + P.CHP_P["small"] * small + P.CHP_P["captive"] * captive
    p_chp = rng.random(n_p) < np.clip(p_chp_prob, 0, 0.9)

    enterprises = pl.DataFrame(
        {
            "enterprise_id": ent_id,
            "enterprise_name": plants["enterprise_name"],
            "province_code": prov,
            "city_name": plants["city_name"],
            "sector": ["power"] * n_p,
            "is_captive": captive,
        }
    )

    # ---- units ----
    pidx = pl.DataFrame({"GEM location ID": plants["GEM location ID"], "_p": np.arange(n_p)})
    u = g.join(pidx, on="GEM location ID", how="left").sort("_p", "GEM unit/phase ID")
    plant = u["_p"].to_numpy()
    cap = u["Capacity (MW)"].to_numpy()
    tech_raw = u["Combustion technology"].fill_null("unknown")
    tech = tech_raw.replace_strict(P.GCPT_TECHNOLOGY, default="unknown").to_numpy().astype(object)
    is_ccs = (
        tech_raw.str.contains("CCS").to_numpy() | u["Coal type"].fill_null("").str.contains("CCS").to_numpy()
    )
    ucoal = p_coal[plant]
    tech[(ucoal == "waste_coal") & (tech == "unknown")] = "cfb"
    tech = tech.astype(str)
    unconventional = (tech == "cfb") | (tech == "igcc") | (ucoal == "waste_coal")
    unit_class = np.where(
        unconventional,
        "coal_unconventional",
        np.where(cap >= P.CLASS_300MW_PLUS_MIN_MW, "coal_conventional_300mw_plus", "coal_conventional_below_300mw"),
    )
    uprov = prov[plant]
    start = u["Start year"].to_numpy(allow_copy=True).astype(float)
    miss = np.isnan(start)
    start[miss] = rng.integers(1995, 2016, size=int(miss.sum()))
    start = start.astype(np.int64)
    arid = np.isin(uprov, list(P.ARID_NORTHWEST))
    unorth = north[plant]
    large_new = (cap >= 300) & (start >= 2005)
    air_p = np.where(
        arid,
        np.where(large_new, P.AIR_COOLING_P["arid_large"], P.AIR_COOLING_P["arid_small"]),
        np.where(unorth, P.AIR_COOLING_P["north"], P.AIR_COOLING_P["south"]),
    )
    air = rng.random(len(plant)) < air_p
    useq = np.asarray(u.select(pl.col("_p").cum_count().over("_p")).to_series().to_numpy()).astype(np.int64)
    unit_no = u["Unit name"].fill_null("").str.extract(r"(\d+)\s*$", 1)
    names = pl.Series("n", enterprises["enterprise_name"].to_numpy()[plant])
    unit_name = (
        pl.DataFrame({"n": names, "k": unit_no, "r": u["Unit name"].fill_null("")})
        .select(
            pl.when(pl.col("k").is_not_null())
            .then(pl.col("n") + pl.col("k") + pl.lit("号机组"))
            .otherwise(pl.col("n") + pl.col("r"))
        )
        .to_series()
    )
    units = pl.DataFrame(
        {
            "unit_id": np.char.add(np.char.add(ent_id[plant], "-"), np.char.zfill(useq.astype(str), 2)),
            "enterprise_id": ent_id[plant],
            "unit_name": unit_name,
            "unit_class": unit_class,
            "capacity_mw": cap.astype(float),
            "combustion_technology": tech,
            "coal_type": ucoal,
            "cooling_type": np.where(air, "air", "water"),
            "is_chp": p_chp[plant],
            "commissioning_year": start,
            "registry_ref": u["GEM unit/phase ID"],
        }
    )
    return Registry(
        enterprises=enterprises,
        units=units,
        plant=plant,
        p_province=prov,
        p_coal=p_coal,
        p_chp=p_chp,
        p_captive=captive,
        capacity=cap.astype(float),
        tech=tech,
        is_ccs=is_ccs,
        air_cooled=air,
    )


@dataclass
class Agencies:
    """The national agency registry and role index arrays (rows of ``table``)."""

    table: pl.DataFrame
    province: np.ndarray  # (A,) home province
    labs: np.ndarray  # indices of agencies with the lab role
    preparers: np.ndarray
    verifiers: np.ndarray
    qr_sloppy: np.ndarray  # (A,) bool, labs that often omit the QR code

    @property
    def ids(self) -> np.ndarray:
        """(A,) agency ids."""
        return self.table["agency_id"].to_numpy().astype(str)


_NAME_A = ("华正", "中诚", "恒信", "中科", "环宇", "绿源", "同创", "诚信", "天和", "瑞丰", "鼎盛", "宏达",
           "博远", "汇智", "立德", "华测", "国检", "正信", "中环", "清源", "金衡", "东方", "科信", "安泰")
_NAME_B = {"lab": "煤质检验检测有限公司", "preparer": "碳资产管理有限公司", "verifier": "低碳技术服务有限公司"}


def build_agencies(gcpt_all: pl.DataFrame, rng: np.random.Generator) -> Agencies:
    """Synthetic national agency registry (~150 labs, ~80 preparers, ~60 verifiers).

    Home provinces are drawn in proportion to the national plant count per province, so the registry
    does not depend on the provinces selected for a bundle. Counts: ``params.AGENCY_ROLE_COUNTS``.

    Args:
        gcpt_all: all operating GCPT units (national), for province weights.
        rng: a generator dedicated to agencies (seeded from the bundle seed only).

    Returns:
        :class:`Agencies` with A rows, ids ``AG`` + province + 4 digits.
    """
    w = gcpt_all.group_by("province_code").agg(pl.col("GEM location ID").n_unique().alias("n")).sort("province_code")
    codes = w["province_code"].to_numpy().astype(str)
    pw = w["n"].to_numpy().astype(float)
    roles = np.concatenate([np.full(n, r, dtype=object) for r, n in P.AGENCY_ROLE_COUNTS.items()]).astype(str)
    a = len(roles)
    home = codes[rng.choice(len(codes), size=a, p=pw / pw.sum())]
    order = np.lexsort((np.arange(a), home))
    roles, home = roles[order], home[order]
    seq = np.arange(1, a + 1)
    ids = np.char.add(np.char.add("AG", home), np.char.zfill(seq.astype(str), 4))
    zh = np.array([PROVINCES[h][1] for h in home])
    frag = np.array(_NAME_A)[seq % len(_NAME_A)]
    frag2 = np.array(_NAME_A)[(seq // len(_NAME_A) + 7) % len(_NAME_A)]
    kind = np.array([_NAME_B["verifier"] if "verifier" in r else _NAME_B["lab"] if r.startswith("lab") else _NAME_B["preparer"] for r in roles])
    names = np.char.add(np.char.add(np.char.add(zh, frag), frag2), kind)
    is_lab = np.char.find(roles, "lab") >= 0
    cma_all = np.char.add(np.char.add("2100", home), np.char.zfill(rng.integers(0, 10**6, size=a).astype(str), 6))
    cma = pl.Series(
        "cma_no", [c if lab else None for c, lab in zip(cma_all.tolist(), is_lab.tolist(), strict=True)], dtype=pl.String
    )
    table = pl.DataFrame(
        {"agency_id": ids, "agency_name": names, "roles": roles, "home_province_code": home, "cma_no": cma},
        schema={"agency_id": pl.String, "agency_name": pl.String, "roles": pl.String, "home_province_code": pl.String, "cma_no": pl.String},
    )
    return Agencies(
        table=table,
        province=home,
        labs=np.flatnonzero(is_lab),
        preparers=np.flatnonzero(np.char.find(roles, "preparer") >= 0),
        verifiers=np.flatnonzero(np.char.find(roles, "verifier") >= 0),
        qr_sloppy=is_lab & (rng.random(a) < P.QR_SLOPPY_LAB_SHARE),
    )


def _pick(rng: np.random.Generator, pool: np.ndarray, pool_prov: np.ndarray, prov: np.ndarray) -> np.ndarray:
    """Pick one agency of ``pool`` per plant, from the plant's province with ``HOME_AGENCY_P``."""
    n = len(prov)
    out = pool[rng.integers(0, len(pool), size=n)]
    home = rng.random(n) < P.HOME_AGENCY_P
    for code in sorted(set(prov.tolist())):  # loop over provinces, vectorised inside
        local = pool[pool_prov == code]
        m = (prov == code) & home
        if len(local) and m.any():
            out[m] = local[rng.integers(0, len(local), size=int(m.sum()))]
    return out


def assign_agencies(reg: Registry, ag: Agencies, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Assign each plant one lab, one preparer (or self-prepared = -1) and one verifier.

    Returns:
        dict of (P,) int arrays ``lab``, ``preparer`` (-1 = self-prepared) and ``verifier`` (agency
        rows). An honest verifier never prepares reports in the plant's province: Order 775 (in force
        1 May 2024; the reviews of this bundle run April–July of the year) forbids one agency both
        preparing and technically reviewing in one province, so honest agencies with both roles
        prepare in some provinces and verify in others. Conflicts are only injected by patterns.
    """
    prov = reg.p_province
    lab = _pick(rng, ag.labs, ag.province[ag.labs], prov)
    prep = _pick(rng, ag.preparers, ag.province[ag.preparers], prov)
    prep = np.where(rng.random(len(prov)) < P.SELF_PREPARED_P, -1, prep)
    ver = _pick(rng, ag.verifiers, ag.province[ag.verifiers], prov)
    # (agency, province) pairs where an agency prepares: it may not verify in that province
    banned = {(int(a), str(pv)) for a, pv in zip(prep.tolist(), prov.tolist(), strict=True) if a >= 0}

    def clashes() -> np.ndarray:
        return np.array([(int(v), str(pv)) in banned for v, pv in zip(ver.tolist(), prov.tolist(), strict=True)], dtype=bool)

    clash = clashes()
    while clash.any():  # re-draw the conflicting verifiers (a few iterations: most verifiers never prepare)
        ver[clash] = ag.verifiers[rng.integers(0, len(ag.verifiers), size=int(clash.sum()))]
        clash = clashes()
    return {"lab": lab, "preparer": prep, "verifier": ver}
