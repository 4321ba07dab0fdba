"""The table of stopping rules: one row per rule, and every other module asks the table.

Why a table: a rule's name, config, defaults, factory and log label used to be written in several places (a
config union, a factory with one branch per rule, a label writer here, a label parser in the analysis, the
sweeps' idea of which parameter belongs to which rule), and the copies drifted. Now each rule describes itself
once, in its own module, with a :class:`RuleSpec` registered in :data:`RULES` (as chemprop's registries and
Optuna's samplers do: a class under a name). Adding a rule is one module (the rule, its config, its row) plus
its tests; trial configs, sweeps, the CLI, replay and the reports pick it up from here.

A row holds:

* ``rule``: the :class:`~greenft.stopping.base.StoppingRule` subclass; its ``name`` is the rule's name.
* ``config``: its pydantic config (a :class:`~greenft.stopping.base.RuleConfig` with ``rule: Literal[name]``).
  The config's field defaults are the rule's defaults, and the factory passes every field to the rule's
  constructor by name, so the constructor must accept them (checked when the row is registered).
* ``label``: the parameters the log label carries, in order (``anges_a0.9_b0.2_w3``); the same description
  writes a label and parses it back, so ``parse_label(label(c)) == c``.

Pure: pydantic and the standard library only.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import reduce
from typing import Annotated, Any

from pydantic import Field, PlainValidator, SerializeAsAny, TypeAdapter
from pydantic.fields import FieldInfo

from greenft.stopping.aer import MetricDirection
from greenft.stopping.base import Monitor, NonFiniteMetricPolicy, RuleConfig, StoppingRule

__all__ = [
    "RULES",
    "LabelPart",
    "RuleSpec",
    "RuleTable",
    "StoppingConfig",
    "build_rule",
    "parse_label",
    "rule_label",
]

_POLICY_SUFFIX = "_nan"  # "_nanskip": a non-default non-finite policy, the same for every rule
_MONITOR_SUFFIX = "_m"  # "_mloss": a non-default monitored signal, the same for every rule (before "_nan...")
_FACTORY_FIELDS = ("rule", "monitor")
"""Config fields the factory applies itself rather than passing to the rule's constructor: ``monitor`` is shared
by every rule and means the same for each (the direction becomes ``min`` and the loss is fed in the metric's
place), so no rule's constructor has to know it."""
BUDGET_ARGUMENT = "budget_epochs"
"""The constructor argument through which a rule that needs the epoch budget (a warm-up given as a fraction of
it) gets the run's ``optim.max_epochs``; passed only to rules whose constructor names it."""


@dataclass(frozen=True)
class LabelPart:
    """One parameter of a rule's label, written as ``tag`` then the value (``a0.9`` for ``alpha``).

    ``always=False`` leaves the parameter out while it has its default, so the labels of the usual configs stay
    short (AN-GES's ``epsilon``); it appears as soon as it changes, so two configs share a label exactly when they
    build the same rule. Floats are written with ``repr`` (the shortest exact form), so a label parses back to
    the very same numbers.
    """

    tag: str
    field: str
    always: bool = True


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class RuleSpec:
    """Everything greenft knows about one rule; registered once in :data:`RULES` by the rule's module."""

    rule: type[StoppingRule]
    config: type[RuleConfig]
    label: tuple[LabelPart, ...] = ()

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def parameters(self) -> tuple[str, ...]:
        """The config's own fields (not ``rule`` nor the fields every rule shares)."""
        return tuple(f for f in self.config.model_fields if f != "rule" and f not in RuleConfig.model_fields)

    def build(self, config: RuleConfig, direction: MetricDirection, budget_epochs: int | None = None) -> StoppingRule:
        """A fresh rule: the constructor gets the direction and every config field by name.

        ``monitor: loss`` builds the rule for a minimised signal and sets it to read the loss. ``budget_epochs``
        (the run's epoch budget) goes only to a constructor that accepts it.
        """
        fields: dict[str, Any] = {
            name: getattr(config, name) for name in type(config).model_fields if name not in _FACTORY_FIELDS
        }
        if BUDGET_ARGUMENT in inspect.signature(self.rule).parameters:
            fields[BUDGET_ARGUMENT] = budget_epochs
        monitor = Monitor(config.monitor)
        rule = self.rule(MetricDirection.MINIMIZE if monitor is Monitor.LOSS else direction, **fields)
        rule.monitor = monitor
        return rule

    def write_label(self, config: RuleConfig) -> str:
        parts = [self.name]
        for part in self.label:
            value = getattr(config, part.field)
            if part.always or value != self.config.model_fields[part.field].default:
                parts.append(f"{part.tag}{_text(value)}")
        monitor = config.monitor
        suffix = "" if monitor is RuleConfig.model_fields["monitor"].default else _MONITOR_SUFFIX + monitor
        policy = config.on_non_finite_metric
        suffix += "" if policy is RuleConfig.model_fields["on_non_finite_metric"].default else _POLICY_SUFFIX + policy
        return "_".join(parts) + suffix

    def read_label(self, parts: list[str]) -> dict[str, Any] | None:
        """The label's parts after the name as raw config fields (strings), or ``None`` if they do not fit."""
        raw: dict[str, Any] = {"rule": self.name}
        rest = list(parts)
        for part in self.label:
            if rest and rest[0].startswith(part.tag):
                raw[part.field] = rest.pop(0).removeprefix(part.tag)
            elif part.always:
                return None
        return raw if not rest else None

    def check(self) -> None:
        """Refuse a row that could not work, when it is registered rather than in the middle of a run."""
        if not self.name or "_" in self.name or ":" in self.name:
            raise ValueError(f"rule name {self.name!r}: give the rule class a non-empty name without '_' or ':'")
        tag = self.config.model_fields.get("rule")
        if tag is None or tag.default != self.name:
            raise ValueError(f"{self.config.__name__} needs a field `rule: Literal[{self.name!r}] = {self.name!r}`")
        accepted = inspect.signature(self.rule).parameters
        missing = [f for f in self.config.model_fields if f not in _FACTORY_FIELDS and f not in accepted]
        if missing:
            raise ValueError(f"{self.rule.__name__}() does not accept the config field(s) {', '.join(missing)}")
        tags = [p.tag for p in self.label]
        for part in self.label:
            if part.field not in self.parameters:
                raise ValueError(f"label part {part.tag!r}: {self.config.__name__} has no field {part.field!r}")
            if any(other != part.tag and other.startswith(part.tag) for other in tags):
                raise ValueError(f"label tag {part.tag!r} is a prefix of another tag; labels would not parse back")


class RuleTable:
    """The registered rules by name, in registration order, and the operations that go through them."""

    def __init__(self) -> None:
        self._specs: dict[str, RuleSpec] = {}
        self._adapter: TypeAdapter[RuleConfig] | None = None

    def register(self, spec: RuleSpec) -> RuleSpec:
        spec.check()
        if spec.name in self._specs:
            raise ValueError(f"a stopping rule named {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        self._adapter = None
        return spec

    def unregister(self, name: str) -> None:
        """Remove a row (tests that register a rule of their own clean up with this)."""
        del self._specs[name]
        self._adapter = None

    def names(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(tuple(self._specs.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __getitem__(self, name: str) -> RuleSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"unknown stopping rule {name!r}; known: {', '.join(self._specs)}") from None

    def spec_of(self, config: RuleConfig) -> RuleSpec:
        for spec in self._specs.values():
            if type(config) is spec.config:
                return spec
        raise TypeError(f"{type(config).__name__} is not the config of a registered stopping rule")

    # --------------------------------------------------------------------------------------- configs

    def validate(self, raw: object) -> RuleConfig:
        """A rule config from a mapping, discriminated by its ``rule`` field; errors as pydantic words them.

        The union is rebuilt from the table whenever a rule is registered, so a rule registered later is as
        valid in a trial config as the built-in ones.
        """
        if isinstance(raw, RuleConfig):
            self.spec_of(raw)
            return raw
        if self._adapter is None:
            configs = [spec.config for spec in self._specs.values()]
            union: Any = reduce(operator.or_, configs)
            if len(configs) > 1:  # a discriminator needs a union; errors then name the tag (stopping.anges.alpha)
                union = Annotated[union, Field(discriminator="rule")]
            self._adapter = TypeAdapter(union)
        return self._adapter.validate_python(raw)

    def fields(self) -> dict[str, FieldInfo]:
        """Every field some rule's config has (``rule`` included): what a path ``stopping.<field>`` may name."""
        out: dict[str, FieldInfo] = {}
        for spec in self._specs.values():
            for name, info in spec.config.model_fields.items():
                out.setdefault(name, info)
        return out

    def owners_of(self, fields: Iterable[str]) -> tuple[str, ...]:
        """Every rule whose parameters include all of ``fields``, in table order (``alpha``: anges, anges-pp).

        Empty when the fields are shared by every rule (``on_non_finite_metric``, ``monitor``) or no rule has
        them all.
        """
        wanted = {f for f in fields if f != "rule" and f not in RuleConfig.model_fields}
        return tuple(spec.name for spec in self._specs.values() if wanted and wanted <= set(spec.parameters))

    def owner_of(self, fields: Iterable[str]) -> str | None:
        """The rule that ``fields`` given alone mean: the first in table order whose parameters include them all.

        ``min_delta`` means ``patience``; ``alpha`` means ``anges`` (registered before ``anges-pp``, which shares
        AN-GES's parameters: its own, such as ``smoothing``, mean ``anges-pp``). A caller whose rule has the
        fields keeps its rule (see :func:`greenft.agents.overrides.apply_overrides`). ``None`` when the fields are
        shared by every rule or no rule has them all: then validation names any field that does not belong.
        """
        owners = self.owners_of(fields)
        return owners[0] if owners else None

    # -------------------------------------------------------------------------------- rules and labels

    def build(self, config: RuleConfig, direction: MetricDirection, budget_epochs: int | None = None) -> StoppingRule:
        return self.spec_of(config).build(config, direction, budget_epochs)

    def label(self, config: RuleConfig) -> str:
        return self.spec_of(config).write_label(config)

    def label_fields(self, text: str) -> dict[str, Any] | None:
        """A logged label as raw config fields (values still strings), or ``None`` when ``text`` is no label."""
        name, *parts = text.split("_")
        spec = self._specs.get(name)
        if spec is None:
            return None
        policy: dict[str, Any] = {}
        default = RuleConfig.model_fields["on_non_finite_metric"].default
        suffixes = {f"{_POLICY_SUFFIX[1:]}{p.value}": p for p in NonFiniteMetricPolicy if p is not default}
        if parts and parts[-1] in suffixes:
            policy = {"on_non_finite_metric": suffixes[parts.pop()]}
        monitor_default = RuleConfig.model_fields["monitor"].default
        monitors = {f"{_MONITOR_SUFFIX[1:]}{m.value}": m for m in Monitor if m is not monitor_default}
        if parts and parts[-1] in monitors:
            policy["monitor"] = monitors[parts.pop()]
        raw = spec.read_label(parts)
        return None if raw is None else {**raw, **policy}

    def parse_label(self, text: str) -> RuleConfig:
        """The config a label was written from; ``ValueError`` (a pydantic one for bad values) if it is none."""
        raw = self.label_fields(text)
        if raw is None:
            raise ValueError(f"{text!r} is not a stopping-rule label: one of {', '.join(self._specs)}, then parameters")
        return self.validate(raw)


RULES = RuleTable()
"""The rules greenft knows; each rule's module registers its row when :mod:`greenft.stopping` is imported."""

StoppingConfig = Annotated[
    RuleConfig, SerializeAsAny(), PlainValidator(RULES.validate, json_schema_input_type=dict[str, Any])
]
"""The type of a ``stopping`` section: any registered rule's config, picked by its ``rule`` field."""


def build_rule(config: RuleConfig, direction: MetricDirection, budget_epochs: int | None = None) -> StoppingRule:
    """A fresh rule from its config, for a metric of the given direction.

    ``budget_epochs`` is the run's epoch budget (``optim.max_epochs``); only rules that need it (a warm-up
    given as a fraction of the budget) read it, the others never see it.
    """
    return RULES.build(config, direction, budget_epochs)


def rule_label(config: RuleConfig) -> str:
    """A label unique per parameter set, e.g. ``anges_a0.9_b0.2_w3``, for logs and shadow keys.

    Floats are written with ``repr`` (shortest exact form), and parameters left at their defaults that rarely
    change (``epsilon``, the monitored signal ``_mloss``, the non-finite policy ``_nanskip``) appear only when
    changed, so two configs share a label exactly
    when they build the same rule.
    """
    return RULES.label(config)


def parse_label(text: str) -> RuleConfig:
    """The inverse of :func:`rule_label`: ``parse_label(rule_label(c)) == c`` for every config."""
    return RULES.parse_label(text)
