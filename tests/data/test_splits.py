from __future__ import annotations

import numpy as np
import pytest

from greenft.data import SplitKind, get_dataset_spec, load_molecules, make_split
from greenft.data.splits import scaffold_of


@pytest.fixture(scope="module")
def smiles() -> list[str]:
    return load_molecules(get_dataset_spec("bbbp"), limit=400).smiles


def _parts_are_a_partition(split: object, n: int) -> None:
    train, val, test = split.train, split.val, split.test  # type: ignore[attr-defined]
    together = np.concatenate([train, val, test])
    assert sorted(together.tolist()) == list(range(n))


def test_scaffold_split_is_deterministic_and_keeps_scaffolds_together(smiles: list[str]) -> None:
    a = make_split(smiles, SplitKind.SCAFFOLD, seed=0)
    b = make_split(smiles, SplitKind.SCAFFOLD, seed=123)  # the deterministic split ignores the seed
    assert a.as_lists() == b.as_lists()
    _parts_are_a_partition(a, len(smiles))
    scaffolds = [{scaffold_of(smiles[i]) for i in part} for part in (a.train, a.val, a.test)]
    assert not (scaffolds[0] & scaffolds[1]) and not (scaffolds[0] & scaffolds[2]) and not (scaffolds[1] & scaffolds[2])
    assert len(a.train) <= 0.8 * len(smiles) and len(a.train) + len(a.val) <= 0.9 * len(smiles)


def test_scaffold_split_puts_largest_scaffold_set_in_train(smiles: list[str]) -> None:
    split = make_split(smiles, SplitKind.SCAFFOLD, seed=0)
    counts: dict[str, int] = {}
    for s in smiles:
        counts[scaffold_of(s)] = counts.get(scaffold_of(s), 0) + 1
    largest = max(counts, key=lambda k: counts[k])
    assert all(scaffold_of(smiles[i]) != largest for i in np.concatenate([split.val, split.test]))


def test_random_scaffold_depends_on_seed_only(smiles: list[str]) -> None:
    a = make_split(smiles, SplitKind.RANDOM_SCAFFOLD, seed=1)
    assert a.as_lists() == make_split(smiles, SplitKind.RANDOM_SCAFFOLD, seed=1).as_lists()
    assert a.as_lists() != make_split(smiles, SplitKind.RANDOM_SCAFFOLD, seed=2).as_lists()
    _parts_are_a_partition(a, len(smiles))


def test_random_split_sizes(smiles: list[str]) -> None:
    split = make_split(smiles, SplitKind.RANDOM, seed=0)
    assert split.sizes() == (320, 40, 40)
    _parts_are_a_partition(split, len(smiles))


def test_bad_fractions_are_rejected(smiles: list[str]) -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        make_split(smiles, SplitKind.RANDOM, seed=0, fractions=(0.8, 0.3, 0.1))


def test_acyclic_molecules_share_the_empty_scaffold() -> None:
    assert scaffold_of("CCO") == scaffold_of("CCCCN") == ""
    assert scaffold_of("Cc1ccccc1") == "c1ccccc1"
