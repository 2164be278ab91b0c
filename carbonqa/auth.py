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

Errors: :class:`UserError` (``ValueError``) for a duplicate user name, an empty password or a malformed
jurisdiction (it wraps :class:`carbonqa.jurisdiction.ScopeError` messages).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from carbonqa.contract import PROVINCES
from carbonqa.jurisdiction import ROLES, Scope, ScopeError
from carbonqa.store.db import session_scope
from carbonqa.store.models import User

__all__ = ["UserError", "create_user", "authenticate", "list_users", "get_user", "set_password", "hash_password"]

_HASHER = PasswordHasher()
#: Verified against when the user does not exist, so a miss costs as much as a wrong password.
_DUMMY_HASH = _HASHER.hash("carbonqa-timing-equaliser")
#: ISO 3166-2 subdivision (adapted foreign data, e.g. ``US-AZ``), accepted besides GB/T 2260 codes.
_ISO_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


class UserError(ValueError):
    """A user cannot be created or changed; the message says what to fix."""


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (PHC string); raises :class:`UserError` for an empty password."""
    if not password:
        raise UserError("password must not be empty")
    return _HASHER.hash(password)


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
        password: clear-text password (only its hash is stored).
        role: one of :data:`carbonqa.jurisdiction.ROLES`.
        province_code: GB/T 2260 code, required for ``provincial`` and ``municipal``.
        city_name: prefecture-level city, required for ``municipal`` (as in ``enterprises.city_name``).
        display_name: name shown in the dashboard (default: ``username``).
        url: case-store URL (default: settings).

    Raises:
        UserError: duplicate user name, empty name or password, or a malformed jurisdiction.
    """
    username = (username or "").strip()
    if not username:
        raise UserError("username must not be empty")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    province_code = province_code or None
    city_name = city_name or None
    _check_jurisdiction(role, province_code, city_name, username)
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


def authenticate(username: str, password: str, url: str | None = None) -> User | None:
    """Return the active user ``username`` if ``password`` is theirs, else ``None`` (never says which).

    A hash made with older argon2 parameters is re-hashed and stored on success.
    """
    username = (username or "").strip()
    with session_scope(url) as s:
        user = s.scalar(sa.select(User).where(User.username == username)) if username else None
        if user is None or not user.is_active:
            try:
                _HASHER.verify(_DUMMY_HASH, password or "")
            except VerificationError:
                pass
            return None
        try:
            _HASHER.verify(user.password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = _HASHER.hash(password)
        s.flush()
        s.expunge(user)
    return user


def set_password(username: str, password: str, url: str | None = None) -> None:
    """Replace the password of ``username``; raises :class:`UserError` if there is no such user."""
    pw_hash = hash_password(password)
    with session_scope(url) as s:
        user = s.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise UserError(f"no user {username!r}")
        user.password_hash = pw_hash


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
