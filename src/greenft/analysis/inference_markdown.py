"""The report's life-cycle sections (emissions per phase, break-even, precision trade-off) as captions and rows.

Why its own module: :mod:`greenft.analysis.markdown` lays out the page; these sections' wording and columns
(what each figure measures, in the caption beside it) change with the seed thesis' tables, not with the
trade-off report's. Cells are already text here, so :func:`~greenft.analysis.markdown.markdown_table` only
escapes and joins them; the CLI's summary lines reuse :func:`count_text` and :func:`sci`. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from greenft.analysis.compute import Analysis
from greenft.analysis.inference_tables import (
    PER_MOLECULES,
    BreakEvenRow,
    MeasuredBreakEven,
    PhaseRow,
    PrecisionTableRow,
)
from greenft.analysis.tradeoff import Spread
from greenft.schema.history import EMISSIONS, TEST_EVAL_EMISSIONS

__all__ = ["Section", "count_text", "inference_sections", "sci"]

NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class Section:
    """A report section: heading, caption, and tables (header, rows of text cells)."""

    title: str
    text: str
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)


def sci(value: float | None, digits: int = 3) -> str:
    """A figure of any magnitude (kg CO2 per epoch are ~1e-7) with ``digits`` significant digits; ``-`` if none."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}g}"


def spread_text(s: Spread) -> str:
    """``mean ± sd`` (sd with 2 significant digits; the mean alone for one run; ``-`` for none)."""
    if s.n == 0:
        return "-"
    if s.n == 1 or not math.isfinite(s.std):
        return sci(s.mean)
    return f"{sci(s.mean)} ± {sci(s.std, 2)}"


def count_text(value: float | None) -> str:
    """A number of molecules, whole and grouped (``12,345``); ``n/a`` when there is none."""
    return NOT_APPLICABLE if value is None or not math.isfinite(value) else f"{value:,.0f}"


def _bytes_text(pair: tuple[int, int] | None) -> str:
    """A file size in kB (one value when the runs agree, else their range)."""
    if pair is None:
        return "-"
    low, high = (round(b / 1000, 1) for b in pair)
    return f"{low:,} kB" if low == high else f"{low:,}–{high:,} kB"


def _range_text(pair: tuple[int, int] | None) -> str:
    if pair is None:
        return "-"
    low, high = pair
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


PHASE_TEXT = f"""\
Per model and dataset, mean ± sample standard deviation over the runs (the seed thesis' per-phase table, from
what every run logs; CodeCarbon, or the wall-clock meter where CodeCarbon could not run: see each run's
`meter`). **Training** is the cumulative `{EMISSIONS}` (train + validation, the scope the stopping rule sees)
at the live rule's stop (`stop/*` of the summary) and, for shadow runs only, at the full budget (`full/*`;
"full runs" counts them). **Evaluation** is the test-set evaluation phase, measured apart
(`{TEST_EVAL_EMISSIONS}`), cumulated up to the live rule's stop epoch. **Inference per {PER_MOLECULES:,}
molecules** is estimated from that phase: every epoch evaluates the test split once, so each epoch's increment
divided by the test molecules, times {PER_MOLECULES:,}, is one forward pass over {PER_MOLECULES:,} molecules;
the median over the run's epochs, then the mean over the runs. Features are cached by the trainer, so this is
the model's forward cost (`greenft predict` also parses SMILES); on a small test split the fixed cost of a
pass (loader, metric, meter reading) weighs in, so it over-estimates a large batched prediction, which
`greenft predict` measures directly. Parameters: `derived.model.parameters`; model file: the saved
best-validation model (`model/best_file_bytes`, "-" where a run saved none); runs:
the runs with that figure / the runs of the model and dataset."""

BREAK_EVEN_TEXT = f"""\
How many predicted molecules make the model's inference emit the training CO2 a stopping rule saved against
the full budget: break-even = mean saved kg / (mean inference kg per {PER_MOLECULES:,} molecules / \
{PER_MOLECULES:,}).
Beyond it, using the model has cost more CO2 than early stopping saved. "live rule ... (logged)": the live rule
of shadow runs, `full/emissions_kg` − `stop/emissions_kg` from their summaries; the other rows are the rules
the report replays on the complete curves (the same kg as the trade-off tables). n/a: the rule saved nothing
(or no inference cost was measured)."""

PRECISION_TEXT = f"""\
Post-training precisions of saved models (`greenft quantize`, read with `--precision-table`), the seed
thesis' quantization table: each row beside the float32 row of the same model family, dataset and device.
Metric: the dataset's metric on the same test molecules for every precision; change % = 100 · (m − m_float32)
/ |m_float32|, signed so that **positive = better** (RMSE going down is positive). File size: the saved file;
ratio = size / float32's. Seconds, kg CO2-eq and kWh per {PER_MOLECULES:,} molecules are inference only
(featurisation included, model loading excluded). "no" in supported: the precision cannot be applied to that
family (the note says why)."""

NO_PRECISION_TEXT = (
    "No precision table given: `greenft quantize` measures one, `greenft analyze --precision-table FILE` adds it."
)


PHASES = (
    ("training, to the live rule's stop", "train_{}_stop", False),
    ("training, full budget (shadow runs)", "train_{}_full", True),
    ("evaluation (test set), to the stop", "eval_{}_stop", False),
    (f"inference per {PER_MOLECULES:,} molecules (estimated)", "inference_{}_per_1000", False),
)
"""The seed's rows: (phase, the figure's name pattern over kg/kwh/s, whether only full runs have it)."""


def _phase_table(rows: Sequence[PhaseRow]) -> tuple[list[str], list[list[str]]]:
    """One row per model, dataset and phase, as the seed's per-phase table (phase, CO2, energy, duration)."""
    header = ["model", "dataset", "parameters", "model file", "test molecules", "phase", "runs"]
    header += ["kg CO2-eq", "kWh", "seconds"]
    body = []
    for r in rows:
        for phase, pattern, full_only in PHASES:
            spreads = [r.figure(pattern.format(unit)) for unit in ("kg", "kwh", "s")]
            runs = r.n_full if full_only else spreads[0].n
            if full_only and not runs:
                continue  # no shadow run: no full budget to show
            body.append(
                [
                    r.model,
                    r.dataset,
                    _range_text(r.parameters),
                    _bytes_text(r.model_file_bytes),
                    _range_text(r.test_molecules),
                    phase,
                    f"{runs}/{r.n_runs}",
                    *(spread_text(x) for x in spreads),
                ]
            )
    return header, body


def _break_even_table(rows: Sequence[BreakEvenRow]) -> tuple[list[str], list[list[str]]]:
    header = [
        "model",
        "dataset",
        "strategy",
        "runs",
        "training kg CO2-eq saved vs full budget",
        f"inference kg CO2-eq / {PER_MOLECULES:,} molecules",
        "break-even (molecules predicted)",
    ]
    body = []
    for r in rows:
        strategy = f"{r.strategy} ({r.source})"
        molecules = count_text(r.molecules) + (f" ({r.note})" if r.note else "")
        saved, cost = spread_text(r.saved_kg), sci(r.inference_kg_per_1000)
        body.append([r.model, r.dataset, strategy, str(r.n_runs), saved, cost, molecules])
    return header, body


MEASURED_TEXT = f"""\
The savings of the break-even table, divided by the inference cost `greenft quantize` measured for each
precision of the saved model of the same family and dataset (kg CO2-eq per {PER_MOLECULES:,} molecules, batched,
featurisation included) instead of the test-evaluation estimate: how quantizing moves the break-even point.
Rules that saved nothing are left out, and so are precision rows of another size of the family (float32
parameter count outside the runs' `derived.model.parameters`)."""


def _measured_table(rows: Sequence[MeasuredBreakEven]) -> tuple[list[str], list[list[str]]]:
    header = [
        "model",
        "dataset",
        "strategy",
        "precision",
        "device",
        "training kg CO2-eq saved",
        f"measured kg CO2-eq / {PER_MOLECULES:,} molecules",
        "break-even (molecules predicted)",
    ]
    body = [
        [
            r.model,
            r.dataset,
            f"{r.strategy} ({r.source})",
            r.precision,
            r.device,
            sci(r.saved_kg),
            sci(r.kg_co2_per_1000),
            count_text(r.molecules),
        ]
        for r in rows
    ]
    return header, body


def _kb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1000:,.1f}"


def _signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}" if math.isfinite(value) else "-"


def _precision_table(rows: Sequence[PrecisionTableRow]) -> tuple[list[str], list[list[str]]]:
    header = [
        "family",
        "dataset",
        "device",
        "precision",
        "supported",
        "metric",
        "change vs float32 %",
        "file size (kB)",
        "size vs float32",
        "parameters",
        f"s / {PER_MOLECULES:,} molecules",
        f"kg CO2-eq / {PER_MOLECULES:,} molecules",
        f"kWh / {PER_MOLECULES:,} molecules",
    ]
    body = []
    for t in rows:
        r = t.row
        supported = "yes" if r.supported else "no"
        if r.note:
            supported += f": {r.note}"
        metric = "-" if r.metric is None else f"{r.metric_name} {r.metric:.4f}"
        ratio = f"{t.size_ratio:.2f}×" if math.isfinite(t.size_ratio) else "-"
        parameters = "-" if r.parameters is None else f"{r.parameters:,}"
        body.append(
            [
                r.family,
                r.dataset,
                r.device,
                r.precision,
                supported,
                metric,
                _signed(t.metric_change_pct),
                _kb(r.file_bytes),
                ratio,
                parameters,
                sci(r.seconds_per_1000),
                sci(r.kg_co2_per_1000),
                sci(r.kwh_per_1000),
            ]
        )
    return header, body


def inference_sections(a: Analysis) -> list[Section]:
    """The sections in report order: per phase, break-even, precision trade-off, and (with a precision table whose
    family and dataset match the runs') break-even at the measured precisions. A section without rows says so
    instead of showing an empty table."""
    phases = Section("Emissions per phase: training, evaluation, inference", PHASE_TEXT)
    if a.phases:
        phases.tables.append(_phase_table(a.phases))
    break_even = Section("Break-even: molecules predicted for the CO2 early stopping saved", BREAK_EVEN_TEXT)
    if a.break_even:
        break_even.tables.append(_break_even_table(a.break_even))
    measured = Section("Break-even at the measured precisions", MEASURED_TEXT)
    if a.break_even_measured:
        measured.tables.append(_measured_table(a.break_even_measured))
    precision = Section("Precision trade-off (post-training quantization)", PRECISION_TEXT)
    if a.precision:
        precision.tables.append(_precision_table(a.precision))
    else:
        precision = Section(precision.title, NO_PRECISION_TEXT)
    return [phases, break_even, precision, *([measured] if measured.tables else [])]
