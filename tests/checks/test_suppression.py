"""Governed suppression: downgrade to info (kept visible), scope, expiry, revocation; store on both DBs."""

from __future__ import annotations

import datetime as dt

import pytest

from carbonqa.catalogue import make_finding
from carbonqa.suppression import (
    ActiveSuppression,
    SuppressionError,
    apply_suppressions,
    approve_suppression,
    load_active_suppressions,
    revoke_suppression,
)

T0 = dt.datetime(2025, 1, 1)


def _f(code="ACC-003", unit="U1", period="2024-03", ent="E1", year=2024):
    return make_finding(code, enterprise_id=ent, unit_id=unit, year=year, period=period, province_code="15",
                        params={"unit_id": unit, "period": period, "hours": 800, "hours_in_month": 744})


def _s(i=1, code="ACC-003", ent=None, unit=None, lo=None, hi=None, expires=None, revoked=None):
    return ActiveSuppression(i, code, ent, unit, lo, hi, "outage log explains it", "nat_admin", T0, expires, revoked)


def test_matching_finding_downgraded_and_kept():
    f = _f()
    out = apply_suppressions([f, _f(unit="U2")],
                             [_s(unit="U1")], at=T0 + dt.timedelta(days=1))
    assert len(out) == 2
    assert out[0].severity == "info" and out[0].original_severity == "medium" and out[0].suppression_id == 1
    assert out[0].id == f.id  # identity unchanged
    assert out[1].severity == "medium" and out[1].suppression_id is None


@pytest.mark.parametrize("s,hit", [
    (_s(ent="E1"), True), (_s(ent="E2"), False), (_s(code="ACC-002"), False),
    (_s(lo="2024-01", hi="2024-03"), True), (_s(lo="2024-04"), False), (_s(hi="2024-02"), False),
])
def test_scope(s, hit):
    out = apply_suppressions([_f()], [s], at=T0 + dt.timedelta(days=1))
    assert (out[0].severity == "info") is hit


def test_year_level_finding_matches_overlapping_range():
    f = make_finding("CC-002", enterprise_id="E1", unit_id="U1", year=2024,
                     params={"unit_id": "U1", "year": 2024, "n_measured": 10, "n_default": 2})
    assert apply_suppressions([f], [_s(code="CC-002", lo="2024-06", hi="2025-12")], T0)[0].severity == "info"
    assert apply_suppressions([f], [_s(code="CC-002", lo="2025-01")], T0)[0].severity == "high"


def test_expired_and_revoked_stop_applying():
    f = _f()
    exp = _s(expires=dt.datetime(2025, 2, 1))
    assert apply_suppressions([f], [exp], at=dt.datetime(2025, 1, 31))[0].severity == "info"
    assert apply_suppressions([f], [exp], at=dt.datetime(2025, 2, 1))[0].severity == "medium"
    rev = _s(revoked=dt.datetime(2025, 1, 10))
    assert apply_suppressions([f], [rev], at=dt.datetime(2025, 1, 9))[0].severity == "info"
    assert apply_suppressions([f], [rev], at=dt.datetime(2025, 1, 10))[0].severity == "medium"
    # not yet approved at that moment
    assert apply_suppressions([f], [_s()], at=T0 - dt.timedelta(days=1))[0].severity == "medium"


def test_store_round_trip_expiry_and_revocation(db_url):
    sid = approve_suppression(db_url, rule_code="ACC-003", reason="meter replaced, hours double-counted",
                              approved_by="prov15", enterprise_id="E1", unit_id="U1", period_from="2024-01",
                              period_to="2024-06", expires_at=dt.datetime(2025, 6, 1), approved_at=T0)
    sid2 = approve_suppression(db_url, rule_code="TEL-001", reason="CEMS outage documented", approved_by="prov15",
                               enterprise_id="E1", approved_at=T0)
    at = dt.datetime(2025, 3, 1)
    active = load_active_suppressions(db_url, at)
    assert [s.suppression_id for s in active] == [sid, sid2]
    out = apply_suppressions([_f(), _f(period="2024-07")], active, at)
    assert [o.severity for o in out] == ["info", "medium"] and out[0].suppression_id == sid
    # expiry
    assert [s.suppression_id for s in load_active_suppressions(db_url, dt.datetime(2025, 6, 1))] == [sid2]
    # revocation
    revoke_suppression(db_url, sid2, revoked_by="nat_admin", at=dt.datetime(2025, 4, 1))
    assert [s.suppression_id for s in load_active_suppressions(db_url, dt.datetime(2025, 4, 2))] == [sid]
    assert [s.suppression_id for s in load_active_suppressions(db_url, dt.datetime(2025, 3, 31))] == [sid, sid2]
    with pytest.raises(SuppressionError):
        revoke_suppression(db_url, sid2, revoked_by="nat_admin")
    with pytest.raises(KeyError):
        revoke_suppression(db_url, 999, revoked_by="nat_admin")


def test_approval_is_validated(db_url):
    ok = dict(reason="r", approved_by="a")
    with pytest.raises(SuppressionError):
        approve_suppression(db_url, rule_code="XXX-001", **ok)
    with pytest.raises(SuppressionError):
        approve_suppression(db_url, rule_code="ACC-001", reason=" ", approved_by="a")
    with pytest.raises(SuppressionError):
        approve_suppression(db_url, rule_code="ACC-001", period_from="2024-05", period_to="2024-01", **ok)
    with pytest.raises(SuppressionError):
        approve_suppression(db_url, rule_code="ACC-001", period_from="2024-13", **ok)
