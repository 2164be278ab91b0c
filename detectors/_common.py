r"""Shared machinery of the anomaly detectors: robust statistics, the numpy boundary, grading, findings.

Every detector in this package keeps the PyOD / scikit-learn estimator contract (ARCHITECTURE.md
convention 5, anchor ``pyod/models/base.py``): parameters only in ``__init__``; ``fit(frame)`` sets the
fitted state, whose names end in ``_`` — ``keys_`` (a polars frame of the scored entities, row-aligned
with the score vector), ``decision_scores_`` (higher = more anomalous), ``threshold_`` and ``labels_``
(1 = flagged) — and returns ``self``. ``findings()`` turns the fitted state into
:class:`~carbonqa.findings.Finding`\\ s.

Polars does the work; the one numpy boundary is :func:`to_matrix`, which returns the key frame
together with the matrix so keys always travel with the rows.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from carbonqa.catalogue import make_finding
from carbonqa.contract import CO2_PER_C
from carbonqa.findings import Finding
from carbonqa.regulation import IPCC_DEFAULT_CC as regulation_ipcc_cc
from carbonqa.regulation import mrv_defaults

__all__ = [
    "MAD_TO_SIGMA",
    "DEFAULT_OXIDATION",
    "default_cc",
    "IPCC_DEFAULT_CC",
    "to_matrix",
    "robust_center_scale",
    "peer_robust_z",
    "score_from_z",
    "grade",
    "emit",
    "pyod_scores",
    "tco2",
    "period_month",
    "FrameDetector",
    "FindingsDetector",
    "wrap",
    "modal_decimals",
    "diff_sigma",
    "step_se",
]

#: Consistency constant of the MAD for a normal distribution, 1/Φ⁻¹(3/4) (Rousseeuw & Croux 1993).
MAD_TO_SIGMA = 1.4826

#: Default carbon oxidation rate of coal when a report leaves it empty (:mod:`carbonqa.regulation`; the
#: same in every revision of the guideline so far).
DEFAULT_OXIDATION = mrv_defaults(2022).oxidation_rate_default

#: IPCC 2006 GL vol. 2 table 1.3 default carbon contents (tC/GJ) by coal rank (:mod:`carbonqa.regulation`).
IPCC_DEFAULT_CC: dict[str, float] = dict(regulation_ipcc_cc)


def default_cc(year: int) -> float:
    """Chinese default carbon content for unmeasured coal, tC/GJ, in force in reporting ``year``.

    Read from the regulation table (:func:`carbonqa.regulation.mrv_defaults`: 0.03085 from the 2022
    revision of the power-sector guideline, 0.03356 before; DOMAIN.md §3, marked **[verify]** there).
    """
    return mrv_defaults(year).default_cc_tc_per_gj


def tco2(heat_gj: Any, cc_gap_tc_per_gj: Any, oxidation: Any = DEFAULT_OXIDATION) -> Any:
    """Tonnes CO₂ of a carbon-content gap: ``heat × ΔCC × OF × 44/12`` (DOMAIN.md §3 identity).

    Works on floats, numpy arrays and polars expressions alike.
    """
    return heat_gj * cc_gap_tc_per_gj * oxidation * CO2_PER_C


def period_month(col: str = "period") -> pl.Expr:
    """Month number 1–12 of a ``YYYY-MM`` period column (polars expression)."""
    return pl.col(col).str.slice(5, 2).cast(pl.Int32, strict=False)


def modal_decimals(s: pl.Series, max_decimals: int = 7) -> int:
    """Modal number of decimals (0–``max_decimals``) needed to write the values of ``s`` exactly (1e-9)."""
    v = s.drop_nulls().cast(pl.Float64).to_numpy()
    if v.size == 0:
        return 0
    need = np.full(v.size, max_decimals)
    for d in range(max_decimals, -1, -1):
        ok = np.abs(np.round(v * 10**d) - v * 10**d) < 1e-6 * max(1.0, 10 ** (d - 4))
        need[ok] = d
    return int(np.bincount(need).argmax())


def to_matrix(df: pl.DataFrame, keys: Sequence[str], features: Sequence[str]) -> tuple[pl.DataFrame, np.ndarray]:
    """Cross the one polars → numpy boundary: ``(key frame, X)`` with ``X.shape == (df.height, len(features))``.

    Rows with a null or non-finite feature are dropped from both outputs together, so row ``i`` of
    ``X`` is always row ``i`` of the key frame. ``X`` is float64.
    """
    ok = pl.all_horizontal([pl.col(f).is_not_null() & pl.col(f).cast(pl.Float64).is_finite() for f in features])
    clean = df.filter(ok) if features else df
    x = clean.select([pl.col(f).cast(pl.Float64) for f in features]).to_numpy() if features else np.empty((clean.height, 0))
    return clean.select(keys), np.asarray(x, dtype=np.float64)


def diff_sigma(values: pl.Expr) -> pl.Expr:
    """Month-to-month robust σ of a series: median |Δ| × 1.4826 / √2 (aggregation expression; apply ``.over``).

    Robust to one level shift (a step moves a single difference), unlike the MAD about the median;
    the √2 converts the spread of differences of two independent draws back to one draw's.
    """
    return values.diff().abs().median() * MAD_TO_SIGMA / np.sqrt(2)


def step_se(n_a: pl.Expr | float, n_b: pl.Expr | float) -> pl.Expr:
    """Standard error, in units of one month's σ, of the difference of two segment *medians* of sizes ``n_a``, ``n_b``.

    ``1.25 × √(1/n_a + 1/n_b)``: 1.25 ≈ √(π/2), the large-sample efficiency loss of a median against a
    mean under normal noise. Divide a step between segment medians by ``σ × step_se`` for its t (CC-101's
    coal switch, CC-102, the telemetry runs).
    """
    return (pl.lit(1.0) / n_a + pl.lit(1.0) / n_b).sqrt() * 1.25


def robust_center_scale(values: pl.Expr, floor: pl.Expr | float) -> tuple[pl.Expr, pl.Expr]:
    """(median, max(1.4826 × MAD, floor)) of ``values`` as aggregation expressions."""
    med = values.median()
    mad = (values - med).abs().median() * MAD_TO_SIGMA
    floor_e = floor if isinstance(floor, pl.Expr) else pl.lit(float(floor))
    return med, pl.max_horizontal(mad, floor_e)


def peer_robust_z(
    df: pl.DataFrame,
    value: str,
    groups: Sequence[Sequence[str]],
    *,
    min_peers: int,
    floor: float,
    out: str = "z",
) -> pl.DataFrame:
    """Robust z of ``value`` against the first peer grouping with at least ``min_peers`` members.

    ``groups`` lists peer groupings from the most specific to the broadest (the last one should be
    always big enough, e.g. ``[["coal_type", "province_code"], ["coal_type"], []]``); each row takes
    the centre and scale of the first of its groups holding ``min_peers`` non-null values. The row
    itself is part of its peer group (a leave-one-out variant changes little at ``min_peers ≥ 15``).

    Adds ``{out}`` (z), ``{out}_center``, ``{out}_scale``, ``{out}_n`` and ``{out}_peers`` (the grouping
    used, as text). Scale = max(1.4826 × MAD, ``floor``).
    """
    res = df.with_columns(
        pl.lit(None, pl.Float64).alias(f"{out}_center"),
        pl.lit(None, pl.Float64).alias(f"{out}_scale"),
        pl.lit(None, pl.Int64).alias(f"{out}_n"),
        pl.lit(None, pl.String).alias(f"{out}_peers"),
    )
    v = pl.col(value)
    for g in groups:
        g = list(g)
        med, scale = robust_center_scale(v, floor)
        stats = [med.alias("_c"), scale.alias("_s"), v.count().cast(pl.Int64).alias("_n")]
        if g:
            agg = res.group_by(g).agg(stats)
            res = res.join(agg, on=g, how="left", nulls_equal=True)
        else:
            agg = res.select(stats)
            res = res.with_columns([pl.lit(agg[c][0]).alias(c) for c in ("_c", "_s", "_n")])
        take = pl.col(f"{out}_center").is_null() & (pl.col("_n") >= min_peers)
        label = "+".join(g) if g else "national"
        res = res.with_columns(
            pl.when(take).then(pl.col("_c")).otherwise(pl.col(f"{out}_center")).alias(f"{out}_center"),
            pl.when(take).then(pl.col("_s")).otherwise(pl.col(f"{out}_scale")).alias(f"{out}_scale"),
            pl.when(take).then(pl.col("_n")).otherwise(pl.col(f"{out}_n")).alias(f"{out}_n"),
            pl.when(take).then(pl.lit(label)).otherwise(pl.col(f"{out}_peers")).alias(f"{out}_peers"),
        ).drop("_c", "_s", "_n")
    return res.with_columns(((v - pl.col(f"{out}_center")) / pl.col(f"{out}_scale")).alias(out))


def score_from_z(z: Any, z_flag: float, z_sure: float) -> Any:
    """Map a one-sided robust z onto a confidence in [0, 1]: 0.5 at ``z_flag``, 1.0 at ``z_sure``.

    Linear in between and clipped — a readable, monotone calibration; works on numpy arrays and floats.
    """
    s = 0.5 + 0.5 * (np.asarray(z, dtype=float) - z_flag) / max(z_sure - z_flag, 1e-9)
    return np.clip(s, 0.0, 1.0)


#: Materiality anchor for ``high``: the Beijing pilot's 1,000 t rule (DOMAIN.md §4.4 and "Materiality").
HIGH_STAKE_T = 1000.0


def grade(score: float, stake_t: float, *, cap: str = "high", high_score: float = 0.8) -> str:
    """Severity from confidence and materiality.

    ``high`` needs confidence ≥ ``high_score`` *and* at least 1,000 tCO₂ at stake (Beijing pilot rule,
    DOMAIN.md "Materiality"); ``medium`` needs confidence ≥ 0.5; else ``low``. ``cap`` limits the
    result (e.g. ``"low"`` for fuels that legitimately repeat a fixed annual value).
    """
    ladder = ("low", "medium", "high")
    if score >= high_score and stake_t >= HIGH_STAKE_T:
        sev = "high"
    elif score >= 0.5:
        sev = "medium"
    else:
        sev = "low"
    return ladder[min(ladder.index(sev), ladder.index(cap))]


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if hasattr(v, "item"):
        return _plain(v.item())
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def emit(
    code: str,
    rows: pl.DataFrame | Iterable[dict[str, Any]],
    *,
    params: Sequence[str],
    evidence: Sequence[str],
    observed: str | None = None,
    expected: str | None = None,
    detail_key: str | None = None,
    peers: str | None = None,
    cap: str | None = None,
) -> list[Finding]:
    """Turn scored rows into findings of catalogue entry ``code``.

    Each row needs ``enterprise_id``, ``score`` (0–1), ``stake_t`` (tCO₂) and may carry ``unit_id``,
    ``year``, ``period``, ``province_code``, ``severity`` (else :func:`grade`), ``cap``; ``params``
    name the columns filling the message template, ``evidence`` the columns copied into the evidence
    (with ``peers``, a text naming the peer group). A Python loop over *findings* (not data rows).
    """
    out: list[Finding] = []
    it = rows.iter_rows(named=True) if isinstance(rows, pl.DataFrame) else rows
    for r in it:
        score = float(r["score"])
        stake = float(r.get("stake_t") or 0.0)
        if not math.isfinite(stake):
            stake = 0.0
        sev = r.get("severity") or grade(score, stake, cap=r.get("cap") or cap or "high")
        ev = {k: _plain(r.get(k)) for k in evidence}
        if peers:
            ev["peer_group"] = peers
        p = {k: _fmt(r.get(k)) for k in params}
        out.append(
            make_finding(
                code,
                enterprise_id=r.get("enterprise_id"),
                unit_id=r.get("unit_id"),
                year=r.get("year"),
                period=r.get("period"),
                province_code=r.get("province_code"),
                params=p,
                observed=_plain(r.get(observed)) if observed else None,
                expected=_plain(r.get(expected)) if expected else None,
                score=score,
                tco2_at_stake=stake,
                evidence=ev,
                detail_key=str(r.get(detail_key) or "") if detail_key else "",
                severity=sev,
            )
        )
    return out


def _fmt(v: Any) -> Any:
    """Message-friendly value: floats to 4 significant digits, lists joined."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, list | tuple):
        return ", ".join(str(_fmt(x)) for x in v)
    return "—" if v is None else v


def pyod_scores(x: np.ndarray, method: str = "ecod", *, random_state: int = 0) -> np.ndarray:
    """Outlier scores of the rows of ``x`` (n × d) by a PyOD estimator, as percentile ranks in [0, 1].

    ``method``: ``ecod`` (Li et al. 2022, parameter-free), ``copod``, ``hbos`` or ``iforest`` (Liu et al.
    2008). PyOD is imported lazily (≈ 4.6 s with numba, STACK.md). Fewer than 10 rows → zeros.
    Raises ``ValueError`` for an unknown method.
    """
    n = x.shape[0]
    if n < 10:
        return np.zeros(n)
    if method == "ecod":
        from pyod.models.ecod import ECOD

        est = ECOD()
    elif method == "copod":
        from pyod.models.copod import COPOD

        est = COPOD()
    elif method == "hbos":
        from pyod.models.hbos import HBOS

        est = HBOS()
    elif method == "iforest":
        from pyod.models.iforest import IForest

        est = IForest(n_estimators=200, random_state=random_state)
    else:
        raise ValueError(f"unknown PyOD method {method!r}; use ecod, copod, hbos or iforest")
    est.fit(x)
    s = np.asarray(est.decision_scores_, dtype=float)
    order = s.argsort(kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n)
    return ranks / max(n - 1, 1)


class FrameDetector(abc.ABC):
    """Base of the detectors: the PyOD estimator contract on polars frames.

    Subclasses take their parameters in ``__init__`` (stored unchanged, as scikit-learn asks),
    implement ``_fit(frame) -> pl.DataFrame`` returning one row per scored entity with a ``score_raw``
    column (higher = more anomalous) and key columns, and ``findings()``. :meth:`fit` then sets
    ``keys_`` (the scored frame), ``decision_scores_`` (``n`` floats), ``threshold_`` and ``labels_``
    (``n`` ints, 1 = anomalous, i.e. ``decision_scores_ >= threshold_``).
    """

    @abc.abstractmethod
    def _threshold(self) -> float:
        """Decision threshold on ``score_raw`` (subclasses set it from their parameters)."""

    def _fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Score ``frame``: one row per entity with key columns and ``score_raw``.

        Frame-scoring subclasses implement it; :class:`FindingsDetector` overrides :meth:`fit` instead.
        Raises ``TypeError`` when a subclass does neither.
        """
        raise TypeError(f"{type(self).__name__} must implement _fit(frame) or override fit()")

    def fit(self, frame: pl.DataFrame, y: Any = None) -> FrameDetector:  # noqa: ARG002 - sklearn signature
        """Fit on ``frame`` (unsupervised; ``y`` is ignored, as in PyOD). Returns ``self``."""
        scored = self._fit(frame)
        self.keys_ = scored
        self.decision_scores_ = scored["score_raw"].fill_null(-np.inf).to_numpy().astype(float) if scored.height else np.zeros(0)
        self.threshold_ = float(self._threshold())
        self.labels_ = (self.decision_scores_ >= self.threshold_).astype(int)
        return self

    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002 - sklearn signature
        """Return the constructor parameters (scikit-learn convention)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def flagged(self) -> pl.DataFrame:
        """Rows of ``keys_`` with ``labels_ == 1``; raises ``RuntimeError`` before :meth:`fit`."""
        if not hasattr(self, "keys_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(frame) first")
        if self.keys_.height == 0:
            return self.keys_
        return self.keys_.filter(pl.Series(self.labels_ == 1))


class FindingsDetector(FrameDetector):
    """PyOD-contract wrapper of a function-style detector ``fn(frame, *inputs, **params) -> list[Finding]``.

    Subclasses are made by :func:`wrap`: the keyword-only parameters of ``fn`` (with their defaults)
    become the constructor parameters, stored unchanged as attributes (scikit-learn ``get_params``).
    ``fit(frame, *inputs)`` runs ``fn`` and crosses the polars → numpy boundary once: ``keys_`` is a
    polars frame (``enterprise_id``, ``unit_id``, ``year``, ``period``, ``rule_code``, ``detail_key``,
    ``severity``) row-aligned with ``decision_scores_`` (the findings' confidence, 0–1, higher = more
    anomalous); ``threshold_`` = 0.5 (the ``medium`` floor of :func:`grade`) and ``labels_`` =
    ``decision_scores_ >= threshold_``. ``findings()`` returns the findings of the last fit.
    """

    _fn: Any = None
    _params: tuple[str, ...] = ()

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self._params))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown parameter(s) {unknown}; known: {list(self._params)}")
        defaults = type(self)._defaults
        for k in self._params:
            setattr(self, k, params.get(k, defaults[k]))

    def _threshold(self) -> float:
        return 0.5

    def fit(self, frame: Any, *inputs: Any, y: Any = None) -> FindingsDetector:  # noqa: ARG002 - sklearn signature
        """Run the wrapped function on ``frame`` (and the extra ``inputs`` it needs); returns ``self``."""
        fs = type(self)._fn(frame, *inputs, **self.get_params())
        self.findings_ = fs
        self.keys_ = pl.DataFrame(
            [(f.enterprise_id, f.unit_id, f.year, f.period, f.rule_code, f.detail_key, f.severity, float(f.score)) for f in fs],
            schema={"enterprise_id": pl.String, "unit_id": pl.String, "year": pl.Int64, "period": pl.String, "rule_code": pl.String,
                    "detail_key": pl.String, "severity": pl.String, "score_raw": pl.Float64},
            orient="row",
        )
        self.decision_scores_ = self.keys_["score_raw"].to_numpy().astype(float)
        self.threshold_ = self._threshold()
        self.labels_ = (self.decision_scores_ >= self.threshold_).astype(int)
        return self

    def findings(self) -> list[Finding]:
        """The findings of the last :meth:`fit`; raises ``RuntimeError`` before it."""
        if not hasattr(self, "findings_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(frame) first")
        return list(self.findings_)


def wrap(fn: Any, name: str) -> type[FindingsDetector]:
    """Make a :class:`FindingsDetector` subclass called ``name`` around function-style detector ``fn``.

    The class docstring is ``fn``'s; its parameters are ``fn``'s keyword-only arguments.
    """
    import inspect

    sig = inspect.signature(fn)
    kw = {p.name: p.default for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return type(name, (FindingsDetector,), {"_fn": staticmethod(fn), "_params": tuple(kw), "_defaults": kw, "__doc__": fn.__doc__, "__module__": fn.__module__})
