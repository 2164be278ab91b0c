"""Rule-based checks: the catalogue's ``ACC/CMP/LAB/VER/CC/TEL/TIP-0NN`` rules → :class:`~carbonqa.findings.Finding`.

Every rule is one declarative :class:`~checks.spec.RuleSpec` in its family's module; everything else is
derived from the specs. Entry point :func:`run` (every rule for the context's year and provinces) and one
function per family (:func:`accounting`, :func:`completeness`, :func:`lab_forensics`, :func:`verifier`,
:func:`carbon_content`, :func:`telemetry`). How it works::

    checks/accounting.py, completeness.py, lab_forensics.py,      one RuleSpec per rule: catalogue entry,
    verifier.py, carbon_content.py, telemetry.py, tips.py          frame, violation, observed / expected /
        │                                                          stake / params / evidence / grade
        ▼
    checks.registry.SPECS ──► carbonqa.catalogue.CATALOGUE (entry point ``carbonqa.catalogue``: the rules'
        │                      entries come from their specs; the core never imports checks)
        │
    ScreenContext ──► checks.frames (polars table frames: joins + shared derived columns, cached on the context)
        │               └─► spec.frame (a table frame, or the rule's own candidates) ─► spec.prepare (grading columns)
        ├─ gx=True row rules: checks.suites (one GX suite per table, generated from the specs: one
        │    checks.expectations.ExpectRuleHolds per rule, evaluating its spec's violation per row, + the
        │    contract's expectations) ──► checks.gx_results: once per table per night (national batch,
        │    cached), failing rows split back to the partition by the rows' keys
        ├─ other rules: frame.filter(spec.violation) in polars
        ▼
    checks.emit (failing rows → Findings from the spec's expressions via carbonqa.catalogue.make_finding)

Every failing row becomes one finding (no cap). Constants come from :mod:`checks.params` only (the MRV
defaults through :mod:`carbonqa.regulation`). TIP-001 (complaints, :mod:`checks.tips`) runs in its own
slot (:data:`TIPS`, entry point ``carbonqa.screeners:tips``). Adding a rule is one spec in its family
module and its test. Errors: see :mod:`checks.errors` (a failed check is a finding, never an exception).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from carbonqa.findings import Finding
from carbonqa.screening import ScreenContext
from checks.registry import SPECS
from checks.tips import TIPS

__all__ = [
    "run",
    "run_codes",
    "findings_of",
    "accounting",
    "completeness",
    "lab_forensics",
    "verifier",
    "carbon_content",
    "telemetry",
    "RULE_CODES",
    "ROW_KEYS",
    "validated",
    "publish_validation",
    "RuleScreener",
    "SCREENER",
    "TIPS",
]

#: Key columns of each GX-validated table's rows (the contract key that "current" is taken over,
#: :data:`carbonqa.store.read.CURRENT_KEYS`): the national validation's failing rows are mapped back
#: to a partition's frame by them.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "monthly_reports": ("unit_id", "period"),
    "lab_reports": ("lab_report_id",),
    "verifications": ("verification_id",),
}

#: Every rule code the rules screener runs (every spec but the tips', which run in their own slot).
RULE_CODES: tuple[str, ...] = tuple(c for c, s in SPECS.items() if s.family != "tip")


def validated(ctx: ScreenContext, table: str) -> pl.DataFrame:
    """Failing rows of ``table``'s whole suite over the *national* year, validated once per (context, table).

    Great Expectations' cost is per batch (building the metric graph), not per row (STACK.md): the
    national year is one batch per table (38 k monthly rows, 12 k lab reports), validated on the first
    call and cached on ``ctx.national()``, so a night's province screens share it. Whether a row fails
    depends on the row alone (and on national lookups: units, lab reports), never on the partition, so
    the national verdicts are each partition's.

    Args:
        ctx: any screening context of the year (its national context holds the cache).
        table: ``monthly_reports`` | ``lab_reports`` | ``verifications``.

    Returns:
        Frame ``code: str`` + the :data:`ROW_KEYS` columns of ``table``, one row per failing (code, row).

    Raises:
        KeyError: ``table`` has no suite.
        checks.errors.ExpectationCrashed: an expectation raised inside GX.
    """
    return _validation(ctx, table)[1]


def _validation(ctx: ScreenContext, table: str) -> tuple[Any, pl.DataFrame]:
    """``(checks.gx_results.Validation, failing keys)`` of ``table`` over the national year (cached)."""
    from checks.frames import table_frame
    from checks.gx_results import validate
    from checks.params import params_for
    from checks.suites import build_suite

    keys = list(ROW_KEYS[table])
    nat = ctx.national()

    def compute() -> tuple[Any, pl.DataFrame]:
        frame = table_frame(nat, table)
        v = validate(frame, build_suite(table, params_for(nat.year), nat.year))
        return v, v.failing.join(frame.select("_row", *keys), on="_row", how="inner").select("code", *keys)

    return nat.memo(f"checks.validated.{table}", compute)


def publish_validation(ctx: ScreenContext, out_dir: Path) -> Path:
    """Write the night's GX Data Docs for ``ctx.year`` (one page per table + ``index.html``) into ``out_dir``.

    Uses the validations :func:`validated` cached on ``ctx.national()`` (validating first where this
    process has not: one batch per table). Returns the index page's path.

    Raises:
        checks.errors.ExpectationCrashed: an expectation raised inside GX.
    """
    from checks.gx_results import write_data_docs

    nat = ctx.national()
    vals = [_validation(nat, t)[0] for t in ROW_KEYS]
    return write_data_docs(vals, out_dir, f"carbonqa validation report — run {nat.run_id}, year {nat.year}")


def findings_of(ctx: ScreenContext, code: str) -> list[Finding]:
    """The findings of one rule (any spec, the tips' too) on ``ctx``, in the order of its frame's rows.

    The spec's frame (a table frame or its own candidates), its ``prepare`` columns, then the failing
    rows — by the table's national GX validation for a GX row rule (:func:`validated`), by the
    violation in polars otherwise — and :func:`checks.emit.emit`.

    Raises:
        KeyError: an unknown code.
        checks.errors.ExpectationCrashed: an expectation raised inside GX.
    """
    from checks.emit import emit
    from checks.frames import table_frame
    from checks.params import params_for
    from checks.spec import resolve

    spec = SPECS[code]
    p = params_for(ctx.year)
    frame = table_frame(ctx, spec.frame) if isinstance(spec.frame, str) else spec.frame(ctx)
    if frame.height == 0:
        return []
    if spec.prepare is not None:
        frame = spec.prepare(frame, p)
    if spec.gx:
        keys = list(ROW_KEYS[spec.frame])
        rows = validated(ctx, spec.frame).filter(pl.col("code") == code).select(keys).unique()
        hits = frame.join(rows, on=keys, how="semi").sort("_row")
    else:
        hits = frame.filter(resolve(spec.violation, p).fill_null(False))
    return emit(spec, hits, p)


def run_codes(ctx: ScreenContext, codes: Iterable[str]) -> list[Finding]:
    """Run the given rule codes on ``ctx``; each table's suite is validated once per night (national).

    Args:
        ctx: the screening partition (year, provinces).
        codes: rule codes (:data:`RULE_CODES`; unknown codes raise ``KeyError``).

    Returns:
        Findings, all failing rows of all codes, ordered by code then keys.

    Raises:
        KeyError: an unknown or non-rule code.
        checks.errors.ExpectationCrashed: an expectation raised inside GX.
    """
    wanted = set(codes)
    unknown = wanted - set(RULE_CODES)
    if unknown:
        raise KeyError(f"not rule codes of checks: {sorted(unknown)}; known: {', '.join(RULE_CODES)}")
    out: list[Finding] = []
    for code in RULE_CODES:
        if code in wanted:
            out += findings_of(ctx, code)
    out.sort(key=lambda f: (f.rule_code, f.enterprise_id or "", f.unit_id or "", f.period or "", f.detail_key))
    return out


def _family(ctx: ScreenContext, family: str) -> list[Finding]:
    return run_codes(ctx, [c for c in RULE_CODES if SPECS[c].family == family])


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


@dataclass(frozen=True)
class RuleScreener:
    """The rules as a :class:`carbonqa.screening.Screener`: every rule of the catalogue on ``ctx``.

    Rules are partition-local, so ``prior`` is not read; a province-scoped ``ctx`` gets exactly the
    national run's findings of its provinces (tested).
    """

    name: str = "checks"

    def run(self, ctx: ScreenContext, prior: Sequence[Finding] = ()) -> list[Finding]:
        """Every rule on ``ctx``: :func:`run`."""
        return run(ctx)

    def warm(self) -> None:
        """Import Great Expectations and the suite builder (seconds) ahead of the first validation."""
        import checks.expectations  # noqa: F401 - imports great_expectations
        import checks.gx_results  # noqa: F401
        import checks.suites  # noqa: F401


#: The rules screener the distribution declares (entry point ``carbonqa.screeners:rules``).
SCREENER = RuleScreener()
