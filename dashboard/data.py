"""Cached reads for the dashboard: thin ``@st.cache_data`` wrappers around :mod:`carbonqa.queries`.

Every wrapper takes the reader's :class:`~carbonqa.jurisdiction.Scope` and the store URL, so the
cache is keyed by jurisdiction (role, province, city) and database — two readers of one province
share entries, a municipal reader never gets a provincial reader's rows. Writes go through
:mod:`carbonqa.cases` (see :func:`after_write`, which drops the caches so the change shows at once).
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from carbonqa import queries
from carbonqa.jurisdiction import Scope
from carbonqa.settings import get_settings

TTL = 300  # seconds; nightly data, and every write clears the caches


def _scope_key(s: Scope) -> tuple[str, str | None, str | None]:
    return (s.role, s.province_code, s.city_name)


def _filter_key(f: queries.QueueFilter) -> str:
    return repr(f)


_HASH: dict[Any, Any] = {Scope: _scope_key, queries.QueueFilter: _filter_key}


def url() -> str:
    """The case-store URL of this process (settings)."""
    return get_settings().db_url


def current_scope() -> Scope | None:
    """The signed-in reader's scope, or ``None`` before sign-in."""
    u = st.session_state.get("user")
    if not u:
        return None
    return Scope(u["username"], u["role"], u.get("province_code"), u.get("city_name"))


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def overview(scope: Scope, db: str, year: int | None = None) -> queries.Overview:
    """Cached :func:`carbonqa.queries.overview` (one reporting year, or every year for ``None``)."""
    return queries.overview(scope, db, year=year)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def case_map(scope: Scope, db: str, year: int | None = None) -> queries.CaseMap:
    """Cached :func:`carbonqa.queries.case_map` (open cases per province and city, one year or all)."""
    return queries.case_map(scope, db, year=year)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def case_queue(scope: Scope, db: str, filters: queries.QueueFilter, page: int, page_size: int) -> queries.QueuePage:
    """Cached :func:`carbonqa.queries.case_queue`."""
    return queries.case_queue(scope, filters, page=page, page_size=page_size, url=db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def queue_options(scope: Scope, db: str) -> dict[str, list[Any]]:
    """Cached :func:`carbonqa.queries.queue_options`."""
    return queries.queue_options(scope, db)


def export_queue(scope: Scope, db: str, filters: queries.QueueFilter, fmt: str) -> bytes:
    """Uncached :func:`carbonqa.queries.export_queue` (called lazily when the download is clicked)."""
    return queries.export_queue(scope, filters, fmt, db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def agency_queue(scope: Scope, db: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cached :func:`carbonqa.queries.agency_queue` (agency cases and their in-scope clients)."""
    return queries.agency_queue(scope, db)


def export_readable(scope: Scope, db: str, filters: queries.QueueFilter, fmt: str, lang: str) -> bytes:
    """Uncached :func:`carbonqa.queries.export_readable` (names, labels and headers in ``lang``)."""
    return queries.export_readable(scope, filters, fmt, db, lang=lang)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def case_detail(scope: Scope, db: str, case_id: str) -> queries.CaseDetail:
    """Cached :func:`carbonqa.queries.case_detail` (raises ``PermissionDenied`` / ``CaseNotFound``)."""
    return queries.case_detail(scope, case_id, db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def assignable_users(scope: Scope, db: str, province_code: str | None = None) -> pl.DataFrame:
    """Cached :func:`carbonqa.queries.assignable_users`."""
    return queries.assignable_users(scope, province_code, db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def rules(scope: Scope, db: str) -> pl.DataFrame:
    """Cached :func:`carbonqa.queries.rules`."""
    return queries.rules(scope, db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def suppressions(scope: Scope, db: str) -> pl.DataFrame:
    """Cached :func:`carbonqa.queries.suppressions`."""
    return queries.suppressions(scope, db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def runs(scope: Scope, db: str) -> pl.DataFrame:
    """Cached :func:`carbonqa.queries.runs`."""
    return queries.runs(scope, db)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=_HASH)
def run_stages(scope: Scope, db: str) -> pl.DataFrame:
    """Cached :func:`carbonqa.queries.run_stages`."""
    return queries.run_stages(scope, db)


def chain_head(db: str) -> dict | None:
    """:func:`carbonqa.queries.chain_head`, uncached (a hash must be read fresh)."""
    return queries.chain_head(db)


def brief_pdf(scope: Scope, db: str, case_id: str, lang: str) -> bytes:
    """The inspection brief of one case as PDF bytes (:func:`carbonqa.brief.build_brief`), uncached."""
    from carbonqa.brief import build_brief

    return build_brief(scope, case_id, url=db, lang=lang)


def keep_valid(key: str, options: list[Any]) -> None:
    """Reset a keyed widget to the first of ``options`` when its stored value is no longer among them.

    Keyed widgets keep state across option changes, and a selectbox's browser side keeps the old choice's
    label: dropping the key would let that label come back as the value (a case outside the filtered queue
    in the picker). Setting the first option from Python overrides it. Call before the widget is drawn.
    """
    if key in st.session_state and st.session_state[key] not in options:
        if options:
            st.session_state[key] = options[0]
        else:
            del st.session_state[key]


def after_write() -> None:
    """Drop every cached read so a workflow change is visible at once (writes are rare)."""
    st.cache_data.clear()
