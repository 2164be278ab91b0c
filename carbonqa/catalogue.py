"""The check catalogue: every rule and detector with a stable code (anchor: US EPA ECMPS check catalogue).

Each entry has a stable ``code`` (``ACC-001``), one ``family`` of the contract vocabulary, a
``severity`` on the ladder ``critical > high > medium > low > info``, a title and description in zh-CN
and en, message templates with ``{placeholders}``, the ``source`` it rests on (guideline clause,
regulation article, published case, DOMAIN.md section) and ``stake``: how its ``tco2_at_stake`` is
computed.

Code ranges: rules (``checks/``) use 001–099 within their prefix, detectors (``detectors/``) 101–199,
the pipeline (tips) ``TIP-``. Prefixes: ``ACC`` accounting, ``CMP`` completeness, ``LAB`` lab_forensics,
``VER`` verifier, ``CC`` carbon_content, ``CPY`` copied_values, ``TEL`` telemetry, ``TIP`` tip.

Entries are declared in the three tuples below (rules, detectors, pipeline); :data:`CATALOGUE` merges
them and :func:`validate_catalogue` proves codes unique, families valid and templates renderable.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Literal

from carbonqa.contract import FAMILIES, SEVERITIES
from carbonqa.findings import Finding

__all__ = ["Rule", "CATALOGUE", "rule", "make_finding", "validate_catalogue", "PREFIX_FAMILY"]

PREFIX_FAMILY: dict[str, str] = {
    "ACC": "accounting",
    "CMP": "completeness",
    "LAB": "lab_forensics",
    "VER": "verifier",
    "CC": "carbon_content",
    "CPY": "copied_values",
    "TEL": "telemetry",
    "TIP": "tip",
}


@dataclass(frozen=True)
class Rule:
    """One catalogue entry (rule or detector)."""

    code: str
    family: str
    severity: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    message_zh: str
    message_en: str
    source: str
    stake: str
    kind: Literal["rule", "detector", "pipeline"] = "rule"
    table: str | None = None

    @property
    def placeholders(self) -> set[str]:
        """Names used by the message templates (both languages)."""
        names: set[str] = set()
        for tpl in (self.message_zh, self.message_en):
            names |= {f for _, f, _, _ in string.Formatter().parse(tpl) if f}
        return {n.split(".")[0].split("[")[0].split(":")[0] for n in names}

    def render(self, params: dict[str, Any]) -> tuple[str, str]:
        """Render (zh, en) messages; raises ``KeyError`` naming a missing placeholder."""
        missing = self.placeholders - params.keys()
        if missing:
            raise KeyError(f"{self.code}: message needs {sorted(missing)}")
        return self.message_zh.format(**params), self.message_en.format(**params)


# ---- rules (owner: checks/) -------------------------------------------------------------------------
_RULES: tuple[Rule, ...] = ()

# ---- detectors (owner: detectors/) -----------------------------------------------------------------
_DETECTORS: tuple[Rule, ...] = ()

# ---- pipeline (owner: carbonqa/cases.py) ----------------------------------------------------------
_PIPELINE: tuple[Rule, ...] = (
    Rule(
        code="TIP-001",
        family="tip",
        severity="medium",
        title_zh="投诉举报线索",
        title_en="Complaint or tip-off attached",
        description_zh="有投诉举报线索指向该重点排放单位，按条例应予核实。",
        description_en="A complaint names the enterprise; the 2024 regulation requires following up leads.",
        message_zh="{received_date} 收到{channel}线索（{category}）：{summary}",
        message_en="Tip received {received_date} via {channel} ({category}): {summary}",
        source="碳排放权交易管理暂行条例 (State Council Order 775, 2024) art. 20: 投诉举报线索; DOMAIN.md §4.8",
        stake="none by itself (0 t); it raises the case's priority in scoring",
        kind="pipeline",
        table="tips",
    ),
)


def _merge() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for r in (*_RULES, *_DETECTORS, *_PIPELINE):
        if r.code in out:
            raise ValueError(f"duplicate catalogue code {r.code}")
        out[r.code] = r
    return out


#: Every rule and detector by code.
CATALOGUE: dict[str, Rule] = _merge()


def rule(code: str) -> Rule:
    """Catalogue entry ``code``; raises ``KeyError`` for an unknown code."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"unknown rule code {code!r}") from None


def make_finding(
    code: str,
    *,
    enterprise_id: str | None,
    unit_id: str | None = None,
    year: int | None = None,
    period: str | None = None,
    province_code: str | None = None,
    params: dict[str, Any] | None = None,
    observed: Any = None,
    expected: Any = None,
    score: float = 1.0,
    tco2_at_stake: float = 0.0,
    evidence: dict[str, Any] | None = None,
    detail_key: str = "",
    severity: str | None = None,
) -> Finding:
    """Build a :class:`~carbonqa.findings.Finding` for catalogue entry ``code`` with rendered messages.

    ``params`` fill the message templates; ``severity`` may override the catalogue's default (e.g. a
    detector grading by score). Raises ``KeyError`` for an unknown code or a missing placeholder.
    """
    r = rule(code)
    zh, en = r.render(params or {})
    return Finding(
        rule_code=code,
        family=r.family,
        severity=severity or r.severity,
        enterprise_id=enterprise_id,
        unit_id=unit_id,
        year=year,
        period=period,
        province_code=province_code,
        message_zh=zh,
        message_en=en,
        observed=observed,
        expected=expected,
        score=float(min(1.0, max(0.0, score))),
        tco2_at_stake=float(max(0.0, tco2_at_stake or 0.0)),
        evidence=evidence or {},
        detail_key=detail_key,
        source_table=r.table,
    )


def validate_catalogue(catalogue: dict[str, Rule] | None = None) -> None:
    """Prove the catalogue is well formed; raises ``ValueError`` naming the first bad entry.

    Checks: code shape ``PREFIX-NNN`` with a known prefix whose family matches, family and severity in
    the contract vocabularies, non-empty zh/en texts and source, templates that parse.
    """
    for code, r in (catalogue or CATALOGUE).items():
        prefix, _, num = code.partition("-")
        if prefix not in PREFIX_FAMILY or not (num.isdigit() and len(num) == 3):
            raise ValueError(f"{code}: code must look like PREFIX-NNN with PREFIX in {sorted(PREFIX_FAMILY)}")
        if r.family not in FAMILIES or PREFIX_FAMILY[prefix] != r.family:
            raise ValueError(f"{code}: family {r.family!r} does not match prefix {prefix}")
        if r.severity not in SEVERITIES:
            raise ValueError(f"{code}: severity {r.severity!r} not in {SEVERITIES}")
        for f in ("title_zh", "title_en", "description_zh", "description_en", "message_zh", "message_en", "source", "stake"):
            if not getattr(r, f).strip():
                raise ValueError(f"{code}: empty {f}")
        _ = r.placeholders
