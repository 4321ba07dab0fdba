"""The space ``greenft tune`` searches: which rules, and each rule's parameters (Optuna define-by-run).

Why conditional: the rules do not share parameters (AN-GES has alpha/beta/W, patience has a patience), so a
trial first draws the rule, then only that rule's parameters; a parameter of another rule is never drawn, never
stored with the trial and never counted as a difference between two configs. A config's identity is its rule
label (:func:`greenft.stopping.rule_label`), which carries every behaviour-changing parameter, so two trials with
the same label are the same config (the fresh-proposal guard relies on it).

Why the W and patience ranges scale with the budget: a warm-up or a patience is a number of epochs, and what is
"long" depends on how many epochs the run has. With a fixed W range of 2..6 a 100-epoch budget could only be
tuned towards stopping early, and an 8-epoch budget would be searched for warm-ups that leave nothing to save.
So by default ``W in [2, max(3, budget // 3)]`` and ``patience in [1, max(5, budget // 3)]``, with ``budget``
the curves' epoch budget (their ``max_epochs``); explicit ranges win.

Every value sits on a small grid (0.01 for alpha/beta, 0.1 for smoothing, 0.05 for the warm-up fraction, 0.001
for patience's min_delta), which keeps the labels readable and the space finite (so it can be exhausted).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from greenft.analysis.fresh_proposals import FreshProposals
from greenft.stopping import RULES, RuleConfig, rule_label

if TYPE_CHECKING:
    import optuna

    from greenft.analysis.config_claims import ConfigClaims

__all__ = [
    "DEFAULT_RULES",
    "TUNABLE_RULES",
    "Param",
    "SearchSpace",
    "config_of",
    "patience_range_for",
    "rule_name",
    "warmup_range_for",
]

TUNABLE_RULES = ("anges", "anges-pp", "patience", "patience-pp")
"""The rules ``greenft tune`` can search (``none`` has nothing to tune; ``co2budget`` is a budget, not a rule
whose quality trade-off replay can tune)."""
DEFAULT_RULES = TUNABLE_RULES
"""``greenft tune --rules`` by default; the Python API's :class:`SearchSpace` defaults to exact ``anges`` alone."""
EXACT_RULE = "anges"
RULE_PARAM = "rule"


def warmup_range_for(budget: int) -> tuple[int, int]:
    """AN-GES's W range for an epoch budget: ``[2, max(3, budget // 3)]``."""
    return 2, max(3, budget // 3)


def patience_range_for(budget: int) -> tuple[int, int]:
    """Patience's range for an epoch budget: ``[1, max(5, budget // 3)]``."""
    return 1, max(5, budget // 3)


@dataclass(frozen=True)
class Param:
    """One searched parameter: an Optuna name (the config field's name), a kind and its grid."""

    name: str
    kind: str  # int | float | bool
    low: float = 0.0
    high: float = 1.0
    step: float | None = None

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind == "bool":
            return trial.suggest_categorical(self.name, [False, True])
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return round(trial.suggest_float(self.name, self.low, self.high, step=self.step), 10)

    def draw(self, rng: random.Random) -> Any:
        if self.kind == "bool":
            return rng.random() < 0.5
        if self.kind == "int":
            return rng.randint(int(self.low), int(self.high))
        if self.step is None:
            return rng.uniform(self.low, self.high)
        return round(self.low + self.step * rng.randint(0, round((self.high - self.low) / self.step)), 10)

    def size(self) -> int | None:
        if self.kind == "bool":
            return 2
        if self.kind == "int":
            return int(self.high) - int(self.low) + 1
        return None if self.step is None else round((self.high - self.low) / self.step) + 1

    def scaled(self, value: Any, default: Any) -> float:
        """``value - default`` over the range (0 or 1 for a bool), for "closest to the defaults"."""
        if self.kind == "bool":
            return float(bool(value) != bool(default))
        return (float(value) - float(default or 0.0)) / max(self.high - self.low, 1e-12)


@dataclass(frozen=True)
class SearchSpace:
    """Ranges searched per rule; ``rules`` the rules a trial may draw (exact ``anges`` is always one of them).

    ``alpha``/``beta`` apply to AN-GES and AN-GES-pp alike (one Optuna parameter each), ``warmup`` (W) and
    ``patience`` default to the budget-scaled ranges (:meth:`for_budget` fills them); the pre-processor ranges
    are fixed: smoothing in [0, 0.9], window 1..4, consecutive 1..3, deadband on/off, warm-up fraction in
    [0, 0.35] (0: off).
    """

    alpha: tuple[float, float] = (0.0, 1.0)
    beta: tuple[float, float] = (0.0, 1.0)
    warmup: tuple[int, int] | None = None
    step: float | None = 0.01
    rules: tuple[str, ...] = (EXACT_RULE,)
    patience: tuple[int, int] | None = None
    budget: int | None = None

    def __post_init__(self) -> None:
        unknown = [r for r in self.rules if r not in TUNABLE_RULES]
        if unknown:
            raise ValueError(f"rules {', '.join(unknown)}: tunable rules are {', '.join(TUNABLE_RULES)}")
        if EXACT_RULE not in self.rules:  # the exact rule is always a choice: the reference every report shows
            object.__setattr__(self, "rules", (EXACT_RULE, *self.rules))
        object.__setattr__(self, "rules", tuple(dict.fromkeys(self.rules)))

    def for_budget(self, budget: int) -> SearchSpace:
        """This space with W and patience ranges filled from ``budget`` where they were not given."""
        return replace(
            self,
            budget=budget,
            warmup=self.warmup if self.warmup is not None else warmup_range_for(budget),
            patience=self.patience if self.patience is not None else patience_range_for(budget),
        )

    @property
    def warmup_range(self) -> tuple[int, int]:
        return self.warmup if self.warmup is not None else warmup_range_for(self.budget or 18)

    @property
    def patience_range(self) -> tuple[int, int]:
        return self.patience if self.patience is not None else patience_range_for(self.budget or 15)

    def params_of(self, rule: str) -> tuple[Param, ...]:
        """The parameters a trial draws once it drew ``rule`` (and only those)."""
        alpha = Param("alpha", "float", *self.alpha, step=self.step)
        beta = Param("beta", "float", *self.beta, step=self.step)
        warmup = Param("warmup", "int", *self.warmup_range)
        patience = Param("patience", "int", *self.patience_range)
        smoothing = Param("smoothing", "float", 0.0, 0.9, step=0.1)
        if rule == "anges":
            return alpha, beta, warmup
        if rule == "anges-pp":
            return (
                alpha,
                beta,
                warmup,
                smoothing,
                Param("window", "int", 1, 4),
                Param("consecutive", "int", 1, 3),
                Param("deadband", "bool"),
                Param("warmup_fraction", "float", 0.0, 0.35, step=0.05),
            )
        if rule == "patience":
            return patience, Param("min_delta", "float", 0.0, 0.01, step=0.001)
        if rule == "patience-pp":
            return patience, Param("min_delta", "float", 0.0, 0.01, step=0.001), smoothing
        raise ValueError(f"rule {rule!r} is not tunable")

    def _rule_of(self, params: dict[str, Any]) -> str:
        return str(params.get(RULE_PARAM, EXACT_RULE))

    def suggest(self, trial: optuna.Trial) -> RuleConfig:
        """Define-by-run: the rule first (only when there is a choice), then that rule's parameters."""
        rule = str(trial.suggest_categorical(RULE_PARAM, list(self.rules))) if len(self.rules) > 1 else EXACT_RULE
        params: dict[str, Any] = {p.name: p.suggest(trial) for p in self.params_of(rule)}
        return config_of({RULE_PARAM: rule, **params})

    def defaults_params(self) -> dict[str, Any]:
        """The exact AN-GES defaults as Optuna parameters (the trial the study's creator enqueues)."""
        defaults = RULES.validate({"rule": EXACT_RULE})
        params = {p.name: getattr(defaults, p.name) for p in self.params_of(EXACT_RULE)}
        return {RULE_PARAM: EXACT_RULE, **params} if len(self.rules) > 1 else params

    def contains(self, params: dict[str, Any]) -> bool:
        """Whether Optuna parameters lie in this space (the defaults may not, under explicit ranges: they are then
        scored for the report but not enqueued, which Optuna would warn about)."""
        rule = self._rule_of(params)
        if rule not in self.rules:
            return False
        for p in self.params_of(rule):
            value = params.get(p.name)
            if value is None or (p.kind != "bool" and not p.low - 1e-9 <= float(value) <= p.high + 1e-9):
                return False
        return True

    def size(self) -> int | None:
        """How many configs the space holds (None on a continuous space)."""
        total = 0
        for rule in self.rules:
            count = 1
            for param in self.params_of(rule):
                n = param.size()
                if n is None:
                    return None
                count *= n
            total += count
        return total

    def random_params(self, rng: random.Random) -> dict[str, Any]:
        """A random config as Optuna parameters: a rule drawn uniformly, then its parameters."""
        rule = rng.choice(self.rules)
        params = {p.name: p.draw(rng) for p in self.params_of(rule)}
        return {RULE_PARAM: rule, **params} if len(self.rules) > 1 else params

    def fresh_proposals(self, seed: int, claims: ConfigClaims | None = None) -> FreshProposals:
        """The repeat guard of a study over this space (see :mod:`greenft.analysis.fresh_proposals`), exact
        across workers with the study's ``claims``."""
        rng = random.Random(seed)
        return FreshProposals(
            draw=lambda: self.random_params(rng),
            label_of=lambda p: rule_label(config_of(p)),
            size=self.size(),
            claims=claims,
        )

    def distance_to_defaults(self, params: dict[str, Any]) -> float:
        """How far a config is from its rule's defaults, each parameter scaled to its range; another rule than
        exact AN-GES adds 1, so among configs with the same trade-off the exact rule is shown when it has it."""
        rule = self._rule_of(params)
        defaults = RULES.validate({"rule": rule})
        parts = [p.scaled(params.get(p.name), getattr(defaults, p.name)) for p in self.params_of(rule)]
        return float(sum(x * x for x in parts) ** 0.5) + (0.0 if rule == EXACT_RULE else 1.0)


def config_of(params: dict[str, Any]) -> RuleConfig:
    """The rule config of Optuna parameters (a stored trial's, a queued one's): floats rounded as
    :meth:`SearchSpace.suggest` rounds them (Optuna stores a grid value as drawn, ``0.6900000000000001``), a
    warm-up fraction of 0 meaning "off"."""
    raw: dict[str, Any] = {"rule": str(params.get(RULE_PARAM, EXACT_RULE))}
    for name, value in params.items():
        if name == RULE_PARAM:
            continue
        raw[name] = round(value, 10) if isinstance(value, float) else value
    if raw.get("warmup_fraction") == 0.0:
        raw["warmup_fraction"] = None
    return RULES.validate(raw)


def rule_name(config: RuleConfig) -> str:
    """The rule's name (``anges``, ``patience-pp``), from the rule table."""
    return RULES.spec_of(config).name


def stopping_section(config: RuleConfig, searched: Sequence[Param] | None = None) -> dict[str, Any]:
    """A trial config's ``stopping:`` section for ``config``: the rule and its searched parameters (the other
    fields keep their defaults), plain YAML values."""
    names = [p.name for p in searched] if searched is not None else list(RULES.spec_of(config).parameters)
    out: dict[str, Any] = {"rule": rule_name(config)}
    for name in names:
        value = getattr(config, name)
        if value is not None:
            out[name] = value
    return out
