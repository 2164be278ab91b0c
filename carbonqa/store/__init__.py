"""The case store: SQLAlchemy models, sessions and Alembic migrations."""

from carbonqa.store import chain  # registers the hash-chain hook on every ORM session
from carbonqa.store.db import get_engine, session_scope, upgrade
from carbonqa.store.models import RAW_TABLES, metadata, raw_table

__all__ = ["get_engine", "session_scope", "upgrade", "metadata", "raw_table", "RAW_TABLES", "chain"]
