"""``manifest.json``: parsing, SHA-256 checksums and the check of each listed file (CONTRACT.md §1)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbonqa import contract
from carbonqa.ingest.errors import (
    BundleIdError,
    BundleNotFoundError,
    ContractVersionError,
    ManifestInvalidError,
    ManifestMissingError,
)

__all__ = ["Manifest", "TableEntry", "Part", "load_manifest", "sha256_file", "combined_sha256", "check_bundle_id",
           "DELIVERY_SUFFIX_CHARS"]

_CHUNK = 1 << 20
#: Limits of a manifest (a manifest bomb must not cost more than a real one): its size, its table
#: entries and its listed files. A national bundle lists 9 tables and a few hundred telemetry parts;
#: the limits leave ×100 and more.
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
MANIFEST_MAX_TABLES = 100
MANIFEST_MAX_PARTS = 100_000
#: Characters a delivery suffix adds to a bundle id: ``@`` + 12 hex of the manifest sha256 + ``-NN``.
DELIVERY_SUFFIX_CHARS = 17


def _width(model_col: str) -> int:
    """Width of a ``bundles`` column (``String(n)``), read from the store model."""
    from carbonqa.store.models import Bundle

    return int(Bundle.__table__.c[model_col].type.length)  # type: ignore[attr-defined]


def check_bundle_id(bundle_id: str) -> None:
    r"""Refuse a bundle id that could climb out of a folder or not fit the store.

    The id names the bundle's quarantine folder and its lake files, so it must not be ``.``/``..``,
    contain ``/``, ``\\``, a control, NUL or bidi character, nor ``@`` (reserved for the delivery
    suffix ``<id>@<sha256[:12]>``), and must leave :data:`DELIVERY_SUFFIX_CHARS` of the
    ``bundles.bundle_id`` column's width. Raises :class:`BundleIdError` saying which rule failed.
    """
    from carbonqa.ingest.safety import _PY_CONTROL

    width = _width("bundle_id") - DELIVERY_SUFFIX_CHARS
    why = None
    if bundle_id in (".", "..") or bundle_id.strip(".") == "":
        why = "is only dots"
    elif "/" in bundle_id or "\\" in bundle_id:
        why = "contains a path separator ('/' or '\\')"
    elif _PY_CONTROL.search(bundle_id):
        why = "contains a control, NUL or bidirectional-override character"
    elif "@" in bundle_id:
        why = "contains '@' (reserved for re-deliveries, <id>@<manifest sha256>)"
    elif len(bundle_id) > width:
        why = f"has {len(bundle_id)} characters (at most {width})"
    if why:
        raise BundleIdError(
            f"manifest.json bundle_id {bundle_id[:80]!r} {why}: use letters, digits, '-', '_' and '.', "
            f"e.g. '2024-07-national', and re-deliver")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def combined_sha256(parts: list[tuple[str, str]]) -> str:
    r"""SHA-256 of a directory entry: UTF-8 text of ``<part file>:<part sha256>\\n`` per part, in order."""
    return hashlib.sha256("".join(f"{f}:{s}\n" for f, s in parts).encode()).hexdigest()


@dataclass
class Part:
    """One file of a table: its path relative to the bundle, declared sha256 and rows."""

    file: str
    sha256: str | None
    rows: int | None


@dataclass
class TableEntry:
    """One manifest table entry; ``parts`` has one element for a single-file table."""

    table: str
    file: str
    format: str | None
    rows: int | None
    sha256: str | None
    parts: list[Part]
    is_directory: bool


@dataclass
class Manifest:
    """The parsed manifest of a bundle; ``sha256`` is of the manifest file's bytes."""

    bundle_id: str
    contract_version: str
    sha256: str
    tables: dict[str, TableEntry]
    created_at: str | None = None
    source: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    grid_factor_tco2_per_mwh: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _PY_CONTROL_CHECK(v: str) -> bool:  # noqa: N802 - reads as the pattern it applies
    from carbonqa.ingest.safety import _PY_CONTROL

    return _PY_CONTROL.search(v) is not None


def _opt_int(v: Any, where: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v in (float("inf"), float("-inf")) \
            or int(v) != v or not 0 <= v < 2**63:
        raise ManifestInvalidError(f"manifest.json: {where} must be a non-negative integer row count, got {str(v)[:40]!r}")
    return int(v)


def load_manifest(bundle_dir: Path) -> Manifest:
    """Read and validate ``bundle_dir/manifest.json``.

    Raises :class:`BundleNotFoundError` (no such directory), :class:`ManifestMissingError`,
    :class:`ManifestInvalidError` (bad JSON / fields) or :class:`ContractVersionError`.
    """
    if not bundle_dir.is_dir():
        raise BundleNotFoundError(f"bundle {bundle_dir} is not a directory; pass the folder holding manifest.json")
    path = bundle_dir / "manifest.json"
    if not path.is_file():
        raise ManifestMissingError(
            f"no manifest.json in {bundle_dir}: a bundle must carry manifest.json listing every table file with "
            "its sha256 and rows (CONTRACT.md §1); re-export the bundle with its manifest"
        )
    from carbonqa.ingest.safety import resolve_inside

    if resolve_inside(bundle_dir, "manifest.json")[0] is None:
        raise ManifestInvalidError("manifest.json is a symbolic link out of the bundle folder; deliver the file itself")
    if path.stat().st_size > MANIFEST_MAX_BYTES:
        raise ManifestInvalidError(f"manifest.json is {path.stat().st_size} bytes (at most {MANIFEST_MAX_BYTES}); "
                                   "list fewer, larger parts")
    data_bytes = path.read_bytes()
    try:
        raw = json.loads(data_bytes.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ManifestInvalidError(f"manifest.json in {bundle_dir} is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ManifestInvalidError("manifest.json must be a JSON object")
    version = str(raw.get("contract_version", "")).strip()
    if version != contract.CONTRACT_VERSION:
        raise ContractVersionError(
            f"manifest.json contract_version is {raw.get('contract_version')!r}; this service speaks "
            f"{contract.CONTRACT_VERSION!r} — convert the bundle to contract v{contract.CONTRACT_VERSION}"
        )
    bundle_id = raw.get("bundle_id")
    if not isinstance(bundle_id, str) or not bundle_id.strip():
        raise ManifestInvalidError("manifest.json has no bundle_id (a non-empty string); add one")
    check_bundle_id(bundle_id.strip())
    for fld in ("period_start", "period_end"):
        v = raw.get(fld)
        if v is not None and not contract.is_period(v):
            raise ManifestInvalidError(f"manifest.json {fld} is {str(v)[:40]!r}; write a month YYYY-MM (e.g. 2024-07) "
                                       "or leave the field out")
    for fld, col in (("source", "source"),):
        v = raw.get(fld)
        if v is not None and (not isinstance(v, str) or len(v) > _width(col) or _PY_CONTROL_CHECK(v)):
            raise ManifestInvalidError(f"manifest.json {fld} must be text of at most {_width(col)} characters "
                                       "without control characters; shorten it")
    tables_raw = raw.get("tables")
    if not isinstance(tables_raw, dict):
        raise ManifestInvalidError("manifest.json has no 'tables' object listing the table files")
    tables: dict[str, TableEntry] = {}
    n_parts = sum(len(e.get("parts") or []) if isinstance(e, dict) and isinstance(e.get("parts"), list) else 1
                  for e in tables_raw.values())
    if len(tables_raw) > MANIFEST_MAX_TABLES or n_parts > MANIFEST_MAX_PARTS:
        raise ManifestInvalidError(
            f"manifest.json lists {len(tables_raw)} tables and {n_parts} files (at most {MANIFEST_MAX_TABLES} and "
            f"{MANIFEST_MAX_PARTS}); a bundle carries the contract's {len(contract.TABLES)} tables")
    for name, e in tables_raw.items():
        if not isinstance(e, dict) or not isinstance(e.get("file"), str):
            raise ManifestInvalidError(f"manifest.json tables.{name} must be an object with a 'file' string")
        parts_raw = e.get("parts")
        if parts_raw is not None:
            if not isinstance(parts_raw, list) or not all(isinstance(p, dict) and "file" in p for p in parts_raw):
                raise ManifestInvalidError(f"manifest.json tables.{name}.parts must be a list of {{file, sha256, rows}}")
            parts = [
                Part(str(p["file"]), p.get("sha256"), _opt_int(p.get("rows"), f"tables.{name}.parts[{i}].rows"))
                for i, p in enumerate(parts_raw)
            ]
            is_dir = True
        else:
            parts = [Part(e["file"], e.get("sha256"), _opt_int(e.get("rows"), f"tables.{name}.rows"))]
            is_dir = False
        tables[name] = TableEntry(
            table=name,
            file=e["file"],
            format=e.get("format"),
            rows=_opt_int(e.get("rows"), f"tables.{name}.rows"),
            sha256=e.get("sha256"),
            parts=parts,
            is_directory=is_dir,
        )
    gf = raw.get("grid_emission_factor_tco2_per_mwh")
    # any national grid factor is below 1.5 tCO2/MWh (China 0.5703, CONTRACT.md §3); 10 is beyond physics
    if gf is not None and (isinstance(gf, bool) or not isinstance(gf, int | float) or not 0 < gf < 10):
        raise ManifestInvalidError(f"manifest.json grid_emission_factor_tco2_per_mwh is {str(gf)[:40]!r}; write the "
                                   "factor as a number of tCO2/MWh, e.g. 0.5703, or leave the field out")
    return Manifest(
        bundle_id=bundle_id.strip(),
        contract_version=version,
        sha256=hashlib.sha256(data_bytes).hexdigest(),
        tables=tables,
        created_at=str(raw["created_at"])[:64] if raw.get("created_at") is not None else None,
        source=raw.get("source"),
        period_start=raw.get("period_start"),
        period_end=raw.get("period_end"),
        grid_factor_tco2_per_mwh=float(gf) if gf is not None else None,
        raw=raw,
    )
