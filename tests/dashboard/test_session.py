"""Sign-in surviving reloads: the signed, expiring session cookie (dashboard.session)."""

from __future__ import annotations

import os
import stat
import time

import pytest


@pytest.fixture
def sess(seeded_url):
    from dashboard import session

    return session


def test_token_round_trip_rereads_the_user_from_the_store(sess, seeded_url):
    token = sess.issue("prov15", seeded_url)
    user = sess.verify(token, seeded_url)
    assert user == {"username": "prov15", "role": "provincial", "province_code": "15", "city_name": None,
                    "display_name": user["display_name"]}
    assert "provincial" not in token and "15" not in token.split(".")[0][:4]  # role/jurisdiction never in it
    assert sess.issue("nobody", seeded_url) is None
    key = sess._home() / "dashboard_session.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_forged_expired_and_foreign_tokens_are_refused(sess, seeded_url, monkeypatch):
    from itsdangerous import URLSafeTimedSerializer

    token = sess.issue("nat", seeded_url)
    assert sess.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), seeded_url) is None  # tampered
    forged = URLSafeTimedSerializer("guessed-secret", salt=sess._SALT).dumps({"u": "nat", "p": "x"})
    assert sess.verify(forged, seeded_url) is None
    assert sess.verify("", seeded_url) is None and sess.verify(None, seeded_url) is None
    assert sess.verify("x" * 5000, seeded_url) is None
    time.sleep(1.1)
    assert sess.verify(token, seeded_url, max_age=0) is None  # expired
    assert sess.verify(token, seeded_url) is not None
    monkeypatch.setenv("CARBONQA_SESSION_SECRET", "another-deployment")
    assert sess.verify(token, seeded_url) is None  # signed with another key


def test_deactivated_user_or_changed_password_ends_the_session(sess, seeded_url):
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import User

    t_nat, t_prov = sess.issue("nat", seeded_url), sess.issue("prov15", seeded_url)
    with get_engine(seeded_url).begin() as conn:
        conn.execute(sa.update(User).where(User.username == "nat").values(is_active=False))
        conn.execute(sa.update(User).where(User.username == "prov15").values(password_hash="$argon2id$changed"))
    assert sess.verify(t_nat, seeded_url) is None and sess.verify(t_prov, seeded_url) is None


def test_sign_out_everywhere_refuses_earlier_tokens(sess, seeded_url):
    old = sess.issue("baotou", seeded_url)
    other = sess.issue("ordos", seeded_url)
    sess.sign_out_everywhere("baotou")
    assert sess.verify(old, seeded_url) is None and sess.verify(other, seeded_url) is not None
    time.sleep(2.1)
    assert sess.verify(sess.issue("baotou", seeded_url), seeded_url)["username"] == "baotou"


def test_app_signs_in_from_the_cookie_and_signs_out(app, seeded_url, monkeypatch):
    from dashboard import session

    token = session.issue("prov15", seeded_url)
    monkeypatch.setattr(session, "read_cookie", lambda: token)  # the browser sends the cookie on a reload
    at = app(None)
    at.run()
    assert not at.exception
    assert at.session_state["user"]["province_code"] == "15" and at.title[0].value == "总览"
    at.button(key="logout").click()
    at.run()
    assert "user" not in at.session_state and at.text_input(key="login_username")  # the cookie no longer signs in
    at.button(key="login_submit").click().run()  # (empty form: still signed out)
    assert "user" not in at.session_state
    # sign out everywhere: another browser holding the old cookie is signed out too
    at = app(None)
    at.run()
    at.button(key="logout_all").click()
    at.run()
    at2 = app(None)
    at2.run()
    assert "user" not in at2.session_state and at2.text_input(key="login_username")


def test_session_follows_the_store_on_every_run(app, seeded_url):
    import sqlalchemy as sa

    from carbonqa.store.db import get_engine
    from carbonqa.store.models import User

    at = app("ordos")
    at.run()
    assert at.session_state["user"]["city_name"] == "鄂尔多斯市"
    with get_engine(seeded_url).begin() as conn:  # moved to 包头市: the next run reads 包头市's cases only
        conn.execute(sa.update(User).where(User.username == "ordos").values(city_name="包头市"))
    at.run()
    assert at.session_state["user"]["city_name"] == "包头市"
    with get_engine(seeded_url).begin() as conn:  # deactivated: signed out at the next run
        conn.execute(sa.update(User).where(User.username == "ordos").values(is_active=False))
    at.run()
    assert "user" not in at.session_state and at.text_input(key="login_username")
