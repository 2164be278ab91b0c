"""AppTest of every page for every role (signed in through session state or the login form)."""

from __future__ import annotations

import pytest

from tests.dashboard.seed import PASSWORD

PAGES = ["app_pages/overview.py", "app_pages/queue.py", "app_pages/case.py", "app_pages/rules.py", "app_pages/runs.py"]
ROLES = ["nat", "prov15", "baotou", "audit"]


def _texts(at) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [str(m.label) + " " + str(m.value) for m in at.metric]
    return "\n".join(parts)


def _open(app, user: str, page: str, lang: str = "zh"):
    at = app(user, lang)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("user", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_for_every_role(app, user, page):
    at = _open(app, user, page)
    assert at.title, "page drew no title"
    assert not at.error or page == "app_pages/rules.py", [e.value for e in at.error]
