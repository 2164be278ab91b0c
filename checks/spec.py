"""One declarative spec per rule: :class:`RuleSpec` — everything the catalogue, GX and the findings need.

A rule is written once, in its family's module (``checks/accounting.py`` …), as a :class:`RuleSpec`:

* **what it is** — the catalogue entry's fields (code, family, default severity, zh/en title,
  description and message templates, source, how the stake is computed); :meth:`RuleSpec.entry`
  turns them into the :class:`carbonqa.catalogue.Rule` that :data:`carbonqa.catalogue.CATALOGUE`
  shows (loaded through the ``carbonqa.catalogue`` entry point, :func:`checks.registry.catalogue_entries`);
* **what it reads** — ``frame``: the name of a table frame of :mod:`checks.frames`
  (``monthly_reports`` | ``lab_reports`` | ``verifications``: one row per current row of the table, with
  its derived columns) or a function ``ctx → frame`` of the rule's own candidates (an aggregate per
  enterprise-year, a join with telemetry, …); ``prepare`` optionally adds columns over the *whole*
  frame (window statistics that grade a finding) before any row is picked;
* **when a row fails** — ``violation``: a boolean polars expression over the frame (``True`` = the row
  violates the rule; null counts as passing). A ``gx=True`` rule is a row rule of its table: Great
  Expectations evaluates its violation row by row in the table's nightly suite
  (:class:`checks.expectations.ExpectRuleHolds`); the others are filtered in polars;
* **what a finding says** — ``observed`` / ``expected`` / ``stake`` (t CO₂, signed: positive =
  under-reported; clipped at 0 when stored) expressions, the message ``params`` (rounded in the
  expression: templates carry no format specs), extra ``evidence``, and ``grade``: a per-row severity
  expression when the rule grades its findings (``None`` = the catalogue's ``severity``).

Every expression may depend on the regulation year's parameters: give it as ``lambda p: …`` over a
:class:`checks.params.RegulationParams` (units and sources of every constant are there); a plain
``pl.Expr`` is used as is. :func:`resolve` does the choice. Findings are built from a spec by
:func:`checks.emit.emit`; adding a rule is one spec in its family module and its test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import polars as pl

if TYPE_CHECKING:
    from carbonqa.catalogue import Rule
    from carbonqa.screening import ScreenContext
    from checks.params import RegulationParams

__all__ = ["RuleSpec", "Ex", "Exprs", "resolve", "resolve_all", "rounded", "TABLE_FRAMES"]

#: An expression, or a function of the year's parameters returning one.
Ex: TypeAlias = "pl.Expr | Callable[[RegulationParams], pl.Expr]"
#: Named expressions (message params, evidence), or a function of the parameters returning them.
Exprs: TypeAlias = "Mapping[str, Ex] | Callable[[RegulationParams], Mapping[str, pl.Expr]]"

#: Table frames a spec can name as its ``frame`` (built by :mod:`checks.frames`, one row per current row).
TABLE_FRAMES: tuple[str, ...] = ("monthly_reports", "lab_reports", "verifications")

#: Key sets of :data:`checks.emit.KEYS`: which frame columns identify a finding.
KeySet = Literal["monthly", "lab", "verification", "unit_year", "enterprise_year", "tip"]


def resolve(e: Any, p: RegulationParams) -> pl.Expr:
    """``e(p)`` when ``e`` is a function of the parameters, else ``e`` (an expression)."""
    return e if isinstance(e, pl.Expr) else e(p)


def resolve_all(es: Any, p: RegulationParams) -> dict[str, pl.Expr]:
    """Resolve a mapping of named expressions (or a function returning one) for ``p``."""
    m = es if isinstance(es, Mapping) else es(p)
    return {k: resolve(v, p) for k, v in m.items()}


def rounded(col: str | pl.Expr, n: int = 1) -> pl.Expr:
    """``col`` as Float64 rounded to ``n`` decimals (message params: templates carry no format specs)."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.cast(pl.Float64).round(n)


@dataclass(frozen=True)
class RuleSpec:
    """One rule, declared once: its catalogue entry, its inputs, its violation and its findings.

    Attributes:
        code: stable catalogue code ``PREFIX-0NN`` (rules use 001–099).
        family: contract family (``accounting`` …; must match the code's prefix).
        table: contract table the finding is about (the catalogue's ``table``, a finding's ``source_table``).
        severity: default severity on the ladder ``critical > high > medium > low > info``.
        title_zh, title_en, description_zh, description_en: catalogue texts.
        message_zh, message_en: message templates with ``{placeholders}`` = the keys of ``params``.
        source: guideline clause / regulation article / DOMAIN.md section the rule rests on.
        stake_text: how ``tco2_at_stake`` is computed, in words (the catalogue's ``stake``).
        frame: a name of :data:`TABLE_FRAMES` or ``ctx → DataFrame`` (the rule's candidate rows).
        keys: key set of :data:`checks.emit.KEYS` the frame's rows carry.
        violation: boolean expression over the frame; ``True`` = the row fails (null = passes).
        observed, expected, stake: expressions of a finding (stake in t CO₂, signed).
        params: message parameters (exactly the templates' placeholders).
        evidence: extra evidence (the params are evidence too).
        grade: per-row severity expression, or ``None`` for ``severity``.
        prepare: ``(frame, p) → frame`` adding grading columns over the whole frame before rows are picked.
        gx: a row rule asserted by Great Expectations in the suite of its table frame (``frame`` must then
            name one of :data:`TABLE_FRAMES`, and ``violation`` read only that frame's columns).
    """

    code: str
    family: str
    table: str
    severity: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    message_zh: str
    message_en: str
    source: str
    stake_text: str
    frame: str | Callable[[ScreenContext], pl.DataFrame]
    keys: KeySet
    violation: Ex
    observed: Ex
    expected: Ex
    stake: Ex
    params: Exprs
    evidence: Exprs = field(default_factory=dict)
    grade: Ex | None = None
    prepare: Callable[[pl.DataFrame, RegulationParams], pl.DataFrame] | None = None
    gx: bool = False

    def __post_init__(self) -> None:
        """Reject a GX rule that does not read a table frame."""
        if self.gx and self.frame not in TABLE_FRAMES:
            raise ValueError(f"{self.code}: a GX row rule reads a table frame {TABLE_FRAMES}, not {self.frame!r}")

    def entry(self) -> Rule:
        """The catalogue entry of the rule (:class:`carbonqa.catalogue.Rule`, ``kind="rule"``)."""
        from carbonqa.catalogue import Rule

        return Rule(
            code=self.code, family=self.family, severity=self.severity, title_zh=self.title_zh,
            title_en=self.title_en, description_zh=self.description_zh, description_en=self.description_en,
            message_zh=self.message_zh, message_en=self.message_en, source=self.source, stake=self.stake_text,
            kind="rule", table=self.table,
        )
