"""Take the README's screenshots of a running dashboard with headless Chromium (Playwright).

Usage: ``python scripts/screenshots.py --url http://localhost:8501 --user demo-prov-15 --password … --out docs/screenshots``
Signs in, and saves ``overview.png``, ``queue.png`` and ``case_evidence.png`` (the top case, the whole
evidence tab). Needs
Debian's ``chromium`` (installed by ``scripts/setup.sh``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    """Parse arguments, drive the browser, write the PNGs."""
    from playwright.sync_api import expect, sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://localhost:8501")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1800}, locale="zh-CN")
        page.goto(a.url)
        page.get_by_label("用户名").fill(a.user)
        page.get_by_label("密码").fill(a.password)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_text("最近一次筛查")).to_be_visible(timeout=60_000)
        page.mouse.move(5, 5)  # no hover toolbar over a chart
        page.wait_for_timeout(2500)
        page.screenshot(path=str(a.out / "overview.png"))
        page.get_by_role("link", name="案件队列").click()
        expect(page.get_by_text("符合条件的案件")).to_be_visible(timeout=60_000)
        page.mouse.move(5, 5)
        page.wait_for_timeout(2500)
        page.screenshot(path=str(a.out / "queue.png"))
        page.get_by_role("button", name="打开案件").click()
        expect(page.get_by_text("月度数据（可疑月份标红）")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(3000)
        # Streamlit scrolls inside its main block, so full_page sees one viewport: grow the viewport instead
        height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": 1440, "height": min(int(height) + 40, 6000)})
        page.mouse.move(5, 5)
        page.wait_for_timeout(3000)
        page.screenshot(path=str(a.out / "case_evidence.png"))
        browser.close()
    print(f"screenshots → {a.out}")


if __name__ == "__main__":
    main()
