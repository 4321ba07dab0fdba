"""docs/stopping.md's rule labels are the ones the code writes: every label the page shows is read from the page
and checked against ``rule_label`` / ``parse_label`` (the page once described labels the code no longer wrote)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from greenft.stopping import RULES, StoppingConfig, parse_label, rule_label

DOC = Path(__file__).resolve().parents[2] / "docs" / "stopping.md"
TEXT = DOC.read_text()
LABEL = re.compile(rf"`((?:{'|'.join(RULES.names())})(?:_[A-Za-z]+[-+0-9.e]*)*)`")
ROW = re.compile(r"^\|\s*`(\{[^`]*\})`\s*\|\s*`([^`]+)`\s*\|", re.MULTILINE)


def _labels() -> list[str]:
    """Code spans that are labels (a bare rule name is a name there; its label, e.g. ``none``, is in the table)."""
    return [m for m in LABEL.findall(TEXT) if "_" in m]


def _rows() -> list[tuple[str, str]]:
    return ROW.findall(TEXT)


def test_the_page_shows_labels_with_every_optional_part() -> None:
    labels = _labels()
    assert len(_rows()) >= 5, "docs/stopping.md: the config -> label table is missing"
    assert any("_eps" in label for label in labels) and any(label.endswith("_nanskip") for label in labels)


@pytest.mark.parametrize("label", _labels())
def test_every_label_on_the_page_is_one_the_code_writes(label: str) -> None:
    assert rule_label(parse_label(label)) == label


@pytest.mark.parametrize(("config", "label"), _rows())
def test_the_pages_config_to_label_table(config: str, label: str) -> None:
    parsed = TypeAdapter(StoppingConfig).validate_python(yaml.safe_load(config))
    assert rule_label(parsed) == label
    assert parse_label(label) == parsed
