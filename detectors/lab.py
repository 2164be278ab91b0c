"""Lab-report forensics (family ``lab_forensics``, codes LAB-101…LAB-104; DOMAIN.md §4.3).

Editable report templates leave statistical traces the rules cannot see row by row:

* LAB-101 :func:`clustered_reports` — a unit-year's monthly reports issued within days of each other
  (honest monthly composites are reported month after month).
* LAB-102 :func:`serial_disorder` — a lab's running serial numbers that do not follow its report dates.
* LAB-103 :func:`lab_throughput` — a lab issuing more reports per day than its peers plausibly can.
* LAB-104 :class:`MoistureInflation` — total moisture too high for the coal type, season and the
  unit's own history, *given its NCV* (wet coal honestly has a lower NCV; fabricated Mt does not
  touch NCV — and lowers Car, hence CC).

Stake of a fabricated report: the unit loses its measured basis, so the months concerned are
recomputed at the Chinese default CC: ``Σ heat × (default − CC) × OF × 44/12`` (DOMAIN.md §3, §4.1).
Stake of inflated moisture: the Car recomputed at the unit's usual Mt, ``Car' = Cad (100 − Mt₀) /
(100 − Mad)`` (CONTRACT.md §3), ``ΔCC = (Car' − Car) / 100 / NCV``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from carbonqa.findings import Finding
from detectors._common import (
    FrameDetector,
    default_cc,
    diff_sigma,
    emit,
    peer_robust_z,
    score_from_z,
    tco2,
    wrap,
)

__all__ = ["ClusteredReports", "SerialDisorder", "LabThroughput", "clustered_reports", "serial_disorder", "lab_throughput", "MoistureInflation", "DryBasisMoisture", "LATENT_GJ_PER_T_PER_PCT", "run"]

UKEYS = ["unit_id", "enterprise_id", "province_code", "year"]


def _reports(um: pl.DataFrame) -> pl.DataFrame:
    """Unit-months with a lab report and a report date, with the basis-loss stake per month."""
    return um.filter(pl.col("lab_report_id").is_not_null() & pl.col("report_date").is_not_null()).with_columns(
        tco2(
            pl.col("heat_gj").fill_null(0.0),
            (pl.col("year").map_elements(default_cc, return_dtype=pl.Float64) - pl.col("carbon_content_tc_per_gj")).clip(0.0).fill_null(0.0),
            pl.col("ox"),
        ).alias("basis_stake_t")
    )


def clustered_reports(um: pl.DataFrame, *, window_days: int = 10, min_cluster: int = 4) -> list[Finding]:
    """LAB-101: ≥ ``min_cluster`` reports of distinct sample months issued within ``window_days``.

    Honest monthly composites are tested after each month ends, so at most about two sample months'
    reports fall in any 10-day window. Statistic: the largest number of distinct sample periods whose
    report dates fall in one window starting at one of them (a self-join per unit-year, ≤ 144 pairs).
    Score 0.5 at ``min_cluster`` months, 1.0 at 10. Reports shared by the units of one plant count
    once per unit.
    """
    r = _reports(um).select([*UKEYS, "period", "report_date", "lab_agency_id", "basis_stake_t"])
    if r.height == 0:
        return []
    pairs = r.join(r.select("unit_id", "year", pl.col("period").alias("p2"), pl.col("report_date").alias("d2")), on=["unit_id", "year"])
    pairs = pairs.filter((pl.col("d2") >= pl.col("report_date")) & ((pl.col("d2") - pl.col("report_date")).dt.total_days() <= window_days))
    win = pairs.group_by([*UKEYS, "period", "report_date"]).agg(pl.col("p2").n_unique().alias("cluster"), pl.col("p2").sort().alias("cluster_periods"))
    # deterministic among tied windows: the earliest window of the largest cluster (stable message/evidence)
    best = (
        win.sort(["cluster", "report_date", "period"], descending=[True, False, False])
        .unique(subset=["unit_id", "year"], keep="first", maintain_order=True)
        .filter(pl.col("cluster") >= min_cluster)
    )
    if best.height == 0:
        return []
    stake = r.join(best.select("unit_id", "year", "cluster_periods").explode("cluster_periods"), left_on=["unit_id", "year", "period"], right_on=["unit_id", "year", "cluster_periods"]).group_by("unit_id", "year").agg(pl.col("basis_stake_t").sum().alias("stake_t"))
    best = best.join(stake, on=["unit_id", "year"], how="left").with_columns(
        (0.5 + 0.5 * (pl.col("cluster") - min_cluster) / max(10 - min_cluster, 1)).clip(0, 1).alias("score"),
        pl.col("report_date").alias("first_report_date"),
        pl.lit(window_days).alias("window_days"),
    )
    return emit(
        "LAB-101",
        best,
        params=["unit_id", "year", "cluster", "window_days", "first_report_date"],
        evidence=["cluster", "cluster_periods", "first_report_date", "window_days"],
        observed="cluster",
        peers="the unit's own monthly reports",
    )


def serial_disorder(um: pl.DataFrame, *, tol_days: int = 3, min_share: float = 0.2, min_count: int = 5, min_reports: int = 20) -> list[Finding]:
    """LAB-102: reports whose serial number is out of step with their date within their lab.

    Serial = the trailing digits of ``report_no``. Per lab (≥ ``min_reports`` reports), a report is
    out of order when more than ``min_share`` of the lab's reports dated more than ``tol_days`` earlier
    carry a higher serial, or of those dated later a lower one, and at least ``min_count`` reports
    disagree with it (a back- or forward-dated report; the ``tol_days`` slack lets same-week reports
    interleave; the count keeps the first reports of a year, with few predecessors, quiet). Computed with ranks: for report *i*, the
    share of earlier-dated reports with a higher serial = 1 − (serial-rank among earlier ones)/count.
    Findings per unit-year with the disordered reports; score 0.5 + share/2; stake = basis loss.
    """
    r = _reports(um).filter(pl.col("report_no").is_not_null()).unique(subset=["lab_report_id", "unit_id"])
    if r.height == 0:
        return []
    r = r.with_columns(pl.col("report_no").str.extract(r"(\d+)\D*$", 1).cast(pl.Int64, strict=False).alias("serial")).filter(pl.col("serial").is_not_null())
    rep = r.unique(subset=["lab_report_id"]).select("lab_agency_id", "lab_report_id", "serial", "report_date")
    rep = rep.filter(pl.len().over("lab_agency_id") >= min_reports)
    if rep.height == 0:
        return []
    # pairwise per lab is O(n²); labs hold at most a few thousand reports a year, so this is fine.
    p = rep.join(rep.select("lab_agency_id", pl.col("serial").alias("s2"), pl.col("report_date").alias("d2")), on="lab_agency_id")
    dd = (pl.col("d2") - pl.col("report_date")).dt.total_days()
    share = p.group_by("lab_report_id").agg(
        ((dd < -tol_days) & (pl.col("s2") > pl.col("serial"))).sum().alias("earlier_higher"),
        (dd < -tol_days).sum().alias("earlier"),
        ((dd > tol_days) & (pl.col("s2") < pl.col("serial"))).sum().alias("later_lower"),
        (dd > tol_days).sum().alias("later"),
    ).with_columns(
        pl.max_horizontal(
            pl.col("earlier_higher") / pl.max_horizontal(pl.col("earlier"), pl.lit(1)),
            pl.col("later_lower") / pl.max_horizontal(pl.col("later"), pl.lit(1)),
        ).alias("disorder")
    )
    enough = pl.max_horizontal("earlier_higher", "later_lower") >= min_count
    bad = r.join(share, on="lab_report_id").filter((pl.col("disorder") > min_share) & enough)
    if bad.height == 0:
        return []
    g = bad.group_by(UKEYS).agg(
        pl.col("lab_report_id").unique().sort().alias("reports"),
        pl.col("lab_agency_id").first(),
        pl.col("disorder").max(),
        pl.col("basis_stake_t").sum().alias("stake_t"),
        pl.col("period").sort().alias("periods"),
    ).with_columns((0.5 + 0.5 * pl.col("disorder")).clip(0, 1).alias("score"))
    return emit(
        "LAB-102",
        g,
        params=["unit_id", "year", "lab_agency_id", "reports"],
        evidence=["reports", "periods", "lab_agency_id", "disorder"],
        observed="disorder",
        peers="all reports of the same lab",
    )


def lab_throughput(um: pl.DataFrame, *, z_flag: float = 3.5, z_sure: float = 7.0) -> list[Finding]:
    """LAB-103: a lab's busiest day far beyond its peers' (robust z of log reports/day).

    Per lab: distinct reports issued on each report date; the lab's 99th-percentile day. Robust z of
    its log against all labs (scale floor ln 2: labs honestly differ by a factor of two in size). A
    lab at z ≥ ``z_flag`` is implausible; findings go to the unit-years with reports issued on its
    implausible days (more than twice the peers' 99th-percentile day), capped ``medium``; stake =
    basis loss of those months.
    """
    r = _reports(um)
    if r.height == 0:
        return []
    day = r.unique(subset=["lab_report_id"]).group_by("lab_agency_id", "report_date").agg(pl.len().alias("per_day"))
    lab = day.group_by("lab_agency_id").agg(pl.col("per_day").quantile(0.99, "higher").alias("p99"), pl.col("per_day").sum().alias("reports"))
    lab = lab.with_columns(pl.col("p99").cast(pl.Float64).log().alias("lp"))
    if lab.height < 5:
        return []
    lab = peer_robust_z(lab, "lp", [[]], min_peers=1, floor=float(np.log(2.0)), out="z")
    peer_day = float(day["per_day"].quantile(0.99, "higher"))
    bad = lab.filter(pl.col("z") >= z_flag)
    if bad.height == 0:
        return []
    spike = day.join(bad.select("lab_agency_id", "z", "p99"), on="lab_agency_id").filter(pl.col("per_day") > 2 * peer_day)
    hit = r.join(spike, on=["lab_agency_id", "report_date"])
    g = hit.group_by(UKEYS).agg(
        pl.col("lab_agency_id").first(),
        pl.col("per_day").max(),
        pl.col("z").first(),
        pl.col("period").sort().alias("periods"),
        pl.col("basis_stake_t").sum().alias("stake_t"),
    ).with_columns(
        pl.lit(peer_day).alias("peer_p99_per_day"),
        pl.lit("medium").alias("cap"),
    )
    g = g.with_columns(pl.Series("score", score_from_z(g["z"].to_numpy(), z_flag, z_sure)))
    return emit(
        "LAB-103",
        g,
        params=["lab_agency_id", "per_day", "peer_p99_per_day"],
        evidence=["lab_agency_id", "per_day", "z", "peer_p99_per_day", "periods"],
        detail_key="lab_agency_id",
        peers="all labs nationally",
    )


class MoistureInflation(FrameDetector):
    """LAB-104: total moisture too high for the coal, season and the unit's history, given its NCV.

    Model: Mt regressed on NCV per coal type (Huber; honest wet coal has a lower NCV), residual
    standardised twice — against the month's peers (coal type × province × quarter, DOMAIN.md §3: Mt
    varies with season and source) and against the unit's own months (seasonally adjusted residual
    minus the unit's lower quartile, over its month-to-month σ). A month is suspect when its own z ≥
    ``z_flag`` and it also sits above its peers (peer z ≥ ``z_peer``); a whole-year inflation shows
    as a unit median far above peers (peer z ≥ ``z_flag`` + 1 on the unit median) whose heat did not
    fall with the water (``z_dilution_year`` ≥ ``z_dil``: the unit's median ln R against the median of
    its coal type's units nationally, as a share of the rise a Mt fabricated from their median Mt would
    cause — DOMAIN.md §4b, low-rank and blended coals). A single suspect
    month needs 1.5 more z than two or more. Score from the
    z. ``decision_scores_`` = max z per unit-year.

    A wet month is only suspect when its NCV did not fall with it: moisture dilutes heat as it dilutes
    carbon (GB/T 483 basis conversion, latent heat per GB/T 213 — see :class:`DryBasisMoisture`), so an
    honestly wetter month (rain on the coal yard, a wetter seam) keeps its dry-basis heat per dry
    carbon ``R = NCV_d / C_d`` (``NCV_d = (NCV_ar + 0.02443 Mt) × 100/(100 − Mt)``, ``C_d = Cad ×
    100/(100 − Mad)``; R is a property of the coal rank, so a richer month moves neither), while a
    fabricated Mt — the only way it lowers Car, hence CC — leaves NCV_ar as measured and so raises
    the implied NCV_d and R. A month hit also needs
    ``z_dilution`` (the rise of ln R over the unit-year's months of ordinary moisture, as a share of
    the rise ``ln((100 − Mt_ref)/(100 − Mt))`` a fabricated Mt would cause) ≥ ``z_dil`` (0.5: closer
    to fabricated than to honest) and that rise ≥ ``z_dil_sig`` of the unit's month-to-month σ of
    ln R (floored at half the peers' median σ and 0.5 %): beyond the unit's own NCV noise.
    """

    def __init__(self, z_flag: float = 4.0, z_peer: float = 1.5, z_sure: float = 8.0, min_peers: int = 20, z_dil: float = 0.5, z_dil_sig: float = 2.0) -> None:
        self.z_flag = z_flag
        self.z_peer = z_peer
        self.z_sure = z_sure
        self.min_peers = min_peers
        self.z_dil = z_dil
        self.z_dil_sig = z_dil_sig

    def _threshold(self) -> float:
        return self.z_flag

    def _fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        from sklearn.linear_model import HuberRegressor

        from detectors._common import to_matrix

        m = frame.filter(
            ~pl.col("is_gas") & (pl.col("fuel_consumed_t") > 0) & pl.col("total_moisture_pct").is_not_null() & pl.col("ncv_ar_gj_per_t").is_not_null()
        )
        if m.height < self.min_peers:
            return pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        parts = []
        for ct in m["coal_type"].unique().to_list():
            sub = m.filter(pl.col("coal_type") == ct)
            k, xy = to_matrix(sub, ["unit_id", "period"], ["ncv_ar_gj_per_t", "total_moisture_pct"])
            if xy.shape[0] >= self.min_peers:
                mu = float(np.median(xy[:, 0]))
                try:
                    h = HuberRegressor(max_iter=200).fit(xy[:, :1] - mu, xy[:, 1])
                    fit = h.predict(xy[:, :1] - mu)
                except ValueError:
                    fit = np.full(xy.shape[0], np.median(xy[:, 1]))
            else:
                fit = np.full(xy.shape[0], np.median(xy[:, 1]) if xy.shape[0] else 0.0)
            parts.append(k.with_columns(pl.Series("mt_fit", fit)))
        m = m.join(pl.concat(parts), on=["unit_id", "period"], how="left").with_columns(
            (pl.col("total_moisture_pct") - pl.col("mt_fit")).alias("mt_resid")
        )
        m = peer_robust_z(m, "mt_resid", (["coal_type", "province_code", "month"], ["coal_type", "month"], ["coal_type"], []), min_peers=self.min_peers, floor=0.3, out="zp")
        # seasonally/regionally adjusted residual; own baseline = the unit's lower quartile (inflation only
        # raises Mt), own σ from month-to-month moves (robust to a level shift), floored by the peers'.
        m = m.sort("unit_id", "period").with_columns((pl.col("mt_resid") - pl.col("zp_center")).alias("a"))
        m = m.with_columns(
            pl.col("a").quantile(0.25).over("unit_id", "year").alias("own_base"),
            diff_sigma(pl.col("a")).over("unit_id", "year").alias("own_sd"),
        )
        peer_sd = max(float(m.group_by("unit_id").agg(pl.col("own_sd").first())["own_sd"].median() or 0.0), 0.2)
        # 12 months give a noisy σ: blend it half-and-half with the peers' (empirical-Bayes style shrinkage)
        sd_eff = ((pl.col("own_sd").fill_null(peer_sd) ** 2 + peer_sd**2) / 2).sqrt()
        m = m.with_columns(((pl.col("a") - pl.col("own_base")) / sd_eff).alias("zo"))
        m = m.with_columns(
            (pl.col("carbon_ad_pct") * (100 - (pl.col("total_moisture_pct") - pl.col("mt_resid") + pl.col("zp_center"))) / (100 - pl.col("moisture_ad_pct"))).alias("car_expected"),
        ).with_columns(
            ((pl.col("car_expected") - pl.col("carbon_ar_pct").fill_null(pl.col("carbon_ad_pct") * (100 - pl.col("total_moisture_pct")) / (100 - pl.col("moisture_ad_pct")))) / 100 / pl.col("ncv_ar_gj_per_t")).alias("dcc")
        )
        # dilution: an honest wet month's dry-basis heat per dry carbon (ln_r: ln NCV_d/C_d, a property of
        # the coal's rank, so a richer or leaner coal moves neither) stays at the unit's level; a fabricated Mt
        # raises it by ln((100 − Mt_ref)/(100 − Mt)). Reference: the unit-year's months of ordinary moisture.
        ref = pl.col("zo") < self.z_flag
        m = m.with_columns((_ncv_d() / _carbon_d()).log().alias("ln_r")).with_columns(
            pl.coalesce(pl.col("ln_r").filter(ref).median().over("unit_id", "year"),
                        pl.col("ln_r").median().over("unit_id", "year")).alias("r_ref"),
            pl.coalesce(pl.col("total_moisture_pct").filter(ref).median().over("unit_id", "year"),
                        pl.col("total_moisture_pct").median().over("unit_id", "year")).alias("mt_ref"),
        ).with_columns(
            (pl.col("ln_r") - pl.col("r_ref")).alias("r_rise"),
            ((100 - pl.col("mt_ref")) / (100 - pl.col("total_moisture_pct"))).log().clip(0.0).alias("r_rise_if_fabricated"),
            diff_sigma(pl.col("ln_r")).over("unit_id", "year").alias("r_sd"),
        )
        peer_rsd = float(m.group_by("unit_id").agg(pl.col("r_sd").first())["r_sd"].median() or 0.0)
        m = m.with_columns(
            # share of the Mt excess not matched by dilution: 0 = honestly wet, 1 = fabricated, NCV as measured
            (pl.col("r_rise") / pl.col("r_rise_if_fabricated")).alias("zd"),
            (pl.col("r_rise") / pl.max_horizontal(pl.col("r_sd").fill_null(0.0), pl.lit(peer_rsd / 2), pl.lit(0.005)))
            .alias("zd_sig"),
        )
        month_hit = ((pl.col("zo") >= self.z_flag) & (pl.col("zp") >= self.z_peer) & (pl.col("zd") >= self.z_dil)
                     & (pl.col("zd_sig") >= self.z_dil_sig))
        u = m.group_by([*UKEYS, "coal_type"]).agg(
            pl.col("zo").filter(month_hit).max().alias("z_month"),
            pl.col("zd").filter(month_hit).min().alias("z_dilution"),
            month_hit.sum().alias("months_hit"),
            pl.col("zp").median().alias("z_unit"),
            pl.col("period").filter(month_hit).sort().alias("periods"),
            pl.col("total_moisture_pct").median().alias("mt_median"),
            pl.col("ln_r").median().alias("_ln_r_unit"),
            pl.col("zp_center").median().alias("peer_resid_center"),
            pl.col("zp_peers").first().alias("peer_group"),
            tco2(pl.col("heat_gj"), pl.col("dcc").clip(0.0), pl.col("ox")).filter(month_hit).sum().alias("stake_month"),
            tco2(pl.col("heat_gj"), pl.col("dcc").clip(0.0), pl.col("ox")).sum().alias("stake_year"),
            pl.len().alias("months"),
        )
        # a whole year wetter than its peers is honest when the coal's heat fell with it (a lignite-like coal
        # registered as another type, a wet seam): the unit's ln R against its coal type's units nationally,
        # as a share of the rise a moisture fabricated from the peers' level would cause (same test as a month's)
        u = u.with_columns(
            pl.col("_ln_r_unit").median().over("coal_type").alias("_ln_r_peer"),
            pl.col("mt_median").median().over("coal_type").alias("_mt_peer"),
        ).with_columns(
            ((pl.col("_ln_r_unit") - pl.col("_ln_r_peer"))
             / ((100 - pl.col("_mt_peer")) / (100 - pl.col("mt_median"))).log().clip(1e-6)).alias("z_dilution_year"),
        ).drop("_ln_r_unit", "_ln_r_peer", "_mt_peer")
        year_hit = (pl.col("z_unit") >= self.z_flag + 1) & (pl.col("z_dilution_year") >= self.z_dil).fill_null(False)
        return u.with_columns(
            # one month alone needs 1.5 more z (12 chances per unit-year to be unlucky)
            pl.max_horizontal(
                (pl.col("z_month") - pl.when(pl.col("months_hit") >= 2).then(0.0).otherwise(1.5)).fill_null(-np.inf),
                pl.when(year_hit).then(pl.col("z_unit")).otherwise(-np.inf)).alias("score_raw"),
            pl.when(year_hit).then(pl.col("stake_year")).otherwise(pl.col("stake_month")).alias("stake_t"),
        )

    def findings(self) -> list[Finding]:
        """One LAB-104 finding per flagged unit-year."""
        f = self.flagged()
        if f.height == 0:
            return []
        f = f.with_columns(pl.Series("score", score_from_z(f["score_raw"].to_numpy(), self.z_flag, self.z_sure)))
        return emit(
            "LAB-104",
            f,
            params=["unit_id", "year", "mt_median", "score_raw", "peer_group"],
            evidence=["periods", "mt_median", "z_month", "z_dilution", "z_unit", "z_dilution_year", "peer_resid_center", "peer_group", "months"],
            observed="mt_median",
        )


#: Latent heat of vaporisation of water at 25 °C per percent of moisture, GJ/t (GB/T 213-2008 §8 /
#: ISO 1928:2009 annex: ``Q_net,ar = (Q_net,d) × (100 − Mt)/100 − 0.02443 × Mt``, MJ/kg = GJ/t).
LATENT_GJ_PER_T_PER_PCT = 0.02443


def _ncv_d() -> pl.Expr:
    """Dry-basis NCV, GJ/t: ``(NCV_ar + 0.02443 Mt) × 100/(100 − Mt)`` (GB/T 213-2008, ISO 1928:2009)."""
    mt = pl.col("total_moisture_pct")
    return (pl.col("ncv_ar_gj_per_t") + LATENT_GJ_PER_T_PER_PCT * mt) * 100 / (100 - mt)


def _carbon_d() -> pl.Expr:
    """Dry-basis carbon, %: ``Cad × 100/(100 − Mad)`` (GB/T 483-2007 basis conversion)."""
    return pl.col("carbon_ad_pct") * 100 / (100 - pl.col("moisture_ad_pct"))


class DryBasisMoisture(FrameDetector):
    """LAB-105: reported total moisture contradicted by the coal's own dry-basis heat-to-carbon ratio.

    Physics. Moisture is a diluent: converting a coal analysis between bases (GB/T 483-2007, ISO
    1170:2020) scales carbon and heat alike, ``X_d = X_ar × 100/(100 − Mt)``; the net calorific value
    also carries the latent heat of the water (GB/T 213-2008, ISO 1928:2009):
    ``NCV_d = (NCV_ar + 0.02443 Mt) × 100/(100 − Mt)``. Dry carbon needs no Mt at all:
    ``C_d = Cad × 100/(100 − Mad)``. The heating value of coal on a dry(-ash-free) basis is close to
    proportional to its carbon (Dulong; Mott & Spooner 1940, Fuel 19; Channiwala & Parikh 2002, Fuel
    81), so ``R = NCV_d / C_d`` (GJ/t per % C) is a property of the coal rank, not of the moisture.

    An honestly wet coal has a lower NCV_ar *and* a higher Mt: R is unchanged. A fabricated Mt leaves
    the measured NCV_ar alone, so the implied NCV_d — and R — rise with it, while Car (and CC) fall. Two
    lines of evidence per unit-year (medians of its months), each a robust z against peers of the same
    coal type and province (coal type nationally when the province has fewer than ``min_peers``):
    ``z_r`` (R high) and ``z_mt`` (Mt − Mad high: free moisture, which Mt ≥ Mad bounds below). They are
    combined by Stouffer's method, ``z = (z_r + z_mt)/√2`` (one-sided, α ≈ 3e-5 at ``z_flag`` 4),
    and both must point the same way (each ≥ ``z_each``): a high R alone is a low-CC coal (CC-101's
    business, or an honest high-rank blend), a high Mt alone an honestly wet coal.

    Note: without the latent-heat term R is exactly ``1/(100 CC)`` — the ratio alone re-tests CC against
    peers; the moisture evidence is what attributes a low CC to the moisture.

    Stake: the unit's CC recomputed at its peers' free moisture, ``ΔCC = CC × (Mt − Mt₀)/(100 − Mt)``
    (Car ∝ 100 − Mt at fixed dry carbon), × heat × OF × 44/12.
    """

    def __init__(self, z_flag: float = 4.0, z_each: float = 2.0, z_sure: float = 7.0, min_peers: int = 20, min_months: int = 6) -> None:
        self.z_flag = z_flag
        self.z_each = z_each
        self.z_sure = z_sure
        self.min_peers = min_peers
        self.min_months = min_months

    def _threshold(self) -> float:
        return self.z_flag

    def _fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        m = frame.filter(
            ~pl.col("is_gas") & (pl.col("fuel_consumed_t") > 0) & pl.col("total_moisture_pct").is_between(0, 60)
            & pl.col("moisture_ad_pct").is_between(0, 60) & (pl.col("carbon_ad_pct") > 0) & (pl.col("ncv_ar_gj_per_t") > 0)
        ).with_columns(
            _carbon_d().alias("carbon_d_pct"),
            _ncv_d().alias("ncv_d_gj_per_t"),
            (pl.col("total_moisture_pct") - pl.col("moisture_ad_pct")).alias("free_moisture_pct"),
        ).with_columns((pl.col("ncv_d_gj_per_t") / pl.col("carbon_d_pct")).alias("heat_per_carbon"))
        empty = pl.DataFrame(schema={"unit_id": pl.String, "score_raw": pl.Float64})
        if m.height == 0:
            return empty
        u = m.group_by([*UKEYS, "coal_type"]).agg(
            pl.col("heat_per_carbon").median(),
            pl.col("free_moisture_pct").median(),
            pl.col("total_moisture_pct").median().alias("mt_median"),
            pl.col("carbon_d_pct").median().alias("carbon_d_median"),
            pl.col("ncv_d_gj_per_t").median().alias("ncv_d_median"),
            pl.col("carbon_content_tc_per_gj").median().alias("cc_median"),
            pl.col("heat_gj").sum().alias("heat_gj"),
            pl.col("ox").median().alias("ox"),
            pl.len().alias("months"),
        ).filter(pl.col("months") >= self.min_months)
        if u.height < self.min_peers:
            return empty
        groups = (["coal_type", "province_code"], ["coal_type"], [])
        u = peer_robust_z(u, "heat_per_carbon", groups, min_peers=self.min_peers, floor=1e-3, out="z_r")
        u = peer_robust_z(u, "free_moisture_pct", groups, min_peers=self.min_peers, floor=0.3, out="z_mt")
        excess = (pl.col("free_moisture_pct") - pl.col("z_mt_center")).clip(0.0)
        return u.with_columns(
            ((pl.col("z_r") + pl.col("z_mt")) / np.sqrt(2)).alias("z_comb"),
        ).with_columns(
            pl.when((pl.col("z_r") >= self.z_each) & (pl.col("z_mt") >= self.z_each)).then(pl.col("z_comb")).otherwise(-np.inf).alias("score_raw"),
            excess.alias("mt_excess_pct"),
            tco2(pl.col("heat_gj"), pl.col("cc_median") * excess / (100 - pl.col("mt_median")), pl.col("ox")).alias("stake_t"),
        )

    def findings(self) -> list[Finding]:
        """One LAB-105 finding per flagged unit-year."""
        f = self.flagged()
        if f.height == 0:
            return []
        f = f.with_columns(pl.Series("score", score_from_z(f["score_raw"].to_numpy(), self.z_flag, self.z_sure)))
        return emit(
            "LAB-105",
            f,
            params=["unit_id", "year", "heat_per_carbon", "mt_median", "z_comb"],
            evidence=["heat_per_carbon", "z_r", "z_r_center", "free_moisture_pct", "z_mt", "z_mt_center", "mt_median", "ncv_d_median", "carbon_d_median", "z_comb", "months", "z_r_peers"],
            observed="heat_per_carbon",
            expected="z_r_center",
            peers="same coal type and province (coal type nationally when < 20 units)",
        )


#: PyOD-contract estimators around the function-style detectors (ARCHITECTURE.md convention 5).
ClusteredReports = wrap(clustered_reports, "ClusteredReports")
SerialDisorder = wrap(serial_disorder, "SerialDisorder")
LabThroughput = wrap(lab_throughput, "LabThroughput")


def run(um: pl.DataFrame) -> list[Finding]:
    """All lab-forensics detectors on a :func:`~detectors.frames.unit_months` frame."""
    return [*ClusteredReports().fit(um).findings(), *SerialDisorder().fit(um).findings(), *LabThroughput().fit(um).findings(), *MoistureInflation().fit(um).findings(), *DryBasisMoisture().fit(um).findings()]
