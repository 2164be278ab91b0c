"""A real headless browser against `streamlit run`: a provincial reviewer signs in, opens the top case and
changes its status; screenshots go to tests/_artifacts/ only (the README's screenshots in docs/screenshots/ are
taken from a real national night with ``scripts/screenshots.py``, so a test run never dirties the tree).

Runs in CI; skipped only when /usr/bin/chromium is absent and we are not in CI.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.seed import PASSWORD, seed_store

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
IN_CI = bool(os.environ.get("CI")) or os.environ.get("CARBONQA_REQUIRE_POSTGRES") == "1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not IN_CI, reason=f"{CHROMIUM} not installed (not CI)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    from carbonqa.store import upgrade
    from carbonqa.store.db import dispose_engines

    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    seed_store(url, 12)
    dispose_engines()
    port = _free_port()
    env = dict(os.environ, CARBONQA_DATABASE_URL=url, CARBONQA_HOME=str(tmp_path / "var"))
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "streamlit_app.py"), "--server.headless",
         "true", "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(base + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy: " + (tmp_path / "streamlit.log").read_text())
    yield base, url
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
    log.close()


def test_provincial_reviewer_changes_the_top_case(server):
    from playwright.sync_api import expect, sync_playwright

    base, url = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 2200}, locale="zh-CN")
        page.goto(base)
        expect(page).to_have_title("全国碳市场数据质量监测 · carbonqa", timeout=30_000)
        page.get_by_label("用户名").fill("prov15")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_text("各地市案件与涉及排放量")).to_be_visible(timeout=30_000)  # one province: by city
        page.wait_for_timeout(1500)  # let plotly finish drawing
        page.screenshot(path=str(ARTIFACTS / "overview.png"))
        # the production face (.streamlit/config.toml): no Deploy button, no developer options
        assert page.get_by_test_id("stAppDeployButton").count() == 0
        assert page.get_by_role("button", name="Deploy").count() == 0

        page.get_by_role("link", name="案件队列").click()
        expect(page.get_by_text("符合条件的案件")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "queue.png"))

        page.get_by_role("button", name="打开案件").click()  # the top case of the page is preselected
        expect(page.get_by_role("heading", name="测试电厂0000有限公司")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("月度数据（可疑月份标红）")).to_be_visible()
        page.wait_for_timeout(2000)
        page.screenshot(path=str(ARTIFACTS / "case_evidence.png"))

        page.get_by_role("tab", name="处理", exact=True).click()
        form = page.get_by_test_id("stForm").filter(has_text="变更状态")
        form.get_by_test_id("stSelectbox").click()  # nothing is preselected: the reviewer picks the status
        page.get_by_role("option", name="已初审").click()
        form.get_by_role("textbox").fill("浏览器测试：初审完成")
        form.get_by_role("button", name="确认").click()
        expect(page.get_by_text("已保存。")).to_be_visible(timeout=30_000)
        metric = page.get_by_test_id("stMetric").filter(has_text="状态")
        expect(metric).to_contain_text("已初审")
        # regression (stale form): after the save the form shows the case as it is — no status chosen, no
        # note — and a second 确认 changes nothing
        form = page.get_by_test_id("stForm").filter(has_text="变更状态")
        expect(form.get_by_role("combobox", name="新状态")).to_have_value("")
        expect(form.get_by_role("textbox")).to_have_value("")
        form.get_by_role("button", name="确认").click()
        expect(page.get_by_text("请先选择新状态。")).to_be_visible(timeout=30_000)
        expect(metric).to_contain_text("已初审")
        page.get_by_role("tab", name=re.compile("^处理记录")).click()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "case_after_status.png"))
        browser.close()

    from carbonqa import queries
    from carbonqa.jurisdiction import Scope

    case = queries.get_case(Scope("t", "national"), "CQ-2024-E0000", url)
    assert case["status"] == "triaged"
    detail = queries.case_detail(Scope("t", "national"), "CQ-2024-E0000", url)
    assert "浏览器测试：初审完成" in detail.events["note"].to_list()


def test_permalink_reload_cell_click_and_sign_out(server):
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        # a permalink opened before sign-in opens its case right after it
        page.goto(base + "/case?case=CQ-2024-E0004")
        page.get_by_label("用户名").fill("prov15")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="测试电厂0004有限公司")).to_be_visible(timeout=30_000)
        assert "case=CQ-2024-E0004" in page.url
        # a reload keeps the reader signed in (signed session cookie) and on the same case
        page.wait_for_timeout(1000)
        assert any(c["name"] == "carbonqa_session" for c in page.context.cookies())
        page.reload()
        expect(page.get_by_role("heading", name="测试电厂0004有限公司")).to_be_visible(timeout=30_000)
        expect(page.get_by_label("用户名")).to_have_count(0)
        # the queue: a click on a row's cell opens that case
        page.get_by_role("link", name="案件队列").click()
        expect(page.get_by_text("符合条件的案件")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1500)
        grid = page.get_by_test_id("stDataFrame").first
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 230, box["y"] + 35 + 17)  # first row, enterprise name column
        expect(page.get_by_role("heading", name="测试电厂0000有限公司")).to_be_visible(timeout=30_000)
        # search, with the filters in the URL
        page.get_by_role("link", name="案件队列").click()
        search = page.get_by_label("搜索：企业名称、机组、城市、机构、案件号")
        search.fill("鄂尔多斯")
        search.press("Enter")
        expect(page.get_by_test_id("stMetric").filter(has_text="符合条件的案件")).to_have_text(
            re.compile(r"符合条件的案件\s*3$"), timeout=30_000)  # 12 seeded cases: 鄂尔多斯市 has 3
        assert "q=" in page.url
        page.screenshot(path=str(ARTIFACTS / "queue_search.png"))
        # sign out: a reload shows the sign-in form again
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)
        page.reload()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
        browser.close()


def test_hostile_enterprise_name_renders_as_text(server):
    from playwright.sync_api import expect, sync_playwright

    from tests.dashboard.test_app import HOSTILE, _make_hostile

    base, url = server
    _make_hostile(url)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
        page.on("request", lambda r: requests.append(r.url))
        page.goto(base + "/case?case=CQ-2024-E0000")
        page.get_by_label("用户名").fill("prov15")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        h1 = page.get_by_role("heading", level=1)
        expect(h1).to_contain_text("![x](htt", timeout=30_000)  # (a word joiner breaks the bare URL)
        assert "![x](http://evil.example/p.png)" in h1.inner_text().replace("\u2060", "")
        page.get_by_role("tab", name=re.compile("^发现")).click()
        page.get_by_role("tab", name=re.compile("^处理记录")).click()
        page.get_by_role("link", name="案件队列").click()
        expect(page.get_by_text("符合条件的案件")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "hostile_queue.png"))
        page.goto(base + "/case?case=CQ-2024-E0000")
        expect(page.get_by_role("heading", level=1)).to_contain_text("[官方通知](htt", timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "hostile_case.png"))
        # shown as text: no image fetched, no link, no tag, no coloured span
        assert page.locator("img[src*='evil.example']").count() == 0
        assert page.locator("a[href*='phish.example'], a[href*='evil.example']").count() == 0
        assert page.locator("img[src='x']").count() == 0
        assert not [u for u in requests if "evil.example" in u or "phish.example" in u]
        assert HOSTILE.split(" ")[0] in page.locator("h1").first.inner_text().replace("\u2060", "")
        browser.close()


def test_map_click_drills_down_to_cities(server):
    """The case map draws offline boundaries; a click on a coloured province shows its cities."""
    import io

    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1400}, locale="zh-CN")
        page.goto(base)
        page.get_by_label("用户名").fill("nat")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("link", name="案件地图")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="案件地图").click()
        expect(page.get_by_role("heading", name="案件地图")).to_be_visible(timeout=30_000)
        canvas = page.locator("canvas").first
        expect(canvas).to_be_visible(timeout=30_000)
        page.wait_for_timeout(2500)  # the map's entry animation
        box = canvas.bounding_box()
        img = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        scale = img.width / box["width"]
        # a province with open cases is filled from the legend's warm range; the others are light grey
        hit = next(((x, y) for y in range(0, img.height, 4) for x in range(img.width // 8, img.width, 4)
                    if (lambda r, g, b: r > 150 and r - b > 60 and g < 200)(*img.getpixel((x, y)))), None)
        assert hit is not None, "no province with open cases drawn"
        page.mouse.click(box["x"] + hit[0] / scale, box["y"] + hit[1] / scale)
        expect(page.get_by_role("button", name="返回全国")).to_be_visible(timeout=30_000)
        picked = page.get_by_role("combobox", name="范围").input_value()
        assert picked in ("内蒙古", "山东", "江苏"), picked
        page.wait_for_timeout(2000)
        page.screenshot(path=str(ARTIFACTS / "map_drilled.png"))
        browser.close()
