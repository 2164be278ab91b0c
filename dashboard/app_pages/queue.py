"""案件队列 Case queue: filters, risk order, counts, bulk assignment, export (all scoped)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from carbonqa.queries import QueueFilter
from dashboard import data, i18n
from dashboard.actions import bulk_assign
from dashboard.i18n import t

scope = data.current_scope()
db = data.url()
opts = data.queue_options(scope, db)

st.title(t("q.title"))

# ---- filters in the URL: ?year=2024&province=15&city=包头市&family=tip&status=new&min_score=50&assignee=-&q=白银&sort=tco2
# Codes, not labels, so a link reads the same in either language. A URL that is not the one this page last
# wrote (a pasted link, a reload, the browser's back button) seeds the filter widgets; every run writes the
# filters back, defaults left out.
URL_KEYS = {"year": "f_year", "province": "f_prov", "city": "f_city", "family": "f_fam", "status": "f_status",
            "min_score": "f_score", "assignee": "f_assignee", "q": "f_search", "sort": "f_sort"}
MULTI = ("province", "city", "family", "status")
SORT_OPTS = ["risk", "tco2", "updated"]


def _url_now() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in URL_KEYS if st.query_params.get_all(k)}


def _seed_from_url(url: dict[str, list[str]]) -> None:
    valid = {"province": set(opts["provinces"]), "city": {c for _, c in opts["cities"]},
             "family": set(opts["families"]), "status": set(opts["statuses"])}
    for name, key in URL_KEYS.items():
        vals = url.get(name)
        if not vals:
            st.session_state.pop(key, None)
            continue
        try:
            if name in MULTI:
                st.session_state[key] = [v for v in dict.fromkeys(vals) if v in valid[name]]
            elif name == "year":
                y = int(vals[0])
                if y in [*opts["years"], 0]:
                    st.session_state[key] = y
            elif name == "min_score":
                st.session_state[key] = min(100.0, max(0.0, round(float(vals[0]) / 5) * 5.0))
            elif name == "assignee":
                if vals[0] in ("-", *opts["assignees"]):
                    st.session_state[key] = vals[0]
            elif name == "sort":
                if vals[0] in SORT_OPTS:
                    st.session_state[key] = vals[0]
            else:  # the search text
                st.session_state[key] = vals[0][:100]
        except ValueError:
            st.session_state.pop(key, None)


_url = _url_now()
if _url and _url != st.session_state.get("q_url_written"):
    _seed_from_url(_url)

with st.expander(t("q.filters"), expanded=True):
    c = st.columns([1, 1.3, 1.3, 1.3, 1.3])
    national = scope.role in ("national", "auditor")
    # ranks are per reporting year: the queue shows one year at a time unless "all years" is chosen
    year_opts = [*opts["years"], 0]
    data.keep_valid("f_year", year_opts)
    year = c[0].selectbox(t("q.year"), year_opts, key="f_year",
                          format_func=lambda y: t("q.all_years") if y == 0 else str(y))
    provinces = c[1].multiselect(
        t("q.province"), opts["provinces"], key="f_prov", format_func=i18n.province, disabled=not national,
        placeholder=t("q.all"), select_all=False,  # an empty filter is "all"; Streamlit's "Select all" is English only
    )
    city_opts = sorted({city for p, city in opts["cities"] if not provinces or p in provinces})
    cities = c[2].multiselect(t("q.city"), city_opts, key="f_city", disabled=scope.role == "municipal", format_func=i18n.city,
                              placeholder=t("q.all"), select_all=False)
    fams = c[3].multiselect(t("q.family"), opts["families"], key="f_fam", format_func=i18n.family,
                            placeholder=t("q.all"), select_all=False)
    statuses = c[4].multiselect(t("q.status"), opts["statuses"], key="f_status", format_func=i18n.status,
                                placeholder=t("q.all"), select_all=False)
    c = st.columns(4)
    min_score = c[0].slider(t("q.min_score"), 0.0, 100.0, 0.0, 5.0, key="f_score")
    assignee_opts = ["", "-", *opts["assignees"]]
    assignee = c[1].selectbox(
        t("q.assignee"), assignee_opts, key="f_assignee",
        format_func=lambda a: t("q.any") if a == "" else t("q.unassigned") if a == "-" else a,
    )
    search = c[2].text_input(t("q.search"), key="f_search")
    sort = c[3].selectbox(t("q.sort"), SORT_OPTS, key="f_sort", format_func=lambda s: t(f"q.sort.{s}"))

_write = {"year": [str(year)] if year != (opts["years"] or [0])[0] else [], "province": list(provinces),
          "city": list(cities), "family": list(fams), "status": list(statuses),
          "min_score": [f"{min_score:g}"] if min_score else [], "assignee": [assignee] if assignee else [],
          "q": [search.strip()] if search.strip() else [], "sort": [sort] if sort != "risk" else []}
_write = {k: v for k, v in _write.items() if v}
if _write != _url_now():
    for k in URL_KEYS:
        if k in st.query_params:
            del st.query_params[k]
    for k, v in _write.items():
        st.query_params[k] = v
st.session_state["q_url_written"] = _write

filters = QueueFilter(
    province_codes=tuple(provinces), cities=tuple(cities), families=tuple(fams), statuses=tuple(statuses),
    years=(int(year),) if year else (), min_score=float(min_score), assignee=assignee or None,
    search=search.strip(), sort=sort,
)
page_size = 50
page = int(st.session_state.get("q_page", 1))
qp = data.case_queue(scope, db, filters, page, page_size)

c = st.columns([1, 1, 3])
c[0].metric(t("q.matching"), f"{qp.total:,}")
c[1].metric(*i18n.tonnes_metric(t("q.matching_stake"), qp.tco2_at_stake))
c[2].markdown(
    " ".join(f"`{i18n.status(s)} {qp.by_status[s]:,}`" for s in opts["statuses"] if qp.by_status.get(s))
    or "&nbsp;"
)

bulk_result = st.session_state.pop("q_flash", None)
if bulk_result:
    if bulk_result[0]:
        st.success(t("q.bulk_done", n=bulk_result[0]))
    for cid, err in bulk_result[1]:
        st.error(t("q.bulk_failed", case=cid, err=err))

if qp.total == 0:
    st.info(t("q.empty"))
    st.stop()
gen = int(st.session_state.get("q_gen", 0))  # bumped by a bulk action: a fresh table selection and form

rows = qp.rows
view = rows.with_columns(
    province=i18n.each(rows["province_code"], i18n.province),
    city_name=pl.Series([i18n.city(c, p) for c, p in zip(rows["city_name"], rows["province_code"], strict=True)],
                        dtype=pl.String),
    status_label=i18n.each(rows["status"], i18n.status),
    families_label=i18n.each(rows["families"], i18n.families),
    tco2_at_stake=pl.col("tco2_at_stake").round(0),
    # the summary in the reader's language (cases scored before summary_en existed fall back to zh-CN)
    # (marked as the original Chinese: a summary is never machine-translated)
    summary=(pl.coalesce(pl.col("summary_en"), i18n.each(rows["summary"], i18n.original))
             if i18n.lang() == "en" and "summary_en" in rows.columns else pl.col("summary")),
).select(
    # the deciding columns first, so rank, name, risk and tCO₂ fit a 1440-px screen without scrolling
    "rank", "year", "enterprise_name", "province", "city_name", "risk_score", "tco2_at_stake", "status_label",
    "families_label", "case_id", "rule_codes", "assignee", "summary",
)
event = st.dataframe(
    view,
    key=f"queue_table:{gen}",
    on_select="rerun",
    # a click on a cell opens that row's case; the row checkboxes pick cases for bulk assignment
    selection_mode=["multi-row", "single-cell"],
    hide_index=True,
    placeholder="–",
    column_config={
        "rank": st.column_config.NumberColumn(t("col.rank_year"), format="%d", width=56, help=t("col.rank_help")),
        "year": st.column_config.NumberColumn(t("col.year"), format="%d", width=52),
        "enterprise_name": st.column_config.TextColumn(t("col.enterprise_name"), width=230),
        "province": st.column_config.TextColumn(t("col.province"), width=64),
        "city_name": st.column_config.TextColumn(t("col.city_name"), width=80),
        "risk_score": st.column_config.ProgressColumn(t("col.risk_score"), min_value=0, max_value=100, format="%.1f",
                                                      width=90),
        "tco2_at_stake": st.column_config.NumberColumn(t("col.tco2_at_stake"), format="localized", width=120),
        "status_label": st.column_config.TextColumn(t("col.status"), width=70),
        "families_label": st.column_config.TextColumn(t("col.families"), width=180),
        "case_id": st.column_config.TextColumn(t("col.case_id"), width=200),
        "rule_codes": st.column_config.TextColumn(t("col.rule_codes")),
        "assignee": st.column_config.TextColumn(t("col.assignee")),
        "summary": st.column_config.TextColumn(t("col.summary"), width="large"),
    },
)
selection = getattr(event, "selection", None)
selected_rows = list(getattr(selection, "rows", []) or [])
selected_ids = [rows["case_id"][i] for i in selected_rows if i < rows.height]
clicked = [cell[0] for cell in (getattr(selection, "cells", []) or []) if 0 <= int(cell[0]) < rows.height]
if clicked:
    st.session_state["case_id"] = rows["case_id"][int(clicked[0])]
    st.switch_page("app_pages/case.py", query_params={"case": st.session_state["case_id"]})

c = st.columns([2, 1, 2])
st.session_state["q_page"] = qp.page  # clamped by the query when the filters shrink the queue
c[0].number_input(t("q.page_of", page=qp.page, pages=qp.pages), min_value=1, max_value=qp.pages, step=1, key="q_page")

# open one case: the first ticked row, else the top of the page
ids = rows["case_id"].to_list()
default = ids.index(selected_ids[0]) if selected_ids else 0
data.keep_valid("q_open_pick", ids)
if selected_ids and st.session_state.get("q_last_selection") != selected_ids:
    st.session_state["q_open_pick"] = selected_ids[0]  # the picker follows the newest tick in the table
st.session_state["q_last_selection"] = selected_ids
pick = c[2].selectbox(
    t("q.open_pick"), ids, index=default, key="q_open_pick",
    format_func=lambda cid: f"{cid} · {rows.filter(pl.col('case_id') == cid)['enterprise_name'][0] or ''}",
)
if c[1].button(t("q.open_case"), key="q_open", type="primary"):
    st.session_state["case_id"] = pick
    st.switch_page("app_pages/case.py", query_params={"case": pick})

# bulk assignment (national and provincial reviewers)
if scope.role in ("national", "provincial"):
    with st.expander(t("q.bulk"), expanded=bool(selected_ids)):
        st.caption(t("q.select_hint"))
        users = data.assignable_users(scope, db)
        if scope.role == "provincial":
            users = users.filter(pl.col("role") == "municipal")
        if users.is_empty():
            st.info(t("q.no_assignees"))
        else:
            with st.form(f"bulk_assign:{gen}"):
                chosen = st.multiselect(t("q.bulk_cases"), ids, default=selected_ids, key=f"bulk_cases:{gen}",
                                        placeholder=t("q.bulk_pick"), select_all=i18n.lang() == "en")
                names = users["username"].to_list()
                labels = {r["username"]: f"{r['display_name'] or r['username']} ({r['username']}, "
                                             f"{i18n.city(r['city_name'], r['province_code']) if r['city_name'] else i18n.province(r['province_code']) or t('scope.national')})"
                          for r in users.iter_rows(named=True)}
                to = st.selectbox(t("q.bulk_to"), names, index=None, key=f"bulk_to:{gen}",
                                  format_func=lambda u: labels.get(u, u), placeholder=t("a.pick_assignee"))
                triage = st.checkbox(t("q.bulk_triage"), value=True, key=f"bulk_triage:{gen}")
                go = st.form_submit_button(t("q.bulk_go"), type="primary", key=f"bulk_go:{gen}")
            if go and chosen and to is None:
                st.error(t("a.pick_assignee"))
            elif go and chosen:
                versions = dict(zip(rows["case_id"].to_list(), rows["lock_version"].to_list(), strict=True))
                statuses_now = dict(zip(rows["case_id"].to_list(), rows["status"].to_list(), strict=True))
                done, errors = bulk_assign(scope, db, chosen, to, versions, statuses_now, triage_new=triage)
                # redraw the queue from the store (the table above still shows the old statuses) with a
                # fresh table and form: the selection and the chosen cases are cleared
                st.session_state["q_flash"] = (done, errors)
                st.session_state["q_gen"] = gen + 1
                st.rerun()

# export (scoped, the whole filtered queue, built only when clicked)
st.subheader(t("q.export"))
c = st.columns(4)
c[0].download_button(
    t("q.export_csv"), data=lambda: data.export_queue(scope, db, filters, "csv"), file_name="carbonqa_cases.csv",
    mime="text/csv", key="dl_csv", on_click="ignore",
)
c[1].download_button(
    t("q.export_xlsx"), data=lambda: data.export_queue(scope, db, filters, "xlsx"), file_name="carbonqa_cases.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx", on_click="ignore",
)
lang_now = i18n.lang()
c[2].download_button(  # for people: names, labels and headers in the reader's language
    t("q.export_readable"), data=lambda: data.export_readable(scope, db, filters, "xlsx", lang_now),
    file_name=f"carbonqa_cases_{lang_now}.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="dl_readable", on_click="ignore", help=t("q.export_readable_help"),
)
