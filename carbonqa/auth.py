"""Local users of the dashboard: argon2-hashed passwords and a jurisdiction (国家 / 省 / 市 / 审计).

The department's single sign-on sits in front of Streamlit in production (ARCHITECTURE.md §4); on one
machine, and behind SSO for the jurisdiction itself, users are local rows of
:class:`carbonqa.store.models.User`:

| role | jurisdiction | may act |
|---|---|---|
| ``national`` | the whole country | yes |
| ``provincial`` | one province (``province_code``) | yes, in that province |
| ``municipal`` | one city (``province_code`` + ``city_name``) | yes, in that city |
| ``auditor`` | the whole country | no (read-only) |

Passwords are hashed with argon2id (``argon2-cffi``'s ``PasswordHasher`` defaults, RFC 9106
"second recommended" parameters); hashes are upgraded transparently on sign-in when the parameters
change. :func:`authenticate` spends the same argon2 work whether or not the user exists, so timing does
not reveal user names.

**Throttling and lockout** (GB/T 22239-2019 §8.1.4.1 b, "登录失败处理"; OWASP Authentication Cheat
Sheet, "Account lockout"): :data:`MAX_FAILED_LOGINS` consecutive wrong passwords lock the account for
:data:`LOCKOUT` (state in ``users.failed_logins`` / ``users.locked_until``, so it holds across dashboard
processes and restarts). While locked every sign-in fails, the right password too, with the same
answer and the same argon2 work as a wrong one; a success resets the count. :func:`unlock` lifts it.

**Password policy** (:func:`check_password`, applied by :func:`create_user` and :func:`set_password`):
at least :data:`MIN_PASSWORD_LENGTH` characters and a zxcvbn score of at least
:data:`MIN_ZXCVBN_SCORE` (Wheeler, "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security
2016; score 3 = "safely unguessable: moderate protection from an offline slow-hash scenario", which
argon2id is), judged with the user name and display name as known words. NIST SP 800-63B §5.1.1.2:
length and a check against guessable passwords, no composition rules.

Errors: :class:`UserError` (``ValueError``) for a duplicate user name, a password the policy refuses or
a malformed jurisdiction (it wraps :class:`carbonqa.jurisdiction.ScopeError` messages).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from carbonqa.contract import PROVINCES
from carbonqa.errors import InputError
from carbonqa.jurisdiction import ROLES, Scope, ScopeError
from carbonqa.store.db import session_scope
from carbonqa.store.models import User, now_cst

__all__ = [
    "UserError",
    "create_user",
    "authenticate",
    "list_users",
    "get_user",
    "set_password",
    "hash_password",
    "check_password",
    "unlock",
    "password_matches",
    "MAX_FAILED_LOGINS",
    "LOCKOUT",
    "MIN_PASSWORD_LENGTH",
    "MIN_ZXCVBN_SCORE",
]

log = logging.getLogger(__name__)

#: consecutive failed sign-ins that lock an account (OWASP: "a small number", e.g. 3–10)
MAX_FAILED_LOGINS = 5
#: how long a locked account refuses sign-in
LOCKOUT = dt.timedelta(minutes=15)
#: shortest accepted password (NIST SP 800-63B asks ≥ 8; 12 for a regulator's reviewers)
MIN_PASSWORD_LENGTH = 12
#: longest accepted password (bounds argon2 and zxcvbn work; zxcvbn judges the first 72 characters)
MAX_PASSWORD_LENGTH = 1024
#: lowest accepted zxcvbn score (0–4)
MIN_ZXCVBN_SCORE = 3

_HASHER = PasswordHasher()
#: Verified against when the user does not exist, so a miss costs as much as a wrong password.
_DUMMY_HASH = _HASHER.hash("carbonqa-timing-equaliser")
#: ISO 3166-2 subdivision (adapted foreign data, e.g. ``US-AZ``), accepted besides GB/T 2260 codes.
_ISO_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


class UserError(InputError, ValueError):
    """A user cannot be created or changed; the message says what to fix."""


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (PHC string); raises :class:`UserError` for an empty password."""
    if not password:
        raise UserError("password must not be empty")
    return _HASHER.hash(password)


def check_password(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> None:
    """Refuse a password the policy does not accept (see the module docstring); returns ``None`` if fine.

    Args:
        password: the clear-text candidate.
        user_inputs: words an attacker would try first (user name, display name, jurisdiction).

    Raises:
        UserError: empty, shorter than :data:`MIN_PASSWORD_LENGTH` or longer than
            :data:`MAX_PASSWORD_LENGTH` characters, or a zxcvbn score below :data:`MIN_ZXCVBN_SCORE`;
            the message carries zxcvbn's warning and suggestions.
    """
    from zxcvbn import zxcvbn

    if not password:
        raise UserError("password must not be empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters (a few unrelated words work well)")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    res = zxcvbn(password[:72], user_inputs=[u for u in user_inputs if u])
    if res["score"] < MIN_ZXCVBN_SCORE:
        fb = res.get("feedback") or {}
        hints = " ".join(x for x in [fb.get("warning") or "", *(fb.get("suggestions") or [])] if x)
        raise UserError(
            f"password too easy to guess (strength {res['score']}/4, need {MIN_ZXCVBN_SCORE}): "
            + (hints or "add more unrelated words or characters")
        )


def _check_jurisdiction(role: str, province_code: str | None, city_name: str | None, username: str) -> None:
    try:
        Scope(username, role, province_code, city_name)
    except ScopeError as exc:
        raise UserError(str(exc)) from None
    if role in ("national", "auditor") and (province_code or city_name):
        raise UserError(f"{role} user {username!r} sees the whole country; do not give a province or city")
    if role == "provincial" and city_name:
        raise UserError(f"provincial user {username!r} covers a whole province; do not give a city")
    if province_code and province_code not in PROVINCES and not _ISO_SUBDIVISION.match(province_code):
        raise UserError(
            f"unknown province code {province_code!r}: use a GB/T 2260 code (e.g. 15 for 内蒙古) "
            "or an ISO 3166-2 code for adapted foreign data"
        )


def create_user(
    username: str,
    password: str,
    *,
    role: str,
    province_code: str | None = None,
    city_name: str | None = None,
    display_name: str = "",
    url: str | None = None,
) -> User:
    """Create a local user with an argon2 password hash and a jurisdiction; returns the stored user.

    Args:
        username: unique sign-in name.
        password: clear-text password (only its hash is stored); must pass :func:`check_password`.
        role: one of :data:`carbonqa.jurisdiction.ROLES`.
        province_code: GB/T 2260 code, required for ``provincial`` and ``municipal``.
        city_name: prefecture-level city, required for ``municipal`` (as in ``enterprises.city_name``).
        display_name: name shown in the dashboard (default: ``username``).
        url: case-store URL (default: settings).

    Raises:
        UserError: duplicate user name, empty name, a password the policy refuses, or a malformed
            jurisdiction.
    """
    username = (username or "").strip()
    if not username:
        raise UserError("username must not be empty")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    province_code = province_code or None
    city_name = city_name or None
    _check_jurisdiction(role, province_code, city_name, username)
    check_password(password, [username, display_name, city_name or ""])
    pw_hash = hash_password(password)
    with session_scope(url) as s:
        if s.scalar(sa.select(User.user_id).where(User.username == username)) is not None:
            raise UserError(f"user {username!r} already exists")
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=pw_hash,
            role=role,
            province_code=province_code,
            city_name=city_name,
            is_active=True,
        )
        s.add(user)
        s.flush()
        s.refresh(user)
        s.expunge(user)
    return user


def _equalise(password: str) -> None:
    try:
        _HASHER.verify(_DUMMY_HASH, password or "")
    except VerificationError:
        pass


def authenticate(username: str, password: str, url: str | None = None) -> User | None:
    """Return the active user ``username`` if ``password`` is theirs, else ``None`` (never says which).

    ``None`` also while the account is locked (:data:`MAX_FAILED_LOGINS` failures in a row lock it for
    :data:`LOCKOUT`); a wrong password counts a failure atomically in the store, a success resets the
    count. A hash made with older argon2 parameters is re-hashed and stored on success.
    """
    username = (username or "").strip()
    if len(password or "") > MAX_PASSWORD_LENGTH:
        password = ""  # never spend argon2 work on megabytes; still counts as a failure below
    with session_scope(url) as s:
        user = s.scalar(sa.select(User).where(User.username == username)) if username else None
        if user is None or not user.is_active:
            _equalise(password)
            return None
        now = now_cst()
        if user.locked_until is not None and user.locked_until > now:
            _equalise(password)
            return None
        try:
            _HASHER.verify(user.password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            lock = (User.failed_logins + 1) >= MAX_FAILED_LOGINS
            s.execute(
                sa.update(User).where(User.user_id == user.user_id).values(
                    failed_logins=sa.case((lock, 0), else_=User.failed_logins + 1),
                    locked_until=sa.case((lock, now + LOCKOUT), else_=None),
                ).execution_options(synchronize_session=False)
            )
            s.expire(user)
            if s.get(User, user.user_id).locked_until is not None:
                log.warning("user %s locked for %s after %d failed sign-ins", username, LOCKOUT, MAX_FAILED_LOGINS)
            return None
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = _HASHER.hash(password)
        user.failed_logins, user.locked_until = 0, None
        s.flush()
        s.expunge(user)
    return user


def password_matches(username: str, password: str, url: str | None = None) -> bool:
    """Whether ``password`` is the stored password of ``username`` — for admin tools, not for sign-in.

    Counts no failure and ignores lockout and the active flag (``carbonqa users demo`` uses it to keep
    the demo passwords it wrote earlier). Unknown user → ``False``.
    """
    user = get_user(username, url)
    if user is None:
        return False
    try:
        return bool(_HASHER.verify(user.password_hash, password or ""))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def unlock(username: str, url: str | None = None) -> None:
    """Lift a lockout and reset the failure count of ``username``; raises :class:`UserError` if unknown."""
    with session_scope(url) as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise UserError(f"no user {username!r}")
        user.failed_logins, user.locked_until = 0, None


def set_password(username: str, password: str, url: str | None = None) -> None:
    """Replace the password of ``username`` (and lift a lockout).

    Raises:
        UserError: no such user, or a password :func:`check_password` refuses.
    """
    with session_scope(url) as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise UserError(f"no user {username!r}")
        check_password(password, [username, user.display_name, user.city_name or ""])
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None


def get_user(username: str, url: str | None = None) -> User | None:
    """Return the stored user ``username`` (detached) or ``None``."""
    with session_scope(url) as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        if user is not None:
            s.expunge(user)
        return user


def list_users(url: str | None = None, *, role: str | None = None, province_code: str | None = None) -> list[User]:
    """Every stored user (detached), ordered by role then user name; optionally one role / province."""
    stmt = sa.select(User)
    if role:
        stmt = stmt.where(User.role == role)
    if province_code:
        stmt = stmt.where(User.province_code == province_code)
    order = sa.case({r: i for i, r in enumerate(ROLES)}, value=User.role, else_=len(ROLES))
    with session_scope(url) as s:
        users = list(s.scalars(stmt.order_by(order, User.username)))
        for u in users:
            s.expunge(u)
    return users
