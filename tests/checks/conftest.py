"""Fixtures of the rule tests; the frame builders live in ``rule_frames`` (a uniquely named module,
so test files can import them whatever other conftest is loaded first)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from rule_frames import YEAR, _counter, context, honest, insert

from carbonqa.screening import ScreenContext
from carbonqa.store import upgrade


@pytest.fixture
def screen(tmp_path: Path) -> Callable[..., ScreenContext]:
    """``screen(tables, telemetry=None, year=2024, provinces=None)`` → ScreenContext on a fresh SQLite store."""

    def make(tables: dict[str, list[dict]], telemetry: pl.DataFrame | None = None, year: int = YEAR,
             provinces: tuple[str, ...] | None = None) -> ScreenContext:
        url = f"sqlite:///{tmp_path / f'store{next(_counter)}.db'}"
        upgrade(url)
        insert(url, tables)
        return context(url, year, provinces, telemetry)

    return make


@pytest.fixture
def data() -> dict[str, list[dict]]:
    """A fresh deep copy of the honest enterprise-year."""
    return copy.deepcopy(honest())


