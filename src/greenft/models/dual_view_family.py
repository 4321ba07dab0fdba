"""The fine-tune families of a dual-view checkpoint: ``dual-view-seq``, ``dual-view-graph``, ``dual-view-both``.

* ``dual-view-seq``: the sequence half, exactly as ``smiles-mlm`` uses its checkpoint (same loading, pooling
  and head), read from ``checkpoint/sequence/``;
* ``dual-view-graph``: the graph half, exactly as ``gin-contrastive`` / ``gcn-contrastive`` use theirs (the base
  model, GIN or GCN, is the one the checkpoint holds), read from ``checkpoint/graph/``;
* ``dual-view-both``: both encoders on the same molecules, ``[h_cls; pooled graph]`` -> dropout -> linear. The
  sequence side gives its last layer's ``<s>`` state, the vector the consistency loss aligned with the graph
  during pretraining; the graph side pools its nodes with ``model.pooling`` (mean).

All three find the checkpoint where ``greenft pretrain dual-view`` writes it unless ``model.checkpoint`` names
another, start from random weights at the checkpoint's sizes with ``model.random_init: true``, and log the
pretraining's cost (``checkpoint_info``) for amortisation. The sequence tokens are the checkpoint's
(SMILES, SELFIES, ECFP words), known only when the model is built, after the molecules were encoded: items therefore
carry the text and the model splits it with the checkpoint's own tokenizer, once per molecule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

from greenft.data.featurize import HU2020
from greenft.data.graph_cache import featurise
from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.models.base import REBUILD_EXTRA_ATTRIBUTE, REBUILD_EXTRA_KEY, BuiltModel, ModelFamily, count_parameters
from greenft.models.batching import CollatingLoader
from greenft.models.checkpoint_paths import checkpoint_info
from greenft.models.config import ModelConfig
from greenft.models.dual_view_checkpoint import DualViewCheckpoint, dual_view_checkpoint
from greenft.models.errors import CheckpointError
from greenft.models.graph_encoder import GraphEncoder
from greenft.models.graph_family import GraphFamily
from greenft.models.graph_layouts import graph_encoder, layout_of_model
from greenft.models.pretrained_graph import ENCODER_FILE
from greenft.models.sequence.batch import SequenceBatch, SequenceItem, SequenceLoader
from greenft.models.sequence.family import SequenceTransformerFamily, encode_sequences
from greenft.models.sequence.tokenizers import UNK, SequenceTokenizer, split_molecule

SEQ, GRAPH, BOTH = "dual-view-seq", "dual-view-graph", "dual-view-both"
_GIN = GraphFamily(layout_of_model("gin"))  # gin and gcn share Hu et al.'s featuriser and PyG batches
_POOLS = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}


class TextBatchTokenizer:
    """The checkpoint's vocabulary applied to the batch's texts, each split once (cached by text)."""

    def __init__(self, tokenizer: SequenceTokenizer) -> None:
        self.tokenizer = tokenizer
        self._ids: dict[str, list[int]] = {}

    def _of(self, text: str) -> list[int]:
        cached = self._ids.get(text)
        if cached is None:
            try:
                tokens = split_molecule(text, self.tokenizer.kind)
            except ValueError:  # as a training set's molecule the kind cannot write: one <unk> (encode_sequences)
                tokens = [UNK]
            cached = self._ids[text] = self.tokenizer.ids(tokens)
        return cached

    def encode_batch(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.tokenizer.pad([self._of(text) for text in batch.texts])

    def describe(self) -> dict[str, Any]:
        return self.tokenizer.describe()


# ----------------------------------------------------------------------------------------------- both views


@dataclass(frozen=True)
class DualViewItem:
    text: str  # canonical SMILES: the sequence view
    graph: Data  # Hu et al. graph with ``y``: the graph view

    @property
    def y(self) -> torch.Tensor:
        return cast(torch.Tensor, self.graph.y)


@dataclass
class DualViewBatch:
    """The same molecules in the same order as a :class:`SequenceBatch` and a PyG ``Batch``."""

    sequence: SequenceBatch
    graph: Batch

    @property
    def y(self) -> torch.Tensor:
        return self.sequence.y

    def to(self, device: torch.device | str) -> DualViewBatch:
        return DualViewBatch(self.sequence.to(device), self.graph.to(device))

    def __len__(self) -> int:
        return len(self.sequence)


def collate_dual_view(items: list[DualViewItem]) -> DualViewBatch:
    y = torch.cat([item.y for item in items])
    sequence = SequenceBatch([item.text for item in items], [() for _ in items], y)
    return DualViewBatch(sequence, Batch.from_data_list([item.graph for item in items]))


class DualViewPropertyModel(nn.Module):
    """Sequence encoder (last-layer ``<s>``) and graph encoder (pooled nodes), concatenated -> dropout -> linear."""

    def __init__(
        self,
        encoder: Any,  # a transformers RobertaModel (not imported here: the registry imports this module)
        tokenizer: TextBatchTokenizer,
        gnn: GraphEncoder,
        num_tasks: int,
        pooling: str = "mean",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pooling not in _POOLS:
            raise ValueError(f"model.pooling must be one of {sorted(_POOLS)} for {BOTH}, got {pooling!r}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.gnn = gnn
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        width = int(encoder.config.hidden_size)
        self.head = nn.Linear(width + gnn.emb_dim, num_tasks)

    def forward(self, batch: DualViewBatch) -> torch.Tensor:
        device = self.head.weight.device
        input_ids, attention_mask = self.tokenizer.encode_batch(batch.sequence)
        hidden = self.encoder(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device))
        h_cls = hidden.last_hidden_state[:, 0]
        graph = batch.graph
        nodes = self.gnn(graph.x, graph.edge_index, graph.edge_attr)
        h_graph = _POOLS[self.pooling](nodes, graph.batch)
        out: torch.Tensor = self.head(self.dropout(torch.cat([h_cls, h_graph], dim=1)))
        return out


# ----------------------------------------------------------------------------------------------- helpers


def _extra(encoder_config: dict[str, Any] | None, family: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the family recorded to rebuild itself, the rest: a transformers config or nothing)."""
    rest = dict(encoder_config or {})
    extra = rest.pop(REBUILD_EXTRA_KEY, None)
    if not isinstance(extra, dict):
        raise CheckpointError(f"model {family!r}: the saved file lacks {REBUILD_EXTRA_KEY!r} in its encoder_config")
    return extra, rest


def _record(built: BuiltModel, family: str, checkpoint: DualViewCheckpoint, used: Path, random_init: bool) -> None:
    """The run config's view of a dual-view start: the family, the checkpoint, and its pretraining cost."""
    built.info["family"] = family
    built.info["dual_view_checkpoint"] = str(checkpoint.path)
    built.info["sequence_tokens"] = checkpoint.meta.get("sequence_tokens")
    built.info["graph_model"] = checkpoint.graph_model
    if not random_init:
        built.info.update(checkpoint_info(used, checkpoint.format, checkpoint.provenance))


def _sequence_family(kind: str) -> SequenceTransformerFamily:
    return SequenceTransformerFamily(SEQ, cast(Any, kind), pretrained=True)


# ----------------------------------------------------------------------------------------------- families


class DualViewSequenceFamily(ModelFamily):
    """``dual-view-seq``: the dual-view checkpoint's RoBERTa, fine-tuned like ``smiles-mlm``."""

    name = SEQ
    description = "RoBERTa sequence encoder of `greenft pretrain dual-view` (MLM + graph consistency)"

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[SequenceItem]:
        return encode_sequences(smiles, labels, None)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[SequenceItem]:
        return encode_sequences(smiles, np.full((len(smiles), num_tasks), np.nan), None)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return SequenceLoader(items, batch_size, shuffle, generator)

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        from greenft.models.sequence.checkpoint import read_sequence_checkpoint

        checkpoint = dual_view_checkpoint(config)
        kind = read_sequence_checkpoint(checkpoint.sequence_dir).tokenizer.kind
        inner = _sequence_family(kind)
        built = inner.build(config.model_copy(update={"checkpoint": checkpoint.sequence_dir}), num_tasks)
        model: Any = built.model  # a SequencePropertyModel: its adapter reads the texts from now on
        model.tokenizer = TextBatchTokenizer(model.tokenizer.tokenizer)
        setattr(model, REBUILD_EXTRA_ATTRIBUTE, {"sequence_tokens": kind})
        _record(built, self.name, checkpoint, checkpoint.sequence_dir, config.random_init)
        return built

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        extra, rest = _extra(encoder_config, self.name)
        kind = str(extra["sequence_tokens"])
        model: Any = _sequence_family(kind).build_for_weights(config, num_tasks, vocabulary, rest or None)
        model.tokenizer = TextBatchTokenizer(model.tokenizer.tokenizer)
        setattr(model, REBUILD_EXTRA_ATTRIBUTE, extra)
        return cast(nn.Module, model)


class DualViewGraphFamily(ModelFamily):
    """``dual-view-graph``: the dual-view checkpoint's GNN (GIN or GCN), fine-tuned like ``gin-contrastive``."""

    name = GRAPH
    description = "GIN/GCN graph encoder of `greenft pretrain dual-view` (NT-Xent + sequence consistency)"

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[Data]:
        return featurise(smiles, labels, cache_dir, HU2020)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[Data]:
        return _GIN.encode_unlabelled(smiles, num_tasks)

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return _GIN.loader(items, batch_size, shuffle, generator)

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        checkpoint = dual_view_checkpoint(config)
        base = GraphFamily(layout_of_model(checkpoint.graph_model))
        update = {"checkpoint": checkpoint.graph_dir / ENCODER_FILE}
        built = base.build(config.model_copy(update=update), num_tasks)
        built.info["base_model"] = base.name
        setattr(built.model, REBUILD_EXTRA_ATTRIBUTE, {"graph_model": base.name})
        _record(built, self.name, checkpoint, checkpoint.graph_dir, config.random_init)
        return built

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        extra, _ = _extra(encoder_config, self.name)
        model = GraphFamily(layout_of_model(str(extra["graph_model"]))).build_for_weights(config, num_tasks, None, None)
        setattr(model, REBUILD_EXTRA_ATTRIBUTE, extra)
        return model


class DualViewBothFamily(ModelFamily):
    """``dual-view-both``: both encoders of the dual-view checkpoint, embeddings concatenated into one head."""

    name = BOTH
    description = "RoBERTa + GIN/GCN of `greenft pretrain dual-view`, [h_cls; pooled graph] -> linear head"

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[DualViewItem]:
        graphs = featurise(smiles, labels, cache_dir, HU2020)
        return [DualViewItem(text, graph) for text, graph in zip(smiles, graphs, strict=True)]

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[DualViewItem]:
        items = []
        with rdkit_quiet():
            for text in smiles:
                graph = HU2020.smiles_to_graph(text)
                graph.y = torch.full((1, num_tasks), float("nan"))
                items.append(DualViewItem(text, graph))
        return items

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return CollatingLoader(items, batch_size, shuffle, generator, collate_dual_view)

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        checkpoint = dual_view_checkpoint(config)
        sequence = DualViewSequenceFamily().build(config, num_tasks)
        layers, width = checkpoint.graph_sizes
        # the graph half at its own sizes, without the transformer's options (no warnings about options it ignores)
        default_length = ModelConfig.model_fields["max_length"].default
        update = {"num_layers": layers, "emb_dim": width, "num_heads": None, "max_length": default_length}
        graph_config = config.model_copy(update={**update, "checkpoint": checkpoint.path})
        graph = DualViewGraphFamily().build(graph_config, num_tasks)
        halves: tuple[Any, Any] = (sequence.model, graph.model)  # SequencePropertyModel, GraphPropertyModel
        seq, gnn = halves
        model = DualViewPropertyModel(seq.encoder, seq.tokenizer, gnn.gnn, num_tasks, config.pooling, config.dropout)
        kind = str(checkpoint.meta["sequence_tokens"])
        setattr(
            model,
            REBUILD_EXTRA_ATTRIBUTE,
            {"sequence_tokens": kind, "graph_model": checkpoint.graph_model, "graph_sizes": [layers, width]},
        )
        init = "random" if config.random_init else f"pretrained:{checkpoint.path}"
        info = {
            key: sequence.info[key]
            for key in ("architecture", "num_layers", "emb_dim", "num_heads", "max_length", "tokenizer")
        }
        info.update(init=init, graph_num_layers=layers, graph_emb_dim=width, parameters=count_parameters(model))
        built = BuiltModel(model, init, info, sequence.applied)
        _record(built, self.name, checkpoint, checkpoint.path, config.random_init)
        return built

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        extra, rest = _extra(encoder_config, self.name)
        sequence_config = {**rest, REBUILD_EXTRA_KEY: {"sequence_tokens": extra["sequence_tokens"]}}
        sequence = DualViewSequenceFamily().build_for_weights(config, num_tasks, vocabulary, sequence_config)
        layers, width = (int(v) for v in extra["graph_sizes"])
        gnn = graph_encoder(str(extra["graph_model"]), layers, width, config.dropout)
        seq: Any = sequence  # a SequencePropertyModel with a TextBatchTokenizer
        model = DualViewPropertyModel(seq.encoder, seq.tokenizer, gnn, num_tasks, config.pooling, config.dropout)
        setattr(model, REBUILD_EXTRA_ATTRIBUTE, extra)
        return model


def dual_view_families() -> list[ModelFamily]:
    return [DualViewSequenceFamily(), DualViewGraphFamily(), DualViewBothFamily()]
