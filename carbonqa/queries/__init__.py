"""Every read the dashboard makes, scoped by the reader's jurisdiction (国家 / 省 / 市).

Each public function takes the reader's :class:`~carbonqa.jurisdiction.Scope` first and applies it in
SQL (``Scope.clause``) or checks it (``Scope.require``) before anything leaves this module: a municipal
inspector cannot read another city's case by id, through a filter or through an export, whatever the UI
does. Reads return polars frames (picklable, so the dashboard can cache them) or small dataclasses.

One module per dashboard page (``dashboard/app_pages/``): ``_overview``, ``_queue``, ``_case``, ``_rules``,
``_runs``, ``_agencies``, ``_map``; ``_base`` holds the scope-in-SQL helpers and labels, ``_cache`` the national
aggregates of the evidence pack. Import the public names from ``carbonqa.queries``.

| function | what | scoped by |
|---|---|---|
| :func:`overview` | cases and tCO₂ at stake by province / family / status, trend over nights, last run | cases in scope |
| :func:`case_queue` | one page of the filtered, risk-sorted queue with counts | cases in scope |
| :func:`queue_options` | values for the queue's filter widgets | cases in scope |
| :func:`export_queue` | the filtered queue as CSV / XLSX (CONTRACT.md §5 columns) | cases in scope |
| :func:`get_case` | one case row | raises ``CaseNotFound`` (missing and out of scope alike) |
| :func:`case_detail` | the evidence pack of one case | as :func:`get_case` |
| :func:`assignable_users` | who a case in scope may be assigned to | users inside the scope |
| :func:`rules` | the catalogue with fire counts | findings in scope |
| :func:`suppressions` | approved suppressions | national/auditor all; others those touching their enterprises |
| :func:`runs` | screening runs, stage durations, counts, failures | counts and failures cut to the reader's jurisdiction |
| :func:`case_map` | open cases and tCO₂ / CNY at stake per province and city (the map) | cases in scope |
| :func:`agency_queue` | agency cases (机构案件) and their clients | agencies with a client in scope; only in-scope clients |

Errors: :class:`CaseNotFound` (``KeyError``) for an unknown case id *and* for a case outside the
reader's jurisdiction, with the same message: an id answers alike whether it exists elsewhere or not
(no existence oracle).
"""

from carbonqa.errors import CaseNotFound
from carbonqa.jurisdiction import PermissionDenied
from carbonqa.queries._agencies import agency_queue
from carbonqa.queries._base import ACTION_LABELS, OPEN_STATUSES, SORTS, STATUS_LABELS, province_label
from carbonqa.queries._cache import clear_national_cache
from carbonqa.queries._case import (
    CaseDetail,
    actor_label,
    assignable_users,
    case_detail,
    chain_head,
    ensure_visible,
    event_summary,
    get_case,
)
from carbonqa.queries._map import CaseMap, case_map
from carbonqa.queries._overview import Overview, overview
from carbonqa.queries._queue import (
    READABLE_COLUMNS,
    QueueFilter,
    QueuePage,
    case_queue,
    export_queue,
    export_readable,
    queue_options,
)
from carbonqa.queries._rules import rules, suppressions
from carbonqa.queries._runs import run_stages, run_summary, runs

__all__ = [
    "CaseNotFound",
    "PermissionDenied",
    "QueueFilter",
    "QueuePage",
    "Overview",
    "CaseDetail",
    "OPEN_STATUSES",
    "SORTS",
    "overview",
    "case_queue",
    "queue_options",
    "export_queue",
    "export_readable",
    "READABLE_COLUMNS",
    "get_case",
    "case_detail",
    "clear_national_cache",
    "assignable_users",
    "rules",
    "suppressions",
    "runs",
    "run_stages",
    "run_summary",
    "chain_head",
    "ensure_visible",
    "agency_queue",
    "CaseMap",
    "case_map",
    "province_label",
    "STATUS_LABELS",
    "ACTION_LABELS",
    "event_summary",
    "actor_label",
]
