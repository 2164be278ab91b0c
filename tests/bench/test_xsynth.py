"""The clean-room generator (bench/xsynth.py) writes bundles the ingest path accepts, with sound truth files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]


def _xsynth():
    spec = importlib.util.spec_from_file_location("xsynth", REPO / "bench" / "xsynth.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("xsynth", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("xs")
    s = _xsynth().generate(root / "bundle", year=2024, provinces=["13", "64"], seed=7, fraud_rate=0.15,
                           telemetry=True, labels_path=root / "labels.csv")
    return root, s


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_manifest_checksums(small):
    root, _ = small
    b = root / "bundle"
    man = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    assert man["contract_version"] == "1"
    assert set(man["tables"]) == {"enterprises", "units", "agencies", "monthly_reports", "lab_reports",
                                  "annual_reports", "verifications", "tips", "telemetry"}
    for name, t in man["tables"].items():
        if name == "telemetry":
            text = "".join(f"{p['file']}:{p['sha256']}\n" for p in t["parts"])
            assert hashlib.sha256(text.encode()).hexdigest() == t["sha256"]
            assert sum(p["rows"] for p in t["parts"]) == t["rows"]
            for p in t["parts"]:
                assert _sha(b / p["file"]) == p["sha256"]
                assert pl.read_parquet(b / p["file"]).height == p["rows"]
        else:
            assert _sha(b / t["file"]) == t["sha256"]
            assert pl.read_csv(b / t["file"], infer_schema=False).height == t["rows"]
    assert not (b / "labels.csv").exists()


def test_labels_reference_real_enterprises(small):
    root, s = small
    lab = pl.read_csv(root / "labels.csv", infer_schema=False)
    ent = pl.read_csv(root / "bundle" / "enterprises.csv", infer_schema=False)
    units = pl.read_csv(root / "bundle" / "units.csv", infer_schema=False)
    assert lab.columns == ["enterprise_id", "year", "unit_id", "period", "family", "pattern"]
    assert lab.height > 0 and s["injected_enterprises"] > 0
    assert set(lab["enterprise_id"]) <= set(ent["enterprise_id"])
    assert set(lab["unit_id"].drop_nulls()) <= set(units["unit_id"])
    assert ent["enterprise_id"].str.len_chars().eq(18).all()
    look = pl.read_csv(root / "lookalikes.csv", infer_schema=False)
    assert set(look["enterprise_id"]) <= set(ent["enterprise_id"])


def test_ingest_accepts_with_zero_quarantine(small, tmp_path, monkeypatch):
    root, _ = small
    monkeypatch.setenv("CARBONQA_HOME", str(tmp_path / "home"))
    from carbonqa import pipeline
    from carbonqa.settings import get_settings
    from carbonqa.store import upgrade

    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    res = pipeline.ingest_one(str(root / "bundle"), url=url)
    assert res["outcome"] == "landed", res
    assert res["quarantined"] == 0, res
    assert res["provinces"] == ["13", "64"]


def test_same_seed_same_bytes(small, tmp_path):
    root, _ = small
    _xsynth().generate(tmp_path / "bundle", year=2024, provinces=["13", "64"], seed=7, fraud_rate=0.15,
                       telemetry=True, labels_path=tmp_path / "labels.csv")
    files = sorted(p.relative_to(root / "bundle") for p in (root / "bundle").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "bundle") for p in (tmp_path / "bundle").rglob("*") if p.is_file())
    for f in files:
        assert (root / "bundle" / f).read_bytes() == (tmp_path / "bundle" / f).read_bytes(), f
    assert (root / "labels.csv").read_bytes() == (tmp_path / "labels.csv").read_bytes()
    assert (root / "lookalikes.csv").read_bytes() == (tmp_path / "lookalikes.csv").read_bytes()
