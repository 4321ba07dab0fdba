"""greenft's own graph encoder checkpoint format, and the one function that writes it for every graph layout.

A ``torch.save`` of a plain dict, loadable with ``weights_only=True``::

    {"format": "greenft-encoder", "version": 1,
     "architecture": {"family": "gin", "num_layers": 5, "emb_dim": 300},
     "featurizer": {"name": "hu2020", "version": 1},
     "provenance": {...free-form: who/what/when pretrained it, corpus, emissions...},
     "state_dict": {<encoder parameter name>: tensor}}

``architecture.family`` is the registry model (a row of :mod:`greenft.models.graph_layouts`), and the
featuriser is that layout's, so a file can never claim a vocabulary its model does not use. Reading is the
one graph loader's job (:func:`greenft.models.published.detect_checkpoint`), next to the published layouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from greenft.io import atomic_save
from greenft.models.graph_encoder import GraphEncoder
from greenft.models.graph_layouts import layout_of_model

GREENFT_FORMAT = "greenft-encoder"
GREENFT_FORMAT_VERSION = 1


def save_encoder_checkpoint(
    encoder: GraphEncoder, path: Path, provenance: dict[str, Any] | None = None, *, family: str = "gin"
) -> Path:
    """Write ``encoder`` (registry model ``family``) in greenft's format atomically (temporary file, rename)."""
    featurizer = layout_of_model(family).featurizer
    payload = {
        "format": GREENFT_FORMAT,
        "version": GREENFT_FORMAT_VERSION,
        "architecture": {"family": family, "num_layers": encoder.num_layers, "emb_dim": encoder.emb_dim},
        "featurizer": {"name": featurizer.name, "version": featurizer.version},
        "provenance": provenance or {},
        "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
    }
    return atomic_save(Path(path), lambda handle: torch.save(payload, handle))


def save_encoder(encoder: GraphEncoder, path: Path, model: str, provenance: dict[str, Any] | None = None) -> Path:
    """:func:`save_encoder_checkpoint` with the model named positionally, as pretraining and tests call it."""
    return save_encoder_checkpoint(encoder, path, provenance, family=model)
