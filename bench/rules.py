"""Bench of the rule catalogue over a national synthetic year: time, GX share, detection, look-alikes.

Usage (after ``carbonqa synth --out B --year 2024`` and ``carbonqa ingest --bundle B``)::

    CARBONQA_HOME=... .venv/bin/python bench/rules.py --year 2024 --labels B.labels.csv \
        --lookalikes B.lookalikes.csv [--per-province] [--out bench/rules_result.json]

Reports: wall time of ``checks.run`` nationally (one context) and per province (31 contexts, as the
Airflow fan-out runs it), GX's share of it (:func:`checks.gx_results.gx_seconds`), findings per rule
and severity; recall per injected pattern (an injected enterprise-year counts as found when a rule of
the label's family fires on that enterprise); high/critical findings on honest enterprises (all, and
those carrying a look-alike).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--lookalikes", type=Path, required=True)
    ap.add_argument("--per-province", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/rules_result.json"))
    a = ap.parse_args()

    t_imp = time.perf_counter()
    import checks
    from carbonqa.screening import ScreenContext
    from carbonqa.settings import get_settings
    from checks.gx_results import gx_seconds, reset_gx_seconds

    import_s = time.perf_counter() - t_imp
    s = get_settings()
    res: dict = {"year": a.year, "import_s": round(import_s, 2)}

    reset_gx_seconds()
    t0 = time.perf_counter()
    ctx = ScreenContext(year=a.year, url=s.db_url, lake_dir=s.lake_dir, run_id="bench")
    findings = checks.run(ctx)
    res["national"] = {"wall_s": round(time.perf_counter() - t0, 2), "gx_s": round(gx_seconds(), 2),
                       "findings": len(findings)}
    print("national", res["national"], flush=True)

    if a.per_province:
        reset_gx_seconds()
        t0 = time.perf_counter()
        nat = ScreenContext(year=a.year, url=s.db_url, lake_dir=s.lake_dir, run_id="bench")
        per: list = []
        for pc in nat.province_codes():
            c = ScreenContext(year=a.year, provinces=(pc,), url=s.db_url, lake_dir=s.lake_dir, run_id="bench")
            c._national = nat  # the fan-out shares the national cache in one process
            per += checks.run(c)
        res["per_province"] = {"wall_s": round(time.perf_counter() - t0, 2), "gx_s": round(gx_seconds(), 2),
                               "findings": len(per), "same_ids_as_national": {f.id for f in per} == {f.id for f in findings}}
        print("per_province", res["per_province"], flush=True)

    by_rule = Counter((f.rule_code, f.severity) for f in findings)
    res["by_rule"] = {f"{c} {sev}": n for (c, sev), n in sorted(by_rule.items())}

    labels = pl.read_csv(a.labels, schema_overrides={"period": pl.String, "unit_id": pl.String})
    look = pl.read_csv(a.lookalikes, schema_overrides={"period": pl.String, "unit_id": pl.String})
    fam_ent = defaultdict(set)
    for f in findings:
        fam_ent[(f.family, f.enterprise_id)].add(f.rule_code)
    inst = labels.select("enterprise_id", "family", "pattern").unique()
    recall: dict = {}
    for (fam, pat), g in inst.group_by(["family", "pattern"]):
        hit = [e for e in g["enterprise_id"].to_list() if fam_ent.get((fam, e))]
        codes = Counter(c for e in hit for c in fam_ent[(fam, e)])
        recall[f"{fam}/{pat}"] = {"instances": g.height, "found": len(hit), "recall": round(len(hit) / g.height, 3),
                                  "codes": dict(codes.most_common(4))}
    res["recall"] = dict(sorted(recall.items()))

    injected = set(labels["enterprise_id"].to_list())
    hc = [f for f in findings if f.severity in ("high", "critical") and f.enterprise_id not in injected]
    res["honest_high_critical"] = {"findings": len(hc), "enterprises": len({f.enterprise_id for f in hc}),
                                   "by_rule": dict(Counter(f.rule_code for f in hc).most_common())}
    la: dict = {}
    for pat, g in look.group_by("pattern"):
        ents = set(g["enterprise_id"].to_list())
        bad = [f for f in hc if f.enterprise_id in ents]
        la[pat[0] if isinstance(pat, tuple) else pat] = {
            "enterprises": len(ents), "high_critical_findings": len(bad),
            "by_rule": dict(Counter(f.rule_code for f in bad).most_common())}
    res["lookalikes"] = dict(sorted(la.items()))
    n_honest = pl.concat([labels.select("enterprise_id"), look.select("enterprise_id")]).n_unique()
    res["n_enterprises_labelled_or_lookalike"] = n_honest
    a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1))
    print(json.dumps(res, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
