"""Sweep YAMLs: W&B's own sweep format, checked against W&B's schema *and* against greenft's trial config.

The same file goes to ``wandb sweep FILE`` (W&B's server runs it) and to ``greenft sweep run FILE`` (the
embedded controller runs it offline), so it may hold only what W&B's schema allows: ``method``, ``metric``,
``parameters``, ``command``, ``early_terminate``, ``run_cap``, ``name``, ``project``... Fixed trial settings
(``limit``, ``threads``, ``max_epochs``) are parameters with a single ``value``.

Why validate here rather than let trials fail: a typo in a parameter name, an unknown model or dataset, or a
metric greenft never logs would otherwise surface only inside every single trial, possibly on a GPU box after
the queue has filled. :func:`load_sweep_spec` rejects such a file before any trial runs, naming the file, the
field and the value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.agents.config import ConfigError, TrialConfig
from greenft.agents.objective import LossTaskError
from greenft.agents.preflight import check_loss_fits_task
from greenft.io import read_yaml_mapping
from greenft.schema import find_key
from greenft.sweeps.params import trial_config_from_sweep

METHODS = ("grid", "random", "bayes")
"""Search methods of W&B's open-source engine; ``custom`` (external schedulers) is not run by greenft."""

_MAX_COMBINATIONS_CHECKED = 20000


class SweepFileError(ConfigError):
    """A sweep YAML that cannot be run; the message names the file, the field and the value."""


def sweep_engine() -> Any:
    """Import W&B's ``sweeps`` engine quietly (it still uses pydantic-v1 config names, which warn on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sweeps.params  # type: ignore[import-untyped]  # binds `sweeps` too

    return sweeps


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def sweep_id_of(raw: Mapping[str, Any]) -> str:
    """A deterministic 8-character id: the same YAML content (name included) resumes the same sweep.

    Formatting and comments do not matter (the parsed content is hashed); changing a value makes a new sweep,
    so a resumed sweep never mixes trials from two search spaces.
    """
    return hashlib.sha256(canonical_json(raw).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file: ``raw`` is what ``wandb sweep`` uploads, ``config`` the engine's filled copy."""

    path: Path
    raw: dict[str, Any]
    config: dict[str, Any]
    name: str
    sweep_id: str

    @property
    def method(self) -> str:
        return str(self.raw["method"])

    @property
    def metric_name(self) -> str | None:
        metric = self.raw.get("metric")
        return str(metric["name"]) if isinstance(metric, dict) and "name" in metric else None

    @property
    def run_cap(self) -> int | None:
        cap = self.raw.get("run_cap")
        return int(cap) if cap is not None else None

    @property
    def early_terminate(self) -> bool:
        return "early_terminate" in self.raw

    @property
    def parameter_names(self) -> list[str]:
        return list(self.raw.get("parameters", {}))

    def wandb_project(self, given: str | None = None) -> str:
        """The W&B project a sweep is registered in: ``given`` (``--project``), else the file's, else ``greenft``
        (``greenft sweep create`` and ``greenft sweep sync`` alike)."""
        return given or str(self.raw.get("project") or "greenft")

    def wandb_entity(self, given: str | None = None) -> str | None:
        """The W&B entity: ``given`` (``--entity``), else the file's, else None (the user's default entity)."""
        entity = self.raw.get("entity")
        return given or (str(entity) if entity else None)

    def grid_size(self) -> int | None:
        """How many points a grid sweep has (None for random/bayes, which never run out by themselves)."""
        if self.method != "grid":
            return None
        return math.prod(len(values) for values in _parameter_values(self.config).values())


def _parameter_values(filled: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Representative values of each parameter: every value of a list, both ends and the middle of a range.

    Unbounded distributions (normal, log-normal) are checked at their median only: their tails reach any value.
    """
    engine = sweep_engine()
    out: dict[str, list[Any]] = {}
    for hp in engine.params.HyperParameterSet.from_config(filled["parameters"]):
        if hp.type == hp.CONSTANT:
            values = [hp.config["value"]]
        elif hp.type in (hp.CATEGORICAL, hp.CATEGORICAL_PROB):
            values = list(hp.config["values"])
        elif "min" in hp.config and "max" in hp.config:
            values = [hp.ppf(q) for q in (1e-9, 0.5, 1.0 - 1e-9)]
        else:
            values = [hp.ppf(0.5)]
        out[hp.name] = [plain(v) for v in values]
    return out


def plain(value: Any) -> Any:
    """numpy scalars and arrays (what the engine proposes) as plain JSON-able Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = read_yaml_mapping(path, "sweep file", SweepFileError, "a mapping (method, parameters, ...)")
    if not raw:
        raise SweepFileError(
            f"{path}: the sweep file has no settings (it is empty or only comments); a sweep needs method and "
            "parameters, e.g. sweeps/quick.yaml"
        )
    return raw


def _one_line(text: object) -> str:
    """A library's message (jsonschema's spans lines) as one line: the CLI prints a user error as one line."""
    return " ".join(str(getattr(text, "message", text)).split())


def _check_schema(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """W&B's JSON schema (the one its server applies) plus the engine's own fill-in of defaults."""
    engine = sweep_engine()
    import jsonschema  # type: ignore[import-untyped]

    try:
        violations = engine.schema_violations_from_proposed_config(raw)
    except ValueError as err:
        violations = [str(err)]
    if violations:
        raise SweepFileError(f"{path}: not a valid W&B sweep config: {'; '.join(_one_line(v) for v in violations)}")
    method = raw.get("method")
    if method not in METHODS:
        raise SweepFileError(f"{path}: method = {method!r}: greenft runs {', '.join(METHODS)}")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise SweepFileError(f"{path}: parameters: at least one parameter is needed")
    try:
        filled: dict[str, Any] = dict(engine.SweepConfig(raw))
    except (jsonschema.ValidationError, ValueError) as err:
        raise SweepFileError(f"{path}: not a valid W&B sweep config: {_one_line(err)}") from None
    dropped = sorted(set(parameters) - set(filled["parameters"]))
    if dropped:
        raise SweepFileError(
            f"{path}: parameters.{dropped[0]}: nested parameter blocks are not supported by the sweep engine; "
            f"use dotted names instead (e.g. optim.weight_decay: {{values: [...]}})"
        )
    if method == "bayes" and "metric" not in raw:
        raise SweepFileError(f"{path}: method = 'bayes' needs a metric (name and goal)")
    if method == "grid":
        for name, spec in filled["parameters"].items():
            if spec.get("distribution") not in ("constant", "categorical", "int_uniform", "q_uniform"):
                raise SweepFileError(
                    f"{path}: parameters.{name}: grid search needs value, values, int_uniform or q_uniform "
                    f"(found distribution {spec.get('distribution')!r})"
                )
    return filled


def _combinations(values: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination when there are few, else each value once on top of the first combination."""
    names = list(values)
    if math.prod(len(v) for v in values.values()) <= _MAX_COMBINATIONS_CHECKED:
        for combo in itertools.product(*(values[n] for n in names)):
            yield dict(zip(names, combo, strict=True))
        return
    first = {n: v[0] for n, v in values.items()}
    yield first
    for name in names:
        for value in values[name][1:]:
            yield {**first, name: value}


def _check_registries(config: TrialConfig) -> None:
    """Model and dataset names exist (a TrialConfig only knows they are strings).

    The model name is checked against :mod:`greenft.models.names`, not the family registry, so validating a
    sweep file does not import torch (seconds) just to read a name.
    """
    from greenft.data import get_dataset_spec
    from greenft.models.names import check_model_name

    check_model_name(config.model.name)
    if config.data.file is None:
        get_dataset_spec(config.data.dataset)


def _dataset_metric(config: TrialConfig) -> str | None:
    from greenft.data import get_dataset_spec

    if config.data.metric is not None:
        return config.data.metric.value
    if config.data.file is not None:
        return None
    return get_dataset_spec(config.data.dataset).metric.value


def _check_metric(path: Path, raw: dict[str, Any], metric_values: set[str | None]) -> None:
    """The sweep metric must be a key greenft logs (docs/logging.md) for every dataset in the sweep."""
    metric = raw.get("metric")
    if not isinstance(metric, dict):
        return
    name = str(metric.get("name", ""))
    logged = find_key(name)
    if logged is None:
        raise SweepFileError(
            f"{path}: metric.name = {name!r} is not a key greenft logs; use a summary key such as "
            "'stop/val_roc_auc' or 'best/val_rmse', or a per-epoch key such as 'val/roc_auc' (docs/logging.md)"
        )
    per_epoch = logged.per_epoch
    suffix = logged.metric
    wrong = sorted(str(m) for m in metric_values if m is not None and suffix is not None and m != suffix)
    if wrong:
        raise SweepFileError(
            f"{path}: metric.name = {name!r} is never logged for datasets scored by {', '.join(wrong)}; "
            "sweep one metric at a time (split the datasets into separate sweeps)"
        )
    if "early_terminate" in raw and not per_epoch:
        raise SweepFileError(
            f"{path}: early_terminate needs a per-epoch metric (e.g. 'val/roc_auc'), found metric.name = {name!r}"
        )


def check_parameters(path: Path, filled: dict[str, Any], base: TrialConfig | None = None) -> set[str | None]:
    """Every parameter name and value must make a valid trial config; returns the datasets' metric names."""
    values = _parameter_values(filled)
    for name, options in values.items():
        for value in options:
            try:
                config = trial_config_from_sweep({name: value}, base)
                _check_registries(config)
            except (ConfigError, KeyError) as err:
                detail = str(err).replace("\n", " ")
                spec = filled["parameters"].get(name, {})
                drawn = "" if spec.get("distribution") in ("constant", "categorical") else f" (drawn from {spec})"
                raise SweepFileError(f"{path}: parameters.{name} = {value!r}{drawn}: {detail}") from None
    metrics: set[str | None] = set()
    for combo in _combinations(values):
        try:
            config = trial_config_from_sweep(combo, base)
            check_loss_fits_task(config)  # a single parameter on the defaults (dataset b3db) cannot tell
        except (ConfigError, LossTaskError) as err:
            shown = ", ".join(f"{k}={v!r}" for k, v in combo.items())
            detail = str(err).replace("\n", " ")
            message = f"{path}: parameters: the combination {shown} is not a valid trial: {detail}"
            raise SweepFileError(message) from None
        metrics.add(_dataset_metric(config))
    return metrics


def load_sweep_spec(path: Path | str, base: TrialConfig | None = None) -> SweepSpec:
    """Read, schema-check and trial-check a sweep YAML; raises :class:`SweepFileError` naming what is wrong."""
    path = Path(path)
    raw = _read_yaml(path)
    filled = _check_schema(path, raw)
    metrics = check_parameters(path, filled, base)
    _check_metric(path, raw, metrics)
    name = str(raw.get("name") or path.stem)
    return SweepSpec(path=path, raw=raw, config=filled, name=name, sweep_id=sweep_id_of(raw))
