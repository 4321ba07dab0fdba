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
from typing import Any, TypeAlias

from pydantic import TypeAdapter, ValidationError

from greenft.analysis.records import Curve
from greenft.stopping import (
    AnGesConfig,
    EpochObservation,
    FullBudgetConfig,
    MetricDirection,
    PatienceConfig,
    StopDecision,
    StoppingConfig,
    build_rule,
    rule_label,
)

__all__ = [
    "ReplayResult",
    "RuleConfig",
    "RuleSpecError",
    "finite_or_nan",
    "parse_rule",
    "replay",
    "replay_values",
]

RuleConfig: TypeAlias = AnGesConfig | PatienceConfig | FullBudgetConfig

_RULE_ADAPTER: TypeAdapter[RuleConfig] = TypeAdapter(StoppingConfig)


@dataclass(frozen=True)
class ReplayResult:
    """What a rule did on a curve.

    ``stop_epoch`` is the epoch training ends at under this rule: the epoch the rule stopped, or the curve's
    last epoch when it never did (the same convention as the run summary's ``stop/epoch``). ``censored`` is
    True when the rule never stopped but the curve is shorter than its budget (a live run that stopped on
    another rule, or an interrupted run): what the rule would have done later is unknown.
    ``val_metric``, ``test_metric`` and ``emissions_kg`` are the curve's values at ``stop_epoch``.
    ``decisions`` holds the rule's answer for every epoch it was fed (the AER/EMA traces).
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


def replay_values(
    val: Sequence[float],
    emissions_kg: Sequence[float],
    config: RuleConfig,
    direction: MetricDirection,
) -> tuple[int | None, tuple[StopDecision, ...]]:
    """Feed epochs ``1..n`` to a fresh rule; returns ``(stop epoch or None, decisions up to the stop)``.

    The lowest-level entry point, for hand-made curves: ``val[i]`` and ``emissions_kg[i]`` are epoch ``i+1``'s
    validation metric and cumulative emissions, exactly the :class:`~greenft.stopping.EpochObservation` a live
    trial builds.
    """
    if len(val) != len(emissions_kg):
        raise ValueError(f"val has {len(val)} epochs but emissions_kg has {len(emissions_kg)}")
    rule = build_rule(config, direction)
    decisions: list[StopDecision] = []
    for epoch, (metric, emissions) in enumerate(zip(val, emissions_kg, strict=True), start=1):
        decision = rule.update(EpochObservation(epoch, float(metric), float(emissions)))
        decisions.append(decision)
        if decision.should_stop:
            return epoch, tuple(decisions)
    return None, tuple(decisions)


def replay(curve: Curve, config: RuleConfig) -> ReplayResult:
    """Apply ``config``'s rule to ``curve``: the stop and the curve's numbers there (see :class:`ReplayResult`)."""
    if curve.n_epochs == 0:
        raise ValueError(f"run {curve.run_id}: empty curve")
    stopped, decisions = replay_values(curve.val, curve.emissions_kg, config, curve.direction)
    stop_epoch = stopped if stopped is not None else curve.n_epochs
    reason = decisions[-1].reason if stopped is not None else "never stopped"
    index = stop_epoch - 1
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
    )


# ------------------------------------------------------------------------------------------- rule specs


class RuleSpecError(ValueError):
    """A rule given on the command line that cannot be parsed; the message shows the accepted forms."""


_FORMS = (
    "use 'anges', 'anges:alpha=0.5,beta=0.1,warmup=3', 'patience:patience=3,min_delta=0.001', 'none', "
    "or a logged label such as 'anges_a0.9_b0.2_w3' / 'patience_p5_d0.0'"
)
_ANGES_LABEL = re.compile(r"^anges_a(?P<alpha>[^_]+)_b(?P<beta>[^_]+)_w(?P<warmup>\d+)(?:_eps(?P<epsilon>[^_]+))?")
_PATIENCE_LABEL = re.compile(r"^patience_p(?P<patience>\d+)_d(?P<min_delta>[^_]+)")


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
    if isinstance(spec, AnGesConfig | PatienceConfig | FullBudgetConfig):
        return spec
    raw: dict[str, Any]
    if isinstance(spec, dict):
        raw = dict(spec)
    else:
        text = spec.strip()
        raw = _label_to_dict(text)
        if not raw:
            name, _, params = text.partition(":")
            raw = {"rule": name.strip()}
            for part in filter(None, (p.strip() for p in params.split(","))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise RuleSpecError(f"rule {spec!r}: parameter {part!r} is not key=value; {_FORMS}")
                raw[key.strip()] = _parse_value(value.strip())
    try:
        return _RULE_ADAPTER.validate_python(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise RuleSpecError(f"rule {spec!r}: {problems}; {_FORMS}") from None


def _label_to_dict(text: str) -> dict[str, Any]:
    """``anges_a0.9_b0.2_w3[_eps1e-05][_nanskip]`` etc. as a config dict; ``{}`` when ``text`` is no label."""
    suffix: dict[str, Any] = {}
    if text.endswith("_nanskip"):
        text = text.removesuffix("_nanskip")
        suffix = {"on_non_finite_metric": "skip"}
    if text == "none" and suffix:
        return {"rule": "none", **suffix}
    if (match := _ANGES_LABEL.fullmatch(text)) is not None:
        out: dict[str, Any] = {"rule": "anges", "alpha": float(match["alpha"]), "beta": float(match["beta"])}
        out["warmup"] = int(match["warmup"])
        if match["epsilon"] is not None:
            out["epsilon"] = float(match["epsilon"])
        return {**out, **suffix}
    if (match := _PATIENCE_LABEL.fullmatch(text)) is not None:
        return {
            "rule": "patience",
            "patience": int(match["patience"]),
            "min_delta": float(match["min_delta"]),
            **suffix,
        }
    return {}


def finite_or_nan(value: float | None) -> float:
    """``None`` -> NaN; used when a decision's optional numbers go into a table or a plot."""
    return math.nan if value is None else float(value)
