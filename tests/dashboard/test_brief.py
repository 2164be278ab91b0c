"""The one-case inspection brief: renders, Chinese text extractable, charts embedded, scoped, fails clearly."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib

import pytest

from carbonqa.jurisdiction import Scope

BAOTOU = Scope("baotou", "municipal", "15", "包头市")


def _streams(pdf: bytes) -> bytes:
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            out.append(m.group(1))
    return b"\n".join(out)


def test_brief_renders_chinese_and_images(seeded_url, tmp_path):
    from carbonqa.brief import build_brief, find_cjk_font

    try:
        find_cjk_font()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"CJK font missing on this machine (scripts/setup.sh installs fonts-noto-cjk): {exc}")
    pdf = build_brief(BAOTOU, "CQ-2024-E0000", url=seeded_url)
    assert pdf.startswith(b"%PDF-")
    assert b"/Subtype /Image" in pdf  # matplotlib charts
    assert b"NotoSansCJK" in pdf or b"CJK" in pdf  # the CJK font is embedded (subset)
    # the ToUnicode map covers the Chinese characters used (so text is extractable, not tofu)
    cmap = _streams(pdf)
    for ch in "现场检查简报包头":
        assert f"<{ord(ch):04X}>".encode() in cmap, ch
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "现场检查简报" in text and "测试电厂0000有限公司" in text and "内蒙古 包头市" in text
        assert "CPY-101" in text and "举报煤样检测报告系同一批次复制" in text


def test_brief_is_scoped(seeded_url):
    from carbonqa.brief import build_brief
    from carbonqa.queries import CaseNotFound

    with pytest.raises(CaseNotFound):  # out of scope answers like a missing id
        build_brief(BAOTOU, "CQ-2024-E0001", url=seeded_url)


def test_brief_without_cjk_font_fails_clearly(seeded_url, monkeypatch):
    from carbonqa import brief

    monkeypatch.setenv("CARBONQA_CJK_FONT", "/nonexistent/font.ttc")
    with pytest.raises(brief.CJKFontMissing, match="fonts-noto-cjk"):
        brief.build_brief(BAOTOU, "CQ-2024-E0000", url=seeded_url)
    monkeypatch.delenv("CARBONQA_CJK_FONT")
    monkeypatch.setattr(brief, "_fc_list", lambda: [])
    monkeypatch.setattr(brief, "_KNOWN", ())
    with pytest.raises(brief.CJKFontMissing, match="apt-get install -y fonts-noto-cjk"):
        brief.build_brief(BAOTOU, "CQ-2024-E0000", url=seeded_url)


def test_brief_is_an_inspection_work_sheet_in_the_readers_language(seeded_url, tmp_path):
    from carbonqa import cases
    from carbonqa.brief import build_brief, checklist
    from carbonqa.jurisdiction import Scope

    prov = Scope("prov15", "provincial", "15")
    c = cases.transition("CQ-2024-E0000", "triaged", prov, 1, url=seeded_url)
    c = cases.assign("CQ-2024-E0000", "baotou", prov, c.lock_version, url=seeded_url)
    cases.transition("CQ-2024-E0000", "inspection_scheduled", BAOTOU, c.lock_version,
                     note="现场检查 2025-03-12，检查人员：张三、李四", url=seeded_url)
    items = checklist(["copied_values", "tip"], ["CPY-101", "TIP-001", "CPY-101"], "zh")
    assert items[-1].endswith("CPY-101, TIP-001") and len(items) == 3
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    for lang, words in (("zh", ["机组登记信息", "检查安排", "2025-03-12", "张三", "现场检查清单", "逐月核对化验原始记录",
                                "检查人员（签字）", "状态变更", "已分派 → 已安排现场检查", "月度数据复制"]),
                        ("en", ["Registered units", "Inspection arrangement", "On-site checklist", "Inspectors (signature)",
                                "Status change", "Assigned → Inspection scheduled", "Copied monthly values"])):
        path = tmp_path / f"brief_{lang}.pdf"
        path.write_bytes(build_brief(BAOTOU, "CQ-2024-E0000", url=seeded_url, lang=lang))
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        flat = " ".join(text.split())
        for w in words:
            assert w in flat, (lang, w)
        assert "inspection_scheduled" not in flat and "status=" not in flat
