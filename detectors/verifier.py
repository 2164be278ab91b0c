"""Verifier detectors (family ``verifier``, codes VER-101…VER-108; DOMAIN.md §4.4).

Verification that rubber-stamps leaves traces per verifier, visible only against its peers and
against what the *other* detectors and rules of the same run found in its clients' data — so
:func:`run` takes those findings as input (``prior``):

* VER-101 :func:`anomaly_burden` — a verifier whose accepted reports carry anomalies far more often
  than its peers' (binomial test against the pooled rate, with an empirical-Bayes beta-binomial
  shrinkage of each verifier's rate; Efron & Morris 1975). Findings go to its accepted clients with
  anomalies.
* VER-102 :func:`short_reviews` — review durations implausibly short against all reviews.
* VER-103 :func:`tonne_exact_on_gap` — verified = reported to the tonne, accepted, while the unit's
  own monthly deposits disagree with the annual report.
* VER-104 :func:`verifier_profile` — a verifier whose profile (share accepted, share verified =
  reported exactly, findings per report, median review days) is an outlier among verifiers (PyOD
  ECOD + robust z), capped ``medium``.
* VER-105 :func:`conflict_of_interest` — one agency preparing and verifying reports in the same
  province and year (forbidden by the 2024 regulation, DOMAIN.md §4.4).
* VER-106 :func:`rubber_stamps` — a verifier that accepts reports to the tonne without a single
  finding on clients the screen finds anomalous far more often than its peers (binomial test against
  the pooled rate, empirical-Bayes shrinkage). Findings go to those clients, the verifier as evidence.
* VER-107 :func:`accepted_despite_gap` — accepted although verified and reported emissions differ by
  more than 1,000 t and the EU materiality level (Beijing pilot rule, EU AVR 5 % / 2 % above 500 kt).
* VER-108 :func:`pooled_evidence` — per verifier, burden, stamps given the burden and short reviews
  pooled by Stouffer's method (α = 1e-3), EB-shrunk stamp rate; findings to its implicated clients.

Which findings count as a client's anomalies (:func:`client_anomalies`): the verification of year Y
reviews year Y's report, so the client's findings on year Y count when the run holds any; otherwise
(the usual case: a screening of Y sees the verification of Y − 1) the client's findings of any year
stand in — persistent problems of the client that the verifier should have seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from carbonqa.findings import Finding
from detectors._common import emit, peer_robust_z, score_from_z, wrap

__all__ = ["AnomalyBurden", "ShortReviews", "TonneExactOnGap", "VerifierProfile", "ConflictOfInterest", "RubberStamps", "AcceptedDespiteGap", "PooledEvidence", "pooled_evidence",
    "anomaly_burden", "short_reviews", "tonne_exact_on_gap", "verifier_profile", "conflict_of_interest",
    "rubber_stamps", "accepted_despite_gap", "client_anomalies", "run", "burden_frame",
]

EKEYS = ["enterprise_id", "province_code", "year"]
#: share of verified emissions put at stake by a failed verification (EU MRR/AVR materiality 5 %, DOMAIN.md)
VERIFY_MATERIALITY = 0.05


def burden_frame(prior: Sequence[Finding], *, min_score: float = 0.5) -> pl.DataFrame:
    """Count, per enterprise-year, the ≥ medium non-verifier findings of the run (score ≥ ``min_score``).

    Returns ``[enterprise_id, year, anomalies, anomaly_stake_t, anomaly_codes]`` (codes sorted).
    Findings without a year count for every year of the enterprise.
    """
    rows = [
        (f.enterprise_id, f.year, f.tco2_at_stake, f.rule_code)
        for f in prior
        if f.family not in ("verifier", "tip") and f.severity in ("critical", "high", "medium") and f.score >= min_score and f.enterprise_id
    ]
    if not rows:
        return pl.DataFrame(schema={"enterprise_id": pl.String, "year": pl.Int64, "anomalies": pl.UInt32, "anomaly_stake_t": pl.Float64, "anomaly_codes": pl.List(pl.String)})
    df = pl.DataFrame(rows, schema={"enterprise_id": pl.String, "year": pl.Int64, "stake": pl.Float64, "code": pl.String}, orient="row")
    return df.group_by("enterprise_id", "year").agg(
        pl.len().alias("anomalies"), pl.col("stake").max().alias("anomaly_stake_t"), pl.col("code").unique().sort().alias("anomaly_codes")
    )


def client_anomalies(ver: pl.DataFrame, prior: Sequence[Finding], *, min_score: float = 0.5) -> pl.DataFrame:
    """Anomalies of each verification's client for the verified year (see the module docstring).

    Args:
        ver: verifications (``enterprise_id``, ``year``, …), one row per verification.
        prior: the other findings of the run (rules and detectors).

    Returns:
        ``ver`` plus ``anomalies`` (count of ≥ medium non-verifier findings, 0 when none),
        ``anomaly_stake_t`` and ``anomaly_codes``: the client's findings on the verified year when it
        has any there, else on any year.
    """
    b = burden_frame(prior, min_score=min_score)
    v = ver.with_columns(pl.col("year").cast(pl.Int64))
    same = v.join(b, on=["enterprise_id", "year"], how="left")
    anyy = b.group_by("enterprise_id").agg(
        pl.col("anomalies").sum().alias("_n"), pl.col("anomaly_stake_t").max().alias("_s"),
        pl.col("anomaly_codes").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().alias("_c"),
    )
    return same.join(anyy, on="enterprise_id", how="left").with_columns(
        pl.coalesce("anomalies", "_n").fill_null(0).alias("anomalies"),
        pl.coalesce("anomaly_stake_t", "_s").fill_null(0.0).alias("anomaly_stake_t"),
        pl.coalesce("anomaly_codes", "_c").alias("anomaly_codes"),
    ).drop("_n", "_s", "_c")


def _binomial_outliers(v: pl.DataFrame, flag: str, *, alpha: float, min_ratio: float, min_k: int) -> pl.DataFrame:
    """Verifiers whose share of ``flag`` rows is far above the pooled share (binomial + beta-binomial EB).

    Per verifier ``n`` rows, ``k`` flagged; pooled ``p₀ = Σk / Σn`` over the *other* verifiers not
    (yet) flagged (leave-one-out); P(X ≥ k | n, p₀) (scipy) < ``alpha``, ``k ≥ min_k`` and the empirical-Bayes shrunk rate
    (beta prior by the method of moments over verifiers; Efron & Morris 1975) ≥ ``min_ratio`` × p₀.
    Flagged verifiers leave the pooled rate and the test is repeated until nothing changes (a forward
    search against masking: one blatant stamper must not raise the bar for a second one; Hadi 1992).
    Returns ``[verifier_agency_id, n, k, p_value, rate_eb, rate_pooled]`` of the flagged verifiers.
    """
    from scipy.stats import binom

    agg = v.group_by("verifier_agency_id").agg(pl.len().alias("n"), pl.col(flag).sum().alias("k")).sort("verifier_agency_id")
    n, k = agg["n"].to_numpy().astype(float), agg["k"].to_numpy().astype(float)
    rates = k / np.maximum(n, 1)
    m, var = float(np.mean(rates)), float(np.var(rates))
    common = m * (1 - m) / var - 1 if var > 0 else 1e6
    a0, b0 = max(m * common, 1e-3), max((1 - m) * common, 1e-3)
    shrunk = (k + a0) / (n + a0 + b0)
    out = np.zeros(len(n), dtype=bool)
    p0, pv = 0.0, np.ones(len(n))
    for _ in range(len(n)):
        # leave-one-out pooled rate of the unflagged verifiers (a verifier never raises its own bar)
        ks, ns = k[~out].sum() - np.where(out, 0, k), n[~out].sum() - np.where(out, 0, n)
        p0s = ks / np.maximum(ns, 1.0)
        p0 = k[~out].sum() / max(n[~out].sum(), 1.0)
        if p0 <= 0 or p0 >= 1:
            break
        pv = binom.sf(k - 1, n, np.clip(p0s, 1e-6, 1 - 1e-6))
        new = (pv < alpha) & (k >= min_k) & (shrunk >= min_ratio * p0)
        if (new == out).all():
            break
        out = new
    if p0 <= 0 or p0 >= 1 or not out.any():
        return agg.clear().with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("p_value", "rate_eb", "rate_pooled"))
    agg = agg.with_columns(pl.Series("p_value", pv), pl.Series("rate_eb", shrunk), pl.lit(p0).alias("rate_pooled"))
    return agg.filter(pl.Series(out))


def _verif(ver: pl.DataFrame, annual: pl.DataFrame | None) -> pl.DataFrame:
    v = ver.with_columns(
        (pl.col("review_completed").cast(pl.Date, strict=False) - pl.col("review_started").cast(pl.Date, strict=False)).dt.total_days().alias("review_days"),
        pl.col("year").cast(pl.Int64),
    )
    if annual is not None and annual.height:
        a = annual.select("enterprise_id", pl.col("year").cast(pl.Int64), "reported_emissions_tco2", "preparer_agency_id").unique(["enterprise_id", "year"])
        v = v.join(a, on=["enterprise_id", "year"], how="left")
    else:
        v = v.with_columns(pl.lit(None, pl.Float64).alias("reported_emissions_tco2"), pl.lit(None, pl.String).alias("preparer_agency_id"))
    v = v.with_columns(
        ((pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2")).abs() < 0.5).fill_null(False).alias("exact"),
        (pl.col("conclusion") == "accepted").alias("accepted"),
    )
    # a stamp: accepted, verified = reported to the tonne, and not one finding raised (VER-106/108)
    return v.with_columns((pl.col("accepted") & pl.col("exact") & (pl.col("findings_count").fill_null(0) == 0)).alias("stamp"))


def anomaly_burden(ver: pl.DataFrame, annual: pl.DataFrame | None, prior: Sequence[Finding], *, alpha: float = 1e-3, min_ratio: float = 2.0) -> list[Finding]:
    """VER-101: verifiers whose accepted clients carry anomalies far more often than peers'.

    Per verifier: ``n`` accepted verifications, ``k`` of them on clients with a ≥ medium finding of
    another family in this run (:func:`client_anomalies`); :func:`_binomial_outliers` flags the
    verifier. Findings: its accepted, anomalous clients; stake = the largest anomaly stake of the
    client.
    """
    v = _verif(ver, annual).filter(pl.col("accepted"))
    if v.height == 0:
        return []
    v = client_anomalies(v, prior).with_columns((pl.col("anomalies") > 0).alias("anom"))
    bad = _binomial_outliers(v, "anom", alpha=alpha, min_ratio=min_ratio, min_k=2)
    if bad.height == 0:
        return []
    hit = v.filter(pl.col("anom")).join(bad, on="verifier_agency_id").with_columns(
        pl.col("anomaly_stake_t").alias("stake_t"),
        (pl.col("k") / pl.col("n")).alias("rate"),
    )
    hit = hit.with_columns(pl.Series("score", score_from_z(-np.log10(np.maximum(hit["p_value"].to_numpy(), 1e-300)), -np.log10(alpha), 12.0)))
    return emit(
        "VER-101",
        hit,
        params=["verifier_agency_id", "k", "n", "rate_pooled"],
        evidence=["verifier_agency_id", "k", "n", "rate", "rate_eb", "rate_pooled", "p_value", "anomaly_codes", "findings_count"],
        detail_key="verifier_agency_id",
        peers="all verifiers nationally (pooled rate, beta-binomial shrinkage)",
    )


def short_reviews(ver: pl.DataFrame, *, z_flag: float = 3.5, z_sure: float = 7.0) -> list[Finding]:
    """VER-102: a review far shorter than reviews nationally (robust z of log(days + 1), floor 0.2).

    Capped ``medium``: a short review is a process smell, not proof. Stake 5 % of verified emissions.
    """
    v = _verif(ver, None).filter(pl.col("review_days").is_not_null() & (pl.col("review_days") >= 0))
    if v.height < 10:
        return []
    v = v.with_columns((pl.col("review_days") + 1).cast(pl.Float64).log().neg().alias("neg_ld"))
    v = peer_robust_z(v, "neg_ld", [[]], min_peers=1, floor=0.2, out="z")
    v = v.filter(pl.col("z") >= z_flag).with_columns(
        (pl.col("verified_emissions_tco2").fill_null(0.0) * VERIFY_MATERIALITY).alias("stake_t"),
        ((-pl.col("z_center")).exp() - 1).alias("typical_days"),
        pl.lit("medium").alias("cap"),
    )
    if v.height == 0:
        return []
    v = v.with_columns(pl.Series("score", score_from_z(v["z"].to_numpy(), z_flag, z_sure)))
    return emit(
        "VER-102",
        v,
        params=["verifier_agency_id", "review_days", "typical_days"],
        evidence=["verifier_agency_id", "review_days", "typical_days", "z"],
        observed="review_days",
        expected="typical_days",
        peers="all reviews nationally",
    )


def tonne_exact_on_gap(ver: pl.DataFrame, annual: pl.DataFrame | None, um: pl.DataFrame, *, min_gap_t: float = 1000.0, min_gap_rel: float = 0.02) -> list[Finding]:
    """VER-103: accepted, verified = reported to the tonne, yet the monthly deposits disagree.

    Gap = |annual reported − Σ monthly reported emissions| ≥ max(``min_gap_t``, ``min_gap_rel`` ×
    reported) — the Beijing pilot's 1,000 t anchor (DOMAIN.md §4.4). Score 0.85; stake = the gap.
    """
    v = _verif(ver, annual).filter(pl.col("accepted") & pl.col("exact"))
    if v.height == 0 or um.height == 0:
        return []
    ms = um.group_by("enterprise_id", pl.col("year").cast(pl.Int64)).agg(pl.col("emissions_tco2").sum().alias("monthly_sum_tco2"), pl.len().alias("months"))
    v = v.join(ms, on=["enterprise_id", "year"]).with_columns((pl.col("reported_emissions_tco2") - pl.col("monthly_sum_tco2")).abs().alias("stake_t"))
    v = v.filter(pl.col("stake_t") >= pl.max_horizontal(pl.lit(min_gap_t), min_gap_rel * pl.col("reported_emissions_tco2"))).with_columns(pl.lit(0.85).alias("score"))
    return emit(
        "VER-103",
        v,
        params=["verifier_agency_id", "reported_emissions_tco2", "monthly_sum_tco2"],
        evidence=["verifier_agency_id", "verified_emissions_tco2", "reported_emissions_tco2", "monthly_sum_tco2", "months"],
        observed="reported_emissions_tco2",
        expected="monthly_sum_tco2",
    )


def verifier_profile(ver: pl.DataFrame, annual: pl.DataFrame | None, *, z_flag: float = 4.0, min_reviews: int = 5) -> list[Finding]:
    """VER-104: a verifier whose profile is an outlier among verifiers (rubber-stamping signature).

    Features per verifier (≥ ``min_reviews`` reviews): share accepted, share verified = reported
    exactly, mean findings per report (negated), median review days (negated, log) — each oriented so
    that high = lax. Robust z per feature against all verifiers (floors: 0.05 share, 0.25 findings,
    0.2 log-days); the verifier's statistic is its second-largest z (two independent lax signals) and
    PyOD ECOD ranks the profile (evidence). Findings to its accepted clients with zero findings, capped
    ``low`` — a profile alone does not prove a given report wrong.
    """
    from detectors._common import pyod_scores, to_matrix

    v = _verif(ver, annual)
    if v.height == 0:
        return []
    p = v.group_by("verifier_agency_id").agg(
        pl.len().alias("n"),
        pl.col("accepted").mean().alias("share_accepted"),
        pl.col("exact").mean().alias("share_exact"),
        (-pl.col("findings_count").cast(pl.Float64).mean()).alias("neg_findings"),
        (-(pl.col("review_days").cast(pl.Float64).median() + 1).log()).alias("neg_log_days"),
    ).filter(pl.col("n") >= min_reviews)
    if p.height < 8:
        return []
    zs = []
    for c, fl in (("share_accepted", 0.05), ("share_exact", 0.05), ("neg_findings", 0.25), ("neg_log_days", 0.2)):
        p = peer_robust_z(p, c, [[]], min_peers=1, floor=fl, out=f"z_{c}")
        zs.append(f"z_{c}")
    p = p.with_columns(pl.concat_list(zs).list.sort(descending=True).list.get(1).alias("z2"))
    k, x = to_matrix(p, ["verifier_agency_id"], zs)
    p = p.join(k.with_columns(pl.Series("ecod_pct", pyod_scores(np.nan_to_num(x), "ecod"))), on="verifier_agency_id", how="left")
    bad = p.filter(pl.col("z2") >= z_flag)
    if bad.height == 0:
        return []
    hit = v.filter(pl.col("accepted") & (pl.col("findings_count") == 0)).join(bad, on="verifier_agency_id").with_columns(
        (pl.col("verified_emissions_tco2").fill_null(0.0) * VERIFY_MATERIALITY).alias("stake_t"), pl.lit("low").alias("cap")
    )
    hit = hit.with_columns(pl.Series("score", score_from_z(hit["z2"].to_numpy(), z_flag, 2 * z_flag)))
    return emit(
        "VER-104",
        hit,
        params=["verifier_agency_id", "share_accepted", "share_exact"],
        evidence=["verifier_agency_id", "share_accepted", "share_exact", "neg_findings", "neg_log_days", *zs, "ecod_pct"],
        detail_key="verifier_agency_id",
        peers="all verifiers nationally",
    )


def conflict_of_interest(ver: pl.DataFrame, annual: pl.DataFrame | None) -> list[Finding]:
    """VER-105: an agency both preparing and verifying reports in the same province and year.

    Own report prepared and verified by one agency: score 0.95. The agency prepares other enterprises'
    reports in the province while verifying this one: score 0.7, capped ``low`` (a network smell for
    the provincial reviewer; agencies legitimately hold both licences). Stake 5 % of
    verified emissions (the review is void; EU materiality anchor).
    """
    if annual is None or annual.height == 0 or "preparer_agency_id" not in annual.columns:
        return []
    v = _verif(ver, annual)
    prep = annual.filter(pl.col("preparer_agency_id").is_not_null()).select(
        pl.col("preparer_agency_id").alias("verifier_agency_id"), "province_code", pl.col("year").cast(pl.Int64), pl.col("enterprise_id").alias("prepared_for")
    )
    cross = v.join(prep, on=["verifier_agency_id", "province_code", "year"]).group_by([*EKEYS, "verifier_agency_id"]).agg(
        pl.col("prepared_for").unique().sort().alias("prepared_for"),
        (pl.col("prepared_for") == pl.col("enterprise_id")).any().alias("self_review"),
        pl.col("verified_emissions_tco2").first(),
    )
    if cross.height == 0:
        return []
    cross = cross.with_columns(
        pl.when(pl.col("self_review")).then(0.95).otherwise(0.7).alias("score"),
        pl.when(pl.col("self_review")).then(pl.lit("high")).otherwise(pl.lit("low")).alias("cap"),
        (pl.col("verified_emissions_tco2").fill_null(0.0) * VERIFY_MATERIALITY).alias("stake_t"),
        pl.col("prepared_for").list.len().alias("n_prepared"),
    )
    return emit(
        "VER-105",
        cross,
        params=["verifier_agency_id", "province_code", "n_prepared", "self_review"],
        evidence=["verifier_agency_id", "prepared_for", "self_review"],
        detail_key="verifier_agency_id",
        peers="annual reports of the same province and year (preparer agencies)",
    )


def rubber_stamps(ver: pl.DataFrame, annual: pl.DataFrame | None, prior: Sequence[Finding], *, alpha: float = 1e-3, min_k: int = 2) -> list[Finding]:
    """VER-106: a verifier stamping anomalous reports — accepted, verified = reported to the tonne, zero findings.

    A *stamp* is an accepted verification with verified = reported (|Δ| < 0.5 t) and no finding; it is
    *on an anomalous client* when the client carries a ≥ medium finding of another family in this run
    (:func:`client_anomalies`). Honest verifiers do stamp clean reports, and occasionally a report the
    screen finds anomalous later; a verifier doing the latter far more often than its peers —
    :func:`_binomial_outliers` on all its verifications, ``alpha`` 1e-3, at least ``min_k`` such
    stamps — is rubber-stamping (DOMAIN.md §4.4: "verified = reported to the tonne on reports full of
    anomalies", "accepted with zero findings where the data are clearly wrong"). Findings go to those
    clients; score from −log10 p (0.5 at ``alpha``, 1 at 1e-8); stake 5 % of the verified emissions
    (EU materiality: the review is void) or the client's largest anomaly stake, whichever is larger.
    """
    v = _verif(ver, annual)
    if v.height == 0:
        return []
    v = client_anomalies(v, prior).with_columns(
        (pl.col("stamp") & (pl.col("anomalies") > 0)).alias("stamp_on_anomaly")
    )
    bad = _binomial_outliers(v, "stamp_on_anomaly", alpha=alpha, min_ratio=2.0, min_k=min_k)
    if bad.height == 0:
        return []
    hit = v.filter(pl.col("stamp_on_anomaly")).join(bad, on="verifier_agency_id").with_columns(
        pl.max_horizontal(pl.col("verified_emissions_tco2").fill_null(0.0) * VERIFY_MATERIALITY, pl.col("anomaly_stake_t")).alias("stake_t"),
    )
    hit = hit.with_columns(pl.Series("score", score_from_z(-np.log10(np.maximum(hit["p_value"].to_numpy(), 1e-300)), -np.log10(alpha), 8.0)))
    return emit(
        "VER-106",
        hit,
        params=["verifier_agency_id", "k", "n", "anomaly_codes"],
        evidence=["verifier_agency_id", "k", "n", "rate_eb", "rate_pooled", "p_value", "anomaly_codes", "verified_emissions_tco2", "reported_emissions_tco2"],
        detail_key="verifier_agency_id",
        peers="all verifiers nationally (pooled rate of stamps on anomalous clients, beta-binomial shrinkage)",
    )


def accepted_despite_gap(ver: pl.DataFrame, annual: pl.DataFrame | None, *, min_gap_t: float = 1000.0) -> list[Finding]:
    """VER-107: accepted although |verified − reported| > 1,000 t *and* above the EU materiality level.

    Materiality: 5 % of reported emissions, 2 % above 500 kt (EU AVR, DOMAIN.md "Materiality"); the
    1,000 t floor is the Beijing pilot rule (DOMAIN.md §4.4). A correction of that size should lead to
    a qualified conclusion, not a plain acceptance. Score 0.5 at the materiality level, 1.0 at 5× it;
    stake = |verified − reported|.
    """
    v = _verif(ver, annual).filter(pl.col("accepted") & pl.col("reported_emissions_tco2").is_not_null() & (pl.col("reported_emissions_tco2") > 0))
    if v.height == 0:
        return []
    mat = pl.when(pl.col("reported_emissions_tco2") > 500_000).then(0.02).otherwise(VERIFY_MATERIALITY)
    v = v.with_columns(
        (pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2")).abs().alias("stake_t"),
        mat.alias("materiality"),
    ).with_columns((pl.col("stake_t") / pl.col("reported_emissions_tco2")).alias("gap_rel")).filter(
        (pl.col("stake_t") > min_gap_t) & (pl.col("gap_rel") > pl.col("materiality"))
    )
    if v.height == 0:
        return []
    v = v.with_columns((0.5 + 0.5 * (pl.col("gap_rel") / pl.col("materiality") - 1) / 4).clip(0.5, 1.0).alias("score"))
    return emit(
        "VER-107",
        v,
        params=["verifier_agency_id", "verified_emissions_tco2", "reported_emissions_tco2", "gap_rel"],
        evidence=["verifier_agency_id", "verified_emissions_tco2", "reported_emissions_tco2", "gap_rel", "materiality", "findings_count"],
        observed="verified_emissions_tco2",
        expected="reported_emissions_tco2",
        detail_key="verifier_agency_id",
    )


def _binom_z(k: np.ndarray, n: np.ndarray, p0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-sided binomial p-value P(X ≥ k | n, p₀) (mid-p, so a discrete null is not conservative) and its z."""
    from scipy.stats import binom, norm

    p0 = np.clip(p0, 1e-6, 1 - 1e-6)
    pv = binom.sf(k, n, p0) + 0.5 * binom.pmf(k, n, p0)
    pv = np.where(n > 0, pv, 0.5)
    return pv, norm.isf(np.clip(pv, 1e-300, 1.0))


def pooled_evidence(ver: pl.DataFrame, annual: pl.DataFrame | None, prior: Sequence[Finding], *, alpha: float = 1e-3, min_ratio: float = 1.5, prior_strength: float = 10.0) -> list[Finding]:
    """VER-108: per verifier, several weak signals pooled by Stouffer's method (DOMAIN.md §4.4).

    Signals, each a one-sided p-value against all other verifiers, chosen to be independent under the
    null of an honest verifier (the client mix does not depend on how the verifier reviews, and review
    length does not depend on either):

    1. *burden* — ``m`` of its ``n`` verifications are on clients the screen finds anomalous
       (:func:`client_anomalies`), binomial against the leave-one-out pooled rate;
    2. *stamps given the burden* — ``k`` of those ``m`` are stamps (accepted, verified = reported to the
       tonne, zero findings), binomial against the leave-one-out pooled stamp rate on anomalous clients;
    3. *short reviews* — the mean percentile rank ``ū`` of its review lengths among all reviews (low =
       short); ``z = (½ − ū)·√(12n)`` (mean of ``n`` uniforms).

    Binomial tails use mid-p (the exact tail is conservative for the 1–3 events of a small
    portfolio). Stouffer ``Z = Σzᵢ/√3``; flagged when ``Z ≥ Φ⁻¹(1 − alpha)`` (3.09 at 1e-3) *and* the
    empirical-Bayes shrunk rate of stamps on anomalous clients, ``(k + s·p₀)/(m + s)`` with a prior
    worth ``prior_strength`` verifications at the pooled rate (Efron & Morris 1975), is ≥ ``min_ratio`` ×
    ``p₀`` — so a small portfolio must show the stamping itself, not only an unlucky client mix or
    short reviews. Findings go to the flagged verifier's *implicated* clients — anomalous clients it
    stamped or reviewed in a short (below the 5th percentile) review — with the verifier as evidence;
    its clean clients stay quiet. Score from Z (0.5 at the threshold, 1.0 at Z = 6); stake as VER-106.
    """
    from scipy.stats import norm

    v = _verif(ver, annual)
    if v.height < 10:
        return []
    v = client_anomalies(v, prior).with_columns(
        (pl.col("anomalies") > 0).alias("anom"),
        pl.col("review_days").cast(pl.Float64).rank("average").alias("_rk"),
    )
    nr = v["review_days"].is_not_null().sum()
    v = v.with_columns(((pl.col("_rk") - 0.5) / max(nr, 1)).alias("u_days"))
    short_cut = float(v["review_days"].cast(pl.Float64).quantile(0.05) or 0.0)
    g = v.group_by("verifier_agency_id").agg(
        pl.len().alias("n"),
        pl.col("anom").sum().alias("m"),
        (pl.col("anom") & pl.col("stamp")).sum().alias("k"),
        pl.col("u_days").mean().alias("u_mean"),
        pl.col("u_days").count().alias("n_days"),
    ).sort("verifier_agency_id")
    n, m, k = (g[c].to_numpy().astype(float) for c in ("n", "m", "k"))
    p_anom = (m.sum() - m) / np.maximum(n.sum() - n, 1.0)
    p_stamp = (k.sum() - k) / np.maximum(m.sum() - m, 1.0)
    pv1, z1 = _binom_z(m, n, p_anom)
    pv2, z2 = _binom_z(k, m, p_stamp)
    nd = g["n_days"].to_numpy().astype(float)
    z3 = np.where(nd > 0, (0.5 - g["u_mean"].fill_null(0.5).to_numpy()) * np.sqrt(12 * nd), 0.0)
    zs = (z1 + z2 + z3) / np.sqrt(3.0)
    p0 = k.sum() / max(m.sum(), 1.0)
    rate_eb = (k + prior_strength * p0) / (m + prior_strength)
    z_flag = float(norm.isf(alpha))
    g = g.with_columns(
        pl.Series("z_burden", z1), pl.Series("z_stamps", z2), pl.Series("z_short", z3), pl.Series("z_stouffer", zs),
        pl.Series("p_burden", pv1), pl.Series("p_stamps", pv2), pl.Series("rate_eb", rate_eb), pl.lit(p0).alias("rate_pooled"),
    )
    bad = g.filter((pl.col("z_stouffer") >= z_flag) & (pl.col("rate_eb") >= min_ratio * p0) & (pl.col("k") >= 1))
    if bad.height == 0:
        return []
    hit = v.join(bad.drop("n_days"), on="verifier_agency_id").filter(
        pl.col("anom") & (pl.col("stamp") | (pl.col("review_days").cast(pl.Float64) <= short_cut))
    ).with_columns(
        pl.max_horizontal(pl.col("verified_emissions_tco2").fill_null(0.0) * VERIFY_MATERIALITY, pl.col("anomaly_stake_t")).alias("stake_t"),
    )
    if hit.height == 0:
        return []
    hit = hit.with_columns(pl.Series("score", score_from_z(hit["z_stouffer"].to_numpy(), z_flag, 6.0)))
    return emit(
        "VER-108",
        hit,
        params=["verifier_agency_id", "z_stouffer", "n", "anomaly_codes"],
        evidence=["verifier_agency_id", "n", "m", "k", "z_burden", "z_stamps", "z_short", "z_stouffer", "p_burden", "p_stamps",
                  "rate_eb", "rate_pooled", "review_days", "stamp", "anomaly_codes"],
        detail_key="verifier_agency_id",
        peers="all verifiers nationally (leave-one-out pooled rates; Stouffer over burden, stamps | burden, short reviews)",
    )


#: PyOD-contract estimators around the function-style detectors (ARCHITECTURE.md convention 5).
AnomalyBurden = wrap(anomaly_burden, "AnomalyBurden")
ShortReviews = wrap(short_reviews, "ShortReviews")
TonneExactOnGap = wrap(tonne_exact_on_gap, "TonneExactOnGap")
VerifierProfile = wrap(verifier_profile, "VerifierProfile")
ConflictOfInterest = wrap(conflict_of_interest, "ConflictOfInterest")
RubberStamps = wrap(rubber_stamps, "RubberStamps")
AcceptedDespiteGap = wrap(accepted_despite_gap, "AcceptedDespiteGap")
PooledEvidence = wrap(pooled_evidence, "PooledEvidence")


def run(ver: pl.DataFrame | None, annual: pl.DataFrame | None, um: pl.DataFrame, prior: Sequence[Finding]) -> list[Finding]:
    """All verifier detectors; ``prior`` = the other findings of this run (detectors and rules)."""
    if ver is None or ver.height == 0:
        return []
    return [
        *AnomalyBurden().fit(ver, annual, prior).findings(),
        *ShortReviews().fit(ver).findings(),
        *TonneExactOnGap().fit(ver, annual, um).findings(),
        *VerifierProfile().fit(ver, annual).findings(),
        *ConflictOfInterest().fit(ver, annual).findings(),
        *RubberStamps().fit(ver, annual, prior).findings(),
        *AcceptedDespiteGap().fit(ver, annual).findings(),
        *PooledEvidence().fit(ver, annual, prior).findings(),
    ]
