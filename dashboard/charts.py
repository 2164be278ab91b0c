"""Evidence charts of the case page (Plotly figures from :class:`carbonqa.queries.CaseDetail` frames).

Reported data carry unit errors (a month 100× off, a peer unit in kgC/GJ): a plain autoscaled axis then
shows one spike and a flat line. So the charts scale to the *robust* range of the data (median ± k·MAD)
and mark what lies outside it at the edge, with its value written out, instead of letting it squeeze
the rest (:func:`robust_window`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from dashboard import i18n
from dashboard.i18n import t
from dashboard.text import plot

MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
RED = "#d62728"
UNIT_SYMBOLS = ["triangle-down", "diamond", "square", "star", "x", "circle"]


def unit_label(unit_id: str | None, enterprise_id: str | None = None) -> str:
    """Short label of a unit: ``机组 01`` for ``<enterprise id>-01``, else the id as is."""
    u = unit_id or ""
    if enterprise_id and u.startswith(enterprise_id):
        suffix = u[len(enterprise_id):].lstrip("-_ ")
        if suffix:
            return t("c.unit_short", n=suffix)
    return u


def robust_window(values: list[float] | pl.Series, k: float = 8.0) -> tuple[float, float] | None:
    """``(lo, hi)`` = median ± ``k``·σ̂ with σ̂ = 1.4826·MAD (5 % of |median| when MAD is 0).

    Values outside are "off scale" (a unit error is 10× to 1000× off; natural spread of carbon content,
    NCV or monthly coal use stays well inside). ``None`` for no finite values.
    """
    v = np.asarray([x for x in (values.to_list() if isinstance(values, pl.Series) else values)
                    if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return None
    med = float(np.median(v))
    mad = float(np.median(np.abs(v - med))) * 1.4826
    sigma = mad if mad > 0 else (abs(med) * 0.05 or 1.0)
    return med - k * sigma, med + k * sigma


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    a = abs(x)
    return f"{x:,.4f}" if a < 1 else f"{x:,.2f}" if a < 1000 else f"{x:,.0f}"


def carbon_content_vs_peers(cc_unit: pl.DataFrame, cc_peers: pl.DataFrame, enterprise_id: str | None) -> tuple[go.Figure, str]:
    """Histogram of the peers' mean measured carbon content (tC/GJ) with one marker per unit of the case.

    The x-axis covers the peers' robust range; peers outside are counted in the returned note, case
    units outside are written at the edge (value and multiple of the peer median).

    Returns:
        ``(figure, note)`` — the note (peer count, off-scale peers) goes under the chart.
    """
    units = cc_unit.group_by("unit_id").agg(pl.col("cc_tc_per_gj").mean()).sort("unit_id")
    peers = cc_peers.filter(pl.col("cc_tc_per_gj").is_not_null())
    base = peers["cc_tc_per_gj"] if peers.height >= 5 else pl.concat([peers["cc_tc_per_gj"], units["cc_tc_per_gj"]])
    win = robust_window(base)
    lo, hi = win if win else (0.0, 1.0)
    inside = peers.filter(pl.col("cc_tc_per_gj").is_between(lo, hi))
    off_peers = peers.height - inside.height
    med = float(inside["cc_tc_per_gj"].median()) if inside.height else None

    fig = go.Figure()
    counts_max = 1
    for ct in sorted(inside["coal_type"].drop_nulls().unique().to_list()):
        x = inside.filter(pl.col("coal_type") == ct)["cc_tc_per_gj"].to_numpy()
        fig.add_trace(go.Histogram(x=x, nbinsx=40, name=t("c.peers_of", coal=i18n.coal_type(ct)), opacity=0.75,
                                   hovertemplate="%{x} tC/GJ: %{y}<extra></extra>"))
        counts_max = max(counts_max, int(np.histogram(x, bins=40)[0].max()) if x.size else 1)

    # one marker per distinct value (units with identical values share one, named together)
    groups = (units.with_columns(key=pl.col("cc_tc_per_gj").round(5))
              .group_by("key", maintain_order=True).agg(pl.col("unit_id"), pl.col("cc_tc_per_gj").first()))
    in_vals = [v for v in groups["cc_tc_per_gj"].to_list() if lo <= v <= hi]
    xs = [*inside["cc_tc_per_gj"].to_list(), *in_vals]
    x0, x1 = (min(xs), max(xs)) if xs else (lo, hi)
    pad = (x1 - x0) * 0.06 or abs(x0) * 0.02 or 0.001
    x0, x1 = x0 - pad, x1 + pad
    off_y = 0.98
    for i, r in enumerate(groups.iter_rows(named=True)):
        names = "、".join(plot(unit_label(u, enterprise_id)) for u in r["unit_id"]) if i18n.lang() == "zh" else \
            ", ".join(plot(unit_label(u, enterprise_id)) for u in r["unit_id"])
        v = float(r["cc_tc_per_gj"])
        label = f"{names}: {_fmt(v)} tC/GJ"
        if x0 <= v <= x1:
            fig.add_vline(x=v, line_color=RED, line_width=2, line_dash="dash")
            fig.add_trace(go.Scatter(
                x=[v], y=[counts_max * 1.08], mode="markers", name=label,
                marker={"symbol": UNIT_SYMBOLS[i % len(UNIT_SYMBOLS)], "size": 14, "color": RED,
                        "line": {"color": "white", "width": 1}},
                hovertemplate=label + "<extra></extra>",
            ))
        else:  # off scale: written at the edge it lies beyond
            right = v > x1
            times = f" ≈ {v / med:,.0f}× {t('c.peer_median')}" if med and v > 0 and (v / med >= 3 or v / med <= 1 / 3) else ""
            fig.add_annotation(
                xref="paper", yref="paper", x=1.0 if right else 0.0, y=off_y, showarrow=False,
                xanchor="right" if right else "left", align="right" if right else "left",
                text=f"{'' if right else '◀ '}<b>{label}</b>{times}{' ▶' if right else ''}<br>{t('c.off_scale')}",
                font={"color": RED, "size": 12}, bgcolor="rgba(255,255,255,0.85)", bordercolor=RED, borderwidth=1,
            )
            off_y -= 0.2
    fig.update_layout(
        height=320, margin=MARGIN, bargap=0.05, barmode="overlay", xaxis_title="tC/GJ", yaxis_title=t("c.n_units"),
        xaxis_range=[x0, x1], yaxis_range=[0, counts_max * 1.18], showlegend=True,
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    note = t("c.cc_peer_n", n=peers.height)
    if med is not None:
        note += t("c.cc_peer_median", m=_fmt(med))
    if off_peers:
        note += t("c.cc_peer_off", n=off_peers)
    return fig, note


def monthly_series(monthly: pl.DataFrame, metric: str, enterprise_id: str | None, *, log: bool = False) -> tuple[go.Figure, list[dict[str, Any]]]:
    """Lines of ``metric`` per unit over the months, suspicious months ringed in red.

    Unless ``log``, the y-axis covers the robust range of all units' values; a month beyond it (a 100×
    unit error) is drawn as a red triangle at the top or bottom edge, labelled with its true value.

    Returns:
        ``(figure, off_scale)`` — ``off_scale`` one dict per clipped month: ``unit_id, period, value``.
    """
    vals = monthly[metric].drop_nulls()
    win = None if log else robust_window(vals)
    off: list[dict[str, Any]] = []
    if win is not None:
        inside = vals.filter(vals.is_between(*win))
        lo, hi = (float(inside.min()), float(inside.max())) if inside.len() else win
        pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 1.0
        y0, y1 = lo - pad, hi + pad
    fig = go.Figure()
    shown_ring = False
    units = monthly["unit_id"].unique().sort().to_list()
    for unit in units:
        u = monthly.filter(pl.col("unit_id") == unit).sort("period")
        name = plot(unit_label(unit, enterprise_id))  # submitted ids: no Plotly markup
        y = u[metric].to_list()
        periods = u["period"].to_list()
        y_plot = list(y)
        if win is not None:
            for i, v in enumerate(y):
                if v is not None and not (y0 <= v <= y1):
                    off.append({"unit_id": unit, "period": periods[i], "value": v})
                    y_plot[i] = None  # the line breaks there; the edge marker says where it went
        fig.add_trace(go.Scatter(x=periods, y=y_plot, mode="lines+markers", name=name, legendgroup=unit,
                                 hovertemplate=f"{name} %{{x}}: %{{y}}<extra></extra>"))
        s = u.filter(pl.col("is_suspicious"))
        if s.height:
            sy = [None if (win is not None and v is not None and not (y0 <= v <= y1)) else v for v in s[metric].to_list()]
            fig.add_trace(go.Scatter(
                x=s["period"].to_list(), y=sy, mode="markers", legendgroup="suspicious", showlegend=not shown_ring,
                marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": RED, "width": 3}},
                name=t("c.suspicious_month"), text=s["suspicious_codes"].to_list(),
                hovertemplate=name + " %{x}: %{y}<br>%{text}<extra></extra>",
            ))
            shown_ring = True
    for p in monthly.filter(pl.col("is_suspicious"))["period"].unique().to_list():
        fig.add_vrect(x0=p, x1=p, line_width=18, line_color="rgba(255,0,0,0.10)")
    if off:
        up = [o for o in off if o["value"] > y1]
        down = [o for o in off if o["value"] < y0]
        for grp, edge, sym in ((up, y1, "triangle-up"), (down, y0, "triangle-down")):
            if not grp:
                continue
            fig.add_trace(go.Scatter(
                x=[o["period"] for o in grp], y=[edge] * len(grp), mode="markers+text", cliponaxis=False,
                marker={"symbol": sym, "size": 14, "color": RED}, name=t("c.off_scale_month"),
                text=[_fmt(o["value"]) for o in grp], textposition="bottom center" if sym == "triangle-up" else "top center",
                textfont={"color": RED}, customdata=[unit_label(o["unit_id"], enterprise_id) for o in grp],
                hovertemplate="%{customdata} %{x}: %{text}<extra></extra>",
            ))
        fig.update_yaxes(range=[y0, y1])
    elif win is not None and vals.len():
        fig.update_yaxes(range=[y0, y1])
    if log:
        fig.update_yaxes(type="log")
    fig.update_layout(height=340, margin=MARGIN, yaxis_title=i18n.metric(metric), xaxis_type="category",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0})
    return fig, off


def reported_vs_telemetry(tel: pl.DataFrame, enterprise_id: str | None) -> tuple[go.Figure, list[dict[str, Any]]]:
    """Grouped bars of reported vs telemetered generation (MWh) per month, one small panel per unit.

    A month far beyond the robust range of both series (a reported value 1,000× off) is cut at the top of
    its panel and its true value written above the bar, so the other months stay readable.

    Returns:
        ``(figure, off_scale)`` — ``off_scale`` one dict per cut bar: ``unit_id, period, series, value``.
    """
    from plotly.subplots import make_subplots

    units = tel["unit_id"].unique().sort().to_list()
    series = (("reported_generation_mwh", t("c.reported"), "#1f77b4"),
              ("telemetry_generation_mwh", t("c.telemetered"), "#9ecae1"))
    fig = make_subplots(rows=len(units), cols=1, shared_xaxes=True, vertical_spacing=0.08 if len(units) > 1 else 0,
                        subplot_titles=[plot(unit_label(u, enterprise_id)) for u in units])
    off: list[dict[str, Any]] = []
    for i, unit in enumerate(units, start=1):
        u = tel.filter(pl.col("unit_id") == unit).sort("period")
        vals = pl.concat([u[c] for c, _, _ in series]).drop_nulls()
        win = robust_window(vals)
        top = None
        if win is not None:
            inside = vals.filter(vals <= win[1])
            if inside.len() < vals.len() and inside.len():
                top = float(inside.max()) * 1.25
        for col, name, color in series:
            fig.add_trace(go.Bar(x=u["period"].to_list(), y=u[col].to_list(), name=name, marker_color=color,
                                 legendgroup=col, showlegend=i == 1,
                                 hovertemplate="%{x}: %{y:,.0f} MWh<extra>" + name + "</extra>"), row=i, col=1)
            if top is not None:
                for p, v in zip(u["period"].to_list(), u[col].to_list(), strict=True):
                    if v is not None and v > top:
                        off.append({"unit_id": unit, "period": p, "series": name, "value": v})
                        fig.add_annotation(x=p, y=top, text=f"▲ {v:,.0f}", showarrow=False, yanchor="top",
                                           font={"color": RED, "size": 11}, bgcolor="rgba(255,255,255,0.85)",
                                           row=i, col=1)
        fig.update_yaxes(title_text="MWh", row=i, col=1, **({"range": [0, top]} if top is not None else {}))
    fig.update_xaxes(type="category")
    fig.update_layout(height=120 + 170 * len(units), margin=MARGIN, barmode="group",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.25 / len(units), "x": 0})
    for a in fig.layout.annotations:  # subplot titles: small, left
        if a.text and not a.text.startswith("▲"):
            a.update(font={"size": 12}, x=0, xanchor="left")
    return fig, off
