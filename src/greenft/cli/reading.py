"""Reading runs with a progress bar: what ``greenft analyze`` and ``greenft tune`` share (its own module, so the
two commands do not import each other)."""

from __future__ import annotations

from pathlib import Path

from rich.progress import Progress

from greenft.analysis.records import RunRecord
from greenft.cli.app import console, fail, progress_bar

NOTES_SHOWN = 5
"""Notes printed per command; the rest are counted (every note is in the report's ``runs.csv``)."""


def reading_progress() -> Progress:
    """The progress bar shared by ``analyze`` and ``tune`` while runs are read."""
    return progress_bar()


def read_with_progress(source: str, tags: list[str] | None, cache_dir: Path | None, use_cache: bool) -> list[RunRecord]:
    """Read runs with a rich progress bar; a :class:`SourceError` ends the command with exit code 2."""
    from greenft.agents.run_log import WandbSettingsError, check_wandb_environment
    from greenft.analysis.reader import SourceError, parse_source, read_runs

    try:
        src = parse_source(source, tags or ())
        if src.kind == "wandb":
            check_wandb_environment()  # wandb.Api reads WANDB_MODE too: a bad value is one line, not pydantic's
        with reading_progress() as progress:
            task = progress.add_task(f"reading runs from {src.describe()}", total=None)

            def on_progress(done: int, total: int, what: str) -> None:
                progress.update(task, completed=done, total=total)

            records = read_runs(src, cache_dir=cache_dir, use_cache=use_cache, progress=on_progress)
    except (SourceError, WandbSettingsError) as err:
        fail(err)
    show_notes(records)
    return list(records)


def show_notes(records: list[RunRecord]) -> None:
    """One line per run the reader could not take at face value (killed before its summary, a file cut
    mid-record, read from another copy of its epochs), so a number built on it is never a silent surprise."""
    noted = [r for r in records if r.note]
    for record in noted[:NOTES_SHOWN]:
        console.print(f"[yellow]note[/] run {record.run_id}: ", end="")
        console.print(record.note, markup=False, highlight=False, soft_wrap=True)
    if len(noted) > NOTES_SHOWN:
        console.print(f"[yellow]note[/] {len(noted) - NOTES_SHOWN} more run(s) with notes (see the 'note' column)")
