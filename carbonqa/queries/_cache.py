"""National aggregates behind the evidence pack (peer carbon content, verifier records), cached per store state."""

from __future__ import annotations

import threading
from typing import Any

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.queries._base import _conn, _year_periods
from carbonqa.store.db import get_engine
from carbonqa.store.models import (
    raw_table,
)
from carbonqa.store.read import CURRENT_KEYS, current

# ---- national aggregates, computed once per store state ---------------------------------------------
# The peer carbon-content distribution and the verifier statistics are national statistics over the
# whole country's raw data: the same for every case (and every reader) until new raw rows land. They
# are computed once per (store, raw-data state, year) and reused; a case only filters them (its own
# units, its coal types, its verifiers), so the case itself stays scoped by :func:`get_case`.

#: Raw tables the national aggregates read; their highest ``id`` (append-only, autoincrement) is the
#: store state the cache is keyed by: any ingest changes it, and reading it is an index lookup.
_NATIONAL_TABLES: tuple[str, ...] = ("monthly_reports", "units", "verifications", "annual_reports", "enterprises",
                                     "agencies")
_NATIONAL_MAX = 16  # cached entries (store states × kinds × years) kept before the oldest is dropped
_national_cache: dict[tuple[Any, ...], pl.DataFrame] = {}
_national_lock = threading.Lock()


def _store_state(url: str | None) -> tuple[Any, ...]:
    """(database URL, highest raw ``id`` per table the national aggregates read): changes on any ingest."""
    engine = get_engine(url)
    stmt = sa.select(*[
        sa.select(sa.func.max(raw_table(n).c.id)).scalar_subquery().label(n) for n in _NATIONAL_TABLES
    ])
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    return (engine.url.render_as_string(hide_password=True), *row)


def _national(kind: str, url: str | None, year: int | None, compute: Any) -> pl.DataFrame:
    """``compute()`` once per (``kind``, store state, ``year``); later calls return the cached frame."""
    key = (kind, _store_state(url), year)
    with _national_lock:
        hit = _national_cache.get(key)
    if hit is not None:
        return hit
    frame = compute()
    with _national_lock:
        _national_cache[key] = frame
        while len(_national_cache) > _NATIONAL_MAX:
            _national_cache.pop(next(iter(_national_cache)))
    return frame


def clear_national_cache() -> None:
    """Drop the cached national aggregates (they are also recomputed on their own after any ingest)."""
    with _national_lock:
        _national_cache.clear()


_CC_SCHEMA: dict[str, pl.DataType] = {"unit_id": pl.String, "coal_type": pl.String, "cc_tc_per_gj": pl.Float64}


def _is_current(name: str, t: sa.Table) -> sa.ColumnElement[bool]:
    """``t``'s row is current (as :func:`carbonqa.store.read.current`): no newer version of its key exists.

    An anti-join on the key index instead of ``row_number()`` over the whole table: the national
    aggregates only need a few columns of current rows, and the window's sort dominated their cost.
    """
    newer = raw_table(name).alias(f"_newer_{name}")
    keys = CURRENT_KEYS[name]
    if name == "monthly_reports":
        is_newer = sa.or_(
            newer.c.version > t.c.version,
            sa.and_(newer.c.version == t.c.version, newer.c.record_version > t.c.record_version),
        )
    else:
        is_newer = newer.c.record_version > t.c.record_version
    return ~sa.exists().where(*[newer.c[k] == t.c[k] for k in keys], is_newer)


def _current_cols(url: str | None, name: str, cols: list[str], where: Any = None) -> pl.DataFrame:
    """Only ``cols`` of the current rows of raw table ``name`` (dtypes of the contract)."""
    t = raw_table(name)
    stmt = sa.select(*[t.c[c] for c in cols]).where(_is_current(name, t))
    if where is not None:
        stmt = stmt.where(where)
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).fetchall()
    schema = contract.polars_schema(name)
    return pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(cols)}, schema={c: schema[c] for c in cols})


def _national_carbon_content(url: str | None, year: int) -> pl.DataFrame:
    """Mean measured carbon content (tC/GJ) of every unit of the country in ``year``, with its coal type."""
    mr, ut = raw_table("monthly_reports"), raw_table("units")
    p0, p1 = _year_periods(year)
    stmt = (
        sa.select(mr.c.unit_id, ut.c.coal_type, sa.func.avg(mr.c.carbon_content_tc_per_gj))
        .join(ut, ut.c.unit_id == mr.c.unit_id)
        .where(
            mr.c.period.between(p0, p1),
            _is_current("monthly_reports", mr),  # the current row of (unit, period), then: is it measured?
            _is_current("units", ut),
            mr.c.carbon_content_basis == "measured",
            mr.c.carbon_content_tc_per_gj.is_not(None),
        )
        .group_by(mr.c.unit_id, ut.c.coal_type)
    )
    with _conn(url) as conn:
        rows = conn.execute(stmt).fetchall()
    return pl.DataFrame(
        {"unit_id": [r[0] for r in rows], "coal_type": [r[1] for r in rows], "cc_tc_per_gj": [float(r[2]) for r in rows]},
        schema=_CC_SCHEMA,
    )


def _carbon_content(url: str | None, year: int, units: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mean measured CC per unit for the case units, and the national peer values of the same coal types."""
    empty_unit = pl.DataFrame(schema=_CC_SCHEMA)
    empty_peers = pl.DataFrame(schema={"coal_type": pl.String, "cc_tc_per_gj": pl.Float64})
    if units.is_empty():
        return empty_unit, empty_peers
    coal_types = [c for c in units["coal_type"].unique().to_list() if c]
    allf = _national("carbon_content", url, year, lambda: _national_carbon_content(url, year))
    own = set(units["unit_id"].to_list())
    cc_unit = allf.filter(pl.col("unit_id").is_in(own)).sort("unit_id")
    cc_peers = allf.filter(pl.col("coal_type").is_in(coal_types) & ~pl.col("unit_id").is_in(own)).select(
        "coal_type", "cc_tc_per_gj"
    )
    return cc_unit, cc_peers


_VSTATS_SCHEMA: dict[str, pl.DataType] = {
    "verifier_agency_id": pl.String, "agency_name": pl.String, "verifications": pl.Int64,
    "accepted_share": pl.Float64, "zero_findings_share": pl.Float64, "mean_abs_gap_pct": pl.Float64,
    "provinces": pl.Int64,
}


def _national_verifier_stats(url: str | None) -> pl.DataFrame:
    """Per verifier agency, over every verification in the country (see ``CaseDetail.verifier_stats``)."""
    vt = raw_table("verifications")
    allv = _current_cols(
        url, "verifications",
        ["verifier_agency_id", "enterprise_id", "year", "conclusion", "findings_count", "verified_emissions_tco2"],
        vt.c.verifier_agency_id.is_not(None),
    )
    ann_all = _current_cols(url, "annual_reports", ["enterprise_id", "year", "reported_emissions_tco2"])
    ents = _current_cols(url, "enterprises", ["enterprise_id", "province_code"])
    agencies = _current_cols(url, "agencies", ["agency_id", "agency_name"])
    return (
        allv.join(ann_all.unique(["enterprise_id", "year"]), on=["enterprise_id", "year"], how="left")
        .join(ents, on="enterprise_id", how="left")
        .group_by("verifier_agency_id")
        .agg(
            verifications=pl.len(),
            accepted_share=(pl.col("conclusion") == "accepted").mean(),
            zero_findings_share=(pl.col("findings_count") == 0).mean(),
            mean_abs_gap_pct=(
                (pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2")).abs()
                / pl.col("reported_emissions_tco2")
                * 100
            ).mean(),
            provinces=pl.col("province_code").n_unique(),
        )
        .join(agencies, left_on="verifier_agency_id", right_on="agency_id", how="left")
        .with_columns(pl.col("verifications").cast(pl.Int64), pl.col("provinces").cast(pl.Int64))
        .select(list(_VSTATS_SCHEMA))
        .sort("verifier_agency_id")
    )


def _verifiers(url: str | None, enterprise_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    vt = raw_table("verifications")
    ver = current("verifications", url, where=vt.c.enterprise_id == enterprise_id).sort("year")
    ann = current("annual_reports", url, where=raw_table("annual_reports").c.enterprise_id == enterprise_id)
    agencies = current("agencies", url).select("agency_id", "agency_name")
    ver = (
        ver.join(ann.select("enterprise_id", "year", "reported_emissions_tco2").unique(["enterprise_id", "year"]),
                 on=["enterprise_id", "year"], how="left")
        .join(agencies, left_on="verifier_agency_id", right_on="agency_id", how="left")
        .with_columns(
            gap_tco2=pl.col("verified_emissions_tco2") - pl.col("reported_emissions_tco2"),
        )
    )
    agency_ids = [a for a in ver["verifier_agency_id"].unique().to_list() if a]
    if not agency_ids:
        return ver, pl.DataFrame(schema=_VSTATS_SCHEMA)
    stats = _national("verifier_stats", url, None, lambda: _national_verifier_stats(url))
    return ver, stats.filter(pl.col("verifier_agency_id").is_in(agency_ids))
