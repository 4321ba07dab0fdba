"""Descriptor targets: RDKit's molecular weight, TPSA and Crippen logP of a fixed sample of MOSES molecules.

Why: the thesis in seeds/ (roberta-molclr-dual-view, section 5.3) fine-tunes on MW, PSA and AlogP from ChEMBL,
with an L1 loss, as a check that an encoder has learnt something about molecules. ChEMBL is not on PyPI; the
same three properties computed by RDKit on molecules greenft already has offline give the same kind of task
(exactly defined, noise-free labels of very different scales) without a download.

Which molecules: a fixed-seed sample of the **MOSES test split** (``moses/dataset/data/test.csv.gz`` in the
PyPI package ``molsets``), not of its training split. The pretraining corpus (greenft.data.corpus) samples the
training split, and MOSES's two splits share no molecule (checked: none of the 176,074 test SMILES is among the
1,584,663 training ones), so a model pretrained on greenft's corpus never saw a descriptor set's molecules and
the corpus needs no exclusion for them.

The table is generated once into greenft's cache (``<cache>/datasets``, ``GREENFT_CACHE_DIR``) as a CSV with
``smiles`` and one column per descriptor, beside a JSON file with its provenance (source file and its SHA-256,
sample size and seed, RDKit version, the descriptor functions). The file name holds all of these, so another
RDKit version or source file makes a new table rather than reusing values it did not compute.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rdkit
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.registry import DESCRIPTOR_SAMPLE_SIZE, DESCRIPTOR_SOURCE
from greenft.data.sources import MOSES_INSTALL_HINT, MOSES_PACKAGE, package_data_dir
from greenft.data.tables import DatasetFileError
from greenft.io import atomic_write_text, cache_root, ensure_writable_directory

DESCRIPTORS_VERSION = 1  # bump when the sampling or the table changes: a new file name, never a stale table
DESCRIPTOR_SAMPLE_SEED = 0
MOSES_TEST_RELATIVE_PATH = "dataset/data/test.csv.gz"

DescriptorFunction = Callable[[Chem.Mol], float]
# Descriptors.MolWt and Crippen.MolLogP are made at import time (RDKit's stubs do not list them): the names the
# thesis and RDKit's docs use, read here once.
_MOL_WT: DescriptorFunction = Descriptors.MolWt  # type: ignore[attr-defined]
_MOL_LOGP: DescriptorFunction = Crippen.MolLogP  # type: ignore[attr-defined]
DESCRIPTORS: dict[str, tuple[DescriptorFunction, str]] = {
    "MolWt": (_MOL_WT, "rdkit.Chem.Descriptors.MolWt: average molecular weight, implicit H included"),
    "TPSA": (rdMolDescriptors.CalcTPSA, "rdkit.Chem.rdMolDescriptors.CalcTPSA: Ertl's TPSA, N and O only"),
    "MolLogP": (_MOL_LOGP, "rdkit.Chem.Crippen.MolLogP: Wildman-Crippen logP"),
}
"""Column name -> (RDKit function, what it computes). The column names are RDKit's own function names."""


class DescriptorTableError(DatasetFileError):
    """The descriptor table cannot be built; the message names the source file."""


def moses_test_path() -> Path:
    """The MOSES test split inside the installed ``molsets`` package (found by path, never imported)."""
    path = package_data_dir(MOSES_PACKAGE, MOSES_INSTALL_HINT) / MOSES_TEST_RELATIVE_PATH
    if not path.is_file():
        raise DescriptorTableError(f"the MOSES test split is missing: {path} (reinstall with: {MOSES_INSTALL_HINT})")
    return path


def descriptor_values(mol: Chem.Mol) -> dict[str, float]:
    """Every descriptor of one molecule, by column name."""
    return {name: float(function(mol)) for name, (function, _) in DESCRIPTORS.items()}


def read_source_smiles(path: Path) -> list[str]:
    """The SMILES of a MOSES split file: one per line after a ``SMILES`` header (gzip allowed)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        lines = [line.strip() for line in handle.read().splitlines()]
    return [line.split(",")[0] for line in lines[1:] if line]


def sample_rows(candidates: Sequence[str], size: int, seed: int) -> list[tuple[str, dict[str, float]]]:
    """``size`` distinct valid molecules (canonical SMILES) in a fixed-seed random order, with their descriptors.

    Invalid SMILES and repeats are skipped, so the sample has ``size`` rows whenever the source has that many
    distinct valid molecules.
    """
    order = np.random.default_rng(seed).permutation(len(candidates))
    rows: list[tuple[str, dict[str, float]]] = []
    seen: set[str] = set()
    with rdkit_quiet():
        for index in order:
            mol = Chem.MolFromSmiles(candidates[int(index)])
            if mol is None or mol.GetNumAtoms() == 0:
                continue
            canonical = Chem.MolToSmiles(mol)
            if canonical in seen:
                continue
            seen.add(canonical)
            rows.append((canonical, descriptor_values(mol)))
            if len(rows) == size:
                break
    return rows


def table_text(rows: Sequence[tuple[str, dict[str, float]]]) -> str:
    """The CSV: ``smiles`` and one column per descriptor; ``repr`` keeps every float exactly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["smiles", *DESCRIPTORS])
    for smiles, values in rows:
        writer.writerow([smiles, *(repr(values[name]) for name in DESCRIPTORS)])
    return buffer.getvalue()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def descriptor_table(
    cache_dir: Path | None = None,
    size: int = DESCRIPTOR_SAMPLE_SIZE,
    seed: int = DESCRIPTOR_SAMPLE_SEED,
    source: Path | None = None,
) -> Path:
    """The descriptor CSV in the cache, generated (with its provenance JSON beside it) when absent.

    Both files are written atomically (greenft.io), the CSV last, so a table that exists always has its
    provenance; a cache that cannot be written is an error naming the folder (the table *is* the dataset).
    """
    path = Path(source) if source is not None else moses_test_path()
    digest = _file_digest(path)
    directory = (cache_dir if cache_dir is not None else cache_root()) / "datasets"
    stem = f"descriptors-v{DESCRIPTORS_VERSION}-n{size}-s{seed}-rdkit{rdkit.__version__}-{digest[:12]}"
    table = directory / f"{stem}.csv"
    if table.is_file():
        return table
    ensure_writable_directory(directory, "greenft's cache (GREENFT_CACHE_DIR)")  # before seconds of RDKit work
    rows = sample_rows(read_source_smiles(path), size, seed)
    if not rows:
        raise DescriptorTableError(f"{path}: no valid SMILES to compute descriptors of")
    provenance: dict[str, Any] = {
        "generator": "descriptors",
        "version": DESCRIPTORS_VERSION,
        "source": DESCRIPTOR_SOURCE if source is None else f"user file {path}",
        "source_file": str(path),
        "source_sha256": digest,
        "sample_size": size,
        "sample_seed": seed,
        "molecules": len(rows),
        "rdkit_version": rdkit.__version__,
        "descriptors": {name: what for name, (_, what) in DESCRIPTORS.items()},
    }
    atomic_write_text(directory / f"{stem}.json", json.dumps(provenance, indent=2))
    return atomic_write_text(table, table_text(rows))


def provenance_of(table: Path) -> dict[str, Any]:
    """The provenance JSON written beside a descriptor table."""
    data: dict[str, Any] = json.loads(table.with_suffix(".json").read_text())
    return data
