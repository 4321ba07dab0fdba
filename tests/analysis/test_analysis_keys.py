"""The keys ``greenft analyze`` writes to W&B are spelled once, in greenft.schema.analysis_keys (review of issue
18, item 9): what wandb_export really writes (the analysis run's summary, the write-back values of real replayed
runs) is an instance of a template there, every template is written, and docs/logging.md lists the same set."""

from __future__ import annotations

import re
from pathlib import Path

from test_wandb_export import write_local_run

from greenft.analysis.reader import read_runs
from greenft.analysis.report import analyze as run_analysis
from greenft.analysis.wandb_export import headline, write_back_values
from greenft.schema.analysis_keys import (
    ANALYSIS_RUN_KEYS,
    PARETO_KEY,
    PARETO_TABLE_KEY,
    TABLE_KEY,
    WRITE_BACK_KEYS,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "logging.md"


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{(metric|strategy|rule)\\\}", "[^/]+", re.escape(template)))


def _templates_of(keys: set[str], templates: tuple[str, ...]) -> set[str]:
    """The templates ``keys`` are instances of; a key matching none fails."""
    found = set()
    for k in keys:
        matching = [t for t in templates if _pattern(t).fullmatch(k)]
        assert matching, f"{k} is spelled nowhere in greenft.schema.analysis_keys"
        found.update(matching)
    return found


def test_what_the_analysis_writes_is_exactly_the_schema_templates(tmp_path: Path) -> None:
    for seed in (0, 1):
        write_local_run(tmp_path / "runs" / f"greenft-run-{seed}", seed)
    analysis = run_analysis(read_runs(tmp_path / "runs", cache_dir=tmp_path / "cache"), None, grid=[], source="x")
    summary = set(headline(analysis))
    history = {TABLE_KEY, PARETO_KEY, PARETO_TABLE_KEY}  # logged by export_analysis, read back in test_wandb_export
    assert _templates_of(summary, ANALYSIS_RUN_KEYS) | history == set(ANALYSIS_RUN_KEYS)
    written = {k for values in write_back_values(analysis.comparisons).values() for k in values}
    assert _templates_of(written, WRITE_BACK_KEYS) == set(WRITE_BACK_KEYS)


def test_docs_logging_lists_the_analysis_keys() -> None:
    text = DOC.read_text()
    section = text[text.index("## Keys `greenft analyze` writes") :]
    section = section[: section.index("\n## ")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {
        t.replace("<metric>", "{metric}").replace("<strategy>", "{strategy}").replace("<rule>", "{rule}")
        for row in rows
        for t in re.findall(r"`([^`]+)`", row.split("|")[1])
    }
    assert documented == set(ANALYSIS_RUN_KEYS) | set(WRITE_BACK_KEYS), documented ^ (
        set(ANALYSIS_RUN_KEYS) | set(WRITE_BACK_KEYS)
    )
