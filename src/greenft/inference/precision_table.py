"""Measure a model at each numeric precision: size, parameters, test metric, time and CO2 per 1,000 molecules.

One :class:`~greenft.schema.inference.PrecisionRow` per precision, all on the same test molecules, so the rows
of one model compare directly (``greenft quantize``, ``benchmarks/inference.py``). What is timed and metered is
inference as a user pays it: featurisation of the SMILES, batching and the forward passes, probabilities or
values in original units out (model loading and precision conversion excluded). The metric is the trainer's
own (:func:`greenft.agents.fit.score`) on outputs scaled back with the trainer's scaler.

Measurement runs on one torch thread (``torch.set_num_threads(1)``, restored after): on a shared CPU one thread
is the stable figure, and it is what the per-1,000 numbers mean. Energy is CodeCarbon's (or any
:class:`~greenft.tracking.EmissionMeter`); where no RAPL sensor is readable CodeCarbon *estimates* CPU power from
load x TDP, which the meter's ``describe()`` says and callers print.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from greenft.agents.fit import TargetScaler, output_values, score
from greenft.data.registry import Metric, TaskType
from greenft.inference.precision import (
    PRECISION_NOTES,
    PrecisionUnsupported,
    count_parameters,
    state_dict_bytes,
    to_precision,
)
from greenft.models.base import ModelFamily
from greenft.schema.inference import Precision, PrecisionRow
from greenft.tracking import EmissionMeter

__all__ = ["PrecisionTask", "measure_precision", "precision_table"]


@dataclass(frozen=True)
class PrecisionTask:
    """What every precision of one model is measured on: the test molecules, the metric, calibration batches."""

    family_name: str
    dataset: str
    family: ModelFamily
    task_type: TaskType
    metric: Metric
    scaler: TargetScaler
    test_smiles: list[str]
    test_labels: np.ndarray  # (molecules x tasks), NaN = missing
    calibration_items: Sequence[Any]  # encoded training molecules (static int8 reads them)
    batch_size: int = 256
    repeats: int = 1  # passes over the test molecules inside the metered window (longer windows, steadier energy)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


def _infer(model: nn.Module, task: PrecisionTask) -> tuple[np.ndarray, np.ndarray]:
    """Featurise the test SMILES, batch them and run the model: probabilities or values in original units, and
    the batches' labels (float32, as the trainer scores them, so float32 reproduces its test metric exactly)."""
    items = task.family.encode(task.test_smiles, task.test_labels)
    scaler = task.scaler.to(task.device)
    outputs, targets = [], []
    with torch.no_grad():
        for batch in task.family.loader(items, task.batch_size, shuffle=False):
            raw = model(batch.to(task.device)).float()
            out = output_values(raw, task.task_type, scaler)  # the trainer's own (softmax for multiclass)
            outputs.append(out.cpu())
            targets.append(batch.y.cpu())
    return torch.cat(outputs).numpy(), torch.cat(targets).numpy()


def _failure(err: BaseException) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}"[:300]


def measure_precision(
    model: nn.Module, precision: Precision, task: PrecisionTask, meter_factory: Callable[[], EmissionMeter]
) -> PrecisionRow:
    """One row: ``model`` (float32, untouched) converted to ``precision`` and measured on ``task``.

    A precision that cannot be applied, or whose forward pass fails (an op without a kernel at that dtype on
    this device), gives ``supported=False`` with the reason as the note, never a number.
    """
    base = PrecisionRow(
        family=task.family_name,
        dataset=task.dataset,
        precision=precision.value,
        supported=False,
        metric_name=task.metric.value,
        device=task.device.type,
    )
    calibration = task.family.loader(task.calibration_items, task.batch_size, shuffle=False)
    try:
        converted = to_precision(model, precision, (b.to(task.device) for b in calibration), task.device)
        converted = converted.to(task.device) if precision in _MOVABLE else converted
        _infer(converted, task)  # warm-up (lazy kernels, allocators), and the op check at this precision
    except PrecisionUnsupported as err:
        return replace(base, note=str(err))
    except (RuntimeError, NotImplementedError, TypeError, AttributeError) as err:
        return replace(base, note=f"{precision.value}: the forward pass fails here: {_failure(err)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    meter = meter_factory()
    try:
        meter.start()
        started = time.perf_counter()
        predictions, targets = _infer(converted, task)
        for _ in range(task.repeats - 1):
            _infer(converted, task)
        seconds = time.perf_counter() - started
        reading = meter.stop()
    finally:
        torch.set_num_threads(threads)
    molecules = len(task.test_smiles) * task.repeats
    per_1000 = 1000.0 / molecules
    return PrecisionRow(
        family=task.family_name,
        dataset=task.dataset,
        precision=precision.value,
        supported=True,
        note=PRECISION_NOTES[precision],
        metric_name=task.metric.value,
        metric=score(predictions, targets, task.metric),
        parameters=count_parameters(converted),
        file_bytes=state_dict_bytes(converted),
        molecules=molecules,
        seconds_per_1000=seconds * per_1000,
        kg_co2_per_1000=reading.emissions_kg * per_1000,
        kwh_per_1000=reading.energy_kwh * per_1000,
        device=task.device.type,
    )


_MOVABLE = (Precision.FLOAT32, Precision.FLOAT16, Precision.BFLOAT16)


def precision_table(
    model: nn.Module,
    precisions: Sequence[Precision],
    task: PrecisionTask,
    meter_factory: Callable[[], EmissionMeter],
    on_row: Callable[[PrecisionRow], None] | None = None,
) -> list[PrecisionRow]:
    """One row per precision, in the order given (``on_row`` sees each as it is measured)."""
    rows = []
    for precision in precisions:
        row = measure_precision(model, precision, task, meter_factory)
        if on_row is not None:
            on_row(row)
        rows.append(row)
    return rows
