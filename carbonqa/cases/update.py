"""The nightly case update: findings → cases, rescoring, national rank (:func:`update_cases`).

**Cases.** One case per enterprise and reporting year (:func:`carbonqa.cases.storage.case_id_for`). Its
units live inside; the case's ``unit_id`` is the unit carrying most stake (``None`` when several tie or
none is named, see :func:`carbonqa.scoring.score_case`).

**Attaching and rescoring.** :func:`update_cases` attaches the findings a run saw to the (open or
closed) case of their enterprise-year and rescores it; an enterprise-year without a case gets one only
when the opening policy says so (:mod:`carbonqa.cases.policy`). A finding counts for a case's score
when the latest run that screened its (year, province) saw it (``last_run_id == run_id``); findings no
longer seen (e.g. data corrected by a resubmission) stay attached as history but stop counting.
Rescoring writes the case (and a ``rescored`` event) only when score, families, rule codes, tonnes,
unit, summary or reasons changed, so re-running a night changes nothing. ``Case.last_run_id`` is the
last run that *changed* the case. The national ``rank`` (1 = inspect first, per reporting year, over all
cases of the year, ties broken by tonnes then case id) is derived data: it is written without bumping
``lock_version`` and without an event.

Scores learn from inspections: :func:`update_cases` reads the stored inspection labels once
(:func:`load_calibration`) and scales each finding's confidence by its rule code's factor
(:func:`carbonqa.scoring.label_calibration`, 1 without labels); a new label therefore rescores (with an
event) the cases carrying codes whose factor moved, and the same labels on a re-run change nothing.

Finding rows keep the severity they were stored with; an approved suppression that came later is
applied when scoring (the finding then counts as ``info``: nothing), so rows stay immutable and the
case still reflects the regulator's decision. Suppressions in force are judged at the run's
``data_interval_end`` (else now).

:func:`run_provinces` and :func:`values_differ` are shared with the agency cases
(:mod:`carbonqa.cases.agency`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from carbonqa.cases.policy import opening_reason
from carbonqa.cases.storage import _jsonable, case_id_for
from carbonqa.cases.summary import summary_en, summary_zh
from carbonqa.evidence import code_firing_rates
from carbonqa.regulation import allowance_price
from carbonqa.scoring import CaseScore, CodeCalibration, label_calibration, score_case
from carbonqa.store.db import get_engine, session_scope
from carbonqa.store.findings import _chunks, _insert_ignore, screened_provinces
from carbonqa.store.models import (
    Case,
    CaseEvent,
    CaseFinding,
    FindingRow,
    InspectionLabel,
    ScreeningRun,
    now_cst,
)
from carbonqa.suppression import ActiveSuppression, load_active_suppressions, matches

__all__ = ["update_cases", "load_calibration", "run_provinces", "values_differ"]

log = logging.getLogger(__name__)


def _scored_values(year: int, cs: CaseScore) -> dict[str, Any]:
    return {
        "risk_score": cs.risk_score,
        "tco2_at_stake": cs.tco2_at_stake,
        "families": "|".join(cs.families),
        "rule_codes": "|".join(cs.rule_codes),
        "unit_id": cs.unit_id,
        "summary": summary_zh(year, cs),
        "summary_en": summary_en(year, cs),
        "score_reasons": [dict(r) for r in cs.reasons],
    }


def values_differ(a: Any, b: Any) -> bool:
    """Whether a stored case value and a freshly scored one differ (floats compared to 1e-9)."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is not b
        return abs(float(a) - float(b)) > 1e-9
    return a != b


@dataclass(frozen=True)
class _Scored:
    """What scoring and the summary read of a stored finding, with its *effective* severity."""

    finding_id: str
    rule_code: str
    family: str
    severity: str
    unit_id: str | None
    period: str | None
    score: float
    tco2_at_stake: float
    detail_key: str
    message_zh: str
    province_code: str | None
    message_en: str = ""


def _view(f: FindingRow, supps: Sequence[ActiveSuppression]) -> _Scored:
    """Return a stored finding as scoring sees it: ``info`` when a later-approved suppression applies."""
    sev = (
        "info"
        if f.severity != "info" and any(matches(sp, f) for sp in supps if sp.rule_code == f.rule_code)
        else f.severity
    )
    return _Scored(
        f.finding_id,
        f.rule_code,
        f.family,
        sev,
        f.unit_id,
        f.period,
        float(f.score),
        float(f.tco2_at_stake or 0.0),
        f.detail_key or "",
        f.message_zh or "",
        f.province_code,
        f.message_en or "",
    )


def run_provinces(s: Session, run_id: str, year: int) -> set[str] | None:
    """Provinces run ``run_id`` screened for ``year`` (the findings store's ``screened_partitions``).

    ``None`` when the run recorded no partition (every province of the year is then in scope).
    """
    return screened_provinces(s, run_id, year)


def _update_year(
    run_id: str,
    year: int,
    url: str | None,
    provinces: Iterable[str] | None,
    ent_map: dict[str, tuple[str | None, str | None]],
    reported: dict[str, float | None],
    out: dict[str, int],
    calibration: dict[str, CodeCalibration] | None = None,
) -> None:
    """One year of :func:`update_cases` in one transaction (counts added to ``out``)."""
    with session_scope(url) as s:
        prov = set(provinces) if provinces is not None else run_provinces(s, run_id, year)
        q = sa.select(FindingRow).where(FindingRow.year == year, FindingRow.enterprise_id.is_not(None))
        q = q.where(FindingRow.last_run_id == run_id)
        live = list(s.scalars(q))
        if prov is None:
            prov = {f.province_code for f in live if f.province_code}
        run = s.get(ScreeningRun, run_id)
        at = (run.data_interval_end if run is not None else None) or now_cst()
        supps = load_active_suppressions(url, at)
        by_ent: dict[str, list[_Scored]] = {}
        for f in live:
            by_ent.setdefault(f.enterprise_id, []).append(_view(f, supps))
        # each code's national firing rate over the enterprises this run screened (carbonqa.evidence)
        n_screened = max(len(by_ent), sum(1 for p, _c in ent_map.values() if p in prov))
        rates = code_firing_rates(by_ent, n_screened)
        reliability = {k: r.reliability for k, r in rates.items() if r.reliability < 1.0}
        if reliability:
            log.info(
                "year %s: codes weakened by their national firing rate: %s",
                year,
                {
                    f"{c}:{sv}": (rates[(c, sv)].n_firing, rates[(c, sv)].reliability)
                    for c, sv in sorted(reliability)
                },
            )
        price = allowance_price(year).cny_per_t

        cases = {c.enterprise_id: c for c in s.scalars(sa.select(Case).where(Case.year == year))}
        attached: dict[str, set[str]] = {}
        for part in _chunks([c.case_id for c in cases.values()]):
            for cid, fid in s.execute(
                sa.select(CaseFinding.case_id, CaseFinding.finding_id).where(CaseFinding.case_id.in_(part))
            ):
                attached.setdefault(cid, set()).add(fid)

        # cases of screened provinces whose findings were all not seen this run: rescore to nothing
        targets = set(by_ent) | {e for e, c in cases.items() if c.province_code in prov}
        actor = f"system:{run_id}"
        for ent in sorted(targets):
            fs = by_ent.get(ent, [])
            case = cases.get(ent)
            if case is None:
                why = opening_reason(fs, reported.get(ent), reliability)
                if why is None:  # low-only, suppressed or an uncorroborated complaint: no case (policy)
                    continue
                province, city = ent_map.get(ent, (None, None))
                province = province or next((f.province_code for f in fs if f.province_code), None)
                if not province:
                    out["unroutable"] += 1
                    log.warning("findings of enterprise %s cannot be routed: unknown province", ent)
                    continue
                cs = score_case(fs, reported.get(ent), calibration, reliability, price)
                vals = _scored_values(year, cs)
                case = Case(
                    case_id=case_id_for(ent, year),
                    enterprise_id=ent,
                    year=year,
                    province_code=province,
                    city_name=city,
                    status="new",
                    last_run_id=run_id,
                    **vals,
                )
                s.add(case)
                s.add(
                    CaseEvent(
                        case_id=case.case_id,
                        actor=actor,
                        action="created",
                        before=None,
                        after=_jsonable(
                            {k: vals[k] for k in vals if k != "score_reasons"}
                            | {"status": "new", "opened_because": why}
                        ),
                    )
                )
                cases[ent] = case
                out["created"] += 1
                s.flush()
            else:
                cs = score_case(fs, reported.get(ent), calibration, reliability, price)
                vals = _scored_values(year, cs)
                changed = {k: v for k, v in vals.items() if values_differ(getattr(case, k), v)}
                if changed:
                    before = {k: getattr(case, k) for k in changed}
                    for k, v in changed.items():
                        setattr(case, k, v)
                    case.last_run_id = run_id
                    case.updated_at = now_cst()
                    s.add(
                        CaseEvent(
                            case_id=case.case_id,
                            actor=actor,
                            action="rescored",
                            before=_jsonable(before),
                            after=_jsonable(changed),
                        )
                    )
                    out["rescored"] += 1
                else:
                    out["unchanged"] += 1
            have = attached.get(case.case_id, set())
            new_ids = sorted(f.finding_id for f in fs if f.finding_id not in have)
            if new_ids:
                _insert_ignore(
                    s,
                    CaseFinding.__table__,
                    [
                        {"case_id": case.case_id, "finding_id": i, "run_id": run_id, "attached_at": now_cst()}
                        for i in new_ids
                    ],
                    ["case_id", "finding_id"],
                )
                if have:  # a brand-new case's findings are covered by its "created" event
                    s.add(
                        CaseEvent(
                            case_id=case.case_id,
                            actor=actor,
                            action="findings",
                            before={"n_findings": len(have)},
                            after={"n_findings": len(have) + len(new_ids), "attached": new_ids[:50]},
                        )
                    )
                out["attached"] += len(new_ids)
        s.flush()
        _rerank(s, year)


def load_calibration(url: str | None = None) -> dict[str, CodeCalibration]:
    """Per-rule-code confidence factors from every stored inspection label (empty without labels).

    Labels of all reporting years are pooled (a rule behaves the same from year to year), read in
    ``label_id`` order so a re-inspected case counts with its latest outcome; see
    :func:`carbonqa.scoring.label_calibration`.
    """
    t = InspectionLabel.__table__
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            sa.select(t.c.label_id, t.c.case_id, t.c.outcome, t.c.rule_codes).order_by(t.c.label_id)
        ).fetchall()
    cal = label_calibration(rows)
    moved = {c: round(v.factor, 2) for c, v in cal.items() if v.factor != 1.0}
    if moved:
        log.info("inspection labels: %d cases, factors %s", len({r.case_id for r in rows}), moved)
    return cal


def update_cases(
    run_id: str,
    years: Iterable[int],
    url: str | None = None,
    provinces: Iterable[str] | None = None,
) -> dict[str, int]:
    """Attach the findings run ``run_id`` saw to their cases and rescore them; then re-rank.

    Args:
        run_id: the screening run.
        years: reporting years to update.
        url: case-store URL (default: settings).
        provinces: provinces the run screened; default: those recorded in the run's
            ``counts["partitions"]`` (``"<year>/<province>"`` keys written by
            :func:`carbonqa.pipeline.screen_partition`), else the provinces of the findings it saw.

    Returns:
        Counts ``{"created", "rescored", "unchanged", "attached", "unroutable", "cases"}``.

    Each year is one transaction; if a reviewer changes a case while it is being rescored (the
    version check fails), the year is rolled back and redone (up to 3 times) — idempotent.

    The inspection labels are read once (:func:`load_calibration`) and every case of the run is scored
    with the same per-rule-code factors (:func:`carbonqa.scoring.label_calibration`); the opening
    policy reads findings only, so labels never change which cases exist.
    """
    from carbonqa.store.read import current

    out = dict.fromkeys(("created", "rescored", "unchanged", "attached", "unroutable", "cases"), 0)
    provinces = set(provinces) if provinces is not None else None
    ents = current("enterprises", url).select("enterprise_id", "province_code", "city_name")
    ent_map = {r[0]: (r[1], r[2]) for r in ents.iter_rows()}
    ar_all = current("annual_reports", url)
    calibration = load_calibration(url)
    for year in sorted({int(y) for y in years}):
        ar = ar_all.filter(pl.col("year") == year)
        reported = {r[0]: r[1] for r in ar.select("enterprise_id", "reported_emissions_tco2").iter_rows()}
        for attempt in range(3):
            part = dict.fromkeys(out, 0)
            try:
                _update_year(run_id, year, url, provinces, ent_map, reported, part, calibration)
                break
            except StaleDataError:  # a reviewer changed a case meanwhile: the transaction rolled back, redo
                if attempt == 2:
                    raise
                log.info("case changed concurrently while rescoring %s; retrying year %s", run_id, year)
        for k, v in part.items():
            out[k] += v
        with get_engine(url).connect() as conn:
            out["cases"] += conn.execute(
                sa.select(sa.func.count()).select_from(Case).where(Case.year == year)
            ).scalar_one()
    return out


def _rerank(s: Session, year: int) -> None:
    """Write national ranks of ``year`` (1 = highest score) without bumping ``lock_version``."""
    t = Case.__table__
    rows = s.execute(
        sa.select(t.c.case_id, t.c.rank)
        .where(t.c.year == year)
        .order_by(t.c.risk_score.desc(), t.c.tco2_at_stake.desc(), t.c.case_id)
    ).fetchall()
    changes = [{"cid": r[0], "r": i} for i, r in enumerate(rows, start=1) if r[1] != i]
    if changes:
        s.execute(
            sa.update(t).where(t.c.case_id == sa.bindparam("cid")).values(rank=sa.bindparam("r")),
            changes,
        )
