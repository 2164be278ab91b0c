"""The real data the product reads at run time lives inside the repository, unmodified."""

from __future__ import annotations

import hashlib
import re

from carbonqa.settings import Settings


def test_real_data_shipped_in_package_with_checksums() -> None:
    real = Settings().real_data_dir
    readme = (real / "README.md").read_text(encoding="utf-8")
    sums = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M))
    assert set(sums) == {
        "gcpt_2024-07_china_coal_units.csv",
        "eia923_monthly_generation_fuel_AZ_CA_2011-2020.csv",
        "epa_ampd_monthly_facility_emissions_2016.csv",
        "nger_au_designated_generation_facilities_2012-2018.csv",
    }
    for name, digest in sums.items():
        assert hashlib.sha256((real / name).read_bytes()).hexdigest() == digest, name
    assert "shared" not in real.parts, "run-time data must not come from a folder beside the clone"
