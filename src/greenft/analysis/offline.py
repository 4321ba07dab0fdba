"""Runs on disk as :class:`~greenft.analysis.records.RunRecord`: greenft's own files first, W&B's file otherwise.

Why this order: a run greenft wrote has its config, per-epoch history and summary in ``greenft_*.json`` files
that greenft itself writes synchronously (the epoch log fsynced line by line, the summary before W&B is told
to finish), so they are complete as soon as a trial returns, also after Ctrl-C, a crash or a kill. W&B's
``run-<id>.wandb`` file is written by a separate service that may still be closing it; it is parsed
(:mod:`greenft.analysis.wandb_files`) only for runs without greenft's files, i.e. runs greenft did not write.

For an offline W&B run the record matches what W&B's file holds: NaN and infinities are decoded back to
floats (the schema's tables say which keys are numbers), so a table does not change with the reading path.
Runs made with W&B disabled keep greenft's JSON values as written (NaN as ``None``).

Recovery: a run killed outright (SIGKILL, the OOM killer, power loss) has no summary, and W&B's file may hold
none of its epochs (wandb-core had not written them yet) while greenft's epoch log holds them all: the record
is read from the epoch log and its ``note`` says so. A file cut inside a record (the writer stopped mid-line,
or a copy was cut short) is diagnosed as truncated, naming the file; when W&B's copy of the epochs holds more,
that copy is read instead. Nothing here guesses: a run without a summary is "killed, or still running".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from greenft.analysis.records import RunRecord
from greenft.analysis.wandb_files import OfflineRun, find_offline_runs, read_offline_run, run_id_of
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
from greenft.schema.history import EPOCH
from greenft.schema.summary import STATUS, TOTAL_EPOCHS

__all__ = [
    "INCOMPLETE",
    "LOCAL",
    "OFFLINE",
    "TRUNCATED",
    "RunReader",
    "offline_runs",
    "record_from_local_dir",
    "record_from_run_file",
    "source_files",
]

OFFLINE = "offline"  # a W&B offline (or synced) run directory
LOCAL = "local"  # a greenft run made with W&B disabled: greenft's files only
INCOMPLETE = "incomplete"  # no summary (yet): still running, or killed hard
TRUNCATED = "truncated"  # a run that ended properly, whose file was cut later: it holds fewer epochs than it ran

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
    watched = [folder / EPOCHS_FILE, folder / SUMMARY_FILE, folder / CONFIG_FILE]
    return [*watched, path] if path.is_file() else watched  # W&B's copy: read when greenft's is cut short


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
        return _greenft_record(_files_dir(file), run_id_of(file), OFFLINE, file, run_file=file)
    return _foreign_record(file)


def record_from_local_dir(folder: Path) -> RunRecord:
    """A run made with W&B disabled: its directory holds greenft's files."""
    return _greenft_record(folder, folder.name, LOCAL, folder, run_file=None)


def _logging(config: dict[str, Any]) -> dict[str, Any]:
    section = config.get("logging")
    return section if isinstance(section, dict) else {}


def _greenft_record(files_dir: Path, run_id: str, source: str, location: Path, *, run_file: Path | None) -> RunRecord:
    """A run greenft wrote, from its files; ``run_file`` is W&B's file of an offline run (None without W&B)."""
    files = read_run_files(files_dir)
    summary, history = files.summary, files.history
    if run_file is not None:
        summary = decode_floats(summary, summary_kinds())
        history = [decode_floats(row, history_kinds()) for row in history]
    state, note = files.status or INCOMPLETE, None
    epochs_file = files_dir / EPOCHS_FILE
    cut = _cut_short(epochs_file, files.history, summary)
    killed = "" if files.status else "; no summary: the run was killed (or is still running)"
    if cut is not None or files.status is None:
        wandb_run = _readable(run_file)
        wandb_rows = [row for row in wandb_run.history if EPOCH in row] if wandb_run is not None else []
        if cut is not None and wandb_run is not None and len(wandb_rows) > _epochs(history):
            history = wandb_run.history
            note = f"{epochs_file} {cut}; {len(wandb_rows)} epoch(s) are read from W&B's copy, {wandb_run.path}"
            if files.status is not None and len(wandb_rows) < _expected_epochs(summary, len(wandb_rows)):
                state = TRUNCATED
            note = ("truncated: " if state != files.status else "") + note + killed
        elif cut is not None:
            # With a summary, the run ended properly and its file was cut later: "truncated", never "a live run
            # that stopped early"; without one, it was killed mid-write (or still runs) and stays incomplete.
            state = TRUNCATED if files.status is not None else INCOMPLETE
            note = f"truncated: {epochs_file} {cut}; {_epochs(history)} epoch(s) read" + killed
            note += _wandb_holds(wandb_run, wandb_rows)
        else:
            read = f"{_epochs(history)} epoch(s) are read from {epochs_file}" if history else "no epoch logged"
            note = f"no summary: the run was killed (or is still running); {read}"
            note += _wandb_holds(wandb_run, wandb_rows)
    logging = _logging(files.config)
    tags = logging.get("tags")
    return RunRecord(
        run_id=run_id,
        source=source,
        location=str(location.resolve()),
        state=state,
        note=note,
        config=files.config,
        summary=summary,
        history=history,
        name=logging.get("name"),
        project=logging.get("project"),
        entity=logging.get("entity"),
        group=logging.get("group"),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


def _epochs(history: list[dict[str, Any]]) -> int:
    return sum(1 for row in history if EPOCH in row)


def _expected_epochs(summary: dict[str, Any], default: int) -> int:
    """How many epochs the run says it logged (its summary's ``total/epochs``), else ``default``."""
    total = summary.get(TOTAL_EPOCHS)
    return int(total) if isinstance(total, int | float) and not isinstance(total, bool) else default


def _cut_short(epochs_file: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> str | None:
    """How greenft's epoch log is cut short (ends inside a record, a line that is not JSON, fewer epochs than
    the summary counts), or None when it is whole. The reader stops at the first bad line; this says why."""
    try:
        data = epochs_file.read_bytes()
    except OSError:
        return None
    lines = data.split(b"\n")
    complete = [line for line in lines[:-1] if line.strip()]
    if len(rows) < len(complete):
        return f"line {len(rows) + 1} is not a JSON record (the epochs after it are not read)"
    if lines[-1].strip() and len(rows) == len(complete):
        after = f"after epoch {rows[-1].get(EPOCH)}" if rows else "before its first epoch"
        return f"ends inside a record, {after} (cut while writing)"
    expected = _expected_epochs(summary, default=_epochs(rows))
    if _epochs(rows) < expected:
        return f"holds {_epochs(rows)} of the {expected} epochs its summary counts"
    return None


def _readable(run_file: Path | None) -> OfflineRun | None:
    """W&B's copy of the run, or None where there is none or it cannot be parsed (greenft's files come first:
    a damaged W&B file does not stop a run greenft wrote from being read)."""
    if run_file is None:
        return None
    try:
        return read_offline_run(run_file)
    except (OSError, ValueError):
        return None


def _wandb_holds(run: OfflineRun | None, rows: list[dict[str, Any]]) -> str:
    if run is None:
        return ""
    cut = f", and ends inside a record at byte {run.truncated_at}" if run.truncated_at is not None else ""
    return f"; W&B's {run.path.name} holds {len(rows)} epoch(s){cut}"


def _foreign_record(file: Path) -> RunRecord:
    """A run greenft did not write: W&B's own file is all there is."""
    run = read_offline_run(file)
    summary = {k: v for k, v in run.summary.items() if k != "_wandb"}
    state = str(summary.get(STATUS) or ("finished" if run.exit_code == 0 else INCOMPLETE))
    if run.exit_code not in (None, 0) and STATUS not in summary:
        state = "failed"
    note = None
    if run.truncated_at is not None:
        state = TRUNCATED if run.exit_code is not None or STATUS in summary else state
        note = (
            f"truncated: {file} ends inside a record at byte {run.truncated_at} (cut while writing); "
            f"{_epochs(run.history)} epoch(s) read before it"
        )
        note += "; no exit record: the run was killed (or is still running)" if run.exit_code is None else ""
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
        note=note,
    )
