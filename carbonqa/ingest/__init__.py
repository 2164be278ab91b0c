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
* :mod:`~carbonqa.ingest.core` — :func:`ingest_bundle`, the orchestration.
"""

from carbonqa.ingest.core import IngestResult, TableCounts, ingest_bundle
from carbonqa.ingest.errors import (
    BundleError,
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
    "ContractVersionError",
]
