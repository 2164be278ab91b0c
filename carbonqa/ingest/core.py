"""``ingest_bundle``: one bundle directory → raw tables + telemetry lake + quarantine, losing nothing.

Steps: (1) read ``manifest.json`` (missing/invalid → ``rejected``); (2) same bundle id and manifest
SHA-256 already recorded → ``duplicate``, nothing read; (3) check each listed file's SHA-256 (mismatch
→ file quarantined whole) and list files the manifest does not name (warning, not ingested); (4) read,
cast and validate every table in dependency order (registry first, so a bundle's own units are known to
its monthly reports); (5) telemetry → lake; (6) in **one** transaction: versioned rows into the raw
tables, the ``Bundle`` record and every ``QuarantineItem``; (7) ``report.md``/``report.csv`` plus copies of
quarantined files and rows under ``quarantine_dir/<bundle_id>/``.

Outcome: ``landed`` (nothing quarantined; warnings allowed), ``partial`` (some files or rows
quarantined), ``rejected`` (nothing could be ingested), ``duplicate`` (already ingested).
A different manifest under an already-recorded bundle id is a new delivery, recorded as
``<bundle_id>@<first 12 hex of its manifest sha256>``; its rows still deduplicate by content hash.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import sqlalchemy as sa

from carbonqa import contract
from carbonqa.ingest.cast import cast_table, parse_datetime_str
from carbonqa.ingest.errors import BundleError
from carbonqa.ingest.manifest import Manifest, combined_sha256, load_manifest, sha256_file
from carbonqa.ingest.read import read_table_file
from carbonqa.ingest.report import Issue, write_report
from carbonqa.ingest.store import append_versioned, current_registry
from carbonqa.ingest.telemetry import ingest_telemetry_part, safe_name
from carbonqa.settings import get_settings
from carbonqa.store.db import get_engine
from carbonqa.store.models import Bundle, QuarantineItem, now_cst

__all__ = ["ingest_bundle", "IngestResult", "TableCounts", "Outcome"]

Outcome = Literal["landed", "partial", "rejected", "duplicate"]

#: Files beside the tables that are never ingested nor reported (labels: CONTRACT.md §4).
_IGNORED = {"manifest.json", "labels.csv"}


@dataclass
class TableCounts:
    """Row counts of one table of a bundle.

    ``declared``: rows the manifest states; ``read``: data rows found in readable, checksum-valid files;
    ``new``: rows stored (new keys or new versions; telemetry: rows written to the lake); ``unchanged``:
    valid rows already stored with identical content; ``quarantined``: rows not ingested (including
    every row of a file quarantined whole, counted from the manifest when it cannot be read).
    """

    table: str
    file: str
    sha256: str | None = None
    declared: int | None = None
    read: int = 0
    valid: int = 0
    new: int = 0
    unchanged: int = 0
    quarantined: int = 0
    files_quarantined: int = 0
    parts: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """Return the ``Bundle.files`` entry of this table."""
        return {
            "file": self.file, "sha256": self.sha256, "rows_declared": self.declared, "rows_read": self.read,
            "rows_valid": self.valid, "rows_new": self.new, "rows_unchanged": self.unchanged,
            "rows_quarantined": self.quarantined, "files_quarantined": self.files_quarantined,
            "parts": self.parts,
        }


@dataclass
class IngestResult:
    """What :func:`ingest_bundle` did with a bundle."""

    bundle_id: str
    outcome: Outcome
    tables: dict[str, TableCounts] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    reason: str | None = None
    manifest_sha256: str | None = None
    report_path: Path | None = None
    seconds: float = 0.0

    @property
    def quarantine_count(self) -> int:
        """Number of quarantine items (errors and warnings)."""
        return len(self.issues)

    @property
    def errors(self) -> list[Issue]:
        """Items whose file or row was not ingested."""
        return [i for i in self.issues if i.severity == "error"]

    def describe(self, max_items: int = 12) -> str:
        """Readable multi-line summary in English with Chinese table names."""
        label = {"landed": "landed 全部入库", "partial": "partial 部分入库", "rejected": "rejected 拒收",
                 "duplicate": "duplicate 重复提交"}[self.outcome]
        lines = [f"Bundle {self.bundle_id}: {label}  ({self.seconds:.1f} s)"]
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        if self.tables:
            lines.append(f"  {'table':<32}{'declared':>10}{'read':>10}{'new':>10}{'unchanged':>11}{'quarantined':>13}")
            for t in self.tables.values():
                zh = contract.TABLES[t.table].zh if t.table in contract.TABLES else ""
                name = f"{t.table} {zh}"
                lines.append(f"  {name:<{32 - sum(1 for ch in name if ord(ch) > 0x2E80)}}"
                             f"{'' if t.declared is None else t.declared:>10}{t.read:>10}{t.new:>10}"
                             f"{t.unchanged:>11}{t.quarantined:>13}")
        if self.issues:
            n_err = len(self.errors)
            lines.append(f"  {len(self.issues)} quarantine items: {n_err} errors (not ingested), "
                         f"{len(self.issues) - n_err} warnings (ingested)")
            for it in self.issues[:max_items]:
                where = it.file + (f" row {it.row}" if it.row is not None else " (whole file)")
                col = f" column {it.column}" if it.column else ""
                val = f" value {it.value!r}" if it.value is not None else ""
                lines.append(f"   - [{it.severity}] {where}{col}{val}: {it.reason}; expected {it.expected}; "
                             f"fix: {it.fix}")
            if len(self.issues) > max_items:
                lines.append(f"   … {len(self.issues) - max_items} more")
        if self.report_path:
            lines.append(f"  report: {self.report_path}")
        return "\n".join(lines)


def _existing_deliveries(conn: sa.Connection, bundle_id: str) -> list[tuple[str, str, str]]:
    b = Bundle.__table__
    q = sa.select(b.c.bundle_id, b.c.manifest_sha256, b.c.outcome).where(
        sa.or_(b.c.bundle_id == bundle_id, b.c.bundle_id.like(f"{bundle_id}@%")))
    return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]


def _duplicate_result(conn: sa.Connection, bid: str, man: Manifest, t0: float) -> IngestResult:
    row = conn.execute(sa.select(Bundle.__table__).where(Bundle.__table__.c.bundle_id == bid)).mappings().one()
    tables = {}
    for name, f in (row["files"] or {}).items():
        tables[name] = TableCounts(name, f.get("file", ""), f.get("sha256"), f.get("rows_declared"),
                                   unchanged=f.get("rows_valid", 0) or 0)
    return IngestResult(
        bid, "duplicate", tables, [],
        reason=f"already ingested on {row['received_at']:%Y-%m-%d %H:%M} (outcome {row['outcome']}, manifest "
               f"sha256 {man.sha256[:12]}…); nothing added",
        manifest_sha256=man.sha256, report_path=Path(row["report_path"]) if row["report_path"] else None,
        seconds=time.perf_counter() - t0)


def _bundle_files(bundle: Path) -> set[str]:
    return {
        p.relative_to(bundle).as_posix()
        for p in bundle.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(bundle).parts)
    }


def _copy_quarantined(bundle: Path, rel: str, qdir: Path) -> None:
    src = bundle / rel
    if src.is_file():
        dst = qdir / "files" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def ingest_bundle(path: Path, url: str | None = None) -> IngestResult:
    """Ingest the bundle directory ``path`` into the store at ``url`` (default: settings) and the lake.

    Returns an :class:`IngestResult`; bad files and rows become quarantine items, never exceptions.
    A bundle that cannot be ingested at all (no/invalid manifest, unsupported contract version, nothing
    valid) comes back with outcome ``rejected`` and ``reason``. Raises only for infrastructure failures
    (database unreachable, disk full). Idempotent: the same bundle twice → ``duplicate``, nothing added.
    """
    t0 = time.perf_counter()
    path = Path(path)
    settings = get_settings()
    try:
        man = load_manifest(path)
    except BundleError as exc:
        return IngestResult(path.name, "rejected", reason=str(exc), seconds=time.perf_counter() - t0)
    engine = get_engine(url)
    with engine.connect() as conn:
        existing = _existing_deliveries(conn, man.bundle_id)
        for bid, sha, outcome in existing:
            if sha == man.sha256 and outcome != "rejected":
                return _duplicate_result(conn, bid, man, t0)
        taken = {b for b, _, _ in existing}
        bundle_id = man.bundle_id
        n = 1
        while bundle_id in taken:
            bundle_id = f"{man.bundle_id}@{man.sha256[:12]}" + (f"-{n}" if n > 1 else "")
            n += 1
        registry = current_registry(conn)

    ingested_at = now_cst()
    qdir = settings.quarantine_dir / safe_name(bundle_id)
    issues: list[Issue] = []
    counts: dict[str, TableCounts] = {}
    valid_frames: dict[str, pl.DataFrame] = {}
    present = _bundle_files(path)
    listed: set[str] = set()
    quarantined_files: set[str] = set()

    # (3) checksums and unlisted files
    ok_parts: dict[str, list[tuple[str, str]]] = {}
    for name, entry in man.tables.items():
        tc = counts[name] = TableCounts(name, entry.file, entry.sha256, entry.rows)
        for p in entry.parts:
            listed.add(p.file)
        if name not in contract.TABLES:
            for p in entry.parts:
                issues.append(Issue(None, p.file, "unknown_table", value=name,
                                    expected=f"a contract table: {', '.join(contract.TABLES)}",
                                    fix="not ingested; rename the manifest entry to a contract table or drop it"))
                quarantined_files.add(p.file)
            continue
        actual: list[tuple[str, str]] = []
        good: list[tuple[str, str]] = []
        for p in entry.parts:
            f = path / p.file
            part_info: dict[str, object] = {"file": p.file, "sha256": p.sha256, "rows": p.rows}
            tc.parts.append(part_info)
            if not f.is_file():
                issues.append(Issue(name, p.file, "file_missing", expected="the file listed in manifest.json",
                                    fix="upload the missing file, or remove it from the manifest"))
                tc.files_quarantined += 1
                tc.quarantined += p.rows or 0
                part_info["status"] = "missing"
                continue
            sha = sha256_file(f)
            actual.append((p.file, sha))
            if p.sha256 is None or sha != str(p.sha256).lower():
                issues.append(Issue(
                    name, p.file, "checksum_mismatch",
                    value=f"actual sha256 {sha}", expected=f"sha256 {p.sha256} (manifest.json)"
                    if p.sha256 else "a sha256 for this file in manifest.json",
                    fix="the file changed or was truncated after the manifest was made: re-export the file "
                        "and its manifest and re-upload (file quarantined whole)"))
                quarantined_files.add(p.file)
                tc.files_quarantined += 1
                tc.quarantined += p.rows or 0
                part_info["status"] = "checksum_mismatch"
                continue
            part_info["status"] = "ok"
            good.append((p.file, sha))
        if entry.is_directory and entry.sha256 and len(actual) == len(entry.parts) and len(good) == len(actual):
            comb = combined_sha256(actual)
            if comb != entry.sha256.lower():
                issues.append(Issue(
                    name, entry.file, "checksum_mismatch", value=f"actual combined sha256 {comb}",
                    expected=f"combined sha256 {entry.sha256} (lines '<part file>:<part sha256>')",
                    fix="the list of parts differs from the sealed one: re-export the directory and its manifest"))
                for f_, _ in good:
                    quarantined_files.add(f_)
                tc.files_quarantined += len(good)
                tc.quarantined += sum(p.rows or 0 for p in entry.parts)
                good = []
        ok_parts[name] = good
    for rel in sorted(present - listed - _IGNORED):
        issues.append(Issue(None, rel, "unlisted_file", expected="every delivered file listed in manifest.json",
                            fix="not ingested (copy kept in quarantine); add it to the manifest with its sha256 "
                                "and rows, then re-deliver"))
        quarantined_files.add(rel)

    # (4) read, cast, validate — registry first
    known: dict[str, pl.Series] = {
        "enterprises.enterprise_id": registry["enterprises"]["enterprise_id"],
        "units.unit_id": registry["units"]["unit_id"],
        "agencies.agency_id": registry["agencies"]["agency_id"],
    }
    unit_ent = registry["units"]
    ent_prov = registry["enterprises"]
    for name in contract.TABLES:
        if name not in ok_parts or name == "telemetry":
            continue
        tc = counts[name]
        frames = []
        for rel, _sha in ok_parts[name]:
            entry_fmt = man.tables[name].format
            r = read_table_file(path / rel, rel, name, fmt=entry_fmt if entry_fmt in ("csv", "parquet", "xlsx") else None)
            issues.extend(r.issues)
            declared = next(p.rows for p in man.tables[name].parts if p.file == rel)
            if r.df is None:
                quarantined_files.add(rel)
                tc.files_quarantined += 1
                tc.quarantined += declared or 0
                continue
            if declared is not None and declared != r.df.height:
                issues.append(Issue(name, rel, "row_count_mismatch", value=f"{r.df.height} data rows in the file",
                                    expected=f"{declared} rows (manifest.json)",
                                    fix="valid rows were ingested; check the export is complete and the manifest "
                                        "count is right"))
            tc.read += r.df.height
            frames.append(r.df)
        if not frames:
            continue
        df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
        res = cast_table(df, name, known_refs=known)
        issues.extend(res.issues)
        tc.valid = res.valid.height
        tc.quarantined += res.n_bad
        valid_frames[name] = res.valid
        if res.n_bad:
            (qdir / "rows").mkdir(parents=True, exist_ok=True)
            res.bad_rows.write_csv(qdir / "rows" / f"{name}.csv")
        if name == "enterprises":
            known["enterprises.enterprise_id"] = pl.concat([known["enterprises.enterprise_id"], res.valid["enterprise_id"]])
            ent_prov = pl.concat([ent_prov.filter(~pl.col("enterprise_id").is_in(res.valid["enterprise_id"].implode())),
                                  res.valid.select("enterprise_id", "province_code")])
        elif name == "units":
            known["units.unit_id"] = pl.concat([known["units.unit_id"], res.valid["unit_id"]])
            unit_ent = pl.concat([unit_ent.filter(~pl.col("unit_id").is_in(res.valid["unit_id"].implode())),
                                  res.valid.select("unit_id", "enterprise_id")])
        elif name == "agencies":
            known["agencies.agency_id"] = pl.concat([known["agencies.agency_id"], res.valid["agency_id"]])

    # (5) telemetry → lake
    if ok_parts.get("telemetry"):
        tc = counts["telemetry"]
        unit_province = unit_ent.join(ent_prov, on="enterprise_id", how="left").select("unit_id", "province_code")
        for rel, sha in ok_parts["telemetry"]:
            r = ingest_telemetry_part(path / rel, rel, sha, bundle_id, unit_province, settings.lake_dir,
                                      ingested_at, qdir / "rows" / "telemetry")
            issues.extend(r.issues)
            declared = next(p.rows for p in man.tables["telemetry"].parts if p.file == rel)
            if r.whole_file_quarantined:
                quarantined_files.add(rel)
                tc.files_quarantined += 1
                tc.quarantined += declared or 0
                continue
            if declared is not None and declared != r.rows_read:
                issues.append(Issue("telemetry", rel, "row_count_mismatch", value=f"{r.rows_read} rows in the file",
                                    expected=f"{declared} rows (manifest.json)",
                                    fix="valid rows were ingested; check the export is complete"))
            tc.read += r.rows_read
            tc.valid += r.rows_valid
            tc.new += r.rows_new
            tc.unchanged += r.rows_valid - r.rows_new
            tc.quarantined += r.rows_quarantined

    # outcome
    n_valid = sum(t.valid for t in counts.values())
    has_errors = any(i.severity == "error" for i in issues)
    outcome: Outcome
    reason = None
    if not man.tables:
        outcome, reason = "rejected", "manifest.json lists no tables; nothing to ingest"
    elif n_valid == 0 and has_errors:
        outcome = "rejected"
        reason = "nothing could be ingested: every file or row was quarantined (see the report for each one)"
    else:
        outcome = "partial" if has_errors else "landed"

    # (7) quarantine copies + report (before the DB record so it can point at the report)
    for rel in sorted(quarantined_files):
        _copy_quarantined(path, rel, qdir)
    result = IngestResult(bundle_id, outcome, counts, issues, reason, man.sha256)
    summary = [f"manifest sha256 {man.sha256}", f"source {man.source}, created {man.created_at}",
               f"outcome {outcome}" + (f": {reason}" if reason else "")]
    summary += result.describe(max_items=0).splitlines()[1:]
    report = write_report(qdir, bundle_id, issues, summary)
    result.report_path = report

    # (6) one transaction: raw rows, bundle record, quarantine items
    with engine.begin() as conn:
        if outcome != "rejected":
            for name, df in valid_frames.items():
                new, unchanged = append_versioned(conn, name, df, bundle_id, ingested_at)
                counts[name].new, counts[name].unchanged = new, unchanged
        conn.execute(sa.insert(Bundle.__table__).values(
            bundle_id=bundle_id, manifest_sha256=man.sha256, contract_version=man.contract_version,
            source=man.source, path=str(path.resolve()), created_at=_parse_created(man.created_at),
            received_at=ingested_at, period_start=man.period_start, period_end=man.period_end,
            grid_factor_tco2_per_mwh=man.grid_factor_tco2_per_mwh, outcome=outcome,
            files={k: v.as_json() for k, v in counts.items()}, quarantine_count=len(issues),
            report_path=str(report)))
        if issues:
            qi = QuarantineItem.__table__
            recs = [{"bundle_id": bundle_id, "table_name": i.table, "file": i.file, "row": i.row, "column": i.column,
                     "value": None if i.value is None else str(i.value)[:2000], "reason": i.reason,
                     "expected": i.expected, "fix": i.fix, "created_at": ingested_at} for i in issues]
            for k in range(0, len(recs), 5000):
                conn.execute(sa.insert(qi), recs[k:k + 5000])
    # the report's table was written before the counts of new rows were known: rewrite it
    summary = summary[:3] + result.describe(max_items=0).splitlines()[1:]
    write_report(qdir, bundle_id, issues, summary)
    result.seconds = time.perf_counter() - t0
    return result


def _parse_created(s: object) -> dt.datetime | None:
    """Return ``created_at`` of the manifest as naive CST, or ``None`` if absent/unparseable."""
    if not s:
        return None
    return pl.DataFrame({"s": [str(s)]}).select(parse_datetime_str(pl.col("s")))["s"][0]
