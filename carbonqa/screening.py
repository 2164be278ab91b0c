"""What a screening task sees, and the protocol of what screens it.

A :class:`ScreenContext` is handed to a :class:`Screener` — ``run(ctx, prior) -> list[Finding]`` —
implemented by ``checks`` (the rules) and ``detectors`` (local and verifier detectors) and passed to
:mod:`carbonqa.pipeline` by the composition layer as a :class:`Screeners` set: the DAG names them
explicitly, the CLI takes the set the installed distribution declares (entry points group
``carbonqa.screeners`` in ``pyproject.toml``). The core never imports ``checks`` or ``detectors``.

The context It is keyed by (year, provinces) — the Airflow fan-out runs one context per
province — and loads each table once (cached). Peer statistics that need the whole country (carbon
content peers, verifier networks, copied values across plants) use :meth:`ScreenContext.national`,
which shares the same cache layer.

Frames are *enriched*: periodic tables carry ``enterprise_id``, ``province_code`` and ``city_name``
of their unit, so every finding can be routed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.store.models import raw_table
from carbonqa.store.read import current

if TYPE_CHECKING:
    from carbonqa.findings import Finding

__all__ = ["ScreenContext", "Screener", "Screeners", "ENTRY_POINT_GROUP"]

log = logging.getLogger(__name__)

#: Guards the creation of :meth:`ScreenContext.memo`'s per-key locks and of a national context.
_MEMO_GUARD = threading.Lock()

#: Entry-point group under which a distribution declares its screeners (``pyproject.toml``).
ENTRY_POINT_GROUP = "carbonqa.screeners"


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
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)

    # ---- scope ---------------------------------------------------------------------------------------
    def national(self) -> ScreenContext:
        """The same year over the whole country (cached; itself when already national)."""
        if self.provinces is None:
            return self
        if self._national is None:
            with _MEMO_GUARD:
                if self._national is None:
                    self._national = replace(self, provinces=None, _cache={}, _national=None, _locks={})
        return self._national

    def memo(self, key: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` computed once per context and kept under ``key`` (namespace keys by package: ``checks.…``).

        The frames and statistics several screeners need (a joined monthly frame, one validation per
        table, the telemetry lake's unit-month statistics) are built once per night and shared this way;
        stages never pass state through it (the findings store does that). A night's stages run one
        after the other in a process (``run_night``, ``airflow dags test``) or in processes of their own
        (LocalExecutor, Celery). Inside a stage a screener may compute one entry in a second thread while
        it reads others (the detectors scan the telemetry lake beside their table loads), so ``memo`` is
        thread-safe: each key has its own lock, and a second caller of a key being computed waits for it
        instead of computing it again (an ``fn`` may ``memo`` other keys, never its own).
        """
        if key in self._cache:
            return self._cache[key]
        with _MEMO_GUARD:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
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
        return self.memo("enterprises", lambda: current("enterprises", self.url))

    def units(self) -> pl.DataFrame:
        """Current units in scope, with ``province_code`` and ``city_name`` of their enterprise."""
        if self.provinces is not None:
            return self._in_scope(self.national().units())

        def load() -> pl.DataFrame:
            ent = current("enterprises", self.url).select("enterprise_id", "province_code", "city_name")
            return current("units", self.url).join(ent, on="enterprise_id", how="left")

        return self.memo("units", load)

    def agencies(self) -> pl.DataFrame:
        """All current agencies (labs, preparers, verifiers are national)."""
        return self.national().memo("agencies", lambda: current("agencies", self.url))

    # ---- periodic ------------------------------------------------------------------------------------
    def monthly_reports(self) -> pl.DataFrame:
        """Current monthly reports of the year in scope, enriched with enterprise and routing columns."""
        if self.provinces is not None:
            return self._in_scope(self.national().monthly_reports())

        def load() -> pl.DataFrame:
            t = raw_table("monthly_reports")
            df = current("monthly_reports", self.url, where=t.c.period.like(f"{self.year}-%"))
            return self._enrich_by_unit(df)

        return self.memo("monthly_reports", load)

    def lab_reports(self) -> pl.DataFrame:
        """Current lab reports whose sample period lies in the year, enriched like monthly reports."""
        if self.provinces is not None:
            return self._in_scope(self.national().lab_reports())

        def load() -> pl.DataFrame:
            t = raw_table("lab_reports")
            df = current("lab_reports", self.url, where=t.c.sample_period.like(f"{self.year}-%"))
            return self._enrich_by_unit(df)

        return self.memo("lab_reports", load)

    def annual_reports(self, years: tuple[int, ...] | None = None) -> pl.DataFrame:
        """Current annual reports of ``years`` (default: this year and the previous one), in scope."""
        years = years or (self.year - 1, self.year)
        if self.provinces is not None:
            return self._in_scope(self.national().annual_reports(years))

        def load() -> pl.DataFrame:
            t = raw_table("annual_reports")
            return self._enrich_by_enterprise(current("annual_reports", self.url, where=t.c.year.in_(years)))

        return self.memo(f"annual_reports{years}", load)

    def verifications(self, years: tuple[int, ...] | None = None) -> pl.DataFrame:
        """Current verification conclusions of ``years`` (default: this and the previous year), in scope."""
        years = years or (self.year - 1, self.year)
        if self.provinces is not None:
            return self._in_scope(self.national().verifications(years))

        def load() -> pl.DataFrame:
            t = raw_table("verifications")
            return self._enrich_by_enterprise(current("verifications", self.url, where=t.c.year.in_(years)))

        return self.memo(f"verifications{years}", load)

    def tips(self) -> pl.DataFrame:
        """Current tips naming enterprises in scope (all years)."""
        if self.provinces is not None:
            return self._in_scope(self.national().tips())
        return self.memo("tips", lambda: self._enrich_by_enterprise(current("tips", self.url)))

    # ---- telemetry -----------------------------------------------------------------------------------
    def telemetry_monthly(self) -> pl.DataFrame:
        """Monthly telemetry aggregates per unit × period of the year in scope (see :mod:`carbonqa.lake`)."""
        from carbonqa import lake

        periods = [f"{self.year}-{m:02d}" for m in range(1, 13)]
        return self.memo("telemetry_monthly", lambda: lake.monthly_telemetry(
            provinces=list(self.provinces) if self.provinces else None, periods=periods, lake_dir=self.lake_dir))

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


@runtime_checkable
class Screener(Protocol):
    """What screens a context: the rules (``checks``) and the detectors (``detectors``).

    ``name`` is the distribution package that implements it (``checks`` | ``detectors``), recorded on the
    run when the screener is not installed. ``run`` returns the findings of ``ctx.provinces`` (every
    province when ``None``) for ``ctx.year``; ``prior`` is every other finding of the year the run has
    stored (only the verifier detectors read it). Errors inside ``run`` propagate (a silently skipped
    screener would make its findings look resolved).
    """

    name: str

    def run(self, ctx: ScreenContext, prior: Sequence[Finding] = ()) -> list[Finding]:
        """Findings of ``ctx`` (its year, its provinces), given the year's other stored findings ``prior``."""
        ...

    def warm(self) -> None:
        """Load what :meth:`run` needs (library imports: seconds for GX, scikit-learn, PyOD) ahead of time.

        Called from a background thread while the night ingests (polars releases the GIL), so the import
        cost overlaps the ingest instead of adding to the screen; must be safe to call from any thread
        and to skip (``run`` imports what it needs anyway).
        """
        ...


#: Slot → package name recorded as ``missing`` when the slot is empty.
_SLOT_PACKAGE = {"rules": "checks", "detectors": "detectors", "verifier": "detectors", "tips": "checks"}


@dataclass(frozen=True)
class Screeners:
    """The screeners of a night, by the stage that runs them (:mod:`carbonqa.pipeline`).

    Attributes:
        rules: partition-local rules, run per (year, province) (``pipeline.screen_partition``).
        detectors: detectors scored against national peers, run once per year (``detect_national``).
        verifier: detectors that pool every other finding of the year per verifier, run last with
            ``prior`` (``screen_national``).
        publish_validation: writes the night's validation report (GX Data Docs) for a national context
            into a folder and returns its index page; ``None`` = no report.
        tips: the complaints rule (``TIP-001``), partition-local, run per (year, province) beside the rules.
    """

    rules: Screener | None = None
    detectors: Screener | None = None
    verifier: Screener | None = None
    publish_validation: Callable[[ScreenContext, Path], Path] | None = None
    tips: Screener | None = None

    def warm(self) -> threading.Thread:
        """Start warming every screener of the set (:meth:`Screener.warm`) in one daemon thread; returns it.

        Errors are left for ``run`` to raise where they belong (a warm-up that fails only costs its time).
        """

        def go() -> None:
            for s in (self.rules, self.detectors, self.verifier, self.tips):
                if s is not None:
                    try:
                        s.warm()
                    except Exception:  # noqa: BLE001 - run() raises the same error where it matters
                        log.debug("warm-up of %s failed; run() will import it", s.name, exc_info=True)

        th = threading.Thread(target=go, name="carbonqa-warm", daemon=True)
        th.start()
        return th

    def missing(self, *slots: str) -> list[str]:
        """Packages missing for ``slots`` (``rules`` | ``detectors`` | ``verifier`` | ``tips``), sorted, no repeats."""
        return sorted({_SLOT_PACKAGE[s] for s in slots if getattr(self, s) is None})

    @classmethod
    def installed(cls) -> Screeners:
        """The screeners the installed distributions declare (entry points :data:`ENTRY_POINT_GROUP`).

        A declared screener whose package cannot be imported is left out (its slot ``None``: the run
        records it as missing); any other import error propagates.
        """
        found: dict[str, Any] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in (*_SLOT_PACKAGE, "publish_validation"):
                continue
            try:
                found[ep.name] = ep.load()
            except ModuleNotFoundError as exc:
                if not exc.name or exc.name.split(".")[0] != ep.value.split(":")[0].split(".")[0]:
                    raise
        return cls(**found)
