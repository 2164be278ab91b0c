"""AppTest of every page for every role (signed in through session state or the login form)."""

from __future__ import annotations

import pytest

from tests.dashboard.seed import PASSWORD

PAGES = ["app_pages/overview.py", "app_pages/queue.py", "app_pages/case.py", "app_pages/rules.py", "app_pages/runs.py"]
ROLES = ["nat", "prov15", "baotou", "audit"]


def _texts(at) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [str(m.label) + " " + str(m.value) for m in at.metric]
    return "\n".join(parts)


def _w(at, kind: str, name: str):
    """The one widget of ``kind`` whose key is ``name`` or ``name:<case>:<lock_version>`` (action forms)."""
    found = [e for e in getattr(at, kind) if e.key and e.key.split(":")[0] == name]
    assert len(found) == 1, (name, [e.key for e in getattr(at, kind)])
    return found[0]


def _open(app, user: str, page: str, lang: str = "zh"):
    at = app(user, lang)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("user", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_for_every_role(app, user, page):
    at = _open(app, user, page)
    assert at.title, "page drew no title"
    assert not at.error or page == "app_pages/rules.py", [e.value for e in at.error]


def test_login_form_signs_in_and_rejects_wrong_password(app):
    at = app(None)
    at.run()
    assert not at.exception
    at.text_input(key="login_username").input("prov15")
    at.text_input(key="login_password").input("wrong")
    at.button(key="login_submit").click()
    at.run()
    assert "user" not in at.session_state and at.error[0].value == "用户名或密码错误。"
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="login_submit").click()
    at.run()
    assert at.session_state["user"]["role"] == "provincial" and at.session_state["user"]["province_code"] == "15"
    assert at.title[0].value == "总览"
    assert "管辖范围：内蒙古" in _texts(at)


def test_english_is_available(app):
    at = _open(app, "nat", "app_pages/overview.py", lang="en")
    assert at.title[0].value == "Overview"
    assert "Cases and tCO₂ at stake by province" in _texts(at)
    at = _open(app, "nat", "app_pages/queue.py", lang="en")
    assert at.title[0].value == "Case queue"
    for page in ("app_pages/case.py", "app_pages/rules.py", "app_pages/runs.py"):
        at = _open(app, "prov15", page, lang="en")
        assert not at.exception
    text = _texts(at)
    assert "Seconds per stage" in text
    at = _open(app, "prov15", "app_pages/case.py", lang="en")
    assert "Monthly series (suspicious months in red)" in _texts(at)


def test_overview_numbers_follow_the_scope(app):
    text = _texts(_open(app, "baotou", "app_pages/overview.py"))
    assert "各省案件与涉及排放量" in text and "最近一次筛查" in text
    at = _open(app, "baotou", "app_pages/overview.py")
    assert at.metric[0].value == "2"  # 包头市 has 2 of the 8 cases
    assert _open(app, "nat", "app_pages/overview.py").metric[0].value == "8"


def test_queue_shows_only_the_jurisdiction_and_filters(app):
    at = _open(app, "prov15", "app_pages/queue.py")
    df = at.dataframe[0].value
    assert len(df) == 4 and set(df["province"]) == {"内蒙古"}
    assert list(df["rank"]) == sorted(df["rank"])
    assert at.download_button  # csv + xlsx export offered
    at.multiselect(key="f_city").select("鄂尔多斯市").run()
    df = at.dataframe[0].value
    assert len(df) == 2 and set(df["city_name"]) == {"鄂尔多斯市"}
    at = _open(app, "baotou", "app_pages/queue.py")
    assert set(at.dataframe[0].value["city_name"]) == {"包头市"}
    assert not [e for e in at.expander if e.label == "批量分派"]  # municipal inspectors do not assign


def test_bulk_assignment_by_provincial_reviewer(app, seeded_url):
    from carbonqa import queries
    from carbonqa.jurisdiction import Scope

    at = _open(app, "prov15", "app_pages/queue.py")
    _w(at, "multiselect", "bulk_cases").set_value(["CQ-2024-E0000", "CQ-2024-E0004"])
    _w(at, "selectbox", "bulk_to").set_value("baotou")
    _w(at, "button", "bulk_go").click()
    at.run()
    assert not at.exception
    assert "已分派 2 件。" in [s.value for s in at.success]
    # the queue on screen is redrawn from the store, and the form is empty again
    df = at.dataframe[0].value.set_index("case_id")
    assert df.loc["CQ-2024-E0000", "status_label"] == "已分派" and df.loc["CQ-2024-E0004", "assignee"] == "baotou"
    assert _w(at, "multiselect", "bulk_cases").value == [] and _w(at, "selectbox", "bulk_to").value is None
    page = queries.case_queue(Scope("x", "national"), queries.QueueFilter(assignee="baotou"), url=seeded_url)
    assert sorted(page.rows["case_id"]) == ["CQ-2024-E0000", "CQ-2024-E0004"]
    assert set(page.rows["status"]) == {"assigned"}


def test_case_detail_shows_the_evidence_pack(app):
    at = _open(app, "baotou", "app_pages/case.py")
    text = _texts(at)
    assert at.title[0].value == "测试电厂0000有限公司"
    for heading in ("月度数据（可疑月份标红）", "煤质化验值逐月对照（重复数值高亮）", "检测报告日期时间线", "核查机构记录",
                    "投诉举报线索", "报告值与运行数据对比"):
        assert heading in text, heading
    assert "4 个月份的 (Cad, Mad, Mt, Qnet,ar) 完全相同" in text
    assert "举报煤样检测报告系同一批次复制" in text
    assert any("CC-101" in m.value.replace("\\", "") for m in at.markdown)  # every finding, code and zh-CN text (escaped)
    assert at.download_button  # the PDF brief


def test_municipal_cannot_open_another_citys_case(app):
    at = app("baotou")
    at.session_state["case_id"] = "CQ-2024-E0001"  # 鄂尔多斯市
    at.run()
    at.switch_page("app_pages/case.py")
    at.run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("案件不存在或不在您的管辖范围内")
    assert "测试电厂0001有限公司" not in _texts(at)
    # exactly the answer for an id that does not exist (no existence oracle)
    at2 = app("baotou")
    at2.session_state["case_id"] = "CQ-2024-E9999"
    at2.run()
    at2.switch_page("app_pages/case.py")
    at2.run()
    assert [e.value.replace("E9999", "X") for e in at2.error] == [e.value.replace("E0001", "X") for e in at.error]


def test_status_change_and_note_show_in_history(app):
    at = _open(app, "prov15", "app_pages/case.py")
    assert at.metric[3].value == "新建"
    _w(at, "selectbox", "a_to").set_value("triaged")
    _w(at, "text_input", "a_note").input("资料初审完成")
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert not at.exception
    assert at.metric[3].value == "已初审"
    assert "已保存。" in [s.value for s in at.success]
    events = at.dataframe[-1].value
    assert list(events["action_label"])[:1] == ["状态变更"] and "资料初审完成" in list(events["note"])
    _w(at, "text_area", "a_note_text").input("已电话联系企业")
    _w(at, "button", "a_go_note").click()
    at.run()
    assert "已电话联系企业" in list(at.dataframe[-1].value["note"])
    _w(at, "selectbox", "a_who").set_value("baotou")
    _w(at, "button", "a_go_assign").click()
    at.run()
    assert at.metric[3].value == "已分派" and at.metric[4].value == "baotou"


def test_municipal_records_the_outcome(app, seeded_url):
    from carbonqa import cases
    from carbonqa.jurisdiction import Scope

    prov = Scope("prov15", "provincial", "15")
    c = cases.transition("CQ-2024-E0000", "triaged", prov, 1, url=seeded_url)
    c = cases.assign("CQ-2024-E0000", "baotou", prov, c.lock_version, url=seeded_url)
    cases.transition("CQ-2024-E0000", "inspection_scheduled", Scope("baotou", "municipal", "15", "包头市"),
                     c.lock_version, url=seeded_url)
    at = _open(app, "baotou", "app_pages/case.py")
    _w(at, "radio", "a_kind").set_value("confirmed")
    _w(at, "selectbox", "a_family").set_value("copied_values")
    _w(at, "text_input", "a_pattern").input("一批次化验冒充12个月")
    _w(at, "text_area", "a_reason").input("现场核实：化验原始记录仅一份")
    _w(at, "button", "a_go_outcome").click()
    at.run()
    assert not at.exception
    assert at.metric[3].value == "已查实"
    assert "检查结果" in list(at.dataframe[-1].value["action_label"])


def test_auditor_is_read_only(app):
    at = _open(app, "audit", "app_pages/case.py")
    assert "只读账户：不能修改案件。" in [i.value for i in at.info]
    assert not [b for b in at.button if b.key and b.key.startswith("a_go")]


def _scheduled_by_baotou(app, seeded_url):
    """CQ-2024-E0000 assigned to baotou (API), then scheduled by baotou through the form with a note."""
    from carbonqa import cases
    from carbonqa.jurisdiction import Scope

    prov = Scope("prov15", "provincial", "15")
    c = cases.transition("CQ-2024-E0000", "triaged", prov, 1, url=seeded_url)
    cases.assign("CQ-2024-E0000", "baotou", prov, c.lock_version, url=seeded_url)
    at = _open(app, "baotou", "app_pages/case.py")
    assert at.metric[3].value == "已分派"
    _w(at, "selectbox", "a_to").set_value("inspection_scheduled")
    _w(at, "text_input", "a_note").input("已电话通知企业")
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert at.metric[3].value == "已分派" and "安排现场检查需填写检查日期和检查人员。" in [e.value for e in at.error]
    import datetime as dt

    _w(at, "selectbox", "a_to").set_value("inspection_scheduled")
    _w(at, "date_input", "a_date").set_value(dt.date(2025, 3, 12))
    _w(at, "text_input", "a_inspectors").input("张三、李四")
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert not at.exception
    history = at.dataframe[-1].value
    assert "现场检查日期：2025-03-12；检查人员：张三、李四；已电话通知企业" in list(history["note"])
    assert at.metric[3].value == "已安排现场检查"
    return at


def _status_events(url: str) -> list:
    from carbonqa.jurisdiction import Scope
    from carbonqa.queries import case_detail

    ev = case_detail(Scope("x", "national"), "CQ-2024-E0000", url).events
    return [r for r in ev.iter_rows(named=True) if r["action"] == "status"]


def test_form_resets_after_a_save_and_a_second_apply_moves_nothing(app, seeded_url):
    # regression: the form kept showing 已安排现场检查 and the note after the save, while a second 确认
    # submitted the first option ("assigned") with the note again — the case moved backwards
    at = _scheduled_by_baotou(app, seeded_url)
    to = _w(at, "selectbox", "a_to")
    assert to.value is None and _w(at, "text_input", "a_note").value == ""  # the form shows the case as it is
    assert "当前状态：已安排现场检查" in _texts(at)
    n = len(_status_events(seeded_url))
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert not at.exception
    assert at.metric[3].value == "已安排现场检查" and len(_status_events(seeded_url)) == n
    assert "请先选择新状态。" in [e.value for e in at.error]


def test_backward_transition_asks_for_confirmation(app, seeded_url):
    at = _scheduled_by_baotou(app, seeded_url)
    _w(at, "selectbox", "a_to").set_value("assigned")
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert at.metric[3].value == "已安排现场检查"
    assert any("退回" in e.value for e in at.error), [e.value for e in at.error]
    _w(at, "selectbox", "a_to").set_value("assigned")  # the form kept the choice (same version)
    _w(at, "checkbox", "a_back").check()
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert not at.exception
    assert at.metric[3].value == "已分派"


def test_action_errors_are_in_the_readers_language_and_name_nothing(app, seeded_url, monkeypatch):
    from carbonqa import cases
    from carbonqa.jurisdiction import Scope
    from dashboard import i18n
    from dashboard.actions import bulk_assign

    with monkeypatch.context() as m:
        # AppTest formats widget values outside the script run, where the session's language is not
        # readable: pin English for the whole process instead
        m.setattr(i18n, "lang", lambda: "en")
        at = _open(app, "prov15", "app_pages/case.py", lang="en")
        _w(at, "button", "a_go_transition").click()  # nothing chosen
        at.run()
        assert [e.value for e in at.error] == ["Choose the new status first."]
        cases.transition("CQ-2024-E0000", "triaged", Scope("nat", "national"), 1, url=seeded_url)
        _w(at, "selectbox", "a_to").set_value("dismissed")
        _w(at, "text_input", "a_note").input("duplicate lead")
        _w(at, "button", "a_go_transition").click()
        at.run()
        assert [e.value for e in at.error] == ["Someone else changed this case; reload and try again."]
    # an out-of-scope case id (济南, province 37) answers like a missing one, naming nothing of it
    done, errors = bulk_assign(Scope("prov15", "provincial", "15"), seeded_url, ["CQ-2024-E0002", "CQ-nope"],
                               "baotou", {}, {})
    assert done == 0 and [e for _, e in errors] == ["案件不存在或不在您的管辖范围内。"] * 2


def test_rules_page_suppression_management_only_for_national(app):
    at = _open(app, "nat", "app_pages/rules.py")
    assert at.dataframe[0].value is not None
    assert "TIP-001" in list(at.dataframe[0].value["code"])
    at = _open(app, "prov15", "app_pages/rules.py")
    assert "仅国家级用户可管理豁免。" in _texts(at)


def test_national_user_approves_and_revokes_a_suppression(app, seeded_url):
    from carbonqa.jurisdiction import Scope
    from carbonqa.queries import suppressions

    at = _open(app, "nat", "app_pages/rules.py")
    at.selectbox(key="s_code").set_value("TIP-001")
    at.text_input(key="s_ent").input("E0000")
    at.text_area(key="s_reason").input("线索已核实为误报")
    at.button(key="s_go_approve").click()
    at.run()
    assert not at.exception
    assert "已保存。" in [s.value for s in at.success], [e.value for e in at.error]
    sup = suppressions(Scope("x", "national"), seeded_url)
    assert sup.height == 1 and sup["is_active"][0] and sup["approved_by"][0] == "nat"
    at.button(key="s_go_revoke").click()
    at.run()
    assert not suppressions(Scope("x", "national"), seeded_url)["is_active"][0]


def test_queue_year_filter_defaults_to_the_latest_year(app):
    at = _open(app, "nat", "app_pages/queue.py")
    year = at.selectbox(key="f_year")
    assert year.value == 2024 and year.options == ["2024", "全部年度"]
    df = at.dataframe[0].value
    assert set(df["year"]) == {2024} and len(df) == 8
    assert [m.placeholder for m in at.multiselect if m.key in ("f_prov", "f_city", "f_fam", "f_status")] == ["全部"] * 4
    year.set_value(0).run()  # all years
    assert not at.exception and len(at.dataframe[0].value) == 8


def _slowest(at):
    """The overview's table of the slowest partitions (dataframes carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if "seconds" in d.value.columns)


def test_latest_run_is_a_readable_summary(app, seeded_url):
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import ScreeningRun

    part = {"by_severity": {}, "missing": [], "new": 1}
    counts = {"partitions": {
        "2024/15": {**part, "year": 2024, "province_code": "15", "findings": 6, "seconds": 12.5,
                    "by_family": {"telemetry": 4, "verifier": 2}},
        "2024/65": {**part, "year": 2024, "province_code": "65", "findings": 1, "seconds": 2.0, "by_family": {"tip": 1},
                    "error": "RuntimeError: lost"},
    }, "cases": {"created": 5, "attached": 7}}
    with get_engine(seeded_url).begin() as conn:
        latest = conn.execute(sa.select(ScreeningRun.run_id).order_by(ScreeningRun.started_at.desc())).scalars().first()
        conn.execute(sa.update(ScreeningRun).where(ScreeningRun.run_id == latest).values(counts=counts))
    at = _open(app, "nat", "app_pages/overview.py")
    text = _texts(at)
    assert "'partitions'" not in text and "{" not in text  # no raw dict any more
    assert "筛查分区 2 个（2 个省级单位，2024 年度），失败 1 个" in text and "新建案件 5 件" in text
    assert "失败的分区：2024/65" in text
    assert [m.value for m in at.metric if m.label == "发现"] == ["7"]
    slow = _slowest(at)
    assert list(slow["province"]) == ["内蒙古", "新疆"] and list(slow["seconds"]) == [12.5, 2.0]
    at = _open(app, "nat", "app_pages/overview.py", lang="en")
    text = _texts(at)
    assert "partitions screened: 2 (provinces: 2; years 2024), failed: 1" in text
    assert list(_slowest(at)["province"]) == ["Inner Mongolia", "Xinjiang"]


def test_english_labels_are_english_everywhere(app):
    import json

    at = _open(app, "nat", "app_pages/overview.py", lang="en")
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            for axis in ("x", "y"):
                vals = trace.get(axis)
                if isinstance(vals, list):
                    assert not [v for v in vals if isinstance(v, str) and any("\u4e00" <= ch <= "\u9fff" for ch in v)]
    at = _open(app, "nat", "app_pages/queue.py", lang="en")
    df = at.dataframe[0].value
    assert "Inner Mongolia" in set(df["province"]) and "New" in set(df["status_label"])
    assert not [v for v in df["province"] if any("\u4e00" <= ch <= "\u9fff" for ch in v)]


def test_language_radio_is_seeded_from_the_plain_lang_key(app):
    # st.switch_page (the queue's "open case") drops widget state: the language lives in the plain key
    # ``lang`` and the radio is re-seeded from it on every run (checked in a browser; AppTest cannot drop it)
    at = _open(app, "prov15", "app_pages/overview.py", lang="en")
    assert at.session_state["lang"] == "en" and at.radio(key="lang_radio").value == "en"
    assert "Latest screening run" in _texts(at)
    at.radio(key="lang_radio").set_value("zh").run()  # the radio still switches the language
    assert at.session_state["lang"] == "zh" and "最近一次筛查" in _texts(at)


HOSTILE = "![x](http://evil.example/p.png) [官方通知](http://phish.example) <img src=x onerror=alert(1)> **粗** :red[红]"


def _make_hostile(url: str) -> None:
    """E0000's name, tip summary, a finding message and a note made hostile (a newer record version)."""
    import datetime as dt

    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import CaseEvent, FindingRow, raw_table

    ent = raw_table("enterprises")
    tips = raw_table("tips")
    with get_engine(url).begin() as conn:
        row = dict(conn.execute(sa.select(ent).where(ent.c.enterprise_id == "E0000")).mappings().first())
        row.pop("id", None)
        row.update(enterprise_name=HOSTILE, record_version=2, row_sha256="h" * 64)
        conn.execute(sa.insert(ent), [row])
        tip = dict(conn.execute(sa.select(tips).where(tips.c.enterprise_id == "E0000")).mappings().first())
        tip.pop("id", None)
        tip.update(summary="举报 " + HOSTILE, category="[分类](http://evil.example)", record_version=2,
                   row_sha256="t" * 64)
        conn.execute(sa.insert(tips), [tip])
        conn.execute(sa.update(FindingRow).where(FindingRow.finding_id == "F-00000-0").values(
            message_zh="申报值 " + HOSTILE, message_en="reported " + HOSTILE))
        conn.execute(sa.insert(CaseEvent), [dict(case_id="CQ-2024-E0000", at=dt.datetime(2025, 3, 1), actor="prov15",
                                                 action="note", before=None, after=None, note=HOSTILE)])


def _unescaped_markup(text: str) -> list[str]:
    """Markdown/HTML constructs in ``text`` that are not backslash-escaped (an image, a link, a tag)."""
    import re

    return re.findall(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(|(?<!\\)<img|(?<!\\):red\[", text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hostile_submitted_text_renders_as_text(app, seeded_url, lang):
    from dashboard.text import md

    _make_hostile(seeded_url)
    at = _open(app, "prov15", "app_pages/case.py", lang=lang)
    assert at.title[0].value == md(HOSTILE)  # the enterprise name, escaped
    sources = [str(e.value) for kind in ("title", "markdown", "caption", "warning", "info", "error", "success")
               for e in getattr(at, kind)]
    assert any("evil" in v for v in sources)  # the hostile text is shown …
    assert not [v for v in sources if _unescaped_markup(v)]  # … but never as an image, a link or a tag
    for kind in ("warning",):
        assert any(md("[分类](http://evil.example)") in e.value for e in getattr(at, kind))
    at = _open(app, "prov15", "app_pages/queue.py", lang=lang)
    assert HOSTILE in list(at.dataframe[0].value["enterprise_name"])  # tables show text as is


def test_text_md_escapes_every_markdown_construct():
    from dashboard.text import md, plot

    assert md("![x](http://e/p.png)") == "\\!\\[x\\]\\(htt\u2060p\\:\\/\\/e\\/p\\.png\\)"
    assert "\u2060" in md("www.e.com") and md("a@b.cn") == "a\\@\u2060b\\.cn"  # GFM literal autolinks broken
    assert md("a\nb\r\n# h") == r"a b \# h"
    assert md("包头市") == "包头市" and md(None) == ""
    assert plot("<a href='http://e'>x</a>") == "&lt;a href='http://e'&gt;x&lt;/a&gt;"


def test_overview_latest_run_shows_only_the_readers_jurisdiction(app, seeded_url):
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import ScreeningRun

    part = {"by_severity": {}, "missing": [], "new": 1}
    counts = {"partitions": {
        "2024/15": {**part, "year": 2024, "province_code": "15", "findings": 6, "seconds": 12.5,
                    "by_family": {"telemetry": 4, "verifier": 2}},
        "2024/37": {**part, "year": 2024, "province_code": "37", "findings": 9, "seconds": 3.0, "by_family": {"tip": 9},
                    "error": "RuntimeError: 济南市 E0002 lost"},
    }, "cases": {"created": 5, "attached": 7}}
    with get_engine(seeded_url).begin() as conn:
        latest = conn.execute(sa.select(ScreeningRun.run_id).order_by(ScreeningRun.started_at.desc())).scalars().first()
        conn.execute(sa.update(ScreeningRun).where(ScreeningRun.run_id == latest).values(
            counts=counts, status="failed", error="partition 2024/37: 济南市 E0002 lost"))
    at = _open(app, "prov15", "app_pages/overview.py")
    text = _texts(at)
    assert "筛查分区 1 个（1 个省级单位，2024 年度），失败 0 个" in text, text
    assert [m.value for m in at.metric if m.label == "发现"] == ["6"]
    assert list(_slowest(at)["province"]) == ["内蒙古"]
    assert "济南" not in text and "E0002" not in text and "2024/37" not in text and "山东" not in text
    assert "本次筛查有失败的环节（详情仅国家级用户可见）。" in text
    for page in ("app_pages/runs.py",):
        text = _texts(_open(app, "baotou", page))
        assert "济南" not in text and "E0002" not in text
    text = _texts(_open(app, "nat", "app_pages/overview.py"))
    assert "济南市 E0002" in text and "筛查分区 2 个" in text


def test_production_face_config():
    import tomllib

    from tests.dashboard.conftest import ROOT

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["toolbarMode"] == "viewer"  # no Deploy button or developer menu for end users
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["server"]["address"] == "127.0.0.1"  # loopback unless configured
    run = (ROOT / "scripts" / "run.sh").read_text()
    assert '--server.address "${CARBONQA_DASHBOARD_ADDRESS:-127.0.0.1}"' in run


def test_permalink_opens_the_case_after_sign_in(app):
    at = app(None)
    at.query_params["case"] = "CQ-2024-E0004"  # /case?case=CQ-2024-E0004, not signed in
    at.switch_page("app_pages/case.py")
    at.run()
    assert not at.exception and "user" not in at.session_state
    at.text_input(key="login_username").input("prov15")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="login_submit").click()
    at.run()
    assert not at.exception
    assert at.title[0].value == "测试电厂0004有限公司"  # the linked case, not 总览
    assert at.query_params["case"] == "CQ-2024-E0004"


def test_case_page_keeps_its_permalink_in_the_url(app):
    at = _open(app, "prov15", "app_pages/case.py")
    assert at.query_params["case"] == "CQ-2024-E0000"
    at.selectbox(key="c_pick").set_value("CQ-2024-E0001").run()
    assert at.title[0].value == "测试电厂0001有限公司" and at.query_params["case"] == "CQ-2024-E0001"


def test_out_of_scope_permalink_answers_like_a_missing_case(app):
    at = app("baotou")
    at.query_params["case"] = "CQ-2024-E0002"  # 济南
    at.switch_page("app_pages/case.py")
    at.run()
    assert at.error[0].value == "案件不存在或不在您的管辖范围内：CQ\\-2024\\-E0002"
    assert "测试电厂0002有限公司" not in _texts(at)


def test_clicking_a_queue_cell_opens_the_case(app):
    at = _open(app, "prov15", "app_pages/queue.py")
    row = list(at.dataframe[0].value["case_id"]).index("CQ-2024-E0001")
    at.session_state["queue_table:0"] = {"selection": {"rows": [], "columns": [], "cells": [[row, "enterprise_name"]]}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "测试电厂0001有限公司"


def test_queue_search_and_filters_in_the_url(app, seeded_url):
    from tests.carbonqa.test_queries import _move_to_baiyin

    _move_to_baiyin(seeded_url)
    at = _open(app, "nat", "app_pages/queue.py")
    at.text_input(key="f_search").input("白银").run()
    assert list(at.dataframe[0].value["case_id"]) == ["CQ-2024-E0003"]
    assert at.query_params["q"] == "白银"
    at = _open(app, "prov15", "app_pages/queue.py")
    at.text_input(key="f_search").input("白银").run()
    assert not at.dataframe and "没有符合条件的案件" in _texts(at) or not len(at.dataframe[0].value)
    # a link with filters opens the queue filtered (codes, not labels: the same link in either language)
    at = app("prov15", "en")
    at.query_params["status"] = "new"
    at.query_params["city"] = "鄂尔多斯市"
    at.query_params["province"] = "37"  # not the reader's: ignored
    at.run()
    at.switch_page("app_pages/queue.py")
    at.run()
    assert not at.exception
    assert at.multiselect(key="f_city").value == ["鄂尔多斯市"]
    df = at.dataframe[0].value
    assert set(df["city_name"]) == {"Ordos"} and len(df) == 2  # cities in English too (carbonqa.geo)


def _raw_codes() -> set[str]:
    from carbonqa import contract, queries

    return (set(contract.CASE_STATUSES) | {"critical", "high", "medium", "low", "info"} | set(contract.FAMILIES)
            | set(queries.ACTION_LABELS))


def _visible_cells(at) -> list[str]:
    """Every string cell of every table and every text element on the page."""
    out = [v for v in _texts(at).split("\n") if v]
    for d in at.dataframe:
        df = d.value
        for col in df.columns:  # missing values are drawn as the tables' placeholder "–" in the browser
            out += [str(v) for v in df[col].tolist() if v is not None and v == v]
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_raw_code_or_none_is_shown(app, seeded_url, lang):
    import re

    from carbonqa import cases
    from carbonqa.jurisdiction import Scope

    prov = Scope("prov15", "provincial", "15")
    c = cases.transition("CQ-2024-E0000", "triaged", prov, 1, note="初审", url=seeded_url)
    c = cases.assign("CQ-2024-E0000", "baotou", prov, c.lock_version, url=seeded_url)
    cases.add_note("CQ-2024-E0000", "电话联系", prov, url=seeded_url)
    raw = _raw_codes()
    word = re.compile(r"\b(" + "|".join(sorted(raw, key=len, reverse=True)) + r")\b")
    for page in PAGES:
        at = _open(app, "prov15", page, lang=lang)
        cells = _visible_cells(at)
        exact = [v for v in cells if v in raw or v in ("None", "nan", "null")]
        assert not exact, (page, exact)
        assert not [v for v in cells if "status=" in v or "{'" in v], page
        if lang == "zh":  # a Chinese page shows no English workflow code inside a sentence either
            leaks = [v for v in cells if word.search(v.replace("\\", "")) and "_" in word.search(v.replace("\\", "")).group(0)]
            assert not leaks, (page, leaks)
    at = _open(app, "prov15", "app_pages/case.py", lang=lang)
    history = at.dataframe[-1].value
    labels = {"zh": ["备注", "分派", "状态变更", "立案"], "en": ["Note", "Assignment", "Status change", "Opened"]}[lang]
    assert list(history.iloc[:, 2])[:4] == labels
    assert any(("新建 → 已初审" if lang == "zh" else "New → Triaged") in str(v) for v in history.iloc[:, 3])


def test_overview_counts_one_year_like_the_queue(app, seeded_url):
    import sqlalchemy as sa

    from carbonqa import queries
    from carbonqa.jurisdiction import Scope
    from carbonqa.store.db import get_engine
    from carbonqa.store.models import Case

    with get_engine(seeded_url).begin() as conn:
        row = dict(conn.execute(sa.select(Case.__table__).where(Case.case_id == "CQ-2024-E0001")).mappings().first())
        row.update(case_id="CQ-2023-E0001", year=2023)
        conn.execute(sa.insert(Case.__table__), [row])
    assert queries.overview(Scope("n", "national"), seeded_url, year=2023).totals["cases"] == 1
    at = _open(app, "nat", "app_pages/overview.py")
    assert at.selectbox(key="ov_year").value == 2024 and at.metric[0].value == "8"  # the latest year, as the queue
    at.selectbox(key="ov_year").set_value(0).run()
    assert at.metric[0].value == "9"
    q = _open(app, "nat", "app_pages/queue.py")
    assert q.selectbox(key="f_year").value == 2024 and len(q.dataframe[0].value) == 8


def test_no_english_select_all_in_the_chinese_queue(app):
    at = _open(app, "prov15", "app_pages/queue.py")
    for m in at.multiselect:  # Streamlit's "Select all" entry is English only: hidden in the Chinese UI
        assert m.proto.select_all == 0 or m.proto.select_all is False, m.key


def test_case_page_shows_the_probability_the_money_and_why(app):
    """Issue 12: p_confirm and its basis, and the stake in CNY at the year's allowance price."""
    at = _open(app, "baotou", "app_pages/case.py")
    labels = {m.label: m.value for m in at.metric}
    assert any(k.startswith("检查证实概率") for k in labels)
    cny = next(v for k, v in labels.items() if k.startswith("按配额价格折算"))
    assert cny not in ("", "–")
    assert any(e.label.startswith("评分依据") for e in at.expander)


def test_runs_page_shows_the_chain_head_of_the_export_sidecar(app, seeded_url):
    """Issue 14 item 4: the chain head on the dashboard is the one the export's sidecar carries."""
    import json

    from carbonqa import cases
    from carbonqa.store import chain
    from carbonqa.store.db import get_engine

    with get_engine(seeded_url).begin() as conn:
        chain.record_heads(conn, "r-test")
        head = chain.latest_head(conn)[1]
    at = _open(app, "nat", "app_pages/runs.py")
    assert any(head[:16] in c.value for c in at.caption), [c.value for c in at.caption]
    import tempfile
    from pathlib import Path

    out = Path(tempfile.mkdtemp()) / "cases.csv"
    cases.export_cases(out, url=seeded_url)
    assert json.loads(Path(f"{out}.sidecar.json").read_text())["chain_head"]["hash"] == head
