"""Tiny corpora and settings so every pretraining test runs in seconds (nothing is downloaded)."""

from __future__ import annotations

from functools import cache

from rdkit import Chem

from conftest import FIXTURES
from greenft.data.corpus import Corpus, sample_corpus
from greenft.data.rdkit_quiet import rdkit_quiet

TINY_SIZES = {"num_layers": 1, "emb_dim": 16, "num_heads": 2, "max_length": 48, "batch_size": 8}


def fixture_smiles() -> list[str]:
    out = []
    for name in ("bbb_small.csv", "freesolv_small.csv"):
        for line in (FIXTURES / name).read_text().splitlines()[1:]:
            text = line.split(",")[0]
            with rdkit_quiet():
                if text and Chem.MolFromSmiles(text) is not None:
                    out.append(text)
    return out


@cache
def tiny_corpus() -> Corpus:
    return sample_corpus(fixture_smiles(), 120, 0, set(), "test fixtures (bbb_small + freesolv_small)")
