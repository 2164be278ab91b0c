"""Errors of the rule engine (ARCHITECTURE.md convention 9).

A failed check is a :class:`~carbonqa.findings.Finding`, never an exception. Exceptions mean the
engine itself could not run::

    ChecksError (RuntimeError)
    └── ExpectationCrashed   a GX expectation raised while validating a partition (a defect in a rule
                             or a derived column missing from the frame); names the code, the
                             partition and GX's exception message
"""

from __future__ import annotations

from carbonqa.errors import CarbonqaError

__all__ = ["ChecksError", "ExpectationCrashed"]


class ChecksError(CarbonqaError, RuntimeError):
    """Base of every rule-engine error."""


class ExpectationCrashed(ChecksError):
    """A GX expectation raised instead of returning a result (see the message for code and partition)."""
