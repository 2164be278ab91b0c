"""Bundle writer: contract tables as CSV, telemetry parts as Parquet, ``manifest.json`` (CONTRACT §1).

Checksums use the same functions ingest verifies with (:mod:`carbonqa.ingest.manifest`).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from carbonqa.contract import CONTRACT_VERSION, polars_schema, table
from carbonqa.ingest.manifest import combined_sha256, sha256_file

__all__ = ["sha256_file", "conform", "write_csv_table", "write_manifest", "parts_sha256"]


def conform(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """Select and cast ``df`` to the contract schema of table ``name`` (column order of the contract).

    Nullable contract columns that ``df`` does not carry (optional extensions such as telemetry's
    ``interval_hours``) are left out, as CONTRACT §1 allows.

    Raises:
        ValueError: a non-nullable contract column is missing.
        polars.exceptions.InvalidOperationError: a value does not cast.
    """
    schema = polars_schema(name)
    missing = [c.name for c in table(name).columns if c.name not in df.columns and not c.nullable]
    if missing:
        raise ValueError(f"table {name!r} lacks required column(s) {missing}")
    return df.select([pl.col(c).cast(t, strict=True) for c, t in schema.items() if c in df.columns])


def write_csv_table(df: pl.DataFrame, name: str, out: Path) -> dict:
    """Write table ``name`` as ``<out>/<name>.csv`` (UTF-8, header, ISO dates, empty = null).

    Returns:
        the manifest entry ``{"file", "sha256", "rows"}``.
    """
    df = conform(df, name)
    path = out / f"{name}.csv"
    df.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S", date_format="%Y-%m-%d", null_value="")
    return {"file": path.name, "sha256": sha256_file(path), "rows": df.height}


def parts_sha256(parts: list[dict]) -> str:
    """Return the combined SHA-256 of telemetry parts: one UTF-8 line ``<part file>:<part sha256>`` each (CONTRACT §1)."""
    return combined_sha256([(p["file"], p["sha256"]) for p in parts])


def write_manifest(out: Path, bundle_id: str, created_at: str, tables: dict, extra: dict) -> Path:
    """Write ``manifest.json`` (contract v1) with ``tables`` entries and optional top-level ``extra``."""
    manifest = {
        "contract_version": CONTRACT_VERSION,
        "bundle_id": bundle_id,
        "created_at": created_at,
        "source": "carbonqa-synth",
        **extra,
        "tables": tables,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
