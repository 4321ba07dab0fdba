"""The validation pass: ``val/loss`` is the training objective (``fit.masked_loss``) over the whole validation set,
the metric is ``fit.evaluate``'s, both from one pass over batches of any size; the SEs are those of the same
predictions. Real tiny models on real molecules, classification and regression."""

from __future__ import annotations

import pytest
import torch

from greenft.agents.bootstrap import bootstrap_se, metric_statistics, resample_counts, weighted_mean_loss
from greenft.agents.fit import TargetScaler, evaluate, masked_loss, predict_with_losses
from greenft.agents.validation import validate
from greenft.data import get_dataset_spec, load_molecules
from greenft.models import ModelConfig, get_family

CPU = torch.device("cpu")


@pytest.mark.parametrize("dataset", ["b3db", "freesolv"])
def test_val_loss_is_the_masked_training_loss_over_the_whole_set(dataset: str) -> None:
    torch.manual_seed(0)
    molecules = load_molecules(get_dataset_spec(dataset), limit=60)
    task, metric = molecules.spec.task_type, molecules.spec.metric
    config = ModelConfig(num_layers=2, emb_dim=16)
    family = get_family(config.name)
    items = family.encode(molecules.smiles, molecules.labels)
    model = family.build(config, molecules.num_tasks).model
    scaler = TargetScaler.fit(molecules.labels, task)

    result = validate(model, family.loader(items, 16, shuffle=False), task, metric, scaler, CPU)

    (whole,) = list(family.loader(items, len(items), shuffle=False))  # one batch: the loss as training defines it
    with torch.no_grad():
        model.eval()
        expected = float(masked_loss(model(whole), whole.y, task, scaler))
    assert result.loss == pytest.approx(expected, rel=1e-5)
    assert result.metric == pytest.approx(
        evaluate(model, family.loader(items, 7, shuffle=False), task, metric, scaler, CPU)
    )
    predictions, targets, losses = predict_with_losses(
        model, family.loader(items, 60, shuffle=False), task, scaler, CPU
    )
    counts = resample_counts(len(targets))
    assert result.metric_se == pytest.approx(bootstrap_se(metric_statistics(predictions, targets, metric, counts)))
    assert result.loss_se == pytest.approx(bootstrap_se(weighted_mean_loss(losses, counts)))
    assert 0 < result.metric_se < result.metric and 0 < result.loss_se < result.loss
