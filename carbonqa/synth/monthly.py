"""Monthly activity and coal-quality generation: the honest truth and the reported values.

Everything is held as numpy arrays of shape (U, 12) per unit and month or (P, 12) per plant and month
(P = enterprises) inside :class:`State`; patterns edit the *reported* arrays, telemetry is generated
from the *true* ones. Tables are built from the arrays at the end (:func:`monthly_frame`,
:func:`lab_frame`).

Representation of shared samples: the units of one plant burn one coal and share one monthly
composite sample, so there is **one lab report per plant and month** (``lab_report_id`` per plant and
month); its ``unit_id`` is the plant's first unit that burnt coal that month and every unit's monthly
row of that month points to the same ``lab_report_id`` (CONTRACT §3 allows "units of one plant may
share one sample and one report").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from carbonqa.synth import params as P
from carbonqa.synth.registry import Agencies, Registry

__all__ = ["Calendar", "State", "simulate", "recompute", "emissions", "monthly_frame", "lab_frame", "assign_serials"]

M = 12


@dataclass(frozen=True)
class Calendar:
    """Calendar of one reporting year (China Standard Time, naive)."""

    year: int

    @property
    def month_start(self) -> np.ndarray:
        """(13,) datetime64[D]: first day of each month and of the next January."""
        return np.array([f"{self.year}-{m:02d}-01" for m in range(1, 13)] + [f"{self.year + 1}-01-01"], dtype="datetime64[D]")

    @property
    def days(self) -> np.ndarray:
        """(12,) days per month."""
        return np.diff(self.month_start).astype(np.int64)

    @property
    def hours(self) -> np.ndarray:
        """(12,) hours per month."""
        return self.days * 24

    @property
    def last_day(self) -> np.ndarray:
        """(12,) datetime64[D] last day of each month."""
        return self.month_start[1:] - np.timedelta64(1, "D")

    @property
    def periods(self) -> list[str]:
        """The 12 ``YYYY-MM`` strings."""
        return [f"{self.year}-{m:02d}" for m in range(1, 13)]


@dataclass
class State:
    """All arrays of one synthetic bundle (shapes: U units, P plants, 12 months).

    ``t_*`` are the physical truth (unit-month), ``q_*`` the honest lab values (plant-month), ``r_*``
    the reported monthly values and ``l_*`` the reported lab reports; patterns edit ``r_*``/``l_*``.
    """

    reg: Registry
    ag: Agencies
    cal: Calendar
    rp: P.RegulationParams
    assign: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    labels: list[dict] = field(default_factory=list)
    lookalikes: list[dict] = field(default_factory=list)
    fraud: np.ndarray | None = None  # (P,) bool, enterprise carries an injected pattern
    extra: dict = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def set(self, **kw: np.ndarray) -> None:
        """Store arrays by name."""
        self.arrays.update(kw)

    def label(self, p: int, family: str, pattern: str, unit: int | None = None, month: int | None = None,
              year: int | None = None, magnitude: float | None = None, lookalike: bool = False) -> None:
        """Record one truth row (enterprise ``p``, optional unit row and month index 0–11)."""
        row = {
            "enterprise_id": self.reg.enterprises["enterprise_id"][int(p)],
            "year": self.cal.year if year is None else year,
            "unit_id": None if unit is None else self.reg.units["unit_id"][int(unit)],
            "period": None if month is None else self.cal.periods[int(month)],
            "family": "none" if lookalike else family,
            "pattern": pattern,
            "magnitude": None if magnitude is None else round(float(magnitude), 4),
        }
        (self.lookalikes if lookalike else self.labels).append(row)

    def units_of(self, p: int) -> np.ndarray:
        """Return the unit rows of enterprise ``p``."""
        return np.flatnonzero(self.reg.plant == p)


def _season(prov: np.ndarray) -> np.ndarray:
    north = np.isin(prov, list(P.NORTH))
    return np.where(north[:, None], np.array(P.SEASON_NORTH)[None, :], np.array(P.SEASON_SOUTH)[None, :])



def _deposit_days(u: np.ndarray) -> np.ndarray:
    """Days after month end of an honest monthly deposit from uniform draws ``u`` in [0, 1).

    99 % within 3–19 days (the deposit is due within 20 days, DOMAIN.md §5), 1 % in 19–38 days (late, before
    the city closes the month on day 40) — a model, not a measured rate.
    """
    on_time = u < 0.99
    return np.where(on_time, 3.0 + 16.0 * u / 0.99, 19.0 + 19.0 * (u - 0.99) / 0.01)


def simulate(reg: Registry, ag: Agencies, assign: dict[str, np.ndarray], year: int, rng: np.random.Generator) -> State:
    """Generate the honest truth and the honest reported values.

    Physics (DOMAIN §3): generation = capacity × operating hours × load rate; supply = generation ×
    (1 − auxiliary share); coal (tce) = supply × supply coal consumption + heat × 0.0395 tce/GJ;
    coal (t) = tce × 29.3076 / NCV; emissions by the identity with OF and the grid factor of
    :func:`params.regulation`.

    Args:
        reg: the registry (U units, P plants).
        ag: agencies; ``assign`` the plant → agency assignment of :func:`registry.assign_agencies`.
        year: reporting year.
        rng: the bundle generator.

    Returns:
        :class:`State` with truth, honest reported arrays, lab reports (dates, QR, lab per month).
    """
    cal = Calendar(year)
    rp = P.regulation(year)
    st = State(reg=reg, ag=ag, cal=cal, rp=rp, assign=assign)
    U, NP = reg.n_units, reg.n_plants
    plant = reg.plant
    prov_u = reg.p_province[plant]
    hours = cal.hours[None, :].repeat(U, axis=0).astype(float)

    # ---- coal quality per plant and month (honest lab values) ----
    coal = reg.p_coal
    base = {k: np.zeros(NP) for k in ("ncv", "cc", "mt", "mad", "aad")}
    for ct, q in P.COAL_QUALITY.items():  # loop over coal types
        m = coal == ct
        for k, (mu, sd) in q.items():
            base[k][m] = mu + sd * rng.standard_normal(int(m.sum()))
    base["ncv"] = np.clip(base["ncv"], 13.0, 27.5)
    north_p = np.isin(reg.p_province, list(P.NORTH))
    mt_season = np.array(P.MT_SEASONAL)[None, :] * np.where(north_p, 0.6, 1.0)[:, None]
    mt = base["mt"][:, None] + mt_season + P.MONTHLY_NOISE["mt"] * rng.standard_normal((NP, M))
    mt = np.clip(mt, *P.LAB_BOUNDS["mt"])
    ncv = base["ncv"][:, None] * (100 - mt) / (100 - base["mt"][:, None]) * (1 + P.MONTHLY_NOISE["ncv"] * rng.standard_normal((NP, M)))
    cc = base["cc"][:, None] * (1 + P.MONTHLY_NOISE["cc"] * rng.standard_normal((NP, M)))
    mad = np.clip(base["mad"][:, None] + P.MONTHLY_NOISE["mad"] * rng.standard_normal((NP, M)), *P.LAB_BOUNDS["mad"])
    aad = np.clip(base["aad"][:, None] + P.MONTHLY_NOISE["aad"] * rng.standard_normal((NP, M)), *P.LAB_BOUNDS["aad"])

    measured = rng.random(NP) < P.MEASURED_SHARE
    # honest look-alike: genuine coal-source switch (NCV and CC move together, telemetry follows)
    switch = measured & (rng.random(NP) < P.COAL_SWITCH_P)
    sw_month = rng.integers(2, 11, size=NP)
    sw_f = np.where(rng.random(NP) < 0.5, rng.uniform(0.86, 0.93, NP), rng.uniform(1.07, 1.13, NP))
    after = (np.arange(M)[None, :] >= sw_month[:, None]) & switch[:, None]
    ncv = np.where(after, ncv * sw_f[:, None], ncv)
    cc = np.where(after, cc * (1 - 0.35 * (sw_f[:, None] - 1)), cc)
    ncv = np.clip(ncv, *P.LAB_BOUNDS["ncv"])
    cc = np.clip(cc, *P.LAB_BOUNDS["cc"])
    car = cc * ncv * 100
    cad = np.clip(car * (100 - mad) / (100 - mt), *P.LAB_BOUNDS["cad"])
    q = _round_lab(cad, mad, mt, ncv, aad)
    st.set(q_cad=q["cad"], q_mad=q["mad"], q_mt=q["mt"], q_ncv=q["ncv"], q_aad=q["aad"], q_car=q["car"])
    st.extra["coal_switch"] = (switch, sw_month)

    # ---- operation per unit and month ----
    season = _season(prov_u)
    lf_base = rng.uniform(0.55, 0.78, U)
    load = np.clip(lf_base[:, None] * season * (1 + 0.04 * rng.standard_normal((U, M))), *P.LOAD_BOUNDS)
    full_out = rng.random((U, M)) < np.array(P.FULL_OUTAGE_P)[None, :]
    long_stop = rng.random(U) < 0.02  # 2–4 month shutdown of a few units (reserve / overhaul)
    ls_start = rng.integers(0, M - 3, size=U)
    ls_len = rng.integers(2, 5, size=U)
    mi = np.arange(M)[None, :]
    full_out |= long_stop[:, None] & (mi >= ls_start[:, None]) & (mi < (ls_start + ls_len)[:, None])
    partial = (~full_out) & (rng.random((U, M)) < P.PARTIAL_OUTAGE_P)
    out_len = np.where(full_out, hours, np.where(partial, rng.integers(*P.PARTIAL_OUTAGE_HOURS, size=(U, M)), 0)).astype(float)
    out_start = np.floor(rng.random((U, M)) * (hours - out_len + 1)).astype(np.int64)
    op_hours = hours - out_len
    gen = reg.capacity[:, None] * op_hours * load

    small = reg.capacity < 300
    aux_u = np.where(small, rng.uniform(*P.AUX_RANGE_SMALL, U), rng.uniform(*P.AUX_RANGE_LARGE, U))
    aux_u += P.AUX_AIR_COOLING_EXTRA * reg.air_cooled + 0.01 * (reg.tech == "cfb")
    aux = np.clip(aux_u[:, None] * (1 + 0.03 * rng.standard_normal((U, M))), 0.04, 0.09)
    supply = gen * (1 - aux)

    chp = reg.p_chp[plant]
    far = np.isin(prov_u, list(P.FAR_NORTH))
    north_u = np.isin(prov_u, list(P.NORTH))
    heating = np.where(far[:, None], np.isin(mi, [0, 1, 2, 3, 9, 10, 11]), np.isin(mi, [0, 1, 2, 10, 11])) & north_u[:, None]
    ratio = np.where(heating, rng.uniform(*P.CHP_HEATING_RATIO, (U, 1)), rng.uniform(*P.CHP_STEAM_RATIO, (U, 1)))
    heat = np.where(chp[:, None], gen * ratio * (1 + 0.05 * rng.standard_normal((U, M))), 0.0).clip(0)

    tech = reg.tech.copy()
    tech_eff = np.where(tech == "unknown", np.where(reg.capacity >= 600, "supercritical", "subcritical"), tech)
    b0 = np.zeros(U)
    for t, (mu, sd) in P.SUPPLY_COAL_GCE_PER_KWH.items():  # loop over technologies
        m = tech_eff == t
        b0[m] = mu + sd * rng.standard_normal(int(m.sum()))
    b0 += P.SMALL_UNIT_PENALTY_GCE * small
    b = b0[:, None] * (1 + P.HEAT_RATE_LOAD_SLOPE * (0.75 - load)) * (1 + 0.008 * rng.standard_normal((U, M)))
    tce = supply * b / 1000.0 + heat * P.HEAT_SUPPLY_TCE_PER_GJ
    t_ncv = q["ncv"][plant]
    fuel = np.where(op_hours > 0, tce * P.STANDARD_COAL_GJ_PER_T / t_ncv, 0.0)

    purch_p = np.where(full_out, P.PURCHASE_OUTAGE_P, P.PURCHASE_P)
    purch = np.where(rng.random((U, M)) < purch_p, rng.uniform(*P.PURCHASE_MWH, (U, M)), 0.0)

    gen = np.round(gen, 3)
    supply = np.round(supply, 3)
    heat = np.round(heat, 2)
    fuel = np.round(fuel, 2)
    purch = np.round(purch, 3)
    st.set(
        t_gen=gen, t_supply=supply, t_heat=heat, t_fuel=fuel, t_hours=op_hours, t_out_start=out_start,
        t_out_len=out_len, t_purch=purch, t_load=load, t_cc=q["car"][plant] / 100 / t_ncv, t_ncv=t_ncv,
    )
    st.extra["full_out"] = full_out
    st.extra["measured"] = measured

    # ---- reported (honest) ----
    burn = fuel > 0
    st.set(
        r_fuel=fuel.copy(), r_gen=gen.copy(), r_supply=supply.copy(), r_heat=heat.copy(), r_hours=op_hours.copy(),
        r_purch=purch.copy(), r_measured=np.repeat(measured[plant][:, None], M, axis=1),
        r_lab_ref=burn & measured[plant][:, None], r_present=np.ones((U, M), dtype=bool),
        r_ncv=np.full((U, M), np.nan), r_cc=np.full((U, M), np.nan), r_emis=np.zeros((U, M)),
        r_load=np.zeros((U, M)),
        # deposit day after month end: 99 % on time (3–19 days, due within 20, DOMAIN.md §5), 1 % late but before
        # the city's close (19–38) [model]; one uniform draw, so the rest of the random stream is unchanged
        r_submit=(_deposit_days(rng.uniform(0, 1, (U, M))) * 86400 + rng.uniform(8.5, 18, (U, M)) * 3600).astype(np.int64),
        r_emis_fixed=np.zeros((U, M), dtype=bool),
        # honest resubmissions (version 1 differs in fuel, version 2 is current); patterns clear the
        # mask on injected enterprises
        r_resub=burn & (rng.random((U, M)) < P.RESUBMISSION_P),
        r_resub_dfuel=1 + rng.choice([-1.0, 1.0], (U, M)) * rng.uniform(0.005, 0.03, (U, M)),
        r_resub_d1=rng.uniform(3, 20, (U, M)) * 86400,
        r_resub_d2=rng.uniform(3, 18, (U, M)) * 86400,
    )

    # ---- lab reports: one per plant and month with coal burnt ----
    uidx = np.where(burn, np.arange(U)[:, None], U + 1)
    starts = np.flatnonzero(np.r_[True, plant[1:] != plant[:-1]])
    first = np.minimum.reduceat(uidx, starts, axis=0)  # (P, 12)
    exists = (first <= U) & measured[:, None]
    lab = np.repeat(assign["lab"][:, None], M, axis=1)
    change = measured & (rng.random(NP) < P.LAB_CHANGE_P)
    ch_month = rng.integers(3, 10, size=NP)
    new_lab = ag.labs[rng.integers(0, len(ag.labs), size=NP)]
    lab = np.where(change[:, None] & (mi >= ch_month[:, None]), new_lab[:, None], lab)
    st.extra["lab_change"] = (change & (new_lab != assign["lab"]), ch_month)
    last = (cal.last_day - np.datetime64("1970-01-01", "D")).astype(np.int64)
    samp = np.repeat(last[None, :], NP, axis=0)
    receipt = samp + rng.integers(1, 4, (NP, M))
    test = receipt + rng.integers(0, 5, (NP, M))
    report = test + rng.integers(1, 7, (NP, M))
    qr_p = np.where(ag.qr_sloppy[lab], P.QR_SLOPPY_MISSING_P, P.QR_MISSING_P)
    st.set(
        l_cad=q["cad"].copy(), l_mad=q["mad"].copy(), l_mt=q["mt"].copy(), l_ncv=q["ncv"].copy(), l_aad=q["aad"].copy(),
        l_car=q["car"].copy(), l_exists=exists, l_unit=np.minimum(first, U - 1), l_lab=lab, l_samp=samp, l_receipt=receipt,
        l_test=test, l_report=report, l_qr=rng.random((NP, M)) >= qr_p, l_tiebreak=rng.random((NP, M)),
        l_first_ok=first <= U,
    )
    recompute(st)
    return st


def _round_lab(cad: np.ndarray, mad: np.ndarray, mt: np.ndarray, ncv: np.ndarray, aad: np.ndarray) -> dict[str, np.ndarray]:
    """Round lab values as printed on a report (2 dp %, 3 dp GJ/t) and derive Car from the rounded ones.

    ``Car = Cad × (100 − Mt) / (100 − Mad)`` (DOMAIN §3), rounded to 2 dp.
    """
    cad, mad, mt, ncv, aad = (np.round(cad, 2), np.round(mad, 2), np.round(mt, 2), np.round(ncv, 3), np.round(aad, 2))
    car = np.round(cad * (100 - mt) / (100 - mad), 2)
    return {"cad": cad, "mad": mad, "mt": mt, "ncv": ncv, "aad": aad, "car": car}


def emissions(st: State, fuel: np.ndarray, ncv: np.ndarray, cc: np.ndarray, purch: np.ndarray) -> np.ndarray:
    """Accounting identity (DOMAIN §3, CONTRACT §3), tCO2 rounded to 0.01.

    ``E = FC × NCV × CC × OF × 44/12 + purchased MWh × grid factor``; NaN quality (no coal) counts 0.
    """
    comb = np.where(fuel > 0, fuel * np.nan_to_num(ncv) * np.nan_to_num(cc) * st.rp.oxidation_rate * P.CO2_PER_C, 0.0)
    return np.round(comb + purch * st.rp.grid_factor_tco2_per_mwh, 2)


def recompute(st: State, lab_changed: bool = True) -> None:
    """Derive reported NCV, CC, load rate and emissions from reported lab values and activity.

    Measured rows take NCV from their plant's lab report and ``CC = (Car/100)/NCV`` (6 dp); default
    rows keep the plant's own NCV and the regulation default CC. Rows whose emissions a pattern froze
    (``r_emis_fixed``) are left alone.
    """
    reg = st.reg
    plant = reg.plant
    if lab_changed:
        st.l_car[:] = np.round(st.l_cad * (100 - st.l_mt) / (100 - st.l_mad), 2)
    burn = st.r_fuel > 0
    lab_ncv = st.l_ncv[plant]
    lab_cc = np.round(st.l_car[plant] / 100 / lab_ncv, 6)
    own_ncv = st.q_ncv[plant]
    ncv = np.where(st.r_measured, lab_ncv, own_ncv)
    cc = np.where(st.r_measured, lab_cc, st.rp.default_cc_tc_per_gj)
    st.r_ncv[:] = np.where(burn, ncv, np.nan)
    st.r_cc[:] = np.where(burn, cc, np.nan)
    cap = reg.capacity[:, None]
    st.r_load[:] = np.where(st.r_hours > 0, np.round(np.minimum(st.r_gen / (cap * np.maximum(st.r_hours, 1e-9)), 1.0), 4), 0.0)
    e = emissions(st, st.r_fuel, st.r_ncv, st.r_cc, st.r_purch)
    st.r_emis[:] = np.where(st.r_emis_fixed, st.r_emis, e)


def lab_report_ids(st: State) -> np.ndarray:
    """(P, 12) str lab report ids ``LR<year><province><plant 4 digits><month 2 digits>``."""
    NP = st.reg.n_plants
    p = np.char.zfill(np.arange(NP).astype(str), 4)
    pref = np.char.add(np.char.add(f"LR{st.cal.year}", st.reg.p_province), p)
    mm = np.char.zfill(np.arange(1, 13).astype(str), 2)
    return np.char.add(pref[:, None], mm[None, :])


def assign_serials(st: State, rng: np.random.Generator) -> None:
    """Give every existing lab report its lab's running serial, increasing with the report date.

    Each lab also serves other clients, so consecutive serials of one lab in this bundle differ by
    1 + a geometric gap (model). Stores ``l_serial`` (P, 12) int (−1 where no report).
    """
    ex = st.l_exists
    pi, mi = np.nonzero(ex)
    df = pl.DataFrame(
        {"p": pi, "m": mi, "lab": st.l_lab[pi, mi], "d": st.l_report[pi, mi], "tb": st.l_tiebreak[pi, mi],
         "gap": 1 + rng.geometric(0.15, size=len(pi))}
    ).sort("lab", "d", "tb")
    base = (st.l_lab.astype(np.int64) * 7919) % 3000 + 100
    df = df.with_columns((pl.col("gap").cum_sum().over("lab")).alias("serial"))
    serial = np.full(ex.shape, -1, dtype=np.int64)
    serial[df["p"].to_numpy(), df["m"].to_numpy()] = df["serial"].to_numpy() + base[df["p"].to_numpy(), df["m"].to_numpy()]
    st.set(l_serial=serial)


def monthly_frame(st: State) -> pl.DataFrame:
    """Contract ``monthly_reports`` (current versions plus honest/injected earlier versions).

    Rows where ``r_present`` is False are absent. ``lab_report_id`` is set where ``r_lab_ref``.
    """
    U = st.reg.n_units
    ids = lab_report_ids(st)
    plant = st.reg.plant
    lab_id = np.where(st.r_lab_ref, ids[plant], None)
    month_end = st.cal.month_start[1:].astype("datetime64[s]")
    sub = (month_end[None, :] + st.r_submit.astype("timedelta64[s]")).astype("datetime64[us]")
    ui = np.repeat(np.arange(U), M)
    mi = np.tile(np.arange(M), U)
    def fl(a: np.ndarray) -> np.ndarray:
        return a.reshape(-1)

    basis = np.where(st.r_fuel > 0, np.where(st.r_measured, "measured", "default"), None)
    df = pl.DataFrame(
        {
            "unit_id": st.reg.units["unit_id"].gather(ui),
            "period": pl.Series(st.cal.periods).gather(mi),
            "version": np.ones(U * M, dtype=np.int64),
            "fuel_consumed_t": fl(st.r_fuel),
            "ncv_gj_per_t": fl(st.r_ncv),
            "carbon_content_tc_per_gj": fl(st.r_cc),
            "carbon_content_basis": pl.Series(fl(basis).tolist(), dtype=pl.String),
            "oxidation_rate": np.where(fl(st.r_fuel) > 0, st.rp.oxidation_rate, np.nan),
            "gross_generation_mwh": fl(st.r_gen),
            "power_supply_mwh": fl(st.r_supply),
            "heat_supply_gj": fl(st.r_heat),
            "operating_hours": fl(st.r_hours),
            "load_rate": fl(st.r_load),
            "purchased_electricity_mwh": fl(st.r_purch),
            "emissions_tco2": fl(st.r_emis),
            "lab_report_id": pl.Series(fl(lab_id).tolist(), dtype=pl.String),
            "submitted_at": fl(sub),
            "_present": fl(st.r_present),
            "_resub": fl(st.r_resub),
            "_ui": ui,
            "_mi": mi,
        },
        strict=False,
    ).with_columns(pl.col(c).fill_nan(None) for c in ("ncv_gj_per_t", "carbon_content_tc_per_gj", "oxidation_rate"))
    df = df.filter(pl.col("_present"))
    # honest resubmissions: version 1 with slightly different fuel, version 2 = current values
    res = df.filter(pl.col("_resub"))
    if res.height:
        ru, rm = res["_ui"].to_numpy(), res["_mi"].to_numpy()
        dfuel = st.r_resub_dfuel[ru, rm]
        d1 = st.r_resub_d1[ru, rm]
        d2 = d1 + st.r_resub_d2[ru, rm]
        me = month_end[rm]
        v1 = res.with_columns(
            (pl.col("fuel_consumed_t") * dfuel).round(2).alias("fuel_consumed_t"),
            pl.Series("submitted_at", (me + d1.astype("timedelta64[s]")).astype("datetime64[us]")),
        )
        v1 = v1.with_columns(
            (
                pl.col("fuel_consumed_t") * pl.col("ncv_gj_per_t").fill_null(0) * pl.col("carbon_content_tc_per_gj").fill_null(0)
                * st.rp.oxidation_rate * P.CO2_PER_C + pl.col("purchased_electricity_mwh") * st.rp.grid_factor_tco2_per_mwh
            ).round(2).alias("emissions_tco2")
        )
        v2 = res.with_columns(pl.lit(2, dtype=pl.Int64).alias("version"), pl.Series("submitted_at", (me + d2.astype("timedelta64[s]")).astype("datetime64[us]")))
        df = pl.concat([df.filter(~pl.col("_resub")), v1, v2])
    return df.sort("_ui", "_mi", "version").drop("_present", "_resub", "_ui", "_mi")


def lab_frame(st: State) -> pl.DataFrame:
    """Contract ``lab_reports``: one row per existing plant-month report (see module docstring)."""
    ids = lab_report_ids(st)
    pi, mi = np.nonzero(st.l_exists)
    epoch = np.datetime64("1970-01-01", "D")
    d = lambda a: (a[pi, mi].astype("timedelta64[D]") + epoch)  # noqa: E731
    lab_ids = st.ag.ids[st.l_lab[pi, mi]]
    serial = st.l_serial[pi, mi]
    report_no = np.char.add(np.char.add(np.char.add(lab_ids, f"-{st.cal.year}-"), np.char.zfill(serial.astype(str), 6)), "")
    df = pl.DataFrame(
        {
            "lab_report_id": ids[pi, mi],
            "report_no": report_no,
            "lab_agency_id": lab_ids,
            "unit_id": st.reg.units["unit_id"].gather(st.l_unit[pi, mi]),
            "sample_period": pl.Series(st.cal.periods).gather(mi),
            "sampling_end_date": d(st.l_samp),
            "receipt_date": d(st.l_receipt),
            "test_date": d(st.l_test),
            "report_date": d(st.l_report),
            "carbon_ad_pct": st.l_cad[pi, mi],
            "moisture_ad_pct": st.l_mad[pi, mi],
            "total_moisture_pct": st.l_mt[pi, mi],
            "carbon_ar_pct": st.l_car[pi, mi],
            "ncv_ar_gj_per_t": st.l_ncv[pi, mi],
            "ash_ad_pct": st.l_aad[pi, mi],
            "has_anti_counterfeit_code": st.l_qr[pi, mi],
        }
    )
    return df
