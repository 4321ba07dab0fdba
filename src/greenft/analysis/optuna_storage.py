"""Optuna storages for ``greenft tune``: any SQLAlchemy URL, a journal file, or memory; the one place that
opens them, masks their credentials and turns their failures into one-line :class:`StorageError` messages.

Why its own module: where a study lives (and how several workers share it safely: PostgreSQL's advisory lock
around schema creation, a retry elsewhere, the journal file's lock) is a concern apart from what the study
searches (:mod:`greenft.analysis.tuning`).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from greenft.errors import UserError

if TYPE_CHECKING:
    import optuna
    import sqlalchemy
    from optuna.storages.journal import JournalFileOpenLock, JournalFileSymlinkLock

JOURNAL_FILE = "optuna_journal.log"


class StorageError(UserError, ValueError):
    """An Optuna storage that cannot be used: one line naming the (masked) URL or path and the problem.

    A user error, not a bug: a wrong host, port, password or database name, a dialect or driver that is not
    installed, a directory that does not exist. ``greenft tune`` prints it and exits with code 2.
    """


_SECRET_QUERY = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|sslpassword)=[^&;\s]*")
_USERINFO = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def mask_credentials(storage: str) -> str:
    """``storage`` (a URL or a path) with any password replaced by ``***``: the one helper for every line and
    file greenft writes about a storage (console, ``tune_report.md``, ``best_configs.yaml``, error messages).

    SQLAlchemy's own renderer (``hide_password=True``) is used where the URL parses, so what is shown is what
    SQLAlchemy connects to; secrets passed as query parameters (``?password=...``) and URLs SQLAlchemy cannot
    parse are masked by pattern, because an unparsable URL is exactly the one an error message has to show.
    """
    text = storage
    if "://" in storage:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            text = make_url(storage).render_as_string(hide_password=True)
        except (ArgumentError, ValueError):
            text = _USERINFO.sub(r"\1:***@", storage)
    return _SECRET_QUERY.sub(r"\1=***", text)


def _scrub(message: str, url: str) -> str:
    """A driver's message on one line, without the password of ``url`` should the driver have echoed it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = " ".join(message.split())
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text.replace(url, mask_credentials(url))


def _driver_hint(backend: str, module: str) -> str:
    if backend == "postgresql" and module in ("psycopg", "psycopg_binary", "psycopg_c"):
        return "pip install 'greenft[postgres]'"
    if backend == "postgresql":
        return (
            f"pip install the package providing {module!r}, or use postgresql:// with pip install 'greenft[postgres]'"
        )
    return f"pip install the package providing {module!r}"


def _is_sqlite(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0].lower() == "sqlite"


#: PostgreSQL advisory-lock key that serialises Optuna's schema creation among greenft workers (any constant
#: bigint works; this one is "greenft" in ASCII).
SCHEMA_LOCK_KEY = 0x677265656E6674
SCHEMA_LOCK_TIMEOUT_S = 120.0


@contextmanager
def schema_lock(connection: sqlalchemy.engine.Connection, shown: str) -> Iterator[None]:
    """Hold PostgreSQL's session-level advisory lock ``SCHEMA_LOCK_KEY`` (other dialects: nothing).

    ``pg_try_advisory_lock`` is polled rather than ``pg_advisory_lock`` so that a worker never waits forever
    behind a stuck one; the lock belongs to the session, so a worker that dies releases it with its connection.
    """
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        yield
        return
    deadline = time.monotonic() + SCHEMA_LOCK_TIMEOUT_S
    delay = 0.01
    while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY}).scalar():
        if time.monotonic() > deadline:
            raise StorageError(
                f"storage {shown}: another greenft worker has held the schema lock for "
                f"{SCHEMA_LOCK_TIMEOUT_S:.0f} s (advisory lock {SCHEMA_LOCK_KEY}); is it stuck?"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    connection.commit()
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
        connection.commit()


def open_rdb_storage(url: str, *, attempts: int = 6) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage for any SQLAlchemy URL, safe when several workers start on an empty database.

    Each problem a user can cause ends in one :class:`StorageError` line with the URL masked: an unparsable
    URL, an unknown dialect, a missing driver (``postgresql://`` means psycopg 3 under SQLAlchemy 2.1, hence
    ``pip install 'greenft[postgres]'``), and a server that refuses the connection, the password or the
    database name (tried once before anything else, so such errors are reported at once, not retried).

    Why a lock *and* retries: Optuna creates its tables, enum types, version row and alembic stamp on first
    use, in several statements that are not atomic; two workers started together on an empty database both
    see no tables and one of them fails (a duplicate type or key). On PostgreSQL the creation is serialised
    with a session advisory lock (:func:`schema_lock`): exact, no guessing about timing, released by the
    server if a worker dies, and the second worker then finds the schema complete. Dialects without such a
    lock (SQLite, MySQL, ...) rely on the creation being idempotent: a creation that fails with an integrity,
    "already exists" or "database is locked" error is retried ``attempts`` times with a jittered exponential
    backoff (50 ms doubling), after which the winner's schema is there and the retry only checks it.
    """
    import optuna
    import sqlalchemy
    from sqlalchemy import exc

    shown = mask_credentials(url)
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except (exc.ArgumentError, ValueError):
        raise StorageError(
            f"storage {shown}: not a SQLAlchemy URL (e.g. postgresql://USER:PASSWORD@HOST:5432/DB, "
            "sqlite:///tune.db, or a journal file path)"
        ) from None
    try:
        dialect = parsed.get_dialect()
    except exc.NoSuchModuleError:
        raise StorageError(
            f"storage {shown}: unknown database dialect {parsed.drivername!r} "
            "(postgresql, mysql, sqlite, mssql, oracle, each with an optional +driver)"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as err:
        module = err.name or str(err)
        raise StorageError(
            f"storage {shown}: the {parsed.drivername} driver is not installed (no module {module!r}): "
            + _driver_hint(parsed.get_backend_name(), module)
        ) from None
    engine_kwargs: dict[str, Any] = {}
    if _is_sqlite(url):  # several workers write the file: wait for its lock instead of failing after 5 s
        engine_kwargs["connect_args"] = {"timeout": 60.0}
    probe = sqlalchemy.create_engine(parsed, poolclass=sqlalchemy.pool.NullPool, **engine_kwargs)
    try:
        try:
            connection = probe.connect()
        except exc.DBAPIError as err:
            hint = ""
            if _is_sqlite(url) and parsed.database:
                hint = f" (does the directory {Path(parsed.database).parent} exist and is it writable?)"
            raise StorageError(f"storage {shown}: cannot connect: {_scrub(str(err.orig), url)}{hint}") from None
        with connection, schema_lock(connection, shown):
            for attempt in range(attempts):
                try:
                    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
                except (
                    exc.IntegrityError,
                    exc.ProgrammingError,
                    exc.OperationalError,
                    optuna.exceptions.StorageInternalError,
                ) as err:
                    if attempt == attempts - 1:
                        cause = err.orig if isinstance(err, exc.DBAPIError) else err.__cause__ or err
                        raise StorageError(
                            f"storage {shown}: cannot create Optuna's tables: {_scrub(str(cause), url)}"
                        ) from None
                    time.sleep(0.05 * 2**attempt * (0.5 + random.random()))
    finally:
        probe.dispose()
    raise AssertionError("unreachable")  # the loop returns or raises


def _journal_lock(path: Path) -> JournalFileOpenLock | JournalFileSymlinkLock:
    """The journal's inter-process lock: Optuna's symlink lock where the file system makes symlinks (an atomic
    ``symlink(2)``, the safest on local disks and NFS), else its ``O_EXCL`` open lock (some network and
    Windows-mounted file systems refuse symlinks). Probed once, beside the journal itself."""
    from optuna.storages.journal import JournalFileOpenLock, JournalFileSymlinkLock

    probe = path.with_name(f".{path.name}.symlink-probe-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        probe.symlink_to(path.name)
    except OSError:
        return JournalFileOpenLock(str(path))
    probe.unlink()
    return JournalFileSymlinkLock(str(path))


def _whole_lines_journal(path: Path) -> Any:
    """Optuna's journal file backend, except that an append cut short (a full disk) is rolled back.

    Optuna writes each append as whole lines but leaves a half line behind when the write fails; the next append
    would glue onto it and every later read of the journal would fail ("Invalid log format"): the study would be
    lost. Here the failed append's tail is cut back to the last newline, under the journal's own lock (no other
    worker is half-way through an append then), and the error is raised as it came.
    """
    from optuna.storages.journal import JournalFileBackend

    lock = _journal_lock(path)

    class WholeLines(JournalFileBackend):
        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            try:
                super().append_logs(logs)
            except OSError:
                _cut_half_line(path, lock)
                raise

    return WholeLines(str(path), lock_obj=lock)


def _cut_half_line(path: Path, lock: Any) -> None:
    if not lock.acquire():
        return
    try:
        with path.open("rb+") as journal:
            size = journal.seek(0, os.SEEK_END)
            keep = size
            while keep > 0:
                step = min(4096, keep)
                journal.seek(keep - step)
                chunk = journal.read(step)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    keep = keep - step + newline + 1
                    break
                keep -= step
            if keep < size:
                journal.truncate(keep)
    except OSError:
        pass  # the error being raised already says what is wrong with this file system
    finally:
        lock.release()


StorageKind = Literal["memory", "rdb", "journal"]


def storage_kind(storage: str | None) -> StorageKind:
    """What ``--storage`` names: ``memory``, an RDB (a URL with ``://``) or a journal file (anything else,
    ``None`` included): the one reading of the value, for :func:`make_storage` and for the config claims
    (:mod:`greenft.analysis.config_claims`), which must sit in the same storage."""
    if storage in ("memory", ":memory:"):
        return "memory"
    if storage is not None and "://" in storage:
        return "rdb"
    return "journal"


#: How to get the dashboard :func:`dashboard_command` names (an optional extra of greenft, pinned in constraints.txt).
DASHBOARD_INSTALL = "pip install 'greenft[dashboard]'"


def dashboard_command(storage: str | None, shown: str) -> str | None:
    """The one command that opens a stored study in optuna-dashboard, for the console and ``tune_report.md``;
    None for an in-memory study (nothing persists, nothing to open). ``shown`` is :func:`make_storage`'s name of
    the storage: a journal file's path (made absolute, so the command works from any folder) or the URL with its
    password masked (the user types it, or passes it through a config file: ``--from-config``)."""
    kind = storage_kind(storage)
    if kind == "memory":
        return None
    target = str(Path(shown).resolve()) if kind == "journal" else shown
    return f"optuna-dashboard {shlex.quote(target)}"


def journal_path(storage: str | None, out_dir: Path) -> Path:
    """The journal file of a journal ``storage``: the given path, or ``out_dir/optuna_journal.log``."""
    return Path(storage) if storage is not None else out_dir / JOURNAL_FILE


def make_storage(storage: str | None, out_dir: Path) -> tuple[optuna.storages.BaseStorage | None, str]:
    """The Optuna storage and how to name it in output (credentials masked: :func:`mask_credentials`).

    ``None``: a journal file ``out_dir/optuna_journal.log``. A URL with ``://`` (``sqlite:///...``,
    ``postgresql://...``, ``postgresql+psycopg2://...``, ``mysql+pymysql://...``) is an RDB storage
    (:func:`open_rdb_storage`). ``"memory"``: in-process only (nothing kept, no dashboard). Any other string is
    a journal file path. A journal file is append-only and guarded by a file lock (:func:`_journal_lock`), so
    several processes on one machine or on a shared file system can write it at once.
    """
    from optuna.storages import JournalStorage

    kind = storage_kind(storage)
    if kind == "memory":
        return None, "memory (not persisted)"
    if kind == "rdb" and storage is not None:
        return open_rdb_storage(storage), mask_credentials(storage)
    path = journal_path(storage, out_dir)
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir would only say "File exists"
        raise StorageError(f"journal file {path}: {blocking} is not a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = _whole_lines_journal(path)
    except OSError as err:
        raise StorageError(f"journal file {path}: {err.strerror or err}") from None
    return JournalStorage(backend), str(path)


def check_storage(storage: str | None, out_dir: Path) -> str:
    """Open ``storage`` once and let it go, returning its masked name: ``greenft tune`` calls this before it
    reads any run, so a wrong URL, password or driver fails in a second instead of after reading every run
    (and an RDB schema is in place before the workers start sampling)."""
    from optuna.storages import RDBStorage

    store, where = make_storage(storage, out_dir)
    if isinstance(store, RDBStorage):
        store.engine.dispose()
    return where


@contextmanager
def storage_errors(shown: str, doing: str) -> Iterator[None]:
    """Turn a storage failure while ``doing`` (a lost database connection, a full disk) into one line."""
    import optuna
    from sqlalchemy import exc

    try:
        yield
    except exc.DBAPIError as err:
        raise StorageError(f"storage {shown}: failed while {doing}: {' '.join(str(err.orig).split())}") from None
    except (exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as err:
        cause = err.__cause__ if isinstance(err.__cause__, exc.DBAPIError) else err
        reason = cause.orig if isinstance(cause, exc.DBAPIError) else cause
        raise StorageError(f"storage {shown}: failed while {doing}: {' '.join(str(reason).split())}") from None
    except OSError as err:
        raise StorageError(f"storage {shown}: failed while {doing}: {err.strerror or err}") from None
