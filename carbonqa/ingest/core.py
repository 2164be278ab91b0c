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
import hashlib
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import sqlalchemy as sa
from filelock import FileLock

from carbonqa import contract
from carbonqa.ingest.cast import ISSUES_PER_FILE, cast_table, parse_datetime_str
from carbonqa.ingest.errors import BundleError
from carbonqa.ingest.manifest import Manifest, combined_sha256, load_manifest, sha256_file
from carbonqa.ingest.read import read_table_file
from carbonqa.ingest.report import Issue, write_report
from carbonqa.ingest.safety import clip, is_symlink_out, printable, resolve_inside, safe_dir_name
from carbonqa.ingest.store import append_versioned, current_registry
from carbonqa.ingest.telemetry import TelemetryCounts, ingest_telemetry_part
from carbonqa.settings import Settings, get_settings
from carbonqa.store.db import get_engine
from carbonqa.store.models import Bundle, QuarantineItem, now_cst

__all__ = ["ingest_bundle", "ingest_lock", "advisory_lock", "IngestResult", "TableCounts", "Outcome",
           "INGEST_LOCK_KEY"]

#: Telemetry parts staged at once during an ingest (:class:`_LakeStaging`).
LAKE_PART_WORKERS = 2
#: Telemetry files of a bundle (bytes, together) from which its parts are staged in worker *processes*
#: instead of threads. A national year (27.8 M rows, ~220 MB of Parquet) staged in two spawned processes
#: keeps its Python steps off the ingest's GIL — which the hash chain and the screeners' imports hold —
#: and the night ran ~2 s faster on average over 4 + 4 alternated runs of seed 303 (bench/README
#: "speed"); a small bundle would only pay the ~1 s start of the processes.
LAKE_PROCESS_MIN_BYTES = 64 * 2**20

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
        """Return the ``Bundle.files`` entry of this table (submitted names with control characters escaped)."""
        return {
            "file": printable(self.file), "sha256": self.sha256, "rows_declared": self.declared, "rows_read": self.read,
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
    esc = bundle_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    q = sa.select(b.c.bundle_id, b.c.manifest_sha256, b.c.outcome).where(
        sa.or_(b.c.bundle_id == bundle_id, b.c.bundle_id.like(f"{esc}@%", escape="\\")))
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


def _bundle_files(bundle: Path) -> tuple[set[str], dict[str, str]]:
    """Files of the bundle (relative POSIX paths, hidden ones skipped), walked without following links.

    Returns ``(files, links_out)``: ``links_out`` maps every symbolic link (file or folder) whose target
    resolves outside the bundle to why it is refused; such a link is never read nor copied.
    """
    files: set[str] = set()
    links_out: dict[str, str] = {}
    root = bundle.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if not n.startswith(".")]
        for n in [*dirnames, *filenames]:
            if n.startswith("."):
                continue
            p = d / n
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                if is_symlink_out(root, p):
                    links_out[rel] = "a symbolic link that points outside the bundle folder"
                elif p.is_file():
                    files.add(rel)
            elif n in filenames:
                files.add(rel)
    return files, links_out


def _copy_quarantined(bundle: Path, rel: str, qdir: Path) -> None:
    """Copy a quarantined file into ``qdir/files``, only if it is a regular file inside the bundle."""
    src, _why = resolve_inside(bundle, rel)
    if src is not None and src.is_file():
        dst, _ = resolve_inside(qdir / "files", rel)
        if dst is None:
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


#: Key of the PostgreSQL advisory lock serialising ingests: the first 8 bytes of SHA-256("carbonqa.ingest")
#: as a signed 64-bit integer (any constant works; a hash keeps it from colliding with other users' keys).
INGEST_LOCK_KEY = int.from_bytes(hashlib.sha256(b"carbonqa.ingest").digest()[:8], "big", signed=True)
_STAGING = ".staging"


def _lock_paths(url: str, data_root: Path) -> list[Path]:
    """File locks an ingest holds: the data root's (lake, quarantine, staging); for SQLite also the database's."""
    paths = [data_root / ".ingest.lock"]
    u = sa.engine.make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        paths.append(Path(f"{u.database}.ingest.lock"))
    return paths


@contextmanager
def ingest_lock(engine: sa.Engine, data_root: Path) -> Iterator[None]:
    """Serialise ingests on this machine: hold the file locks of :func:`_lock_paths` until exit.

    A :class:`filelock.FileLock` on ``data_root/.ingest.lock`` (lake, quarantine, staging) and, for a
    SQLite file, ``<database>.ingest.lock``; released when the process dies (``flock``), so a killed
    ingest never leaves a stale lock. Held over the whole ingest *and* the publishing of its staged
    files after the commit, so the next ingest's recovery never races a live publish. On PostgreSQL the
    transaction also takes :func:`advisory_lock`, so ingests on several machines sharing one database
    serialise their reads and inserts too. Waits as long as the other ingest runs.
    """
    data_root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for p in _lock_paths(str(engine.url), data_root):
            p.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(FileLock(str(p)))
        yield


def advisory_lock(conn: sa.Connection) -> None:
    """On PostgreSQL, ``pg_advisory_xact_lock(INGEST_LOCK_KEY)`` in ``conn``'s transaction (released at its end).

    Two ingests of overlapping bundles therefore run one after the other: the second sees the first's rows
    and versions them (no ``UniqueViolation``), and ``record_version`` follows ``received_at``. No-op on
    SQLite, where :func:`ingest_lock`'s file lock serialises writers of one database file.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK_KEY})


def _publish(stage: Path, lake_dir: Path, qdir: Path) -> None:
    """Move a staged ingest's files into place: ``stage/lake`` → lake, ``stage/quarantine`` → ``qdir``."""
    for src_root, dst_root in ((stage / "lake", lake_dir), (stage / "quarantine", qdir)):
        if not src_root.is_dir():
            continue
        for f in sorted(p for p in src_root.rglob("*") if p.is_file() and not p.is_symlink()):
            dst = dst_root / f.relative_to(src_root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dst)
    shutil.rmtree(stage, ignore_errors=True)


def _recover_staging(conn: sa.Connection, staging_root: Path, lake_dir: Path, quarantine_dir: Path) -> None:
    """Finish or discard what a killed ingest left in staging.

    Called under :func:`ingest_lock`, so no live ingest of this data root has a staging folder. A staging folder whose bundle is recorded in ``bundles`` (killed after the commit) is published; any
    other (killed before it) is deleted: its rows never became visible.
    """
    if not staging_root.is_dir():
        return
    b = Bundle.__table__
    for stage in sorted(staging_root.iterdir()):
        meta = stage / "bundle.json"
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            recorded = conn.execute(sa.select(b.c.bundle_id).where(
                b.c.bundle_id == info["bundle_id"], b.c.manifest_sha256 == info["manifest_sha256"])).first()
        except (OSError, ValueError, KeyError, TypeError):
            recorded = None
        if recorded is not None:
            _publish(stage, lake_dir, quarantine_dir / safe_dir_name(info["bundle_id"]))
        else:
            shutil.rmtree(stage, ignore_errors=True)


def ingest_bundle(path: Path, url: str | None = None) -> IngestResult:
    """Ingest the bundle directory ``path`` into the store at ``url`` (default: settings) and the lake.

    Returns an :class:`IngestResult`; bad files and rows become quarantine items, never exceptions.
    A bundle that cannot be ingested at all (no/invalid manifest, unsafe bundle id, unsupported contract
    version, nothing valid) comes back with outcome ``rejected`` and ``reason``. Raises only for
    infrastructure failures (database unreachable, disk full). Idempotent: the same bundle twice →
    ``duplicate``, nothing added.

    Crash safety and concurrency (issue 14 item 3): the whole ingest runs under :func:`ingest_lock` in one
    transaction; lake files, quarantine copies and the report are written to a staging folder and moved
    into place only after the commit, so a killed ingest leaves nothing that screening or a reviewer
    reads (the next ingest publishes or discards the leftovers, :func:`_recover_staging`).
    """
    t0 = time.perf_counter()
    path = Path(path)
    settings = get_settings()
    try:
        man = load_manifest(path)
    except BundleError as exc:
        return IngestResult(safe_dir_name(path.name), "rejected", reason=str(exc), seconds=time.perf_counter() - t0)
    engine = get_engine(url)
    staging_root = settings.data_root / _STAGING
    stage: Path | None = None
    with ingest_lock(engine, settings.data_root):
        try:
            with engine.begin() as conn:
                advisory_lock(conn)
                _recover_staging(conn, staging_root, settings.lake_dir, settings.quarantine_dir)
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
                stage = staging_root / f"{safe_dir_name(bundle_id)}-{os.getpid()}-{time.monotonic_ns()}"
                stage.mkdir(parents=True)
                (stage / "bundle.json").write_text(
                    json.dumps({"bundle_id": bundle_id, "manifest_sha256": man.sha256}), encoding="utf-8")
                with _LakeStaging(path, man) as lake:
                    result = _ingest_locked(conn, path, man, bundle_id, stage, settings, t0, lake)
            # committed: make the lake files, quarantine copies and report visible (still under the file
            # lock). Should this fail (disk full), the staging folder stays for the next ingest to publish.
            committed, stage = stage, None
            _publish(committed, settings.lake_dir, settings.quarantine_dir / safe_dir_name(bundle_id))
            qdir = settings.quarantine_dir / safe_dir_name(bundle_id)
            result.report_path = qdir / "report.md"
            result.seconds = time.perf_counter() - t0
            return result
        finally:
            if stage is not None:  # rolled back: nothing of this ingest may become visible
                shutil.rmtree(stage, ignore_errors=True)


def _ingest_locked(
    conn: sa.Connection, path: Path, man: Manifest, bundle_id: str, stage: Path, settings: Settings, t0: float,
    lake: _LakeStaging,
) -> IngestResult:
    """Steps (3)–(7) of :func:`ingest_bundle` inside its lock and transaction; files go to ``stage``.

    ``lake``: the bundle's telemetry staging (step 5), entered by the caller so that its workers start
    before the checksums; its parts are submitted here once the registry tables are cast.
    """
    registry = current_registry(conn)
    ingested_at = now_cst()  # taken under the lock: received_at orders deliveries like record_version
    qdir_final = settings.quarantine_dir / safe_dir_name(bundle_id)
    if resolve_inside(settings.quarantine_dir, safe_dir_name(bundle_id))[0] is None:  # pragma: no cover
        raise ValueError(f"quarantine folder of {bundle_id!r} would leave {settings.quarantine_dir}")
    qdir = stage / "quarantine"
    lake_stage = stage / "lake"
    issues = _CappedIssues()
    counts: dict[str, TableCounts] = {}
    valid_frames: dict[str, pl.DataFrame] = {}
    bad_frames: dict[str, list[pl.DataFrame]] = {}
    present, links_out = _bundle_files(path)
    listed: set[str] = set()
    quarantined_files: set[str] = set()

    # (3) checksums and unlisted files
    ok_parts: dict[str, list[tuple[str, str]]] = {}
    for name, entry in man.tables.items():
        tc = counts[name] = TableCounts(name, entry.file, entry.sha256, entry.rows)
        for p in entry.parts:
            listed.add(os.path.normpath(p.file) if "\x00" not in p.file else p.file)
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
            f, why = resolve_inside(path, p.file)
            part_info: dict[str, object] = {"file": printable(p.file), "sha256": p.sha256, "rows": p.rows}
            tc.parts.append(part_info)
            if f is not None and f.relative_to(path.resolve()).as_posix() in _IGNORED:
                issues.append(Issue(
                    name, p.file, "reserved_file", value=p.file,
                    expected="a table file; manifest.json and labels.csv are never read as data (CONTRACT.md §4)",
                    fix="not read: list the table's own file"))
                tc.files_quarantined += 1
                tc.quarantined += p.rows or 0
                part_info["status"] = "reserved"
                continue
            if f is None:
                link = "symbolic link" in (why or "")
                issues.append(Issue(
                    name, p.file, "symlink_outside_bundle" if link else "path_outside_bundle", value=why,
                    expected="a path relative to the bundle folder, inside it (e.g. monthly_reports.csv)",
                    fix="file not read (nothing outside the bundle is opened): put the file itself in the bundle "
                        "folder, list it by its relative path and re-deliver"))
                tc.files_quarantined += 1
                tc.quarantined += p.rows or 0
                part_info["status"] = "outside_bundle"
                continue
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
            if comb != str(entry.sha256).lower():
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
    for rel, why in sorted(links_out.items()):
        if rel in listed:
            continue  # reported with its table above
        issues.append(Issue(None, rel, "symlink_outside_bundle", value=why,
                            expected="only files inside the bundle folder",
                            fix="not read and not copied: replace the link by the file itself, or remove it"))
    unlisted = sorted(present - listed - _IGNORED)
    for rel in unlisted[:ISSUES_PER_FILE]:
        issues.append(Issue(None, rel, "unlisted_file", expected="every delivered file listed in manifest.json",
                            fix="not ingested (copy kept in quarantine); add it to the manifest with its sha256 "
                                "and rows, then re-deliver"))
        quarantined_files.add(rel)
    if len(unlisted) > ISSUES_PER_FILE:
        issues.append(Issue(None, "(bundle folder)", "unlisted_file", value=f"and {len(unlisted) - ISSUES_PER_FILE} more",
                            expected="every delivered file listed in manifest.json",
                            fix="not ingested and not copied (they stay in the delivered folder); list them or "
                                "remove them"))

    # (4) read, cast, validate — registry first
    known: dict[str, pl.Series] = {
        "enterprises.enterprise_id": registry["enterprises"]["enterprise_id"],
        "units.unit_id": registry["units"]["unit_id"],
        "agencies.agency_id": registry["agencies"]["agency_id"],
    }
    unit_ent = registry["units"]
    ent_prov = registry["enterprises"]

    def start_lake() -> None:
        unit_province = unit_ent.join(ent_prov, on="enterprise_id", how="left").select("unit_id", "province_code")
        parts = []
        for rel, sha in ok_parts.get("telemetry") or []:
            fpath, _ = resolve_inside(path, rel)
            assert fpath is not None  # checked in (3)
            parts.append((rel, sha, fpath))
        lake.submit(parts, bundle_id, unit_province, settings.lake_dir, ingested_at, qdir / "rows" / "telemetry",
                    lake_stage)

    for name in contract.TABLES:
        if not lake.started and name not in _LAKE_NEEDS:  # the registry the lake's province lookup needs is cast
            start_lake()
        if name not in ok_parts or name == "telemetry":
            continue
        tc = counts[name]
        frames = []
        for rel, _sha in ok_parts[name]:
            entry_fmt = man.tables[name].format
            fpath, _ = resolve_inside(path, rel)
            assert fpath is not None  # checked in (3)
            r = read_table_file(fpath, rel, name, fmt=entry_fmt if entry_fmt in ("csv", "parquet", "xlsx") else None)
            issues.extend(r.issues)
            declared = next(p.rows for p in man.tables[name].parts if p.file == rel)
            if r.df is None:
                quarantined_files.add(rel)
                tc.files_quarantined += 1
                tc.quarantined += declared or 0
                continue
            n_reader_bad = r.bad_rows.height if r.bad_rows is not None else 0
            if r.bad_rows is not None and n_reader_bad:
                bad_frames.setdefault(name, []).append(r.bad_rows)
                tc.quarantined += n_reader_bad
            if declared is not None and declared != r.df.height + n_reader_bad:
                issues.append(Issue(name, rel, "row_count_mismatch",
                                    value=f"{r.df.height + n_reader_bad} data rows in the file",
                                    expected=f"{declared} rows (manifest.json)",
                                    fix="valid rows were ingested; check the export is complete and the manifest "
                                        "count is right"))
            tc.read += r.df.height + n_reader_bad
            frames.append(r.df)
        if not frames:
            continue
        df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
        res = cast_table(df, name, known_refs=known,
                         unit_capacity=unit_ent.select("unit_id", "capacity_mw") if name == "monthly_reports" else None)
        issues.extend(res.issues)
        tc.valid = res.valid.height
        tc.quarantined += res.n_bad
        valid_frames[name] = res.valid
        if res.n_bad:
            bad_frames.setdefault(name, []).append(res.bad_rows)
        if name == "enterprises":
            known["enterprises.enterprise_id"] = pl.concat([known["enterprises.enterprise_id"], res.valid["enterprise_id"]])
            ent_prov = pl.concat([ent_prov.filter(~pl.col("enterprise_id").is_in(res.valid["enterprise_id"].implode())),
                                  res.valid.select("enterprise_id", "province_code")])
        elif name == "units":
            known["units.unit_id"] = pl.concat([known["units.unit_id"], res.valid["unit_id"]])
            unit_ent = pl.concat([unit_ent.filter(~pl.col("unit_id").is_in(res.valid["unit_id"].implode())),
                                  res.valid.select("unit_id", "enterprise_id", "capacity_mw")])
        elif name == "agencies":
            known["agencies.agency_id"] = pl.concat([known["agencies.agency_id"], res.valid["agency_id"]])

    if not lake.started:
        start_lake()
    # (6a) raw rows of the tables — in the caller's transaction, while (5) stages the lake in its workers: the
    # lake work is polars (in worker processes or, for a small bundle, threads that release the GIL), the
    # append is Python (hash chain, inserts), and neither reads what the other writes. Independent of the
    # outcome: a bundle is rejected only when nothing is valid, and then every frame here is empty.
    for name, df in valid_frames.items():
        new, unchanged = append_versioned(conn, name, df, bundle_id, ingested_at)
        counts[name].new, counts[name].unchanged = new, unchanged
    parts = lake.results()  # issues merged after the join, in the order they always had
    for rel, r in parts:
        tc = counts["telemetry"]
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

    if issues.dropped:
        list.append(issues, Issue(None, "(bundle)", "more_issues", value=f"and {issues.dropped} more",
                                  expected=f"at most {BUNDLE_MAX_ISSUES} issues listed per bundle",
                                  fix="every failing row is kept in the quarantine folder (rows/); fix the files "
                                      "listed and re-deliver"))

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

    # (6b) bundle record, quarantine items — in the caller's transaction
    result = IngestResult(bundle_id, outcome, counts, issues, reason, man.sha256)
    report_final = qdir_final / "report.md"
    conn.execute(sa.insert(Bundle.__table__).values(
        bundle_id=bundle_id, manifest_sha256=man.sha256, contract_version=man.contract_version,
        source=man.source, path=str(path.resolve()), created_at=_parse_created(man.created_at),
        received_at=ingested_at, period_start=man.period_start, period_end=man.period_end,
        grid_factor_tco2_per_mwh=man.grid_factor_tco2_per_mwh, outcome=outcome,
        files={printable(k): v.as_json() for k, v in counts.items()}, quarantine_count=len(issues),
        report_path=str(report_final)))
    if issues:
        qi = QuarantineItem.__table__
        w = {c: getattr(qi.c[c].type, "length", None) for c in ("table_name", "column", "reason")}
        recs = [{"bundle_id": bundle_id, "table_name": clip(printable(i.table), w["table_name"]),
                 "file": clip(printable(i.file), 2000), "row": i.row,
                 "column": clip(printable(i.column), w["column"]),
                 "value": clip(printable(i.value), 2000), "reason": clip(i.reason, w["reason"]),
                 "expected": printable(i.expected), "fix": printable(i.fix), "created_at": ingested_at} for i in issues]
        for k in range(0, len(recs), 5000):
            conn.execute(sa.insert(qi), recs[k:k + 5000])

    # (7) quarantine copies, failing rows and the report — staged, visible after the commit
    for rel in sorted(quarantined_files):
        _copy_quarantined(path, rel, qdir)
    for name, frames in bad_frames.items():
        (qdir / "rows").mkdir(parents=True, exist_ok=True)
        out = pl.concat([f.select(pl.all().cast(pl.String)) for f in frames], how="diagonal_relaxed")
        out.write_csv(qdir / "rows" / f"{name}.csv")
    summary = [f"manifest sha256 {man.sha256}",
               f"source {printable(man.source)}, created {printable(man.created_at)}",
               f"outcome {outcome}" + (f": {reason}" if reason else "")]
    summary += result.describe(max_items=0).splitlines()[1:]
    write_report(qdir, bundle_id, [_printable_issue(i) for i in issues], summary)
    result.seconds = time.perf_counter() - t0
    return result


def _file_size(f: Path) -> int:
    """Bytes of regular file ``f``; 0 when it is not one or cannot be read (the part's reader reports why)."""
    try:
        return f.stat().st_size if f.is_file() else 0
    except OSError:
        return 0


#: Tables the lake's staging needs cast first: a unit's province is its enterprise's ``province_code``.
_LAKE_NEEDS = ("enterprises", "units")


class _LakeStaging:
    """Step (5) of :func:`ingest_bundle`: the bundle's telemetry parts staged into lake files by workers.

    Two parts at a time (:data:`LAKE_PART_WORKERS`): a part's slices are read, cast and written in steps that
    each use one core (Parquet writes of its partitions, the per-part Python between polars calls), so two
    parts keep both cores busy — a national year's 27.8 M rows took 10.4 s one part at a time and 7.6 s two
    at a time. Parts write to distinct files (their names hash the part); results keep the parts' order.
    A large bundle's parts (:data:`LAKE_PROCESS_MIN_BYTES`, from the sizes of the listed files inside the
    bundle) go to spawned processes (spawn, not fork: polars' thread pool does not survive a fork), which are
    started on entering the context — their ≈ 1 s interpreter and import start-up then overlaps the
    checksums and the tables' reading instead of following them (bench/README "speed"). Each worker runs
    :func:`carbonqa.ingest.telemetry.ingest_telemetry_part` on paths already resolved inside the bundle.

    Leaving the context waits for every submitted part (cancelling those not started), so nothing is written
    into the staging folder after the ingest returns or fails.
    """

    def __init__(self, path: Path, man: Manifest) -> None:
        size = 0
        entry = man.tables.get("telemetry")
        for p in entry.parts if entry is not None else ():
            f, _ = resolve_inside(path, p.file)
            if f is not None:
                size += _file_size(f)
        self._big = size >= LAKE_PROCESS_MIN_BYTES
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self._futures: list[tuple[str, Future[TelemetryCounts]]] = []
        self.started = False

    def __enter__(self) -> _LakeStaging:
        if self._big:
            self._pool = ProcessPoolExecutor(LAKE_PART_WORKERS, mp_context=multiprocessing.get_context("spawn"))
            for _ in range(LAKE_PART_WORKERS):  # spawn both workers now (one process per pending task)
                self._pool.submit(os.getpid)
        else:
            self._pool = ThreadPoolExecutor(LAKE_PART_WORKERS, thread_name_prefix="carbonqa-lake-part")
        return self

    def submit(self, parts: list[tuple[str, str, Path]], bundle_id: str, unit_province: pl.DataFrame,
               lake_dir: Path, ingested_at: dt.datetime, bad_rows_dir: Path, stage_dir: Path) -> None:
        """Start staging ``parts`` (``(rel, sha256, resolved path)`` each); once per ingest.

        Largest files first (longest-processing-time order), so that the two workers finish together rather
        than one of them idling while the other stages a large province submitted last; :meth:`results`
        keeps the given order.
        """
        assert self._pool is not None and not self.started
        self.started = True
        by_size = sorted(range(len(parts)), key=lambda i: -_file_size(parts[i][2]))
        futures = {i: self._pool.submit(ingest_telemetry_part, parts[i][2], parts[i][0], parts[i][1], bundle_id,
                                        unit_province, lake_dir, ingested_at, bad_rows_dir, stage_dir=stage_dir)
                   for i in by_size}
        self._futures = [(rel, futures[i]) for i, (rel, _, _) in enumerate(parts)]

    def results(self) -> list[tuple[str, TelemetryCounts]]:
        """``(rel, counts)`` of every submitted part, in submission order (waits; re-raises a worker's error)."""
        return [(rel, fut.result()) for rel, fut in self._futures]

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


#: Issues listed per bundle (each file lists at most 1,000 already; a bundle of 100,000 small files must
#: not cost gigabytes of issue records): 100,000 rows ≈ 50 MB, then one "and N more".
BUNDLE_MAX_ISSUES = 100_000


class _CappedIssues(list[Issue]):
    """A list of issues that keeps the first :data:`BUNDLE_MAX_ISSUES` and counts the rest in ``dropped``."""

    dropped = 0

    def append(self, item: Issue) -> None:
        if len(self) < BUNDLE_MAX_ISSUES:
            super().append(item)
        else:
            self.dropped += 1

    def extend(self, items: Iterable[Issue]) -> None:
        for it in items:
            self.append(it)


def _printable_issue(i: Issue) -> Issue:
    """``i`` with control and bidi characters of its file, column and value escaped (for the report)."""
    return Issue(i.table, printable(i.file) or "", i.reason, i.row, printable(i.column), printable(i.value),
                 i.expected, i.fix)


def _parse_created(s: object) -> dt.datetime | None:
    """Return ``created_at`` of the manifest as naive CST, or ``None`` if absent/unparseable."""
    if not s:
        return None
    v = pl.DataFrame({"s": [str(s)[:64]]}).select(parse_datetime_str(pl.col("s")))["s"][0]
    lo, hi = dt.date.fromisoformat(contract.DATE_MIN), dt.date.fromisoformat(contract.DATE_MAX)
    return v if v is not None and lo <= v.date() <= hi else None
