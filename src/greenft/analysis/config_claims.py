"""Atomic claims on configs in a study's own storage: the first trial to claim a config label scores it, every
later proposal of that label, by any worker, is a repeat.

Why: each ``greenft tune`` worker runs its study in memory and learns the other workers' configs only at a sync
(every 10 trials, :func:`greenft.analysis.tuning.tune_by_replay`), so two workers could both score a config the
other proposed since the last sync: one worker alone stored no duplicate config, two stored up to 2 per 200
trials. A claim is made in the shared storage *before* the config is scored, in one atomic step that exactly one
caller wins, so the check is exact across workers whatever the sync interval; the sync still teaches each sampler
the others' results.

Optuna's public API has no atomic "set if absent": a study system attribute is an upsert (RDB: read, then
insert or update; journal: an appended record, the last one wins). Hence one implementation per storage kind,
chosen from ``--storage`` in :func:`open_claims`:

* RDB (SQLite, PostgreSQL, any SQLAlchemy URL): a row of the table ``greenft_config_claims`` (primary key
  ``study_id, token, label``) in the same database, inserted in its own transaction; a unique-key violation
  means "taken". The table is created once, under PostgreSQL's advisory schema lock, elsewhere with retries
  (:func:`greenft.analysis.optuna_storage.open_rdb_storage` does the same for Optuna's tables).
* journal file: a file per label created with ``O_CREAT | O_EXCL`` (:func:`greenft.io.create_exclusively`)
  in a folder beside the journal, ``<journal>.claims/<study_id>-<token>/``.
* memory: a set (one process, one study).

``token`` is a random string the study's creator stores as the study system attribute ``greenft:claims_token``
before any trial: a study deleted and created again under a reused id (SQLite reuses the highest id, a journal
file may be removed while its claims folder stays) gets a new token, so stale claims never block it. A claim
that was won and never scored (a worker killed between the claim and its next sync) keeps that config out of the
study; the cost is one config of the space, never a duplicate.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from greenft.analysis.optuna_storage import StorageError, journal_path, schema_lock, storage_errors, storage_kind
from greenft.io import create_exclusively

if TYPE_CHECKING:
    import optuna
    import sqlalchemy

__all__ = [
    "CLAIMS_TABLE",
    "LEGACY_TOKEN",
    "TOKEN_ATTR",
    "ConfigClaims",
    "JournalClaims",
    "MemoryClaims",
    "RdbClaims",
    "claim_key",
    "claims_token",
    "open_claims",
]

CLAIMS_TABLE = "greenft_config_claims"
TOKEN_ATTR = "greenft:claims_token"
LEGACY_TOKEN = "legacy"
"""The token of a study whose creator stored none (created by plain Optuna or an older greenft)."""
TOKEN_WAIT_S = 30.0
"""How long a worker that loaded a new, empty study waits for its creator to store the token (milliseconds in
practice: the creator stores it right after creating the study)."""
MAX_KEY_CHARS = 200


class ConfigClaims(Protocol):
    """Claims on config labels, shared by every worker of one study."""

    def claim(self, label: str) -> bool:
        """True for the first caller (any worker) to claim ``label`` in this study, False for every later one."""
        ...


def claim_key(label: str) -> str:
    """``label`` as stored (a table key, a file name): itself, or its SHA-256 where it is too long for either."""
    if len(label) <= MAX_KEY_CHARS:
        return label
    return "sha256-" + hashlib.sha256(label.encode()).hexdigest()


@dataclass
class MemoryClaims:
    """An in-memory study's claims: one process, so a set is exact."""

    claimed: set[str] = field(default_factory=set)

    def claim(self, label: str) -> bool:
        key = claim_key(label)
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True


@dataclass(frozen=True)
class JournalClaims:
    """A journal study's claims: one ``O_EXCL`` file per label in ``folder`` (its content: the claiming worker)."""

    folder: Path
    worker: str

    def claim(self, label: str) -> bool:
        return create_exclusively(self.folder / urllib.parse.quote(claim_key(label), safe=""), f"{self.worker}\n")


def _claims_table(metadata: sqlalchemy.MetaData) -> sqlalchemy.Table:
    from sqlalchemy import Column, Integer, String, Table

    return Table(
        CLAIMS_TABLE,
        metadata,
        Column("study_id", Integer, primary_key=True, autoincrement=False),
        Column("token", String(64), primary_key=True),
        Column("label", String(MAX_KEY_CHARS + 16), primary_key=True),
        Column("worker", String(64), nullable=False),
    )


@dataclass(frozen=True)
class RdbClaims:
    """An RDB study's claims: rows of :data:`CLAIMS_TABLE` in the study's own database."""

    engine: sqlalchemy.engine.Engine
    table: sqlalchemy.Table
    study_id: int
    token: str
    worker: str

    @classmethod
    def open(
        cls, engine: sqlalchemy.engine.Engine, study_id: int, token: str, worker: str, shown: str, attempts: int = 6
    ) -> RdbClaims:
        """Create the table if it is missing, safely when several workers start together: under PostgreSQL's
        advisory schema lock, elsewhere retried with jittered backoff when a concurrent creation collides."""
        import sqlalchemy
        from sqlalchemy import exc

        table = _claims_table(sqlalchemy.MetaData())
        with engine.connect() as connection, schema_lock(connection, shown):
            for attempt in range(attempts):
                try:
                    table.create(connection, checkfirst=True)
                    connection.commit()
                    break
                except (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError) as err:
                    connection.rollback()
                    if attempt == attempts - 1:
                        why = " ".join(str(err.orig).split())  # one line, as every StorageError
                        raise StorageError(f"storage {shown}: cannot create the table {CLAIMS_TABLE}: {why}") from None
                    time.sleep(0.05 * 2**attempt * (0.5 + random.random()))
        return cls(engine, table, study_id, token, worker)

    def claim(self, label: str) -> bool:
        from sqlalchemy import exc

        row = {"study_id": self.study_id, "token": self.token, "label": claim_key(label), "worker": self.worker}
        try:
            with self.engine.begin() as connection:
                connection.execute(self.table.insert().values(**row))
        except exc.IntegrityError:
            return False
        return True


def claims_token(store: optuna.storages.BaseStorage, study_id: int, created: bool, wait_s: float = TOKEN_WAIT_S) -> str:
    """The study's claims token: drawn and stored by its creator (``created``), read by everyone else.

    A worker that loaded the study waits for the token while the study has no trial (its creator stores it
    before the first one); a study with trials and no token was not created by a greenft that claims
    (:data:`LEGACY_TOKEN`, the same for every worker, so claims are still exact among today's workers).
    """
    if created:
        token = secrets.token_hex(8)
        store.set_study_system_attr(study_id, TOKEN_ATTR, token)
        return token
    deadline = time.monotonic() + wait_s
    while True:
        stored = store.get_study_system_attrs(study_id).get(TOKEN_ATTR)
        if isinstance(stored, str):
            return stored
        if store.get_n_trials(study_id) > 0 or time.monotonic() > deadline:
            return LEGACY_TOKEN
        time.sleep(0.02)


def open_claims(
    storage: str | None,
    out_dir: Path,
    store: optuna.storages.BaseStorage | None,
    study_name: str,
    created: bool,
    worker: str,
    shown: str,
) -> ConfigClaims:
    """The claims of study ``study_name`` in ``store`` (opened by :func:`~greenft.analysis.optuna_storage.make_storage`
    from ``storage`` and ``out_dir``): the one place that picks the implementation for the storage kind. The
    creator (``created``) calls this before it queues any trial."""
    kind = storage_kind(storage)
    if kind == "memory" or store is None:
        return MemoryClaims()
    with storage_errors(shown, "opening the config claims"):
        study_id = store.get_study_id_from_name(study_name)
        token = claims_token(store, study_id, created)
        if kind == "rdb":
            from optuna.storages import RDBStorage

            if not isinstance(store, RDBStorage):
                raise TypeError(f"an RDB storage was expected for {shown}, not {type(store).__name__}")
            return RdbClaims.open(store.engine, study_id, token, worker, shown)
        journal = journal_path(storage, out_dir)
        folder = journal.with_name(f"{journal.name}.claims") / f"{study_id}-{token}"
        folder.mkdir(parents=True, exist_ok=True)
        return JournalClaims(folder, worker)
