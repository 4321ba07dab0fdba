"""Config claims (``greenft.analysis.config_claims``): worker processes claiming the same labels at the same time
on one SQLite database or one journal file each win a disjoint share, and together all of them; a claim lost to
another worker makes a proposal a repeat; stale claims of a deleted study do not block its successor."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.study import StudyDirection

from greenft.analysis.config_claims import (
    CLAIMS_TABLE,
    LEGACY_TOKEN,
    TOKEN_ATTR,
    JournalClaims,
    MemoryClaims,
    RdbClaims,
    claim_key,
    claims_token,
    open_claims,
)
from greenft.analysis.fresh_proposals import REPLACES_REPEAT, RepeatedProposal
from greenft.analysis.optuna_storage import make_storage
from greenft.analysis.search_space import SearchSpace
from greenft.stopping import AnGesConfig, rule_label

STUDY = "claims"
DIRECTIONS = [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE]
LABELS = [rule_label(AnGesConfig(alpha=a / 100, beta=0.2, warmup=3)) for a in range(1, 31)]
LABELS += [rule_label(AnGesConfig(alpha=0.9, beta=b / 100, warmup=5)) for b in range(1, 31)]


def open_study(storage: str, out_dir: Path) -> tuple[Any, bool, Any]:
    """Like ``greenft tune``: create the study, or load it when another process created it first."""
    store, shown = make_storage(storage, out_dir)
    try:
        store.create_new_study(DIRECTIONS, STUDY)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        created = False
    return store, created, open_claims(storage, out_dir, store, STUDY, created, f"w{os.getpid()}", shown)


def claim_all(storage: str, out_dir: Path, reverse: bool, barrier: Barrier, won: Any) -> None:
    """One worker process: open the storage and the claims together with the other (the study, its token and the
    claims table are created under the race), then claim every label, one of the two in reverse order."""
    barrier.wait(timeout=120)
    _store, _created, claims = open_study(storage, out_dir)
    barrier.wait(timeout=120)
    won.put(
        (f"w{os.getpid()}", sorted(label for label in (reversed(LABELS) if reverse else LABELS) if claims.claim(label)))
    )


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_processes_claim_each_label_exactly_once(tmp_path: Path, kind: str) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite" else str(tmp_path / "study.log")
    if kind == "sqlite":  # Optuna's own tables first (seconds, and tested elsewhere); the study and claims race below
        store = make_storage(storage, tmp_path)[0]
        assert isinstance(store, optuna.storages.RDBStorage)
        store.engine.dispose()
    context = multiprocessing.get_context("fork")  # no re-import of the test module; each child opens its own storage
    barrier, won = context.Barrier(2), context.Queue()
    procs = [context.Process(target=claim_all, args=(storage, tmp_path, i == 1, barrier, won)) for i in range(2)]
    for proc in procs:
        proc.start()
    shares = dict(won.get(timeout=180) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    first, second = (set(share) for share in shares.values())
    assert not first & second, sorted(first & second)  # no label won twice
    assert first | second == set(LABELS)  # and none lost
    # (How the labels split depends on the scheduler: SQLite's busy wait can let one process win them all.)
    # A third opener (the study exists now) reads the same token and finds every label taken.
    _store, created, late = open_study(storage, tmp_path)
    assert not created and not any(late.claim(label) for label in LABELS)
    if kind == "journal":  # one claim file per label, naming the worker that won it
        files = [p for p in (tmp_path / "study.log.claims").rglob("*") if p.is_file()]
        assert len(files) == len(LABELS)
        for worker, labels in shares.items():
            assert sum(p.read_text() == f"{worker}\n" for p in files) == len(labels)
    else:
        import sqlalchemy

        engine = sqlalchemy.create_engine(storage)
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(f"SELECT label, worker FROM {CLAIMS_TABLE}")).all()
        engine.dispose()
        stored: dict[str, list[str]] = {}
        for label, worker in rows:
            stored.setdefault(worker, []).append(label)
        assert {w: sorted(labels) for w, labels in stored.items()} == {w: v for w, v in shares.items() if v}


def test_a_claim_lost_to_another_worker_is_a_repeat_replaced_by_a_fresh_config() -> None:
    """Two workers' guards sharing one study's claims; the second has not synced the first one's trial."""
    space = SearchSpace(alpha=(0.0, 0.02), beta=(0.5, 0.5), warmup=(3, 3))  # 3 configs
    shared = MemoryClaims()
    first, second = space.fresh_proposals(seed=0, claims=shared), space.fresh_proposals(seed=1, claims=shared)
    label = rule_label(AnGesConfig(alpha=0.01, beta=0.5, warmup=3))
    queued: list[tuple[dict[str, Any], dict[str, Any]]] = []
    first.check(label, lambda params, attrs: queued.append((params, attrs)))
    with pytest.raises(RepeatedProposal):
        second.check(label, lambda params, attrs: queued.append((params, attrs)))
    assert (second.repeats_rejected, second.claimed_elsewhere, first.repeats_rejected) == (1, 1, 0)
    assert len(queued) == 1 and queued[0][1] == {REPLACES_REPEAT: label}
    assert rule_label(AnGesConfig(**queued[0][0])) != label  # the fresh config is another one


def test_stale_claims_do_not_block_a_study_created_again(tmp_path: Path) -> None:
    """A journal removed while its claims folder stays: the new study (same name, same id 0) gets a new token."""
    journal = tmp_path / "study.log"
    store, created, claims = open_study(str(journal), tmp_path)
    assert created and isinstance(claims, JournalClaims) and claims.claim(LABELS[0])
    old_token = store.get_study_system_attrs(0)[TOKEN_ATTR]
    journal.unlink()
    store, created, claims = open_study(str(journal), tmp_path)
    assert created and store.get_study_id_from_name(STUDY) == 0
    assert store.get_study_system_attrs(0)[TOKEN_ATTR] != old_token
    assert claims.claim(LABELS[0]) and not claims.claim(LABELS[0])


def test_a_study_without_token_and_with_trials_shares_the_legacy_token(tmp_path: Path) -> None:
    """A study created by plain Optuna (or an older greenft) that already holds trials: no creator will store a
    token, so every worker uses the same fallback at once instead of waiting; an RDB study gets the table."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    optuna.create_study(study_name=STUDY, storage=url, directions=["minimize", "maximize"]).enqueue_trial({})
    store, created, claims = open_study(url, tmp_path)
    assert not created and isinstance(claims, RdbClaims) and claims.token == LEGACY_TOKEN
    assert claims_token(store, store.get_study_id_from_name(STUDY), created=False, wait_s=0.0) == LEGACY_TOKEN
    assert claims.claim(LABELS[0]) and not claims.claim(LABELS[0])


def test_claim_keys_fit_a_table_key_and_a_file_name() -> None:
    assert claim_key(LABELS[0]) == LABELS[0]
    long = "x" * 300
    assert len(claim_key(long)) < 100 and claim_key(long) == claim_key(long) != claim_key(long + "y")
