"""greenft.io: an atomic write leaves the old file or the new one, never half of one and no temporary file,
also when the write fails part-way (an error or a signal raised as an exception, a full disk)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenft.errors import UserError
from greenft.io import (
    CacheNotWrittenWarning,
    FileFormatError,
    OutputError,
    atomic_file,
    atomic_write_json,
    atomic_write_text,
    ensure_writable_directory,
    read_json,
    read_yaml_mapping,
    write_cache_entry,
    write_directory_atomically,
    write_files_into,
    write_marked_section,
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


def test_a_full_disk_is_one_line_naming_the_file(tmp_path: Path) -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full on this system")
    path = tmp_path / "state.json"
    with pytest.raises(OutputError) as raised, atomic_file(path) as handle:
        handle.write("x")
        with full.open("w") as disk:
            disk.write("y")
            disk.flush()
    assert isinstance(raised.value, UserError) and isinstance(raised.value, OSError)
    assert str(raised.value).startswith(f"{path}: cannot write: no space left on device")
    assert "\n" not in str(raised.value)


def test_a_writable_folder_is_created_and_left_without_a_probe(tmp_path: Path) -> None:
    folder = ensure_writable_directory(tmp_path / "a" / "runs", "runs folder (--runs-dir)")
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("afile/runs", "a part of the path is a file, not a folder"),
        ("afile", "a file of that name exists where a folder is expected"),
    ],
)
def test_a_file_in_the_way_of_a_folder_is_one_line_naming_it(tmp_path: Path, where: str, reason: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(OutputError) as raised:
        ensure_writable_directory(tmp_path / where, "runs folder (--runs-dir)")
    assert str(raised.value) == (
        f"runs folder (--runs-dir) {tmp_path / where}: cannot write: {reason}; "
        "expected a folder greenft can create files in"
    )
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_files_moved_in_from_a_staging_folder_are_whole_or_not_there(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "a.png").write_text("earlier a")

    def half(staging: Path) -> list[Path]:
        (staging / "a.png").write_text("half of a new")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"report folder \S+/report: cannot write: no space left on device"):
        write_files_into(out, half, "report folder")
    assert [p.name for p in out.iterdir()] == ["a.png"] and (out / "a.png").read_text() == "earlier a"

    def whole(staging: Path) -> list[Path]:
        (staging / "a.png").write_text("new a")
        (staging / "b.png").write_text("new b")
        return [staging / "a.png", staging / "b.png"]

    assert write_files_into(out, whole, "report folder") == [out / "a.png", out / "b.png"]
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"] and (out / "a.png").read_text() == "new a"


def test_a_cache_that_cannot_be_written_costs_a_warning_not_the_run(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    entry = tmp_path / "cache" / "graphs" / "x.pt"
    with pytest.warns(CacheNotWrittenWarning, match=r"cache \S+/cache/graphs not written \(a part of the path"):
        assert write_cache_entry(entry, lambda target: atomic_write_text(target, "graphs")) is False
    assert write_cache_entry(tmp_path / "ok" / "x.json", lambda target: atomic_write_text(target, "{}")) is True


def test_write_marked_section_replaces_only_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    write_marked_section(doc, "<!-- B -->", "<!-- E -->", "one")  # absent file: the markers are appended
    assert doc.read_text() == "\n<!-- B -->\none\n<!-- E -->\n"
    doc.write_text("intro\n<!-- B -->\nold\n<!-- E -->\noutro\n")
    write_marked_section(doc, "<!-- B -->", "<!-- E -->", "new")
    assert doc.read_text() == "intro\n<!-- B -->\nnew\n<!-- E -->\noutro\n"
