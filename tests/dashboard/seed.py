"""Seed a case store directly through the models: users, raw submissions, runs, findings, cases, events.

Used by the dashboard tests, the query scoping tests, the browser test and ``bench/dashboard.py``.
Jurisdictions: 内蒙古 (15) with 包头市 and 鄂尔多斯市, 山东 (37) 济南市, 江苏 (32) 南京市.
The top case (rank 1, ``CQ-2024-E0000``) is in 包头市 and carries copied lab values, a low carbon content,
a lab-date finding, a verifier finding and a tip, so every panel of the evidence pack has something.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from carbonqa.scoring import FAMILY_LABELS
from carbonqa.store import get_engine, session_scope
from carbonqa.store.models import (
    Case,
    CaseEvent,
    CaseFinding,
    FindingRow,
    ScreeningRun,
    User,
    raw_table,
)

PASSWORD = "s3cret-pw"

#: (province_code, city_name) cycled over the cases.
PLACES: list[tuple[str, str]] = [
    ("15", "包头市"),
    ("15", "鄂尔多斯市"),
    ("37", "济南市"),
    ("32", "南京市"),
]

#: username → (role, province, city)
USERS: dict[str, tuple[str, str | None, str | None]] = {
    "nat": ("national", None, None),
    "prov15": ("provincial", "15", None),
    "prov37": ("provincial", "37", None),
    "baotou": ("municipal", "15", "包头市"),
    "ordos": ("municipal", "15", "鄂尔多斯市"),
    "audit": ("auditor", None, None),
}

FAMILY_CODES = {
    "carbon_content": "CC-101",
    "copied_values": "CPY-101",
    "lab_forensics": "LAB-003",
    "verifier": "VER-002",
    "telemetry": "TEL-001",
    "accounting": "ACC-001",
    "completeness": "CMP-001",
    "tip": "TIP-001",
}


@dataclass
class Seeded:
    """What :func:`seed_store` wrote."""

    url: str
    case_ids: list[str]
    run_ids: list[str]
    top_case: str


def _meta(i: int) -> dict:
    return {"record_version": 1, "bundle_id": "B-seed", "row_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
            "ingested_at": dt.datetime(2025, 2, 1)}


def seed_users(url: str, users: dict[str, tuple[str, str | None, str | None]] | None = None) -> None:
    """Create the test users (password :data:`PASSWORD`); uses one argon2 hash for speed."""
    from carbonqa.auth import hash_password

    h = hash_password(PASSWORD)
    with session_scope(url) as s:
        for name, (role, prov, city) in (users or USERS).items():
            s.add(User(username=name, display_name=f"用户 {name}", password_hash=h, role=role,
                       province_code=prov, city_name=city))


def seed_store(url: str, n_cases: int = 8, *, year: int = 2024, months: int = 12, users: bool = True,
               findings_per_case: int = 3) -> Seeded:
    """Write ``n_cases`` cases (one enterprise and unit each) with raw data, findings and events."""
    if users:
        seed_users(url)
    run_ids = [f"run-{year + 1}-03-0{d}" for d in (1, 2, 3)]
    run_start = [dt.datetime(year + 1, 3, d, 1, 0) for d in (1, 2, 3)]
    eng = get_engine(url)
    ent_rows, unit_rows, mr_rows, lab_rows, ann_rows, ver_rows, tip_rows = [], [], [], [], [], [], []
    k = 0
    for i in range(n_cases):
        prov, city = PLACES[i % len(PLACES)]
        ent, unit = f"E{i:04d}", f"U{i:04d}-1"
        k += 1
        ent_rows.append({"enterprise_id": ent, "enterprise_name": f"测试电厂{i:04d}有限公司", "province_code": prov,
                         "city_name": city, "sector": "power", "is_captive": False, **_meta(k)})
        k += 1
        unit_rows.append({"unit_id": unit, "enterprise_id": ent, "unit_name": f"{i}号机组",
                          "unit_class": "coal_conventional_300mw_plus", "capacity_mw": 600.0,
                          "combustion_technology": "supercritical", "coal_type": "bituminous" if i % 3 else "lignite",
                          "cooling_type": "water", "is_chp": False, "commissioning_year": 2010, **_meta(k)})
        for m in range(1, months + 1):
            period = f"{year}-{m:02d}"
            copied = i == 0 and 3 <= m <= 6
            cc = 0.0240 if i == 0 else 0.0255 + 0.0001 * ((i * 7 + m) % 10)
            cad, mad, mt, ncv = (60.0, 2.0, 12.0, 21.0) if copied else (58 + (m % 5), 1.5 + 0.1 * m, 10 + m * 0.3,
                                                                        20.0 + 0.1 * ((i + m) % 9))
            k += 1
            lab_id = f"LR-{unit}-{period}"
            base = dt.date(year, m, 28)
            lab_rows.append({"lab_report_id": lab_id, "report_no": f"N{i:04d}{m:02d}", "lab_agency_id": "A-LAB",
                             "unit_id": unit, "sample_period": period, "sampling_end_date": base,
                             "receipt_date": base + dt.timedelta(days=2), "test_date": base + dt.timedelta(days=4),
                             "report_date": (dt.date(year + 1, 1, 5) if i == 0 else base + dt.timedelta(days=6)),
                             "carbon_ad_pct": cad, "moisture_ad_pct": mad, "total_moisture_pct": mt,
                             "carbon_ar_pct": cad * (100 - mt) / (100 - mad), "ncv_ar_gj_per_t": ncv,
                             "ash_ad_pct": 20.0, "has_anti_counterfeit_code": i != 0, **_meta(k)})
            fuel = 100_000.0 + 1000 * m
            k += 1
            mr_rows.append({"unit_id": unit, "period": period, "version": 1, "fuel_consumed_t": fuel,
                            "ncv_gj_per_t": ncv, "carbon_content_tc_per_gj": cc, "carbon_content_basis": "measured",
                            "oxidation_rate": 0.99, "gross_generation_mwh": 250_000.0 + 500 * m,
                            "power_supply_mwh": 235_000.0 + 500 * m, "heat_supply_gj": 0.0,
                            "operating_hours": 700.0, "load_rate": 0.8, "purchased_electricity_mwh": 100.0,
                            "emissions_tco2": fuel * ncv * cc * 0.99 * 44 / 12, "lab_report_id": lab_id,
                            "submitted_at": dt.datetime(year, m, 28, 10), **_meta(k)})
        k += 1
        ann_rows.append({"report_id": f"AR-{ent}-{year}", "enterprise_id": ent, "year": year,
                         "reported_emissions_tco2": 2_400_000.0, "reported_power_supply_mwh": 2_900_000.0,
                         "reported_heat_supply_gj": 0.0, "preparer_agency_id": "A-PREP",
                         "submitted_at": dt.datetime(year + 1, 3, 20), **_meta(k)})
        k += 1
        ver_rows.append({"verification_id": f"V-{ent}-{year}", "enterprise_id": ent, "year": year,
                         "verifier_agency_id": "A-VER" if i % 2 == 0 else "A-VER2",
                         "verified_emissions_tco2": 2_400_000.0 if i % 2 == 0 else 2_450_000.0,
                         "conclusion": "accepted", "findings_count": 0 if i % 2 == 0 else 2,
                         "review_started": dt.date(year + 1, 4, 1), "review_completed": dt.date(year + 1, 4, 2),
                         **_meta(k)})
        if i == 0:
            k += 1
            tip_rows.append({"tip_id": "T-1", "enterprise_id": ent, "received_date": dt.date(year + 1, 2, 10),
                             "channel": "hotline", "category": "数据造假", "summary": "举报煤样检测报告系同一批次复制",
                             **_meta(k)})
    agencies = [
        {"agency_id": "A-LAB", "agency_name": "某煤质检测中心", "roles": "lab", "home_province_code": "15", "cma_no": "C1"},
        {"agency_id": "A-VER", "agency_name": "某核查技术服务公司", "roles": "verifier", "home_province_code": "15",
         "cma_no": None},
        {"agency_id": "A-VER2", "agency_name": "另一核查机构", "roles": "verifier", "home_province_code": "37",
         "cma_no": None},
        {"agency_id": "A-PREP", "agency_name": "某咨询公司", "roles": "preparer", "home_province_code": "15",
         "cma_no": None},
    ]
    for a in agencies:
        k += 1
        a.update(_meta(k))
    with eng.begin() as conn:
        for name, rows in (("enterprises", ent_rows), ("units", unit_rows), ("agencies", agencies),
                           ("lab_reports", lab_rows), ("monthly_reports", mr_rows), ("annual_reports", ann_rows),
                           ("verifications", ver_rows), ("tips", tip_rows)):
            if rows:
                conn.execute(sa.insert(raw_table(name)), rows)

    families_cycle = list(FAMILY_CODES)
    case_ids: list[str] = []
    findings, links, cases, events = [], [], [], []
    for i in range(n_cases):
        prov, city = PLACES[i % len(PLACES)]
        ent, unit = f"E{i:04d}", f"U{i:04d}-1"
        cid = f"CQ-{year}-{ent}"
        case_ids.append(cid)
        if i == 0:
            fams = ["carbon_content", "copied_values", "lab_forensics", "verifier", "tip"]
        else:
            fams = [families_cycle[(i + j) % 7] for j in range(findings_per_case)]
            fams = list(dict.fromkeys(fams))
        total = 0.0
        codes = []
        for j, fam in enumerate(fams):
            code = FAMILY_CODES[fam]
            period = None if fam in ("verifier", "tip") else f"{year}-{(3 + j) % 12 + 1:02d}"
            if i == 0 and fam == "copied_values":
                period = f"{year}-04"
            stake = 0.0 if fam == "tip" else 50_000.0 / (1 + i) + 1000 * j
            total += stake
            fid = f"F-{i:05d}-{j}"
            findings.append(dict(
                finding_id=fid, first_run_id=run_ids[i % 3 if i else 0], last_run_id=run_ids[-1], rule_code=code,
                family=fam, severity="high" if j == 0 else "medium", original_severity="high" if j == 0 else "medium",
                enterprise_id=ent, unit_id=None if period is None else unit, year=year, period=period,
                province_code=prov, message_zh=f"{FAMILY_LABELS[fam][0]}异常：第{j + 1}项发现（{ent}）",
                message_en=f"{FAMILY_LABELS[fam][1]} anomaly #{j + 1} ({ent})", observed="0.0240", expected="0.0255–0.0290",
                score=0.9 - 0.1 * j, tco2_at_stake=stake, evidence='{"peer_median": 0.0262}', detail_key="",
                source_table="monthly_reports", created_at=run_start[0]))
            links.append(dict(case_id=cid, finding_id=fid, attached_at=run_start[0], run_id=run_ids[0]))
            codes.append(code)
        cases.append(dict(
            case_id=cid, enterprise_id=ent, unit_id=unit, year=year, province_code=prov, city_name=city,
            status="new", risk_score=round(100.0 * (1.0 - i / max(n_cases, 1)), 2), rank=i + 1, families="|".join(fams),
            rule_codes="|".join(codes), tco2_at_stake=total,
            summary=f"{ent}：{len(fams)}类疑点，涉及约{total:,.0f} tCO₂", score_reasons=[],
            # the last case predates summary_en: the English interface shows its Chinese summary, marked
            summary_en=None if i == n_cases - 1 else f"{ent}: {len(fams)} families, about {total:,.0f} tCO₂",
            created_at=run_start[i % 3 if i else 0], updated_at=run_start[i % 3 if i else 0],
            last_run_id=run_ids[-1], lock_version=1))
        events.append(dict(case_id=cid, at=run_start[i % 3 if i else 0], actor=f"system:{run_ids[0]}",
                           action="created", before=None, after={"status": "new"}, note=None))
    with eng.begin() as conn:
        conn.execute(sa.insert(ScreeningRun), [
            dict(run_id=r, started_at=t, finished_at=t + dt.timedelta(minutes=40 + 3 * n), status="success",
                 trigger="airflow", bundle_ids=["B-seed"],
                 stage_seconds={"ingest": 300.0 + n, "checks": 900.0, "detectors": 1000.0, "scoring": 60.0,
                                "cases": 120.0},
                 counts={"findings": len(findings), "cases": n_cases, "new_cases": n_cases if n == 0 else 0},
                 error=None)
            for n, (r, t) in enumerate(zip(run_ids, run_start, strict=True))
        ])
        conn.execute(sa.insert(FindingRow), findings)
        conn.execute(sa.insert(Case), cases)
        conn.execute(sa.insert(CaseFinding), links)
        conn.execute(sa.insert(CaseEvent), events)
    return Seeded(url=url, case_ids=case_ids, run_ids=run_ids, top_case=case_ids[0])
