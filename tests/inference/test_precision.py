"""Post-training precisions on real molecules (BBBP sample) and tiny random GIN / SMILES-transformer models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from greenft.agents.fit import TargetScaler, evaluate
from greenft.data import get_dataset_spec, load_molecules
from greenft.data.loading import LabelledMolecules
from greenft.inference.precision import (
    PrecisionUnsupported,
    UnknownPrecisionError,
    count_parameters,
    parse_precisions,
    state_dict_bytes,
    to_precision,
)
from greenft.inference.precision_table import PrecisionTask, measure_precision, precision_table
from greenft.models import ModelConfig, get_family
from greenft.schema.inference import Precision, precision_rows_from_json, precision_rows_to_json
from greenft.tracking import WallClockMeter

FAMILIES = ("gin", "smiles-transformer")
QUANTISED = (torch.ao.nn.quantized.Linear, torch.ao.nn.quantized.dynamic.Linear)


@pytest.fixture(scope="module")
def molecules() -> LabelledMolecules:
    return load_molecules(get_dataset_spec("bbbp"), limit=80)


def _model(name: str, num_tasks: int, emb_dim: int = 32) -> nn.Module:
    torch.manual_seed(0)
    return get_family(name).build(ModelConfig(name=name, num_layers=2, emb_dim=emb_dim), num_tasks).model.eval()


def _batches(name: str, molecules: LabelledMolecules, start: int, stop: int) -> list[Any]:
    family = get_family(name)
    items = family.encode(molecules.smiles[start:stop], molecules.labels[start:stop])
    return list(family.loader(items, 32, shuffle=False))


def _outputs(model: nn.Module, batches: list[Any]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(b).float() for b in batches])


def _close(reference: torch.Tensor, other: torch.Tensor) -> None:
    """``other`` differs from ``reference`` (precision lost) but ranks the molecules alike: correlation >= 0.95.

    Scale-free on purpose: a random model's outputs sit near 0, where an absolute bound says little."""
    assert (other - reference).abs().max().item() > 0
    correlation = np.corrcoef(reference.flatten().numpy(), other.flatten().numpy())[0, 1]
    assert correlation >= 0.95, correlation


def _linears(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and not isinstance(m, QUANTISED)]


@pytest.mark.parametrize("name", FAMILIES)
def test_dynamic_int8_replaces_linear_layers_and_stays_close(name: str, molecules: LabelledMolecules) -> None:
    model = _model(name, molecules.num_tasks)
    before = _linears(model)
    quantised = to_precision(model, Precision.DYNAMIC_INT8)
    assert _linears(model) == before  # the original is untouched
    assert _linears(quantised) == ["head"]  # every other Linear (GIN MLPs, attention/FFN) is int8
    assert sum(isinstance(m, QUANTISED) for m in quantised.modules()) == len(before) - 1
    batches = _batches(name, molecules, 0, 64)
    reference, int8 = _outputs(model, batches), _outputs(quantised, batches)
    _close(reference, int8)
    assert count_parameters(quantised) == count_parameters(model)
    assert state_dict_bytes(quantised) < state_dict_bytes(model)


@pytest.mark.parametrize("name", FAMILIES)
def test_static_int8_calibrates_on_training_molecules(name: str, molecules: LabelledMolecules) -> None:
    model = _model(name, molecules.num_tasks)
    quantised = to_precision(model, Precision.STATIC_INT8, _batches(name, molecules, 32, 80))
    assert _linears(quantised) == ["head"]
    assert any(isinstance(m, torch.ao.nn.quantized.Linear) for m in quantised.modules())
    batches = _batches(name, molecules, 0, 32)
    reference, int8 = _outputs(model, batches), _outputs(quantised, batches)
    _close(reference, int8)
    with pytest.raises(PrecisionUnsupported, match="no calibration molecules"):
        to_precision(model, Precision.STATIC_INT8, [])


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("precision", [Precision.FLOAT16, Precision.BFLOAT16])
def test_half_precisions_halve_the_file(name: str, precision: Precision, molecules: LabelledMolecules) -> None:
    model = _model(name, molecules.num_tasks, emb_dim=64)  # wide enough that pickling overhead is a few %
    half = to_precision(model, precision)
    assert {p.dtype for p in half.parameters()} == {getattr(torch, precision.value)}
    ratio = state_dict_bytes(half) / state_dict_bytes(model)
    assert 0.5 <= ratio < 0.55  # 2 of 4 bytes per weight, plus the same keys and layout overhead
    assert count_parameters(half) == count_parameters(model)
    batches = _batches(name, molecules, 0, 32)
    reference, out = _outputs(model, batches), _outputs(half, batches)
    _close(reference, out)


def _task(name: str, molecules: LabelledMolecules, **changes: Any) -> PrecisionTask:
    spec = molecules.spec
    defaults: dict[str, Any] = dict(
        family_name=name,
        dataset=spec.name,
        family=get_family(name),
        task_type=spec.task_type,
        metric=spec.metric,
        scaler=TargetScaler.fit(molecules.labels[40:], spec.task_type),
        test_smiles=molecules.smiles[:40],
        test_labels=molecules.labels[:40],
        calibration_items=get_family(name).encode(molecules.smiles[40:], molecules.labels[40:]),
        batch_size=16,
    )
    return PrecisionTask(**{**defaults, **changes})


def test_every_precision_gives_a_row_and_float32_scores_like_the_trainer(molecules: LabelledMolecules) -> None:
    model = _model("gin", molecules.num_tasks)
    task = _task("gin", molecules)
    seen: list[str] = []
    rows = precision_table(model, list(Precision), task, WallClockMeter, on_row=lambda r: seen.append(r.precision))
    assert seen == [p.value for p in Precision]
    assert all(r.supported and r.molecules == 40 and r.metric_name == "roc_auc" for r in rows), rows
    family = get_family("gin")
    loader = family.loader(family.encode(task.test_smiles, task.test_labels), 16, shuffle=False)
    trainer = evaluate(model, loader, task.task_type, task.metric, task.scaler, torch.device("cpu"))
    assert rows[0].metric == pytest.approx(trainer, abs=1e-12)
    assert len({r.parameters for r in rows}) == 1
    assert all(r.seconds_per_1000 is not None and r.seconds_per_1000 > 0 for r in rows)
    assert precision_rows_from_json(precision_rows_to_json(rows)) == rows


def test_unsupported_precisions_are_rows_with_a_note(molecules: LabelledMolecules) -> None:
    model = _model("smiles-transformer", molecules.num_tasks)
    no_calibration = measure_precision(
        model, Precision.STATIC_INT8, _task("smiles-transformer", molecules, calibration_items=[]), WallClockMeter
    )
    assert not no_calibration.supported and "no calibration molecules" in no_calibration.note
    assert no_calibration.metric is None and no_calibration.file_bytes is None
    on_gpu = measure_precision(
        model,
        Precision.DYNAMIC_INT8,
        _task("smiles-transformer", molecules, device=torch.device("cuda")),
        WallClockMeter,
    )
    assert not on_gpu.supported and "CPU only" in on_gpu.note and on_gpu.device == "cuda"


def test_precision_names_are_checked() -> None:
    assert parse_precisions("float32, dynamic-int8,float32") == [Precision.FLOAT32, Precision.DYNAMIC_INT8]
    with pytest.raises(UnknownPrecisionError, match=r"'int4'.*float32, float16, bfloat16, dynamic-int8, static-int8"):
        parse_precisions("float32,int4")


def test_regression_outputs_are_in_original_units() -> None:
    molecules = load_molecules(get_dataset_spec("freesolv"), limit=60)
    model = _model("gin", molecules.num_tasks)
    task = _task("gin", molecules)
    row = measure_precision(model, Precision.FLOAT32, task, WallClockMeter)
    family = get_family("gin")
    loader = family.loader(family.encode(task.test_smiles, task.test_labels), 16, shuffle=False)
    trainer = evaluate(model, loader, task.task_type, task.metric, task.scaler, torch.device("cpu"))
    assert row.supported and row.metric_name == molecules.spec.metric.value
    assert row.metric == pytest.approx(trainer, rel=1e-12) and np.isfinite(trainer)
