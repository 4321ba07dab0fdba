"""The graph encoder layouts greenft knows, one row each: registry model, source, layer, featuriser, vocabulary.

A layout is what a checkpoint's tensors must fit and what a model built from scratch looks like, so the loader
(:mod:`greenft.models.published`), the writer (:mod:`greenft.models.greenft_format`), the registry families
(:mod:`greenft.models.graph_family`) and pretraining all read this one table. Adding a graph model is a row
here (plus its layer class), not a new loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from greenft.data.featurize import HU2020, NUM_ATOM_TYPES, NUM_BOND_TYPES, Featurizer
from greenft.data.featurize_molclr import MOLCLR, MOLCLR_NUM_ATOM_TYPES, MOLCLR_NUM_BOND_TYPES
from greenft.models.gcn import GCNEncoder
from greenft.models.gin import GINEncoder, MolclrGINEncoder
from greenft.models.graph_encoder import GraphEncoder

Source = Literal["hu2020", "molclr"]


@dataclass(frozen=True)
class EncoderLayout:
    """One published encoder layout: the registry model that holds it, its featuriser and its vocabulary."""

    model: str  # registry name
    source: Source
    conv: Literal["gin", "gcn"]
    featurizer: Featurizer
    num_atom_types: int
    num_bond_types: int
    description: str

    def build(self, num_layers: int, emb_dim: int, dropout: float) -> GraphEncoder:
        if self.conv == "gcn":
            return GCNEncoder(num_layers, emb_dim, dropout, layout=self.source)
        if self.source == "molclr":
            return MolclrGINEncoder(num_layers, emb_dim, dropout)
        return GINEncoder(num_layers, emb_dim, dropout)


LAYOUTS: dict[tuple[str, str], EncoderLayout] = {
    (layout.source, layout.conv): layout
    for layout in [
        EncoderLayout(
            "gin", "hu2020", "gin", HU2020, NUM_ATOM_TYPES, NUM_BOND_TYPES, "Hu et al. 2020 GIN (pretrain-gnns)"
        ),
        EncoderLayout(
            "gcn", "hu2020", "gcn", HU2020, NUM_ATOM_TYPES, NUM_BOND_TYPES, "Hu et al. 2020 GCN (pretrain-gnns)"
        ),
        EncoderLayout(
            "gin-molclr", "molclr", "gin", MOLCLR, MOLCLR_NUM_ATOM_TYPES, MOLCLR_NUM_BOND_TYPES, "MolCLR GIN"
        ),
        EncoderLayout(
            "gcn-molclr", "molclr", "gcn", MOLCLR, MOLCLR_NUM_ATOM_TYPES, MOLCLR_NUM_BOND_TYPES, "MolCLR GCN"
        ),
    ]
}
LAYOUT_BY_MODEL: dict[str, EncoderLayout] = {layout.model: layout for layout in LAYOUTS.values()}


def layout_of_model(model: str) -> EncoderLayout:
    """The layout of registry model ``model``; a ValueError listing the graph models otherwise."""
    if model not in LAYOUT_BY_MODEL:
        raise ValueError(f"model {model!r} is not a graph encoder layout; known: {sorted(LAYOUT_BY_MODEL)}")
    return LAYOUT_BY_MODEL[model]


def graph_encoder(model: str, num_layers: int, emb_dim: int, dropout: float) -> GraphEncoder:
    """A fresh, randomly initialised encoder of registry model ``model`` (``gin``, ``gcn``, ...)."""
    return layout_of_model(model).build(num_layers, emb_dim, dropout)
