"""运行记录 Screening runs: nightly runs, seconds per stage, counts, failures."""

from __future__ import annotations

import json

import plotly.express as px
import polars as pl
import streamlit as st

from carbonqa.queries import run_summary
from dashboard import data, i18n
from dashboard.i18n import t
from dashboard.text import md

scope = data.current_scope()
db = data.url()

st.title(t("run.title"))
head = data.chain_head(db)
if head is not None:
    st.caption(t("run.chain_head", h=head["hash"][:16] + "…", run=md(head["run_id"]), at=f"{head['recorded_at']:%Y-%m-%d %H:%M}"))
runs = data.runs(scope, db)
if runs.is_empty():
    st.info(t("run.none"))
    st.stop()

stages = data.run_stages(scope, db)
if not stages.is_empty():
    st.subheader(t("run.stages"))
    sv = stages.with_columns(night=pl.col("started_at").dt.strftime("%m-%d %H:%M"), stage=i18n.each(stages["stage"], i18n.stage))
    fig = px.bar(sv.sort("started_at"), x="night", y="seconds", color="stage",
                 labels={"night": "", "seconds": t("run.seconds"), "stage": ""}, hover_data=["run_id"])
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_type="category")
    st.plotly_chart(fig, key="run_stages_chart")

failed = runs.filter(pl.col("status") == "failed")
st.subheader(t("run.failures"))
if failed.is_empty():
    st.caption(t("run.no_failures"))
for r in failed.iter_rows(named=True):
    err = t("run.error_withheld") if r["error"] == "withheld" else md(r["error"])  # never Markdown, never another jurisdiction's rows
    st.error(f"**{md(r['run_id'])}** · {r['started_at']:%Y-%m-%d %H:%M} — {err}")

def _digest(counts: str | None) -> str:
    s = run_summary(json.loads(counts or "{}"))
    return t("run.digest", findings=f"{s['findings']:,}", new=f"{s['new']:,}", parts=s["partitions"],
             failed=len(s["failed"]), cases=f"{s['cases'].get('created', s['cases'].get('cases', 0)):,}")


view = runs.with_columns(
    status_label=i18n.each(runs["status"], i18n.run_status),
    duration=i18n.each(runs["duration_s"], i18n.seconds),
    digest=i18n.each(runs["counts"], _digest),
).select("run_id", "status_label", "started_at", "duration", "trigger", "bundles", "digest", "error")
st.dataframe(view, hide_index=True, placeholder="–", key="run_table", column_config={
    "run_id": t("run.run_id"),
    "status_label": t("run.status"),
    "started_at": st.column_config.DatetimeColumn(t("run.started"), format="YYYY-MM-DD HH:mm"),
    "duration": t("run.duration"),
    "trigger": t("run.trigger"),
    "bundles": t("run.bundles"),
    "digest": st.column_config.TextColumn(t("run.counts"), width="large"),
    "error": t("run.error"),
})
