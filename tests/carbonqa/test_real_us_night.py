"""The real US bundle (EIA-923 monthly reports + EPA AMPD CEMS) through a whole night: no case opens.

Real plants are honest operations at their real rates (DOMAIN.md §4b): oil and gas heat contents repeated
month after month, CEMS that covers only part of a plant for a month, outages, hydro rows with no fuel.
Issue 12's target for the real bundle is *no case*: every finding it produces must be information
(``low``) or, when ``medium``, below materiality — the opening policy of :mod:`carbonqa.cases` decides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def us_bundle(tmp_path_factory, real_dir) -> Path:
    from carbonqa.adapters.us import adapt_us

    out = tmp_path_factory.mktemp("usnight") / "us-eia-epa"
    adapt_us(out, real_dir=real_dir)
    return out


def test_real_us_night_opens_no_case(us_bundle: Path, tmp_path: Path) -> None:
    from carbonqa.pipeline import run_night
    from carbonqa.store import upgrade
    from carbonqa.store.db import get_engine
    from carbonqa.store.models import Case, FindingRow

    url = f"sqlite:///{tmp_path / 'us.db'}"
    upgrade(url)
    res = run_night([us_bundle], None, "us-night", url=url, trigger="test")
    assert res["ingested"] and res["partitions"], res
    with get_engine(url).connect() as conn:
        n_findings = conn.execute(sa.select(sa.func.count()).select_from(FindingRow)).scalar_one()
        cases = conn.execute(sa.select(Case.case_id, Case.rule_codes, Case.summary)).fetchall()
    assert n_findings > 0  # the night really screened the real data (it notes things) …
    assert cases == [], cases  # … and none of it is a suspicion worth an inspection


def test_runs_last_tells_a_person_what_the_night_did(us_bundle: Path, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from carbonqa.cli import app
    from carbonqa.pipeline import run_night
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    url = f"sqlite:///{tmp_path / 'us2.db'}"
    monkeypatch.setenv("CARBONQA_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    run_night([us_bundle], None, "us-night-2", url=url, trigger="test")
    out = CliRunner().invoke(app, ["runs", "last"])
    assert out.exit_code == 0, out.output
    assert "run us-night-2: success, 1 bundle(s) ingested" in out.output and "findings" in out.output
    assert "chain head" in out.output
