"""A sha256 over a night's findings: the refactor guard ("same findings before and after").

Reads the ``findings`` table of a store (SQLite or PostgreSQL URL) and hashes, in a fixed sort order,
one line per finding::

    rule_code | enterprise_id | unit_id | year | period | detail_key | severity | score (4 dp)
              | tco2_at_stake (1 dp) | observed | expected

``severity`` is the original (pre-suppression) severity; ``observed`` / ``expected`` are the stored JSON
text. Messages and evidence are not hashed (wording may change without the finding changing).

Usage::

    .venv/bin/python bench/findings_hash.py sqlite:////tmp/speed303/carbonqa.db
    .venv/bin/python bench/findings_hash.py URL --run-id cli-… --by-code      # plus counts per rule code
    .venv/bin/python bench/findings_hash.py URL --dump /tmp/a.txt             # the hashed lines, to diff

Exit status 0; prints ``<sha256>  <n> findings``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

__all__ = ["finding_lines", "findings_hash", "main"]

_COLS = ("rule_code", "enterprise_id", "unit_id", "year", "period", "detail_key", "original_severity", "severity",
         "score", "tco2_at_stake", "observed", "expected")


def _s(v: object) -> str:
    return "" if v is None else str(v)


def finding_lines(url: str, run_id: str | None = None) -> list[str]:
    """Sorted canonical lines, one per stored finding (``last_run_id == run_id`` when given).

    Args:
        url: SQLAlchemy URL of a carbonqa store (the ``findings`` table of :mod:`carbonqa.store.models`).
        run_id: restrict to findings last seen by this run (default: every stored finding).

    Returns:
        ``"|"``-joined lines (score rounded to 4 dp, t CO₂ at stake to 1 dp), sorted.

    Raises:
        sqlalchemy.exc.OperationalError: the store has no ``findings`` table or cannot be opened.
    """
    eng = sa.create_engine(url)
    q = "SELECT " + ", ".join(_COLS) + " FROM findings"
    params: dict[str, str] = {}
    if run_id:
        q += " WHERE last_run_id = :run"
        params["run"] = run_id
    out: list[str] = []
    with eng.connect() as conn:
        for r in conn.execute(sa.text(q), params).mappings():
            sev = r["original_severity"] or r["severity"]
            score = f"{float(r['score'] or 0.0):.4f}"
            stake = f"{float(r['tco2_at_stake'] or 0.0):.1f}"
            out.append("|".join([_s(r["rule_code"]), _s(r["enterprise_id"]), _s(r["unit_id"]), _s(r["year"]),
                                 _s(r["period"]), _s(r["detail_key"]), _s(sev), score, stake,
                                 _s(r["observed"]), _s(r["expected"])]))
    eng.dispose()
    return sorted(out)


def findings_hash(url: str, run_id: str | None = None) -> tuple[str, int]:
    """``(sha256 hex of the newline-joined lines of :func:`finding_lines`, number of findings)``."""
    lines = finding_lines(url, run_id)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest(), len(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print ``<sha256>  <n> findings`` (and optionally counts per code, a dump)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url", help="store URL, e.g. sqlite:////tmp/speed303/carbonqa.db")
    ap.add_argument("--run-id", default=None)
    ap.add_argument("--by-code", action="store_true", help="also print the number of findings per rule code")
    ap.add_argument("--dump", type=Path, default=None, help="write the hashed lines to this file")
    a = ap.parse_args(argv)
    lines = finding_lines(a.url, a.run_id)
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    print(f"{digest}  {len(lines)} findings")
    if a.by_code:
        for code, n in sorted(Counter(x.split("|", 1)[0] for x in lines).items()):
            print(f"  {code:<8} {n}")
    if a.dump:
        a.dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
