"""Case-level quality of national nights on held-out seeds, against the synthetic truth labels.

Evaluation only (the labels are never read by screening). For each work folder written by
``bench/national.py --workdir DIR --seed S --no-readme`` (bundle, labels beside it, case export):

* precision@k nationally, k = 5 % of enterprises (ranking by each enterprise's highest case score);
* precision@k per province with ≥ 20 enterprises (k = max(1, round(5 % of its enterprises))), listing
  the provinces below 0.8 with how many labelled enterprises they have (a province with fewer
  labelled enterprises than k cannot reach 1.0; one with none has no defined precision);
* recall per family = share of the family's labelled enterprises that got a case;
* clean enterprises with a case.

Usage: ``python bench/heldout.py /tmp/bnat101 /tmp/bnat202 /tmp/bnat303``
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import polars as pl


def evaluate(workdir: Path) -> dict:
    """Quality figures of one national night's work folder (see the module docstring)."""
    export = sorted(glob.glob(str(workdir / "home" / "**" / "cases_*.csv"), recursive=True))[-1]
    cases = pl.read_csv(export, infer_schema=False).with_columns(pl.col("risk_score").cast(pl.Float64))
    labels = pl.read_csv(workdir / "labels.csv", infer_schema=False)
    ent = pl.read_csv(workdir / "bundle" / "enterprises.csv", infer_schema=False)
    pos = labels["enterprise_id"].unique().to_list()
    by_ent = (cases.group_by("enterprise_id", "province_code").agg(pl.col("risk_score").max())
              .with_columns(pl.col("enterprise_id").is_in(pos).alias("pos")).sort("risk_score", descending=True))
    k = round(0.05 * ent.height)
    low = []
    for prov, n in ent.group_by("province_code").len().sort("province_code").iter_rows():
        if n < 20:
            continue
        kp = max(1, round(0.05 * n))
        npos = ent.filter((pl.col("province_code") == prov) & pl.col("enterprise_id").is_in(pos)).height
        p_at_k = by_ent.filter(pl.col("province_code") == prov).head(kp)["pos"].sum() / kp
        if p_at_k < 0.8:
            low.append({"province": prov, "enterprises": n, "k": kp, "labelled": npos, "p_at_k": round(p_at_k, 2)})
    cased = set(cases["enterprise_id"].to_list())
    recall = {f: round(sum(e in cased for e in ids) / len(ids), 2)
              for f, ids in labels.group_by("family").agg(pl.col("enterprise_id").unique()).sort("family").iter_rows()}
    clean = ent.filter(~pl.col("enterprise_id").is_in(pos)).height
    clean_cased = by_ent.filter(~pl.col("pos")).height
    return {"p_at_k": round(by_ent.head(k)["pos"].mean(), 3), "k": k, "clean_with_case": clean_cased / clean,
            "recall": recall, "provinces_below_0.8": low}


if __name__ == "__main__":
    for d in sys.argv[1:]:
        r = evaluate(Path(d))
        print(f"{d}: P@k {r['p_at_k']} (k={r['k']}), clean with a case {r['clean_with_case']:.2%}, "
              f"recall {r['recall']}, provinces below 0.8 {r['provinces_below_0.8']}")
