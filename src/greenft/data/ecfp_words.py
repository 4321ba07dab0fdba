"""A molecule as the sequence of its Morgan (ECFP) atom-environment identifiers, written as decimal words.

Why: the thesis in seeds/ (section 3.3.4) feeds a RoBERTa with the "sentence" of a molecule's ECFP identifiers
instead of its SMILES, so that an atom's neighbourhood, not a SMILES spelling, is the unit of language; a
byte-level BPE (:mod:`greenft.models.sequence.ecfp_tokenizer`) then shrinks the 2^32 identifier space.

Exactly which identifiers, in which order:

* RDKit's Morgan generator (``rdFingerprintGenerator.GetMorganGenerator(radius=2)``, default atom invariants,
  no chirality, bond types used), **unfolded**: the 32-bit environment identifiers of the sparse count
  fingerprint, as its ``AdditionalOutput`` bit-info map reports them per ``(atom, radius)``;
* ordered by atom index (RDKit's atom order of the parsed SMILES), and within an atom by radius 0, 1, 2;
* **redundant environments are dropped, as RDKit drops them**: an environment whose bond set equals one already
  seen (at a smaller radius, or around an earlier atom: ethane's second carbon has only its radius-0 word, its
  radius-1 environment covers the same C-C bond as the first carbon's) is not reported. Radius-0 environments
  (no bonds) are kept for every atom, so an atom has 1 to 3 words, and equal identifiers of different atoms whose
  environments cover different bonds (propane's two methyls) are all kept: the multiset of words equals RDKit's
  count fingerprint.

The result is deterministic (the same SMILES gives the same words; RDKit's identifiers do not depend on the
process or platform) and its distinct words are exactly the nonzero keys of RDKit's own unfolded Morgan
fingerprint of radius 2 (tested). Pure: RDKit only, no files.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from greenft.data.rdkit_quiet import rdkit_quiet

ECFP_RADIUS = 2
ECFP_SPLIT = (
    "Morgan radius 2 (RDKit rdFingerprintGenerator, unfolded 32-bit ids), per atom in atom order, radius 0..2, "
    "RDKit's redundant environments dropped, as decimal words"
)


@cache
def _generator(radius: int) -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius)


def ecfp_identifiers(smiles: str, radius: int = ECFP_RADIUS) -> list[int]:
    """The Morgan environment identifiers of ``smiles`` in atom order, radius 0..``radius`` within an atom.

    ``ValueError`` when RDKit cannot parse the SMILES (the family turns it into one ``<unk>``, as SELFIES failures).
    """
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    output = rdFingerprintGenerator.AdditionalOutput()
    output.AllocateBitInfoMap()
    _generator(radius).GetSparseCountFingerprint(mol, additionalOutput=output)
    placed: list[tuple[int, int, int]] = []  # (atom, radius, identifier)
    for identifier, environments in output.GetBitInfoMap().items():
        for atom, env_radius in environments:
            placed.append((int(atom), int(env_radius), int(identifier)))
    placed.sort()
    return [identifier for _, _, identifier in placed]


def ecfp_words(smiles: str, radius: int = ECFP_RADIUS) -> list[str]:
    """:func:`ecfp_identifiers` as decimal strings: the "words" the BPE tokenizer reads (joined by spaces)."""
    return [str(identifier) for identifier in ecfp_identifiers(smiles, radius)]
