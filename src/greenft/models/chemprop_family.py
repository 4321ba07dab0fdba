"""``chemprop-dmpnn``: chemprop v2's D-MPNN as a greenft model family, built from chemprop's own modules.

What is chemprop's: the featuriser (``SimpleMoleculeMolGraphFeaturizer``, v2's default multi-hot atom and bond
features, molecules made by ``chemprop.utils.make_mol``), the batching (``BatchMolGraph``), the message passing
(``BondMessagePassing``), the aggregation (``chemprop.nn.agg``) and the FFN (``RegressionFFN``'s MLP, whose raw
output is one value per task). What is greenft's: the loss (masked BCE-with-logits, or MSE on standardised
targets: :mod:`greenft.agents.fit`, chemprop's own treatment of both), the optimiser (Adam, no weight decay, as
chemprop's ``MPNN.configure_optimizers``) and the Noam schedule (:mod:`greenft.agents.schedule`, this family's
default ``optim.lr_schedule``).

Why greenft's epoch loop (:mod:`greenft.agents.trial`) and not a ``lightning.Trainer`` inside the family: every
greenft feature lives in that loop (CodeCarbon's fit / test phases, every stopping rule and shadow mode, the W&B
schema, deployed and saved models, sweeps' early termination), so a family that trains elsewhere would have to
re-implement each of them. A user who keeps chemprop's own trainer has :mod:`greenft.integrations.lightning`.

Defaults: chemprop 2.2.4's CLI (``chemprop/cli/train.py``) unless the config says otherwise, see
:data:`CHEMPROP_DEFAULTS`. A model option equal to greenft's default counts as not given (a sweep worker and
``greenft train`` receive a full config, so ``model_fields_set`` cannot tell; the same rule as
:mod:`greenft.models.applied`): it takes chemprop's value, and the run config records that value. The optim
defaults already equal chemprop's except ``max_epochs`` (greenft 30, chemprop 50), which is left as configured:
the budget is what greenft's stopping rules and emission forecasts are measured against, and a family that
silently changed it would give the arms of one sweep different budgets. ``--max-epochs 50`` is chemprop's budget.

chemprop costs seconds to import (it imports Lightning and all of its own submodules whichever one is named), so
it is imported inside the methods that need it, never when greenft or its CLI imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.data.rdkit_quiet import rdkit_quiet
from greenft.errors import UserError
from greenft.models import chemprop_cache
from greenft.models.applied import default_of, options_of_other_families
from greenft.models.base import BuiltModel, ModelFamily, count_parameters
from greenft.models.batching import CollatingLoader
from greenft.models.config import LrSchedule, ModelConfig
from greenft.models.errors import ModelOptionError

NAME = "chemprop-dmpnn"

CHEMPROP_DEFAULTS: dict[str, Any] = {
    "num_layers": 3,  # --depth, default [3]
    "emb_dim": 300,  # --message-hidden-dim, default [300]; also --ffn-hidden-dim, default [300]
    "dropout": 0.0,  # --dropout, default 0.0
    "pooling": "norm",  # --aggregation, default "norm" (--aggregation-norm 100)
}
"""chemprop 2.2.4's CLI defaults (``chemprop/cli/train.py``) for the model options greenft has. Fixed at chemprop's
defaults, with no greenft option: ``--ffn-num-layers 1``, ``--aggregation-norm 100``, ``--activation RELU``, no
``--message-bias``, no ``--batch-norm``, bond (not atom) messages, directed. The optim defaults that match
greenft's: ``--batch-size 64``, ``--max-lr 1e-3`` (``optim.lr``), ``--init-lr``/``--final-lr 1e-4``
(``lr_start_ratio``/``lr_end_ratio`` 0.1), ``--warmup-epochs 2``."""

AGGREGATION_NORM = 100.0
FFN_LAYERS = 1
AGGREGATIONS: dict[str, str] = {"mean": "MeanAggregation", "sum": "SumAggregation", "norm": "NormAggregation"}
"""greenft's ``model.pooling`` -> chemprop's aggregation class (``max`` has none in chemprop)."""


class ChempropMissingError(UserError, ImportError):
    """``chemprop-dmpnn`` asked for where chemprop is not installed."""


def chemprop() -> ModuleType:
    """The chemprop package, imported now (seconds), or the one-line error saying how to install it."""
    try:
        return importlib.import_module("chemprop")
    except ImportError:
        raise ChempropMissingError(
            f"model {NAME!r} needs chemprop, which is not installed: pip install 'greenft[chemprop]'"
        ) from None


def chemprop_options(config: ModelConfig) -> dict[str, Any]:
    """The options that train: each one equal to greenft's default takes chemprop's, the others stay."""
    chosen = {
        name: (default if getattr(config, name) == default_of(name) else getattr(config, name))
        for name, default in CHEMPROP_DEFAULTS.items()
    }
    if chosen["pooling"] not in AGGREGATIONS:
        raise ModelOptionError(
            f"model.pooling = {config.pooling!r} (--pooling): chemprop has no such aggregation; {NAME!r} takes "
            f"norm (chemprop's default: the sum over atoms / {AGGREGATION_NORM:g}; also what greenft's default mean "
            "gives here) or sum"
        )
    return chosen


@dataclass(frozen=True)
class ChempropItem:
    graph: Any  # chemprop.data.MolGraph
    y: torch.Tensor  # 1 x tasks, NaN = missing label


@dataclass
class ChempropBatch:
    """What :class:`ChempropDmpnn` takes: chemprop's ``BatchMolGraph`` and ``y`` (molecules x tasks)."""

    bmg: Any  # chemprop.data.BatchMolGraph
    y: torch.Tensor

    def to(self, device: torch.device | str) -> ChempropBatch:
        self.bmg.to(device)  # chemprop moves a BatchMolGraph in place; each pass collates a new one
        return ChempropBatch(self.bmg, self.y.to(device))

    def __len__(self) -> int:
        return int(self.y.shape[0])


class ChempropLoader(CollatingLoader[ChempropItem, ChempropBatch]):
    """Re-iterable batches collated by chemprop's ``BatchMolGraph`` (a new shuffle per pass when ``shuffle``)."""

    def __init__(
        self, items: Sequence[ChempropItem], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> None:
        super().__init__(items, batch_size, shuffle, generator, _collate)


def _collate(chosen: list[ChempropItem]) -> ChempropBatch:
    return ChempropBatch(chemprop().data.BatchMolGraph([i.graph for i in chosen]), torch.cat([i.y for i in chosen]))


class ChempropDmpnn(nn.Module):
    """chemprop's ``MPNN`` forward without Lightning: message passing -> aggregation -> FFN, raw outputs per task.

    The submodules carry ``MPNN``'s names (``message_passing``, ``agg``, ``bn``, ``predictor``), so a state dict
    moves between the two unchanged (tests/models/test_chemprop_family.py proves the outputs equal).
    """

    predictor: Any  # chemprop.nn.RegressionFFN: ``train_step`` gives the raw outputs (no output transform)

    def __init__(self, message_passing: nn.Module, agg: nn.Module, predictor: nn.Module) -> None:
        super().__init__()
        self.message_passing = message_passing
        self.agg = agg
        self.bn = nn.Identity()  # chemprop's default: no --batch-norm
        self.predictor = predictor

    def forward(self, batch: ChempropBatch) -> torch.Tensor:
        nodes = self.message_passing(batch.bmg, None)
        out: torch.Tensor = self.predictor.train_step(self.bn(self.agg(nodes, batch.bmg.batch)))
        return out


def build_dmpnn(options: dict[str, Any], num_tasks: int) -> ChempropDmpnn:
    """chemprop's modules at ``options`` (see :func:`chemprop_options`), random weights, ``num_tasks`` outputs."""
    cp = chemprop()
    featurizer = cp.featurizers.SimpleMoleculeMolGraphFeaturizer()
    message_passing = cp.nn.BondMessagePassing(
        featurizer.atom_fdim,
        featurizer.bond_fdim,
        d_h=options["emb_dim"],
        depth=options["num_layers"],
        dropout=options["dropout"],
    )
    agg_class = getattr(cp.nn, AGGREGATIONS[options["pooling"]])
    agg = agg_class(norm=AGGREGATION_NORM) if options["pooling"] == "norm" else agg_class()
    predictor = cp.nn.RegressionFFN(
        n_tasks=num_tasks,
        input_dim=message_passing.output_dim,
        hidden_dim=options["emb_dim"],
        n_layers=FFN_LAYERS,
        dropout=options["dropout"],
    )
    return ChempropDmpnn(message_passing, agg, predictor)


def featurise(smiles: Sequence[str], labels: np.ndarray) -> list[ChempropItem]:
    """chemprop's molecule graphs (its v2 default features), one per SMILES; a ValueError for one RDKit rejects."""
    cp = chemprop()
    featurizer = cp.featurizers.SimpleMoleculeMolGraphFeaturizer()
    y = torch.tensor(labels, dtype=torch.float32)
    items = []
    with rdkit_quiet():
        for index, text in enumerate(smiles):
            mol = cp.utils.make_mol(text, keep_h=False, add_h=False)  # chemprop's MoleculeDatapoint.from_smi
            if mol is None:
                raise ValueError(f"RDKit cannot read SMILES {text!r}")
            items.append(ChempropItem(featurizer(mol), y[index : index + 1]))
    return items


def featurise_cached(smiles: list[str], labels: np.ndarray, cache_dir: Path | None) -> list[ChempropItem]:
    """:func:`featurise` through the disk cache (:mod:`greenft.models.chemprop_cache`; ``None``: greenft's)."""
    cp = chemprop()
    featurizer = cp.featurizers.SimpleMoleculeMolGraphFeaturizer()
    identity = ["chemprop", cp.__version__, type(featurizer).__name__, featurizer.atom_fdim, featurizer.bond_fdim]
    path = chemprop_cache.cache_path(cache_dir, identity, smiles, labels)
    cached = chemprop_cache.load(path, cp.data.MolGraph)
    if cached is not None:
        graphs, y = cached
        return [ChempropItem(graph, y[i : i + 1]) for i, graph in enumerate(graphs)]
    items = featurise(smiles, labels)
    chemprop_cache.store(path, [item.graph for item in items], torch.cat([item.y for item in items]))
    return items


class ChempropDmpnnFamily(ModelFamily):
    """chemprop v2's D-MPNN (bond message passing), random init, chemprop's defaults unless configured."""

    name = NAME
    description = "chemprop v2 D-MPNN (chemprop's featuriser, BondMessagePassing, aggregation and FFN)"
    default_lr_schedule: LrSchedule = "noam"

    def build(self, config: ModelConfig, num_tasks: int) -> BuiltModel:
        """chemprop's D-MPNN at the options that apply; ``applied`` records those that differ from the config."""
        if config.checkpoint is not None:
            raise ModelOptionError(
                f"model.checkpoint = '{config.checkpoint}' (--checkpoint): {NAME!r} starts from random weights "
                "(greenft reads no chemprop checkpoint); leave the option out"
            )
        applied = options_of_other_families(config, self.name, graph=True, has_checkpoint=False, norm_pooling=True)
        options = chemprop_options(config)
        applied.update({name: value for name, value in options.items() if getattr(config, name) != value})
        model = build_dmpnn(options, num_tasks)
        info: dict[str, Any] = {
            "family": self.name,
            "featurizer": "chemprop SimpleMoleculeMolGraphFeaturizer (v2 multi-hot)",
            "chemprop_version": chemprop().__version__,
            "init": "random",
            "num_layers": options["num_layers"],
            "emb_dim": options["emb_dim"],
            "ffn_hidden_dim": options["emb_dim"],
            "ffn_num_layers": FFN_LAYERS,
            "aggregation": options["pooling"],
            "parameters": count_parameters(model),
        }
        return BuiltModel(model, "random", info, applied)

    def build_for_weights(
        self,
        config: ModelConfig,
        num_tasks: int,
        vocabulary: list[str] | None,
        encoder_config: dict[str, Any] | None,
    ) -> nn.Module:
        """The D-MPNN at the recorded options as they are (the run config recorded what trained, chemprop's
        defaults included, so nothing is resolved again)."""
        options = {name: getattr(config, name) for name in CHEMPROP_DEFAULTS}
        if options["pooling"] not in AGGREGATIONS:
            raise ModelOptionError(f"model.pooling = {config.pooling!r} is no chemprop aggregation")
        return build_dmpnn(options, num_tasks)

    def encode(self, smiles: list[str], labels: np.ndarray, cache_dir: Path | None = None) -> Sequence[ChempropItem]:
        return featurise_cached(smiles, labels, cache_dir)

    def encode_unlabelled(self, smiles: list[str], num_tasks: int) -> Sequence[ChempropItem]:
        """Items for inference, not cached (a prediction must not fill the user's cache with its inputs)."""
        return featurise(smiles, np.full((len(smiles), num_tasks), np.nan))

    def loader(
        self, items: Sequence[Any], batch_size: int, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterable[Any]:
        return ChempropLoader(items, batch_size, shuffle, generator)
