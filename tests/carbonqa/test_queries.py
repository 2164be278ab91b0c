"""Scoping of every dashboard read (carbonqa.queries), on SQLite and PostgreSQL."""

import sys
from io import BytesIO
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from carbonqa import queries as q  # noqa: E402
from carbonqa.jurisdiction import Scope  # noqa: E402
from tests.dashboard.seed import seed_store  # noqa: E402

NAT = Scope("nat", "national")
AUDIT = Scope("audit", "auditor")
PROV15 = Scope("prov15", "provincial", "15")
BAOTOU = Scope("baotou", "municipal", "15", "包头市")
ORDOS = Scope("ordos", "municipal", "15", "鄂尔多斯市")


@pytest.fixture
def store(db_url):
    return seed_store(db_url, 8)


def test_case_by_id_is_scoped(store, db_url):
    top = store.top_case  # 包头市, 内蒙古
    jinan = "CQ-2024-E0002"  # 济南市, 山东
    ordos = "CQ-2024-E0001"  # 鄂尔多斯市, 内蒙古
    assert q.get_case(BAOTOU, top, db_url)["city_name"] == "包头市"
    for scope, cid in [(BAOTOU, ordos), (BAOTOU, jinan), (ORDOS, top), (PROV15, jinan)]:
        with pytest.raises(q.CaseNotFound):
            q.get_case(scope, cid, db_url)
        with pytest.raises(q.CaseNotFound):
            q.case_detail(scope, cid, db_url)
    assert q.get_case(PROV15, ordos, db_url)["province_code"] == "15"
    assert q.get_case(AUDIT, jinan, db_url)["case_id"] == jinan
    with pytest.raises(q.CaseNotFound):
        q.get_case(NAT, "CQ-nope", db_url)
    with pytest.raises(q.CaseNotFound):
        q.ensure_visible(BAOTOU, [top, ordos], db_url)
    q.ensure_visible(PROV15, [top, ordos], db_url)


def _answer(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the whole answer is compared
        return type(exc), str(exc)
    return None


def test_out_of_scope_id_answers_exactly_like_a_missing_one(store, db_url):
    jinan = "CQ-2024-E0002"  # exists, in 山东
    for fn in (q.get_case, q.case_detail):
        out = _answer(lambda fn=fn: fn(BAOTOU, jinan, db_url))
        missing = _answer(lambda fn=fn: fn(BAOTOU, "CQ-2024-E9999", db_url))
        assert out[0] is missing[0] is q.CaseNotFound
        assert out[1].replace(jinan, "X") == missing[1].replace("CQ-2024-E9999", "X")
        assert "37" not in out[1] and "济南" not in out[1]
    out = _answer(lambda: q.ensure_visible(PROV15, [jinan], db_url))
    missing = _answer(lambda: q.ensure_visible(PROV15, ["CQ-2024-E9999"], db_url))
    assert out[0] is missing[0] and out[1].replace(jinan, "X") == missing[1].replace("CQ-2024-E9999", "X")


def _set_run_counts(db_url, counts, error=None):
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import ScreeningRun

    with get_engine(db_url).begin() as conn:
        latest = conn.execute(sa.select(ScreeningRun.run_id).order_by(ScreeningRun.started_at.desc())).scalars().first()
        conn.execute(sa.update(ScreeningRun).where(ScreeningRun.run_id == latest).values(
            counts=counts, error=error, status="failed" if error else "success"))
    return latest


def test_latest_run_is_cut_to_the_readers_jurisdiction(store, db_url):
    part = {"by_severity": {"high": 1}, "missing": [], "new": 1}
    counts = {"partitions": {
        "2024/15": {**part, "year": 2024, "province_code": "15", "findings": 6, "seconds": 12.5,
                    "by_family": {"telemetry": 4, "verifier": 2}},
        "2024/37": {**part, "year": 2024, "province_code": "37", "findings": 9, "seconds": 3.0, "by_family": {"tip": 9},
                    "error": "RuntimeError: 济南市 E0002 row 7 lost"},
    }, "national": {"2024": {"findings": 40, "new": 3, "by_family": {"verifier": 40}}},
        "cases": {"created": 8, "attached": 7}}
    run_id = _set_run_counts(db_url, counts, error="partition 2024/37 failed: 济南市 E0002")
    nat = q.overview(NAT, db_url).latest_run
    assert nat["summary"]["findings"] == 55 and nat["summary"]["partitions"] == 2 and "济南" in nat["error"]
    prov = q.overview(PROV15, db_url).latest_run
    s = prov["summary"]
    assert s["partitions"] == 1 and s["provinces"] == 1 and s["findings"] == 6 and s["failed"] == []
    assert set(s["slowest"]["province_code"]) == {"15"} and s["national_findings"] == 0
    assert s["cases"]["created"] <= 4 and "attached" not in s["cases"]
    assert prov["error"] == "withheld"
    assert "济南" not in repr(prov) and "E0002" not in repr(prov) and "'37'" not in repr(prov)
    prov37 = q.overview(Scope("prov37", "provincial", "37"), db_url).latest_run
    assert prov37["summary"]["failed"] == ["2024/37"] and "济南" not in repr(prov37)
    # a municipal reader: the province's partition carries only the findings of the reader's city
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import Case, CaseFinding, FindingRow

    with get_engine(db_url).begin() as conn:
        conn.execute(sa.update(FindingRow).values(last_run_id=run_id))
        n_city = conn.execute(sa.select(sa.func.count()).select_from(CaseFinding).join(Case).where(
            Case.city_name == "包头市")).scalar_one()
    bt = q.overview(BAOTOU, db_url).latest_run["summary"]
    assert bt["partitions"] == 1 and bt["findings"] == n_city and 0 < n_city
    assert q.overview(PROV15, db_url).latest_run["summary"]["findings"] == 6  # the province's own partition
    runs = q.runs(PROV15, db_url)
    assert "济南" not in runs.write_csv() and "E0002" not in runs.write_csv()


def test_queue_filters_cannot_widen_the_scope(store, db_url):
    page = q.case_queue(BAOTOU, q.QueueFilter(province_codes=("37", "15"), cities=("济南市", "鄂尔多斯市", "包头市")),
                        url=db_url)
    assert set(page.rows["city_name"]) == {"包头市"} and page.total == 2
    assert q.case_queue(BAOTOU, q.QueueFilter(cities=("济南市",)), url=db_url).total == 0
    assert q.case_queue(PROV15, url=db_url).total == 4
    assert q.case_queue(NAT, url=db_url).total == 8
    assert q.case_queue(AUDIT, url=db_url).total == 8
    opts = q.queue_options(BAOTOU, db_url)
    assert opts["provinces"] == ["15"] and opts["cities"] == [("15", "包头市")]


def test_queue_sort_filters_counts_pages(store, db_url):
    page = q.case_queue(NAT, page=1, page_size=3, url=db_url)
    assert page.pages == 3 and page.rows.height == 3 and page.total == 8 and page.by_status == {"new": 8}
    assert page.rows["rank"].to_list() == [1, 2, 3]
    assert page.rows["enterprise_name"][0] == "测试电厂0000有限公司" and page.rows["province_zh"][0] == "内蒙古"
    last = q.case_queue(NAT, page=99, page_size=3, url=db_url)
    assert last.page == 3 and last.rows.height == 2
    tip = q.case_queue(NAT, q.QueueFilter(families=("tip",)), url=db_url)
    assert tip.rows["case_id"].to_list() == [store.top_case]
    assert q.case_queue(NAT, q.QueueFilter(min_score=80), url=db_url).total == 2
    assert q.case_queue(NAT, q.QueueFilter(assignee="-"), url=db_url).total == 8
    assert q.case_queue(NAT, q.QueueFilter(assignee="baotou"), url=db_url).total == 0
    assert q.case_queue(NAT, q.QueueFilter(search="E0003"), url=db_url).total == 1
    by_tco2 = q.case_queue(NAT, q.QueueFilter(sort="tco2"), url=db_url).rows["tco2_at_stake"].to_list()
    assert by_tco2 == sorted(by_tco2, reverse=True)
    with pytest.raises(ValueError):
        q.case_queue(NAT, q.QueueFilter(sort="nope"), url=db_url)


def test_export_is_scoped_and_has_contract_columns(store, db_url):
    from carbonqa import contract

    csv = q.export_queue(BAOTOU, q.QueueFilter(province_codes=("37",)), "csv", db_url)
    assert csv.startswith("\ufeff".encode())
    assert q.export_queue(BAOTOU, q.QueueFilter(province_codes=("37",)), "csv", db_url).count(b"\n") == 1  # header only
    frame = pl.read_csv(BytesIO(q.export_queue(BAOTOU, None, "csv", db_url)[3:]))
    assert tuple(frame.columns) == contract.CASE_EXPORT_COLUMNS
    assert set(frame["city_name"]) == {"包头市"} and frame.height == 2
    xlsx = pl.read_excel(BytesIO(q.export_queue(PROV15, None, "xlsx", db_url)))
    assert set(xlsx["province_code"].cast(pl.String)) == {"15"} and xlsx.height == 4
    with pytest.raises(ValueError):
        q.export_queue(NAT, None, "pdf", db_url)


def test_overview_rules_suppressions_are_scoped(store, db_url):
    nat, city = q.overview(NAT, db_url), q.overview(BAOTOU, db_url)
    assert nat.totals["cases"] == 8 and nat.totals["provinces"] == 3
    assert city.totals["cases"] == 2 and city.by_province["province_code"].to_list() == ["15"]
    assert city.by_province["province_zh"].to_list() == ["内蒙古"]
    assert nat.by_province["tco2_at_stake"].to_list() == sorted(nat.by_province["tco2_at_stake"], reverse=True)
    assert nat.trend.height == 3 and nat.trend["new_cases"].sum() == 8
    assert city.trend["new_findings"].sum() < nat.trend["new_findings"].sum()
    assert nat.latest_run["run_id"] == store.run_ids[-1] and nat.latest_run["stage_seconds"]["checks"] == 900.0
    fired_nat = dict(q.rules(NAT, db_url).select("code", "findings").iter_rows())
    fired_city = dict(q.rules(BAOTOU, db_url).select("code", "findings").iter_rows())
    assert sum(fired_city.values()) < sum(fired_nat.values()) and fired_city["TIP-001"] == 1
    assert "TIP-001" in fired_nat  # catalogue entries are always listed
    assert q.runs(BAOTOU, db_url).height == 3 and q.run_stages(NAT, db_url)["stage"].n_unique() == 5

    from carbonqa.store import session_scope
    from carbonqa.store.models import Suppression

    with session_scope(db_url) as s:
        s.add_all([
            Suppression(rule_code="CC-101", enterprise_id="E0002", reason="煤源切换", approved_by="nat"),
            Suppression(rule_code="CPY-101", enterprise_id=None, reason="全局", approved_by="nat"),
        ])
    assert q.suppressions(NAT, db_url).height == 2
    assert q.suppressions(BAOTOU, db_url)["rule_code"].to_list() == ["CPY-101"]  # E0002 is in 济南市


def test_case_detail_evidence_pack(store, db_url):
    d = q.case_detail(BAOTOU, store.top_case, db_url)
    assert d.enterprise["enterprise_name"] == "测试电厂0000有限公司"
    assert d.findings.height == 5 and d.findings["severity"][0] == "high"
    assert d.monthly.height == 12 and d.monthly.filter(pl.col("is_suspicious"))["period"].to_list() == ["2024-04", "2024-06"]
    assert d.lab_values.filter(pl.col("is_repeated"))["sample_period"].to_list() == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert d.cc_unit["cc_tc_per_gj"][0] == pytest.approx(0.0240)
    assert d.cc_peers.height >= 1 and (d.cc_peers["coal_type"] == "lignite").all()
    assert d.lab_timeline.height == 12 and d.tips.height == 1
    assert d.verifications["agency_name"][0] == "某核查技术服务公司" and d.verifier_stats["verifications"][0] == 4
    assert d.events["action"].to_list() == ["created"]
    assert d.telemetry.is_empty()


def test_assignable_users_stay_in_scope(store, db_url):
    assert set(q.assignable_users(PROV15, url=db_url)["username"]) == {"prov15", "baotou", "ordos"}
    assert set(q.assignable_users(BAOTOU, url=db_url)["username"]) == {"baotou"}
    assert q.assignable_users(AUDIT, url=db_url).is_empty()
    assert "prov37" in set(q.assignable_users(NAT, url=db_url)["username"])


def test_case_detail_joins_monthly_telemetry(store, db_url, monkeypatch):
    import carbonqa.lake

    seen = {}

    def fake(provinces=None, periods=None, lake_dir=None):
        seen.update(provinces=provinces, periods=periods)
        return pl.DataFrame({
            "unit_id": ["U0000-1", "U0000-1", "U9999-1"], "period": ["2024-01", "2024-02", "2024-01"],
            "province_code": ["15"] * 3, "generation_mwh": [200_000.0, 210_000.0, 1.0],
            "coal_feed_t": [90_000.0, None, 1.0], "cems_co2_t": [None, None, None],
        })

    monkeypatch.setattr(carbonqa.lake, "monthly_telemetry", fake)
    d = q.case_detail(NAT, store.top_case, db_url)
    assert seen["provinces"] == ["15"] and seen["periods"][0] == "2024-01" and len(seen["periods"]) == 12
    tel = d.telemetry.filter(pl.col("telemetry_generation_mwh").is_not_null())
    assert tel["period"].to_list() == ["2024-01", "2024-02"] and set(tel["unit_id"]) == {"U0000-1"}
    assert tel["reported_generation_mwh"][0] == 250_500.0 and tel["telemetry_coal_t"][0] == 90_000.0


def test_queue_year_filter_and_year_options(store, db_url):
    assert q.queue_options(NAT, db_url)["years"] == [2024]
    assert q.case_queue(NAT, q.QueueFilter(years=(2024,)), url=db_url).total == 8
    assert q.case_queue(NAT, q.QueueFilter(years=(2023,)), url=db_url).total == 0
    assert len(q.export_queue(NAT, q.QueueFilter(years=(2023,)), "csv", db_url).decode("utf-8-sig").splitlines()) == 1


def test_run_summary_digests_the_partitions():
    part = {"findings": 0, "new": 0, "by_family": {}, "by_severity": {}, "missing": [], "seconds": 0.0}
    counts = {
        "partitions": {
            "2024/15": {**part, "year": 2024, "province_code": "15", "findings": 5, "new": 4, "seconds": 3.5,
                        "by_family": {"telemetry": 3, "verifier": 2}, "by_severity": {"high": 5}},
            "2024/65": {**part, "year": 2024, "province_code": "65", "findings": 2, "new": 2, "seconds": 9.0,
                        "by_family": {"telemetry": 2}, "missing": ["detectors"]},
            "2023/65": {**part, "year": 2023, "province_code": "65", "error": "ValueError: boom", "seconds": 0.1},
        },
        "national": {"2024": {"findings": 4, "new": 1, "by_severity": {"medium": 4}, "missing": []}},
        "cases": {"created": 3, "attached": 7},
    }
    s = q.run_summary(counts, slowest=2)
    assert (s["findings"], s["new"], s["national_findings"]) == (11, 7, 4)
    assert s["by_family"] == {"telemetry": 5, "verifier": 2}
    assert s["by_severity"] == {"high": 5, "medium": 4}
    assert (s["partitions"], s["failed"], s["provinces"], s["years"]) == (3, ["2023/65"], 2, [2023, 2024])
    assert s["missing"] == ["detectors"] and s["cases"]["created"] == 3
    assert s["slowest"].select("province_code", "year").rows() == [("65", 2024), ("15", 2024)]
    empty = q.run_summary(None)
    assert empty["partitions"] == 0 and empty["slowest"].is_empty() and empty["cases"] == {"cases": 0}
    assert q.run_summary({"cases": 8})["cases"] == {"cases": 8}  # a bare number, as older runs recorded


def _move_to_baiyin(db_url, case_id="CQ-2024-E0003"):
    """Put one case (and its enterprise, as a newer filing) in 白银市, 甘肃 (62)."""
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import Case, raw_table

    ent = raw_table("enterprises")
    eid = case_id.rsplit("-", 1)[-1]
    with get_engine(db_url).begin() as conn:
        conn.execute(sa.update(Case).where(Case.case_id == case_id).values(province_code="62", city_name="白银市"))
        row = dict(conn.execute(sa.select(ent).where(ent.c.enterprise_id == eid)).mappings().first())
        row.pop("id", None)
        row.update(province_code="62", city_name="白银市", enterprise_name="白银某热电有限公司", record_version=2,
                   row_sha256="b" * 64)
        conn.execute(sa.insert(ent), [row])


def _found(scope, text, db_url):
    return sorted(q.case_queue(scope, q.QueueFilter(search=text), url=db_url).rows["case_id"])


def test_search_finds_name_unit_city_agency_and_id_in_scope_only(store, db_url):
    _move_to_baiyin(db_url)
    gansu = Scope("gs", "provincial", "62")
    assert _found(NAT, "白银", db_url) == ["CQ-2024-E0003"]  # city
    assert _found(gansu, "白银", db_url) == ["CQ-2024-E0003"]
    assert _found(PROV15, "白银", db_url) == [] and _found(BAOTOU, "白银", db_url) == []  # out of scope: nothing
    assert _found(NAT, "白银某热电", db_url) == ["CQ-2024-E0003"]  # enterprise name
    assert _found(NAT, "测试电厂0001", db_url) == ["CQ-2024-E0001"]  # an earlier filed name
    assert _found(NAT, "5号机组", db_url) == ["CQ-2024-E0005"]  # unit name
    assert _found(NAT, "u0006-1", db_url) == ["CQ-2024-E0006"]  # unit id, any case
    assert _found(NAT, "e0007", db_url) == ["CQ-2024-E0007"]  # case / enterprise id
    # verifier agency: A-VER2 verifies the odd enterprises
    assert _found(NAT, "另一核查", db_url) == [f"CQ-2024-E000{i}" for i in (1, 3, 5, 7)]
    assert _found(PROV15, "另一核查", db_url) == ["CQ-2024-E0001", "CQ-2024-E0005"]
    assert len(_found(NAT, "煤质检测中心", db_url)) == 8  # the laboratory of every unit
    assert _found(NAT, "鄂尔多斯", db_url) == ["CQ-2024-E0001", "CQ-2024-E0005"]
    assert len(_found(NAT, "内蒙古", db_url)) == 4 and len(_found(NAT, "Inner Mongolia", db_url)) == 4  # province
    assert _found(NAT, "%", db_url) == [] and _found(NAT, "_", db_url) == []  # wildcards are literal
    csv = q.export_queue(PROV15, q.QueueFilter(search="白银"), "csv", db_url).decode("utf-8-sig")
    assert "E0003" not in csv


def test_readable_export_names_labels_and_headers_in_scope(store, db_url):
    import polars as pl

    for lang, heads, status, prov in (("zh", ["案件号", "全国排名"], "新建", "内蒙古"),
                                      ("en", ["Case", "Rank"], "New", "Inner Mongolia")):
        data = q.export_readable(PROV15, q.QueueFilter(), "xlsx", db_url, lang=lang)
        df = pl.read_excel(BytesIO(data))
        assert df.columns[:2] == heads and df.height == 4
        assert set(df[df.columns[df.columns.index(heads[0]) + 5]]) == {prov}  # province as a word
        assert status in set(df.to_pandas().iloc[:, 9]) and "测试电厂0000有限公司" in set(df.to_pandas().iloc[:, 3])
    csv = q.export_readable(BAOTOU, q.QueueFilter(), "csv", db_url).decode("utf-8-sig")
    assert "鄂尔多斯" not in csv and "济南" not in csv and csv.count("\n") == 3


def test_case_map_is_scoped(store, db_url):
    """A provincial reader never sees another province on the map, a municipal reader only their city."""
    nat = q.case_map(NAT, db_url)
    assert set(nat.by_province["province_code"]) <= {"15", "37", "32"} and nat.by_province.height >= 2
    assert nat.by_province["open_cases"].sum() == nat.by_city["open_cases"].sum()
    open_total = q.case_queue(NAT, q.QueueFilter(statuses=q.OPEN_STATUSES), url=db_url).total
    assert nat.by_province["open_cases"].sum() == open_total
    prov = q.case_map(PROV15, db_url)
    assert set(prov.by_province["province_code"]) == {"15"}
    assert set(prov.by_city["province_code"]) == {"15"}
    assert set(prov.by_city["city_name"]) <= {"包头市", "鄂尔多斯市"}
    assert q.case_map(PROV15, db_url, province_code="37").by_city.is_empty()  # a drill-down outside: nothing
    city = q.case_map(BAOTOU, db_url)
    assert set(city.by_city["city_name"]) == {"包头市"} and set(city.by_province["province_code"]) == {"15"}
    assert city.by_city["open_cases"].sum() == q.case_queue(
        BAOTOU, q.QueueFilter(statuses=q.OPEN_STATUSES), url=db_url).total
    # signed stakes, never netted; CNY at the year's allowance price
    from carbonqa.regulation import allowance_price

    price = allowance_price(2024).cny_per_t
    row = nat.by_province.row(0, named=True)
    assert row["tco2_at_stake"] >= 0 and row["tco2_over_reported"] <= 0
    assert row["cny_at_stake"] == pytest.approx(row["tco2_at_stake"] * price)
    assert q.case_map(NAT, db_url, year=2023).by_province.is_empty()
