import datetime as dt

import sqlalchemy as sa

from carbonqa.screening import ScreenContext
from carbonqa.store import get_engine, raw_table
from carbonqa.store.read import current, history


def _ins(url, name, rows):
    with get_engine(url).begin() as c:
        c.execute(sa.insert(raw_table(name)), [r | {"bundle_id": "b", "row_sha256": "x" * 64, "ingested_at": dt.datetime(2025, 1, 1)} for r in rows])


def test_current_takes_highest_version(db_url):
    _ins(db_url, "enterprises", [
        dict(enterprise_id="E1", enterprise_name="甲", province_code="15", city_name="包头市", sector="power", is_captive=False, record_version=1),
        dict(enterprise_id="E1", enterprise_name="甲2", province_code="15", city_name="包头市", sector="power", is_captive=False, record_version=2),
        dict(enterprise_id="E2", enterprise_name="乙", province_code="37", city_name="济南市", sector="power", is_captive=True, record_version=1),
    ])
    _ins(db_url, "units", [dict(unit_id="U1", enterprise_id="E1", unit_class="gas", capacity_mw=300.0, record_version=1),
                           dict(unit_id="U2", enterprise_id="E2", unit_class="gas", capacity_mw=300.0, record_version=1)])
    mr = dict(fuel_consumed_t=1.0, record_version=1)
    _ins(db_url, "monthly_reports", [
        dict(unit_id="U1", period="2024-01", version=1, **mr) | {"fuel_consumed_t": 1.0},
        dict(unit_id="U1", period="2024-01", version=2, **mr) | {"fuel_consumed_t": 2.0},
        dict(unit_id="U1", period="2024-02", version=1, **mr) | {"fuel_consumed_t": 3.0, "record_version": 1},
        dict(unit_id="U1", period="2024-02", version=1, **mr) | {"fuel_consumed_t": 4.0, "record_version": 2},
        dict(unit_id="U2", period="2024-01", version=1, **mr),
        dict(unit_id="U2", period="2023-12", version=1, **mr),
    ])
    ent = current("enterprises", db_url)
    assert ent.height == 2 and ent.filter(ent["enterprise_id"] == "E1")["enterprise_name"].item() == "甲2"
    assert history("enterprises", db_url).height == 3
    ctx = ScreenContext(year=2024, url=db_url)
    m = ctx.monthly_reports().sort("unit_id", "period")
    assert m["fuel_consumed_t"].to_list() == [2.0, 4.0, 1.0]
    assert set(m.columns) >= {"enterprise_id", "province_code", "city_name"}
    p15 = ScreenContext(year=2024, url=db_url, provinces=("15",))
    assert p15.monthly_reports()["unit_id"].unique().to_list() == ["U1"]
    assert p15.province_codes() == ["15", "37"]


def test_memo_computes_a_key_once_across_threads():
    """A screener may compute one memo entry in a second thread (the detectors' lake scan): a key being
    computed is waited for, not computed again; other keys proceed meanwhile; a national context is made once."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    ctx = ScreenContext(year=2024, provinces=("13",))
    calls: list[str] = []
    started = threading.Event()

    def slow() -> int:
        calls.append("slow")
        started.set()
        time.sleep(0.2)
        return 1

    nat = ctx.national()
    with ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(nat.memo, "k", slow) for _ in range(3)]
        assert started.wait(5)
        assert nat.memo("other", lambda: 2) == 2  # not blocked by "k"
        assert [f.result() for f in futs] == [1, 1, 1]
    assert calls == ["slow"]
    scoped = ScreenContext(year=2024, provinces=("13",))
    with ThreadPoolExecutor(4) as ex:
        nats = list(ex.map(lambda _: scoped.national(), range(8)))
    assert len({id(n) for n in nats}) == 1 and nats[0].provinces is None
