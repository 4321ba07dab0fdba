from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem

from greenft.data import get_dataset_spec, load_molecules
from greenft.data.corpus import (
    CorpusError,
    dataset_exclusion_set,
    exclusion_keys,
    installed_labelled_datasets,
    load_corpus,
    moses_path,
    read_smiles_file,
    sample_corpus,
)


def test_exclusion_keys_ignore_stereo_and_match_salts_by_their_largest_fragment() -> None:
    assert exclusion_keys("C[C@H](N)C(=O)O") == exclusion_keys("CC(N)C(=O)O")
    assert Chem.CanonSmiles("CC(=O)[O-]") in exclusion_keys("CC(=O)[O-].[Na+]")
    salt = exclusion_keys("CCN(CC)CC.Cl")
    assert Chem.CanonSmiles("CCN(CC)CC") in salt


def test_sample_excludes_listed_molecules_and_is_deterministic() -> None:
    candidates = ["CCO", "OCC", "c1ccccc1", "CC(=O)O", "C[C@H](N)C(=O)O", "not a smiles", "CCCC", "CCN"]
    excluded = exclusion_keys("CC(N)C(=O)O") | exclusion_keys("CCO")
    first = sample_corpus(candidates, 10, seed=3, excluded=excluded, source="list")
    assert set(first.smiles) == {"c1ccccc1", "CC(=O)O", "CCCC", "CCN"}  # canonical, deduplicated
    assert first.excluded_candidates == 3 and first.invalid_candidates == 1  # CCO, OCC, alanine; one invalid
    again = sample_corpus(candidates, 10, seed=3, excluded=excluded, source="list")
    assert again.smiles == first.smiles and again.digest == first.digest


def test_moses_corpus_excludes_a_labelled_dataset(tmp_path: Path) -> None:
    assert moses_path().name == "train.csv.gz"
    freesolv = get_dataset_spec("freesolv")
    corpus = load_corpus(200, seed=0, exclude=[freesolv], cache_dir=tmp_path)
    assert len(corpus) == 200 and corpus.excluded_datasets == ("freesolv",)
    keys = dataset_exclusion_set([freesolv], tmp_path)
    assert not any(exclusion_keys(s) & keys for s in corpus.smiles)
    provenance = corpus.provenance()
    assert provenance["source"].startswith("MOSES") and provenance["sha256"] == corpus.digest
    assert load_corpus(200, seed=0, exclude=[freesolv], cache_dir=tmp_path).digest == corpus.digest  # cached


def test_a_corpus_file_holding_dataset_molecules_loses_them(tmp_path: Path) -> None:
    freesolv = get_dataset_spec("freesolv")
    leaked = load_molecules(freesolv).smiles[:20]
    source = tmp_path / "mine.smi"
    source.write_text(
        "SMILES\n" + "\n".join([*leaked, "CC(C)Cc1ccc(cc1)C(C)C(=O)NCCc1ccncc1", "c1ccc2ccccc2c1CCN"]) + "\n"
    )
    corpus = load_corpus(50, seed=0, source_file=source, exclude=[freesolv], cache_dir=tmp_path)
    assert corpus.excluded_candidates == 20
    assert set(corpus.smiles) == {
        Chem.CanonSmiles("CC(C)Cc1ccc(cc1)C(C)C(=O)NCCc1ccncc1"),
        Chem.CanonSmiles("c1ccc2ccccc2c1CCN"),
    }


def test_bad_corpus_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        read_smiles_file(tmp_path / "absent.smi")
    (tmp_path / "empty.smi").write_text("SMILES\n\n")
    with pytest.raises(CorpusError, match="no SMILES"):
        read_smiles_file(tmp_path / "empty.smi")
    with pytest.raises(CorpusError, match="no usable molecule"):
        sample_corpus(["xx", "yy"], 5, 0, set(), "junk")


@pytest.mark.slow
def test_default_corpus_excludes_every_installed_labelled_dataset(tmp_path: Path) -> None:
    specs = installed_labelled_datasets()
    assert {"b3db", "freesolv"} <= {s.name for s in specs}
    corpus = load_corpus(2000, seed=0, cache_dir=tmp_path)
    assert set(corpus.excluded_datasets) == {s.name for s in specs}
    keys = dataset_exclusion_set(specs, tmp_path)
    assert not any(exclusion_keys(s) & keys for s in corpus.smiles)
