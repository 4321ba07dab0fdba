from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pretrain_helpers import TINY_SIZES, tiny_corpus

from conftest import small_trial
from greenft.agents import parse_trial_config, run_trial
from greenft.models import CheckpointError, ModelConfig, build_model
from greenft.models.sequence import SequenceBatch
from greenft.models.sequence.tokenizers import MASK_ID, PAD_ID, MolTokenizer, split_smiles
from greenft.pretrain.mlm import IGNORE_INDEX, mask_tokens
from greenft.pretrain.runner import pretrain


def test_masking_chooses_only_real_tokens_and_labels_only_them() -> None:
    tokenizer = MolTokenizer.base("smiles")
    ids, attention = tokenizer.batch([split_smiles("CC(=O)Oc1ccccc1C(=O)O"), split_smiles("CCO")] * 20)
    masked, labels = mask_tokens(ids, attention, 0.15, tokenizer.vocab_size, torch.Generator().manual_seed(0))
    chosen = labels != IGNORE_INDEX
    assert chosen.any()
    assert (ids[chosen] >= 5).all()  # never <pad>, <s>, </s>, <unk>, <mask>
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(masked[~chosen], ids[~chosen])  # unchosen positions untouched
    share = (masked[chosen] == MASK_ID).float().mean().item()
    assert 0.6 < share < 0.95  # ~80 % become <mask>
    assert (masked[attention == 0] == PAD_ID).all()
    one = tokenizer.batch([split_smiles("C")])
    _, labels_one = mask_tokens(*one, 0.0001, tokenizer.vocab_size, torch.Generator().manual_seed(0))
    assert (labels_one != IGNORE_INDEX).sum() == 1  # at least one position per batch


def test_smiles_mlm_pretrain_measures_emissions_and_fine_tunes(tmp_path: Path) -> None:
    result = pretrain(
        "smiles-mlm", tmp_path / "mlm", corpus=tiny_corpus(), steps=3, measure_power_secs=1.0, **TINY_SIZES
    )
    checkpoint = result.checkpoint
    for name in ("config.json", "model.safetensors", "greenft_tokenizer.json", "greenft_checkpoint.json"):
        assert (checkpoint / name).is_file(), name
    meta = json.loads((checkpoint / "greenft_checkpoint.json").read_text())
    assert meta["format"] == "greenft-sequence-encoder" and meta["family"] == "smiles-mlm"
    provenance = meta["provenance"]
    assert provenance["emissions_kg"] > 0 and provenance["energy_kwh"] > 0 and provenance["duration_s"] > 0
    assert provenance["codecarbon"]["meter"] == "codecarbon-offline" and provenance["steps"] == 3
    assert provenance["corpus"]["sha256"] == tiny_corpus().digest and provenance["seed"] == 0
    assert meta["tokenizer"]["kind"] == "smiles" and meta["architecture"]["num_layers"] == 1

    config = parse_trial_config(
        small_trial(
            tmp_path,
            data={"dataset": "b3db", "limit": 200},
            model={"name": "smiles-mlm", "checkpoint": str(result.run_dir), "dropout": 0.0},
            optim={"max_epochs": 2, "batch_size": 64},
        )
    )
    trial = run_trial(config)
    assert trial.status == "finished" and trial.epochs
    assert (trial.files_dir / "greenft_epochs.jsonl").is_file()
    logged = json.loads((trial.files_dir / "greenft_config.json").read_text())["derived"]["model"]
    assert logged["init"] == f"pretrained:{checkpoint}"
    assert logged["checkpoint_bytes"] > 0 and logged["pretraining_emissions_kg"] == provenance["emissions_kg"]
    assert logged["tokenizer"] == {"kind": "smiles", "vocab_size": meta["tokenizer"]["vocab_size"], "max_length": 48}
    assert (logged["num_layers"], logged["emb_dim"], logged["max_length"]) == (1, 16, 48)

    twin = build_model(ModelConfig(name="smiles-mlm", checkpoint=checkpoint, random_init=True), 1)
    pretrained = build_model(ModelConfig(name="smiles-mlm", checkpoint=checkpoint), 1)
    assert twin.init == "random" and twin.info["parameters"] == pretrained.info["parameters"]
    word = "encoder.embeddings.word_embeddings.weight"
    assert not torch.equal(twin.model.state_dict()[word], pretrained.model.state_dict()[word])

    # The checkpoint is a complete Hugging Face checkpoint: hub:<dir> reads the same encoder and ids.
    hub = build_model(ModelConfig(name=f"hub:{checkpoint}"), 1)
    batch = SequenceBatch(
        ["CCO", "c1ccccc1Cl"], [tuple(split_smiles("CCO")), tuple(split_smiles("c1ccccc1Cl"))], torch.zeros(2, 1)
    )
    ids, mask = hub.model.tokenizer.encode_batch(batch)
    assert torch.equal(ids, pretrained.model.tokenizer.encode_batch(batch)[0])
    hub.model.eval()
    pretrained.model.eval()
    with torch.no_grad():
        a = hub.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        b = pretrained.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.allclose(a, b, atol=1e-5)


def test_selfies_checkpoint_is_refused_by_the_smiles_model(tmp_path: Path) -> None:
    result = pretrain("selfies-mlm", tmp_path / "sf", corpus=tiny_corpus(), steps=1, meter="wallclock", **TINY_SIZES)
    built = build_model(ModelConfig(name="selfies-mlm", checkpoint=result.checkpoint), 1)
    assert built.info["tokenizer"]["kind"] == "selfies"
    with pytest.raises(CheckpointError, match="use model 'selfies-mlm'"):
        build_model(ModelConfig(name="smiles-mlm", checkpoint=result.checkpoint), 1)
