r"""Write contract bundles (CONTRACT.md §1) and the adapters' side reports.

A bundle written here holds only contract table files plus ``manifest.json``: registry and periodic
tables as CSV (UTF-8, header row, ``.`` decimal point, empty cell = null, ISO 8601 timestamps without
offset), telemetry as a directory of Parquet parts. Every file's SHA-256 and row count go into the
manifest; a directory entry also carries the combined SHA-256 of its parts (``<file>:<sha>\\n`` per
part, in order). The bytes are a pure function of the input frames and the fixed ``created_at``, so
re-adapting the same public files yields the same checksums (an ingest that deduplicates bundles by
checksum sees nothing new).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from carbonqa import contract
from carbonqa.ingest.manifest import combined_sha256, sha256_file

__all__ = ["AdaptedBundle", "to_contract", "write_bundle", "write_adapter_report", "ADAPTER_REPORT_COLUMNS"]

#: Columns of ``<bundle>.adapter_report.csv``: one row per source row the adapter did not turn into
#: contract rows (``action = quarantined``) or changed on the way (``action = warning``).
ADAPTER_REPORT_COLUMNS: tuple[str, ...] = ("source_file", "source_line", "action", "reason", "detail", "raw")


@dataclass
class AdaptedBundle:
    """What an adapter wrote: the bundle folder, its manifest id and row counts per table.

    ``report`` is the adapter report beside the bundle (``None`` when nothing was quarantined or
    changed). ``notes`` are one-line facts worth telling the operator (echoed by the CLI).
    """

    path: Path
    bundle_id: str
    rows: dict[str, int]
    report: Path | None = None
    report_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        """One line per table, then the report and notes (what ``carbonqa adapt`` prints)."""
        lines = [f"bundle {self.bundle_id} → {self.path}"]
        lines += [f"  {name}: {n} rows" for name, n in self.rows.items()]
        if self.report is not None:
            lines.append(f"  adapter report: {self.report} ({self.report_rows} rows)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def to_contract(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """Select and cast ``df`` to the contract schema of table ``name`` (contract column order).

    Missing optional columns are added as nulls. Raises ``polars`` errors if a value cannot be cast
    (strict): an adapter bug, never a data problem, because adapters parse their sources first.
    """
    schema = contract.polars_schema(name)
    cols = [
        (pl.col(c).cast(dt, strict=True) if c in df.columns else pl.lit(None, dtype=dt)).alias(c)
        for c, dt in schema.items()
    ]
    return df.select(cols)


def _clean_previous(out: Path) -> None:
    """Remove the files a previous adapter run listed in ``out/manifest.json`` (idempotent rewrite)."""
    man = out / "manifest.json"
    if man.is_file():
        try:
            old = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            old = {}
        for entry in (old.get("tables") or {}).values():
            target = out / str(entry.get("file", ""))
            if target.is_dir() and target != out:
                shutil.rmtree(target)
            elif target.is_file():
                target.unlink()
        man.unlink()


def write_bundle(
    out: Path,
    *,
    bundle_id: str,
    source: str,
    created_at: str,
    tables: dict[str, pl.DataFrame],
    telemetry: pl.DataFrame | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Write ``tables`` (CSV) and ``telemetry`` (Parquet directory) plus ``manifest.json`` into ``out``.

    Args:
        out: bundle directory, created if absent; files of an earlier run listed in its manifest are
            removed first.
        bundle_id, source, created_at: manifest fields (``created_at`` ISO 8601 with offset; fixed by
            the adapter so the bytes are reproducible).
        tables: contract table name → frame already cast with :func:`to_contract`.
        telemetry: telemetry frame (contract columns incl. ``interval_hours``) or ``None``.
        extra: further top-level manifest fields (``period_start``, ``period_end``, ``adapter``…).

    Returns:
        rows per table name, as listed in the manifest.
    """
    out.mkdir(parents=True, exist_ok=True)
    _clean_previous(out)
    manifest_tables: dict[str, Any] = {}
    rows: dict[str, int] = {}
    for name, df in tables.items():
        contract.table(name)  # KeyError for a non-contract table: an adapter bug
        path = out / f"{name}.csv"
        df.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S", date_format="%Y-%m-%d", null_value="")
        manifest_tables[name] = {"file": path.name, "format": "csv", "sha256": sha256_file(path), "rows": df.height}
        rows[name] = df.height
    if telemetry is not None:
        tdir = out / "telemetry"
        tdir.mkdir(exist_ok=True)
        part = tdir / "part-0.parquet"
        telemetry.write_parquet(part, compression="zstd", statistics=True)
        rel = part.relative_to(out).as_posix()
        sha = sha256_file(part)
        manifest_tables["telemetry"] = {
            "file": "telemetry",
            "format": "parquet",
            "rows": telemetry.height,
            "parts": [{"file": rel, "sha256": sha, "rows": telemetry.height}],
            "sha256": combined_sha256([(rel, sha)]),
        }
        rows["telemetry"] = telemetry.height
    manifest: dict[str, Any] = {
        "contract_version": contract.CONTRACT_VERSION,
        "bundle_id": bundle_id,
        "created_at": created_at,
        "source": source,
        **(extra or {}),
        "tables": manifest_tables,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return rows


def write_adapter_report(out: Path, rows: list[dict[str, Any]]) -> Path | None:
    """Write ``<out>.adapter_report.csv`` beside (not inside) the bundle; ``None`` if ``rows`` is empty.

    The report sits outside the bundle so that ingest never sees an unlisted file. Any stale report of
    an earlier run is removed when there is nothing to report.
    """
    path = out.parent / f"{out.name}.adapter_report.csv"
    if not rows:
        path.unlink(missing_ok=True)
        return None
    df = pl.DataFrame(
        [{c: (None if r.get(c) is None else str(r.get(c))) for c in ADAPTER_REPORT_COLUMNS} for r in rows],
        schema={c: pl.String for c in ADAPTER_REPORT_COLUMNS},
    )
    df.write_csv(path)
    return path
