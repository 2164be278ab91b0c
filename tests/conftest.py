"""Shared fixtures.

``db_url`` is parametrised over SQLite and the local PostgreSQL (127.0.0.1:5432, database ``test``):
each test using it runs on both. PostgreSQL tests get a fresh schema each (dropped afterwards). Where
PostgreSQL is unreachable they skip with the reason — unless ``CARBONQA_REQUIRE_POSTGRES=1`` (set by
``.ci/run``), in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BASE = os.environ.get("CARBONQA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parents[1]
REAL_DIR = REPO / "carbonqa" / "data" / "real"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at 127.0.0.1:5432/test not reachable: {exc}"


_PG_REASON = _pg_available()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own CARBONQA_HOME (SQLite store + data lake) under tmp_path."""
    from carbonqa.settings import get_settings

    monkeypatch.setenv("CARBONQA_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("CARBONQA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CARBONQA_DATA_DIR", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pg_schema_url() -> Iterator[str]:
    """Create a scratch schema in the local PostgreSQL and yield a URL whose search_path is it."""
    import sqlalchemy as sa

    if _PG_REASON:
        if os.environ.get("CARBONQA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CARBONQA_REQUIRE_POSTGRES=1 but {_PG_REASON}")
        pytest.skip(_PG_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        from carbonqa.store.db import dispose_engines

        dispose_engines()
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty case store; the test runs once on SQLite and once on PostgreSQL.

    ``CARBONQA_DATABASE_URL`` is set to it, so code under test that uses the settings finds it.
    """
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade
    from carbonqa.store.db import dispose_engines

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        gen = None
    else:
        gen = pg_schema_url()
        url = next(gen)
    monkeypatch.setenv("CARBONQA_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    try:
        yield url
    finally:
        dispose_engines()
        if gen is not None:
            try:
                next(gen)
            except StopIteration:
                pass


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated scratch schema on PostgreSQL only (for concurrency tests)."""
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    gen = pg_schema_url()
    url = next(gen)
    monkeypatch.setenv("CARBONQA_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    try:
        next(gen)
    except StopIteration:
        pass


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """Folder of the real public data files shipped in the package (carbonqa/data/real)."""
    if not REAL_DIR.exists():
        pytest.fail(f"real data folder missing: {REAL_DIR}")
    return REAL_DIR
