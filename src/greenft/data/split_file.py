"""A split file in chemprop's ``--splits-file`` format, read and checked without the table it indexes.

The format (chemprop v2): a JSON object ``{"train": [...], "val": [...], "test": [...]}``, or a list of such
objects (one per repetition; ``data.split_index`` picks one). Each part is a list of integer indices or a string
of comma-separated indices and inclusive ranges (``"0-10,12"`` is rows 0..10 and 12). Indices are 0-based data
rows of the input table (header excluded), as chemprop counts them.

Why a module of its own, free of NumPy, pandas and RDKit: the checks that need only the JSON (a missing or broken
file, a split index past the list, a malformed part, an index in two parts) run where the config is checked,
before ``greenft train`` imports torch, so such a mistake is one line in a second, not after loading the data.
The checks that need the table (an index past its last row, a row the loader dropped) are in
:mod:`greenft.data.split_sources`.
"""

from __future__ import annotations

from pathlib import Path

from greenft.errors import UserError
from greenft.io import read_json

PARTS = ("train", "val", "test")
REQUIRED_PARTS = ("train", "val")  # test may be left out when a separate test file gives it (data.test_file)


class SplitSourceError(UserError, ValueError):
    """A split file, split column or test file that cannot give a split; the message names file, field, value."""


def parse_indices(value: object, where: str) -> list[int]:
    """One part's indices: a JSON list of integers, or chemprop's string form ``"0-2,4"`` (ranges inclusive)."""
    if isinstance(value, str):
        return _parse_index_string(value, where)
    if not isinstance(value, list):
        raise SplitSourceError(f"{where}: expected a list of row indices or a string like '0-10,12', got {value!r}")
    out: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise SplitSourceError(f"{where}: {item!r} is not a row index; expected integers >= 0")
        out.append(_non_negative(item, where))
    return out


def _non_negative(index: int, where: str) -> int:
    if index < 0:
        raise SplitSourceError(f"{where}: index {index} is negative; expected 0-based row indices (>= 0)")
    return index


def _parse_index_string(text: str, where: str) -> list[int]:
    out: list[int] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        start, dash, end = token.partition("-")
        try:
            first = int(start)
            last = int(end) if dash else first
        except ValueError:
            raise SplitSourceError(
                f"{where}: {token!r} is not an index or a range; expected e.g. '0-10,12' (ranges inclusive)"
            ) from None
        if last < first:
            raise SplitSourceError(f"{where}: range {token!r} ends before it starts")
        out.extend(range(_non_negative(first, where), last + 1))
    return out


def _check_disjoint(path: Path, parts: dict[str, list[int]]) -> None:
    """An index twice in one part, or in two parts (a test molecule trained on), is a mistake in the file."""
    seen: dict[int, str] = {}
    for part, indices in parts.items():
        for index in indices:
            if index in seen:
                where = f"twice in {part!r}" if seen[index] == part else f"in both {seen[index]!r} and {part!r}"
                raise SplitSourceError(
                    f"{path}: index {index} is {where}; each row may be in one part once (train, val or test)"
                )
            seen[index] = part


def read_split_file(path: Path, split_index: int = 0, test_file: Path | None = None) -> dict[str, list[int]]:
    """The ``train`` / ``val`` / ``test`` indices of split ``split_index`` of the file.

    With a separate ``test_file`` the file's test part must be empty (the test file is the test part: rows of the
    main file marked test would otherwise be silently unused); without one it must not be."""
    raw = read_json(Path(path), "split file (data.split_file)", SplitSourceError)
    entries = [raw] if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        raise SplitSourceError(
            f"{path}: expected a JSON object {{'train': [...], 'val': [...], 'test': [...]}} or a non-empty list of "
            f"them (chemprop's splits file), got {type(raw).__name__} {str(raw)[:60]}"
        )
    if split_index >= len(entries):
        raise SplitSourceError(
            f"data.split_index = {split_index}: {path} holds {len(entries)} split(s) (indices 0..{len(entries) - 1})"
        )
    entry = entries[split_index]
    label = f"{path} split {split_index}" if isinstance(raw, list) else str(path)
    if not isinstance(entry, dict):
        raise SplitSourceError(f"{label}: expected an object with keys train, val, test; got {str(entry)[:60]}")
    unknown = sorted(set(entry) - set(PARTS))
    missing = [part for part in REQUIRED_PARTS if part not in entry]
    if unknown or missing:
        found = f"unknown key(s) {unknown}" if unknown else f"no {missing[0]!r} key"
        raise SplitSourceError(f"{label}: {found}; expected the keys train, val and test (test optional)")
    parts = {part: parse_indices(entry.get(part, []), f"{label}, {part!r}") for part in PARTS}
    for part in REQUIRED_PARTS:
        if not parts[part]:
            raise SplitSourceError(f"{label}: the {part!r} part is empty; give it at least one row index")
    if test_file is None and not parts["test"]:
        raise SplitSourceError(
            f"{label}: the 'test' part is empty; give test row indices, or a separate test file (data.test_file)"
        )
    if test_file is not None and parts["test"]:
        raise SplitSourceError(
            f"{label}: gives {len(parts['test'])} test row(s) and data.test_file = '{test_file}' gives the test part "
            "too; give the test part one way (drop the file's 'test' indices, or the test file)"
        )
    _check_disjoint(Path(path), parts)
    return parts
