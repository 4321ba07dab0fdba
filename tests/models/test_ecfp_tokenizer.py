"""ECFP words and their byte-level BPE: real RDKit, real Hugging Face ``tokenizers``/``transformers``, no mocks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from conftest import FIXTURES
from greenft.data.ecfp_words import ecfp_identifiers, ecfp_words
from greenft.models.sequence.ecfp_tokenizer import EcfpTokenizer
from greenft.models.sequence.tokenizer_kinds import load_tokenizer, tokenizer_from_entries
from greenft.models.sequence.tokenizers import (
    BOS_ID,
    EOS_ID,
    MASK_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    TokenizerError,
)

MOLECULES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "C[C@H](N)C(=O)O", "[Na+].[Cl-]"]


def _fixture_smiles() -> list[str]:
    rows = (FIXTURES / "bbb_small.csv").read_text().splitlines()[1:]
    return [line.split(",")[0] for line in rows if line.split(",")[0] and Chem.MolFromSmiles(line.split(",")[0])]


@pytest.fixture(scope="module")
def corpus_words() -> list[list[str]]:
    return [ecfp_words(smiles) for smiles in _fixture_smiles()]


def test_words_are_rdkits_unfolded_morgan_environments_in_atom_order() -> None:
    # Ethane by hand: carbon 0 has radius 0 (a) and radius 1 (b, the C-C bond); radius 2 adds no bond. Carbon 1
    # has the same radius-0 environment (a); its radius-1 environment covers the bond already seen -> dropped.
    a, b, a2 = ecfp_identifiers("CC")
    assert a == a2 and a != b
    # Propane: both methyls have the same radius-1 identifier but around different bonds -> both kept
    propane = ecfp_identifiers("CCC")
    assert propane[0] == propane[-2] and propane.count(propane[1]) == 2
    assert len(ecfp_identifiers("C")) == 1  # methane: one atom, radius 0 only
    for smiles in MOLECULES:
        ids = ecfp_identifiers(smiles)
        # independent check: the multiset of identifiers is RDKit's own unfolded count fingerprint (radius 2)
        fingerprint = rdFingerprintGenerator.GetMorganGenerator(radius=2).GetSparseCountFingerprint(
            Chem.MolFromSmiles(smiles)
        )
        assert Counter(ids) == Counter(fingerprint.GetNonzeroElements()), smiles
        assert all(0 <= i < 2**32 for i in ids)
        assert ecfp_words(smiles) == [str(i) for i in ids] == [str(i) for i in ecfp_identifiers(smiles)]
    # atom order: the first word of each atom is its radius-0 identifier, so CCO and OCC start differently
    assert ecfp_identifiers("CCO")[0] == ecfp_identifiers("CC")[0] != ecfp_identifiers("OCC")[0]
    with pytest.raises(ValueError, match="RDKit cannot parse"):
        ecfp_words("C1CC")


def test_words_are_the_same_in_another_process() -> None:
    code = (
        "import json, sys; from greenft.data.ecfp_words import ecfp_words; "
        "print(json.dumps([ecfp_words(s) for s in sys.argv[1:]]))"
    )
    out = subprocess.run([sys.executable, "-c", code, *MOLECULES], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [ecfp_words(s) for s in MOLECULES]


def test_vocabulary_is_bounded_and_special_tokens_come_first(corpus_words: list[list[str]]) -> None:
    for requested in (40, 300):
        tokenizer = EcfpTokenizer.build(corpus_words, max_length=64, vocab_size=requested, min_frequency=1)
        assert 16 < tokenizer.vocab_size <= requested
        assert tuple(tokenizer.tokens[:5]) == SPECIAL_TOKENS
        assert [tokenizer.backend.token_to_id(t) for t in SPECIAL_TOKENS] == [PAD_ID, BOS_ID, EOS_ID, 3, MASK_ID]
    small = EcfpTokenizer.build(corpus_words, vocab_size=300, min_frequency=1)
    large = EcfpTokenizer.build(corpus_words, vocab_size=3000, min_frequency=1)
    # a larger vocabulary merges more: fewer pieces per molecule (never more)
    assert sum(large.pieces(w) for w in corpus_words) < sum(small.pieces(w) for w in corpus_words)
    # min_frequency bounds the merges too: pairs seen once are not merged
    assert EcfpTokenizer.build(corpus_words, vocab_size=3000, min_frequency=5).vocab_size < large.vocab_size
    with pytest.raises(TokenizerError, match="vocab_size must be >= 16"):
        EcfpTokenizer.build(corpus_words, vocab_size=10)


def test_identical_words_give_identical_ids_after_save_and_load(tmp_path: Path, corpus_words: list[list[str]]) -> None:
    tokenizer = EcfpTokenizer.build(corpus_words, max_length=40, vocab_size=500, min_frequency=1)
    unseen = [ecfp_words(s) for s in MOLECULES]  # molecules outside the BPE's training text, too
    words = corpus_words[:20] + unseen
    expected = [tokenizer.ids(w) for w in words]
    assert all(ids[0] == BOS_ID and ids[-1] == EOS_ID and len(ids) <= 40 for ids in expected)
    assert any(len(ids) == 40 for ids in expected)  # truncation is exercised
    counted = tokenizer.corpus["bpe"]["pieces"]
    assert counted["truncated_molecules"] == sum(tokenizer.pieces(w) > 38 for w in corpus_words) > 0
    assert counted["max"] == max(tokenizer.pieces(w) for w in corpus_words) and counted["molecules"] == len(
        corpus_words
    )
    assert all(3 not in ids for ids in expected)  # digits + Ġ are the alphabet: never <unk>

    tokenizer.save(tmp_path / "greenft_tokenizer.json")
    loaded = load_tokenizer(tmp_path / "greenft_tokenizer.json")
    assert isinstance(loaded, EcfpTokenizer) and loaded.describe() == tokenizer.describe()
    assert [loaded.ids(w) for w in words] == expected
    ids, mask = loaded.batch(words)
    assert ids.shape == (len(words), max(len(e) for e in expected))
    assert [row[m.bool()].tolist() for row, m in zip(ids, mask, strict=True)] == expected
    assert (ids[mask == 0] == PAD_ID).all()
    rebuilt = tokenizer_from_entries("ecfp", tokenizer.vocabulary_entries(), 40)  # what a saved model keeps
    assert [rebuilt.ids(w) for w in words] == expected

    # transformers' own classes read the same files and give the same ids for the word string
    from transformers import AutoTokenizer

    tokenizer.to_hf().save_pretrained(tmp_path)
    hf = AutoTokenizer.from_pretrained(tmp_path)
    assert hf.pad_token_id == PAD_ID and hf.mask_token_id == MASK_ID and hf.bos_token_id == BOS_ID
    texts = [" ".join(w) for w in words]
    assert hf(texts, truncation=True, max_length=40)["input_ids"] == expected
    padded = hf(texts, truncation=True, max_length=40, padding=True, return_tensors="pt")
    assert torch.equal(padded["input_ids"], ids) and torch.equal(padded["attention_mask"], mask)


def test_a_broken_tokenizer_file_names_the_field(tmp_path: Path, corpus_words: list[list[str]]) -> None:
    tokenizer = EcfpTokenizer.build(corpus_words, vocab_size=100, min_frequency=1)
    raw = tokenizer.to_dict()
    path = tmp_path / "t.json"
    path.write_text(json.dumps({k: v for k, v in raw.items() if k != "bpe"}))
    with pytest.raises(TokenizerError, match="field 'bpe' is missing"):
        load_tokenizer(path)
    path.write_text(json.dumps({**raw, "bpe": {"model": "nonsense"}}))
    with pytest.raises(TokenizerError, match="field 'bpe' is not a tokenizers model"):
        load_tokenizer(path)
