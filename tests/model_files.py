"""A saved model file made without training: a tiny GIN for bbbp's one task (random weights), saved as a run saves
one. For the tests of what reads model files (predict, evaluate, the fault rows): what they test is the plumbing,
rows, columns, errors and emissions, not the model's quality, so they need no trainer run."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any


def tiny_model(path: Path, training_config: dict[str, Any] | None = None, **changes: Any) -> Path:
    """A 2 x 16 GIN for bbbp's task ``p_np``, seeded random weights, written to ``path``; ``training_config``
    defaults to a bbbp trial of 200 molecules (what ``greenft evaluate`` rebuilds the split from); ``changes``
    replace header fields (e.g. a regression task with its target scaler)."""
    import torch

    from greenft.agents.config import TrialConfig
    from greenft.models import ModelConfig, count_parameters, get_family
    from greenft.models.saved import SAVED_MODEL_FORMAT, SAVED_MODEL_VERSION, SavedModelHeader, save_model

    if training_config is None:
        trial = {"data": {"dataset": "bbbp", "limit": 200}, "tracking": {"measure_power_secs": 1.0}}
        training_config = TrialConfig.model_validate(trial).model_dump(mode="json")
    torch.manual_seed(0)
    config = ModelConfig(name="gin", num_layers=2, emb_dim=16)
    model = get_family("gin").build(config, 1).model
    fields: dict[str, Any] = dict(
        format=SAVED_MODEL_FORMAT,
        version=SAVED_MODEL_VERSION,
        greenft_version="0.1.0",
        family="gin",
        model=config.model_dump(mode="json"),
        vocabulary=None,
        num_tasks=1,
        task_names=["p_np"],
        task_type="classification",
        metric="roc_auc",
        dataset="bbbp",
        target_mean=[0.0],
        target_std=[1.0],
        which="best",
        epoch=1,
        val_metric=0.5,
        test_metric=0.5,
        parameters=count_parameters(model),
        emissions_kg=1e-6,
        energy_kwh=1e-5,
        run_id=None,
        run_path=None,
        training_config=training_config,
    )
    return save_model(path, model, SavedModelHeader.model_validate({**fields, **changes}))


@cache
def tiny_model_bytes() -> bytes:
    """The bytes of :func:`tiny_model`, built once per process (in a private temporary folder)."""
    with tempfile.TemporaryDirectory() as folder:
        return tiny_model(Path(folder) / "tiny_model.pt").read_bytes()
