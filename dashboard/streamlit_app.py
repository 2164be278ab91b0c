"""carbonqa dashboard — entry point: sign-in, language, jurisdiction, navigation.

Run with ``streamlit run dashboard/streamlit_app.py``. Pages live in ``app_pages/`` behind
``st.navigation``; every read goes through :mod:`dashboard.data` (cached, scoped calls into
``carbonqa.queries``), every write through ``carbonqa.cases``.

Session state: ``user`` (dict: username, role, province_code, city_name, display_name) after sign-in,
``lang`` (``zh``/``en``), ``case_id`` (the case the detail page shows).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # `streamlit run dashboard/streamlit_app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(_ROOT))

from dashboard import data, i18n, session  # noqa: E402
from dashboard.i18n import t  # noqa: E402
from dashboard.text import md  # noqa: E402

st.session_state.setdefault("lang", "zh")
# the browser tab: the service's name in the reader's language and its icon (favicon)
st.set_page_config(page_title=t("app.tab_title"), page_icon=":material/factory:", layout="wide",
                   initial_sidebar_state="expanded")


def _scope_label(u: dict) -> str:
    if u["role"] in ("national", "auditor"):
        return t("scope.national")
    label = i18n.province(u.get("province_code"))
    return f"{label} {md(i18n.city(u['city_name'], u.get('province_code')))}" if u.get("city_name") else label


def _login() -> None:
    from carbonqa.auth import authenticate

    st.title(t("app.title"))
    st.caption(t("login.intro"))
    with st.form("login", width=420):
        username = st.text_input(t("login.username"), key="login_username")
        password = st.text_input(t("login.password"), type="password", key="login_password")
        ok = st.form_submit_button(t("login.submit"), type="primary", key="login_submit")
    if ok:
        user = authenticate(username, password, url=data.url())
        if user is None:
            st.error(t("login.failed"))
            return
        st.session_state["user"] = {
            "username": user.username,
            "role": user.role,
            "province_code": user.province_code,
            "city_name": user.city_name,
            "display_name": user.display_name or user.username,
        }
        st.session_state.pop("signed_out", None)
        st.session_state["cookie_to_set"] = session.issue(user.username, data.url())  # written by the next run
        st.rerun()




def _set_lang() -> None:
    st.session_state["lang"] = st.session_state["lang_radio"]
    # Selectboxes and multiselects hand their state back as the *labels* the browser shows: after a switch the
    # browser would send labels of the old language, which match no option any more. Pin every widget's value
    # (the option, not its label) from Python so the next run draws it selected, relabelled.
    for key in list(st.session_state.keys()):
        if key in ("lang", "lang_radio"):
            continue
        value = st.session_state[key]
        # options are strings, numbers or lists of them; buttons (bool), tables' selections and charts' events
        # (dicts) are left alone: a button's state cannot be set
        if isinstance(value, bool) or not isinstance(value, str | int | float | list | tuple):
            continue
        try:
            st.session_state[key] = value
        except StreamlitAPIException:
            pass


# ``lang`` is a plain session key; the radio has its own key, re-seeded on every run, because Streamlit
# drops a widget's state when st.switch_page leaves the run early (the language fell back to Chinese).
st.session_state["lang_radio"] = i18n.lang()
with st.sidebar:
    st.radio(t("app.lang"), i18n.LANGS, key="lang_radio", on_change=_set_lang, horizontal=True,
             format_func=lambda x: "中文" if x == "zh" else "English")

user = st.session_state.get("user")
if user:  # role and jurisdiction as the store has them now, not as they were at sign-in
    user = session.refresh(user, data.url())
    if user is None:
        for k in ("user", "case_id"):
            st.session_state.pop(k, None)
        st.session_state["signed_out"] = True
        st.session_state["cookie_to_clear"] = True
    else:
        st.session_state["user"] = user
if not user and not st.session_state.get("signed_out"):
    # a reload or a new tab: the signed session cookie signs the reader in again (user re-read from the store)
    user = session.verify(session.read_cookie(), data.url())
    if user:
        st.session_state["user"] = user
pages = [
    st.Page("app_pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", default=True),
    st.Page("app_pages/map.py", title=t("nav.map"), icon=":material/map:"),
    st.Page("app_pages/queue.py", title=t("nav.queue"), icon=":material/list_alt:"),
    st.Page("app_pages/agencies.py", title=t("nav.agencies"), icon=":material/domain:"),
    st.Page("app_pages/case.py", title=t("nav.case"), icon=":material/plagiarism:"),
    st.Page("app_pages/rules.py", title=t("nav.rules"), icon=":material/menu_book:"),
    st.Page("app_pages/runs.py", title=t("nav.runs"), icon=":material/schedule:"),
]
# st.navigation runs before sign-in too (hidden): the requested page and its query parameters (a permalink
# /case?case=…, queue filters) stay in the address bar through the sign-in and open right after it
page = st.navigation(pages, position="sidebar" if user else "hidden")
if not user:
    if st.session_state.pop("cookie_to_clear", False):
        session.write_cookie("", 0)
    _login()
    st.stop()

with st.sidebar:
    st.markdown(f"**{t('app.signed_in', name=md(user.get('display_name') or user['username']), role=i18n.role(user['role']))}**")
    st.caption(t("app.scope", scope=_scope_label(user)))
    if user["role"] == "auditor":
        st.caption(t("app.readonly"))
    token = st.session_state.pop("cookie_to_set", None)
    if token:
        session.write_cookie(token, session.MAX_AGE)
    c1, c2 = st.columns(2)
    out = c1.button(t("app.logout"), key="logout")
    out_all = c2.button(t("app.logout_all"), key="logout_all", help=t("app.logout_all_help"))
    if out or out_all:
        if out_all:
            session.sign_out_everywhere(user["username"])
        for k in ("user", "case_id"):
            st.session_state.pop(k, None)
        st.session_state["signed_out"] = True  # this connection's handshake cookie no longer signs in
        st.session_state["cookie_to_clear"] = True
        st.rerun()

page.run()
