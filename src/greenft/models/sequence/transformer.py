"""A RoBERTa-style encoder (Hugging Face transformers) with a pooled head: one output per task.

The encoder is any transformers model returning ``last_hidden_state`` (greenft's own ``RobertaModel``, or a
hub checkpoint through ``AutoModel``); the model owns the tokenizer adapter that turns a
:class:`~greenft.models.sequence.batch.SequenceBatch` into padded ``input_ids``/``attention_mask``, so the
numbering always matches the loaded weights. Pooling is over real tokens only (the attention mask), ``mean``
by default; the head is dropout + linear, as in ChemBERTa-style fine-tuning.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn
from transformers import PreTrainedModel, RobertaConfig

from greenft.models.config import ModelConfig
from greenft.models.sequence.batch import SequenceBatch
from greenft.models.sequence.tokenizers import BOS_ID, EOS_ID, PAD_ID, SequenceTokenizer

POOLINGS = ("mean", "sum", "max")


class BatchTokenizer(Protocol):
    def encode_batch(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]: ...
    def describe(self) -> dict[str, Any]: ...


class GreenftBatchTokenizer:
    """greenft's SMILES/SELFIES vocabulary (or ECFP BPE) applied to the batch's token strings."""

    def __init__(self, tokenizer: SequenceTokenizer) -> None:
        self.tokenizer = tokenizer

    def encode_batch(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.tokenizer.batch(batch.tokens)

    def describe(self) -> dict[str, Any]:
        return self.tokenizer.describe()


class HubBatchTokenizer:
    """A Hugging Face tokenizer (e.g. ChemBERTa's BPE) applied to the batch's SMILES, padded per batch."""

    def __init__(self, tokenizer: Any, max_length: int, name: str) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.name = name

    def encode_batch(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.tokenizer(
            batch.texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return encoded["input_ids"], encoded["attention_mask"]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": f"hub:{self.name}",
            "class": type(self.tokenizer).__name__,
            "vocab_size": len(self.tokenizer),
            "max_length": self.max_length,
        }


def default_num_heads(emb_dim: int) -> int:
    """4 heads below width 256 (CPU sizes), else 64-wide heads (768 -> 12, as RoBERTa/ChemBERTa)."""
    return 4 if emb_dim < 256 else max(1, emb_dim // 64)


def roberta_config(
    vocab_size: int,
    num_layers: int,
    emb_dim: int,
    num_heads: int | None,
    max_length: int,
    dropout: float,
) -> RobertaConfig:
    """A RoBERTa config for greenft's vocabularies (ids: <pad> 0, <s> 1, </s> 2), FFN 4 x width."""
    heads = num_heads if num_heads is not None else default_num_heads(emb_dim)
    if emb_dim % heads:
        raise ValueError(f"model.emb_dim = {emb_dim} is not divisible by model.num_heads = {heads}")
    return RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=emb_dim,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        intermediate_size=4 * emb_dim,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        max_position_embeddings=max_length + 2,  # RoBERTa counts positions from pad_token_id + 1
        type_vocab_size=1,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
    )


def model_roberta_config(vocab_size: int, config: ModelConfig) -> RobertaConfig:
    """:func:`roberta_config` at a model section's sizes (a fresh encoder's, or a saved one's without its own)."""
    return roberta_config(
        vocab_size, config.num_layers, config.emb_dim, config.num_heads, config.max_length, config.dropout
    )


def masked_pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool token states over real tokens only (``mask`` 1 = token, 0 = padding)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "max":
        return hidden.masked_fill(weights == 0, torch.finfo(hidden.dtype).min).amax(dim=1)
    summed = (hidden * weights).sum(dim=1)
    if pooling == "sum":
        return summed
    return summed / weights.sum(dim=1).clamp(min=1.0)


class SequencePropertyModel(nn.Module):
    """Tokenizer adapter -> transformer encoder -> masked pooling -> dropout -> linear (one output per task)."""

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: BatchTokenizer,
        num_tasks: int,
        pooling: str = "mean",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"model.pooling must be one of {list(POOLINGS)} for sequence models, got {pooling!r}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.config.hidden_size), num_tasks)

    def forward(self, batch: SequenceBatch) -> torch.Tensor:
        input_ids, attention_mask = self.tokenizer.encode_batch(batch)
        device = self.head.weight.device
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out: torch.Tensor = self.head(self.dropout(masked_pool(hidden, attention_mask, self.pooling)))
        return out
