"""The 1D family: SMILES/SELFIES tokenizers, the ECFP-word BPE, RoBERTa-style transformers, checkpoints.

Importing this package does not import transformers (seconds); :mod:`.transformer` and :mod:`.checkpoint`
do, and the families import them only when a model is built.

Names are imported lazily, on first use, as in greenft.sweeps: `greenft --help` and a user error found before any
work must not pay for the heavy modules (torch, RDKit, pandas) that only some of these names need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.models.sequence.batch import SequenceBatch, SequenceItem, SequenceLoader
    from greenft.models.sequence.ecfp_tokenizer import EcfpTokenizer
    from greenft.models.sequence.family import HubModelError, HubTransformerFamily, SequenceTransformerFamily
    from greenft.models.sequence.tokenizers import MolTokenizer, TokenizerError, split_selfies, split_smiles

_EXPORTS = {
    "SequenceBatch": "greenft.models.sequence.batch",
    "SequenceItem": "greenft.models.sequence.batch",
    "SequenceLoader": "greenft.models.sequence.batch",
    "EcfpTokenizer": "greenft.models.sequence.ecfp_tokenizer",
    "HubModelError": "greenft.models.sequence.family",
    "HubTransformerFamily": "greenft.models.sequence.family",
    "SequenceTransformerFamily": "greenft.models.sequence.family",
    "MolTokenizer": "greenft.models.sequence.tokenizers",
    "TokenizerError": "greenft.models.sequence.tokenizers",
    "split_selfies": "greenft.models.sequence.tokenizers",
    "split_smiles": "greenft.models.sequence.tokenizers",
}

__all__ = [
    "EcfpTokenizer",
    "HubModelError",
    "HubTransformerFamily",
    "MolTokenizer",
    "SequenceBatch",
    "SequenceItem",
    "SequenceLoader",
    "SequenceTransformerFamily",
    "TokenizerError",
    "split_selfies",
    "split_smiles",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'greenft.models.sequence' has no attribute {name!r}")
