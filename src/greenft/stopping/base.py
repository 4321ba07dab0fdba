"""The interface every stopping rule implements, and the bookkeeping they share.

A rule is fed once per epoch, in order, with the validation metric and the cumulative emissions that the
training itself has spent so far (test-set evaluation excluded), and answers continue or stop together with
the numbers it used. Rules are pure: no torch, no W&B, no files. Their whole state is a JSON-able dict, so a
run can be resumed and a logged curve can be replayed through the very same code (Lightning's EarlyStopping
and Optuna's pruners are the models: small state, and a reason for every stop).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from greenft.stopping.aer import AerTerms, MetricDirection, compute_aer


class NonFiniteMetricPolicy(StrEnum):
    """What a rule does with an epoch whose validation metric is NaN or infinite.

    ``STOP`` (the default) ends training: a diverged run only spends more CO2 (Lightning's ``check_finite``).
    ``SKIP`` ignores the epoch: no AER, no EMA/patience update, and the next finite epoch is compared with
    the last finite one (its metric *and* its emissions, so the ratio stays consistent).
    """

    STOP = "stop"
    SKIP = "skip"


class Monitor(StrEnum):
    """Which validation signal a rule watches.

    ``METRIC`` (the default) is the dataset's metric in its own direction. ``LOSS`` is the validation loss (the
    training objective, ``val/loss``), always minimised: on a small validation set the loss moves smoothly where
    a rank metric such as ROC-AUC jumps, so a rule reading it is fooled less often by noise.
    """

    METRIC = "metric"
    LOSS = "loss"


class Phase(StrEnum):
    """Where in its life a rule was when it decided; logged so every number can be read in context."""

    FIRST = "first"  # epoch 1: nothing to compare with
    WARMUP = "warmup"  # AN-GES, 1 < i < W: AERs collected for the EMA's start
    ACTIVE = "active"  # the rule may stop
    UNDEFINED = "undefined"  # AER undefined this epoch: no update, no stop
    NON_FINITE = "non_finite"  # the metric was NaN/inf


class RuleConfig(BaseModel):
    """The base of every rule's config: what a YAML file, a sweep or the CLI says about one rule.

    Each rule's config adds a ``rule: Literal["<name>"]`` tag and its own fields; those fields' defaults are the
    rule's defaults (the rule class reads them from here, so they exist once). Configs are strict (unknown fields
    are errors), frozen, and refuse NaN and infinities.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    on_non_finite_metric: NonFiniteMetricPolicy = NonFiniteMetricPolicy.STOP
    monitor: Monitor = Field(Monitor.METRIC, description="the signal every rule watches: metric, or loss (minimised)")


_DEFAULTS = RuleConfig()


@dataclass(frozen=True)
class EpochObservation:
    """What a rule sees at the end of epoch ``epoch`` (1-based, consecutive).

    The optional fields have defaults so that callers that only know the metric keep working: ``val_loss`` is
    the validation loss (needed by a rule with ``monitor: loss``), ``metric_se`` and ``val_loss_se`` the
    bootstrap standard errors of the two (read by the noise dead-band of ``anges-pp``; ``None`` or NaN: unknown).
    """

    epoch: int
    metric: float
    cumulative_emissions_kg: float
    val_loss: float | None = None
    metric_se: float | None = None
    val_loss_se: float | None = None

    def monitored(self, monitor: Monitor) -> EpochObservation:
        """The observation as a rule with ``monitor`` sees it: the loss (and its SE) in the metric's place.

        Raises ``ValueError`` when the loss is asked for but the caller gave none: a rule silently fed the
        metric instead would decide on a signal nobody configured.
        """
        if Monitor(monitor) is Monitor.METRIC:
            return self
        if self.val_loss is None:
            raise ValueError(f"epoch {self.epoch}: the rule monitors the validation loss, but none was given")
        return replace(self, metric=self.val_loss, metric_se=self.val_loss_se)


@dataclass(frozen=True)
class StopDecision:
    """A rule's answer for one epoch with every number it used and a human reason."""

    epoch: int
    should_stop: bool
    reason: str
    phase: Phase
    delta_perf_pct: float | None = None
    delta_emis_pct: float | None = None
    aer: float | None = None
    ema: float | None = None
    threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["phase"] = self.phase.value
        return out


class StoppingRule(ABC):
    """Base class: validates the epoch sequence, keeps the comparison reference, computes the AER terms.

    Subclasses implement :meth:`_decide` for an epoch with a finite metric that has a predecessor, and may
    extend :meth:`state_dict` / :meth:`load_state_dict` with their own fields.
    """

    #: Short name used in logs and configs (``anges``, ``patience``, ``none``).
    name: str = "rule"

    def __init__(
        self,
        direction: MetricDirection,
        on_non_finite_metric: NonFiniteMetricPolicy = _DEFAULTS.on_non_finite_metric,
    ) -> None:
        self.direction = MetricDirection(direction)
        self.on_non_finite_metric = NonFiniteMetricPolicy(on_non_finite_metric)
        # Set by the rule table's factory from the config (rules' constructors need not know it): a rule that
        # monitors the loss is built with direction ``min`` and fed the loss in the metric's place.
        self.monitor = Monitor.METRIC
        self.last_epoch = 0
        self.reference_metric: float | None = None
        self.reference_emissions: float | None = None
        self.stopped_epoch: int | None = None
        self.stop_reason: str | None = None

    @property
    def stopped(self) -> bool:
        return self.stopped_epoch is not None

    def update(self, observation: EpochObservation) -> StopDecision:
        """Feed one epoch; returns the decision. Epochs must come as 1, 2, 3, ... and end at the stop."""
        if self.stopped:
            raise RuntimeError(f"{self.name}: already stopped at epoch {self.stopped_epoch}; no more epochs")
        if observation.epoch != self.last_epoch + 1:
            raise ValueError(
                f"{self.name}: expected epoch {self.last_epoch + 1}, got {observation.epoch} "
                "(epochs are 1-based and consecutive)"
            )
        monitored = observation.monitored(self.monitor)
        self.last_epoch = observation.epoch
        decision = self._update(monitored)
        if decision.should_stop:
            self.stopped_epoch = decision.epoch
            self.stop_reason = decision.reason
        return decision

    def _update(self, obs: EpochObservation) -> StopDecision:
        if not math.isfinite(obs.metric):
            if self.on_non_finite_metric is NonFiniteMetricPolicy.STOP:
                return StopDecision(obs.epoch, True, f"validation {self.monitor} is {obs.metric}", Phase.NON_FINITE)
            reason = f"validation {self.monitor} is {obs.metric}; epoch skipped"
            return StopDecision(obs.epoch, False, reason, Phase.NON_FINITE)
        previous_metric, previous_emissions = self.reference_metric, self.reference_emissions
        self.reference_metric, self.reference_emissions = obs.metric, obs.cumulative_emissions_kg
        if previous_metric is None or previous_emissions is None:
            return self._first(obs)
        terms = compute_aer(
            previous_metric, obs.metric, previous_emissions, obs.cumulative_emissions_kg, self.direction
        )
        return self._decide(obs, terms)

    def _first(self, obs: EpochObservation) -> StopDecision:
        """The first finite epoch has no predecessor; rules that track a best value override this."""
        return StopDecision(obs.epoch, False, "first epoch: nothing to compare with", Phase.FIRST)

    @abstractmethod
    def _decide(self, obs: EpochObservation, terms: AerTerms) -> StopDecision:
        """Decide for an epoch with a finite metric and a predecessor."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume; JSON-serialisable."""
        return {
            "name": self.name,
            "direction": self.direction.value,
            "on_non_finite_metric": self.on_non_finite_metric.value,
            "monitor": self.monitor.value,
            "last_epoch": self.last_epoch,
            "reference_metric": self.reference_metric,
            "reference_emissions": self.reference_emissions,
            "stopped_epoch": self.stopped_epoch,
            "stop_reason": self.stop_reason,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ValueError(f"state of rule {state.get('name')!r} cannot be loaded into {self.name!r}")
        self.direction = MetricDirection(state["direction"])
        self.on_non_finite_metric = NonFiniteMetricPolicy(state["on_non_finite_metric"])
        self.monitor = Monitor(state.get("monitor", Monitor.METRIC))  # states saved before the field: metric
        self.last_epoch = int(state["last_epoch"])
        self.reference_metric = state["reference_metric"]
        self.reference_emissions = state["reference_emissions"]
        self.stopped_epoch = state["stopped_epoch"]
        self.stop_reason = state["stop_reason"]
