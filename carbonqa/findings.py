"""The ``Finding``: the one immutable record every check and detector emits.

Findings are not cases (ARCHITECTURE.md §2): checks and detectors only emit findings; only
:mod:`carbonqa.cases` turns them into the cases inspectors work on.

A finding's identity (``finding_id``) is a hash of *what* was found — rule code, enterprise, unit,
year, period and an optional ``detail_key`` — never of *when*: the same night re-run, or a later night
seeing the same facts, yields the same id, so storing findings is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from carbonqa.contract import FAMILIES, SEVERITIES

__all__ = ["Finding", "finding_id", "MAX_ABS_STAKE_T"]

#: Largest |tco2_at_stake| a finding may carry: 1e9 tCO₂, about the whole national ETS's annual
#: emissions (≈ 5 Gt covered in 2024, MEE) divided by five — no single suspicion is worth more; a larger
#: value is a bug in the rule that computed it, not a stake.
MAX_ABS_STAKE_T = 1e9


def finding_id(
    rule_code: str,
    enterprise_id: str | None,
    unit_id: str | None,
    year: int | None,
    period: str | None,
    detail_key: str = "",
) -> str:
    """Deterministic id of a finding: ``F-`` + 20 hex chars of SHA-256 over its identifying keys."""
    raw = "\x1f".join(
        str(x) if x is not None else "" for x in (rule_code, enterprise_id, unit_id, year, period, detail_key)
    )
    return "F-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Finding:
    """One failing row (or entity) seen by one rule or detector.

    Attributes:
        rule_code: stable catalogue code, e.g. ``ACC-001`` (see :mod:`carbonqa.catalogue`).
        family: one of :data:`carbonqa.contract.FAMILIES`.
        severity: one of :data:`carbonqa.contract.SEVERITIES`.
        enterprise_id / unit_id / year / period: keys of what was found (``period`` ``YYYY-MM``;
            ``unit_id``/``period`` ``None`` for enterprise-year findings).
        province_code: routing key (GB/T 2260, or ISO 3166-2 for adapted foreign data).
        message_zh / message_en: rendered message templates.
        observed / expected: what was seen vs what the rule expected (numbers or short text).
        score: detector confidence in [0, 1] (1.0 for a deterministic rule that failed).
        tco2_at_stake: tCO₂ the reported emissions would change by if the suspicion is true, signed:
            positive = under-reported (the truth is higher), negative = over-reported (a data error
            that inflated the report); finite, |t| ≤ :data:`MAX_ABS_STAKE_T`.
        evidence: JSON-serialisable numbers, peer groups, row keys backing the finding.
        detail_key: disambiguates two findings of one rule on the same keys (e.g. a lab report id).
        source_table: contract table the finding is about.
        original_severity / suppression_id: set by :mod:`carbonqa.suppression` when an approved
            suppression downgraded the finding to ``info`` (not part of its identity).
    """

    rule_code: str
    family: str
    severity: str
    enterprise_id: str | None
    unit_id: str | None = None
    year: int | None = None
    period: str | None = None
    province_code: str | None = None
    message_zh: str = ""
    message_en: str = ""
    observed: Any = None
    expected: Any = None
    score: float = 1.0
    tco2_at_stake: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)
    detail_key: str = ""
    source_table: str | None = None
    original_severity: str | None = None
    suppression_id: int | None = None

    def __post_init__(self) -> None:
        """Validate family, severity and score; raises ``ValueError`` naming the bad field."""
        if self.family not in FAMILIES:
            raise ValueError(f"Finding.family {self.family!r} not in {FAMILIES}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding.severity {self.severity!r} not in {SEVERITIES}")
        if not (0.0 <= float(self.score) <= 1.0):
            raise ValueError(f"Finding.score must be in [0, 1], got {self.score}")
        t = self.tco2_at_stake
        if t is None or not math.isfinite(float(t)) or abs(float(t)) > MAX_ABS_STAKE_T:
            raise ValueError(f"Finding.tco2_at_stake must be finite with |t| <= {MAX_ABS_STAKE_T:.0e} tCO2, got {t}")

    @property
    def id(self) -> str:
        """Deterministic finding id (see :func:`finding_id`)."""
        return finding_id(self.rule_code, self.enterprise_id, self.unit_id, self.year, self.period, self.detail_key)

    def to_row(self) -> dict[str, Any]:
        """Flat dict for the store: JSON-encodes ``observed``/``expected``/``evidence``."""
        d = asdict(self)
        d["finding_id"] = self.id
        for k in ("observed", "expected", "evidence"):
            d[k] = json.dumps(d[k], ensure_ascii=False, default=_json_default)
        return d


def _json_default(o: Any) -> Any:
    """Make numpy scalars, dates and other plain objects JSON-serialisable."""
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)
