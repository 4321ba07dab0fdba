"""Plain file I/O that every layer shares: atomic writes and readers whose errors name the file.

Why atomic: greenft's files are read while they are written (analysis reads a running sweep's state, a second
worker reads the cache) and must survive a crash, a signal or a full disk. Each write goes to a temporary file
in the same directory, is flushed and fsynced, then replaces the target with ``os.replace``: a reader sees the
old file or the new one, never half of one, and a failed write (ENOSPC included) leaves the old file intact and
no temporary file behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from greenft.errors import UserError


class FileFormatError(UserError, ValueError):
    """A file that cannot be read as what it should be; the message names the file and the problem."""


@contextmanager
def atomic_file(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit it is fsynced and moved over ``path``.

    On an exception (a signal raised as one, a full disk) the temporary file is removed and ``path`` is left as
    it was.
    """
    path = Path(path)
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


def cache_root() -> Path:
    """Where greenft caches what it can rebuild (featurised graphs, corpus samples, run reads, its own
    checkpoints): ``$GREENFT_CACHE_DIR``, else ``~/.cache/greenft``. Read at each call, so a test or a container
    can point it elsewhere through the environment."""
    return Path(os.environ.get("GREENFT_CACHE_DIR") or Path.home() / ".cache" / "greenft")


def atomic_write_text(path: Path, text: str) -> Path:
    with atomic_file(path, "w") as handle:
        handle.write(text)
    return Path(path)


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
