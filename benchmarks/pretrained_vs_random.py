"""Pretrained vs random initialisation, both families, scaffold split, several seeds — measured, not assumed.

For every dataset x model x init x seed this runs one greenft trial in **shadow mode** (the full epoch
budget, with AN-GES and patience recorded where they would have stopped) and keeps:

* the test metric at the best-validation epoch, at AN-GES's stop, at patience's stop and at the full budget;
* the epochs at which AN-GES / patience stop and the best-validation epoch;
* the fine-tuning emissions (CodeCarbon, train + validation scope) to AN-GES's stop and to the full budget.

"pretrained" starts from the checkpoint ``greenft pretrain NAME`` wrote (default location); "random" is the
same registry model with ``model.random_init: true``: the checkpoint's architecture (and, for transformers,
vocabulary) with random weights, so the two arms differ only in the initial weights. The pretraining's own
cost (stored in the checkpoint) is reported beside the fine-tunes, amortised over the fine-tunes run here.

Results are appended to a JSON-lines file as each trial ends (an interrupted benchmark resumes where it
stopped: finished trials are skipped; two processes, one with ``--reverse``, may share the file: each trial
is claimed by one of them), and the Markdown report is written between markers in docs/pretraining.md; with
trials missing the report says PARTIAL and prints the command to complete it. A process killed outright
leaves its claim in ``<results>.claims/``: delete it to rerun that trial.

Usage::

    python benchmarks/pretrained_vs_random.py [--datasets bbbp esol] [--models gin-contrastive smiles-mlm]
        [--seeds 0 1 2] [--max-epochs 20] [--threads 1] [--results FILE] [--doc docs/pretraining.md]
        [--report-only]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from greenft.agents import parse_trial_config, run_trial
from greenft.models import get_family
from greenft.models.checkpoint_paths import default_checkpoint_dir
from greenft.models.pretrained_graph import ENCODER_FILE, PretrainedGraphFamily
from greenft.schema import CONFIG_FILE, METRIC_DIRECTIONS, Point, point_key, shadow_key
from greenft.schema.summary import (
    AT_EMISSIONS,
    AT_ENERGY,
    AT_EPOCH,
    AT_TEST,
    AT_TIME,
    SHADOW_EMISSIONS,
    SHADOW_STOP_EPOCH,
    SHADOW_TEST,
    TOTAL_EPOCHS,
)
from greenft.stopping import AnGesConfig, PatienceConfig, rule_label

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = ROOT / "benchmarks" / "results" / "pretrained_vs_random.jsonl"
DEFAULT_DOC = ROOT / "docs" / "pretraining.md"
BEGIN, END = "<!-- BEGIN pretrained_vs_random -->", "<!-- END pretrained_vs_random -->"
ANGES, PATIENCE = rule_label(AnGesConfig()), rule_label(PatienceConfig(patience=5))
INITS = ("pretrained", "random")
# Learning rates: greenft's GIN default, and a transformer rate (3e-4) that does not diverge at this size.
LR = {"graph": 1e-3, "sequence": 3e-4}


def family_kind(model: str) -> str:
    return "graph" if isinstance(get_family(model), PretrainedGraphFamily) else "sequence"


def checkpoint_provenance(model: str) -> dict[str, Any]:
    """The pretraining record of the default checkpoint of ``model`` (empty when there is none)."""
    directory = default_checkpoint_dir(model)
    meta = directory / "greenft_checkpoint.json"
    if not meta.is_file():
        return {}
    raw = json.loads(meta.read_text())
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    return {**raw.get("provenance", {}), "checkpoint_bytes": size, "checkpoint": str(directory)}


def trial_key(dataset: str, model: str, init: str, seed: int) -> str:
    return f"{dataset}|{model}|{init}|{seed}"


def run_one(dataset: str, model: str, init: str, seed: int, args: argparse.Namespace, runs_dir: Path) -> dict[str, Any]:
    config = parse_trial_config(
        {
            "seed": seed,
            "threads": args.threads,
            "data": {"dataset": dataset, "split": "scaffold"},
            "model": {"name": model, "random_init": init == "random"},
            "optim": {"max_epochs": args.max_epochs, "batch_size": 64, "lr": LR[family_kind(model)]},
            "mode": "shadow",
            "stopping": {"rule": "anges"},
            "shadow_rules": [{"rule": "anges"}, {"rule": "patience", "patience": 5}],
            "tracking": {"measure_power_secs": 5.0},
            "logging": {"wandb_mode": "disabled", "runs_dir": str(runs_dir), "system_metrics": False},
        },
        "pretrained_vs_random",
    )
    started = time.perf_counter()
    result = run_trial(config)
    s, m = result.summary, result.metric.value
    derived = json.loads((result.files_dir / CONFIG_FILE).read_text())["derived"]["model"]
    full = {field: s.get(point_key(Point.FULL, field, m)) for field in (AT_TEST, AT_EMISSIONS, AT_ENERGY, AT_TIME)}
    return {
        "key": trial_key(dataset, model, init, seed),
        "dataset": dataset,
        "model": model,
        "init": init,
        "seed": seed,
        "metric": m,
        "direction": METRIC_DIRECTIONS[m].value,
        "epochs": s.get(TOTAL_EPOCHS),
        "best_epoch": s.get(point_key(Point.BEST, AT_EPOCH)),
        "best_test": s.get(point_key(Point.BEST, AT_TEST, m)),
        "anges_stop_epoch": s.get(shadow_key(SHADOW_STOP_EPOCH, ANGES)),
        "anges_test": s.get(shadow_key(SHADOW_TEST, ANGES, m)),
        "anges_kg": s.get(shadow_key(SHADOW_EMISSIONS, ANGES)),
        "patience_stop_epoch": s.get(shadow_key(SHADOW_STOP_EPOCH, PATIENCE)),
        "patience_test": s.get(shadow_key(SHADOW_TEST, PATIENCE, m)),
        "full_test": full[AT_TEST],
        "full_kg": full[AT_EMISSIONS],
        "full_kwh": full[AT_ENERGY],
        "full_s": full[AT_TIME],
        "parameters": derived.get("parameters"),
        "init_logged": derived.get("init"),
        "wall_s": time.perf_counter() - started,
        "threads": args.threads,
        "load_average": round(os.getloadavg()[0], 2),
    }


def read_results(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------- report


def _stats(values: Iterable[Any]) -> tuple[float, float, int]:
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return float("nan"), float("nan"), 0
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0), len(xs)


def _fmt(values: Iterable[Any], spec: str = ".3f") -> str:
    mean, sd, n = _stats(values)
    if n == 0:
        return "–"
    return f"{mean:{spec}} ± {sd:{spec}}"


def _never_counted(values: Iterable[Any], budget: int) -> str:
    """Stop epochs; a rule that never fired counts as the full budget and is flagged."""
    items = list(values)
    never = sum(v is None for v in items)
    text = _fmt([budget if v is None else v for v in items], ".1f")
    return text + (f" ({never}× never)" if never else "")


def build_report(rows: list[dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    expected = {trial_key(d, m, i, s) for d in args.datasets for m in args.models for i in INITS for s in args.seeds}
    done = {r["key"] for r in rows} & expected
    rows = [r for r in rows if r["key"] in expected]
    partial = len(done) < len(expected)
    lines = []
    status = (
        f"**PARTIAL: {len(done)} of {len(expected)} trials.** Complete with `{command}`"
        if partial
        else f"{len(done)} trials ({len(args.datasets)} datasets x {len(args.models)} models x 2 inits x "
        f"{len(args.seeds)} seeds)"
    )
    lines.append(status)
    lines.append("")
    lines.append(
        f"Scaffold split, shadow mode, budget {args.max_epochs} epochs, seeds {args.seeds}, batch 64, "
        f"lr {LR['graph']:g} (graphs) / {LR['sequence']:g} (transformers), {args.threads} CPU thread(s). "
        "Test metric as mean ± sd over seeds at: the best-validation epoch, AN-GES's stop "
        f"(`{ANGES}`), patience's stop (`{PATIENCE}`), the full budget. kg = CodeCarbon kg CO2-eq of fine-tuning "
        "(train + validation), CPU power estimated from load on this machine."
    )
    lines.append("")
    header = (
        "| dataset | model | init | metric | test @ best val | test @ AN-GES stop | test @ patience stop | "
        "test @ full budget | AN-GES stop epoch | patience stop epoch | best-val epoch | kg to AN-GES stop | "
        "kg full budget | n |"
    )
    lines.append(header)
    lines.append("|---" * (header.count("|") - 1) + "|")
    for dataset in args.datasets:
        for model in args.models:
            for init in INITS:
                group = [r for r in rows if (r["dataset"], r["model"], r["init"]) == (dataset, model, init)]
                if not group:
                    lines.append(f"| {dataset} | {model} | {init} | – | not run yet |" + " |" * 8 + " 0 |")
                    continue
                metric = group[0]["metric"] + (" ↑" if group[0]["direction"] == "max" else " ↓")
                lines.append(
                    f"| {dataset} | {model} | {init} | {metric} | {_fmt(r['best_test'] for r in group)} | "
                    f"{_fmt(r['anges_test'] for r in group)} | {_fmt(r['patience_test'] for r in group)} | "
                    f"{_fmt(r['full_test'] for r in group)} | "
                    f"{_never_counted((r['anges_stop_epoch'] for r in group), args.max_epochs)} | "
                    f"{_never_counted((r['patience_stop_epoch'] for r in group), args.max_epochs)} | "
                    f"{_fmt((r['best_epoch'] for r in group), '.1f')} | "
                    f"{_fmt((r['anges_kg'] for r in group), '.2e')} | "
                    f"{_fmt((r['full_kg'] for r in group), '.2e')} | {len(group)} |"
                )
    lines.append("")
    lines.append("Pretraining cost and its amortisation over the fine-tunes above:")
    lines.append("")
    lines.append(
        "| checkpoint | steps | corpus | kg CO2-eq | kWh | minutes | size MB | fine-tunes here | "
        "amortised kg / fine-tune | pretraining ÷ mean full fine-tune |"
    )
    lines.append("|---" * 10 + "|")
    for model in args.models:
        p = checkpoint_provenance(model)
        runs = [r for r in rows if r["model"] == model and r["init"] == "pretrained"]
        if not p:
            lines.append(f"| {model} | no checkpoint |" + " |" * 8)
            continue
        kg = float(p.get("emissions_kg") or 0.0)
        mean_full = _stats(r["full_kg"] for r in runs)[0]
        corpus = p.get("corpus", {})
        lines.append(
            f"| {model} | {p.get('steps')} | {corpus.get('size', '?'):,} MOSES molecules | {kg:.2e} | "
            f"{float(p.get('energy_kwh') or 0):.2e} | {float(p.get('duration_s') or 0) / 60:.1f} | "
            f"{p['checkpoint_bytes'] / 1e6:.1f} | {len(runs)} | "
            f"{(kg / len(runs)) if runs else float('nan'):.2e} | "
            f"{(kg / mean_full) if runs and mean_full > 0 else float('nan'):.1f}× |"
        )
    lines.append("")
    shown = args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results
    lines.append(f"Raw per-trial records: `{shown}`.")
    return "\n".join(lines)


def write_report(doc: Path, report: str) -> None:
    text = doc.read_text() if doc.is_file() else f"{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{report}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["bbbp", "esol"])
    parser.add_argument("--models", nargs="+", default=["gin-contrastive", "smiles-mlm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from the results file")
    parser.add_argument(
        "--reverse", action="store_true", help="take trials in reverse order (a second process sharing the file)"
    )
    args = parser.parse_args()
    command = "python benchmarks/pretrained_vs_random.py " + " ".join(sys.argv[1:])
    for model in [] if args.report_only else args.models:
        where = default_checkpoint_dir(model)
        if not where.exists():
            parser.error(f"no checkpoint for {model} at {where}; run `greenft pretrain {model}`")
        if isinstance(get_family(model), PretrainedGraphFamily) and not (where / ENCODER_FILE).is_file():
            parser.error(f"{where} has no {ENCODER_FILE}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        runs_dir = Path(tempfile.mkdtemp(prefix="greenft-pvr-"))
        claims = args.results.with_name(args.results.name + ".claims")
        claims.mkdir(exist_ok=True)
        # Cheapest first (graphs, small datasets) so a time-boxed run still covers every arm of something.
        order = sorted(
            ((d, m, i, s) for d in args.datasets for m in args.models for s in args.seeds for i in INITS),
            key=lambda t: (family_kind(t[1]) != "graph", t[3], args.datasets.index(t[0]), t[1], t[2]),
        )
        if args.reverse:
            order.reverse()
        for dataset, model, init, seed in order:
            key = trial_key(dataset, model, init, seed)
            if key in {r["key"] for r in read_results(args.results)}:
                continue
            claim = claims / key.replace("|", "__")
            try:  # several processes may share one results file: each trial is claimed by exactly one
                os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            try:
                row = run_one(dataset, model, init, seed, args, runs_dir)
                with args.results.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
            finally:
                claim.unlink(missing_ok=True)
            print(
                f"{key}: best {row['best_test']:.3f} anges {row['anges_test']:.3f} (epoch {row['anges_stop_epoch']}) "
                f"full {row['full_test']:.3f}, {row['full_kg']:.2e} kg, {row['wall_s']:.0f} s",
                flush=True,
            )
            write_report(args.doc, build_report(read_results(args.results), args, command))
    report = build_report(read_results(args.results), args, command)
    write_report(args.doc, report)
    print(report)


if __name__ == "__main__":
    main()
