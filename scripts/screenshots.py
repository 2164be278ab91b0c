"""Take the README's screenshots of a running dashboard with headless Chromium (Playwright).

Usage: ``python scripts/screenshots.py --url http://127.0.0.1:8501 [--users $CARBONQA_HOME/demo_users.txt]
[--out docs/screenshots]``. For each tier of the demo users (``carbonqa users demo``: national screener,
provincial reviewer, municipal inspector) signs in and saves ``<tier>_<page>_<zh|en>.png`` for the case queue,
the top case's evidence pack (``/case?case=<id>``, the first case of the reader's queue), the agency cases, the
case map and the overview; the tier names are ``national``, ``prov<code>`` and ``city<code>`` unless ``--names`` gives
them (e.g. ``--names national,gansu,baiyin``). Prints the time from navigation to each page's main element.
The English pictures are taken after switching the language on the overview and following the sidebar's
links (switching on a page keeps its widgets' values in the old language). Needs Debian's ``chromium``
(installed by ``scripts/setup.sh``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the text that shows a page has drawn, per language
MARK = {"overview": ("最近一次筛查", "Latest screening run"), "queue": ("符合条件的案件", "Matching cases"),
        "case": ("月度数据（可疑月份标红）", "Monthly series (suspicious months in red)")}
LINK = {"overview": "Overview", "queue": "Case queue", "agencies": "Agency cases",
        "case": "Case detail / evidence pack", "map": "Case map"}
TITLE = {"agencies": ("机构案件", "Agency cases"), "map": ("案件地图", "Case map")}
MAX_HEIGHT = 5000


def _demo_users(path: Path) -> list[tuple[str, str, str, str]]:
    """(username, password, role, province) of the national, provincial and municipal demo users."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        f = line.split()
        if len(f) >= 3 and f[2] in ("national", "provincial", "municipal"):
            rows.append((f[0], f[1], f[2], f[3] if len(f) > 3 else ""))
    return rows


def main() -> None:
    """Parse arguments, drive the browser, write the PNGs."""
    from playwright.sync_api import expect, sync_playwright

    home = Path(os.environ.get("CARBONQA_HOME", "var"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--users", type=Path, default=home / "demo_users.txt")
    ap.add_argument("--names", default="", help="tier names for the file names, comma-separated, in file order")
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    users = _demo_users(a.users)
    names = a.names.split(",") if a.names else [
        "national" if r == "national" else ("prov" if r == "provincial" else "city") + p for _, _, r, p in users]

    def marker(page, name, lang):
        i = 0 if lang == "zh" else 1
        if name in MARK:
            return page.get_by_text(MARK[name][i], exact=True).first
        return page.get_by_role("heading", name=TITLE[name][i]).first

    def shoot(page, path):
        # Streamlit scrolls inside its main block, so full_page sees one viewport: grow the viewport instead
        page.mouse.move(5, 5)  # no hover toolbar over a chart
        page.wait_for_timeout(2500)
        height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": 1440, "height": max(900, min(int(height) + 40, MAX_HEIGHT))})
        page.mouse.move(5, 5)
        page.wait_for_timeout(2500)
        page.screenshot(path=str(path))
        page.set_viewport_size({"width": 1440, "height": 900})

    def visit(page, url, name):
        t0 = time.perf_counter()
        page.goto(url)
        expect(marker(page, name, "zh")).to_be_visible(timeout=90_000)
        return time.perf_counter() - t0

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for (user, password, _role, _prov), tier in zip(users, names, strict=True):
            ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page = ctx.new_page()
            page.goto(a.url)
            page.get_by_label("用户名").fill(user)
            page.get_by_label("密码").fill(password)
            page.get_by_role("button", name="登录").click()
            expect(marker(page, "overview", "zh")).to_be_visible(timeout=90_000)
            page.wait_for_function("() => document.cookie.includes('carbonqa_session=')", timeout=30_000)
            visit(page, a.url + "/queue", "queue")
            top = page.get_by_role("combobox", name="选择案件").input_value()  # the queue preselects its top case
            case_id = next(w for w in top.split() if w.startswith("CQ-"))
            urls = {"queue": a.url + "/queue", "case": f"{a.url}/case?case={case_id}",
                    "agencies": a.url + "/agencies", "map": a.url + "/map", "overview": a.url + "/"}
            timings = {}
            for name, url in urls.items():
                timings[name] = visit(page, url, name)
                shoot(page, a.out / f"{tier}_{name}_zh.png")
            page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
            expect(marker(page, "overview", "en")).to_be_visible(timeout=90_000)
            for name in ("queue", "case", "agencies", "map", "overview"):
                page.get_by_role("link", name=LINK[name]).click()
                expect(marker(page, name, "en")).to_be_visible(timeout=90_000)
                shoot(page, a.out / f"{tier}_{name}_en.png")
            print(tier, user, case_id, " ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
            ctx.close()
        browser.close()
    print(f"screenshots → {a.out}")


if __name__ == "__main__":
    main()
