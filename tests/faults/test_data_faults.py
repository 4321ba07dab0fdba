"""Fault rows: bad data files and numbers a model cannot learn from, through ``greenft train`` and
``greenft datasets show`` alike (both read the same file the same way).

Every file is written inside the row's ``prepare`` from small text derived from the real fixtures
(tests/fixtures/freesolv_small.csv: 60 molecules, column ``dG_hyd``; bbb_small.csv: 80 molecules and 2 broken
SMILES, column ``bbb``). Rows are data rows counted from 1, the header excluded, as greenft reports them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fault_harness import UNPRIVILEGED, Fault, Outcome, Workspace, assert_contract, params, run_fault

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FREESOLV = (FIXTURES / "freesolv_small.csv").read_text()
BBB = (FIXTURES / "bbb_small.csv").read_text()
TINY = ["--threads", "1", "--max-epochs", "2", "--layers", "2", "--emb-dim", "16", "--meter", "wallclock"]
QUIET = ["--set", "logging.system_metrics=false", "--runs-dir", "{runs}"]


def table(text: str, labels: dict[int, str] | None = None, column: str = "dG_hyd", sep: str = ",") -> str:
    """``text`` (a two-column CSV) with data row ``n``'s label replaced by ``labels[n]``, the header's label
    column renamed ``column`` and ``sep`` as separator."""
    header, *rows = text.strip().splitlines()
    out = [header.split(",")[0] + sep + column]
    for number, row in enumerate(rows, start=1):
        smiles, label = row.rsplit(",", 1)
        out.append(smiles + sep + (labels or {}).get(number, label))
    return "\n".join(out) + "\n"


def freesolv(labels: dict[int, str] | None = None, **options: str) -> str:
    return table(FREESOLV, labels, **options)


def relabel(text: str, label: Callable[[int], str], column: str = "y") -> str:
    rows = len(text.strip().splitlines()) - 1
    return table(text, {n: label(n) for n in range(1, rows + 1)}, column)


def write(name: str, content: str | bytes, mode: int | None = None) -> Callable[[Workspace], None]:
    def prepare(workspace: Workspace) -> None:
        path = workspace.write(name, content)
        if mode is not None:
            path.chmod(mode)

    return prepare


def folder(name: str) -> Callable[[Workspace], None]:
    return lambda workspace: workspace.path(name).mkdir(parents=True)


def sdf(name: str, props: dict[str, str], count: int = 12) -> Callable[[Workspace], None]:
    """An SDF of the first ``count`` FreeSolv molecules, each with ``props`` as its properties."""

    def prepare(workspace: Workspace) -> None:
        from rdkit import Chem

        with Chem.SDWriter(str(workspace.path(name))) as writer:
            for line in FREESOLV.splitlines()[1 : count + 1]:
                mol = Chem.MolFromSmiles(line.rsplit(",", 1)[0])
                for key, value in props.items():
                    mol.SetProp(key, value)
                writer.write(mol)

    return prepare


def train_args(name: str, smiles: str, targets: Sequence[str], extra: Sequence[str]) -> list[str]:
    columns = ["--smiles-column", smiles, *(a for t in targets for a in ("--target-column", t))]
    return ["train", "--data-file", "{tmp}/" + name, *columns, *TINY, *QUIET, *extra]


def show_args(name: str, smiles: str, targets: Sequence[str], extra: Sequence[str]) -> list[str]:
    columns = ["--smiles-column", smiles, *(a for t in targets for a in ("--target-column", t))]
    return ["datasets", "show", "--data-file", "{tmp}/" + name, *columns, *extra]


def both(
    case: str,
    name: str,
    prepare: Callable[[Workspace], None] | None,
    message: str | None,
    targets: Sequence[str] = ("dG_hyd",),
    smiles: str = "smiles",
    extra: Sequence[str] = (),
    exit_code: int = 2,
    check: Callable[[Outcome], None] | None = None,
    prefix: Sequence[str] = (),
) -> list[Fault]:
    """The same file through ``train`` and ``datasets show``: the same outcome from both.

    One of the pair is in the fast set, the other marked slow (CI's time budget): an error's ``train`` row (it
    stops before training, and ``train`` is where a wrong file costs most), a warning's ``show`` row (its
    ``train`` row trains a whole run)."""
    return [
        Fault(
            f"{command}-{case}",
            args(name, smiles, targets, extra),
            exit_code=exit_code,
            message=message,
            prepare=prepare,
            check=check,
            prefix=prefix,
            slow=(command == "show") if exit_code != 0 else (command == "train"),
        )
        for command, args in (("train", train_args), ("show", show_args))
    ]


# ---------------------------------------------------------------------------------------------- row checks


def no_warning(outcome: Outcome) -> None:
    assert "warning:" not in outcome.output, outcome.output


def new_runs(outcome: Outcome) -> list[Path]:
    """The files folders of runs this row wrote (the prior run's files are in the workspace's digest)."""
    runs, prior = outcome.workspace.runs, outcome.workspace.prior
    summaries = runs.glob("**/greenft_summary.json")
    return [path.parent for path in summaries if str(path.relative_to(runs)) not in prior]


def failed_run_recorded(outcome: Outcome) -> None:
    """The NaN/inf run is on disk as failed, with why; the non-finite epoch is not logged as one."""
    (files,) = new_runs(outcome)
    summary = json.loads((files / "greenft_summary.json").read_text())
    assert summary["status"] == "failed", summary
    assert "became inf" in summary["stop/reason"] and "dG_hyd" in summary["stop/reason"], summary
    assert (files / "greenft_epochs.jsonl").read_text() == "", "the non-finite epoch was logged"
    assert "finished" not in outcome.output


def finished_run(outcome: Outcome) -> None:
    (files,) = new_runs(outcome)
    assert json.loads((files / "greenft_summary.json").read_text())["status"] == "finished"


def warned_and_finished(outcome: Outcome) -> None:
    finished_run(outcome)
    assert sum(line.startswith("warning:") for line in outcome.output.splitlines()) >= 1


def shows(text: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert text in outcome.output, outcome.output

    return check


# ------------------------------------------------------------------------------------------------- the rows

DUPLICATES = freesolv().splitlines()
CONFLICTING = "\n".join([*DUPLICATES, "c1cc(ccc1N)Cl,-3.1", "Nc1ccc(Cl)cc1,-5.9", "c1cc[nH]c1,0.5"]) + "\n"
IDENTICAL = "\n".join([*DUPLICATES, "CCCNCCC,-3.65"]) + "\n"
EVERY_FIFTH_HUGE = {n: "3e38" for n in range(5, 61, 5)}
HUGE_ROWS = r"rows \[5, 10, 15, 20, 25, 30, 35, 40, 45, 50\] \.\.\. \(12 rows\)"
LATIN = "smiles,dG_hyd,name\nCCO,-5.0,ethanol\nCCN,-4.5,\xe9thylamine\n"

ROWS: list[Fault] = [
    # --- the file itself
    *both("empty-file", "empty.csv", write("empty.csv", b""), r"empty\.csv: the file is empty \(0 bytes\)"),
    *both("header-only", "header.csv", write("header.csv", "smiles,dG_hyd\n"), r"header\.csv: .*header but no data"),
    *both("directory", "folder.csv", folder("folder.csv"), r"folder\.csv: is a directory; expected a CSV/TSV"),
    *both("missing-file", "absent.csv", None, r"dataset file not found: .*absent\.csv"),
    *both(
        "unreadable-file",
        "secret.csv",
        write("secret.csv", freesolv(), mode=0o000),
        r"secret\.csv: cannot be read: Permission denied",
        prefix=UNPRIVILEGED,
    ),
    *both("binary-garbage", "noise.csv", write("noise.csv", bytes(range(256)) * 8), r"noise\.csv: .*binary data"),
    *both(
        "excel-as-csv",
        "book.csv",
        write("book.csv", b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" * 20),
        r"book\.csv: the file is a ZIP archive \(an Excel \.xlsx workbook\?\); save it as CSV",
    ),
    *both(
        "latin1-text",
        "latin.csv",
        write("latin.csv", LATIN.encode("latin-1")),
        r"latin\.csv: is not UTF-8 text \(byte 0xe9 on line 3\)",
    ),
    *both(
        "semicolon-separated",
        "semi.csv",
        write("semi.csv", freesolv(sep=";")),
        r"\['smiles', 'dG_hyd'\] not found; the file has columns \['smiles;dG_hyd'\] \(the header looks ';'-sep",
    ),
    *both(
        "tabs-in-a-csv",
        "tabs.csv",
        write("tabs.csv", freesolv(sep="\t")),
        r"tabs\.csv: column\(s\) .* \(the header looks tab-separated",
    ),
    *both(
        "commas-in-a-tsv",
        "commas.tsv",
        write("commas.tsv", freesolv()),
        r"commas\.tsv: column\(s\) .* \(the header looks ','-separated",
    ),
    *both(
        "ragged-rows",
        "ragged.csv",
        write("ragged.csv", freesolv().replace("c1cc[nH]c1,-4.78", "c1cc[nH]c1,-4.78,extra")),
        r"ragged\.csv: cannot be read as a ','-separated table: .*Expected 2 fields in line 3, saw 3",
    ),
    *both(
        "unclosed-quote",
        "quote.csv",
        write("quote.csv", freesolv().replace("c1cc[nH]c1", '"c1cc[nH]c1')),
        r"quote\.csv: cannot be read as a ','-separated table: .*EOF inside string",
    ),
    # --- columns
    *both(
        "smiles-column-case",
        "f.csv",
        write("f.csv", freesolv()),
        r"\['SMILES'\] not found; the file has columns \['smiles', 'dG_hyd'\] \(did you mean 'smiles' for 'SMILES'\?\)",
        smiles="SMILES",
    ),
    *both(
        "missing-target-column",
        "f.csv",
        write("f.csv", freesolv()),
        r"f\.csv: column\(s\) \['logS'\] not found; the file has columns \['smiles', 'dG_hyd'\]",
        targets=("logS",),
    ),
    *both(
        "sdf-without-the-property",
        "mols.sdf",
        sdf("mols.sdf", {"name": "x"}),
        r"mols\.sdf: column\(s\) \['dG_hyd'\] not found; the file has columns \['name', 'smiles'\]",
    ),
    *both(
        "csv-named-sdf",
        "table.sdf",
        write("table.sdf", freesolv()),
        r"table\.sdf: RDKit reads no molecule from any of its 1 record\(s\); expected an SDF",
    ),
    *both(
        "target-column-never-labelled",
        "two.csv",
        write("two.csv", freesolv().replace("dG_hyd\n", "dG_hyd,y2\n", 1)),
        r"two\.csv: column 'y2' has no label on any of the 60 valid molecules",
        targets=("dG_hyd", "y2"),
    ),
    # --- molecules and labels
    *both(
        "all-smiles-invalid",
        "junk.csv",
        write("junk.csv", "smiles,dG_hyd\nnot_a_smiles,1\nC1CC(,2\nXyz,3\n"),
        r"junk\.csv: no valid molecule in column 'smiles' \(3 rows dropped, e\.g\. row 1: invalid SMILES\)",
    ),
    *both(
        "all-one-class",
        "ones.csv",
        write("ones.csv", relabel(BBB, lambda n: "1", "bbb")),
        r"ones\.csv: every label is one class \('bbb' all 1; 80 valid molecules\)",
        targets=("bbb",),
    ),
    *both(
        "text-labels",
        "words.csv",
        write("words.csv", freesolv({2: "high", 5: "low"})),
        r"column 'dG_hyd' has non-numeric labels in rows \[2, 5\] \(e\.g\. 'high'\); labels must be numbers",
    ),
    *both(
        "nan-spellings",
        "nans.csv",
        write("nans.csv", freesolv({1: "NaN", 3: "N/A", 4: "null"})),
        r"rows \[1, 3, 4\] \(e\.g\. 'NaN'\); 'N/A' and 'NaN' and 'null' are not read as a missing label: leave",
    ),
    *both(
        "infinite-labels",
        "inf.csv",
        write("inf.csv", freesolv({2: "inf", 4: "-Infinity"})),
        r"column 'dG_hyd' has labels that are infinite or beyond float32's range .* in rows \[2, 4\] \(e\.g\. 'inf'\)",
    ),
    *both(
        "float32-overflow",
        "big.csv",
        write("big.csv", freesolv({3: "1e39"})),
        r"big\.csv: column 'dG_hyd' has labels that are infinite or beyond float32's range .* rows \[3\]",
    ),
    *both(
        "classes-beyond-0-1",
        "three.csv",
        write("three.csv", relabel(BBB, lambda n: str(n % 3))),
        r"column 'y': classification labels must be 0/1, found \[2\.0\] in rows \[2, 5, 8",
        targets=("y",),
        extra=("--task-type", "classification"),
    ),
    Fault(
        "train-too-few-rows-for-the-split",
        train_args("few.csv", "smiles", ["dG_hyd"], []),
        message=r"few\.csv: the train split is empty \(3 molecules\): use more molecules",
        prepare=write("few.csv", "smiles,dG_hyd\nCCO,1\nCCC,2\nCCN,3\n"),
    ),
    Fault(
        "show-too-few-rows-for-the-split",
        show_args("few.csv", "smiles", ["dG_hyd"], []),
        exit_code=0,
        message=r"warning: the scaffold split leaves train/val empty \(3 molecules\): greenft train refuses it",
        prepare=write("few.csv", "smiles,dG_hyd\nCCO,1\nCCC,2\nCCN,3\n"),
    ),
    # --- labels that pass float32 but overflow the loss: the run fails (exit 1), never finishes
    Fault(
        "train-labels-overflow-the-metric",
        train_args("huge.csv", "smiles", ["dG_hyd"], []),
        exit_code=1,
        message=r"error: epoch 1: the (training loss|validation rmse|test rmse) became inf: labels too large for "
        r"float32 .*huge\.csv: column 'dG_hyd' " + HUGE_ROWS + r"; .*run recorded as failed",
        prepare=write("huge.csv", freesolv(EVERY_FIFTH_HUGE)),
        check=failed_run_recorded,
    ),
    Fault(
        "show-labels-overflow-the-metric",
        show_args("huge.csv", "smiles", ["dG_hyd"], []),
        exit_code=0,
        message=r"warning: .*huge\.csv: labels above 1\.84e\+19 in column 'dG_hyd' " + HUGE_ROWS,
        prepare=write("huge.csv", freesolv(EVERY_FIFTH_HUGE)),
    ),
    # --- warnings: the run goes on and says what it noticed
    *both(
        "duplicates-with-conflicting-labels",
        "dups.csv",
        write("dups.csv", CONFLICTING),
        r"warning: .*dups\.csv: 2 molecule\(s\) appear in several rows with different labels \(5 rows; rows 1/61/62, "
        r"2/63\); all are kept",
        exit_code=0,
    ),
    *both(
        "duplicates-with-identical-labels",
        "same.csv",
        write("same.csv", IDENTICAL),
        r"warning: .*same\.csv: 1 molecule\(s\) appear in several rows with the same labels \(rows 5/61\); kept",
        exit_code=0,
    ),
    *both(
        "integer-labels-inferred-regression",
        "grades.csv",
        write("grades.csv", relabel(FREESOLV, lambda n: str(n % 3))),
        r"warning: .*grades\.csv: labels of column\(s\) 'y' are only the integers 0/1/2: greenft treats them as "
        r"regression .*--task-type classification",
        targets=("y",),
        exit_code=0,
    ),
    *both(
        "labels-1-2-inferred-regression",
        "pairs.csv",
        write("pairs.csv", relabel(FREESOLV, lambda n: str(n % 2 + 1))),
        r"warning: .*pairs\.csv: labels of column\(s\) 'y' are only the integers 1/2",
        targets=("y",),
        exit_code=0,
    ),
    # --- correct behaviour that must stay so
    *both(
        "labels-0-1-stay-classification-silently",
        "bbb.csv",
        write("bbb.csv", BBB),
        r"roc_auc",
        targets=("bbb",),
        exit_code=0,
        check=no_warning,
    ),
    Fault(
        "show-integers-with-task-type-regression-no-warning",
        show_args("grades.csv", "smiles", ["y"], ["--task-type", "regression"]),
        exit_code=0,
        message=r"regression, metric rmse",
        prepare=write("grades.csv", relabel(FREESOLV, lambda n: str(n % 3))),
        check=no_warning,
    ),
    Fault(
        "show-utf8-bom-header",
        show_args("bom.csv", "smiles", ["dG_hyd"], []),
        exit_code=0,
        message=r"rows 60; valid molecules 60; dropped 0",
        prepare=write("bom.csv", freesolv().encode("utf-8-sig")),
    ),
]

# the train rows that only warn must still finish their run
ROWS = [
    replace(row, check=warned_and_finished)
    if row.id.startswith("train-") and row.exit_code == 0 and not row.check
    else row
    for row in ROWS
]


@pytest.mark.parametrize("fault", params(ROWS))
def test_fault(fault: Fault, workspace: Workspace) -> None:
    assert_contract(fault, run_fault(fault, workspace))
