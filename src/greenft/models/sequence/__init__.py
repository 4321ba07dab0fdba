"""The 1D family: SMILES/SELFIES tokenizers, RoBERTa-style transformers, greenft and hub checkpoints.

Importing this package does not import transformers (seconds); :mod:`.transformer` and :mod:`.checkpoint`
do, and the families import them only when a model is built.
"""

from greenft.models.sequence.batch import SequenceBatch, SequenceItem, SequenceLoader
from greenft.models.sequence.family import HubModelError, HubTransformerFamily, SequenceTransformerFamily
from greenft.models.sequence.tokenizers import MolTokenizer, TokenizerError, split_selfies, split_smiles

__all__ = [
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
