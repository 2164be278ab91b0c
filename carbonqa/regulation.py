"""Market parameters of the national carbon market, one row per year, each with its source.

What scoring and the case export need beyond the MRV constants of the rule catalogue (those live in
``checks.params``, one table per regulation year): the price that turns tonnes into money.

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

__all__ = ["AllowancePrice", "ALLOWANCE_PRICES", "allowance_price", "cny_of"]


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
