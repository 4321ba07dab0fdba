"""``greenft quantize``'s work: a saved model's precision table on its own dataset's test molecules.

The molecules are the run's own: its training config (``header.training_config``) gives the dataset (or file),
the ``limit`` sample, the split kind, fractions and seed (or its split file, split column or test file), and the
trainer's own :func:`load_data` and :func:`~greenft.data.split_sources.resolve_split` rebuild exactly the split it
scored, so the float32 row's metric is the test metric the run
logged. Static int8 calibrates on the run's training molecules (the first ``calibration_molecules`` of them in
split order: never a test molecule).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from greenft.agents.config import TrialConfig
from greenft.agents.fit import TargetScaler
from greenft.agents.trial import load_data
from greenft.data.registry import Metric, TaskType
from greenft.data.split_sources import resolve_split
from greenft.inference.precision_table import PrecisionTask
from greenft.models.saved import SavedModel, SavedModelHeader
from greenft.tracking import CodeCarbonMeter, EmissionMeter

__all__ = ["CALIBRATION_MOLECULES", "meter_factory", "precision_task", "training_config"]

CALIBRATION_MOLECULES = 512
"""Training molecules static int8 calibrates on by default: activation ranges settle within a few batches."""


def training_config(header: SavedModelHeader) -> TrialConfig:
    """The run's TrialConfig (entries the run added beside it, such as ``derived`` or ``sweep``, dropped)."""
    known = {key: value for key, value in header.training_config.items() if key in TrialConfig.model_fields}
    return TrialConfig.model_validate(known)


def precision_task(
    saved: SavedModel,
    batch_size: int = 256,
    repeats: int = 1,
    device: torch.device | None = None,
    calibration_molecules: int = CALIBRATION_MOLECULES,
) -> PrecisionTask:
    """What every precision of ``saved`` is measured on: its run's test split, calibration on its training split."""
    header = saved.header
    config = training_config(header)
    molecules, split = resolve_split(config.data, load_data(config), config.seed)
    test = [int(i) for i in split.test]
    train = [int(i) for i in split.train][:calibration_molecules]
    family = saved.family
    scaler = TargetScaler(
        torch.tensor(header.target_mean, dtype=torch.float32), torch.tensor(header.target_std, dtype=torch.float32)
    )
    return PrecisionTask(
        family_name=header.family,
        dataset=header.dataset,
        family=family,
        task_type=TaskType(header.task_type),
        metric=Metric(header.metric),
        scaler=scaler,
        test_smiles=[molecules.smiles[i] for i in test],
        test_labels=molecules.labels[test],
        calibration_items=family.encode([molecules.smiles[i] for i in train], molecules.labels[train]),
        batch_size=batch_size,
        repeats=repeats,
        device=device if device is not None else torch.device("cpu"),
    )


def meter_factory(header: SavedModelHeader, measure_power_secs: float = 1.0) -> Callable[[], EmissionMeter]:
    """CodeCarbon meters for the run's own grid (its ``tracking.country_iso_code``; unset there, the grid its training
    run recorded: greenft.inference.measure.model_grid), sampling every second."""
    from greenft.inference.measure import model_grid

    country, source = model_grid(header)
    return lambda: CodeCarbonMeter(
        country_iso_code=country, measure_power_secs=measure_power_secs, country_source=source
    )
