from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from greenft.models import CheckpointError, ModelConfig, build_model, get_family, known_models
from greenft.models.checkpoint_paths import MissingPretrainedCheckpointError
from greenft.models.sequence import HubModelError, SequenceBatch, SequenceLoader
from greenft.models.sequence.tokenizers import SMILES_REGEX, MolTokenizer

SMILES = ["CCO", "c1ccccc1N", "[Na+].[Cl-]", "F/C=C/F", "CC(=O)Oc1ccccc1C(=O)O"]


def _tiny(name: str, **extra: object) -> ModelConfig:
    return ModelConfig.model_validate(
        {"name": name, "num_layers": 1, "emb_dim": 16, "num_heads": 2, "dropout": 0.0, "max_length": 32} | extra
    )


def _one_batch(name: str, batch_size: int = 5) -> SequenceBatch:
    family = get_family(name)
    items = family.encode(SMILES, np.arange(len(SMILES), dtype=float).reshape(-1, 1))
    return next(iter(family.loader(items, batch_size, shuffle=False)))


def test_registry_names_for_sweeps() -> None:
    names = known_models()
    for name in ("smiles-transformer", "selfies-transformer", "smiles-mlm", "selfies-mlm", "gin-contrastive"):
        assert name in names
    assert "hub:<name>" in names
    assert get_family("hub:some/model").name == "hub:some/model"


@pytest.mark.parametrize("name", ["smiles-transformer", "selfies-transformer"])
@pytest.mark.parametrize("pooling", ["mean", "max", "sum"])
def test_forward_gives_one_row_per_molecule_and_task(name: str, pooling: str) -> None:
    torch.manual_seed(0)
    built = build_model(_tiny(name, pooling=pooling), num_tasks=3)
    batch = _one_batch(name)
    built.model.eval()
    with torch.no_grad():
        out = built.model(batch.to("cpu"))
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    assert built.init == "random"
    info = built.info
    assert info["parameters"] == sum(p.numel() for p in built.model.parameters())
    assert (info["num_layers"], info["emb_dim"], info["num_heads"], info["max_length"]) == (1, 16, 2, 32)
    assert info["tokenizer"]["kind"] == name.split("-")[0]


def test_padding_is_per_batch_and_does_not_change_outputs() -> None:
    torch.manual_seed(0)
    built = build_model(_tiny("smiles-transformer"), num_tasks=1)
    built.model.eval()
    family = get_family("smiles-transformer")
    items = family.encode(SMILES, np.zeros((len(SMILES), 1)))
    batches = list(SequenceLoader(items, 2, shuffle=False))
    assert [len(b) for b in batches] == [2, 2, 1]
    tokenizer = built.model.tokenizer
    widths = [tokenizer.encode_batch(b)[0].shape[1] for b in batches]
    assert widths == [max(len(i.tokens) + 2 for i in items[k : k + 2]) for k in (0, 2, 4)]
    with torch.no_grad():
        alone = built.model(next(iter(SequenceLoader(items[:1], 1, shuffle=False))))
        padded = built.model(batches[0])[:1]  # CCO padded to c1ccccc1N's length
    assert torch.allclose(alone, padded, atol=1e-5)


def test_shuffled_loader_is_reproducible_with_a_generator() -> None:
    family = get_family("smiles-transformer")
    items = family.encode(SMILES * 4, np.zeros((20, 1)))
    first = [b.texts for b in family.loader(items, 6, True, torch.Generator().manual_seed(1))]
    second = [b.texts for b in family.loader(items, 6, True, torch.Generator().manual_seed(1))]
    assert first == second and sorted(t for texts in first for t in texts) == sorted(SMILES * 4)


def test_heads_must_divide_width() -> None:
    with pytest.raises(CheckpointError, match="num_heads = 3"):
        build_model(_tiny("smiles-transformer", num_heads=3), num_tasks=1)


def test_missing_pretrained_checkpoint_says_how_to_make_it() -> None:
    with pytest.raises(MissingPretrainedCheckpointError, match=r"run `greenft pretrain smiles-mlm` \(~\d+ min"):
        build_model(_tiny("smiles-mlm"), num_tasks=1)
    with pytest.raises(MissingPretrainedCheckpointError, match="greenft pretrain gin-contrastive"):
        build_model(ModelConfig(name="gin-contrastive"), num_tasks=1)


def test_a_non_checkpoint_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"greenft_checkpoint\.json"):
        build_model(_tiny("smiles-mlm", checkpoint=tmp_path), num_tasks=1)
    with pytest.raises(CheckpointError, match="not found"):
        build_model(_tiny("smiles-mlm", checkpoint=tmp_path / "absent"), num_tasks=1)


def test_hub_model_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubModelError) as caught:
        build_model(_tiny("hub:seyonec/ChemBERTa-zinc-base-v1"), num_tasks=1)
    message = str(caught.value)
    assert "seyonec/ChemBERTa-zinc-base-v1" in message and "HF_HUB_OFFLINE" in message
    assert "greenft pretrain smiles-mlm" in message
    with pytest.raises(HubModelError, match="needs a name"):
        get_family("hub:")


def _hub_directory(path: Path) -> Path:
    """A tiny Hugging Face checkpoint directory (RoBERTa + fast tokenizer), as a hub download would leave it."""
    from tokenizers import Regex, Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Split
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel

    vocab = MolTokenizer.base("smiles").tokens
    backend = Tokenizer(WordLevel({t: i for i, t in enumerate(vocab)}, unk_token="<unk>"))
    backend.pre_tokenizer = Split(Regex(SMILES_REGEX), behavior="isolated")
    specials = {"pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"}
    PreTrainedTokenizerFast(tokenizer_object=backend, mask_token="<mask>", **specials).save_pretrained(path)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=66,
        pad_token_id=0,
    )
    RobertaModel(config).save_pretrained(path)
    return path


def test_hub_model_from_a_local_directory_works_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    directory = _hub_directory(tmp_path / "tiny-roberta")
    name = f"hub:{directory}"
    built = build_model(_tiny(name), num_tasks=2)
    assert built.init == f"pretrained:{name}" and built.info["architecture"] == "roberta"
    built.model.eval()
    with torch.no_grad():
        out = built.model(_one_batch(name))
    assert out.shape == (5, 2)
    random_twin = build_model(_tiny(name, random_init=True), num_tasks=2)
    assert random_twin.init == "random" and random_twin.info["parameters"] == built.info["parameters"]
