"""Small honest frames for detector tests: numpy default_rng(seed), contract columns, no bundles.

``make(n_units, seed)`` returns a dict of polars frames (units with province, monthly, lab, annual,
verifications, telemetry_monthly). Honest structure: CC tied to NCV per coal type, unit offsets,
seasonal moisture, plant-shared samples for two-unit enterprises, gas units with a fixed annual NCV,
report/telemetry biases of a few percent per unit.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import polars as pl

COAL = {  # coal_type: (ncv mean, ncv sd between units, cc at mean ncv, Mt base)
    "bituminous": (21.5, 1.2, 0.0262, 10.0),
    "subbituminous": (19.0, 1.0, 0.0266, 15.0),
    "anthracite": (24.0, 1.0, 0.0275, 7.0),
    "lignite": (14.0, 0.8, 0.0280, 30.0),
}
PROVINCES = ["13", "14", "15", "32", "37"]


def make(n_units: int = 300, seed: int = 7, year: int = 2024) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    units, monthly, tel = [], [], []
    ent_i, u_i = 0, 0
    labs = {p: [f"LAB{p}{k}" for k in range(3)] for p in PROVINCES}
    pending: list[dict] = []
    seen: set[str] = set()
    while u_i < n_units:
        ent = f"E{ent_i:05d}"
        prov = PROVINCES[ent_i % len(PROVINCES)]
        n_in = 2 if rng.random() < 0.3 else 1
        is_gas = rng.random() < 0.05
        ct = "none" if is_gas else rng.choice(list(COAL), p=[0.6, 0.15, 0.12, 0.13])
        shared = n_in == 2 and not is_gas
        plant_ncv = plant_off = None
        lab_id = labs[prov][int(rng.integers(3))]
        measured = is_gas or rng.random() < 0.85
        for _ in range(n_in):
            uid = f"U{u_i:05d}"
            cap = float(rng.choice([330, 600, 660, 1000]))
            units.append({"unit_id": uid, "enterprise_id": ent, "province_code": prov, "city_name": f"C{prov}",
                          "unit_class": "gas" if is_gas else "coal_conventional_300mw_plus", "coal_type": ct, "capacity_mw": cap})
            if not is_gas:
                mu, sd, cc0, mt0 = COAL[ct]
                if plant_ncv is None or not shared:
                    plant_ncv = rng.normal(mu, sd)
                    plant_off = rng.normal(0, 0.0004)
            bias = rng.normal(1.0, 0.02, size=3)
            for m in range(1, 13):
                period = f"{year}-{m:02d}"
                hours = calendar.monthrange(year, m)[1] * 24
                load = rng.uniform(0.5, 0.8)
                op_h = hours * rng.uniform(0.85, 1.0)
                gen = round(cap * op_h * load, 1)
                if is_gas:
                    ncv = 389.31  # GJ/10^4 Nm3, one fixed annual value (honest look-alike)
                    cc = 0.01532
                    fuel = round(gen * 0.2 * 29.3076 / ncv * 1000 / 100, 2)
                    basis, lab_id_m, labrow = "default", None, None
                else:
                    key = (ent, m)
                    if shared and key in _SHARED:
                        ncv, cc, labrow = _SHARED[key]
                    else:
                        mu, sd, cc0, mt0 = COAL[ct]
                        ncv = round(plant_ncv + rng.normal(0, 0.4), 3)
                        cc = round(cc0 - 0.00025 * (ncv - mu) + plant_off + rng.normal(0, 0.00012), 5)
                        mt = round(mt0 + (1.5 if m in (6, 7, 8) else 0.0) + rng.normal(0, 0.8), 1)
                        mad = round(rng.normal(3.0, 0.6), 2)
                        car = cc * ncv * 100
                        cad = round(car * (100 - mad) / (100 - mt), 2)
                        car = round(cad * (100 - mt) / (100 - mad), 2)
                        labrow = {"mt": mt, "mad": mad, "cad": cad, "car": car}
                        if shared:
                            _SHARED[key] = (ncv, cc, labrow)
                    fuel = round(gen * 0.31 * 29.3076 / ncv, 2)
                    basis = "measured" if measured else "default"
                    if basis == "default":
                        cc = 0.03085
                    lab_id_m = None
                    if basis == "measured":
                        lid = f"R-{ent}-{m:02d}" if shared else f"R-{uid}-{m:02d}"
                        lab_id_m = lid
                        if lid not in seen:
                            seen.add(lid)
                            end = dt.date(year, m, calendar.monthrange(year, m)[1])
                            rep = end + dt.timedelta(days=int(rng.integers(5, 12)))
                            pending.append({
                                "lab_report_id": lid, "lab_agency_id": lab_id, "unit_id": uid, "sample_period": period,
                                "sampling_end_date": end, "receipt_date": end + dt.timedelta(days=1),
                                "test_date": end + dt.timedelta(days=3), "report_date": rep,
                                "carbon_ad_pct": labrow["cad"], "moisture_ad_pct": labrow["mad"], "total_moisture_pct": labrow["mt"],
                                "carbon_ar_pct": labrow["car"], "ncv_ar_gj_per_t": ncv, "ash_ad_pct": 20.0, "has_anti_counterfeit_code": True,
                            })
                emis = round(fuel * ncv * cc * 0.99 * 44 / 12, 1)
                monthly.append({
                    "unit_id": uid, "period": period, "version": 1, "fuel_consumed_t": fuel, "ncv_gj_per_t": ncv,
                    "carbon_content_tc_per_gj": cc, "carbon_content_basis": basis, "oxidation_rate": 0.99,
                    "gross_generation_mwh": gen, "power_supply_mwh": round(gen * 0.94, 1), "heat_supply_gj": 0.0,
                    "operating_hours": round(op_h, 1), "load_rate": load, "purchased_electricity_mwh": 0.0,
                    "emissions_tco2": emis, "lab_report_id": lab_id_m,
                })
                tel.append({
                    "unit_id": uid, "period": period,
                    "generation_mwh": gen / bias[0] * rng.normal(1, 0.004),
                    "coal_feed_t": None if is_gas else fuel / bias[1] * rng.normal(1, 0.005),
                    "cems_co2_t": emis / bias[2] * rng.normal(1, 0.008),
                    "hours_with_load": op_h * rng.normal(1, 0.002), "hours_covered": float(hours), "rows": int(hours),
                })
            u_i += 1
        ent_i += 1
    _SHARED.clear()
    lab_df = pl.DataFrame(pending).sort("lab_agency_id", "report_date")
    lab_df = lab_df.with_columns(
        (pl.col("lab_agency_id") + "-" + (pl.int_range(pl.len()).over("lab_agency_id") + 1000).cast(pl.String)).alias("report_no")
    )
    units_df = pl.DataFrame(units)
    ents = units_df.select("enterprise_id", "province_code").unique("enterprise_id").sort("enterprise_id")
    n_e = ents.height
    emis_e = pl.DataFrame(monthly).join(units_df.select("unit_id", "enterprise_id"), on="unit_id").group_by("enterprise_id").agg(pl.col("emissions_tco2").sum())
    ents = ents.join(emis_e, on="enterprise_id").sort("enterprise_id")  # joins do not keep row order: rng draws below are positional
    annual = ents.select(
        pl.concat_str(pl.lit("AR-"), "enterprise_id").alias("report_id"), "enterprise_id", pl.lit(year).alias("year"),
        pl.col("emissions_tco2").alias("reported_emissions_tco2"),
        pl.Series("preparer_agency_id", [f"P{int(x)}" for x in rng.integers(0, 4, n_e)]),
    )
    started = [dt.date(year + 1, 4, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 30, n_e)]
    ver = ents.select(
        pl.concat_str(pl.lit("V-"), "enterprise_id").alias("verification_id"), "enterprise_id", "province_code", pl.lit(year).alias("year"),
        pl.Series("verifier_agency_id", [f"V{int(x)}" for x in rng.integers(0, 10, n_e)]),
        pl.col("emissions_tco2").alias("verified_emissions_tco2"),
        pl.Series("conclusion", rng.choice(["accepted", "revised"], size=n_e, p=[0.85, 0.15]).tolist()),
        pl.Series("findings_count", rng.poisson(2, n_e).tolist()),
        pl.Series("review_started", started),
        pl.Series("review_completed", [s + dt.timedelta(days=int(d)) for s, d in zip(started, rng.integers(20, 60, n_e), strict=True)]),
    )
    return {
        "units": units_df, "monthly": pl.DataFrame(monthly), "lab": lab_df, "annual": annual, "verifications": ver,
        "telemetry_monthly": pl.DataFrame(tel),
    }


_SHARED: dict = {}


def coal_measured_units(d: dict[str, pl.DataFrame], k: int, seed: int, *, exclude_shared: bool = True) -> list[str]:
    """``k`` random measured coal units (one per enterprise), deterministic for ``seed``."""
    m = d["monthly"].filter(pl.col("carbon_content_basis") == "measured").select("unit_id").unique()
    u = d["units"].join(m, on="unit_id").filter(pl.col("unit_class") != "gas")
    if exclude_shared:
        u = u.filter(pl.len().over("enterprise_id") == 1)
    ids = sorted(u["unit_id"].to_list())
    rng = np.random.default_rng(seed)
    return [str(x) for x in rng.choice(ids, size=k, replace=False)]
