"""Train/validation/test splits: deterministic scaffold (MoleculeNet, Hu et al.), random scaffold, random.

Scaffold splits put whole Bemis-Murcko scaffold sets in one part, so the test set holds chemotypes the model
never saw; this is what the published pretraining papers report and what makes pretraining matter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.registry import SplitKind as SplitKind  # defined beside TaskType; re-exported where it was


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.val), len(self.test)

    def as_lists(self) -> dict[str, list[int]]:
        return {"train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist()}


def scaffold_of(smiles: str) -> str:
    """Bemis-Murcko scaffold SMILES without chirality; acyclic molecules share the empty scaffold.

    Without chirality as in MoleculeNet (DeepChem) and MolCLR; Hu et al.'s splitter includes it, which can
    split stereoisomeric scaffolds apart (a handful of molecules per dataset; see docs/datasets.md).
    """
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    return str(MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False))  # type: ignore[no-untyped-call]


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")


def _fill(groups: list[list[int]], n: int, fractions: tuple[float, float, float]) -> Split:
    """Hu et al.'s filling: a group goes to train unless it overflows, then to val, then to test."""
    train_cut, val_cut = fractions[0] * n, (fractions[0] + fractions[1]) * n
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for group in groups:
        if len(train) + len(group) > train_cut:
            if len(train) + len(val) + len(group) > val_cut:
                test.extend(group)
            else:
                val.extend(group)
        else:
            train.extend(group)
    return Split(
        np.array(sorted(train), dtype=int), np.array(sorted(val), dtype=int), np.array(sorted(test), dtype=int)
    )


def _scaffold_groups(scaffolds: list[str]) -> list[list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, scaffold in enumerate(scaffolds):
        groups[scaffold].append(index)
    return list(groups.values())


def make_split(
    smiles: list[str],
    kind: SplitKind,
    seed: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    scaffolds: list[str] | None = None,
) -> Split:
    """Split ``smiles`` into train/val/test index arrays; the same inputs always give the same split.

    ``scaffolds`` (``scaffold_of`` of each molecule) saves recomputing them when several splits are made.
    """
    _check_fractions(fractions)
    n = len(smiles)
    if kind is SplitKind.RANDOM:
        order = np.random.default_rng(seed).permutation(n)
        return _fill([[int(i)] for i in order], n, fractions)
    if scaffolds is not None and len(scaffolds) != n:
        raise ValueError(f"{len(scaffolds)} scaffolds given for {n} molecules")
    groups = _scaffold_groups(scaffolds if scaffolds is not None else [scaffold_of(text) for text in smiles])
    if kind is SplitKind.SCAFFOLD:
        # (size, first index) descending, exactly as pretrain-gnns, MolCLR and DeepChem sort: among equal sizes
        # the set whose first molecule comes *later* in the file goes first. The tie-break decides most of
        # val/test (singleton scaffolds), so an ascending one gives different, even single-class, test sets.
        groups.sort(key=lambda g: (len(g), g[0]), reverse=True)
    else:
        rng = np.random.default_rng(seed)
        groups = [groups[int(i)] for i in rng.permutation(len(groups))]
    return _fill(groups, n, fractions)
