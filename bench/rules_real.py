"""Run every rule on the adapted real bundles (US EIA-923 + EPA AMPD, AU NGER) already ingested.

Usage::

    carbonqa adapt us --out R/us && carbonqa adapt nger --out R/nger
    CARBONQA_HOME=H carbonqa ingest --bundle R/us && CARBONQA_HOME=H carbonqa ingest --bundle R/nger
    CARBONQA_HOME=H .venv/bin/python bench/rules_real.py

Prints findings per year and rule with two example messages each.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import checks
from carbonqa.screening import ScreenContext
from carbonqa.settings import get_settings


def main() -> None:
    s = get_settings()
    total: Counter = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    per_year: dict[int, dict[str, int]] = {}
    for year in range(2011, 2021):
        ctx = ScreenContext(year=year, url=s.db_url, lake_dir=s.lake_dir, run_id="real")
        fs = checks.run(ctx)
        per_year[year] = dict(Counter(f.rule_code for f in fs))
        for f in fs:
            total[(f.rule_code, f.severity)] += 1
            if len(examples[f.rule_code]) < 3:
                examples[f.rule_code].append(f"{f.province_code} {f.message_en} (stake {f.tco2_at_stake:.0f} t)")
    print(json.dumps({"per_year": per_year, "total": {f"{c} {sev}": n for (c, sev), n in sorted(total.items())},
                      "examples": examples}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
