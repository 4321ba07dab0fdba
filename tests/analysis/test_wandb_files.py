"""Tests for greenft.analysis.wandb_files: read back real W&B offline runs, damaged files and edge cases.

The runs are written by the installed wandb (offline, wandb-core) once per module, because each ``wandb.init``
starts a service; everything else reads copies of those files.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenft.analysis import OfflineRun, find_offline_runs, history_frame, iter_records, read_offline_run

wandb = pytest.importorskip("wandb")
# wandb's generated protobuf module has no stubs, so its classes are Any to mypy.
Record: Any = importlib.import_module("wandb.proto.wandb_internal_pb2").Record

CONFIG: dict[str, Any] = {
    "lr": 1e-3,
    "model": {"name": "gin", "layers": 3},
    "seeds": [1, 2],
    "patience": {"value": 5, "desc": "W&B's wrapped form, as in config.yaml and sweep configs"},
}
EPOCHS = 4


def logged_rows() -> list[dict[str, Any]]:
    """What the 'full' run logs, one dict per epoch (nested dicts as W&B's API flattens them)."""
    rows = []
    for epoch in range(EPOCHS):
        row: dict[str, Any] = {
            "epoch": epoch,
            "train/loss": 1.0 / (epoch + 1),
            "emissions/cumulative_kg": 0.0125 * (epoch + 1),
            "stop/decision": "stop" if epoch == EPOCHS - 1 else "continue",
            "optim.lr": 1e-3 / (epoch + 1),
        }
        if epoch % 2 == 1:
            row["val/roc_auc"] = 0.5 + 0.1 * epoch
        if epoch == EPOCHS - 1:
            row["train/grad_norm"] = float("inf")
        rows.append(row)
    return rows


def nest(row: dict[str, Any]) -> dict[str, Any]:
    """'optim.lr' -> {'optim': {'lr': ...}}: the shape handed to run.log."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "optim.lr":
            out["optim"] = {"lr": value}
        else:
            out[key] = value
    return out


SETTINGS = {
    "silent": True,
    "console": "off",
    "x_disable_stats": True,  # no system-metrics sampler
    "x_disable_meta": True,
    "x_disable_machine_info": True,
    "disable_git": True,
    "save_code": False,
}

KILLED_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import wandb

    run = wandb.init(mode="offline", dir=sys.argv[1], project="p", config={"a": 1},
                     settings=wandb.Settings(**eval(sys.argv[2])))
    run.log({"epoch": 0, "blob": "k" * 100_000})
    for epoch in range(1, 4):
        run.log({"epoch": epoch})
    datastore = Path(run.dir).parent / f"run-{run.id}.wandb"
    deadline = time.monotonic() + 20
    # wandb-core writes whole 32 KiB blocks: wait until the blob's blocks are on disk, then die like a SIGKILL.
    while time.monotonic() < deadline and (not datastore.exists() or datastore.stat().st_size < 3 * 32768):
        time.sleep(0.02)
    os._exit(1)
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Three real offline runs: 'full' (finished), 'big' (a record split over blocks, exit 3), 'killed'."""
    root = tmp_path_factory.mktemp("wandb_runs")
    env = {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_CONFIG_DIR": str(root / "_config"),
        "WANDB_CACHE_DIR": str(root / "_cache"),
        "WANDB_DATA_DIR": str(root / "_data"),
        "WANDB_ARTIFACT_DIR": str(root / "_artifacts"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)

        (root / "full").mkdir()
        run = wandb.init(
            mode="offline",
            dir=root / "full",
            project="p",
            group="g",
            tags=["a", "b"],
            name="full",
            config=CONFIG,
            # A fresh Settings per init: wandb.init writes name/group/tags into the object it is given.
            settings=wandb.Settings(**SETTINGS),
        )
        for row in logged_rows():
            run.log(nest(row))
        run.config.update({"late": "added after init"})
        run.name = "full-renamed"
        run.summary["best/val_roc_auc"] = 0.8
        run.summary["stopped_by"] = "an-ges"
        run.summary["nested"] = {"x": 1}
        run.finish()

        (root / "big").mkdir()
        run = wandb.init(mode="offline", dir=root / "big", project="p", settings=wandb.Settings(**SETTINGS))
        run.log({"epoch": 0, "blob": "x" * 80_000})
        run.log({"epoch": 1})
        run.finish(exit_code=3)

        (root / "killed").mkdir()
        subprocess.run(
            [sys.executable, "-c", KILLED_SCRIPT, str(root / "killed"), repr(SETTINGS)],
            # Without WANDB_SERVICE the child starts its own wandb-core, which dies with it. Inheriting this
            # process's service instead would let that service finish the run (exit code 0) once the child is gone.
            env={**{k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}, **env},
            check=False,
            timeout=60,
        )
    try:
        yield {name: root / name for name in ("full", "big", "killed")}
    finally:
        wandb.teardown()


def run_file(run_root: Path) -> Path:
    (file,) = find_offline_runs(run_root)
    return file


def without_clock(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in ("_runtime", "_timestamp")}


# ------------------------------------------------------------------------------------------- finished runs


def test_full_run_metadata_and_config(runs: dict[str, Path]) -> None:
    run = read_offline_run(runs["full"])
    file = run_file(runs["full"])
    assert run.path == file
    assert file.parent.name.startswith("offline-run-") and file.parent.name.endswith(run.run_id)
    assert file.name == f"run-{run.run_id}.wandb"
    assert run.name == "full-renamed"
    assert (run.project, run.group, run.tags) == ("p", "g", ("a", "b"))
    assert run.config == {
        "lr": 1e-3,
        "model": {"name": "gin", "layers": 3},
        "seeds": [1, 2],
        "patience": 5,
        "late": "added after init",
    }
    assert run.exit_code == 0 and run.finished


def test_full_run_history(runs: dict[str, Path]) -> None:
    run = read_offline_run(runs["full"])
    expected = [{"_step": step, **row} for step, row in enumerate(logged_rows())]
    assert [without_clock(row) for row in run.history] == expected
    for row in run.history:
        assert next(iter(row)) == "_step"
        assert isinstance(row["_runtime"], float | int) and isinstance(row["_timestamp"], float)
    assert isinstance(run.history[0]["epoch"], int) and isinstance(run.history[0]["stop/decision"], str)


def test_full_run_summary(runs: dict[str, Path]) -> None:
    summary = read_offline_run(runs["full"]).summary
    last = logged_rows()[-1]
    assert summary["_step"] == EPOCHS - 1
    for key in ("epoch", "train/loss", "emissions/cumulative_kg", "stop/decision", "val/roc_auc", "train/grad_norm"):
        assert summary[key] == last[key], key
    assert summary["optim"] == {"lr": last["optim.lr"]}
    assert summary["best/val_roc_auc"] == 0.8
    assert summary["stopped_by"] == "an-ges"
    assert summary["nested"] == {"x": 1}
    assert "runtime" in summary["_wandb"]


def test_history_frame(runs: dict[str, Path]) -> None:
    frame = history_frame(read_offline_run(runs["full"]))
    columns = list(frame.columns)
    assert columns[0] == "_step" and columns[1:] == sorted(columns[1:])
    assert frame["_step"].tolist() == list(range(EPOCHS))
    assert frame["epoch"].tolist() == list(range(EPOCHS))
    assert frame["stop/decision"].tolist() == ["continue"] * (EPOCHS - 1) + ["stop"]
    roc = frame["val/roc_auc"].tolist()
    assert math.isnan(roc[0]) and math.isnan(roc[2]) and roc[1] == 0.6 and roc[3] == 0.5 + 0.1 * 3
    assert frame["train/loss"].tolist() == [row["train/loss"] for row in logged_rows()]


def test_history_frame_of_empty_history(tmp_path: Path) -> None:
    empty = OfflineRun("r", None, None, None, (), {}, [], {}, None, tmp_path / "run-r.wandb")
    assert history_frame(empty).empty


def test_record_split_over_blocks_and_exit_code(runs: dict[str, Path]) -> None:
    file = run_file(runs["big"])
    assert file.stat().st_size > 2 * 32768  # the blob is in the history and the summary record
    run = read_offline_run(file)
    assert run.exit_code == 3 and run.finished
    assert [without_clock(row) for row in run.history] == [
        {"_step": 0, "blob": "x" * 80_000, "epoch": 0},
        {"_step": 1, "epoch": 1},
    ]
    assert (run.name, run.group, run.tags, run.config) == (None, None, (), {})


def test_paths_accepted(runs: dict[str, Path]) -> None:
    file = run_file(runs["full"])
    by_file = read_offline_run(file)
    assert read_offline_run(str(file.parent)) == by_file
    assert read_offline_run(runs["full"]) == by_file  # the dir given to wandb.init
    via_link = read_offline_run(runs["full"] / "wandb" / "latest-run")
    assert via_link.path == runs["full"] / "wandb" / "latest-run" / file.name  # symlinks are kept as given
    assert dataclasses.replace(via_link, path=file) == by_file
    assert [r.SerializeToString() for r in iter_records(file.parent)] == [
        r.SerializeToString() for r in iter_records(file)
    ]


def test_records_are_wandb_protobufs(runs: dict[str, Path]) -> None:
    records = list(iter_records(run_file(runs["full"])))
    assert all(isinstance(record, Record) for record in records)
    kinds = [record.WhichOneof("record_type") for record in records]
    assert kinds[0] == "header" and kinds[-1] == "exit"
    assert kinds.count("history") == EPOCHS


def test_find_offline_runs(runs: dict[str, Path]) -> None:
    root = runs["full"].parent
    found = find_offline_runs(root)
    assert found == sorted(found)
    assert found == sorted(run_file(runs[name]) for name in ("full", "big", "killed"))  # latest-run not followed
    assert all(path.parent.name.startswith("offline-run-") for path in found)
    with pytest.raises(ValueError, match="holds 3 W&B runs"):
        read_offline_run(root)


# ------------------------------------------------------------------------------------------- interrupted runs


def test_killed_run_reads_its_prefix(runs: dict[str, Path]) -> None:
    file = run_file(runs["killed"])
    assert file.stat().st_size >= 3 * 32768
    run = read_offline_run(file)
    assert run.exit_code is None and not run.finished
    assert file.name == f"run-{run.run_id}.wandb"
    assert run.project == "p" and run.config == {"a": 1}
    assert len(run.history) <= EPOCHS
    for step, row in enumerate(run.history):
        assert row["_step"] == row["epoch"] == step


@pytest.mark.parametrize("name", ["full", "big"])
def test_truncated_file_yields_complete_prefix(runs: dict[str, Path], tmp_path: Path, name: str) -> None:
    source = run_file(runs[name])
    data = source.read_bytes()
    full = [record.SerializeToString() for record in iter_records(source)]
    truncated = tmp_path / source.name
    if name == "full":
        offsets = list(range(len(data)))  # every byte: small file
    else:  # around every block boundary plus a stride through the split record
        edges = {b + d for b in range(0, len(data), 32768) for d in range(-8, 9)}
        stride = set(range(0, len(data), 1009)) | {len(data) - 1}
        offsets = sorted({o for o in edges | stride if 0 <= o < len(data)})
    counts = []
    for offset in offsets:
        truncated.write_bytes(data[:offset])
        got = [record.SerializeToString() for record in iter_records(truncated)]
        assert got == full[: len(got)], offset
        counts.append(len(got))
    assert counts == sorted(counts)
    assert counts[-1] == len(full) - 1  # one byte short: everything but the exit record
    for offset in [*offsets[:: max(1, len(offsets) // 25)], len(data) - 1]:
        truncated.write_bytes(data[:offset])
        run = read_offline_run(truncated)
        assert run.exit_code is None, offset
        assert run.run_id == source.name.removeprefix("run-").removesuffix(".wandb")


def test_run_copied_before_finish_has_no_exit_code(runs: dict[str, Path], tmp_path: Path) -> None:
    source = run_file(runs["full"])
    records = list(iter_records(source))
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    whole = read_offline_run(copy)
    # Cut the file right where the exit record's chunk starts: the state of a run still in progress.
    exit_size = len(records[-1].SerializeToString()) + 7
    copy.write_bytes(source.read_bytes()[:-exit_size])
    cut = read_offline_run(copy)
    assert cut.exit_code is None and whole.exit_code == 0
    assert (cut.history, cut.config, cut.summary) == (whole.history, whole.config, whole.summary)


# ------------------------------------------------------------------------------------------- bad input


def test_not_a_wandb_file(tmp_path: Path) -> None:
    bogus = tmp_path / "run-abc.wandb"
    bogus.write_text("epoch,loss\n0,1.0\n" * 10)
    with pytest.raises(ValueError, match=r"run-abc\.wandb is not a W&B run file"):
        read_offline_run(bogus)
    with pytest.raises(ValueError, match="not a W&B run file"):
        list(iter_records(bogus))
    bogus.write_bytes(b"xy")
    with pytest.raises(ValueError, match="not a W&B run file"):
        read_offline_run(bogus)


def test_header_prefix_is_an_empty_run(tmp_path: Path) -> None:
    """A run killed before its first write leaves an empty or header-only file: no records, not an error."""
    for content in (b"", b":W&", b":W&B\xe1\xbe\x00"):
        file = tmp_path / "run-abc.wandb"
        file.write_bytes(content)
        assert list(iter_records(file)) == []
        run = read_offline_run(file)
        assert (run.run_id, run.exit_code, run.history, run.config) == ("abc", None, [], {})


def test_corruption_before_the_end_raises(runs: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(run_file(runs["full"]).read_bytes())
    data[200] ^= 0xFF  # inside the run record, far from the end
    bad = tmp_path / "run-bad.wandb"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"run-bad\.wandb: corrupt W&B datastore at byte \d+"):
        read_offline_run(bad)


def test_missing_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        read_offline_run(tmp_path)
    assert find_offline_runs(tmp_path) == []
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        read_offline_run(missing)
    with pytest.raises(FileNotFoundError, match="nope"):
        find_offline_runs(missing)


# ------------------------------------------------------------------------------------------- block layout

BLOCK = 32768


def write_datastore(path: Path, payloads: list[bytes]) -> None:
    """A minimal writer following the LevelDB-log rules, to place chunks at exact block positions."""
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for payload in payloads:
        rest, first = payload, True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += bytes(left)
                continue
            piece, rest = rest[: left - 7], rest[left - 7 :]
            kind = (1 if not rest else 2) if first else (4 if not rest else 3)
            out += struct.pack("<IHB", zlib.crc32(piece, zlib.crc32(bytes([kind]))), len(piece), kind) + piece
            first = False
            if not rest:
                break
    path.write_bytes(bytes(out))


def record_of_size(size: int, step: int) -> bytes:
    """A serialized history Record of exactly ``size`` bytes."""
    for filler in range(max(0, size - 40), size + 1):
        record = Record()
        item = record.history.item.add()
        item.key, item.value_json = "_step", str(step)
        item = record.history.item.add()
        item.key, item.value_json = "pad", '"' + "p" * filler + '"'
        data: bytes = record.SerializeToString()
        if len(data) == size:
            return data
    raise AssertionError(f"no record of {size} bytes")


@pytest.mark.parametrize("gap", range(10))
def test_block_trailers_and_empty_first_chunks(tmp_path: Path, gap: int) -> None:
    """The first record leaves ``gap`` bytes in block 0: padding (< 7), an empty FIRST chunk (7), or a split."""
    payloads = [record_of_size(BLOCK - 7 - 7 - gap, 0), record_of_size(50, 1), record_of_size(70_000, 2)]
    file = tmp_path / "run-synthetic.wandb"
    write_datastore(file, payloads)
    assert [record.SerializeToString() for record in iter_records(file)] == payloads
    run = read_offline_run(file)
    assert [row["_step"] for row in run.history] == [0, 1, 2]
    assert run.run_id == "synthetic" and run.exit_code is None
    file.write_bytes(file.read_bytes()[:-1])
    assert [record.SerializeToString() for record in iter_records(file)] == payloads[:2]


def test_orphan_chunk_is_corruption(tmp_path: Path) -> None:
    file = tmp_path / "run-orphan.wandb"
    payload = record_of_size(40, 0)
    chunk = struct.pack("<IHB", zlib.crc32(payload, zlib.crc32(bytes([4]))), len(payload), 4) + payload
    file.write_bytes(b":W&B" + struct.pack("<HB", 0xBEE1, 0) + chunk)
    with pytest.raises(ValueError, match="without a FIRST chunk"):
        list(iter_records(file))


def test_unsupported_version(tmp_path: Path) -> None:
    file = tmp_path / "run-v9.wandb"
    file.write_bytes(b":W&B" + struct.pack("<HB", 0xBEE1, 9))
    with pytest.raises(ValueError, match="version 9"):
        list(iter_records(file))


def test_copy_of_run_dir_is_readable(runs: dict[str, Path], tmp_path: Path) -> None:
    """A run directory moved elsewhere (e.g. rsync'd off a cluster) reads the same."""
    source = run_file(runs["full"]).parent
    target = tmp_path / source.name
    shutil.copytree(source, target)
    original = read_offline_run(source)
    moved = read_offline_run(target)
    assert moved.path == target / original.path.name
    assert (moved.history, moved.summary, moved.config) == (original.history, original.summary, original.config)


def test_iter_records_checks_the_path_at_call_time(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing"):
        iter_records(tmp_path / "missing")
