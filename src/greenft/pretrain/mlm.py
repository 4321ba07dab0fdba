"""Masked-language-model pretraining of the 1D family (RoBERTa objective, as ChemBERTa).

The vocabulary is built from the corpus itself (base tokens first, see
:mod:`greenft.models.sequence.tokenizers`), molecules are ``<s> tokens </s>`` truncated at ``max_length``, and
each batch is padded to its own longest sequence. BERT's masking: ``mask_prob`` (15 %) of the real tokens are
chosen; of those 80 % become ``<mask>``, 10 % a random non-special token and 10 % stay; the loss is the cross
entropy on the chosen positions only. At least one token per batch is chosen, so a loss always exists.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from greenft.models.sequence.checkpoint import save_sequence_checkpoint
from greenft.models.sequence.tokenizer_kinds import build_tokenizer
from greenft.models.sequence.tokenizers import MASK_ID, SPECIAL_TOKENS, TokenizerKind, split_molecule
from greenft.models.sequence.transformer import roberta_config

if TYPE_CHECKING:
    from greenft.pretrain.recipes import PretrainSettings

IGNORE_INDEX = -100


def mask_tokens(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    mask_prob: float,
    vocab_size: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: (masked input ids, labels with ``-100`` everywhere except the chosen positions)."""
    candidates = (attention_mask == 1) & (input_ids >= len(SPECIAL_TOKENS))
    chosen = (torch.rand(input_ids.shape, generator=generator) < mask_prob) & candidates
    if not chosen.any() and candidates.any():
        flat = candidates.flatten().nonzero().squeeze(1)
        pick = flat[int(torch.randint(len(flat), (1,), generator=generator))]
        chosen.view(-1)[pick] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    roll = torch.rand(input_ids.shape, generator=generator)
    masked = input_ids.clone()
    masked[chosen & (roll < 0.8)] = MASK_ID
    randomised = chosen & (roll >= 0.8) & (roll < 0.9)
    replacement = torch.randint(len(SPECIAL_TOKENS), vocab_size, input_ids.shape, generator=generator)
    masked[randomised] = replacement[randomised]
    return masked, labels


def tokenize_corpus(smiles: Sequence[str], kind: TokenizerKind) -> list[list[str]]:
    """Token strings of every corpus molecule; molecules the kind cannot write (rare SELFIES failures) skipped."""
    out: list[list[str]] = []
    failed = 0
    for text in smiles:
        try:
            out.append(split_molecule(text, kind))
        except ValueError:
            failed += 1
    if failed:
        warnings.warn(f"{failed} corpus molecule(s) could not be written as {kind} and were skipped", stacklevel=2)
    return out


class MlmTask:
    """Masked-LM over the corpus with a fresh RoBERTa; what :func:`run_pretraining` steps through."""

    def __init__(
        self,
        kind: TokenizerKind,
        smiles: Sequence[str],
        num_layers: int,
        emb_dim: int,
        num_heads: int | None,
        max_length: int,
        dropout: float,
        mask_prob: float,
        family: str,
        corpus: dict[str, Any] | None = None,
        vocab_size: int | None = None,
        min_frequency: int | None = None,
    ) -> None:
        from transformers import RobertaForMaskedLM

        token_lists = tokenize_corpus(smiles, kind)
        if not token_lists:
            raise ValueError(f"no corpus molecule could be tokenized as {kind}")
        self.tokenizer = build_tokenizer(kind, token_lists, max_length, corpus, vocab_size, min_frequency)
        self.sequences = [self.tokenizer.ids(tokens) for tokens in token_lists]
        # truncated: more than max_length - 2 tokens; SMILES and SELFIES have one id per token, ECFP the BPE
        # pieces of its words
        pieces = getattr(self.tokenizer, "pieces", len)
        self.truncated = sum(pieces(tokens) > max_length - 2 for tokens in token_lists)
        config = roberta_config(self.tokenizer.vocab_size, num_layers, emb_dim, num_heads, max_length, dropout)
        self.model = RobertaForMaskedLM(config)
        self.mask_prob = mask_prob
        self.family = family
        self.architecture = {
            "type": "roberta",
            "num_layers": num_layers,
            "emb_dim": emb_dim,
            "num_heads": int(config.num_attention_heads),
            "max_length": max_length,
            "vocab_size": self.tokenizer.vocab_size,
            "intermediate_size": int(config.intermediate_size),
        }

    @classmethod
    def from_settings(
        cls,
        kind: TokenizerKind,
        smiles: Sequence[str],
        settings: PretrainSettings,
        family: str,
        corpus: dict[str, Any] | None = None,
    ) -> MlmTask:
        """The MLM of a pretraining run's settings (the recipe ``mlm`` and dual-view's sequence view alike)."""
        return cls(
            kind,
            smiles,
            settings.num_layers,
            settings.emb_dim,
            settings.num_heads,
            settings.max_length,
            settings.dropout,
            settings.mask_prob,
            family,
            corpus,
            settings.vocab_size,
            settings.min_frequency,
        )

    @property
    def num_examples(self) -> int:
        return len(self.sequences)

    def loss(self, indices: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor:
        input_ids, attention_mask = self.tokenizer.pad([self.sequences[i] for i in indices])
        masked, labels = mask_tokens(input_ids, attention_mask, self.mask_prob, self.tokenizer.vocab_size, generator)
        if self.tokenizer.kind == "ecfp":
            return self._chosen_positions_loss(masked.to(device), attention_mask.to(device), labels.to(device))
        out = self.model(
            input_ids=masked.to(device), attention_mask=attention_mask.to(device), labels=labels.to(device)
        )
        loss: torch.Tensor = out.loss
        return loss

    def _chosen_positions_loss(
        self, masked: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """The same cross-entropy, with the LM head applied to the chosen positions only.

        Why: ``RobertaForMaskedLM`` scores every position against the whole vocabulary; with the ECFP BPE's 10,000
        entries that head is most of a CPU step (batch 64 x ~100 positions x 10,000 x width, forward and back),
        while only the ~15 % chosen positions enter the loss. The head is position-wise, so gathering first gives
        the same loss. SMILES/SELFIES (vocabularies of ~140) keep the library's own path, unchanged.
        """
        hidden = self.model.roberta(input_ids=masked, attention_mask=attention_mask).last_hidden_state
        chosen = labels != IGNORE_INDEX
        logits = self.model.lm_head(hidden[chosen])
        return torch.nn.functional.cross_entropy(logits, labels[chosen])

    def save(self, target: Path, provenance: dict[str, Any]) -> Path:
        return save_sequence_checkpoint(self.model, self.tokenizer, target, self.family, self.architecture, provenance)

    def describe(self) -> dict[str, Any]:
        return {
            **self.architecture,
            "objective": "masked-language-modelling (RoBERTa/BERT masking)",
            "mask_prob": self.mask_prob,
            "tokenizer": self.tokenizer.describe(),
            "truncated_molecules": self.truncated,
        }
