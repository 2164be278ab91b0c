"""Findings → cases; the joint-review workflow; the audit trail; the case export (CONTRACT.md §5).

One case per enterprise and reporting year (``CQ-<year>-<enterprise_id>``), opened by a policy, rescored
every night, worked through a role-checked workflow and exported; agency cases (机构案件) are the
intermediaries' counterpart. ``from carbonqa import cases`` gives the whole public API below; each
module's docstring says how its part works.

Package map (every name on the right is re-exported here, except the agency cases)::

    carbonqa/cases/
    ├── storage.py   finding storage: case_id_for, store_findings (idempotent, immutable rows);
    │                row helpers _chunks, _insert_ignore, _jsonable
    ├── policy.py    which findings open a case: CASE_POLICY, opening_reason, opens_case
    ├── summary.py   one sentence per case, zh/en phrasebook: case_summary, summary_zh, summary_en
    ├── update.py    the nightly update: update_cases (attach, open, rescore, re-rank), load_calibration,
    │                run_provinces, values_differ
    ├── workflow.py  the state machine and audit trail: TRANSITIONS, OPEN_STATUSES, allowed_transitions,
    │                transition, assign, add_note, record_outcome, get_case
    ├── export.py    the case export: case_frame, export_cases, write_sidecar, p_confirm_of
    └── agency.py    agency cases (机构案件): update_agency_cases, agency_summary (zh/en phrasebook),
                     agency_case_frame, export_agency_cases, agency_export_bytes … — import it as
                     ``carbonqa.cases.agency``

Dependencies point one way: ``update`` uses ``storage``, ``policy`` and ``summary``; ``agency`` uses
``update``; ``export`` uses ``storage``; ``storage``, ``policy``, ``summary`` and ``workflow``
use no other module of the package, and none imports from this ``__init__``.

Errors (:mod:`carbonqa.errors`: the whole tree, re-exported here)::

    CaseError                         base of the case errors
    ├── CaseNotFound (KeyError)       no case with that id (the same class as carbonqa.queries raises)
    ├── InvalidTransition (ValueError) the workflow forbids it for this status / role, or data missing
    ├── AssignmentError (ValueError)  assignee unknown, inactive or outside the case's jurisdiction
    └── StaleCaseError                someone changed the case since you loaded it: reload
    PermissionDenied (carbonqa.jurisdiction)  outside the actor's jurisdiction, or read-only
"""

from __future__ import annotations

from carbonqa.cases.export import case_frame, export_cases, p_confirm_of, write_sidecar
from carbonqa.cases.policy import CASE_POLICY, opening_reason, opens_case
from carbonqa.cases.storage import case_id_for, store_findings
from carbonqa.cases.summary import case_summary, summary_en, summary_zh
from carbonqa.cases.update import load_calibration, run_provinces, update_cases, values_differ
from carbonqa.cases.workflow import (
    OPEN_STATUSES,
    TRANSITIONS,
    add_note,
    allowed_transitions,
    assign,
    get_case,
    record_outcome,
    transition,
)
from carbonqa.cases.workflow import _load_case as _load_case  # read by tests; patch it in .workflow
from carbonqa.errors import AssignmentError, CaseError, CaseNotFound, InvalidTransition, StaleCaseError
from carbonqa.jurisdiction import PermissionDenied

__all__ = [
    "TRANSITIONS",
    "OPEN_STATUSES",
    "CaseError",
    "CaseNotFound",
    "InvalidTransition",
    "AssignmentError",
    "StaleCaseError",
    "PermissionDenied",
    "case_id_for",
    "store_findings",
    "update_cases",
    "load_calibration",
    "CASE_POLICY",
    "opening_reason",
    "opens_case",
    "p_confirm_of",
    "run_provinces",
    "values_differ",
    "write_sidecar",
    "case_summary",
    "summary_zh",
    "summary_en",
    "allowed_transitions",
    "transition",
    "assign",
    "add_note",
    "record_outcome",
    "get_case",
    "case_frame",
    "export_cases",
]
