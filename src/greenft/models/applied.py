"""Which model options a checkpoint (or the model family) decides, and what the run config records when it does.

A pretrained encoder, whether a graph checkpoint, greenft's MLM checkpoint or a hub model, brings its
architecture, so the sizes in ``model`` cannot apply to it. Before this module the run config recorded
``model.num_layers: 3, emb_dim: 64`` for a run that trained a 5 x 300 checkpoint: a silent wrong result for
anyone who groups or compares runs by their config. The decision per option (docs/models.md, "Options a
checkpoint decides"):

* ``num_layers``, ``emb_dim``, ``num_heads`` unlike the checkpoint's, and ``max_length`` beyond its positions:
  the checkpoint's value is used *and recorded* in the run config, with a ``warning:`` line when the value was
  given (not the default). Not refused, because W&B sweeps have no conditional parameters: a grid over
  ``model: [gin, gin-contrastive]`` with ``num_layers: [3, 5]`` sizes its random-init arm and cannot leave the
  pretrained arm out, and refusing would crash every pretrained trial of such a sweep.
* ``num_heads`` / ``max_length`` given to a graph model: not used; the run config records the defaults (as for
  every other graph run) and a warning says so, for the same sweep reason.
* ``checkpoint_format`` on a sequence model or without a checkpoint: refused (:class:`ModelOptionError`). It says
  how to read a graph checkpoint that is not read at all: a misunderstanding about which weights train.
* ``pooling`` and ``dropout`` always apply: the head is new and dropout is set on the loaded encoder.

A value equal to the default cannot be told apart from no value (a sweep worker receives a full config), so
``--layers 3`` with a 5-layer checkpoint is recorded as 5 without a warning. Pure: no files are read here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from greenft.errors import GreenftWarning
from greenft.models.config import ModelConfig
from greenft.models.errors import ModelOptionError

FLAGS: dict[str, str] = {
    "num_layers": "--layers",
    "emb_dim": "--emb-dim",
    "num_heads": "--heads",
    "max_length": "--max-length",
    "checkpoint_format": "--checkpoint-format",
    "cutoff": "--cutoff",
    "num_rbf": "--num-rbf",
    "neighbor_cutoff": "--neighbor-cutoff",
}
"""The ``greenft train`` flag of each option named here (the alias table lives above this layer)."""


def default_of(name: str) -> Any:
    return ModelConfig.model_fields[name].default


def _option(name: str, value: Any) -> str:
    return f"model.{name} = {value!r} ({FLAGS[name]})"


def _warn(message: str) -> None:
    warnings.warn(GreenftWarning(message), stacklevel=3)


def architecture_applied(
    config: ModelConfig, source: str, actual: Mapping[str, int], max_length: int | None = None
) -> dict[str, Any]:
    """The model options ``source`` (a checkpoint, a hub model) decided, as ``{field: value that applied}``.

    ``actual`` holds the source's sizes (``num_layers``, ``emb_dim``, ``num_heads``); ``max_length`` the
    longest input it takes, when it has one. Warns (:class:`~greenft.errors.GreenftWarning`) for each given
    value it replaces.
    """
    applied: dict[str, Any] = {name: value for name, value in actual.items() if getattr(config, name) != value}
    if max_length is not None and config.max_length > max_length:
        applied["max_length"] = max_length
    given = {name: getattr(config, name) for name in applied if getattr(config, name) != default_of(name)}
    if given:
        options = ", ".join(f"{_option(name, value)}" for name, value in given.items())
        used = ", ".join(f"{name} {applied[name]}" for name in given)
        _warn(
            f"{options} not applied: {source} has {used} (its architecture wins over the sizes); the run config "
            "records what trained"
        )
    return applied


THREE_D_OPTIONS = ("cutoff", "num_rbf", "neighbor_cutoff")
"""The options only a 3D model (schnet) reads: the distances' cutoff and expansion, the neighbour list."""


def three_d_options_unused(config: ModelConfig, model: str) -> dict[str, Any]:
    """A 3D model's options given to a model without coordinates: recorded at their defaults, with a warning (not
    refused, for the sweep reason above: a grid over ``model: [gin, schnet]`` with ``cutoff: [4, 5]``)."""
    given = {name: getattr(config, name) for name in THREE_D_OPTIONS if getattr(config, name) != default_of(name)}
    if given:
        options = ", ".join(_option(name, value) for name, value in given.items())
        _warn(
            f"{options} not applied: {model!r} reads no 3D coordinates (schnet only); the run config records the "
            "defaults"
        )
    return {name: default_of(name) for name in given}


def options_of_other_families(
    config: ModelConfig,
    model: str,
    graph: bool,
    has_checkpoint: bool,
    norm_pooling: bool = False,
    three_d: bool = False,
) -> dict[str, Any]:
    """Options the model ``model`` never reads: ``checkpoint_format`` without a graph checkpoint is refused; a
    transformer's options on a graph model, and a 3D model's on any other (``three_d`` False), are recorded at
    their defaults, with a warning when given. ``pooling = norm`` (chemprop's aggregation) is refused unless the
    model has it (``norm_pooling``)."""
    unused_3d = {} if three_d else three_d_options_unused(config, model)
    if config.pooling == "norm" and not norm_pooling:
        raise ModelOptionError(
            f"model.pooling = 'norm' (--pooling): chemprop's aggregation, for model 'chemprop-dmpnn' only; {model!r} "
            "takes mean, sum or max"
        )
    if config.checkpoint_format != default_of("checkpoint_format"):
        option = _option("checkpoint_format", config.checkpoint_format)
        if not graph:
            raise ModelOptionError(
                f"{option} applies to graph checkpoints only; {model!r} reads a transformers checkpoint directory "
                "(leave the option out)"
            )
        if not has_checkpoint:
            raise ModelOptionError(
                f"{option} needs a checkpoint (--checkpoint); {model!r} without one starts from random weights"
            )
    if not graph:
        return unused_3d
    unused = {name: getattr(config, name) for name in ("num_heads", "max_length")}
    given = {name: value for name, value in unused.items() if value != default_of(name)}
    if given:
        options = ", ".join(_option(name, value) for name, value in given.items())
        _warn(
            f"{options} not applied: {model!r} is a graph model (transformers only); the run config records the "
            "defaults"
        )
    return {**unused_3d, **{name: default_of(name) for name in given}}
