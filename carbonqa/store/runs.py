"""Screening-run bookkeeping that must survive crashes: closing runs a killed process left ``running``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carbonqa.store.models import ScreeningRun, now_cst

__all__ = ["INTERRUPTED", "close_interrupted"]

#: ``error`` of a run closed because a later run started while it was still marked ``running``.
INTERRUPTED = "interrupted"


def close_interrupted(session: Session, starting_run_id: str) -> list[str]:
    """Mark every other ``running`` run ``failed`` with error ``"interrupted"``; return their ids (sorted).

    Called when a run starts. Runs of one store are serialised (the nightly DAG has
    ``max_active_runs=1``; a CLI ``screen`` is a run too), so a run still ``running`` when another one
    starts is one whose process was killed (kill -9, OOM, a lost worker) and whose failure callback
    never ran. Its findings and partition counts stay as written; only its status is closed. A retry
    of ``starting_run_id`` itself (Airflow re-running the same night) is left alone.
    """
    stale = list(session.scalars(
        sa.select(ScreeningRun).where(ScreeningRun.status == "running", ScreeningRun.run_id != starting_run_id)
        .order_by(ScreeningRun.run_id)
    ))
    for run in stale:
        run.status, run.error, run.finished_at = "failed", INTERRUPTED, now_cst()
    return [r.run_id for r in stale]
