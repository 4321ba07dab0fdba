"""One re-iterable batch loader for families whose batches a torch DataLoader cannot collate (sequences, padded
graph-transformer batches, chemprop's ``BatchMolGraph``): a new seeded shuffle per pass when ``shuffle``, no
workers. Each family gives only its ``collate``; the order and slicing, which decide what a seed reproduces, live
here once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

import torch

Item = TypeVar("Item")
Batch = TypeVar("Batch")


class CollatingLoader(Generic[Item, Batch]):
    """Batches of ``batch_size`` items (the last may be smaller), each made by ``collate``."""

    def __init__(
        self,
        items: Sequence[Item],
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None,
        collate: Callable[[list[Item]], Batch],
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.items = list(items)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.collate = collate

    def __len__(self) -> int:
        return -(-len(self.items) // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        n = len(self.items)
        order = torch.randperm(n, generator=self.generator).tolist() if self.shuffle else list(range(n))
        for start in range(0, n, self.batch_size):
            yield self.collate([self.items[i] for i in order[start : start + self.batch_size]])
