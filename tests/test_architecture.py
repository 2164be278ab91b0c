"""Dependencies point one way (ARCHITECTURE.md §1): carbonqa imports none of checks/detectors/dags/
dashboard; dashboard imports only carbonqa; checks and detectors do not import each other's internals
or Airflow/Streamlit."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imports(pkg: str) -> set[tuple[str, str]]:
    out = set()
    for p in (REPO / pkg).rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out |= {(str(p.relative_to(REPO)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.add((str(p.relative_to(REPO)), node.module.split(".")[0]))
    return out


@pytest.mark.parametrize(
    "pkg, forbidden",
    [
        (
            "carbonqa",
            {"checks", "detectors", "dags", "dashboard", "airflow", "streamlit", "great_expectations"},
        ),
        ("dashboard", {"checks", "detectors", "dags", "airflow", "great_expectations", "pyod"}),
        ("checks", {"dags", "dashboard", "airflow", "streamlit"}),
        ("detectors", {"dags", "dashboard", "airflow", "streamlit", "great_expectations"}),
    ],
)
def test_dependencies_point_one_way(pkg, forbidden):
    bad = sorted((f, m) for f, m in _imports(pkg) if m in forbidden)
    assert not bad, f"{pkg} must not import {forbidden}: {bad}"


def test_core_names_no_screener_package():
    """No exemption: the core neither imports ``checks``/``detectors`` nor finds them by name (importlib,
    inspect); the composition layer passes them in as :class:`carbonqa.screening.Screeners` (issue 13)."""
    offenders = []
    for p in (REPO / "carbonqa").rglob("*.py"):
        src = p.read_text(encoding="utf-8")
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in ("checks", "detectors"):
                parent_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and node in ast.walk(n)]
                names = {getattr(c.func, "attr", getattr(c.func, "id", "")) for c in parent_calls}
                if names & {"import_module", "__import__", "find_spec"}:
                    offenders.append((str(p.relative_to(REPO)), node.value))
        if p.name == "pipeline.py" and ("import inspect" in src or "importlib" in src):
            offenders.append((str(p.relative_to(REPO)), "introspection"))
    assert not offenders, offenders


def test_one_error_tree() -> None:
    """Every error class carbonqa, checks and the ingest define derives from carbonqa.errors.CarbonqaError (issue 13)."""
    import inspect as _inspect

    import checks.errors
    from carbonqa import auth, brief, cases, errors, jurisdiction, queries, suppression
    from carbonqa.ingest import errors as ingest_errors

    seen = 0
    for mod in (errors, auth, brief, cases, jurisdiction, queries, suppression, ingest_errors, checks.errors):
        for _, cls in _inspect.getmembers(mod, _inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith(("carbonqa", "checks")):
                assert issubclass(cls, errors.CarbonqaError), (
                    f"{cls.__module__}.{cls.__name__} is outside the error tree"
                )
                seen += 1
    assert seen >= 20
    assert (
        queries.CaseNotFound is cases.CaseNotFound is errors.CaseNotFound
    )  # one class, raised by reads and writes
    assert issubclass(cases.CaseNotFound, KeyError) and issubclass(
        jurisdiction.PermissionDenied, PermissionError
    )
