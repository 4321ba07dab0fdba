"""The descriptor sets: generated once into the cache from the MOSES test split, values equal to RDKit's own
functions on molecules read back from the CSV, provenance beside it, listed and trained like any built-in set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rdkit
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors
from typer.testing import CliRunner

from greenft.cli import app
from greenft.data import BUILTIN_DATASETS, Metric, TaskType, get_dataset_spec, load_molecules
from greenft.data.corpus import installed_labelled_datasets
from greenft.data.descriptors import descriptor_table, moses_test_path, provenance_of, read_source_smiles
from greenft.data.loading import count_rows, resolve_path
from greenft.io import OutputError

NAMES = {"desc-mw": ("MolWt",), "desc-tpsa": ("TPSA",), "desc-logp": ("MolLogP",)}


def test_the_four_sets_are_regression_scored_by_mae_with_moses_as_source() -> None:
    for name, targets in {**NAMES, "descriptors": ("MolWt", "TPSA", "MolLogP")}.items():
        spec = get_dataset_spec(name)
        assert spec.target_columns == targets and spec.generator == "descriptors"
        assert spec.task_type is TaskType.REGRESSION and spec.metric is Metric.MAE
        assert spec.package == "moses" and "MOSES" in spec.source and "MIT" in spec.licence
    # the corpus is MOSES's training split: the test-split descriptor sets are not excluded from it, nor generated
    assert not {s.name for s in installed_labelled_datasets()} & {"descriptors", *NAMES}


def test_values_read_back_from_the_generated_csv_are_rdkits() -> None:
    molecules = load_molecules(get_dataset_spec("descriptors"))
    assert len(molecules.smiles) == count_rows(get_dataset_spec("desc-mw")) == 5000
    assert len(set(molecules.smiles)) == 5000 and not molecules.dropped
    rng = np.random.default_rng(7)
    for index in rng.choice(5000, size=5, replace=False):
        mol = Chem.MolFromSmiles(molecules.smiles[index])
        expected = [Descriptors.MolWt(mol), rdMolDescriptors.CalcTPSA(mol), Crippen.MolLogP(mol)]  # type: ignore[attr-defined]
        assert molecules.labels[index].tolist() == pytest.approx(expected, rel=1e-6)
    assert resolve_path(get_dataset_spec("desc-tpsa")) == molecules.path  # one table behind the four names
    source = set(read_source_smiles(moses_test_path()))
    assert all(Chem.MolToSmiles(Chem.MolFromSmiles(s)) == s for s in molecules.smiles[:50])  # canonical
    assert sum(s in source for s in molecules.smiles) >= 4900  # MOSES's own SMILES are (almost all) canonical


def test_provenance_names_source_seed_and_rdkit_version() -> None:
    table = resolve_path(get_dataset_spec("desc-logp"))
    provenance = provenance_of(table)
    source = moses_test_path()
    assert provenance["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert provenance["rdkit_version"] == rdkit.__version__ and rdkit.__version__ in table.name
    assert (provenance["sample_size"], provenance["sample_seed"], provenance["molecules"]) == (5000, 0, 5000)
    assert set(provenance["descriptors"]) == {"MolWt", "TPSA", "MolLogP"}


def test_the_same_seed_gives_the_same_table_and_another_seed_another(tmp_path: Path) -> None:
    first = descriptor_table(tmp_path / "a", size=20, seed=3)
    again = descriptor_table(tmp_path / "b", size=20, seed=3)
    other = descriptor_table(tmp_path / "c", size=20, seed=4)
    assert first.read_bytes() == again.read_bytes() and first.read_bytes() != other.read_bytes()
    assert descriptor_table(tmp_path / "a", size=20, seed=3) == first  # cached: not rewritten
    assert json.loads(first.with_suffix(".json").read_text())["sample_seed"] == 3
    assert len(first.read_text().splitlines()) == 21


def test_a_cache_that_cannot_be_written_is_one_error_naming_it(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    with pytest.raises(OutputError, match="blocked"):
        descriptor_table(blocked, size=5)


def test_datasets_list_includes_them() -> None:
    listed = CliRunner().invoke(app, ["datasets", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.output)}
    assert rows["descriptors"]["tasks"] == 3 and rows["desc-mw"]["molecules"] == 5000
    assert rows["desc-logp"]["metric"] == "mae" and "MOSES" in rows["desc-logp"]["source"]
    assert set(BUILTIN_DATASETS) == set(rows)


def test_datasets_list_with_an_unwritable_cache_lists_the_rest_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GREENFT_CACHE_DIR", str(blocked))
    listed = CliRunner().invoke(app, ["datasets", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.output)}
    assert rows["b3db"]["installed"] is True and rows["desc-mw"]["installed"] is False
    assert "cache cannot be written" in rows["desc-mw"]["install"]


@pytest.mark.slow
def test_a_trial_trains_on_the_three_task_set_with_l1(tmp_path: Path) -> None:
    from conftest import small_trial
    from greenft.agents import TrialConfig, run_trial
    from greenft.schema import CONFIG_FILE

    data = {"dataset": "descriptors", "limit": 120}
    config = small_trial(tmp_path, data=data, optim={"max_epochs": 2, "loss": "l1"}, model={"num_layers": 2})
    result = run_trial(TrialConfig.model_validate(config))
    derived = json.loads((result.files_dir / CONFIG_FILE).read_text())["derived"]["dataset"]
    assert derived["tasks"] == 3 and derived["metric"] == "mae" and derived["path"].endswith(".csv")
    assert provenance_of(Path(derived["path"]))["generator"] == "descriptors"
    assert len(result.epochs) == 2 and all(np.isfinite(e.test_metric) for e in result.epochs)


@pytest.mark.slow
def test_datasets_show_names_where_the_table_came_from() -> None:
    shown = CliRunner().invoke(app, ["datasets", "show", "desc-mw"])
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if line.startswith("generated from"))
    assert "test.csv.gz" in line and "sample seed 0" in line and f"RDKit {rdkit.__version__}" in line
    assert "metric mae" in shown.output and "MolWt" in shown.output
