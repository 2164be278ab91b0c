"""Jurisdiction of a reader: who may see and act on which cases (国家-省-市三级联审).

| role | sees | may act |
|---|---|---|
| ``national`` | every province | yes |
| ``provincial`` | one province (``province_code``) | yes, in that province |
| ``municipal`` | one city (``province_code`` + ``city_name``) | yes, in that city |
| ``auditor`` | every province | no (read-only) |

Scoping is enforced in :mod:`carbonqa.queries` and :mod:`carbonqa.cases` with these helpers, not only
in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from carbonqa.errors import AccessError

__all__ = ["ROLES", "Scope", "ScopeError", "PermissionDenied"]

ROLES: tuple[str, ...] = ("national", "provincial", "municipal", "auditor")


class ScopeError(AccessError, ValueError):
    """A user's jurisdiction is malformed (e.g. a provincial user without a province)."""


class PermissionDenied(AccessError, PermissionError):
    """The reader may not see or change this object; the message says which jurisdiction it lies in."""


@dataclass(frozen=True)
class Scope:
    """What one reader may see: ``province_code`` / ``city_name`` ``None`` = unrestricted."""

    username: str
    role: str
    province_code: str | None = None
    city_name: str | None = None

    def __post_init__(self) -> None:
        """Check the role's jurisdiction is complete; raises :class:`ScopeError`."""
        if self.role not in ROLES:
            raise ScopeError(f"unknown role {self.role!r}; expected one of {ROLES}")
        if self.role in ("provincial", "municipal") and not self.province_code:
            raise ScopeError(f"{self.role} user {self.username!r} needs a province_code")
        if self.role == "municipal" and not self.city_name:
            raise ScopeError(f"municipal user {self.username!r} needs a city_name")

    @classmethod
    def of(cls, user) -> Scope:  # noqa: ANN001 - a carbonqa.store.models.User
        """Scope of a stored :class:`~carbonqa.store.models.User`."""
        return cls(user.username, user.role, user.province_code, user.city_name)

    @property
    def can_write(self) -> bool:
        """Whether this reader may change cases (auditors may not)."""
        return self.role != "auditor"

    def allows(self, province_code: str | None, city_name: str | None) -> bool:
        """Whether an object in (``province_code``, ``city_name``) lies in this jurisdiction."""
        if self.role in ("national", "auditor"):
            return True
        if province_code != self.province_code:
            return False
        return self.role == "provincial" or city_name == self.city_name

    def clause(self, province_col: sa.ColumnElement, city_col: sa.ColumnElement) -> sa.ColumnElement[bool]:
        """SQL filter restricting rows (with those province / city columns) to this jurisdiction."""
        if self.role in ("national", "auditor"):
            return sa.true()
        cond = province_col == self.province_code
        if self.role == "municipal":
            cond = sa.and_(cond, city_col == self.city_name)
        return cond

    def require(self, province_code: str | None, city_name: str | None, *, write: bool = False) -> None:
        """Raise :class:`PermissionDenied` unless the object is in scope (and writable if ``write``)."""
        if write and not self.can_write:
            raise PermissionDenied(f"{self.username} ({self.role}) is read-only")
        if not self.allows(province_code, city_name):
            raise PermissionDenied(
                f"{self.username} ({self.role} {self.province_code or ''} {self.city_name or ''}) may not access "
                f"an object of province {province_code} city {city_name}"
            )
