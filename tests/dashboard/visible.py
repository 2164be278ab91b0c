"""What a reader sees of an AppTest run, as strings: labels, texts, widget options, table cells and
column headers, chart titles, axes, legends and category labels (for the both-languages test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_FIG_KEYS = {"text", "name", "x", "y", "ticktext", "labels", "title", "legendgrouptitle"}
_VALUE_HIDDEN = {"text_input", "text_area", "selectbox", "multiselect", "radio", "button_group", "select_slider",
                 "segmented_control", "pills", "checkbox", "toggle", "number_input", "slider", "date_input",
                 "time_input", "color_picker"}
_SKIP_TYPES = {"component_instance", "bidi_component", "unknown", "empty", "html", "code", "json"}


def _strings(v: Any) -> Iterator[str]:
    if isinstance(v, str):
        yield v
    elif isinstance(v, list | tuple):
        for x in v:
            yield from _strings(x)


def _figure(spec: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k in ("hovertemplate", "texttemplate", "meta", "customdata", "template", "uid", "legendgroup",
                     "offsetgroup", "alignmentgroup", "type", "xaxis", "yaxis"):
                continue
            yield from _figure(v, k)
    elif isinstance(spec, list):
        for x in spec:
            yield from _figure(x, key)
    elif isinstance(spec, str) and key in _FIG_KEYS:
        yield spec


def _table(node: Any) -> Iterator[str]:
    """A table's headers (the column_config label, else the column name) and its text cells; ``None`` for
    a null cell when the table sets no placeholder (Streamlit then draws "None")."""
    df = node.value
    proto = node.proto
    cfg = json.loads(proto.columns) if getattr(proto, "columns", "") else {}
    order = list(getattr(proto, "column_order", []) or [])
    cols = [c for c in df.columns if (not order or str(c) in order)]
    for col in cols:
        conf = cfg.get(str(col), {}) if isinstance(cfg.get(str(col)), dict) else {}
        if conf.get("hidden"):
            continue
        yield conf.get("label") if isinstance(conf.get("label"), str) else str(col)
        for v in df[col].tolist():
            if isinstance(v, str):
                yield v
            elif v is None and not getattr(proto, "placeholder", ""):
                yield "None"


def visible(node: Any) -> Iterator[str]:
    """Every visible string under ``node`` (an AppTest, a block or an element)."""
    if hasattr(node, "_tree"):  # the AppTest
        yield from visible(node._tree)
        return
    children = getattr(node, "children", None)
    if isinstance(children, dict):  # a block: expander, tab, column, form …
        label = getattr(node, "label", None)
        if isinstance(label, str):
            yield label
        for child in children.values():
            yield from visible(child)
        return
    kind = getattr(node, "type", "")
    if kind in _SKIP_TYPES:
        return
    proto = getattr(node, "proto", None)
    if kind in ("arrow_data_frame", "dataframe", "table"):
        yield from _table(node)
        return
    if kind == "plotly_chart" and proto is not None:
        try:
            yield from _figure(json.loads(proto.spec))
        except (ValueError, AttributeError):
            pass
        return
    for attr in ("label", "value", "body", "options", "placeholder", "help", "delta"):
        try:
            v = getattr(node, attr)
        except Exception:  # noqa: BLE001 - not every element has every attribute
            continue
        if attr == "value" and kind in _VALUE_HIDDEN:
            continue  # what the reader typed, or an option's key (its label is among the options)
        yield from _strings(v)
