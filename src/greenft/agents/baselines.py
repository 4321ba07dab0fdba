"""Cheap baselines on the very data and split of a ``greenft train`` run: is fine-tuning worth its CO2 at all?

Three baselines, each scored on val and test with the trainer's own metric code (:func:`greenft.agents.fit.score`)
and measured with the trainer's meter (:func:`greenft.tracking.meter_for`), fit apart from predict:

* ``morgan-rf``: Morgan fingerprints (radius 2, 2048 bits, RDKit's ``rdFingerprintGenerator``) + a random forest
  (classifier probabilities, or a regressor);
* ``morgan-linear``: the same fingerprints + logistic regression (classification) or ridge (regression);
* ``prior``: the training split's positive rate (classification) or mean (regression), one per task.

Multi-task data get one model per task on that task's labelled molecules; a task whose training labels hold one
class (or none) is answered by the prior, and counted. Every model uses ``n_jobs=1`` and ``random_state`` = the
config's seed, so a rerun gives the same scores. Why the fingerprints are recomputed inside each baseline's window:
the cost a user would pay for that baseline alone is what its row reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from greenft.agents.config import TrialConfig
from greenft.agents.fit import score
from greenft.agents.trial import DatasetSplitError, check_split, load_data
from greenft.data import LabelledMolecules, Metric, Split, TaskType
from greenft.data.split_sources import resolve_split, split_source
from greenft.schema.baseline import BaselineReport, BaselineRow
from greenft.tracking import EmissionMeter, PhaseLedger, meter_for

MORGAN_RADIUS, MORGAN_BITS = 2, 2048
BASELINES = ("morgan-rf", "morgan-linear", "prior")
"""Every baseline ``greenft baseline`` runs, in the order of its table."""

Predictor = Callable[[np.ndarray], np.ndarray]
"""A fitted per-task model: feature rows -> probabilities of class 1, or values."""


def morgan_fingerprints(smiles: Sequence[str]) -> np.ndarray:
    """Morgan bit vectors (radius 2, 2048 bits) of canonical SMILES, as a (molecules x bits) uint8 matrix."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    from greenft.data.rdkit_quiet import rdkit_quiet

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)
    out = np.zeros((len(smiles), MORGAN_BITS), dtype=np.uint8)
    with rdkit_quiet():
        for row, text in enumerate(smiles):
            mol = Chem.MolFromSmiles(text)
            if mol is not None:  # loading already dropped unparsable SMILES; a zero row if one slipped through
                out[row] = generator.GetFingerprintAsNumPy(mol)
    return out


def prior_value(labels: np.ndarray) -> float:
    """One task's prior: the positive rate or mean of its labelled training entries (0 when it has none)."""
    known = labels[~np.isnan(labels)]
    return float(known.mean()) if len(known) else 0.0


def _constant(value: float) -> Predictor:
    return lambda x: np.full(len(x), value)


def _fit_task(name: str, x: np.ndarray, y: np.ndarray, task_type: TaskType, seed: int) -> Predictor | None:
    """``name``'s model fitted on one task's labelled rows; None when the prior must answer."""
    if name == "prior" or len(y) == 0:
        return None
    classification = task_type is TaskType.CLASSIFICATION
    if classification and len(np.unique(y)) < 2:
        return None
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    if classification:
        labels = y.astype(int)
        classifier = (
            RandomForestClassifier(n_jobs=1, random_state=seed)
            if name == "morgan-rf"
            else LogisticRegression(max_iter=1000, random_state=seed)
        )
        classifier.fit(x, labels)
        positive = list(classifier.classes_).index(1)
        return lambda rows: np.asarray(classifier.predict_proba(rows))[:, positive]
    regressor = RandomForestRegressor(n_jobs=1, random_state=seed) if name == "morgan-rf" else Ridge(random_state=seed)
    regressor.fit(x, y)
    return lambda rows: np.asarray(regressor.predict(rows), dtype=float)


@dataclass
class _Fitted:
    per_task: list[Predictor]
    prior_tasks: int


def fit_baseline(name: str, smiles: Sequence[str], labels: np.ndarray, task_type: TaskType, seed: int) -> _Fitted:
    """One model per task on the training molecules ``smiles`` with ``labels`` (molecules x tasks, NaN missing)."""
    x = morgan_fingerprints(smiles) if name != "prior" else np.zeros((len(smiles), 0), dtype=np.uint8)
    per_task: list[Predictor] = []
    priors = 0
    for task in range(labels.shape[1]):
        known = ~np.isnan(labels[:, task])
        model = _fit_task(name, x[known], labels[known, task], task_type, seed)
        if model is None:
            priors += name != "prior"
            model = _constant(prior_value(labels[:, task]))
        per_task.append(model)
    return _Fitted(per_task, priors)


def predict_baseline(name: str, fitted: _Fitted, smiles: Sequence[str]) -> np.ndarray:
    """Predictions (molecules x tasks): probabilities of class 1, or values."""
    x = morgan_fingerprints(smiles) if name != "prior" else np.zeros((len(smiles), 0), dtype=np.uint8)
    return np.stack([model(x) for model in fitted.per_task], axis=1)


def load_split(config: TrialConfig) -> tuple[LabelledMolecules, Split]:
    """The molecules and split ``greenft train`` would use with ``config`` (same loader, split source, seed, fractions
    and checks), so a baseline's test score is comparable with a run's."""
    molecules, split = resolve_split(config.data, load_data(config), config.seed)
    if molecules.spec.task_type is TaskType.MULTICLASS:  # the baselines fit one 0/1 or value column per task
        raise DatasetSplitError(
            f"{molecules.spec.name}: task type multiclass has no baseline yet (prior, ridge/logistic and forest fit "
            "binary or regression tasks); train it with greenft train"
        )
    check_split(molecules, split)
    return molecules, split


def run_baselines(
    config: TrialConfig,
    molecules: LabelledMolecules,
    split: Split,
    meter: EmissionMeter | None = None,
    names: Sequence[str] = BASELINES,
) -> BaselineReport:
    """Fit and score every baseline in ``names`` on ``split`` of ``molecules``; each phase measured apart."""
    metric: Metric = molecules.spec.metric
    task_type = molecules.spec.task_type
    smiles = molecules.smiles

    def part(indices: np.ndarray) -> list[str]:
        return [smiles[int(i)] for i in indices]

    active = meter if meter is not None else meter_for(config.tracking, None)
    ledger = PhaseLedger()
    rows: list[BaselineRow] = []
    active.start()
    try:
        meter_info = active.describe()
        ledger.close("start", active.read())  # the tracker's own start-up is charged to no baseline
        for name in names:
            fitted = fit_baseline(name, part(split.train), molecules.labels[split.train], task_type, config.seed)
            fit = ledger.close(f"{name}/fit", active.read())
            val = score(predict_baseline(name, fitted, part(split.val)), molecules.labels[split.val], metric)
            test = score(predict_baseline(name, fitted, part(split.test)), molecules.labels[split.test], metric)
            done = ledger.close(f"{name}/predict", active.read())
            rows.append(
                BaselineRow(
                    baseline=name,
                    val_metric=val,
                    test_metric=test,
                    fit_emissions_kg=fit.emissions_kg,
                    fit_energy_kwh=fit.energy_kwh,
                    fit_duration_s=fit.duration_s,
                    predict_emissions_kg=done.emissions_kg,
                    predict_energy_kwh=done.energy_kwh,
                    predict_duration_s=done.duration_s,
                    prior_tasks=fitted.prior_tasks,
                )
            )
    finally:
        active.stop()
    return BaselineReport(
        dataset=molecules.spec.name,
        split=split_source(config.data),
        seed=config.seed,
        metric=metric.value,
        sizes=split.sizes(),
        meter=meter_info,
        rows=rows,
    )
