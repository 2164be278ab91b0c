import re
from pathlib import Path

import polars as pl
import pytest

from carbonqa import contract

CONTRACT_MD = Path(__file__).resolve().parents[2] / "docs" / "contract" / "CONTRACT.md"


def _md_tables() -> dict[str, list[tuple[str, str]]]:
    """Parse CONTRACT.md: table name -> [(column, 列名)] from its markdown tables."""
    text = CONTRACT_MD.read_text(encoding="utf-8")
    out: dict[str, list[tuple[str, str]]] = {}
    for block in re.split(r"\n### ", text)[1:]:
        block = block.split("\n## ")[0]
        name = re.match(r"`(\w+)`", block).group(1)
        header = None
        rows = []
        for line in block.splitlines():
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.replace("`|`", "`PIPE`").strip().strip("|").split("|")]
            if header is None:
                header = cells
                continue
            if set(cells[0]) <= {"-", " "}:
                continue
            zh = cells[header.index("列名")] if "列名" in header else ""
            rows.append((cells[0], zh))
        out[name] = rows
    return out


def test_every_contract_md_column_is_in_contract_py():
    md = _md_tables()
    assert set(md) == set(contract.TABLES)
    for name, cols in md.items():
        t = contract.table(name)
        assert [c for c, _ in cols] == [c for c in t.names if c in dict(cols)], name
        for col, zh in cols:
            assert col in t.names, (name, col)
            if zh:
                assert contract.header_aliases(name)[zh] == col, (name, col, zh)


def test_polars_schema_and_keys():
    s = contract.polars_schema("monthly_reports")
    assert s["period"] == pl.String and s["version"] == pl.Int64 and s["submitted_at"] == pl.Datetime("us")
    assert contract.table("monthly_reports").key == ("unit_id", "period", "version")
    assert contract.table("lab_reports").key == ("lab_report_id",)
    with pytest.raises(KeyError, match="known"):
        contract.table("nope")


def test_vocabularies_match_contract_md():
    text = CONTRACT_MD.read_text(encoding="utf-8")
    for fam in contract.FAMILIES:
        assert f"`{fam}`" in text
    for st in contract.CASE_STATUSES:
        assert f"`{st}`" in text
    for code, (en, zh) in contract.PROVINCES.items():
        assert f"{code} {en} {zh}" in text
    assert len(contract.PROVINCES) == 31


def test_normalised_headers_resolve():
    aliases = {contract.normalise_header(k): v for k, v in contract.header_aliases("lab_reports").items()}
    for raw in ["空干基元素碳 Cad", "空干基元素碳Cad", " 空干基元素碳 Cad (%)", "\ufeff空干基元素碳Cad(%)", "空干基元素碳 Cad（%）"]:
        assert aliases[contract.normalise_header(raw)] == "carbon_ad_pct", raw
