"""The report as a list of blocks (heading, text, table, figures, interactive slot) that both renderers walk.

Why: ``report.md`` and ``report.html`` show the same tables and prose. Written twice, by two hand renderers, they
drift (the HTML once had the figures and none of the tables). So the page is built once, as blocks, by
:func:`greenft.analysis.markdown.report_blocks`; :func:`to_markdown` here writes ``report.md`` from them and
:mod:`greenft.analysis.html_page` writes ``report.html`` from the very same list. Pure: strings only.

Text blocks hold Markdown as the page has always been written (``**bold**``, ```code```, links, ``- `` lists);
table cells are plain text (already formatted numbers), the same string in both pages.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Block", "Figures", "Heading", "Slot", "Table", "Text", "cell_text", "table", "to_markdown"]


@dataclass(frozen=True)
class Heading:
    """``#`` * level + text; the HTML page gives it an anchor and lists level-2 headings in its contents."""

    level: int
    text: str


@dataclass(frozen=True)
class Text:
    """Markdown prose: paragraphs (one blank line apart) and ``- `` lists, continuation lines indented."""

    markdown: str


@dataclass(frozen=True)
class Table:
    """A header and rows of plain-text cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figures:
    """Static images (``(alt, file name)``), one per line, after an optional caption line."""

    images: tuple[tuple[str, str], ...]
    caption: str = ""


@dataclass(frozen=True)
class Slot:
    """Where the HTML page puts its interactive figures named ``key`` (nothing in Markdown)."""

    key: str


Block = Heading | Text | Table | Figures | Slot


def cell_text(value: Any, digits: int = 2) -> str:
    """A table cell: text as it is, floats with ``digits`` decimals (scientific when tiny or huge), NaN and
    ``None`` as ``-``, booleans as yes/no."""
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A :class:`Table` with every cell formatted by :func:`cell_text`."""
    return Table(tuple(header), tuple(tuple(cell_text(v) for v in row) for row in rows))


def _markdown_table(block: Table) -> str:
    lines = ["| " + " | ".join(block.header) + " |", "|" + "|".join("---" for _ in block.header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in block.rows]
    return "\n".join(lines)


def _markdown(block: Block) -> str | None:
    if isinstance(block, Heading):
        return "#" * block.level + " " + block.text
    if isinstance(block, Text):
        return block.markdown
    if isinstance(block, Table):
        return _markdown_table(block)
    if isinstance(block, Figures):
        lines = [block.caption] if block.caption else []
        return "\n".join(lines + [f"![{alt}]({src})" for alt, src in block.images])
    return None  # a Slot: interactive figures exist only in the HTML page


def to_markdown(blocks: Iterable[Block]) -> str:
    """The page: blocks one blank line apart, ending with a newline."""
    parts = [text for text in map(_markdown, blocks) if text is not None]
    return "\n\n".join(parts) + "\n"
