"""Governed suppression as data (anchor: US EPA ECMPS: one result, one facility, one time window).

A regulator downgrades a result for one facility and time window, with a reason.

An approved :class:`~carbonqa.store.models.Suppression` names a rule code and a scope — an enterprise,
a unit and/or an inclusive ``YYYY-MM`` period range (``None`` = unrestricted) — a reason, the
approver and an optional expiry. While it is *active* (approved, not revoked, not expired at the
moment asked about) every matching finding is downgraded to ``info`` but stays visible: its
``original_severity`` and ``suppression_id`` record what happened. Expired or revoked suppressions
stop applying; nothing is deleted (revocation stamps ``revoked_at``).

Scope matching:

* ``rule_code`` must equal the finding's code;
* ``enterprise_id`` / ``unit_id``, when set, must equal the finding's;
* the period range, when set, must contain the finding's period; a finding without a period
  (enterprise-year or unit-year findings) matches when its year overlaps the range.

Errors: :class:`SuppressionError` (``ValueError``) for an unknown rule code, an empty reason or
approver, a reversed period range, a malformed period; ``KeyError`` from :func:`revoke_suppression`
for an unknown id.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa

from carbonqa.catalogue import CATALOGUE
from carbonqa.errors import InputError
from carbonqa.findings import Finding
from carbonqa.store.db import get_engine
from carbonqa.store.models import Suppression, now_cst

__all__ = [
    "ActiveSuppression",
    "SuppressionError",
    "apply_suppressions",
    "load_active_suppressions",
    "approve_suppression",
    "revoke_suppression",
    "matches",
]

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class SuppressionError(InputError, ValueError):
    """A suppression request is malformed; the message names the field and the fix."""


@dataclass(frozen=True)
class ActiveSuppression:
    """A plain, detached copy of a stored suppression (what :func:`apply_suppressions` consumes)."""

    suppression_id: int
    rule_code: str
    enterprise_id: str | None
    unit_id: str | None
    period_from: str | None
    period_to: str | None
    reason: str
    approved_by: str
    approved_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def is_active(self, at: dt.datetime) -> bool:
        """Whether the suppression applies at ``at`` (naive CST): approved, not revoked, not expired."""
        if self.approved_at is not None and self.approved_at > at:
            return False
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.expires_at is None or self.expires_at > at

    @classmethod
    def of(cls, s: Suppression) -> ActiveSuppression:
        """Detached copy of an ORM row."""
        return cls(s.suppression_id, s.rule_code, s.enterprise_id, s.unit_id, s.period_from, s.period_to, s.reason,
                   s.approved_by, s.approved_at, s.expires_at, s.revoked_at)


def matches(s: ActiveSuppression | Suppression, f: Finding) -> bool:
    """Whether the scope of ``s`` covers finding ``f`` (rule code, enterprise, unit, period range)."""
    if s.rule_code != f.rule_code:
        return False
    if s.enterprise_id is not None and s.enterprise_id != f.enterprise_id:
        return False
    if s.unit_id is not None and s.unit_id != f.unit_id:
        return False
    if s.period_from is None and s.period_to is None:
        return True
    lo, hi = s.period_from or "0000-01", s.period_to or "9999-12"
    if f.period:
        return lo <= f.period <= hi
    if f.year is not None:  # enterprise-/unit-year finding: the year overlaps the range
        return lo <= f"{f.year}-12" and f"{f.year}-01" <= hi
    return False


def apply_suppressions(
    findings: Iterable[Finding], suppressions: Sequence[ActiveSuppression | Suppression], at: dt.datetime
) -> list[Finding]:
    """Downgrade findings covered by a suppression active at ``at`` to ``info`` (kept, not dropped).

    Args:
        findings: findings of a run (any order).
        suppressions: stored or detached suppressions (inactive ones are ignored here too).
        at: the moment that decides expiry/revocation (naive CST; a run passes its data interval, never
            ``now()``).

    Returns:
        The findings in the same order; each covered one replaced by
        ``replace(f, severity="info", original_severity=f.severity, suppression_id=s.suppression_id)``
        (the lowest matching suppression id wins; findings already suppressed are left unchanged).
    """
    active = sorted(
        (s if isinstance(s, ActiveSuppression) else ActiveSuppression.of(s) for s in suppressions),
        key=lambda s: s.suppression_id,
    )
    active = [s for s in active if s.is_active(at)]
    by_code: dict[str, list[ActiveSuppression]] = {}
    for s in active:
        by_code.setdefault(s.rule_code, []).append(s)
    out: list[Finding] = []
    for f in findings:
        hit = None
        if f.suppression_id is None:
            hit = next((s for s in by_code.get(f.rule_code, ()) if matches(s, f)), None)
        out.append(f if hit is None else replace(f, severity="info", original_severity=f.severity,
                                                 suppression_id=hit.suppression_id))
    return out


def load_active_suppressions(url: str | None = None, at: dt.datetime | None = None) -> list[ActiveSuppression]:
    """Suppressions active at ``at`` (default: now, CST), ordered by id, detached from the session."""
    at = at or now_cst()
    t = Suppression.__table__
    stmt = (
        sa.select(t)
        .where(t.c.approved_at <= at)
        .where(sa.or_(t.c.revoked_at.is_(None), t.c.revoked_at > at))
        .where(sa.or_(t.c.expires_at.is_(None), t.c.expires_at > at))
        .order_by(t.c.suppression_id)
    )
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).fetchall()
    return [ActiveSuppression(**{k: r._mapping[k] for k in ActiveSuppression.__dataclass_fields__}) for r in rows]


def _check_period(name: str, v: str | None) -> None:
    if v is not None and not _PERIOD.match(v):
        raise SuppressionError(f"{name}={v!r} is not a YYYY-MM month; give e.g. '2024-03' or None for open")


def approve_suppression(
    url: str | None,
    *,
    rule_code: str,
    reason: str,
    approved_by: str,
    enterprise_id: str | None = None,
    unit_id: str | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
    expires_at: dt.datetime | None = None,
    approved_at: dt.datetime | None = None,
) -> int:
    """Store an approved suppression and return its id.

    Raises:
        SuppressionError: unknown rule code, blank reason/approver, malformed or reversed period range,
            expiry not after approval.
    """
    if rule_code not in CATALOGUE:
        raise SuppressionError(f"unknown rule code {rule_code!r}; see carbonqa.catalogue.CATALOGUE")
    if not reason or not reason.strip():
        raise SuppressionError("a suppression needs a reason (why the finding is legitimate)")
    if not approved_by or not approved_by.strip():
        raise SuppressionError("a suppression needs the approver's username (approved_by)")
    _check_period("period_from", period_from)
    _check_period("period_to", period_to)
    if period_from and period_to and period_from > period_to:
        raise SuppressionError(f"period_from {period_from} is after period_to {period_to}")
    approved_at = approved_at or now_cst()
    if expires_at is not None and expires_at <= approved_at:
        raise SuppressionError(f"expires_at {expires_at} must be after approval {approved_at}")
    t = Suppression.__table__
    with get_engine(url).begin() as conn:
        res = conn.execute(
            sa.insert(t).values(rule_code=rule_code, enterprise_id=enterprise_id, unit_id=unit_id,
                                period_from=period_from, period_to=period_to, reason=reason.strip(),
                                approved_by=approved_by.strip(), approved_at=approved_at, expires_at=expires_at)
            .returning(t.c.suppression_id)
        )
        return int(res.scalar_one())


def revoke_suppression(url: str | None, suppression_id: int, *, revoked_by: str,
                       at: dt.datetime | None = None) -> None:
    """Revoke a suppression from ``at`` on (default now, CST); it stays stored for the audit trail.

    ``revoked_by`` is recorded by appending to the reason (the model has no separate column).

    Raises:
        KeyError: no suppression with that id.
        SuppressionError: already revoked, or blank ``revoked_by``.
    """
    if not revoked_by or not revoked_by.strip():
        raise SuppressionError("revoke_suppression needs revoked_by (username)")
    at = at or now_cst()
    t = Suppression.__table__
    with get_engine(url).begin() as conn:
        row = conn.execute(sa.select(t.c.revoked_at, t.c.reason).where(t.c.suppression_id == suppression_id)).first()
        if row is None:
            raise KeyError(f"no suppression with id {suppression_id}")
        if row.revoked_at is not None:
            raise SuppressionError(f"suppression {suppression_id} was already revoked at {row.revoked_at}")
        conn.execute(sa.update(t).where(t.c.suppression_id == suppression_id).values(
            revoked_at=at, reason=f"{row.reason} [revoked by {revoked_by.strip()} at {at:%Y-%m-%d %H:%M}]"))
