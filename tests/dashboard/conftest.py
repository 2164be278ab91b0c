"""Fixtures of the dashboard tests: a seeded SQLite store and signed-in AppTests."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tests.dashboard.seed` and `dashboard` import from the repo root
    sys.path.insert(0, str(ROOT))

from tests.dashboard.seed import USERS, seed_store  # noqa: E402

APP = ROOT / "dashboard" / "streamlit_app.py"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite store file, built once per session (tests copy it)."""
    from carbonqa.store import upgrade
    from carbonqa.store.db import dispose_engines

    path = tmp_path_factory.mktemp("seed") / "seeded.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    seed_store(url, 8)
    dispose_engines()
    return path


@pytest.fixture
def seeded_url(seeded_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private copy of the seeded store, set as ``CARBONQA_DATABASE_URL``."""
    from carbonqa.settings import get_settings
    from carbonqa.store.db import dispose_engines

    path = tmp_path / "store.db"
    shutil.copy(seeded_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("CARBONQA_DATABASE_URL", url)
    monkeypatch.setenv("CARBONQA_HOME", str(tmp_path / "home"))  # session key and sign-outs of the dashboard
    get_settings.cache_clear()
    yield url
    dispose_engines()


def user_state(username: str) -> dict:
    """The session-state ``user`` dict of a seeded user."""
    role, prov, city = USERS[username]
    return {"username": username, "role": role, "province_code": prov, "city_name": city, "display_name": username}


@pytest.fixture
def app(seeded_url: str) -> Callable[..., object]:
    """Factory: an AppTest of the dashboard signed in as ``username`` (or not signed in)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()

    def make(username: str | None = None, lang: str = "zh") -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        # .streamlit/config.toml hides exception details from end users; tests want to read them
        from streamlit import config

        config.set_option("client.showErrorDetails", "full")
        at.session_state["lang"] = lang
        if username:
            at.session_state["user"] = user_state(username)
        return at

    return make
