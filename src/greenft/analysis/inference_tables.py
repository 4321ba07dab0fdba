"""The seed thesis' tables of a model's life cycle: emissions per phase, the inference break-even point, and the
precision (post-training quantization) trade-off.

Why: the trade-off report says what early stopping saves while *training*; a user also pays for *using* the model.
The PyTorch-vs-TensorFlow thesis measures CodeCarbon per phase (training and evaluation apart), the parameter
count, and what each post-training precision costs in quality, size and energy. These tables bring that to every
model family and dataset the report groups (model, dataset), from what the runs already log:

* **Training** (``emissions/cumulative_kg``, train + validation, what the rule sees): at the live rule's stop
  (summary ``stop/*``) and, for shadow runs, at the full budget (``full/*``).
* **Evaluation**: the test-set evaluation phase (``emissions/test_eval_cumulative_kg``, measured apart by the
  trainer's phase ledger), cumulated up to the live rule's stop epoch.
* **Inference per 1,000 molecules**, *estimated* from that evaluation phase: each epoch evaluates the test split
  once, so an epoch's increment of the test-evaluation cumulative over the number of test molecules
  (``derived.dataset.split_sizes.test``), times 1,000, is a forward pass over 1,000 molecules; the median over
  the epochs resists the odd slow epoch. Featurisation is cached by the trainer, so this is the model's forward
  cost, not ``greenft predict``'s (which parses SMILES too).
* **Break-even**: the number of predicted molecules whose inference emits the CO2 a stopping rule saved against
  the full budget, ``saved kg / (inference kg per molecule)``: past it, using the model has cost more than
  early stopping saved. "n/a" when the rule saved nothing.
* **Precision rows** (:class:`~greenft.schema.inference.PrecisionRow`, written by ``greenft quantize``): each
  precision beside the float32 row of the same family, dataset and device.

Pure: works on :class:`~greenft.analysis.records.RunRecord` values and rows already read; no files.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from greenft.analysis.records import RunRecord, get_dotted
from greenft.analysis.tradeoff import Comparison, Spread, metric_change_pct, spread
from greenft.schema import METRIC_DIRECTIONS, Mode, Point, RunStatus, number, point_key
from greenft.schema.history import EPOCH, TEST_EVAL_EMISSIONS, TEST_EVAL_ENERGY, TEST_EVAL_TIME
from greenft.schema.inference import Precision, PrecisionRow
from greenft.schema.summary import AT_EMISSIONS, AT_ENERGY, AT_EPOCH, AT_TIME, MODEL_BEST_FILE_BYTES, STOP_RULE

__all__ = [
    "PER_MOLECULES",
    "BreakEvenRow",
    "MeasuredBreakEven",
    "PhaseRow",
    "PhaseRun",
    "PrecisionTableRow",
    "break_even_molecules",
    "break_even_rows",
    "inference_per_1000",
    "measured_break_even",
    "phase_rows",
    "phase_run",
    "precision_table",
]

PER_MOLECULES = 1000
"""Inference figures are per this many molecules (the seed's and ``greenft predict``'s unit)."""


def _count(value: Any) -> int | None:
    """A positive whole number from a logged value, else None (a missing or malformed entry)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return int(value)


def inference_per_1000(cumulative: Sequence[float], molecules: int | None) -> float:
    """Median over epochs of ``(c_i - c_{i-1}) / molecules * 1000`` (``c_0 = 0``): one test-set pass per epoch,
    per 1,000 molecules. NaN without a molecule count or a finite increment (a non-finite reading is skipped,
    and so is the increment after it, which it would distort)."""
    if molecules is None or molecules <= 0:
        return math.nan
    previous, per_pass = 0.0, []
    for value in cumulative:
        if math.isfinite(value) and math.isfinite(previous):
            per_pass.append((value - previous) / molecules * PER_MOLECULES)
        previous = value
    return statistics.median(per_pass) if per_pass else math.nan


@dataclass(frozen=True)
class PhaseRun:
    """One run's emissions per phase (a ``phase_runs.csv`` row); NaN where the run has no such figure."""

    run_id: str
    model: str
    dataset: str
    mode: str | None
    live_rule: str | None
    parameters: int | None
    model_file_bytes: int | None  # the saved best-validation model (``model/best_file_bytes``); None: not saved
    test_molecules: int | None
    stop_epoch: int | None
    full_epochs: int | None  # shadow runs: the budget trained; else None
    train_kg_stop: float
    train_kwh_stop: float
    train_s_stop: float
    train_kg_full: float
    train_kwh_full: float
    train_s_full: float
    eval_kg_stop: float  # the test-evaluation phase, up to the stop epoch
    eval_kwh_stop: float
    eval_s_stop: float
    inference_kg_per_1000: float
    inference_kwh_per_1000: float
    inference_s_per_1000: float

    @property
    def saved_kg(self) -> float:
        """Training CO2 the live rule saved against the full budget (shadow runs; NaN otherwise)."""
        return self.train_kg_full - self.train_kg_stop

    def as_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "saved_kg": self.saved_kg}


def phase_run(record: RunRecord) -> PhaseRun | None:
    """The phases of a finished run that trained at least one epoch, else None (nothing measured to the end)."""
    if record.state != RunStatus.FINISHED:
        return None
    s = record.summary
    stop_epoch = _count(s.get(point_key(Point.STOP, AT_EPOCH)))
    if stop_epoch is None:
        return None
    rows: dict[int, Mapping[str, Any]] = {}
    for row in record.history:
        epoch = _count(row.get(EPOCH))
        if epoch is not None:
            rows[epoch] = row  # a repeated epoch keeps its last row, as the curve does
    epochs = [rows[e] for e in sorted(rows)]
    at_stop = rows.get(stop_epoch, {})
    molecules = _count(get_dotted(record.config, "derived.dataset.split_sizes.test"))

    def series(column: str) -> list[float]:
        return [number(row.get(column)) for row in epochs]

    return PhaseRun(
        run_id=record.run_id,
        model=record.model,
        dataset=record.dataset,
        mode=record.mode,
        live_rule=str(s[STOP_RULE]) if s.get(STOP_RULE) is not None else None,
        parameters=_count(get_dotted(record.config, "derived.model.parameters")),
        model_file_bytes=_count(s.get(MODEL_BEST_FILE_BYTES)),
        test_molecules=molecules,
        stop_epoch=stop_epoch,
        full_epochs=_count(s.get(point_key(Point.FULL, AT_EPOCH))),
        train_kg_stop=number(s.get(point_key(Point.STOP, AT_EMISSIONS))),
        train_kwh_stop=number(s.get(point_key(Point.STOP, AT_ENERGY))),
        train_s_stop=number(s.get(point_key(Point.STOP, AT_TIME))),
        train_kg_full=number(s.get(point_key(Point.FULL, AT_EMISSIONS))),
        train_kwh_full=number(s.get(point_key(Point.FULL, AT_ENERGY))),
        train_s_full=number(s.get(point_key(Point.FULL, AT_TIME))),
        eval_kg_stop=number(at_stop.get(TEST_EVAL_EMISSIONS)),
        eval_kwh_stop=number(at_stop.get(TEST_EVAL_ENERGY)),
        eval_s_stop=number(at_stop.get(TEST_EVAL_TIME)),
        inference_kg_per_1000=inference_per_1000(series(TEST_EVAL_EMISSIONS), molecules),
        inference_kwh_per_1000=inference_per_1000(series(TEST_EVAL_ENERGY), molecules),
        inference_s_per_1000=inference_per_1000(series(TEST_EVAL_TIME), molecules),
    )


_PHASE_FIGURES = (
    "train_kg_stop",
    "train_kwh_stop",
    "train_s_stop",
    "train_kg_full",
    "train_kwh_full",
    "train_s_full",
    "eval_kg_stop",
    "eval_kwh_stop",
    "eval_s_stop",
    "inference_kg_per_1000",
    "inference_kwh_per_1000",
    "inference_s_per_1000",
)


@dataclass(frozen=True)
class PhaseRow:
    """One model on one dataset: each phase figure as mean ± sample sd over its runs (a ``phase_summary.csv`` row).

    ``full`` figures are over the shadow runs only (``n_full`` of them); ``parameters`` and ``test_molecules``
    are given as a single value when every run agrees, else as their range.
    """

    model: str
    dataset: str
    n_runs: int
    n_full: int
    parameters: tuple[int, int] | None  # (min, max) over the runs that logged it
    model_file_bytes: tuple[int, int] | None
    test_molecules: tuple[int, int] | None
    figures: dict[str, Spread]

    def figure(self, name: str) -> Spread:
        return self.figures[name]

    def as_flat_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model, "dataset": self.dataset, "n_runs": self.n_runs}
        out["n_full"] = self.n_full
        pairs = (
            ("parameters", self.parameters),
            ("model_file_bytes", self.model_file_bytes),
            ("test_molecules", self.test_molecules),
        )
        for name, pair in pairs:
            out[f"{name}_min"], out[f"{name}_max"] = pair if pair is not None else (None, None)
        for name, s in self.figures.items():
            out.update({f"{name}_mean": s.mean, f"{name}_std": s.std, f"{name}_n": s.n})
        return out


def _range(values: Iterable[int | None]) -> tuple[int, int] | None:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None


def _groups(runs: Iterable[PhaseRun]) -> dict[tuple[str, str], list[PhaseRun]]:
    out: dict[tuple[str, str], list[PhaseRun]] = {}
    for run in runs:
        out.setdefault((run.model, run.dataset), []).append(run)
    return dict(sorted(out.items()))


def phase_rows(runs: Iterable[PhaseRun]) -> list[PhaseRow]:
    """Runs grouped by (model, dataset), as the report's trade-off tables group them; sorted by that key."""
    out = []
    for (model, dataset), group in _groups(runs).items():
        out.append(
            PhaseRow(
                model=model,
                dataset=dataset,
                n_runs=len(group),
                n_full=sum(math.isfinite(r.train_kg_full) for r in group),
                parameters=_range(r.parameters for r in group),
                model_file_bytes=_range(r.model_file_bytes for r in group),
                test_molecules=_range(r.test_molecules for r in group),
                figures={name: spread(getattr(r, name) for r in group) for name in _PHASE_FIGURES},
            )
        )
    return out


# ----------------------------------------------------------------------------------------------- break-even

LOGGED = "logged"
REPLAYED = "replayed"
NOTHING_SAVED = "nothing saved"
NO_INFERENCE = "no inference measurement"


def break_even_molecules(saved_kg: float, inference_kg_per_1000: float) -> float | None:
    """``saved_kg / (inference_kg_per_1000 / 1000)`` molecules; None when nothing was saved or the inference cost
    is unknown (or zero: no number of molecules would ever reach the saving)."""
    if not (math.isfinite(saved_kg) and saved_kg > 0.0):
        return None
    if not (math.isfinite(inference_kg_per_1000) and inference_kg_per_1000 > 0.0):
        return None
    return saved_kg / (inference_kg_per_1000 / PER_MOLECULES)


@dataclass(frozen=True)
class BreakEvenRow:
    """A stopping rule on one model and dataset: the mean CO2 it saved against the full budget, and how many
    predicted molecules cost as much (a ``break_even.csv`` row).

    ``source`` is ``logged`` for the live rule of shadow runs (their summary: ``stop/*`` against ``full/*``) and
    ``replayed`` for a rule the report replays on the complete curves (``tradeoff_runs.csv``'s kg).
    ``molecules`` is the ratio of the means over the runs; None (shown "n/a") with ``note`` saying why.
    """

    model: str
    dataset: str
    strategy: str
    source: str
    n_runs: int
    saved_kg: Spread
    inference_kg_per_1000: float
    molecules: float | None
    note: str

    def as_flat_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "dataset": self.dataset,
            "strategy": self.strategy,
            "source": self.source,
            "n_runs": self.n_runs,
        }
        s = self.saved_kg
        out.update({"saved_kg_mean": s.mean, "saved_kg_std": s.std, "saved_kg_min": s.min, "saved_kg_max": s.max})
        out.update({"inference_kg_per_1000": self.inference_kg_per_1000, "molecules": self.molecules})
        out["note"] = self.note
        return out


def _break_even(
    key: tuple[str, str], strategy: str, source: str, saved: Sequence[float], inference: float
) -> BreakEvenRow:
    saved_spread = spread(saved)
    molecules = break_even_molecules(saved_spread.mean, inference)
    note = ""
    if molecules is None:
        nothing = not (math.isfinite(saved_spread.mean) and saved_spread.mean > 0.0)
        note = NOTHING_SAVED if nothing else NO_INFERENCE
    return BreakEvenRow(*key, strategy, source, len(saved), saved_spread, inference, molecules, note)


def break_even_rows(runs: Sequence[PhaseRun], comparisons: Iterable[Comparison]) -> list[BreakEvenRow]:
    """Per (model, dataset): the live rule of its shadow runs (logged), then each replayed rule of
    ``comparisons`` (kind ``rule``; a censored replay, whose cost is unknown, is left out).

    The inference cost is the group's mean inference kg per 1,000 molecules over all its runs (:func:`phase_rows`).
    """
    groups = _groups(runs)
    inference = {key: spread(r.inference_kg_per_1000 for r in group).mean for key, group in groups.items()}
    replayed: dict[tuple[str, str], dict[str, list[float]]] = {}
    for c in comparisons:
        if c.kind == "rule" and not c.censored:
            kg = c.full_emissions_kg - c.emissions_kg
            replayed.setdefault((c.model, c.dataset), {}).setdefault(c.strategy, []).append(kg)
    out: list[BreakEvenRow] = []
    for key in sorted(set(groups) | set(replayed)):
        cost = inference.get(key, math.nan)
        live: dict[str, list[float]] = {}
        for run in groups.get(key, []):
            if run.mode == Mode.SHADOW and math.isfinite(run.train_kg_full) and run.live_rule is not None:
                live.setdefault(run.live_rule, []).append(run.saved_kg)
        for label, logged in sorted(live.items()):
            out.append(_break_even(key, f"live rule {label}", LOGGED, logged, cost))
        for label, replays in sorted(replayed.get(key, {}).items()):
            out.append(_break_even(key, label, REPLAYED, replays, cost))
    return out


# --------------------------------------------------------------------------------------------- precision table

_PRECISION_ORDER = {p.value: i for i, p in enumerate(Precision)}


@dataclass(frozen=True)
class PrecisionTableRow:
    """A :class:`PrecisionRow` beside the float32 row of the same family, dataset and device (its reference).

    ``metric_change_pct`` is signed like the report's (positive = better, for ROC-AUC and RMSE alike; raw
    difference over ``|float32 metric|``); ``size_ratio`` = file bytes / float32's. NaN without a reference or
    a value (an unsupported precision, no float32 row).
    """

    row: PrecisionRow
    reference: PrecisionRow | None
    metric_change_pct: float
    size_ratio: float

    def as_flat_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self.row, f.name) for f in fields(self.row)}
        out["metric_change_pct"] = self.metric_change_pct
        out["size_ratio"] = self.size_ratio
        return out


def _metric_key(name: str) -> str:
    """``ROC-AUC`` and ``roc_auc`` alike: the writer may give the metric's display name or greenft's key."""
    return name.strip().lower().replace("-", "_")


def _metric_change(row: PrecisionRow, reference: PrecisionRow) -> float:
    """Signed % change of the row's metric vs the reference's (positive = better); NaN when they measure
    different metrics, a value is missing, or the metric's direction is unknown."""
    direction = METRIC_DIRECTIONS.get(_metric_key(row.metric_name))
    if direction is None or _metric_key(reference.metric_name) != _metric_key(row.metric_name):
        return math.nan
    if row.metric is None or reference.metric is None:
        return math.nan
    return metric_change_pct(row.metric, reference.metric, direction)


def _ratio(value: float | int | None, reference: float | int | None) -> float:
    if value is None or reference is None or not reference:
        return math.nan
    return float(value) / float(reference)


def precision_table(rows: Iterable[PrecisionRow]) -> list[PrecisionTableRow]:
    """Every row with its float32 reference, ordered by family, dataset, device, then float32, float16, bfloat16,
    dynamic int8, static int8. A repeated (family, dataset, device, precision) keeps every row (two
    measurements are both shown); the first float32 is the reference."""
    rows = list(rows)
    references: dict[tuple[str, str, str], PrecisionRow] = {}
    for row in rows:
        if row.precision == Precision.FLOAT32 and row.supported:
            references.setdefault((row.family, row.dataset, row.device), row)
    ordered = sorted(rows, key=lambda r: (r.family, r.dataset, r.device, _PRECISION_ORDER[r.precision]))
    out = []
    for row in ordered:
        ref = references.get((row.family, row.dataset, row.device))
        change = _metric_change(row, ref) if ref is not None else math.nan
        size = _ratio(row.file_bytes, ref.file_bytes) if ref is not None else math.nan
        out.append(PrecisionTableRow(row, ref, change, size))
    return out


# ------------------------------------------------------------------- break-even at measured precisions


@dataclass(frozen=True)
class MeasuredBreakEven:
    """A stopping rule's saving (a :class:`BreakEvenRow`) over the inference cost ``greenft quantize`` measured
    for one precision of the same model family and dataset (a ``break_even_measured.csv`` row).

    Why beside the estimate: the test-evaluation estimate is one small pass per epoch, whose fixed costs weigh
    in; a precision row is a batched measurement of the saved model, and says how quantizing moves the point.
    """

    model: str
    dataset: str
    strategy: str
    source: str
    precision: str
    device: str
    saved_kg: float
    kg_co2_per_1000: float
    molecules: float | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _same_model(precision: PrecisionTableRow, parameters: tuple[int, int] | None) -> bool:
    """The measured model is the runs' model: its float32 parameter count (quantized copies pack their weights,
    so their own count may differ) is within the runs' range; unknown on either side counts as the same."""
    reference = precision.reference or precision.row
    if reference.parameters is None or parameters is None:
        return True
    return parameters[0] <= reference.parameters <= parameters[1]


def measured_break_even(
    rows: Iterable[BreakEvenRow], precisions: Iterable[PrecisionTableRow], phases: Iterable[PhaseRow] = ()
) -> list[MeasuredBreakEven]:
    """Every rule that saved CO2 against every supported precision row of its (model family, dataset) that has a
    measured kg CO2 per 1,000 molecules; rows in the order of ``rows``, then of ``precisions``.

    A precision row of another size of the family (its float32 parameter count outside the range of the runs'
    ``derived.model.parameters``, from ``phases``) is left out: its cost is not that of the runs' model.
    """
    parameters = {(p.model, p.dataset): p.parameters for p in phases}
    measured: dict[tuple[str, str], list[PrecisionRow]] = {}
    for t in precisions:
        r = t.row
        key = (r.family, r.dataset)
        costed = r.supported and r.kg_co2_per_1000 is not None and r.kg_co2_per_1000 > 0
        if costed and _same_model(t, parameters.get(key)):
            measured.setdefault(key, []).append(r)
    out = []
    for b in rows:
        if not (math.isfinite(b.saved_kg.mean) and b.saved_kg.mean > 0.0):
            continue
        for p in measured.get((b.model, b.dataset), []):
            cost = float(p.kg_co2_per_1000 or math.nan)
            molecules = break_even_molecules(b.saved_kg.mean, cost)
            out.append(
                MeasuredBreakEven(
                    b.model, b.dataset, b.strategy, b.source, p.precision, p.device, b.saved_kg.mean, cost, molecules
                )
            )
    return out
