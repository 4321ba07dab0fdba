"""docs/logging.md and greenft.schema describe the same keys: every key, file, metric, status and decision word
the page lists exists in the schema, and every one the schema defines is on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greenft.schema import METRIC_DIRECTIONS, RUN_FILES, Decision, RunStatus, history_kinds, summary_kinds

DOC = Path(__file__).resolve().parents[2] / "docs" / "logging.md"


def table_rows(heading: str) -> list[list[str]]:
    """The body rows (cells) of the first Markdown table under the ``## heading`` that starts with ``heading``."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {heading}"))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return [row for row in rows[2:]]  # without the header and the |---| line


def ticked(cell: str) -> list[str]:
    """The backticked names of a cell, placeholders in the schema's spelling (``<metric>`` -> ``{metric}``)."""
    return [t.replace("<metric>", "{metric}").replace("<rule>", "{rule}") for t in re.findall(r"`([^`]+)`", cell)]


def test_history_keys_and_types_match_the_schema() -> None:
    rows = table_rows("Per-epoch history")
    documented = {key: row[1] for row in rows for key in ticked(row[0])}
    schema = dict(history_kinds())
    assert set(documented) == set(schema), set(documented) ^ set(schema)
    for key, kind in schema.items():
        if documented[key]:  # the shadow row leaves its types to the live columns above it
            assert documented[key] == kind.__name__, key


def test_summary_keys_match_the_schema() -> None:
    documented = {key for row in table_rows("Summary") for key in ticked(row[0])}
    schema = {template for template, _ in summary_kinds()}
    assert documented == schema, documented ^ schema


def test_local_files_match_the_schema() -> None:
    documented = {name for row in table_rows("Local files") for name in ticked(row[0])}
    assert documented == set(RUN_FILES)


def test_metric_names_statuses_and_decision_words_match_the_schema() -> None:
    text = DOC.read_text()
    sentence = text[text.index("`<metric>` is the dataset's metric") : text.index("`<rule>` is")]
    assert set(ticked(sentence)) - {"{metric}"} == set(METRIC_DIRECTIONS)
    status = next(row for row in table_rows("Summary") if ticked(row[0]) == ["status"])
    words = {t for t in ticked(status[1]) if t.isalpha()}  # not the W&B call `mark_preempting` named there
    assert words == {s.value for s in RunStatus}
    decision = next(row for row in table_rows("Per-epoch history") if ticked(row[0]) == ["stop/decision"])
    assert set(ticked(decision[2])) == {d.value for d in Decision}


@pytest.mark.parametrize("heading", ["Per-epoch history", "Summary", "Local files"])
def test_the_tables_are_found(heading: str) -> None:
    assert len(table_rows(heading)) >= 6  # a renamed heading must not make the checks above vacuous
