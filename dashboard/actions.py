"""Workflow actions of the dashboard: thin calls into ``carbonqa.cases`` with user-facing error text.

The dashboard never writes to the store itself: every action is one call of the agreed
``carbonqa.cases`` API (``transition``, ``assign``, ``add_note``, ``record_outcome``); jurisdiction,
the workflow and optimistic locking are enforced there. After a successful write the cached reads are
dropped (:func:`dashboard.data.after_write`) so the case history shows the change at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carbonqa import cases
from carbonqa.jurisdiction import PermissionDenied, Scope
from dashboard import data
from dashboard.i18n import t


def run_action(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, str]:
    """Call one ``carbonqa.cases`` action; return ``(ok, message)`` in the session's language."""
    try:
        fn(*args, **kwargs)
    except cases.StaleCaseError:
        data.after_write()
        return False, t("a.stale")
    except (cases.CaseError, PermissionDenied, ValueError) as exc:
        return False, t("a.error", err=str(exc))
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
                    raise cases.InvalidTransition(t("a.error", err="new → assigned: triage first"))
                c = cases.transition(cid, "triaged", scope, version, url=db)
                version = c.lock_version
            cases.assign(cid, assignee, scope, version, url=db)
            done += 1
        except cases.StaleCaseError:
            errors.append((cid, t("a.stale")))
        except (cases.CaseError, PermissionDenied, ValueError) as exc:
            errors.append((cid, str(exc)))
    data.after_write()
    return done, errors


def suppression_module() -> Any:
    """``carbonqa.suppression`` if it is installed, else ``None`` (the page then says so)."""
    import importlib

    try:
        return importlib.import_module("carbonqa.suppression")
    except ImportError:
        return None


def _call_with(fn: Callable[..., Any], **available: Any) -> Any:
    """Call ``fn`` with the keyword arguments its signature names (the agreed API may add optional ones)."""
    import inspect

    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(**available)
    return fn(**{k: v for k, v in available.items() if k in params})


def approve_suppression(scope: Scope, db: str, **fields: Any) -> tuple[bool, str]:
    """Approve a suppression through ``carbonqa.suppression.approve_suppression``; ``(ok, message)``."""
    mod = suppression_module()
    if mod is None:
        return False, t("r.unavailable")
    if not (fields.get("reason") or "").strip():
        return False, t("a.error", err=t("r.reason"))
    try:
        _call_with(mod.approve_suppression, **fields, user=scope, scope=scope, approved_by=scope.username, url=db)
    except (PermissionDenied, ValueError, LookupError, RuntimeError) as exc:
        return False, t("a.error", err=str(exc))
    data.after_write()
    return True, t("a.done")


def revoke_suppression(scope: Scope, db: str, suppression_id: int, reason: str | None) -> tuple[bool, str]:
    """Revoke a suppression through ``carbonqa.suppression.revoke_suppression``; ``(ok, message)``."""
    mod = suppression_module()
    if mod is None:
        return False, t("r.unavailable")
    try:
        _call_with(mod.revoke_suppression, suppression_id=suppression_id, user=scope, scope=scope,
                   revoked_by=scope.username, reason=reason, url=db)
    except (PermissionDenied, ValueError, LookupError, RuntimeError) as exc:
        return False, t("a.error", err=str(exc))
    data.after_write()
    return True, t("a.done")
