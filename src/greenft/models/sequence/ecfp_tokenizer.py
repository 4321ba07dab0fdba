"""Byte-level BPE over ECFP words: the ``ecfp`` tokenizer kind (``ecfp-mlm``, and the dual-view sequence view).

Why BPE: a molecule's words are Morgan identifiers (:mod:`greenft.data.ecfp_words`), 32-bit numbers, so a word
vocabulary would be unbounded and mostly singletons. As in the thesis (section 3.3.4), a byte-level BPE
(Hugging Face ``tokenizers``) is trained on the corpus's word strings ``"e1 e2 ... en"``: frequent identifiers
become one token, rare ones a few digit pieces, and the vocabulary is bounded by ``vocab_size`` (10,000 by
default, the thesis's size).

The pipeline, fixed here and saved with the vocabulary:

* pre-tokenizer ``ByteLevel(add_prefix_space=True)``: every word is its own pre-token (``"Ġ2246728737"``), so
  merges never cross two identifiers; the base alphabet is ``Ġ`` and the ten digits (always present, so every
  word is encodable and ``<unk>`` never occurs);
* ``BPE`` trained by ``BpeTrainer(vocab_size, min_frequency, special_tokens=<pad> <s> </s> <unk> <mask>)``:
  the special tokens get ids 0..4 exactly as greenft's :class:`~greenft.models.sequence.tokenizers.MolTokenizer`,
  so masking (``MASK_ID``), padding (``PAD_ID``) and the RoBERTa config are shared unchanged;
* a sequence is ``<s> pieces </s>``, the pieces truncated to ``max_length - 2`` (the same rule as SMILES).

``to_hf`` gives the same vocabulary as a ``PreTrainedTokenizerFast`` with ``<s> $A </s>`` post-processing,
saved in the checkpoint as ``tokenizer.json`` + ``tokenizer_config.json``, so
``AutoTokenizer.from_pretrained(checkpoint)`` on the ECFP word string gives greenft's ids (tested).
greenft's own file (``greenft_tokenizer.json``, kind ``ecfp``) embeds the whole BPE (vocabulary and merges).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from greenft.data.ecfp_words import ECFP_SPLIT
from greenft.io import atomic_write_text
from greenft.models.sequence.tokenizers import (
    BOS_ID,
    EOS_ID,
    SPECIAL_TOKENS,
    TOKENIZER_FORMAT,
    TOKENIZER_VERSION,
    UNK,
    TokenizerError,
    hf_fast_tokenizer,
    pad_sequences,
)

DEFAULT_VOCAB_SIZE = 10_000
DEFAULT_MIN_FREQUENCY = 2
BYTE_SPACE = "Ġ"  # ByteLevel's picture of the space before every word
ALPHABET: tuple[str, ...] = (BYTE_SPACE, *"0123456789")


def words_text(words: Sequence[str]) -> str:
    """The string the BPE reads: the words joined by single spaces (the thesis's "sentence")."""
    return " ".join(words)


def _backend_from_json(text: str) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_str(text)


@dataclass
class EcfpTokenizer:
    """A trained byte-level BPE over ECFP words, with greenft's special ids, truncation and per-batch padding."""

    backend: Any  # tokenizers.Tokenizer (BPE + ByteLevel), without post-processing: greenft adds <s> </s>
    max_length: int = 128
    corpus: dict[str, Any] = field(default_factory=dict)  # provenance of the training text
    kind: Literal["ecfp"] = "ecfp"

    def __post_init__(self) -> None:
        if self.max_length < 3:
            raise TokenizerError(f"max_length must be >= 3 (<s>, one token, </s>), got {self.max_length}")
        specials = [self.backend.token_to_id(token) for token in SPECIAL_TOKENS]
        if specials != list(range(len(SPECIAL_TOKENS))):
            raise TokenizerError(f"the BPE must have {list(SPECIAL_TOKENS)} at ids 0..4, got ids {specials}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        word_lists: Iterable[Sequence[str]],
        max_length: int = 128,
        vocab_size: int = DEFAULT_VOCAB_SIZE,
        min_frequency: int = DEFAULT_MIN_FREQUENCY,
        corpus: dict[str, Any] | None = None,
    ) -> EcfpTokenizer:
        """Train the BPE on the molecules' word strings; the vocabulary has at most ``vocab_size`` entries."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        if vocab_size < len(SPECIAL_TOKENS) + len(ALPHABET):
            raise TokenizerError(
                f"vocab_size must be >= {len(SPECIAL_TOKENS) + len(ALPHABET)} (5 special tokens + Ġ and 10 digits), "
                f"got {vocab_size}"
            )
        backend = Tokenizer(models.BPE(unk_token=UNK))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=list(ALPHABET),
            show_progress=False,
        )
        texts = [words_text(words) for words in word_lists]
        backend.train_from_iterator(texts, trainer=trainer)
        # the corpus's own lengths in pieces, kept with the vocabulary: what max_length cut is then on record
        pieces = sorted(len(encoding.ids) for encoding in backend.encode_batch(texts))
        lengths = {
            "molecules": len(pieces),
            "median": pieces[len(pieces) // 2] if pieces else 0,
            "p99": pieces[min(len(pieces) - 1, int(0.99 * len(pieces)))] if pieces else 0,
            "max": pieces[-1] if pieces else 0,
            "truncated_molecules": sum(n > max_length - 2 for n in pieces),
        }
        settings = {"vocab_size_requested": vocab_size, "min_frequency": min_frequency, "pieces": lengths}
        return cls(backend, max_length, {**dict(corpus or {}), "bpe": settings})

    # ------------------------------------------------------------------ use
    @property
    def vocab_size(self) -> int:
        return int(self.backend.get_vocab_size())

    @property
    def tokens(self) -> list[str]:
        """The vocabulary in id order (byte-level strings: ``Ġ`` marks a word's first piece)."""
        vocab: dict[str, int] = self.backend.get_vocab()
        return sorted(vocab, key=vocab.__getitem__)

    def _wrap(self, pieces: Sequence[int]) -> list[int]:
        return [BOS_ID, *pieces[: self.max_length - 2], EOS_ID]

    def ids(self, words: Sequence[str]) -> list[int]:
        """``<s> pieces </s>`` as ids, the pieces truncated to ``max_length - 2``."""
        return self._wrap(self.backend.encode(words_text(words)).ids)

    def pieces(self, words: Sequence[str]) -> int:
        """How many BPE pieces the words make before truncation (for length statistics)."""
        return len(self.backend.encode(words_text(words)).ids)

    def pad(self, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_sequences(sequences)

    def batch(self, word_lists: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.backend.encode_batch([words_text(words) for words in word_lists])
        return pad_sequences([self._wrap(e.ids) for e in encoded])

    def to_hf(self) -> Any:
        """This BPE as a Hugging Face fast tokenizer: same ids for the word string, ``<s> ... </s>``, truncation."""
        return hf_fast_tokenizer(_backend_from_json(self.backend.to_str()), self.max_length)

    # ------------------------------------------------------------------ files
    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "vocab_size": self.vocab_size, "max_length": self.max_length}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TOKENIZER_FORMAT,
            "version": TOKENIZER_VERSION,
            "kind": self.kind,
            "split": ECFP_SPLIT,
            "max_length": self.max_length,
            "special_tokens": list(SPECIAL_TOKENS),
            "bpe": json.loads(self.backend.to_str()),
            "corpus": self.corpus,
        }

    def save(self, path: Path) -> Path:
        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1))

    def vocabulary_entries(self) -> list[str]:
        """What a saved model file keeps to rebuild this tokenizer: one entry, the whole tokenizer as JSON
        (a BPE needs its merges, not only its tokens)."""
        return [json.dumps(self.to_dict())]

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "<dict>") -> EcfpTokenizer:
        for key in ("bpe", "max_length"):
            if key not in raw:
                raise TokenizerError(f"{where}: field {key!r} is missing")
        try:
            backend = _backend_from_json(json.dumps(raw["bpe"]))
        except Exception as err:  # tokenizers raises its own Exception type for a malformed model
            raise TokenizerError(f"{where}: field 'bpe' is not a tokenizers model ({err})") from None
        try:
            return cls(backend, int(raw["max_length"]), dict(raw.get("corpus") or {}))
        except TokenizerError as err:
            raise TokenizerError(f"{where}: {err}") from None

    @classmethod
    def from_vocabulary_entries(cls, entries: Sequence[str], max_length: int) -> EcfpTokenizer:
        """The inverse of :meth:`vocabulary_entries`, at the saved model's ``max_length``."""
        if len(entries) != 1:
            raise TokenizerError(f"an ecfp vocabulary entry list holds one JSON tokenizer, got {len(entries)} entries")
        tokenizer = cls.from_dict(json.loads(entries[0]), "saved ecfp tokenizer")
        tokenizer.max_length = max_length
        return tokenizer
