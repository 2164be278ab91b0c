"""Speed of the night against its floor: ``carbonqa screen`` vs a bare polars pass, same bundle, one process.

Issue 13's measure. On a national synthetic bundle with hourly telemetry (built on the real GCPT
registry; ``--seed`` picks the held-out bundle), in **one process** on this machine:

* **floor** — a bare polars pass over the same bundle: read every table of the manifest, group the
  whole telemetry lake (hive-partitioned Parquet) by unit × month for load (MWh), coal (t), CEMS CO₂ (t)
  and running hours, and join that to the monthly reports. Run once before and once after the screen;
  the ratio uses their mean.
* **screen** — what ``carbonqa screen --bundle B`` runs (:func:`carbonqa.pipeline.screen_cli`: ingest
  → detectors → rules per province → verifier detectors → cases → export) on a fresh SQLite store,
  *including* the lazy imports it triggers (Great Expectations, PyOD): a person running the command
  pays them too.

Reports the wall seconds of both, their ratio, the screen's stages and Great Expectations' own seconds
(:func:`checks.gx_results.gx_seconds`), and the findings hash of the night (:mod:`bench.findings_hash`),
so that a faster night is also shown to be the same night. Targets (issue 13): ratio ≤ 10 and screen
≤ 30 s wall.

Usage::

    .venv/bin/python bench/speed.py --workdir /tmp/speed303 --seed 303           # synth if no bundle there
    .venv/bin/python bench/speed.py --workdir /tmp/speed303 --no-readme          # don't touch bench/README.md
    .venv/bin/python bench/speed.py --provinces 13,14,15,32,37,44 --workdir /tmp/speed6

Writes ``<workdir>/speed_results.json``, and unless ``--no-readme`` ``bench/speed_results.json`` and the
section between the ``speed`` markers of ``bench/README.md`` (other sections are left alone);
``--render FILE`` re-renders that section from a results file (a run in a clean checkout).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
README = REPO / "bench" / "README.md"
RESULTS = REPO / "bench" / "speed_results.json"
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"
#: Issue 13 "done when": the screen within 10× of the bare polars pass and within 30 s wall.
TARGET_RATIO, TARGET_WALL_S = 10.0, 30.0

sys.path.insert(0, str(REPO / "bench"))


def polars_floor(bundle: Path) -> dict[str, Any]:
    """The bare polars pass over ``bundle`` (see the module docstring); returns seconds and sizes.

    Args:
        bundle: a contract bundle directory (``manifest.json``, one CSV per table, ``telemetry/``
            hive-partitioned Parquet with ``unit_id, ts, gross_load_mw, coal_feed_t, cems_co2_t``).

    Returns:
        ``{"seconds", "tables" (rows per table read), "telemetry_rows", "unit_months", "joined_rows"}``.

    Raises:
        FileNotFoundError: no manifest or a table file missing.
    """
    import polars as pl

    t0 = time.perf_counter()
    man = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    frames: dict[str, pl.DataFrame] = {}
    for name, spec in man["tables"].items():
        if name == "telemetry":
            continue
        frames[name] = pl.read_csv(bundle / spec["file"], infer_schema_length=10_000)
    tel = pl.scan_parquet(bundle / "telemetry" / "**" / "*.parquet", hive_partitioning=True)
    monthly_tel = (
        tel.group_by("unit_id", pl.col("ts").dt.year().alias("y"), pl.col("ts").dt.month().alias("m"))
        .agg(
            pl.len().alias("rows"),
            pl.col("gross_load_mw").sum().alias("generation_mwh"),  # hourly mean MW × 1 h = MWh
            pl.col("coal_feed_t").sum().alias("coal_t"),
            pl.col("cems_co2_t").sum().alias("cems_co2_t"),
            (pl.col("gross_load_mw") > 0).sum().alias("hours_with_load"),
        )
        .collect()
        .with_columns(pl.format("{}-{}", "y", pl.col("m").cast(pl.String).str.zfill(2)).alias("period"))
    )
    joined = frames["monthly_reports"].join(monthly_tel, on=["unit_id", "period"], how="left")
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 2),
        "tables": {k: v.height for k, v in frames.items()},
        "telemetry_rows": int(monthly_tel["rows"].sum()),
        "unit_months": monthly_tel.height,
        "joined_rows": joined.height,
    }


def screen(bundle: Path, url: str) -> dict[str, Any]:
    """``carbonqa screen --bundle bundle`` in this process on the store ``url``; wall seconds and stages."""
    from carbonqa import pipeline

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        res = pipeline.screen_cli([bundle], None, url=url)
    seconds = time.perf_counter() - t0
    try:
        from checks.gx_results import gx_seconds

        gx = round(gx_seconds(), 2)
    except ImportError:
        gx = None
    n_find = sum(p["findings"] for p in res["partitions"]) + sum(n["findings"] for n in res["national"])
    return {
        "seconds": round(seconds, 2),
        "stages": {k: round(v, 2) for k, v in res["stage_seconds"].items()},
        "gx_seconds": gx,
        "run_id": res["run_id"],
        "partitions": len(res["partitions"]),
        "findings_stored": n_find,
        "cases": res["cases"]["cases"],
        "summary_lines": len(out.getvalue().splitlines()),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring. Exit 0 when both targets are met, 1 otherwise."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/carbonqa-speed"))
    ap.add_argument("--seed", type=int, default=303)
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--provinces", default=None, help="comma-separated GB/T 2260 codes (default: all)")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--render", type=Path, default=None,
                    help="only re-render the README section from a results JSON (e.g. of a run in a clean checkout)")
    a = ap.parse_args(argv)
    if a.render:
        res = json.loads(a.render.read_text(encoding="utf-8"))
        RESULTS.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        write_readme(res)
        return 0

    work = a.workdir.resolve()
    bundle, home = work / "bundle", work / "home"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["CARBONQA_HOME"] = str(home)
    os.environ.pop("CARBONQA_DATABASE_URL", None)
    from carbonqa.settings import get_settings

    get_settings.cache_clear()
    url = get_settings().db_url
    if not (bundle / "manifest.json").is_file():
        from carbonqa.synth import generate_bundle

        provs = [p.strip() for p in a.provinces.split(",")] if a.provinces else None
        t0 = time.perf_counter()
        generate_bundle(bundle, year=a.year, provinces=provs, seed=a.seed, telemetry=True, labels_path=work / "labels.csv")
        print(f"synth: {time.perf_counter() - t0:.1f} s (not timed below)", flush=True)

    f1 = polars_floor(bundle)
    print(f"polars floor (before): {f1['seconds']:.2f} s — {f1['telemetry_rows']:,} telemetry rows → "
          f"{f1['unit_months']:,} unit-months, joined to {f1['joined_rows']:,} monthly reports", flush=True)
    s = screen(bundle, url)
    print(f"carbonqa screen: {s['seconds']:.2f} s — stages {s['stages']}, GX {s['gx_seconds']} s, "
          f"{s['findings_stored']:,} findings, {s['cases']} cases", flush=True)
    f2 = polars_floor(bundle)
    print(f"polars floor (after): {f2['seconds']:.2f} s", flush=True)

    from findings_hash import findings_hash

    digest, n = findings_hash(url)
    floor = (f1["seconds"] + f2["seconds"]) / 2
    ratio = s["seconds"] / floor
    ok = ratio <= TARGET_RATIO and s["seconds"] <= TARGET_WALL_S
    res = {
        "bundle": {"seed": a.seed, "year": a.year, "provinces": a.provinces or "all", **{k: f1[k] for k in ("tables", "telemetry_rows")}},
        "floor_seconds": [f1["seconds"], f2["seconds"]],
        "screen": s,
        "ratio": round(ratio, 1),
        "findings_hash": digest,
        "findings": n,
        "targets": {"ratio": TARGET_RATIO, "wall_s": TARGET_WALL_S, "met": ok},
        "machine": f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared)",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(f"ratio {ratio:.1f}× (target ≤ {TARGET_RATIO:g}×), screen {s['seconds']:.1f} s (target ≤ {TARGET_WALL_S:g} s): "
          + ("OK" if ok else "NOT MET"))
    print(f"findings hash {digest} ({n} findings)")
    (work / "speed_results.json").write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not a.no_readme:
        RESULTS.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        write_readme(res)
    return 0 if ok else 1


def write_readme(r: dict[str, Any]) -> None:
    """Rewrite the ``speed`` section of ``bench/README.md`` from the result ``r`` (appended when absent)."""
    s = r["screen"]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in s["stages"].items())
    t = r["bundle"]["tables"]
    body = "\n".join([
        BEGIN,
        "## Speed: `carbonqa screen` against a bare polars pass (`bench/speed.py`)",
        "",
        f"One process, fresh SQLite store, synthetic bundle seed {r['bundle']['seed']} ({r['bundle']['provinces']} provinces; "
        f"{t.get('enterprises', 0):,} enterprises, {t.get('units', 0):,} units, {t.get('monthly_reports', 0):,} monthly reports, "
        f"{r['bundle']['telemetry_rows'] / 1e6:.1f} M hourly telemetry rows). The floor reads every table, groups the "
        "whole telemetry lake by unit × month (load, coal, CO₂, running hours) and joins it to the monthly reports; "
        "the screen is `carbonqa screen` (ingest → detectors → rules → verifier detectors → cases → export), "
        "lazy imports of GX and PyOD included.",
        "",
        "| what | seconds |",
        "|---|---:|",
        f"| bare polars pass (before / after the screen) | {r['floor_seconds'][0]:.2f} / {r['floor_seconds'][1]:.2f} |",
        f"| `carbonqa screen` | {s['seconds']:.1f} |",
        f"| of which inside Great Expectations (validation + Data Docs; not its ≈ 5 s import) | {s['gx_seconds']} |",
        f"| **ratio** (target ≤ {r['targets']['ratio']:g}×, and ≤ {r['targets']['wall_s']:g} s wall) | "
        f"**{r['ratio']:.1f}×** {'✅' if r['targets']['met'] else '❌'} |",
        "",
        f"Stages: {stages}. {s['partitions']} partitions, {r['findings']:,} findings, {s['cases']} cases; "
        f"findings hash `{r['findings_hash'][:16]}…` (`bench/findings_hash.py`).",
        f"Machine: {r['machine']}; load average at the end {r['load_average']}; {r['measured_at']}.",
        f"Reproduce: `.venv/bin/python bench/speed.py --workdir /tmp/speed{r['bundle']['seed']} --seed {r['bundle']['seed']}`.",
        END,
    ])
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        text = pre + body + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
