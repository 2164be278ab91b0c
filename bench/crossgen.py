"""Cross-generator check: screen bundles from the clean-room generator (bench/xsynth.py) and score the cases.

For each seed: ``xsynth.generate()`` into ``WORK/bundle`` (labels at ``WORK/labels.csv``, look-alikes at
``WORK/lookalikes.csv``), the whole national night in process via ``bench/national.py`` (``--keep-bundle``),
then ``bench/heldout.py``'s ``evaluate(WORK)`` plus, here: recall per pattern (any case for the enterprise,
and a case carrying the labelled family), the labelled enterprises without a case, and the clean enterprises
with a case (their look-alike kinds and the case's rule codes).

Usage: ``.venv/bin/python bench/crossgen.py --seeds 1,2 --workdir /tmp/xgen [--provinces 13,14] [--out r.json]``
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import heldout  # noqa: E402
import national  # noqa: E402
import xsynth  # noqa: E402


def extended(work: Path) -> dict:
    """Per-pattern recall, misses and clean enterprises with a case for one work folder."""
    export = sorted(glob.glob(str(work / "home" / "**" / "cases_*.csv"), recursive=True))[-1]
    cases = pl.read_csv(export, infer_schema=False).with_columns(pl.col("risk_score").cast(pl.Float64),
                                                                  pl.col("rank").cast(pl.Int64))
    labels = pl.read_csv(work / "labels.csv", infer_schema=False)
    look = pl.read_csv(work / "lookalikes.csv", infer_schema=False)
    ent = pl.read_csv(work / "bundle" / "enterprises.csv", infer_schema=False)
    by_ent = cases.group_by("enterprise_id").agg(
        pl.col("rank").min().alias("best_rank"), pl.col("risk_score").max(),
        pl.col("families").str.split("|").explode().unique().sort().alias("families"),
        pl.col("rule_codes").str.split("|").explode().unique().sort().alias("rule_codes"))
    fams = {r[0]: set(r[2]) for r in by_ent.select("enterprise_id", "best_rank", "families").iter_rows()}
    per_pattern = {}
    for (fam, pat), grp in labels.group_by("family", "pattern"):
        ids = grp["enterprise_id"].unique().to_list()
        any_case = sum(e in fams for e in ids)
        fam_case = sum(fam in fams.get(e, set()) for e in ids)
        per_pattern[f"{fam}/{pat}"] = {"n": len(ids), "recall": round(any_case / len(ids), 2),
                                       "recall_family_match": round(fam_case / len(ids), 2)}
    pats = labels.group_by("enterprise_id").agg(pl.col("pattern").unique().sort())
    missed = (pats.filter(~pl.col("enterprise_id").is_in(list(fams)))
              .join(ent.select("enterprise_id", "province_code"), on="enterprise_id", how="left"))
    kinds = look.group_by("enterprise_id").agg(pl.col("kind").unique().sort())
    clean = (by_ent.filter(~pl.col("enterprise_id").is_in(labels["enterprise_id"].unique().to_list()))
             .join(kinds, on="enterprise_id", how="left").sort("best_rank"))
    # labelled enterprises that got a case, but not with the labelled family
    wrong_family = []
    for e, plist in pats.iter_rows():
        if e in fams:
            lf = set(labels.filter(pl.col("enterprise_id") == e)["family"])
            if not (lf & fams[e]):
                wrong_family.append({"enterprise_id": e, "patterns": plist, "case_families": sorted(fams[e])})
    return {
        "per_pattern": dict(sorted(per_pattern.items())),
        "missed": [{"enterprise_id": e, "province": p, "patterns": pl_} for e, pl_, p in missed.iter_rows()],
        "labelled_case_other_family": wrong_family,
        "clean_cased": [{"enterprise_id": r["enterprise_id"], "best_rank": r["best_rank"],
                             "risk_score": r["risk_score"], "lookalike": r["kind"] or [], "rule_codes": r["rule_codes"]}
                            for r in clean.iter_rows(named=True)],
        "lookalike_enterprises": look["enterprise_id"].n_unique(),
    }


def run_seed(seed: int, workdir: Path, year: int, provinces: list[str] | None, fraud_rate: float,
             telemetry: bool) -> dict:
    """Generate, screen and evaluate one seed in ``workdir/s<seed>``."""
    work = (workdir / f"s{seed}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summ = xsynth.generate(work / "bundle", year=year, provinces=provinces, seed=seed, fraud_rate=fraud_rate,
                           telemetry=telemetry, labels_path=work / "labels.csv")
    t_gen = time.perf_counter() - t0
    print(f"[seed {seed}] generated in {t_gen:.1f} s: {summ['rows']}", flush=True)
    argv = ["--workdir", str(work), "--keep-bundle", "--no-readme", "--year", str(year)]
    if provinces:
        argv += ["--provinces", ",".join(provinces)]
    db = work / "home" / "store.db"
    if db.exists():
        db.unlink()
    national.main(argv)
    res = heldout.evaluate(work)
    res.update(extended(work))
    res["generate_s"] = round(t_gen, 1)
    res["injected_enterprises"] = summ["injected_enterprises"]
    return res


def report(seed: int, r: dict) -> None:
    """Print one seed's results."""
    print(f"\n=== seed {seed}: P@k {r['p_at_k']} (k={r['k']}), clean with a case {r['clean_with_case']:.2%}, "
          f"injected {r['injected_enterprises']}")
    print("recall per family: " + ", ".join(f"{k} {v}" for k, v in r["recall"].items()))
    print("recall per pattern (any case / case with the labelled family):")
    for k, v in r["per_pattern"].items():
        print(f"  {k:<45} n={v['n']:<3} {v['recall']:.2f} / {v['recall_family_match']:.2f}")
    print(f"labelled enterprises without a case ({len(r['missed'])}):")
    for m in r["missed"]:
        print(f"  {m['enterprise_id']} ({m['province']}): {', '.join(m['patterns'])}")
    print(f"clean enterprises with a case ({len(r['clean_cased'])}):")
    for c in r["clean_cased"]:
        print(f"  rank {c['best_rank']:>5} {c['enterprise_id']} look-alike {','.join(c['lookalike']) or '-'}: "
              f"{'|'.join(c['rule_codes'])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/xgen"))
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--provinces", default=None)
    ap.add_argument("--fraud-rate", type=float, default=0.08)
    ap.add_argument("--no-telemetry", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    provinces = [p.strip() for p in a.provinces.split(",")] if a.provinces else None
    results = {}
    for s in (int(x) for x in a.seeds.split(",")):
        results[s] = run_seed(s, a.workdir, a.year, provinces, a.fraud_rate, not a.no_telemetry)
        report(s, results[s])
    pooled: dict[str, list[int]] = {}
    for r in results.values():
        for k, v in r["per_pattern"].items():
            n, hit = pooled.get(k, [0, 0])
            pooled[k] = [n + v["n"], hit + round(v["recall"] * v["n"])]
    summary = {"mean_p_at_k": round(sum(r["p_at_k"] for r in results.values()) / len(results), 3),
               "mean_clean_with_case": round(sum(r["clean_with_case"] for r in results.values()) / len(results), 4),
               "pooled_recall_per_pattern": {k: f"{h}/{n}" for k, (n, h) in sorted(pooled.items())}}
    print("\n=== summary:", json.dumps(summary, ensure_ascii=False, indent=1))
    if a.out:
        a.out.write_text(json.dumps({"seeds": results, "summary": summary}, ensure_ascii=False, indent=1, default=str),
                         encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
