"""Agency page (机构案件): agency cases and their clients in scope."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from carbonqa.jurisdiction import Scope
from carbonqa.queries._base import _conn, _enterprise_names, _frame
from carbonqa.store.models import (
    AgencyCase,
    AgencyCaseClient,
)

_AGENCY_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(), "agency_id": pl.String(), "agency_name": pl.String(), "agency_role": pl.String(),
    "year": pl.Int64(), "province_code": pl.String(), "rank": pl.Int64(), "risk_score": pl.Float64(),
    "status": pl.String(), "rule_codes": pl.String(), "n_clients": pl.Int64(), "tco2_at_stake": pl.Float64(),
    "summary": pl.String(), "summary_en": pl.String(), "updated_at": pl.Datetime("us"),
}
_AGENCY_CLIENT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(), "enterprise_id": pl.String(), "province_code": pl.String(), "city_name": pl.String(),
    "rule_codes": pl.String(), "own_rule_codes": pl.String(), "tco2_at_stake": pl.Float64(),
    "enterprise_case_id": pl.String(),
}


def agency_queue(scope: Scope, url: str | None = None, *, year: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Agency cases (机构案件, :mod:`carbonqa.agency_cases`) visible to the reader, and their clients.

    National and auditor readers see every agency case and client; a provincial reader the agencies with
    at least one client in the province, a municipal reader those with a client in the city — and only
    those clients (``Scope.clause`` over the clients' province and city). Scores, ranks, rule codes and
    tonnes stay national (they are the agency's).

    Args:
        scope: the reader.
        url: case-store URL (default: settings).
        year: one reporting year, or ``None`` for all.

    Returns:
        ``(cases, clients)``: ``cases`` with :data:`_AGENCY_SCHEMA` columns plus ``clients_in_scope``
        (``|``-separated enterprise ids) and ``n_clients_in_scope``, newest year first then national rank;
        ``clients`` one row per in-scope client (:data:`_AGENCY_CLIENT_SCHEMA` plus ``enterprise_name``),
        ordered by case, then tonnes (descending), then enterprise id. Agency and enterprise names are
        submitted text: show them as plain text.
    """
    t, ct = AgencyCase.__table__, AgencyCaseClient.__table__
    cl = sa.select(*[ct.c[k] for k in _AGENCY_CLIENT_SCHEMA]).join(t, t.c.case_id == ct.c.case_id).where(
        scope.clause(ct.c.province_code, ct.c.city_name))
    stmt = sa.select(*[t.c[k] for k in _AGENCY_SCHEMA])
    if year is not None:
        cl, stmt = cl.where(t.c.year == int(year)), stmt.where(t.c.year == int(year))
    with _conn(url) as conn:
        clients = _frame(conn.execute(cl.order_by(ct.c.case_id, ct.c.tco2_at_stake.desc(), ct.c.enterprise_id)).fetchall(),
                         _AGENCY_CLIENT_SCHEMA)
        if scope.role not in ("national", "auditor"):
            stmt = stmt.where(t.c.case_id.in_(sa.select(ct.c.case_id).where(scope.clause(ct.c.province_code, ct.c.city_name))))
        cases = _frame(conn.execute(stmt.order_by(t.c.year.desc(), t.c.rank.asc().nulls_last(), t.c.case_id)).fetchall(),
                       _AGENCY_SCHEMA)
        names = _enterprise_names(conn, clients["enterprise_id"].unique().to_list())
    clients = clients.with_columns(
        enterprise_name=pl.col("enterprise_id").replace_strict(names, default=None, return_dtype=pl.String))
    per_case = clients.group_by("case_id", maintain_order=True).agg(
        pl.col("enterprise_id").sort().str.join("|").alias("clients_in_scope"), pl.len().cast(pl.Int64).alias("n_clients_in_scope"))
    cases = cases.join(per_case, on="case_id", how="left", maintain_order="left").with_columns(
        pl.col("clients_in_scope").fill_null(""), pl.col("n_clients_in_scope").fill_null(0))
    return cases, clients
