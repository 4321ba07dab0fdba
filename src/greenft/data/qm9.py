"""QM9 with its 3D coordinates, offline: the CSV files of the PyPI package ``qm9pack``, parsed once into the cache.

What: 130,831 molecules (of QM9's 133,885: the 3,054 whose geometry did not converge are absent from the
package), their B3LYP/6-31G(2df,p) coordinates in Angstrom and the 12 standard targets under the names
SchNetPack uses (:data:`QM9_TARGETS`). Energies (homo, lumo, gap, zpve, U0, U, H, G) are converted from Hartree
to eV (CODATA 2018, :data:`HARTREE_EV`), the unit SchNet's papers report MAEs in; the others keep the file's
unit (Debye, Bohr^3, Bohr^2, cal/mol K).

Why a cache: the three CSV files hold 225 MB of text (coordinates as strings); parsing them takes seconds to
tens of seconds, so they are parsed once into one ``.npz`` (atomic numbers, positions and per-molecule offsets,
the targets in greenft's units, the SMILES) with a provenance JSON beside it (package version, each file's
SHA-256 and size), and read back in well under a second.

Rows that cannot be used are reported by their QM9 index, never a crash: missing or unparsable coordinates, a
coordinate count that disagrees with the element list or ``N_atoms``, an unknown element (found while parsing,
for every row); unparsable SMILES, or a SMILES whose atoms with hydrogens (element by element) differ from the
coordinates' (found with RDKit when the molecule is read: all of them without ``limit``, else the sampled ones).
Connectivity is not compared (QM9's SMILES and relaxed geometries disagree on bonds for some molecules; finding
those needs a bond perception from coordinates that RDKit does not do cheaply).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from rdkit import Chem

from greenft.data.quality import check_labels_usable
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.data.registry import DatasetSpec
from greenft.data.sources import package_data_dir
from greenft.data.structures import ELEMENT_NUMBERS, Structure
from greenft.data.tables import DatasetFileError
from greenft.io import atomic_save, atomic_write_json, cache_root, write_cache_entry

HARTREE_EV = 27.211386245988
"""eV per Hartree (CODATA 2018, as ``scipy.constants`` and ASE give it)."""


@dataclass(frozen=True)
class Qm9Target:
    column: str  # qm9pack's column
    unit: str  # greenft's unit, after ``factor``
    factor: float  # file value x factor = greenft's value
    description: str


_HA = HARTREE_EV
QM9_TARGETS: dict[str, Qm9Target] = {
    "mu": Qm9Target("Dipole_debye", "Debye", 1.0, "dipole moment"),
    "alpha": Qm9Target("Polarizability_bohr3", "Bohr^3", 1.0, "isotropic polarizability"),
    "homo": Qm9Target("HOMO_au", "eV", _HA, "HOMO energy"),
    "lumo": Qm9Target("LUMO_au", "eV", _HA, "LUMO energy"),
    "gap": Qm9Target("HOMO_LUMO_gap_au", "eV", _HA, "HOMO-LUMO gap"),
    "r2": Qm9Target("R2_bohr2", "Bohr^2", 1.0, "electronic spatial extent"),
    "zpve": Qm9Target("ZPVE_au", "eV", _HA, "zero-point vibrational energy"),
    "U0": Qm9Target("InternalEnergy_0K_au", "eV", _HA, "internal energy at 0 K"),
    "U": Qm9Target("InternalEnergy_298K_au", "eV", _HA, "internal energy at 298.15 K"),
    "H": Qm9Target("Enthalphy_298K_au", "eV", _HA, "enthalpy at 298.15 K"),  # the package's spelling
    "G": Qm9Target("GibbsFreeEnergy_298K_au", "eV", _HA, "free energy at 298.15 K"),
    "Cv": Qm9Target("Heatcapacity_Cv_cal_mol_K", "cal/mol K", 1.0, "heat capacity at 298.15 K"),
}
"""The 12 standard QM9 targets by SchNetPack's names, in SchNetPack's order."""

QM9_PACKAGE = "qm9pack"
QM9_FILES = ("data/qm9_part1.csv", "data/qm9_part2.csv", "data/qm9_part3.csv")
QM9_PARSE_VERSION = 1  # bump when the parsing changes: a new cache file, never a stale one
_TEXT_COLUMNS = ("SMILES", "Elements", "XYZ_Ang")
_COLUMNS = ("Index", "N_atoms", *_TEXT_COLUMNS, *(t.column for t in QM9_TARGETS.values()))
_NUMBER_OF = {number: symbol for symbol, number in ELEMENT_NUMBERS.items()}


@dataclass(frozen=True)
class Qm9Arrays:
    """The parsed table: per molecule its QM9 index, SMILES (as in the file), targets (greenft's units, molecules x
    12 in :data:`QM9_TARGETS` order) and parse problem ("" when none); atoms concatenated with ``offsets``."""

    index: np.ndarray
    smiles: np.ndarray
    targets: np.ndarray
    problems: np.ndarray
    z: np.ndarray
    pos: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def structure(self, row: int) -> Structure:
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        return Structure(self.z[start:end].astype(np.int64), self.pos[start:end].astype(np.float64))


def _read_part(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, usecols=list(_COLUMNS), dtype={c: str for c in _TEXT_COLUMNS})
    except ValueError as err:  # a missing column: pandas names it
        raise DatasetFileError(f"{path}: not a qm9pack table ({err})") from None
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str)
    for target in QM9_TARGETS.values():
        frame[target.column] = pd.to_numeric(frame[target.column], errors="coerce")
    frame["N_atoms"] = pd.to_numeric(frame["N_atoms"], errors="coerce").fillna(-1).astype(np.int64)
    frame["Index"] = pd.to_numeric(frame["Index"], errors="coerce").fillna(-1).astype(np.int64)
    return frame


def _numbers(texts: pd.Series, strip: str) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Per row the comma-separated values of ``texts`` (brackets and ``strip`` removed): their counts, and the
    values per row (None for a row that does not parse). One vectorised parse; row by row only on failure."""
    cleaned = texts.str.replace(strip, "", regex=True)
    counts = np.where(cleaned == "", 0, cleaned.str.count(",") + 1)
    filled = [t for t in cleaned.tolist() if t]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns, and stops early, at a token it cannot read
        flat = np.fromstring(",".join(filled), sep=",") if filled else np.zeros(0)
    if len(flat) == int(counts.sum()):
        starts = np.concatenate([[0], np.cumsum(counts)])
        return counts, [flat[starts[i] : starts[i + 1]] for i in range(len(counts))]
    rows: list[np.ndarray | None] = []
    for text in cleaned.tolist():
        try:
            rows.append(np.array([float(v) for v in text.split(",")]) if text else np.zeros(0))
        except ValueError:
            rows.append(None)
    return counts, rows


def parse_tables(paths: Sequence[Path]) -> Qm9Arrays:
    """Parse qm9pack CSV files (appended in order) into :class:`Qm9Arrays`; bad rows get a problem, not an error."""
    frame = pd.concat([_read_part(p) for p in paths], ignore_index=True)
    symbols = frame["Elements"].str.replace(r"[\[\]'\" ]", "", regex=True)
    _, coordinates = _numbers(frame["XYZ_Ang"], r"[\[\]\s]")
    problems: list[str] = []
    z_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    counts: list[int] = []
    for names, xyz, declared in zip(symbols.tolist(), coordinates, frame["N_atoms"], strict=True):
        elements = names.split(",") if names else []
        z = np.array([ELEMENT_NUMBERS.get(e, 0) for e in elements], dtype=np.uint8)
        problem = ""
        if xyz is None:
            problem = "unparsable coordinates"
        elif len(xyz) == 0:
            problem = "missing coordinates"
        elif len(xyz) != 3 * len(elements):
            problem = f"{len(xyz)} coordinate values for {len(elements)} elements"
        elif len(elements) != declared:
            problem = f"{len(elements)} elements but N_atoms = {declared}"
        elif (z == 0).any():
            problem = f"unknown element {elements[int(np.argmax(z == 0))]!r}"
        elif not np.isfinite(xyz).all():
            problem = "non-finite coordinates"
        if problem or xyz is None:
            z, xyz = np.zeros(0, dtype=np.uint8), np.zeros(0)
        problems.append(problem)
        z_parts.append(z)
        pos_parts.append(xyz.reshape(-1, 3))
        counts.append(len(z))
    targets = np.stack([frame[t.column].to_numpy(dtype=np.float64) * t.factor for t in QM9_TARGETS.values()], axis=1)
    return Qm9Arrays(
        index=frame["Index"].to_numpy(dtype=np.int64),
        smiles=np.array(frame["SMILES"].tolist(), dtype=str),
        targets=targets,
        problems=np.array(problems, dtype=str),
        z=np.concatenate(z_parts) if z_parts else np.zeros(0, dtype=np.uint8),
        pos=(np.concatenate(pos_parts) if pos_parts else np.zeros((0, 3))).astype(np.float32),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
    )


def qm9_paths(spec: DatasetSpec) -> list[Path]:
    """The package's CSV files, found by path (qm9pack is never imported: it imports setuptools' pkg_resources), or
    ``spec.file``: a table in qm9pack's columns (the tests' fixture, a user's subset)."""
    if spec.file is not None:
        if not spec.file.is_file():
            raise DatasetFileError(f"dataset {spec.name!r}: file not found: {spec.file}")
        return [spec.file]
    assert spec.package is not None and spec.relative_path is not None
    root = package_data_dir(spec.package, spec.install_hint)
    paths = [root / spec.relative_path, *(root / extra for extra in spec.extra_relative_paths)]
    for path in paths:
        if not path.is_file():
            raise DatasetFileError(f"dataset {spec.name!r}: file not found: {path} (reinstall: {spec.install_hint})")
    return paths


def count_table_rows(spec: DatasetSpec) -> int:
    """Data rows of the tables without parsing them (``datasets list``): their line breaks, a header each; qm9pack's
    quoted fields hold none (130,831 rows either way, checked against the parse)."""
    total = 0
    for path in qm9_paths(spec):
        with path.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 22), b""))
        total += max(lines - 1, 0)
    return total


def _package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path(spec: DatasetSpec, paths: Sequence[Path]) -> Path:
    """Where the parsed table lives: the name holds the parse version, the package version and the files' sizes,
    so another package release or edited file makes a new table (the SHA-256s are in the provenance JSON)."""
    version = _package_version(spec.package or QM9_PACKAGE)
    sizes = hashlib.sha256(json.dumps([p.stat().st_size for p in paths]).encode()).hexdigest()[:12]
    return cache_root() / "datasets" / f"{spec.name}-v{QM9_PARSE_VERSION}-{version}-{sizes}.npz"


def _write_npz(path: Path, arrays: Qm9Arrays) -> None:
    def save(handle: IO[bytes]) -> None:
        np.savez(handle, **{name: getattr(arrays, name) for name in Qm9Arrays.__dataclass_fields__})

    atomic_save(path, save)


def provenance(spec: DatasetSpec, paths: Sequence[Path], arrays: Qm9Arrays) -> dict[str, Any]:
    return {
        "dataset": spec.name,
        "package": spec.package,
        "package_version": _package_version(spec.package or QM9_PACKAGE),
        "files": [{"path": str(p), "bytes": p.stat().st_size, "sha256": _sha256(p)} for p in paths],
        "parse_version": QM9_PARSE_VERSION,
        "molecules": len(arrays),
        "rows_with_problems": int((arrays.problems != "").sum()),
        "targets": {name: {"column": t.column, "unit": t.unit, "factor": t.factor} for name, t in QM9_TARGETS.items()},
    }


def qm9_arrays(spec: DatasetSpec) -> tuple[Qm9Arrays, Path]:
    """The parsed table (from the cache, parsed and cached on first use) and its first source file."""
    paths = qm9_paths(spec)
    cached = cache_path(spec, paths)
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as stored:
            return Qm9Arrays(**{name: stored[name] for name in Qm9Arrays.__dataclass_fields__}), paths[0]
    arrays = parse_tables(paths)
    if write_cache_entry(cached, lambda p: _write_npz(p, arrays)):
        write_cache_entry(cached.with_suffix(".json"), lambda p: atomic_write_json(p, provenance(spec, paths, arrays)))
    return arrays, paths[0]


def formula(counts: Counter[int]) -> str:
    """Hill order (C, H, then alphabetical) of atomic-number counts, e.g. ``C2H6O``."""
    symbols = {_NUMBER_OF.get(n, f"Z{n}"): c for n, c in counts.items()}
    order = [s for s in ("C", "H") if s in symbols] + sorted(s for s in symbols if s not in ("C", "H"))
    return "".join(f"{s}{symbols[s] if symbols[s] > 1 else ''}" for s in order)


def check_smiles(smiles: str, z: np.ndarray) -> tuple[str | None, str]:
    """The canonical SMILES and "" when ``smiles`` parses and its atoms with hydrogens are ``z``'s; else None and
    why (the two formulas, so a reader sees which atoms differ)."""
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        if mol is None:
            return None, "invalid SMILES" if smiles else "empty SMILES"
        with_h = Chem.AddHs(mol)
        from_smiles = Counter(atom.GetAtomicNum() for atom in with_h.GetAtoms())
        from_coordinates = Counter(int(n) for n in z)
        if from_smiles != from_coordinates:
            return None, (
                f"SMILES has {formula(from_smiles)} ({with_h.GetNumAtoms()} atoms), coordinates "
                f"{formula(from_coordinates)} ({len(z)} atoms)"
            )
        return Chem.MolToSmiles(mol), ""


def target_indices(columns: Sequence[str]) -> list[int]:
    names = list(QM9_TARGETS)
    return [names.index(c) for c in columns]


def units_line(columns: Sequence[str]) -> str:
    return ", ".join(f"{c} ({QM9_TARGETS[c].unit})" for c in columns if c in QM9_TARGETS)


@dataclass(frozen=True)
class Qm9Read:
    """What :func:`read_qm9` kept (in file order) and dropped: greenft.data.loading makes its molecules of it."""

    path: Path
    smiles: list[str]
    labels: np.ndarray
    rows: list[int]  # 1-based rows of the appended tables
    structures: list[Structure]
    dropped: list[tuple[int, str, str]]  # (row, SMILES, why), why naming the QM9 index
    total_rows: int


def read_qm9(spec: DatasetSpec, limit: int | None, seed: int) -> Qm9Read:
    """QM9's molecules with their structures and the targets ``spec.target_columns``.

    ``limit``: a fixed-seed sample of N valid molecules (``seed``: loading's, as for the other sets): rows are
    visited in a seeded random order and checked until N are valid, so a small sample costs a small check; the
    rows found bad on the way are reported. Without it, every row is checked (a minute or more with RDKit).
    """
    arrays, path = qm9_arrays(spec)
    columns = target_indices(spec.target_columns)
    n = len(arrays)
    order = np.arange(n) if limit is None else np.random.default_rng(seed).permutation(n)
    kept: list[tuple[int, str]] = []
    dropped: list[tuple[int, str, str]] = []
    for row in order.tolist():
        smiles = str(arrays.smiles[row])
        where = f"QM9 index {int(arrays.index[row])}"
        if arrays.problems[row]:
            dropped.append((row + 1, smiles, f"{where}: {arrays.problems[row]}"))
            continue
        canonical, why = check_smiles(smiles, arrays.z[arrays.offsets[row] : arrays.offsets[row + 1]])
        if canonical is None:
            dropped.append((row + 1, smiles, f"{where}: {why}"))
            continue
        if np.isnan(arrays.targets[row, columns]).all():
            dropped.append((row + 1, smiles, f"{where}: no label"))
            continue
        kept.append((row, canonical))
        if limit is not None and len(kept) == limit:
            break
    if not kept:
        raise DatasetFileError(f"{path}: no valid molecule ({len(dropped)} rows dropped)")
    kept.sort()
    rows = [row for row, _ in kept]
    labels = arrays.targets[np.asarray(rows)][:, columns]
    check_labels_usable(path, labels, spec.target_columns, spec.task_type)
    return Qm9Read(
        path,
        [smiles for _, smiles in kept],
        labels,
        [row + 1 for row in rows],
        [arrays.structure(row) for row in rows],
        sorted(dropped),
        n,
    )
