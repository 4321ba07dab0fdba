"""Splits a user brings (issue 15, item 6a): chemprop's split file, a split column, a separate test file.

Real files in ``tmp_path``, read by greenft's own loader. Every expected index is derived by hand in the test from
the rows written (which row is invalid, which rows each part names); none comes from running the code first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from greenft.agents.config import ConfigError, TrialConfig, parse_trial_config
from greenft.agents.trial import load_data
from greenft.analysis.records import RunRecord
from greenft.data.loading import LabelledMolecules
from greenft.data.split_file import SplitSourceError, parse_indices, read_split_file
from greenft.data.split_sources import resolve_split, split_source
from greenft.data.tables import DatasetFileError

FREESOLV = FIXTURES / "freesolv_small.csv"  # 60 valid regression rows: smiles,dG_hyd
INVALID_ROW = 3  # 0-based data row of the main file given an unparsable SMILES


def freesolv_rows() -> list[str]:
    return FREESOLV.read_text().splitlines()[1:]


def write_main(tmp_path: Path, rows: int = 30, extra_column: list[str] | None = None) -> Path:
    """The first ``rows`` FreeSolv rows, row ``INVALID_ROW`` with an unparsable SMILES (the loader drops it)."""
    lines = freesolv_rows()[:rows]
    lines[INVALID_ROW] = "not_a_smiles," + lines[INVALID_ROW].split(",")[1]
    header = "smiles,dG_hyd"
    if extra_column is not None:
        header += ",set"
        lines = [f"{line},{value}" for line, value in zip(lines, extra_column, strict=True)]
    path = tmp_path / "main.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def write_test_file(tmp_path: Path, first: int = 30, count: int = 10, header: str = "smiles,dG_hyd") -> Path:
    path = tmp_path / "test.csv"
    path.write_text("\n".join([header, *freesolv_rows()[first : first + count]]) + "\n")
    return path


def config_for(main: Path, **data: object) -> TrialConfig:
    raw = {"data": {"file": str(main), "smiles_column": "smiles", "target_columns": ["dG_hyd"], **data}}
    return parse_trial_config(raw)


def resolved(config: TrialConfig) -> tuple[LabelledMolecules, list[list[int]]]:
    molecules, split = resolve_split(config.data, load_data(config), config.seed)
    return molecules, [split.train.tolist(), split.val.tolist(), split.test.tolist()]


# ------------------------------------------------------------------------------------------ the JSON alone


def test_index_lists_and_chemprop_strings_with_inclusive_ranges() -> None:
    assert parse_indices([4, 0, 7], "x") == [4, 0, 7]
    assert parse_indices("0-2,5, 9-9", "x") == [0, 1, 2, 5, 9]
    assert parse_indices("", "x") == []
    for bad, expected in ((["1"], "'1' is not a row index"), ([-1], "index -1 is negative"), ("3-1", "ends before")):
        with pytest.raises(SplitSourceError, match=expected):
            parse_indices(bad, "x")
    with pytest.raises(SplitSourceError, match="'a-b' is not an index or a range"):
        parse_indices("0,a-b", "x")


def test_split_file_one_object_or_a_list_picked_by_split_index(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"train": "0-3", "val": [4], "test": [5, 6]}))
    assert read_split_file(one) == {"train": [0, 1, 2, 3], "val": [4], "test": [5, 6]}
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"train": [0], "val": [1], "test": [2]}, {"train": [2], "val": [1], "test": [0]}]))
    assert read_split_file(many, 1) == {"train": [2], "val": [1], "test": [0]}
    with pytest.raises(SplitSourceError, match=r"data\.split_index = 2: .*many\.json holds 2 split\(s\)"):
        read_split_file(many, 2)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", r"not valid JSON"),
        ('{"train": [0, 1], "val": [1], "test": [2]}', r"index 1 is in both 'train' and 'val'"),
        ('{"train": [0, 0], "val": [1], "test": [2]}', r"index 0 is twice in 'train'"),
        ('{"train": [], "val": [1], "test": [2]}', r"the 'train' part is empty"),
        ('{"train": [0], "val": [1], "test": []}', r"the 'test' part is empty; .*data\.test_file"),
        ('{"train": [0], "valid": [1], "test": [2]}', r"unknown key\(s\) \['valid'\]"),
        ('{"train": [0], "test": [2]}', r"no 'val' key"),
        ("[]", r"a non-empty list"),
        ('{"train": [0.5], "val": [1], "test": [2]}', r"0\.5 is not a row index"),
    ],
)
def test_split_file_mistakes_are_one_line_naming_the_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "split.json"
    path.write_text(content)
    with pytest.raises(SplitSourceError, match=expected) as caught:
        read_split_file(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_split_file_missing_and_a_test_part_beside_a_test_file(tmp_path: Path) -> None:
    with pytest.raises(SplitSourceError, match=r"split file \(data\.split_file\) not found: .*nope\.json"):
        read_split_file(tmp_path / "nope.json")
    path = tmp_path / "split.json"
    path.write_text('{"train": [0], "val": [1], "test": [2, 3]}')
    with pytest.raises(SplitSourceError, match=r"gives 2 test row\(s\) and data\.test_file = 't\.csv'"):
        read_split_file(path, 0, Path("t.csv"))


# ------------------------------------------------------------------------------------------- config checks


def test_config_refuses_two_split_sources_and_a_stray_split_index(tmp_path: Path) -> None:
    main = write_main(tmp_path)
    with pytest.raises(ConfigError, match=r"split_file = 's\.json' and split_column = 'set' both give the split"):
        config_for(main, split_file="s.json", split_column="set")
    with pytest.raises(ConfigError, match=r"split_index = 1 picks a split of a split_file; none is given"):
        config_for(main, split_index=1)
    with pytest.raises(ConfigError, match=r"with a test_file .* train \+ val must be > 0"):
        config_for(main, test_file="t.csv", split_fractions=[0.0, 0.0, 1.0])


# ------------------------------------------------------------------------------------- indices to molecules


def test_split_file_rows_map_through_the_dropped_row_with_one_warning(tmp_path: Path) -> None:
    main = write_main(tmp_path)  # 30 rows, row 3 dropped: rows 0-2 are molecules 0-2, rows 4-29 molecules 3-28
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"train": "0-19", "val": list(range(20, 25)), "test": "25-29"}))
    molecules, parts = resolved(config_for(main, split_file=str(split_file)))
    assert len(molecules.smiles) == 29
    assert parts == [list(range(0, 19)), list(range(19, 24)), list(range(24, 29))]
    (line,) = [w for w in molecules.warnings if "dropped" in w]
    assert "1 index(es) point at rows the loader dropped" in line
    assert "index 3 in 'train' (row 4 'not_a_smiles': invalid SMILES)" in line


def test_split_file_index_past_the_last_row_is_refused(tmp_path: Path) -> None:
    main = write_main(tmp_path)
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"train": [0, 1], "val": [2], "test": [30]}))
    with pytest.raises(SplitSourceError, match=r"index 30 in 'test' is out of range: .*main\.csv has 30 data rows"):
        resolved(config_for(main, split_file=str(split_file)))


def test_split_column_any_case_and_a_bad_value_names_row_column_value(tmp_path: Path) -> None:
    values = ["Train"] * 20 + ["VAL", "validation", "valid"] + ["val"] * 2 + ["TEST"] * 5
    main = write_main(tmp_path, extra_column=values)
    _, parts = resolved(config_for(main, split_column="set"))
    # molecule positions: rows 0-2 -> 0-2, row 3 dropped, row r >= 4 -> r - 1
    assert parts == [list(range(0, 19)), list(range(19, 24)), list(range(24, 29))]
    values[7] = "holdout"
    main = write_main(tmp_path, extra_column=values)
    with pytest.raises(SplitSourceError, match=r"row 8, split column 'set': value 'holdout' names no split part"):
        resolved(config_for(main, split_column="set"))
    with pytest.raises(DatasetFileError, match=r"column\(s\) \['fold'\] not found"):
        resolved(config_for(main, split_column="fold"))


def test_test_file_is_the_whole_test_part_and_fractions_renormalise(tmp_path: Path) -> None:
    main = write_main(tmp_path)
    test_file = write_test_file(tmp_path)
    molecules, parts = resolved(config_for(main, split="random", test_file=str(test_file)))
    # 29 main molecules: 0.8/(0.8+0.1) of 29 = 25.8, so 25 singletons fill train, the other 4 go to val
    assert [len(p) for p in parts] == [25, 4, 10]
    assert sorted(parts[0] + parts[1]) == list(range(29))
    assert parts[2] == list(range(29, 39))
    expected_test = [line.split(",")[0] for line in freesolv_rows()[30:40]]
    from rdkit import Chem

    assert [molecules.smiles[i] for i in parts[2]] == [Chem.CanonSmiles(s) for s in expected_test]
    assert np.allclose(molecules.labels[parts[2], 0], [float(line.split(",")[1]) for line in freesolv_rows()[30:40]])


def test_test_file_molecules_also_in_train_or_val_are_named_in_one_warning(tmp_path: Path) -> None:
    main = write_main(tmp_path)
    test_file = write_test_file(tmp_path, first=28, count=4)  # FreeSolv rows 28, 29 are main rows 28, 29 too
    molecules, parts = resolved(config_for(main, test_file=str(test_file)))
    assert parts[2] == [29, 30, 31, 32]
    (line,) = [w for w in molecules.warnings if "also in the train/val data" in w]
    assert "2 molecule(s)" in line and "row 1 " in line and "row 2 " in line


def test_test_file_without_the_target_column_is_one_line(tmp_path: Path) -> None:
    main = write_main(tmp_path)
    test_file = write_test_file(tmp_path, header="smiles,energy")
    with pytest.raises(DatasetFileError, match=r"test\.csv: column\(s\) \['dG_hyd'\] not found"):
        resolved(config_for(main, test_file=str(test_file)))


def test_split_source_is_recorded_and_keeps_such_runs_apart_in_analysis(tmp_path: Path) -> None:
    main = write_main(tmp_path)
    plain = config_for(main)
    custom = config_for(main, split_file="s.json", test_file="t.csv")
    assert split_source(plain.data) == "scaffold"
    assert split_source(custom.data) == "file s.json[0] + test file t.csv"

    def record(config: TrialConfig) -> RunRecord:
        dumped = {**config.model_dump(mode="json"), "derived": {"dataset": {"name": "main"}}}
        return RunRecord("r", "local", "x", "finished", dumped, {}, [])

    assert record(plain).dataset == "main"
    assert record(custom).dataset == "main (split file s.json#0, test file t.csv)"


def test_built_in_dataset_with_a_test_file_of_its_columns(tmp_path: Path) -> None:
    test_file = tmp_path / "esol_test.csv"
    test_file.write_text("smiles,logSolubility\nCCO,1.1\nc1ccccc1,-1.6\nnot_a_smiles,0.0\nCC(=O)O,1.2\n")
    config = parse_trial_config({"data": {"dataset": "esol", "limit": 40, "test_file": str(test_file)}})
    molecules, parts = resolved(config)
    assert sorted(parts[0] + parts[1]) == list(range(40))  # the 40 sampled ESOL molecules: train/val only
    assert parts[2] == [40, 41, 42]  # the test file's 3 valid molecules
    assert [molecules.smiles[i] for i in parts[2]] == ["CCO", "c1ccccc1", "CC(=O)O"]
    (line,) = [w for w in molecules.warnings if "not_a_smiles" in w]
    assert "esol test file" in line and "row 3" in line
