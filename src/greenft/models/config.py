"""The model section of a trial config (shared by every model family)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("gin", description="model registry name (see greenft.models.KNOWN_MODELS)")
    num_layers: int = Field(3, ge=1, le=48)
    emb_dim: int = Field(128, ge=8, le=4096)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    pooling: Literal["mean", "sum", "max"] = "mean"
    checkpoint: Path | None = Field(None, description="pretrained encoder; its architecture wins over the sizes")
