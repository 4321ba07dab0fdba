"""Plain file I/O that every layer shares: atomic writes and readers whose errors name the file.

Why atomic: greenft's files are read while they are written (analysis reads a running sweep's state, a second
worker reads the cache) and must survive a crash, a signal or a full disk. Each write goes to a temporary file
in the same directory, is flushed and fsynced, then replaces the target with ``os.replace``: a reader sees the
old file or the new one, never half of one, and a failed write (ENOSPC included) leaves the old file intact and
no temporary file behind.

Why one check for output folders (:func:`ensure_writable_directory`): every command that writes (runs, sweep
state, reports, tuning outputs, checkpoints) must refuse to start, naming the folder, before any training or
heavy work, and W&B must never get a folder it cannot write (it would silently fall back to a temporary
directory). Root writes through permission bits, and a full or read-only file system only says so when written,
so the check writes a probe file instead of trusting ``os.access``. A write that fails later (the disk filled
during a run) raises :class:`OutputError`, one line naming the file and the reason.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from greenft.errors import UserError


class FileFormatError(UserError, ValueError):
    """A file that cannot be read as what it should be; the message names the file and the problem."""


class OutputError(UserError, OSError):
    """A file or folder greenft must write cannot be written (read-only, full, not a folder, no permission).

    An ``OSError`` too, so code that already handles ``OSError`` (a cache that only costs speed when it cannot be
    written) keeps doing so; a :class:`UserError`, so the CLI prints its one line and exits with code 2.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code  # OSError's attribute, kept for callers that test it

    def __str__(self) -> str:
        return str(self.args[0])


NO_SPACE = "no space left on device"
_REASONS: dict[int, str] = {
    errno.ENOSPC: NO_SPACE,
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file of that name exists where a folder is expected",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENAMETOOLONG: "file name too long",
}
"""The ``OSError`` kinds that mean "this place cannot be written": what :class:`OutputError` reports. Any other
``OSError`` stays what it is (a programming error keeps its traceback)."""

DISK_ERRNOS: frozenset[int] = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
"""The kinds only a write can cause (a full disk or quota, a read-only file system): safe to convert around a
whole command, where a ``permission denied`` might come from reading an input file instead."""


def _advice(code: int | None) -> str:
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "free some space there or choose another folder"
    if code in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return "expected a folder greenft can create files in"
    return "choose a folder greenft can write"


def output_error(
    err: BaseException, path: Path | str | None = None, what: str | None = None, *, disk_only: bool = False
) -> OutputError | None:
    """``err`` as an :class:`OutputError` naming ``what`` and ``path``; None when ``err`` is not about writing
    (let it propagate as it is).

    ``path`` names the place the caller was writing; with ``disk_only`` (a wrapper around a whole command) only
    :data:`DISK_ERRNOS` are converted, and the file named in ``err`` wins over ``path`` (a fallback then).
    """
    if isinstance(err, OutputError):
        return err
    code = err.errno if isinstance(err, OSError) else None
    if code is None or code not in (DISK_ERRNOS if disk_only else _REASONS):
        return None
    assert isinstance(err, OSError)
    if disk_only and err.filename:
        path, what = err.filename, None
    label = " ".join(str(part) for part in (what, path if path is not None else err.filename) if part)
    return OutputError(f"{label or 'a file'}: cannot write: {_REASONS[code]}; {_advice(code)}", code)


@contextmanager
def output_errors(
    path: Path | str | None = None, what: str | None = None, *, disk_only: bool = False
) -> Iterator[None]:
    """Inside the block, an ``OSError`` that means "cannot write here" becomes an :class:`OutputError` (one line
    naming ``what`` and ``path``; see :func:`output_error`); other exceptions pass unchanged."""
    try:
        yield
    except OSError as err:
        converted = output_error(err, path, what, disk_only=disk_only)
        if converted is None or converted is err:
            raise
        raise converted from None


def ensure_writable_directory(path: Path, what: str) -> Path:
    """Create the folder ``path`` (and its parents) and prove it can be written, or raise :class:`OutputError`.

    ``what`` names the folder for the user, with the option that sets it (``"runs folder (--runs-dir)"``). The
    proof is a small probe file created, written, fsynced and removed: ``os.access`` says yes to root on a folder
    with no write bits and knows nothing of a full disk.
    """
    path = Path(path)
    with output_errors(path, what):
        if path.exists() and not path.is_dir():
            raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".greenft-write-probe.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"greenft\n")
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            probe.unlink(missing_ok=True)
    return path


@contextmanager
def atomic_file(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit it is fsynced and moved over ``path``.

    On an exception (a signal raised as one, a full disk) the temporary file is removed and ``path`` is left as
    it was; a file system that refuses the write (full, read-only, ...) raises :class:`OutputError` naming
    ``path``.
    """
    path = Path(path)
    with output_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        # 0o666 less the umask, as a plain open() would create it (mkstemp's 0600 would hide run files from the
        # other users of a shared runs volume); O_EXCL: never write into someone else's temporary file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            binary = "b" in mode
            with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def create_exclusively(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` unless it exists: True for the one caller that created it, False for
    every other (``O_CREAT | O_EXCL``: the existence test and the creation are one step, atomic on local file
    systems and on NFS v3+). A claim, not a document: what matters is who created the file, so the text is
    written after the creation and a crash half-way still leaves the claim in place."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return True


def cache_root() -> Path:
    """Where greenft caches what it can rebuild (featurised graphs, corpus samples, run reads, its own
    checkpoints): ``$GREENFT_CACHE_DIR``, else ``~/.cache/greenft``. Read at each call, so a test or a container
    can point it elsewhere through the environment."""
    return Path(os.environ.get("GREENFT_CACHE_DIR") or Path.home() / ".cache" / "greenft")


def atomic_write_text(path: Path, text: str) -> Path:
    with atomic_file(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_marked_section(doc: Path, begin: str, end: str, text: str) -> Path:
    """Put ``text`` between the marker lines ``begin`` and ``end`` of ``doc`` (a benchmark's table in its doc),
    appending the markers first where the file or either marker is absent; the rest of ``doc`` is kept."""
    content = doc.read_text() if doc.is_file() else ""
    if begin not in content or end not in content:
        content += f"\n{begin}\n{end}\n"
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    return atomic_write_text(doc, f"{head}{begin}\n{text}\n{end}{tail}")


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    with atomic_file(path, "wb", encoding=None) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_json(path: Path, payload: Any, **dumps: Any) -> Path:
    return atomic_write_text(path, json.dumps(payload, **dumps))


def atomic_save(path: Path, save: Callable[[IO[bytes]], None]) -> Path:
    """Atomic write through a library's own writer that takes a binary file object (``torch.save``)."""
    with atomic_file(path, "wb", encoding=None) as handle:
        save(handle)
    return Path(path)


def write_directory_atomically(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)``, then move ``tmp_dir`` to ``target`` (replacing an older one)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def write_files_into(out_dir: Path, write: Callable[[Path], Sequence[Path]], what: str) -> list[Path]:
    """Call ``write(staging)`` and move each file it returns from ``staging`` into ``out_dir``; the new paths.

    For writers that only take a path (matplotlib, plotly, pandas, a library's report writer): ``staging`` is a
    hidden folder inside ``out_dir`` (same file system, so each move is an atomic rename), removed whatever
    happens. A file cut short by a full disk never replaces a whole one of the same name; a write refused by the
    file system raises :class:`OutputError` naming ``what`` and ``out_dir``.
    """
    out_dir = Path(out_dir)
    with output_errors(out_dir, what):
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = out_dir / f".staging.{os.getpid()}.{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            moved = []
            for path in write(staging):
                target = out_dir / Path(path).relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                moved.append(target)
            return moved
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class CacheNotWrittenWarning(UserWarning):
    """A cache entry could not be written; greenft goes on without it (the next run rebuilds it)."""


def write_cache_entry(path: Path, write: Callable[[Path], object]) -> bool:
    """``write(path)`` for a cache entry (featurised graphs, corpus samples); False, with one warning, when the
    cache folder refuses it (read-only, full).

    Why not an error: a cache only saves time, and a read-only cache (a shared volume, a container image) or a
    full one must not stop a run that can compute everything it needs. The warning says where and why, once per
    process and place (Python's default warning filter), so a sweep does not repeat it every trial.
    """
    try:
        write(path)
    except OutputError as err:
        reason = _REASONS.get(err.errno or -1, "cannot write")
        warnings.warn(
            f"cache {Path(path).parent} not written ({reason}): greenft goes on without it, only slower; set "
            "GREENFT_CACHE_DIR to a writable folder to keep it",
            CacheNotWrittenWarning,
            stacklevel=2,
        )
        return False
    return True


def read_text(path: Path, what: str, error: type[UserError] = FileFormatError) -> str:
    """The file's text; a missing or unreadable file raises ``error`` naming ``what`` and the path."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read the {what}: {err}") from None


def read_json(path: Path, what: str, error: type[UserError] = FileFormatError) -> Any:
    try:
        return json.loads(read_text(path, what, error))
    except json.JSONDecodeError as err:
        raise error(f"{path}: not valid JSON: {err}") from None


def read_yaml(path: Path, what: str, error: type[UserError] = FileFormatError) -> Any:
    try:
        return yaml.safe_load(read_text(path, what, error))
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None


def read_yaml_mapping(
    path: Path, what: str, error: type[UserError] = FileFormatError, expected: str = "a mapping at the top level"
) -> dict[str, Any]:
    """A YAML (or JSON) file whose top level must be a mapping; an empty file is an empty mapping."""
    raw = read_yaml(path, what, error)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{path}: expected {expected}, found {type(raw).__name__}")
    return raw
