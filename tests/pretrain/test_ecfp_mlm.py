"""``ecfp-mlm`` end to end: real tiny pretraining, CLI fine-tuning, random-init control, saved model, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pretrain_helpers import TINY_SIZES, tiny_corpus
from safetensors.torch import load_file
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from greenft.cli import app
from greenft.data.ecfp_words import ecfp_words
from greenft.data.loading import load_molecules
from greenft.data.registry import get_dataset_spec
from greenft.errors import UserError
from greenft.models import ModelConfig, build_model
from greenft.models.saved import load_saved_model
from greenft.models.sequence import HubModelError
from greenft.models.sequence.ecfp_tokenizer import EcfpTokenizer
from greenft.pretrain.recipes import PretrainConfigError, get_recipe, make_settings
from greenft.pretrain.runner import PretrainInterrupted, pretrain
from greenft.schema.files import read_jsonl
from greenft.schema.keys import BEST_MODEL_FILE, CONFIG_FILE, EPOCHS_FILE, SPLIT_FILE

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
ECFP = {**TINY_SIZES, "vocab_size": 200, "min_frequency": 1, "meter": "wallclock"}


@pytest.fixture(scope="module")
def ecfp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ecfp") / "run"
    result = pretrain("ecfp-mlm", out, corpus=tiny_corpus(), steps=4, **{**ECFP, "meter": "codecarbon"})
    return result.checkpoint


def test_recipe_settings_and_the_options_only_it_takes() -> None:
    recipe = get_recipe("ecfp-mlm")
    cpu, gpu = make_settings(recipe, "cpu"), make_settings(recipe, "gpu")
    assert (cpu.num_layers, cpu.emb_dim, cpu.max_length, cpu.vocab_size) == (3, 128, 256, 10_000)
    assert (gpu.num_layers, gpu.emb_dim, gpu.num_heads, gpu.lr) == (6, 768, 12, 1e-5)  # the thesis's size and lr
    with pytest.raises(PretrainConfigError, match="vocab_size = 500: only recipe ecfp-mlm"):
        make_settings(get_recipe("smiles-mlm"), vocab_size=500)
    # the other recipes' fingerprints and provenance carry no new keys (old runs stay resumable)
    assert "vocab_size" not in make_settings(get_recipe("smiles-mlm")).result_fields()
    assert cpu.result_fields()["vocab_size"] == 10_000


def test_checkpoint_holds_the_bpe_for_greenft_and_transformers(ecfp_run: Path) -> None:
    for name in (
        "config.json",
        "model.safetensors",
        "greenft_tokenizer.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ):
        assert (ecfp_run / name).is_file(), name
    meta = json.loads((ecfp_run / "greenft_checkpoint.json").read_text())
    assert meta["family"] == "ecfp-mlm" and meta["tokenizer"]["kind"] == "ecfp"
    assert meta["tokenizer"]["vocab_size"] <= 200 and meta["provenance"]["emissions_kg"] > 0
    assert meta["provenance"]["settings"]["vocab_size"] == 200

    from transformers import AutoTokenizer

    greenft = EcfpTokenizer.from_dict(json.loads((ecfp_run / "greenft_tokenizer.json").read_text()))
    hf = AutoTokenizer.from_pretrained(ecfp_run)
    for smiles in ("CCO", "CC(=O)Nc1ccc(O)cc1", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"):
        words = ecfp_words(smiles)
        assert hf(" ".join(words), truncation=True, max_length=48)["input_ids"] == greenft.ids(words)
    # hub models feed SMILES to the checkpoint's tokenizer: for an ECFP BPE that is refused, not silently wrong
    with pytest.raises(HubModelError, match="--model ecfp-mlm --checkpoint"):
        build_model(ModelConfig(name=f"hub:{ecfp_run}"), 1)


@pytest.fixture(scope="module")
def fine_tuned(ecfp_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CLI fine-tune of the tiny checkpoint (1 epoch, 120 BBBP molecules): its run directory."""
    runs = tmp_path_factory.mktemp("runs")
    args = ["train", "--model", "ecfp-mlm", "--checkpoint", str(ecfp_run), "--dataset", "bbbp", "--limit", "120"]
    args += ["--max-epochs", "1", "--threads", "1", "--runs-dir", str(runs), "--meter", "wallclock"]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    (config_file,) = runs.rglob(CONFIG_FILE)
    return config_file.parent


def test_cli_fine_tunes_the_checkpoint_and_its_random_init_control(ecfp_run: Path, fine_tuned: Path) -> None:
    model = json.loads((fine_tuned / CONFIG_FILE).read_text())["derived"]["model"]
    provenance = json.loads((ecfp_run / "greenft_checkpoint.json").read_text())["provenance"]
    assert model["init"] == f"pretrained:{ecfp_run}" and model["tokenizer"]["kind"] == "ecfp"
    assert model["pretraining_emissions_kg"] == provenance["emissions_kg"] > 0
    assert model["max_length"] == 48  # the checkpoint's positions bound the default 128

    # the saved model rebuilds its BPE from the file alone and scores the test split as the run logged it
    saved = load_saved_model(fine_tuned / BEST_MODEL_FILE)
    assert saved.header.family == "ecfp-mlm" and saved.header.vocabulary is not None
    molecules = load_molecules(get_dataset_spec("bbbp"), limit=120)
    test = json.loads((fine_tuned / SPLIT_FILE).read_text())["test"]
    p = saved.predict([molecules.smiles[i] for i in test]).values[:, 0]
    row = read_jsonl(fine_tuned / EPOCHS_FILE)[saved.header.epoch - 1]
    assert roc_auc_score(molecules.labels[test, 0], p) == pytest.approx(row["test/roc_auc"], abs=1e-6)

    # the control arm: the checkpoint's BPE and architecture, random weights
    twin = build_model(ModelConfig(name="ecfp-mlm", checkpoint=ecfp_run, random_init=True), 1)
    pretrained = build_model(ModelConfig(name="ecfp-mlm", checkpoint=ecfp_run), 1)
    assert twin.init == "random" and twin.info["parameters"] == pretrained.info["parameters"]
    assert twin.info["tokenizer"] == pretrained.info["tokenizer"]
    word = "encoder.embeddings.word_embeddings.weight"
    assert not torch.equal(twin.model.state_dict()[word], pretrained.model.state_dict()[word])


def test_greenft_predict_with_the_saved_ecfp_model(fine_tuned: Path, tmp_path: Path) -> None:
    saved = load_saved_model(fine_tuned / BEST_MODEL_FILE)
    inputs, out = tmp_path / "in.csv", tmp_path / "out.csv"
    inputs.write_text("smiles\nCCO\nnot-a-smiles\nc1ccccc1Cl\n")
    args = ["predict", "--model", str(fine_tuned / BEST_MODEL_FILE), "--data-file", str(inputs), "--out", str(out)]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    predicted = [line.split(",") for line in out.read_text().splitlines()[1:]]
    expected = saved.predict(["CCO", "c1ccccc1Cl"]).values[:, 0]
    np.testing.assert_allclose([float(predicted[0][1]), float(predicted[2][1])], expected, rtol=1e-6)
    assert predicted[1][1] == ""


def test_without_a_checkpoint_the_model_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENFT_HOME", str(tmp_path / "home"))  # an empty home: no default checkpoint
    for random_init in (False, True):  # the control arm needs the checkpoint's BPE too
        with pytest.raises(UserError, match="no pretrained checkpoint for ecfp-mlm") as raised:
            build_model(ModelConfig(name="ecfp-mlm", random_init=random_init), 1)
        assert "greenft pretrain ecfp-mlm" in str(raised.value) and "\n" not in str(raised.value)


def test_resumed_ecfp_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    corpus = tiny_corpus()
    settings = {**ECFP, "dropout": 0.1, "save_every": 2}
    straight = pretrain("ecfp-mlm", tmp_path / "straight", corpus=corpus, steps=6, **settings)
    with pytest.raises(PretrainInterrupted) as stopped:
        pretrain("ecfp-mlm", tmp_path / "split", corpus=corpus, steps=6, stop_after=3, **settings)
    assert stopped.value.step == 3
    resumed = pretrain("ecfp-mlm", tmp_path / "split", corpus=corpus, resume=True)
    assert resumed.resumed_from == 3 and resumed.provenance["sessions"] == 2
    a = load_file(str(straight.checkpoint / "model.safetensors"))
    b = load_file(str(resumed.checkpoint / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    same = (straight.checkpoint / "greenft_tokenizer.json").read_text()
    assert json.loads(same)["bpe"] == json.loads((resumed.checkpoint / "greenft_tokenizer.json").read_text())["bpe"]


def test_the_chosen_positions_loss_equals_the_librarys_full_loss() -> None:
    from greenft.pretrain.mlm import MlmTask, mask_tokens

    smiles = list(tiny_corpus().smiles)[:40]
    task = MlmTask("ecfp", smiles, 1, 16, 2, 48, 0.0, 0.15, "ecfp-mlm", vocab_size=200, min_frequency=1)
    task.model.eval()
    ids, mask = task.tokenizer.pad(task.sequences[:16])
    generator = torch.Generator().manual_seed(0)
    masked, labels = mask_tokens(ids, mask, 0.15, task.tokenizer.vocab_size, generator)
    full = task.model(input_ids=masked, attention_mask=mask, labels=labels).loss
    ours = task.loss(range(16), torch.Generator().manual_seed(0), torch.device("cpu"))
    assert torch.allclose(ours, full, atol=1e-6)


def test_cli_refuses_bpe_options_for_other_recipes() -> None:
    result = runner.invoke(app, ["pretrain", "smiles-mlm", "--vocab-size", "500"], env=WIDE)
    assert result.exit_code == 2
    assert "vocab_size = 500: only recipe ecfp-mlm" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_pretrains_ecfp_mlm_then_fine_tunes_it(tmp_path: Path) -> None:
    from greenft.data.corpus import moses_path, read_smiles_file

    corpus = tmp_path / "corpus.smi"  # MOSES molecules: the fixtures' own would all be excluded (they are B3DB's)
    corpus.write_text("\n".join(read_smiles_file(moses_path())[:300]) + "\n")
    args = ["pretrain", "ecfp-mlm", "--corpus-file", str(corpus), "--corpus-size", "200", "--steps", "4"]
    args += ["--layers", "1", "--emb-dim", "16", "--max-length", "64", "--vocab-size", "300", "--batch-size", "8"]
    args += ["--meter", "wallclock", "--threads", "1", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "o" / "checkpoint" / "greenft_checkpoint.json").read_text())
    assert meta["tokenizer"]["kind"] == "ecfp" and meta["tokenizer"]["vocab_size"] <= 300
    assert "corpus molecules truncated at max_length 64" in result.output
    train = ["train", "--model", "ecfp-mlm", "--checkpoint", str(tmp_path / "o"), "--dataset", "bbbp"]
    train += ["--limit", "120", "--max-epochs", "2", "--threads", "1", "--runs-dir", str(tmp_path / "runs")]
    result = runner.invoke(app, train, env=WIDE)
    assert result.exit_code == 0, result.output
    (config_file,) = (tmp_path / "runs").rglob(CONFIG_FILE)
    assert json.loads(config_file.read_text())["derived"]["model"]["init"].startswith("pretrained:")


@pytest.mark.slow  # two trainings (~15 s on the loaded 2-core box)
def test_the_sweep_file_trains_the_pretrained_arm_and_its_control(ecfp_run: Path, tmp_path: Path) -> None:
    from conftest import small_trial
    from greenft.agents import TrialConfig, run_trial
    from greenft.sweeps import load_sweep_spec
    from greenft.sweeps.agent import agent_trial

    raw = load_sweep_spec(Path(__file__).resolve().parents[2] / "sweeps" / "ecfp-mlm.yaml").raw["parameters"]
    assert raw["model"] == {"value": "ecfp-mlm"} and raw["random_init"] == {"values": [False, True]}
    base = TrialConfig.model_validate(small_trial(tmp_path, tracking={"meter": "wallclock"}))
    inits = []
    for random_init in raw["random_init"]["values"]:  # the file's values, at a tiny size and one epoch
        params = {name: spec["value"] if "value" in spec else spec["values"][0] for name, spec in raw.items()}
        params.update(random_init=random_init, checkpoint=str(ecfp_run), limit=120, max_epochs=1, threads=1)
        config, metadata = agent_trial(params, {"WANDB_MODE": "offline"}, base)
        result = run_trial(config, run_metadata=metadata)
        assert result.status == "finished" and config.data.dataset == "bbbp" and config.data.split == "scaffold"
        inits.append(json.loads((result.files_dir / CONFIG_FILE).read_text())["derived"]["model"]["init"])
    assert inits == [f"pretrained:{ecfp_run}", "random"]
