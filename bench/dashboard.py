"""Dashboard benchmark: server time to render the case queue and a case's evidence pack on a national night.

Seeds a fresh store with ``--cases`` cases (default 3,000, one enterprise and unit each, 3 findings per
case, twelve monthly reports and lab reports per unit — the shape of a national night) with the test
seeder ``tests/dashboard/seed.py``, then measures, as a national screener:

* the queries alone (:func:`carbonqa.queries.case_queue`, :func:`~carbonqa.queries.overview`,
  :func:`~carbonqa.queries.case_detail`), median of ``--repeat`` runs;
* the whole server-side render of the page with ``streamlit.testing.v1.AppTest`` (script run + query
  + charts + dataframe serialisation), **cold** (``st.cache_data`` cleared before the run: the first
  reader after a night) and **warm** (the next rerun, cached reads).

Targets (issue 6): queue < 1.5 s, case detail < 1 s (server time, cold). The table goes into the
dashboard section of ``bench/README.md`` (between the ``dashboard`` markers); other sections are left
alone.

Usage::

    .venv/bin/python bench/dashboard.py                    # 3,000 cases on SQLite, writes bench/README.md
    .venv/bin/python bench/dashboard.py --cases 500 --no-readme
    .venv/bin/python bench/dashboard.py --url postgresql://postgres@127.0.0.1:5432/test   # an empty database
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BEGIN, END = "<!-- dashboard:begin -->", "<!-- dashboard:end -->"
TARGETS = {"queue": 1.5, "case": 1.0}


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _apptest_page(page: str, user: dict, repeat: int) -> tuple[float, float]:
    """(cold, warm) median seconds of one page's server render, signed in as ``user``."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    cold, warm = [], []
    for _ in range(repeat):
        at = AppTest.from_file(str(ROOT / "dashboard" / "streamlit_app.py"), default_timeout=120)
        at.session_state["user"] = user
        at.session_state["lang"] = "zh"
        at.run()
        at.switch_page(page)
        st.cache_data.clear()
        t0 = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - t0)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
        if not at.title or (page.endswith(("queue.py", "case.py")) and not at.dataframe):
            raise RuntimeError(f"{page} did not render its title and table")
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    return statistics.median(cold), statistics.median(warm)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--url", help="an empty, migrated-or-not database URL (default: a temporary SQLite file)")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="carbonqa-bench-dash-")
    url = args.url or f"sqlite:///{tmp}/store.db"
    os.environ["CARBONQA_DATABASE_URL"] = url
    os.environ["CARBONQA_HOME"] = tmp
    from carbonqa import queries
    from carbonqa.jurisdiction import Scope
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade
    from tests.dashboard.seed import seed_store

    get_settings.cache_clear()
    upgrade(url)
    t0 = time.perf_counter()
    seeded = seed_store(url, args.cases)
    seed_s = time.perf_counter() - t0
    nat = Scope("nat", "national")
    prov = Scope("prov15", "provincial", "15")

    rows: list[tuple[str, float, str]] = []
    rows.append(("queries.case_queue (national, page 1 of 50)",
                 _median(lambda: queries.case_queue(nat, page=1, page_size=50, url=url), args.repeat), ""))
    rows.append(("queries.case_queue (provincial 15)",
                 _median(lambda: queries.case_queue(prov, page=1, page_size=50, url=url), args.repeat), ""))
    rows.append(("queries.overview (national)", _median(lambda: queries.overview(nat, url), args.repeat), ""))
    rows.append(("queries.case_detail (top case)",
                 _median(lambda: queries.case_detail(nat, seeded.top_case, url), args.repeat), ""))
    rows.append(("queries.export_queue xlsx (all cases)",
                 _median(lambda: queries.export_queue(nat, None, "xlsx", url), 1), ""))

    user = {"username": "nat", "role": "national", "province_code": None, "city_name": None, "display_name": "nat"}
    q_cold, q_warm = _apptest_page("app_pages/queue.py", user, args.repeat)
    c_cold, c_warm = _apptest_page("app_pages/case.py", user, args.repeat)
    o_cold, o_warm = _apptest_page("app_pages/overview.py", user, args.repeat)

    def verdict(x: float, key: str) -> str:
        return f"target < {TARGETS[key]} s: {'✅' if x < TARGETS[key] else '❌'}"

    rows += [
        ("page render: 案件队列 queue, cold cache", q_cold, verdict(q_cold, "queue")),
        ("page render: 案件队列 queue, warm", q_warm, ""),
        ("page render: 案件详情 case detail, cold cache", c_cold, verdict(c_cold, "case")),
        ("page render: 案件详情 case detail, warm", c_warm, ""),
        ("page render: 总览 overview, cold cache", o_cold, ""),
        ("page render: 总览 overview, warm", o_warm, ""),
    ]
    db = url.split(":", 1)[0]
    lines = [
        BEGIN,
        "## Dashboard (`bench/dashboard.py`)",
        "",
        f"Server time to render the dashboard on a national night: {args.cases:,} cases with {args.cases * 3:,}-ish "
        f"findings, {args.cases * 12:,} monthly reports and lab reports ({db}; seeding took {seed_s:.1f} s), "
        f"signed in as a national screener. Median of {args.repeat}. *Cold* = `st.cache_data` cleared "
        "(the first reader after a night); *warm* = the next rerun. Page renders are `AppTest` runs: the "
        "page script, its scoped queries, the plotly figures and the dataframe serialisation, without the "
        "browser's own drawing.",
        "",
        "| what | seconds | |",
        "|---|---:|---|",
        *[f"| {name} | {sec:.3f} | {note} |" for name, sec, note in rows],
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared).",
        "Reproduce: `.venv/bin/python bench/dashboard.py` (`--cases N`, `--url postgresql://…`).",
        END,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_readme:
        readme = ROOT / "bench" / "README.md"
        old = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
        if BEGIN in old and END in old:
            new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n" + text + "\n"
        readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
