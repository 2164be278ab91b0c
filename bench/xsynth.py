"""Clean-room generator of CONTRACT.md v1 submission bundles with injected fraud (cross-generator check).

Written only from ``docs/contract/CONTRACT.md`` and ``docs/DOMAIN.md`` (§3 quantities, §4 pattern
catalogue) and the real GCPT registry; it shares no code or constants with ``carbonqa.synth``. Its purpose is
to measure how the screening generalises to fraud drawn by somebody else.

Usage::

    .venv/bin/python bench/xsynth.py --out /tmp/xb/bundle --labels /tmp/xb/labels.csv --year 2024 --seed 1 \
        [--provinces 13,14] [--no-telemetry] [--fraud-rate 0.08]

Conventions chosen here (where the contract leaves room)
--------------------------------------------------------
* Registry: every *operating* unit of ``gcpt_2024-07_china_coal_units.csv``; one enterprise per GEM plant
  (``GEM location ID``) with a synthetic 18-character unified social credit code (valid GB 32100 check
  digit), province from ``Subnational unit`` (GB/T 2260), city from ``Major area`` (else the county, else the
  province). ``unit_class``: CFB / waste coal → unconventional, ≥ 300 MW → 300MW+, else below. GCPT's
  ``unknown`` coal type stays ``unknown`` in the registry; the coal actually burnt is drawn per plant from
  the province (anthracite provinces 14/41/43/52, lignite provinces 15/22/23/53).
* Year covered: monthly reports, lab reports, telemetry, annual reports and verifications all cover the
  same ``year`` Y (a year-end export made after verification: ``created_at`` = Y+1-09-30). Annual reports
  are submitted in March Y+1, verifications run April–August Y+1. Tips are received during Y and Q1 Y+1.
* Carbon content: ≈ 80 % of enterprises measure (``measured``), one monthly composite sample per unit and
  month (test report from one lab per enterprise); about half of the multi-unit measuring plants take one
  shared plant sample (one report, ``unit_id`` = the plant's first unit, referenced by all its units). The
  rest report the default 0.03085 tC/GJ (DOMAIN §3) with their own NCV (30 % of them one fixed annual NCV).
* Agencies: labs ≈ one per 12 enterprises and province (≥ 2), 3–6 verifiers and 2–4 preparers per province;
  some agencies are ``preparer|verifier`` but act as preparer in their home province and verify elsewhere.
* Telemetry: hourly rows for every unit and hour of Y (naive CST timestamps), hive-partitioned
  ``telemetry/province_code=XX/part-0.parquet`` (partition value not repeated inside the file). ``cems_co2_t``
  only for the ≈ 60 % of units with a CO₂ CEMS. Honest telemetry differs from the reports by unit-specific
  bias (generation σ 1.2 %, belt scale σ 2 %, CEMS +2 % ± 4 %, cf. DOMAIN §4.5 / EIA-923 vs CEMS) plus
  monthly noise, with coverage gaps (hours to days, rarely a whole month).

Physics (DOMAIN §3): ``E = FC × NCV × CC × OF × 44/12 + purchased × 0.5703``; ``Car = Cad(100−Mt)/(100−Mad)``,
``CC = Car/100/NCV``; NCV_ar falls with seasonal Mt (wet summer); supply coal consumption by technology
(ultra-supercritical ≈ 288, supercritical ≈ 303, subcritical ≈ 322, CFB ≈ 340 gce/kWh, worse at low load),
aux power 4.5–9 %, heat of CHP units mostly in the heating season, outage months with zero coal.

Honest operations (DOMAIN §4b), after the fraud and only on enterprises without any label, drawn from a
generator of their own (``[seed, HONEST_SALT]``) so that the fraud and every untouched value keep the main stream
(with them switched off the bytes are those of the generator without them):
``default_cc_all_year`` (≈ 10 % of units report the default CC every month, no lab report: clean default plants
beyond that rate measure instead), ``high_ash_coal`` (≈ 3 % of units, whole bituminous / anthracite plants: Cad
5–12 points below the rank's band, NCV and the combustibles lowered by the same factor, so ``CC = Car/NCV`` and
emissions are unchanged while tonnes of coal rise), ``chp_heating_season`` (every clean CHP unit: generation held
below the rest of the year in Nov–Mar, heat ×1.1–1.4, so coal per MWh rises in winter), ``commissioned_in_year``
(≈ 2 % of units, ``commissioning_year`` = Y: no report, lab report or telemetry before the first operating month
Feb–Oct, load 0.3–0.5 in its first two months; registry units with a start year ≥ Y are among them, or get Y−1
when on a fraud plant), ``retired_in_year`` (≈ 1 % of units: nothing after the last month Jun–Nov),
``many_client_verifier`` (≥ 2 honest verifiers with 30–45 clean clients each, home province first; clean clients
of any other verifier with ≥ 30 clients too).

Fraud (DOMAIN §4, magnitudes are this generator's own): see ``PATTERNS``; ≈ ``fraud_rate`` of enterprises get
one primary pattern, some also a secondary one (rubber-stamp verification, short review, corroborating tip).
Truth goes to ``labels.csv`` (CONTRACT §4 columns) *outside* the bundle; honest look-alikes to
``lookalikes.csv`` beside it (``enterprise_id, year, unit_id, period, kind``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

GCPT = Path(__file__).resolve().parents[1] / "carbonqa" / "data" / "real" / "gcpt_2024-07_china_coal_units.csv"

GRID_FACTOR = 0.5703  # tCO2/MWh, CONTRACT §3 v1 default
CC_DEFAULT = 0.03085  # tC/GJ, DOMAIN §3 (2022 revision)
OF_DEFAULT = 0.99  # DOMAIN §3
GJ_PER_TCE = 29.3076  # DOMAIN §3 standard coal
KCAL_GJ = 0.0041868  # 1 kcal/kg in GJ/t, DOMAIN §3
C_TO_CO2 = 44.0 / 12.0

PROV = {"Beijing": "11", "Tianjin": "12", "Hebei": "13", "Shanxi": "14", "Inner Mongolia": "15", "Liaoning": "21",
        "Jilin": "22", "Heilongjiang": "23", "Shanghai": "31", "Jiangsu": "32", "Zhejiang": "33", "Anhui": "34",
        "Fujian": "35", "Jiangxi": "36", "Shandong": "37", "Henan": "41", "Hubei": "42", "Hunan": "43",
        "Guangdong": "44", "Guangxi": "45", "Hainan": "46", "Chongqing": "50", "Sichuan": "51", "Guizhou": "52",
        "Yunnan": "53", "Tibet": "54", "Shaanxi": "61", "Gansu": "62", "Qinghai": "63", "Ningxia": "64",
        "Xinjiang": "65"}
PROV_CN = {"11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林",
           "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
           "37": "山东", "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
           "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃",
           "63": "青海", "64": "宁夏", "65": "新疆"}
AIR_COOLED_PROV = {"14", "15", "61", "62", "64", "65"}
ANTHRACITE_PROV = {"14", "41", "43", "52"}
LIGNITE_PROV = {"15", "22", "23", "53"}

# coal type -> (NCV_ar mean, sd, lo, hi GJ/t), (CC mean, sd tC/GJ), Mt mean/sd, Mad mean/sd, Aad mean/sd  [DOMAIN §3]
COAL = {
    "bituminous": ((21.8, 1.3, 19.0, 25.0), (0.02615, 0.0005), (10, 2.5), (2.8, 1.0), (22, 5)),
    "subbituminous": ((18.8, 1.0, 16.5, 21.0), (0.0265, 0.0005), (17, 3), (6, 1.5), (15, 4)),
    "anthracite": ((23.5, 1.2, 21.0, 27.0), (0.0271, 0.0005), (7, 2), (1.6, 0.5), (24, 5)),
    "lignite": ((13.8, 1.0, 11.5, 16.0), (0.02745, 0.0005), (30, 4), (9, 2), (16, 4)),
    "waste_coal": ((14.5, 1.2, 12.0, 17.0), (0.0266, 0.0006), (8, 2), (1.5, 0.5), (42, 5)),
}
COALS = list(COAL)
# supply coal consumption gce/kWh by technology (DOMAIN §3)
SFC = {"ultra_supercritical": (288, 5), "supercritical": (303, 6), "subcritical": (322, 8), "cfb": (340, 8),
       "igcc": (310, 5), "unknown": (325, 10)}
SEASON_GEN = np.array([1.12, 0.95, 0.95, 0.9, 0.92, 1.0, 1.1, 1.12, 0.98, 0.92, 0.98, 1.1])
SEASON_MT = np.array([-1.0, -1.0, -0.5, 0.0, 0.5, 1.5, 2.5, 2.5, 1.0, 0.0, -0.5, -1.0])
HEATING = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1], bool)
TIP_CAT = {"carbon_content": "煤样造假", "copied_values": "数据造假", "lab_forensics": "检测报告篡改",
           "telemetry": "数据篡改", "accounting": "数据篡改", "completeness": "未按时存证",
           "verifier": "核查机构违规", "tip": "瞒报燃煤量"}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(rng: np.random.Generator, prov: str) -> str:
    """A synthetic 18-char unified social credit code: '91', 6-digit division, 9-char org code, check digit."""
    body = "91" + prov + f"{rng.integers(1, 100):02d}" + f"{rng.integers(0, 100):02d}"
    body += "".join(USCC_CHARS[i] for i in rng.integers(0, 31, 9))
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_W, strict=True))
    return body + USCC_CHARS[(31 - s % 31) % 31]


# ----------------------------------------------------------------------------------------------- registry

def load_registry(provinces: list[str] | None) -> pl.DataFrame:
    """Operating GCPT units, one row per unit, with province code, city and plant id, in a fixed order."""
    df = pl.read_csv(GCPT, infer_schema=False).filter(pl.col("Status") == "operating")
    df = df.with_columns(
        pl.col("Subnational unit (province, state)").replace_strict(PROV, default=None).alias("prov"),
        pl.coalesce("Major area (prefecture, district)", "Local area (taluk, county)",
                    "Subnational unit (province, state)").alias("city"),
        pl.col("Capacity (MW)").cast(pl.Float64).alias("cap"),
        pl.col("Start year").cast(pl.Int64, strict=False).alias("start"),
    ).filter(pl.col("prov").is_not_null())
    if provinces:
        df = df.filter(pl.col("prov").is_in([p.zfill(2) for p in provinces]))
    return df.sort("GEM location ID", "GEM unit/phase ID")


@dataclass
class Label:
    """One truth row (CONTRACT §4)."""

    ent: int
    unit: int | None
    month: int | None  # 0-based
    family: str
    pattern: str


class Gen:
    """Holds the rng, the registry and every unit×month array; fraud patterns edit the arrays in place."""

    def __init__(self, reg: pl.DataFrame, year: int, seed: int) -> None:
        self.rng = rng = np.random.default_rng(seed)
        self.year = year
        self.reg = reg
        self.U = reg.height
        plants = reg["GEM location ID"].to_list()
        pid = {p: i for i, p in enumerate(dict.fromkeys(plants))}
        self.u_ent = np.array([pid[p] for p in plants])
        E = self.E = len(pid)
        first = np.unique(self.u_ent, return_index=True)[1]
        self.e_prov = reg["prov"].to_numpy()[first].astype(str)
        self.e_city = reg["city"].to_numpy()[first]
        self.e_name = reg.select(pl.coalesce("Plant name (local)", "Plant name"))[:, 0].to_numpy()[first]
        self.e_captive = reg["Captive"].is_not_null().to_numpy()[first]
        seen: set[str] = set()
        ids = []
        for e in range(E):
            c = uscc(rng, self.e_prov[e])
            while c in seen:
                c = uscc(rng, self.e_prov[e])
            seen.add(c)
            ids.append(c)
        self.e_id = np.array(ids)
        self.ent_units = [np.flatnonzero(self.u_ent == e) for e in range(E)]
        self.u_prov = self.e_prov[self.u_ent]
        self.labels: list[Label] = []
        self.look: list[tuple[int, int | None, int | None, str]] = []
        self.injected: set[int] = set()
        self.primary: dict[int, str] = {}
        self.seed = seed
        self.donors: set[int] = set()  # clean plants whose lab series a fraud copied (copy_cross_plant): left untouched
        self.has_lab_base: np.ndarray | None = None  # has_lab before honest operations (keeps the main rng stream)
        self.rng_honest: np.random.Generator | None = None
        self.hours_m = np.array([((np.datetime64(f"{year + (m == 11)}-{(m + 1) % 12 + 1:02d}-01")
                                   - np.datetime64(f"{year}-{m + 1:02d}-01")).astype(int)) * 24 for m in range(12)])
        self.month_start = np.array([np.datetime64(f"{year}-{m + 1:02d}-01") for m in range(12)])
        self.month_end = self.month_start + (self.hours_m // 24).astype("timedelta64[D]") - np.timedelta64(1, "D")
        self._units()
        self._agencies()
        self._monthly()

    # -- unit attributes
    def _units(self) -> None:
        rng, reg, U = self.rng, self.reg, self.U
        tech_raw = reg["Combustion technology"].fill_null("unknown").to_list()
        coal_raw = reg["Coal type"].fill_null("unknown").to_list()
        self.u_ccs = np.array(["CCS" in t or "CCS" in c for t, c in zip(tech_raw, coal_raw, strict=True)])
        tech = [t.replace("/CCS", "").replace("-", "_").lower() for t in tech_raw]
        self.u_tech = np.array([t if t in SFC else "unknown" for t in tech])
        reg_coal = np.array([{"bituminous with CCS": "bituminous", "waste coal": "waste_coal"}.get(c, c) for c in coal_raw])
        self.u_coal_reg = reg_coal
        self.u_cap = reg["cap"].to_numpy().astype(float)
        start = reg["start"].to_numpy()
        self.u_start = np.where(np.isnan(start.astype(float)), rng.integers(1995, 2011, U), start).astype(int)
        pname = reg["Plant name"].fill_null("").to_list()
        pl_local = reg["Plant name (local)"].fill_null("").to_list()
        self.u_chp = np.array([("cogen" in a.lower()) or ("热电" in b) for a, b in zip(pname, pl_local, strict=True)])
        self.u_class = np.where((self.u_tech == "cfb") | (reg_coal == "waste_coal"), "coal_unconventional",
                                np.where(self.u_cap >= 300, "coal_conventional_300mw_plus", "coal_conventional_below_300mw"))
        air = np.isin(self.u_prov, list(AIR_COOLED_PROV)) & (rng.random(U) < 0.6)
        self.u_cool = np.where(air, "air", "water")
        # actual coal burnt, per plant
        E = self.E
        e_coal = np.empty(E, dtype=object)
        for e in range(E):
            rc = reg_coal[self.ent_units[e][0]]
            if rc in COAL:
                e_coal[e] = rc
                continue
            p, r = self.e_prov[e], rng.random()
            if p in ANTHRACITE_PROV and r < 0.35:
                e_coal[e] = "anthracite"
            elif p in LIGNITE_PROV and r < 0.30:
                e_coal[e] = "lignite"
            elif r > 0.92:
                e_coal[e] = "subbituminous"
            else:
                e_coal[e] = "bituminous"
        self.e_coal = e_coal.astype(str)
        self.u_coal = self.e_coal[self.u_ent]
        self.u_cems = rng.random(U) < 0.6
        self.e_measured = rng.random(E) < 0.8
        multi = np.array([len(x) >= 2 for x in self.ent_units])
        self.e_shared = multi & self.e_measured & (rng.random(E) < 0.5)
        for e in np.flatnonzero(self.e_shared):
            self.look.append((e, None, None, "shared_plant_sample"))
        for u in np.flatnonzero(self.u_ccs):
            self.look.append((self.u_ent[u], u, None, "ccs_unit"))

    # -- agencies
    def _agencies(self) -> None:
        rng = self.rng
        rows = []
        self.e_lab = np.zeros(self.E, int)
        self.e_verifier = np.zeros(self.E, int)
        self.e_preparer = np.full(self.E, -1)
        provs = sorted(set(self.e_prov))
        ver_by_prov: dict[str, list[int]] = {}
        dual: list[tuple[int, str]] = []
        self.lab_by_prov: dict[str, list[int]] = {}
        for p in provs:
            ents = np.flatnonzero(self.e_prov == p)
            nl = max(2, round(len(ents) / 12))
            labs = []
            for i in range(nl):
                roles = "lab|preparer" if rng.random() < 0.15 else "lab"
                labs.append(len(rows))
                rows.append((f"AG{p}L{i + 1:02d}", f"{PROV_CN[p]}第{i + 1}煤质检测中心有限公司", roles, p,
                             f"{rng.integers(15, 24):02d}{rng.integers(10, 99)}{p}{rng.integers(100000, 999999)}"))
            self.lab_by_prov[p] = labs
            vers = []
            for i in range(int(rng.integers(3, 7))):
                vers.append(len(rows))
                rows.append((f"AG{p}V{i + 1:02d}", f"{PROV_CN[p]}第{i + 1}碳排放核查技术服务有限公司", "verifier", p, None))
            ver_by_prov[p] = vers
            preps = []
            for i in range(int(rng.integers(2, 5))):
                preps.append(len(rows))
                rows.append((f"AG{p}P{i + 1:02d}", f"{PROV_CN[p]}第{i + 1}碳资产咨询有限公司", "preparer", p, None))
            if rng.random() < 0.5:  # honest dual-role agency: prepares at home, verifies elsewhere
                dual.append((len(rows), p))
                preps.append(len(rows))
                rows.append((f"AG{p}D01", f"{PROV_CN[p]}绿色低碳综合服务有限公司", "preparer|verifier", p, None))
            w = rng.dirichlet(np.ones(nl) * 2)
            self.e_lab[ents] = np.array(labs)[rng.choice(nl, len(ents), p=w)]
            self.e_verifier[ents] = np.array(vers)[rng.integers(0, len(vers), len(ents))]
            hasprep = rng.random(len(ents)) < 0.6
            self.e_preparer[ents[hasprep]] = np.array(preps)[rng.integers(0, len(preps), hasprep.sum())]
        # dual-role agencies verify some enterprises of another province (never where they prepared)
        for a, home in dual:
            others = [p for p in provs if p != home]
            if not others:
                continue
            p = others[int(rng.integers(0, len(others)))]
            ents = np.flatnonzero((self.e_prov == p) & (self.e_preparer != a))
            pick = ents[rng.random(len(ents)) < 0.15]
            self.e_verifier[pick] = a
            for e in pick:
                self.look.append((e, None, None, "dual_role_agency_other_province"))
        self.ver_by_prov = ver_by_prov
        self.agencies = rows

    # -- honest monthly truth
    def _monthly(self) -> None:
        rng, U = self.rng, self.U
        M = 12
        H = self.hours_m[None, :].astype(float)
        cf = rng.uniform(0.42, 0.62, U)
        low = rng.random(U) < 0.04
        cf[low] = rng.uniform(0.26, 0.34, low.sum())
        for u in np.flatnonzero(low):
            self.look.append((self.u_ent[u], u, None, "low_load_year"))
        avail = rng.uniform(0.88, 1.0, (U, M))
        hours = np.floor(H * avail)
        outage = np.zeros((U, M), bool)
        has_out = rng.random(U) < 0.22
        for u in np.flatnonzero(has_out):
            m0, k = int(rng.integers(0, 12)), int(rng.integers(1, 3))
            outage[u, m0:m0 + k] = True
            self.look.append((self.u_ent[u], u, m0, "outage_months"))
        part = (rng.random(U) < 0.08) & ~has_out
        pm = rng.integers(0, 12, U)
        hours[part, pm[part]] = np.floor(H[0, pm[part]] * rng.uniform(0.2, 0.6, part.sum()))
        hours[outage] = 0
        lr = np.clip(cf[:, None] * SEASON_GEN[None, :] / avail * rng.normal(1, 0.03, (U, M)), 0.38, 0.88)
        lr[outage] = 0
        gross = self.u_cap[:, None] * hours * lr
        aux = rng.uniform(0.045, 0.075, U) + 0.01 * (self.u_cool == "air") + 0.01 * (self.u_class == "coal_unconventional")
        aux = np.minimum(aux, 0.09)
        supply = gross * (1 - aux[:, None] * rng.normal(1, 0.03, (U, M)))
        heat = np.where(self.u_chp[:, None], gross * np.where(HEATING, 1, 0.3)[None, :] * rng.uniform(1.0, 2.2, U)[:, None], 0.0)
        mu = np.array([SFC[t][0] for t in self.u_tech], float) + 8 * ((self.u_cap < 300) & (self.u_tech != "cfb"))
        sd = np.array([SFC[t][1] for t in self.u_tech], float)
        sfc = (mu + rng.normal(0, 1, U) * sd)[:, None] * (1 + 0.15 * (0.75 - lr)) * rng.normal(1, 0.01, (U, M))
        tce = supply * sfc / 1000 + heat / 0.9 / GJ_PER_TCE
        # coal quality, per plant base + unit-month sampling noise
        E = self.E
        ncv_b = np.empty(E)
        cc_b = np.empty(E)
        mt_b = np.empty(E)
        mad_b = np.empty(E)
        aad_b = np.empty(E)
        for c in COALS:
            idx = np.flatnonzero(self.e_coal == c)
            (nm, ns, lo, hi), (cm, cs), (tm, ts), (am, as_), (xm, xs) = COAL[c]
            ncv_b[idx] = np.clip(rng.normal(nm, ns, len(idx)), lo, hi)
            cc_b[idx] = np.clip(rng.normal(cm, cs, len(idx)), 0.0248, 0.0287)
            mt_b[idx] = np.clip(rng.normal(tm, ts, len(idx)), 4, 38)
            mad_b[idx] = np.clip(rng.normal(am, as_, len(idx)), 0.5, 12)
            aad_b[idx] = np.clip(rng.normal(xm, xs, len(idx)), 6, 50)
        hi_anth = (self.e_coal == "anthracite") & (rng.random(E) < 0.3)
        cc_b[hi_anth] = rng.uniform(0.0279, 0.0287, hi_anth.sum())
        for e in np.flatnonzero(hi_anth):
            self.look.append((e, None, None, "anthracite_high_cc"))
        ue = self.u_ent
        mt = mt_b[ue][:, None] + SEASON_MT[None, :] * (mt_b[ue][:, None] / 10) + rng.normal(0, 0.6, (U, M))
        mt = np.clip(mt, 3, 40)
        ncv = ncv_b[ue][:, None] * (100 - mt) / (100 - mt_b[ue][:, None]) * rng.normal(1, 0.012, (U, M))
        cc = cc_b[ue][:, None] + rng.normal(0, 0.00015, (U, M))
        mad = np.clip(mad_b[ue][:, None] + rng.normal(0, 0.2, (U, M)), 0.4, 12)
        aad = np.clip(aad_b[ue][:, None] + rng.normal(0, 1.0, (U, M)), 5, 55)
        # honest coal-source switch (look-alike): NCV and CC move together from month m0
        sw = (rng.random(E) < 0.04)
        for e in np.flatnonzero(sw):
            m0 = int(rng.integers(3, 10))
            us = self.ent_units[e]
            up = rng.random() < 0.5
            fn, fc_ = (1.12, 0.975) if up else (0.86, 1.03)
            ncv[np.ix_(us, range(m0, 12))] *= fn
            cc[np.ix_(us, range(m0, 12))] *= fc_
            mt[np.ix_(us, range(m0, 12))] += -2 if up else 4
            self.look.append((e, None, m0, "coal_source_switch"))
        # shared plant sample: all units take the lead unit's values
        for e in np.flatnonzero(self.e_shared):
            us = self.ent_units[e]
            for a in (mt, ncv, cc, mad, aad):
                a[us] = a[us[0]]
        car = cc * ncv * 100
        cad = car * (100 - mad) / (100 - mt)
        self.t = dict(hours=hours, lr=lr, gross=gross, supply=supply, heat=heat, outage=outage, sfc=sfc, ncv=ncv, cc=cc)
        self.exists = np.ones((U, M), bool)  # False: the unit did not exist that month (commissioned / retired in Y)
        fc = tce * GJ_PER_TCE / ncv
        fc[outage] = 0
        self.fc_true = fc
        self.e_true = fc * ncv * cc * OF_DEFAULT * C_TO_CO2
        # lab values (rounded as printed)
        self.lab = dict(cad=np.round(cad, 2), mad=np.round(mad, 2), mt=np.round(mt, 2), ncv=np.round(ncv, 3),
                        aad=np.round(aad, 2))
        self.lab_car_override = np.full((U, M), np.nan)
        self.lab_qr = np.ones((U, M), bool)
        self.lab_agency = np.repeat(self.e_lab[ue][:, None], M, axis=1)
        se = self.month_end[None, :].repeat(U, 0)
        rec = se + rng.integers(1, 5, (U, M)).astype("timedelta64[D]")
        tst = rec + rng.integers(0, 4, (U, M)).astype("timedelta64[D]")
        rep = tst + rng.integers(1, 7, (U, M)).astype("timedelta64[D]")
        self.lab_dates = dict(se=se, rec=rec, tst=tst, rep=rep)
        self.lab_issue = rep.copy()  # true issue date (drives the serial number)
        # reported values (fraud edits these)
        measured = self.e_measured[ue][:, None].repeat(M, 1)
        self.r = dict(fc=np.round(fc, 2), gross=np.round(gross, 2), supply=np.round(supply, 2), heat=np.round(heat, 1),
                      hours=hours.copy(), lr=np.round(lr, 4), of=np.full((U, M), OF_DEFAULT),
                      purch=np.zeros((U, M)), measured=measured, cc_override=np.full((U, M), np.nan),
                      ncv_override=np.full((U, M), np.nan), emis_factor=np.ones((U, M)),
                      present=np.ones((U, M), bool), has_lab=measured & ~outage, sub_delay=rng.integers(3, 19, (U, M)).astype(float))
        purch = np.where(outage, rng.uniform(80, 800, (U, M)), 0.0)
        small = rng.random((U, M)) < 0.05
        purch[small & ~outage] = rng.uniform(5, 120, (small & ~outage).sum())
        self.r["purch"] = np.round(purch, 1)
        late = rng.random((U, M)) < 0.02
        self.r["sub_delay"][late] = rng.integers(20, 35, late.sum())
        # default-basis units: own NCV, 30 % one fixed annual value
        self.r["ncv_default"] = np.round(ncv, 2)
        fixed = ~self.e_measured & (rng.random(E) < 0.3)
        for e in np.flatnonzero(fixed):
            us = self.ent_units[e]
            self.r["ncv_default"][us] = np.round(ncv[us].mean(), 2)
            self.look.append((e, None, None, "fixed_annual_ncv"))
        # honest lab change, CC unchanged
        for e in np.flatnonzero(self.e_measured & (rng.random(E) < 0.04)):
            labs = self.lab_by_prov[self.e_prov[e]]
            other = [x for x in labs if x != self.e_lab[e]]
            if other:
                m0 = int(rng.integers(3, 10))
                self.lab_agency[self.ent_units[e], m0:] = other[int(rng.integers(0, len(other)))]
                self.look.append((e, None, m0, "honest_lab_change"))
        # telemetry truth tweaks
        self.tel_scale_coal = np.ones((U, M))
        self.tel_scale_cems = np.ones((U, M))
        self.tel_missing = np.zeros((U, M), bool)
        gap_month = (rng.random(U) < 0.01)
        for u in np.flatnonzero(gap_month):
            m = int(rng.integers(0, 12))
            if not outage[u, m]:
                self.tel_missing[u, m] = True
                self.look.append((self.u_ent[u], u, m, "telemetry_month_missing_honest"))
        self.ccs_cems_factor = np.where(self.u_ccs, rng.uniform(0.85, 0.95, U), 1.0)
        # verification / annual tweaks
        self.ann_factor = np.ones(self.E)
        self.ann_supply_factor = np.ones(self.E)
        self.ver = {}  # ent -> dict of overrides
        self.tips: list[tuple[int | None, str, str]] = []

    # -- helpers for patterns
    def op_months(self, u: int) -> np.ndarray:
        """Months (0-based) in which unit ``u`` burnt coal."""
        return np.flatnonzero(~self.t["outage"][u])

    def months_span(self, kmin: int, kmax: int) -> np.ndarray:
        """A contiguous run of k ∈ [kmin, kmax] months within the year."""
        k = int(self.rng.integers(kmin, kmax + 1))
        m0 = int(self.rng.integers(0, 12 - k + 1))
        return np.arange(m0, m0 + k)

    def units_of(self, e: int, one: bool = False) -> np.ndarray:
        """Units of enterprise ``e``; with ``one``, a single random one (shared-sample plants: all)."""
        us = self.ent_units[e]
        if one and not self.e_shared[e]:
            return us[[int(self.rng.integers(0, len(us)))]]
        return us

    def lab_mask(self, us: np.ndarray, months: np.ndarray) -> list[tuple[int, int]]:
        """Unit-months among ``us`` × ``months`` that carry a lab report of their own.

        A shared-sample plant files one report per month under its first unit, which every unit's monthly
        report cites: its other units carry no report of their own, and a lab pattern drawn on them would
        change values that are never written — a label without a trace in the bundle (session 9: 2 of the
        missed lab_forensics enterprises of seed 25). Their cells are left out, so the pattern lands on the
        report the plant files.
        """
        return [(u, m) for u in us for m in months
                if self.r["has_lab"][u, m] and (not self.e_shared[self.u_ent[u]] or u == self.ent_units[self.u_ent[u]][0])]

    def add(self, e: int, fam: str, pat: str, cells: list[tuple[int, int]] | None = None) -> None:
        """Record truth rows for enterprise ``e``: one per unit-month cell or one enterprise-level row."""
        if cells:
            for u, m in cells:
                self.labels.append(Label(e, int(u), int(m), fam, pat))
        else:
            self.labels.append(Label(e, None, None, fam, pat))


# ----------------------------------------------------------------------------------------------- patterns

def _scale_cad(g: Gen, cells: list[tuple[int, int]], f: float | np.ndarray) -> None:
    for i, (u, m) in enumerate(cells):
        ff = f[i] if isinstance(f, np.ndarray) else f
        g.lab["cad"][u, m] = round(g.lab["cad"][u, m] * ff, 2)


def p_cc_low_subtle(g: Gen, e: int) -> list:
    us = g.units_of(e)
    cells = g.lab_mask(us, g.months_span(3, 12))
    _scale_cad(g, cells, g.rng.uniform(0.94, 0.97))
    return cells


def p_cc_low_blatant(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), np.arange(12))
    _scale_cad(g, cells, g.rng.uniform(0.80, 0.88))
    return cells


def p_cc_low_single_unit(g: Gen, e: int) -> list:
    us = g.units_of(e, one=True)
    cells = g.lab_mask(us, np.arange(int(g.rng.integers(3, 8)), 12))
    _scale_cad(g, cells, g.rng.uniform(0.90, 0.94))
    return cells


def p_cc_drop_after_lab_change(g: Gen, e: int) -> list:
    labs = [x for x in g.lab_by_prov[g.e_prov[e]] if x != g.e_lab[e]]
    m0 = int(g.rng.integers(3, 9))
    us = g.units_of(e)
    g.lab_agency[us, m0:] = labs[int(g.rng.integers(0, len(labs)))]
    cells = g.lab_mask(us, np.arange(m0, 12))
    _scale_cad(g, cells, g.rng.uniform(0.91, 0.95))
    return cells


def p_cc_ipcc_default_as_measured(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), np.arange(12))
    for u, m in cells:
        g.r["cc_override"][u, m] = 0.0258
    return cells


def p_cc_basis_mixing(g: Gen, e: int) -> list:
    us = g.units_of(e)
    months = np.sort(g.rng.choice(12, int(g.rng.integers(3, 7)), replace=False))
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["measured"][u, m] = True
        g.r["has_lab"][u, m] = True
    return cells


def _tuple_copy(g: Gen, dst: tuple[int, int], src: tuple[int, int], jitter: bool = False) -> None:
    for k in ("cad", "mad", "mt", "ncv", "aad"):
        v = g.lab[k][src]
        if jitter:
            step = 0.001 if k == "ncv" else 0.01
            v = round(v + step * int(g.rng.integers(-1, 2)), 3 if k == "ncv" else 2)
        g.lab[k][dst] = v


def p_copy_batch_as_monthly(g: Gen, e: int) -> list:
    cells = []
    for u in g.units_of(e):
        ops = [m for m in range(12) if g.r["has_lab"][u, m]]
        if not ops:
            continue
        donor = ops[int(np.argmin(g.lab["cad"][u, ops]))]
        for m in ops:
            _tuple_copy(g, (u, m), (u, donor))
            cells.append((u, m))
    return cells


def p_copy_month_substitution(g: Gen, e: int) -> list:
    cells = []
    k = int(g.rng.integers(2, 5))
    for u in g.units_of(e):
        ops = [m for m in range(12) if g.r["has_lab"][u, m]]
        car = g.lab["cad"][u] * (100 - g.lab["mt"][u]) / (100 - g.lab["mad"][u]) / g.lab["ncv"][u]
        for m in sorted(ops, key=lambda m: -car[m])[:k]:
            nb = [x for x in (m - 1, m + 1) if x in ops]
            if nb:
                _tuple_copy(g, (u, m), (u, min(nb, key=lambda x: car[x])))
                cells.append((u, m))
    return cells


def p_copy_near_duplicate(g: Gen, e: int) -> list:
    cells = []
    months = g.months_span(6, 12)
    for u in g.units_of(e):
        ops = [m for m in months if g.r["has_lab"][u, m]]
        if not ops:
            continue
        donor = ops[0]
        for m in ops[1:]:
            _tuple_copy(g, (u, m), (u, donor), jitter=True)
            cells.append((u, m))
    return cells


def p_copy_cross_plant(g: Gen, e: int) -> list:
    cand = [d for d in np.flatnonzero((g.e_prov == g.e_prov[e]) & g.e_measured) if d != e and d not in g.injected]
    if not cand:
        return []
    d = cand[int(g.rng.integers(0, len(cand)))]
    g.donors.add(int(d))
    du = g.ent_units[d][0]
    cells = []
    months = g.months_span(6, 12)
    for u in g.units_of(e):
        for m in months:
            if g.r["has_lab"][u, m] and g.r["has_lab"][du, m]:
                _tuple_copy(g, (u, m), (du, m))
                cells.append((u, m))
    return cells


def p_lab_dates_inverted(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), np.arange(12))
    g.rng.shuffle(cells)
    cells = cells[: int(g.rng.integers(2, 7))]
    for u, m in cells:
        d = g.lab_dates
        if g.rng.random() < 0.5:
            d["rep"][u, m] = d["tst"][u, m] - np.timedelta64(int(g.rng.integers(1, 6)), "D")
        else:
            d["rec"][u, m] = d["se"][u, m] - np.timedelta64(int(g.rng.integers(2, 11)), "D")
    return cells


def p_lab_batch_issued(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), np.arange(12))
    w0 = np.datetime64(f"{g.year + 1}-01-{int(g.rng.integers(5, 20)):02d}")
    for u, m in cells:
        d = g.lab_dates
        d["rec"][u, m] = w0 + np.timedelta64(int(g.rng.integers(0, 2)), "D")
        d["tst"][u, m] = d["rec"][u, m] + np.timedelta64(int(g.rng.integers(0, 2)), "D")
        d["rep"][u, m] = d["tst"][u, m] + np.timedelta64(int(g.rng.integers(0, 2)), "D")
        g.lab_issue[u, m] = d["rep"][u, m]
    _scale_cad(g, cells, g.rng.uniform(0.96, 0.99))
    return cells


def p_lab_serial_out_of_order(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), np.arange(0, 9))
    g.rng.shuffle(cells)
    cells = cells[: int(g.rng.integers(2, 6))]
    for u, m in cells:
        g.lab_issue[u, m] = g.lab_dates["rep"][u, m] + np.timedelta64(int(g.rng.integers(60, 200)), "D")
    _scale_cad(g, cells, g.rng.uniform(0.93, 0.97))
    return cells


def p_lab_qr_removed(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), g.months_span(3, 12))
    for u, m in cells:
        g.lab_qr[u, m] = False
    _scale_cad(g, cells, g.rng.uniform(0.95, 0.98))
    return cells


def p_lab_moisture_inflated(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), g.months_span(4, 12))
    add = g.rng.uniform(3, 9) if g.rng.random() < 0.7 else g.rng.uniform(10, 14)
    for u, m in cells:
        g.lab["mt"][u, m] = round(g.lab["mt"][u, m] + add, 2)
    return cells


def p_lab_car_miscomputed(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), g.months_span(3, 12))
    f = g.rng.uniform(0.93, 0.97)
    for u, m in cells:
        car = g.lab["cad"][u, m] * (100 - g.lab["mt"][u, m]) / (100 - g.lab["mad"][u, m])
        g.lab_car_override[u, m] = round(car * f, 2)
    return cells


def p_ver_gap_accepted(g: Gen, e: int) -> list:
    f = g.rng.uniform(0.75, 0.90) if g.rng.random() < 0.5 else g.rng.uniform(0.95, 0.98)
    g.ver[e] = dict(factor=f, conclusion="accepted", findings=int(g.rng.integers(0, 2)))
    return []


def p_ver_conflict_of_interest(g: Gen, e: int) -> list:
    g.ver[e] = dict(conflict=True)
    return []


def p_ver_name_only(g: Gen, e: int) -> list:
    g.ver[e] = dict(name_only=True)
    return []


def p_tel_supply_overstated(g: Gen, e: int) -> list:
    us = g.units_of(e, one=g.rng.random() < 0.4)
    months = g.months_span(4, 12)
    f = g.rng.uniform(1.05, 1.15)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        for k in ("gross", "supply"):
            g.r[k][u, m] = round(g.r[k][u, m] * f, 2)
    return cells


def p_tel_coal_understated(g: Gen, e: int) -> list:
    us = g.units_of(e, one=g.rng.random() < 0.4)
    months = g.months_span(3, 12)
    f = g.rng.uniform(0.88, 0.95)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["fc"][u, m] = round(g.r["fc"][u, m] * f, 2)
    return cells


def p_tel_phantom_output(g: Gen, e: int) -> list:
    cells = []
    for u in g.ent_units[e]:
        for m in np.flatnonzero(g.t["outage"][u]):
            ops = g.op_months(u)
            src = ops[np.argmin(np.abs(ops - m))]
            for k in ("gross", "supply", "hours", "lr", "fc", "heat"):
                g.r[k][u, m] = g.r[k][u, src]
            g.r["hours"][u, m] = min(g.r["hours"][u, m], g.hours_m[m])
            g.r["has_lab"][u, m] = bool(g.r["measured"][u, m])
            for k in g.lab:
                g.lab[k][u, m] = g.lab[k][u, src]
            g.r["ncv_default"][u, m] = g.r["ncv_default"][u, src]
            g.r["purch"][u, m] = 0
            cells.append((u, m))
    return cells


def p_tel_withheld(g: Gen, e: int) -> list:
    us = g.units_of(e, one=g.rng.random() < 0.5)
    months = g.months_span(2, 4)
    f = g.rng.uniform(0.85, 0.92)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.tel_missing[u, m] = True
        g.r["fc"][u, m] = round(g.r["fc"][u, m] * f, 2)
    return cells


def p_tel_cems_only(g: Gen, e: int) -> list:
    f = g.rng.uniform(0.88, 0.93)
    cells = []
    for u in g.ent_units[e]:
        for m in g.op_months(u):
            g.r["fc"][u, m] = round(g.r["fc"][u, m] * f, 2)
            g.tel_scale_coal[u, m] = f
            cells.append((u, m))
    return cells


def p_acc_identity_understated(g: Gen, e: int) -> list:
    us = g.units_of(e, one=g.rng.random() < 0.3)
    months = g.months_span(2, 12)
    f = g.rng.uniform(0.85, 0.96)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["emis_factor"][u, m] = f
    return cells


def p_acc_kcal_unit(g: Gen, e: int) -> list:
    us = g.units_of(e, one=True)
    months = g.months_span(1, 3)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["ncv_override"][u, m] = -1  # resolved when writing: NCV printed in kcal/kg
    return cells


def p_acc_supply_above_generation(g: Gen, e: int) -> list:
    us = g.units_of(e)
    months = np.sort(g.rng.choice(12, int(g.rng.integers(2, 7)), replace=False))
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["supply"][u, m] = round(g.r["gross"][u, m] * g.rng.uniform(1.01, 1.04), 2)
    return cells


def p_acc_annual_mismatch(g: Gen, e: int) -> list:
    if g.rng.random() < 0.6:
        g.ann_factor[e] = g.rng.uniform(0.80, 0.95)
    else:
        g.ann_supply_factor[e] = g.rng.uniform(1.03, 1.08)
    return []


def p_acc_low_oxidation(g: Gen, e: int) -> list:
    of = float(g.rng.choice([0.92, 0.93, 0.94, 0.95]))
    cells = []
    for u in g.ent_units[e]:
        for m in g.op_months(u):
            g.r["of"][u, m] = of
            cells.append((u, m))
    return cells


def p_acc_mwh_as_kwh(g: Gen, e: int) -> list:
    us = g.units_of(e, one=True)
    months = g.months_span(1, 2)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["gross"][u, m] = round(g.r["gross"][u, m] * 1000, 0)
        g.r["supply"][u, m] = round(g.r["supply"][u, m] * 1000, 0)
    return cells


def p_comp_missing_months(g: Gen, e: int) -> list:
    us = g.units_of(e, one=g.rng.random() < 0.5)
    months = g.months_span(1, 4)
    cells = [(u, m) for u in us for m in months if not g.t["outage"][u, m]]
    for u, m in cells:
        g.r["present"][u, m] = False
    return cells


def p_comp_late_deposits(g: Gen, e: int) -> list:
    months = g.months_span(4, 12)
    cells = [(u, m) for u in g.ent_units[e] for m in months]
    for u, m in cells:
        due = (np.datetime64(f"{g.year + 1}-02-01") - g.month_end[m]).astype(int)
        g.r["sub_delay"][u, m] = max(60, due + int(g.rng.integers(0, 40)))
    return cells


def p_comp_measured_without_lab(g: Gen, e: int) -> list:
    cells = g.lab_mask(g.units_of(e), g.months_span(2, 12))
    f = g.rng.uniform(0.92, 0.96)
    for u, m in cells:
        g.r["has_lab"][u, m] = False
        g.lab["cad"][u, m] = round(g.lab["cad"][u, m] * f, 2)
    return cells


def p_tip_offbook_coal(g: Gen, e: int) -> list:
    f = g.rng.uniform(0.90, 0.95)
    for u in g.ent_units[e]:
        for m in g.op_months(u):
            g.r["fc"][u, m] = round(g.r["fc"][u, m] * f, 2)
            g.tel_scale_coal[u, m] = f
            g.tel_scale_cems[u, m] = f
    g.tips.append((e, "瞒报燃煤量", "举报该厂夜间另设皮带绕过入炉煤计量，实际燃煤量高于台账"))
    return []


Pred = Callable[[Gen, int], bool]


def _measured(g: Gen, e: int) -> bool:
    return bool(g.e_measured[e]) and int(g.r["has_lab"][g.ent_units[e]].sum()) >= 8


def _multi_unshared(g: Gen, e: int) -> bool:
    return _measured(g, e) and len(g.ent_units[e]) >= 2 and not g.e_shared[e]


def _any(g: Gen, e: int) -> bool:
    return True


# (family, pattern, eligibility, function)
PATTERNS: list[tuple[str, str, Pred, Callable[[Gen, int], list]]] = [
    ("carbon_content", "cc_low_subtle", _measured, p_cc_low_subtle),  # Cad −3…6 %, 3–12 months
    ("carbon_content", "cc_low_blatant", _measured, p_cc_low_blatant),  # Cad −12…20 %, whole year
    ("carbon_content", "cc_low_single_unit", _multi_unshared, p_cc_low_single_unit),  # one unit, −6…10 % from Apr–Aug
    ("carbon_content", "cc_drop_after_lab_change", lambda g, e: _measured(g, e) and len(g.lab_by_prov[g.e_prov[e]]) > 1,
     p_cc_drop_after_lab_change),  # new lab from month 4–9, −5…9 %
    ("carbon_content", "cc_ipcc_default_as_measured",
     lambda g, e: _measured(g, e) and g.e_coal[e] in ("anthracite", "lignite", "waste_coal", "subbituminous"),
     p_cc_ipcc_default_as_measured),  # monthly CC = 0.0258 (IPCC bituminous) all year, lab report untouched
    ("carbon_content", "cc_basis_mixing", lambda g, e: not g.e_measured[e], p_cc_basis_mixing),  # default unit, 3–6 measured months
    ("copied_values", "copy_batch_as_monthly", _measured, p_copy_batch_as_monthly),  # one test (lowest Cad) ×12
    ("copied_values", "copy_month_substitution", _measured, p_copy_month_substitution),  # 2–4 high-CC months ← neighbour
    ("copied_values", "copy_near_duplicate", _measured, p_copy_near_duplicate),  # 6–12 months ±0.01 jitter
    ("copied_values", "copy_cross_plant", _measured, p_copy_cross_plant),  # another plant's series, 6–12 months
    ("lab_forensics", "lab_dates_inverted", _measured, p_lab_dates_inverted),  # 2–6 reports report<test or receipt<sampling
    ("lab_forensics", "lab_batch_issued", _measured, p_lab_batch_issued),  # all reports dated within ~4 days of Jan Y+1, Cad −1…4 %
    ("lab_forensics", "lab_serial_out_of_order", _measured, p_lab_serial_out_of_order),  # 2–5 reports serial 2–7 months later
    ("lab_forensics", "lab_qr_removed", _measured, p_lab_qr_removed),  # 3–12 reports no QR, Cad −2…5 %
    ("lab_forensics", "lab_moisture_inflated", _measured, p_lab_moisture_inflated),  # Mt +3…9 (30 %: +10…14), NCV kept
    ("lab_forensics", "lab_car_miscomputed", _measured, p_lab_car_miscomputed),  # printed Car −3…7 % vs formula
    ("verifier", "ver_gap_accepted", _any, p_ver_gap_accepted),  # verified −10…25 % or −2…5 %, accepted, ≤1 finding
    ("verifier", "ver_conflict_of_interest", _any, p_ver_conflict_of_interest),  # preparer = verifier, same province
    ("verifier", "ver_name_only", _any, p_ver_name_only),  # one agency, 3–6 clients, same-day 0-finding reviews
    ("telemetry", "tel_supply_overstated", _any, p_tel_supply_overstated),  # gross & supply +5…15 %, 4–12 months
    ("telemetry", "tel_coal_understated", _any, p_tel_coal_understated),  # FC −5…12 % vs belt scale, 3–12 months
    ("telemetry", "tel_phantom_output", lambda g, e: bool(g.t["outage"][g.ent_units[e]].any()), p_tel_phantom_output),
    ("telemetry", "tel_withheld", _any, p_tel_withheld),  # 2–4 months telemetry absent, FC −8…15 %
    ("telemetry", "tel_cems_only", lambda g, e: bool(g.u_cems[g.ent_units[e]].all()), p_tel_cems_only),  # FC & belt −7…12 %
    ("accounting", "acc_identity_understated", _any, p_acc_identity_understated),  # emissions −4…15 % vs identity
    ("accounting", "acc_kcal_unit", _any, p_acc_kcal_unit),  # NCV printed in kcal/kg, 1–3 months, one unit
    ("accounting", "acc_supply_above_generation", _any, p_acc_supply_above_generation),  # supply = gross × 1.01–1.04
    ("accounting", "acc_annual_mismatch", _any, p_acc_annual_mismatch),  # annual E −5…20 % or supply +3…8 %
    ("accounting", "acc_low_oxidation", _any, p_acc_low_oxidation),  # OF 0.92–0.95 all year
    ("accounting", "acc_mwh_as_kwh", _any, p_acc_mwh_as_kwh),  # generation & supply ×1000, 1–2 months
    ("completeness", "comp_missing_months", _any, p_comp_missing_months),  # 1–4 operating months absent
    ("completeness", "comp_late_deposits", _any, p_comp_late_deposits),  # 4–12 months deposited ≥ 60 days late
    ("completeness", "comp_measured_without_lab", _measured, p_comp_measured_without_lab),  # no report, CC −4…8 %
    ("tip", "tip_offbook_coal", _any, p_tip_offbook_coal),  # FC, belt & CEMS −5…10 %; only a tip tells
]
SECONDARY = [("verifier", "ver_rubber_stamp", 0.15), ("verifier", "ver_short_review", 0.07), ("tip", "tip_corroborating", 0.15)]


def inject(g: Gen, fraud_rate: float) -> None:
    """Choose ≈ fraud_rate × enterprises and apply one primary pattern each (cycled catalogue), then secondaries."""
    rng = g.rng
    n = max(1, round(fraud_rate * g.E))
    order = list(rng.permutation(g.E))
    cat = list(rng.permutation(len(PATTERNS)))
    i = 0
    name_only_pending: list[int] = []
    while len(g.injected) < n and i < 10 * n:
        fam, pat, pred, fn = PATTERNS[cat[i % len(cat)]]
        i += 1
        if pat == "ver_name_only" and name_only_pending:  # one name-only verifier group per bundle
            continue
        for e in order:
            if e in g.injected or not pred(g, e):
                continue
            if pat == "ver_name_only":  # a group of 3–6 clients of one verifier in one province
                grp = [x for x in order if g.e_prov[x] == g.e_prov[e] and x not in g.injected][: int(rng.integers(3, 7))]
                if len(grp) < 3:
                    continue
                for x in grp:
                    g.injected.add(x)
                    g.primary[x] = fam
                    fn(g, x)
                    g.add(x, fam, pat)
                name_only_pending.append(grp)
                break
            cells = fn(g, e)
            if cells == [] and fam not in ("verifier",) and pat not in ("acc_annual_mismatch", "tip_offbook_coal"):
                continue
            g.injected.add(e)
            g.primary[e] = fam
            g.add(e, fam, pat, cells)
            break
    for grp in name_only_pending:
        prov = g.e_prov[grp[0]]
        ag = g.ver_by_prov[prov][int(rng.integers(0, len(g.ver_by_prov[prov])))]
        day = np.datetime64(f"{g.year + 1}-05-{int(rng.integers(6, 28)):02d}")
        for x in grp:
            g.ver[x] = dict(agency=ag, start=day, end=day, conclusion="accepted", findings=0, factor=1.0)
    data_fams = {"carbon_content", "copied_values", "lab_forensics", "telemetry", "accounting", "completeness"}
    for e in sorted(g.injected):
        if g.primary.get(e) not in data_fams:
            continue
        for fam, pat, p in SECONDARY:
            if rng.random() >= p:
                continue
            if pat == "tip_corroborating":
                g.tips.append((e, TIP_CAT[g.primary[e]], "群众举报该单位碳排放数据存在弄虚作假嫌疑，请核查"))
            elif pat == "ver_rubber_stamp" and "conflict" not in g.ver.get(e, {}):
                g.ver[e] = {**g.ver.get(e, {}), "factor": 1.0, "conclusion": "accepted", "findings": 0}
            elif pat == "ver_short_review":
                g.ver[e] = {**g.ver.get(e, {}), "short": True, "factor": 1.0, "conclusion": "accepted", "findings": 0}
            else:
                continue
            g.add(e, fam, pat)


# ----------------------------------------------------------------------------------------------- honest operations

HONEST_SALT = 0x4B62  # second word of the honest-operations seed: its draws never shift the main stream
CAD_BAND = {"anthracite": (60.0, 85.0), "bituminous": (50.0, 75.0), "subbituminous": (45.0, 65.0),
            "lignite": (35.0, 55.0), "waste_coal": (25.0, 50.0)}  # usual Cad % by rank (DOMAIN §3)
RATE_COMMISSIONED = 0.02  # of units: ~50–90 GW of coal commissioned a year on a ~1,150 GW fleet
RATE_RETIRED = 0.01  # of units
RATE_HIGH_ASH = 0.03  # of coal units (whole plants burning a high-ash / low-rank blend all year)
RATE_DEFAULT_CC = 0.10  # of coal units reporting the default carbon content every month
MANY_CLIENT_MIN = 30  # clients of a many-client verifier (at least 2 such verifiers per bundle)


def _sfc_load(lr: np.ndarray) -> np.ndarray:
    """Relative supply coal consumption at load rate ``lr`` (worse at low load, as in ``Gen._monthly``)."""
    return 1 + 0.15 * (0.75 - lr)


def _recompute(g: Gen, us: np.ndarray) -> None:
    """Coal, true emissions and reported operating values of (clean) units ``us`` from their edited truth."""
    t = g.t
    tce = t["supply"][us] * t["sfc"][us] / 1000 + t["heat"][us] / 0.9 / GJ_PER_TCE
    fc = np.where(t["outage"][us] | ~g.exists[us], 0.0, tce * GJ_PER_TCE / t["ncv"][us])
    g.fc_true[us] = fc
    g.e_true[us] = fc * t["ncv"][us] * t["cc"][us] * OF_DEFAULT * C_TO_CO2
    g.r["fc"][us] = np.round(fc, 2)
    g.r["gross"][us] = np.round(t["gross"][us], 2)
    g.r["supply"][us] = np.round(t["supply"][us], 2)
    g.r["heat"][us] = np.round(t["heat"][us], 1)
    g.r["hours"][us] = t["hours"][us]
    g.r["lr"][us] = np.round(t["lr"][us], 4)


def _vanish(g: Gen, u: int, months: np.ndarray) -> None:
    """Unit ``u`` did not exist in ``months``: no report, no lab report, no telemetry, no output."""
    g.exists[u, months] = False
    g.r["has_lab"][u, months] = False
    g.tel_missing[u, months] = True
    for k in ("hours", "lr", "gross", "supply", "heat"):
        g.t[k][u, months] = 0.0


def honest_operations(g: Gen) -> None:
    """DOMAIN §4b honest look-alikes on enterprises without any fraud label (after ``inject``).

    Draws come from their own generator (seed, HONEST_SALT), so the fraud and every untouched value keep the
    main stream. Kinds added here (``lookalikes.csv``): default_cc_all_year, high_ash_coal, chp_heating_season,
    commissioned_in_year, retired_in_year, many_client_verifier.
    """
    rng = g.rng_honest = np.random.default_rng([g.seed, HONEST_SALT])
    g.has_lab_base = g.r["has_lab"].copy()
    y, U, t = g.year, g.U, g.t
    clean_e = np.ones(g.E, bool)
    clean_e[[int(e) for e in g.injected]] = False
    free_e = clean_e.copy()  # data-changing look-alikes also spare plants whose lab series a fraud copied
    free_e[[int(e) for e in g.donors]] = False
    lead = np.zeros(U, bool)
    for e in np.flatnonzero(g.e_shared):
        lead[g.ent_units[e][0]] = True
    kinds_e: dict[int, set[str]] = {}
    for x in g.look:
        kinds_e.setdefault(int(x[0]), set()).add(x[3])
    # -- default users: ≈ RATE_DEFAULT_CC of units (clean default plants beyond it measure instead)
    n_def = int((~g.e_measured[g.u_ent]).sum())
    conv: set[int] = set()
    for e in rng.permutation(g.E):
        if n_def <= round(RATE_DEFAULT_CC * U):
            break
        if not clean_e[e] or g.e_measured[e]:
            continue
        us = g.ent_units[e]
        g.e_measured[e] = True
        g.r["measured"][us] = True
        g.r["has_lab"][us] = ~t["outage"][us]
        n_def -= len(us)
        conv.add(int(e))
    if conv:
        g.look = [x for x in g.look if not (x[3] == "fixed_annual_ncv" and int(x[0]) in conv)]
    # -- high-ash / low-rank blend: Cad 5–12 points below the rank's band, NCV lowered alike, CC = Car/NCV kept
    n = 0
    for e in rng.permutation(g.E):
        if n >= round(RATE_HIGH_ASH * U):
            break
        e = int(e)
        us = g.ent_units[e]
        c = g.e_coal[e]
        if (not free_e[e] or not g.e_measured[e] or c not in ("bituminous", "anthracite")
                or not (g.u_coal_reg[us] == c).all() or kinds_e.get(e, set()) & {"coal_source_switch", "anthracite_high_cc"}):
            continue
        lo = CAD_BAND[c][0]
        noise = rng.normal(0, 0.5, (len(us), 12))
        if g.e_shared[e]:
            noise[:] = noise[0]
        tgt = np.clip(lo - rng.uniform(5.5, 11.5) + noise, lo - 12, lo - 5)
        lab = g.lab
        k = tgt / lab["cad"][us]
        comb = 100 - lab["mad"][us] - lab["aad"][us]
        lab["cad"][us] = np.round(tgt, 2)
        lab["ncv"][us] = np.round(lab["ncv"][us] * k, 3)
        lab["aad"][us] = np.round(np.clip(100 - lab["mad"][us] - comb * k, 5, 60), 2)
        t["ncv"][us] *= k
        g.r["ncv_default"][us] = np.round(g.r["ncv_default"][us] * k, 2)
        _recompute(g, us)
        for u in us:
            g.look.append((e, int(u), None, "high_ash_coal"))
        n += len(us)
    # -- CHP: heat-led in the heating season, generation held at or below the rest of the year
    f = np.where(HEATING, np.minimum(1.0, 0.95 * SEASON_GEN[~HEATING].mean() / SEASON_GEN), 1.0)
    chp = np.flatnonzero(g.u_chp & free_e[g.u_ent])
    if len(chp):
        lr_old = t["lr"][chp].copy()
        for k_ in ("lr", "gross", "supply"):
            t[k_][chp] *= f[None, :]
        t["heat"][chp] *= np.where(HEATING[None, :], rng.uniform(1.1, 1.4, (len(chp), 1)), 1.0)  # heat-led winter
        t["sfc"][chp] *= _sfc_load(t["lr"][chp]) / _sfc_load(lr_old)
        _recompute(g, chp)
        for u in chp:
            g.look.append((int(g.u_ent[u]), int(u), None, "chp_heating_season"))
    # -- units commissioned or retired within the year
    elig = free_e[g.u_ent] & ~g.u_chp & ~g.u_ccs & ~lead & ~t["outage"].any(1) & ~g.tel_missing.any(1)
    forced = np.flatnonzero(g.u_start >= y)  # the registry says so: such a unit cannot report from January
    g.u_start[forced[~elig[forced]]] = y - 1  # …unless it carries fraud or another unit-level look-alike
    com = [int(u) for u in forced[elig[forced]]]
    elig[forced] = False
    pool = rng.permutation(np.flatnonzero(elig))
    k_com = max(0, round(RATE_COMMISSIONED * U) - len(com))
    com += [int(u) for u in pool[:k_com]]
    ret = [int(u) for u in pool[k_com:k_com + round(RATE_RETIRED * U)]]
    for u in com:
        m0 = int(rng.integers(1, 10))  # first operating month: Feb–Oct
        g.u_start[u] = y
        _vanish(g, u, np.arange(0, m0))
        ms = np.arange(m0, min(m0 + 2, 12))
        lr_new = rng.uniform(0.3, 0.5, len(ms))
        hf = np.ones(len(ms))
        hf[0] = rng.uniform(0.35, 1.0)  # first month from the commissioning day on
        hours = np.floor(t["hours"][u, ms] * hf)
        ratio = hours * lr_new / (t["hours"][u, ms] * t["lr"][u, ms])
        t["sfc"][u, ms] *= _sfc_load(lr_new) / _sfc_load(t["lr"][u, ms])
        for k_ in ("gross", "supply", "heat"):
            t[k_][u, ms] *= ratio
        t["hours"][u, ms] = hours
        t["lr"][u, ms] = lr_new
        _recompute(g, np.array([u]))
        g.look.append((int(g.u_ent[u]), u, m0, "commissioned_in_year"))
    for u in ret:
        last = int(rng.integers(5, 11))  # last reporting month: Jun–Nov
        _vanish(g, u, np.arange(last + 1, 12))
        _recompute(g, np.array([u]))
        g.look.append((int(g.u_ent[u]), u, last, "retired_in_year"))
    # -- default users are recorded as such
    for e in np.flatnonzero(clean_e & ~g.e_measured):
        for u in g.ent_units[e]:
            g.look.append((int(e), int(u), None, "default_cc_all_year"))
    # -- verifiers with many (honest) clients: ≥ 2 per bundle, in the provinces with most enterprises
    busy = {v["agency"] for v in g.ver.values() if "agency" in v}
    provs = sorted(set(g.e_prov), key=lambda p: (-int((g.e_prov == p).sum()), p))
    n_ag = max(2, round(g.E / 500))
    chosen: list[int] = []
    for i in range(4 * n_ag):
        if len(chosen) >= n_ag:
            break
        cand = [a for a in g.ver_by_prov[provs[i % len(provs)]] if a not in busy and a not in chosen]
        if cand:
            chosen.append(cand[int(rng.integers(0, len(cand)))])
    pure = np.array([g.agencies[g.e_verifier[e]][2] == "verifier" for e in range(g.E)])
    for a in chosen:
        home = g.agencies[a][3]
        others = [v for v in g.ver_by_prov[home] if v != a and v not in chosen and v not in busy]
        for e in np.flatnonzero((g.e_verifier == a) & ~clean_e):  # its fraud clients go to a colleague
            if others:
                g.e_verifier[e] = others[int(rng.integers(0, len(others)))]
        want = int(rng.integers(MANY_CLIENT_MIN, MANY_CLIENT_MIN + 16))
        mine = [int(e) for e in np.flatnonzero(g.e_verifier == a)]
        extra = [int(e) for e in rng.permutation(g.E) if clean_e[e] and pure[e] and g.e_verifier[e] not in chosen]
        extra.sort(key=lambda e: g.e_prov[e] != home)  # home province first, then national clients
        for e in extra[: max(0, want - len(mine))]:
            g.e_verifier[e] = a
            mine.append(e)
        for e in mine:
            g.look.append((e, None, None, "many_client_verifier"))
    for a, k in zip(*np.unique(g.e_verifier, return_counts=True), strict=True):  # large provinces' own
        if a not in chosen and a not in busy and k >= MANY_CLIENT_MIN and g.agencies[a][2] == "verifier":
            for e in np.flatnonzero((g.e_verifier == a) & clean_e):
                g.look.append((int(e), None, None, "many_client_verifier"))


# ----------------------------------------------------------------------------------------------- writing

def _ts(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """datetime64[D] → ISO timestamps (CST, no offset) at a random office-hours second."""
    secs = rng.integers(8 * 3600, 22 * 3600, days.shape).astype("timedelta64[s]")
    return (days.astype("datetime64[s]") + secs).astype(str)


def _sha(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_tables(g: Gen) -> dict[str, pl.DataFrame]:
    """All tables but telemetry, from the (possibly tampered) arrays."""
    rng, U, y = g.rng, g.U, g.year
    ue = g.u_ent
    unit_ids = np.array([f"{g.e_id[g.u_ent[u]]}-G{k + 1:02d}" for u in range(U)
                         for k in [int(np.flatnonzero(g.ent_units[g.u_ent[u]] == u)[0])]])
    g.unit_ids = unit_ids
    ent = pl.DataFrame({"enterprise_id": g.e_id, "enterprise_name": g.e_name, "province_code": g.e_prov,
                        "city_name": g.e_city, "sector": ["power"] * g.E, "is_captive": g.e_captive})
    reg = g.reg
    units = pl.DataFrame({
        "unit_id": unit_ids, "enterprise_id": g.e_id[ue],
        "unit_name": [f"{n} {u}" for n, u in zip(g.e_name[ue], reg["Unit name"].fill_null("机组").to_list(), strict=True)],
        "unit_class": g.u_class, "capacity_mw": g.u_cap, "combustion_technology": g.u_tech,
        "coal_type": g.u_coal_reg, "cooling_type": g.u_cool, "is_chp": g.u_chp, "commissioning_year": g.u_start,
        "registry_ref": reg["GEM unit/phase ID"].to_list()})
    agencies = pl.DataFrame(g.agencies, schema=["agency_id", "agency_name", "roles", "home_province_code", "cma_no"],
                            orient="row")
    ag_ids = np.array([a[0] for a in g.agencies])
    # ---- lab reports
    lab = g.lab
    car_f = np.round(lab["cad"] * (100 - lab["mt"]) / (100 - lab["mad"]), 2)
    car = np.where(np.isnan(g.lab_car_override), car_f, g.lab_car_override)
    lead = np.ones(U, bool)
    for e in np.flatnonzero(g.e_shared):
        lead[g.ent_units[e][1:]] = False
    lead_of = np.array([g.ent_units[e][0] if g.e_shared[e] else -1 for e in range(g.E)])
    has_lab = g.r["has_lab"]
    # shared plants: the lead's report serves all units → a report exists where the lead has one
    # reports that existed before honest operations keep their ids and main-stream draws; new ones (plants
    # that measure instead of using the default) come after them, with draws of their own
    base = (g.has_lab_base if g.has_lab_base is not None else has_lab) & lead[:, None]
    uu0, mm0 = np.nonzero(base)
    uu, mm = np.nonzero(has_lab & lead[:, None])
    new = ~base[uu, mm]
    id_g = np.full((U, 12), "", dtype=object)
    id_g[uu0, mm0] = np.array([f"LR{y}{i + 1:07d}" for i in range(len(uu0))], dtype=object)
    id_g[uu[new], mm[new]] = np.array([f"LR{y}{len(uu0) + i + 1:07d}" for i in range(int(new.sum()))], dtype=object)
    lr_id = np.full((U, 12), "", dtype=object)
    ids = id_g[uu, mm]
    lr_id[uu, mm] = ids
    for e in np.flatnonzero(g.e_shared):
        ld = lead_of[e]
        for u in g.ent_units[e][1:]:
            lr_id[u] = np.where(has_lab[u], lr_id[ld], "")
    d = g.lab_dates
    issue = g.lab_issue[uu, mm]
    agency = g.lab_agency[uu, mm]
    tie_g = np.zeros((U, 12))
    inc_g = np.zeros((U, 12), np.int64)
    tie_g[uu0, mm0] = rng.random(len(uu0))
    start = {a: int(rng.integers(100, 900)) for a in np.unique(g.lab_agency[uu0, mm0])}
    inc_g[uu0, mm0] = rng.integers(1, 4, len(uu0))
    if new.any() or not set(np.unique(agency)) <= set(start):
        hr = g.rng_honest if g.rng_honest is not None else np.random.default_rng([g.seed, HONEST_SALT, 1])
        tie_g[uu[new], mm[new]] = hr.random(int(new.sum()))
        inc_g[uu[new], mm[new]] = hr.integers(1, 4, int(new.sum()))
        for a in np.unique(agency):
            start.setdefault(a, int(hr.integers(100, 900)))
    tie, inc = tie_g[uu, mm], inc_g[uu, mm]
    order = np.lexsort((tie, issue, agency))
    serial = np.zeros(len(uu), int)
    prev_a, s = None, 0
    for j in order:
        a = agency[j]
        if a != prev_a:
            s, prev_a = start[a], a
        s += inc[j]
        serial[j] = s
    labdf = pl.DataFrame({
        "lab_report_id": ids, "report_no": [f"{ag_ids[a]}-{y}-{s:05d}" for a, s in zip(agency, serial, strict=True)],
        "lab_agency_id": ag_ids[agency], "unit_id": unit_ids[uu], "sample_period": [f"{y}-{m + 1:02d}" for m in mm],
        "sampling_end_date": d["se"][uu, mm].astype(str), "receipt_date": d["rec"][uu, mm].astype(str),
        "test_date": d["tst"][uu, mm].astype(str), "report_date": d["rep"][uu, mm].astype(str),
        "carbon_ad_pct": lab["cad"][uu, mm], "moisture_ad_pct": lab["mad"][uu, mm],
        "total_moisture_pct": lab["mt"][uu, mm], "carbon_ar_pct": car[uu, mm], "ncv_ar_gj_per_t": lab["ncv"][uu, mm],
        "ash_ad_pct": lab["aad"][uu, mm], "has_anti_counterfeit_code": g.lab_qr[uu, mm]})
    # ---- monthly reports
    r = g.r
    measured = r["measured"]
    cc_lab = np.round(car / 100 / lab["ncv"], 5)
    cc_lab_sh = cc_lab.copy()
    ncv_lab = lab["ncv"].copy()
    for e in np.flatnonzero(g.e_shared):
        for u in g.ent_units[e][1:]:
            cc_lab_sh[u], ncv_lab[u] = cc_lab[lead_of[e]], lab["ncv"][lead_of[e]]
    cc = np.where(measured, cc_lab_sh, CC_DEFAULT)
    cc = np.where(np.isnan(r["cc_override"]), cc, r["cc_override"])
    ncv = np.where(measured, ncv_lab, r["ncv_default"])
    outage_rep = r["fc"] == 0
    emis = r["fc"] * ncv * cc * r["of"] * C_TO_CO2 * r["emis_factor"] + r["purch"] * GRID_FACTOR
    emis = np.where(outage_rep, r["purch"] * GRID_FACTOR, emis)
    ncv_print = np.where(r["ncv_override"] == -1, np.round(ncv / KCAL_GJ, 0), ncv)
    basis = np.where(measured, "measured", "default")
    lrid = np.where(measured & (lr_id != ""), lr_id, None)
    sub = g.month_end[None, :] + r["sub_delay"].astype(int).astype("timedelta64[D]")
    sub_s = _ts(sub, rng)
    per = np.array([f"{y}-{m + 1:02d}" for m in range(12)])
    mask = r["present"]
    uu2, mm2 = np.nonzero(mask)
    q_null = outage_rep[uu2, mm2]

    def col(a: np.ndarray, null_on_outage: bool = False) -> list:
        v = a[uu2, mm2]
        if null_on_outage:
            v = np.where(q_null, None, v)
        return v.tolist()

    monthly = pl.DataFrame({
        "unit_id": unit_ids[uu2], "period": per[mm2], "version": np.ones(len(uu2), np.int64),
        "fuel_consumed_t": r["fc"][uu2, mm2], "ncv_gj_per_t": pl.Series(col(ncv_print, True), dtype=pl.Float64),
        "carbon_content_tc_per_gj": pl.Series(col(cc, True), dtype=pl.Float64),
        "carbon_content_basis": pl.Series(col(basis, True), dtype=pl.String),
        "oxidation_rate": r["of"][uu2, mm2], "gross_generation_mwh": r["gross"][uu2, mm2],
        "power_supply_mwh": r["supply"][uu2, mm2], "heat_supply_gj": r["heat"][uu2, mm2],
        "operating_hours": r["hours"][uu2, mm2], "load_rate": r["lr"][uu2, mm2],
        "purchased_electricity_mwh": r["purch"][uu2, mm2], "emissions_tco2": np.round(emis[uu2, mm2], 2),
        "lab_report_id": pl.Series(col(lrid, True), dtype=pl.String), "submitted_at": sub_s[uu2, mm2]})
    # honest resubmissions: 3 % of rows have an earlier version 1 with a typo in fuel, corrected in version 2
    resub = rng.random(monthly.height) < 0.03
    keep = g.exists[uu2, mm2]  # months before commissioning / after retirement: drawn as before, then dropped
    resub &= (monthly["fuel_consumed_t"].to_numpy() > 0) | ~keep
    idx = np.flatnonzero(resub)
    if len(idx):
        v1 = monthly[idx]
        f = rng.uniform(0.97, 1.03, len(idx))
        sub1 = pl.Series(v1["submitted_at"]).str.to_datetime() - pl.duration(days=pl.Series(rng.integers(5, 40, len(idx))))
        v1 = v1.with_columns((pl.col("fuel_consumed_t") * f).round(2).alias("fuel_consumed_t"),
                             (pl.col("emissions_tco2") * f).round(2).alias("emissions_tco2"),
                             sub1.dt.strftime("%Y-%m-%dT%H:%M:%S").alias("submitted_at"))
        monthly = pl.concat([monthly.with_columns(pl.when(pl.Series(resub)).then(2).otherwise(1).cast(pl.Int64).alias("version"))
                             .filter(pl.Series(keep)), v1.filter(pl.Series(keep[idx]))])
        monthly = monthly.sort("unit_id", "period", "version")
        for j in idx[keep[idx]]:
            g.look.append((ue[uu2[j]], int(uu2[j]), int(mm2[j]), "honest_resubmission"))
    else:
        monthly = monthly.filter(pl.Series(keep))
    # ---- annual reports (sum of current monthly rows per enterprise)
    cur = monthly.sort("version").unique(["unit_id", "period"], keep="last")
    sums = (cur.join(units.select("unit_id", "enterprise_id"), on="unit_id")
            .group_by("enterprise_id").agg(pl.col("emissions_tco2").sum(), pl.col("power_supply_mwh").sum(),
                                           pl.col("heat_supply_gj").sum()))
    sm = {row[0]: row[1:] for row in sums.iter_rows()}
    ann_rows, ver_rows = [], []
    noise = rng.random(g.E) < 0.05
    for e in range(g.E):
        eid = g.e_id[e]
        em, ps, hs = sm.get(eid, (0.0, 0.0, 0.0))
        nf = 1 + rng.uniform(-0.004, 0.004) if noise[e] else 1.0
        rep_e = round(em * g.ann_factor[e] * nf, 2)
        ver = g.ver.get(e, {})
        prep = g.e_preparer[e]
        vag = g.e_verifier[e]
        if ver.get("conflict"):
            dual = len(g.agencies)
            g.agencies.append((f"AG{g.e_prov[e]}X{dual:03d}", f"{PROV_CN[g.e_prov[e]]}碳管理技术服务有限公司",
                               "preparer|verifier", g.e_prov[e], None))
            prep = vag = dual
            ag_ids = np.append(ag_ids, g.agencies[-1][0])
        if "agency" in ver:
            vag = ver["agency"]
        sub_d = np.datetime64(f"{y + 1}-03-{int(rng.integers(5, 31)):02d}")
        ann_rows.append((f"AR{y}{e + 1:05d}", eid, y, rep_e, round(ps * g.ann_supply_factor[e], 2), round(hs, 1),
                         ag_ids[prep] if prep >= 0 else None, _ts(np.array([sub_d]), rng)[0]))
        # verification
        if e in g.injected and g.primary.get(e) not in (None, "verifier", "tip") and not ver:
            honest = rng.random()
            concl, fnd, fac = ("revised", int(rng.integers(2, 7)), 1 + rng.uniform(0.002, 0.02)) if honest < 0.6 else \
                ("accepted", int(rng.integers(1, 4)), 1.0)
        else:
            r_ = rng.random()
            if r_ < 0.70:
                concl, fnd, fac = "accepted", int(rng.integers(0, 4)), 1.0
            elif r_ < 0.995:
                concl, fnd, fac = "revised", int(rng.integers(1, 7)), 1 + rng.choice([-1, 1]) * rng.uniform(0.001, 0.03)
            else:
                concl, fnd, fac = "rejected", int(rng.integers(5, 11)), 1 + rng.uniform(0.01, 0.05)
        fac = ver.get("factor", fac)
        concl = ver.get("conclusion", concl)
        fnd = ver.get("findings", fnd)
        st = ver.get("start", np.datetime64(f"{y + 1}-04-01") + np.timedelta64(int(rng.integers(0, 75)), "D"))
        dur = int(rng.integers(10, 46))
        en = ver.get("end", st + np.timedelta64(dur, "D"))
        if ver.get("short"):
            en = st + np.timedelta64(int(rng.integers(0, 2)), "D")
        ver_rows.append((f"VF{y}{e + 1:05d}", eid, y, ag_ids[vag], round(rep_e * fac, 2), concl, fnd, str(st), str(en)))
    annual = pl.DataFrame(ann_rows, schema=["report_id", "enterprise_id", "year", "reported_emissions_tco2",
                                            "reported_power_supply_mwh", "reported_heat_supply_gj",
                                            "preparer_agency_id", "submitted_at"], orient="row")
    verif = pl.DataFrame(ver_rows, schema=["verification_id", "enterprise_id", "year", "verifier_agency_id",
                                           "verified_emissions_tco2", "conclusion", "findings_count",
                                           "review_started", "review_completed"], orient="row")
    agencies = pl.DataFrame(g.agencies, schema=["agency_id", "agency_name", "roles", "home_province_code", "cma_no"],
                            orient="row")
    # ---- tips: injected + unfounded complaints + anonymous ones
    unfounded = [e for e in range(g.E) if e not in g.injected and rng.random() < 0.03]
    for e in unfounded:
        g.tips.append((e, str(rng.choice(list(TIP_CAT.values()))), "反映该厂周边烟尘较大，怀疑排放数据不实"))
        g.look.append((e, None, None, "unfounded_tip"))
    for _ in range(max(2, g.E // 100)):
        g.tips.append((None, "其他", "反映某电厂存在数据问题，未提供单位名称"))
    tip_rows = []
    for i, (e, cat, summ) in enumerate(g.tips):
        day = np.datetime64(f"{y}-03-01") + np.timedelta64(int(rng.integers(0, 390)), "D")
        tip_rows.append((f"TIP{y}{i + 1:05d}", g.e_id[e] if e is not None else None, str(day),
                         str(rng.choice(["hotline", "letter", "online", "referral"])), cat, summ))
    tips = pl.DataFrame(tip_rows, schema=["tip_id", "enterprise_id", "received_date", "channel", "category", "summary"],
                        orient="row")
    return {"enterprises": ent, "units": units, "agencies": agencies, "monthly_reports": monthly,
            "lab_reports": labdf, "annual_reports": annual, "verifications": verif, "tips": tips}


def write_telemetry(g: Gen, out: Path) -> list[dict]:
    """Hourly telemetry per province → ``telemetry/province_code=XX/part-0.parquet``; returns manifest parts."""
    rng, y = g.rng, g.year
    t0 = np.datetime64(f"{y}-01-01T00", "h")
    nh = int(g.hours_m.sum())
    ts = pl.Series("ts", (t0 + np.arange(nh).astype("timedelta64[h]")).astype("datetime64[us]"))
    month_of = np.repeat(np.arange(12), g.hours_m)
    mstart = np.concatenate([[0], np.cumsum(g.hours_m)[:-1]])
    him = np.arange(nh) - mstart[month_of]
    hod = np.arange(nh) % 24
    diurnal = (1 + 0.07 * np.sin(2 * np.pi * (hod - 10) / 24)).astype(np.float32)
    U = g.U
    bias_g = rng.normal(0, 0.012, U)
    bias_c = rng.normal(0, 0.02, U)
    bias_e = rng.normal(0.02, 0.04, U)
    for u in rng.choice(U, max(1, U // 40), replace=False):  # honest units at the edge of the bias range
        bias_c[u] = rng.choice([-1, 1]) * rng.uniform(0.04, 0.06)
        g.look.append((g.u_ent[u], int(u), None, "telemetry_bias_high_honest"))
    parts = []
    for p in sorted(set(g.u_prov)):
        us = np.flatnonzero(g.u_prov == p)
        n = len(us)
        off = g.t["hours"][us].astype(int)
        offlen = g.hours_m[None, :] - off
        start = (rng.random((n, 12)) * (g.hours_m[None, :] - offlen + 1)).astype(int)
        sh = start[:, month_of]
        ln = offlen[:, month_of]
        on = ~((him[None, :] >= sh) & (him[None, :] < sh + ln))
        prof = on * diurnal[None, :] * rng.normal(1, 0.025, (n, nh)).astype(np.float32)
        seg = np.add.reduceat(prof, mstart, axis=1)
        seg[seg == 0] = 1
        tg = g.t["gross"][us] * (1 + bias_g[us, None] + rng.normal(0, 0.005, (n, 12)))
        load = prof * (tg / seg)[:, month_of]
        load = np.minimum(load, g.u_cap[us, None] * 1.05)
        cprof = prof * rng.normal(1, 0.03, (n, nh)).astype(np.float32)
        cseg = np.add.reduceat(cprof, mstart, axis=1)
        cseg[cseg == 0] = 1
        tc = g.fc_true[us] * g.tel_scale_coal[us] * (1 + bias_c[us, None] + rng.normal(0, 0.008, (n, 12)))
        coal = cprof * (tc / cseg)[:, month_of]
        te = (g.e_true[us] * g.tel_scale_cems[us] * g.ccs_cems_factor[us, None]
              * (1 + bias_e[us, None] + rng.normal(0, 0.01, (n, 12))))
        cems = cprof * (te / cseg)[:, month_of]
        cems[~g.u_cems[us]] = np.nan
        # honest gaps: 3 % of unit-months lose 6 h – 5 days of values
        gap = np.zeros((n, nh), bool)
        gu, gm = np.nonzero(rng.random((n, 12)) < 0.03)
        for a, m in zip(gu, gm, strict=True):
            L = int(rng.integers(6, 120))
            s0 = mstart[m] + int(rng.integers(0, g.hours_m[m] - L))
            gap[a, s0:s0 + L] = True
            if g.exists[us[a], m]:
                g.look.append((g.u_ent[us[a]], int(us[a]), int(m), "telemetry_gap_honest"))
        load = np.where(gap, np.nan, np.round(load, 1))
        coal = np.where(gap, np.nan, np.round(coal, 2))
        cems = np.where(gap, np.nan, np.round(cems, 2))
        keep = ~g.tel_missing[us][:, month_of]
        flat = keep.ravel()
        uid = pl.Series("unit_id", g.unit_ids[us]).gather(pl.Series(np.repeat(np.arange(n), nh)[flat]))
        df = pl.DataFrame({
            "unit_id": uid,
            "ts": pl.concat([ts] * n).filter(pl.Series(flat)),
            "gross_load_mw": pl.Series(load.ravel()[flat]).fill_nan(None),
            "coal_feed_t": pl.Series(coal.ravel()[flat]).fill_nan(None),
            "cems_co2_t": pl.Series(cems.ravel()[flat]).fill_nan(None),
        })
        rel = f"telemetry/province_code={p}/part-0.parquet"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        df.write_parquet(path, compression="zstd", statistics=True)
        parts.append({"file": rel, "sha256": _sha(path), "rows": df.height})
    return parts


def generate(out_dir: Path, *, year: int, provinces: list[str] | None, seed: int, fraud_rate: float = 0.08,
             telemetry: bool = True, labels_path: Path | None = None) -> dict:
    """Write a CONTRACT v1 bundle to ``out_dir`` and labels/look-alikes beside ``labels_path``.

    ``labels_path`` defaults to ``out_dir.parent / "labels.csv"`` (never inside the bundle). Returns a summary:
    rows per table, injected enterprises, label and look-alike paths.
    """
    out_dir = Path(out_dir)
    labels_path = Path(labels_path) if labels_path else out_dir.parent / "labels.csv"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    g = Gen(load_registry(provinces), year, seed)
    inject(g, fraud_rate)
    honest_operations(g)
    tables = build_tables(g)
    manifest: dict = {"contract_version": "1", "bundle_id": f"xsynth-{year}-s{seed}" + (f"-p{'-'.join(provinces)}" if provinces else ""),
                      "created_at": f"{year + 1}-09-30T02:00:00+08:00", "source": "xsynth-clean-room",
                      "period_start": f"{year}-01", "period_end": f"{year}-12",
                      "grid_emission_factor_tco2_per_mwh": GRID_FACTOR, "tables": {}}
    for name, df in tables.items():
        path = out_dir / f"{name}.csv"
        df.write_csv(path)
        manifest["tables"][name] = {"file": path.name, "format": "csv", "sha256": _sha(path), "rows": df.height}
    if telemetry:
        parts = write_telemetry(g, out_dir)
        combined = hashlib.sha256("".join(f"{p['file']}:{p['sha256']}\n" for p in parts).encode("utf-8")).hexdigest()
        manifest["tables"]["telemetry"] = {"file": "telemetry", "format": "parquet", "rows": sum(p["rows"] for p in parts),
                                           "parts": parts, "sha256": combined}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    per = [f"{year}-{m + 1:02d}" for m in range(12)]
    lab = pl.DataFrame({
        "enterprise_id": [g.e_id[x.ent] for x in g.labels], "year": [year] * len(g.labels),
        "unit_id": [g.unit_ids[x.unit] if x.unit is not None else None for x in g.labels],
        "period": [per[x.month] if x.month is not None else None for x in g.labels],
        "family": [x.family for x in g.labels], "pattern": [x.pattern for x in g.labels]},
        schema={"enterprise_id": pl.String, "year": pl.Int64, "unit_id": pl.String, "period": pl.String,
                "family": pl.String, "pattern": pl.String})
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    lab.write_csv(labels_path)
    look = pl.DataFrame({
        "enterprise_id": [g.e_id[x[0]] for x in g.look], "year": [year] * len(g.look),
        "unit_id": [g.unit_ids[x[1]] if x[1] is not None else None for x in g.look],
        "period": [per[x[2]] if x[2] is not None else None for x in g.look], "kind": [x[3] for x in g.look]},
        schema={"enterprise_id": pl.String, "year": pl.Int64, "unit_id": pl.String, "period": pl.String, "kind": pl.String})
    look.unique(maintain_order=True).write_csv(labels_path.parent / "lookalikes.csv")
    rows = {k: v["rows"] for k, v in manifest["tables"].items()}
    return {"bundle": str(out_dir), "labels": str(labels_path), "lookalikes": str(labels_path.parent / "lookalikes.csv"),
            "rows": rows, "enterprises": g.E, "units": g.U, "injected_enterprises": len(g.injected),
            "label_rows": lab.height, "patterns": lab["pattern"].unique().sort().to_list()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--provinces", default=None)
    ap.add_argument("--fraud-rate", type=float, default=0.08)
    ap.add_argument("--no-telemetry", action="store_true")
    a = ap.parse_args(argv)
    if a.labels.resolve().is_relative_to(a.out.resolve()):
        ap.error("--labels must be outside the bundle directory")
    prov = [p.strip() for p in a.provinces.split(",")] if a.provinces else None
    s = generate(a.out, year=a.year, provinces=prov, seed=a.seed, fraud_rate=a.fraud_rate,
                 telemetry=not a.no_telemetry, labels_path=a.labels)
    print(json.dumps(s, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
