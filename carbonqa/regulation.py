"""Regulation parameters of the national carbon market, one row per year, each with its source.

Two tables read by checks, detectors and scoring alike (so a value lives in one place):

* **MRV defaults** (:func:`mrv_defaults`) — the values the guideline imposes on an enterprise that does
  not measure: the default carbon content of coal and the default oxidation rate, plus the IPCC rank
  defaults a "measured" value must not merely copy, and the band an honest measured CC lies in
  (:data:`MEASURED_CC_BAND_TC_PER_GJ`, with its reproducibility). The rule catalogue's finer thresholds live in
  ``checks.params`` (one table per regulation year), which takes these from here.
* **Allowance prices** (:func:`allowance_price`) — the price that turns tonnes into money.

| in force from | default CC of coal (tC/GJ) | default oxidation rate | basis |
|---|---|---|---|
| first cycle (≤ 2021) | 0.03356 | 0.99 | MRV guideline for power generation facilities (2020 edition) [verify] |
| 2022 | 0.03085 | 0.99 | its 2022 revision [verify]; DOMAIN.md §3 |

| year | allowance price (CNY/tCO₂) | basis |
|---|---|---|
| 2021 | 42.85 | CEA volume-weighted mean of the year: 76.61 亿元 / 1.79 亿吨 (first cycle, from 16 July 2021) |
| 2022 | 55.30 | 28.14 亿元 / 5,089 万吨 |
| 2023 | 68.15 | 144.44 亿元 / 2.12 亿吨 |
| 2024 | 95.84 | 181.14 亿元 / 1.89 亿吨 (closing price 31 Dec 2024: 97.49) |

Source: 上海环境能源交易所, 全国碳市场年度交易数据 (annual turnover and volume of CEA, as published in
the exchange's year-end summaries and MEE's 全国碳市场发展报告) **[verify]** against the official
release before a figure is quoted in an enforcement decision. A year after the last row uses the last
known price (:func:`allowance_price`, ``is_estimate``), so a new year is priced from the day it starts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MrvDefaults",
    "MRV_DEFAULTS",
    "IPCC_DEFAULT_CC",
    "MEASURED_CC_BAND_TC_PER_GJ",
    "CC_REPRODUCIBILITY_REL",
    "mrv_defaults",
    "chinese_default_ccs",
    "AllowancePrice",
    "ALLOWANCE_PRICES",
    "allowance_price",
    "cny_of",
]


@dataclass(frozen=True)
class MrvDefaults:
    """Default values of the MRV guideline in force from ``year_from``.

    Attributes:
        year_from: first reporting year the row applies to (the row with the greatest ``year_from`` ≤ a
            year is in force for it).
        default_cc_tc_per_gj: carbon content per unit heat of coal that is not measured, tC/GJ.
        oxidation_rate_default: carbon oxidation rate of coal when not measured (fraction, 0–1).
        source: where the values come from.
    """

    year_from: int
    default_cc_tc_per_gj: float
    oxidation_rate_default: float
    source: str


#: The guideline's defaults, oldest first (DOMAIN.md §3; values marked [verify] there).
MRV_DEFAULTS: tuple[MrvDefaults, ...] = (
    MrvDefaults(0, 0.03356, 0.99, "MRV guideline for power generation facilities, first cycle: default CC "
                "0.03356 tC/GJ, OF 0.99 [verify]; DOMAIN.md §3"),
    MrvDefaults(2022, 0.03085, 0.99, "the guideline's 2022 revision: default CC 0.03085 tC/GJ, OF 0.99 [verify]; "
                "DOMAIN.md §3"),
)

#: IPCC 2006 GL vol. 2 table 1.3 default carbon contents (tC/GJ) by coal rank (DOMAIN.md §3).
IPCC_DEFAULT_CC: dict[str, float] = {"bituminous": 0.0258, "anthracite": 0.0268, "lignite": 0.0276}

#: The carbon content per unit heat an honest measurement of coal can give, tC/GJ (DOMAIN.md §3: measured
#: CC 0.0245–0.0290; IPCC 2006 GL vol. 2 table 1.3 lower/upper bounds of the coal ranks burnt in power
#: plants). Read by the CC-003 rule (``checks.params``) and the CC-101 detector's grading.
MEASURED_CC_BAND_TC_PER_GJ: tuple[float, float] = (0.0245, 0.0290)

#: Combined between-laboratory reproducibility of CC = Car / NCV, relative: carbon 1.00 % absolute (GB/T
#: 476-2008) at Cad ≈ 60 % ≈ 1.7 % and NCV 0.30 GJ/t (GB/T 213-2008) at ≈ 22 GJ/t ≈ 1.4 %, about 2 %. A CC
#: within this of the band is indistinguishable from the band's edge.
CC_REPRODUCIBILITY_REL: float = 0.02


def mrv_defaults(year: int) -> MrvDefaults:
    """The MRV defaults in force for reporting ``year`` (the row with the greatest ``year_from`` ≤ year)."""
    return [r for r in MRV_DEFAULTS if r.year_from <= int(year)][-1]


def chinese_default_ccs() -> tuple[float, ...]:
    """Every revision's Chinese default carbon content (tC/GJ), sorted: what a "measured" value must not copy."""
    return tuple(sorted({r.default_cc_tc_per_gj for r in MRV_DEFAULTS}))


@dataclass(frozen=True)
class AllowancePrice:
    """The allowance price used to put tonnes into money for one reporting year.

    Attributes:
        year: reporting year it applies to.
        cny_per_t: price, CNY per tCO₂ (> 0).
        source: where it comes from.
        is_estimate: ``True`` when the year has no row of its own and the nearest earlier year's price
            is carried forward.
    """

    year: int
    cny_per_t: float
    source: str
    is_estimate: bool = False


_SRC = "上海环境能源交易所 全国碳市场年度交易数据：年度成交额 / 成交量 (CEA volume-weighted annual mean) [verify]"

#: One row per year with its own published figure.
ALLOWANCE_PRICES: dict[int, AllowancePrice] = {
    2021: AllowancePrice(2021, 42.85, _SRC),
    2022: AllowancePrice(2022, 55.30, _SRC),
    2023: AllowancePrice(2023, 68.15, _SRC),
    2024: AllowancePrice(2024, 95.84, _SRC),
}


def allowance_price(year: int) -> AllowancePrice:
    """The allowance price for reporting ``year`` (CNY/tCO₂).

    A year without its own row takes the nearest earlier year's price (``is_estimate=True``); a year
    before the market opened takes the first year's.

    Raises:
        ValueError: ``year`` is not an integer year in 1900–2200.
    """
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2200:
        raise ValueError(f"reporting year must be an integer year, got {year!r}")
    if year in ALLOWANCE_PRICES:
        return ALLOWANCE_PRICES[year]
    earlier = [y for y in ALLOWANCE_PRICES if y < year]
    ref = ALLOWANCE_PRICES[max(earlier) if earlier else min(ALLOWANCE_PRICES)]
    return AllowancePrice(year, ref.cny_per_t, f"{ref.source} — {ref.year} price carried to {year}", True)


def cny_of(tco2: float | None, year: int) -> float | None:
    """``tco2`` tonnes at ``year``'s allowance price (:func:`allowance_price`), rounded to 1 yuan; ``None`` stays ``None``."""
    return None if tco2 is None else float(round(float(tco2) * allowance_price(int(year)).cny_per_t))
