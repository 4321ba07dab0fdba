"""A dataset file read into a table of strings: CSV/TSV by pandas, SDF by RDKit, every failure one line.

Why a module of its own: a new user's first mistakes are about the file, not the chemistry (an empty export, a
folder, an Excel workbook saved as ``.csv``, a semicolon-separated CSV, a column called ``SMILES`` instead of
``smiles``). pandas and RDKit answer those with tracebacks or with a table of one odd column; here each becomes a
:class:`DatasetFileError` naming the file, what was found and what greenft expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rdkit import Chem

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.errors import UserError


class DatasetFileError(UserError, ValueError):
    """A dataset file cannot be used as asked; the message names the file, column and rows."""


SDF_SMILES_COLUMN = "smiles"
SDF_UNPARSABLE = "\x00unparsable"  # stands in for the SMILES of a record RDKit cannot read
EXPECTED = "a CSV/TSV table with a header line, or an SDF"
_SNIFF_BYTES = 8192
_COMPRESSED = {".gz", ".bz2", ".zip", ".xz", ".zst", ".tar"}  # pandas decompresses these by their suffix
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?); save it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office document; save it as CSV"),
    (b"\x1f\x8b", "gzip-compressed; name it .csv.gz or decompress it"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"SQLite format 3", "an SQLite database"),
)
_OTHER_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'", ",": "','"}


def is_sdf(path: Path) -> bool:
    return path.suffix.lower() in {".sdf", ".sd"}


def one_line(err: BaseException) -> str:
    """A library's message on one line (pandas ends its parser errors with a newline)."""
    return " ".join(str(err).split()) or type(err).__name__


def check_file(path: Path) -> None:
    """The path must be a regular, readable file: a folder or a missing path is named as such, not as 'not found'."""
    if path.is_dir():
        raise DatasetFileError(f"{path}: is a directory; expected {EXPECTED}")
    if not path.exists():
        raise DatasetFileError(f"dataset file not found: {path}")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as err:
        raise DatasetFileError(f"{path}: cannot be read: {err.strerror or one_line(err)}") from None


def _binary_kind(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return "binary data (it holds NUL bytes), not text"
    return None


def _sniff(path: Path) -> bytes:
    """The file's first bytes; an empty file or binary data is refused here, before pandas guesses at them."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        raise DatasetFileError(f"{path}: the file is empty (0 bytes); expected {EXPECTED}")
    kind = _binary_kind(head)
    if kind is not None:
        raise DatasetFileError(f"{path}: the file is {kind}; expected {EXPECTED}")
    return head


def _undecodable(path: Path, err: UnicodeDecodeError) -> DatasetFileError:
    """Where the first non-UTF-8 byte is (pandas reports a position inside its read buffer, not the file)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        where, byte = "", err.object[err.start : err.start + 1]
    except UnicodeDecodeError as found:
        line = data[: found.start].count(b"\n") + 1
        where = f" on line {line}"
        byte = data[found.start : found.start + 1]
    return DatasetFileError(
        f"{path}: is not UTF-8 text (byte 0x{byte.hex()}{where}); save it as UTF-8 (Excel: 'CSV UTF-8')"
    )


def read_table(path: Path, separator: str) -> pd.DataFrame:
    """Every column as strings (empty cells as missing); an SDF as a ``smiles`` column plus its properties."""
    compressed = path.suffix.lower() in _COMPRESSED
    if not compressed:
        _sniff(path)
    try:
        if is_sdf(path):
            return _read_sdf(path)
        return pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as err:
        raise (_undecodable(path, err) if not compressed else DatasetFileError(f"{path}: {one_line(err)}")) from None
    except pd.errors.EmptyDataError:
        raise DatasetFileError(f"{path}: the file holds no header line; expected {EXPECTED}") from None
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as err:
        raise DatasetFileError(f"{path}: cannot be read as a {separator!r}-separated table: {one_line(err)}") from None


def _read_sdf(path: Path) -> pd.DataFrame:
    """An SDF as a table: a ``smiles`` column from the molecule block plus every property."""
    rows: list[dict[str, str]] = []
    with rdkit_quiet():
        molecules = list(Chem.SDMolSupplier(str(path)))
    for mol in molecules:
        if mol is None:
            rows.append({SDF_SMILES_COLUMN: SDF_UNPARSABLE})
            continue
        row = {key: str(value) for key, value in mol.GetPropsAsDict().items()}
        row[SDF_SMILES_COLUMN] = Chem.MolToSmiles(mol)
        rows.append(row)
    if rows and all(row[SDF_SMILES_COLUMN] == SDF_UNPARSABLE for row in rows):
        raise DatasetFileError(
            f"{path}: RDKit reads no molecule from any of its {len(rows)} record(s); expected an SDF "
            "(molecule blocks, each ending with a '$$$$' line)"
        )
    return pd.DataFrame(rows, dtype=str)


def _close_names(wanted: str, columns: Sequence[str]) -> list[str]:
    """Columns that differ from ``wanted`` only in case or surrounding spaces (``SMILES`` for ``smiles``)."""
    key = wanted.strip().casefold()
    return [c for c in columns if c != wanted and c.strip().casefold() == key]


def _separator_hint(columns: Sequence[str], separator: str) -> str:
    """When the header came out as one column holding another separator, say which one it seems to use."""
    if len(columns) != 1:
        return ""
    for other, name in _OTHER_SEPARATORS.items():
        if other != separator and other in columns[0]:
            return (
                f" (the header looks {name}-separated; greenft reads ',' in .csv files and tabs in .tsv/.tab files: "
                "save it comma-separated, or as .tsv if it uses tabs)"
            )
    return ""


def check_columns(path: Path, frame: pd.DataFrame, smiles_column: str, targets: Sequence[str], separator: str) -> None:
    """Every wanted column must exist; the message lists the file's columns and the likely cause."""
    columns = [str(c) for c in frame.columns]
    missing = [c for c in (smiles_column, *targets) if c not in columns]
    if not missing:
        return
    hint = _separator_hint(columns, separator)
    if not hint and is_sdf(path) and smiles_column in missing:
        hint = f" (an SDF's SMILES column is {SDF_SMILES_COLUMN!r}, made from its molecule blocks)"
    close = [f"{name!r} for {wanted!r}" for wanted in missing for name in _close_names(wanted, columns)]
    if not hint and close:
        hint = f" (did you mean {', '.join(close)}?)"
    raise DatasetFileError(f"{path}: column(s) {missing} not found; the file has columns {columns}{hint}")
