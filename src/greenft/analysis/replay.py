"""Replay a stopping rule over a logged per-epoch curve: where it stops, and the run's numbers at that stop.

Why: a shadow (full-budget) run records the validation metric and the cumulative emissions of every epoch,
which is everything a rule sees. Feeding those numbers, in order, to a fresh rule built by
:func:`greenft.stopping.build_rule` gives exactly the decision the live rule would have taken, for any rule and
any parameters, in microseconds instead of a training run. This module never re-implements a rule: it only
drives the rule classes of :mod:`greenft.stopping`, so a replay can never drift from the live behaviour.

Pure: no files, no W&B, no plotting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from greenft.analysis.records import Curve
from greenft.errors import UserError
from greenft.schema import Deploy, deployed_index
from greenft.stopping import (
    RULES,
    EpochObservation,
    MetricDirection,
    Monitor,
    RuleConfig,
    StopDecision,
    build_rule,
    rule_label,
)

__all__ = [
    "MissingSeriesError",
    "ReplayResult",
    "RuleConfig",
    "RuleSpecError",
    "finite_or_nan",
    "parse_rule",
    "replay",
    "replay_values",
]


@dataclass(frozen=True)
class ReplayResult:
    """What a rule did on a curve.

    ``stop_epoch`` is the epoch training ends at under this rule: the epoch the rule stopped, or the curve's
    last epoch when it never did (the same convention as the run summary's ``stop/epoch``). ``censored`` is
    True when the rule never stopped but the curve is shorter than its budget (a live run that stopped on
    another rule, or an interrupted run): what the rule would have done later is unknown.
    ``val_metric``, ``test_metric`` and ``emissions_kg`` are the curve's values at ``stop_epoch`` (the weights
    of the epoch training ended at). ``deployed_epoch`` is the epoch whose weights the run hands over under
    ``deploy`` (:func:`greenft.schema.deployed_index`, the one definition the trainer uses too: with ``best``,
    the best validation epoch among ``1..stop_epoch``), and ``deployed_val_metric``/``deployed_test_metric``
    the curve's values there; the emissions stay those of ``stop_epoch``, since keeping the best weights in
    memory costs nothing. ``decisions`` holds the rule's answer for every epoch it was fed (the AER/EMA traces).
    """

    label: str
    stop_epoch: int
    triggered: bool
    censored: bool
    reason: str
    val_metric: float
    test_metric: float
    emissions_kg: float
    decisions: tuple[StopDecision, ...]
    deploy: Deploy
    deployed_epoch: int
    deployed_val_metric: float
    deployed_test_metric: float


def _at(series: Sequence[float] | None, index: int) -> float | None:
    return None if series is None else float(series[index])


def replay_values(
    val: Sequence[float],
    emissions_kg: Sequence[float],
    config: RuleConfig,
    direction: MetricDirection,
    *,
    val_loss: Sequence[float] | None = None,
    val_se: Sequence[float] | None = None,
    val_loss_se: Sequence[float] | None = None,
    budget_epochs: int | None = None,
) -> tuple[int | None, tuple[StopDecision, ...]]:
    """Feed epochs ``1..n`` to a fresh rule; returns ``(stop epoch or None, decisions up to the stop)``.

    The lowest-level entry point, for hand-made curves: ``val[i]`` and ``emissions_kg[i]`` are epoch ``i+1``'s
    validation metric and cumulative emissions, and the optional series its validation loss and the two
    bootstrap standard errors: exactly the :class:`~greenft.stopping.EpochObservation` a live trial builds.
    ``budget_epochs`` is the run's epoch budget, as the trial passes it to the rule (a warm-up fraction).
    """
    series = {"emissions_kg": emissions_kg, "val_loss": val_loss, "val_se": val_se, "val_loss_se": val_loss_se}
    for name, values in series.items():
        if values is not None and len(values) != len(val):
            raise ValueError(f"val has {len(val)} epochs but {name} has {len(values)}")
    rule = build_rule(config, direction, budget_epochs)
    decisions: list[StopDecision] = []
    for index, (metric, emissions) in enumerate(zip(val, emissions_kg, strict=True)):
        epoch = index + 1
        observation = EpochObservation(
            epoch, float(metric), float(emissions), _at(val_loss, index), _at(val_se, index), _at(val_loss_se, index)
        )
        decision = rule.update(observation)
        decisions.append(decision)
        if decision.should_stop:
            return epoch, tuple(decisions)
    return None, tuple(decisions)


def replay(curve: Curve, config: RuleConfig, deploy: Deploy | str = Deploy.BEST) -> ReplayResult:
    """Apply ``config``'s rule to ``curve``: the stop, the curve's numbers there and at the epoch deployed under
    ``deploy`` (default: the best-so-far checkpoint; see :class:`ReplayResult`)."""
    if curve.n_epochs == 0:
        raise ValueError(f"run {curve.run_id}: empty curve")
    if config.monitor is Monitor.LOSS and curve.val_loss is None:
        raise MissingSeriesError(
            f"run {curve.run_id}: rule {rule_label(config)} monitors the validation loss, but the run logged no "
            "val/loss (runs from before it was logged); replay it on runs that have it, or use monitor: metric"
        )
    stopped, decisions = replay_values(
        curve.val,
        curve.emissions_kg,
        config,
        curve.direction,
        val_loss=curve.val_loss,
        val_se=curve.val_se,
        val_loss_se=curve.val_loss_se,
        budget_epochs=curve.budget,
    )
    stop_epoch = stopped if stopped is not None else curve.n_epochs
    reason = decisions[-1].reason if stopped is not None else "never stopped"
    index = stop_epoch - 1
    deployed = deployed_index(curve.val, curve.direction, index, deploy)
    return ReplayResult(
        label=rule_label(config),
        stop_epoch=stop_epoch,
        triggered=stopped is not None,
        censored=stopped is None and not curve.complete,
        reason=reason,
        val_metric=curve.val[index],
        test_metric=curve.test[index],
        emissions_kg=curve.emissions_kg[index],
        decisions=decisions,
        deploy=Deploy(deploy),
        deployed_epoch=deployed + 1,
        deployed_val_metric=curve.val[deployed],
        deployed_test_metric=curve.test[deployed],
    )


# ------------------------------------------------------------------------------------------- rule specs


class MissingSeriesError(UserError, ValueError):
    """A rule that needs a logged series (the validation loss) replayed on a run that does not have it."""


class RuleSpecError(UserError, ValueError):
    """A rule given on the command line that cannot be parsed; the message shows the accepted forms."""


_FORMS = (
    "use 'anges', 'anges:alpha=0.5,beta=0.1,warmup=3', 'patience:patience=3,min_delta=0.001', 'none', "
    "or a logged label such as 'anges_a0.9_b0.2_w3' / 'patience_p5_d0.0'"
)


def _parse_value(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text) else number


def parse_rule(spec: str | RuleConfig | dict[str, Any]) -> RuleConfig:
    """A rule config from a CLI string, a logged label (``rule_label``'s output) or a dict.

    Labels parse back to the config that produced them, so ``parse_rule(rule_label(c)) == c`` for every config
    (the label carries all parameters that change the rule's behaviour).
    """
    if isinstance(spec, RuleConfig):
        return spec
    raw: dict[str, Any] | None
    if isinstance(spec, dict):
        raw = dict(spec)
    else:
        text = spec.strip()
        raw = RULES.label_fields(text)  # the rule table reads its own labels
        if raw is None:
            name, _, params = text.partition(":")
            raw = {"rule": name.strip()}
            for part in filter(None, (p.strip() for p in params.split(","))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise RuleSpecError(f"rule {spec!r}: parameter {part!r} is not key=value; {_FORMS}")
                raw[key.strip()] = _parse_value(value.strip())
    try:
        return RULES.validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise RuleSpecError(f"rule {spec!r}: {problems}; {_FORMS}") from None


def finite_or_nan(value: float | None) -> float:
    """``None`` -> NaN; used when a decision's optional numbers go into a table or a plot."""
    return math.nan if value is None else float(value)
