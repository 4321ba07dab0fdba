"""Read greenft runs from W&B offline run directories or the online W&B API into one schema, with a cache.

Why: the analysis must work the same on a laptop holding ``runs/wandb/offline-run-*`` directories and against a
W&B project filled by a sweep on a cluster. Both become :class:`~greenft.analysis.records.RunRecord` objects
(config, summary and the *full* per-epoch history) and then two tables: ``runs`` (one row per run: ids,
flattened config, summary) and ``epochs`` (one row per logged epoch).

Why greenft's files first: they are complete the moment a trial returns (fsynced per epoch, the summary
written before W&B is told to finish), while W&B's service may still be closing the ``.wandb`` file; and they
are cheaper to read. For an offline W&B run the record holds the same values as W&B's file would (NaN as
NaN), so switching the source changes no table.

Reading is the slow part (a W&B history scan is one HTTP round trip per page; an offline file is parsed
record by record), so every run read is cached as JSON under ``$GREENFT_CACHE_DIR/analysis`` (default
``~/.cache/greenft/analysis``), keyed by the run file's path, size and modification time (offline) or by the
run's path, state, heartbeat/update time and last history step (online). A re-analysis reads only what
changed. JSON and CSV are used on purpose: they need nothing beyond the standard library and pandas (no
pyarrow), and they are never executed on load (unlike pickle).

Sources (the ``--source`` of ``greenft analyze``):

* a directory: every greenft run under it, read from greenft's own files (``greenft_epochs.jsonl``,
  ``greenft_summary.json``, ``greenft_config.json``), whether W&B logged it offline (the files sit in the run's
  ``files/`` folder) or was disabled; and every other ``run-*.wandb`` file (runs greenft did not write), parsed
  by :mod:`greenft.analysis.wandb_files`;
* ``wandb:ENTITY/PROJECT`` or ``wandb:ENTITY/PROJECT/SWEEP_ID``: the online API (``wandb login`` first),
  optionally filtered by tags.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenft.analysis.offline import INCOMPLETE, offline_runs, source_files
from greenft.analysis.records import RunRecord, flatten
from greenft.errors import UserError
from greenft.io import atomic_write_text, cache_root
from greenft.schema import EPOCHS_FILE, key
from greenft.schema.history import EPOCH, TEST, VAL
from greenft.schema.summary import STATUS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CACHE_VERSION",
    "ProgressCallback",
    "Source",
    "SourceError",
    "default_cache_dir",
    "epochs_frame",
    "parse_source",
    "read_runs",
    "runs_frame",
]

CACHE_VERSION = 3  # 3: records carry a note (a killed run, a file cut mid-record)
#: ``progress(done, total, what)``: called once before reading (``done = 0``) and after every run.
ProgressCallback = Callable[[int, int, str], None]


class SourceError(UserError, RuntimeError):
    """The runs cannot be read: W&B unreachable, no runs in the directory/project, a broken path."""


@dataclass(frozen=True)
class Source:
    """Where runs come from: ``kind`` is ``offline`` (a directory) or ``wandb`` (entity/project[/sweep])."""

    kind: str
    path: Path | None = None
    entity: str | None = None
    project: str | None = None
    sweep: str | None = None
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "offline":
            return str(self.path)
        where = f"wandb:{self.entity}/{self.project}" + (f"/{self.sweep}" if self.sweep else "")
        return where + (f" (tags: {', '.join(self.tags)})" if self.tags else "")


def parse_source(text: str | Path, tags: Sequence[str] = ()) -> Source:
    """``DIR`` or ``wandb:ENTITY/PROJECT[/SWEEP_ID]``; raises :class:`SourceError` for a malformed W&B path."""
    if isinstance(text, Path) or not str(text).startswith("wandb:"):
        return Source("offline", path=Path(text), tags=tuple(tags))
    parts = [p for p in str(text).removeprefix("wandb:").strip("/").split("/") if p]
    if len(parts) not in (2, 3):
        raise SourceError(f"W&B source {text!r} must be wandb:ENTITY/PROJECT or wandb:ENTITY/PROJECT/SWEEP_ID")
    return Source(
        "wandb", entity=parts[0], project=parts[1], sweep=parts[2] if len(parts) == 3 else None, tags=tuple(tags)
    )


def default_cache_dir() -> Path:
    """``$GREENFT_CACHE_DIR/analysis`` or ``~/.cache/greenft/analysis`` (beside the featurised-graph cache)."""
    return cache_root() / "analysis"


# ---------------------------------------------------------------------------------------------------- cache


class _Cache:
    """One JSON file per run, named by a hash of its location; the stored key says whether it is still valid."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _file(self, location: str) -> Path:
        assert self.directory is not None
        return self.directory / (hashlib.sha256(location.encode()).hexdigest()[:32] + ".json")

    def get(self, location: str, key: list[Any]) -> RunRecord | None:
        if self.directory is None:
            return None
        file = self._file(location)
        try:
            payload = json.loads(file.read_text())
        except (OSError, ValueError):
            return None  # missing or damaged: read the run again
        if payload.get("version") != CACHE_VERSION or payload.get("key") != key:
            return None
        try:
            return RunRecord.from_dict(payload["record"])
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, location: str, key: list[Any], record: RunRecord) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            file = self._file(location)
            atomic_write_text(file, json.dumps({"version": CACHE_VERSION, "key": key, "record": record.to_dict()}))
        except OSError:
            pass  # a read-only cache only costs speed


# ------------------------------------------------------------------------------------------------- reading


def read_runs(
    source: Source | str | Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: ProgressCallback | None = None,
    api_factory: Callable[[], Any] | None = None,
    include_unfinished: bool = True,
) -> list[RunRecord]:
    """Every run of ``source`` as a :class:`RunRecord`, sorted by location.

    ``api_factory`` builds the W&B API object (default ``wandb.Api``); tests inject a fake. Raises
    :class:`SourceError` when the directory holds no run, the W&B project is unreachable or empty.
    With ``include_unfinished=False`` runs that are still running are skipped (interrupted runs are kept:
    their epochs are real).
    """
    src = source if isinstance(source, Source) else parse_source(source)
    cache = _Cache((cache_dir or default_cache_dir()) / "runs" if use_cache else None)
    if src.kind == "offline":
        records = _read_offline(src, cache, progress)
    else:
        records = _read_online(src, cache, progress, api_factory)
    if not include_unfinished:
        records = [r for r in records if r.state not in ("running", INCOMPLETE)]
    return records


def _read_offline(src: Source, cache: _Cache, progress: ProgressCallback | None) -> list[RunRecord]:
    assert src.path is not None
    root = src.path
    if not root.exists():
        raise SourceError(f"offline source {root} does not exist")
    items = offline_runs(root)
    if not items:
        raise SourceError(
            f"no runs under {root}: expected W&B run files (wandb/offline-run-*/run-*.wandb) or greenft run "
            f"directories ({EPOCHS_FILE}); train some with `greenft train --shadow --runs-dir {root}`"
        )
    total = len(items)
    if progress is not None:
        progress(0, total, f"reading {total} runs from {root}")
    records: list[RunRecord] = []
    for done, (path, reader) in enumerate(items, start=1):
        location = str(path.resolve())
        watched = _file_key(path)
        record = cache.get(location, watched)
        if record is None:
            try:
                record = reader(path)
            except (OSError, ValueError) as err:
                raise SourceError(f"cannot read run {path}: {err}") from err
            cache.put(location, watched, record)
        tags = set(src.tags)
        if not tags or tags & set(record.tags):
            records.append(record)
        if progress is not None:
            progress(done, total, record.run_id)
    return records


def _file_key(path: Path) -> list[Any]:
    """Size and mtime of the files the run is read from (greenft's files, or the foreign run's W&B file)."""
    watched: list[Any] = []
    for file in source_files(path):
        try:
            stat = file.stat()
            watched += [file.name, stat.st_size, stat.st_mtime_ns]
        except OSError:
            watched += [file.name, None, None]
    return watched


# ---------------------------------------------------------------------------------------------------- online


def _default_api() -> Any:
    import wandb

    return wandb.Api(timeout=30)


def _read_online(
    src: Source,
    cache: _Cache,
    progress: ProgressCallback | None,
    api_factory: Callable[[], Any] | None,
) -> list[RunRecord]:
    path = f"{src.entity}/{src.project}"
    where = src.describe()
    try:
        api = (api_factory or _default_api)()
        filters: dict[str, Any] = {}
        if src.sweep:
            filters["sweep"] = src.sweep
        if src.tags:
            filters["tags"] = {"$in": list(src.tags)}
        runs = list(api.runs(path, filters=filters or None))
    except Exception as err:  # the W&B client raises many types (CommError, UsageError, requests errors, ...)
        raise SourceError(
            f"cannot read W&B runs of {where}: {type(err).__name__}: {' '.join(str(err).split())} "
            "(check `wandb login` / WANDB_API_KEY, the entity/project name and the network, or analyse the "
            "offline run directories instead)"
        ) from err
    if not runs:
        raise SourceError(f"W&B project {where} has no runs")
    total = len(runs)
    if progress is not None:
        progress(0, total, f"reading {total} runs from {where}")
    records = []
    for done, run in enumerate(runs, start=1):
        run_id = str(getattr(run, "id", "?"))
        location = f"{path}/{run_id}"
        try:
            watched = _online_key(run)
            record = cache.get(location, watched)
            if record is None:
                record = _record_from_api_run(run, src, location)
                cache.put(location, watched, record)
        except SourceError:
            raise
        except Exception as err:
            raise SourceError(f"cannot read W&B run {location}: {type(err).__name__}: {err}") from err
        records.append(record)
        if progress is not None:
            progress(done, total, run_id)
    return records


def _online_key(run: Any) -> list[Any]:
    """What changes when a run gets new data: its state, update/heartbeat time and last history step."""
    attrs = getattr(run, "_attrs", None)
    attrs = attrs if isinstance(attrs, dict) else {}
    updated = getattr(run, "updated_at", None) or attrs.get("updatedAt") or attrs.get("heartbeatAt")
    return [str(getattr(run, "state", None)), str(updated), getattr(run, "lastHistoryStep", None)]


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def _record_from_api_run(run: Any, src: Source, location: str) -> RunRecord:
    config = {k: _unwrap(v) for k, v in dict(run.config).items() if not str(k).startswith("_")}
    summary_obj = run.summary
    raw_summary = getattr(summary_obj, "_json_dict", None)
    summary = dict(raw_summary if isinstance(raw_summary, dict) else summary_obj)
    summary = {k: v for k, v in summary.items() if k != "_wandb"}
    history = [dict(row) for row in run.scan_history(page_size=1000)]
    status = summary.get(STATUS)
    return RunRecord(
        run_id=str(run.id),
        source="wandb",
        location=location,
        state=str(status or getattr(run, "state", "unknown")),
        config=config,
        summary=summary,
        history=history,
        name=getattr(run, "name", None),
        project=src.project,
        entity=src.entity,
        group=getattr(run, "group", None),
        tags=tuple(str(t) for t in (getattr(run, "tags", None) or ())),
    )


# ---------------------------------------------------------------------------------------------------- tables


def _cell(value: Any) -> Any:
    """Lists and dicts as JSON text, so every cell of a table is a scalar that CSV can hold."""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return value


def runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: ids and grouping columns, then ``config.<dotted>`` and ``summary.<key>`` columns."""
    import pandas as pd

    rows = []
    for r in records:
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "name": r.name,
            "source": r.source,
            "location": r.location,
            "project": r.project,
            "entity": r.entity,
            "group": r.group,
            "tags": ",".join(r.tags),
            "state": r.state,
            "model": r.model,
            "dataset": r.dataset,
            "metric": r.metric,
            "seed": r.seed,
            "mode": r.mode,
            "budget": r.budget,
            "epochs_logged": sum(1 for row in r.history if EPOCH in row),
            "note": r.note,
        }
        row.update({f"config.{k}": _cell(v) for k, v in flatten(r.config).items()})
        row.update({f"summary.{k}": _cell(v) for k, v in r.summary.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def epochs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per logged epoch: ``run_id``, ``model``, ``dataset``, ``seed``, ``metric``, the generic ``val_metric`` /
    ``test_metric`` (whatever the dataset's metric) and every logged history key."""
    import pandas as pd

    rows = []
    for r in records:
        metric = r.metric
        for entry in r.history:
            if EPOCH not in entry:
                continue
            row: dict[str, Any] = {"run_id": r.run_id, "model": r.model, "dataset": r.dataset, "seed": r.seed}
            row["metric"] = metric
            row["val_metric"] = entry.get(key(VAL, metric), math.nan) if metric else math.nan
            row["test_metric"] = entry.get(key(TEST, metric), math.nan) if metric else math.nan
            row.update({k: _cell(v) for k, v in entry.items() if not k.startswith("_")})
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["run_id", EPOCH], kind="stable").reset_index(drop=True) if rows else frame
