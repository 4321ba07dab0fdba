"""What a trial minimises and with which optimiser: ``optim.loss`` and ``optim.optimizer``, checked without torch.

Losses. Classification trains on a masked BCE-with-logits (``bce``), the only loss that fits 0/1 labels and the
ROC-AUC it is judged by; a multiclass task on a masked cross-entropy over its K classes (``cross_entropy``).
Regression trains on targets standardised with the training split's mean and standard
deviation (greenft.agents.fit), with ``mse`` (the default), ``l1`` (the thesis in seeds/ trains its descriptor
regressions with L1) or ``huber``. Huber's delta is fixed at :data:`HUBER_DELTA` = 1.0: on standardised targets
that is one training-set standard deviation in every dataset, so one value means the same everywhere (quadratic
for errors within one sd, linear beyond), and a sweep has one knob fewer. Unset, the loss is the task's default
(``bce``, ``cross_entropy`` or ``mse``) and the run config records the one that trained. A loss of another task
type is a user error, before any data loads when the dataset is a built-in one, else once the file is read.

Optimisers. ``adam`` (the default) adds ``weight_decay * w`` to the gradient (an L2 penalty), which Adam then
divides by its running gradient scale, so weights with large gradients are barely decayed. ``adamw`` decouples
the decay (Loshchilov & Hutter 2019): each step also shrinks every weight by ``lr * weight_decay * w``, whatever
its gradient. Both read ``optim.weight_decay`` (default 0, where the two are the same optimiser).
"""

from __future__ import annotations

from typing import Literal

from greenft.data.registry import BUILTIN_DATASETS, TaskType
from greenft.errors import UserError

LossName = Literal["bce", "cross_entropy", "mse", "l1", "huber"]
OptimizerName = Literal["adam", "adamw"]
REGRESSION_LOSSES: tuple[LossName, ...] = ("mse", "l1", "huber")
CLASSIFICATION_LOSSES: tuple[LossName, ...] = ("bce",)
MULTICLASS_LOSSES: tuple[LossName, ...] = ("cross_entropy",)
LOSSES_BY_TASK: dict[TaskType, tuple[LossName, ...]] = {
    TaskType.CLASSIFICATION: CLASSIFICATION_LOSSES,
    TaskType.MULTICLASS: MULTICLASS_LOSSES,
    TaskType.REGRESSION: REGRESSION_LOSSES,
}
"""The losses each task type trains with, its default first."""
HUBER_DELTA = 1.0
"""Huber's delta, in standard deviations of the training targets (see the module docstring)."""


class LossTaskError(UserError, ValueError):
    """A loss that does not fit the dataset's task type; the message names both and the losses that fit."""


def resolve_loss(configured: LossName | None, task_type: TaskType, dataset: str) -> LossName:
    """The loss a trial trains with: the configured one when it fits ``task_type``, else the task's default."""
    fitting = LOSSES_BY_TASK[task_type]
    if configured is None:
        return fitting[0]
    if configured not in fitting:
        raise LossTaskError(
            f"optim.loss = {configured!r} does not fit dataset {dataset} ({task_type.value}): a "
            f"{task_type.value} task trains with {' | '.join(fitting)} (leave --loss out for {fitting[0]})"
        )
    return configured


def check_loss_before_data(
    configured: LossName | None, dataset: str, file: object | None, task_type: TaskType | None
) -> None:
    """Before any data loads, where the task type is already known: a built-in dataset's is in the registry, a
    user file's when the config gives it (``data.task_type``, or the task of ``data.metric``); otherwise the
    trial checks once the file is read."""
    if file is None:
        spec = BUILTIN_DATASETS.get(dataset)
        if spec is not None:
            resolve_loss(configured, spec.task_type, spec.name)
    elif task_type is not None:
        resolve_loss(configured, task_type, str(file))
