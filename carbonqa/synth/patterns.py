"""Fraud-pattern injection (DOMAIN §4, every family) and the honest look-alikes that must not count.

A share ``fraud_rate`` of enterprises is drawn; each gets a primary family (every family at least once
when there are enough enterprises, then by ``params.FAMILY_WEIGHTS``), a pattern of that family
(patterns of a family are cycled so all appear), and with ``params.SECOND_PATTERN_P`` a second
pattern of another family. Magnitudes and the months affected are drawn per instance, deliberately
varied. Patterns edit the reported arrays of :class:`~carbonqa.synth.monthly.State` in phases:

* ``pre``: lab values, activity data, telemetry coverage, lab dates — before emissions are derived;
* ``post``: accounting errors and substitutions on the derived monthly values;
* ``serial``: serial numbers after they are assigned;
* ``annual``: previous-year verification and current-year annual report (stored in ``st.extra``).

Every injected (unit, month) or enterprise-year is written to the labels; look-alikes go to a
separate list (family ``none``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from carbonqa.synth import params as P
from carbonqa.synth.monthly import M, State, emissions

__all__ = ["PATTERNS", "FAMILY_PATTERNS", "plan_injection", "apply_phase", "record_lookalikes"]


@dataclass(frozen=True)
class Pattern:
    """One injectable pattern: its family, phase and the function ``fn(st, p, rng)``."""

    name: str
    family: str
    phase: str
    fn: Callable[[State, int, np.random.Generator], None]
    needs_lab: bool = True


# ---------------------------------------------------------------------------------------------------
# helpers


def _burn_months(st: State, p: int) -> np.ndarray:
    """Months (0–11) in which plant ``p`` burnt coal."""
    return np.flatnonzero(st.l_first_ok[p])


def _lab_months(st: State, p: int) -> np.ndarray:
    """Months with an existing lab report of plant ``p``."""
    return np.flatnonzero(st.l_exists[p])


def _run(rng: np.random.Generator, months: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Pick a contiguous run (in the order of ``months``) of ``lo``–``hi`` entries of ``months``."""
    if len(months) == 0:
        return months
    k = int(rng.integers(min(lo, len(months)), min(hi, len(months)) + 1))
    s = int(rng.integers(0, len(months) - k + 1))
    return months[s : s + k]


def _some(rng: np.random.Generator, months: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Pick a random sorted subset of ``lo``–``hi`` entries of ``months``."""
    if len(months) == 0:
        return months
    k = int(rng.integers(min(lo, len(months)), min(hi, len(months)) + 1))
    return np.sort(rng.choice(months, size=k, replace=False))


def _label_months(st: State, p: int, family: str, pattern: str, months: np.ndarray, mag: float,
                  units: np.ndarray | None = None) -> None:
    """Label every (unit, month) of ``units`` (default: units of ``p`` with a monthly row) in ``months``."""
    us = st.units_of(p) if units is None else units
    for m in months:
        for u in us:
            if st.r_present[u, m] or units is not None:
                st.label(p, family, pattern, unit=int(u), month=int(m), magnitude=mag)


def _label_lab(st: State, p: int, family: str, pattern: str, months: np.ndarray, mag: float) -> None:
    """Label the unit carrying plant ``p``'s lab report for each of ``months``."""
    for m in months:
        st.label(p, family, pattern, unit=int(st.l_unit[p, m]), month=int(m), magnitude=mag)


# ---------------------------------------------------------------------------------------------------
# carbon_content


def cc_low_for_coal(st: State, p: int, rng: np.random.Generator) -> None:
    """Measured CC 3–12 % too low for the coal: Cad cut from some month on (NCV untouched)."""
    m = rng.uniform(0.03, 0.12)
    lm = _lab_months(st, p)
    start = 0 if rng.random() < 0.5 else int(rng.integers(1, 7))
    months = lm[lm >= start]
    st.l_cad[p, months] = np.round(st.l_cad[p, months] * (1 - m), 2)
    _label_months(st, p, "carbon_content", "cc_low_for_coal", months, m)


def cc_drop_after_lab_change(st: State, p: int, rng: np.random.Generator) -> None:
    """Inject a mid-year lab change after which CC falls 4–12 % from then on."""
    m = rng.uniform(0.04, 0.12)
    k = int(rng.integers(3, 10))
    lm = _lab_months(st, p)
    months = lm[lm >= k]
    cur = st.l_lab[p, 0]
    others = st.ag.labs[st.ag.labs != cur]
    new = others[rng.integers(0, len(others))]
    st.l_lab[p, k:] = new
    st.l_cad[p, months] = np.round(st.l_cad[p, months] * (1 - m), 2)
    _label_months(st, p, "carbon_content", "cc_drop_after_lab_change", months, m)


def measured_equals_default(st: State, p: int, rng: np.random.Generator) -> None:
    """'Measured' CC equal to a published default (IPCC table 1.3) in 6–12 months; lab Cad fitted to it."""
    coal = st.reg.p_coal[p]
    v = P.IPCC_CC_DEFAULT.get(coal, 0.0258)
    lm = _lab_months(st, p)
    months = _run(rng, lm, 6, 12)
    true = float(np.mean(st.q_car[p, months] / 100 / st.q_ncv[p, months])) if len(months) else v
    car = v * st.l_ncv[p, months] * 100
    st.l_cad[p, months] = np.round(car * (100 - st.l_mad[p, months]) / (100 - st.l_mt[p, months]), 2)
    st.l_car[p, months] = np.round(st.l_cad[p, months] * (100 - st.l_mt[p, months]) / (100 - st.l_mad[p, months]), 2)
    us = st.units_of(p)
    for m in months:  # loop over a few months
        burn = us[st.r_fuel[us, m] > 0]
        st.r_cc[burn, m] = v
        st.r_emis_fixed[burn, m] = True
        st.r_emis[burn, m] = emissions(st, st.r_fuel[burn, m], st.r_ncv[burn, m], st.r_cc[burn, m], st.r_purch[burn, m])
    _label_months(st, p, "carbon_content", "measured_equals_default", months, 1 - v / true)


def basis_mixed(st: State, p: int, rng: np.random.Generator) -> None:
    """Measured in most months, default (no lab report) in 2–5 months: mixed bases in one year."""
    lm = _lab_months(st, p)
    months = _some(rng, lm, 2, 5)
    us = st.units_of(p)
    st.r_measured[np.ix_(us, months)] = False
    st.r_lab_ref[np.ix_(us, months)] = False
    st.l_exists[p, months] = False
    _label_months(st, p, "carbon_content", "basis_mixed", months, len(months) / 12)


# ---------------------------------------------------------------------------------------------------
# copied_values

_TUPLE = ("l_cad", "l_mad", "l_mt", "l_ncv", "l_aad")
_JITTER = {"l_cad": (0.01, 0.06, 2), "l_mad": (0.01, 0.03, 2), "l_mt": (0.02, 0.08, 2), "l_ncv": (0.004, 0.03, 3), "l_aad": (0.01, 0.05, 2)}


def _repeat_tuple(st: State, p: int, rng: np.random.Generator, jitter: bool) -> None:
    lm = _lab_months(st, p)
    months = _run(rng, lm, 5, 12)
    if len(months) < 2:
        return
    src = months[0]
    for name in _TUPLE:  # five lab columns
        a = st.arrays[name]
        a[p, months] = a[p, src]
        if jitter:
            lo, hi, dp = _JITTER[name]
            d = rng.choice([-1.0, 0.0, 1.0], len(months)) * rng.uniform(lo, hi, len(months))
            d[0] = 0.0
            a[p, months] = np.round(a[p, months] + d, dp)
    pat = "lab_tuple_repeated_jitter" if jitter else "lab_tuple_repeated_exact"
    _label_months(st, p, "copied_values", pat, months[1:], float(len(months)))


def lab_tuple_repeated_exact(st: State, p: int, rng: np.random.Generator) -> None:
    """One lab tuple (Cad, Mad, Mt, NCV, Aad) presented as 5–12 monthly tests, exactly."""
    _repeat_tuple(st, p, rng, jitter=False)


def lab_tuple_repeated_jitter(st: State, p: int, rng: np.random.Generator) -> None:
    """One lab tuple repeated over 5–12 months with tiny jitter (last digits changed)."""
    _repeat_tuple(st, p, rng, jitter=True)


def adjacent_month_substitution(st: State, p: int, rng: np.random.Generator) -> None:
    """Replace the lowest-intensity month(s) by an adjacent month's activity data (post phase)."""
    us = st.units_of(p)
    bm = _burn_months(st, p)
    if len(bm) < 3:
        return
    emis = st.r_emis[us].sum(axis=0)
    sup = st.r_supply[us].sum(axis=0)
    inten = np.where(sup > 0, emis / np.where(sup > 0, sup, 1), np.inf)
    k = int(rng.integers(1, 3))
    targets = [int(m) for m in np.argsort(inten)[:k] if np.isfinite(inten[m])]
    done = []
    for m in targets:  # one or two months
        nb = [x for x in (m - 1, m + 1) if 0 <= x < M and np.isfinite(inten[x]) and x not in targets]
        if not nb:
            continue
        src = max(nb, key=lambda x: inten[x])
        for name in ("r_fuel", "r_gen", "r_supply", "r_heat", "r_hours", "r_load", "r_purch", "r_emis", "r_ncv", "r_cc"):
            st.arrays[name][us, m] = st.arrays[name][us, src]
        st.r_emis_fixed[us, m] = True
        done.append(m)
    _label_months(st, p, "copied_values", "adjacent_month_substitution", np.array(done, dtype=int), float(len(done)))


def series_reused_from_plant(st: State, p: int, rng: np.random.Generator) -> None:
    """Another plant's lab series (same coal type if possible) reused for this plant, all months."""
    same = np.flatnonzero((st.reg.p_coal == st.reg.p_coal[p]) & (np.arange(st.reg.n_plants) != p))
    pool = same if len(same) else np.flatnonzero(np.arange(st.reg.n_plants) != p)
    if len(pool) == 0:
        return
    src = int(pool[rng.integers(0, len(pool))])
    lm = _lab_months(st, p)
    for name in _TUPLE:
        st.arrays[name][p, lm] = st.arrays[name][src, lm]
    st.extra.setdefault("series_source", {})[p] = src
    _label_months(st, p, "copied_values", "series_reused_from_plant", lm, float(src))


# ---------------------------------------------------------------------------------------------------
# lab_forensics


def reports_issued_within_days(st: State, p: int, rng: np.random.Generator) -> None:
    """All monthly reports of the year issued within 1–6 days of one another (a batch after year end)."""
    lm = _lab_months(st, p)
    if len(lm) < 4:
        return
    d = int(rng.integers(1, 7))
    d0 = int(st.l_samp[p, lm].max()) + int(rng.integers(6, 40))
    rep = d0 + rng.integers(0, d + 1, len(lm))
    st.l_report[p, lm] = rep
    st.l_test[p, lm] = rep - rng.integers(0, 2, len(lm))
    st.l_receipt[p, lm] = np.maximum(st.l_samp[p, lm] + 1, st.l_test[p, lm] - rng.integers(0, 3, len(lm)))
    _label_lab(st, p, "lab_forensics", "reports_issued_within_days", lm, float(d))


def serial_out_of_order(st: State, p: int, rng: np.random.Generator) -> None:
    """Reverse the serial numbers of 4–12 of the plant's reports against their dates (serial phase)."""
    lm = _lab_months(st, p)
    months = _run(rng, lm, 4, 12)
    if len(months) < 3:
        return
    s = st.l_serial[p, months].copy()
    st.l_serial[p, months] = s[::-1]
    _label_lab(st, p, "lab_forensics", "serial_out_of_order", months, float(len(months)))


def qr_missing(st: State, p: int, rng: np.random.Generator) -> None:
    """Anti-counterfeit QR code deleted from 4–12 reports."""
    months = _some(rng, _lab_months(st, p), 4, 12)
    st.l_qr[p, months] = False
    _label_lab(st, p, "lab_forensics", "qr_missing", months, float(len(months)))


def mt_inflated(st: State, p: int, rng: np.random.Generator) -> None:
    """Total moisture inflated by 2.5–9 points in 4–12 reports to convert Car (and CC) down."""
    d = rng.uniform(2.5, 9.0)
    months = _some(rng, _lab_months(st, p), 4, 12)
    st.l_mt[p, months] = np.round(st.l_mt[p, months] + d, 2)
    _label_months(st, p, "lab_forensics", "mt_inflated", months, d)


def impossible_date_order(st: State, p: int, rng: np.random.Generator) -> None:
    """2–6 reports with dates out of order (report before test, test before receipt, receipt before sampling end)."""
    months = _some(rng, _lab_months(st, p), 2, 6)
    kind = rng.integers(0, 3, len(months))
    for m, k in zip(months, kind, strict=True):  # a few reports
        if k == 0:
            st.l_report[p, m] = st.l_test[p, m] - int(rng.integers(1, 6))
        elif k == 1:
            st.l_test[p, m] = st.l_receipt[p, m] - int(rng.integers(1, 5))
        else:
            st.l_receipt[p, m] = st.l_samp[p, m] - int(rng.integers(2, 11))
    _label_lab(st, p, "lab_forensics", "impossible_date_order", months, float(len(months)))


# ---------------------------------------------------------------------------------------------------
# verifier (previous year's verification; parameters stored for annual.py)


def _ver(st: State) -> dict:
    return st.extra.setdefault("verifier_patterns", {})


def rubber_stamp(st: State, p: int, rng: np.random.Generator) -> None:
    """Inject a corrupt verifier: verified = reported to the tonne, accepted, zero findings, client with anomalies."""
    _ver(st)[p] = {"kind": "rubber_stamp", "verifier": int(rng.choice(st.extra["corrupt_verifiers"]))}
    st.label(p, "verifier", "rubber_stamp", year=st.cal.year - 1, magnitude=0.0)


def accepted_large_gap(st: State, p: int, rng: np.random.Generator) -> None:
    """Make verified differ from reported by 10–30 % (and > 1,000 t) yet the conclusion is 'accepted'."""
    g = rng.uniform(0.10, 0.30) * rng.choice([-1.0, 1.0])
    _ver(st)[p] = {"kind": "accepted_large_gap", "gap": g}
    st.label(p, "verifier", "accepted_large_gap", year=st.cal.year - 1, magnitude=g)


def preparer_verifier_conflict(st: State, p: int, rng: np.random.Generator) -> None:
    """One agency both prepared and verified the report, in the enterprise's province (Order 775)."""
    both = np.array([i for i in st.ag.preparers if i in set(st.ag.verifiers.tolist())])
    local = both[st.ag.province[both] == st.reg.p_province[p]]
    pool = local if len(local) else both
    a = int(pool[rng.integers(0, len(pool))])
    _ver(st)[p] = {"kind": "preparer_verifier_conflict", "agency": a}
    st.label(p, "verifier", "preparer_verifier_conflict", year=st.cal.year - 1, magnitude=float(len(local) > 0))


def short_review(st: State, p: int, rng: np.random.Generator) -> None:
    """Implausibly short review: 0–3 days from start to completion, often by a corrupt verifier."""
    d = int(rng.integers(0, 4))
    spec = {"kind": "short_review", "days": d}
    if rng.random() < 0.6:
        spec["verifier"] = int(rng.choice(st.extra["corrupt_verifiers"]))
    _ver(st)[p] = spec
    st.label(p, "verifier", "short_review", year=st.cal.year - 1, magnitude=float(d))


# ---------------------------------------------------------------------------------------------------
# telemetry


def generation_below_telemetry(st: State, p: int, rng: np.random.Generator) -> None:
    """Report generation, supply, heat and coal 4–15 % below what the plant telemetry shows, 3–12 months."""
    m = rng.uniform(0.04, 0.15)
    us = st.units_of(p)
    u = us[rng.integers(0, len(us))] if rng.random() < 0.5 else None
    sel = us if u is None else np.array([u])
    months = _run(rng, _burn_months(st, p), 3, 12)
    for name in ("r_gen", "r_supply", "r_heat", "r_fuel"):
        a = st.arrays[name]
        a[np.ix_(sel, months)] = np.round(a[np.ix_(sel, months)] * (1 - m), 2)
    _label_months(st, p, "telemetry", "generation_below_telemetry", months, m, units=sel)


def coal_below_belt_scale(st: State, p: int, rng: np.random.Generator) -> None:
    """Report coal 4–15 % below the belt-scale coal feed, 3–12 months (generation untouched)."""
    m = rng.uniform(0.04, 0.15)
    us = st.units_of(p)
    months = _run(rng, _burn_months(st, p), 3, 12)
    st.r_fuel[np.ix_(us, months)] = np.round(st.r_fuel[np.ix_(us, months)] * (1 - m), 2)
    _label_months(st, p, "telemetry", "coal_below_belt_scale", months, m)


def hours_mismatch(st: State, p: int, rng: np.random.Generator) -> None:
    """Report operating hours that do not match the hours with load (full month claimed, or cut 10–30 %)."""
    us = st.units_of(p)
    u = int(us[rng.integers(0, len(us))])
    hours = st.cal.hours
    partial = np.flatnonzero((st.t_hours[u] > 0) & (st.t_hours[u] < hours - 24))
    if len(partial):
        months = partial[:4]
        st.r_hours[u, months] = hours[months]
        mag = float(np.mean(hours[months] / st.t_hours[u, months] - 1))
    else:
        months = _some(rng, np.flatnonzero(st.t_hours[u] > 0), 2, 5)
        f = rng.uniform(0.10, 0.30)
        st.r_hours[u, months] = np.round(st.t_hours[u, months] * (1 - f))
        mag = -f
    _label_months(st, p, "telemetry", "hours_mismatch", months, mag, units=np.array([u]))


def output_without_telemetry(st: State, p: int, rng: np.random.Generator) -> None:
    """Output reported for 1–3 months of one unit for which no telemetry exists at all."""
    us = st.units_of(p)
    u = int(us[rng.integers(0, len(us))])
    months = _run(rng, np.flatnonzero(st.t_gen[u] > 0), 1, 3)
    st.tel_present[u, months] = False
    _label_months(st, p, "telemetry", "output_without_telemetry", months, float(len(months)), units=np.array([u]))


# ---------------------------------------------------------------------------------------------------
# accounting (post phase: on derived values)


def _burn_cells(st: State, p: int, rng: np.random.Generator, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    us = st.units_of(p)
    months = _some(rng, _burn_months(st, p), lo, hi)
    return us, months


def identity_broken(st: State, p: int, rng: np.random.Generator) -> None:
    """Report emissions 5–20 % below the identity recomputed from the reported inputs, 2–6 months."""
    m = rng.uniform(0.05, 0.20)
    us, months = _burn_cells(st, p, rng, 2, 6)
    cells = np.ix_(us, months)
    burn = st.r_fuel[cells] > 0
    st.r_emis[cells] = np.where(burn, np.round(st.r_emis[cells] * (1 - m), 2), st.r_emis[cells])
    _label_months(st, p, "accounting", "identity_broken", months, m)


def ncv_kcal_unit_error(st: State, p: int, rng: np.random.Generator) -> None:
    """NCV written in kcal/kg (e.g. 5,200) in 1–3 months; emissions computed with the GJ/t value."""
    us, months = _burn_cells(st, p, rng, 1, 3)
    cells = np.ix_(us, months)
    st.r_ncv[cells] = np.round(st.r_ncv[cells] / P.KCAL_PER_KG_TO_GJ_PER_T, 0)
    _label_months(st, p, "accounting", "ncv_kcal_unit_error", months, 1 / P.KCAL_PER_KG_TO_GJ_PER_T)


def percent_for_fraction(st: State, p: int, rng: np.random.Generator) -> None:
    """Carbon content entered as Car[%]/NCV (100× too large) in 1–3 months; emissions as computed before."""
    us, months = _burn_cells(st, p, rng, 1, 3)
    cells = np.ix_(us, months)
    st.r_cc[cells] = np.round(st.r_cc[cells] * 100, 4)
    _label_months(st, p, "accounting", "percent_for_fraction", months, 100.0)


def supply_exceeds_generation(st: State, p: int, rng: np.random.Generator) -> None:
    """Power supply reported 1–8 % above gross generation in 1–4 months."""
    f = rng.uniform(1.01, 1.08)
    us, months = _burn_cells(st, p, rng, 1, 4)
    cells = np.ix_(us, months)
    st.r_supply[cells] = np.round(st.r_gen[cells] * f, 3)
    _label_months(st, p, "accounting", "supply_exceeds_generation", months, f - 1)


def mwh_kwh_unit_error(st: State, p: int, rng: np.random.Generator) -> None:
    """Gross generation of one month entered in kWh in the MWh column (1,000× too large)."""
    us, months = _burn_cells(st, p, rng, 1, 1)
    cells = np.ix_(us, months)
    st.r_gen[cells] = np.round(st.r_gen[cells] * 1000, 1)
    _label_months(st, p, "accounting", "mwh_kwh_unit_error", months, 1000.0)


def monthly_sum_ne_annual(st: State, p: int, rng: np.random.Generator) -> None:
    """Current-year annual report 3–12 % below the sum of the monthly deposits."""
    m = rng.uniform(0.03, 0.12)
    st.extra.setdefault("annual_factor", {})[p] = 1 - m
    st.label(p, "accounting", "monthly_sum_ne_annual", magnitude=m)


# ---------------------------------------------------------------------------------------------------
# completeness


def missing_months(st: State, p: int, rng: np.random.Generator) -> None:
    """1–3 monthly deposits of the plant's units missing although the plant ran (telemetry shows it)."""
    us = st.units_of(p)
    months = _some(rng, _burn_months(st, p), 1, 3)
    sel = us if rng.random() < 0.6 else us[:1]
    st.r_present[np.ix_(sel, months)] = False
    _label_months(st, p, "completeness", "missing_months", months, float(len(months)), units=sel)


def late_deposit(st: State, p: int, rng: np.random.Generator) -> None:
    """2–8 monthly deposits uploaded 50–200 days after month end (due within 40)."""
    us = st.units_of(p)
    months = _some(rng, np.arange(M), 2, 8)
    days = rng.uniform(50, 200, len(months))
    st.r_submit[np.ix_(us, months)] = (days * 86400).astype(np.int64)[None, :]
    _label_months(st, p, "completeness", "late_deposit", months, float(np.mean(days)))


def measured_without_lab_report(st: State, p: int, rng: np.random.Generator) -> None:
    """Basis 'measured' but no lab report behind it, 2–6 months."""
    months = _some(rng, _lab_months(st, p), 2, 6)
    us = st.units_of(p)
    st.l_exists[p, months] = False
    st.r_lab_ref[np.ix_(us, months)] = False
    _label_months(st, p, "completeness", "measured_without_lab_report", months, float(len(months)))


# ---------------------------------------------------------------------------------------------------
# registry

_DEFS: tuple[tuple[Callable, str, str, bool], ...] = (
    (cc_low_for_coal, "carbon_content", "pre", True),
    (cc_drop_after_lab_change, "carbon_content", "pre", True),
    (measured_equals_default, "carbon_content", "post", True),
    (basis_mixed, "carbon_content", "pre", True),
    (lab_tuple_repeated_exact, "copied_values", "pre", True),
    (lab_tuple_repeated_jitter, "copied_values", "pre", True),
    (adjacent_month_substitution, "copied_values", "post", False),
    (series_reused_from_plant, "copied_values", "pre", True),
    (reports_issued_within_days, "lab_forensics", "pre", True),
    (serial_out_of_order, "lab_forensics", "serial", True),
    (qr_missing, "lab_forensics", "pre", True),
    (mt_inflated, "lab_forensics", "pre", True),
    (impossible_date_order, "lab_forensics", "pre", True),
    (rubber_stamp, "verifier", "annual", False),
    (accepted_large_gap, "verifier", "annual", False),
    (preparer_verifier_conflict, "verifier", "annual", False),
    (short_review, "verifier", "annual", False),
    (generation_below_telemetry, "telemetry", "pre", False),
    (coal_below_belt_scale, "telemetry", "pre", False),
    (hours_mismatch, "telemetry", "pre", False),
    (output_without_telemetry, "telemetry", "pre", False),
    (identity_broken, "accounting", "post", False),
    (ncv_kcal_unit_error, "accounting", "post", False),
    (percent_for_fraction, "accounting", "post", False),
    (supply_exceeds_generation, "accounting", "post", False),
    (mwh_kwh_unit_error, "accounting", "post", False),
    (monthly_sum_ne_annual, "accounting", "annual", False),
    (missing_months, "completeness", "pre", False),
    (late_deposit, "completeness", "pre", False),
    (measured_without_lab_report, "completeness", "pre", True),
)
#: All patterns by name.
PATTERNS: dict[str, Pattern] = {f.__name__: Pattern(f.__name__, fam, ph, f, lab) for f, fam, ph, lab in _DEFS}
#: Pattern names per family, in catalogue order.
FAMILY_PATTERNS: dict[str, tuple[str, ...]] = {
    fam: tuple(n for n, p in PATTERNS.items() if p.family == fam) for fam in P.FAMILY_WEIGHTS
}
#: Secondary anomalies given to the clients of a rubber-stamping verifier.
_RUBBER_STAMP_COMPANIONS = ("cc_low_for_coal", "mt_inflated", "lab_tuple_repeated_exact", "identity_broken")


def plan_injection(st: State, fraud_rate: float, telemetry: bool, rng: np.random.Generator) -> list[tuple[int, str]]:
    """Choose the injected enterprises and their patterns.

    Args:
        st: honest state.
        fraud_rate: share of enterprises with at least one pattern (0–1).
        telemetry: whether telemetry is written (telemetry patterns are skipped without it).
        rng: bundle generator.

    Returns:
        list of ``(enterprise row, pattern name)`` in application order; sets ``st.fraud`` (P,) and
        ``st.extra['corrupt_verifiers']``; forces the basis 'measured' on injected plants (fraud
        concentrates in measured values, DOMAIN §1).

    Raises:
        ValueError: ``fraud_rate`` outside [0, 1].
    """
    if not 0 <= fraud_rate <= 1:
        raise ValueError(f"fraud_rate must be within [0, 1], got {fraud_rate}")
    NP = st.reg.n_plants
    eligible = np.flatnonzero(st.l_first_ok.sum(axis=1) >= 6)  # ran at least half the year
    n = min(len(eligible), int(round(fraud_rate * NP)))
    chosen = np.sort(rng.choice(eligible, size=n, replace=False)) if n else np.array([], dtype=int)
    st.fraud = np.zeros(NP, dtype=bool)
    st.fraud[chosen] = True
    ver = st.ag.verifiers
    st.extra["corrupt_verifiers"] = np.sort(rng.choice(ver, size=min(2, len(ver)), replace=False))

    weights = {f: w for f, w in P.FAMILY_WEIGHTS.items() if telemetry or f != "telemetry"}
    fams = list(weights)
    order = list(rng.permutation(fams))
    wp = np.array([weights[f] for f in fams])
    primary = order[: min(n, len(order))] + [fams[i] for i in rng.choice(len(fams), size=max(0, n - len(order)), p=wp / wp.sum())]
    primary = [primary[i] for i in rng.permutation(n)] if n else []
    cycle = {f: list(rng.permutation(FAMILY_PATTERNS[f])) for f in fams}
    count = dict.fromkeys(fams, 0)

    def next_pattern(f: str) -> str:
        name = cycle[f][count[f] % len(cycle[f])]
        count[f] += 1
        return str(name)

    plan: list[tuple[int, str]] = []
    for p, f in zip(chosen.tolist(), primary, strict=True):  # loop over injected enterprises
        name = next_pattern(f)
        plan.append((p, name))
        if name == "rubber_stamp":
            plan.append((p, str(rng.choice(_RUBBER_STAMP_COMPANIONS))))
        elif rng.random() < P.SECOND_PATTERN_P:
            other = [g for g in fams if g != f]
            plan.append((p, next_pattern(str(rng.choice(other)))))
        if f != "verifier" and rng.random() < P.CORRUPT_CLIENT_P:
            plan.append((p, "rubber_stamp"))  # the corrupt verifiers' portfolio: anomalous clients waved through
    # a plant carries each pattern at most once
    seen: set[tuple[int, str]] = set()
    plan = [x for x in plan if not (x in seen or seen.add(x))]
    # injected plants measure carbon content (their lab reports exist where they burnt coal)
    inj = st.fraud
    st.extra["measured"][inj] = True
    st.r_measured[inj[st.reg.plant]] = True
    st.l_exists[:] = st.l_first_ok & st.extra["measured"][:, None]
    st.r_lab_ref[:] = (st.r_fuel > 0) & st.r_measured
    st.r_resub[inj[st.reg.plant]] = False
    return plan


def apply_phase(st: State, plan: list[tuple[int, str]], phase: str, rng: np.random.Generator) -> None:
    """Apply the planned patterns of ``phase`` (``pre``, ``post``, ``serial`` or ``annual``)."""
    for p, name in plan:  # loop over injected patterns (≈ 0.1 per enterprise)
        pat = PATTERNS[name]
        if pat.phase == phase:
            pat.fn(st, p, rng)


def record_lookalikes(st: State, tips_honest: np.ndarray) -> None:
    """Write the honest look-alikes of honest enterprises (family ``none``) into ``st.lookalikes``.

    Look-alikes: shared sample of a multi-unit plant, genuine coal-source switch, whole-month outage,
    anthracite (high-carbon) coal, CCS unit, lab change without level shift, default basis all year,
    honest resubmission (version 2), honest short telemetry gap, unfounded complaint, an isolated
    report without QR code (sloppy but honest lab).
    """
    honest = ~st.fraud
    reg = st.reg
    plant = reg.plant
    measured = st.extra["measured"]
    n_units = np.bincount(plant, minlength=reg.n_plants)
    for p in np.flatnonzero(honest & measured & (n_units > 1) & (st.l_exists.sum(axis=1) > 0)):
        st.label(int(p), "", "shared_sample_plant", lookalike=True, magnitude=float(n_units[p]))
    switch, sw_month = st.extra["coal_switch"]
    for p in np.flatnonzero(honest & switch):
        st.label(int(p), "", "coal_source_switch", month=int(sw_month[p]), lookalike=True)
    uo, mo = np.nonzero(st.extra["full_out"] & honest[plant][:, None])
    for u, m in zip(uo.tolist(), mo.tolist(), strict=True):
        st.label(int(plant[u]), "", "outage_month", unit=u, month=m, lookalike=True)
    for p in np.flatnonzero(honest & (reg.p_coal == "anthracite")):
        st.label(int(p), "", "anthracite_high_cc", lookalike=True)
    for u in np.flatnonzero(reg.is_ccs & honest[plant]):
        st.label(int(plant[u]), "", "ccs_unit", unit=int(u), lookalike=True, magnitude=float(st.tel_capture[u]) if "tel_capture" in st.arrays else None)
    change, ch_month = st.extra["lab_change"]
    for p in np.flatnonzero(honest & change & measured):
        st.label(int(p), "", "lab_change_no_shift", month=int(ch_month[p]), lookalike=True)
    for p in np.flatnonzero(honest & ~measured):
        st.label(int(p), "", "default_basis_all_year", lookalike=True)
    ur, mr = np.nonzero(st.r_resub)
    for u, m in zip(ur.tolist(), mr.tolist(), strict=True):
        st.label(int(plant[u]), "", "honest_resubmission", unit=u, month=m, lookalike=True)
    if "tel_gap_start" in st.arrays:
        for u in np.flatnonzero((st.tel_gap_start >= 0) & honest[plant]):
            m = int(np.searchsorted(np.cumsum(st.cal.hours), st.tel_gap_start[u], side="right"))
            st.label(int(plant[u]), "", "telemetry_short_gap", unit=int(u), month=min(m, 11), lookalike=True,
                     magnitude=float(st.tel_gap_len[u]))
    for p in tips_honest:
        st.label(int(p), "", "tip_unfounded", lookalike=True)
    pq, mq = np.nonzero(st.l_exists & ~st.l_qr & honest[:, None])
    for p, m in zip(pq.tolist(), mq.tolist(), strict=True):
        st.label(int(p), "", "qr_missing_isolated", unit=int(st.l_unit[p, m]), month=m, lookalike=True)
