"""Workflow actions of the dashboard: thin calls into ``carbonqa.cases`` with user-facing error text.

The dashboard never writes to the store itself: every action is one call of the agreed
``carbonqa.cases`` API (``transition``, ``assign``, ``add_note``, ``record_outcome``); jurisdiction,
the workflow and optimistic locking are enforced there. After a successful write the cached reads are
dropped (:func:`dashboard.data.after_write`) so the case history shows the change at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carbonqa import cases, contract
from carbonqa.jurisdiction import PermissionDenied, Scope
from dashboard import data
from dashboard.i18n import t

#: Workflow position of each status: a move to an earlier position is a step back (asks to confirm).
_ORDER = {s: i for i, s in enumerate(contract.CASE_STATUSES)}
_CLOSED = ("confirmed", "dismissed", "suppressed")


def is_backward(current: str, to: str) -> bool:
    """Whether moving a case from ``current`` to ``to`` is a step back in the workflow (a reopening of a
    closed case included): such moves undo work and are confirmed explicitly by the reviewer."""
    if current in _CLOSED:
        return to not in _CLOSED
    return _ORDER.get(to, 99) < _ORDER.get(current, 99)


def error_text(exc: BaseException) -> str:
    """A user-facing message for an error of ``carbonqa.cases`` in the reader's language.

    The exception's own text is never shown: it is English and may name another jurisdiction's case,
    province, city or user (an existence oracle); a missing and an out-of-scope case read alike.
    """
    if isinstance(exc, cases.StaleCaseError):
        return t("a.stale")
    if isinstance(exc, cases.CaseNotFound | PermissionDenied):
        return t("a.not_found")
    if isinstance(exc, cases.AssignmentError):
        return t("a.assign_failed")
    if isinstance(exc, cases.InvalidTransition):
        return t("a.invalid_move")
    return t("a.failed")


def run_action(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, str]:
    """Call one ``carbonqa.cases`` action; return ``(ok, message)`` in the session's language."""
    try:
        fn(*args, **kwargs)
    except cases.StaleCaseError as exc:
        data.after_write()
        return False, error_text(exc)
    except (cases.CaseError, PermissionDenied, ValueError) as exc:
        return False, error_text(exc)
    data.after_write()
    return True, t("a.done")


def bulk_assign(
    scope: Scope,
    db: str,
    case_ids: list[str],
    assignee: str,
    versions: dict[str, int],
    statuses: dict[str, str],
    *,
    triage_new: bool = True,
) -> tuple[int, list[tuple[str, str]]]:
    """Assign several cases to ``assignee``; ``new`` cases are triaged first when ``triage_new``.

    Each case is its own transaction with its own expected ``lock_version`` (from the queue the
    reviewer saw): one stale or forbidden case does not stop the others. Returns ``(assigned,
    [(case_id, error)…])``.
    """
    done, errors = 0, []
    for cid in case_ids:
        try:
            version = versions.get(cid)
            if statuses.get(cid) == "new":
                if not triage_new:
                    raise cases.InvalidTransition("new → assigned: triage first")
                c = cases.transition(cid, "triaged", scope, version, url=db)
                version = c.lock_version
            cases.assign(cid, assignee, scope, version, url=db)
            done += 1
        except (cases.CaseError, PermissionDenied, ValueError) as exc:
            errors.append((cid, error_text(exc)))
    data.after_write()
    return done, errors


def suppression_module() -> Any:
    """``carbonqa.suppression`` if it is installed, else ``None`` (the page then says so)."""
    import importlib

    try:
        return importlib.import_module("carbonqa.suppression")
    except ImportError:
        return None


def approve_suppression(scope: Scope, db: str, **fields: Any) -> tuple[bool, str]:
    """Approve a suppression (national users only) via ``carbonqa.suppression``; ``(ok, message)``.

    ``fields``: ``rule_code, reason, enterprise_id, unit_id, period_from, period_to, expires_at``.
    """
    mod = suppression_module()
    if mod is None:
        return False, t("r.unavailable")
    if scope.role != "national":
        return False, t("r.national_only")
    try:
        mod.approve_suppression(db, approved_by=scope.username, **fields)
    except (ValueError, LookupError):
        return False, t("a.failed")
    data.after_write()
    return True, t("a.done")


def revoke_suppression(scope: Scope, db: str, suppression_id: int, reason: str | None) -> tuple[bool, str]:
    """Revoke a suppression (national users only) via ``carbonqa.suppression``; the reason is kept."""
    mod = suppression_module()
    if mod is None:
        return False, t("r.unavailable")
    if scope.role != "national":
        return False, t("r.national_only")
    who = scope.username + (f" ({reason.strip()})" if reason and reason.strip() else "")
    try:
        mod.revoke_suppression(db, suppression_id, revoked_by=who)
    except (ValueError, LookupError):
        return False, t("a.failed")
    data.after_write()
    return True, t("a.done")
