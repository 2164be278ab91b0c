"""The ``TIP-001`` rule: complaints and tip-offs (投诉举报线索) naming an enterprise become findings.

A rule, so it belongs with the rule catalogue (``checks/``) conceptually; it lives here for now, beside
the opening policy that gives complaints their weight (:data:`carbonqa.cases.policy.CASE_POLICY`
``tip_opens_with``). Called by :mod:`carbonqa.pipeline` and ``bench/case_policy.py``.
"""

from __future__ import annotations

import polars as pl

from carbonqa import catalogue
from carbonqa.findings import Finding

__all__ = ["tip_findings"]


def tip_findings(tips: pl.DataFrame, year: int) -> list[Finding]:
    """``TIP-001`` findings: one per complaint naming an enterprise, attached to its ``year`` case.

    A complaint received in year ``Y`` or ``Y + 1`` concerns the data of reporting year ``Y`` (annual
    reports for ``Y`` are filed and verified during ``Y + 1``), so it attaches to the ``Y`` case.

    Args:
        tips: current ``tips`` rows (contract columns, optionally ``province_code``).
        year: reporting year screened.
    """
    if tips.is_empty():
        return []
    df = tips.filter(pl.col("enterprise_id").is_not_null())
    if "received_date" in df.columns:
        df = df.filter(
            pl.col("received_date").dt.year().is_in([year, year + 1]) | pl.col("received_date").is_null()
        )
    out = []
    for r in df.sort("tip_id").iter_rows(named=True):
        out.append(
            catalogue.make_finding(
                "TIP-001",
                enterprise_id=r["enterprise_id"],
                year=year,
                province_code=r.get("province_code"),
                params={
                    "received_date": r.get("received_date") or "",
                    "channel": r.get("channel") or "",
                    "category": r.get("category") or "",
                    "summary": r.get("summary") or "",
                },
                observed=r.get("category"),
                evidence={"tip_id": r["tip_id"], "channel": r.get("channel")},
                detail_key=str(r["tip_id"]),
            )
        )
    return out
