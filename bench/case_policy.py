"""Case-opening policy and precision bench: which enterprises get a case, and how good the list is.

For each seed: synth (labels and look-alikes written *outside* the bundle, read only here for
evaluation) → ingest into a fresh SQLite store → ``checks.run`` → ``detectors.run(prior=rules)`` → the
complaints as ``TIP-001`` findings (:data:`checks.TIPS`, as the pipeline does); the
findings are cached (pickle) so the policy can be re-evaluated without re-screening (``--reuse``).
Then, per enterprise-year, :func:`carbonqa.cases.opens_case` decides whether a case opens (the same
function :func:`carbonqa.cases.update_cases` uses) and :func:`carbonqa.scoring.score_case` ranks the
cases; an enterprise's risk is the maximum over its opened cases (0 without a case).

Reported, at the enterprise level, for the policy and for the old rule "any non-info finding opens a
case" (``any``):

* ``clean_with_case`` — share of enterprises without any label that have a case (target ≤ 3 %);
* precision@k, k = 5 % of the enterprises (inspection capacity, DOMAIN.md §5), nationally and per
  province with ≥ 20 enterprises (k = 5 % of that province's enterprises), target ≥ 0.8;
* recall per labelled family — labelled enterprises with a case (target ≥ 0.9);
* ``noise`` — per rule code, clean enterprises carrying a medium+ finding of that code, and clean
  enterprises whose case that code opened (the codes to fix first).

    .venv/bin/python bench/case_policy.py --seeds 1,2 --provinces 13,14,15,32,37,44 --cache var/cp
    .venv/bin/python bench/case_policy.py --seeds 1,2 --provinces 13,14,15,32,37,44 --cache var/cp --reuse
    .venv/bin/python bench/case_policy.py --export W/home/exports/cases_bench-2024.csv \
        --labels W/labels.csv --enterprises W/bundle/enterprises.csv     # after bench/national.py --workdir W
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SERIOUS = ("critical", "high", "medium")


def screen(seed: int, provinces: list[str] | None, work: Path, year: int, fraud_rate: float, gen: str = "synth") -> dict:
    """Synth → ingest → rules + detectors for one seed; returns what evaluation needs (picklable).

    ``gen``: ``synth`` (our generator, :func:`carbonqa.synth.generate_bundle`) or ``xsynth`` (the clean-room
    generator of ``bench/xsynth.py``, written from the contract only).
    """
    import shutil

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    os.environ["CARBONQA_HOME"] = str(work / "var")
    os.environ.pop("CARBONQA_DATABASE_URL", None)
    from carbonqa.settings import get_settings

    get_settings.cache_clear()
    from carbonqa.ingest import ingest_bundle
    from carbonqa.screening import ScreenContext
    from carbonqa.store import upgrade
    from carbonqa.synth import generate_bundle

    s = get_settings()
    upgrade(s.db_url)
    t0 = time.perf_counter()
    bundle, labels = work / "bundle", work / "b.labels.csv"
    if gen == "xsynth":
        sys.path.insert(0, str(REPO / "bench"))
        import xsynth

        xsynth.generate(bundle, year=year, provinces=provinces, seed=seed, fraud_rate=fraud_rate, telemetry=True,
                        labels_path=labels)
        (work / "lookalikes.csv").rename(work / "b.lookalikes.csv")
    else:
        generate_bundle(bundle, year=year, provinces=provinces, seed=seed, fraud_rate=fraud_rate, telemetry=True,
                        labels_path=labels)
    ingest_bundle(bundle, s.db_url)
    ctx = ScreenContext(year=year, url=s.db_url, lake_dir=s.lake_dir)
    import checks
    import detectors

    rules = list(checks.run(ctx))
    dets = list(detectors.run(ctx, prior=rules))

    tips = checks.TIPS.run(ctx)  # complaints attach as TIP-001 findings, as in the pipeline
    annual = ctx.annual_reports((year - 1, year)).select("enterprise_id", "year", "reported_emissions_tco2")
    out = {
        "findings": rules + dets + tips,
        "ents": ctx.enterprises().select("enterprise_id", "province_code"),
        "annual": annual,
        "labels": pl.read_csv(labels, infer_schema_length=0),
        "lookalikes": pl.read_csv(work / "b.lookalikes.csv", infer_schema_length=0),
        "seconds": time.perf_counter() - t0,
    }
    shutil.rmtree(work / "bundle", ignore_errors=True)
    return out


def _any_policy(fs: list, reported: float | None, reliability: dict | None = None) -> bool:
    return any(f.severity != "info" for f in fs)


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of k successes in n (scipy)."""
    if n == 0:
        return (0.0, 1.0)
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return (round(float(ci.low), 3), round(float(ci.high), 3))


def evaluate(res: dict, policy, production: bool = True) -> dict:  # noqa: ANN001
    """Enterprise-level metrics of a case-opening ``policy(findings, reported_t, reliability) -> bool``.

    ``production``: score and open as the nightly job does — each code's national firing rate of the
    night gives its reliability (:func:`carbonqa.evidence.code_firing_rates`), passed to the policy and
    to :func:`carbonqa.scoring.score_case`. Reported: precision@k with its 95 % Wilson interval, average
    precision, recall and recall@k per labelled family, clean enterprises with a case overall and per
    honest-operation look-alike kind, each code's national firing rate, and the codes behind clean cases.
    """
    from carbonqa.evidence import code_firing_rates
    from carbonqa.scoring import score_case

    rep = {(r[0], int(r[1])): r[2] for r in res["annual"].iter_rows()}
    by = defaultdict(list)
    for f in res["findings"]:
        if f.enterprise_id and f.year is not None:
            by[(f.enterprise_id, int(f.year))].append(f)
    n_ent = res["ents"].height
    rates = code_firing_rates({k[0]: v for k, v in by.items()}, n_ent) if production else {}
    rel = {c: r.reliability for c, r in rates.items() if r.reliability < 1.0}
    risk: dict[str, float] = {}
    opened_by: dict[str, set[str]] = defaultdict(set)
    for (e, y), fs in by.items():
        r = rep.get((e, y))
        if policy(fs, r, rel):
            risk[e] = max(risk.get(e, 0.0), score_case(fs, r, None, rel).risk_score)
            opened_by[e] |= {f.rule_code for f in fs if f.severity in SERIOUS}
    labels = res["labels"]
    pos = labels.group_by("enterprise_id").agg(pl.col("family").unique().alias("fams"))
    fams = {r[0]: set(r[1]) for r in pos.iter_rows()}
    ents = res["ents"].with_columns(
        pl.col("enterprise_id").replace_strict(risk, default=0.0, return_dtype=pl.Float64).alias("risk"),
        pl.col("enterprise_id").is_in(list(fams)).alias("y"),
        pl.col("enterprise_id").is_in(list(risk)).alias("case"),
    )

    def topk(g: pl.DataFrame) -> pl.DataFrame:
        k = max(1, round(0.05 * g.height))
        return g.sort(["risk", "enterprise_id"], descending=[True, False]).head(k)

    def pk(g: pl.DataFrame) -> float:
        return float(topk(g)["y"].mean())

    top = topk(ents)
    k_hits, k = int(top["y"].sum()), top.height
    order = ents.sort(["risk", "enterprise_id"], descending=[True, False])["y"].to_list()
    hits, ap = 0, 0.0
    for i, yv in enumerate(order, 1):
        if yv:
            hits += 1
            ap += hits / i
    clean = ents.filter(~pl.col("y"))
    out: dict = {
        "n": ents.height, "positives": int(ents["y"].sum()), "cases": int(ents["case"].sum()), "k": k,
        "p_at_k": round(k_hits / k, 3), "p_at_k_ci95": wilson(k_hits, k), "average_precision": round(ap / max(1, hits), 3),
        "recall_any": round(sum(e in risk for e in fams) / max(1, len(fams)), 3),
        "clean_with_case": round(float(clean["case"].mean()), 4), "clean_cases": int(clean["case"].sum()),
        "clean_with_case_ci95": wilson(int(clean["case"].sum()), clean.height),
        "provinces": {p: round(pk(g), 3) for (p,), g in sorted(ents.group_by("province_code")) if g.height >= 20},
    }
    has, in_k = set(risk), set(top["enterprise_id"].to_list())
    fam_rec = {}
    for fam in sorted({f for s in fams.values() for f in s}):
        es = [e for e, s in fams.items() if fam in s]
        fam_rec[fam] = {"n": len(es), "recall": round(sum(e in has for e in es) / len(es), 3),
                        "recall_at_k": round(sum(e in in_k for e in es) / len(es), 3)}
    out["recall"] = fam_rec
    # an intermediary's clients with no evidence of their own get no enterprise case (DOMAIN.md §4b) but are
    # listed by its agency case: recall counting those listings too, and the clean clients they list
    from carbonqa.cases.agency import agency_of, opening_agencies

    listed: set[str] = set()
    for y in sorted({int(f.year) for f in res["findings"] if f.year is not None}):
        groups = opening_agencies(((f, agency_of(f)) for f in res["findings"]), y)
        listed |= {f.enterprise_id for fs in groups.values() for f in fs}
    surfaced = has | listed
    out["recall_with_agency_listing"] = round(sum(e in surfaced for e in fams) / max(1, len(fams)), 3)
    out["recall_with_agency_listing_by_family"] = {
        fam: round(sum(e in surfaced for e, s in fams.items() if fam in s) / v["n"], 3) for fam, v in fam_rec.items()}
    clean_ids = set(clean["enterprise_id"].to_list())
    out["clean_listed_by_agency_case_only"] = len((listed - has) & clean_ids)
    look = res.get("lookalikes")
    if look is not None and "kind" not in look.columns and "pattern" in look.columns:  # carbonqa.synth's columns
        look = look.rename({"pattern": "kind"})
    if look is not None and "kind" in look.columns:
        kinds = look.filter(pl.col("enterprise_id").is_in(list(clean_ids))).group_by("kind").agg(pl.col("enterprise_id").unique())
        out["clean_with_case_by_honest_operation"] = {
            kind: {"enterprises": len(ids), "with_case": sum(e in has for e in ids)} for kind, ids in sorted(kinds.iter_rows())}
    out["firing_rates"] = {f"{c}:{sv}": {"enterprises": r.n_firing, "rate": round(r.rate, 4), "reliability": r.reliability}
                           for (c, sv), r in sorted(rates.items(), key=lambda kv: -kv[1].n_firing)}
    med = defaultdict(set)
    for f in res["findings"]:
        if f.enterprise_id in clean_ids and f.severity in SERIOUS:
            med[f.rule_code].add(f.enterprise_id)
    opened = Counter(c for e in clean_ids & has for c in opened_by[e])
    out["noise"] = {c: {"clean_ents_medium+": len(v), "clean_cases_with_code": opened.get(c, 0)}
                    for c, v in sorted(med.items(), key=lambda kv: -len(kv[1]))}
    return out


def evaluate_export(export_csv: Path, labels_csv: Path, enterprises_csv: Path) -> dict:
    """The same metrics on a real night's case export (e.g. ``bench/national.py``'s ``cases_*.csv``).

    Enterprise risk = its highest case score (0 without a case); labels are read for evaluation only.
    """
    cases = pl.read_csv(export_csv, infer_schema_length=0).with_columns(pl.col("risk_score").cast(pl.Float64))
    risk = cases.group_by("enterprise_id").agg(pl.col("risk_score").max())
    ents = pl.read_csv(enterprises_csv, infer_schema_length=0).select("enterprise_id", "province_code")
    labels = pl.read_csv(labels_csv, infer_schema_length=0)
    fams = labels.group_by("enterprise_id").agg(pl.col("family").unique())
    fam_of = {r[0]: set(r[1]) for r in fams.iter_rows()}
    r = ents.join(risk, on="enterprise_id", how="left").with_columns(
        pl.col("risk_score").is_not_null().alias("case"), pl.col("risk_score").fill_null(0.0).alias("risk"),
        pl.col("enterprise_id").is_in(list(fam_of)).alias("y"))

    def pk(g: pl.DataFrame) -> float:
        k = max(1, round(0.05 * g.height))
        return float(g.sort(["risk", "enterprise_id"], descending=[True, False]).head(k)["y"].mean())

    clean = r.filter(~pl.col("y"))
    has = set(r.filter(pl.col("case"))["enterprise_id"].to_list())
    rec = {}
    for fam in sorted({f for v in fam_of.values() for f in v}):
        es = [e for e, v in fam_of.items() if fam in v]
        rec[fam] = {"n": len(es), "recall": round(sum(e in has for e in es) / len(es), 3)}
    return {"n": r.height, "positives": int(r["y"].sum()), "cases": cases.height, "enterprises_with_case": len(has),
            "clean_with_case": round(float(clean["case"].mean()), 4), "clean_cases": int(clean["case"].sum()),
            "p_at_k": round(pk(r), 3),
            "provinces": {p: round(pk(g), 3) for (p,), g in sorted(r.group_by("province_code")) if g.height >= 20},
            "recall": rec}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--provinces", default="13,14,15,32,37,44", help="comma list, or 'all'")
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--fraud-rate", type=float, default=0.08)
    ap.add_argument("--cache", type=Path, default=REPO / "var" / "case_policy")
    ap.add_argument("--reuse", action="store_true", help="re-evaluate cached findings (no re-screening)")
    ap.add_argument("--gen", choices=("synth", "xsynth"), default="synth", help="bundle generator")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--export", type=Path, default=None, help="evaluate a case export instead (with --labels, --enterprises)")
    ap.add_argument("--labels", type=Path, default=None)
    ap.add_argument("--enterprises", type=Path, default=None)
    a = ap.parse_args()
    if a.export:
        print(json.dumps(evaluate_export(a.export, a.labels, a.enterprises), indent=1))
        return
    from carbonqa.cases import opens_case

    provinces = None if a.provinces == "all" else a.provinces.split(",")
    results = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        pkl = a.cache / f"{a.gen}{seed}_{a.provinces.replace(',', '-')}.pkl"
        if a.reuse and pkl.is_file():
            res = pickle.loads(pkl.read_bytes())
        else:
            res = screen(seed, provinces, a.cache / f"work_{a.gen}{seed}", a.year, a.fraud_rate, a.gen)
            pkl.parent.mkdir(parents=True, exist_ok=True)
            pkl.write_bytes(pickle.dumps(res))
        row = {"seed": seed, "policy": evaluate(res, opens_case), "any_finding": evaluate(res, _any_policy)}
        results.append(row)
        print(json.dumps(row, indent=1))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
