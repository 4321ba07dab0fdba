"""Runs on disk as :class:`~greenft.analysis.records.RunRecord`: greenft's own files first, W&B's file otherwise.

Why this order: a run greenft wrote has its config, per-epoch history and summary in ``greenft_*.json`` files
that greenft itself writes synchronously (the epoch log fsynced line by line, the summary before W&B is told
to finish), so they are complete as soon as a trial returns, also after Ctrl-C, a crash or a kill. W&B's
``run-<id>.wandb`` file is written by a separate service that may still be closing it; it is parsed
(:mod:`greenft.analysis.wandb_files`) only for runs without greenft's files, i.e. runs greenft did not write.

For an offline W&B run the record matches what W&B's file holds: NaN and infinities are decoded back to
floats (the schema's tables say which keys are numbers), so a table does not change with the reading path.
Runs made with W&B disabled keep greenft's JSON values as written (NaN as ``None``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from greenft.analysis.records import RunRecord
from greenft.analysis.wandb_files import find_offline_runs, read_offline_run, run_id_of
from greenft.schema import (
    CONFIG_FILE,
    EPOCHS_FILE,
    SUMMARY_FILE,
    decode_floats,
    history_kinds,
    is_greenft_run,
    read_run_files,
    summary_kinds,
)
from greenft.schema.summary import STATUS

__all__ = [
    "INCOMPLETE",
    "LOCAL",
    "OFFLINE",
    "RunReader",
    "offline_runs",
    "record_from_local_dir",
    "record_from_run_file",
    "source_files",
]

OFFLINE = "offline"  # a W&B offline (or synced) run directory
LOCAL = "local"  # a greenft run made with W&B disabled: greenft's files only
INCOMPLETE = "incomplete"  # no summary (yet): still running, or killed hard

#: Reads one run from its path (a ``.wandb`` file or a greenft run directory).
RunReader = Callable[[Path], RunRecord]


def offline_runs(root: Path) -> list[tuple[Path, RunReader]]:
    """Every run under ``root`` (or ``root`` itself when it is a run file), with the reader for it."""
    if root.is_file():
        return [(root, record_from_run_file)]
    run_files = find_offline_runs(root)
    items: list[tuple[Path, RunReader]] = [(f, record_from_run_file) for f in run_files]
    items += [(d, record_from_local_dir) for d in _local_run_dirs(root, run_files)]
    return items


def _files_dir(run_file: Path) -> Path:
    return run_file.parent / "files"


def source_files(path: Path) -> list[Path]:
    """The files a run's record is read from: what the cache key watches for changes."""
    if path.is_file() and not is_greenft_run(_files_dir(path)):
        return [path]
    folder = _files_dir(path) if path.is_file() else path
    return [folder / EPOCHS_FILE, folder / SUMMARY_FILE, folder / CONFIG_FILE]


def _local_run_dirs(root: Path, wandb_files: Iterable[Path]) -> list[Path]:
    """greenft run directories with the JSON files but no W&B run file (runs made with W&B disabled)."""
    covered = {f.parent for f in wandb_files}
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
        here = Path(folder)
        if EPOCHS_FILE in names and here.parent not in covered and here not in covered:
            found.append(here)
    return sorted(found)


def record_from_run_file(file: Path) -> RunRecord:
    """A run with a ``.wandb`` file: from greenft's files when greenft wrote it, else from W&B's file."""
    if is_greenft_run(_files_dir(file)):
        return _greenft_record(_files_dir(file), run_id_of(file), OFFLINE, file, as_wandb=True)
    return _foreign_record(file)


def record_from_local_dir(folder: Path) -> RunRecord:
    """A run made with W&B disabled: its directory holds greenft's files."""
    return _greenft_record(folder, folder.name, LOCAL, folder, as_wandb=False)


def _logging(config: dict[str, Any]) -> dict[str, Any]:
    section = config.get("logging")
    return section if isinstance(section, dict) else {}


def _greenft_record(files_dir: Path, run_id: str, source: str, location: Path, *, as_wandb: bool) -> RunRecord:
    files = read_run_files(files_dir)
    summary, history = files.summary, files.history
    if as_wandb:
        summary = decode_floats(summary, summary_kinds())
        history = [decode_floats(row, history_kinds()) for row in history]
    logging = _logging(files.config)
    tags = logging.get("tags")
    return RunRecord(
        run_id=run_id,
        source=source,
        location=str(location.resolve()),
        state=files.status or INCOMPLETE,
        config=files.config,
        summary=summary,
        history=history,
        name=logging.get("name"),
        project=logging.get("project"),
        entity=logging.get("entity"),
        group=logging.get("group"),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


def _foreign_record(file: Path) -> RunRecord:
    """A run greenft did not write: W&B's own file is all there is."""
    run = read_offline_run(file)
    summary = {k: v for k, v in run.summary.items() if k != "_wandb"}
    state = str(summary.get(STATUS) or ("finished" if run.exit_code == 0 else INCOMPLETE))
    if run.exit_code not in (None, 0) and STATUS not in summary:
        state = "failed"
    return RunRecord(
        run_id=run.run_id,
        source=OFFLINE,
        location=str(file.resolve()),
        state=state,
        config=run.config,
        summary=summary,
        history=run.history,
        name=run.name,
        project=run.project,
        group=run.group,
        tags=run.tags,
    )
