"""Read the files greenft writes into a run's files directory (the writer is ``greenft.agents.run_log``).

Why greenft's own files are the first source: they are written by greenft itself, synchronously (the epoch
log is fsynced line by line, the summary written atomically before W&B is told to finish), so they are
complete the moment a trial returns, and readable after a crash or a kill. W&B's ``.wandb`` file is written
by a separate service that may still be closing it; readers parse it only for runs greenft did not write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.schema.keys import CONFIG_FILE, EPOCHS_FILE, SUMMARY_FILE
from greenft.schema.summary import STATUS

__all__ = [
    "RunFiles",
    "files_dir_of",
    "is_greenft_run",
    "read_json_if_present",
    "read_jsonl",
    "read_run_files",
    "read_summary",
]


def read_json_if_present(path: Path) -> Any:
    """The JSON value in ``path``, or None when the file does not exist (a run that ended before writing it)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, stopping at a torn last line (a run killed mid-write)."""
    rows: list[dict[str, Any]] = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return rows
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            break
        if isinstance(row, dict):
            rows.append(row)
    return rows


def files_dir_of(run_path: Path) -> Path:
    """Where a run's greenft files are: ``<run>/files`` for a W&B run, the run directory itself without W&B."""
    files = run_path / "files"
    return files if (files / EPOCHS_FILE).is_file() else run_path


def is_greenft_run(files_dir: Path) -> bool:
    """Whether greenft wrote this run (its epoch log exists from the run's start, before any epoch)."""
    return (files_dir / EPOCHS_FILE).is_file()


def read_summary(run_path: Path) -> dict[str, Any] | None:
    """The run's summary as greenft wrote it, or None when it has none (yet)."""
    try:
        summary = read_json_if_present(files_dir_of(run_path) / SUMMARY_FILE)
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


@dataclass(frozen=True)
class RunFiles:
    """A run's config, summary and history rows exactly as greenft wrote them (NaN as null)."""

    config: dict[str, Any]
    summary: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def status(self) -> str | None:
        status = self.summary.get(STATUS)
        return str(status) if status is not None else None


def read_run_files(files_dir: Path) -> RunFiles:
    """Read the three files; a missing summary or config reads as empty (the run was killed before them)."""
    config = read_json_if_present(files_dir / CONFIG_FILE)
    summary = read_json_if_present(files_dir / SUMMARY_FILE)
    return RunFiles(
        config=config if isinstance(config, dict) else {},
        summary=summary if isinstance(summary, dict) else {},
        history=read_jsonl(files_dir / EPOCHS_FILE),
    )
