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
