"""Map page (案件地图): open cases and what is at stake per province and per city, scoped to the reader."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import OPEN_STATUSES, _case_scope, _conn, province_label
from carbonqa.regulation import allowance_price
from carbonqa.store.models import Case


@dataclass
class CaseMap:
    """Open cases of one jurisdiction by province and by city (for a map with drill-down).

    Stakes are signed and never netted: ``tco2_at_stake`` / ``cny_at_stake`` add the cases whose stake is
    an under-report (≥ 0), ``tco2_over_reported`` / ``cny_over_reported`` the over-reports (≤ 0, a typo that
    inflated a report). CNY at the case year's allowance price (:func:`carbonqa.regulation.allowance_price`).

    Attributes:
        by_province: ``province_code, province_zh, province_en, open_cases, tco2_at_stake (tCO₂),
            tco2_over_reported (tCO₂, ≤ 0), cny_at_stake (CNY), cny_over_reported (CNY, ≤ 0)``, one row per
            province with an open case in scope, by tCO₂ at stake descending.
        by_city: ``province_code, city_name`` (null when the case names no city) and the same measures, one
            row per city with an open case in scope, by tCO₂ at stake descending.
    """

    by_province: pl.DataFrame
    by_city: pl.DataFrame


_MEASURES = ("open_cases", "tco2_at_stake", "tco2_over_reported", "cny_at_stake", "cny_over_reported")


def case_map(scope: Scope, url: str | None = None, *, year: int | None = None,
             province_code: str | None = None) -> CaseMap:
    """Open cases (:data:`OPEN_STATUSES`) in ``scope`` per province and per city, with tCO₂ and CNY at stake.

    A national or auditor reader sees every province; a provincial reader only their province and its
    cities; a municipal reader only their city (the scope is a condition of the query). ``year`` keeps one
    reporting year (``None``: all); ``province_code`` narrows the cities to one province (a drill-down;
    outside the reader's scope it simply yields nothing). See :class:`CaseMap` for the frames.
    """
    conds = [_case_scope(scope), Case.status.in_(OPEN_STATUSES)]
    if year:
        conds.append(Case.year == int(year))
    with _conn(url) as conn:
        rows = conn.execute(
            sa.select(Case.province_code, Case.city_name, Case.year, sa.func.count(),
                      sa.func.coalesce(sa.func.sum(sa.case((Case.tco2_at_stake > 0, Case.tco2_at_stake), else_=0.0)), 0.0),
                      sa.func.coalesce(sa.func.sum(sa.case((Case.tco2_at_stake < 0, Case.tco2_at_stake), else_=0.0)), 0.0))
            .where(*conds)
            .group_by(Case.province_code, Case.city_name, Case.year)
        ).fetchall()
    price = {y: allowance_price(int(y)).cny_per_t for y in {r[2] for r in rows}}
    frame = pl.DataFrame(
        {
            "province_code": [r[0] for r in rows],
            "city_name": [r[1] for r in rows],
            "open_cases": [int(r[3]) for r in rows],
            "tco2_at_stake": [float(r[4]) for r in rows],
            "tco2_over_reported": [float(r[5]) for r in rows],
            "cny_at_stake": [float(r[4]) * price[r[2]] for r in rows],
            "cny_over_reported": [float(r[5]) * price[r[2]] for r in rows],
        },
        schema={"province_code": pl.String, "city_name": pl.String, "open_cases": pl.Int64,
                "tco2_at_stake": pl.Float64, "tco2_over_reported": pl.Float64, "cny_at_stake": pl.Float64,
                "cny_over_reported": pl.Float64},
    )
    sums = [pl.col(c).sum() for c in _MEASURES]
    by_province = (
        frame.group_by("province_code").agg(*sums)
        .with_columns(
            province_zh=pl.col("province_code").map_elements(lambda c: province_label(c, "zh"), return_dtype=pl.String),
            province_en=pl.col("province_code").map_elements(lambda c: province_label(c, "en"), return_dtype=pl.String),
        )
        .sort(["tco2_at_stake", "province_code"], descending=[True, False])
        .select("province_code", "province_zh", "province_en", *_MEASURES)
    )
    by_city = frame
    if province_code:
        by_city = by_city.filter(pl.col("province_code") == province_code)
    by_city = (
        by_city.group_by("province_code", "city_name").agg(*sums)
        .sort(["tco2_at_stake", "province_code", "city_name"], descending=[True, False, False], nulls_last=True)
        .select("province_code", "city_name", *_MEASURES)
    )
    return CaseMap(by_province=by_province, by_city=by_city)
