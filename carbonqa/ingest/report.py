"""Quarantine items and the human-readable quarantine report (``report.md`` + ``report.csv``).

An :class:`Issue` is one quarantined file or row, or a warning about something that was still
ingested (e.g. a GBK-encoded CSV decoded, an extra column dropped). ``severity`` is derived from the
machine ``reason`` code: codes in :data:`WARNING_REASONS` are warnings (nothing lost), all others mean
the file or row was *not* ingested and sits in quarantine.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from carbonqa import contract

__all__ = ["Issue", "WARNING_REASONS", "REASON_TEXT", "write_report", "REPORT_COLUMNS"]

#: Reason codes that are warnings: the data was ingested (possibly with a column dropped).
WARNING_REASONS: frozenset[str] = frozenset(
    {"non_utf8_encoding", "extra_column", "row_count_mismatch", "unlisted_file", "unknown_table",
     "labels_file_ignored", "partition_column_ignored", "hours_exceed_month", "formula_cells"}
)

#: Short bilingual description of every reason code (for the report).
REASON_TEXT: dict[str, str] = {
    "checksum_mismatch": "校验和不符 / checksum mismatch",
    "file_missing": "文件缺失 / file missing",
    "file_unreadable": "文件无法读取 / file unreadable",
    "missing_column": "缺少必需列 / required column missing",
    "ambiguous_column": "列名重复 / two headers map to one column",
    "non_utf8_encoding": "非UTF-8编码 / not UTF-8",
    "extra_column": "多余列 / unknown column",
    "row_count_mismatch": "行数不符 / row count differs from manifest",
    "unlisted_file": "清单外文件 / file not in manifest",
    "unknown_table": "未知表 / table not in the contract",
    "unparseable_date": "日期无法解析 / unparseable date",
    "unparseable_datetime": "时间无法解析 / unparseable timestamp",
    "unparseable_period": "月份无法解析 / unparseable period",
    "non_numeric": "非数值 / not a number",
    "not_integer": "非整数 / not an integer",
    "bad_bool": "非布尔值 / not a yes/no value",
    "out_of_range": "超出范围 / out of range",
    "bad_enum": "取值不在允许列表 / value not allowed",
    "null_required": "必填项为空 / required value empty",
    "unknown_reference": "引用不存在 / unknown reference",
    "duplicate_key": "主键重复 / duplicate key",
    "hours_exceed_month": "运行小时数超过当月小时数 / hours exceed the month",
    "unknown_unit_telemetry": "运行数据机组未登记 / telemetry of an unregistered unit",
    "control_character": "含控制字符或双向控制符 / control or bidi character",
    "too_long": "超出字段长度 / longer than the column",
    "bad_format": "格式不符 / wrong format",
    "bad_encoding": "非UTF-8文本 / not UTF-8 text",
    "path_outside_bundle": "路径越出数据包 / path leaves the bundle",
    "symlink_outside_bundle": "符号链接指向包外 / symbolic link out of the bundle",
    "ragged_line": "字段数与表头不符 / line has a different number of fields",
    "formula_without_value": "公式单元格无缓存值 / formula cell without a value",
    "formula_cells": "含公式单元格（已读取缓存值）/ formula cells read as their cached values",
    "file_too_large": "文件过大 / file too large",
    "bad_partition": "分区值不合法 / partition value not allowed",
    "more_issues": "其余问题从略 / more issues not listed",
    "reserved_file": "保留文件不作为数据读取 / reserved file not read as data",
}

#: Columns of ``report.csv``: bilingual headers → Issue field.
REPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("严重程度 severity", "severity"),
    ("表 table", "table"),
    ("文件 file", "file"),
    ("行号 row", "row"),
    ("列 column", "column"),
    ("值 value", "value"),
    ("原因 reason", "reason"),
    ("应为 expected", "expected"),
    ("修正方法 fix", "fix"),
)


@dataclass(frozen=True)
class Issue:
    """One quarantine item.

    ``row`` is the 1-based data row as in the file (header = row 0), ``None`` for the whole file;
    ``table`` is the contract table name (``None`` for a file outside any table).
    """

    table: str | None
    file: str
    reason: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    fix: str | None = None

    @property
    def severity(self) -> str:
        """``warning`` (data was still ingested) or ``error`` (quarantined, not ingested)."""
        return "warning" if self.reason in WARNING_REASONS else "error"

    def as_dict(self) -> dict[str, object]:
        """Plain dict including ``severity``."""
        return {**asdict(self), "severity": self.severity}


def _table_label(name: str | None) -> str:
    if not name:
        return "—"
    t = contract.TABLES.get(name)
    return f"{name} {t.zh}" if t else name


def _md(text: object) -> str:
    s = "" if text is None else str(text)
    return s.replace("|", "\\|").replace("\n", " ")


def write_report(
    out_dir: Path,
    bundle_id: str,
    issues: Iterable[Issue],
    summary_lines: Iterable[str],
    max_md_rows: int = 2000,
) -> Path:
    """Write ``report.md`` and ``report.csv`` for one bundle into ``out_dir``; return the ``.md`` path.

    ``report.csv`` lists every issue (UTF-8 with BOM so Excel opens the Chinese correctly);
    ``report.md`` gives the summary, then issues as a table (at most ``max_md_rows``; the CSV is complete).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    issues = list(issues)
    with (out_dir / "report.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow([h for h, _ in REPORT_COLUMNS])
        for it in issues:
            d = it.as_dict()
            w.writerow(["" if d[f] is None else d[f] for _, f in REPORT_COLUMNS])
    lines = [f"# 隔离报告 / Quarantine report — bundle `{bundle_id}`", ""]
    lines += [f"    {s}" for s in summary_lines]
    lines.append("")
    n_err = sum(1 for i in issues if i.severity == "error")
    lines.append(f"{len(issues)} items: {n_err} errors (not ingested), {len(issues) - n_err} warnings (ingested).")
    lines.append("")
    if issues:
        lines.append("| " + " | ".join(h for h, _ in REPORT_COLUMNS) + " |")
        lines.append("|" + "---|" * len(REPORT_COLUMNS))
        for it in issues[:max_md_rows]:
            d = it.as_dict()
            d["table"] = _table_label(it.table)
            d["reason"] = REASON_TEXT.get(it.reason, it.reason)
            lines.append("| " + " | ".join(_md(d[f]) for _, f in REPORT_COLUMNS) + " |")
        if len(issues) > max_md_rows:
            lines.append(f"\n… {len(issues) - max_md_rows} more items in report.csv")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
