"""Carbon-content detectors (family ``carbon_content``, codes CC-101…CC-104; DOMAIN.md §4.1).

Measured carbon content (CC, tC/GJ) is the money lever of the power-sector market: every 1 % of CC
under-reported is 1 % of combustion emissions. The detectors here learn what is plausible from
**peers** (same coal type, same province, same season) and from **the unit's own year**, never from a
generator's parameters:

* :class:`PeerCarbonContent` (CC-101) — a unit-year's measured CC too low against peers, after
  removing what NCV explains (a robust CC-on-NCV regression per coal type: a coal-source switch
  moves NCV and CC together and stays on the line) and the regional/seasonal peer level. One-sided:
  high-carbon anthracite or a conservative unit is not a suspicion. A PyOD ECOD score over the unit's
  (CC residual, NCV, Car, Mt, residual spread) is carried as corroboration.
* :class:`CarbonLevelShift` (CC-102) — the unit's own residual series steps down within the year
  (most telling right after a lab change); a step that comes with a significant NCV step is a
  coal-source switch and is capped at ``low``.
* :func:`default_as_measured` (CC-103) — "measured" values sitting exactly on a default
  (0.03085 / 0.03356 Chinese, 0.0258 / 0.0268 / 0.0276 IPCC).
* :func:`mixed_basis` (CC-104) — measured and default months mixed in one unit-year (the guideline:
  all measured or all default).

``tco2_at_stake`` = CC gap × heat (fuel × NCV) × OF × 44/12 (DOMAIN.md §3).
"""

from __future__ import annotations

import weakref

import numpy as np
import polars as pl

from carbonqa.findings import Finding
from carbonqa.regulation import CC_REPRODUCIBILITY_REL, MEASURED_CC_BAND_TC_PER_GJ, chinese_default_ccs
from detectors._common import (
    IPCC_DEFAULT_CC,
    FrameDetector,
    default_cc,
    diff_sigma,
    emit,
    modal_decimals,
    peer_robust_z,
    pyod_scores,
    score_from_z,
    step_se,
    tco2,
    to_matrix,
    wrap,
)

__all__ = ["DefaultAsMeasured", "MixedBasis", "PeerCarbonContent", "CarbonLevelShift", "default_as_measured", "mixed_basis", "measured_coal", "run"]

#: Peer groupings for month-level residuals, most specific first (DOMAIN.md §4.1: coal type, region, season).
MONTH_PEERS = (["coal_type", "province_code", "month"], ["coal_type", "month"], ["coal_type"], [])
#: Peer groupings for unit-level levels.
UNIT_PEERS = (["coal_type", "province_code"], ["coal_type"], [])
#: Peers across the whole country: the coal type's units (then all coal) — CC-101's second comparison and
#: CC-102's spread of unit-level CC.
NATIONAL_PEERS = (["coal_type"], [])


def measured_coal(um: pl.DataFrame) -> pl.DataFrame:
    """Coal unit-months with a measured CC, positive fuel and NCV (the population CC detectors score)."""
    return um.filter(
        (pl.col("carbon_content_basis") == "measured")
        & ~pl.col("is_gas")
        & (pl.col("fuel_consumed_t") > 0)
        & (pl.col("carbon_content_tc_per_gj") > 0)
        & (pl.col("ncv_gj_per_t") > 0)
    )


def season_adjusted_lncv(m: pl.DataFrame) -> pl.DataFrame:
    """Add ``lncv`` (ln NCV) and ``lncv_r`` (ln NCV minus its month's peer median: coal type × province × month).

    A seasonal moisture swing moves every plant of a region alike and is not a coal-source switch; what
    is left in ``lncv_r`` is the plant's own coal (CC-101's switch, CC-102's NCV step).
    """
    m = peer_robust_z(m.with_columns(pl.col("ncv_gj_per_t").log().alias("lncv")), "lncv", MONTH_PEERS, min_peers=30, floor=1e-4, out="nz")
    return m.with_columns((pl.col("lncv") - pl.col("nz_center")).alias("lncv_r"))


_MEASURED_RESIDUALS: list[tuple[weakref.ref[pl.DataFrame], pl.DataFrame]] = []


def measured_residuals(um: pl.DataFrame) -> pl.DataFrame:
    """:func:`add_residuals` of :func:`measured_coal` of ``um``, computed once per frame object.

    CC-101 and CC-102 both score the same residuals of the same night's unit-months; the one-slot memo
    (keyed by the frame's identity, held weakly) lets the second reuse the first's Huber fits.
    """
    if _MEASURED_RESIDUALS and _MEASURED_RESIDUALS[0][0]() is um:
        return _MEASURED_RESIDUALS[0][1]
    out = add_residuals(measured_coal(um))
    _MEASURED_RESIDUALS[:] = [(weakref.ref(um), out)]
    return out


def add_residuals(m: pl.DataFrame, *, min_peers: int = 30) -> pl.DataFrame:
    """Add ``cc_fit`` (robust CC-on-NCV line per coal type) and ``r2`` (residual minus peer level).

    The line is a Huber regression (scikit-learn ``HuberRegressor``, Huber 1964) of CC on NCV fitted
    per coal type with ≥ ``min_peers`` months (else one line over all coal); ``r2`` is the residual
    minus the median residual of the month's peers (coal type × province × quarter, falling back to
    broader groups). Numpy boundary: one :func:`to_matrix` per coal type.
    """
    from sklearn.linear_model import HuberRegressor

    m = m.with_columns(pl.lit(None, pl.Float64).alias("cc_fit"))
    parts = []
    pooled = None
    types = m["coal_type"].unique().sort().to_list()
    for ct in types + ["__all__"]:
        if ct == "__all__" and {c for c, _ in parts} >= set(types):
            break  # every coal type has its own line: the pooled one would be unused
        sub = m if ct == "__all__" else m.filter(pl.col("coal_type") == ct)
        _, xy = to_matrix(sub, ["unit_id"], ["ncv_gj_per_t", "carbon_content_tc_per_gj"])
        if xy.shape[0] < min_peers:
            continue
        x = xy[:, :1]
        mu, sd = float(np.median(x)), float(np.std(x)) or 1.0
        try:
            h = HuberRegressor(epsilon=1.35, max_iter=200).fit((x - mu) / sd, xy[:, 1] * 1e3)
            coef = (float(h.intercept_) / 1e3, float(h.coef_[0]) / 1e3 / sd, mu)
        except ValueError:
            coef = (float(np.median(xy[:, 1])), 0.0, mu)
        if ct == "__all__":
            pooled = coef
        else:
            parts.append((ct, coef))
    fits = dict(parts)
    rows = [(ct, *fits.get(ct, pooled or (0.0, 0.0, 0.0))) for ct in m["coal_type"].unique().to_list()]
    coef_df = pl.DataFrame(rows, schema={"coal_type": pl.String, "_a": pl.Float64, "_b": pl.Float64, "_mu": pl.Float64}, orient="row")
    m = m.drop("cc_fit").join(coef_df, on="coal_type", how="left").with_columns(
        (pl.col("_a") + pl.col("_b") * (pl.col("ncv_gj_per_t") - pl.col("_mu"))).alias("cc_fit")
    ).with_columns((pl.col("carbon_content_tc_per_gj") - pl.col("cc_fit")).alias("resid")).drop("_a", "_b", "_mu")
    m = peer_robust_z(m, "resid", MONTH_PEERS, min_peers=min_peers, floor=1e-5, out="rz")
    return m.with_columns((pl.col("resid") - pl.col("rz_center")).alias("r2"))


class PeerCarbonContent(FrameDetector):
    """CC-101: a unit-year's NCV-adjusted measured CC far below its peers'.

    Parameters:
        z_flag: robust z (one-sided, low) at which a unit is flagged (4.0: a little above the 3.5
            modified-z outlier cut-off of Iglewicz & Hoaglin 1993, for ~3,000 units tested at once).
        z_sure: z giving confidence 1.0.
        z_evidence: below ``z_flag`` down to this z (5.0) a unit whose median CC an honest coal can have —
            at or above the lower edge of :data:`carbonqa.regulation.MEASURED_CC_BAND_TC_PER_GJ` less its
            reproducibility (:data:`~carbonqa.regulation.CC_REPRODUCIBILITY_REL`) — is graded ``low``: its
            coal differs from its province's mix (DOMAIN.md §4b, coal quality spread), which on its own is
            information; robust z's of 4–5 come up every night among ~3,000 honest units because CC's
            tails are heavier than normal. Below z 5, or below the band, the detector's own grade.
        min_months: measured months a unit-year needs to be scored.

    A unit low only against its province's peers — ordinary against its coal type's units nationally
    (``z_nat`` > ``z_nat_ordinary``) — is graded ``low`` whatever its provincial z: a plant buying its coal
    from another province sits apart from its neighbours honestly.
        min_peers: units a peer group needs before falling back to a broader one.
        floor_rel: scale floor as a share of the peer median CC (1 %: measured CC honestly spans
            0.0245–0.0290 tC/GJ, DOMAIN.md §3, so peers tighter than ±1 % are an artefact of few peers).
        switch_rel, switch_t: a coal-source switch within the year — the unit's season-adjusted NCV
            steps by ≥ ``switch_rel`` (3 %, as CC-102's ``ncv_switch_rel``) *and* by ≥ ``switch_t``
            standard errors of its own month-to-month NCV noise (5, as CC-102's ``t_flag``), with ≥ 2
            months on each side. The unit then burnt two coals, and the registered coal type's peers
            and CC-on-NCV line describe at most one of them (a jump of 10 % in NCV leaves the peers'
            NCV range): the unit-year is scored by the *less* extreme of its two coals' z's, so it is
            flagged only when both look low (DOMAIN.md §4.1 look-alike: honest coal-source switch).
        z_nat_ordinary: a unit-year whose NCV-adjusted CC is no lower than this robust z against its coal
            type's units nationally burns a coal the country's plants of that rank burn every year; low
            against its province's peers, it is information (coal is traded across provinces, DOMAIN.md
            §4b "coal quality spread"), graded ``low`` [design choice: −2, a one-sided 2.3 % normal tail].

    ``fit(frame)`` takes :func:`detectors.frames.unit_months` output. ``keys_``: one row per unit-year
    with ``u`` (median residual, tC/GJ), ``z``, ``gap`` (tC/GJ below the peer level), ``ecod_pct``,
    ``switch_period`` / ``z_before`` / ``z_after`` (coal-source switch, else null), ``stake_t``,
    ``score``; ``decision_scores_`` = −z.
    """

    def __init__(
        self, z_flag: float = 4.0, z_sure: float = 8.0, min_months: int = 3, min_peers: int = 15, floor_rel: float = 0.01,
        switch_rel: float = 0.03, switch_t: float = 5.0, z_evidence: float = 5.0, z_nat_ordinary: float = -2.0,
    ) -> None:
        self.z_flag = z_flag
        self.z_nat_ordinary = z_nat_ordinary
        self.z_sure = z_sure
        self.z_evidence = z_evidence
        self.min_months = min_months
        self.min_peers = min_peers
        self.floor_rel = floor_rel
        self.switch_rel = switch_rel
        self.switch_t = switch_t

    def _switches(self, m: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        """Per unit-year with a coal-source switch: ``switch_period`` and the residual medians ``u_before`` / ``u_after``.

        ``m``: measured months with ``r2`` (:func:`add_residuals`). NCV is season-adjusted against its
        month's peers (a seasonal moisture swing is not a switch), as in CC-102; the split is the one
        with the largest NCV step (≥ 2 months each side).
        """
        m = season_adjusted_lncv(m).sort("unit_id", "period").with_columns(
            pl.int_range(pl.len()).over(keys).alias("i"), pl.len().over(keys).alias("n"),
            diff_sigma(pl.col("lncv_r")).over(keys).clip(1e-3).alias("sig_ncv"))
        cands = []
        for k in range(2, int(m["n"].max() or 0) - 1):
            b, a = pl.col("i") < k, pl.col("i") >= k
            cands.append(m.filter(pl.col("n") - k >= 2).group_by(keys).agg(
                (pl.col("lncv_r").filter(a).median() - pl.col("lncv_r").filter(b).median()).alias("ncv_step"),
                pl.col("sig_ncv").first(), pl.col("n").first(),
                pl.col("period").filter(pl.col("i") == k).first().alias("switch_period"),
                pl.col("r2").filter(b).median().alias("u_before"), pl.col("r2").filter(a).median().alias("u_after"),
            ).with_columns((pl.col("ncv_step") / (pl.col("sig_ncv") * step_se(k, pl.col("n") - k))).alias("t_ncv")))
        if not cands:
            return pl.DataFrame(schema={**{k: m.schema[k] for k in keys}, "switch_period": pl.String, "u_before": pl.Float64, "u_after": pl.Float64})
        best = pl.concat(cands).sort(pl.col("ncv_step").abs(), descending=True, maintain_order=True).unique(subset=keys, keep="first", maintain_order=True)
        return best.filter((pl.col("ncv_step").abs() >= self.switch_rel) & (pl.col("t_ncv").abs() >= self.switch_t)).select(
            *keys, "switch_period", "u_before", "u_after")

    def _threshold(self) -> float:
        return self.z_flag

    def _fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        m = measured_coal(frame)
        if m.height == 0:
            return pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        m = measured_residuals(frame)
        cc_med = float(m["carbon_content_tc_per_gj"].median())
        keys = ["unit_id", "enterprise_id", "province_code", "year", "coal_type"]
        u = m.group_by(keys).agg(
            pl.col("r2").median().alias("u"),
            pl.col("resid").median().alias("u_nat"),
            pl.col("r2").std().alias("r_sd"),
            pl.col("carbon_content_tc_per_gj").median().alias("cc_median"),
            pl.col("ncv_gj_per_t").median().alias("ncv_median"),
            pl.col("carbon_ar_pct").median().alias("car_median"),
            pl.col("total_moisture_pct").median().alias("mt_median"),
            pl.col("heat_gj").sum().alias("heat_gj"),
            pl.col("ox").mean().alias("ox"),
            pl.len().alias("months"),
        ).filter(pl.col("months") >= self.min_months)
        u = peer_robust_z(u, "u", UNIT_PEERS, min_peers=self.min_peers, floor=self.floor_rel * cc_med, out="z")
        # the same unit against its coal type's units of the whole country (coal is traded nationally)
        u = peer_robust_z(u, "u_nat", NATIONAL_PEERS, min_peers=self.min_peers, floor=self.floor_rel * cc_med, out="z_nat")
        # a coal-source switch: scored by the less extreme of the two coals (both must look low)
        u = u.join(self._switches(m, ["unit_id", "year"]), on=["unit_id", "year"], how="left").with_columns(
            ((pl.col("u_before") - pl.col("z_center")) / pl.col("z_scale")).alias("z_before"),
            ((pl.col("u_after") - pl.col("z_center")) / pl.col("z_scale")).alias("z_after"),
        ).with_columns(
            pl.when(pl.col("switch_period").is_not_null()).then(pl.max_horizontal("z_before", "z_after")).otherwise(pl.col("z")).alias("z"))
        u = u.with_columns((pl.col("z_center") - pl.col("u")).alias("gap"))
        # PyOD ECOD over the unit's profile, per coal type: corroboration only (two-sided by nature).
        u = u.with_columns(pl.lit(0.0).alias("ecod_pct"))
        feats = ["u", "ncv_median", "car_median", "mt_median", "r_sd"]
        parts = []
        for ct in u["coal_type"].unique().to_list():
            sub = u.filter(pl.col("coal_type") == ct)
            usable = [f for f in feats if sub[f].null_count() == 0]
            k, x = to_matrix(sub, ["unit_id", "year"], usable)
            parts.append(k.with_columns(pl.Series("_e", pyod_scores(x, "ecod"))))
        if parts:
            e = pl.concat(parts)
            u = u.drop("ecod_pct").join(e, on=["unit_id", "year"], how="left").with_columns(pl.col("_e").fill_null(0.0).alias("ecod_pct")).drop("_e")
        zlow = -u["z"].to_numpy()
        score = score_from_z(zlow, self.z_flag, self.z_sure) + np.where(u["ecod_pct"].to_numpy() >= 0.95, 0.1, 0.0)
        return u.with_columns(
            pl.Series("score_raw", zlow),
            pl.Series("score", np.clip(score, 0, 1)),
            tco2(pl.col("heat_gj"), pl.col("gap").clip(0.0), pl.col("ox")).alias("stake_t"),
            pl.col("z_peers").alias("peer_group"),
        )

    def findings(self) -> list[Finding]:
        """One CC-101 finding per flagged unit-year (``low`` when only moderately low inside the honest band)."""
        honest_cc = MEASURED_CC_BAND_TC_PER_GJ[0] * (1.0 - CC_REPRODUCIBILITY_REL)
        f = self.flagged()
        if f.height == 0:
            return []
        f = f.with_columns(
            pl.when(((pl.col("z") > -self.z_evidence) & (pl.col("cc_median") >= honest_cc))
                    | (pl.col("z_nat") > self.z_nat_ordinary).fill_null(False))
            .then(pl.lit("low")).otherwise(pl.lit(None, dtype=pl.String)).alias("severity"))
        return emit(
            "CC-101",
            f,
            params=["unit_id", "year", "cc_median", "z_center", "z", "peer_group"],
            evidence=["cc_median", "ncv_median", "u", "z", "z_center", "z_scale", "z_n", "peer_group", "gap", "heat_gj", "ecod_pct", "months",
                      "switch_period", "z_before", "z_after", "z_nat"],
            observed="cc_median",
            expected="z_center",
        )


class CarbonLevelShift(FrameDetector):
    """CC-102: a downward step in a unit's own NCV-adjusted CC within the year.

    Parameters:
        t_flag: step size in standard errors at which a unit is flagged (5: with ≤ 7 candidate splits
            a Bonferroni-safe cut-off for a normal noise model).
        t_sure: step giving confidence 1.0.
        min_rel: smallest step flagged, as a share of the unit's CC (1.5 %: below the ±2 % spread of
            honest repeat analyses of elemental carbon, GB/T 476 reproducibility).
        min_months: measured months needed (≥ 3 on each side of a split).
        ncv_switch_rel: an NCV step at least this large at the same split — or one of ≥ ``t_flag``
            standard errors of the unit's own season-adjusted NCV noise — means a coal-source switch
            (DOMAIN.md §4.1 look-alike: NCV and CC move together), capped at ``low`` even when the lab
            changed with the supplier (the fraud pattern lowers carbon, not heat). Units of one
            enterprise stepping at the same split share the verdict (one plant, one coal).
        inside_peers_z: a unit whose post-step level is above this robust z against its coal type's units
            nationally stays inside the bulk of its peers (one robust standard deviation below their
            centre) [design choice: what "still an ordinary coal" means].
        min_peers: units a coal type needs for its own spread of unit-level CC (else all coal units) —
            15, as CC-101's peer groups: a robust scale (1.4826 × MAD) of fewer units is dominated by
            which units happen to be there.

    A coal-source switch need not move NCV: two coals of one rank and heat value differ in carbon per
    GJ as two of the rank's plants do (DOMAIN.md §4b, "coal-source and laboratory switches move the level
    honestly"). The difference of two coals drawn from the peers has standard deviation √2 × the peers'
    robust spread of unit-level (NCV-adjusted) CC, ``peer_scale`` (coal type nationally, the night's own
    units: learnt, not set). A step within that (``|step| < √2 × peer_scale``) that leaves the unit inside
    its peers (``z_after`` > ``inside_peers_z``) with the same laboratory is what a switch does:
    capped ``low``, information for the reviewer. A step that takes the unit below its peers, or comes with
    a change of laboratory, keeps its grade.

    ``keys_``: one row per unit-year with ``split_period``, ``step`` (tC/GJ, negative = down), ``t``,
    ``lab_changed``, ``ncv_step_rel``, ``stake_t``; ``decision_scores_`` = −t.
    """

    def __init__(
        self, t_flag: float = 5.0, t_sure: float = 10.0, min_rel: float = 0.015, min_months: int = 6, ncv_switch_rel: float = 0.03,
        inside_peers_z: float = -1.0, min_peers: int = 15,
    ) -> None:
        self.t_flag = t_flag
        self.inside_peers_z = inside_peers_z
        self.min_peers = min_peers
        self.t_sure = t_sure
        self.min_rel = min_rel
        self.min_months = min_months
        self.ncv_switch_rel = ncv_switch_rel

    def _threshold(self) -> float:
        return self.t_flag

    def _fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        m = measured_coal(frame)
        if m.height == 0:
            return pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        m = season_adjusted_lncv(measured_residuals(frame)).sort("unit_id", "period")
        keys = ["unit_id", "enterprise_id", "province_code", "year"]
        m = m.with_columns(
            pl.int_range(pl.len()).over(keys).alias("i"),
            pl.len().over(keys).alias("n"),
            diff_sigma(pl.col("r2")).over(keys).alias("sig_u"),
            diff_sigma(pl.col("lncv_r")).over(keys).clip(1e-3).alias("sig_ncv"),
        ).filter(pl.col("n") >= self.min_months)
        if m.height == 0:
            return pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        sig_peer = float(m.group_by("unit_id").agg(pl.col("sig_u").first())["sig_u"].median() or 0.0)
        cc_med = float(m["carbon_content_tc_per_gj"].median())
        floor = max(0.5 * sig_peer, 0.001 * cc_med)
        best = None
        nmax = int(m["n"].max())
        for k in range(3, nmax - 2):
            before, after = pl.col("i") < k, pl.col("i") >= k
            s = m.filter(pl.col("n") - k >= 3).group_by(keys).agg(
                pl.col("r2").filter(after).median().sub(pl.col("r2").filter(before).median()).alias("step"),
                pl.col("ncv_gj_per_t").filter(after).median().truediv(pl.col("ncv_gj_per_t").filter(before).median()).sub(1).alias("ncv_step_rel"),
                pl.col("period").filter(pl.col("i") == k).first().alias("split_period"),
                pl.col("lab_agency_id").filter(before).mode().first().alias("lab_before"),
                pl.col("lab_agency_id").filter(after).mode().first().alias("lab_after"),
                pl.col("heat_gj").filter(after).sum().alias("heat_after_gj"),
                pl.col("ox").mean().alias("ox"),
                pl.col("carbon_content_tc_per_gj").median().alias("cc_median"),
                pl.col("sig_u").first().alias("sig_u"),
                pl.col("sig_ncv").first().alias("sig_ncv"),
                pl.col("lncv_r").filter(after).median().sub(pl.col("lncv_r").filter(before).median()).alias("ncv_step_log"),
                pl.col("n").first().alias("months"),
                pl.col("r2").filter(after).median().alias("r2_after"),
                pl.col("coal_type").first().alias("coal_type"),
            ).with_columns((pl.col("lab_before") != pl.col("lab_after")).fill_null(False).alias("lab_changed"))
            se_k = step_se(k, pl.col("months") - k)
            s = s.with_columns(
                (pl.col("step") / (pl.max_horizontal(pl.col("sig_u"), pl.lit(floor)) * se_k)).alias("t"),
                (pl.col("ncv_step_log") / (pl.col("sig_ncv") * se_k)).alias("t_ncv"),
            )
            best = s if best is None else pl.concat([best, s]).sort("t").unique(subset=keys, keep="first")
        if best is None or best.height == 0:
            return pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        # the peers' spread of unit-level CC (NCV-adjusted residual r2), per coal type nationally (then all coal)
        lvl = m.group_by(keys + ["coal_type"]).agg(pl.col("r2").median().alias("_u"))
        peer = peer_robust_z(lvl, "_u", NATIONAL_PEERS, min_peers=self.min_peers, floor=0.001 * cc_med, out="pz") \
            .group_by("coal_type").agg(pl.col("pz_center").first().alias("peer_center"), pl.col("pz_scale").first().alias("peer_scale"))
        best = best.join(peer, on="coal_type", how="left", nulls_equal=True, maintain_order="left").with_columns(
            ((pl.col("r2_after") - pl.col("peer_center")) / pl.col("peer_scale")).alias("z_after"))
        down = -best["t"].to_numpy()
        big = (best["step"].to_numpy() <= -self.min_rel * best["cc_median"].to_numpy())
        raw = np.where(big, down, np.minimum(down, self.t_flag - 1e-6))
        # a coal-source switch: NCV steps at the same split, by ≥ ncv_switch_rel or significantly against
        # the unit's own season-adjusted NCV noise — whether or not the lab changed with the supplier
        # (units of one plant burn one coal: a switch seen on one unit explains its siblings' step at the same split)
        plant = best.with_columns(
            ((pl.col("ncv_step_rel").abs() >= self.ncv_switch_rel) | (pl.col("t_ncv").abs().fill_nan(0.0).fill_null(0.0) >= self.t_flag)).alias("_sw")
        ).with_columns(pl.col("_sw").any().over("enterprise_id", "year", "split_period").alias("_sw"))
        # or, unit by unit (a small step on one unit does not excuse a large one on its sibling), a step with
        # the same lab within what two of the peers' coals differ by (the difference of two independent draws
        # has √2 × one draw's standard deviation), that leaves the unit inside its peers
        like_switch = best.select(
            ((~pl.col("lab_changed")) & (pl.col("step").abs() < np.sqrt(2.0) * pl.col("peer_scale"))
             & (pl.col("z_after") > self.inside_peers_z)).fill_null(False)).to_series().to_numpy()
        switch = plant["_sw"].to_numpy() | like_switch
        score = score_from_z(raw, self.t_flag, self.t_sure) + np.where(best["lab_changed"].fill_null(False).to_numpy(), 0.15, 0.0)
        return best.with_columns(
            pl.Series("score_raw", raw),
            pl.Series("score", np.clip(score, 0, 1)),
            pl.Series("cap", np.where(switch, "low", "high")),
            tco2(pl.col("heat_after_gj"), (-pl.col("step")).clip(0.0), pl.col("ox")).alias("stake_t"),
        )

    def findings(self) -> list[Finding]:
        """One CC-102 finding per flagged unit-year."""
        return emit(
            "CC-102",
            self.flagged(),
            params=["unit_id", "split_period", "step", "lab_before", "lab_after"],
            evidence=["split_period", "step", "t", "sig_u", "lab_changed", "lab_before", "lab_after", "ncv_step_rel", "t_ncv", "heat_after_gj", "months",
                      "z_after", "peer_scale"],
            observed="step",
            peers="the unit's own months before the split",
        )


def default_as_measured(um: pl.DataFrame, *, tol: float = 5e-7, alpha: float = 1e-4) -> list[Finding]:
    """CC-103: "measured" CC equal to a default value more often than rounding explains.

    Defaults: the Chinese default of either revision (0.03085 / 0.03356) and the IPCC rank defaults
    (:data:`IPCC_DEFAULT_CC`), DOMAIN.md §3. A month *hits* when ``|CC − default| ≤ tol``. An honest
    value lands on a default by rounding with probability ``p_d`` = the national share of measured
    months within ±5 reporting steps of it (but not on it) / 10 — the local density at the data's own
    precision (modal decimals) — or the unit's own density there (normal at its median and robust σ,
    σ floored at half the peers' median), whichever is larger. A unit-year with ``k`` hits in ``n`` months is flagged when the Poisson
    tail P(X ≥ k | n·p_d) < ``alpha``, or when a hit month's lab report (Car/100/NCV) disagrees with
    the CC by > 1 % (the number did not come from the lab). Score 0.55 + 0.08 per further month, +0.2
    on a lab mismatch. Stake: (Chinese default − CC) × heat × OF × 44/12 — what the unit would report
    unmeasured; 0 and capped ``low`` when the value *is* the Chinese default (conservative).
    """
    from scipy.stats import poisson

    m = measured_coal(um)
    if m.height == 0:
        return []
    defaults = sorted({*chinese_default_ccs(), *IPCC_DEFAULT_CC.values()})
    cc = pl.col("carbon_content_tc_per_gj")
    step = 10.0 ** -min(modal_decimals(m["carbon_content_tc_per_gj"]), 7)
    n_all = m.height
    dens = {}
    for d in defaults:
        near = m.filter(((cc - d).abs() <= 5 * step + tol) & ((cc - d).abs() > tol)).height
        dens[d] = max(near / 10.0, 1.0) / n_all
    hit = pl.lit(None, pl.Float64)
    for d in defaults:
        hit = pl.when((cc - d).abs() <= tol).then(pl.lit(d)).otherwise(hit)
    cc_all = pl.col("carbon_content_tc_per_gj")
    months = m.group_by("unit_id", "year").agg(
        pl.len().alias("n_measured"),
        cc_all.median().alias("mu_u"),
        ((cc_all - cc_all.median()).abs().median() * 1.4826).alias("sd_u"),
    )
    sd_floor = max(0.5 * float(months["sd_u"].median() or 0.0), step)
    m = m.with_columns(
        hit.alias("default_hit"),
        ((pl.col("carbon_ar_pct") / 100 / pl.col("ncv_ar_gj_per_t")) / cc - 1).abs().gt(0.01).fill_null(False).alias("lab_mismatch"),
        pl.col("year").map_elements(default_cc, return_dtype=pl.Float64).alias("cn_default"),
    ).filter(pl.col("default_hit").is_not_null())
    if m.height == 0:
        return []
    g = m.group_by(["unit_id", "enterprise_id", "province_code", "year"]).agg(
        pl.len().alias("months"),
        pl.col("default_hit").mode().first().alias("default_value"),
        pl.col("lab_mismatch").any().alias("lab_mismatch"),
        pl.col("period").sort().alias("periods"),
        tco2(pl.col("heat_gj"), (pl.col("cn_default") - cc).clip(0.0), pl.col("ox")).sum().alias("stake_t"),
        (pl.col("default_hit") >= pl.col("cn_default") - tol).all().alias("is_cn_default"),
    ).join(months, on=["unit_id", "year"])
    # the unit's own density at the default (a unit hovering near 0.0276 lands on it more often)
    dv = np.array(g["default_value"].to_list(), dtype=float)
    sd_u = np.maximum(g["sd_u"].fill_null(0.0).to_numpy(), sd_floor)
    p_unit = step * np.exp(-0.5 * ((dv - g["mu_u"].to_numpy()) / sd_u) ** 2) / (sd_u * np.sqrt(2 * np.pi))
    lam = g["n_measured"].to_numpy() * np.maximum(np.array([dens[d] for d in dv]), p_unit)
    pv = poisson.sf(g["months"].to_numpy().astype(np.int64) - 1, lam)
    g = g.with_columns(pl.Series("p_value", pv), pl.Series("p_round", lam / np.maximum(g["n_measured"].to_numpy(), 1)))
    g = g.filter((pl.col("p_value") < alpha) | pl.col("lab_mismatch")).with_columns(
        (0.55 + 0.08 * (pl.col("months") - 1) + pl.when(pl.col("lab_mismatch")).then(0.2).otherwise(0.0)).clip(0, 1).alias("score"),
        pl.when(pl.col("is_cn_default")).then(pl.lit("low")).otherwise(pl.lit("high")).alias("cap"),
    )
    return emit(
        "CC-103",
        g,
        params=["unit_id", "year", "months", "default_value"],
        evidence=["months", "n_measured", "default_value", "periods", "lab_mismatch", "p_value", "p_round"],
        observed="default_value",
    )


def mixed_basis(um: pl.DataFrame) -> list[Finding]:
    """CC-104: measured and default carbon content mixed within one coal unit-year.

    The guideline requires all months measured or all default (DOMAIN.md §4.1). Stake: the measured
    months recomputed at the Chinese default, ``Σ (default − CC) × heat × OF × 44/12``. Score 0.9
    (a fact, not a statistic; the remaining doubt is whether the regulator allows a documented
    mid-year start of measurement).
    """
    m = um.filter(~pl.col("is_gas") & pl.col("carbon_content_basis").is_in(["measured", "default"]) & (pl.col("fuel_consumed_t") > 0))
    if m.height == 0:
        return []
    cc = pl.col("carbon_content_tc_per_gj")
    m = m.with_columns(pl.col("year").map_elements(default_cc, return_dtype=pl.Float64).alias("cn_default"))
    g = m.group_by(["unit_id", "enterprise_id", "province_code", "year"]).agg(
        (pl.col("carbon_content_basis") == "measured").sum().alias("measured_months"),
        (pl.col("carbon_content_basis") == "default").sum().alias("default_months"),
        tco2(pl.col("heat_gj"), (pl.col("cn_default") - cc).clip(0.0), pl.col("ox"))
        .filter(pl.col("carbon_content_basis") == "measured")
        .sum()
        .alias("stake_t"),
    ).filter((pl.col("measured_months") > 0) & (pl.col("default_months") > 0)).with_columns(pl.lit(0.9).alias("score"))
    return emit(
        "CC-104",
        g,
        params=["unit_id", "year", "measured_months", "default_months"],
        evidence=["measured_months", "default_months"],
    )


#: PyOD-contract estimators around the function-style detectors (ARCHITECTURE.md convention 5).
DefaultAsMeasured = wrap(default_as_measured, "DefaultAsMeasured")
MixedBasis = wrap(mixed_basis, "MixedBasis")


def run(um: pl.DataFrame) -> list[Finding]:
    """All carbon-content detectors on a :func:`~detectors.frames.unit_months` frame."""
    out: list[Finding] = []
    out += PeerCarbonContent().fit(um).findings()
    out += CarbonLevelShift().fit(um).findings()
    out += DefaultAsMeasured().fit(um).findings()
    out += MixedBasis().fit(um).findings()
    return out
