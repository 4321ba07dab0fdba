"""greenft.io: an atomic write leaves the old file or the new one, never half of one and no temporary file,
also when the write fails part-way (an error or a signal raised as an exception, a full disk)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenft.errors import UserError
from greenft.io import (
    FileFormatError,
    atomic_file,
    atomic_write_json,
    atomic_write_text,
    read_json,
    read_yaml_mapping,
    write_directory_atomically,
)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic_write_json(path, {"trials": 3})
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as handle:
        handle.write('{"trials": 4')  # half a file, then Ctrl-C
        raise KeyboardInterrupt
    assert json.loads(path.read_text()) == {"trials": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full on this system")
    path = tmp_path / "runs.txt"
    atomic_write_text(path, "old")
    with pytest.raises(OSError), atomic_file(path) as handle:
        handle.write("x" * 100_000)
        with full.open("w") as disk:  # what a full disk answers to a flush: ENOSPC
            disk.write("y")
            disk.flush()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.txt"]


def test_a_directory_replaced_atomically_keeps_the_old_one_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    write_directory_atomically(target, lambda d: (d / "a.txt").write_text("1"))
    with pytest.raises(RuntimeError):
        write_directory_atomically(target, lambda d: (_ for _ in ()).throw(RuntimeError("disk")))
    assert (target / "a.txt").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_readers_name_the_file_and_raise_the_callers_error(tmp_path: Path) -> None:
    class SweepError(UserError):
        pass

    bad = tmp_path / "sweep.yaml"
    bad.write_text("parameters: [unclosed")
    with pytest.raises(SweepError, match=r"sweep\.yaml: not valid YAML"):
        read_yaml_mapping(bad, "sweep file", SweepError)
    bad.write_text("- a\n- b\n")
    with pytest.raises(FileFormatError, match=r"sweep\.yaml: expected a mapping at the top level, found list"):
        read_yaml_mapping(bad, "sweep file")
    with pytest.raises(FileFormatError, match=r"run summary not found: .*gone\.json"):
        read_json(tmp_path / "gone.json", "run summary")
    bad.write_text("")
    assert read_yaml_mapping(bad, "sweep file") == {}


def test_a_file_written_atomically_gets_the_permissions_a_plain_write_gives(tmp_path: Path) -> None:
    """Run files on a shared volume stay readable by the other users the umask allows, as before."""
    plain, atomic = tmp_path / "plain.json", tmp_path / "atomic.json"
    plain.write_text("{}")
    atomic_write_text(atomic, "{}")
    assert atomic.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
