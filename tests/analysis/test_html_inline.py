"""report.html's inline Markdown is safe for user text: run folders, skipped runs' reasons and model/dataset
names reach it, so a code span stays literal, quotes are escaped, and only http(s), #anchor and relative-file
links become ``<a>`` (review of issue 18, item 1). Read back with the standard HTML parser, as a browser would."""

from __future__ import annotations

from html.parser import HTMLParser

from greenft.analysis.blocks import Heading, Text
from greenft.analysis.html_page import inline_html, render_html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_a_link_inside_a_code_span_stays_literal_text() -> None:
    out = inline_html("Source: `runs/[x](javascript:alert%281%29)`")
    assert _tags(out) == [("code", {})]
    assert "[x](javascript:alert%281%29)" in out


def test_a_quote_in_a_link_target_cannot_add_an_attribute() -> None:
    out = inline_html('[t](y"onmouseover="alert(1))')
    assert all(tag != "a" and not attrs for tag, attrs in _tags(out))
    assert '"' not in out  # escaped: &quot;


def test_only_web_anchor_and_relative_file_links_are_links() -> None:
    safe = {"https://example.org/a?b=1&c=2", "http://x.org", "#pareto-fronts", "report.md", "figures/a b.png"}
    unsafe = ["javascript:alert(1)", "data:text/html,x", "//evil.example", "vbscript:x", "JAVASCRIPT:x"]
    text = " ".join(f"[{i}]({h})" for i, h in enumerate([*sorted(safe), *unsafe]))
    hrefs = {attrs["href"] for tag, attrs in _tags(inline_html(text)) if tag == "a"}
    assert hrefs == safe - {"figures/a b.png"}  # a space ends a Markdown link target: not a link at all
    assert "**" not in inline_html("a **bold** [x](report.md)") and "<strong>bold</strong>" in inline_html("**bold**")


def test_a_model_name_with_markup_is_text_in_heading_and_contents() -> None:
    name = "<img src=x onerror=alert(1)>"
    page = render_html(
        [Heading(1, "r"), Heading(2, f"{name} on b3db"), Text(f"- skipped `{name}`: bad")], {}, plotly_js=""
    )
    assert [t for t, _ in _tags(page) if t in ("img", "script")] == ["script", "script"]  # plotly's + sorting only
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 3
