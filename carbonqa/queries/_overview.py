"""Overview page (总览): cases and tCO₂ at stake by province, city, family, status; trend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import OPEN_STATUSES, _case_scope, _conn, _finding_scope, province_label
from carbonqa.queries._runs import _run_records, run_summary
from carbonqa.store.models import (
    Case,
    CaseEvent,
    FindingRow,
    ScreeningRun,
)


# ---- overview ---------------------------------------------------------------------------------------
@dataclass
class Overview:
    """Aggregates of the cases in one jurisdiction.

    Attributes:
        totals: ``cases``, ``open_cases``, ``tco2_at_stake`` (tCO₂), ``open_tco2_at_stake``, ``confirmed``,
            ``dismissed``, ``provinces``.
        by_province: ``province_code, province_zh, province_en, cases, open_cases, tco2_at_stake,
            confirmed`` sorted by tCO₂ at stake, descending.
        by_family: ``family, cases, tco2_at_stake`` (a case counts once in each of its families).
        by_city: ``province_code, city_name, cases, open_cases, tco2_at_stake, confirmed`` (city may be
            null), sorted by tCO₂ at stake, descending.
        by_status: ``status, cases, tco2_at_stake`` in workflow order.
        trend: one row per night (date): ``night, new_cases, new_findings, new_tco2_at_stake``.
        latest_run: the newest screening run as a dict (``stage_seconds`` and ``counts`` as dicts, and
            ``summary``: :func:`run_summary` of its counts) or ``None``; for a provincial or municipal
            reader its counts are cut to their jurisdiction and its error text withheld (see :func:`runs`).
    """

    totals: dict[str, float]
    by_province: pl.DataFrame
    by_family: pl.DataFrame
    by_status: pl.DataFrame
    trend: pl.DataFrame
    latest_run: dict[str, Any] | None
    by_city: pl.DataFrame = field(default_factory=pl.DataFrame)


def overview(scope: Scope, url: str | None = None, *, nights: int = 30, year: int | None = None) -> Overview:
    """Cases and tCO₂ at stake in ``scope`` by province, family and status; trend over the last ``nights``.

    ``year`` restricts every block (totals, breakdowns, trend) to the cases and findings of one reporting
    year, as the queue shows one year at a time; ``None`` counts every year.
    """
    case_year = [Case.year == int(year)] if year else []
    with _conn(url) as conn:
        rows = conn.execute(
            sa.select(Case.province_code, Case.status, Case.families, Case.tco2_at_stake, Case.city_name)
            .where(_case_scope(scope), *case_year)
        ).fetchall()
        created = conn.execute(
            sa.select(CaseEvent.at, Case.tco2_at_stake)
            .join(Case, Case.case_id == CaseEvent.case_id)
            .where(_case_scope(scope), CaseEvent.action == "created", *case_year)
        ).fetchall()
        fstmt = _finding_scope(
            sa.select(ScreeningRun.started_at, sa.func.count(FindingRow.finding_id).label("n"))
            .join(ScreeningRun, ScreeningRun.run_id == FindingRow.first_run_id)
            .where(*([FindingRow.year == int(year)] if year else []))
            .group_by(ScreeningRun.started_at),
            scope,
        )
        new_findings = conn.execute(fstmt).fetchall()
    cases = pl.DataFrame(
        {
            "province_code": [r[0] for r in rows],
            "status": [r[1] for r in rows],
            "families": [r[2] or "" for r in rows],
            "tco2_at_stake": [float(r[3] or 0.0) for r in rows],
            "city_name": [r[4] for r in rows],
        },
        schema={"province_code": pl.String, "status": pl.String, "families": pl.String, "tco2_at_stake": pl.Float64,
                "city_name": pl.String},
    ).with_columns(is_open=pl.col("status").is_in(OPEN_STATUSES))

    by_province = (
        cases.group_by("province_code")
        .agg(
            cases=pl.len(),
            open_cases=pl.col("is_open").sum(),
            tco2_at_stake=pl.col("tco2_at_stake").sum(),
            confirmed=(pl.col("status") == "confirmed").sum(),
        )
        .with_columns(
            province_zh=pl.col("province_code").map_elements(lambda c: province_label(c, "zh"), return_dtype=pl.String),
            province_en=pl.col("province_code").map_elements(lambda c: province_label(c, "en"), return_dtype=pl.String),
        )
        .sort(["tco2_at_stake", "province_code"], descending=[True, False])
        .select("province_code", "province_zh", "province_en", "cases", "open_cases", "tco2_at_stake", "confirmed")
    )
    by_city = (
        cases.group_by("province_code", "city_name")
        .agg(
            cases=pl.len(),
            open_cases=pl.col("is_open").sum(),
            tco2_at_stake=pl.col("tco2_at_stake").sum(),
            confirmed=(pl.col("status") == "confirmed").sum(),
        )
        .sort(["tco2_at_stake", "province_code", "city_name"], descending=[True, False, False], nulls_last=True)
    )
    by_family = (
        cases.with_columns(family=pl.col("families").str.split("|"))
        .explode("family")
        .filter(pl.col("family") != "")
        .group_by("family")
        .agg(cases=pl.len(), tco2_at_stake=pl.col("tco2_at_stake").sum())
        .sort(["tco2_at_stake", "family"], descending=[True, False])
    )
    order = {s: i for i, s in enumerate(contract.CASE_STATUSES)}
    by_status = (
        cases.group_by("status")
        .agg(cases=pl.len(), tco2_at_stake=pl.col("tco2_at_stake").sum())
        .with_columns(_o=pl.col("status").replace_strict(order, default=99, return_dtype=pl.Int64))
        .sort("_o")
        .drop("_o")
    )
    c_frame = pl.DataFrame(
        {"night": [r[0].date() for r in created], "tco2": [float(r[1] or 0.0) for r in created]},
        schema={"night": pl.Date, "tco2": pl.Float64},
    ).group_by("night").agg(new_cases=pl.len(), new_tco2_at_stake=pl.col("tco2").sum())
    f_frame = (
        pl.DataFrame(
            {"night": [r[0].date() for r in new_findings], "new_findings": [int(r[1]) for r in new_findings]},
            schema={"night": pl.Date, "new_findings": pl.Int64},
        )
        .group_by("night")
        .agg(pl.col("new_findings").sum())
    )
    trend = (
        c_frame.join(f_frame, on="night", how="full", coalesce=True)
        .with_columns(
            pl.col("new_cases").fill_null(0).cast(pl.Int64),
            pl.col("new_findings").fill_null(0).cast(pl.Int64),
            pl.col("new_tco2_at_stake").fill_null(0.0),
        )
        .sort("night")
        .tail(nights)
        .select("night", "new_cases", "new_findings", "new_tco2_at_stake")
    )
    totals = {
        "cases": cases.height,
        "open_cases": int(cases["is_open"].sum()),
        "tco2_at_stake": float(cases["tco2_at_stake"].sum()),
        "open_tco2_at_stake": float(cases.filter(pl.col("is_open"))["tco2_at_stake"].sum()),
        "confirmed": int((cases["status"] == "confirmed").sum()),
        "dismissed": int((cases["status"] == "dismissed").sum()),
        "provinces": by_province.height,
    }
    latest = _run_records(url, 1, scope)  # the run's counts cut to the reader's jurisdiction
    if latest:
        latest[0]["summary"] = run_summary(latest[0]["counts"])
    return Overview(
        totals=totals,
        by_province=by_province,
        by_family=by_family,
        by_city=by_city,
        by_status=by_status,
        trend=trend,
        latest_run=latest[0] if latest else None,
    )
