"""Anomaly detectors: the plausible fraud that rules cannot see (issue 4; DOMAIN.md §4).

Entry point :func:`run` — ``run(ctx) -> list[Finding]``. Families and codes (catalogue
``_DETECTORS``):

=================  =====================================================================================
accounting         ACC-101 reported conversion efficiency far above peers (low: information alone)
carbon_content     CC-101 peer outlier (NCV-adjusted, one-sided) · CC-102 level shift · CC-103 measured =
                   default · CC-104 measured/default mixed
copied_values      CPY-101 lab tuple repeats · CPY-102 across enterprises · CPY-103 adjacent-month
                   activity substitution · CPY-104 identical runs vs EIA-923 base rates · CPY-105
                   terminal digits · CPY-106 too smooth · CPY-107 NCV series reused from another plant
lab_forensics      LAB-101 reports issued within days · LAB-102 serial vs date · LAB-103 lab throughput
                   · LAB-104 total-moisture inflation · LAB-105 dry-basis moisture consistency
verifier           VER-101 anomaly burden vs peers · VER-102 short reviews · VER-103 verified = reported
                   despite a gap · VER-104 lax profile · VER-105 preparer = verifier in one province ·
                   VER-106 rubber stamps · VER-107 accepted despite a material gap · VER-108 pooled evidence
telemetry          TEL-101 month off own band · TEL-102 level off peers · TEL-103 output without load ·
                   TEL-104 CEMS vs accounting · TEL-105 belt scale and CEMS both above the report ·
                   TEL-106 efficiency above peers and emissions below the CEMS
=================  =====================================================================================

Peers are national: :func:`run` computes on ``ctx.national()`` once (cached in the national context,
so a per-province fan-out does the work once) and returns the findings of ``ctx.provinces``.
Verifier scoring takes the other findings of the run as input — the detectors' own, plus whatever
the caller passes as ``prior`` (e.g. the rules' findings from ``checks.run``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
from threadpoolctl import threadpool_limits

from carbonqa.findings import Finding

__all__ = ["run", "run_frames", "FAMILIES_RUN", "DetectorScreener", "LOCAL", "VERIFIER"]

log = logging.getLogger(__name__)

#: Families this package emits, in the order they run (verifier last: it consumes the others).
FAMILIES_RUN: tuple[str, ...] = ("accounting", "carbon_content", "copied_values", "lab_forensics", "telemetry", "verifier")


def run_frames(
    monthly: pl.DataFrame,
    units: pl.DataFrame,
    lab: pl.DataFrame | None = None,
    annual: pl.DataFrame | None = None,
    verifications: pl.DataFrame | None = None,
    telemetry_monthly: pl.DataFrame | Future[pl.DataFrame | None] | None = None,
    prior: Sequence[Finding] = (),
    families: Sequence[str] | None = None,
) -> list[Finding]:
    """Run the detectors on plain frames (contract columns); the core of :func:`run`.

    Args:
        monthly, units, lab, annual, verifications: current contract tables (``units`` enriched with
            ``province_code``; periodic frames may be enriched too).
        telemetry_monthly: :func:`carbonqa.lake.monthly_telemetry` output, or ``None``, or a future of
            either (still being computed in another thread; awaited just before the telemetry family).
        prior: findings of the same run from elsewhere (rules, or other families' detector findings
            when ``families`` runs only the verifier detectors) for verifier scoring.
        families: subset of :data:`FAMILIES_RUN` to run (``None`` = all).

    Returns:
        Findings of the requested families, unscoped (every province in the frames).

    Raises:
        ValueError: a family name outside :data:`FAMILIES_RUN`.

    BLAS runs single-threaded inside (``threadpoolctl``): the detectors' linear algebra is small —
    Huber's L-BFGS over n × 1 matrices, N × 12 matrix products — and OpenBLAS threads woken for each
    call cost more than they give (seed 303: 6.1 → 4.4 CPU-s, same findings); a dot product's summation
    order then no longer depends on the machine's core count either.
    """
    fam = _check_families(families)
    if monthly.height == 0:
        return []
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_frames(monthly, units, lab, annual, verifications, telemetry_monthly, prior, fam)


def _run_frames(
    monthly: pl.DataFrame,
    units: pl.DataFrame,
    lab: pl.DataFrame | None,
    annual: pl.DataFrame | None,
    verifications: pl.DataFrame | None,
    telemetry_monthly: pl.DataFrame | Future[pl.DataFrame | None] | None,
    prior: Sequence[Finding],
    fam: tuple[str, ...],
) -> list[Finding]:
    """:func:`run_frames` on validated families ``fam`` and a non-empty ``monthly``."""
    from detectors import carbon_content, copied, efficiency, telemetry, verifier
    from detectors import lab as lab_mod
    from detectors.frames import unit_months

    um = unit_months(monthly, lab, units)
    out: list[Finding] = []
    if "accounting" in fam:
        out += efficiency.run(um)
    if "carbon_content" in fam:
        out += carbon_content.run(um)
    if "copied_values" in fam:
        out += copied.run(um, annual)
    if "lab_forensics" in fam:
        out += lab_mod.run(um)
    if isinstance(telemetry_monthly, Future):
        telemetry_monthly = telemetry_monthly.result()
    if "telemetry" in fam:
        out += telemetry.run(um, telemetry_monthly)
    if "verifier" in fam and verifications is not None and verifications.height:
        ent = units.select("enterprise_id", "province_code").unique("enterprise_id")
        ver = verifications
        if "province_code" not in ver.columns:
            ver = ver.join(ent, on="enterprise_id", how="left")
        if annual is not None and "province_code" not in annual.columns:
            annual = annual.join(ent, on="enterprise_id", how="left")
        out += verifier.run(ver, annual, um, [*out, *prior])
    return out


def _check_families(families: Sequence[str] | None) -> tuple[str, ...]:
    """Return the validated family subset (``None`` → all of :data:`FAMILIES_RUN`); ``ValueError`` if unknown."""
    if families is None:
        return FAMILIES_RUN
    fam = tuple(families)
    bad = sorted(set(fam) - set(FAMILIES_RUN))
    if bad:
        raise ValueError(f"unknown detector families {bad}: choose from {list(FAMILIES_RUN)}")
    return fam


def _telemetry(ctx) -> pl.DataFrame | None:  # noqa: ANN001 - ScreenContext
    try:
        return ctx.telemetry_monthly()
    except (ImportError, FileNotFoundError, OSError) as exc:  # lake absent: telemetry detectors skip
        log.warning("telemetry unavailable (%s): telemetry detectors skipped", exc)
        return None


def run(ctx, prior: Sequence[Finding] = (), families: Sequence[str] | None = None) -> list[Finding]:  # noqa: ANN001 - ScreenContext (avoid import cycle in typing)
    """Screen one partition: ``ctx`` is a :class:`carbonqa.screening.ScreenContext`.

    Statistics are national (``ctx.national()``); the result is cached in the national context under
    ``"detectors.findings"`` when no ``prior`` is given and all families run, and filtered to
    ``ctx.provinces`` (a province-scoped ``ctx`` gets only its provinces' findings, computed against
    national peers).

    Args:
        ctx: the screening context (national or province-scoped).
        prior: findings from elsewhere (rules; for ``families=("verifier",)`` also every other
            family's stored findings of the country) — the verifier detectors score against them.
        families: subset of :data:`FAMILIES_RUN` (``None`` = all), e.g. ``("verifier",)`` to run the
            verifier detectors after all provinces' other findings are stored.

    Raises:
        ValueError: unknown family name.
    """
    fam = _check_families(families)
    nat = ctx.national()

    def compute() -> list[Finding]:
        # The lake scan (polars; it releases the GIL) runs in a second thread while this one loads the
        # tables and runs the other families: after the ingest the second core is otherwise idle here
        # (bench/README "speed"). ScreenContext.memo is thread-safe per key.
        with ThreadPoolExecutor(1, thread_name_prefix="carbonqa-lake-scan") as scan:
            tel = scan.submit(_telemetry, nat) if "telemetry" in fam else None
            # verification of year Y happens in Y+1: a screening of Y sees the conclusions of Y−1 and Y
            return run_frames(
                monthly=nat.monthly_reports(),
                units=nat.units(),
                lab=nat.lab_reports(),
                annual=nat.annual_reports(),
                verifications=nat.verifications(),
                telemetry_monthly=tel,
                prior=prior,
                families=fam,
            )

    cacheable = not prior and fam == FAMILIES_RUN
    found = nat.memo("detectors.findings", compute) if cacheable else compute()
    if ctx.provinces is None:
        return list(found)
    keep = set(ctx.provinces)
    return [f for f in found if f.province_code in keep]


@dataclass(frozen=True)
class DetectorScreener:
    """A set of detector families as a :class:`carbonqa.screening.Screener` (:func:`run` with ``families``).

    Attributes:
        families: the families it runs (a subset of :data:`FAMILIES_RUN`; validated on first run).
        name: the package, recorded by the run when the screener is missing.
    """

    families: tuple[str, ...]
    name: str = "detectors"

    def run(self, ctx, prior: Sequence[Finding] = ()) -> list[Finding]:  # noqa: ANN001 - ScreenContext
        """:func:`run` of :attr:`families` on ``ctx`` with ``prior``."""
        return run(ctx, prior=prior, families=self.families)

    def warm(self) -> None:
        """Import the detector modules and scikit-learn, SciPy and PyOD (seconds) ahead of the first run.

        Of PyOD only ECOD, the estimator the families fit (:func:`detectors._common.pyod_scores` is called
        with ``"ecod"``): COPOD, HBOS and IForest, imported on demand, would add ≈ 0.35 CPU-s (IForest
        pulls in ``sklearn.ensemble``).
        """
        import pyod.models.ecod  # noqa: F401
        import scipy.stats  # noqa: F401
        import sklearn.linear_model  # noqa: F401

        from detectors import carbon_content, copied, efficiency, frames, lab, telemetry, verifier  # noqa: F401


#: Every family scored against national peers without other findings — run once per year.
LOCAL = DetectorScreener(tuple(f for f in FAMILIES_RUN if f != "verifier"))
#: The verifier detectors: they pool every other finding of the year per verifier — run last.
VERIFIER = DetectorScreener(("verifier",))
