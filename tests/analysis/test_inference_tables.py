"""The seed thesis' life-cycle tables on hand-made runs: emissions per phase, the inference break-even point and
the precision trade-off table (and its files). Every expected number is worked out by hand in the comments."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from greenft.analysis.compute import analyze
from greenft.analysis.inference_tables import (
    break_even_molecules,
    inference_per_1000,
    phase_rows,
    phase_run,
    precision_table,
)
from greenft.analysis.markdown import render_markdown
from greenft.analysis.precision_files import PrecisionTableError, read_precision_tables
from greenft.analysis.records import RunRecord
from greenft.cli import app
from greenft.schema.inference import PrecisionRow, precision_rows_to_json
from greenft.stopping import PatienceConfig

FIXTURE = Path(__file__).parents[1] / "fixtures" / "precision_table.json"
NAN = math.nan
PATIENCE_1 = "patience_p1_d0.0"
LIVE = "anges_a0.9_b0.2_w3"


def record(
    run_id: str,
    *,
    mode: str,
    stop: int,
    val: list[float],
    train_kg: list[float],
    eval_kg: list[float],
    budget: int = 4,
    test_molecules: int = 100,
    dataset: str = "b3db",
    metric: str = "roc_auc",
    parameters: int = 4481,
    file_bytes: int | None = 28_821,
) -> RunRecord:
    """A finished run as greenft logs it: per-epoch cumulative kg of training and of the test evaluation, the
    summary's stop/full points read off those curves (kWh = 2 x kg, seconds = 1000 x kg, to tell them apart)."""
    n = len(val)
    history = [
        {
            "epoch": e,
            f"val/{metric}": val[e - 1],
            f"test/{metric}": val[e - 1],
            "emissions/cumulative_kg": train_kg[e - 1],
            "energy/cumulative_kwh": 2 * train_kg[e - 1],
            "time/cumulative_s": 1000 * train_kg[e - 1],
            "emissions/test_eval_cumulative_kg": eval_kg[e - 1],
            "energy/test_eval_cumulative_kwh": 2 * eval_kg[e - 1],
            "time/test_eval_cumulative_s": 1000 * eval_kg[e - 1],
        }
        for e in range(1, n + 1)
    ]
    summary: dict[str, Any] = {"status": "finished", "mode": mode, "metric": metric, "stop/rule": LIVE}
    if file_bytes is not None:
        summary["model/best_file_bytes"] = file_bytes
    points = {"stop": stop, **({"full": n} if mode == "shadow" else {})}
    for point, epoch in points.items():
        kg = train_kg[epoch - 1]
        summary.update({f"{point}/epoch": epoch, f"{point}/emissions_kg": kg})
        summary.update({f"{point}/energy_kwh": 2 * kg, f"{point}/time_s": 1000 * kg})
    config = {
        "seed": 0,
        "model": {"name": "gin"},
        "optim": {"max_epochs": budget},
        "data": {"dataset": dataset},
        "derived": {
            "dataset": {"name": dataset, "metric": metric,
                        "split_sizes": {"train": 800, "val": 100, "test": test_molecules}},
            "model": {"parameters": parameters},
        },
    }  # fmt: skip
    return RunRecord(run_id, "local", f"/runs/{run_id}", "finished", config, summary, history)


# Two shadow runs and a live run of GIN on B3DB, 100 test molecules each, budget 4 epochs.
# a: live rule stopped at 2. Test-eval increments 0.5, 0.5, 0.6, 0.4 (1e-6 kg) -> per 1,000 molecules
#    5e-6, 5e-6, 6e-6, 4e-6: median 5e-6. Saved by the live rule: 4e-6 - 2e-6 = 2e-6 kg.
#    Patience 1 on val 0.6 0.7 0.65 0.66: best at 2, no improvement at 3: stops at 3 (saves 4e-6 - 3e-6 = 1e-6).
# b: live rule stopped at 3. Increments 1e-6 each -> 1e-5 per 1,000. Saved 5e-6 - 3e-6 = 2e-6 kg.
#    Patience 1 on val 0.6 0.7 0.8 0.75: stops at 4, the last epoch (saves 0).
# c: live run that stopped at 2 (its curve ends there). Increments 2e-6 -> 2e-5 per 1,000. No full budget.
RUN_A = record("a", mode="shadow", stop=2, val=[0.6, 0.7, 0.65, 0.66], train_kg=[1e-6, 2e-6, 3e-6, 4e-6],
               eval_kg=[0.5e-6, 1.0e-6, 1.6e-6, 2.0e-6])  # fmt: skip
RUN_B = record("b", mode="shadow", stop=3, val=[0.6, 0.7, 0.8, 0.75], train_kg=[1e-6, 2e-6, 3e-6, 5e-6],
               eval_kg=[1e-6, 2e-6, 3e-6, 4e-6])  # fmt: skip
RUN_C = record("c", mode="live", stop=2, val=[0.6, 0.7], train_kg=[1e-6, 2e-6], eval_kg=[2e-6, 4e-6],
               file_bytes=30_000)  # fmt: skip
# FreeSolv (RMSE, 50 test molecules): the live rule never stopped, so it saved nothing.
RUN_D = record("d", mode="shadow", stop=3, val=[3.0, 2.5, 2.0], train_kg=[1e-6, 2e-6, 3e-6], eval_kg=[1e-7, 2e-7, 3e-7],
               budget=3, test_molecules=50, dataset="freesolv", metric="rmse", parameters=5000,
               file_bytes=None)  # fmt: skip
GIN_INFERENCE = (5e-6 + 1e-5 + 2e-5) / 3  # the group's mean inference kg per 1,000 molecules


def test_inference_per_1000_is_the_median_test_pass_per_1000_molecules() -> None:
    # increments 1e-6, 2e-6, 1e-6 over 50 molecules -> 2e-5, 4e-5, 2e-5 per 1,000: median 2e-5
    assert inference_per_1000([1e-6, 3e-6, 4e-6], 50) == pytest.approx(2e-5)
    # a NaN reading drops its own increment and the next one (from NaN): 1e-6 and 1e-6 remain -> 2e-5
    assert inference_per_1000([1e-6, NAN, 4e-6, 5e-6], 50) == pytest.approx(2e-5)
    assert math.isnan(inference_per_1000([1e-6, 2e-6], None)) and math.isnan(inference_per_1000([], 50))


def test_break_even_molecules() -> None:
    assert break_even_molecules(2e-6, 5e-6) == pytest.approx(400.0)  # 2e-6 kg / 5e-9 kg per molecule
    assert break_even_molecules(0.0, 5e-6) is None  # nothing saved
    assert break_even_molecules(-1e-7, 5e-6) is None
    assert break_even_molecules(2e-6, 0.0) is None and break_even_molecules(2e-6, NAN) is None


def test_phase_run_reads_each_phase_at_the_live_stop_and_the_full_budget() -> None:
    a = phase_run(RUN_A)
    assert a is not None and (a.stop_epoch, a.full_epochs, a.parameters, a.test_molecules) == (2, 4, 4481, 100)
    assert a.model_file_bytes == 28_821
    assert (a.train_kg_stop, a.train_kwh_stop, a.train_s_stop) == pytest.approx((2e-6, 4e-6, 2e-3))
    assert (a.train_kg_full, a.train_kwh_full) == pytest.approx((4e-6, 8e-6))
    assert (a.eval_kg_stop, a.eval_kwh_stop, a.eval_s_stop) == pytest.approx((1e-6, 2e-6, 1e-3))
    assert a.inference_kg_per_1000 == pytest.approx(5e-6) and a.inference_kwh_per_1000 == pytest.approx(1e-5)
    assert a.inference_s_per_1000 == pytest.approx(5e-3) and a.saved_kg == pytest.approx(2e-6)
    c = phase_run(RUN_C)
    assert c is not None and c.full_epochs is None and math.isnan(c.train_kg_full) and math.isnan(c.saved_kg)
    flat = {"model.name": "gin", "derived.dataset.split_sizes.test": 100, "derived.model.parameters": 4481}
    online = phase_run(RunRecord("w", "wandb", "e/p/w", "finished", flat, RUN_A.summary, RUN_A.history))
    assert online is not None and (online.test_molecules, online.parameters) == (100, 4481)  # W&B API configs
    assert online.inference_kg_per_1000 == pytest.approx(5e-6)
    unfinished = RunRecord("x", "local", "/x", "interrupted", RUN_A.config, RUN_A.summary, RUN_A.history)
    assert phase_run(unfinished) is None


def test_phase_rows_group_by_model_and_dataset() -> None:
    runs = [r for r in map(phase_run, [RUN_D, RUN_A, RUN_B, RUN_C]) if r is not None]
    gin, freesolv = phase_rows(runs)  # sorted by (model, dataset): b3db before freesolv
    assert (gin.dataset, gin.n_runs, gin.n_full) == ("b3db", 3, 2)
    assert (gin.parameters, gin.test_molecules) == ((4481, 4481), (100, 100))
    assert gin.model_file_bytes == (28_821, 30_000)  # runs a, b: 28,821 bytes; run c: 30,000
    assert gin.figure("train_kg_stop").mean == pytest.approx((2e-6 + 3e-6 + 2e-6) / 3)
    assert gin.figure("train_kg_full").mean == pytest.approx((4e-6 + 5e-6) / 2) and gin.figure("train_kg_full").n == 2
    assert gin.figure("eval_kg_stop").mean == pytest.approx((1e-6 + 3e-6 + 4e-6) / 3)
    assert gin.figure("inference_kg_per_1000").mean == pytest.approx(GIN_INFERENCE)
    # FreeSolv: increments 1e-7 over 50 molecules -> 2e-6 per 1,000
    assert freesolv.figure("inference_kg_per_1000").mean == pytest.approx(2e-6)
    assert freesolv.parameters == (5000, 5000) and freesolv.model_file_bytes is None  # saved no model


def test_analysis_has_the_break_even_of_the_live_and_the_replayed_rules() -> None:
    a = analyze([RUN_A, RUN_B, RUN_C, RUN_D], [PatienceConfig(patience=1)], grid=[])
    replayed = {(c.run_id, c.strategy): c.stop_epoch for c in a.comparisons}
    assert (replayed[("a", PATIENCE_1)], replayed[("b", PATIENCE_1)]) == (3, 4)  # as worked out above
    rows = {(r.dataset, r.strategy): r for r in a.break_even}
    live = rows[("b3db", f"live rule {LIVE}")]
    assert (live.source, live.n_runs) == ("logged", 2)  # the live run has no full budget to save against
    assert live.saved_kg.mean == pytest.approx(2e-6)
    assert live.molecules == pytest.approx(2e-6 / (GIN_INFERENCE / 1000))  # ~171 molecules
    patience = rows[("b3db", PATIENCE_1)]
    assert (patience.source, patience.n_runs) == ("replayed", 2)  # the live run's curve is not complete
    assert patience.saved_kg.mean == pytest.approx((1e-6 + 0.0) / 2)
    assert patience.molecules == pytest.approx(0.5e-6 / (GIN_INFERENCE / 1000))  # ~43 molecules
    nothing = rows[("freesolv", f"live rule {LIVE}")]
    assert nothing.molecules is None and nothing.note == "nothing saved"
    page = render_markdown(a)
    assert "at the measured precisions" not in page  # no precision table: no such section
    # full budget: mean (4e-6 + 5e-6) / 2 = 4.5e-6, sd sqrt(2 * 0.5e-6 ** 2 / 1) = 7.07e-7; kWh twice that
    full = "| gin | b3db | 4,481 | 28.8–30.0 kB | 100 | training, full budget (shadow runs) | 2/3 | 4.5e-06 ± 7.1e-07 |"
    for text in ("## Emissions per phase", full, "## Break-even", "| 171 |", "| 43 |", "n/a (nothing saved)",
                 "No precision table given"):  # fmt: skip
        assert text in page, text


def row(family: str, precision: str, metric: float | None, size: int | None, *, name: str = "roc_auc",
        dataset: str = "b3db", device: str = "cpu", supported: bool = True, note: str = "", kg: float = 2e-6,
        parameters: int = 1_000_000) -> PrecisionRow:  # fmt: skip
    return PrecisionRow(family, dataset, precision, supported, note, name, metric, parameters, size, 500, 0.5, kg,
                        2.5 * kg, device)  # fmt: skip


def test_precision_table_compares_each_precision_with_float32_of_the_same_model() -> None:
    rows = [
        row("gin", "dynamic-int8", 0.792, 3_000_000),  # 100 * (0.792 - 0.8) / 0.8 = -1 %; 3/10 of the size
        row("gin", "static-int8", None, None, supported=False, note="no int8 scatter kernels"),
        row("gin", "float32", 0.8, 10_000_000),
        row("gin", "float16", 0.8, 5_000_000),
        row("gin", "float32", 2.0, 8_000, name="rmse", dataset="freesolv"),
        row("gin", "bfloat16", 2.1, 4_000, name="rmse", dataset="freesolv"),  # RMSE up 5 %: -5 % (worse)
        row("gin", "float16", 0.81, 5_000_000, device="cuda"),  # no float32 on cuda: nothing to compare with
    ]
    table = precision_table(rows)
    got = [(t.row.dataset, t.row.device, t.row.precision) for t in table]
    assert got == [("b3db", "cpu", "float32"), ("b3db", "cpu", "float16"), ("b3db", "cpu", "dynamic-int8"),
                   ("b3db", "cpu", "static-int8"), ("b3db", "cuda", "float16"), ("freesolv", "cpu", "float32"),
                   ("freesolv", "cpu", "bfloat16")]  # fmt: skip
    f32, f16, dyn, static, cuda, rmse32, rmse16 = table
    assert (f32.metric_change_pct, f32.size_ratio) == (0.0, 1.0)
    assert (f16.metric_change_pct, f16.size_ratio) == pytest.approx((0.0, 0.5))
    assert (dyn.metric_change_pct, dyn.size_ratio) == pytest.approx((-1.0, 0.3))
    assert math.isnan(static.metric_change_pct) and math.isnan(static.size_ratio)
    assert cuda.reference is None and math.isnan(cuda.metric_change_pct)
    assert rmse32.metric_change_pct == 0.0 and rmse16.metric_change_pct == pytest.approx(-5.0)
    assert rmse16.size_ratio == pytest.approx(0.5)


def test_break_even_at_each_measured_precision() -> None:
    rows = [  # the runs' GIN has 4,481 parameters (derived.model.parameters)
        row("gin", "float32", 0.8, 18_000, kg=2e-6, parameters=4481),
        row("gin", "dynamic-int8", 0.79, 6_000, kg=1e-6, parameters=4000),  # packed weights: its float32's count
        row("gin", "static-int8", None, None, supported=False, note="no int8 scatter kernels"),
        row("gin", "float32", 0.8, 18_000, kg=4e-6, parameters=4481, dataset="bace"),  # no GIN run on BACE
        row("gin", "float32", 0.8, 4_000_000, kg=1e-7, parameters=1_000_000, device="cuda"),  # another GIN size
    ]
    a = analyze([RUN_A, RUN_B, RUN_C, RUN_D], [PatienceConfig(patience=1)], grid=[], precision_rows=rows)
    got = {(m.strategy, m.precision): m.molecules for m in a.break_even_measured}
    # live rule: 2e-6 kg saved / (2e-6 / 1000) = 1,000 molecules at float32, / (1e-6 / 1000) = 2,000 at int8;
    # patience 1: 0.5e-6 kg -> 250 and 500. FreeSolv's live rule saved nothing; static int8 is not supported.
    live = f"live rule {LIVE}"
    expected = {(live, "float32"): 1000.0, (live, "dynamic-int8"): 2000.0,
                (PATIENCE_1, "float32"): 250.0, (PATIENCE_1, "dynamic-int8"): 500.0}  # fmt: skip
    assert got == pytest.approx(expected)
    page = render_markdown(a)
    assert "## Break-even at the measured precisions" in page
    assert "| dynamic-int8 | cpu | 2e-06 | 1e-06 | 2,000 |" in page


def test_the_shipped_fixture_reads_and_renders_in_the_report() -> None:
    rows = read_precision_tables([FIXTURE])
    assert {(r.family, r.precision) for r in rows} >= {("gin", "dynamic-int8"), ("smiles-transformer", "float16")}
    page = render_markdown(analyze([RUN_A], grid=[], precision_rows=rows))
    assert "## Precision trade-off" in page
    # GIN's bfloat16: 100 * (0.8712 - 0.88) / 0.88 = -1.00 %; dynamic int8: 2.25 MB / 7.5 MB = 0.30
    assert "| gin | b3db | cpu | bfloat16 | yes | roc_auc 0.8712 | -1.00 | 3,750.0 | 0.50× |" in page
    assert "| gin | b3db | cpu | dynamic-int8 | yes | roc_auc 0.8756 | -0.50 | 2,250.0 | 0.30× |" in page
    assert "| smiles-transformer | b3db | cpu | static-int8 | no: static int8" in page


GOOD = json.loads(precision_rows_to_json([row("gin", "float32", 0.8, 1)]))[0]
BAD_ENTRIES = [
    ({"family": "gin"}, "missing"),
    ({**GOOD, "metric": "0.8"}, "'metric'"),
    ({**GOOD, "file_bytes": -5}, "'file_bytes'"),
    ({**GOOD, "precision": "int4"}, "int4"),
    ({**GOOD, "colour": "red"}, "not a precision row"),
]


@pytest.mark.parametrize(("entry", "what"), BAD_ENTRIES)
def test_a_bad_entry_is_named_with_its_file(tmp_path: Path, entry: dict[str, Any], what: str) -> None:
    path = tmp_path / "table.json"
    path.write_text(json.dumps([GOOD, entry]))  # the second entry (index 1) is wrong
    with pytest.raises(PrecisionTableError) as err:
        read_precision_tables([FIXTURE, path])
    assert str(path) in str(err.value) and "entry 1" in str(err.value) and what in str(err.value)


def test_analyze_refuses_a_bad_precision_table_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    for text, expected in (("{not json", "precision table"), ('{"rows": []}', "JSON list"), (None, "not found")):
        path = tmp_path / "bad.json"
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text)
        args = ["analyze", "--source", str(tmp_path), "--out", str(tmp_path / "r"), "--precision-table", str(path)]
        result = runner.invoke(app, args, env={"COLUMNS": "300"})
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0] and expected in lines[0]
