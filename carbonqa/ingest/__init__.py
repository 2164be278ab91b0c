"""Bundle ingest: a submission bundle → validated polars frames → raw tables and the telemetry lake.

Nothing is lost: every file or row that fails the contract is quarantined with file, row, column,
value, what was expected and how to fix it; valid rows still land. Modules:

* :mod:`~carbonqa.ingest.manifest` — ``manifest.json`` and SHA-256 checks;
* :mod:`~carbonqa.ingest.read` — CSV (encoding detection) / Parquet / xlsx readers, Chinese headers;
* :mod:`~carbonqa.ingest.cast` — vectorised casting and validation against the contract;
* :mod:`~carbonqa.ingest.store` — append-only, hash-versioned inserts into the raw tables;
* :mod:`~carbonqa.ingest.telemetry` — telemetry into the hive-partitioned Parquet lake;
* :mod:`~carbonqa.ingest.report` — quarantine items and ``report.md`` / ``report.csv``;
* :mod:`~carbonqa.ingest.errors` — the error tree (bundle-level failures only);
* :mod:`~carbonqa.ingest.safety` — paths confined to their root (no ``..``, absolute paths or symlinks
  out), folder names that cannot climb or collide, text and widths the store can hold;
* :mod:`~carbonqa.ingest.core` — :func:`ingest_bundle`, the orchestration.

Hostile bundles (issue 14): every path from a manifest or from data stays inside its root; values must
be finite, physically possible (bounds from the unit's capacity and the month's hours, else from
:data:`carbonqa.contract.MAX_CAPACITY_MW`) and storable identically on SQLite and PostgreSQL (no
control, NUL or bidi characters, within the store's column widths, integers within ``INTEGER``); files
are bounded (rows, xlsx inflate size, manifest size) and each lists at most 1,000 issues plus one "and
N more"; ingests serialise (file lock, PostgreSQL advisory lock) and publish lake files, quarantine
copies and the report only after the database commit.
"""

from carbonqa.ingest.core import IngestResult, TableCounts, ingest_bundle
from carbonqa.ingest.errors import (
    BundleError,
    BundleIdError,
    BundleNotFoundError,
    ContractVersionError,
    ManifestError,
    ManifestInvalidError,
    ManifestMissingError,
)
from carbonqa.ingest.report import Issue

__all__ = [
    "ingest_bundle",
    "IngestResult",
    "TableCounts",
    "Issue",
    "BundleError",
    "BundleNotFoundError",
    "ManifestError",
    "ManifestMissingError",
    "ManifestInvalidError",
    "BundleIdError",
    "ContractVersionError",
]
