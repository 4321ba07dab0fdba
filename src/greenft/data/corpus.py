"""The unlabeled pretraining corpus: MOSES molecules shipped inside the PyPI package ``molsets``, offline.

Why MOSES: it is the largest SMILES set found on PyPI (1,584,663 drug-like ZINC molecules in its training
split, ``moses/dataset/data/train.csv.gz``), it installs with ``pip install --no-deps molsets`` and needs no
download at run time. ``molsets`` itself cannot be imported here (its dependencies are old), so, like the
labelled datasets, we only ask importlib where the package is and read the file by path.

Leakage control. A pretrained model must never have seen the molecules it is later evaluated on, or
"pretrained vs random" comparisons flatter pretraining. We therefore exclude from the corpus **every molecule
of every registered labelled dataset** whose package is installed (all splits, not only test splits: stricter,
and independent of the split kind or seed a later fine-tune picks). Molecules are compared by a key that
ignores stereochemistry and, for salts and mixtures, also by their largest fragment: a corpus molecule is
dropped when its non-isomeric canonical SMILES equals that of a dataset molecule or of a dataset molecule's
largest fragment. The corpus records which datasets were excluded and how many candidates that removed.

Determinism. The sample is a fixed-seed permutation of the source file, filtered (invalid SMILES and excluded
molecules skipped) until ``size`` molecules are collected; the same (size, seed, exclusion set) always gives
the same corpus, and its SHA-256 is stored in every checkpoint's provenance. Built corpora and exclusion key
sets are cached under ``<cache>/corpus`` (``GREENFT_CACHE_DIR``, default ``~/.cache/greenft``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem

from greenft.data.graph_cache import default_cache_dir
from greenft.data.loading import load_molecules, resolve_path
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.registry import BUILTIN_DATASETS, DatasetSpec
from greenft.data.sources import MOSES_INSTALL_HINT, MOSES_PACKAGE, MissingDataPackageError, package_data_dir
from greenft.errors import UserError
from greenft.io import atomic_write_text, write_cache_entry

MOSES_RELATIVE_PATH = "dataset/data/train.csv.gz"
MOSES_SOURCE = "MOSES training split (Polykovskiy et al. 2020) via PyPI molsets, MIT licence"
EXCLUSION_VERSION = 1  # bump when the exclusion key changes: cached key sets are then rebuilt
DEFAULT_CORPUS_SIZE = 50_000


class CorpusError(UserError, ValueError):
    """The corpus cannot be built as asked; the message names the file or setting."""


@dataclass(frozen=True)
class Corpus:
    """Unlabeled canonical SMILES for pretraining, with where they came from and what was excluded."""

    smiles: tuple[str, ...]
    source: str
    seed: int
    requested_size: int
    excluded_datasets: tuple[str, ...] = ()
    excluded_candidates: int = 0  # source molecules skipped because a labelled dataset holds them
    invalid_candidates: int = 0  # source rows RDKit could not parse
    digest: str = field(default="")

    def __len__(self) -> int:
        return len(self.smiles)

    def provenance(self) -> dict[str, Any]:
        """What a checkpoint records about its corpus (small: no SMILES)."""
        return {
            "source": self.source,
            "size": len(self.smiles),
            "requested_size": self.requested_size,
            "seed": self.seed,
            "sha256": self.digest or corpus_digest(self.smiles),
            "excluded_datasets": list(self.excluded_datasets),
            "excluded_candidates": self.excluded_candidates,
            "invalid_candidates": self.invalid_candidates,
            "exclusion_rule": f"v{EXCLUSION_VERSION}: every molecule of the listed labelled datasets (all splits), "
            "compared by non-isomeric canonical SMILES of the molecule and of its largest fragment",
        }


def corpus_digest(smiles: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for text in smiles:
        digest.update(text.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def moses_path() -> Path:
    """The MOSES training file inside the installed ``molsets`` package (never imported)."""
    path = package_data_dir(MOSES_PACKAGE, MOSES_INSTALL_HINT) / MOSES_RELATIVE_PATH
    if not path.is_file():
        raise CorpusError(f"the MOSES corpus file is missing: {path} (reinstall with: {MOSES_INSTALL_HINT})")
    return path


def read_smiles_file(path: Path) -> list[str]:
    """SMILES from a text file (``.gz`` allowed): the first comma/whitespace-separated field of each line.

    A first line reading ``SMILES`` or ``smiles`` (a header) is skipped; blank lines are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"corpus file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        lines = handle.read().splitlines()
    out = []
    for index, line in enumerate(lines):
        fields = line.replace(",", " ").split()
        text = fields[0] if fields else ""
        if not text or (index == 0 and text.lower() == "smiles"):
            continue
        out.append(text)
    if not out:
        raise CorpusError(f"{path}: no SMILES found (one SMILES per line, optionally a 'SMILES' header)")
    return out


def exclusion_keys(smiles: str) -> set[str]:
    """Keys a molecule is matched by: non-isomeric canonical SMILES of it and of its largest fragment."""
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return set()
    keys = {Chem.MolToSmiles(mol, isomericSmiles=False)}
    fragments = Chem.GetMolFrags(mol, asMols=True)
    if len(fragments) > 1:
        largest = max(fragments, key=lambda frag: frag.GetNumHeavyAtoms())
        keys.add(Chem.MolToSmiles(largest, isomericSmiles=False))
    return keys


def installed_labelled_datasets() -> list[DatasetSpec]:
    """Every registered built-in dataset whose source package is installed (the ones a fine-tune can use).

    Generated sets are left out: the descriptor sets (greenft.data.descriptors) are MOSES test-split molecules,
    which the corpus, drawn from the training split, cannot hold, and generating them here would cost every
    corpus build their RDKit pass.
    """
    specs = []
    for spec in BUILTIN_DATASETS.values():
        if spec.generator is not None:
            continue
        try:
            resolve_path(spec)
        except (MissingDataPackageError, ValueError):
            continue
        specs.append(spec)
    return specs


def _dataset_fingerprint(specs: Sequence[DatasetSpec]) -> str:
    parts = []
    for spec in sorted(specs, key=lambda s: s.name):
        path = resolve_path(spec)
        stat = path.stat()
        parts.append([spec.name, str(path), stat.st_size, int(stat.st_mtime)])
    return hashlib.sha256(json.dumps([EXCLUSION_VERSION, parts]).encode()).hexdigest()[:16]


def dataset_exclusion_set(specs: Sequence[DatasetSpec], cache_dir: Path | None = None) -> set[str]:
    """The exclusion keys of every molecule of ``specs`` (cached on disk by dataset files and rule version)."""
    if not specs:
        return set()
    directory = (cache_dir if cache_dir is not None else default_cache_dir()) / "corpus"
    path = directory / f"exclusion-{_dataset_fingerprint(specs)}.json"
    if path.is_file():
        try:
            return set(json.loads(path.read_text()))
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a corrupt cache entry is rebuilt, never trusted
    keys: set[str] = set()
    for spec in specs:
        for text in load_molecules(spec).smiles:
            keys |= exclusion_keys(text)
    write_cache_entry(path, lambda target: atomic_write_text(target, json.dumps(sorted(keys))))
    return keys


def sample_corpus(
    candidates: Sequence[str],
    size: int,
    seed: int,
    excluded: set[str],
    source: str,
    excluded_datasets: Sequence[str] = (),
) -> Corpus:
    """A deterministic sample of ``size`` valid, non-excluded molecules (canonical SMILES) from ``candidates``."""
    if size < 1:
        raise CorpusError(f"corpus size must be >= 1, got {size}")
    order = np.random.default_rng(seed).permutation(len(candidates))
    chosen: list[str] = []
    seen: set[str] = set()
    rejected = invalid = 0
    with rdkit_quiet():
        for index in order:
            mol = Chem.MolFromSmiles(candidates[int(index)])
            if mol is None or mol.GetNumAtoms() == 0:
                invalid += 1
                continue
            canonical = Chem.MolToSmiles(mol)
            if canonical in seen:
                continue
            if excluded and exclusion_keys(canonical) & excluded:
                rejected += 1
                continue
            seen.add(canonical)
            chosen.append(canonical)
            if len(chosen) == size:
                break
    if not chosen:
        raise CorpusError(f"{source}: no usable molecule ({invalid} invalid, {rejected} excluded)")
    return Corpus(
        tuple(chosen),
        source,
        seed,
        size,
        tuple(excluded_datasets),
        rejected,
        invalid,
        corpus_digest(chosen),
    )


def load_corpus(
    size: int = DEFAULT_CORPUS_SIZE,
    seed: int = 0,
    source_file: Path | None = None,
    exclude: Sequence[DatasetSpec] | None = None,
    cache_dir: Path | None = None,
) -> Corpus:
    """The pretraining corpus: ``size`` molecules from MOSES (or ``source_file``), labelled datasets excluded.

    ``exclude`` defaults to every installed built-in labelled dataset; pass ``[]`` to exclude nothing (tests).
    """
    specs = installed_labelled_datasets() if exclude is None else list(exclude)
    path = Path(source_file) if source_file is not None else moses_path()
    source = MOSES_SOURCE if source_file is None else f"user file {path}"
    stat = path.stat() if path.is_file() else None
    if stat is None:
        raise CorpusError(f"corpus file not found: {path}")
    exclusion_id = _dataset_fingerprint(specs) if specs else "none"
    source_id = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    directory = (cache_dir if cache_dir is not None else default_cache_dir()) / "corpus"
    cached = directory / f"corpus-{source_id}-n{size}-s{seed}-x{exclusion_id}.json"
    if cached.is_file():
        try:
            raw = json.loads(cached.read_text())
            return Corpus(
                tuple(raw["smiles"]),
                raw["source"],
                int(raw["seed"]),
                int(raw["requested_size"]),
                tuple(raw["excluded_datasets"]),
                int(raw["excluded_candidates"]),
                int(raw["invalid_candidates"]),
                raw["digest"],
            )
        except (OSError, ValueError, KeyError):
            cached.unlink(missing_ok=True)
    excluded = dataset_exclusion_set(specs, cache_dir)
    corpus = sample_corpus(read_smiles_file(path), size, seed, excluded, source, [s.name for s in specs])
    payload = {
        "smiles": list(corpus.smiles),
        "source": corpus.source,
        "seed": corpus.seed,
        "requested_size": corpus.requested_size,
        "excluded_datasets": list(corpus.excluded_datasets),
        "excluded_candidates": corpus.excluded_candidates,
        "invalid_candidates": corpus.invalid_candidates,
        "digest": corpus.digest,
    }
    write_cache_entry(cached, lambda target: atomic_write_text(target, json.dumps(payload)))
    return corpus
