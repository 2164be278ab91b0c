"""Developer helper: autogenerate a new Alembic revision after changing the models.

Usage: ``python -m carbonqa.store.revision "what changed"`` — diffs the models against a scratch SQLite
database migrated to head and writes ``migrations/versions/NNNN_<slug>.py``.
"""

from __future__ import annotations

import re
import sys
import tempfile

from alembic import command
from alembic.script import ScriptDirectory

from carbonqa.store.db import MIGRATIONS_DIR, alembic_config, upgrade


def main(message: str) -> None:
    """Write the next revision for ``message``; prints its path."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(url)
        cfg = alembic_config(url)
        heads = ScriptDirectory.from_config(cfg).get_heads()
        n = len(list((MIGRATIONS_DIR / "versions").glob("*.py")))
        rev = f"{n + 1:04d}"
        slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev, head=heads[0] if heads else "base")
        for p in (MIGRATIONS_DIR / "versions").glob(f"{rev}_*.py"):
            target = p.with_name(f"{rev}_{slug}.py")
            p.rename(target)
            print(target)


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "change")
