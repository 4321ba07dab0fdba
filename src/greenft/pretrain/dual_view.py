"""Dual-view pretraining (``greenft pretrain dual-view``): a RoBERTa and a MolCLR-style GNN on the same molecules.

The thesis's ``MolecularBertGraph`` (seeds/roberta-molclr-dual-view.ru.txt, section 5.5), one optimiser over
both encoders and three losses per batch::

    loss = mlm_weight * L_mlm + contrastive_weight * L_ntxent + consistency_weight * L_consistency

* ``L_mlm``: masked-LM cross entropy on the masked sequence view (:mod:`greenft.pretrain.mlm`'s masking);
* ``L_ntxent``: NT-Xent between two augmented graph views (:mod:`greenft.pretrain.contrastive`'s augmentations,
  temperature and projection head, unchanged);
* ``L_consistency = mean(2 (1 - cos(h_cls, W [h_g1; h_g2])))``: ``h_cls`` is the sequence encoder's **last**
  layer at ``<s>`` (RoBERTa's [CLS]), ``h_g1``/``h_g2`` the mean-pooled graph embeddings of the two views
  (before the projection head, MolCLR's ``h``), ``W`` a learned ``Linear(2 graph width -> sequence width)``.
  The thesis's code took ``hidden_states[0]``, the *embedding layer's* output at [CLS]: that vector is the same
  learned ``<s>`` embedding (plus position 0) for every molecule, so the loss could only align one constant
  vector with all graphs; the last layer is what reads the molecule, and what ``dual-view-both`` fine-tunes.

Randomness (the masking, both views' augmentations) is drawn from the runner's per-step generator and dropout
from its per-step seed, so a resumed run computes exactly what an uninterrupted one does. Each step's three
terms are in :attr:`DualViewTask.last_terms`, which the runner logs beside the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.data.corpus import Corpus
from greenft.data.graph_cache import featurise
from greenft.models.dual_view_checkpoint import write_dual_view_checkpoint
from greenft.models.graph_layouts import graph_encoder, layout_of_model
from greenft.models.pretrained_graph import graph_checkpoint_saver
from greenft.models.sequence.checkpoint import save_sequence_checkpoint
from greenft.models.sequence.tokenizers import TokenizerKind, split_molecule
from greenft.pretrain.contrastive import ContrastiveTask, nt_xent
from greenft.pretrain.mlm import IGNORE_INDEX, MlmTask, mask_tokens
from greenft.pretrain.recipes import PretrainConfigError, PretrainSettings

RECIPE = "dual-view"
TERMS = ("loss_mlm", "loss_contrastive", "loss_consistency")


def consistency_loss(h_sequence: torch.Tensor, h_graph: torch.Tensor) -> torch.Tensor:
    """``mean(2 (1 - cos))`` over the batch rows: 0 for aligned vectors, 2 orthogonal, 4 opposite (thesis 5.5)."""
    return (2.0 * (1.0 - nn.functional.cosine_similarity(h_sequence, h_graph, dim=-1))).mean()


def _paired_molecules(smiles: Sequence[str], kind: TokenizerKind) -> list[str]:
    """The corpus molecules the sequence kind can write (both views must exist for every molecule kept)."""
    kept = []
    for text in smiles:
        try:
            split_molecule(text, kind)
        except ValueError:
            continue
        kept.append(text)
    return kept


class DualViewTask:
    """MLM + NT-Xent + consistency over the corpus; what :func:`greenft.pretrain.runner.run_pretraining` steps."""

    def __init__(self, settings: PretrainSettings, corpus: Corpus, cache_dir: Path | None = None) -> None:
        kind: TokenizerKind = settings.sequence_tokens
        molecules = _paired_molecules(corpus.smiles, kind)
        if len(molecules) < 2:
            raise PretrainConfigError(f"dual-view: fewer than 2 corpus molecules can be written as {kind}")
        layout = layout_of_model(settings.graph_model)
        graphs = featurise(molecules, np.zeros((len(molecules), 1)), cache_dir, layout.featurizer)
        torch.manual_seed(settings.seed)
        self.mlm = MlmTask.from_settings(kind, molecules, settings, RECIPE, corpus.provenance())
        graph_layers, graph_width = settings.graph_sizes
        # MolCLR pretrains its GNN without dropout (gin-contrastive's default too); dropout applies to the RoBERTa
        encoder = graph_encoder(settings.graph_model, graph_layers, graph_width, 0.0)
        self.graph_architecture = {"type": settings.graph_model, "num_layers": graph_layers, "emb_dim": graph_width}
        self.save_graph = graph_checkpoint_saver(settings.graph_model, RECIPE, self.graph_architecture)
        self.contrastive = ContrastiveTask(
            graphs,
            encoder,
            self.save_graph,
            self.graph_architecture,
            settings.temperature,
            settings.augmentation_rate,
            settings.augmentations,
        )
        self.projection = nn.Linear(2 * graph_width, settings.emb_dim)
        self.model = nn.ModuleDict(
            {"sequence": self.mlm.model, "graph": self.contrastive.model, "projection": self.projection}
        )
        self.settings = settings
        self.kind = kind
        self.weights = {
            "loss_mlm": settings.mlm_weight,
            "loss_contrastive": settings.contrastive_weight,
            "loss_consistency": settings.consistency_weight,
        }
        self.last_terms: dict[str, float] = {}

    @property
    def num_examples(self) -> int:
        return len(self.mlm.sequences)

    def terms(
        self, indices: Sequence[int], generator: torch.Generator, device: torch.device
    ) -> dict[str, torch.Tensor]:
        """The three losses of one batch (masking first, then the two graph views, from ``generator``)."""
        tokenizer = self.mlm.tokenizer
        input_ids, attention_mask = tokenizer.pad([self.mlm.sequences[i] for i in indices])
        masked, labels = mask_tokens(
            input_ids, attention_mask, self.settings.mask_prob, tokenizer.vocab_size, generator
        )
        # RobertaForMaskedLM's own loss, with the LM head applied to the chosen positions only (the head is
        # position-wise, so the loss is the same; it skips scoring every position against the whole vocabulary)
        model = self.mlm.model
        labels = labels.to(device)
        hidden = model.roberta(input_ids=masked.to(device), attention_mask=attention_mask.to(device)).last_hidden_state
        chosen = labels != IGNORE_INDEX
        mlm = nn.functional.cross_entropy(model.lm_head(hidden[chosen]), labels[chosen])
        h_cls = hidden[:, 0]  # the last layer at <s>
        first, second = self.contrastive.views(indices, generator)
        graph_model = self.contrastive.model
        h1, h2 = graph_model.embed(first.to(device)), graph_model.embed(second.to(device))
        contrastive = nt_xent(graph_model.projection(h1), graph_model.projection(h2), self.settings.temperature)
        consistency = consistency_loss(h_cls, self.projection(torch.cat([h1, h2], dim=1)))
        return {"loss_mlm": mlm, "loss_contrastive": contrastive, "loss_consistency": consistency}

    def loss(self, indices: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor:
        terms = self.terms(indices, generator, device)
        self.last_terms = {name: float(value.detach()) for name, value in terms.items()}
        total: torch.Tensor = sum(
            (self.weights[name] * value for name, value in terms.items()), torch.zeros((), device=device)
        )
        return total

    def save(self, target: Path, provenance: dict[str, Any]) -> Path:
        mlm = self.mlm
        return write_dual_view_checkpoint(
            target,
            lambda d: save_sequence_checkpoint(mlm.model, mlm.tokenizer, d, RECIPE, mlm.architecture, provenance),
            lambda d: self.save_graph(self.contrastive.encoder, d, provenance),
            self.projection.state_dict(),
            {
                "sequence_tokens": self.kind,
                "graph_model": self.settings.graph_model,
                "sequence": mlm.architecture,
                "graph": self.graph_architecture,
                "loss_weights": dict(self.weights),
                "consistency": "2 * (1 - cos(h_cls last layer, W [h_g1; h_g2]))",
                "provenance": provenance,
            },
        )

    def describe(self) -> dict[str, Any]:
        mlm = self.mlm.architecture
        graph = self.graph_architecture
        return {
            "type": "roberta",  # the sequence encoder; the CLI adds the graph one from "graph"
            "num_layers": mlm["num_layers"],
            "emb_dim": mlm["emb_dim"],
            "sequence": {**mlm, "tokens": self.kind},
            "graph": graph,
            "objective": (
                "dual-view: masked LM (sequence) + NT-Xent (two augmented graph views) + consistency "
                "2(1 - cos(h_cls, W [h_g1; h_g2]))"
            ),
            "loss_weights": dict(self.weights),
            "temperature": self.settings.temperature,
            "augmentation_rate": self.settings.augmentation_rate,
            "augmentations": list(self.settings.augmentations),
        }
