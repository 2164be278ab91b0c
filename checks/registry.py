"""Every rule spec of the package, by code: the one list the catalogue, the GX suites and the findings read.

:data:`SPECS` collects the family modules' ``SPECS`` tuples (:mod:`checks.accounting`,
:mod:`checks.completeness`, :mod:`checks.lab_forensics`, :mod:`checks.verifier`,
:mod:`checks.carbon_content`, :mod:`checks.telemetry`, :mod:`checks.tips`). :func:`catalogue_entries` is
what the distribution declares under the entry-point group ``carbonqa.catalogue`` (``pyproject.toml``):
:data:`carbonqa.catalogue.CATALOGUE` loads the rules' entries from it, so the core never imports
``checks`` and a rule's catalogue entry is written once, in its spec.
"""

from __future__ import annotations

from checks import accounting, carbon_content, completeness, lab_forensics, telemetry, tips, verifier
from checks.spec import RuleSpec

__all__ = ["SPECS", "FAMILY_MODULES", "catalogue_entries", "gx_rules"]

#: The family modules, each with its ``SPECS`` tuple.
FAMILY_MODULES = (accounting, completeness, lab_forensics, verifier, carbon_content, telemetry, tips)


def _collect() -> dict[str, RuleSpec]:
    out: dict[str, RuleSpec] = {}
    for mod in FAMILY_MODULES:
        for s in mod.SPECS:
            if s.code in out:
                raise ValueError(f"duplicate rule code {s.code} in {mod.__name__}")
            out[s.code] = s
    return dict(sorted(out.items()))


#: Every rule spec by code (sorted by code).
SPECS: dict[str, RuleSpec] = _collect()


def catalogue_entries() -> tuple:
    """The catalogue entries of every rule (entry point ``carbonqa.catalogue:rules``), from the specs.

    In family-module order, then by code (the order the catalogue lists them in).
    """
    return tuple(s.entry() for mod in FAMILY_MODULES for s in mod.SPECS)


def gx_rules(table: str) -> list[RuleSpec]:
    """The GX row rules asserted in ``table``'s suite, in code order."""
    return [s for s in SPECS.values() if s.gx and s.frame == table]
