"""The joint-review workflow and its audit trail: who may move a case where, with what checks.

:data:`TRANSITIONS` is the whole state machine (N national, P provincial, M municipal):

========================  =================================================  ===========
from                      to                                                 who
========================  =================================================  ===========
new                       triaged, dismissed (desk review), suppressed       N P
triaged                   assigned (via :func:`assign`), dismissed, suppressed  N P
assigned                  inspection_scheduled                               N P M
assigned                  triaged (sent back; assignee cleared)              N P
inspection_scheduled      confirmed, dismissed (:func:`record_outcome`),      N P M
                          assigned (inspection called off / rescheduled)
confirmed / dismissed /   triaged (reopen; outcome fields cleared, the       N P
suppressed                inspection labels stay)
========================  =================================================  ===========

National and provincial reviewers triage, assign, suppress, dismiss on desk review and reopen;
municipal inspectors schedule the inspection and record its outcome; auditors are read-only. Every
action takes the acting :class:`~carbonqa.store.models.User` (or a
:class:`~carbonqa.jurisdiction.Scope`), re-reads that user's role, jurisdiction and active flag from the
store in the writing transaction (a deactivated user's old scope writes nothing) and calls
``Scope.require(..., write=True)``: a municipal user cannot touch another city's case (:class:`~carbonqa.jurisdiction.PermissionDenied`). Assignment goes
to an active user whose jurisdiction contains the case; a provincial reviewer assigns to a municipal
inspector of the case's city. Every change is an append-only :class:`~carbonqa.store.models.CaseEvent`
(who, when, before, after); inspection outcomes are also kept as
:class:`~carbonqa.store.models.InspectionLabel` for later learning.

**Concurrency.** Actions that change the case row take ``expected_lock_version`` (the version the
reviewer saw). A different current version, or a concurrent commit between read and write (the
``UPDATE … WHERE lock_version = n`` of SQLAlchemy's ``version_id_col`` matching no row), raises
:class:`~carbonqa.errors.StaleCaseError` and nothing is written: no update is ever lost silently.

Every write goes through :func:`_mutate` (re-read the actor with :func:`_scope`, load with
:func:`_load_case`, check jurisdiction and version, apply, flush) and records an event with
:func:`_event`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from carbonqa import contract
from carbonqa.errors import AssignmentError, CaseNotFound, InvalidTransition, StaleCaseError
from carbonqa.jurisdiction import PermissionDenied, Scope
from carbonqa.store.db import session_scope
from carbonqa.store.models import Case, CaseEvent, InspectionLabel, User, now_cst

__all__ = [
    "TRANSITIONS",
    "OPEN_STATUSES",
    "allowed_transitions",
    "transition",
    "assign",
    "add_note",
    "record_outcome",
    "get_case",
]

_ROLES_REVIEW = ("national", "provincial")
_ROLES_ALL = ("national", "provincial", "municipal")

#: The workflow: ``TRANSITIONS[from_status][to_status]`` = roles allowed to make that move.
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "new": {"triaged": _ROLES_REVIEW, "dismissed": _ROLES_REVIEW, "suppressed": _ROLES_REVIEW},
    "triaged": {"assigned": _ROLES_REVIEW, "dismissed": _ROLES_REVIEW, "suppressed": _ROLES_REVIEW},
    "assigned": {"inspection_scheduled": _ROLES_ALL, "triaged": _ROLES_REVIEW},
    "inspection_scheduled": {"confirmed": _ROLES_ALL, "dismissed": _ROLES_ALL, "assigned": _ROLES_ALL},
    "confirmed": {"triaged": _ROLES_REVIEW},
    "dismissed": {"triaged": _ROLES_REVIEW},
    "suppressed": {"triaged": _ROLES_REVIEW},
}
assert set(TRANSITIONS) == set(contract.CASE_STATUSES)

#: Statuses of cases still being worked on.
OPEN_STATUSES: tuple[str, ...] = ("new", "triaged", "assigned", "inspection_scheduled")

#: Statuses from which :func:`assign` may (re)assign a case.
_ASSIGNABLE = ("triaged", "assigned", "inspection_scheduled")


def _scope(user: User | Scope, s: Session | None = None) -> Scope:
    """The acting user's scope; with a session, re-read from the store on every write.

    A :class:`Scope` (or a ``User`` loaded at sign-in) only names the actor: role, jurisdiction and
    active flag are read again from ``users`` in the writing transaction, so a user deactivated or
    moved since signing in cannot write with the old scope. Raises :class:`PermissionDenied` for an
    unknown or deactivated user.
    """
    scope = user if isinstance(user, Scope) else Scope.of(user)
    if s is None:
        return scope
    stored = s.scalars(sa.select(User).where(User.username == scope.username)).one_or_none()
    if stored is None or not stored.is_active:
        raise PermissionDenied(
            f"user {scope.username!r} is unknown or deactivated: nothing written (sign in again)"
        )
    return Scope.of(stored)


def allowed_transitions(status: str, role: str) -> list[str]:
    """Statuses a user of ``role`` may move a case in ``status`` to (in contract order).

    Raises:
        ValueError: unknown status.
    """
    if status not in TRANSITIONS:
        raise ValueError(f"unknown case status {status!r}; expected one of {contract.CASE_STATUSES}")
    nxt = TRANSITIONS[status]
    return [s for s in contract.CASE_STATUSES if s in nxt and role in nxt[s]]


def _load_case(s: Session, case_id: str) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id!r}")
    return case


T = TypeVar("T")


def _mutate(
    case_id: str,
    user: User | Scope,
    expected_lock_version: int | None,
    url: str | None,
    fn: Callable[[Session, Case, Scope], T],
) -> T:
    """Re-read the actor, load, check jurisdiction and version, apply ``fn``, flush, commit."""
    with session_scope(url) as s:
        scope = _scope(user, s)
        case = _load_case(s, case_id)
        scope.require(case.province_code, case.city_name, write=True)
        if expected_lock_version is not None and case.lock_version != expected_lock_version:
            raise StaleCaseError(case_id, expected_lock_version, case.lock_version)
        result = fn(s, case, scope)
        try:
            s.flush()
        except StaleDataError as exc:
            raise StaleCaseError(case_id, expected_lock_version, None) from exc
        return result


def _check_move(case: Case, to_status: str, scope: Scope) -> None:
    if to_status not in contract.CASE_STATUSES:
        raise InvalidTransition(
            f"unknown case status {to_status!r}; expected one of {contract.CASE_STATUSES}"
        )
    roles = TRANSITIONS[case.status].get(to_status)
    if roles is None:
        raise InvalidTransition(
            f"case {case.case_id}: {case.status} → {to_status} is not a workflow move; "
            f"from {case.status} the moves are {sorted(TRANSITIONS[case.status])}"
        )
    if scope.role not in roles:
        raise InvalidTransition(
            f"case {case.case_id}: a {scope.role} user may not move {case.status} → {to_status} (allowed: {list(roles)})"
        )


def _event(
    s: Session,
    case: Case,
    scope: Scope,
    action: str,
    before: dict | None,
    after: dict | None,
    note: str | None = None,
) -> None:
    s.add(
        CaseEvent(
            case_id=case.case_id, actor=scope.username, action=action, before=before, after=after, note=note
        )
    )


def transition(
    case_id: str,
    to_status: str,
    user: User | Scope,
    expected_lock_version: int | None,
    note: str | None = None,
    url: str | None = None,
) -> Case:
    """Move a case along the workflow (:data:`TRANSITIONS`).

    ``confirmed`` / ``dismissed`` delegate to :func:`record_outcome` (the note is the dismissal reason,
    which is required). Moving to ``assigned`` needs an assignee already on the case (use
    :func:`assign`). Reopening (→ ``triaged``) clears the assignee and outcome fields on the case;
    the inspection labels stay.

    Args:
        case_id: the case.
        to_status: target status (contract vocabulary).
        user: the acting user (or their scope).
        expected_lock_version: ``lock_version`` the user saw (``None`` skips the pre-check; scripts only).
        note: optional free text kept on the event.
        url: case-store URL (default: settings).

    Returns:
        The updated case (detached).

    Raises:
        CaseNotFound, PermissionDenied, InvalidTransition, StaleCaseError.
    """
    if to_status in ("confirmed", "dismissed"):
        return record_outcome(case_id, to_status, user, expected_lock_version, reason=note, url=url)

    def fn(s: Session, case: Case, scope: Scope) -> Case:
        _check_move(case, to_status, scope)
        before: dict[str, Any] = {"status": case.status}
        after: dict[str, Any] = {"status": to_status}
        if to_status == "assigned" and case.assignee_user_id is None:
            raise InvalidTransition(f"case {case.case_id}: assign an inspector with cases.assign() first")
        if to_status == "triaged" and case.status != "new":
            before |= {
                "assignee": _username(s, case.assignee_user_id),
                "outcome_pattern": case.outcome_pattern,
                "dismissal_reason": case.dismissal_reason,
            }
            after |= {"assignee": None, "outcome_pattern": None, "dismissal_reason": None}
            case.assignee_user_id = None
            case.outcome_pattern = None
            case.dismissal_reason = None
        case.status = to_status
        case.updated_at = now_cst()
        _event(s, case, scope, "status", before, after, note)
        return case

    return _mutate(case_id, user, expected_lock_version, url, fn)


def _username(s: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    u = s.get(User, user_id)
    return u.username if u is not None else None


def assign(
    case_id: str,
    assignee_username: str,
    user: User | Scope,
    expected_lock_version: int | None,
    url: str | None = None,
) -> Case:
    """Assign (or reassign) a case to an inspector.

    Allowed from ``triaged`` (→ ``assigned``), ``assigned`` and ``inspection_scheduled`` (status kept)
    by national and provincial reviewers. The assignee must be an active, non-auditor user whose
    jurisdiction contains the case; a provincial reviewer assigns only to municipal inspectors of the
    case's city.

    Raises:
        CaseNotFound, PermissionDenied, InvalidTransition, AssignmentError, StaleCaseError.
    """

    def fn(s: Session, case: Case, scope: Scope) -> Case:
        if scope.role not in _ROLES_REVIEW:
            raise InvalidTransition(f"case {case.case_id}: a {scope.role} user may not assign cases")
        if case.status not in _ASSIGNABLE:
            raise InvalidTransition(
                f"case {case.case_id}: cannot assign a case in status {case.status} (triage it first)"
            )
        a = s.scalars(sa.select(User).where(User.username == assignee_username)).one_or_none()
        if a is None:
            raise AssignmentError(f"no user {assignee_username!r}")
        if not a.is_active or a.role == "auditor":
            raise AssignmentError(
                f"user {assignee_username!r} cannot take cases ({a.role}, active={a.is_active})"
            )
        if not Scope.of(a).allows(case.province_code, case.city_name):
            raise AssignmentError(
                f"{assignee_username} ({a.role} {a.province_code or ''} {a.city_name or ''}) is outside case "
                f"{case.case_id} (province {case.province_code}, city {case.city_name})"
            )
        if scope.role == "provincial" and a.role != "municipal":
            raise AssignmentError(
                f"a provincial reviewer assigns to municipal inspectors of {case.city_name}; {assignee_username} is {a.role}"
            )
        before = {"assignee": _username(s, case.assignee_user_id), "status": case.status}
        case.assignee_user_id = a.user_id
        if case.status == "triaged":
            case.status = "assigned"
        case.updated_at = now_cst()
        _event(s, case, scope, "assign", before, {"assignee": a.username, "status": case.status})
        return case

    return _mutate(case_id, user, expected_lock_version, url, fn)


def add_note(case_id: str, text: str, user: User | Scope, url: str | None = None) -> int:
    """Append a note to a case's audit trail (the case row is untouched: no version bump).

    Returns:
        The new event id.

    Raises:
        CaseNotFound, PermissionDenied, ValueError (empty note).
    """
    if not text or not text.strip():
        raise ValueError("a note needs some text")
    with session_scope(url) as s:
        scope = _scope(user, s)
        case = _load_case(s, case_id)
        scope.require(case.province_code, case.city_name, write=True)
        ev = CaseEvent(
            case_id=case_id, actor=scope.username, action="note", before=None, after=None, note=text.strip()
        )
        s.add(ev)
        s.flush()
        return int(ev.event_id)


def record_outcome(
    case_id: str,
    outcome: str,
    user: User | Scope,
    expected_lock_version: int | None,
    family: str | None = None,
    pattern: str | None = None,
    reason: str | None = None,
    url: str | None = None,
) -> Case:
    """Record an inspection (or desk-review) outcome: the case becomes ``confirmed`` or ``dismissed``.

    The outcome is also stored as an :class:`~carbonqa.store.models.InspectionLabel` (with the case's
    rule codes) for later learning.

    Args:
        outcome: ``confirmed`` or ``dismissed``.
        family: confirmed pattern's family (contract vocabulary), optional but recommended.
        pattern: free-text pattern name, e.g. ``moisture_inflation``.
        reason: why it was dismissed (required for ``dismissed``).

    Raises:
        CaseNotFound, PermissionDenied, InvalidTransition (move not allowed, missing reason, bad family),
        StaleCaseError.
    """
    if outcome not in ("confirmed", "dismissed"):
        raise InvalidTransition(f"outcome must be 'confirmed' or 'dismissed', got {outcome!r}")
    if family is not None and family not in contract.FAMILIES:
        raise InvalidTransition(f"family {family!r} not in {contract.FAMILIES}")
    if outcome == "dismissed" and not (reason and reason.strip()):
        raise InvalidTransition("a dismissal needs a reason (驳回需说明理由)")

    def fn(s: Session, case: Case, scope: Scope) -> Case:
        _check_move(case, outcome, scope)
        before = {"status": case.status}
        case.status = outcome
        if outcome == "confirmed":
            case.outcome_pattern = ":".join(x for x in (family, pattern) if x) or None
            case.dismissal_reason = None
        else:
            case.dismissal_reason = reason.strip() if reason else None
            case.outcome_pattern = None
        case.updated_at = now_cst()
        s.add(
            InspectionLabel(
                case_id=case.case_id,
                enterprise_id=case.enterprise_id,
                unit_id=case.unit_id,
                year=case.year,
                outcome=outcome,
                family=family,
                pattern=pattern,
                reason=reason,
                rule_codes=case.rule_codes,
                recorded_by=scope.username,
            )
        )
        after = {"status": outcome, "family": family, "pattern": pattern, "reason": reason}
        _event(s, case, scope, "outcome", before, after, reason)
        return case

    return _mutate(case_id, user, expected_lock_version, url, fn)


def get_case(case_id: str, user: User | Scope, url: str | None = None) -> Case:
    """One case (detached) if the reader may see it; raises ``CaseNotFound`` / ``PermissionDenied``."""
    scope = _scope(user)
    with session_scope(url) as s:
        case = _load_case(s, case_id)
        scope.require(case.province_code, case.city_name)
        return case
