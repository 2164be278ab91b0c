"""Annual reports, previous-year verifications and complaints (tips).

Choice of years (documented): the bundle covers the twelve months of ``year``. It carries

* the **previous year's** annual report (``year − 1``, submitted in February–March of ``year``) and
  its verification (review from April to July of ``year``) — the last completed verification cycle;
* the **current year's** annual report (``year``, submitted in February–March of ``year + 1``),
  equal to the sum of the monthly deposits unless a pattern says otherwise; it is not yet verified.

Verifier patterns (``st.extra['verifier_patterns']``) act on the previous year's verification.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl

from carbonqa.synth import params as P
from carbonqa.synth.monthly import State

__all__ = ["annual_frames", "tips_frame"]

_EPOCH = np.datetime64("1970-01-01", "D")


def _days(d: date) -> int:
    return int((np.datetime64(d, "D") - _EPOCH).astype(np.int64))


def _ts(days: np.ndarray, secs: np.ndarray) -> np.ndarray:
    t = (days.astype("timedelta64[D]") + _EPOCH).astype("datetime64[s]") + secs.astype(np.int64).astype("timedelta64[s]")
    return t.astype("datetime64[us]")


def annual_frames(st: State, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build ``annual_reports`` (years ``year − 1`` and ``year``) and ``verifications`` (``year − 1``).

    Previous-year totals are the current-year true totals × U(0.90, 1.08) (model: year-on-year
    change); verification conclusions follow ``params.VERIFICATION_SHARES`` with revisions of sd
    ``params.REVISION_SD`` and reviews of ``params.REVIEW_DAYS`` days.

    Returns:
        ``(annual_reports, verifications)`` with contract columns (before casting).
    """
    y = st.cal.year
    reg = st.reg
    NP = reg.n_plants
    plant = reg.plant
    ent = reg.enterprises["enterprise_id"].to_numpy().astype(str)
    sumP = lambda a: np.bincount(plant, weights=a.sum(axis=1), minlength=NP)  # noqa: E731
    true_e = st.t_fuel * st.t_ncv * st.t_cc * st.rp.oxidation_rate * P.CO2_PER_C + st.t_purch * st.rp.grid_factor_tco2_per_mwh
    f_prev = rng.uniform(0.90, 1.08, NP)
    prev_e = np.round(sumP(true_e) * f_prev, 2)
    prev_s = np.round(sumP(st.t_supply) * f_prev * (1 + 0.01 * rng.standard_normal(NP)), 3)
    prev_h = np.round(sumP(st.t_heat) * f_prev * (1 + 0.02 * rng.standard_normal(NP)), 2)
    prep = st.assign["preparer"].copy()
    ver = st.assign["verifier"].copy()

    cur_e = sumP(st.r_emis)
    factor = np.ones(NP)
    for p, f in st.extra.get("annual_factor", {}).items():
        factor[p] = f
    cur_e = np.round(cur_e * factor, 2)
    cur_s = np.round(sumP(st.r_supply), 3)
    cur_h = np.round(sumP(st.r_heat), 2)

    sub_prev = _ts(_days(date(y, 2, 10)) + rng.integers(0, 50, NP), rng.uniform(8.5, 18, NP) * 3600)
    sub_cur = _ts(_days(date(y + 1, 2, 10)) + rng.integers(0, 50, NP), rng.uniform(8.5, 18, NP) * 3600)

    # ---- verification of the previous year ----
    shares = P.VERIFICATION_SHARES
    concl = np.array(list(shares))[rng.choice(len(shares), size=NP, p=np.array(list(shares.values())))]
    rev = rng.choice([-1.0, 1.0], NP) * np.maximum(np.abs(rng.normal(0, P.REVISION_SD, NP)), 0.002)
    verified = np.where(concl == "accepted", prev_e, np.where(concl == "revised", prev_e * (1 + rev), prev_e * (1 + rng.uniform(0.05, 0.15, NP))))
    findings = np.where(
        concl == "accepted",
        np.where(rng.random(NP) < 0.1, 0, 1 + rng.poisson(2.0, NP)),
        np.where(concl == "revised", 2 + rng.poisson(3.0, NP), 5 + rng.poisson(4.0, NP)),
    )
    start = _days(date(y, 4, 1)) + rng.integers(0, 91, NP)
    dur = rng.integers(*P.REVIEW_DAYS, NP)
    for p, spec in st.extra.get("verifier_patterns", {}).items():  # loop over injected enterprises
        kind = spec["kind"]
        if "verifier" in spec:
            ver[p] = spec["verifier"]
        if kind == "rubber_stamp":
            concl[p], verified[p], findings[p] = "accepted", prev_e[p], 0
        elif kind == "accepted_large_gap":
            g = spec["gap"]
            if abs(prev_e[p] * g) < 1000:
                g = np.sign(g) * max(abs(g), 1000 / max(prev_e[p], 1.0) * 1.5)
            concl[p], verified[p], findings[p] = "accepted", prev_e[p] * (1 + g), int(rng.integers(0, 2))
        elif kind == "preparer_verifier_conflict":
            prep[p] = ver[p] = spec["agency"]
        elif kind == "short_review":
            dur[p] = spec["days"]
            concl[p], verified[p], findings[p] = "accepted", prev_e[p], int(rng.integers(0, 2))
    # honest verifiers are never the preparer (a clash left by a corrupt-verifier swap is resolved)
    conflict = np.zeros(NP, dtype=bool)
    conflict[[p for p, spec in st.extra.get("verifier_patterns", {}).items() if spec["kind"] == "preparer_verifier_conflict"]] = True
    clash = (ver == prep) & ~conflict
    prep[clash] = -1

    aid = st.ag.ids
    prep_id = np.where(prep >= 0, aid[np.maximum(prep, 0)], None)
    annual = pl.DataFrame(
        {
            "report_id": np.concatenate([np.char.add(f"AR{y - 1}-", ent), np.char.add(f"AR{y}-", ent)]),
            "enterprise_id": np.concatenate([ent, ent]),
            "year": np.r_[np.full(NP, y - 1), np.full(NP, y)],
            "reported_emissions_tco2": np.r_[prev_e, cur_e],
            "reported_power_supply_mwh": np.r_[prev_s, cur_s],
            "reported_heat_supply_gj": np.r_[prev_h, cur_h],
            "preparer_agency_id": pl.Series(
                np.concatenate([prep_id, np.where(st.assign["preparer"] >= 0, aid[np.maximum(st.assign["preparer"], 0)], None)]).tolist(),
                dtype=pl.String,
            ),
            "submitted_at": np.concatenate([sub_prev, sub_cur]),
        },
        strict=False,
    )
    verifications = pl.DataFrame(
        {
            "verification_id": np.char.add(f"VF{y - 1}-", ent),
            "enterprise_id": ent,
            "year": np.full(NP, y - 1),
            "verifier_agency_id": aid[ver],
            "verified_emissions_tco2": np.round(verified, 2),
            "conclusion": concl,
            "findings_count": findings.astype(np.int64),
            "review_started": (start.astype("timedelta64[D]") + _EPOCH),
            "review_completed": ((start + dur).astype("timedelta64[D]") + _EPOCH),
        }
    )
    return annual, verifications


_CATEGORY = {
    "carbon_content": ("煤样造假", "涉嫌篡改煤样元素碳检测数据，实测含碳量明显偏低"),
    "copied_values": ("数据造假", "涉嫌多个月份使用同一份煤质检测数据"),
    "lab_forensics": ("检测报告篡改", "涉嫌篡改检测报告日期和全水分数据"),
    "verifier": ("核查机构弄虚作假", "核查机构涉嫌出具不实核查报告"),
    "telemetry": ("虚报瞒报", "涉嫌少报燃煤消耗量和发电量"),
    "accounting": ("数据错误", "排放量计算存在明显错误"),
    "completeness": ("未按时报送", "月度存证长期缺报、迟报"),
}
_CHANNELS = np.array(["hotline", "letter", "online", "referral"])


def tips_frame(st: State, rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    """Complaints: ``params.TIP_FRAUD_P`` of injected enterprises, a few honest ones, some anonymous.

    A tip naming an injected enterprise uses the category of its first labelled family and is
    labelled family ``tip`` (pattern ``complaint_names_fraud``); tips naming honest enterprises are
    look-alikes (``tip_unfounded``).

    Returns:
        ``(tips, honest enterprise rows named)``.
    """
    NP = st.reg.n_plants
    names = st.reg.enterprises["enterprise_name"].to_numpy()
    ent = st.reg.enterprises["enterprise_id"].to_numpy()
    first_family: dict[str, str] = {}
    for row in st.labels:  # labels so far (a few hundred rows)
        first_family.setdefault(row["enterprise_id"], row["family"])
    fraud = np.flatnonzero(st.fraud & (rng.random(NP) < P.TIP_FRAUD_P))
    honest_pool = np.flatnonzero(~st.fraud)
    n_h = int(rng.binomial(len(honest_pool), P.TIP_HONEST_P)) if len(honest_pool) else 0
    if n_h == 0 and len(honest_pool) >= 20:
        n_h = 1
    honest = np.sort(rng.choice(honest_pool, size=n_h, replace=False)) if n_h else np.array([], dtype=int)
    n_anon = NP // 400
    fams = list(_CATEGORY)
    rows_e, rows_cat, rows_sum = [], [], []
    for p in fraud:  # loop over tips (a few dozen)
        cat, text = _CATEGORY[first_family.get(ent[p], "carbon_content")]
        rows_e.append(ent[p])
        rows_cat.append(cat)
        rows_sum.append(f"群众举报{names[p]}{text}")
        st.label(int(p), "tip", "complaint_names_fraud")
    for p in honest:
        cat, text = _CATEGORY[fams[int(rng.integers(0, len(fams)))]]
        rows_e.append(ent[p])
        rows_cat.append(cat)
        rows_sum.append(f"群众举报{names[p]}{text}")
    for _ in range(n_anon):
        cat, text = _CATEGORY[fams[int(rng.integers(0, len(fams)))]]
        rows_e.append(None)
        rows_cat.append(cat)
        rows_sum.append(f"匿名举报某燃煤电厂{text}，未提供单位名称")
    n = len(rows_e)
    y = st.cal.year
    received = _days(date(y, 1, 15)) + rng.integers(0, 440, n)
    order = np.argsort(received, kind="stable")
    tips = pl.DataFrame(
        {
            "tip_id": [f"TIP{y}-{i + 1:04d}" for i in range(n)],
            "enterprise_id": [rows_e[i] for i in order],
            "received_date": (received[order].astype("timedelta64[D]") + _EPOCH),
            "channel": _CHANNELS[rng.integers(0, 4, n)],
            "category": [rows_cat[i] for i in order],
            "summary": [rows_sum[i] for i in order],
        },
        schema_overrides={"enterprise_id": pl.String},
    )
    return tips, honest


def created_at(year: int) -> str:
    """Deterministic bundle creation time: 1 April of ``year + 1``, 02:00 CST (after the annual deadline)."""
    return datetime(year + 1, 4, 1, 2, 0).isoformat() + "+08:00"
