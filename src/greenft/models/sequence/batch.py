"""Items and batches of the 1D family, and a loader that batches them without padding.

An item keeps the molecule's text (canonical SMILES) and its family-level token strings; a batch keeps those
lists and the label matrix. Token strings become ids inside the model, against the vocabulary of the
checkpoint actually loaded: ``encode`` runs before the trainer knows which checkpoint ``build`` will load
(``--checkpoint`` may override a registry default), so numbering tokens earlier could silently use the wrong
vocabulary. The lookup costs microseconds per batch; padding happens there too, to the longest sequence of
the batch (dynamic padding), never to a fixed length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from greenft.models.batching import CollatingLoader


@dataclass(frozen=True)
class SequenceItem:
    text: str  # canonical SMILES
    tokens: tuple[str, ...]  # the family's token strings (SMILES regex tokens or SELFIES symbols); () for hub models
    y: torch.Tensor  # 1 x tasks, NaN = missing label


@dataclass
class SequenceBatch:
    """What a sequence model's ``forward`` takes: texts, token strings and ``y`` (molecules x tasks)."""

    texts: list[str]
    tokens: list[tuple[str, ...]]
    y: torch.Tensor

    def to(self, device: torch.device | str) -> SequenceBatch:
        return SequenceBatch(self.texts, self.tokens, self.y.to(device))

    def __len__(self) -> int:
        return len(self.texts)


def collate(items: Sequence[SequenceItem]) -> SequenceBatch:
    return SequenceBatch([i.text for i in items], [i.tokens for i in items], torch.cat([i.y for i in items]))


class SequenceLoader(CollatingLoader[SequenceItem, SequenceBatch]):
    """Re-iterable batches (a new shuffle per pass when ``shuffle``), like a torch DataLoader without workers."""

    def __init__(
        self,
        items: Sequence[SequenceItem],
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(items, batch_size, shuffle, generator, collate)
