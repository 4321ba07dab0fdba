"""QM9 with coordinates (greenft.data.qm9): parsing, bad rows by QM9 index, units, target selection, the split default.

The fixture tests/fixtures/qm9_small.csv holds 12 real QM9 rows (copied from qm9pack 1.0.3) and 5 broken copies;
reading it goes through the same parser and loader as the package's 130,831 rows.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.constants import physical_constants

from greenft.agents.config import ConfigError, parse_trial_config
from greenft.agents.overrides import apply_overrides
from greenft.data import get_dataset_spec, load_molecules
from greenft.data.loading import count_rows
from greenft.data.qm9 import QM9_TARGETS, parse_tables
from greenft.data.registry import QM9_UNITS, SplitKind, UnknownTargetError, select_targets

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "qm9_small.csv"
HARTREE_EV_SCIPY = physical_constants["Hartree energy in eV"][0]  # independent of greenft's constant


def fixture_spec(targets: list[str] | None = None) -> object:
    return select_targets(get_dataset_spec("qm9").model_copy(update={"file": FIXTURE}), targets)


def test_parse_marks_each_broken_row_and_keeps_real_ones() -> None:
    arrays = parse_tables([FIXTURE])
    problems = dict(zip(arrays.index.tolist(), arrays.problems.tolist(), strict=True))
    assert problems[7] == "missing coordinates"
    assert problems[10] == "unknown element 'X'"
    assert problems[11] == "18 coordinate values for 7 elements"
    assert problems[8] == problems[9] == ""  # SMILES problems are found by RDKit when the rows are read
    methane = arrays.structure(int(np.flatnonzero(arrays.index == 1)[0]))
    assert methane.z.tolist() == [6, 1, 1, 1, 1]
    # the file's first coordinate of methane, as printed in it
    assert methane.pos[0] == pytest.approx([-0.0126981359, 1.0858041578, 0.0080009958], abs=1e-6)
    # every C-H distance of methane's B3LYP geometry is about 1.09 Angstrom
    assert np.linalg.norm(methane.pos[1:] - methane.pos[0], axis=1) == pytest.approx([1.09] * 4, abs=0.005)


def test_loading_reports_bad_rows_by_qm9_index_and_keeps_the_rest() -> None:
    molecules = load_molecules(fixture_spec())  # type: ignore[arg-type]
    assert len(molecules.smiles) == 12 and molecules.structures is not None and len(molecules.structures) == 12
    why = {d.why.split(":")[0]: d.why for d in molecules.dropped}
    assert set(why) == {f"QM9 index {i}" for i in (7, 8, 9, 10, 11)}
    assert "SMILES has C3H8 (11 atoms), coordinates CH4O (6 atoms)" in why["QM9 index 8"]
    assert why["QM9 index 9"].endswith("invalid SMILES")
    assert "dropped 5" in molecules.report()
    assert count_rows(fixture_spec()) == molecules.total_rows == 17  # type: ignore[arg-type]
    for smiles, structure in zip(molecules.smiles, molecules.structures, strict=True):  # SMILES and atoms agree
        from rdkit import Chem

        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        assert Counter(a.GetAtomicNum() for a in mol.GetAtoms()) == Counter(structure.z.tolist())


def test_energies_are_converted_from_hartree_to_ev_on_methane() -> None:
    """Methane (QM9 index 1): U0 = -40.47893 Ha and HOMO = -0.3877 Ha in the file (qm9pack's row 1)."""
    molecules = load_molecules(fixture_spec(["U0", "homo", "mu"]))  # type: ignore[arg-type]
    methane = molecules.labels[molecules.smiles.index("C")]
    assert methane[0] == pytest.approx(-40.47893 * HARTREE_EV_SCIPY, rel=1e-12)
    assert methane[1] == pytest.approx(-0.3877 * HARTREE_EV_SCIPY, rel=1e-12)
    assert methane[2] == pytest.approx(0.0)  # Debye, unconverted
    assert {name: t.unit for name, t in QM9_TARGETS.items()} == QM9_UNITS  # the registry states the same units


def test_target_selection_default_and_errors() -> None:
    spec = get_dataset_spec("qm9")
    assert select_targets(spec, None).target_columns == ("U0",)
    assert select_targets(spec, ["gap", "U0"]).target_columns == ("gap", "U0")
    with pytest.raises(UnknownTargetError, match=r"data.target = 'u0'.*its targets: mu, alpha"):
        select_targets(spec, ["u0"])
    config = parse_trial_config({"data": {"dataset": "qm9", "target": "U0, homo"}})
    assert config.data.target == ["U0", "homo"]
    assert apply_overrides(None, {"target": ["gap,homo", "U0"]}, "flags").data.target == ["gap", "homo", "U0"]
    assert config.data.split is SplitKind.RANDOM  # QM9's own default split
    assert parse_trial_config({"data": {"dataset": "qm9", "split": "scaffold"}}).data.split is SplitKind.SCAFFOLD
    assert parse_trial_config({"data": {"dataset": "bbbp"}}).data.split is SplitKind.SCAFFOLD
    # the command line and sweeps merge onto the defaults: the dataset's split still applies unless one is given
    assert apply_overrides(None, {"dataset": "qm9"}, "test").data.split is SplitKind.RANDOM
    assert apply_overrides(None, {"dataset": "qm9", "split": "scaffold"}, "test").data.split is SplitKind.SCAFFOLD
    assert apply_overrides(None, {"dataset": "bbbp"}, "test").data.split is SplitKind.SCAFFOLD
    with pytest.raises(ConfigError, match="target"):
        parse_trial_config({"data": {"file": "x.csv", "smiles_column": "s", "target_columns": ["y"], "target": "U0"}})
