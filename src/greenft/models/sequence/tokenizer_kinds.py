"""One entry point per operation for every tokenizer kind: load a vocabulary file, rebuild a saved model's, build
a corpus's. The kind (``smiles``/``selfies``: :class:`MolTokenizer`; ``ecfp``: :class:`EcfpTokenizer`) picks the
class, so checkpoints, saved models and MLM pretraining never branch on it themselves. Apart from both classes'
modules because it imports both (the ECFP tokenizer builds on the SMILES module's special tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from greenft.io import read_json
from greenft.models.sequence.ecfp_tokenizer import DEFAULT_MIN_FREQUENCY, DEFAULT_VOCAB_SIZE, EcfpTokenizer
from greenft.models.sequence.tokenizers import (
    TOKENIZER_FORMAT,
    TOKENIZER_VERSION,
    MolTokenizer,
    TokenizerError,
    TokenizerKind,
)


def load_tokenizer(path: Path) -> MolTokenizer | EcfpTokenizer:
    """The tokenizer in a ``greenft_tokenizer.json`` of any kind (the file's ``kind`` picks the class)."""
    path = Path(path)
    raw = read_json(path, "tokenizer file", TokenizerError)
    if not isinstance(raw, dict):
        raise TokenizerError(f"{path}: expected a JSON object")
    if raw.get("kind") == "ecfp" and raw.get("format") == TOKENIZER_FORMAT and raw.get("version") == TOKENIZER_VERSION:
        return EcfpTokenizer.from_dict(raw, str(path))
    return MolTokenizer.from_dict(raw, str(path))


def tokenizer_from_entries(
    kind: TokenizerKind, entries: Sequence[str], max_length: int
) -> MolTokenizer | EcfpTokenizer:
    """The inverse of ``vocabulary_entries()`` (what a saved model file keeps) for a model of ``kind``."""
    if kind == "ecfp":
        return EcfpTokenizer.from_vocabulary_entries(entries, max_length)
    return MolTokenizer(kind, list(entries), max_length)


def build_tokenizer(
    kind: TokenizerKind,
    token_lists: Sequence[Sequence[str]],
    max_length: int,
    corpus: dict[str, Any] | None = None,
    vocab_size: int | None = None,
    min_frequency: int | None = None,
) -> MolTokenizer | EcfpTokenizer:
    """The vocabulary of a pretraining corpus: ``vocab_size``/``min_frequency`` are the ecfp BPE's only."""
    if kind == "ecfp":
        return EcfpTokenizer.build(
            token_lists,
            max_length,
            vocab_size if vocab_size is not None else DEFAULT_VOCAB_SIZE,
            min_frequency if min_frequency is not None else DEFAULT_MIN_FREQUENCY,
            corpus,
        )
    return MolTokenizer.build(kind, token_lists, max_length, corpus=corpus)
