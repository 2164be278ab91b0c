"""Tamper evidence: hash chains, append-only triggers, fresh-hash dedup, chain heads, `carbonqa verify`."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from carbonqa.ingest import ingest_bundle  # noqa: E402
from carbonqa.store import chain, get_engine, raw_table, session_scope  # noqa: E402
from carbonqa.store.models import Case, CaseEvent, ChainHead, ScreeningRun  # noqa: E402
from tests.carbonqa.test_ingest import agencies, enterprises, full_bundle, make_bundle, monthly, units  # noqa: E402


def verify(url: str) -> chain.VerifyReport:
    with get_engine(url).connect() as conn:
        return chain.verify(conn)


def case_with_events(url: str, n: int = 3) -> None:
    with session_scope(url) as s:
        s.add(Case(case_id="C-1", enterprise_id="E1", year=2024, province_code="15", city_name="包头市"))
    for i in range(n):  # one flush per event and several in one flush
        with session_scope(url) as s:
            s.add(CaseEvent(case_id="C-1", actor="alice", action="note", note=f"第{i}条 note", before={"k": i},
                            after={"x": [1.5, -0.0, None], "t": "2024-01-01"}))
            s.add(CaseEvent(case_id="C-1", actor="system:r1", action="rescored", before={"risk": 0.1 * i}, after=None))


def without_triggers(url: str, *sql: str) -> None:
    """What a DBA with table rights could do: drop the triggers, change rows, put the triggers back."""
    with get_engine(url).begin() as conn:
        chain.drop_triggers(conn)
        for q in sql:
            conn.execute(sa.text(q))
        chain.create_triggers(conn)


def test_ingested_rows_and_case_events_are_chained(db_url, tmp_path):
    assert ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url).outcome == "landed"
    case_with_events(db_url)
    rep = verify(db_url)
    assert rep.ok, [b.describe() for b in [*rep.other, *(c.first_break for c in rep.chains.values() if c.first_break)]]
    assert rep.chains["raw_monthly_reports"].rows == 6 and rep.chains["case_events"].rows == 6
    with get_engine(db_url).connect() as conn:
        evs = conn.execute(sa.select(CaseEvent.event_id, CaseEvent.prev_hash, CaseEvent.row_hash)
                           .order_by(CaseEvent.event_id)).all()
        mr = raw_table("monthly_reports")
        first = conn.execute(sa.select(mr.c.prev_hash).order_by(mr.c.id).limit(1)).scalar_one()
    assert evs[0].prev_hash == chain.GENESIS and first == chain.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(evs, evs[1:], strict=False))
    assert all(len(e.row_hash) == 64 for e in evs)
    # a second delivery with a changed month appends to the same chain
    changed = monthly().with_columns(pl.when(pl.col("unit_id") == "U1").then(125000.0)
                                     .otherwise(pl.col("fuel_consumed_t")).alias("fuel_consumed_t"))
    make_bundle(tmp_path / "b2", {"monthly_reports": changed}, bundle_id="b2")
    assert ingest_bundle(tmp_path / "b2", url=db_url).tables["monthly_reports"].new == 2
    rep = verify(db_url)
    assert rep.ok and rep.chains["raw_monthly_reports"].rows == 8


def test_canonical_text_is_stable_across_types():
    t = ChainHead.__table__
    a = chain.canonical(t, {"run_id": "r", "table_name": "x", "n_rows": 3, "head_hash": "h",
                            "recorded_at": "2024-01-01 00:00:00", "last_row_id": None})
    b = chain.canonical(t, {"recorded_at": __import__("datetime").datetime(2024, 1, 1), "head_hash": "h",
                            "n_rows": 3.0, "table_name": "x", "run_id": "r", "prev_hash": "ignored", "id": 9})
    assert a == b == ('{"head_hash":"h","n_rows":3,"recorded_at":"2024-01-01 00:00:00.000000",'
                      '"run_id":"r","table_name":"x"}')
    mr = raw_table("monthly_reports")
    assert chain.canonical(mr, {"fuel_consumed_t": -0.0}) == chain.canonical(mr, {"fuel_consumed_t": 0})
    assert chain.canonical(mr, {"fuel_consumed_t": float("nan")}) == '{"fuel_consumed_t":"NaN"}'


@pytest.mark.parametrize("table", ["raw_monthly_reports", "raw_enterprises", "case_events", "chain_heads"])
def test_triggers_refuse_update_and_delete(db_url, tmp_path, table):
    ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    case_with_events(db_url, 1)
    with get_engine(db_url).begin() as conn:
        chain.record_heads(conn, "r1")
    col = {"case_events": "note", "chain_heads": "run_id"}.get(table, "bundle_id")
    eng = get_engine(db_url)
    for q in (f"UPDATE {table} SET {col} = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), eng.begin() as conn:
            conn.execute(sa.text(q))
    if eng.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), eng.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {table} CASCADE"))
    with eng.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
        assert chain.missing_triggers(conn) == []
    assert verify(db_url).ok


def test_verify_names_the_first_broken_link(db_url, tmp_path):
    from typer.testing import CliRunner

    from carbonqa.cli import app

    ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    case_with_events(db_url, 3)
    with get_engine(db_url).begin() as conn:
        chain.record_heads(conn, "night-1")
    runner = CliRunner()
    res = runner.invoke(app, ["verify"])
    assert res.exit_code == 0, res.output
    assert "intact" in res.output

    with get_engine(db_url).connect() as conn:
        mr = raw_table("monthly_reports")
        ids = conn.execute(sa.select(mr.c.id).order_by(mr.c.id)).scalars().all()
        evs = conn.execute(sa.select(CaseEvent.event_id).order_by(CaseEvent.event_id)).scalars().all()
    # 1. a value changed in place (the stored row_sha256 left as it was)
    without_triggers(db_url, f"UPDATE raw_monthly_reports SET fuel_consumed_t = 60000 WHERE id = {ids[2]}")
    rep = verify(db_url)
    b = rep.chains["raw_monthly_reports"].first_break
    assert not rep.ok and b is not None and (b.table, b.row_id, b.what) == ("raw_monthly_reports", ids[2], "row_hash")
    assert b.found != b.expected and rep.first_break == b
    res = runner.invoke(app, ["verify"])
    assert res.exit_code == 1
    assert f"raw_monthly_reports row {ids[2]}" in res.output and "row_hash expected" in res.output

    # 2. an audit event deleted in the middle: the next event's prev_hash no longer links
    without_triggers(db_url, f"DELETE FROM case_events WHERE event_id = {evs[2]}")
    b = verify(db_url).chains["case_events"].first_break
    assert b is not None and (b.row_id, b.what) == (evs[3], "prev_hash")

    # 3. the last events deleted: the links are intact but the night's recorded head no longer matches
    without_triggers(db_url, f"DELETE FROM case_events WHERE event_id >= {evs[-2]}")
    rep = verify(db_url)
    heads = [x for x in rep.other if x.what == "head"]
    assert heads and heads[0].table == "case_events" and heads[0].found == "missing"

    # 4. a trigger left dropped is reported too
    with get_engine(db_url).begin() as conn:
        chain.drop_triggers(conn, ["raw_units"])
    rep = verify(db_url)
    assert {x.found for x in rep.other if x.what == "trigger"} == {"missing"}
    assert {x.table for x in rep.other if x.what == "trigger"} == {"raw_units"}


def test_redelivery_after_tampering_restores_the_true_value(db_url, tmp_path):
    from carbonqa.store.read import current

    ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    mr = raw_table("monthly_reports")
    with get_engine(db_url).connect() as conn:
        rid = conn.execute(sa.select(mr.c.id).where(mr.c.unit_id == "U1", mr.c.period == "2024-06")).scalar_one()
    without_triggers(db_url, f"UPDATE raw_monthly_reports SET emissions_tco2 = 1.0 WHERE id = {rid}")
    cur = current("monthly_reports", db_url).filter(pl.col("unit_id") == "U1", pl.col("period") == "2024-06")
    assert cur["emissions_tco2"].to_list() == [1.0]  # the tampered value is current

    # the unit re-delivers its true data (same content as b1, a new delivery)
    make_bundle(tmp_path / "b2", {"enterprises": enterprises(), "units": units(), "agencies": agencies(),
                                  "monthly_reports": monthly()}, bundle_id="b2")
    res = ingest_bundle(tmp_path / "b2", url=db_url)
    assert res.tables["monthly_reports"].new == 1 and res.tables["monthly_reports"].unchanged == 5
    assert res.tables["enterprises"].new == 0
    cur = current("monthly_reports", db_url, with_meta=True).filter(pl.col("unit_id") == "U1", pl.col("period") == "2024-06")
    assert cur["emissions_tco2"].to_list() == [248000.0] and cur["record_version"].to_list() == [2]
    rep = verify(db_url)  # the tampered row stays named; the re-delivered row links after it
    b = rep.chains["raw_monthly_reports"].first_break
    assert b is not None and b.row_id == rid and rep.chains["raw_monthly_reports"].n_breaks == 1


def test_heads_recorded_per_run_idempotent_and_chained(db_url, tmp_path):
    ingest_bundle(full_bundle(tmp_path / "b1"), url=db_url)
    eng = get_engine(db_url)
    with eng.begin() as conn:
        h1 = chain.record_heads(conn, "night-1")
    with eng.begin() as conn:
        assert chain.record_heads(conn, "night-1") == h1  # a retry writes nothing
        n = conn.execute(sa.select(sa.func.count()).select_from(ChainHead)).scalar_one()
        assert n == len(chain.chained_tables()) - 1
        assert chain.run_head(conn, "night-1") == h1 and chain.latest_head(conn)[:2] == ("night-1", h1)
    case_with_events(db_url, 1)
    with eng.begin() as conn:
        h2 = chain.record_heads(conn, "night-2")
    assert h2 != h1 and verify(db_url).ok
    with eng.connect() as conn:
        heads = {r.table_name: r for r in conn.execute(sa.select(ChainHead).where(ChainHead.run_id == "night-2"))}
    assert heads["case_events"].n_rows == 2 and heads["raw_monthly_reports"].n_rows == 6
    assert heads["raw_tips"].last_row_id is None and heads["raw_tips"].head_hash == chain.GENESIS


def test_runs_record_heads_and_close_interrupted_runs(db_url):
    from carbonqa import pipeline

    pipeline.start_run("night-1", url=db_url)  # killed: never finished
    pipeline.start_run("night-2", url=db_url)
    with session_scope(db_url) as s:
        r1, r2 = s.get(ScreeningRun, "night-1"), s.get(ScreeningRun, "night-2")
        assert (r1.status, r1.error) == ("failed", "interrupted") and r1.finished_at is not None
        assert r2.status == "running"
    pipeline.start_run("night-2", url=db_url)  # an Airflow retry of the same run keeps it running
    pipeline.finish_run("night-2", "success", url=db_url)
    with get_engine(db_url).connect() as conn:
        assert chain.run_head(conn, "night-2") is not None


def test_migration_links_rows_stored_before_the_chain(tmp_path):
    from alembic import command

    from carbonqa.store.db import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = get_engine(url)
    cfg = alembic_config(url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with eng.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO raw_agencies (agency_id, agency_name, record_version, bundle_id, row_sha256, ingested_at) "
            "VALUES ('A1', '核查机构', 1, 'old', 'x', '2024-01-01 00:00:00.000000'), "
            "('A2', '核查机构二', 1, 'old', 'y', '2024-01-02 00:00:00.000000')"))
    upgrade(url)
    rep = verify(url)
    assert rep.ok and rep.chains["raw_agencies"].rows == 2


def test_concurrent_writers_keep_one_chain(db_url):
    pg_url = db_url
    with session_scope(pg_url) as s:
        s.add(Case(case_id="C-1", enterprise_id="E1", year=2024, province_code="15", city_name="包头市"))
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(10):
                with session_scope(pg_url) as s:
                    s.add(CaseEvent(case_id="C-1", actor=f"u{i}", action="note", note=f"{i}-{j}"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    rep = verify(pg_url)
    assert rep.ok and rep.chains["case_events"].rows == 40


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic one-province bundle (every raw table has rows), generated once for the module."""
    from carbonqa.synth import generate_bundle

    root = tmp_path_factory.mktemp("chain")
    generate_bundle(root / "b", provinces=["64"], telemetry=False, labels_path=root / "labels.csv")
    return root / "b"


@pytest.mark.parametrize("table", list(chain.chained_tables()))
def test_verify_detects_an_update_or_delete_in_every_chained_table(db_url, small_bundle, table):
    assert ingest_bundle(small_bundle, url=db_url).outcome == "landed"
    case_with_events(db_url, 2)
    with get_engine(db_url).begin() as conn:
        chain.record_heads(conn, "night-1")
    with session_scope(db_url) as s:
        s.add(CaseEvent(case_id="C-1", actor="bob", action="note", note="later"))
    with get_engine(db_url).begin() as conn:
        chain.record_heads(conn, "night-2")
    assert verify(db_url).ok
    t = chain.chained_tables()[table]
    (pk,) = t.primary_key.columns
    col = {"case_events": "note", "chain_heads": "run_id"}.get(table, "bundle_id")
    with get_engine(db_url).connect() as conn:
        ids = conn.execute(sa.select(pk).order_by(pk)).scalars().all()
    assert len(ids) >= 2, table
    mid = ids[len(ids) // 2 - 1]
    without_triggers(db_url, f"UPDATE {table} SET {col} = 'forged' WHERE {pk.name} = {mid}")
    b = verify(db_url).chains[table].first_break
    assert b is not None and (b.table, b.row_id, b.what) == (table, mid, "row_hash")
    without_triggers(db_url, f"DELETE FROM {table} WHERE {pk.name} = {mid}")
    rep = verify(db_url)
    b = rep.chains[table].first_break
    assert b is not None and (b.table, b.row_id, b.what) == (table, ids[len(ids) // 2], "prev_hash")
    assert not rep.ok


def test_kill_9_during_a_screen_leaves_chains_intact_and_the_run_closed_at_the_next_start(db_url, small_bundle, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from carbonqa import pipeline

    env = {**os.environ, "CARBONQA_DATABASE_URL": db_url, "CARBONQA_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "carbonqa.cli", "screen", "--bundle", str(small_bundle)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_id = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with session_scope(db_url) as s:
                run = s.scalars(sa.select(ScreeningRun)).first()
                if run is not None and run.bundle_ids:  # ingested: the screen stages are under way
                    killed_id = run.run_id
                    break
            time.sleep(0.2)
        assert killed_id is not None and proc.poll() is None, "the screen ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with session_scope(db_url) as s:
        assert s.get(ScreeningRun, killed_id).status == "running"  # nobody could close it
    assert verify(db_url).ok  # what was committed is whole; what was not left nothing
    pipeline.start_run("night-after", url=db_url)
    with session_scope(db_url) as s:
        run = s.get(ScreeningRun, killed_id)
        assert (run.status, run.error) == ("failed", "interrupted")


def test_cli_ingest_records_heads(db_url, tmp_path):
    from typer.testing import CliRunner

    from carbonqa.cli import app

    res = CliRunner().invoke(app, ["ingest", "--bundle", str(full_bundle(tmp_path / "b1"))])
    assert res.exit_code == 0, res.output
    with get_engine(db_url).connect() as conn:
        head = chain.run_head(conn, "ingest:b1")
        assert head is not None and chain.latest_head(conn)[:2] == ("ingest:b1", head)


def _reference_canonical(table, row):
    """The canonical text as defined (json.dumps of the normalised content) — the oracle of the fast encoder."""
    import json as _json

    content = {}
    for c in chain._content_columns(table):
        v = row.get(c.name)
        if v is not None:
            content[c.name] = chain._normaliser(c)(v)
    return _json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def test_fast_canonical_is_byte_identical_to_the_definition():
    """The hand-built encoder (ingest's hot loop) writes exactly json.dumps(sort_keys, ensure_ascii=False)."""
    import datetime as _dt
    import random

    import sqlalchemy as _sa

    rnd = random.Random(7)
    floats = [0.0, -0.0, 1e-05, 0.1, 1 / 3, 1e300, -2.5e-310, float("nan"), float("inf"), float("-inf"), 12345678.9, 3]
    texts = ["", "煤", 'a"b\\c', "tab\tnew\nline", "\u202e bidi", "emoji 🔥", "\x00nul", "plain"]
    dts = [_dt.datetime(2024, 1, 31, 23, 59, 59, 999999), _dt.datetime(2024, 2, 1), "2024-03-01 08:00:00",
           _dt.date(2024, 5, 6)]
    n = 0
    for table in chain.chained_tables().values():
        for _ in range(40):
            row = {}
            for c in chain._content_columns(table):
                if rnd.random() < 0.2:
                    continue
                t = c.type
                if isinstance(t, _sa.Float):
                    row[c.name] = rnd.choice(floats)
                elif isinstance(t, _sa.Boolean):
                    row[c.name] = rnd.choice([True, False, 0, 1])
                elif isinstance(t, _sa.Integer):
                    row[c.name] = rnd.choice([0, -1, 7, 2**40, True])
                elif isinstance(t, _sa.DateTime):
                    row[c.name] = rnd.choice(dts[:3])
                elif isinstance(t, _sa.Date):
                    row[c.name] = rnd.choice([_dt.date(2024, 5, 6), _dt.datetime(2024, 5, 6, 7), "2024-05-06"])
                elif isinstance(t, _sa.JSON):
                    row[c.name] = rnd.choice([{"b": 1, "a": [1.5, "煤", None]}, [3, 2], "x", 1.0])
                else:
                    row[c.name] = rnd.choice(texts)
            assert chain.canonical(table, row) == _reference_canonical(table, row), (table.name, row)
            n += 1
    assert n >= 40 * 10


def test_frame_canonical_is_byte_identical_to_the_row_encoder():
    """canonical_frame (ingest's column-wise path) writes, row for row, what canonical() writes for to_dicts()."""
    import datetime as _dt
    import random

    import polars as pl
    import sqlalchemy as _sa

    from carbonqa import contract
    from carbonqa.store.models import RAW_TABLES

    rnd = random.Random(11)
    floats = [0.0, -0.0, 1e-05, 0.1, 1 / 3, 1e300, -2.5e-310, float("nan"), float("inf"), float("-inf"), 1e16, 3.0]
    texts = ["", "煤", 'a"b\\c', "tab\tnew\nline", "\u202e bidi", "emoji 🔥", "\x00nul", "plain", "\x7f del"]
    for name, table in RAW_TABLES.items():
        schema = {**contract.polars_schema(name), "record_version": pl.Int64, "bundle_id": pl.String,
                  "row_sha256": pl.String, "ingested_at": pl.Datetime("us")}
        for plain_only in (False, True):  # all-plain strings take the vectorised branch, others the fallback
            data = {}
            for col, dtype in schema.items():
                t = table.c[col].type
                vals = []
                for _ in range(60):
                    if rnd.random() < 0.2:
                        vals.append(None)
                    elif isinstance(t, _sa.Float):
                        vals.append(rnd.choice(floats))
                    elif isinstance(t, _sa.Boolean):
                        vals.append(rnd.choice([True, False]))
                    elif isinstance(t, _sa.Integer):
                        vals.append(rnd.choice([0, -1, 7, 2**40]))
                    elif isinstance(t, _sa.DateTime):
                        vals.append(rnd.choice([_dt.datetime(2024, 1, 31, 23, 59, 59, 999999), _dt.datetime(2024, 2, 1)]))
                    elif isinstance(t, _sa.Date):
                        vals.append(rnd.choice([_dt.date(2024, 5, 6), _dt.date(2023, 12, 31)]))
                    elif dtype == pl.String:
                        vals.append(rnd.choice(texts[-2:] if plain_only else texts))
                    else:
                        vals.append(None)
                data[col] = pl.Series(col, vals, dtype=dtype)
            df = pl.DataFrame(data)
            assert chain.canonical_frame(table, df) == [chain.canonical(table, r) for r in df.to_dicts()], name
    assert chain.canonical_frame(RAW_TABLES["units"], pl.DataFrame({"unit_id": []}, schema={"unit_id": pl.String})) == []
