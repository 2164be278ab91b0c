"""Failing rows → :class:`~carbonqa.findings.Finding` (one per failing row, all of them).

A :class:`Spec` says, as polars expressions over the failing rows of a derived frame, what a finding
of one code reports: ``observed`` vs ``expected``, ``tco2_at_stake`` (the rule's ``stake`` of the
catalogue, computed), the message ``params`` (rounded in the expression; templates carry no format
specs) and extra ``evidence``. :data:`KEYS` say which columns identify a finding per frame kind.
Only the final loop over *failing* rows is Python (it builds the immutable records).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from carbonqa.catalogue import make_finding
from carbonqa.findings import Finding

__all__ = ["Spec", "KEYS", "emit"]


@dataclass(frozen=True)
class Spec:
    """How one rule code turns a failing row into a finding (expressions over the hit frame)."""

    observed: pl.Expr
    expected: pl.Expr
    stake: pl.Expr
    params: dict[str, pl.Expr]
    evidence: dict[str, pl.Expr] = field(default_factory=dict)
    #: per-row severity (a catalogue severity string) when the rule grades its findings, e.g. an
    #: isolated occurrence ``low`` and a pattern ``medium``; ``None`` = the catalogue's severity.
    severity: pl.Expr | None = None


_NONE = pl.lit(None, dtype=pl.String())

#: Finding keys by frame kind: enterprise_id, unit_id, year, period, province_code, detail_key.
KEYS: dict[str, dict[str, pl.Expr]] = {
    "monthly": {
        "enterprise_id": pl.col("enterprise_id"), "unit_id": pl.col("unit_id"), "year": pl.col("year"),
        "period": pl.col("period"), "province_code": pl.col("province_code"), "detail_key": pl.lit(""),
    },
    "lab": {
        "enterprise_id": pl.col("enterprise_id"), "unit_id": pl.col("unit_id"), "year": pl.col("year"),
        "period": pl.col("sample_period"), "province_code": pl.col("province_code"),
        "detail_key": pl.col("lab_report_id"),
    },
    "verification": {
        "enterprise_id": pl.col("enterprise_id"), "unit_id": _NONE, "year": pl.col("year"), "period": _NONE,
        "province_code": pl.col("province_code"), "detail_key": pl.col("verification_id"),
    },
    "unit_year": {
        "enterprise_id": pl.col("enterprise_id"), "unit_id": pl.col("unit_id"), "year": pl.col("year"),
        "period": _NONE, "province_code": pl.col("province_code"), "detail_key": pl.lit(""),
    },
    "enterprise_year": {
        "enterprise_id": pl.col("enterprise_id"), "unit_id": _NONE, "year": pl.col("year"), "period": _NONE,
        "province_code": pl.col("province_code"), "detail_key": pl.lit(""),
    },
}


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ", timespec="minutes")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v != v:  # NaN
        return None
    return v


def emit(code: str, hits: pl.DataFrame, spec: Spec, kind: str) -> list[Finding]:
    """One finding of ``code`` per row of ``hits`` (already the failing rows).

    Args:
        code: catalogue code.
        hits: failing rows of a derived frame (columns the spec and ``KEYS[kind]`` name).
        spec: the code's :class:`Spec`.
        kind: key set of :data:`KEYS`.

    Returns:
        Findings in the order of ``hits``.
    """
    if hits.height == 0:
        return []
    keys = KEYS[kind]
    sel = hits.select(
        *[e.alias(f"k_{k}") for k, e in keys.items()],
        spec.observed.alias("_obs"),
        spec.expected.alias("_exp"),
        spec.stake.cast(pl.Float64).fill_null(0.0).fill_nan(0.0).clip(lower_bound=0.0).alias("_stake"),
        *[e.alias(f"p_{k}") for k, e in spec.params.items()],
        *[e.alias(f"e_{k}") for k, e in spec.evidence.items()],
        (spec.severity if spec.severity is not None else pl.lit(None, dtype=pl.String())).alias("_sev"),
    )
    out: list[Finding] = []
    for row in sel.iter_rows(named=True):
        params = {k: _plain(row[f"p_{k}"]) for k in spec.params}
        evidence = params | {k: _plain(row[f"e_{k}"]) for k in spec.evidence}
        year = row["k_year"]
        out.append(
            make_finding(
                code,
                enterprise_id=row["k_enterprise_id"],
                unit_id=row["k_unit_id"],
                year=int(year) if year is not None else None,
                period=row["k_period"],
                province_code=row["k_province_code"],
                params=params,
                observed=_plain(row["_obs"]),
                expected=_plain(row["_exp"]),
                tco2_at_stake=round(float(row["_stake"]), 3),
                evidence=evidence,
                detail_key=row["k_detail_key"] or "",
                severity=row["_sev"],
            )
        )
    return out
