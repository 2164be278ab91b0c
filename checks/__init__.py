"""Rule-based checks: the catalogue's ``ACC/CMP/LAB/VER/CC/TEL-0NN`` rules → :class:`~carbonqa.findings.Finding`.

Entry point :func:`run` (every rule for the context's year and provinces) and one function per
family (:func:`accounting`, :func:`completeness`, :func:`lab_forensics`, :func:`verifier`,
:func:`carbon_content`, :func:`telemetry`). How it works::

    ScreenContext ──► checks.frames (polars: joins + derived columns, cached on the context)
                        ├─► checks.suites (GX suites, one per table) ──► checks.gx_results
                        │        per partition (province × period), pandas copy, COMPLETE results
                        └─► checks.rules (cross-table / cross-row rules in polars)
                     ──► checks.emit (failing rows → Findings via carbonqa.catalogue.make_finding)

Every failing row becomes one finding (no cap). Constants come from :mod:`checks.params` only.
Errors: see :mod:`checks.errors` (a failed check is a finding, never an exception).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from carbonqa.catalogue import CATALOGUE
from carbonqa.findings import Finding
from carbonqa.screening import ScreenContext

__all__ = [
    "run",
    "run_codes",
    "accounting",
    "completeness",
    "lab_forensics",
    "verifier",
    "carbon_content",
    "telemetry",
    "RULE_CODES",
    "PARTITIONS",
]

#: Partition columns each table's suite is validated over (one GX batch per distinct value tuple).
PARTITIONS: dict[str, tuple[str, ...]] = {
    "monthly_reports": ("province_code", "period"),
    "lab_reports": ("province_code", "sample_period"),
    "verifications": ("province_code",),
}

#: Every rule code this package emits (the ``kind == "rule"`` entries of the catalogue).
RULE_CODES: tuple[str, ...] = tuple(sorted(c for c, r in CATALOGUE.items() if r.kind == "rule"))


def run_codes(ctx: ScreenContext, codes: Iterable[str]) -> list[Finding]:
    """Run the given rule codes on ``ctx``; each table's suite is validated once for all its codes.

    Args:
        ctx: the screening partition (year, provinces).
        codes: catalogue codes (rules only; unknown codes raise ``KeyError``).

    Returns:
        Findings, all failing rows of all codes, ordered by code then keys.
    """
    from checks import frames, suites
    from checks.emit import emit
    from checks.gx_results import failing_rows
    from checks.params import params_for
    from checks.rules import GX_KIND, POLARS_RULES, gx_specs

    wanted = set(codes)
    unknown = wanted - set(RULE_CODES)
    if unknown:
        raise KeyError(f"not rule codes of checks: {sorted(unknown)}; known: {', '.join(RULE_CODES)}")
    p = params_for(ctx.year)
    specs = gx_specs(p)
    builders = {
        "monthly_reports": (frames.monthly_frame, suites.build_monthly_reports_suite),
        "lab_reports": (frames.lab_frame, suites.build_lab_reports_suite),
        "verifications": (frames.verification_frame, suites.build_verifications_suite),
    }
    out: list[Finding] = []
    for table, (frame_fn, build) in builders.items():
        table_codes = [c for c in suites.SUITE_CODES[table] if c in wanted]
        if not table_codes:
            continue
        frame = frame_fn(ctx)
        fails = failing_rows(frame, build(p, table_codes), PARTITIONS[table])
        for code in table_codes:
            rows = fails.filter(pl.col("code") == code).select("_row")
            hits = frame.join(rows, on="_row", how="semi").sort("_row")
            out += emit(code, hits, specs[code], GX_KIND[table])
    for code, fn in POLARS_RULES.items():
        if code in wanted:
            hits, spec, kind = fn(ctx)
            out += emit(code, hits, spec, kind)
    out.sort(key=lambda f: (f.rule_code, f.enterprise_id or "", f.unit_id or "", f.period or "", f.detail_key))
    return out


def _family(ctx: ScreenContext, family: str) -> list[Finding]:
    return run_codes(ctx, [c for c in RULE_CODES if CATALOGUE[c].family == family])


def run(ctx: ScreenContext) -> list[Finding]:
    """Every rule of the catalogue on ``ctx`` (its year and provinces); see the module docstring."""
    return run_codes(ctx, RULE_CODES)


def accounting(ctx: ScreenContext) -> list[Finding]:
    """ACC rules: identity, supply ≤ generation, hours, NCV ranges, unit errors, monthly vs annual."""
    return _family(ctx, "accounting")


def completeness(ctx: ScreenContext) -> list[Finding]:
    """CMP rules: missing months, late deposits, measured without (or with a foreign) lab report."""
    return _family(ctx, "completeness")


def lab_forensics(ctx: ScreenContext) -> list[Finding]:
    """LAB rules: date order, Car recomputation, CC vs lab, QR code, serials, component ranges."""
    return _family(ctx, "lab_forensics")


def verifier(ctx: ScreenContext) -> list[Finding]:
    """VER rules: accepted despite a gap, conflicts of interest, short reviews."""
    return _family(ctx, "verifier")


def carbon_content(ctx: ScreenContext) -> list[Finding]:
    """CC rules: default value, mixed bases, implausible measured values, copied defaults."""
    return _family(ctx, "carbon_content")


def telemetry(ctx: ScreenContext) -> list[Finding]:
    """TEL rules: output without telemetry, telemetry output in a month reported as zero."""
    return _family(ctx, "telemetry")
