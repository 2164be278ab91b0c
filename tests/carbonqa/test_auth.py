import pytest

from carbonqa.auth import UserError, authenticate, create_user, list_users, set_password
from carbonqa.jurisdiction import Scope


def test_create_and_authenticate(db_url):
    u = create_user("li", "pw-1", role="municipal", province_code="15", city_name="包头市", display_name="李", url=db_url)
    assert u.user_id and u.password_hash.startswith("$argon2id$") and "pw-1" not in u.password_hash
    got = authenticate("li", "pw-1", url=db_url)
    assert got is not None and Scope.of(got) == Scope("li", "municipal", "15", "包头市")
    assert authenticate("li", "wrong", url=db_url) is None
    assert authenticate("nobody", "pw-1", url=db_url) is None
    assert authenticate("", "", url=db_url) is None
    set_password("li", "pw-2", url=db_url)
    assert authenticate("li", "pw-1", url=db_url) is None and authenticate("li", "pw-2", url=db_url) is not None


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
    create_user("n", "x", role="national", url=db_url)
    with pytest.raises(UserError, match="already exists"):
        create_user("n", "y", role="auditor", url=db_url)


def test_inactive_user_cannot_sign_in_and_list_order(db_url):
    from carbonqa.store import session_scope
    from carbonqa.store.models import User

    create_user("a", "x", role="auditor", url=db_url)
    create_user("n", "x", role="national", url=db_url)
    create_user("p", "x", role="provincial", province_code="37", url=db_url)
    assert [u.username for u in list_users(db_url)] == ["n", "p", "a"]
    assert [u.username for u in list_users(db_url, role="provincial")] == ["p"]
    with session_scope(db_url) as s:
        s.query(User).filter_by(username="n").one().is_active = False
    assert authenticate("n", "x", url=db_url) is None
