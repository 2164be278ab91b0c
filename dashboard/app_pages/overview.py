"""总览 Overview: cases and tCO₂ at stake by province and family, the trend over nights, the last run."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from dashboard import data, i18n
from dashboard.i18n import t

scope = data.current_scope()
ov = data.overview(scope, data.url())

st.title(t("ov.title"))
tot = ov.totals
c = st.columns(5)
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
        st.subheader(t("ov.by_province"))
        bp = ov.by_province.with_columns(
            label=pl.col("province_code").map_elements(i18n.province, return_dtype=pl.String),
            stake_kt=pl.col("tco2_at_stake") / 1000,
        )
        fig = px.bar(
            bp, x="stake_kt", y="label", orientation="h", text="cases",
            labels={"stake_kt": t("col.tco2_at_stake").replace("tCO₂", "kt CO₂"), "label": "", "cases": t("ov.cases")},
            hover_data={"open_cases": True, "confirmed": True},
        )
        fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=max(260, 28 * bp.height + 80),
                          margin={"l": 10, "r": 10, "t": 10, "b": 10})
        fig.update_traces(texttemplate="%{text} " + ("件" if i18n.lang() == "zh" else "cases"), textposition="outside")
        st.plotly_chart(fig, key="ov_province")
    with right:
        st.subheader(t("ov.by_family"))
        bf = ov.by_family.with_columns(
            label=pl.col("family").map_elements(i18n.family, return_dtype=pl.String),
            stake_kt=pl.col("tco2_at_stake") / 1000,
        )
        fig = px.bar(bf, x="stake_kt", y="label", orientation="h", text="cases",
                     labels={"stake_kt": "kt CO₂", "label": "", "cases": t("ov.cases")})
        fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(fig, key="ov_family")
        st.subheader(t("ov.by_status"))
        bs = ov.by_status.with_columns(label=pl.col("status").map_elements(i18n.status, return_dtype=pl.String))
        fig = px.bar(bs, x="label", y="cases", text="cases", labels={"label": "", "cases": t("ov.cases")})
        fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(fig, key="ov_status")

    st.subheader(t("ov.trend"))
    if ov.trend.height:
        tr = ov.trend.rename({"new_cases": t("ov.new_cases"), "new_findings": t("ov.new_findings")}).unpivot(
            index="night", on=[t("ov.new_cases"), t("ov.new_findings")], variable_name="series", value_name="n"
        )
        fig = px.bar(tr, x="night", y="n", color="series", barmode="group", labels={"night": "", "n": "", "series": ""})
        fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(fig, key="ov_trend")

st.subheader(t("ov.latest_run"))
run = ov.latest_run
if run is None:
    st.info(t("ov.no_run"))
else:
    c = st.columns(4)
    ok = run["status"] == "success"
    c[0].metric(t("run.status"), ("✅ " if ok else "❌ " if run["status"] == "failed" else "⏳ ") + i18n.run_status(run["status"]))
    c[1].metric(t("run.started"), f"{run['started_at']:%Y-%m-%d %H:%M}")
    c[2].metric(t("run.duration"), i18n.seconds(run["duration_s"]))
    c[3].metric(t("run.bundles"), run["bundles"])
    st.caption(f"{run['run_id']} · " + " · ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}"
                                                  for k, v in run["counts"].items()))
    if run["error"]:
        st.error(f"{t('run.error')}: {run['error']}")
    if run["stage_seconds"]:
        stages = pl.DataFrame({"stage": list(run["stage_seconds"]), "seconds": list(run["stage_seconds"].values())})
        fig = px.bar(stages, x="seconds", y="stage", orientation="h", labels={"seconds": t("run.stages"), "stage": ""})
        fig.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"autorange": "reversed"})
        st.plotly_chart(fig, key="ov_stages")
