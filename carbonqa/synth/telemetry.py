"""Hourly plant telemetry (gross load, belt-scale coal feed, CEMS CO2), vectorised per province.

For each province the hours × units grid is built as (n_units, T) numpy arrays (T = 8,760 or 8,784):
an outage block per unit-month gives zero load, a diurnal shape with noise is scaled so that each
month sums to the *true* generation times a unit-specific meter bias; coal feed follows the true coal
per MWh with a belt-scale bias, CEMS CO2 the true combustion emissions with a CEMS bias (DOMAIN §4.5:
honest sources differ by a few percent). No Python loop runs over hours or rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from carbonqa.synth import params as P
from carbonqa.synth.monthly import State

__all__ = ["telemetry_controls", "write_telemetry"]


def telemetry_controls(st: State, rng: np.random.Generator) -> None:
    """Draw per-unit telemetry properties: CEMS fitted, biases, CCS capture, honest short gaps.

    Stores ``tel_cems`` (U,) bool, ``tel_load_bias``, ``tel_scale_bias``, ``tel_cems_bias``,
    ``tel_capture`` (U,) floats, ``tel_present`` (U, 12) bool (patterns clear months) and
    ``tel_gap_start``/``tel_gap_len`` (U,) ints (hour of year, −1 = no gap).
    """
    U = st.reg.n_units
    cap = st.reg.capacity
    p_cems = np.clip(P.CEMS_SHARE + 0.25 * (cap >= 600) - 0.25 * (cap < 200), 0.05, 0.95)
    sign = lambda: rng.choice([-1.0, 1.0], U)  # noqa: E731
    T = int(st.cal.hours.sum())
    gap = rng.random(U) < P.TELEMETRY_GAP_P
    st.set(
        tel_cems=rng.random(U) < p_cems,
        tel_load_bias=rng.uniform(-P.LOAD_BIAS, P.LOAD_BIAS, U),
        tel_scale_bias=sign() * rng.uniform(*P.SCALE_BIAS, U),
        tel_cems_bias=sign() * rng.uniform(*P.CEMS_BIAS, U),
        tel_capture=np.where(st.reg.is_ccs, rng.uniform(*P.CCS_CAPTURE_SHARE, U), 0.0),
        tel_present=np.ones((U, 12), dtype=bool),
        tel_gap_start=np.where(gap, rng.integers(0, T - 40, U), -1),
        tel_gap_len=np.where(gap, rng.integers(*P.TELEMETRY_GAP_HOURS, U), 0),
        tel_amp=rng.uniform(0.04, 0.16, U),
    )


def _province_frame(st: State, idx: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Telemetry rows of the units ``idx`` (one province), sorted by unit and hour."""
    cal = st.cal
    hours = cal.hours
    T = int(hours.sum())
    moh = np.repeat(np.arange(12), hours)
    mstart = np.r_[0, np.cumsum(hours)[:-1]]
    him = np.arange(T) - mstart[moh]
    hod = np.arange(T) % 24
    n = len(idx)

    gen = st.t_gen[idx]
    load_m = np.clip(st.t_load[idx], 0.3, 0.99)
    amp = np.minimum(st.tel_amp[idx][:, None], (1 / load_m - 1) * 0.7)  # (n, 12): keep peaks below capacity
    diurnal = (0.8 * np.sin(2 * np.pi * (hod - 8) / 24) + 0.2 * np.sin(4 * np.pi * (hod - 5) / 24)).astype(np.float64)
    prof = 1 + amp[:, moh] * diurnal[None, :]
    prof *= 1 + P.HOURLY_NOISE["load"] * rng.standard_normal((n, T), dtype=np.float32)
    np.maximum(prof, 0.05, out=prof)
    s0 = st.t_out_start[idx][:, moh]
    off = (him[None, :] >= s0) & (him[None, :] < s0 + st.t_out_len[idx][:, moh])
    prof[off] = 0.0
    target = gen * (1 + st.tel_load_bias[idx][:, None])
    cap = st.reg.capacity[idx][:, None]
    load = prof
    for _ in range(3):  # scale to the month's generation, clip at capacity, re-scale the rest
        sums = np.add.reduceat(load, mstart, axis=1)
        scale = np.where(sums > 0, target / np.where(sums > 0, sums, 1), 0.0)
        load *= scale[:, moh]
        np.minimum(load, cap, out=load)

    coal_per_mwh = np.where(gen > 0, st.t_fuel[idx] / np.where(gen > 0, gen, 1), 0.0)  # true t/MWh
    true_coal = load * coal_per_mwh[:, moh]
    coal = true_coal * (1 + st.tel_scale_bias[idx][:, None])
    coal *= 1 + P.HOURLY_NOISE["coal"] * rng.standard_normal((n, T), dtype=np.float32)
    ef = st.t_ncv[idx] * st.t_cc[idx] * st.rp.oxidation_rate * P.CO2_PER_C  # tCO2 per t coal (n, 12)
    cems = true_coal * ef[:, moh] * ((1 + st.tel_cems_bias[idx]) * (1 - st.tel_capture[idx]))[:, None]
    cems *= 1 + P.HOURLY_NOISE["cems"] * rng.standard_normal((n, T), dtype=np.float32)
    cems[~st.tel_cems[idx]] = np.nan

    hour = np.arange(T)[None, :]
    gs = st.tel_gap_start[idx][:, None]
    gap = (hour >= gs) & (hour < gs + st.tel_gap_len[idx][:, None]) & (gs >= 0)
    for a in (load, coal, cems):  # three columns
        a[gap] = np.nan
    keep = st.tel_present[idx][:, moh].reshape(-1)

    ts = pl.datetime_range(
        datetime(cal.year, 1, 1), datetime(cal.year + 1, 1, 1), interval="1h", closed="left", eager=True,
        time_unit="us",
    )
    ui = np.repeat(np.arange(n), T)
    ti = np.tile(np.arange(T), n)
    if not keep.all():
        ui, ti = ui[keep], ti[keep]
    sel = (lambda a: a.reshape(-1)[keep] if not keep.all() else a.reshape(-1))  # noqa: E731
    df = pl.DataFrame(
        {
            "unit_id": st.reg.units["unit_id"].gather(idx).gather(ui),
            "ts": ts.gather(ti),
            "gross_load_mw": np.round(sel(load), 3),
            "coal_feed_t": np.round(sel(coal), 3),
            "cems_co2_t": np.round(sel(cems), 3),
        }
    ).with_columns(pl.col(c).fill_nan(None) for c in ("gross_load_mw", "coal_feed_t", "cems_co2_t"))
    return df


def write_telemetry(st: State, out: Path, seed: int) -> list[dict]:
    """Write ``telemetry/province_code=XX/part-0.parquet`` for every province of the bundle.

    Args:
        st: state after injection (truth, ``tel_*`` controls).
        out: bundle directory.
        seed: bundle seed; each province draws from ``default_rng([seed, province, 7])`` so parts do
            not depend on which other provinces are in the bundle.

    Returns:
        list of ``{"file", "rows", "path"}`` per part, in province order.
    """
    prov_u = st.reg.p_province[st.reg.plant]
    parts = []
    for code in sorted(set(prov_u.tolist())):  # loop over provinces (≤ 31)
        idx = np.flatnonzero(prov_u == code)
        rng = np.random.default_rng([seed, int(code), 7])
        df = _province_frame(st, idx, rng)
        rel = f"telemetry/province_code={code}/part-0.parquet"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        df.write_parquet(path, compression="zstd", compression_level=3, statistics=True, row_group_size=1_000_000)
        parts.append({"file": rel, "rows": df.height, "path": path})
        del df
    return parts
