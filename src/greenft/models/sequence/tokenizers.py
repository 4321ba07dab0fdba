"""Molecule tokenizers for the 1D family: atom-level SMILES (regex) and SELFIES symbols.

Two steps, kept apart on purpose:

1. **splitting** a molecule into token strings is fixed per kind (``smiles``: the regular expression of
   Schwaller et al. 2019, "Molecular Transformer", every bracket atom one token, ``Cl``/``Br`` one token, ``%10``
   ring closures one token; ``selfies``: ``selfies.split_selfies(selfies.encoder(smiles))``);
2. **numbering** tokens is the vocabulary's job, and the vocabulary belongs to a checkpoint (it is built from
   the pretraining corpus and saved beside the weights as ``greenft_tokenizer.json``).

Vocabulary layout: the five special tokens ``<pad> <s> </s> <unk> <mask>`` (ids 0..4), then the kind's
built-in base tokens (fixed order, so a random-init model and a pretrained one agree on every base id), then
corpus tokens by descending frequency (ties alphabetical). Unknown tokens map to ``<unk>``.

Sequences are ``<s> tokens </s>``; a molecule with more than ``max_length - 2`` tokens is truncated to its first
``max_length - 2`` tokens (99 % of MoleculeNet/B3DB molecules have <= 115 SMILES tokens; 128 is the default).
Batches are padded to their own longest sequence (dynamic padding), not to ``max_length``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import selfies  # type: ignore[import-untyped]
import torch
from rdkit import Chem

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.errors import UserError
from greenft.io import atomic_write_text, read_json
from greenft.models.config import TokenizerKind as TokenizerKind  # re-exported: it was defined here

TOKENIZER_FORMAT = "greenft-tokenizer"
TOKENIZER_VERSION = 1

PAD, BOS, EOS, UNK, MASK = "<pad>", "<s>", "</s>", "<unk>", "<mask>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK, MASK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID, MASK_ID = range(5)

# Schwaller et al. 2019 (Molecular Transformer), the atom-level SMILES pattern used across the literature.
SMILES_REGEX = r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])"
_SMILES_PATTERN = re.compile(SMILES_REGEX)


def _words(text: str) -> list[str]:
    return text.split()


_SMILES_BASE: tuple[str, ...] = (
    *_words("B Br C Cl N O S P F I b c n o s p"),
    *_words("( ) . = # - + \\ / : ~ @ ? > * $"),
    *[str(d) for d in range(10)],
    *[f"%{d}" for d in range(10, 30)],
    *_words(
        "[C@H] [C@@H] [C@@] [C@] [nH] [NH2+] [O-] [N+] [NH+] [S+] [n+] [NH3+] [Cl-] [H+] [Na+] [N-] [Br-] "
        "[o+] [S@@+] [Cl] [C-] [N@+] [S@@] [S@] [N@@+] [N@H+] [NH-] [NH] [N] [S@+] [C+] [Na] [N@@H+] [n-] "
        "[Li] [K+] [I-] [CH] [SH] [O+] [SiH3] [P+] [S] [P@@] [Ca+2] [OH-] [nH+] [CH2-] [CH-] [Si] [se] [Se] "
        "[2H] [B-] [H] [Mg+2] [Zn+2] [Fe] [Pt] [As] [Al] [Li+] [K] [Br] [I] [F-] [Cu] [Co] [Mn] [Hg]"
    ),
)
_SELFIES_BASE: tuple[str, ...] = (
    "[nop]",
    ".",
    *sorted(selfies.get_semantic_robust_alphabet()),
    *_words(
        "[C@H1] [C@@H1] [C@@] [C@] [NH1] [NH1+1] [NH2+1] [NH3+1] [Na+1] [Cl-1] [Br-1] [K+1] [I-1] [H+1] "
        "[/C] [\\C] [/N] [\\N] [/O] [\\O] [/S] [\\S] [/F] [\\F] [/Cl] [\\Cl] [/C@@H1] [/C@H1] [\\C@H1] "
        "[\\C@@H1] [=N+1] [=NH1+1] [=NH2+1] [N@+1] [N@@+1] [S@@] [S@] [Si] [Se] [Li] [Na] [K] [2H] [ClH0] "
        "[-/Ring1] [-/Ring2] [-\\Ring1] [-\\Ring2] [=SH1] [CH1] [OH1-1] [Ca+2] [Mg+2] [Zn+2]"
    ),
)


def _dedupe(tokens: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for token in tokens:
        if token not in seen and token not in SPECIAL_TOKENS:
            seen.add(token)
            out.append(token)
    return out


BASE_TOKENS: dict[str, tuple[str, ...]] = {
    "smiles": tuple(_dedupe(_SMILES_BASE)),
    "selfies": tuple(_dedupe(_SELFIES_BASE)),
}


class TokenizerError(UserError, ValueError):
    """A tokenizer file or setting cannot be used; the message names the file and field."""


def split_smiles(smiles: str) -> list[str]:
    """Atom-level SMILES tokens; a character the pattern does not cover becomes a one-character token."""
    tokens: list[str] = _SMILES_PATTERN.findall(smiles)
    if "".join(tokens) == smiles:
        return tokens
    out: list[str] = []
    position = 0
    for match in _SMILES_PATTERN.finditer(smiles):
        out.extend(smiles[position : match.start()])  # uncovered characters, one token each (-> <unk>)
        out.append(match.group(0))
        position = match.end()
    out.extend(smiles[position:])
    return out


def smiles_to_selfies(smiles: str) -> str:
    """SELFIES of a SMILES; retried from RDKit's kekulé form when SELFIES' own kekulisation fails."""
    try:
        return str(selfies.encoder(smiles, strict=False))
    except selfies.EncoderError:
        with rdkit_quiet():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise
        Chem.Kekulize(mol, clearAromaticFlags=True)
        return str(selfies.encoder(Chem.MolToSmiles(mol, kekuleSmiles=True), strict=False))


def split_selfies(smiles: str) -> list[str]:
    """SELFIES symbols of a SMILES (``ValueError`` when neither SELFIES nor RDKit can encode it)."""
    try:
        return list(selfies.split_selfies(smiles_to_selfies(smiles)))
    except selfies.EncoderError as err:
        raise ValueError(f"SELFIES cannot encode {smiles!r}: {str(err).splitlines()[0]}") from None


def split_molecule(smiles: str, kind: TokenizerKind) -> list[str]:
    """The molecule's token strings of ``kind``; for ``ecfp`` its Morgan identifier words, which the checkpoint's
    BPE then cuts into pieces (:mod:`greenft.models.sequence.ecfp_tokenizer`)."""
    if kind == "ecfp":
        from greenft.data.ecfp_words import ecfp_words

        return ecfp_words(smiles)
    return split_smiles(smiles) if kind == "smiles" else split_selfies(smiles)


def pad_sequences(sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists to the batch's longest: ``input_ids`` and ``attention_mask`` (batch x longest)."""
    longest = max((len(s) for s in sequences), default=0)
    input_ids = torch.full((len(sequences), longest), PAD_ID, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        attention_mask[row, : len(sequence)] = 1
    return input_ids, attention_mask


class SequenceTokenizer(Protocol):
    """What the 1D family, MLM pretraining and the checkpoint files need of a vocabulary, whichever kind.

    Implemented by :class:`MolTokenizer` (smiles, selfies: one id per token string) and
    :class:`~greenft.models.sequence.ecfp_tokenizer.EcfpTokenizer` (ecfp: a BPE over identifier words). The ids
    0..4 are the special tokens in both, so masking and padding code does not depend on the kind.
    """

    max_length: int  # settable: a fine-tune may truncate shorter than the checkpoint's

    @property
    def kind(self) -> TokenizerKind: ...
    @property
    def vocab_size(self) -> int: ...
    def ids(self, tokens: Sequence[str]) -> list[int]: ...
    def pad(self, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]: ...
    def batch(self, token_lists: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]: ...
    def describe(self) -> dict[str, Any]: ...
    def save(self, path: Path) -> Path: ...
    def to_hf(self) -> Any: ...
    def vocabulary_entries(self) -> list[str]: ...


def hf_fast_tokenizer(backend: Any, max_length: int) -> Any:
    """A ``tokenizers`` backend as a Hugging Face fast tokenizer with greenft's conventions: ``<s> ... </s>``
    around every sequence, the five special tokens at their ids, truncation at ``max_length``."""
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    backend.post_processor = TemplateProcessing(single=f"{BOS} $A {EOS}", special_tokens=[(BOS, BOS_ID), (EOS, EOS_ID)])
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        pad_token=PAD,
        mask_token=MASK,
        model_max_length=max_length,
    )


@dataclass
class MolTokenizer:
    """A vocabulary for one token kind, with truncation at ``max_length`` and per-batch padding."""

    kind: TokenizerKind
    tokens: list[str]  # id -> token; the first five are SPECIAL_TOKENS
    max_length: int = 128
    corpus: dict[str, Any] = field(default_factory=dict)  # where the vocabulary came from (provenance)

    def __post_init__(self) -> None:
        if self.kind not in ("smiles", "selfies"):
            raise TokenizerError(f"tokenizer kind must be 'smiles' or 'selfies', got {self.kind!r}")
        if tuple(self.tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise TokenizerError(f"the vocabulary must start with {list(SPECIAL_TOKENS)}, got {self.tokens[:5]}")
        if self.max_length < 3:
            raise TokenizerError(f"max_length must be >= 3 (<s>, one token, </s>), got {self.max_length}")
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise TokenizerError("the vocabulary has duplicate tokens")

    # ------------------------------------------------------------------ construction
    @classmethod
    def base(cls, kind: TokenizerKind, max_length: int = 128) -> MolTokenizer:
        """The built-in vocabulary of ``kind`` (what a random-init model without a checkpoint uses)."""
        return cls(kind, [*SPECIAL_TOKENS, *BASE_TOKENS[kind]], max_length, {"source": "built-in base vocabulary"})

    @classmethod
    def build(
        cls,
        kind: TokenizerKind,
        token_lists: Iterable[Sequence[str]],
        max_length: int = 128,
        min_count: int = 1,
        max_size: int | None = None,
        corpus: dict[str, Any] | None = None,
    ) -> MolTokenizer:
        """Base tokens, then every corpus token seen at least ``min_count`` times (most frequent first)."""
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        base = [*SPECIAL_TOKENS, *BASE_TOKENS[kind]]
        known = set(base)
        extra = sorted(
            (t for t, c in counts.items() if c >= min_count and t not in known), key=lambda t: (-counts[t], t)
        )
        vocab = base + extra
        if max_size is not None:
            vocab = vocab[: max(max_size, len(base))]
        return cls(kind, vocab, max_length, dict(corpus or {}))

    # ------------------------------------------------------------------ use
    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def split(self, smiles: str) -> list[str]:
        return split_molecule(smiles, self.kind)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """``<s> tokens </s>`` as ids, truncated to ``max_length`` (unknown tokens -> ``<unk>``)."""
        body = [self.index.get(token, UNK_ID) for token in tokens[: self.max_length - 2]]
        return [BOS_ID, *body, EOS_ID]

    def encode(self, smiles: str) -> list[int]:
        return self.ids(self.split(smiles))

    def decode(self, ids: Iterable[int]) -> str:
        """The molecule string of ids (special tokens dropped): SMILES, or SELFIES for the selfies kind."""
        return "".join(self.tokens[i] for i in ids if i >= len(SPECIAL_TOKENS))

    def pad(self, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad id lists to the batch's longest: ``input_ids`` and ``attention_mask`` (batch x longest)."""
        return pad_sequences(sequences)

    def batch(self, token_lists: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pad([self.ids(tokens) for tokens in token_lists])

    def to_hf(self) -> Any:
        """This SMILES vocabulary as a Hugging Face fast tokenizer (same ids, <s> ... </s>, truncation).

        Identical ids for every SMILES the pattern covers; a run of several uncovered characters is one
        ``<unk>`` there instead of one per character. SELFIES needs a conversion first, so it has no HF form.
        """
        if self.kind != "smiles":
            raise TokenizerError("only the SMILES tokenizer has a Hugging Face form (SELFIES needs a conversion)")
        from tokenizers import Regex, Tokenizer
        from tokenizers.models import WordLevel
        from tokenizers.pre_tokenizers import Split

        backend = Tokenizer(WordLevel(dict(self.index), unk_token=UNK))
        backend.pre_tokenizer = Split(Regex(SMILES_REGEX), behavior="isolated")
        return hf_fast_tokenizer(backend, self.max_length)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TOKENIZER_FORMAT,
            "version": TOKENIZER_VERSION,
            "kind": self.kind,
            "split": SMILES_REGEX if self.kind == "smiles" else "selfies.split_selfies(selfies.encoder(smiles))",
            "max_length": self.max_length,
            "special_tokens": list(SPECIAL_TOKENS),
            "vocab": self.tokens,
            "corpus": self.corpus,
        }

    def describe(self) -> dict[str, Any]:
        """The run-config summary (no vocabulary)."""
        return {"kind": self.kind, "vocab_size": self.vocab_size, "max_length": self.max_length}

    def vocabulary_entries(self) -> list[str]:
        """What a saved model file keeps to rebuild this vocabulary: the tokens in id order."""
        return list(self.tokens)

    def save(self, path: Path) -> Path:
        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "<dict>") -> MolTokenizer:
        if raw.get("format") != TOKENIZER_FORMAT:
            raise TokenizerError(f"{where}: format is {raw.get('format')!r}, expected {TOKENIZER_FORMAT!r}")
        if raw.get("version") != TOKENIZER_VERSION:
            raise TokenizerError(f"{where}: tokenizer version {raw.get('version')!r} is not supported")
        for key in ("kind", "vocab", "max_length"):
            if key not in raw:
                raise TokenizerError(f"{where}: field {key!r} is missing")
        try:
            return cls(raw["kind"], list(raw["vocab"]), int(raw["max_length"]), dict(raw.get("corpus") or {}))
        except TokenizerError as err:
            raise TokenizerError(f"{where}: {err}") from None

    @classmethod
    def load(cls, path: Path) -> MolTokenizer:
        path = Path(path)
        raw = read_json(path, "tokenizer file", TokenizerError)
        if not isinstance(raw, dict):
            raise TokenizerError(f"{path}: expected a JSON object")
        return cls.from_dict(raw, str(path))
