from __future__ import annotations

import json
from pathlib import Path

import pytest
import selfies  # type: ignore[import-untyped]
from rdkit import Chem

from conftest import FIXTURES
from greenft.models.sequence.tokenizers import (
    BASE_TOKENS,
    BOS_ID,
    EOS_ID,
    MASK_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    MolTokenizer,
    TokenizerError,
    smiles_to_selfies,
    split_selfies,
    split_smiles,
)


def _fixture_smiles() -> list[str]:
    lines = (FIXTURES / "bbb_small.csv").read_text().splitlines()[1:]
    out = []
    for line in lines:
        text = line.split(",")[0]
        if text and Chem.MolFromSmiles(text) is not None:
            out.append(text)
    return out


@pytest.mark.parametrize(
    ("smiles", "tokens"),
    [
        ("CCl", ["C", "Cl"]),
        ("BrCCBr", ["Br", "C", "C", "Br"]),
        ("c1cc[nH]c1", ["c", "1", "c", "c", "[nH]", "c", "1"]),
        ("C%10CCCCCCCCC%10", ["C", "%10", *["C"] * 8, "C", "%10"]),
        ("C[C@@H](N)C(=O)[O-].[Na+]", ["C", "[C@@H]", "(", "N", ")", "C", "(", "=", "O", ")", "[O-]", ".", "[Na+]"]),
        ("F/C=C/F", ["F", "/", "C", "=", "C", "/", "F"]),
        ("[13CH4]", ["[13CH4]"]),
    ],
)
def test_smiles_regex_tokenises_atoms_as_whole_tokens(smiles: str, tokens: list[str]) -> None:
    assert split_smiles(smiles) == tokens


def test_smiles_tokens_round_trip_on_real_molecules() -> None:
    for smiles in _fixture_smiles():
        assert "".join(split_smiles(smiles)) == smiles


def test_characters_outside_the_pattern_become_unknown_tokens() -> None:
    tokens = split_smiles("CC|C")
    assert tokens == ["C", "C", "|", "C"]
    tokenizer = MolTokenizer.base("smiles")
    assert tokenizer.ids(tokens) == [
        BOS_ID,
        tokenizer.index["C"],
        tokenizer.index["C"],
        UNK_ID,
        tokenizer.index["C"],
        EOS_ID,
    ]


def test_selfies_tokens_decode_to_the_same_molecule() -> None:
    for smiles in _fixture_smiles()[:30]:
        tokens = split_selfies(smiles)
        assert all(t.startswith("[") or t == "." for t in tokens)
        decoded = selfies.decoder("".join(tokens))
        assert Chem.CanonSmiles(decoded) == Chem.CanonSmiles(smiles), smiles


def test_selfies_falls_back_to_rdkit_kekulisation() -> None:
    assert Chem.MolFromSmiles(selfies.decoder(smiles_to_selfies("c1ccc2[nH]ccc2c1"))) is not None


def test_vocabulary_layout_specials_then_base_then_corpus_by_frequency() -> None:
    corpus = [["C", "[Xx]", "[Yy]", "[Yy]"], ["[Yy]", "[Xx]", "[Zz]"]]
    tokenizer = MolTokenizer.build("smiles", corpus, max_length=16)
    assert tuple(tokenizer.tokens[:5]) == SPECIAL_TOKENS
    assert (PAD_ID, BOS_ID, EOS_ID, UNK_ID, MASK_ID) == (0, 1, 2, 3, 4)
    base = MolTokenizer.base("smiles")
    assert tokenizer.tokens[: base.vocab_size] == base.tokens  # base ids never move
    assert tokenizer.tokens[base.vocab_size :] == ["[Yy]", "[Xx]", "[Zz]"]  # most frequent first, ties by name
    assert len(set(BASE_TOKENS["selfies"])) == len(BASE_TOKENS["selfies"])


def test_truncation_keeps_bos_and_eos_within_max_length() -> None:
    tokenizer = MolTokenizer.base("smiles", max_length=8)
    ids = tokenizer.encode("CCCCCCCCCCCCCCCC")
    assert len(ids) == 8 and ids[0] == BOS_ID and ids[-1] == EOS_ID
    assert tokenizer.decode(ids) == "CCCCCC"


def test_dynamic_padding_pads_to_the_longest_in_the_batch() -> None:
    tokenizer = MolTokenizer.base("smiles")
    input_ids, attention_mask = tokenizer.batch([split_smiles("CCO"), split_smiles("c1ccccc1")])
    assert input_ids.shape == (2, 10)  # benzene: 8 tokens + <s> </s>, not max_length 128
    assert attention_mask.sum(dim=1).tolist() == [5, 10]
    assert input_ids[0, 5:].tolist() == [PAD_ID] * 5


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    tokenizer = MolTokenizer.build("selfies", [split_selfies("CCO")], max_length=64, corpus={"size": 1})
    path = tokenizer.save(tmp_path / "tokenizer.json")
    again = MolTokenizer.load(path)
    assert (again.kind, again.tokens, again.max_length, again.corpus) == ("selfies", tokenizer.tokens, 64, {"size": 1})


def test_bad_tokenizer_files_name_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="not found"):
        MolTokenizer.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "greenft-tokenizer", "version": 1, "kind": "smiles", "max_length": 8}))
    with pytest.raises(TokenizerError, match=r"bad\.json.*'vocab'"):
        MolTokenizer.load(bad)
    bad.write_text(
        json.dumps({"format": "greenft-tokenizer", "version": 1, "kind": "inchi", "vocab": [], "max_length": 8})
    )
    with pytest.raises(TokenizerError, match="inchi"):
        MolTokenizer.load(bad)


def test_hugging_face_form_gives_the_same_ids(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = MolTokenizer.base("smiles", max_length=24)
    tokenizer.to_hf().save_pretrained(tmp_path)
    hf = AutoTokenizer.from_pretrained(tmp_path)
    for smiles in _fixture_smiles():
        assert hf(smiles, truncation=True, max_length=24)["input_ids"] == tokenizer.encode(smiles), smiles
    with pytest.raises(TokenizerError, match="only the SMILES"):
        MolTokenizer.base("selfies").to_hf()
