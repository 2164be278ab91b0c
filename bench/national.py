"""National-night benchmark: synth → ingest → per-province screening → cases → export, timed by stage.

Runs the whole nightly pipeline in one process on a synthetic national bundle built on the real GCPT
registry (hourly telemetry included unless ``--no-telemetry``), against a fresh store, and reports for
every stage the wall time and the peak resident memory reached *during that stage* (Linux ``VmHWM``,
reset before each stage via ``/proc/self/clear_refs``; elsewhere the process high-water mark of
``resource.getrusage``). ``--tracemalloc`` adds the Python-heap peak per stage (polars/Arrow buffers
live outside it, and tracing slows the run, so it is off by default).

Usage::

    .venv/bin/python bench/national.py                       # full national year, writes bench/README.md
    .venv/bin/python bench/national.py --provinces 15,37 --no-readme

The table goes into the national section of ``bench/README.md`` (between the ``national`` markers);
other sections of that file are left alone. Target: the full national year under 10 minutes wall on
this machine (ARCHITECTURE.md §4: Airflow fans the screening out per province in production).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
README = REPO / "bench" / "README.md"
RESULTS = REPO / "bench" / "national_results.json"
BEGIN, END = "<!-- national:begin -->", "<!-- national:end -->"
TARGET_S = 600.0


@dataclass
class Stage:
    """One timed stage: wall seconds, peak RSS during it (MiB), optional Python-heap peak (MiB)."""

    name: str
    seconds: float = 0.0
    peak_rss_mib: float = 0.0
    py_peak_mib: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


class Timer:
    """Times stages and records their memory peaks."""

    def __init__(self, use_tracemalloc: bool) -> None:
        self.stages: list[Stage] = []
        self.use_tracemalloc = use_tracemalloc

    def run(self, name: str, fn: Callable[[], Any], note: Callable[[Any], str] | None = None) -> Any:
        """Run ``fn`` as stage ``name``; print and keep its timing; return its result."""
        _reset_peak()
        if self.use_tracemalloc:
            tracemalloc.start()
        t0 = time.perf_counter()
        out = fn()
        st = Stage(name, time.perf_counter() - t0, _peak_rss_mib())
        if self.use_tracemalloc:
            st.py_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        st.note = note(out) if note else ""
        self.stages.append(st)
        print(f"[{name:<22}] {st.seconds:8.1f} s  peak RSS {st.peak_rss_mib:7.0f} MiB  {st.note}", flush=True)
        return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code (1 if the target was missed)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--provinces", default=None, help="comma-separated GB/T 2260 codes (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fraud-rate", type=float, default=0.08)
    ap.add_argument("--no-telemetry", action="store_true")
    ap.add_argument("--workdir", type=Path, default=REPO / "var" / "bench-national")
    ap.add_argument("--db-url", default=None, help="URL of an *empty* store (default: a fresh SQLite file in the workdir)")
    ap.add_argument("--keep-bundle", action="store_true", help="reuse a bundle already in the workdir (skip synth)")
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--render-only", action="store_true", help="re-render the README section from the stored results")
    ap.add_argument("--skip", default="", help="comma-separated packages to leave out (checks, detectors)")
    args = ap.parse_args(argv)
    if args.render_only:
        render_readme()
        return 0
    for pkg in filter(None, (x.strip() for x in args.skip.split(","))):
        sys.modules[pkg] = None  # type: ignore[assignment]  # import → ModuleNotFoundError → recorded as missing

    work: Path = args.workdir.resolve()
    bundle = work / "bundle"
    home = work / "home"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["CARBONQA_HOME"] = str(home)
    if args.db_url:
        os.environ["CARBONQA_DATABASE_URL"] = args.db_url
    else:
        os.environ.pop("CARBONQA_DATABASE_URL", None)

    from carbonqa import pipeline
    from carbonqa.cases import export_cases
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    get_settings.cache_clear()
    url = get_settings().db_url
    provinces = [p.strip() for p in args.provinces.split(",")] if args.provinces else None
    run_id = f"bench-{args.year}"
    timer = Timer(args.tracemalloc)
    t_all = time.perf_counter()

    if not (args.keep_bundle and (bundle / "manifest.json").is_file()):
        from carbonqa.synth import generate_bundle

        if bundle.exists():
            shutil.rmtree(bundle)
        timer.run(
            "synth",
            lambda: generate_bundle(bundle, year=args.year, provinces=provinces, seed=args.seed, fraud_rate=args.fraud_rate,
                                    telemetry=not args.no_telemetry, labels_path=work / "labels.csv"),
            lambda s: _short(s),
        )
    upgrade(url)
    if _store_has_bundles(url):
        print(f"the store at {url} already holds bundles: point --db-url at an empty store (e.g. a fresh schema)")
        return 2
    pipeline.start_run(run_id, trigger="bench", url=url)
    ing = timer.run("ingest", lambda: pipeline.ingest_one(str(bundle), url=url),
                    lambda r: f"{r['outcome']}, {len(r['provinces'])} provinces, {r['quarantined']} quarantined")
    parts = pipeline.partitions(None, url=url)  # every year with data (2024 monthly, 2023 annual + verification)
    years = sorted({int(p["year"]) for p in parts})
    per_prov: list[tuple[str, float, int]] = []

    def detect_all() -> list[dict[str, Any]]:
        return [pipeline.detect_national(y, run_id, url=url) for y in years]

    timer.run("detect (national, per year)", detect_all, lambda rs: f"{len(rs)} years")

    def screen_all() -> list[dict[str, Any]]:
        res = []
        for p in parts:
            t0 = time.perf_counter()
            r = pipeline.screen_partition(p["year"], p["province_code"], run_id, url=url)
            per_prov.append((f"{p['year']}/{p['province_code']}", time.perf_counter() - t0, r["findings"]))
            res.append(r)
        return res

    screened = timer.run(
        "screen (rules per province)",
        screen_all,
        lambda rs: f"{len(rs)} partitions, {sum(r['findings'] for r in rs)} findings"
        + (f", missing {sorted({m for r in rs for m in r['missing']})}" if any(r["missing"] for r in rs) else ""),
    )
    timer.run("national (verifier, per year)", lambda: [pipeline.screen_national(y, run_id, url=url) for y in years],
              lambda rs: f"{len(rs)} years")
    cases_out = timer.run("cases", lambda: pipeline.update_cases(run_id, years, url=url),
                          lambda c: f"{c['cases']} cases ({c['created']} new)")
    exp_dir = home / "exports"
    timer.run("export (csv + xlsx)", lambda: (pipeline.export(run_id, exp_dir, url=url),
                                             export_cases(exp_dir / f"cases_{run_id}.xlsx", fmt="xlsx", url=url)),
              lambda r: f"{r[1]} rows")
    total = time.perf_counter() - t_all
    pipeline.finish_run(run_id, "success", {s.name: s.seconds for s in timer.stages}, url=url)
    pipeline.clear_context_cache()

    slow = sorted(per_prov, key=lambda x: -x[1])[:3]
    by_family = _run_findings_by_family(url, run_id)
    quality = precision_at_k(work / "labels.csv", exp_dir / f"cases_{run_id}.csv")
    if quality:
        print("ranking vs synth labels (evaluation only): " + ", ".join(f"{k} {v}" for k, v in quality.items()))
    print(f"total {total:.1f} s (target {TARGET_S:.0f} s): {'OK' if total <= TARGET_S else 'MISSED'}")
    print("slowest provinces: " + ", ".join(f"{p} {s:.1f}s ({n} findings)" for p, s, n in slow))
    result = {
        "year": args.year, "provinces": provinces or "all", "telemetry": not args.no_telemetry, "total_s": round(total, 1),
        "stages": [s.__dict__ for s in timer.stages], "slowest_provinces": slow, "ingest": ing,
        "findings": sum(by_family.values()), "by_family": by_family, "cases": cases_out, "db": url.split(":", 1)[0].split("+", 1)[0],
        "quality": quality,
    }
    (work / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    if not args.no_readme:
        write_readme(result, timer.stages, slow, screened)
    return 0 if total <= TARGET_S else 1


def _store_has_bundles(url: str) -> bool:
    import sqlalchemy as sa

    from carbonqa.store import get_engine
    from carbonqa.store.models import Bundle

    with get_engine(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Bundle)).scalar_one() > 0


def precision_at_k(labels: Path, export_csv: Path, ks: tuple[int, ...] = (10, 50, 100)) -> dict[str, Any]:
    """Precision@k of the national ranking against the synth truth labels (read for evaluation only).

    A case is a hit when its enterprise-year carries any injected pattern. Also reports the share of
    labelled enterprises that got a case (recall of the case list). Empty when no labels exist.
    """
    import polars as pl

    if not labels.is_file() or not export_csv.is_file():
        return {}
    lab = pl.read_csv(labels, infer_schema=False)
    pos = set(zip(lab["enterprise_id"], lab["year"], strict=True))
    df = pl.read_csv(export_csv, infer_schema=False)
    hits = [(e, y) in pos for e, y in zip(df["enterprise_id"], df["year"], strict=True)]
    out: dict[str, Any] = {f"precision@{k}": round(sum(hits[:k]) / k, 3) for k in ks if len(hits) >= k}
    out["labelled enterprises with a case"] = f"{sum(hits)}/{len(pos)}"
    return out


def _short(summary: Any) -> str:
    rows = getattr(summary, "rows", None)
    if not rows:
        s = str(summary).replace("\n", " ")
        return s[:110] + ("…" if len(s) > 110 else "")
    tel = rows.get("telemetry", 0)
    return (f"{rows.get('enterprises', 0):,} enterprises, {rows.get('units', 0):,} units, "
            f"{rows.get('monthly_reports', 0):,} monthly reports, {rows.get('lab_reports', 0):,} lab reports, "
            f"{tel / 1e6:.1f} M telemetry rows; {getattr(summary, 'n_injected_enterprises', '?')} enterprises injected")


def _run_findings_by_family(url: str, run_id: str) -> dict[str, int]:
    """Findings the run saw (rules, detectors, tips), by family, read back from the store."""
    import sqlalchemy as sa

    from carbonqa.store import session_scope
    from carbonqa.store.models import FindingRow

    with session_scope(url) as s:
        rows = s.execute(
            sa.select(FindingRow.family, sa.func.count()).where(FindingRow.last_run_id == run_id).group_by(FindingRow.family)
        ).all()
    return dict(sorted((f, int(n)) for f, n in rows))


def write_readme(result: dict[str, Any], stages: list[Stage], slow: list[tuple[str, float, int]], screened: list[dict]) -> None:
    """Record this run under its store kind in ``bench/national_results.json`` and re-render the
    national section of ``bench/README.md`` (one table per store; other sections are left alone)."""
    rec = {**result, "slowest_provinces": [list(x) for x in slow],
           "measured": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores shared, "
           f"Python {platform.python_version()}"}
    allres = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    allres[result["db"]] = rec
    RESULTS.write_text(json.dumps(allres, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    render_readme()


def render_readme() -> None:
    """Render the national section of ``bench/README.md`` from ``bench/national_results.json``."""
    allres = json.loads(RESULTS.read_text(encoding="utf-8"))
    lines = [BEGIN, "## National night (`bench/national.py`)", ""]
    for db, r in sorted(allres.items(), key=lambda kv: kv[0] != "sqlite"):
        tm = any(s.get("py_peak_mib") is not None for s in r["stages"])
        lines += [
            f"### {db} store",
            "",
            f"Full pipeline in one process on a synthetic national bundle (real GCPT registry, year {r['year']}, "
            f"provinces: {r['provinces']}, hourly telemetry: {'yes' if r['telemetry'] else 'no'}), fresh {db} store; "
            f"{r['machine']}. Measured {r['measured']}."
            + ("" if any(s["name"] == "synth" for s in r["stages"]) else " (Bundle reused from an earlier run: no synth stage.)"),
            "",
            "| stage | wall (s) | peak RSS in stage (MiB) |" + (" Python heap peak (MiB) |" if tm else "") + " what |",
            "|---|---:|---:|" + ("---:|" if tm else "") + "---|",
        ]
        for s in r["stages"]:
            lines.append(f"| {s['name']} | {s['seconds']:.1f} | {s['peak_rss_mib']:.0f} |"
                         + (f" {s.get('py_peak_mib') or 0:.0f} |" if tm else "") + f" {s['note'].replace('|', '/')} |")
        lines.append(f"| **total** | **{r['total_s']:.1f}** | **{max(s['peak_rss_mib'] for s in r['stages']):.0f}** |"
                     + (" |" if tm else "") + f" target {TARGET_S:.0f} s: {'met' if r['total_s'] <= TARGET_S else 'missed'} |")
        lines += [
            "",
            f"Findings: {r['findings']} ({', '.join(f'{k} {v}' for k, v in r['by_family'].items())}); "
            f"cases: {r['cases']['cases']}. Slowest provinces to screen: "
            + ", ".join(f"{p} {sec:.1f} s" for p, sec, _ in r["slowest_provinces"])
            + " (the first partition runs rules and detectors over the whole country once, in the shared national "
            "context; the others only keep and store their share).",
            "",
            "Ranking against the synthetic truth labels (read by the bench for evaluation only, never by screening): "
            + (", ".join(f"{k} {v}" for k, v in (r.get("quality") or {}).items()) or "no labels") + ".",
            "",
        ]
    lines += [
        "Peak RSS is the Linux high-water mark reset before each stage (`/proc/self/clear_refs`), so it includes "
        "what earlier stages left resident. Screening runs the provinces one after another in one process sharing "
        "one national context (the Airflow night fans them out instead). Reproduce: "
        "`.venv/bin/python bench/national.py` (`--db-url postgresql+psycopg://…` for PostgreSQL, `--tracemalloc` "
        "for the Python-heap column, `--keep-bundle` to skip synth).",
        END,
    ]
    section = "\n".join(lines)
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        post = rest.split(END, 1)[1]
        text = pre + section + post
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text, encoding="utf-8")
    print(f"wrote {README}")


if __name__ == "__main__":
    sys.exit(main())
