"""The one error tree of carbonqa (issue 13).

Every exception the package raises on purpose derives from :class:`CarbonqaError`, so a caller (the CLI, a DAG task, a dashboard page) can catch the whole family
in one clause and a narrower branch where it can act. Where an error is also a classic Python error
(a value, a lookup, a permission) it derives from that builtin too, so ``except ValueError`` keeps
working. A *finding* (a rule or detector result about submitted data) is never an exception.

::

    CarbonqaError
    ├── InputError                        submitted input cannot be taken as it is
    │   ├── BundleError                     (carbonqa.ingest.errors) a bundle cannot be ingested at all
    │   │   ├── BundleNotFoundError           the path is not a directory
    │   │   └── ManifestError                 manifest.json missing / invalid / wrong contract version
    │   │       ├── ManifestMissingError
    │   │       ├── ManifestInvalidError
    │   │       │   └── BundleIdError         bundle_id escapes its folder or is malformed
    │   │       └── ContractVersionError
    │   ├── SuppressionError (ValueError)   (carbonqa.suppression) a malformed suppression request
    │   └── UserError (ValueError)          (carbonqa.auth) a user cannot be created or changed
    ├── AccessError                       who may see or change what
    │   ├── ScopeError (ValueError)         (carbonqa.jurisdiction) a malformed jurisdiction
    │   └── PermissionDenied (PermissionError)  the reader may not see or change this object
    ├── CaseError                         the case workflow (carbonqa.cases)
    │   ├── CaseNotFound (KeyError)         no such case — raised alike for a missing id and for one
    │   │                                   outside the reader's jurisdiction (no existence oracle)
    │   ├── InvalidTransition (ValueError)  the move is not allowed for this status and role
    │   ├── AssignmentError (ValueError)    the assignee cannot take the case
    │   └── StaleCaseError                  the case changed since it was loaded (optimistic lock)
    ├── BriefError (RuntimeError)         (carbonqa.brief) the PDF brief cannot be built
    │   └── CJKFontMissing                  no font with Chinese glyphs
    └── ChecksError (RuntimeError)        (checks.errors) the rule engine itself could not run
        └── ExpectationCrashed              a Great Expectations expectation raised

The leaves live beside the code that raises them (the module in brackets) and are re-exported there;
this module holds the roots and the case errors, which two modules (``carbonqa.cases`` for writes,
``carbonqa.queries`` for scoped reads) raise alike.
"""

from __future__ import annotations

__all__ = [
    "CarbonqaError",
    "InputError",
    "AccessError",
    "CaseError",
    "CaseNotFound",
    "InvalidTransition",
    "AssignmentError",
    "StaleCaseError",
]


class CarbonqaError(Exception):
    """Root of every error carbonqa raises on purpose."""


class InputError(CarbonqaError):
    """Submitted input (a bundle, a request, a user record) cannot be taken as it is; the message says how to fix it."""


class AccessError(CarbonqaError):
    """Who may see or change what: a malformed jurisdiction or a denied read or write."""


class CaseError(CarbonqaError):
    """Base of the errors of the case workflow (:mod:`carbonqa.cases`) and of scoped case reads."""


class CaseNotFound(CaseError, KeyError):
    """No case with this id in the reader's jurisdiction (whether it exists elsewhere is not said)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "case not found"


class InvalidTransition(CaseError, ValueError):
    """The workflow does not allow this move for the case's status and the actor's role."""


class AssignmentError(CaseError, ValueError):
    """The assignee cannot take this case (unknown, inactive, wrong role or jurisdiction)."""


class StaleCaseError(CaseError):
    """The case changed since the reviewer loaded it; nothing was written."""

    def __init__(self, case_id: str, expected: int | None, current: int | None) -> None:
        self.case_id, self.expected, self.current = case_id, expected, current
        super().__init__(
            f"案件 {case_id} 已被他人修改（您看到的版本 {expected}，当前版本 {current}），请刷新后重试。 / "
            f"Case {case_id} was changed by someone else since you loaded it (you saw version {expected}, "
            f"it is now {current if current is not None else 'newer'}); reload the case and try again."
        )
