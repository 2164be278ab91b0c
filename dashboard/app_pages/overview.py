"""总览 Overview: cases and tCO₂ at stake by province and family, the trend over nights, the last run."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from dashboard import data, i18n
from dashboard.i18n import t
from dashboard.text import md, plot

scope = data.current_scope()
years = data.queue_options(scope, data.url())["years"]

st.title(t("ov.title"))
# one reporting year at a time, as the queue (ranks and stakes are per year); the latest by default
year_opts = [*years, 0]
data.keep_valid("ov_year", year_opts)
year = st.selectbox(t("q.year"), year_opts, key="ov_year", width=180,
                    format_func=lambda y: t("q.all_years") if y == 0 else str(y))
ov = data.overview(scope, data.url(), int(year) or None)
tot = ov.totals
c = st.columns([1, 1, 1.6, 1, 1])
c[0].metric(t("ov.cases"), f"{tot['cases']:,}")
c[1].metric(t("ov.open"), f"{tot['open_cases']:,}")
c[2].metric(*i18n.tonnes_metric(t("ov.stake"), tot["open_tco2_at_stake"]))
c[3].metric(t("ov.confirmed"), f"{tot['confirmed']:,}")
c[4].metric(t("ov.provinces"), f"{tot['provinces']:,}")

if tot["cases"] == 0:
    st.info(t("ov.no_cases"))
else:
    left, right = st.columns([3, 2])
    with left:
        one_province = tot["provinces"] == 1 and ov.by_city.height > 1
        if one_province:  # a provincial or municipal reader: one bar per city says more than one per province
            st.subheader(t("ov.by_city"))
            bp = ov.by_city.with_columns(  # cities are submitted text: no Plotly markup
                label=pl.Series([plot(i18n.city(c, p)) if c else t("ov.no_city")
                                 for c, p in zip(ov.by_city["city_name"], ov.by_city["province_code"], strict=True)],
                                dtype=pl.String),
                stake_kt=pl.col("tco2_at_stake") / 1000,
            )
        else:
            st.subheader(t("ov.by_province"))
            bp = ov.by_province.with_columns(
                label=i18n.each(ov.by_province["province_code"], i18n.province),
                stake_kt=pl.col("tco2_at_stake") / 1000,
            )
        fig = px.bar(
            bp, x="stake_kt", y="label", orientation="h", text="cases",
            labels={"stake_kt": t("ov.stake_kt"), "label": "", "cases": t("ov.cases"),
                    "open_cases": t("ov.open"), "confirmed": t("ov.confirmed")},
            hover_data={"open_cases": True, "confirmed": True},
        )
        fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=max(260, 28 * bp.height + 80),
                          margin={"l": 10, "r": 40, "t": 10, "b": 10})
        fig.update_traces(texttemplate="%{text} " + t("ov.cases_unit"), textposition="outside", cliponaxis=False)
        st.plotly_chart(fig, key="ov_province")
    with right:
        st.subheader(t("ov.by_family"))
        bf = ov.by_family.with_columns(
            label=i18n.each(ov.by_family["family"], i18n.family),
            stake_kt=pl.col("tco2_at_stake") / 1000,
        )
        fig = px.bar(bf, x="stake_kt", y="label", orientation="h", text="cases",
                     labels={"stake_kt": t("ov.stake_kt"), "label": "", "cases": t("ov.cases")})
        fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=320, margin={"l": 10, "r": 40, "t": 10, "b": 10})
        # bar length = kt CO₂ (axis title says so); the label = number of cases, with its unit
        fig.update_traces(texttemplate="%{text} " + t("ov.cases_unit"), textposition="outside", cliponaxis=False)
        st.plotly_chart(fig, key="ov_family")
        st.subheader(t("ov.by_status"))
        bs = ov.by_status.with_columns(label=i18n.each(ov.by_status["status"], i18n.status))
        fig = px.bar(bs, x="label", y="cases", text="cases", labels={"label": "", "cases": t("ov.cases")})
        fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(fig, key="ov_status")

    st.subheader(t("ov.trend"))
    if ov.trend.height:
        tr = ov.trend.rename({"new_cases": t("ov.new_cases"), "new_findings": t("ov.new_findings")}).unpivot(
            index="night", on=[t("ov.new_cases"), t("ov.new_findings")], variable_name="series", value_name="n"
        )
        tr = tr.with_columns(pl.col("night").dt.strftime("%Y-%m-%d"))  # one bar group per night, not a time axis
        fig = px.bar(tr, x="night", y="n", color="series", barmode="group", text="n",
                     labels={"night": "", "n": t("ov.count"), "series": ""})
        fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_type="category",
                          bargap=0.5 if tr["night"].n_unique() < 4 else 0.2)
        fig.update_traces(textposition="outside", cliponaxis=False)
        st.plotly_chart(fig, key="ov_trend")

st.subheader(t("ov.latest_run"))
run = ov.latest_run
if run is None:
    st.info(t("ov.no_run"))
else:
    summ = run["summary"]
    c = st.columns(5)
    c[0].metric(t("run.status"), i18n.run_status(run["status"]))
    c[1].metric(t("run.started"), f"{run['started_at']:%m-%d %H:%M}", help=f"{run['started_at']:%Y-%m-%d %H:%M:%S}")
    c[2].metric(t("run.duration"), i18n.seconds(run["duration_s"]))
    c[3].metric(t("run.bundles"), f"{run['bundles']:,}")
    c[4].metric(t("run.findings"), f"{summ['findings']:,}", help=t("run.new_help", n=summ["new"]))
    years = summ["years"]
    span = (f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])) if years else "–"
    st.caption(t("run.summary_line", run=run["run_id"], parts=summ["partitions"], provinces=summ["provinces"],
                 years=span, failed=len(summ["failed"]), created=f"{summ['cases'].get('created', 0):,}",
                 attached=f"{summ['cases'].get('attached', 0):,}"))
    if run["error"]:  # withheld for regional readers (it may quote other provinces' rows); escaped
        st.error(t("run.error_withheld") if run["error"] == "withheld" else f"{t('run.error')}: {md(run['error'])}")
    if summ["failed"]:
        st.warning(t("run.failed_parts", parts="、".join(summ["failed"])))
    if summ["missing"]:
        st.warning(t("run.missing", pkgs=", ".join(summ["missing"])))
    left, mid, right = st.columns([2, 2, 2])
    with left:
        st.markdown(f"**{t('run.by_family')}**")
        if summ["by_family"]:
            fam = pl.DataFrame({"family": list(summ["by_family"]), "n": list(summ["by_family"].values())})
            fam = fam.with_columns(label=i18n.each(fam["family"], i18n.family))
            fig = px.bar(fam, x="n", y="label", orientation="h", text="n", labels={"n": t("run.findings"), "label": ""})
            fig.update_layout(height=40 + 26 * fam.height, margin={"l": 10, "r": 30, "t": 10, "b": 10},
                              yaxis={"autorange": "reversed"}, xaxis={"visible": False})
            fig.update_traces(textposition="outside", cliponaxis=False)
            st.plotly_chart(fig, key="ov_run_family")
        else:
            st.caption("–")
    with mid:
        st.markdown(f"**{t('run.slowest')}**")
        slow = summ["slowest"].with_columns(province=i18n.each(summ["slowest"]["province_code"], i18n.province)).select("province", "year", "seconds", "findings")
        st.dataframe(slow, hide_index=True, placeholder="–", key="ov_run_slowest", column_config={
            "province": t("col.province"), "year": st.column_config.NumberColumn(t("col.year"), format="%d"),
            "seconds": st.column_config.NumberColumn(t("run.seconds"), format="%.1f s"),
            "findings": st.column_config.NumberColumn(t("run.findings"), format="%d"),
        })
    with right:
        st.markdown(f"**{t('run.stages')}**")
        if run["stage_seconds"]:
            stages = pl.DataFrame({"stage": list(run["stage_seconds"]), "seconds": list(run["stage_seconds"].values())})
            stages = stages.with_columns(label=i18n.each(stages["stage"], i18n.stage))
            fig = px.bar(stages, x="seconds", y="label", orientation="h", text="seconds",
                         labels={"seconds": t("run.seconds"), "label": ""})
            fig.update_traces(texttemplate="%{text:.1f} s", textposition="outside", cliponaxis=False)
            fig.update_layout(height=40 + 30 * stages.height, margin={"l": 10, "r": 40, "t": 10, "b": 10},
                              yaxis={"autorange": "reversed"}, xaxis={"visible": False})
            st.plotly_chart(fig, key="ov_stages")
