"""W&B sweep parameters -> a validated trial config.

A W&B sweep hands each trial a flat mapping (``wandb.config``): ``{"model": "gin", "dataset": "bbbp",
"alpha": 0.9, "beta": 0.2, "warmup": 3, "seed": 1, "lr": 1e-3}``. Sweep YAMLs stay short with these flat
names; any field of :class:`~greenft.agents.config.TrialConfig` can also be given by its dotted path
(``optim.weight_decay``, ``tracking.country_iso_code``). Unknown names are an error, not silently ignored: a
typo in a sweep would otherwise run a whole grid with the default value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greenft.agents.config import ConfigError, TrialConfig, deep_update, parse_trial_config

FLAT_NAMES: dict[str, str] = {
    "dataset": "data.dataset",
    "split": "data.split",
    "limit": "data.limit",
    "model": "model.name",
    "num_layers": "model.num_layers",
    "emb_dim": "model.emb_dim",
    "dropout": "model.dropout",
    "pooling": "model.pooling",
    "checkpoint": "model.checkpoint",
    "lr": "optim.lr",
    "weight_decay": "optim.weight_decay",
    "batch_size": "optim.batch_size",
    "max_epochs": "optim.max_epochs",
    "epochs": "optim.max_epochs",
    "rule": "stopping.rule",
    "alpha": "stopping.alpha",
    "beta": "stopping.beta",
    "warmup": "stopping.warmup",
    "W": "stopping.warmup",
    "epsilon": "stopping.epsilon",
    "patience": "stopping.patience",
    "min_delta": "stopping.min_delta",
    "country": "tracking.country_iso_code",
}
_RULE_OF_PARAMETER = {"alpha": "anges", "beta": "anges", "warmup": "anges", "epsilon": "anges"}
_RULE_OF_PARAMETER.update(patience="patience", min_delta="patience")


def _nest(params: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in params.items():
        path = FLAT_NAMES.get(key, key)
        head, *rest = path.split(".")
        if head not in TrialConfig.model_fields:
            known = ", ".join(sorted(FLAT_NAMES))
            raise ConfigError(
                f"unknown sweep parameter {key!r}; use one of {known} or a dotted TrialConfig path (e.g. optim.lr)"
            )
        node = nested
        for part in [head, *rest][:-1]:
            node = node.setdefault(part, {})
        node[[head, *rest][-1]] = value
    return nested


def trial_config_from_sweep(params: Mapping[str, Any], base: TrialConfig | None = None) -> TrialConfig:
    """Validate a sweep's parameters on top of ``base`` (defaults when omitted).

    When parameters of one rule are given without ``rule`` (e.g. only ``alpha``/``beta``), that rule is meant.
    """
    nested = _nest(params)
    stopping = nested.get("stopping", {})
    if stopping and "rule" not in stopping:
        rules = {_RULE_OF_PARAMETER[name] for name in stopping if name in _RULE_OF_PARAMETER}
        if len(rules) == 1:
            stopping["rule"] = rules.pop()
    base_dict = (base or TrialConfig()).model_dump(mode="json")
    if "stopping" in nested and nested["stopping"].get("rule") != base_dict["stopping"]["rule"]:
        base_dict["stopping"] = {}  # another rule's fields must not leak into this one
    return parse_trial_config(deep_update(base_dict, nested), "W&B sweep parameters")
