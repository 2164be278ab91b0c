"""规则目录 Rule catalogue: codes, families, descriptions, fire counts; suppressions (national users manage)."""

from __future__ import annotations

import datetime as dt

import plotly.express as px
import polars as pl
import streamlit as st

from dashboard import data, i18n
from dashboard.actions import approve_suppression, revoke_suppression, suppression_module
from dashboard.i18n import t

scope = data.current_scope()
db = data.url()
zh = i18n.lang() == "zh"

st.title(t("r.title"))
st.caption(t("r.intro"))
rules = data.rules(scope, db)
view = rules.with_columns(
    title=pl.col("title_zh" if zh else "title_en"),
    description=pl.col("description_zh" if zh else "description_en"),
    family_label=i18n.each(rules["family"], i18n.family),
    severity_label=i18n.each(rules["severity"], i18n.severity),
).select("code", "title", "family_label", "severity_label", "findings", "enterprises", "suppressed", "description", "source")

fired = view.filter(pl.col("findings") > 0).head(15)
if fired.height:
    st.subheader(t("r.top"))
    fig = px.bar(fired, x="findings", y="code", orientation="h", color="family_label", hover_data=["title"],
                 labels={"findings": t("col.findings"), "code": "", "family_label": t("col.family")})
    fig.update_layout(height=max(220, 24 * fired.height + 80), yaxis={"categoryorder": "total ascending"},
                      margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, key="r_top")

st.dataframe(view, hide_index=True, placeholder="–", key="r_table", column_config={
    "code": t("col.code"), "title": t("col.title"), "family_label": t("col.family"), "severity_label": t("col.severity"),
    "findings": st.column_config.NumberColumn(t("col.findings"), format="localized"),
    "enterprises": st.column_config.NumberColumn(t("col.enterprises"), format="localized"),
    "suppressed": st.column_config.NumberColumn(t("col.suppressed"), format="localized"),
    "description": st.column_config.TextColumn(t("col.description"), width="large"),
    "source": st.column_config.TextColumn(t("col.source"), width="medium"),
})

st.subheader(t("r.suppressions"))
sup = data.suppressions(scope, db)
if sup.is_empty():
    st.caption(t("r.supp_none"))
else:
    st.dataframe(sup, hide_index=True, placeholder="–", key="r_supp", column_config={"is_active": st.column_config.CheckboxColumn(t("r.active"))})

if scope.role != "national":
    st.caption(t("r.national_only"))
    st.stop()
if suppression_module() is None:
    st.info(t("r.unavailable"))
    st.stop()

flash = st.session_state.pop("r_flash", None)
if flash:
    (st.success if flash[0] else st.error)(flash[1])
left, right = st.columns(2)
with left, st.form("f_approve", clear_on_submit=True):
    st.markdown(f"**{t('r.approve')}**")
    code = st.selectbox(t("r.rule_code"), rules["code"].to_list(), key="s_code")
    ent = st.text_input(t("r.enterprise"), key="s_ent")
    unit = st.text_input(t("r.unit"), key="s_unit")
    c = st.columns(2)
    p_from = c[0].text_input(t("r.period_from"), key="s_from")
    p_to = c[1].text_input(t("r.period_to"), key="s_to")
    expires = st.date_input(t("r.expires"), value=dt.date.today() + dt.timedelta(days=365), key="s_exp")
    reason = st.text_area(t("r.reason"), key="s_reason", height=70)
    if st.form_submit_button(t("a.apply"), type="primary", key="s_go_approve"):
        st.session_state["r_flash"] = approve_suppression(
            scope, db, rule_code=code, reason=reason, enterprise_id=ent or None, unit_id=unit or None,
            period_from=p_from or None, period_to=p_to or None,
            expires_at=dt.datetime.combine(expires, dt.time(23, 59)) if expires else None,
        )
        st.rerun()
active = sup.filter(pl.col("is_active")) if not sup.is_empty() else sup
with right, st.form("f_revoke"):
    st.markdown(f"**{t('r.revoke')}**")
    ids = active["suppression_id"].to_list() if not active.is_empty() else []
    labels = {r["suppression_id"]: f"#{r['suppression_id']} {r['rule_code']} {r['enterprise_id'] or '*'}"
              for r in active.iter_rows(named=True)} if ids else {}
    data.keep_valid("s_which", ids)
    which = st.selectbox(t("r.which"), ids, key="s_which", format_func=lambda i: labels.get(i, str(i)))
    why = st.text_input(t("r.revoke_reason"), key="s_why")
    if st.form_submit_button(t("a.apply"), disabled=not ids, key="s_go_revoke") and which is not None:
        st.session_state["r_flash"] = revoke_suppression(scope, db, int(which), why or None)
        st.rerun()
