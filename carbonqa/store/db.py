"""Engine, sessions and schema migrations of the case store.

SQLite by default (``var/carbonqa.db``), PostgreSQL when ``CARBONQA_DATABASE_URL`` says so. The schema
is owned by Alembic (``carbonqa/store/migrations``); :func:`upgrade` brings any database to head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from carbonqa.settings import get_settings

__all__ = ["get_engine", "session_scope", "upgrade", "alembic_config", "dispose_engines"]

_ENGINES: dict[str, Engine] = {}
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """Return a cached engine for ``url`` (default: settings' ``db_url``); creates SQLite's folder."""
    url = url or get_settings().db_url
    eng = _ENGINES.get(url)
    if eng is None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("postgresql://"):
            url_real = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        else:
            url_real = url
        eng = create_engine(url_real, future=True, pool_pre_ping=True)
        if eng.dialect.name == "sqlite":
            event.listen(eng, "connect", _sqlite_pragmas)
        _ENGINES[url] = eng
    return eng


def dispose_engines() -> None:
    """Dispose every cached engine (tests, forked workers)."""
    for eng in _ENGINES.values():
        eng.dispose()
    _ENGINES.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on any exception (re-raised)."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):  # noqa: ANN201
    """Alembic ``Config`` pointing at the packaged migrations and at ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().db_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Migrate the store at ``url`` to the newest schema (idempotent; creates the SQLite file)."""
    from alembic import command

    url = url or get_settings().db_url
    eng = get_engine(url)
    cfg = alembic_config(url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
