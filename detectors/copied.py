"""Copied-value detectors (family ``copied_values``, codes CPY-101…CPY-107; DOMAIN.md §4.2).

Published cases: one batch test dressed up as twelve monthly samples (MEE 2022), low-intensity months
replaced by an adjacent month's data, one plant's series reused by another. Signals and look-alikes:

* CPY-101 :func:`repeated_lab_tuples` — exact or near repeats of a unit's lab tuple (Cad, Mad, Mt,
  NCV) across months. "Near" is relative to how much honest tuples move month to month, and how often
  honest months come that near is learned from all pairs nationally, so it adapts to any data's
  precision, noise and jitter size.
* CPY-102 :func:`cross_plant_tuples` — the same lab tuple at two *different enterprises* (units of one
  plant sharing one composite sample belong to one enterprise and are never compared).
* CPY-103 :func:`adjacent_substitution` — activity data (coal, generation, supply, hours) equal to the
  adjacent month's.
* CPY-104 :func:`identical_runs` — consecutive identical NCV/CC months, tested against the honest
  repeat base rate of the unit's fuel from the real EIA-923 data (:mod:`detectors.baserates`) and the
  national rate of the run; fuels whose group repeats a fixed annual value (oil, gas) are capped
  ``low``.
* CPY-105 :func:`terminal_digits` — terminal-digit preference per lab and per preparer (χ², scipy).
* CPY-106 :func:`too_smooth` — NCV and Mt moving far less month to month than any honest coal does.
* CPY-107 :func:`reused_series` — another enterprise's monthly NCV series reused (possibly rescaled):
  near-identical demeaned log series against the plants' own noise after the regional seasonal
  profile; the fuel–NCV elasticity tells the copier from the source.

Stake of copied quality data: the copied months' heat × max(peer CC − CC, one peer σ of CC) × OF ×
44/12 — the tonnes that would move if the true carbon content were one peer spread higher (the copy
hides it); of substituted activity data: 10 % of the month's emissions (the Beijing 10 % rule as a
materiality proxy, DOMAIN.md "Materiality").
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from carbonqa.findings import Finding
from detectors._common import MAD_TO_SIGMA, emit, modal_decimals, score_from_z, tco2, wrap
from detectors.baserates import eia923_repeat_rates, repeat_rate_for

__all__ = ["RepeatedLabTuples", "CrossPlantTuples", "AdjacentSubstitution", "IdenticalRuns", "TerminalDigits", "TooSmooth", 
    "repeated_lab_tuples",
    "cross_plant_tuples",
    "adjacent_substitution",
    "identical_runs",
    "terminal_digits",
    "too_smooth",
    "reused_series",
    "ReusedSeries",
    "run",
    "TUPLE",
]

#: The lab tuple compared (CONTRACT.md §3 lab_reports; DOMAIN.md §4.2).
TUPLE = ("carbon_ad_pct", "moisture_ad_pct", "total_moisture_pct", "ncv_ar_gj_per_t")
UKEYS = ["unit_id", "enterprise_id", "province_code", "year"]


def _coal_lab(um: pl.DataFrame) -> pl.DataFrame:
    return um.filter(~pl.col("is_gas") & (pl.col("fuel_consumed_t") > 0) & pl.all_horizontal([pl.col(c).is_not_null() for c in TUPLE]))


def _cc_peer(um: pl.DataFrame) -> pl.DataFrame:
    """Per coal type: median measured CC and its robust σ (for stakes)."""
    m = um.filter((pl.col("carbon_content_basis") == "measured") & ~pl.col("is_gas") & (pl.col("carbon_content_tc_per_gj") > 0))
    cc = pl.col("carbon_content_tc_per_gj")
    return m.group_by("coal_type").agg(
        cc.median().alias("cc_peer"), ((cc - cc.median()).abs().median() * MAD_TO_SIGMA).alias("cc_sigma")
    )


def _copy_stake(rows: pl.DataFrame, peer: pl.DataFrame) -> pl.Expr:
    """Σ heat × max(cc_peer − cc, cc_sigma) × ox × 44/12 over the rows of a group (aggregation expr)."""
    cc = pl.col("carbon_content_tc_per_gj").fill_null(pl.col("cc_peer"))
    gap = pl.max_horizontal(pl.col("cc_peer") - cc, pl.col("cc_sigma"))
    return tco2(pl.col("heat_gj"), gap, pl.col("ox")).sum()


def _step_scale(lab: pl.DataFrame) -> dict[str, float]:
    """Typical honest month-to-month move of each tuple component: median |Δ| over all units (≥ 1e-6)."""
    d = lab.sort("unit_id", "period").select(
        [pl.col(c).diff().over("unit_id").abs().alias(c) for c in TUPLE]
    )
    return {c: max(float(d[c].drop_nulls().filter(d[c].drop_nulls() > 0).median() or 0.0), 1e-6) for c in TUPLE}


def _near_law(d: np.ndarray, lo_q: float = 0.02, hi_q: float = 0.2) -> tuple[float, float, float]:
    """Honest near-pair law ``F(τ) = P(d ≤ τ) ≈ f_lo · (τ / τ_lo)^k`` for τ below ``τ_lo``.

    Fitted on the central lower tail of all pairwise distances (the ``lo_q`` and ``hi_q`` quantiles of
    the non-zero distances, where copies — a percent of pairs at d ≈ 0 — barely weigh; any copy mass
    there only makes the law more conservative) and extrapolated as a power law: near zero, the joint
    density of independent-ish component moves makes ``F`` a power of τ (one power per component).
    Returns ``(τ_lo, f_lo, k)``; ``k`` floored at 1.
    """
    nz = d[d > 0]
    if len(nz) < 50:
        return 0.0, 1.0, 1.0
    t_lo, t_hi = float(np.quantile(nz, lo_q)), float(np.quantile(nz, hi_q))
    k = max(np.log(hi_q / lo_q) / np.log(max(t_hi / max(t_lo, 1e-12), 1.0 + 1e-9)), 1.0)
    return t_lo, lo_q, float(k)


def repeated_lab_tuples(um: pl.DataFrame, *, alpha: float = 0.01, min_months: int = 3, grid: int = 6) -> list[Finding]:
    """CPY-101: a unit's lab tuple repeated (exactly or nearly) across months of one year.

    Pair distance ``d`` = max over (Cad, Mad, Mt, NCV) of |difference| / that component's typical honest
    month-to-month move (median |Δ| over all coal units), divided by the unit's own spread factor
    ``s_u`` = its 80th-percentile pair distance over the national one, clipped to [0.25, 1] — a coal
    steadier than most is not a copy, while a copy covering even two thirds of the year leaves the 80th
    percentile honest. A component pinned within the unit-year (one value in ≥ half its months: a
    clipped or fixed Mad) is left out of ``d`` and of its law. How often honest months come that near is *learned from the data*
    (:func:`_near_law`, a power law fitted to all pairs nationally), not assumed: for τ on a grid of
    ``grid`` halvings below the law's anchor, a unit-year with ``N(τ)`` near pairs among its ``P`` pairs
    has the Poisson tail ``P(X ≥ N | P·F(τ))``; the smallest tail × ``grid`` is its p-value. Flagged when
    p < ``alpha`` / (number of unit-years nationally) and ≥ ``min_months`` distinct months are near,
    or when 2 months repeat the tuple exactly. Units sharing one plant sample are not compared here
    (only months of one unit are). Score 0.5 at the flag level, 1.0 ten decades below (exact repeats:
    0.5 at 2 months, 1.0 at ≥ 8). Shapes: pairwise self-join within unit-year, ≤ 66 pairs per unit-year.
    """
    from scipy.stats import poisson

    lab = _coal_lab(um)
    if lab.height == 0:
        return []
    sc = _step_scale(lab)
    base = lab.select([*UKEYS, "period", "coal_type", "heat_gj", "ox", "carbon_content_tc_per_gj", *TUPLE])
    pairs = base.join(base.select(["unit_id", "year", "period", *TUPLE]), on=["unit_id", "year"], suffix="_b").filter(
        pl.col("period") < pl.col("period_b")
    )
    if pairs.height == 0:
        return []
    # components pinned within a unit-year (one value in ≥ half its months: a clipped or fixed Mad, …)
    # carry no evidence of *this* pair being copied; the distance and its law use the others
    pinned = base.group_by("unit_id", "year").agg(
        *[(pl.col(c).value_counts(sort=True).struct.field("count").first() * 2 >= pl.len()).alias(f"pin_{i}") for i, c in enumerate(TUPLE)]
    ).with_columns(pl.sum_horizontal([pl.col(f"pin_{i}").cast(pl.Int32) * 2**i for i in range(len(TUPLE))]).alias("mask"))
    exact = pl.all_horizontal([pl.col(c) == pl.col(f"{c}_b") for c in TUPLE])
    pairs = pairs.with_columns(
        *[((pl.col(c) - pl.col(f"{c}_b")).abs() / sc[c]).alias(f"r_{i}") for i, c in enumerate(TUPLE)], exact.alias("exact")
    ).join(pinned.select("unit_id", "year", "mask"), on=["unit_id", "year"])
    laws: dict[int, tuple[float, float, float, float]] = {}
    parts = []
    for mask in pairs["mask"].unique().sort().to_list():  # few distinct pinned sets
        use = [i for i in range(len(TUPLE)) if not (mask >> i) & 1] or list(range(len(TUPLE)))  # all pinned: exact repeats
        d_all = pl.max_horizontal([pl.col(f"r_{i}") for i in use])
        if mask not in laws:
            dn = pairs.select(d_all.alias("d"))["d"].to_numpy()
            laws[mask] = (*_near_law(dn), float(np.quantile(dn, 0.8)) or 1.0)
        parts.append(pairs.filter(pl.col("mask") == mask).with_columns(d_all.alias("d0")))
    pairs = pl.concat(parts).with_columns(
        pl.col("mask").replace_strict({m: v[3] for m, v in laws.items()}, default=1.0, return_dtype=pl.Float64).alias("p80")
    ).with_columns(
        (pl.col("d0").quantile(0.8).over("unit_id", "year") / pl.col("p80")).clip(0.25, 1.0).alias("s_u")
    ).with_columns((pl.col("d0") / pl.col("s_u")).alias("d"))
    lawdf = pl.DataFrame(
        [(m, v[0], v[1], v[2]) for m, v in laws.items()], schema={"mask": pl.Int32, "t_lo": pl.Float64, "f_lo": pl.Float64, "k": pl.Float64}, orient="row"
    )
    per = pairs.group_by("unit_id", "year").agg(
        pl.len().alias("pairs"), pl.col("mask").first(), pl.col("s_u").first(),
    ).join(lawdf, on="mask", how="left")
    cnt = pairs.join(per.select("unit_id", "year", "t_lo"), on=["unit_id", "year"]).group_by("unit_id", "year").agg(
        *[(pl.col("d") <= pl.col("t_lo") * 0.5**j).sum().alias(f"n{j}") for j in range(grid)]
    )
    per = per.join(cnt, on=["unit_id", "year"]).sort("unit_id", "year")
    n_uy = per.height
    pmin = np.ones(n_uy)
    best = np.zeros(n_uy, dtype=int)
    npairs = per["pairs"].to_numpy().astype(float)
    t_lo, f_lo, k = (per[c].fill_null(0.0).to_numpy() for c in ("t_lo", "f_lo", "k"))
    for j in range(grid):
        lam = np.where(t_lo > 0, npairs * f_lo * 0.5 ** (j * k), npairs)
        nj = per[f"n{j}"].to_numpy()
        pj = np.where(nj > 0, poisson.sf(nj - 1, lam), 1.0)
        better = pj < pmin
        pmin, best = np.where(better, pj, pmin), np.where(better, j, best)
    level = alpha / max(n_uy, 1)
    per = per.with_columns(pl.Series("p_value", np.minimum(pmin * grid, 1.0)), pl.Series("tau", t_lo * 0.5**best))
    near = pairs.join(per.select("unit_id", "year", "tau"), on=["unit_id", "year"]).filter(pl.col("exact") | (pl.col("d") <= pl.col("tau")))
    if near.height == 0:
        return []
    months = pl.concat(
        [near.select("unit_id", "year", "period", "exact"), near.select("unit_id", "year", pl.col("period_b").alias("period"), "exact")]
    ).group_by("unit_id", "year", "period").agg(pl.col("exact").any())
    mon = months.group_by("unit_id", "year").agg(
        pl.len().alias("months"), pl.col("exact").sum().alias("exact_months"), pl.col("period").sort().alias("periods")
    )
    per = per.join(mon, on=["unit_id", "year"]).filter(
        ((pl.col("p_value") < level) & (pl.col("months") >= min_months)) | (pl.col("exact_months") >= 2)
    )
    if per.height == 0:
        return []
    involved = months.join(per.select("unit_id", "year"), on=["unit_id", "year"]).join(
        base, on=["unit_id", "year", "period"]
    ).join(_cc_peer(um), on="coal_type", how="left")
    stake = involved.group_by(UKEYS).agg(_copy_stake(involved, None).alias("stake_t"))
    lvl = -np.log10(level)
    z = -np.log10(np.maximum(per["p_value"].to_numpy(), 1e-300))
    per = per.with_columns(
        pl.Series("score", np.maximum(score_from_z(z, lvl, lvl + 10.0), np.clip(0.5 + 0.5 * (per["exact_months"].to_numpy() - 2) / 6, 0.0, 1.0))),
        pl.lit(level).alias("alpha_unit_year"),
    )
    g = per.join(stake, on=["unit_id", "year"])
    return emit(
        "CPY-101",
        g,
        params=["unit_id", "year", "months", "periods"],
        evidence=["months", "exact_months", "periods", "p_value", "alpha_unit_year", "tau", "s_u", "pairs"],
        observed="months",
        peers="the unit's own months; 'near' scaled by the median month-to-month move of all coal units, "
        "its rate learned from all pairs nationally",
    )


def cross_plant_tuples(um: pl.DataFrame) -> list[Finding]:
    """CPY-102: the same lab tuple in lab reports of units of *different* enterprises.

    Units of one enterprise legitimately share one composite sample and report (DOMAIN.md §4.2
    look-alike): only pairs across enterprises count. The source (physics first: the fuel–NCV
    elasticity, :func:`_attribute_roles`; else the report dated first) is capped ``low``; the others
    are copies. Score 0.6 for one shared month, +0.1
    per further month (cap 1).
    """
    lab = _coal_lab(um)
    if lab.height == 0:
        return []
    key = pl.concat_str([pl.col(c).round(6).cast(pl.String) for c in TUPLE], separator="|").alias("tuple_key")
    lab = lab.with_columns(key)
    shared = lab.group_by("tuple_key").agg(
        pl.col("enterprise_id").n_unique().alias("n_ent"),
        pl.col("report_date").min().alias("first_date"),
        pl.col("enterprise_id").sort_by("report_date").first().alias("first_ent"),
    ).filter(pl.col("n_ent") >= 2)
    if shared.height == 0:
        return []
    hit = lab.join(shared, on="tuple_key").join(_cc_peer(um), on="coal_type", how="left")
    g = hit.group_by(UKEYS).agg(
        pl.col("period").n_unique().alias("months"),
        pl.col("period").unique().sort().alias("periods"),
        (pl.col("enterprise_id") == pl.col("first_ent")).all().alias("is_source"),
        _copy_stake(hit, None).alias("stake_t"),
        pl.col("tuple_key").first().alias("example_tuple"),
    )
    others = hit.select("tuple_key", pl.col("enterprise_id").alias("other_enterprise"))
    partners = hit.select(UKEYS + ["tuple_key"]).join(others, on="tuple_key").filter(
        pl.col("other_enterprise") != pl.col("enterprise_id")
    ).group_by(["unit_id", "year"]).agg(pl.col("other_enterprise").unique().sort().alias("other_enterprises"))
    g = g.join(partners, on=["unit_id", "year"], how="left")
    g = _attribute_roles(um, g)
    g = g.with_columns(
        (0.6 + 0.1 * (pl.col("months") - 1)).clip(0, 1).alias("score"),
        pl.when(pl.col("is_source")).then(pl.lit("low")).otherwise(pl.lit("high")).alias("cap"),
    )
    return emit(
        "CPY-102",
        g,
        params=["unit_id", "year", "months", "other_enterprises"],
        evidence=["months", "periods", "other_enterprises", "is_source", "role_basis", "elasticity", "partner_elasticities", "example_tuple"],
        observed="months",
        peers="all lab reports nationally, other enterprises only",
    )


def _elasticities(um: pl.DataFrame, enterprises: list[str], ncv_col: str) -> dict[tuple[str, int], tuple[float, float]]:
    """Fuel–NCV elasticity ``(β, se)`` per (enterprise, year) of ``enterprises``, NCV taken from ``ncv_col``.

    Enterprise-months of burnt coal: total fuel, median NCV over its units, total supply and heat
    output; the OLS of :func:`_ncv_elasticity` (the owner of an NCV series has β ≈ −1).
    """
    mm = _enterprise_months(um.filter(pl.col("enterprise_id").is_in(enterprises)), ncv_col, ["enterprise_id", "year", "month"])
    if mm.height == 0:
        return {}
    mm = mm.with_columns(pl.struct("enterprise_id", "year").rank("dense").cast(pl.Int64).alias("_i"))
    keys = mm.select("_i", "enterprise_id", "year").unique("_i")
    return {(e, int(y)): _ncv_elasticity(mm, i) for i, e, y in keys.iter_rows()}


#: β difference that decides owner vs copier without a significant one: a third of the owner–copier gap (−1 vs 0).
ELASTICITY_GAP_MIN = 0.3


def _owner_by_elasticity(b1: float, s1: float, b2: float, s2: float) -> tuple[bool, bool] | None:
    """Which of two fuel–NCV elasticities ``(β, se)`` is the owner's (nearer −1), and how surely.

    Returns ``(first_is_owner, significant)`` when both β are finite and differ by more than 2 combined
    standard errors (``significant``) or by more than :data:`ELASTICITY_GAP_MIN`; else ``None`` (undecided).
    """
    if not (np.isfinite(b1) and np.isfinite(b2)):
        return None
    significant = abs(b1 - b2) > 2 * np.hypot(s1, s2)
    if not (significant or abs(b1 - b2) > ELASTICITY_GAP_MIN):
        return None
    return abs(b1 + 1) < abs(b2 + 1), bool(significant)


def _attribute_roles(um: pl.DataFrame, g: pl.DataFrame) -> pl.DataFrame:
    """Decide source vs copier of shared lab tuples (CPY-102) by physics first, report dates second.

    The owner of a lab series burns coal in step with *that* NCV (fuel–NCV elasticity β ≈ −1, from
    the lab NCV of the shared tuples against the enterprise's own coal and supply: :func:`_elasticities`);
    a copier's coal follows its own, unreported coal (β ≈ 0). A unit is the source when its β is
    nearer −1 than every partner's by more than 2 standard errors or 0.3 (a third of the owner–copier
    gap, as CPY-107), the copier when any partner is so much nearer; otherwise the earliest report
    date decides (``role_basis`` says which). Adds ``is_source``, ``role_basis``, ``elasticity``,
    ``partner_elasticities``.
    """
    ents = sorted(set(g["enterprise_id"].to_list()) | {e for lst in g["other_enterprises"].to_list() for e in (lst or [])})
    el = _elasticities(um, ents, "ncv_ar_gj_per_t")
    src, basis, beta, pbeta = [], [], [], []
    for e, y, others, dated in g.select("enterprise_id", "year", "other_enterprises", "is_source").iter_rows():
        b, s = el.get((e, int(y)), (float("nan"), float("inf")))
        verdicts = []
        for o in others or []:
            v = _owner_by_elasticity(b, s, *el.get((o, int(y)), (float("nan"), float("inf"))))
            if v is not None:
                verdicts.append(v[0])
        if verdicts and not all(verdicts):
            src.append(False)
            basis.append("fuel-NCV elasticity")
        elif verdicts and len(verdicts) == len(others or []):
            src.append(True)
            basis.append("fuel-NCV elasticity")
        else:
            src.append(bool(dated))
            basis.append("earliest report date")
        beta.append(round(b, 3) if np.isfinite(b) else None)
        pb = [el.get((o, int(y)), (float("nan"), 0.0))[0] for o in others or []]
        pbeta.append([round(v, 3) if np.isfinite(v) else None for v in pb])
    return g.with_columns(
        pl.Series("is_source", src, dtype=pl.Boolean), pl.Series("role_basis", basis, dtype=pl.String),
        pl.Series("elasticity", beta, dtype=pl.Float64), pl.Series("partner_elasticities", pbeta, dtype=pl.List(pl.Float64)),
    )


ACTIVITY = ("fuel_consumed_t", "gross_generation_mwh", "power_supply_mwh", "operating_hours")


def adjacent_substitution(um: pl.DataFrame, *, min_equal: int = 2) -> list[Finding]:
    """CPY-103: a month whose activity data equal the previous or next month's.

    A month counts when at least ``min_equal`` of the non-zero activity columns (:data:`ACTIVITY`)
    equal the adjacent month's exactly. Honest continuous quantities metered to the tonne or MWh do
    not repeat; outage months (zeros) are ignored. Equalities must be independent: a unit whose
    generation is a fixed multiple of its operating hours in every running month (≥ 4; generation
    estimated as capacity × hours × a constant rather than metered) repeats its generation whenever
    its hours repeat, so for it the generation column does not count — two equal integers of hours
    are one coincidence, not two. Score 0.6 + 0.1 per further equal column; stake 10 % of the month's
    reported emissions (materiality proxy).

    Evidence that emissions are too low needs the coal: a month substituted to lower the report carries
    the neighbour's coal (``fuel_consumed_t``, the quantity emissions are computed from). Equal hours,
    generation, supply or heat with different coal in each month — an honest plant that estimates output
    from integer hours repeats them by coincidence (DOMAIN.md §4b: small units estimate generation) — move
    no emissions: ``low`` with 0 t, information for the reviewer.
    """
    df = um.sort("unit_id", "period").with_columns(pl.col("period").str.replace("-", "").cast(pl.Int32, strict=False).alias("_p"))
    cols = [c for c in ACTIVITY if c in df.columns]
    if "gross_generation_mwh" in cols and "operating_hours" in cols:
        run = pl.col("operating_hours") > 0
        per_h = (pl.col("gross_generation_mwh") / pl.col("operating_hours")).round(3).filter(run)
        df = df.with_columns(((per_h.n_unique() == 1) & (run.sum() >= 4)).over("unit_id").alias("_gen_from_hours"))
    else:
        df = df.with_columns(pl.lit(False).alias("_gen_from_hours"))

    def _eq(c: str, shift: int) -> pl.Expr:
        e = (pl.col(c) == pl.col(c).shift(shift).over("unit_id")) & (pl.col(c) > 0)
        if c == "gross_generation_mwh":
            e = e & ~pl.col("_gen_from_hours")
        return e.fill_null(False).cast(pl.Int32)

    eq_prev = [_eq(c, 1) for c in cols]
    eq_next = [_eq(c, -1) for c in cols]
    df = df.with_columns(pl.sum_horizontal(eq_prev).alias("eq_prev"), pl.sum_horizontal(eq_next).alias("eq_next"))
    hit = df.filter(pl.max_horizontal("eq_prev", "eq_next") >= min_equal).with_columns(
        pl.max_horizontal("eq_prev", "eq_next").alias("equal_columns"),
        pl.when(pl.col("eq_prev") >= pl.col("eq_next")).then(pl.lit("previous")).otherwise(pl.lit("next")).alias("neighbour"),
    )
    if hit.height == 0:
        return []
    coal = "fuel_consumed_t" if "fuel_consumed_t" in cols else None
    hit = hit.with_columns(
        (pl.max_horizontal(_eq(coal, 1), _eq(coal, -1)) > 0).alias("coal_equal") if coal else pl.lit(False).alias("coal_equal"))
    g = hit.group_by(UKEYS).agg(
        pl.col("period").sort().alias("periods"),
        pl.len().alias("months"),
        pl.col("equal_columns").max(),
        pl.col("coal_equal").any(),
        (pl.col("emissions_tco2").fill_null(0.0) * 0.1).filter(pl.col("coal_equal")).sum().alias("stake_t"),
    ).with_columns((0.6 + 0.1 * (pl.col("equal_columns") - min_equal) + 0.05 * (pl.col("months") - 2)).clip(0, 1).alias("score"))
    g = g.with_columns(pl.when(pl.col("coal_equal")).then(pl.lit(None, pl.String)).otherwise(pl.lit("low")).alias("severity"))
    return emit(
        "CPY-103",
        g,
        params=["unit_id", "year", "periods", "equal_columns"],
        evidence=["periods", "months", "equal_columns", "coal_equal"],
        observed="months",
        peers="the unit's adjacent months",
    )


def _binom_sf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(X ≥ k) for X ~ Binomial(n, p), elementwise (scipy)."""
    from scipy.stats import binom

    return binom.sf(np.asarray(k, dtype=np.int64) - 1, np.asarray(n, dtype=np.int64), p)


def identical_runs(um: pl.DataFrame, *, alpha: float = 1e-4) -> list[Finding]:
    """CPY-104: consecutive identical NCV (or measured CC) months beyond the fuel's honest repeat rate.

    For each unit-year: ``k`` exact consecutive-month repeats among ``n`` consecutive pairs with fuel
    burnt; ``p`` = max(shrunk EIA-923 repeat rate of the unit's fuel, national repeat rate of its
    class/coal type in these data) — :mod:`detectors.baserates`. Flag when P(X ≥ k | n, p) < ``alpha``
    (1e-4 ≈ 0.3 false alarms over 3,000 units). Score: 0.5 at ``alpha``, 1.0 at 1e-10. Units of a fuel
    group that honestly reports fixed annual values (EIA-923 group rate ≥ 0.15: oil, gas) are capped
    ``low``, and so is one NCV all year on a unit with no measured month (a declared fixed annual value,
    DOMAIN.md §4.2 look-alike; twelve "monthly tests" passed off as one are CPY-101's, on the lab
    tuples). Measured CC is tested the same way; default-basis CC is constant by design and skipped.
    """
    rates = eia923_repeat_rates()
    group_rate = dict(zip(rates["fuel_type"].to_list(), rates["group_rate"].to_list(), strict=True))
    df = um.filter(pl.col("fuel_consumed_t") > 0).sort("unit_id", "period").with_columns(
        (pl.col("year") * 12 + pl.col("month")).alias("_mi")
    )
    consec = (pl.col("_mi") - pl.col("_mi").shift(1).over("unit_id")) == 1
    ncv_rep = consec & (pl.col("ncv_gj_per_t") == pl.col("ncv_gj_per_t").shift(1).over("unit_id"))
    meas = (pl.col("carbon_content_basis") == "measured") & (pl.col("carbon_content_basis").shift(1).over("unit_id") == "measured")
    cc_rep = consec & meas & (pl.col("carbon_content_tc_per_gj") == pl.col("carbon_content_tc_per_gj").shift(1).over("unit_id"))
    df = df.with_columns(consec.fill_null(False).alias("pair"), ncv_rep.fill_null(False).alias("ncv_rep"), cc_rep.fill_null(False).alias("cc_rep"))
    g = df.group_by([*UKEYS, "unit_class", "coal_type", "is_gas"]).agg(
        pl.col("pair").sum().alias("pairs"),
        pl.max_horizontal(pl.col("ncv_rep").sum(), pl.col("cc_rep").sum()).alias("repeats"),
        pl.col("ncv_gj_per_t").n_unique().alias("distinct_ncv"),
        (pl.col("carbon_content_basis") != "measured").fill_null(True).all().alias("all_default"),
        pl.len().alias("months"),
        pl.col("heat_gj").sum().alias("heat_gj"),
        pl.col("ox").mean().alias("ox"),
        pl.col("carbon_content_tc_per_gj").median().alias("carbon_content_tc_per_gj"),
    ).filter(pl.col("pairs") > 0)
    if g.height == 0:
        return []
    nat = g.group_by("unit_class", "coal_type").agg((pl.col("repeats").sum() / pl.col("pairs").sum()).alias("p_national"))
    g = g.join(nat, on=["unit_class", "coal_type"], how="left")
    p_eia = np.array([repeat_rate_for(uc, ct, rates) for uc, ct in zip(g["unit_class"].to_list(), g["coal_type"].to_list(), strict=True)])
    p = np.clip(np.maximum(p_eia, g["p_national"].fill_null(0.0).to_numpy()), 1e-6, 0.999)
    pval = _binom_sf(g["repeats"].to_numpy(), g["pairs"].to_numpy(), p)
    lg = -np.log10(np.maximum(pval, 1e-300))
    fixed_group = np.where(g["is_gas"].to_numpy(), group_rate.get("gas*", 0.0), group_rate.get("coal*", 0.0)) >= 0.15
    g = g.with_columns(
        pl.Series("p_base", p),
        pl.Series("p_value", pval),
        pl.Series("score", score_from_z(lg, -np.log10(alpha), 10.0)),
        # one value all year on a unit that claims no measured months is a declared fixed annual value
        # (DOMAIN.md §4.2 look-alike), not twelve monthly tests passed off: low
        pl.Series("cap", np.where(fixed_group | ((g["distinct_ncv"].to_numpy() == 1) & g["all_default"].to_numpy()), "low", "high")),
    ).filter(pl.col("p_value") < alpha).join(_cc_peer(um), on="coal_type", how="left")
    g = g.with_columns(
        tco2(pl.col("heat_gj") * pl.col("repeats") / pl.col("months"), pl.max_horizontal(pl.col("cc_peer") - pl.col("carbon_content_tc_per_gj"), pl.col("cc_sigma")).fill_null(0.0), pl.col("ox")).alias("stake_t")
    )
    return emit(
        "CPY-104",
        g,
        params=["unit_id", "year", "repeats", "pairs", "p_base"],
        evidence=["repeats", "pairs", "distinct_ncv", "all_default", "p_base", "p_value", "p_national"],
        observed="repeats",
        peers="EIA-923 real repeat base rate of the fuel and the national rate of the unit class/coal type",
    )


def terminal_digits(um: pl.DataFrame, annual: pl.DataFrame | None = None, *, alpha: float = 1e-6, min_n: int = 100) -> list[Finding]:
    """CPY-105: terminal-digit preference per lab (lab tuple) and per preparer (activity data).

    Terminal digit = last digit at the column's modal precision, each distinct value of an
    enterprise-year counted once (repeats are CPY-101/104's evidence and would otherwise make a copier's
    honest lab look digit-biased for all its clients). Each lab's (preparer's) digits are
    tested against uniform by Pearson χ² (9 df, ``scipy.stats.chisquare``); a group with ≥ ``min_n``
    digits and p < ``alpha`` is suspect (Nigrini, *Benford's Law*, 2012, ch. on last-digit tests).
    Findings go to the enterprises of a suspect group whose own digits also deviate (χ² p < 0.01),
    capped ``medium`` (digit preference is circumstantial). Stake: 5 % of the enterprise's reported
    emissions in the year (EU MRR verification materiality, DOMAIN.md "Materiality").
    """
    from scipy.stats import chisquare

    specs: list[tuple[str, pl.DataFrame, list[str]]] = []
    lab = um.filter(pl.col("lab_agency_id").is_not_null())
    if lab.height:
        specs.append(("lab_agency_id", lab.unique(subset=["lab_report_id"]), list(TUPLE)))
    if annual is not None and annual.height and "preparer_agency_id" in annual.columns:
        prep = um.join(annual.select("enterprise_id", "preparer_agency_id").unique("enterprise_id"), on="enterprise_id", how="inner")
        prep = prep.filter(pl.col("preparer_agency_id").is_not_null())
        specs.append(("preparer_agency_id", prep, ["fuel_consumed_t", "gross_generation_mwh", "power_supply_mwh"]))
    emis = um.group_by("enterprise_id").agg(pl.col("emissions_tco2").sum().alias("emis"))
    rows: list[dict] = []
    for who, df, cols in specs:
        dig = []
        for c in cols:
            d = modal_decimals(df[c])
            # a value repeated by one enterprise (copied months: CPY-101/104; units sharing one sample)
            # is one reading, not many: count each distinct value of an enterprise-year once
            distinct = df.select(who, "enterprise_id", "province_code", "year", c).unique(subset=[who, "enterprise_id", "year", c])
            dig.append(distinct.select(who, "enterprise_id", "province_code", "year", (pl.col(c) * 10**d).round(0).cast(pl.Int64, strict=False).mod(10).alias("digit")))
        dg = pl.concat(dig).drop_nulls("digit")
        for grp_key, by in ((who, [who]), ("enterprise", [who, "enterprise_id", "province_code", "year"])):
            counts = dg.group_by([*by, "digit"]).len().pivot(on="digit", index=by, values="len").fill_null(0)
            dcols = [c for c in counts.columns if c not in by]
            mat = counts.select(dcols).to_numpy().astype(float)
            full = np.zeros((mat.shape[0], 10))
            for j, c in enumerate(dcols):
                full[:, int(c)] = mat[:, j]
            n = full.sum(axis=1)
            with np.errstate(all="ignore"):  # a row without digits has no test: p = 1
                pv = np.where(n > 0, chisquare(full, axis=1).pvalue, 1.0)
            counts = counts.select(by).with_columns(pl.Series("n", n), pl.Series("p", pv), pl.Series("top_digit", full.argmax(axis=1)))
            if grp_key == who:
                bad = counts.filter((pl.col("n") >= min_n) & (pl.col("p") < alpha))
            else:
                ent = counts.join(bad.select(who, pl.col("p").alias("p_group"), pl.col("n").alias("n_group")), on=who).filter(pl.col("p") < 0.01)
                ent = ent.join(emis, on="enterprise_id", how="left")
                for r in ent.iter_rows(named=True):
                    lg = -np.log10(max(r["p_group"], 1e-300))
                    rows.append(
                        {
                            **r,
                            "agency_id": r[who],
                            "role": who.split("_")[0],
                            "score": float(score_from_z(lg, -np.log10(alpha), 20.0)),
                            "stake_t": 0.05 * (r["emis"] or 0.0),
                            "cap": "medium",
                        }
                    )
    return emit(
        "CPY-105",
        rows,
        params=["agency_id", "role", "top_digit", "p_group"],
        evidence=["agency_id", "role", "n", "p", "n_group", "p_group", "top_digit"],
        detail_key="agency_id",
        peers="uniform terminal digits (χ² 9 df)",
    )


def too_smooth(um: pl.DataFrame, *, ratio_flag: float = 0.15, min_months: int = 6) -> list[Finding]:
    """CPY-106: a unit whose NCV *and* Mt move far less month to month than honest coal of its type.

    Statistic per unit-year and component: median |Δ| between consecutive months over the median of
    that over all units of the coal type. Flag when both NCV and Mt ratios are below ``ratio_flag`` but
    not zero (all-zero moves are exact repeats: CPY-101/104). Score 0.5 at ``ratio_flag``, 1.0 at 0;
    capped ``medium``.
    """
    lab = _coal_lab(um).sort("unit_id", "period")
    if lab.height == 0:
        return []
    lab = lab.with_columns(
        [pl.col(c).diff().over("unit_id").abs().alias(f"d_{c}") for c in ("ncv_ar_gj_per_t", "total_moisture_pct")]
    )
    g = lab.group_by([*UKEYS, "coal_type"]).agg(
        pl.col("d_ncv_ar_gj_per_t").median().alias("d_ncv"),
        pl.col("d_total_moisture_pct").median().alias("d_mt"),
        pl.len().alias("months"),
        pl.col("heat_gj").sum(),
        pl.col("ox").mean(),
        pl.col("carbon_content_tc_per_gj").median(),
    ).filter(pl.col("months") >= min_months)
    ref = g.group_by("coal_type").agg(pl.col("d_ncv").median().alias("ref_ncv"), pl.col("d_mt").median().alias("ref_mt"))
    g = g.join(ref, on="coal_type").with_columns(
        (pl.col("d_ncv") / pl.col("ref_ncv")).alias("ratio_ncv"), (pl.col("d_mt") / pl.col("ref_mt")).alias("ratio_mt")
    )
    worst = pl.max_horizontal("ratio_ncv", "ratio_mt")
    g = g.filter((worst < ratio_flag) & (pl.min_horizontal("d_ncv", "d_mt") > 0)).join(_cc_peer(um), on="coal_type", how="left")
    g = g.with_columns(
        (1.0 - 0.5 * worst / ratio_flag).clip(0, 1).alias("score"),
        pl.lit("medium").alias("cap"),
        tco2(pl.col("heat_gj"), pl.max_horizontal(pl.col("cc_peer") - pl.col("carbon_content_tc_per_gj"), pl.col("cc_sigma")).fill_null(0.0), pl.col("ox")).alias("stake_t"),
    )
    return emit(
        "CPY-106",
        g,
        params=["unit_id", "year", "ratio_ncv", "ratio_mt"],
        evidence=["d_ncv", "d_mt", "ref_ncv", "ref_mt", "ratio_ncv", "ratio_mt", "months"],
        peers="all units of the same coal type",
    )


def _enterprise_months(um: pl.DataFrame, ncv_col: str, by: list[str], *, submitted: bool = False) -> pl.DataFrame:
    """Coal burnt per enterprise-month, grouped by ``by``.

    Columns: ``lncv`` (log of the median ``ncv_col`` over its units), ``fuel_t``, ``supply_mwh``,
    ``heat_out_gj`` and, with ``submitted``, the first ``submitted_at``.
    """
    opt = {"submitted_at": pl.String, "power_supply_mwh": pl.Float64, "heat_supply_gj": pl.Float64}
    um = um.with_columns([pl.lit(None, dt).alias(c) for c, dt in opt.items() if c not in um.columns])
    return um.filter(~pl.col("is_gas") & (pl.col("fuel_consumed_t") > 0) & (pl.col(ncv_col) > 0)).group_by(by).agg(
        pl.col(ncv_col).median().log().alias("lncv"),
        pl.col("fuel_consumed_t").sum().alias("fuel_t"),
        pl.col("power_supply_mwh").fill_null(0.0).sum().alias("supply_mwh"),
        pl.col("heat_supply_gj").fill_null(0.0).sum().alias("heat_out_gj"),
        *([pl.col("submitted_at").cast(pl.String).min().alias("submitted_at")] if submitted else []),
    )


def _log_ncv_matrix(um: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, pl.DataFrame]:
    """Per coal enterprise-year: (keys, X (n × 12) log NCV demeaned per row, NaN where not burnt, monthly frame).

    The enterprise's NCV of a month is the median over its units burning coal (units of one plant share
    one sample, so the enterprise is the unit of comparison and its own units are never compared).
    """
    m = _enterprise_months(um, "ncv_gj_per_t", ["enterprise_id", "province_code", "coal_type", "year", "month"], submitted=True)
    keys = m.group_by("enterprise_id", "year").agg(
        pl.col("province_code").first(), pl.col("coal_type").mode().first(), pl.len().alias("months")
    ).sort("enterprise_id", "year")
    idx = keys.with_row_index("_i").select("enterprise_id", "year", "_i")
    mm = m.join(idx, on=["enterprise_id", "year"])
    x = np.full((keys.height, 12), np.nan)
    x[mm["_i"].to_numpy(), mm["month"].to_numpy().astype(int) - 1] = mm["lncv"].to_numpy()
    with np.errstate(invalid="ignore"):
        x = x - np.nanmean(x, axis=1, keepdims=True)
    return keys, x, mm


def _seasonal_residual(keys: pl.DataFrame, x: np.ndarray, min_group: int = 5) -> np.ndarray:
    """Return ``x`` minus the regional seasonal profile, re-demeaned.

    The profile is the month-wise median of the demeaned rows of the same province × coal type
    (≥ ``min_group`` enterprises), else coal type, else all.
    """
    prof = np.full_like(x, np.nan)
    for cols in (["province_code", "coal_type"], ["coal_type"], []):
        gid = keys.select(pl.struct(cols).rank("dense") if cols else pl.lit(1)).to_series().to_numpy()
        for g in np.unique(gid):  # loop over peer groups (tens)
            rows = np.flatnonzero((gid == g) & np.isnan(prof[:, 0]))
            members = np.flatnonzero(gid == g)
            if len(rows) == 0 or len(members) < min_group:
                continue
            with np.errstate(invalid="ignore"):
                p = np.nanmedian(x[members], axis=0)
            prof[rows] = np.nan_to_num(p)
    r = x - np.nan_to_num(prof)
    with np.errstate(invalid="ignore"):
        return r - np.nanmean(r, axis=1, keepdims=True)


def _ncv_elasticity(mm: pl.DataFrame, i: int) -> tuple[float, float]:
    """Elasticity of the enterprise's coal burnt to its reported NCV, ``(β, se)``.

    OLS over its months: log fuel ~ 1 + log NCV + log power supply (+ heat share for CHP). Coal burnt
    follows the energy needed divided by the heating value of the coal *actually burnt*, so the owner
    of an NCV series has β ≈ −1; a plant reporting another plant's NCV series has β ≈ 0 (its coal
    follows its own, unreported NCV). Returns ``(nan, inf)`` with < 6 usable months.
    """
    d = mm.filter((pl.col("_i") == i) & (pl.col("supply_mwh") > 0))
    if d.height < 6:
        return float("nan"), float("inf")
    y = np.log(d["fuel_t"].to_numpy())
    cols = [np.ones(d.height), d["lncv"].to_numpy(), np.log(d["supply_mwh"].to_numpy())]
    hs = d["heat_out_gj"].to_numpy() / (3.6 * d["supply_mwh"].to_numpy())
    if np.ptp(hs) > 1e-6:
        cols.append(hs)
    a = np.column_stack(cols)
    if d.height <= a.shape[1] + 1:
        return float("nan"), float("inf")
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    res = y - a @ coef
    s2 = float(res @ res) / (d.height - a.shape[1])
    cov = s2 * np.linalg.pinv(a.T @ a)
    return float(coef[1]), float(np.sqrt(max(cov[1, 1], 1e-12)))


def reused_series(um: pl.DataFrame, *, alpha: float = 1e-3, q_max: float = 0.2, min_months: int = 6, move_floor: float = 0.25) -> list[Finding]:
    """CPY-107: one plant's monthly NCV series reused (possibly rescaled) by a plant of another enterprise.

    Per coal enterprise-year the 12-month vector of log NCV, demeaned (a rescaled copy — all values
    × c — differs by a constant only). Honest plants of one region share a seasonal profile but not their
    noise: each plant's own noise σ is the robust scale of the month-to-month moves of its residual
    after removing the regional profile (province × coal type, :func:`_seasonal_residual`; median
    |Δ| × 1.4826/√2, so a coal-source switch — one step — is not counted as noise). For a pair of enterprises over their ``n ≥
    min_months`` common months, ``q² = Σ(Δ − mean Δ)² / ((n − 1)(σ_a² + σ_b²))`` with ``Δ`` the difference
    of their demeaned series — a shared profile cancels in ``Δ``, so honest pairs give ``q ≈ 1``
    (``(n − 1)q² ~ χ²ₙ₋₁`` for independent Gaussian noise) and a copy ``q ≈ 0``. Flag when the lower
    χ² tail is below ``alpha`` / (number of pairs) (Bonferroni over all pairs nationally) and
    ``q ≤ q_max``. Plants whose series barely moves (rms < ``move_floor`` × the median; CPY-104/106
    territory) are not compared — two flat series are "identical" without a copy.

    Source vs copier: the fuel–NCV elasticity (:func:`_ncv_elasticity`) — the owner's coal tracks its
    NCV (β ≈ −1), the copier's does not (β ≈ 0, or far from −1 either way). Two β more than 2 standard errors apart decide; more
    than 0.3 apart (a third of the owner–copier gap) decide weakly and the copier is capped ``medium``;
    otherwise the later-submitted series is the copy (capped ``medium``). The source is capped ``low``. Units of one enterprise are one
    row and never compared (shared samples are honest). Score 0.5 at the Bonferroni level, 1.0 eight
    decades below; stake = the copier's copied months' heat × max(peer CC − CC, peer σ) × OF × 44/12.
    """
    from scipy.stats import chi2

    keys, x, mm = _log_ncv_matrix(um)
    if keys.height < 3:
        return []
    r = _seasonal_residual(keys, x)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (fewer than 2 months) give NaN
        sig_raw = np.sqrt(np.nanmean(x**2, axis=1))
        # the plant's own noise from month-to-month moves (robust: a coal-source switch is one step,
        # not noise — an rms would count it and make two plants switching in one month look copied)
        sig = np.nanmedian(np.abs(np.diff(r, axis=1)), axis=1) * MAD_TO_SIGMA / np.sqrt(2.0)
    ok = np.isfinite(sig_raw) & (sig_raw >= move_floor * np.nanmedian(sig_raw)) & (np.isfinite(x).sum(axis=1) >= min_months)
    sig = np.maximum(np.nan_to_num(sig), move_floor * np.nanmedian(sig))
    w = np.isfinite(x).astype(float)
    a = np.nan_to_num(x)
    n = w @ w.T
    s1 = a @ w.T - w @ a.T
    s2 = (a**2) @ w.T + w @ (a**2).T - 2 * a @ a.T
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.maximum(s2 - s1**2 / np.maximum(n, 1), 0.0)
        q2 = ss / (np.maximum(n - 1, 1) * (sig[:, None] ** 2 + sig[None, :] ** 2))
    ent = keys["enterprise_id"].to_numpy()
    yr = keys["year"].to_numpy()
    valid = np.triu(np.ones_like(n, dtype=bool), 1) & (n >= min_months) & ok[:, None] & ok[None, :] & (ent[:, None] != ent[None, :]) & (yr[:, None] == yr[None, :])
    n_pairs = int(valid.sum())
    if n_pairs == 0:
        return []
    level = alpha / n_pairs
    ii, jj = np.nonzero(valid & (q2 <= q_max**2))
    if len(ii) == 0:
        return []
    df_ = n[ii, jj] - 1
    pv = chi2.cdf(df_ * q2[ii, jj], df_)
    keep = pv < level
    ii, jj, pv, nn = ii[keep], jj[keep], pv[keep], n[ii, jj][keep]
    if len(ii) == 0:
        return []
    sub = mm.group_by("_i").agg(pl.col("submitted_at").drop_nulls().sort().get(pl.col("submitted_at").drop_nulls().len() // 2, null_on_oob=True).alias("sub"))
    subm = dict(zip(sub["_i"].to_list(), sub["sub"].to_list(), strict=True))
    rows = []
    el: dict[int, tuple[float, float]] = {}
    for i, j, p, k in zip(ii.tolist(), jj.tolist(), pv.tolist(), nn.tolist(), strict=True):  # loop over flagged pairs (few)
        for t in (i, j):
            if t not in el:
                el[t] = _ncv_elasticity(mm, t)
        v = _owner_by_elasticity(*el[i], *el[j])
        if v is not None:  # the copier's β is the one farther from −1
            copier, basis = (j, i) if v[0] else (i, j), "fuel-NCV elasticity" if v[1] else "fuel-NCV elasticity (weak)"
        elif (subm.get(i) or "") != (subm.get(j) or ""):
            copier, basis = (i, j) if (subm.get(i) or "") > (subm.get(j) or "") else (j, i), "later submission"
        else:
            copier, basis = None, "undetermined"
        for me, other in ((i, j), (j, i)):
            role = "undetermined" if copier is None else ("copier" if copier[0] == me else "source")
            rows.append({
                "_i": me, "partner_enterprise": str(ent[other]), "role": role, "role_basis": basis, "p_value": p,
                "q": float(np.sqrt(q2[i, j])), "months": int(k), "elasticity": el[me][0], "partner_elasticity": el[other][0],
            })
    hit = pl.DataFrame(rows).sort("p_value").unique("_i", keep="first", maintain_order=True)
    hit = hit.join(keys.with_row_index("_i").with_columns(pl.col("_i").cast(pl.Int64)), on="_i")
    stake = um.filter(~pl.col("is_gas") & (pl.col("fuel_consumed_t") > 0)).join(_cc_peer(um), on="coal_type", how="left")
    stake = stake.group_by("enterprise_id", "year").agg(_copy_stake(stake, None).alias("stake_t"))
    lvl = -np.log10(level)
    hit = hit.join(stake, on=["enterprise_id", "year"], how="left").with_columns(
        pl.Series("score", score_from_z(-np.log10(np.maximum(hit["p_value"].to_numpy(), 1e-300)), lvl, lvl + 8.0)),
        pl.when(pl.col("role") == "source").then(pl.lit("low"))
        .when(pl.col("role_basis") == "fuel-NCV elasticity").then(pl.lit("high")).otherwise(pl.lit("medium")).alias("cap"),
        pl.lit(level).alias("alpha_pair"),
    )
    return emit(
        "CPY-107",
        hit,
        params=["enterprise_id", "year", "months", "partner_enterprise", "role"],
        evidence=["partner_enterprise", "role", "role_basis", "months", "q", "p_value", "alpha_pair", "elasticity", "partner_elasticity"],
        observed="q",
        peers="coal enterprises nationally (all pairs of other enterprises; noise scale after the province × coal-type seasonal profile)",
    )


#: PyOD-contract estimators around the function-style detectors (ARCHITECTURE.md convention 5).
RepeatedLabTuples = wrap(repeated_lab_tuples, "RepeatedLabTuples")
CrossPlantTuples = wrap(cross_plant_tuples, "CrossPlantTuples")
AdjacentSubstitution = wrap(adjacent_substitution, "AdjacentSubstitution")
IdenticalRuns = wrap(identical_runs, "IdenticalRuns")
TerminalDigits = wrap(terminal_digits, "TerminalDigits")
TooSmooth = wrap(too_smooth, "TooSmooth")
ReusedSeries = wrap(reused_series, "ReusedSeries")


def run(um: pl.DataFrame, annual: pl.DataFrame | None = None) -> list[Finding]:
    """All copied-value detectors on a :func:`~detectors.frames.unit_months` frame."""
    return [
        *RepeatedLabTuples().fit(um).findings(),
        *CrossPlantTuples().fit(um).findings(),
        *AdjacentSubstitution().fit(um).findings(),
        *IdenticalRuns().fit(um).findings(),
        *TerminalDigits().fit(um, annual).findings(),
        *TooSmooth().fit(um).findings(),
        *ReusedSeries().fit(um).findings(),
    ]
