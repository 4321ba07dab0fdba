"""Saved model files (greenft.models.saved): rebuilt without checkpoint or data, predicting, and refused clearly.

The models here are built by their families (random weights, tiny sizes) and saved directly; the trainer writing
them at the end of a trial is tests/agents/test_saved_models.py.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from greenft.models import ModelConfig, count_parameters, get_family
from greenft.models.saved import (
    SAVED_MODEL_FORMAT,
    SAVED_MODEL_VERSION,
    SavedModelError,
    SavedModelHeader,
    canonical,
    load_saved_model,
    rebuild_parts,
    save_model,
)
from greenft.models.sequence.transformer import SequencePropertyModel

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C1CC", "", "not a molecule", "O=C=O", "[Na+].[Cl-]"]
VALID = [0, 1, 2, 6, 7]


def header_for(name: str, model: torch.nn.Module, config: ModelConfig, **changes: Any) -> SavedModelHeader:
    vocabulary, encoder_config = rebuild_parts(model)
    assert (vocabulary is not None) == isinstance(model, SequencePropertyModel)
    fields: dict[str, Any] = {
        "format": SAVED_MODEL_FORMAT,
        "version": SAVED_MODEL_VERSION,
        "greenft_version": "0.1.0",
        "family": name,
        "model": config.model_dump(mode="json"),
        "vocabulary": vocabulary,
        "num_tasks": 2,
        "task_names": ["a", "b"],
        "task_type": "regression",
        "metric": "rmse",
        "dataset": "hand",
        "target_mean": [1.5, -2.0],
        "target_std": [2.0, 0.5],
        "which": "best",
        "epoch": 1,
        "val_metric": 0.5,
        "test_metric": 0.6,
        "parameters": count_parameters(model),
        "emissions_kg": 1e-6,
        "energy_kwh": 1e-5,
        "run_id": None,
        "run_path": None,
        "training_config": {},
        "encoder_config": encoder_config,
    }
    fields.update(changes)
    return SavedModelHeader.model_validate(fields)


def saved(tmp_path: Path, name: str = "gin", **changes: Any) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    config = ModelConfig(name=name, num_layers=2, emb_dim=16)
    model = get_family(name).build(config, 2).model
    path = save_model(tmp_path / f"{name}.pt", model, header_for(name, model, config, **changes))
    return path, model.eval()


def direct_outputs(model: torch.nn.Module, name: str, smiles: list[str]) -> torch.Tensor:
    """The unsaved model's outputs on valid molecules, through the family's training-time encode and loader."""
    family = get_family(name)
    smiles = [str(canonical(text)[0]) for text in smiles]  # the trainer reads datasets as canonical SMILES
    items = family.encode(smiles, np.full((len(smiles), 2), np.nan), cache_dir=None)
    with torch.no_grad():
        return torch.cat([model(batch) for batch in family.loader(items, 64, shuffle=False)])


@pytest.mark.parametrize("name", ["gin", "smiles-transformer", "selfies-transformer", "gcn-molclr"])
def test_saved_model_predicts_as_the_model_did_with_invalid_rows_nan(tmp_path: Path, name: str) -> None:
    path, model = saved(tmp_path, name)
    loaded = load_saved_model(path)
    assert loaded.header.family == name and not loaded.model.training
    predictions = loaded.predict(SMILES, batch_size=3)
    assert predictions.values.shape == (len(SMILES), 2) and predictions.values.dtype == np.float64
    assert sorted(predictions.invalid) == [3, 4, 5]
    assert predictions.invalid[3] == "RDKit cannot parse 'C1CC'"
    assert predictions.invalid[4] == "empty SMILES"
    assert np.isnan(predictions.values[[3, 4, 5]]).all()
    # regression: original units = standardised output * std + mean (the header's scaler), same weights
    raw = direct_outputs(model, name, [SMILES[i] for i in VALID])
    expected = (raw * torch.tensor([2.0, 0.5]) + torch.tensor([1.5, -2.0])).numpy().astype(np.float64)
    np.testing.assert_allclose(predictions.values[VALID], expected, rtol=1e-5, atol=1e-6)


def test_classification_gives_sigmoid_probabilities(tmp_path: Path) -> None:
    path, model = saved(tmp_path, task_type="classification", metric="roc_auc", target_mean=[0, 0], target_std=[1, 1])
    predictions = load_saved_model(path).predict(SMILES)
    raw = direct_outputs(model, "gin", [SMILES[i] for i in VALID])
    np.testing.assert_allclose(predictions.values[VALID], torch.sigmoid(raw).numpy(), rtol=1e-6)
    assert ((predictions.values[VALID] > 0) & (predictions.values[VALID] < 1)).all()


def test_on_batch_reports_molecules_done(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    done: list[int] = []
    load_saved_model(path).predict(SMILES, batch_size=3, on_batch=done.append)
    assert done == [3, 6, 8]


def test_pretrained_family_rebuilds_without_its_checkpoint(tmp_path: Path) -> None:
    """gin-contrastive's checkpoint is not on this box: the saved file still loads (its base architecture)."""
    config = ModelConfig(name="gin", num_layers=2, emb_dim=16)
    model = get_family("gin").build(config, 2).model
    header = header_for("gin-contrastive", model, config.model_copy(update={"name": "gin-contrastive"}))
    path = save_model(tmp_path / "contrastive.pt", model, header)
    assert load_saved_model(path).predict(["CCO"]).invalid == {}


def write_bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    raw = torch.load(good, weights_only=True)
    files = {
        "truncated": tmp_path / "truncated.pt",
        "random": tmp_path / "random.pt",
        "json": tmp_path / "model.json",
        "no_header": tmp_path / "no_header.pt",
        "newer": tmp_path / "newer.pt",
        "family": tmp_path / "family.pt",
        "pickle": tmp_path / "pickled.pt",
        "shapes": tmp_path / "shapes.pt",
    }
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["random"].write_bytes(np.random.default_rng(0).bytes(4096))
    files["json"].write_text(json.dumps({"header": raw["header"]}))
    torch.save({"state_dict": raw["state_dict"]}, files["no_header"])
    torch.save({**raw, "header": {**raw["header"], "version": SAVED_MODEL_VERSION + 1}}, files["newer"])
    torch.save({**raw, "header": {**raw["header"], "family": "no-such-model"}}, files["family"])
    files["pickle"].write_bytes(pickle.dumps({"header": raw["header"]}))
    grown = {**raw["state_dict"], "head.weight": torch.zeros(3, 16)}
    torch.save({**raw, "state_dict": grown}, files["shapes"])
    return files


def test_bad_files_give_one_line_naming_the_path(tmp_path: Path) -> None:
    good, _ = saved(tmp_path)
    expected = {
        "truncated": "truncated or corrupt",
        "random": "not a greenft model file",
        "json": "JSON/text file",
        "no_header": "no 'header' entry",
        "newer": "newer greenft",
        "family": "cannot rebuild model 'no-such-model'",
        "pickle": "not a greenft model file",
        "shapes": "weights do not fit",
    }
    for kind, path in write_bad_files(tmp_path, good).items():
        with pytest.raises(SavedModelError) as caught:
            load_saved_model(path)
        message = str(caught.value)
        assert "\n" not in message and str(path) in message and expected[kind] in message, (kind, message)
    with pytest.raises(SavedModelError, match="model file not found"):
        load_saved_model(tmp_path / "missing.pt")
    with pytest.raises(SavedModelError, match="not a file"):
        load_saved_model(tmp_path)


def test_header_is_frozen_and_refuses_unknown_fields(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    header = load_saved_model(path).header
    with pytest.raises(ValueError):
        SavedModelHeader.model_validate({**header.model_dump(), "extra": 1})
    with pytest.raises(ValueError):
        header.epoch = 2  # type: ignore[misc]


def test_hub_models_cannot_be_saved_and_say_why() -> None:
    """A hub model's tokenizer is a Hugging Face one (here greenft's SMILES vocabulary in its HF form), which a
    saved file does not carry: refused in one line instead of a file that cannot rebuild."""
    from transformers import RobertaModel

    from greenft.models.sequence.tokenizers import MolTokenizer
    from greenft.models.sequence.transformer import HubBatchTokenizer, roberta_config

    tokenizer = MolTokenizer.base("smiles", 32)
    encoder = RobertaModel(roberta_config(tokenizer.vocab_size, 1, 16, 2, 32, 0.0), add_pooling_layer=False)
    model = SequencePropertyModel(encoder, HubBatchTokenizer(tokenizer.to_hf(), 32, "local"), 1)
    with pytest.raises(SavedModelError, match="hub models are not supported"):
        rebuild_parts(model)
