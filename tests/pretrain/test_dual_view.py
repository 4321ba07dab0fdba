"""``greenft pretrain dual-view``: the consistency loss, the three logged terms, exact resumption, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from pretrain_helpers import TINY_SIZES, tiny_corpus
from safetensors.torch import load_file
from typer.testing import CliRunner

from greenft.cli import app
from greenft.data.corpus import moses_path, read_smiles_file
from greenft.models.sequence.checkpoint import read_sequence_checkpoint
from greenft.pretrain.dual_view import consistency_loss
from greenft.pretrain.recipes import PretrainConfigError, get_recipe, make_settings
from greenft.pretrain.runner import LOG_FILE, PretrainInterrupted, PretrainProgress, pretrain

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
DUAL = {**TINY_SIZES, "dropout": 0.1, "save_every": 2, "meter": "wallclock", "threads": 1}


def test_consistency_loss_is_two_times_one_minus_cosine() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 1.0], [0.0, -3.0]])
    # by hand: row 1 cos = 1/sqrt(2) -> 2 - sqrt(2); row 2 cos = -1 -> 4; the mean of the two
    assert float(consistency_loss(a, b)) == pytest.approx((2 - math.sqrt(2) + 4) / 2, abs=1e-6)
    v = torch.tensor([[0.3, -1.2, 2.0], [5.0, 0.1, -0.4]])
    assert float(consistency_loss(v, 7 * v)) == pytest.approx(0.0, abs=1e-6)  # aligned (any scale)
    assert float(consistency_loss(v, -0.5 * v)) == pytest.approx(4.0, abs=1e-6)  # opposite


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    sequence = load_file(str(checkpoint / "sequence" / "model.safetensors"))
    graph = torch.load(checkpoint / "graph" / "encoder.pt", weights_only=True)["state_dict"]
    projection = torch.load(checkpoint / "consistency.pt", weights_only=True)
    return {
        **{f"seq.{k}": v for k, v in sequence.items()},
        **{f"graph.{k}": v for k, v in graph.items()},
        **{f"w.{k}": v for k, v in projection.items()},
    }


def test_three_terms_are_logged_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    corpus = tiny_corpus()
    options = {**DUAL, "graph_model": "gcn", "consistency_weight": 0.5, "steps": 4}
    reports: list[PretrainProgress] = []
    straight = pretrain("dual-view", tmp_path / "straight", corpus=corpus, on_progress=reports.append, **options)
    with pytest.raises(PretrainInterrupted) as stopped:
        pretrain("dual-view", tmp_path / "split", corpus=corpus, stop_after=2, **options)
    assert stopped.value.step == 2
    resumed = pretrain("dual-view", tmp_path / "split", corpus=corpus, resume=True)
    assert resumed.resumed_from == 2 and resumed.provenance["sessions"] == 2
    a, b = _weights(straight.checkpoint), _weights(resumed.checkpoint)
    assert a.keys() == b.keys() and any(k.startswith("graph.gnns.0.linear") for k in a)  # the GCN layout
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key

    (line,) = [json.loads(text) for text in (tmp_path / "straight" / LOG_FILE).read_text().splitlines()]
    terms = {k: line[k] for k in ("loss_mlm", "loss_contrastive", "loss_consistency")}
    assert all(math.isfinite(v) and v > 0 for v in terms.values())
    assert 0 <= terms["loss_consistency"] <= 4  # 2 (1 - cos) lies in [0, 4]
    # the total is the weighted sum of the terms (means over the same steps are linear)
    expected = terms["loss_mlm"] + terms["loss_contrastive"] + 0.5 * terms["loss_consistency"]
    assert line["loss"] == pytest.approx(expected, rel=1e-5)
    assert [r.terms for r in reports] == [terms] and reports[-1].loss == line["loss"]  # the CLI's progress bar

    meta = json.loads((straight.checkpoint / "greenft_checkpoint.json").read_text())
    assert meta["format"] == "greenft-dual-view" and meta["graph_model"] == "gcn"
    assert meta["provenance"]["final_loss_terms"] == terms and meta["provenance"]["steps"] == 4
    assert meta["loss_weights"] == {"loss_mlm": 1.0, "loss_contrastive": 1.0, "loss_consistency": 0.5}
    sequence = read_sequence_checkpoint(straight.checkpoint / "sequence")  # each half readable on its own
    assert sequence.tokenizer.kind == "smiles" and sequence.provenance["recipe"] == "dual-view"
    graph_meta = json.loads((straight.checkpoint / "graph" / "greenft_checkpoint.json").read_text())
    assert graph_meta["base_model"] == "gcn" and graph_meta["architecture"]["emb_dim"] == TINY_SIZES["emb_dim"]
    w = torch.load(straight.checkpoint / "consistency.pt", weights_only=True)["weight"]
    assert tuple(w.shape) == (TINY_SIZES["emb_dim"], 2 * TINY_SIZES["emb_dim"])  # Linear(2 graph -> sequence)


def test_dual_view_settings_are_validated_and_leave_the_other_recipes_unchanged() -> None:
    recipe = get_recipe("dual-view")
    gpu = make_settings(recipe, "gpu")
    assert (gpu.num_layers, gpu.emb_dim, gpu.graph_sizes) == (6, 768, (5, 300))
    cpu = make_settings(recipe)
    assert (cpu.num_layers, cpu.emb_dim, cpu.graph_sizes) == (3, 128, (3, 128))
    assert (cpu.mlm_weight, cpu.contrastive_weight, cpu.consistency_weight) == (1.0, 1.0, 1.0)
    ecfp = make_settings(recipe, sequence_tokens="ecfp")  # ecfp-mlm's BPE settings and max_length unless given
    assert (ecfp.vocab_size, ecfp.min_frequency, ecfp.max_length) == (10_000, 2, 256)
    assert make_settings(recipe, "gpu", sequence_tokens="ecfp", vocab_size=500).max_length == 512
    with pytest.raises(PretrainConfigError, match=r"vocab_size = 500: only recipe ecfp-mlm .*sequence_tokens 'ecfp'"):
        make_settings(recipe, vocab_size=500)  # SMILES tokens have no BPE
    with pytest.raises(PretrainConfigError, match="graph_model = 'gat'"):
        make_settings(recipe, graph_model="gat")
    with pytest.raises(PretrainConfigError, match="are all 0"):
        make_settings(recipe, mlm_weight=0, contrastive_weight=0, consistency_weight=0)
    with pytest.raises(PretrainConfigError, match="mlm_weight = -1"):
        make_settings(recipe, mlm_weight=-1)
    with pytest.raises(PretrainConfigError, match="graph_model = 'gcn': a dual-view setting; recipe smiles-mlm"):
        make_settings(get_recipe("smiles-mlm"), graph_model="gcn")
    # the other recipes' states and fingerprints hold no dual-view field (runs saved before them still resume)
    assert not set(make_settings(get_recipe("smiles-mlm")).result_fields()) & {
        "sequence_tokens",
        "graph_model",
        "mlm_weight",
    }
    assert make_settings(recipe, graph_model="gcn").result_fields()["graph_model"] == "gcn"


def test_cli_user_errors_are_one_line_exit_2() -> None:
    result = runner.invoke(app, ["pretrain", "dual-view", "--sequence-tokens", "inchi"], env=WIDE)
    assert result.exit_code == 2 and "inchi" in result.output
    result = runner.invoke(app, ["pretrain", "gin-contrastive", "--mlm-weight", "2"], env=WIDE)
    assert result.exit_code == 2 and "mlm_weight = 2.0: a dual-view setting" in result.output


@pytest.mark.slow
def test_cli_pretrains_dual_view_and_shows_each_loss(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.smi"  # MOSES molecules: the fixtures' own would all be excluded (they are B3DB's)
    corpus.write_text("\n".join(read_smiles_file(moses_path())[:200]) + "\n")
    args = ["pretrain", "dual-view", "--corpus-file", str(corpus), "--corpus-size", "64", "--steps", "4"]
    args += ["--layers", "2", "--emb-dim", "16", "--heads", "2", "--graph-model", "gcn", "--batch-size", "8"]
    args += ["--meter", "wallclock", "--threads", "1", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    assert "roberta 2 layers x 16 + gcn 2 layers x 16" in result.output
    assert "mlm " in result.output and "contrastive " in result.output and "consistency " in result.output
    assert "greenft train --model dual-view-both" in result.output
    log = [json.loads(line) for line in (tmp_path / "o" / LOG_FILE).read_text().splitlines()]
    assert log[-1]["step"] == 4 and {"loss_mlm", "loss_contrastive", "loss_consistency"} <= set(log[-1])


def test_the_mlm_term_is_roberta_for_masked_lm_s_own_loss() -> None:
    """The task scores only the chosen positions; RobertaForMaskedLM's loss over the same masked batch agrees."""
    from greenft.pretrain.dual_view import DualViewTask
    from greenft.pretrain.mlm import mask_tokens

    settings = make_settings(get_recipe("dual-view"), **TINY_SIZES)
    task = DualViewTask(settings, tiny_corpus())
    task.model.eval()  # no dropout: both computations see the same network
    indices = list(range(8))
    with torch.no_grad():
        terms = task.terms(indices, torch.Generator().manual_seed(5), torch.device("cpu"))
        ids, attention = task.mlm.tokenizer.pad([task.mlm.sequences[i] for i in indices])
        vocab = task.mlm.tokenizer.vocab_size
        masked, labels = mask_tokens(ids, attention, settings.mask_prob, vocab, torch.Generator().manual_seed(5))
        reference = task.mlm.model(input_ids=masked, attention_mask=attention, labels=labels).loss
    assert float(terms["loss_mlm"]) == pytest.approx(float(reference), rel=1e-5)


def test_ecfp_tokens_pretrain_and_the_sequence_half_reads_them(tmp_path: Path) -> None:
    from greenft.models import ModelConfig, build_model, get_family

    options = {**DUAL, "max_length": 64, "vocab_size": 300, "sequence_tokens": "ecfp"}
    result = pretrain("dual-view", tmp_path / "e", corpus=tiny_corpus(), steps=2, **options)
    checkpoint = read_sequence_checkpoint(result.checkpoint / "sequence")
    assert checkpoint.tokenizer.kind == "ecfp" and checkpoint.tokenizer.vocab_size <= 300
    assert json.loads((result.checkpoint / "greenft_checkpoint.json").read_text())["sequence_tokens"] == "ecfp"
    family = get_family("dual-view-both")
    built = build_model(ModelConfig(name="dual-view-both", checkpoint=result.run_dir), 1)
    assert built.info["tokenizer"]["kind"] == "ecfp"
    batch = next(iter(family.loader(family.encode_unlabelled(["CCO", "c1ccccc1O"], 1), 2, shuffle=False)))
    assert built.model(batch).shape == (2, 1)
