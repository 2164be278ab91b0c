"""Submitted text, shown as text: escaping for Streamlit Markdown and Plotly labels.

Enterprise and plant names, cities, tip summaries, notes and finding messages (which quote submitted
values) come from the parties the service supervises. Streamlit renders ``st.markdown``, ``st.title``,
``st.caption``, alerts, tab and widget labels as GitHub-flavoured Markdown with its own extensions
(``:red[…]``, ``:material/…:``, ``$…$`` LaTeX), so a name like ``![x](http://evil/p.png)`` would fetch a
remote image when a reviewer opens the case, and ``[官方通知](http://phish)`` would be a link in the title.
Every submitted string that goes into Markdown passes through :func:`md`; into a Plotly label through
:func:`plot` (Plotly renders ``<a href>``, ``<b>``… in its text). Tables (``st.dataframe``) and
``st.text`` / ``st.code`` show text as is and need nothing.

CommonMark lets every ASCII punctuation character be escaped with a backslash and then shows it
literally (spec §2.4), which disarms links, images, emphasis, headings, lists, tables, raw HTML,
``<…>`` autolinks and Streamlit's directives and math at once; line breaks become spaces so one value
cannot start a block of its own. GFM's *literal* autolinks (a bare ``http://…``, ``www.…`` or
``name@host``) are found in the text after parsing, escapes or not (a real browser showed them as
links): an invisible WORD JOINER (U+2060) inside the scheme, after ``www`` and after ``@`` breaks them.
"""

from __future__ import annotations

import html
import re
import string

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_AUTOLINK = re.compile(r"(?i)(htt)(ps?)|(ft)(p)|(ww)(w)|(@)")
_WJ = "\u2060"  # WORD JOINER: invisible, breaks GFM's literal autolinks


def _break_autolink(m: re.Match[str]) -> str:
    if m.group(7):
        return "@" + _WJ
    head, tail = next((m.group(i), m.group(i + 1)) for i in (1, 3, 5) if m.group(i))
    return head + _WJ + tail


def md(value: object) -> str:
    """``value`` as literal text inside Streamlit Markdown (``None`` → empty string)."""
    if value is None:
        return ""
    text = _AUTOLINK.sub(_break_autolink, _BREAKS.sub(" ", str(value)))
    return _PUNCT.sub(r"\\\1", text)


def plot(value: object) -> str:
    """``value`` as literal text inside a Plotly label, title or hover text (``None`` → empty string)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=False)
