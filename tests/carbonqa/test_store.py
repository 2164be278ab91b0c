import sqlalchemy as sa

from carbonqa import contract
from carbonqa.store import RAW_TABLES, get_engine, session_scope, upgrade
from carbonqa.store.models import Case, CaseEvent


def test_raw_tables_derive_from_contract():
    for name, t in contract.TABLES.items():
        if t.kind == "telemetry":
            assert name not in RAW_TABLES
            continue
        cols = set(RAW_TABLES[name].c.keys())
        assert set(t.names) <= cols
        assert {"record_version", "bundle_id", "row_sha256", "ingested_at"} <= cols


def test_upgrade_is_idempotent_and_matches_models(db_url):
    upgrade(db_url)  # second time: nothing to do
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from carbonqa.store.models import metadata

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"models and migrations differ; run python -m carbonqa.store.revision: {diff}"


def test_case_round_trip_and_version_counter(db_url):
    with session_scope(db_url) as s:
        s.add(Case(case_id="C-1", enterprise_id="E1", year=2024, province_code="15", city_name="包头市"))
    with session_scope(db_url) as s:
        c = s.get(Case, "C-1")
        assert c.lock_version == 1
        c.status = "triaged"
        s.add(CaseEvent(case_id="C-1", actor="alice", action="status", before={"status": "new"}, after={"status": "triaged"}))
    with session_scope(db_url) as s:
        c = s.get(Case, "C-1")
        assert c.lock_version == 2 and c.status == "triaged"
        n = s.execute(sa.select(sa.func.count()).select_from(CaseEvent)).scalar_one()
        assert n == 1
