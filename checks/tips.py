"""The ``TIP-001`` rule: complaints and tip-offs (投诉举报线索) naming an enterprise become findings.

One :class:`~checks.spec.RuleSpec` like every rule; it runs in its own slot of the night
(:class:`carbonqa.screening.Screeners` ``tips``, entry point ``carbonqa.screeners:tips`` → :data:`TIPS`),
per province beside the rules. Its weight in a case comes from the opening policy
(:data:`carbonqa.cases.policy.CASE_POLICY` ``tip_opens_with``) and scoring, in the core.

A complaint received in year ``Y`` or ``Y + 1`` concerns the data of reporting year ``Y`` (annual reports
for ``Y`` are filed and verified during ``Y + 1``), so it attaches to the ``Y`` case; one without a
received date attaches to every year screened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from carbonqa.findings import Finding
from carbonqa.screening import ScreenContext
from checks.spec import RuleSpec

__all__ = ["TIP_001", "SPECS", "tip_findings", "TipScreener", "TIPS"]


def _with_year(tips: pl.DataFrame, year: int) -> pl.DataFrame:
    """``tips`` with the reporting ``year`` screened and the columns a finding reads (null when absent)."""
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in ("province_code", "channel", "category", "summary")
               if c not in tips.columns]
    if "received_date" not in tips.columns:
        missing.append(pl.lit(None, dtype=pl.Date).alias("received_date"))
    return tips.with_columns(*missing, pl.lit(int(year), dtype=pl.Int32).alias("year"))


def _tips_of(ctx: ScreenContext) -> pl.DataFrame:
    """TIP-001 candidates: the current tips naming enterprises in ``ctx``'s scope, with ``year``."""
    return _with_year(ctx.tips(), ctx.year)


_RECEIVED_YEAR = pl.col("received_date").dt.year()

TIP_001 = RuleSpec(
    code="TIP-001",
    family="tip",
    table="tips",
    severity="medium",
    title_zh="投诉举报线索",
    title_en="Complaint or tip-off attached",
    description_zh="有投诉举报线索指向该重点排放单位，按条例应予核实。",
    description_en="A complaint names the enterprise; the 2024 regulation requires following up leads.",
    message_zh="{received_date} 收到{channel}线索（{category}）：{summary}",
    message_en="Tip received {received_date} via {channel} ({category}): {summary}",
    source="碳排放权交易管理暂行条例 (State Council Order 775, 2024) art. 20: 投诉举报线索; DOMAIN.md §4.8",
    stake_text="none by itself (0 t); it raises the case's priority in scoring",
    frame=_tips_of, keys="tip",
    violation=pl.col("enterprise_id").is_not_null()
    & ((_RECEIVED_YEAR == pl.col("year")) | (_RECEIVED_YEAR == pl.col("year") + 1) | pl.col("received_date").is_null()),
    observed=pl.col("category"), expected=pl.lit(None), stake=pl.lit(0.0),
    params={"received_date": pl.col("received_date").cast(pl.String).fill_null(""),
            "channel": pl.col("channel").fill_null(""), "category": pl.col("category").fill_null(""),
            "summary": pl.col("summary").fill_null("")},
    evidence={"tip_id": pl.col("tip_id"), "channel": pl.col("channel")},
)

#: The tips' rules.
SPECS: tuple[RuleSpec, ...] = (TIP_001,)


def tip_findings(tips: pl.DataFrame, year: int) -> list[Finding]:
    """``TIP-001`` findings of a tips frame: one per complaint naming an enterprise, attached to its ``year`` case.

    Args:
        tips: current ``tips`` rows (contract columns, optionally ``province_code``).
        year: reporting year screened.

    Returns:
        Findings ordered by ``tip_id``.
    """
    from checks.emit import emit
    from checks.params import params_for
    from checks.spec import resolve

    if tips.is_empty():
        return []
    p = params_for(int(year))
    frame = _with_year(tips, year)
    return emit(TIP_001, frame.filter(resolve(TIP_001.violation, p).fill_null(False)).sort("tip_id"), p)


@dataclass(frozen=True)
class TipScreener:
    """The tips as a :class:`carbonqa.screening.Screener` (slot ``tips``): ``TIP-001`` of ``ctx``'s complaints.

    Partition-local like the rules (``ctx.tips()`` holds the complaints naming enterprises in scope);
    ``prior`` is not read.
    """

    name: str = "checks"

    def run(self, ctx: ScreenContext, prior: Sequence[Finding] = ()) -> list[Finding]:
        """``TIP-001`` findings of ``ctx`` (its provinces' complaints, its year)."""
        return tip_findings(ctx.tips(), ctx.year)

    def warm(self) -> None:
        """Nothing to load ahead of time (polars only)."""


#: The tips screener the distribution declares (entry point ``carbonqa.screeners:tips``).
TIPS = TipScreener()
