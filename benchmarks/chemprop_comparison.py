"""chemprop's D-MPNN vs greenft's graph models, the 1D model and the cheap baselines, at an equal epoch budget.

Two grids, each datasets x arms x seeds on the deterministic scaffold split (80/10/10), so seeds vary the
initialisation and batch order only:

* ``--grid comparison`` (default): BBBP, BACE, ClinTox, ESOL, FreeSolv, Lipophilicity; arms ``chemprop-dmpnn``
  (chemprop's D-MPNN inside greenft's loop, chemprop's defaults), ``gin`` (greenft's default 2D model, all
  defaults), ``gin-rich`` (the fix, docs/chemprop_comparison.md), ``gcn-hu2020-d0`` (the best pretrained 2D model
  of benchmarks/results/reproduction-cpu: Hu et al.'s GCN, dropout 0), ``smiles-transformer`` (the 1D family:
  ~13x slower per epoch than GIN, so 1 seed, marked in the table) and the baselines of
  ``greenft baseline`` (Morgan + random forest, Morgan + ridge/logistic, prior), each with its CO2.
* ``--grid ablation``: ESOL and ClinTox, one factor at a time from ``gin``'s defaults towards ``gin-rich``
  (pooling, dropout, width, lr schedule, features, readout, head).

Every trained arm runs in greenft's *shadow* mode with the exact AN-GES rule: the full budget trains and the rule
records where it would have stopped (a replay, costless), so one run gives the test metric at the best validation
epoch, at the AN-GES stop and at the full budget, with the kg CO2-eq spent to reach each. Rows are appended to
``runs.jsonl`` in ``--out`` run by run; a rerun skips what is there (resumable), and ``table.md`` is rewritten
after every run, with the machine's load average beside it.

Usage::

    python benchmarks/chemprop_comparison.py --only gin gin-rich          # some arms
    python benchmarks/chemprop_comparison.py --grid ablation --out benchmarks/results/gin_vs_dmpnn/ablation
    python benchmarks/chemprop_comparison.py --report-only
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from comparison_common import append_run, finished_groups, markdown_table, mean_sd, num, read_runs, shadow_row

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "gin_vs_dmpnn"
CHECKPOINTS = REPO.parent / "shared" / "checkpoints"
DATASETS = ["bbbp", "bace", "clintox", "esol", "freesolv-moleculenet", "lipo"]
ABLATION_DATASETS = ["esol", "clintox"]
LIMITS = {"lipo": 1500}  # Lipophilicity sampled (4,200 -> 1,500) to fit a 2-core CPU budget, as the reproduction
BASELINES = ("morgan-rf", "morgan-linear", "prior")


@dataclass(frozen=True)
class Arm:
    """One row of the table: a greenft model (``model``/``optim`` overrides of the trial config) or a baseline."""

    label: str
    model: dict[str, Any] = field(default_factory=dict)
    optim: dict[str, Any] = field(default_factory=dict)
    epochs_fraction: float = 1.0  # of --epochs (the 1D arm trains fewer)
    max_seeds: int | None = None  # None: every seed
    baseline: bool = False
    note: str = ""


def comparison_arms() -> list[Arm]:
    return [
        Arm("chemprop-dmpnn", {"name": "chemprop-dmpnn"}, note="chemprop's defaults"),
        Arm("gin", {"name": "gin"}, note="greenft default: Hu et al. layout, 3 x 128, mean pooling, linear head"),
        Arm("gin-rich", {"name": "gin-rich"}, note="the fix: gin's layers on chemprop-like atom and bond features"),
        Arm(
            "gcn-hu2020-d0",
            {"name": "gcn", "checkpoint": str(CHECKPOINTS / "hu2020_gcn_contextpred.pth"), "dropout": 0.0},
            note="best pretrained 2D (reproduction-cpu): Hu et al. GCN context-pred, 5 x 300, dropout 0",
        ),
        Arm(
            "smiles-transformer",
            {"name": "smiles-transformer"},
            max_seeds=1,
            note="1D family, random init (no MLM checkpoint offline); 1 seed (seed 0): ~13x GIN's cost per epoch",
        ),
        *[Arm(name, baseline=True, note="greenft baseline") for name in BASELINES],
    ]


def ablation_arms() -> list[Arm]:
    """One factor at a time from gin's defaults (3 x 128, dropout 0.1, mean pooling, linear head, Adam 1e-3
    constant, batch 64, standardised regression targets: chemprop scales targets too, so that is no factor)."""
    return [
        Arm("gin", {"name": "gin"}),
        Arm("gin sum-pool", {"name": "gin", "pooling": "sum"}),
        Arm("gin dropout 0", {"name": "gin", "dropout": 0.0}),
        Arm("gin noam", {"name": "gin"}, {"lr_schedule": "noam"}),
        Arm("rich mean linear", {"name": "gin-rich"}, note="chemprop-like features only: the registry's gin-rich"),
        Arm("rich sum+mean linear", {"name": "gin-rich-summean-linear"}, note="+ sum+mean readout"),
        Arm("rich sum+mean mlp", {"name": "gin-rich-summean-mlp"}, note="+ MLP head (chemprop's FFN shape)"),
        Arm("rich mean linear noam", {"name": "gin-rich"}, {"lr_schedule": "noam"}),
        Arm("rich mean linear dropout 0", {"name": "gin-rich", "dropout": 0.0}),
        Arm("gin 3 x 300", {"name": "gin", "emb_dim": 300}),
    ]


def register_ablation_families() -> None:
    """The ablation's intermediate steps, registered for this process only (not registry names)."""
    from greenft.models.gin_rich import RichGraphFamily
    from greenft.models.registry import register_family

    register_family(RichGraphFamily("gin-rich-summean-linear", "linear", "ablation: + sum+mean", "sum+mean"))
    register_family(RichGraphFamily("gin-rich-summean-mlp", "mlp", "ablation: + MLP head", "sum+mean"))


def trial_dict(dataset: str, arm: Arm, seed: int, epochs: int, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "seed": seed,
        "device": "cpu",
        "threads": args.threads,
        "data": {"dataset": dataset, "split": "scaffold", "limit": args.limit or LIMITS.get(dataset)},
        "model": dict(arm.model),
        "optim": {"max_epochs": epochs, **arm.optim},
        "mode": "shadow",
        "stopping": {"rule": "anges"},
        "tracking": {"meter": args.meter, "country_iso_code": "USA"},
        "logging": {"wandb_mode": "disabled", "runs_dir": str(args.out / "runs"), "system_metrics": False},
        "save_models": "none",
    }


def train_row(dataset: str, arm: Arm, seed: int, epochs: int, args: argparse.Namespace) -> dict[str, Any]:
    return shadow_row(trial_dict(dataset, arm, seed, epochs, args), "chemprop comparison")


def baseline_rows(dataset: str, seed: int, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """All three baselines in one process call (one fingerprinting of the data each, as ``greenft baseline``)."""
    from greenft.agents.baselines import load_split, run_baselines
    from greenft.agents.config import parse_trial_config

    config = parse_trial_config(trial_dict(dataset, Arm("baseline"), seed, 1, args), "chemprop comparison")
    load = os.getloadavg()[0]
    molecules, split = load_split(config)
    report = run_baselines(config, molecules, split)
    after = os.getloadavg()[0]
    return {
        row.baseline: {
            "status": "finished",
            "metric": report.metric,
            "epochs": None,
            "best_test": row.test_metric,
            "full_test": row.test_metric,
            "full_kg": row.fit_emissions_kg + row.predict_emissions_kg,
            "s_per_epoch": None,
            "time_s": row.fit_duration_s + row.predict_duration_s,
            "load_before": load,
            "load_after": after,
        }
        for row in report.rows
    }


def summarise(runs: list[dict[str, Any]], arms: list[Arm], datasets: list[str]) -> list[dict[str, str]]:
    """One row per dataset x arm: test at best val / at the AN-GES stop (mean ± sd over seeds), kg, s/epoch."""
    groups = finished_groups(runs)
    rows = []
    for dataset in datasets:
        for arm in arms:
            group = groups.get((dataset, arm.label))
            if not group:
                continue
            metric = group[0]["metric"]
            scale, digits = (100.0, 1) if metric == "roc_auc" else (1.0, 3)
            best, _, _ = mean_sd([num(r["best_test"]) for r in group], scale, digits)
            stop, _, _ = mean_sd([num(r.get("anges_test")) for r in group], scale, digits)
            epochs = [num(r.get("anges_epoch")) for r in group]
            fired = [e for e in epochs if math.isfinite(e)]
            full_kg = statistics.fmean(num(r["full_kg"]) for r in group)
            stop_kg = [num(r.get("anges_kg")) for r in group]
            per_epoch = [num(r.get("s_per_epoch")) for r in group]
            loads = [num(r.get("load_before")) for r in group] + [num(r.get("load_after")) for r in group]
            rows.append(
                {
                    "dataset": dataset,
                    "model": arm.label,
                    "metric": "ROC-AUC (%)" if metric == "roc_auc" else metric.upper(),
                    "seeds": str(len(group)),
                    "epochs": str(group[0]["epochs"]) if group[0].get("epochs") else "–",
                    "test @ best val": best,
                    "test @ AN-GES stop": stop if not arm.baseline else "–",
                    "AN-GES epoch": (f"{statistics.fmean(fired):.1f}" if fired else "never")
                    + (f" ({len(fired)}/{len(group)})" if 0 < len(fired) < len(group) else "")
                    if not arm.baseline
                    else "–",
                    "kg CO2 full": f"{full_kg:.2e}",
                    "kg CO2 @ stop": f"{statistics.fmean(stop_kg):.2e}" if all(map(math.isfinite, stop_kg)) else "–",
                    "s/epoch": f"{statistics.fmean(per_epoch):.2f}" if all(map(math.isfinite, per_epoch)) else "–",
                    "load avg": f"{min(loads):.1f}–{max(loads):.1f}",
                }
            )
    return rows


REFERENCE = "chemprop-dmpnn"


def verdicts(runs: list[dict[str, Any]], arms: list[Arm], datasets: list[str]) -> list[str]:
    """Each arm against ``chemprop-dmpnn`` per dataset: test at best val within noise (|mean difference| <= the
    larger seed sd), better or worse beyond it, and its full-budget kg CO2 as a multiple of chemprop's."""
    finished = finished_groups(runs)
    lines = []
    for dataset in datasets:
        reference = finished.get((dataset, REFERENCE), [])
        if not reference:
            continue
        higher = reference[0]["metric"] == "roc_auc"
        ref = [num(r["best_test"]) for r in reference]
        ref_kg = statistics.fmean(num(r["full_kg"]) for r in reference)
        for arm in arms:
            group = finished.get((dataset, arm.label), [])
            if arm.label == REFERENCE or not group:
                continue
            values = [num(r["best_test"]) for r in group]
            diff = statistics.fmean(values) - statistics.fmean(ref)
            noise = max(statistics.stdev(v) if len(v) > 1 else 0.0 for v in (values, ref))
            if min(len(values), len(ref)) < 2:
                verdict = "one seed: not decidable"
            elif abs(diff) <= noise:
                verdict = "within noise"
            else:
                verdict = "better" if (diff > 0) == higher else "WORSE"
            kg = statistics.fmean(num(r["full_kg"]) for r in group)
            lines.append(
                f"- {dataset} `{arm.label}` vs `{REFERENCE}`: {verdict} (difference {diff:+.3f}, noise {noise:.3f}, "
                f"seeds {len(values)}/{len(ref)}); kg CO2 {kg / ref_kg:.2f}x chemprop's"
            )
    return lines


def write_table(
    out: Path,
    rows: list[dict[str, str]],
    settings: dict[str, Any],
    arms: list[Arm],
    verdict_lines: list[str] | None = None,
) -> str:
    lines = [f"Settings: `{json.dumps(settings, sort_keys=True)}`", ""]
    lines += markdown_table(rows)
    notes = [f"- `{arm.label}`: {arm.note}" for arm in arms if arm.note]
    lines += ["", *notes] if notes else []
    if verdict_lines:
        lines += [
            "",
            "Against chemprop-dmpnn (test at best val; within noise: |difference| <= the larger seed sd):",
            "",
        ]
        lines += verdict_lines
    text = "\n".join(lines) + "\n"
    from greenft.io import atomic_write_text

    atomic_write_text(out / "table.md", text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", choices=["comparison", "ablation"], default="comparison")
    parser.add_argument("--out", type=Path, help=f"results folder (default {OUT} or {OUT}/ablation)")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15, help="epoch budget of the graph models (default 15)")
    parser.add_argument("--limit", type=int, help="sample every dataset to N molecules (quick checks)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--meter", default="codecarbon", choices=["codecarbon", "wallclock"])
    parser.add_argument("--only", nargs="+", help="labels of the arms to run (default: all)")
    parser.add_argument("--report-only", action="store_true", help="rewrite table.md from runs.jsonl")
    args = parser.parse_args(argv)
    ablation = args.grid == "ablation"
    args.out = args.out or (OUT / "ablation" if ablation else OUT)
    datasets = args.datasets or (ABLATION_DATASETS if ablation else DATASETS)
    arms = ablation_arms() if ablation else comparison_arms()
    known = {arm.label for arm in arms}
    unknown = sorted(set(args.only or []) - known)
    if unknown:
        raise SystemExit(f"--only {unknown}: not arms of the {args.grid} grid; known: {sorted(known)}")
    todo = [arm for arm in arms if not args.only or arm.label in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {
        "grid": args.grid,
        "epochs": args.epochs,
        "limit": args.limit,
        "limits": {} if args.limit else LIMITS,
        "split": "scaffold 80/10/10",
        "stopping": "AN-GES (exact, greenft defaults), shadow mode",
        "threads": args.threads,
        "meter": args.meter,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    runs_file = args.out / "runs.jsonl"
    if not args.report_only:
        if ablation:
            register_ablation_families()
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore")
        for seed in args.seeds:  # seed-major: every row gets a first seed before any gets a second
            for dataset in datasets:
                for arm in todo:
                    if arm.max_seeds is not None and args.seeds.index(seed) >= arm.max_seeds:
                        continue
                    done = {(r["dataset"], r["arm"], int(r["seed"])) for r in read_runs(runs_file)}
                    if (dataset, arm.label, seed) in done:
                        continue
                    epochs = max(1, round(args.epochs * arm.epochs_fraction))
                    print(f"{dataset} {arm.label} seed {seed} ({epochs} epochs) ...", file=sys.stderr, flush=True)
                    started = time.perf_counter()
                    base = {"dataset": dataset, "seed": seed, "settings": settings}
                    if arm.baseline:
                        for name, row in baseline_rows(dataset, seed, args).items():
                            if (dataset, name, seed) not in done:
                                append_run(runs_file, {**base, "arm": name, **row})
                        done |= {(dataset, name, seed) for name in BASELINES}
                    else:
                        row = train_row(dataset, arm, seed, epochs, args)
                        row["time_s"] = round(time.perf_counter() - started, 1)
                        append_run(runs_file, {**base, "arm": arm.label, **row})
                    write_table(args.out, summarise(read_runs(runs_file), arms, datasets), settings, arms)
    runs = read_runs(runs_file)
    print(write_table(args.out, summarise(runs, arms, datasets), settings, arms, verdicts(runs, arms, datasets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
