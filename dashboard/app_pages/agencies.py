"""机构案件 Agency cases: technical service agencies whose behaviour is anomalous, scoped by their clients.

Reads go through :func:`carbonqa.queries.agency_queue` (cached in :mod:`dashboard.data`): a provincial
reader sees the agencies with at least one client in the province and only those clients, a municipal
reader those of the city. Agency and enterprise names are submitted text: they appear only in tables
(shown as is) or through :func:`dashboard.text.md` (escaped) — never as Markdown.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from carbonqa.cases.agency import agency_export_bytes
from dashboard import data, i18n
from dashboard.i18n import t
from dashboard.text import md

scope = data.current_scope()
db = data.url()

st.title(t("ag.title"))
st.caption(t("ag.intro"))

cases, clients = data.agency_queue(scope, db)
if cases.is_empty():
    st.info(t("ag.empty"))
    st.stop()


def _role(r: str | None) -> str:
    return t(f"ag.role.{r}") if r in ("lab", "preparer", "verifier") else (r or "")


c = st.columns([1, 2, 3])
years = sorted({int(y) for y in cases["year"].to_list()}, reverse=True)
data.keep_valid("ag_year", years)
year = c[0].selectbox(t("q.year"), years, key="ag_year")
role_opts = sorted(set(cases["agency_role"].to_list()))
roles = c[1].multiselect(t("ag.role"), role_opts, key="ag_roles", format_func=_role, placeholder=t("q.all"))

view = cases.filter(pl.col("year") == year)
if roles:
    view = view.filter(pl.col("agency_role").is_in(roles))
m = st.columns(3)
m[0].metric(t("ag.cases"), f"{view.height:,}")
m[1].metric(*i18n.tonnes_metric(t("ag.stake"), float(view["tco2_at_stake"].sum() or 0.0)))
if view.is_empty():
    st.info(t("ag.empty"))
    st.stop()

table = view.with_columns(
    role_label=i18n.each(view["agency_role"], _role),
    province=i18n.each(view["province_code"], i18n.province),
    status_label=i18n.each(view["status"], i18n.status),
    tco2_at_stake=pl.col("tco2_at_stake").round(0),
    summary=(pl.coalesce(pl.col("summary_en"), i18n.each(view["summary"], i18n.original))
             if i18n.lang() == "en" else pl.col("summary")),
).select(
    "rank", "agency_name", "agency_id", "role_label", "province", "risk_score", "n_clients", "n_clients_in_scope",
    "tco2_at_stake", "status_label", "rule_codes", "summary", "case_id",
)
event = st.dataframe(
    table,
    key="ag_table",
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    column_config={
        "rank": st.column_config.NumberColumn(t("col.rank_year"), format="%d", width=56, help=t("col.rank_help")),
        "agency_name": st.column_config.TextColumn(t("ag.agency_name"), width=200),
        "agency_id": st.column_config.TextColumn(t("col.agency_id"), width=110),
        "role_label": st.column_config.TextColumn(t("ag.role"), width=80),
        "province": st.column_config.TextColumn(t("col.province"), width=64),
        "risk_score": st.column_config.ProgressColumn(t("col.risk_score"), min_value=0, max_value=100, format="%.1f",
                                                      width=90),
        "n_clients": st.column_config.NumberColumn(t("ag.n_clients"), format="%d", width=80),
        "n_clients_in_scope": st.column_config.NumberColumn(t("ag.n_in_scope"), format="%d", width=80),
        "tco2_at_stake": st.column_config.NumberColumn(t("col.tco2_at_stake"), format="localized", width=120),
        "status_label": st.column_config.TextColumn(t("col.status"), width=70),
        "rule_codes": st.column_config.TextColumn(t("col.rule_codes")),
        "summary": st.column_config.TextColumn(t("col.summary"), width="large"),
        "case_id": st.column_config.TextColumn(t("col.case_id"), width=200),
    },
)

# the clients of one agency case: the ticked row, else the picker (top of the list by default)
ids = view["case_id"].to_list()
sel = list(getattr(getattr(event, "selection", None), "rows", []) or [])
data.keep_valid("ag_pick", ids)
if sel and sel[0] < len(ids) and st.session_state.get("ag_last_selection") != ids[sel[0]]:
    st.session_state["ag_pick"] = ids[sel[0]]  # the picker follows the row ticked in the table
st.session_state["ag_last_selection"] = ids[sel[0]] if sel and sel[0] < len(ids) else None
pick = st.selectbox(t("ag.pick"), ids, key="ag_pick")

row = view.filter(pl.col("case_id") == pick).row(0, named=True)
st.subheader(f"{t('ag.clients')} · {md(row['agency_name'] or row['agency_id'])}")
st.caption(md(row["summary_en"] or i18n.original(row["summary"]) if i18n.lang() == "en" else row["summary"]))
mine = clients.filter(pl.col("case_id") == pick)
if mine.is_empty():
    st.info(t("ag.no_clients"))
else:
    st.dataframe(
        mine.with_columns(
            province=i18n.each(mine["province_code"], i18n.province),
            city_name=pl.Series([i18n.city(c, p) for c, p in zip(mine["city_name"], mine["province_code"], strict=True)],
                                dtype=pl.String),
            tco2_at_stake=pl.col("tco2_at_stake").round(0),
        ).select("enterprise_name", "enterprise_id", "province", "city_name", "rule_codes", "own_rule_codes",
                 "tco2_at_stake", "enterprise_case_id"),
        key="ag_clients",
        hide_index=True,
        column_config={
            "enterprise_name": st.column_config.TextColumn(t("col.enterprise_name"), width=220),
            "enterprise_id": st.column_config.TextColumn(t("col.enterprise_id"), width=160),
            "province": st.column_config.TextColumn(t("col.province"), width=64),
            "city_name": st.column_config.TextColumn(t("col.city_name"), width=90),
            "rule_codes": st.column_config.TextColumn(t("ag.agency_codes")),
            "own_rule_codes": st.column_config.TextColumn(t("ag.own_codes")),
            "tco2_at_stake": st.column_config.NumberColumn(t("ag.own_stake"), format="localized", width=140),
            "enterprise_case_id": st.column_config.TextColumn(t("ag.enterprise_case"), width=200),
        },
    )
    # a client's own enterprise case (in the reader's jurisdiction: only in-scope clients are listed)
    own = [c for c in mine["enterprise_case_id"].to_list() if c]
    if own:
        c = st.columns([2, 1, 2])
        data.keep_valid("ag_open_pick", own)
        target = c[0].selectbox(t("ag.open_pick"), own, key="ag_open_pick")
        if c[1].button(t("ag.open_case"), key="ag_open", type="primary"):
            st.session_state["case_id"] = target
            st.switch_page("app_pages/case.py")

# export: the agency cases of the reader's jurisdiction (CONTRACT.md §5 columns), built only when clicked
st.subheader(t("ag.export"))
c = st.columns(4)
c[0].download_button(
    t("q.export_csv"), data=lambda: agency_export_bytes("csv", db, scope), file_name="carbonqa_agency_cases.csv",
    mime="text/csv", key="ag_dl_csv", on_click="ignore",
)
c[1].download_button(
    t("q.export_xlsx"), data=lambda: agency_export_bytes("xlsx", db, scope), file_name="carbonqa_agency_cases.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="ag_dl_xlsx", on_click="ignore",
)
