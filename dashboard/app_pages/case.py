"""案件详情/证据包 Case detail: the evidence pack, the findings, the history, the actions, the PDF brief."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from carbonqa import cases, queries
from carbonqa.jurisdiction import PermissionDenied
from carbonqa.queries import CaseNotFound, QueueFilter
from dashboard import charts, data, i18n
from dashboard.actions import is_backward, run_action
from dashboard.i18n import t
from dashboard.text import md

scope = data.current_scope()
db = data.url()
zh = i18n.lang() == "zh"
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}

# ---- which case ---------------------------------------------------------------------------------------
top = data.case_queue(scope, db, QueueFilter(), 1, 100).rows
ids = top["case_id"].to_list()
# the URL (?case=…, a permalink kept through sign-in) names the case; else the last one opened; else the top
case_id = st.query_params.get("case") or st.session_state.get("case_id") or (ids[0] if ids else None)
if case_id is None:
    st.title(t("c.title"))
    st.info(t("c.none"))
    st.stop()
if case_id not in ids:
    ids = [case_id, *ids]
st.session_state["case_id"] = case_id
if st.query_params.get("case") != case_id:
    st.query_params["case"] = case_id  # the address bar is always this case's permalink
if st.session_state.get("c_pick") != case_id:
    st.session_state["c_pick"] = case_id


def _on_pick() -> None:
    st.session_state["case_id"] = st.session_state["c_pick"]
    st.query_params["case"] = st.session_state["c_pick"]


try:
    d = data.case_detail(scope, db, case_id)
except (CaseNotFound, PermissionDenied):
    # one answer whether the id exists in another jurisdiction or not at all (no existence oracle)
    st.title(t("c.title"))
    st.error(t("c.notfound", case=md(case_id)))
    st.session_state.pop("case_id", None)
    st.stop()

c = d.case
ent = d.enterprise or {}
st.title(md(ent.get("enterprise_name") or c["enterprise_id"]))  # submitted text: escaped, never Markdown
h = st.columns([3, 2])
unit_part = f" · {md(charts.unit_label(c['unit_id'], c['enterprise_id']))}" if c.get("unit_id") else ""
h[0].caption(
    f"{t('col.case_id')} {md(c['case_id'])} · {t('col.enterprise_id')} {md(c['enterprise_id'])} · "
    f"{i18n.province(c['province_code'])} {md(i18n.city(c.get('city_name'), c['province_code']))}{unit_part} · {t('c.year', y=c['year'])}"
)
h[1].selectbox(t("c.pick"), ids, key="c_pick", on_change=_on_pick, label_visibility="collapsed")
m = st.columns(5)
m[0].metric(t("c.risk"), f"{c['risk_score']:.1f}")
m[1].metric(t("c.rank"), f"{c['rank']:,}" if c.get("rank") else "–")
m[2].metric(*i18n.tonnes_metric(t("c.stake"), c["tco2_at_stake"]))
m[3].metric(t("c.status"), i18n.status(c["status"]))
m[4].metric(t("c.assignee"), c.get("assignee") or t("c.none_assigned"))
if c.get("summary"):
    st.markdown(f"> {md(c['summary'])}")
st.markdown(" ".join(f"`{i18n.family(f)}`" for f in (c.get("families") or "").split("|") if f))
EID = c["enterprise_id"]

flash = st.session_state.pop("flash", None)
if flash:
    (st.success if flash[0] else st.error)(flash[1])

# after an action (a flash to show) the reviewer stays on the actions tab instead of landing on the evidence
tabs = st.tabs([t("c.tab.evidence"), t("c.tab.findings", n=d.findings.height), t("c.tab.history", n=d.events.height),
                t("c.tab.actions")], default=t("c.tab.actions") if flash else None)

# ---- evidence -----------------------------------------------------------------------------------------
with tabs[0]:
    st.subheader(t("c.monthly"))
    if d.monthly.is_empty():
        st.info("–")
    else:
        metric = st.segmented_control(
            t("c.metric"), list(i18n.MONTHLY_METRICS), default="carbon_content_tc_per_gj", key="c_metric",
            format_func=i18n.metric,
        ) or "carbon_content_tc_per_gj"
        log = st.session_state.get("c_log", False)
        fig, off = charts.monthly_series(d.monthly, metric, EID, log=log)
        st.plotly_chart(fig, key="c_monthly_chart")
        if off or log:
            if off:
                months = sorted({o["period"] for o in off})
                st.caption(t("c.off_scale_note", n=len(months), months=md(", ".join(months))))
            st.toggle(t("c.log_scale"), key="c_log")

    st.subheader(t("c.copied"))
    if d.lab_values.is_empty():
        st.info(t("c.copied_none"))
    else:
        n_rep = int(d.lab_values["is_repeated"].sum())
        if n_rep:
            st.warning(t("c.repeats", n=n_rep))
        lv = d.lab_values.with_columns(
            unit_id=i18n.each(d.lab_values["unit_id"], lambda u: charts.unit_label(u, EID)),
        ).select(
            "sample_period", "unit_id", "carbon_ad_pct", "moisture_ad_pct", "total_moisture_pct", "ncv_ar_gj_per_t",
            "carbon_ar_pct", "lab_report_id", "repeat_count", "is_repeated",
        ).to_pandas()
        styled = lv.style.apply(
            lambda r: ["background-color: #ffd6d6" if r["is_repeated"] else "" for _ in r], axis=1
        ).format(precision=2, subset=["carbon_ad_pct", "moisture_ad_pct", "total_moisture_pct", "ncv_ar_gj_per_t",
                                      "carbon_ar_pct"])
        st.dataframe(styled, hide_index=True, placeholder="–", key="c_lab_values", column_config={
            "sample_period": t("col.period"),
            "unit_id": t("col.unit_id"),
            "carbon_ad_pct": "Cad (%)",
            "moisture_ad_pct": "Mad (%)",
            "total_moisture_pct": "Mt (%)",
            "ncv_ar_gj_per_t": "Qnet,ar (GJ/t)",
            "carbon_ar_pct": "Car (%)",
            "lab_report_id": t("col.lab_report"),
            "repeat_count": st.column_config.NumberColumn(t("col.repeats"), format="%d ×"),
            "is_repeated": None,
        })

    left, right = st.columns(2)
    with left:
        st.subheader(t("c.cc_peers"))
        if d.cc_unit.is_empty():
            st.info(t("c.cc_none"))
        else:
            fig, note = charts.carbon_content_vs_peers(d.cc_unit, d.cc_peers, EID)
            st.plotly_chart(fig, key="c_cc_chart")
            st.caption(note)
    with right:
        st.subheader(t("c.lab_timeline"))
        if d.lab_timeline.is_empty():
            st.info(t("c.copied_none"))
        else:
            names = dict(zip(["sampling_end_date", "receipt_date", "test_date", "report_date"],
                             t("c.lab_dates").split("|"), strict=True))
            lt = d.lab_timeline.unpivot(index=["lab_report_id", "sample_period"], on=list(names),
                                        variable_name="kind", value_name="date").drop_nulls("date")
            lt = lt.with_columns(kind=pl.col("kind").replace_strict(names, return_dtype=pl.String))
            fig = px.scatter(lt, x="date", y="sample_period", color="kind", symbol="kind",
                             hover_data=["lab_report_id"], labels={"date": "", "sample_period": t("col.period"), "kind": "",
                                                                   "lab_report_id": t("col.lab_report")},
                             category_orders={"kind": list(names.values())})
            fig.update_traces(marker_size=9)
            fig.update_layout(height=320, margin=MARGIN, yaxis_type="category",
                              legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0})
            fig.update_yaxes(categoryorder="category ascending")
            st.plotly_chart(fig, key="c_lab_chart")

    st.subheader(t("c.telemetry"))
    tel = d.telemetry.filter(pl.col("telemetry_generation_mwh").is_not_null())
    if tel.is_empty():
        st.info(t("c.telemetry_none") + (f" ({md('; '.join(d.notes))})" if d.notes else ""))
    else:
        fig, off = charts.reported_vs_telemetry(tel, EID)
        st.plotly_chart(fig, key="c_tel_chart")
        if off:
            st.caption(t("c.tel_off", n=len(off), months=md(", ".join(sorted({o["period"] for o in off})))))
        gap = tel.select(pl.col("reported_generation_mwh").sum(), pl.col("telemetry_generation_mwh").sum()).row(0)
        if gap[1]:
            st.caption(t("c.tel_gap", rep=f"{gap[0]:,.0f}", tel=f"{gap[1]:,.0f}", pct=f"{(gap[0] - gap[1]) / gap[1] * 100:+.1f}"))
        if d.notes:
            st.caption(md("; ".join(d.notes)))

    st.subheader(t("c.verifier"))
    if d.verifications.is_empty():
        st.info(t("c.verifier_none"))
    else:
        ver = d.verifications.with_columns(
            *[pl.col(k).round(0) for k in ("reported_emissions_tco2", "verified_emissions_tco2", "gap_tco2")],
            *[pl.col(k).cast(pl.String).str.slice(0, 10) for k in ("review_started", "review_completed")],
            conclusion=i18n.each(d.verifications["conclusion"], i18n.conclusion),
            gap_pct=pl.col("gap_tco2") / pl.col("reported_emissions_tco2") * 100,
        )
        st.dataframe(ver.select(
            "year", "agency_name", "conclusion", "reported_emissions_tco2", "verified_emissions_tco2", "gap_tco2",
            "gap_pct", "findings_count", "review_started", "review_completed", "verifier_agency_id",
        ), hide_index=True, placeholder="–", key="c_ver", column_config={
            "year": st.column_config.NumberColumn(t("col.year"), format="%d", width=60),
            "agency_name": st.column_config.TextColumn(t("col.verifier"), width=230),
            "verifier_agency_id": t("col.agency_id"), "conclusion": t("col.conclusion"),
            "findings_count": st.column_config.NumberColumn(t("col.nonconformities"), format="%d"),
            "review_started": t("col.review_started"), "review_completed": t("col.review_completed"),
            "reported_emissions_tco2": st.column_config.NumberColumn(t("col.reported_tco2"), format="localized"),
            "verified_emissions_tco2": st.column_config.NumberColumn(t("col.verified_tco2"), format="localized"),
            "gap_tco2": st.column_config.NumberColumn(t("col.gap_tco2"), format="localized"),
            "gap_pct": st.column_config.NumberColumn(t("col.gap_pct"), format="%+.2f %%"),
        })
    if not d.verifier_stats.is_empty():
        st.markdown(f"**{t('c.verifier_stats')}**")
        st.dataframe(d.verifier_stats.select(
            "agency_name", "verifications", "provinces", "accepted_share", "zero_findings_share", "mean_abs_gap_pct",
            "verifier_agency_id",
        ), hide_index=True, placeholder="–", key="c_ver_stats", column_config={
            "verifier_agency_id": t("col.agency_id"),
            "agency_name": st.column_config.TextColumn(t("col.verifier"), width=230),
            "verifications": st.column_config.NumberColumn(t("col.verifications"), format="%d"),
            "provinces": st.column_config.NumberColumn(t("col.provinces_n"), format="%d"),
            "accepted_share": st.column_config.ProgressColumn(t("col.accepted_share"), min_value=0, max_value=1,
                                                              format="percent"),
            "zero_findings_share": st.column_config.ProgressColumn(t("col.zero_findings_share"), min_value=0,
                                                                   max_value=1, format="percent"),
            "mean_abs_gap_pct": st.column_config.NumberColumn(t("col.mean_abs_gap_pct"), format="%.2f %%"),
        })

    st.subheader(t("c.tips"))
    if d.tips.is_empty():
        st.caption(t("c.tips_none"))
    for r in d.tips.iter_rows(named=True):
        st.warning(f"**{md(r['received_date'])} · {md(i18n.tip_channel(r['channel']))} · "
                   f"{md(i18n.tip_category(r['category']))}** — {md(r['summary'])}")

# ---- findings -----------------------------------------------------------------------------------------
with tabs[1]:
    if d.findings.is_empty():
        st.info(t("c.findings_none"))
    else:
        fv = d.findings.with_columns(
            title=pl.col("title_zh" if zh else "title_en"),
            family_label=i18n.each(d.findings["family"], i18n.family),
            severity_label=i18n.each(d.findings["severity"], i18n.severity),
            message=pl.col("message_zh") if zh else pl.coalesce(pl.when(pl.col("message_en") != "")
                                                                 .then(pl.col("message_en")), pl.col("message_zh")),
        ).select("rule_code", "title", "family_label", "severity_label", "unit_id", "period", "message", "observed",
                 "expected", "tco2_at_stake", "score")
        st.dataframe(fv, hide_index=True, key="c_findings", placeholder="–", column_config={
            "rule_code": t("col.code"), "title": t("col.title"), "family_label": t("col.family"),
            "severity_label": t("col.severity"), "unit_id": t("col.unit_id"), "period": t("col.period"),
            "message": st.column_config.TextColumn(t("col.message"), width="large"),
            "observed": t("col.observed"), "expected": t("col.expected"),
            "tco2_at_stake": st.column_config.NumberColumn(t("col.tco2_at_stake"), format="localized"),
            "score": st.column_config.NumberColumn(t("col.score"), format="%.2f"),
        })
        for r in fv.iter_rows(named=True):
            st.markdown(f"- **{md(r['rule_code'])}** {md(r['title'])}{'：' if zh else ': '}{md(r['message'])}")

# ---- history ------------------------------------------------------------------------------------------
with tabs[2]:
    if d.events.is_empty():
        st.info(t("c.history_none"))
    else:
        # a readable timeline: actions, statuses and fields translated (never the stored codes or dicts)
        ev = d.events.sort("event_id", descending=True)
        ev = ev.with_columns(
            actor=i18n.each(ev["actor"], lambda a: queries.actor_label(a, i18n.lang())),
            action_label=i18n.each(ev["action"], i18n.action),
            change=pl.col("change_zh" if zh else "change_en"),
        ).select("at", "actor", "action_label", "change", "note")
        st.dataframe(ev, hide_index=True, key="c_events", placeholder="–",
                     column_config={"at": st.column_config.DatetimeColumn(t("col.at"), format="YYYY-MM-DD HH:mm"),
                                    "actor": t("col.actor"), "action_label": t("col.action"),
                                    "change": st.column_config.TextColumn(t("col.change"), width="large"),
                                    "note": st.column_config.TextColumn(t("col.note"), width="large")})

# ---- actions ------------------------------------------------------------------------------------------
with tabs[3]:
    from carbonqa.brief import BriefError

    try:
        from carbonqa.brief import find_cjk_font

        find_cjk_font()
        st.download_button(
            t("c.brief"), data=lambda: data.brief_pdf(scope, db, case_id, i18n.lang()),
            file_name=f"brief_{case_id}.pdf", mime="application/pdf", key="c_brief", on_click="ignore", icon="📄",
        )
    except BriefError as exc:
        st.error(t("c.brief_error", err=exc))

    if not scope.can_write:
        st.info(t("app.readonly"))
        st.stop()
    version = int(c["lock_version"])
    status_now = c["status"]
    moves = cases.allowed_transitions(status_now, scope.role)

    # Every widget of the action forms is keyed by the case and its lock_version: a save moves the
    # version, so the forms come back empty, showing the case's current state. Keyed by name alone,
    # a form kept the old choice on screen while its options changed underneath, and a second 确认
    # submitted the first option (a case moved back from 已安排现场检查 to 已分派 with the note repeated).
    # Nothing is preselected: what is submitted is what the reviewer chose.
    def k(name: str) -> str:
        return f"{name}:{case_id}:{version}"

    def _flash(result: tuple[bool, str]) -> None:
        st.session_state["flash"] = result
        st.rerun()

    st.caption(t("a.current", status=i18n.status(status_now)))
    left, right = st.columns(2)
    with left, st.form(k("f_transition")):
        st.markdown(f"**{t('a.transition')}**")
        to, note, back_ok = None, "", False
        if moves:
            to = st.selectbox(t("a.to_status"), moves, index=None, format_func=i18n.status, key=k("a_to"),
                              placeholder=t("a.pick_status"))
            note = st.text_input(t("a.note"), key=k("a_note"))
            when, who_went = None, ""
            if "inspection_scheduled" in moves:  # scheduling is work: a date and the inspectors, kept in the history
                d1, d2 = st.columns([1, 2])
                when = d1.date_input(t("a.sched_date"), value=None, key=k("a_date"), format="YYYY-MM-DD")
                who_went = d2.text_input(t("a.sched_who"), key=k("a_inspectors"), placeholder=t("a.sched_who_ph"))
            if any(is_backward(status_now, m) for m in moves):
                back_ok = st.checkbox(t("a.back_confirm"), key=k("a_back"))
        else:
            st.caption(t("a.no_moves"))
        if st.form_submit_button(t("a.apply"), type="primary", disabled=not moves, key=k("a_go_transition")) and moves:
            if to is None:
                _flash((False, t("a.pick_first")))
            elif is_backward(status_now, to) and not back_ok:
                _flash((False, t("a.back_needed", frm=i18n.status(status_now), to=i18n.status(to))))
            elif to == "dismissed" and not note.strip():
                _flash((False, t("a.reason_needed")))
            elif to == "assigned" and not c.get("assignee"):
                _flash((False, t("a.assign_first")))
            elif to == "inspection_scheduled" and (when is None or not who_went.strip()):
                _flash((False, t("a.sched_needed")))
            else:
                if to == "inspection_scheduled":
                    note = t("a.sched_note", date=f"{when:%Y-%m-%d}", who=who_went.strip()) + (
                        f"{'；' if i18n.lang() == 'zh' else '; '}{note.strip()}" if note.strip() else "")
                _flash(run_action(cases.transition, case_id, to, scope, version, note=note.strip() or None, url=db))
    with right:
        if scope.role in ("national", "provincial") and status_now in ("new", "triaged", "assigned", "inspection_scheduled"):
            users = data.assignable_users(scope, db, c["province_code"]).filter(
                ((pl.col("role") == "municipal") & (pl.col("city_name") == c.get("city_name")))
                | ((pl.col("role") != "municipal") & pl.lit(scope.role == "national"))
            )
            with st.form(k("f_assign")):
                st.markdown(f"**{t('a.assign')}**")
                names = users["username"].to_list()
                labels = {r["username"]: f"{r['display_name'] or r['username']} ({r['username']})"
                          for r in users.iter_rows(named=True)} if "display_name" in users.columns else {}
                who = st.selectbox(t("a.assign_to"), names, index=None, key=k("a_who"),
                                   format_func=lambda u: labels.get(u, u),
                                   placeholder=t("a.pick_assignee")) if names else None
                if not names:
                    st.caption(t("q.no_assignees"))
                if st.form_submit_button(t("a.apply"), disabled=not names, key=k("a_go_assign")) and names:
                    if who is None:
                        _flash((False, t("a.pick_assignee")))  # st.rerun(): nothing below runs
                    if status_now == "new":
                        ok, msg = run_action(cases.transition, case_id, "triaged", scope, version, url=db)
                        if not ok:
                            _flash((ok, msg))
                        version += 1
                    _flash(run_action(cases.assign, case_id, who, scope, version, url=db))
    left, right = st.columns(2)
    with left, st.form(k("f_note"), clear_on_submit=True):
        st.markdown(f"**{t('a.add_note')}**")
        text = st.text_area(t("a.note_text"), key=k("a_note_text"), height=90)
        if st.form_submit_button(t("a.apply"), key=k("a_go_note")) and text.strip():
            _flash(run_action(cases.add_note, case_id, text.strip(), scope, url=db))
    outcomes = [o for o in ("confirmed", "dismissed") if o in moves]
    if outcomes:
        with right, st.form(k("f_outcome")):
            st.markdown(f"**{t('a.outcome')}**")
            kind = st.radio(t("a.outcome_kind"), outcomes, index=None, format_func=i18n.status, horizontal=True,
                            key=k("a_kind"))
            fam_opts = [f for f in (c.get("families") or "").split("|") if f] or list(i18n.FAMILY_LABELS)
            fam = st.selectbox(t("a.outcome_family"), fam_opts, format_func=i18n.family, key=k("a_family"))
            pattern = st.text_input(t("a.outcome_pattern"), key=k("a_pattern"))
            reason = st.text_area(t("a.outcome_reason"), key=k("a_reason"), height=70)
            if st.form_submit_button(t("a.apply"), type="primary", key=k("a_go_outcome")):
                if kind is None:
                    _flash((False, t("a.pick_outcome")))
                elif kind == "dismissed" and not reason.strip():
                    _flash((False, t("a.reason_needed")))
                else:
                    _flash(run_action(cases.record_outcome, case_id, kind, scope, version,
                                      family=fam if kind == "confirmed" else None, pattern=pattern.strip() or None,
                                      reason=reason.strip() or None, url=db))
