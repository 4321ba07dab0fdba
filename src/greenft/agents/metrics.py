"""The metrics a run logs beside the one that drives it (``data.extra_metrics``), checked against its dataset.

Why a module of its own: the trainer's loop stays a few lines longer only, and the one check (every extra fits
the dataset's task type) is written once for the two moments it can run: before any data loads for a built-in
set (:mod:`greenft.agents.preflight`), right after loading for a user file whose task type was inferred.
"""

from __future__ import annotations

from greenft.agents.config import DataConfig
from greenft.data.registry import DatasetSpec, Metric, TaskType, check_metrics

__all__ = ["model_outputs", "run_extra_metrics"]


def run_extra_metrics(data: DataConfig, spec: DatasetSpec) -> list[Metric]:
    """The extras to log (the run's own metric left out: its columns are logged already), each checked to fit
    ``spec``'s task type (a :class:`~greenft.data.registry.MetricTaskError`, one line, otherwise)."""
    check_metrics(data.extra_metrics, spec.task_type, f"data.extra_metrics ({spec.name})")
    return [metric for metric in data.extra_metrics if metric is not spec.metric]


def model_outputs(spec: DatasetSpec, num_tasks: int) -> int:
    """How many outputs the model's head has: one per task, or the K logits of a multiclass task's classes."""
    return len(spec.classes) if spec.task_type is TaskType.MULTICLASS else num_tasks
