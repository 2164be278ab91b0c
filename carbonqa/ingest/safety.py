r"""What a hostile bundle must not get past: paths kept inside their root, text the store can hold.

Paths (issue 14 item 1). Every path built from a manifest or from data — a table's ``file``, a part, the
bundle id as a folder name, a lake partition — goes through :func:`resolve_inside`: it must be
relative, free of NUL and control characters, and, resolved with every symbolic link followed, stay
inside its root. A symlink whose target leaves the bundle is therefore refused before anything opens
it (never hashed, read or copied into quarantine); one that stays inside is read like a file.

Text (issue 14 item 2). Values must be storable *identically* on SQLite and PostgreSQL:

* :data:`CONTROL_PATTERN` — C0/C1 control characters (NUL included: PostgreSQL refuses ``\x00`` in
  text), DEL, and the bidirectional formatting characters of the "Trojan Source" attack
  (CVE-2021-42574; Unicode TR #9 explicit embeddings/overrides/isolates, plus LRM/RLM/ALM), which make
  a displayed id differ from the stored one. :data:`TEXT_CONTROL_PATTERN` is the same but allows tab,
  line feed and carriage return, for free text (a tip's summary may have lines).
* :func:`store_width` — the width (characters) a contract column can hold, *derived* from the store's
  models: the narrowest ``String(n)`` among the raw column and every service column of the same name
  (``city_name`` is ``String(200)`` raw but ``String(100)`` in ``cases``/``users``, so 100), so a value
  that lands can also be carried into a case. SQLite does not enforce widths; PostgreSQL does, so the
  check runs before insert on both.
* :func:`int_range` — the range of an ``Integer`` column (SQL ``INTEGER``: 32-bit signed on
  PostgreSQL; SQLite would take more, so the narrower bound applies to both).
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from carbonqa import contract

__all__ = [
    "CONTROL_PATTERN",
    "TEXT_CONTROL_PATTERN",
    "FREE_TEXT_COLUMNS",
    "resolve_inside",
    "is_symlink_out",
    "safe_dir_name",
    "store_width",
    "int_range",
    "printable",
    "clip",
]

_BIDI = r"\x{200E}\x{200F}\x{061C}\x{202A}-\x{202E}\x{2066}-\x{2069}"
#: Characters refused in any stored text (Rust-regex syntax, used in polars expressions).
CONTROL_PATTERN = r"[\x00-\x1F\x7F-\x9F" + _BIDI + "]"
#: Same, but tab / LF / CR allowed (free-text columns, :data:`FREE_TEXT_COLUMNS`).
TEXT_CONTROL_PATTERN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F" + _BIDI + "]"
_PY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")

#: Contract columns of free text (names, categories, summaries), where line breaks are allowed.
FREE_TEXT_COLUMNS = frozenset({"enterprise_name", "unit_name", "agency_name", "category", "summary"})


def resolve_inside(root: Path, rel: str) -> tuple[Path | None, str | None]:
    """Resolve bundle-relative ``rel`` under ``root``; return ``(path, None)`` or ``(None, why)``.

    ``why`` is a sentence for the quarantine report: an absolute path, a NUL or control character, a
    ``..`` that climbs out, or a symbolic link (anywhere on the way) whose target is outside ``root``.
    The returned path is the resolved one (symlinks inside the root followed). Never raises.
    """
    if not isinstance(rel, str) or not rel:
        return None, "the path is empty"
    if _PY_CONTROL.search(rel):
        return None, "the path contains a NUL or control character"
    if rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel) or os.path.isabs(rel):
        return None, "the path is absolute; paths in manifest.json are relative to the bundle folder"
    try:
        base = root.resolve()
        target = (base / rel).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, name too long …
        return None, f"the path cannot be resolved ({type(exc).__name__})"
    if not target.is_relative_to(base):
        lexical = os.path.normpath(os.path.join(str(base), rel))
        if Path(lexical).is_relative_to(base):
            return None, "a symbolic link on this path points outside the bundle folder"
        return None, "the path leaves the bundle folder ('..')"
    return target, None


def is_symlink_out(root: Path, path: Path) -> bool:
    """True when ``path`` (inside ``root``) is a symbolic link whose target resolves outside ``root``."""
    try:
        return path.is_symlink() and not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return True


def safe_dir_name(name: str) -> str:
    """A folder name for ``name`` (a bundle id) that cannot climb or collide.

    Characters outside ``[A-Za-z0-9._@-]`` become ``_``; when anything was replaced, or the result is
    ``.``/``..``/empty, ``~`` and the first 16 hex of ``name``'s SHA-256 are appended so two ids never
    share a folder (``内蒙古`` and ``山东省`` both map to ``___`` otherwise). ``~`` is outside the kept
    characters, so an id left as it is can never be crafted to equal another id's altered name.
    """
    s = re.sub(r"[^A-Za-z0-9._@-]", "_", name)
    if s != name or s.strip(".") == "":
        s = (s.strip(".") or "_") + "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return s


@cache
def _widths() -> dict[str, int]:
    """Narrowest ``String(n)`` of every column name over the whole store (service tables)."""
    from carbonqa.store.models import metadata

    out: dict[str, int] = {}
    for t in metadata.tables.values():
        if t.name.startswith("raw_"):
            continue
        for c in t.columns:
            n = getattr(c.type, "length", None)
            if isinstance(c.type, sa.String) and n:
                out[c.name] = min(n, out.get(c.name, n))
    return out


@cache
def store_width(table: str, column: str) -> int | None:
    """Most characters a value of contract ``table.column`` may have, or ``None`` (unbounded ``Text``).

    Derived from :mod:`carbonqa.store.models`: the raw column's ``String(n)`` (telemetry has no raw
    table) and every service column of the same name, the narrowest wins.
    """
    from carbonqa.store.models import RAW_TABLES

    widths = []
    if table in RAW_TABLES and column in RAW_TABLES[table].c:
        t = RAW_TABLES[table].c[column].type
        if isinstance(t, sa.String) and not isinstance(t, sa.Text) and t.length:
            widths.append(t.length)
        elif isinstance(t, sa.Text):
            return None
    if column in _widths():
        widths.append(_widths()[column])
    return min(widths) if widths else None


@cache
def int_range(table: str, column: str) -> tuple[int, int] | None:
    """``(min, max)`` an integer of contract ``table.column`` may take in the store, or ``None``.

    ``Integer`` (SQL ``INTEGER``) is 32-bit signed on PostgreSQL: −2³¹ … 2³¹ − 1.
    """
    from carbonqa.store.models import RAW_TABLES

    if table in RAW_TABLES and column in RAW_TABLES[table].c:
        t = RAW_TABLES[table].c[column].type
        if isinstance(t, sa.Integer) and not isinstance(t, sa.BigInteger):
            return -(2**31), 2**31 - 1
    if contract.table(table).column(column).dtype == "int":
        return -(2**63), 2**63 - 1
    return None


def printable(value: object) -> str | None:
    r"""``value`` as text safe to store and show: control and bidi characters escaped (``\x00``, ``\u202e``)."""
    if value is None:
        return None
    s = str(value)
    return _PY_CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), s)


def clip(value: str | None, width: int | None) -> str | None:
    """``value`` cut to ``width`` characters (``…`` marks a cut); ``None`` stays ``None``."""
    if value is None or width is None or len(value) <= width:
        return value
    return value[: max(width - 1, 0)] + "…"
