"""One way to change a trial config: a YAML file (or the defaults), then values by flat name or dotted path.

Why one module: ``greenft train`` and the sweeps used to merge their values with two pieces of code and two
alias lists, and only the sweeps' merge dropped the old rule's fields when the rule changed (so ``--patience 3``
on top of an AN-GES YAML failed). Here is the one alias table, :func:`overrides`, from which both the sweeps'
flat names and ``greenft train``'s flags are made, and the one merge, :func:`apply_overrides`, they both call.

* A flat name (``lr``, ``alpha``, ``W``) stands for a dotted path (``optim.lr``); every field can also be named
  by its path (``optim.weight_decay``). An unknown name or path is an error naming it, never ignored: a typo in
  a sweep would otherwise run a whole grid with the default value.
* The stopping rows come from the rule table (:data:`greenft.stopping.RULES`): every registered rule's
  parameters are flat names, and a rule's parameter given alone means that rule (``patience: 3`` on an AN-GES
  base gives the patience rule). A parameter two rules share means the base's rule when it has it, else the
  first in the table: ``alpha`` is AN-GES's, and ``anges-pp``'s too on an ``anges-pp`` base (select it with
  ``--rule anges-pp``, or with one of its own parameters such as ``--smoothing``). When the rule changes, the
  base's rule fields are dropped, not mixed in.
* ``data.file`` given without ``data.dataset`` means that file (``dataset: file``).

Pure: no files are read here (the YAML base comes in as a :class:`TrialConfig`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from greenft.agents.config import ConfigError, TrialConfig, deep_update, nearest, parse_trial_config
from greenft.schema.codec import tidy
from greenft.stopping import RULES, RuleConfig

__all__ = [
    "Override",
    "Switch",
    "apply_overrides",
    "field_at",
    "flat_names",
    "overrides",
    "parse_assignments",
    "resolve",
    "tidy",
    "value_type",
]


@dataclass(frozen=True)
class Switch:
    """A two-valued field shown on the command line as a flag pair, e.g. ``--shadow/--live`` for ``mode``."""

    on: str
    off: str
    on_value: Any = True
    off_value: Any = False


@dataclass(frozen=True)
class Override:
    """One row of the alias table: a flat name (also the CLI flag, ``--name-with-dashes``) for a config path."""

    name: str
    path: str
    help: str
    switch: Switch | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


_FIXED_HEAD: tuple[Override, ...] = (
    Override("dataset", "data.dataset", "built-in dataset (greenft datasets list)"),
    Override("data_file", "data.file", "your own CSV/TSV/SDF instead of a built-in set"),
    Override("smiles_column", "data.smiles_column", "SMILES column of --data-file"),
    Override("target_column", "data.target_columns", "target column(s) of --data-file (repeat)"),
    Override("target", "data.target", "built-in sets: target(s) by name, comma-separated (qm9: U0, homo, gap, ...)"),
    Override("task_type", "data.task_type", "inferred from the labels when omitted"),
    Override(
        "metric",
        "data.metric",
        "drives stopping: roc_auc, prc_auc, accuracy, f1, mcc (classification); rmse, mae, r2 (regression)",
    ),
    Override("extra_metric", "data.extra_metrics", "a metric logged beside --metric, val and test (repeat)"),
    Override("split", "data.split", "scaffold (deterministic), random_scaffold, random"),
    Override("split_file", "data.split_file", "chemprop-style JSON of train/val/test row indices (0-based file rows)"),
    Override("split_index", "data.split_index", "which split of a --split-file holding a list (0-based)"),
    Override("split_column", "data.split_column", "column of the data file holding train / val / test per row"),
    Override("test_file", "data.test_file", "separate labelled test file; the data are split into train/val"),
    Override("limit", "data.limit", "use a fixed random sample of N molecules"),
    Override("model", "model.name", "model registry name"),
    Override("layers", "model.num_layers", "encoder layers"),
    Override("emb_dim", "model.emb_dim", "hidden width"),
    Override("heads", "model.num_heads", "attention heads (transformers, graphormer)"),
    Override("max_length", "model.max_length", "tokens per molecule incl. <s> </s> (transformers)"),
    Override("dropout", "model.dropout", "dropout"),
    Override("cutoff", "model.cutoff", "3D models (schnet): interaction cutoff, Angstrom (the seed's trainingCutoff)"),
    Override("num_rbf", "model.num_rbf", "3D models (schnet): Gaussian radial basis functions of the distances"),
    Override(
        "neighbor_cutoff", "model.neighbor_cutoff", "3D models: neighbour-list radius, Angstrom (the seed's dataCutoff)"
    ),
    Override("pooling", "model.pooling", "graph readout"),
    Override("checkpoint", "model.checkpoint", "pretrained encoder checkpoint"),
    Override(
        "random_init",
        "model.random_init",
        "keep a pretrained model's architecture, fresh weights",
        Switch("--random-init", "--pretrained-init"),
    ),
    Override("checkpoint_format", "model.checkpoint_format", "format of --checkpoint; auto detects it"),
    Override("rule", "stopping.rule", "stopping rule"),
    Override("monitor", "stopping.monitor", "every rule: watch the validation metric, or the loss (minimised)"),
)
_FIXED_TAIL: tuple[Override, ...] = (
    Override("mode", "mode", "train the full budget, record rules", Switch("--shadow", "--live", "shadow", "live")),
    Override("deploy", "deploy", "weights saved at the end: best (best val so far) or last"),
    Override("save_models", "save_models", "saved models: both (model_best.pt, model_stop.pt), best, stop, none"),
    Override("max_epochs", "optim.max_epochs", "epoch budget"),
    Override("lr", "optim.lr", "learning rate"),
    Override("weight_decay", "optim.weight_decay", "adam: L2 penalty in the gradient; adamw: decoupled decay"),
    Override("optimizer", "optim.optimizer", "adam or adamw (decoupled weight decay)"),
    Override("loss", "optim.loss", "mse, l1 or huber (regression), bce, cross_entropy (multiclass); unset: the task's"),
    Override("batch_size", "optim.batch_size", "batch size"),
    Override("lr_schedule", "optim.lr_schedule", "constant or noam (chemprop's warm-up + decay); unset: the model's"),
    Override("warmup_epochs", "optim.warmup_epochs", "noam: epochs of linear lr warm-up"),
    Override("seed", "seed", "seed for split, init and batches"),
    Override("device", "device", "auto: CUDA when available"),
    Override("threads", "threads", "torch CPU threads"),
    Override("wandb_mode", "logging.wandb_mode", "W&B mode"),
    Override("project", "logging.project", "W&B project"),
    Override("runs_dir", "logging.runs_dir", "where run files go (default ./runs)"),
    Override(
        "country",
        "tracking.country_iso_code",
        "ISO-3 country for grid carbon intensity (default: your .codecarbon.config or CODECARBON_COUNTRY_ISO_CODE, "
        "else USA)",
    ),
    Override("meter", "tracking.meter", "codecarbon, or wallclock (time only, no emissions)"),
)
_OLDER_NAMES: dict[str, str] = {"num_layers": "layers", "epochs": "max_epochs", "W": "warmup"}
"""Further flat names that sweep files written before the table use; the command line has one flag per field."""


def overrides() -> tuple[Override, ...]:
    """The alias table: fixed rows, with every registered rule's parameters after ``rule``.

    Built on each call from :data:`~greenft.stopping.RULES`, so a rule registered later has its flat names too.
    """
    taken = {row.name for row in (*_FIXED_HEAD, *_FIXED_TAIL)}
    rules: list[Override] = []
    for spec in RULES:
        for name in spec.parameters:
            if name not in taken:
                taken.add(name)
                described = spec.config.model_fields[name].description or name
                owners = " / ".join(other.name for other in RULES if name in other.parameters)  # anges / anges-pp
                rules.append(Override(name, f"stopping.{name}", f"{owners} rule: {described}"))
    return (*_FIXED_HEAD, *rules, *_FIXED_TAIL)


def flat_names() -> dict[str, str]:
    """Every flat name (older spellings included) and the dotted path it stands for."""
    table = {row.name: row.path for row in overrides()}
    return {**table, **{old: table[new] for old, new in _OLDER_NAMES.items()}}


# ------------------------------------------------------------------------------------------ config paths


def _children(info: FieldInfo) -> Mapping[str, FieldInfo] | None:
    """The fields below a field: a section's, every rule's for ``stopping``, none for a value."""
    kind = info.annotation
    if isinstance(kind, type) and issubclass(kind, RuleConfig):
        return RULES.fields()
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind.model_fields
    return None


def field_at(path: str) -> FieldInfo:
    """The :class:`TrialConfig` field at a dotted path; :class:`ConfigError` naming the part that is unknown."""
    fields: Mapping[str, FieldInfo] | None = TrialConfig.model_fields
    info: FieldInfo | None = None
    walked: list[str] = []
    for part in path.split("."):
        where = ".".join(walked) or "the trial config"
        if fields is None:
            raise ConfigError(f"{where} is a value, it has no field {part!r}")
        info = fields.get(part)
        if info is None:
            raise ConfigError(f"{where} has no field {part!r} (it has {', '.join(fields)})")
        walked.append(part)
        fields = _children(info)
    assert info is not None  # a path has at least one part
    return info


def value_type(path: str) -> Any:
    """The type a value at ``path`` has, without ``None``: what a command-line option for it parses."""
    if path == "stopping.rule":
        return Literal.__getitem__(RULES.names())
    kind: Any = field_at(path).annotation
    if get_origin(kind) in (Union, type(int | None)):
        rest = tuple(arg for arg in get_args(kind) if arg is not type(None))
        return rest[0] if len(rest) == 1 else Union.__getitem__(rest)
    return kind


def resolve(name: str, what: str = "setting") -> str:
    """The dotted path a flat name or path stands for; ``ConfigError`` when it names no field."""
    names = flat_names()
    path = names.get(name, name)
    try:
        field_at(path)
    except ConfigError as err:
        hint = nearest(name, _all_paths()) if "." in name else nearest(name, names)
        flat = "" if "." in name else f"; flat names: {', '.join(sorted(names))}"
        raise ConfigError(f"unknown {what} {name!r}: {err}{hint}{flat}") from None
    return path


def _all_paths() -> list[str]:
    """Every dotted path of the trial config (sections and values): what a misspelt path is compared with."""
    paths: list[str] = []

    def walk(prefix: str, fields: Mapping[str, FieldInfo]) -> None:
        for name, info in fields.items():
            path = f"{prefix}{name}"
            paths.append(path)
            children = _children(info)
            if children is not None:
                walk(path + ".", children)

    walk("", TrialConfig.model_fields)
    return paths


# ------------------------------------------------------------------------------------------------ merging


def _nest(values: Mapping[str, Any], what: str) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name, value in tidy(dict(values)).items():
        *parents, leaf = resolve(name, what).split(".")
        node = nested
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf] = deep_update(node[leaf], copy.deepcopy(value))
        else:
            node[leaf] = copy.deepcopy(value)
    return nested


def apply_overrides(
    base: TrialConfig | None, values: Mapping[str, Any], source: str, what: str = "setting"
) -> TrialConfig:
    """``base`` (the defaults when ``None``) with ``values`` (flat names or dotted paths) on top, validated.

    ``source`` names where the values came from in error messages; ``what`` names one value ("sweep parameter").
    """
    nested = _nest(values, what)
    base = base or TrialConfig()
    merged = base.model_dump(mode="json")
    if "split" not in base.data.model_fields_set and "split" not in (nested.get("data") or {}):
        merged["data"].pop("split")  # not given anywhere: the dataset's own default applies (qm9: random)
    stopping = nested.get("stopping")
    if isinstance(stopping, dict) and stopping:
        owners = RULES.owners_of(stopping)
        if "rule" not in stopping and owners and merged["stopping"]["rule"] not in owners:
            stopping["rule"] = owners[0]  # the base's rule keeps fields it has (alpha on anges-pp stays anges-pp)
        _check_rule_fields(stopping, values, what)
        if stopping.get("rule", merged["stopping"]["rule"]) != merged["stopping"]["rule"]:
            merged["stopping"] = {}  # another rule's fields must not leak into this one
    data = nested.get("data")
    if isinstance(data, dict) and data.get("file") is not None and data.get("dataset", "file") != "file":
        raise ConfigError(
            f"{source}: dataset = {data['dataset']!r} and data file = '{data['file']}' name two datasets; give one"
        )
    if isinstance(data, dict) and data.get("file") is not None and "dataset" not in data:
        data["dataset"] = "file"
    if isinstance(data, dict) and data.get("dataset") not in (None, "file") and "file" not in data:
        # a built-in dataset named here replaces the base's file, as a rule named here replaces the base's rule
        merged["data"].update(file=None, smiles_column=None, target_columns=[])
    return parse_trial_config(deep_update(merged, nested), source)


def _check_rule_fields(stopping: Mapping[str, Any], values: Mapping[str, Any], what: str) -> None:
    """A rule parameter given beside a rule that does not have it (``--rule patience --alpha 0.5``): one line
    naming both, rather than pydantic's "extra inputs are not permitted" under a path nobody wrote."""
    rule = stopping.get("rule")
    if not isinstance(rule, str) or rule not in RULES:
        return
    own = set(RULES[rule].config.model_fields)
    for field_name in stopping:
        owner = RULES.owner_of([field_name])
        if field_name not in own and owner is not None:
            given = next((n for n in values if flat_names().get(n, n) == f"stopping.{field_name}"), field_name)
            raise ConfigError(
                f"{what} {given!r} (stopping.{rule}.{field_name}) is a parameter of stopping rule {owner!r}, but "
                f"the rule is {rule!r}: drop {given!r} or set rule {owner!r}"
            )


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``["optim.lr=0.01", "stopping.rule=none"]`` as ``{path: value}``, each value read as a YAML scalar.

    The names are checked against the config (an unknown one is a :class:`ConfigError` naming it), so a typo
    fails before any work starts.
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {item!r}: expected dotted.path=value (e.g. optim.lr=0.001)")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        out[resolve(name.strip())] = value
    return out
