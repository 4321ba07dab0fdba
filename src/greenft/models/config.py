"""The model section of a trial config (shared by every model family)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

CheckpointFormat = Literal["auto", "greenft", "hu2020", "molclr"]
"""How a graph checkpoint is read: detected from its keys and shapes, or given (see greenft.models.published)."""

CHECKPOINT_FORMATS: tuple[str, ...] = get_args(CheckpointFormat)
"""The values of :data:`CheckpointFormat`, here beside it (not in the torch-bound reader) for ``--help``."""

TokenizerKind = Literal["smiles", "selfies", "ecfp"]
"""A sequence model's tokens (see greenft.models.sequence.tokenizers; ecfp: Morgan identifier words cut by a
byte-level BPE, greenft.models.sequence.ecfp_tokenizer); here, apart from the tokenizers' torch,
RDKit and SELFIES imports, because the pretraining recipes validate it when ``greenft pretrain`` starts."""


LrSchedule = Literal["constant", "noam"]
"""A learning-rate schedule (greenft.agents.schedule). Here, beside the model config, because a model family names
its default (:attr:`greenft.models.base.ModelFamily.default_lr_schedule`) and the trial config validates it."""


class EncoderSize(BaseModel):
    """An encoder's size, declared once for fine-tuning (``model``) and pretraining (its settings extend this)."""

    model_config = ConfigDict(extra="forbid")

    num_layers: int = Field(3, ge=1, le=48)
    emb_dim: int = Field(128, ge=8, le=4096)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    num_heads: int | None = Field(
        None, ge=1, le=128, description="sequence models: attention heads (default 4 below width 256, else width/64)"
    )
    max_length: int = Field(
        128, ge=8, le=4096, description="sequence models: tokens per molecule incl. <s> </s>; longer ones truncated"
    )


class ModelConfig(EncoderSize):
    name: str = Field("gin", description="model registry name (see greenft.models.KNOWN_MODELS)")
    pooling: Literal["mean", "sum", "max", "norm"] = Field(
        "mean", description="graph readout; norm (the sum / 100, chemprop's default) is chemprop-dmpnn's only"
    )
    checkpoint: Path | None = Field(None, description="pretrained encoder; its architecture wins over the sizes")
    checkpoint_format: CheckpointFormat = Field(
        "auto", description="format of `checkpoint`: detected from its keys and shapes, or given when ambiguous"
    )
    cutoff: float = Field(
        5.0, gt=0.0, le=30.0, description="3D models (schnet): cosine cutoff of the interactions, Angstrom"
    )
    num_rbf: int = Field(20, ge=1, le=1024, description="3D models (schnet): Gaussians expanding each distance")
    neighbor_cutoff: float | None = Field(
        None,
        gt=0.0,
        le=30.0,
        description="3D models: neighbour-list radius in Angstrom (SchNetPack's data cutoff); unset: cutoff. Pairs "
        "beyond cutoff contribute nothing either way (the cosine cutoff is 0 there)",
    )
    random_init: bool = Field(
        False,
        description="pretrained models: keep the checkpoint's architecture (and vocabulary) but start from random "
        "weights, the control arm of a pretrained-vs-random comparison",
    )
