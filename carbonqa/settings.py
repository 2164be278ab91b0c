"""One settings object, read from the environment (``CARBONQA_*``); nothing does I/O at import time.

| variable | default | meaning |
|---|---|---|
| ``CARBONQA_HOME`` | ``./var`` | root of everything the service writes on one machine |
| ``CARBONQA_DATABASE_URL`` | ``sqlite:///$CARBONQA_HOME/carbonqa.db`` | the case store (PostgreSQL in production) |
| ``CARBONQA_DATA_DIR`` | ``$CARBONQA_HOME/data`` | telemetry lake, quarantine, exports |
| ``CARBONQA_REAL_DATA_DIR`` | ``carbonqa/data/real`` (shipped in the package) | the real public data files |
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Configuration of one carbonqa installation (environment variables prefixed ``CARBONQA_``)."""

    model_config = SettingsConfigDict(env_prefix="CARBONQA_", extra="ignore")

    home: Path = Path("var")
    database_url: str | None = None
    data_dir: Path | None = None
    real_data_dir: Path = Path(__file__).resolve().parent / "data" / "real"

    @property
    def db_url(self) -> str:
        """SQLAlchemy URL of the case store; a SQLite file under ``home`` unless configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'carbonqa.db').resolve()}"

    @property
    def data_root(self) -> Path:
        """Directory holding the telemetry lake, quarantine and exports."""
        return (self.data_dir or (self.home / "data")).resolve()

    @property
    def lake_dir(self) -> Path:
        """Parquet lake of telemetry, hive-partitioned ``province_code=XX/period=YYYY-MM``."""
        return self.data_root / "lake" / "telemetry"

    @property
    def quarantine_dir(self) -> Path:
        """Where quarantined files and their reports are kept, one folder per bundle."""
        return self.data_root / "quarantine"

    @property
    def exports_dir(self) -> Path:
        """Where case exports are written by the nightly job."""
        return self.data_root / "exports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
