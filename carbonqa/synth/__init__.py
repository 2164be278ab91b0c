"""Synthetic national submission bundles on the real GCPT registry (``carbonqa synth``).

Modules: :mod:`params` (every constant), :mod:`registry` (GCPT → enterprises/units, agencies),
:mod:`monthly` (truth, monthly and lab reports), :mod:`telemetry` (hourly Parquet parts),
:mod:`patterns` (fraud injection and look-alikes), :mod:`annual` (annual reports, verifications,
tips), :mod:`writer` (CSV, manifest), :mod:`bundle` (orchestration).
"""

from carbonqa.synth.bundle import LABEL_COLUMNS, SynthSummary, default_labels_path, generate_bundle

__all__ = ["generate_bundle", "SynthSummary", "default_labels_path", "LABEL_COLUMNS"]
