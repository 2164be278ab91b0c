import pytest

from carbonqa.auth import UserError, authenticate, create_user, list_users, set_password
from carbonqa.jurisdiction import Scope

PW1 = "copper lantern drifts north"
PW2 = "Quiet-Harbor-Plum-1987"


def test_create_and_authenticate(db_url):
    u = create_user("li", PW1, role="municipal", province_code="15", city_name="包头市", display_name="李", url=db_url)
    assert u.user_id and u.password_hash.startswith("$argon2id$") and PW1 not in u.password_hash
    got = authenticate("li", PW1, url=db_url)
    assert got is not None and Scope.of(got) == Scope("li", "municipal", "15", "包头市")
    assert authenticate("li", "wrong", url=db_url) is None
    assert authenticate("nobody", PW1, url=db_url) is None
    assert authenticate("", "", url=db_url) is None
    set_password("li", PW2, url=db_url)
    assert authenticate("li", PW1, url=db_url) is None and authenticate("li", PW2, url=db_url) is not None


def test_jurisdiction_is_validated(db_url):
    with pytest.raises(UserError, match="needs a province_code"):
        create_user("p", "x", role="provincial", url=db_url)
    with pytest.raises(UserError, match="needs a city_name"):
        create_user("m", "x", role="municipal", province_code="15", url=db_url)
    with pytest.raises(UserError, match="unknown province"):
        create_user("p", "x", role="provincial", province_code="99", url=db_url)
    with pytest.raises(UserError, match="whole country"):
        create_user("n", "x", role="national", province_code="15", url=db_url)
    with pytest.raises(UserError, match="unknown role"):
        create_user("n", "x", role="boss", url=db_url)
    with pytest.raises(UserError, match="empty"):
        create_user("n", "", role="national", url=db_url)
    create_user("n", PW1, role="national", url=db_url)
    with pytest.raises(UserError, match="already exists"):
        create_user("n", PW2, role="auditor", url=db_url)


def test_inactive_user_cannot_sign_in_and_list_order(db_url):
    from carbonqa.store import session_scope
    from carbonqa.store.models import User

    create_user("a", PW1, role="auditor", url=db_url)
    create_user("n", PW1, role="national", url=db_url)
    create_user("p", PW1, role="provincial", province_code="37", url=db_url)
    assert [u.username for u in list_users(db_url)] == ["n", "p", "a"]
    assert [u.username for u in list_users(db_url, role="provincial")] == ["p"]
    with session_scope(db_url) as s:
        s.query(User).filter_by(username="n").one().is_active = False
    assert authenticate("n", PW1, url=db_url) is None


def test_password_policy_uses_zxcvbn(db_url):
    for weak, why in [("short-1", "too short"), ("password1234", "too easy"), ("qwertyuiop123", "too easy"),
                      ("包头市包头市包头市包头市", "too easy"), ("x" * 2000, "too long")]:
        with pytest.raises(UserError, match=why):
            create_user("baotou-li", weak, role="municipal", province_code="15", city_name="包头市", url=db_url)
    create_user("li", PW1, role="national", url=db_url)
    with pytest.raises(UserError, match="too easy"):
        set_password("li", "aaaaaaaaaaaa", url=db_url)
    assert authenticate("li", PW1, url=db_url) is not None  # the refused change left the old password


def test_five_failures_lock_the_account_for_15_minutes_in_the_store(db_url):
    import datetime as dt

    import sqlalchemy as sa

    from carbonqa import auth
    from carbonqa.store import session_scope
    from carbonqa.store.models import User

    create_user("li", PW1, role="national", url=db_url)
    for _ in range(4):
        assert authenticate("li", "wrong", url=db_url) is None
    assert authenticate("li", PW1, url=db_url) is not None  # a success resets the count
    for _ in range(auth.MAX_FAILED_LOGINS):
        assert authenticate("li", "wrong", url=db_url) is None
    with session_scope(db_url) as s:
        u = s.scalars(sa.select(User).where(User.username == "li")).one()
        left = u.locked_until - auth.now_cst()
        assert dt.timedelta(minutes=14) < left <= auth.LOCKOUT
    assert authenticate("li", PW1, url=db_url) is None  # locked: even the right password fails
    with session_scope(db_url) as s:  # 15 minutes later
        s.scalars(sa.select(User).where(User.username == "li")).one().locked_until = auth.now_cst() - dt.timedelta(seconds=1)
    assert authenticate("li", PW1, url=db_url) is not None
    for _ in range(auth.MAX_FAILED_LOGINS):
        authenticate("li", "wrong", url=db_url)
    assert authenticate("li", PW1, url=db_url) is None
    auth.unlock("li", url=db_url)
    assert authenticate("li", PW1, url=db_url) is not None
    with pytest.raises(UserError, match="no user"):
        auth.unlock("nobody", url=db_url)


def test_case_writes_reread_role_jurisdiction_and_active_flag(db_url):
    import sqlalchemy as sa

    from carbonqa import cases
    from carbonqa.jurisdiction import PermissionDenied
    from carbonqa.store import session_scope
    from carbonqa.store.models import Case, CaseEvent, User

    create_user("nm", PW1, role="provincial", province_code="15", url=db_url)
    create_user("baotou", PW1, role="municipal", province_code="15", city_name="包头市", url=db_url)
    with session_scope(db_url) as s:
        s.add(Case(case_id="C-1", enterprise_id="E1", year=2024, province_code="15", city_name="包头市"))
    signed_in = authenticate("nm", PW1, url=db_url)
    old = Scope.of(signed_in)
    cases.add_note("C-1", "先看含碳量", old, url=db_url)

    def events() -> int:
        with session_scope(db_url) as s:
            return s.execute(sa.select(sa.func.count()).select_from(CaseEvent)).scalar_one()

    n = events()
    with session_scope(db_url) as s:  # the reviewer leaves: deactivated while still signed in
        s.scalars(sa.select(User).where(User.username == "nm")).one().is_active = False
    for act in (lambda u: cases.add_note("C-1", "x", u, url=db_url),
                lambda u: cases.transition("C-1", "triaged", u, 1, url=db_url)):
        for who in (old, signed_in):
            with pytest.raises(PermissionDenied, match="deactivated"):
                act(who)
    with session_scope(db_url) as s:  # back, but moved to another province
        u = s.scalars(sa.select(User).where(User.username == "nm")).one()
        u.is_active, u.province_code = True, "37"
    with pytest.raises(PermissionDenied):
        cases.transition("C-1", "triaged", old, 1, url=db_url)
    with pytest.raises(PermissionDenied, match="unknown"):  # a forged scope names nobody in the store
        cases.add_note("C-1", "x", Scope("ghost", "national"), url=db_url)
    with pytest.raises(cases.InvalidTransition, match="municipal"):  # a scope claiming more than the store says
        cases.transition("C-1", "triaged", Scope("baotou", "national"), 1, url=db_url)
    assert events() == n
    with session_scope(db_url) as s:
        assert s.get(Case, "C-1").status == "new"


def test_demo_users_file_is_owner_only_and_kept_across_runs(db_url, tmp_path):
    import stat

    from typer.testing import CliRunner

    from carbonqa.cli import app

    target = tmp_path / "demo.txt"
    target.write_text("old world-readable file\n")
    target.chmod(0o644)
    runner = CliRunner()
    res = runner.invoke(app, ["users", "demo", "--out", str(target)])
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    first = dict(line.split()[:2] for line in target.read_text(encoding="utf-8").splitlines()[1:])
    assert set(first) == {"demo-national", "demo-prov-15", "demo-city-15", "demo-auditor"}
    assert all(authenticate(u, pw, url=db_url) is not None for u, pw in first.items())
    assert runner.invoke(app, ["users", "demo", "--out", str(target)]).exit_code == 0
    second = dict(line.split()[:2] for line in target.read_text(encoding="utf-8").splitlines()[1:])
    assert second == first  # not reset on every run
    set_password("demo-auditor", PW2, url=db_url)  # changed meanwhile: the file entry is stale
    assert runner.invoke(app, ["users", "demo", "--out", str(target)]).exit_code == 0
    third = dict(line.split()[:2] for line in target.read_text(encoding="utf-8").splitlines()[1:])
    assert third["demo-auditor"] != first["demo-auditor"] and third["demo-national"] == first["demo-national"]
    assert authenticate("demo-auditor", third["demo-auditor"], url=db_url) is not None
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
