"""Case ids and the row helpers the case modules share; finding storage itself is the findings store.

**Findings.** :func:`store_findings` (:mod:`carbonqa.store.findings`, re-exported here) is idempotent: new
finding ids are inserted, existing rows only get ``last_run_id`` updated — a finding row is otherwise
immutable. :func:`case_id_for` is the case id of an
enterprise-year, ``CQ-<year>-<enterprise_id>`` (stable across nights: deterministic from what the case
is about).

Row helpers used by :mod:`carbonqa.cases.update` and :mod:`carbonqa.cases.export`: :func:`_chunks`
(``IN (…)`` lists under SQLite's bound-parameter limit) and :func:`_insert_ignore` (``INSERT … ON CONFLICT
DO NOTHING`` on PostgreSQL and SQLite), both from the findings store, and :func:`_jsonable` (dates → ISO 8601 strings for JSON
columns).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from carbonqa.store.findings import store_findings

__all__ = ["case_id_for", "store_findings"]


def case_id_for(enterprise_id: str, year: int) -> str:
    """Stable case id of an enterprise-year: ``CQ-<year>-<enterprise_id>``."""
    return f"CQ-{int(year)}-{enterprise_id}"


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in d.items()}
