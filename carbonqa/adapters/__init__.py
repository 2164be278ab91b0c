"""Adapters: real public data files → contract bundles (CONTRACT.md §1).

Each adapter reads files from ``carbonqa/data/real/`` (``get_settings().real_data_dir``), writes a bundle
directory holding only contract table files and ``manifest.json``, and puts whatever it could not or
did not carry over into ``<bundle>.adapter_report.csv`` beside the bundle:

* :func:`adapt_us` — EIA-923 monthly fuel/generation + EPA AMPD CEMS (monthly telemetry), Arizona.
* :func:`adapt_nger` — Australian NGER designated generation facilities → annual reports.
* :func:`adapt_gcpt` — GEM Global Coal Plant Tracker (China) → enterprises + units (registry only).
"""

from carbonqa.adapters._bundle import AdaptedBundle
from carbonqa.adapters.gcpt import adapt_gcpt
from carbonqa.adapters.nger import adapt_nger
from carbonqa.adapters.us import adapt_us

__all__ = ["AdaptedBundle", "adapt_us", "adapt_nger", "adapt_gcpt"]
