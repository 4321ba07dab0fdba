"""Read W&B offline run files (``run-<id>.wandb``) straight from disk.

Why this exists: greenft logs to Weights & Biases in *offline* mode by default (no account, no network on the
compute nodes), so every run leaves ``<dir>/wandb/offline-run-YYYYMMDD_HHMMSS-<id>/run-<id>.wandb`` behind, and
wandb 0.31's SDK no longer ships a Python reader for that file: the only official way to look at it is to
``wandb sync`` it to a server first. The analysis code needs the per-epoch metrics (loss, ROC-AUC, cumulative
emissions, the early-stopping decision) without a server, so this module parses the file itself.

The file format (W&B's "datastore", a LevelDB-log variant), as written by wandb-core:

* a 7-byte file header: ident ``b":W&B"``, magic ``0xBEE1`` (uint16, little-endian), version ``0`` (uint8);
* then the file is cut into 32 KiB blocks (the header sits at the start of block 0). Each block holds chunks:
  ``crc32 (uint32) | length (uint16) | type (uint8) | data[length]``, all little-endian. ``type`` is FULL (a
  whole record), or FIRST / MIDDLE / LAST (a record split across blocks). A block tail too short for a chunk
  header (< 7 bytes) is zero padding. The checksum is zlib's CRC-32 (not crc32c, despite the LevelDB lineage)
  of the data, seeded with the CRC-32 of the type byte;
* every reassembled record is a serialized ``wandb.proto.wandb_internal_pb2.Record`` (``run``, ``config``,
  ``history``, ``summary``, ``exit``, ``telemetry``, ... in the ``record_type`` oneof). Values travel as JSON text
  (``value_json``) under either a plain ``key`` or a ``nested_key`` path.

wandb-core writes whole blocks, so a process killed mid-run (Ctrl-C, OOM, SLURM timeout) leaves a file that ends
inside a record; the reader treats that as the end of the run, never as an error, because the complete prefix is
exactly what an interrupted experiment has to offer, and records where the file stops
(:attr:`OfflineRun.truncated_at`) so that a report can say the file was cut rather than that the run stopped.
Damage *before* the end (a bad checksum, an impossible chunk sequence) is real corruption and raises
``ValueError``.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import pandas as pd

    # wandb's generated protobuf modules ship without type stubs, so mypy cannot see their classes; at run time
    # the records are ``wandb.proto.wandb_internal_pb2.Record`` instances.
    Record: TypeAlias = Any

__all__ = [
    "LoggedArtifact",
    "OfflineRun",
    "find_offline_runs",
    "history_frame",
    "iter_records",
    "read_offline_run",
    "run_id_of",
]

StrPath: TypeAlias = str | os.PathLike[str]

_FILE_HEADER = struct.Struct("<4sHB")  # ident, magic, version
_IDENT = b":W&B"
_MAGIC = 0xBEE1
_VERSION = 0
_EXPECTED_HEADER = _FILE_HEADER.pack(_IDENT, _MAGIC, _VERSION)

_BLOCK_SIZE = 32 * 1024
_CHUNK_HEADER = struct.Struct("<IHB")  # crc32, length, type
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
# The checksum covers the type byte then the data; precomputing the type byte's CRC lets zlib continue from it.
_TYPE_CRC = {kind: zlib.crc32(bytes([kind])) for kind in (_FULL, _FIRST, _MIDDLE, _LAST)}

_RUN_FILE_PATTERN = "run-*.wandb"


# --------------------------------------------------------------------------------------------------- raw records


def _check_file_header(file: Path, head: bytes) -> bool:
    """Validate the 7-byte header; False when the file stops inside it (a run killed before its first write)."""
    if len(head) < _FILE_HEADER.size:
        if _EXPECTED_HEADER.startswith(head):
            return False
        raise ValueError(f"{file} is not a W&B run file (.wandb datastore): it does not start with {_IDENT!r}")
    ident, magic, version = _FILE_HEADER.unpack(head)
    if ident != _IDENT or magic != _MAGIC:
        raise ValueError(
            f"{file} is not a W&B run file (.wandb datastore): header {head!r} is not {_EXPECTED_HEADER!r}"
        )
    if version != _VERSION:
        raise ValueError(f"{file}: unsupported W&B datastore version {version} (this reader knows {_VERSION})")
    return True


@dataclass
class _Tail:
    """Where the file stops inside a record (its writer was cut short), if it does: set by :func:`_iter_payloads`
    once the iteration ends."""

    offset: int | None = None


def _iter_payloads(file: Path, tail: _Tail | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield ``(file offset, serialized Record)`` for every complete record, block by block.

    Streaming by block keeps memory flat for long runs. Running out of bytes (mid chunk header, mid chunk, or with
    a FIRST/MIDDLE chunk still waiting for its LAST) ends the iteration silently: that is what a killed writer
    leaves; ``tail.offset`` then says where the unfinished record starts. Anything inconsistent inside the bytes
    that *are* there raises ``ValueError``.
    """
    tail = tail if tail is not None else _Tail()

    def corrupt(offset: int, why: str) -> ValueError:
        return ValueError(f"{file}: corrupt W&B datastore at byte {offset}: {why}")

    with file.open("rb") as fh:
        head = fh.read(_FILE_HEADER.size)
        if not _check_file_header(file, head):
            tail.offset = 0 if head else None  # an empty file was created, not cut
            return
        block = head + fh.read(_BLOCK_SIZE - len(head))
        block_start, pos = 0, _FILE_HEADER.size
        parts: list[bytes] = []
        record_start = 0
        while len(block) > pos:
            complete_block = len(block) == _BLOCK_SIZE
            while len(block) - pos >= _CHUNK_HEADER.size:
                offset = block_start + pos
                crc, length, kind = _CHUNK_HEADER.unpack_from(block, pos)
                if crc == 0 and length == 0 and kind == 0:
                    break  # zero fill (padding or preallocated space): nothing more in this block
                end = pos + _CHUNK_HEADER.size + length
                if end > len(block):
                    if complete_block:
                        raise corrupt(offset, f"chunk of {length} bytes overruns its 32 KiB block")
                    tail.offset = record_start if parts else offset
                    return  # the file stops inside this chunk: truncated while writing
                if kind not in _TYPE_CRC:
                    raise corrupt(offset, f"unknown chunk type {kind}")
                data = block[pos + _CHUNK_HEADER.size : end]
                if zlib.crc32(data, _TYPE_CRC[kind]) != crc:
                    raise corrupt(offset, "checksum mismatch")
                pos = end
                if kind == _FULL:
                    if parts:
                        raise corrupt(offset, "FULL chunk inside an unfinished split record")
                    yield offset, data
                elif kind == _FIRST:
                    if parts:
                        raise corrupt(offset, "FIRST chunk inside an unfinished split record")
                    parts, record_start = [data], offset
                elif not parts:
                    raise corrupt(offset, "MIDDLE/LAST chunk without a FIRST chunk")
                else:
                    parts.append(data)
                    if kind == _LAST:
                        yield record_start, b"".join(parts)
                        parts = []
            # A block tail shorter than a chunk header is padding; a short final block just means end of file,
            # unless its last bytes are the start of a chunk header (the writer stopped inside it).
            if not complete_block and block[pos:].strip(b"\0"):
                tail.offset = record_start if parts else block_start + pos
                return
            block_start += len(block)
            block, pos = fh.read(_BLOCK_SIZE), 0
        # Leftover ``parts`` are a split record whose LAST chunk never reached the disk: dropped on purpose.
        if parts:
            tail.offset = record_start


def _load_protobuf() -> tuple[Any, type[Exception]]:
    """Import the Record class lazily: ``import wandb`` costs ~0.4 s, which callers that never read runs skip."""
    internal = importlib.import_module("wandb.proto.wandb_internal_pb2")
    message = importlib.import_module("google.protobuf.message")
    decode_error: type[Exception] = message.DecodeError
    return internal.Record, decode_error


def iter_records(path: StrPath) -> Iterator[Record]:
    """Yield every complete ``wandb_internal_pb2.Record`` of a run file, in write order.

    ``path`` is a ``run-<id>.wandb`` file or a directory holding exactly one (e.g. the ``offline-run-...`` dir).
    A truncated tail (the run was killed mid-write) ends the iteration without error; a file that is not a W&B
    datastore, or one damaged before its end, raises ``ValueError`` naming the file.
    """
    file = _resolve_run_file(Path(path))  # here, not in the generator: a bad path fails at the call
    return _parse_records(file)


def _parse_records(file: Path, tail: _Tail | None = None) -> Iterator[Record]:
    """Decode each complete payload of ``file`` into a Record (the generator behind :func:`iter_records`)."""
    record_cls, decode_error = _load_protobuf()
    for offset, payload in _iter_payloads(file, tail):
        record = record_cls()
        try:
            record.ParseFromString(payload)
        except decode_error as exc:
            raise ValueError(f"{file}: record at byte {offset} is not a W&B Record protobuf: {exc}") from exc
        yield record


# ------------------------------------------------------------------------------------------------ run assembly


@dataclass(frozen=True)
class LoggedArtifact:
    """An artifact the run logged (an ``artifact`` record): what ``wandb sync`` uploads as a new version.

    ``files`` are the manifest's paths inside the artifact (W&B's own tables appear as ``run_table`` artifacts).
    """

    name: str
    type: str
    digest: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class OfflineRun:
    """What an offline run recorded, as plain Python values.

    ``history`` has one dict per logged step, keys as logged (``'epoch'``, ``'train/loss'``, ...) plus W&B's
    ``_step``, ``_runtime`` and ``_timestamp``; a nested dict logged as ``{"a": {"b": 1}}`` appears as ``'a.b'``
    (the flattening W&B's own API uses). ``summary`` keeps W&B's nesting (``summary["_wandb"]["runtime"]``).
    ``config`` drops W&B's internal ``_wandb`` entry. ``exit_code`` is None when the run never finished (killed,
    or still running), which is how an interrupted experiment is told apart from a completed one.
    ``truncated_at`` is the byte offset where the file stops inside a record (its writer was cut short: killed,
    or a full disk), None when it ends on a record boundary.
    """

    run_id: str
    name: str | None
    project: str | None
    group: str | None
    tags: tuple[str, ...]
    config: dict[str, Any]
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    exit_code: int | None
    path: Path
    truncated_at: int | None = field(default=None, kw_only=True)
    # What an analysis run adds (greenft.analysis.wandb_export), for reading it back: the run's job type, the
    # artifacts it logged, the files W&B was told to upload (media such as a Table's JSON, relative to the run's
    # ``files/``), and its custom charts (``config._wandb.visualize``: key -> panel spec, e.g. wandb/scatter/v0).
    job_type: str | None = field(default=None, kw_only=True)
    artifacts: tuple[LoggedArtifact, ...] = field(default=(), kw_only=True)
    files: tuple[str, ...] = field(default=(), kw_only=True)
    charts: dict[str, Any] = field(default_factory=dict, kw_only=True)

    @property
    def finished(self) -> bool:
        """Whether the run wrote its exit record, whatever its exit code.

        wandb-core writes it on ``finish()``; a service that outlives its client process (a shared
        ``WANDB_SERVICE``) also writes one, with code 0, when that client vanishes.
        """
        return self.exit_code is not None


def _key_path(item: Any) -> tuple[str, ...]:
    """The key of a config/summary/history item: ``nested_key`` when set, else the plain ``key``."""
    nested = tuple(str(part) for part in item.nested_key)
    return nested if nested else (str(item.key),)


def _decode(file: Path, item: Any) -> Any:
    """Parse one ``value_json`` (W&B writes NaN/Infinity as bare words, which ``json.loads`` accepts)."""
    text = str(item.value_json)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: value of {'.'.join(_key_path(item))!r} is not JSON: {text[:80]!r}") from exc


def _set_path(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """Set ``target[k0][k1]...[kn] = value``, creating (or replacing non-dict) intermediate levels."""
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    target[keys[-1]] = value


def _remove_path(target: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Delete ``target[k0]...[kn]`` if present (W&B sends removals for keys that may never have arrived)."""
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            return
        target = child
    target.pop(keys[-1], None)


def _unwrap_config_value(value: Any) -> Any:
    """``{"value": v, "desc": ...}`` -> ``v``: the wrapping W&B uses in config.yaml and sweep configs."""
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def _apply_updates(file: Path, target: dict[str, Any], updates: Any, removals: Any, *, config: bool) -> None:
    """Apply a config or summary record (its ``update`` then ``remove`` items) to ``target`` in place."""
    for item in updates:
        value = _decode(file, item)
        _set_path(target, _key_path(item), _unwrap_config_value(value) if config else value)
    for item in removals:
        _remove_path(target, _key_path(item))


def _history_row(file: Path, history: Any) -> dict[str, Any]:
    """One history record as a flat dict, ``_step`` first and the other keys sorted.

    wandb-core writes items in Go map order (random per record); sorting makes rows and DataFrame columns
    reproducible.
    """
    values = {".".join(_key_path(item)): _decode(file, item) for item in history.item}
    if "_step" not in values and history.HasField("step"):
        values["_step"] = int(history.step.num)
    row = {"_step": values.pop("_step")} if "_step" in values else {}
    row.update(sorted(values.items()))
    return row


def run_id_of(file: Path) -> str:
    """``run-<id>.wandb`` -> ``<id>``: the run id without parsing the file (also the fallback when the file
    stops before its run record)."""
    stem = file.name.removesuffix(".wandb")
    return stem.removeprefix("run-")


def read_offline_run(run_dir_or_file: StrPath) -> OfflineRun:
    """Read one run: a ``run-<id>.wandb`` file, its ``offline-run-...`` directory, or any directory (such as the
    ``dir=`` given to ``wandb.init``) under which exactly one run file lives.

    Raises FileNotFoundError when the path does not exist or holds no run, ValueError when it holds several (pick
    one with :func:`find_offline_runs`) or the file is not a readable W&B datastore.
    """
    file = _resolve_run_file(Path(run_dir_or_file))
    run_id, name, project, group = "", "", "", ""
    tags: tuple[str, ...] = ()
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    exit_code: int | None = None
    job_type = ""
    artifacts: list[LoggedArtifact] = []
    files: list[str] = []
    tail = _Tail()
    for record in _parse_records(file, tail):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            # The first run record comes from init; later ones (e.g. after ``run.name = ...``) are full snapshots.
            run = record.run
            run_id = str(run.run_id) or run_id
            name = str(run.display_name) or name
            project = str(run.project) or project
            group = str(run.run_group) or group
            tags = tuple(str(tag) for tag in run.tags) or tags
            job_type = str(run.job_type) or job_type
            _apply_updates(file, config, run.config.update, run.config.remove, config=True)
        elif kind == "config":
            _apply_updates(file, config, record.config.update, record.config.remove, config=True)
        elif kind == "summary":
            _apply_updates(file, summary, record.summary.update, record.summary.remove, config=False)
        elif kind == "history":
            row = _history_row(file, record.history)
            if history and "_step" in row and history[-1].get("_step") == row["_step"]:
                history[-1].update(row)  # the same step sent in pieces: W&B shows it as one row
            else:
                history.append(row)
        elif kind == "exit":
            exit_code = int(record.exit.exit_code)
        elif kind == "artifact":
            found = record.artifact
            paths = tuple(str(entry.path) for entry in found.manifest.contents)
            artifacts.append(LoggedArtifact(str(found.name), str(found.type), str(found.digest), paths))
        elif kind == "files":
            files.extend(str(item.path) for item in record.files.files)
    internal = config.pop("_wandb", None)
    charts = internal.get("visualize", {}) if isinstance(internal, dict) else {}
    return OfflineRun(
        run_id=run_id or run_id_of(file),
        name=name or None,
        project=project or None,
        group=group or None,
        tags=tags,
        config=config,
        history=history,
        summary=summary,
        exit_code=exit_code,
        path=file,
        truncated_at=tail.offset,
        job_type=job_type or None,
        artifacts=tuple(artifacts),
        files=tuple(dict.fromkeys(files)),
        charts=dict(charts) if isinstance(charts, dict) else {},
    )


# ------------------------------------------------------------------------------------------------ finding runs


def find_offline_runs(root: StrPath) -> list[Path]:
    """All ``run-*.wandb`` files under ``root`` (recursively), sorted by path.

    Sorting by path is chronological within one ``wandb/`` directory, since run dirs are named
    ``offline-run-YYYYMMDD_HHMMSS-<id>``. Symlinked directories (W&B's ``latest-run``) are not followed, so no run
    is listed twice. Online runs' ``run-*.wandb`` files share the format and are listed too. An existing
    directory without runs gives ``[]``; a missing one raises FileNotFoundError.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"no such directory: {base}")
    found = [
        Path(folder) / name
        for folder, _, names in os.walk(base)
        for name in names
        if fnmatch(name, _RUN_FILE_PATTERN) and (Path(folder) / name).is_file()
    ]
    return sorted(found)


def _resolve_run_file(path: Path) -> Path:
    """Turn a run file or a directory holding exactly one run into the run file's path, with clear errors."""
    if path.is_file():
        return path
    if not path.exists():
        raise FileNotFoundError(f"no such W&B run file or directory: {path}")
    runs = find_offline_runs(path)
    if not runs:
        raise FileNotFoundError(f"no W&B run file ({_RUN_FILE_PATTERN}) under {path}")
    if len(runs) > 1:
        listed = ", ".join(str(run) for run in runs[:3]) + (", ..." if len(runs) > 3 else "")
        raise ValueError(
            f"{path} holds {len(runs)} W&B runs ({listed}); pass one run directory or file "
            "(find_offline_runs lists them)"
        )
    return runs[0]


# --------------------------------------------------------------------------------------------------- dataframes


def history_frame(run: OfflineRun) -> pd.DataFrame:
    """The run's history as a DataFrame, one row per step; columns ``_step`` first, then the others sorted.

    A key missing at some step (e.g. validation logged every other epoch) is NaN in that row.
    """
    import pandas as pd  # imported here so that reading runs does not pay for pandas

    columns: set[str] = set()
    for row in run.history:
        columns.update(row)
    ordered = sorted(columns - {"_step"})
    if "_step" in columns:
        ordered.insert(0, "_step")
    return pd.DataFrame(run.history, columns=ordered)
