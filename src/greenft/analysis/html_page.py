"""``report.html`` from the report's blocks: every table and paragraph of ``report.md``, tables sortable, and the
interactive figures at their slots. Pure: strings in, one string out.

Why this renderer walks the same blocks as the Markdown one (:mod:`greenft.analysis.blocks`): the two pages
cannot drift; a table added to the report appears in both. Sorting is a few lines of inline JavaScript (click a
header; numbers compare as numbers, ``12.3 ± 1.0`` by its mean, text after numbers), and plotly.js is inlined
once in the head: the page opens offline, from a laptop or a cluster's file system, with no CDN.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from greenft.analysis.blocks import Block, Figures, Heading, Slot, Table, Text

__all__ = ["SORT_SCRIPT", "inline_html", "render_html"]

_STYLE = """\
body{font-family:sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222;line-height:1.4}
h1,h2,h3{font-weight:600}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.tablewrap{overflow-x:auto;margin:.6em 0 1em}
table.sortable{border-collapse:collapse;font-size:13px}
table.sortable th,table.sortable td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
table.sortable th{background:#f0f3f6;cursor:pointer;user-select:none;position:sticky;top:0}
table.sortable th:hover{background:#dde6ef}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
table.sortable tbody tr:nth-child(even){background:#fafafa}
nav.toc{font-size:14px;background:#f7f7f7;padding:.5em 1em;border:1px solid #e3e3e3}
figure.static img{max-width:100%}code{background:#f3f3f3;padding:0 3px}
.figure{margin:1em 0}"""

SORT_SCRIPT = r"""
(function () {
  function key(cell) {
    var text = cell.textContent.trim();
    var m = text.replace(/,/g, "").replace(/\u2212/g, "-").match(/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i);
    return m ? {num: true, value: parseFloat(m[0]), text: text} : {num: false, value: 0, text: text};
  }
  function compare(a, b) {
    if (a.num && b.num) return a.value - b.value || a.text.localeCompare(b.text);
    if (a.num !== b.num) return a.num ? -1 : 1;
    return a.text.localeCompare(b.text, undefined, {numeric: true});
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var order = compare(key(a.cells[index]), key(b.cells[index]));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.title = "click to sort";
    th.addEventListener("click", function () { sortBy(th); });
  });
  window.greenftSortBy = sortBy;
})();
"""


_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
# Link targets the report writes itself: a web page, an anchor of this page, or a file beside it (a relative name
# with no scheme, so no ``javascript:`` or ``data:``, and not ``//host``). Anything else stays literal text.
_SAFE_HREF = re.compile(r"https?://[^\s<>\"'`]+|#[\w-]+|[\w.][\w./%-]*(#[\w-]+)?")


def _safe_href(href: str) -> bool:
    return _SAFE_HREF.fullmatch(href) is not None


def _bold(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def _prose_html(text: str) -> str:
    """Text outside code spans: escaped (quotes too), bold, and links whose target is safe (:data:`_SAFE_HREF`)."""
    out: list[str] = []
    at = 0
    for match in _LINK.finditer(text):
        label, href = match.group(1), match.group(2)
        if not _safe_href(href):
            continue
        out.append(_bold(text[at : match.start()]))
        out.append(f'<a href="{html.escape(href)}">{_bold(label)}</a>')
        at = match.end()
    out.append(_bold(text[at:]))
    return "".join(out)


def inline_html(markdown: str) -> str:
    """The inline Markdown the report uses (```code```, ``**bold**``, ``[text](href)``), escaped, as HTML.

    Why so strict: user text reaches this (run folders in the ``Source:`` line, skipped runs' reasons, model and
    dataset names in headings), and the page is opened in a browser. Everything is escaped with quotes (no
    breaking out of an attribute); a code span is literal (no link or bold inside it); a link is made only for an
    ``http(s)://`` address, a ``#anchor`` or a relative file name, never ``javascript:`` or another scheme.
    """
    out: list[str] = []
    at = 0
    for match in _CODE.finditer(markdown):
        out.append(_prose_html(markdown[at : match.start()]))
        out.append(f"<code>{html.escape(match.group(1))}</code>")
        at = match.end()
    out.append(_prose_html(markdown[at:]))
    return "".join(out)


def _text_html(markdown: str) -> str:
    """Paragraphs and ``- `` lists (continuation lines indented), as the report's prose is written."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[list[str]] = []

    def flush() -> None:
        if paragraph:
            out.append("<p>" + inline_html(" ".join(paragraph)) + "</p>")
            paragraph.clear()
        if items:
            out.append("<ul>" + "".join("<li>" + inline_html(" ".join(i)) + "</li>" for i in items) + "</ul>")
            items.clear()

    for line in markdown.split("\n"):
        if not line.strip():
            flush()
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append([line[2:]])
        elif line.startswith("  ") and items:
            items[-1].append(line.strip())
        else:
            if items:
                flush()
            paragraph.append(line.strip())
    flush()
    return "\n".join(out)


def _table_html(block: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
    table = f"<table class='sortable'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='tablewrap'>{table}</div>"


def _anchor(text: str, used: dict[str, int]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    used[slug] = used.get(slug, 0) + 1
    return slug if used[slug] == 1 else f"{slug}-{used[slug]}"


def render_html(
    blocks: Sequence[Block],
    figures: Mapping[str, Sequence[tuple[str, str]]],
    *,
    plotly_js: str,
    intro: str = "",
) -> str:
    """The page: ``figures`` maps a slot key to ``(heading, HTML fragment)`` pairs; those whose key no
    :class:`~greenft.analysis.blocks.Slot` names go to a last section, "Interactive figures". ``plotly_js`` is
    the library's source, inlined once in the head. ``intro``: Markdown after the title."""
    used: dict[str, int] = {}
    body: list[str] = []
    toc: list[tuple[str, str]] = []
    slots = {b.key for b in blocks if isinstance(b, Slot)}

    def figure_html(pairs: Sequence[tuple[str, str]]) -> list[str]:
        return [f"<div class='figure'><h4>{html.escape(h)}</h4>{fragment}</div>" for h, fragment in pairs]

    for block in blocks:
        if isinstance(block, Heading):
            anchor = _anchor(block.text, used)
            level = min(block.level, 6)
            body.append(f"<h{level} id='{anchor}'>{inline_html(block.text)}</h{level}>")
            if level == 2:
                toc.append((anchor, block.text))
            if level == 1 and intro:
                body.append(_text_html(intro))
        elif isinstance(block, Text):
            body.append(_text_html(block.markdown))
        elif isinstance(block, Table):
            body.append(_table_html(block))
        elif isinstance(block, Figures):
            if block.caption:
                body.append(_text_html(block.caption))
            body.append(
                "<details><summary>static figures (PNG)</summary>"
                + "".join(
                    f"<figure class='static'><img src='{html.escape(src)}' alt='{html.escape(alt)}' loading='lazy'>"
                    f"<figcaption>{html.escape(alt)}</figcaption></figure>"
                    for alt, src in block.images
                )
                + "</details>"
            )
        else:
            body += figure_html(figures.get(block.key, ()))
    rest = [pair for key, pairs in figures.items() if key not in slots for pair in pairs]
    if rest:
        anchor = _anchor("Interactive figures", used)
        toc.append((anchor, "Interactive figures"))
        body.append(f"<h2 id='{anchor}'>Interactive figures</h2>")
        body += figure_html(rest)
    nav = (
        "<nav class='toc'><strong>Contents</strong><ul>"
        + "".join(f"<li><a href='#{a}'>{html.escape(t)}</a></li>" for a, t in toc)
        + "</ul></nav>"
    )
    first_section = next((i for i, part in enumerate(body) if part.startswith("<h2")), len(body))
    body.insert(first_section, nav)
    return "\n".join(
        [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            "<title>greenft trade-off report</title>",
            f"<style>{_STYLE}</style>",
            f"<script type='text/javascript'>{plotly_js}</script>",
            "</head><body>",
            *body,
            f"<script>{SORT_SCRIPT}</script>",
            "</body></html>",
        ]
    )
