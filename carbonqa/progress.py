"""Live progress of a night, read from the store (issue 13 item 7: a run command a person can watch).

The nightly DAG runs in another process (``airflow dags test`` in ``scripts/nightly.sh``, or a scheduler),
and every stage records what it did on the run row (:mod:`carbonqa.pipeline`): the bundles ingested,
each partition's ``screen`` stage, each year's ``detect`` and ``national`` stages, the cases. So the
progress of a night is a read of that row, whichever process runs it — :func:`night_progress` — and
``carbonqa runs watch`` draws it with `rich <https://rich.readthedocs.io>`_ progress bars until the
night's process exits.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from carbonqa.store.db import get_engine
from carbonqa.store.models import ScreenedPartition, ScreeningRun

__all__ = ["StageProgress", "NightProgress", "night_progress", "watch"]

#: Stages of a night in order, with their zh-CN / English labels.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("ingest", "接收数据包", "ingest bundles"),
    ("screen", "分省规则筛查", "rules per province"),
    ("detect", "全国异常检测", "national detectors"),
    ("national", "核查机构检测", "verifier detectors"),
    ("cases", "案件评分排序", "cases"),
)


@dataclass(frozen=True)
class StageProgress:
    """One stage: ``done`` of ``total`` steps (``total`` ``None`` while unknown), and a short note."""

    name: str
    done: int
    total: int | None
    note: str = ""


@dataclass(frozen=True)
class NightProgress:
    """Where a night stands: its id, status (``running`` | ``success`` | ``failed``) and its stages."""

    run_id: str
    status: str
    stages: list[StageProgress] = field(default_factory=list)
    error: str | None = None

    @property
    def finished(self) -> bool:
        """True once the run is no longer ``running``."""
        return self.status != "running"


def _obj(v: Any) -> dict[str, Any]:
    return json.loads(v) if isinstance(v, str) else dict(v or {})


def night_progress(run_id: str | None = None, url: str | None = None) -> NightProgress | None:
    """The progress of run ``run_id`` (default: the latest started), or ``None`` when there is none.

    Steps: ``ingest`` — bundles recorded on the run (total unknown until the plan); ``screen`` —
    partitions whose rules stage is recorded, of the partitions the run knows (screened or detected);
    ``detect`` / ``national`` — years done of the years planned; ``cases`` — 1 once cases were updated.
    """
    t = ScreeningRun.__table__
    q = sa.select(t.c.run_id, t.c.status, t.c.bundle_ids, t.c.counts, t.c.error)
    q = q.where(t.c.run_id == run_id) if run_id else q.order_by(t.c.started_at.desc()).limit(1)
    with get_engine(url).connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None:
        return None
    counts = _obj(row["counts"])
    bundles = row["bundle_ids"]
    bundles = json.loads(bundles) if isinstance(bundles, str) else list(bundles or [])
    parts = _obj(counts.get("partitions"))
    sp = ScreenedPartition.__table__
    with get_engine(url).connect() as conn:  # the findings store's record of what was screened
        done = conn.execute(
            sa.select(sp.c.year, sp.c.province_code, sp.c.stage).where(sp.c.run_id == row["run_id"])
        ).all()
    screened = {(y, p) for y, p, st in done if st == "screen"}
    known = {(y, p) for y, p, _ in done}
    years = sorted({str(y) for y, _ in known} | set(_obj(counts.get("detect"))))
    detect, national = _obj(counts.get("detect")), _obj(counts.get("national"))
    findings = sum(int(_obj(v).get("findings") or 0) for v in parts.values()) + sum(
        int(_obj(v).get("findings") or 0) for v in national.values()
    )
    cases = _obj(counts.get("cases"))
    stages = [
        StageProgress("ingest", len(bundles), None, f"{len(bundles)} bundle(s)"),
        StageProgress("screen", len(screened), len(known) or None, f"{findings:,} findings"),
        StageProgress("detect", len(detect), len(years) or None),
        StageProgress("national", len(national), len(years) or None),
        StageProgress(
            "cases", 1 if cases else 0, 1, f"{int(cases.get('cases') or 0):,} cases" if cases else ""
        ),
    ]
    return NightProgress(str(row["run_id"]), str(row["status"]), stages, row["error"])


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(
    pid: int | None = None,
    run_id: str | None = None,
    url: str | None = None,
    poll_s: float = 1.0,
    lang: str = "zh",
) -> NightProgress | None:
    """Draw the night's progress until it finishes or process ``pid`` exits; return the last progress.

    Waits for a run newer than the latest one at call time when ``run_id`` is not given (the night
    being started by ``pid``). Uses rich's live progress bars on a terminal and plain lines otherwise.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    before = night_progress(None, url)
    start_id = None if run_id else (before.run_id if before else None)
    console = Console(stderr=False)
    label = {name: (zh if lang == "zh" else en) for name, zh, en in STAGES}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        tasks = {name: bar.add_task(label[name], total=None, note="") for name, _, _ in STAGES}
        last: NightProgress | None = None
        printed: dict[str, tuple[int, int | None]] = {}
        while True:
            cur = night_progress(run_id, url)
            if cur is not None and (run_id or cur.run_id != start_id or cur.status == "running"):
                last = cur
                for s in cur.stages:
                    bar.update(tasks[s.name], completed=s.done, total=s.total, note=s.note)
                    if not console.is_terminal and printed.get(s.name) != (s.done, s.total) and s.done:
                        printed[s.name] = (s.done, s.total)
                        console.print(f"   {label[s.name]}: {s.done}/{s.total or '?'} {s.note}")
                if cur.finished:
                    break
            if not _alive(pid):
                break
            time.sleep(poll_s)
    return last
