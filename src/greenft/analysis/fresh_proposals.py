"""Every tuning trial spends its budget on a config the study has not evaluated yet.

Why: on AN-GES's 0.01 grid an NSGA-II sampler converges and then proposes configs the study already holds (a
child of two identical parents, a mutation back onto the grid point); a worker sharing a study also proposes what
another worker evaluated since the last sync. Each such repeat costs a trial and tells the sampler nothing (a
replay score is deterministic; a live trial would spend a whole training run on it). Optuna has no switch for
this, so the objective asks :class:`FreshProposals` first: a repeat is rejected before it is scored, a random
config the study lacks is queued in its place (the next trial takes it), and the rejected trial ends FAILED, which
every Optuna sampler ignores and which a synced worker never writes to the shared storage.

Across workers the check is exact through ``claims`` (:mod:`greenft.analysis.config_claims`): a config this
worker has not seen is claimed in the shared storage before it is scored, and a claim another worker won first
(since the last sync) makes the proposal a repeat too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenft.analysis.config_claims import ConfigClaims

__all__ = ["MAX_ATTEMPTS_PER_TRIAL", "REPLACES_REPEAT", "FreshProposals", "RepeatedProposal"]

REPLACES_REPEAT = "replaces_repeat"
"""User attribute of a queued fresh trial: the label of the repeat it replaces (queued trials are otherwise
only the study creator's defaults)."""

MAX_ATTEMPTS_PER_TRIAL = 20
"""A bound on proposals per finished trial, so a study that has seen (nearly) the whole grid still ends."""


class RepeatedProposal(Exception):
    """Raised inside the objective for a config the study already evaluated (caught by ``study.optimize``)."""

    def __init__(self, label: str) -> None:
        super().__init__(f"{label} was already evaluated in this study")
        self.label = label


@dataclass
class FreshProposals:
    """Tracks the configs a study evaluated (by label) and turns repeats into fresh random ones.

    ``draw`` returns a random config of the search space (Optuna parameter names to values), ``label_of`` names a
    config as the study's trials name it (user attribute ``label``), ``size`` is the number of configs in the
    space (None: continuous, never exhausted), ``claims`` the study's shared claims (None: this worker's set is
    the whole truth, as for an in-memory study).
    """

    draw: Callable[[], dict[str, Any]]
    label_of: Callable[[dict[str, Any]], str]
    size: int | None
    claims: ConfigClaims | None = None
    evaluated: set[str] = field(default_factory=set)
    repeats_rejected: int = 0
    claimed_elsewhere: int = 0  # of repeats_rejected: configs another worker claimed first, not yet synced here

    def learn(self, labels: Iterable[object]) -> None:
        """Add the labels of finished trials (this worker's or synced from others)."""
        self.evaluated.update(str(label) for label in labels if label is not None)

    def exhausted(self) -> bool:
        return self.size is not None and len(self.evaluated) >= self.size

    def check(self, label: str, enqueue: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
        """Raise :class:`RepeatedProposal` for an evaluated ``label`` or one another worker claimed first, after
        queuing a fresh config for the next trial with ``enqueue(params, user_attrs)``; else record ``label`` as
        evaluated (claimed by this worker). Once the space is exhausted every proposal is accepted."""
        if self.exhausted():
            self.evaluated.add(label)
            return
        repeat = label in self.evaluated
        if not repeat and self.claims is not None and not self.claims.claim(label):
            repeat = True
            self.claimed_elsewhere += 1
            self.evaluated.add(label)  # another worker's: never to be drawn as a fresh config here
        if repeat:
            self.repeats_rejected += 1
            fresh = self._fresh()
            if fresh is not None:
                enqueue(fresh, {REPLACES_REPEAT: label})
            raise RepeatedProposal(label)
        self.evaluated.add(label)

    def _fresh(self, tries: int = 1000) -> dict[str, Any] | None:
        for _ in range(tries):
            params = self.draw()
            if self.label_of(params) not in self.evaluated:
                return params
        return None
