"""Every constant of the synthetic generator, in one place (house rule: one parameter table).

Sources are named per constant: ``DOMAIN`` = ``docs/DOMAIN.md`` (section), ``CONTRACT`` =
``docs/contract/CONTRACT.md``, ``MRV`` = 企业温室气体排放核算与报告指南 发电设施 (power-sector MRV
guideline, 2022 revision), ``IPCC`` = 2006 IPCC Guidelines vol. 2 ch. 1 table 1.3. Values marked
**[verify]** in DOMAIN.md are marked the same here. Everything that is *not* from a document is a
modelling choice of the generator and says so ("model").
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonqa.contract import CO2_PER_C, DEFAULT_GRID_FACTOR_TCO2_PER_MWH, PROVINCES
from carbonqa.regulation import MRV_DEFAULTS

__all__ = [
    "RegulationParams",
    "regulation",
    "CO2_PER_C",
    "STANDARD_COAL_GJ_PER_T",
    "KCAL_PER_KG_TO_GJ_PER_T",
    "IPCC_CC_DEFAULT",
    "COAL_QUALITY",
    "PROVINCE_BY_NAME",
    "PROVINCE_CAPITAL",
    "NORTH",
    "FAR_NORTH",
    "ARID_NORTHWEST",
]


@dataclass(frozen=True)
class RegulationParams:
    """Constants that the rules fix per regulation (reporting) year.

    Attributes:
        year: first reporting year the row applies to.
        default_cc_tc_per_gj: default carbon content of unmeasured coal, tC/GJ
            (:data:`carbonqa.regulation.MRV_DEFAULTS`, DOMAIN §3) **[verify]**.
        oxidation_rate: carbon oxidation rate of coal (:data:`carbonqa.regulation.MRV_DEFAULTS`) **[verify]**.
        grid_factor_tco2_per_mwh: grid factor for purchased electricity (CONTRACT §3 v1 default 0.5703;
            DOMAIN §3 names 0.5366 for 2023 **[verify]** — the brief keeps 0.5703, stated in the manifest).
        monthly_deposit_days: days after month end within which the monthly deposit is due (model,
            brief: "within 40 days of month end").
        annual_deadline_month_day: annual report due date in the following year (DOMAIN §2, 31 March
            **[verify]**).
    """

    year: int
    default_cc_tc_per_gj: float
    oxidation_rate: float
    grid_factor_tco2_per_mwh: float
    monthly_deposit_days: int = 40
    annual_deadline_month_day: tuple[int, int] = (3, 31)


#: The generator's rows: the MRV defaults of :data:`carbonqa.regulation.MRV_DEFAULTS` (the one table the
#: rules, detectors and scoring read), from 2019 — the first year the generator writes.
_REGULATION: tuple[RegulationParams, ...] = tuple(
    RegulationParams(max(2019, r.year_from), r.default_cc_tc_per_gj, r.oxidation_rate_default,
                     DEFAULT_GRID_FACTOR_TCO2_PER_MWH)
    for r in MRV_DEFAULTS
)


def regulation(year: int) -> RegulationParams:
    """Return the parameter row in force for reporting ``year`` (latest row with ``row.year <= year``).

    Raises:
        ValueError: ``year`` precedes every row of the table (before 2019).
    """
    rows = [r for r in _REGULATION if r.year <= year]
    if not rows:
        raise ValueError(f"no regulation parameters for year {year} (table starts {_REGULATION[0].year})")
    return rows[-1]


#: Standard coal equivalent, GJ per tonne (DOMAIN §3: "standard coal = 29.3076 GJ/t").
STANDARD_COAL_GJ_PER_T = 29.3076
#: 1 kcal/kg = 0.0041868 GJ/t (DOMAIN §3 unit-error note).
KCAL_PER_KG_TO_GJ_PER_T = 0.0041868
#: Standard coal per GJ of supplied heat, t/GJ (model: boiler + pipe efficiency ≈ 0.86 → 39.5 kgce/GJ,
#: typical of GB 35574-2017 heat-supply figures).
HEAT_SUPPLY_TCE_PER_GJ = 0.0395
#: IPCC default carbon contents, tC/GJ (IPCC table 1.3; DOMAIN §3 quotes 0.0258 / 0.0268 / 0.0276).
IPCC_CC_DEFAULT: dict[str, float] = {
    "bituminous": 0.0258,
    "subbituminous": 0.0262,
    "anthracite": 0.0268,
    "lignite": 0.0276,
    "waste_coal": 0.0258,
    "mixed": 0.0258,
}

#: Plant-level coal quality by coal type: (mean, sd) of NCV as received [GJ/t], carbon per unit heat
#: [tC/GJ], total moisture Mt [%], air-dried moisture Mad [%], air-dried ash Aad [%]. Model values
#: inside DOMAIN §3 ranges (NCV bituminous 19–25, anthracite 21–27, lignite 11–16; measured CC
#: 0.0245–0.0290 and below IPCC defaults on average; Cad 50–75, Mad 0.5–12, Mt 4–40 lignite high).
COAL_QUALITY: dict[str, dict[str, tuple[float, float]]] = {
    "bituminous": {"ncv": (21.8, 1.1), "cc": (0.02560, 0.00045), "mt": (10.0, 1.8), "mad": (3.5, 0.9), "aad": (22.0, 4.0)},
    "subbituminous": {"ncv": (18.8, 0.9), "cc": (0.02630, 0.00045), "mt": (16.0, 2.0), "mad": (6.0, 1.0), "aad": (15.0, 3.0)},
    "anthracite": {"ncv": (23.6, 1.0), "cc": (0.02720, 0.00040), "mt": (7.0, 1.2), "mad": (1.8, 0.5), "aad": (24.0, 3.5)},
    "lignite": {"ncv": (14.6, 0.5), "cc": (0.02790, 0.00035), "mt": (32.0, 2.0), "mad": (10.0, 1.0), "aad": (17.0, 3.0)},
    "waste_coal": {"ncv": (18.0, 0.7), "cc": (0.02680, 0.00050), "mt": (9.0, 1.5), "mad": (2.0, 0.6), "aad": (38.0, 4.0)},
    "mixed": {"ncv": (20.6, 1.0), "cc": (0.02600, 0.00045), "mt": (11.0, 1.8), "mad": (4.0, 0.9), "aad": (21.0, 4.0)},
}
#: Honest clipping bounds of lab values (DOMAIN §3 ranges, with a margin inside them).
LAB_BOUNDS: dict[str, tuple[float, float]] = {
    "ncv": (12.5, 28.5),
    "cc": (0.0247, 0.0289),
    "cad": (50.5, 74.5),
    "mad": (0.6, 11.5),
    "mt": (4.5, 38.0),
    "aad": (5.0, 48.0),
}
#: Month-to-month relative noise of NCV and CC, and absolute noise of Mt/Mad/Aad (model).
MONTHLY_NOISE = {"ncv": 0.012, "cc": 0.005, "mt": 0.7, "mad": 0.25, "aad": 1.0}
#: Seasonal total-moisture offset [percentage points] by month (model: rainy season Jun–Aug wetter
#: coal, dry cold winter), multiplied by 1.0 in the south and 0.6 in the north.
MT_SEASONAL: tuple[float, ...] = (-0.8, -0.9, -0.4, 0.0, 0.5, 1.4, 2.2, 2.0, 0.9, 0.0, -0.5, -0.8)

#: Supply coal consumption by technology, gce/kWh supplied: (mean, sd) (DOMAIN §3 table:
#: ultra-supercritical ~280–300, supercritical ~295–315, subcritical ~310–345, CFB/small higher).
SUPPLY_COAL_GCE_PER_KWH: dict[str, tuple[float, float]] = {
    "ultra_supercritical": (290.0, 5.0),
    "supercritical": (304.0, 5.0),
    "subcritical": (318.0, 6.0),
    "cfb": (330.0, 6.0),
    "igcc": (300.0, 5.0),
}
#: Extra supply coal consumption of units below 300 MW (model, "small higher"), gce/kWh.
SMALL_UNIT_PENALTY_GCE = 5.0
#: Heat-rate sensitivity to load: b_month = b × (1 + k × (0.75 − load)) (model).
HEAT_RATE_LOAD_SLOPE = 0.08
#: Auxiliary power share of generation (DOMAIN §3: 4–9 %): per-unit uniform ranges by size (model).
AUX_RANGE_LARGE = (0.040, 0.060)
AUX_RANGE_SMALL = (0.055, 0.085)
AUX_AIR_COOLING_EXTRA = 0.005

#: Capacity threshold of the "300MW等级以上" class: rated power ≥ 400 MW (national allocation plan
#: 2019–2020 for the power sector: 300MW等级以上 = not below 400 MW).
CLASS_300MW_PLUS_MIN_MW = 400.0

#: Monthly load-rate multiplier (model): northern winter heating peak and summer peak; the south
#: has a summer peak and a spring-festival dip. Index 0 = January.
SEASON_NORTH: tuple[float, ...] = (1.10, 1.00, 0.95, 0.88, 0.86, 0.95, 1.08, 1.08, 0.92, 0.88, 0.98, 1.10)
SEASON_SOUTH: tuple[float, ...] = (1.00, 0.86, 0.92, 0.92, 0.97, 1.03, 1.12, 1.13, 1.02, 0.94, 0.93, 0.98)
#: Probability of a whole-month outage by month (model: spring/autumn maintenance seasons).
FULL_OUTAGE_P: tuple[float, ...] = (0.008, 0.012, 0.035, 0.045, 0.035, 0.012, 0.006, 0.006, 0.025, 0.040, 0.030, 0.010)
#: Probability of a partial-month outage and its length range in hours (model).
PARTIAL_OUTAGE_P = 0.13
PARTIAL_OUTAGE_HOURS = (36, 360)
#: Load-rate bounds (DOMAIN §3: 0.4–0.95).
LOAD_BOUNDS = (0.42, 0.93)

#: CHP heat-to-power ratio in GJ per MWh generated (model): heating season in the north, industrial
#: steam otherwise.
CHP_HEATING_RATIO = (1.0, 3.0)
CHP_STEAM_RATIO = (0.05, 0.45)

#: Share of enterprises that measure carbon content (model; DOMAIN §1: most units measure since 2020).
MEASURED_SHARE = 0.85
#: Share of units with a CEMS measuring CO2 (brief: ~60 %).
CEMS_SHARE = 0.60
#: Telemetry measurement: gross-load meter bias range, belt scale and CEMS bias magnitude range
#: (DOMAIN §4.5 EIA-923 vs CEMS: honest sources differ by a few percent), hourly noise sd (model).
LOAD_BIAS = 0.008
SCALE_BIAS = (0.01, 0.05)
CEMS_BIAS = (0.01, 0.05)
HOURLY_NOISE = {"load": 0.03, "coal": 0.025, "cems": 0.03}
#: CO2 captured by the CCS units, as a share of the stack flow that the CEMS no longer sees (model:
#: GCPT gives the 6 operating CCS units an emission factor ten times lower, i.e. 90 % capture).
CCS_CAPTURE_SHARE = (0.3, 0.9)

#: Agencies (brief): ~150 labs, ~80 preparers, ~60 verifiers, some with several roles. Counts per
#: role combination.
AGENCY_ROLE_COUNTS: dict[str, int] = {
    "lab": 130,
    "lab|preparer": 15,
    "lab|preparer|verifier": 5,
    "preparer": 40,
    "preparer|verifier": 20,
    "verifier": 35,
}
#: Probability that a plant picks an agency from its own province (model).
HOME_AGENCY_P = 0.8
#: Share of self-prepared annual reports (model).
SELF_PREPARED_P = 0.3
#: Share of measuring plants that change lab mid-year honestly (model).
LAB_CHANGE_P = 0.06
#: Share of lab reports without the anti-counterfeit QR code at an honest lab, and share of labs that
#: are sloppy about it (model).
QR_MISSING_P = 0.01
QR_SLOPPY_LAB_SHARE = 0.08
QR_SLOPPY_MISSING_P = 0.12
#: Honest resubmission share of unit-months (brief: "a few resubmissions with version 2").
RESUBMISSION_P = 0.012
#: Share of months with purchased electricity and its range in MWh (model; outage months buy more).
PURCHASE_P = 0.15
PURCHASE_OUTAGE_P = 0.7
PURCHASE_MWH = (20.0, 800.0)
#: Honest coal-source switches (look-alike) as share of measuring plants (model).
COAL_SWITCH_P = 0.03
#: Honest short telemetry gaps (look-alike): share of units and gap length in hours (model).
TELEMETRY_GAP_P = 0.03
TELEMETRY_GAP_HOURS = (2, 30)

#: Verification of the previous year (model): conclusion shares of honest verifiers, revision size,
#: review duration in days, start window.
VERIFICATION_SHARES = {"accepted": 0.50, "revised": 0.485, "rejected": 0.015}
REVISION_SD = 0.015
REVIEW_DAYS = (14, 60)

#: Fraud family weights for drawing the primary family of an injected enterprise (model).
FAMILY_WEIGHTS: dict[str, float] = {
    "carbon_content": 0.20,
    "copied_values": 0.13,
    "lab_forensics": 0.15,
    "verifier": 0.10,
    "telemetry": 0.14,
    "accounting": 0.14,
    "completeness": 0.14,
}
#: Share of injected enterprises that also carry a second pattern of another family (model).
SECOND_PATTERN_P = 0.25
#: Share of injected enterprises of other families that are also clients of a corrupt verifier and
#: get a rubber-stamp verification (brief: "one or two corrupt verifiers whose clients carry anomalies").
CORRUPT_CLIENT_P = 0.15
#: Share of injected enterprises named by a complaint, and complaints per honest enterprise (model).
TIP_FRAUD_P = 0.35
TIP_HONEST_P = 0.006

#: GB/T 2260 code by the English province name used by GCPT (CONTRACT §6).
PROVINCE_BY_NAME: dict[str, str] = {en: code for code, (en, _zh) in PROVINCES.items()}
#: Prefecture used when GCPT leaves ``Major area`` blank: the provincial capital (model).
PROVINCE_CAPITAL: dict[str, str] = {
    "11": "Beijing", "12": "Tianjin", "13": "Shijiazhuang", "14": "Taiyuan", "15": "Hohhot",
    "21": "Shenyang", "22": "Changchun", "23": "Harbin", "31": "Shanghai", "32": "Nanjing",
    "33": "Hangzhou", "34": "Hefei", "35": "Fuzhou", "36": "Nanchang", "37": "Jinan", "41": "Zhengzhou",
    "42": "Wuhan", "43": "Changsha", "44": "Guangzhou", "45": "Nanning", "46": "Haikou", "50": "Chongqing",
    "51": "Chengdu", "52": "Guiyang", "53": "Kunming", "54": "Lhasa", "61": "Xi'an", "62": "Lanzhou",
    "63": "Xining", "64": "Yinchuan", "65": "Urumqi",
}
#: Northern provinces (central heating; model based on the Qinling–Huaihe line).
NORTH: frozenset[str] = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "37", "41", "61", "62", "63", "64", "65"})
#: Provinces with a long heating season (Oct–Apr) (model).
FAR_NORTH: frozenset[str] = frozenset({"15", "21", "22", "23", "62", "63", "65"})
#: Arid north-west where most large units are air-cooled (brief).
ARID_NORTHWEST: frozenset[str] = frozenset({"14", "15", "61", "62", "64", "65"})
#: Air-cooling probability: arid north-west large/new units, arid small/old units, other north, south.
AIR_COOLING_P = {"arid_large": 0.75, "arid_small": 0.3, "north": 0.08, "south": 0.02}
#: CHP probability (brief: more likely in the north, smaller units, captive): base north/south and
#: additions for units below 300 MW and captive plants.
CHP_P = {"north": 0.30, "south": 0.06, "small": 0.30, "captive": 0.20}

#: Coal type of GCPT ``unknown`` units by province: (type, probability) lists (model, DOMAIN §4.1:
#: lignite in eastern Inner Mongolia / Heilongjiang / Yunnan, anthracite in Shanxi / Guizhou …).
#: Inner Mongolia east of 115°E is handled separately (``LIGNITE_EAST_IM``).
COAL_BY_PROVINCE: dict[str, tuple[tuple[str, float], ...]] = {
    "15": (("bituminous", 0.65), ("subbituminous", 0.25), ("lignite", 0.10)),
    "23": (("bituminous", 0.6), ("lignite", 0.4)),
    "22": (("bituminous", 0.75), ("lignite", 0.25)),
    "53": (("lignite", 0.45), ("anthracite", 0.2), ("bituminous", 0.35)),
    "14": (("bituminous", 0.6), ("anthracite", 0.4)),
    "52": (("anthracite", 0.5), ("bituminous", 0.5)),
    "41": (("bituminous", 0.75), ("anthracite", 0.25)),
    "43": (("bituminous", 0.7), ("anthracite", 0.3)),
    "36": (("bituminous", 0.75), ("anthracite", 0.25)),
    "35": (("bituminous", 0.6), ("anthracite", 0.15), ("mixed", 0.25)),
    "65": (("bituminous", 0.6), ("subbituminous", 0.4)),
    "61": (("bituminous", 0.85), ("subbituminous", 0.15)),
    "64": (("bituminous", 0.85), ("subbituminous", 0.15)),
    "31": (("bituminous", 0.6), ("mixed", 0.3), ("subbituminous", 0.1)),
    "32": (("bituminous", 0.65), ("mixed", 0.25), ("subbituminous", 0.1)),
    "33": (("bituminous", 0.6), ("mixed", 0.3), ("subbituminous", 0.1)),
    "44": (("bituminous", 0.55), ("mixed", 0.3), ("subbituminous", 0.15)),
}
COAL_DEFAULT_MIX: tuple[tuple[str, float], ...] = (("bituminous", 0.88), ("mixed", 0.12))
#: Eastern Inner Mongolia (longitude above 115°E) burns mostly lignite (model).
LIGNITE_EAST_IM = (115.0, 0.75)
#: GCPT ``Coal type`` → contract enum.
GCPT_COAL_TYPE: dict[str, str] = {
    "bituminous": "bituminous",
    "bituminous with CCS": "bituminous",
    "subbituminous": "subbituminous",
    "anthracite": "anthracite",
    "lignite": "lignite",
    "waste coal": "waste_coal",
}
#: GCPT ``Combustion technology`` → contract enum.
GCPT_TECHNOLOGY: dict[str, str] = {
    "subcritical": "subcritical",
    "supercritical": "supercritical",
    "supercritical/CCS": "supercritical",
    "ultra-supercritical": "ultra_supercritical",
    "ultra-supercritical/CCS": "ultra_supercritical",
    "CFB": "cfb",
    "IGCC": "igcc",
    "unknown": "unknown",
}
