"""What a screening task sees: the current submissions of one reporting year and one partition.

A :class:`ScreenContext` is handed to ``checks.run(ctx)`` and ``detectors.run(ctx)``; both return
``list[Finding]``. It is keyed by (year, provinces) — the Airflow fan-out runs one context per
province — and loads each table once (cached). Peer statistics that need the whole country (carbon
content peers, verifier networks, copied values across plants) use :meth:`ScreenContext.national`,
which shares the same cache layer.

Frames are *enriched*: periodic tables carry ``enterprise_id``, ``province_code`` and ``city_name``
of their unit, so every finding can be routed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.store.models import raw_table
from carbonqa.store.read import current

__all__ = ["ScreenContext"]


@dataclass
class ScreenContext:
    """Inputs of one screening partition.

    Attributes:
        year: reporting year screened (monthly periods ``YYYY-01`` … ``YYYY-12``).
        provinces: province codes of this partition; ``None`` = the whole country.
        run_id: id of the screening run (findings remember the first and last run that saw them).
        url: case-store URL (default: settings).
        lake_dir: telemetry lake (default: settings).
        grid_factor_tco2_per_mwh: grid emission factor for purchased electricity (CONTRACT.md §3).
    """

    year: int
    provinces: tuple[str, ...] | None = None
    run_id: str = "adhoc"
    url: str | None = None
    lake_dir: Path | None = None
    grid_factor_tco2_per_mwh: float = contract.DEFAULT_GRID_FACTOR_TCO2_PER_MWH
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _national: ScreenContext | None = field(default=None, repr=False)

    # ---- scope ---------------------------------------------------------------------------------------
    def national(self) -> ScreenContext:
        """The same year over the whole country (cached; itself when already national)."""
        if self.provinces is None:
            return self
        if self._national is None:
            self._national = replace(self, provinces=None, _cache={}, _national=None)
        return self._national

    def _cached(self, key: str, fn) -> Any:  # noqa: ANN001
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def _in_scope(self, df: pl.DataFrame) -> pl.DataFrame:
        if self.provinces is None or "province_code" not in df.columns:
            return df
        return df.filter(pl.col("province_code").is_in(list(self.provinces)))

    # ---- registry ------------------------------------------------------------------------------------
    def enterprises(self) -> pl.DataFrame:
        """Current enterprises in scope."""
        if self.provinces is not None:
            return self._in_scope(self.national().enterprises())
        return self._cached("enterprises", lambda: current("enterprises", self.url))

    def units(self) -> pl.DataFrame:
        """Current units in scope, with ``province_code`` and ``city_name`` of their enterprise."""
        if self.provinces is not None:
            return self._in_scope(self.national().units())

        def load() -> pl.DataFrame:
            ent = current("enterprises", self.url).select("enterprise_id", "province_code", "city_name")
            return current("units", self.url).join(ent, on="enterprise_id", how="left")

        return self._cached("units", load)

    def agencies(self) -> pl.DataFrame:
        """All current agencies (labs, preparers, verifiers are national)."""
        return self.national()._cached("agencies", lambda: current("agencies", self.url))

    # ---- periodic ------------------------------------------------------------------------------------
    def monthly_reports(self) -> pl.DataFrame:
        """Current monthly reports of the year in scope, enriched with enterprise and routing columns."""
        if self.provinces is not None:
            return self._in_scope(self.national().monthly_reports())

        def load() -> pl.DataFrame:
            t = raw_table("monthly_reports")
            df = current("monthly_reports", self.url, where=t.c.period.like(f"{self.year}-%"))
            return self._enrich_by_unit(df)

        return self._cached("monthly_reports", load)

    def lab_reports(self) -> pl.DataFrame:
        """Current lab reports whose sample period lies in the year, enriched like monthly reports."""
        if self.provinces is not None:
            return self._in_scope(self.national().lab_reports())

        def load() -> pl.DataFrame:
            t = raw_table("lab_reports")
            df = current("lab_reports", self.url, where=t.c.sample_period.like(f"{self.year}-%"))
            return self._enrich_by_unit(df)

        return self._cached("lab_reports", load)

    def annual_reports(self, years: tuple[int, ...] | None = None) -> pl.DataFrame:
        """Current annual reports of ``years`` (default: this year and the previous one), in scope."""
        years = years or (self.year - 1, self.year)
        if self.provinces is not None:
            return self._in_scope(self.national().annual_reports(years))

        def load() -> pl.DataFrame:
            t = raw_table("annual_reports")
            return self._enrich_by_enterprise(current("annual_reports", self.url, where=t.c.year.in_(years)))

        return self._cached(f"annual_reports{years}", load)

    def verifications(self, years: tuple[int, ...] | None = None) -> pl.DataFrame:
        """Current verification conclusions of ``years`` (default: this and the previous year), in scope."""
        years = years or (self.year - 1, self.year)
        if self.provinces is not None:
            return self._in_scope(self.national().verifications(years))

        def load() -> pl.DataFrame:
            t = raw_table("verifications")
            return self._enrich_by_enterprise(current("verifications", self.url, where=t.c.year.in_(years)))

        return self._cached(f"verifications{years}", load)

    def tips(self) -> pl.DataFrame:
        """Current tips naming enterprises in scope (all years)."""
        if self.provinces is not None:
            return self._in_scope(self.national().tips())
        return self._cached("tips", lambda: self._enrich_by_enterprise(current("tips", self.url)))

    # ---- telemetry -----------------------------------------------------------------------------------
    def telemetry_monthly(self) -> pl.DataFrame:
        """Monthly telemetry aggregates per unit × period of the year in scope (see :mod:`carbonqa.lake`)."""
        from carbonqa import lake

        periods = [f"{self.year}-{m:02d}" for m in range(1, 13)]
        key = "telemetry_monthly"
        if key not in self._cache:
            self._cache[key] = lake.monthly_telemetry(
                provinces=list(self.provinces) if self.provinces else None, periods=periods, lake_dir=self.lake_dir
            )
        return self._cache[key]

    # ---- helpers -------------------------------------------------------------------------------------
    def _enrich_by_unit(self, df: pl.DataFrame) -> pl.DataFrame:
        u = self.national().units().select("unit_id", "enterprise_id", "province_code", "city_name")
        return df.join(u, on="unit_id", how="left")

    def _enrich_by_enterprise(self, df: pl.DataFrame) -> pl.DataFrame:
        e = self.national().enterprises().select("enterprise_id", "province_code", "city_name")
        return df.join(e, on="enterprise_id", how="left")

    def province_codes(self) -> list[str]:
        """Province codes that have enterprises in the store (for the per-province fan-out)."""
        from carbonqa.store.db import get_engine

        t = raw_table("enterprises")
        with get_engine(self.url).connect() as conn:
            rows = conn.execute(sa.select(t.c.province_code).distinct().order_by(t.c.province_code)).fetchall()
        return [r[0] for r in rows]
