"""Airflow for the DAG tests: a private AIRFLOW_HOME with SQLite metadata, examples off, DAGs from dags/.

Airflow reads its configuration when it is first imported, so the environment is set here, at
conftest import, before any test module imports ``airflow``. The metadata database is migrated once
per session (``airflow.utils.db.initdb``, ~4 s).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
_HOME = Path(tempfile.mkdtemp(prefix="cq-airflow-"))

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
if "airflow" not in __import__("sys").modules:
    os.environ["AIRFLOW_HOME"] = str(_HOME)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """Migrated Airflow metadata DB (SQLite) for dag.test(); yields AIRFLOW_HOME."""
    pytest.importorskip("airflow", reason="apache-airflow not installed ([airflow] extra)")
    from airflow.configuration import conf

    if Path(conf.get("core", "dags_folder")).resolve() != DAGS.resolve():
        pytest.fail(f"airflow was imported before tests/dags/conftest.py set DAGS_FOLDER ({conf.get('core', 'dags_folder')})")
    from airflow.utils.db import initdb

    initdb()
    yield Path(os.environ["AIRFLOW_HOME"])
