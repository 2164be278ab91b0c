"""Live progress of a night read from the store (``carbonqa runs watch``)."""

from __future__ import annotations

import subprocess

from carbonqa import pipeline
from carbonqa.progress import night_progress, watch
from tests.carbonqa.test_pipeline import fakes, national_bundle  # noqa: F401 - fixture


def test_progress_follows_the_stages(db_url, tmp_path, fakes, capsys):  # noqa: F811
    assert night_progress(url=db_url) is None
    b = national_bundle(tmp_path / "b1")
    pipeline.start_run("p-1", url=db_url)
    pipeline.ingest_one(str(b), url=db_url, run_id="p-1")
    p = night_progress(url=db_url)
    assert p.run_id == "p-1" and p.status == "running" and not p.finished
    stage = {s.name: s for s in p.stages}
    assert stage["ingest"].done == 1 and stage["screen"].done == 0 and stage["cases"].done == 0

    pipeline.detect_national(2024, "p-1", url=db_url)
    pipeline.screen_partition(2024, "15", "p-1", url=db_url)
    stage = {s.name: s for s in night_progress("p-1", url=db_url).stages}
    assert (stage["screen"].done, stage["screen"].total) == (1, 2)  # one of two provinces screened
    assert (stage["detect"].done, stage["detect"].total) == (1, 1) and stage["national"].done == 0

    pipeline.screen_partition(2024, "37", "p-1", url=db_url)
    pipeline.screen_national(2024, "p-1", url=db_url)
    pipeline.update_cases("p-1", [2024], url=db_url)
    pipeline.finish_run("p-1", "success", url=db_url)
    done = night_progress(url=db_url)
    assert done.finished and all(s.done == (s.total or s.done) for s in done.stages)
    assert {s.name: s.note for s in done.stages}["cases"] == "2 cases"

    # watching a night whose process already ended returns at once with the last state
    proc = subprocess.Popen(["true"])
    proc.wait()
    last = watch(pid=proc.pid, run_id="p-1", url=db_url, poll_s=0.01)
    assert last is not None and last.status == "success"
    out = capsys.readouterr().out  # not a terminal: plain lines, one per stage reached
    assert "分省规则筛查: 2/2" in out and "案件评分排序: 1/1 2 cases" in out
