"""Sign-in that survives a reload: a signed, expiring session cookie.

Streamlit keeps ``st.session_state`` per browser connection, so a reload used to sign the reader out.
After a sign-in the dashboard sets a cookie ``carbonqa_session`` holding a token signed with
``itsdangerous`` (HMAC-SHA1 over the payload and its timestamp; :data:`MAX_AGE` seconds valid); on a new
connection it reads the cookie (``st.context.cookies``, the cookies of the connection's HTTP handshake),
checks signature and age, and re-reads the user from the store: an unknown, deactivated or locked user,
or one whose password changed since the token was issued, is not signed in, and the role and
jurisdiction always come from the store, never from the cookie.

The token carries only the user name, a fingerprint of the password hash (a password change ends every
session) and the signing time. "Sign out everywhere" records a not-before time per user
(``<home>/dashboard_sessions.json``): tokens signed earlier are refused on every device.

The signing key is ``CARBONQA_SESSION_SECRET`` or, when unset, a random key kept in
``<home>/dashboard_session.key`` (mode 0600), so sessions outlive a restart of the dashboard.

The cookie is written in the browser by a tiny Streamlit component (``st.components.v2``, part of
Streamlit itself; the token is passed as data, never spliced into code) with ``Path=/``,
``SameSite=Strict``, ``Max-Age`` and ``Secure`` under HTTPS. Script can read it (a page cannot set an
HttpOnly cookie); it is worth nothing after :data:`MAX_AGE` or a sign-out everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v2 as components_v2
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from carbonqa.settings import get_settings

COOKIE = "carbonqa_session"
MAX_AGE = 10 * 3600  # seconds: a working day
_SALT = "carbonqa.dashboard.session.v1"
_lock = threading.Lock()

_JS = """
export default function (component) {
  const { data } = component;
  if (!data || !data.name) return;
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${data.name}=${encodeURIComponent(data.value || "")}; Max-Age=${data.max_age}; Path=/; SameSite=Strict${secure}`;
}
"""


def _home() -> Path:
    return Path(get_settings().home).resolve()


def _secret() -> str:
    env = os.environ.get("CARBONQA_SESSION_SECRET")
    if env:
        return env
    path = _home() / "dashboard_session.key"
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:  # O_EXCL: another dashboard process creating it at the same moment wins, we read its key
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                time.sleep(0.05)
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(), salt=_SALT)


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _revocations_path() -> Path:
    return _home() / "dashboard_sessions.json"


def _not_before(username: str) -> float:
    try:
        return float(json.loads(_revocations_path().read_text()).get(username, 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0


def issue(username: str, url: str | None = None) -> str | None:
    """A signed session token for ``username`` (``None`` if no such user)."""
    from carbonqa.auth import get_user

    user = get_user(username, url)
    if user is None:
        return None
    return _serializer().dumps({"u": user.username, "p": _fingerprint(user.password_hash)})


def verify(token: str | None, url: str | None = None, *, max_age: int = MAX_AGE) -> dict[str, Any] | None:
    """The session-state ``user`` dict of a valid token, re-read from the store; else ``None``."""
    if not token or len(token) > 4096:
        return None
    try:
        payload, signed_at = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except (SignatureExpired, BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
        return None
    from carbonqa.auth import get_user

    user = get_user(payload["u"], url)
    if user is None or not user.is_active or payload.get("p") != _fingerprint(user.password_hash):
        return None
    if signed_at.timestamp() < _not_before(user.username):
        return None
    return {"username": user.username, "role": user.role, "province_code": user.province_code,
            "city_name": user.city_name, "display_name": user.display_name or user.username}


def refresh(user: dict[str, Any], url: str | None = None) -> dict[str, Any] | None:
    """The signed-in ``user`` as the store has it now (role, jurisdiction), or ``None`` if deactivated or gone.

    Called on every run: a reader whose account is deactivated or moved to another jurisdiction does not
    keep reading with the scope of their sign-in.
    """
    from carbonqa.auth import get_user

    u = get_user(user["username"], url)
    if u is None or not u.is_active:
        return None
    return {"username": u.username, "role": u.role, "province_code": u.province_code, "city_name": u.city_name,
            "display_name": u.display_name or u.username}


def sign_out_everywhere(username: str) -> None:
    """Refuse every token of ``username`` signed until now (on every device)."""
    path = _revocations_path()
    with _lock:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        data[username] = time.time() + 1  # tokens carry whole seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.chmod(tmp, 0o600)
        tmp.replace(path)


def read_cookie() -> str | None:
    """The session cookie of this connection (``None`` outside a browser connection, e.g. in AppTest)."""
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (tests, bare mode)
        return None


_writer = None


def write_cookie(value: str, max_age: int) -> None:
    """Set (``max_age`` > 0) or delete (``max_age`` 0) the session cookie in the reader's browser."""
    global _writer
    if _writer is None:
        _writer = components_v2.component("carbonqa_session_cookie", js=_JS)
    _writer(data={"name": COOKIE, "value": value, "max_age": int(max_age)}, key=f"session_cookie_{max_age > 0}")
