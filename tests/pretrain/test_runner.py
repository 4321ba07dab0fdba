from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pretrain_helpers import TINY_SIZES, tiny_corpus
from safetensors.torch import load_file
from typer.testing import CliRunner

from greenft.cli import app
from greenft.data.corpus import moses_path, read_smiles_file
from greenft.pretrain.recipes import PretrainConfigError, get_recipe, make_settings
from greenft.pretrain.runner import STATE_FILE, PretrainInterrupted, plan_run, pretrain, schedule

runner = CliRunner()
MLM = {**TINY_SIZES, "dropout": 0.1, "save_every": 2, "meter": "wallclock"}


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint / "model.safetensors"))


def test_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    corpus = tiny_corpus()
    straight = pretrain("smiles-mlm", tmp_path / "straight", corpus=corpus, steps=6, **MLM)
    with pytest.raises(PretrainInterrupted) as stopped:
        pretrain("smiles-mlm", tmp_path / "split", corpus=corpus, steps=6, stop_after=3, **MLM)
    assert stopped.value.step == 3
    state = torch.load(tmp_path / "split" / STATE_FILE, weights_only=True)
    assert state["step"] == 3 and not state["finished"]
    resumed = pretrain("smiles-mlm", tmp_path / "split", corpus=corpus, resume=True)
    assert resumed.resumed_from == 3 and resumed.provenance["sessions"] == 2
    a, b = _weights(straight.checkpoint), _weights(resumed.checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    log = [json.loads(line) for line in (tmp_path / "split" / "pretrain_log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 6


def test_runs_are_never_clobbered_or_silently_changed(tmp_path: Path) -> None:
    corpus = tiny_corpus()
    with pytest.raises(PretrainConfigError, match="nothing to resume"):
        plan_run("gin-contrastive", tmp_path / "g", resume=True)
    pretrain("gin-contrastive", tmp_path / "g", corpus=corpus, steps=2, meter="wallclock", **TINY_SIZES)
    with pytest.raises(PretrainConfigError, match=r"--resume .* --overwrite"):
        plan_run("gin-contrastive", tmp_path / "g")
    with pytest.raises(PretrainConfigError, match=r"lr = 0\.1"):
        plan_run("gin-contrastive", tmp_path / "g", resume=True, overrides={"lr": 0.1})
    with pytest.raises(PretrainConfigError, match="is a 'gin-contrastive' run"):
        plan_run("smiles-mlm", tmp_path / "g", resume=True)
    again = pretrain("gin-contrastive", tmp_path / "g", corpus=corpus, resume=True, threads=1)
    assert again.already_finished and again.steps == 2
    fresh = plan_run("gin-contrastive", tmp_path / "g", overwrite=True)
    assert fresh.state is None and not (tmp_path / "g" / "checkpoint").exists()


def test_settings_presets_and_schedule() -> None:
    recipe = get_recipe("smiles-mlm")
    gpu = make_settings(recipe, "gpu")
    assert (gpu.num_layers, gpu.emb_dim, gpu.num_heads) == (6, 768, 12)
    assert (make_settings(get_recipe("gin-contrastive"), "gpu").num_layers, 300) == (5, 300)
    with pytest.raises(PretrainConfigError, match="batch_size = 1"):
        make_settings(recipe, batch_size=1)
    with pytest.raises(PretrainConfigError, match="unknown pretraining recipe 'bert'"):
        get_recipe("bert")
    factor = schedule(100, 0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0) and factor(100) == 0.0


def test_cli_user_errors_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pretrain", "bert-mlm"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "unknown pretraining recipe 'bert-mlm'" in result.output
    result = runner.invoke(app, ["pretrain", "smiles-mlm", "--resume", "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "nothing to resume" in result.output


@pytest.mark.slow
def test_cli_pretrains_from_a_corpus_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.smi"  # MOSES molecules: the fixtures' own would all be excluded (they are B3DB's)
    corpus.write_text("\n".join(read_smiles_file(moses_path())[:300]) + "\n")
    args = ["pretrain", "gin-contrastive", "--corpus-file", str(corpus), "--corpus-size", "100", "--steps", "3"]
    args += [
        "--layers",
        "1",
        "--emb-dim",
        "16",
        "--batch-size",
        "8",
        "--meter",
        "wallclock",
        "--out",
        str(tmp_path / "o"),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "checkpoint" in result.output and "greenft train --model gin-contrastive" in result.output
