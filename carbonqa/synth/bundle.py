"""Orchestration of ``carbonqa synth``: registry → truth → injection → tables → bundle + labels."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from carbonqa.contract import PROVINCES
from carbonqa.settings import get_settings
from carbonqa.synth import annual as A
from carbonqa.synth import monthly as MO
from carbonqa.synth import patterns as PT
from carbonqa.synth import registry as R
from carbonqa.synth import telemetry as TE
from carbonqa.synth import writer as W

__all__ = ["SynthSummary", "generate_bundle", "default_labels_path", "LABEL_COLUMNS"]

#: Columns of ``labels.csv`` (CONTRACT §4).
LABEL_COLUMNS = ("enterprise_id", "year", "unit_id", "period", "family", "pattern")
_TABLE_ORDER = ("enterprises", "units", "agencies", "monthly_reports", "lab_reports", "annual_reports", "verifications", "tips")
_MANIFEST_CREATED = "created_at"


@dataclass
class SynthSummary:
    """What :func:`generate_bundle` wrote; ``str()`` gives a short human-readable report."""

    out: Path
    labels_path: Path
    lookalikes_path: Path
    bundle_id: str
    rows: dict[str, int]
    patterns: dict[str, int]
    lookalikes: dict[str, int]
    n_injected_enterprises: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"bundle {self.bundle_id} → {self.out} ({self.seconds:.1f} s)"]
        lines.append("  rows: " + ", ".join(f"{k}={v:,}" for k, v in self.rows.items()))
        lines.append(f"  injected enterprises: {self.n_injected_enterprises}; labels → {self.labels_path}")
        lines.append("  patterns (label rows): " + ", ".join(f"{k}={v}" for k, v in self.patterns.items()))
        lines.append(f"  look-alikes → {self.lookalikes_path}: " + ", ".join(f"{k}={v}" for k, v in self.lookalikes.items()))
        return "\n".join(lines)


def default_labels_path(out: Path) -> Path:
    """``<out>.labels.csv`` beside the bundle directory (never inside it, CONTRACT §4)."""
    out = Path(out)
    return out.parent / f"{out.name}.labels.csv"


def _lookalikes_path(labels_path: Path) -> Path:
    name = labels_path.name
    stem = name[: -len(".labels.csv")] if name.endswith(".labels.csv") else labels_path.stem
    return labels_path.parent / f"{stem}.lookalikes.csv"


def _prepare_out(out: Path) -> None:
    """Create ``out``; an existing non-empty directory must be a previous synthetic bundle.

    Raises:
        FileExistsError: ``out`` exists, is non-empty and has no ``manifest.json`` of ``carbonqa-synth``.
    """
    if out.exists():
        if any(out.iterdir()):
            man = out / "manifest.json"
            if not man.exists() or '"carbonqa-synth"' not in man.read_text(encoding="utf-8"):
                raise FileExistsError(f"{out} exists and is not a carbonqa-synth bundle; refusing to overwrite")
            if (out / "telemetry").exists():
                shutil.rmtree(out / "telemetry")
            for n in (*_TABLE_ORDER, "telemetry"):
                (out / f"{n}.csv").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _bundle_id(year: int, provinces: list[str] | None, seed: int, fraud_rate: float) -> str:
    scope = "national" if not provinces else "p" + "-".join(provinces)
    suffix = "" if abs(fraud_rate - 0.08) < 1e-12 else f"-f{round(fraud_rate * 1000):03d}"
    return f"synth-{year}-{scope}-s{seed}{suffix}"


def generate_bundle(
    out: Path | str,
    *,
    year: int = 2024,
    provinces: list[str] | None = None,
    seed: int = 0,
    fraud_rate: float = 0.08,
    telemetry: bool = True,
    labels_path: Path | str | None = None,
    real_dir: Path | None = None,
) -> SynthSummary:
    """Write a contract bundle for the operating units of the real GCPT registry, plus its labels.

    Args:
        out: bundle directory (created; an earlier synthetic bundle there is replaced).
        year: reporting year (monthly reports for its 12 months; annual reports for ``year − 1`` and
            ``year``; verification of ``year − 1``).
        provinces: GB/T 2260 codes to keep (None = all 29 provinces of the registry).
        seed: random seed; the same arguments give byte-identical files.
        fraud_rate: share of enterprises carrying at least one injected pattern (0–1).
        telemetry: write hourly telemetry (≈ 28 M rows nationally); without it the telemetry
            patterns are not injected.
        labels_path: where ``labels.csv`` goes (default ``<out>.labels.csv``); look-alikes go to
            ``<stem>.lookalikes.csv`` beside it, magnitudes to ``<stem>.labels_detail.csv``.
        real_dir: folder of the real data (default ``Settings.real_data_dir``).

    Returns:
        :class:`SynthSummary`.

    Raises:
        ValueError: unknown province code, no operating unit selected, ``fraud_rate`` outside [0, 1],
            or ``labels_path`` inside the bundle directory.
        FileExistsError: ``out`` holds something other than a synthetic bundle.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(out)
    labels_path = Path(labels_path) if labels_path else default_labels_path(out)
    if labels_path.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"labels must be written outside the bundle directory: {labels_path}")
    if provinces:
        provinces = sorted({str(p).strip().zfill(2) for p in provinces})
        bad = [p for p in provinces if p not in PROVINCES]
        if bad:
            raise ValueError(f"unknown GB/T 2260 province code(s): {', '.join(bad)}")
    if not 0 <= fraud_rate <= 1:
        raise ValueError(f"fraud_rate must be within [0, 1], got {fraud_rate}")

    gcpt_all = R.load_gcpt(real_dir or get_settings().real_data_dir)
    gcpt = gcpt_all.filter(pl.col("province_code").is_in(provinces)) if provinces else gcpt_all
    if gcpt.height == 0:
        raise ValueError(f"no operating units in province(s) {provinces}")

    reg = R.build_registry(gcpt, np.random.default_rng([seed, 1]))
    ag = R.build_agencies(gcpt_all, np.random.default_rng([seed, 2]))
    assign = R.assign_agencies(reg, ag, np.random.default_rng([seed, 3]))
    st = MO.simulate(reg, ag, assign, year, np.random.default_rng([seed, 4]))
    TE.telemetry_controls(st, np.random.default_rng([seed, 5]))
    rng = np.random.default_rng([seed, 6])
    plan = PT.plan_injection(st, fraud_rate, telemetry, rng)
    PT.apply_phase(st, plan, "pre", rng)
    MO.recompute(st)
    PT.apply_phase(st, plan, "post", rng)
    MO.assign_serials(st, np.random.default_rng([seed, 7]))
    PT.apply_phase(st, plan, "serial", rng)
    PT.apply_phase(st, plan, "annual", rng)
    annual, verifications = A.annual_frames(st, np.random.default_rng([seed, 8]))
    tips, tips_honest = A.tips_frame(st, np.random.default_rng([seed, 9]))
    PT.record_lookalikes(st, tips_honest)
    timings["simulate"] = time.perf_counter() - t0

    _prepare_out(out)
    frames = {
        "enterprises": reg.enterprises,
        "units": reg.units,
        "agencies": ag.table,
        "monthly_reports": MO.monthly_frame(st),
        "lab_reports": MO.lab_frame(st),
        "annual_reports": annual,
        "verifications": verifications,
        "tips": tips,
    }
    tables: dict[str, dict] = {}
    for name in _TABLE_ORDER:
        tables[name] = W.write_csv_table(frames[name], name, out)
    timings["tables"] = time.perf_counter() - t0 - timings["simulate"]
    if telemetry:
        t1 = time.perf_counter()
        parts = TE.write_telemetry(st, out, seed)
        entries = [{"file": p["file"], "sha256": W.sha256_file(p["path"]), "rows": p["rows"]} for p in parts]
        tables["telemetry"] = {
            "file": "telemetry",
            "format": "parquet",
            "rows": sum(p["rows"] for p in entries),
            "parts": entries,
            "sha256": W.parts_sha256(entries),
        }
        timings["telemetry"] = time.perf_counter() - t1
    bundle_id = _bundle_id(year, provinces, seed, fraud_rate)
    W.write_manifest(
        out,
        bundle_id,
        A.created_at(year),
        tables,
        {
            "period_start": f"{year}-01",
            "period_end": f"{year}-12",
            "grid_emission_factor_tco2_per_mwh": st.rp.grid_factor_tco2_per_mwh,
            "provinces": sorted(set(reg.p_province.tolist())),
        },
    )

    # ---- truth, outside the bundle ----
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    schema = {"enterprise_id": pl.String, "year": pl.Int64, "unit_id": pl.String, "period": pl.String,
              "family": pl.String, "pattern": pl.String, "magnitude": pl.Float64}
    sort_by = ["enterprise_id", "year", "family", "pattern", "unit_id", "period"]
    lab = pl.DataFrame(st.labels, schema=schema).sort(sort_by, nulls_last=True)
    look = pl.DataFrame(st.lookalikes, schema=schema).sort(sort_by, nulls_last=True)
    lab.select(LABEL_COLUMNS).write_csv(labels_path, null_value="")
    look_path = _lookalikes_path(labels_path)
    look.select(LABEL_COLUMNS).write_csv(look_path, null_value="")
    lab.write_csv(look_path.with_name(look_path.name.replace(".lookalikes.csv", ".labels_detail.csv")), null_value="")

    rows = {k: v["rows"] for k, v in tables.items()}
    pat_counts = dict(lab.group_by("family", "pattern").len().sort("family", "pattern").select(
        pl.concat_str("family", "pattern", separator="/"), "len").iter_rows())
    look_counts = dict(look.group_by("pattern").len().sort("pattern").iter_rows())
    return SynthSummary(
        out=out,
        labels_path=labels_path,
        lookalikes_path=look_path,
        bundle_id=bundle_id,
        rows=rows,
        patterns=pat_counts,
        lookalikes=look_counts,
        n_injected_enterprises=int(st.fraud.sum()),
        seconds=time.perf_counter() - t0,
        timings=timings,
    )
