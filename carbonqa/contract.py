"""The submission contract v1 (``docs/contract/CONTRACT.md``) as data.

Every table, column, dtype, unit, enum, constraint and Chinese header alias lives here once; polars
schemas, database columns, basic expectations and dashboard labels are derived from it (anchor: PUDL
``metadata/fields.py``).

Conventions:

* ``dtype`` is one of ``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``period``.
  ``period`` is a calendar month ``YYYY-MM`` kept as a string.
* Timestamps are normalised on ingest to **naive China Standard Time (UTC+08:00) wall clock**: the
  contract says a timestamp without offset is CST, and every rule about months and deadlines is a
  rule about Chinese calendar months. Offsets present in the input are converted.
* ``key`` columns together identify a row of a table (the store adds its own ``record_version``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

__all__ = [
    "CONTRACT_VERSION",
    "DEFAULT_GRID_FACTOR_TCO2_PER_MWH",
    "GJ_PER_MWH",
    "gross_output_gj",
    "FAMILIES",
    "PROVINCES",
    "SEVERITIES",
    "CASE_STATUSES",
    "CASE_EXPORT_COLUMNS",
    "CASE_EXPORT_COLUMNS_V11",
    "TABLES",
    "Column",
    "Table",
    "table",
    "polars_schema",
    "header_aliases",
    "normalise_header",
    "period_hours",
    "CO2_PER_C",
    "MAX_CAPACITY_MW",
    "MAX_EMISSION_FACTOR_TCO2_PER_MWH",
    "UNIT_ERROR_MARGIN",
    "MONTH_HOURS_MAX",
    "YEAR_HOURS_MAX",
    "DATE_MIN",
    "DATE_MAX",
    "PROVINCE_CODE_PATTERN",
    "PERIOD_PATTERN",
    "PER_CAPACITY_HOUR_MAX",
    "is_province_code",
    "is_period",
]

CONTRACT_VERSION = "1"

#: National grid emission factor used when a v1 manifest does not state one (CONTRACT.md §3,
#: MEE 2022 publication of the national grid average, 0.5703 tCO2/MWh).
DEFAULT_GRID_FACTOR_TCO2_PER_MWH = 0.5703

#: Molar-mass ratio CO2/C = 44/12 (IPCC 2006 GL vol. 2 eq. 2.1; MRV guideline for power generation).
CO2_PER_C = 44.0 / 12.0

#: GJ per MWh (1 MWh = 3.6 GJ, SI).
GJ_PER_MWH = 3.6


def gross_output_gj() -> pl.Expr:
    """A monthly report's energy output, GJ: ``gross_generation_mwh`` × 3.6 + ``heat_supply_gj`` (empty = 0).

    The numerator of a unit's conversion efficiency (output per GJ of coal heat), read by the rules
    (ACC-004's energy balance, TEL-001) and the detectors (ACC-101, TEL-106) alike.
    """
    return pl.col("gross_generation_mwh").fill_null(0.0) * GJ_PER_MWH + pl.col("heat_supply_gj").fill_null(0.0)

# ---- bounds of what one row can hold (issue 14: a value the store can hold and physics allows) --------
# Every extensive quantity of one unit-month (or enterprise-year) is bounded by the energy the largest
# power station on Earth could turn over in that time, times a margin for the unit confusions the
# accounting rules screen (kWh for MWh, kg for t, kcal/kg for GJ/t): such a row must still land so that
# a rule can flag it, while 1e308, an overflow or a pasted serial number is quarantined at ingest.

#: Largest generating capacity one row can describe (MW): Three Gorges, 22,500 MW, the largest power
#: station on Earth (China Three Gorges Corp.), rounded up. The largest coal unit is 1,350 MW (Pingshan
#: II, 2022); a "unit" of adapted foreign data can be a whole plant (US EIA-923 plant × fuel).
MAX_CAPACITY_MW = 25_000.0
#: Most CO₂ one MWh of capacity-hours can emit (tCO₂/MWh), generous: a back-pressure CHP unit at 10 %
#: electrical efficiency burning lignite (0.101 tCO₂/GJ, IPCC 2006 GL vol. 2 table 2.2 upper default)
#: emits 3.6 / 0.10 × 0.101 ≈ 3.6 tCO₂ per MWh of its electrical capacity; 10 leaves ×2.7 on top.
#: DOMAIN.md §3 gives 0.78–0.98 for a condensing coal unit.
MAX_EMISSION_FACTOR_TCO2_PER_MWH = 10.0
#: Factor between a plausible value and the largest unit-confused one kept for the accounting rules
#: (×1000: kWh for MWh, kg for t; kcal/kg for GJ/t is ×239 — DOMAIN.md §3).
UNIT_ERROR_MARGIN = 1000.0
#: Hours of the longest month (31 × 24) and of a leap year (366 × 24).
MONTH_HOURS_MAX = 744.0
YEAR_HOURS_MAX = 8784.0
#: Fuel heat per MWh of electrical capacity-hours at 10 % electrical efficiency (GJ/MWh = 3.6 / 0.10).
_FUEL_GJ_PER_MWH_MAX = 36.0
#: Lowest heating value of a fuel a unit burns (GJ/t): coal gangue ≈ 4–6 GJ/t (DOMAIN.md §3, waste coal).
_FUEL_NCV_MIN_GJ_PER_T = 4.0
#: Largest NCV in contract units (GJ/t, gas units GJ/10⁴ Nm³): natural gas ≈ 360–390 GJ/10⁴ Nm³
#: (GB/T 11062); written in kcal/kg (×239, DOMAIN.md §3) that is ≈ 93,000, so 1e5.
_NCV_MAX = 1e5
#: Carbon per unit heat (tC/GJ): no fuel of IPCC 2006 GL vol. 2 table 1.3 exceeds 0.04 at its upper
#: limit; 0.1 with the ×1000 margin (kgC/GJ) gives 100.
_CC_MAX = 0.1 * UNIT_ERROR_MARGIN
_MONTH_MWH_MAX = MAX_CAPACITY_MW * MONTH_HOURS_MAX
_YEAR_MWH_MAX = MAX_CAPACITY_MW * YEAR_HOURS_MAX
#: Most of each extensive monthly-report quantity per MWh of the unit's capacity-hours (capacity_mw × hours
#: of the month), from the factors above. Where the unit's capacity is known, ingest bounds the row by
#: capacity × hours × factor; the columns' absolute ``max`` is the same factor at :data:`MAX_CAPACITY_MW`
#: over the longest month. Emissions carry no unit-error margin: a unit cannot emit more than physics
#: allows, whatever it misreports elsewhere.
PER_CAPACITY_HOUR_MAX: dict[str, float] = {
    "emissions_tco2": MAX_EMISSION_FACTOR_TCO2_PER_MWH,
    "gross_generation_mwh": UNIT_ERROR_MARGIN,
    "power_supply_mwh": UNIT_ERROR_MARGIN,
    "purchased_electricity_mwh": UNIT_ERROR_MARGIN,
    "heat_supply_gj": _FUEL_GJ_PER_MWH_MAX * UNIT_ERROR_MARGIN,
    "fuel_consumed_t": _FUEL_GJ_PER_MWH_MAX / _FUEL_NCV_MIN_GJ_PER_T * UNIT_ERROR_MARGIN,
}
_PCH = PER_CAPACITY_HOUR_MAX
#: Dates and timestamps of the contract lie in this range (inclusive): the ETS pilots began in 2013,
#: commissioning years are bounded to 1900–2100 already; outside it a date is a typo or an overflow
#: (and a year past 9999 cannot be stored or written as ``YYYY-MM``).
DATE_MIN = "1900-01-01"
DATE_MAX = "2100-12-31"
#: Province codes: a GB/T 2260 two-digit code of CONTRACT.md §6, or for adapted foreign data an
#: ISO 3166-1 alpha-2 country (``AU``) or ISO 3166-2 subdivision (``US-AZ``, ``AU-NSW``). Used as a
#: directory name of the telemetry lake, so nothing else (no ``/``, no ``..``) may pass.
PROVINCE_CODE_PATTERN = r"^(?:11|12|13|14|15|21|22|23|31|32|33|34|35|36|37|41|42|43|44|45|46|50|51|52|53|54|61|62|63|64|65|[A-Z]{2}(?:-[A-Z0-9]{1,3})?)$"
#: A calendar month ``YYYY-MM``.
PERIOD_PATTERN = r"^[0-9]{4}-(?:0[1-9]|1[0-2])$"


def is_province_code(value: object) -> bool:
    """True when ``value`` is a province code of :data:`PROVINCE_CODE_PATTERN` (GB/T 2260 or ISO 3166)."""
    import re

    return isinstance(value, str) and re.fullmatch(PROVINCE_CODE_PATTERN, value) is not None


def is_period(value: object) -> bool:
    """True when ``value`` is a calendar month ``YYYY-MM`` (:data:`PERIOD_PATTERN`)."""
    import re

    return isinstance(value, str) and re.fullmatch(PERIOD_PATTERN, value) is not None


Dtype = Literal["str", "int", "float", "bool", "date", "datetime", "period"]

#: Finding families, the fixed vocabulary of CONTRACT.md §5 (each finding belongs to exactly one).
FAMILIES: tuple[str, ...] = (
    "completeness",
    "accounting",
    "carbon_content",
    "copied_values",
    "lab_forensics",
    "verifier",
    "telemetry",
    "tip",
)

#: Severity ladder, most to least serious (anchor: US EPA ECMPS FATAL/CRIT1-3/NONCRIT/INFORM).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")

#: Case workflow states (CONTRACT.md §5).
CASE_STATUSES: tuple[str, ...] = (
    "new",
    "triaged",
    "assigned",
    "inspection_scheduled",
    "confirmed",
    "dismissed",
    "suppressed",
)

#: Columns of the case export, in order (CONTRACT.md §5).
CASE_EXPORT_COLUMNS: tuple[str, ...] = (
    "case_id",
    "enterprise_id",
    "unit_id",
    "year",
    "province_code",
    "city_name",
    "risk_score",
    "rank",
    "status",
    "families",
    "rule_codes",
    "tco2_at_stake",
    "summary",
)

#: The v1.1 compatible additions after ``summary`` (CONTRACT.md §5): tonnes at the year's allowance price
#: (CNY) and the probability that an inspection confirms a material under-report (0–1).
CASE_EXPORT_COLUMNS_V11: tuple[str, ...] = (*CASE_EXPORT_COLUMNS, "cny_at_stake", "p_confirm")

#: GB/T 2260 province codes → (English, 中文) (CONTRACT.md §6).
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("Beijing", "北京"),
    "12": ("Tianjin", "天津"),
    "13": ("Hebei", "河北"),
    "14": ("Shanxi", "山西"),
    "15": ("Inner Mongolia", "内蒙古"),
    "21": ("Liaoning", "辽宁"),
    "22": ("Jilin", "吉林"),
    "23": ("Heilongjiang", "黑龙江"),
    "31": ("Shanghai", "上海"),
    "32": ("Jiangsu", "江苏"),
    "33": ("Zhejiang", "浙江"),
    "34": ("Anhui", "安徽"),
    "35": ("Fujian", "福建"),
    "36": ("Jiangxi", "江西"),
    "37": ("Shandong", "山东"),
    "41": ("Henan", "河南"),
    "42": ("Hubei", "湖北"),
    "43": ("Hunan", "湖南"),
    "44": ("Guangdong", "广东"),
    "45": ("Guangxi", "广西"),
    "46": ("Hainan", "海南"),
    "50": ("Chongqing", "重庆"),
    "51": ("Sichuan", "四川"),
    "52": ("Guizhou", "贵州"),
    "53": ("Yunnan", "云南"),
    "54": ("Tibet", "西藏"),
    "61": ("Shaanxi", "陕西"),
    "62": ("Gansu", "甘肃"),
    "63": ("Qinghai", "青海"),
    "64": ("Ningxia", "宁夏"),
    "65": ("Xinjiang", "新疆"),
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    ``min``/``max`` are inclusive bounds checked at ingest (a violation quarantines the row); the maxima
    of extensive quantities come from :data:`MAX_CAPACITY_MW` and :data:`UNIT_ERROR_MARGIN` (see there);
    ``enum`` lists allowed values (for ``roles`` each ``|``-separated item must be allowed).
    """

    name: str
    dtype: Dtype
    zh: str = ""
    unit: str = ""
    description: str = ""
    nullable: bool = True
    key: bool = False
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    ref: str | None = None  # "table.column" this column refers to
    multi: bool = False  # `|`-separated list of enum values
    pattern: str | None = None  # regular expression a str value must match whole (e.g. province codes)

    @property
    def label_zh(self) -> str:
        """Chinese label with unit, for user-facing tables (e.g. ``燃煤消耗量 (t)``)."""
        base = self.zh or self.name
        return f"{base} ({self.unit})" if self.unit else base


@dataclass(frozen=True)
class Table:
    """One contract table: its columns and what kind of data it carries."""

    name: str
    zh: str
    kind: Literal["registry", "periodic", "telemetry"]
    columns: tuple[Column, ...]
    description: str = ""
    extra_keys: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, ...]:
        """Names of the key columns, in order."""
        return tuple(c.name for c in self.columns if c.key)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """Return the column called ``name``; raises ``KeyError`` if the table has none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


C = Column

SECTORS = ("power", "steel", "cement", "aluminium")
UNIT_CLASSES = (
    "coal_conventional_300mw_plus",
    "coal_conventional_below_300mw",
    "coal_unconventional",
    "gas",
)
COMBUSTION_TECHNOLOGIES = ("subcritical", "supercritical", "ultra_supercritical", "cfb", "igcc", "unknown")
COAL_TYPES = ("bituminous", "subbituminous", "anthracite", "lignite", "waste_coal", "mixed", "unknown", "none")
COOLING_TYPES = ("water", "air")
AGENCY_ROLES = ("lab", "preparer", "verifier")
CC_BASES = ("measured", "default")
CONCLUSIONS = ("accepted", "revised", "rejected")
TIP_CHANNELS = ("hotline", "letter", "online", "referral")

_TABLES: tuple[Table, ...] = (
    Table(
        "enterprises",
        "重点排放单位",
        "registry",
        (
            C("enterprise_id", "str", "统一社会信用代码", key=True, nullable=False,
              description="18-character unified social credit code"),
            C("enterprise_name", "str", "单位名称", nullable=False),
            C("province_code", "str", "省级行政区代码", nullable=False, pattern=PROVINCE_CODE_PATTERN,
              description="2-digit GB/T 2260 code; ISO 3166-2 (e.g. US-AZ) for adapted foreign data"),
            C("city_name", "str", "地市", description="prefecture-level city"),
            C("sector", "str", "行业", enum=SECTORS, nullable=False),
            C("is_captive", "bool", "是否自备电厂"),
        ),
    ),
    Table(
        "units",
        "机组",
        "registry",
        (
            C("unit_id", "str", "机组编号", key=True, nullable=False),
            C("enterprise_id", "str", "统一社会信用代码", nullable=False, ref="enterprises.enterprise_id"),
            C("unit_name", "str", "机组名称"),
            C("unit_class", "str", "机组类别", enum=UNIT_CLASSES, nullable=False),
            C("capacity_mw", "float", "装机容量(MW)", unit="MW", min=1e-9, max=MAX_CAPACITY_MW, nullable=False),
            C("combustion_technology", "str", "燃烧技术", enum=COMBUSTION_TECHNOLOGIES),
            C("coal_type", "str", "煤种", enum=COAL_TYPES),
            C("cooling_type", "str", "冷却方式", enum=COOLING_TYPES),
            C("is_chp", "bool", "是否热电联产"),
            C("commissioning_year", "int", "投产年份", min=1900, max=2100),
            C("registry_ref", "str", "外部登记编号", description="external registry id (GEM unit id)"),
        ),
    ),
    Table(
        "agencies",
        "技术服务机构",
        "registry",
        (
            C("agency_id", "str", "机构编号", key=True, nullable=False),
            C("agency_name", "str", "机构名称", nullable=False),
            C("roles", "str", "业务类型", enum=AGENCY_ROLES, multi=True, nullable=False),
            C("home_province_code", "str", "注册地"),
            C("cma_no", "str", "CMA证书编号"),
        ),
    ),
    Table(
        "monthly_reports",
        "月度存证",
        "periodic",
        (
            C("unit_id", "str", "机组编号", key=True, nullable=False, ref="units.unit_id"),
            C("period", "period", "月份", key=True, nullable=False),
            C("version", "int", "版本", key=True, nullable=False, min=1),
            C("fuel_consumed_t", "float", "燃煤消耗量", unit="t", min=0, max=_MONTH_MWH_MAX * _PCH["fuel_consumed_t"]),
            C("ncv_gj_per_t", "float", "收到基低位发热量", unit="GJ/t", min=0, max=_NCV_MAX),
            C("carbon_content_tc_per_gj", "float", "单位热值含碳量", unit="tC/GJ", min=0, max=_CC_MAX),
            C("carbon_content_basis", "str", "含碳量取值方式", enum=CC_BASES),
            C("oxidation_rate", "float", "碳氧化率", min=0, max=1),
            C("gross_generation_mwh", "float", "发电量", unit="MWh", min=0, max=_MONTH_MWH_MAX * _PCH["gross_generation_mwh"]),
            C("power_supply_mwh", "float", "供电量", unit="MWh", min=0, max=_MONTH_MWH_MAX * _PCH["power_supply_mwh"]),
            C("heat_supply_gj", "float", "供热量", unit="GJ", min=0, max=_MONTH_MWH_MAX * _PCH["heat_supply_gj"]),
            C("operating_hours", "float", "运行小时数", unit="h", min=0, max=744),
            C("load_rate", "float", "负荷率", min=0, max=1),
            C("purchased_electricity_mwh", "float", "购入使用电量", unit="MWh", min=0,
              max=_MONTH_MWH_MAX * _PCH["purchased_electricity_mwh"]),
            C("emissions_tco2", "float", "排放量", unit="tCO₂", min=0, max=_MONTH_MWH_MAX * _PCH["emissions_tco2"]),
            C("lab_report_id", "str", "检测报告编号", ref="lab_reports.lab_report_id"),
            C("submitted_at", "datetime", "上传时间"),
        ),
    ),
    Table(
        "lab_reports",
        "煤质检测报告",
        "periodic",
        (
            C("lab_report_id", "str", "报告编号", key=True, nullable=False),
            C("report_no", "str", "报告流水号"),
            C("lab_agency_id", "str", "检测机构", ref="agencies.agency_id"),
            C("unit_id", "str", "机组编号", nullable=False, ref="units.unit_id"),
            C("sample_period", "period", "样品所属月份", nullable=False),
            C("sampling_end_date", "date", "采样截止日期"),
            C("receipt_date", "date", "收样日期"),
            C("test_date", "date", "检测日期"),
            C("report_date", "date", "报告日期"),
            C("carbon_ad_pct", "float", "空干基元素碳 Cad", unit="%", min=0, max=100),
            C("moisture_ad_pct", "float", "空干基水分 Mad", unit="%", min=0, max=100),
            C("total_moisture_pct", "float", "全水分 Mt", unit="%", min=0, max=100),
            C("carbon_ar_pct", "float", "收到基元素碳 Car", unit="%", min=0, max=100),
            C("ncv_ar_gj_per_t", "float", "收到基低位发热量 Qnet,ar", unit="GJ/t", min=0, max=_NCV_MAX),
            C("ash_ad_pct", "float", "空干基灰分 Aad", unit="%", min=0, max=100),
            C("has_anti_counterfeit_code", "bool", "防伪二维码"),
        ),
    ),
    Table(
        "annual_reports",
        "年度排放报告",
        "periodic",
        (
            C("report_id", "str", "报告编号", key=True, nullable=False),
            C("enterprise_id", "str", "统一社会信用代码", nullable=False, ref="enterprises.enterprise_id"),
            C("year", "int", "年度", nullable=False, min=2000, max=2100),
            C("reported_emissions_tco2", "float", "报告排放量", unit="tCO₂", min=0,
              max=_YEAR_MWH_MAX * MAX_EMISSION_FACTOR_TCO2_PER_MWH),
            C("reported_power_supply_mwh", "float", "报告供电量", unit="MWh", min=0, max=_YEAR_MWH_MAX * UNIT_ERROR_MARGIN),
            C("reported_heat_supply_gj", "float", "报告供热量", unit="GJ", min=0,
              max=_YEAR_MWH_MAX * _FUEL_GJ_PER_MWH_MAX * UNIT_ERROR_MARGIN),
            C("preparer_agency_id", "str", "编制机构", ref="agencies.agency_id"),
            C("submitted_at", "datetime", "提交时间"),
        ),
    ),
    Table(
        "verifications",
        "核查结论",
        "periodic",
        (
            C("verification_id", "str", "核查编号", key=True, nullable=False),
            C("enterprise_id", "str", "统一社会信用代码", nullable=False, ref="enterprises.enterprise_id"),
            C("year", "int", "年度", nullable=False, min=2000, max=2100),
            C("verifier_agency_id", "str", "技术审核机构", ref="agencies.agency_id"),
            C("verified_emissions_tco2", "float", "核查排放量", unit="tCO₂", min=0,
              max=_YEAR_MWH_MAX * MAX_EMISSION_FACTOR_TCO2_PER_MWH),
            C("conclusion", "str", "核查结论", enum=CONCLUSIONS),
            C("findings_count", "int", "不符合项数", min=0),
            C("review_started", "date", "开始日期"),
            C("review_completed", "date", "完成日期"),
        ),
    ),
    Table(
        "telemetry",
        "机组运行数据",
        "telemetry",
        (
            C("unit_id", "str", "机组编号", key=True, nullable=False, ref="units.unit_id"),
            C("ts", "datetime", "时间", key=True, nullable=False, description="start of the hour"),
            C("gross_load_mw", "float", "机组出力", unit="MW", min=0, max=MAX_CAPACITY_MW * UNIT_ERROR_MARGIN),
            C("coal_feed_t", "float", "入炉煤量", unit="t", min=0,
              max=_MONTH_MWH_MAX * _FUEL_GJ_PER_MWH_MAX / _FUEL_NCV_MIN_GJ_PER_T * UNIT_ERROR_MARGIN),
            C("cems_co2_t", "float", "CEMS二氧化碳", unit="tCO₂", min=0,
              max=_MONTH_MWH_MAX * MAX_EMISSION_FACTOR_TCO2_PER_MWH),
            C("interval_hours", "float", "时段小时数", unit="h", min=1e-9, max=MONTH_HOURS_MAX,
              description="optional, default 1: hours covered by the row (monthly-total telemetry from "
                          "real US data carries the month's hours; gross_load_mw is then the mean over it)"),
        ),
    ),
    Table(
        "tips",
        "投诉举报线索",
        "periodic",
        (
            C("tip_id", "str", "线索编号", key=True, nullable=False),
            C("enterprise_id", "str", "统一社会信用代码", ref="enterprises.enterprise_id"),
            C("received_date", "date", "收到日期"),
            C("channel", "str", "来源", enum=TIP_CHANNELS),
            C("category", "str", "类别"),
            C("summary", "str", "内容摘要"),
        ),
    ),
)

#: All contract tables by name, in dependency order (registry first).
TABLES: dict[str, Table] = {t.name: t for t in _TABLES}

_POLARS: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "period": pl.String(),
}


def table(name: str) -> Table:
    """Return the contract table ``name``; raises ``KeyError`` naming the known tables otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown contract table {name!r}; known: {', '.join(TABLES)}") from None


def polars_schema(name: str) -> pl.Schema:
    """Polars schema of table ``name`` in contract column order (datetimes naive CST, µs)."""
    return pl.Schema({c.name: _POLARS[c.dtype] for c in table(name).columns})


def header_aliases(name: str) -> dict[str, str]:
    """Map every accepted header of table ``name`` to its contract column name.

    Accepted: the column name itself (any case), its Chinese header (列名) with or without the unit in
    parentheses, full-width or half-width parentheses and surrounding spaces.
    """
    out: dict[str, str] = {}
    for c in table(name).columns:
        out[c.name] = c.name
        out[c.name.lower()] = c.name
        if c.zh:
            out[c.zh] = c.name
            out[c.label_zh] = c.name
            out[c.label_zh.replace("(", "（").replace(")", "）")] = c.name
            out[c.zh.replace("(", "（").replace(")", "）")] = c.name
            out[c.zh.replace(" ", "")] = c.name
            out[c.label_zh.replace(" ", "")] = c.name
    return out


def period_hours(period: pl.Expr | str = "period") -> pl.Expr:
    """Calendar hours of a ``YYYY-MM`` period (24 × days in the month) as a Float64 expression.

    ``period`` is a column name or expression; an unparseable period gives null (never raises).
    """
    col = pl.col(period) if isinstance(period, str) else period
    start = pl.concat_str([col, pl.lit("-01")]).str.to_date("%Y-%m-%d", strict=False)
    return start.dt.month_end().dt.day().cast(pl.Float64) * 24.0


def normalise_header(header: str) -> str:
    """Canonical form of a header cell for alias lookup: trimmed, BOM and inner spaces removed.

    Full-width parentheses become half-width. Look the result up in
    ``{normalise_header(k): v for k, v in header_aliases(t).items()}``.
    """
    h = header.replace("\ufeff", "").strip().replace("（", "(").replace("）", ")")
    return "".join(h.split())
