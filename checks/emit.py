"""Failing rows → :class:`~carbonqa.findings.Finding` (one per failing row, all of them), from a rule's spec.

A :class:`~checks.spec.RuleSpec` says, as polars expressions over the failing rows of its frame, what a
finding reports: ``observed`` vs ``expected``, ``tco2_at_stake`` (the spec's ``stake``, computed), the
message ``params`` (rounded in the expression; templates carry no format specs), extra ``evidence`` and
a per-row ``grade``. :data:`KEYS` say which columns identify a finding per key set. Only the final loop
over *failing* rows is Python (it builds the immutable records).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from carbonqa.catalogue import make_finding
from carbonqa.findings import Finding
from checks.params import RegulationParams
from checks.spec import RuleSpec, resolve, resolve_all

__all__ = ["KEYS", "emit"]

_NONE = pl.lit(None, dtype=pl.String())

#: Finding keys by key set: enterprise_id, unit_id, year, period, province_code, detail_key.
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
    "tip": {
        "enterprise_id": pl.col("enterprise_id"), "unit_id": _NONE, "year": pl.col("year"), "period": _NONE,
        "province_code": pl.col("province_code"), "detail_key": pl.col("tip_id").cast(pl.String),
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


def emit(spec: RuleSpec, hits: pl.DataFrame, p: RegulationParams) -> list[Finding]:
    """One finding of ``spec.code`` per row of ``hits`` (already the failing rows).

    Args:
        spec: the rule's spec (its expressions are resolved with ``p``).
        hits: failing rows of the spec's frame (columns the spec and ``KEYS[spec.keys]`` name).
        p: parameters of the reporting year.

    Returns:
        Findings in the order of ``hits``.
    """
    if hits.height == 0:
        return []
    keys = KEYS[spec.keys]
    params = resolve_all(spec.params, p)
    evidence = resolve_all(spec.evidence, p)
    sel = hits.select(
        *[e.alias(f"k_{k}") for k, e in keys.items()],
        resolve(spec.observed, p).alias("_obs"),
        resolve(spec.expected, p).alias("_exp"),
        resolve(spec.stake, p).cast(pl.Float64).fill_null(0.0).fill_nan(0.0).clip(lower_bound=0.0).alias("_stake"),
        *[e.alias(f"p_{k}") for k, e in params.items()],
        *[e.alias(f"e_{k}") for k, e in evidence.items()],
        (resolve(spec.grade, p) if spec.grade is not None else pl.lit(None, dtype=pl.String())).alias("_sev"),
    )
    out: list[Finding] = []
    for row in sel.iter_rows(named=True):
        prm = {k: _plain(row[f"p_{k}"]) for k in params}
        ev = prm | {k: _plain(row[f"e_{k}"]) for k in evidence}
        year = row["k_year"]
        out.append(
            make_finding(
                spec.code,
                enterprise_id=row["k_enterprise_id"],
                unit_id=row["k_unit_id"],
                year=int(year) if year is not None else None,
                period=row["k_period"],
                province_code=row["k_province_code"],
                params=prm,
                observed=_plain(row["_obs"]),
                expected=_plain(row["_exp"]),
                tco2_at_stake=round(float(row["_stake"]), 3),
                evidence=ev,
                detail_key=row["k_detail_key"] or "",
                severity=row["_sev"],
            )
        )
    return out
