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
    assert any("CC-101" in m.value for m in at.markdown)  # every finding with its code and zh-CN text
    assert at.download_button  # the PDF brief


def test_municipal_cannot_open_another_citys_case(app):
    at = app("baotou")
    at.session_state["case_id"] = "CQ-2024-E0001"  # 鄂尔多斯市
    at.run()
    at.switch_page("app_pages/case.py")
    at.run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("无权查看该案件")
    assert "测试电厂0001有限公司" not in _texts(at)


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
    assert list(events["action"])[:1] == ["status"] and "资料初审完成" in list(events["note"])
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
    assert "outcome" in list(at.dataframe[-1].value["action"])


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
    _w(at, "text_input", "a_note").input("已约定3月12日现场检查")
    _w(at, "button", "a_go_transition").click()
    at.run()
    assert not at.exception
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
