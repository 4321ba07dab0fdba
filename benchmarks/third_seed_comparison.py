"""The third seed's models side by side (issue 16 item 5): quality, epochs, fine-tune kg and amortised pretraining kg.

Arms (registry names): ``ecfp-mlm`` (RoBERTa over ECFP words, byte-level BPE), the dual-view encoders
``dual-view-seq`` / ``dual-view-graph`` / ``dual-view-both`` (RoBERTa + MolCLR GIN pretrained together with MLM,
NT-Xent and the consistency loss), ``graphormer`` (random init: no pretraining recipe), and the existing
``smiles-mlm`` and ``gin-contrastive``. Datasets BBBP, BACE, ESOL and Lipophilicity on the deterministic scaffold
split (80/10/10), seeds vary initialisation and batch order only. Every arm runs in greenft's shadow mode with the
exact AN-GES rule (benchmarks/comparison_common.py), so one run gives the test metric at the best-validation epoch,
at the AN-GES stop and at the full budget, with the kg CO2-eq to each.

Pretraining. Each pretrained arm starts from a checkpoint this script makes first with greenft's own
``pretrain()`` (the ``greenft pretrain NAME`` code path) in ``OUT/pretrain/NAME`` (resumable; a finished one is
reused), on ``--pretrain-corpus`` MOSES molecules, ``--pretrain-epochs`` passes, preset ``--preset``. Its kg (the
checkpoint's CodeCarbon record, all sessions) is reported beside the fine-tunes and *amortised*: divided by the
number of fine-tunes in the table that start from it (the dual-view checkpoint serves three arms).

Two settings:

* CPU (this 2-core machine, the default): ``--preset cpu`` (3 x 128 encoders), corpus 10,000, 1 epoch; every
  dataset sampled to ``--limit`` 800 molecules, 10 epochs, one thread, arms run one after another so CodeCarbon's
  load-based CPU estimate is not shared between concurrent runs.
* GPU (the command, for a GPU box): ``--preset gpu --pretrain-corpus 250000 --pretrain-epochs 10 --limit 0
  --epochs 30 --device cuda`` (full datasets, the thesis's and papers' encoder sizes).

Usage::

    python benchmarks/third_seed_comparison.py                          # the CPU setting, everything
    python benchmarks/third_seed_comparison.py --only graphormer smiles-mlm --seeds 0
    python benchmarks/third_seed_comparison.py --report-only
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import math
import multiprocessing
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from comparison_common import append_run, finished_groups, markdown_table, mean_sd, num, read_runs, shadow_row

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "third_seed"
DATASETS = ["bbbp", "bace", "esol", "lipo"]


@dataclass(frozen=True)
class Arm:
    """A table row: a registry model, the pretraining recipe its checkpoint comes from (None: random init)."""

    label: str
    model: str
    recipe: str | None
    note: str = ""


ARMS: list[Arm] = [
    Arm("ecfp-mlm", "ecfp-mlm", "ecfp-mlm", "RoBERTa over ECFP words (radius 2), byte-level BPE, MLM"),
    Arm("dual-view-seq", "dual-view-seq", "dual-view", "dual-view pretraining, the sequence (RoBERTa) encoder"),
    Arm("dual-view-graph", "dual-view-graph", "dual-view", "dual-view pretraining, the graph (GIN) encoder"),
    Arm("dual-view-both", "dual-view-both", "dual-view", "dual-view pretraining, both encoders concatenated"),
    Arm("graphormer", "graphormer", None, "graph transformer, random init (no pretraining recipe)"),
    Arm("smiles-mlm", "smiles-mlm", "smiles-mlm", "RoBERTa over SMILES tokens, MLM (existing)"),
    Arm("gin-contrastive", "gin-contrastive", "gin-contrastive", "MolCLR-style GIN, NT-Xent (existing)"),
]


def pretrain_dir(out: Path, recipe: str) -> Path:
    return out / "pretrain" / recipe


def run_pretraining(recipe: str, args: argparse.Namespace) -> dict[str, Any]:
    """Make (or reuse) the checkpoint of ``recipe``; its record: kg, kWh, duration, steps, corpus, load."""
    from greenft.pretrain.runner import STATE_FILE, pretrain

    run_dir = pretrain_dir(args.out, recipe)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = pretrain(
        recipe,
        run_dir,
        resume=(run_dir / STATE_FILE).is_file(),
        preset=args.preset,
        corpus_size=args.pretrain_corpus,
        epochs=args.pretrain_epochs,
        threads=args.threads,
        meter=args.meter,
        country_iso_code="USA",
        **args.pretrain_set,
    )
    provenance = result.provenance
    return {
        "recipe": recipe,
        "checkpoint": str(result.checkpoint),
        "steps": provenance.get("steps"),
        "epochs": provenance.get("epochs"),
        "corpus_size": args.pretrain_corpus,
        "preset": args.preset,
        "emissions_kg": result.emissions.emissions_kg,
        "energy_kwh": result.emissions.energy_kwh,
        "duration_s": result.emissions.duration_s,
        "final_loss": provenance.get("final_loss"),
        "wall_s": round(time.perf_counter() - started, 1),
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "already_finished": result.already_finished,
    }


def trial_dict(dataset: str, arm: Arm, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    model: dict[str, Any] = {"name": arm.model}
    if arm.recipe is not None:
        model["checkpoint"] = str(pretrain_dir(args.out, arm.recipe))
    return {
        "seed": seed,
        "device": args.device,
        "threads": args.threads,
        "data": {"dataset": dataset, "split": "scaffold", "limit": args.limit or None},
        "model": model,
        "optim": {"max_epochs": args.epochs},
        "mode": "shadow",
        "stopping": {"rule": "anges"},
        "tracking": {"meter": args.meter, "country_iso_code": "USA"},
        "logging": {"wandb_mode": "disabled", "runs_dir": str(args.out / "runs"), "system_metrics": False},
        "save_models": "none",
    }


def timed_row(dataset: str, arm: Arm, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    row = shadow_row(trial_dict(dataset, arm, seed, args), "third-seed comparison")
    row["time_s"] = round(time.perf_counter() - started, 1)
    return row


def summarise(
    runs: list[dict[str, Any]], pretrainings: dict[str, dict[str, Any]], datasets: list[str]
) -> list[dict[str, str]]:
    """One row per dataset x arm (mean ± sd over seeds) with fine-tune kg and the amortised pretraining kg."""
    groups = finished_groups(runs)
    uses: dict[str, int] = {}
    for (_, label), group in groups.items():
        recipe = next((a.recipe for a in ARMS if a.label == label), None)
        if recipe is not None:
            uses[recipe] = uses.get(recipe, 0) + len(group)
    rows = []
    for dataset in datasets:
        for arm in ARMS:
            group = groups.get((dataset, arm.label))
            if not group:
                continue
            metric = group[0]["metric"]
            scale, digits = (100.0, 1) if metric == "roc_auc" else (1.0, 3)
            best, _, _ = mean_sd([num(r["best_test"]) for r in group], scale, digits)
            stop, _, _ = mean_sd([num(r.get("anges_test")) for r in group], scale, digits)
            full, _, _ = mean_sd([num(r.get("full_test")) for r in group], scale, digits)
            fired = [e for e in (num(r.get("anges_epoch")) for r in group) if math.isfinite(e)]
            best_epochs = [num(r.get("best_epoch")) for r in group]
            full_kg = statistics.fmean(num(r["full_kg"]) for r in group)
            stop_kg = [num(r.get("anges_kg")) for r in group]
            per_epoch = [num(r.get("s_per_epoch")) for r in group]
            loads = [num(r.get("load_before")) for r in group] + [num(r.get("load_after")) for r in group]
            record = pretrainings.get(arm.recipe or "")
            if arm.recipe is None:
                pre, amortised = "none", "0"
            elif record is None:
                pre, amortised = "?", "?"
            else:
                pre = f"{record['emissions_kg']:.2e}"
                amortised = f"{record['emissions_kg'] / uses[arm.recipe]:.2e} (/{uses[arm.recipe]})"
            rows.append(
                {
                    "dataset": dataset,
                    "model": arm.label,
                    "metric": "ROC-AUC (%)" if metric == "roc_auc" else metric.upper(),
                    "seeds": str(len(group)),
                    "test @ best val": best,
                    "test @ AN-GES stop": stop,
                    "test @ full": full,
                    "best-val epoch": f"{statistics.fmean(best_epochs):.1f}",
                    "AN-GES epoch": (f"{statistics.fmean(fired):.1f}" if fired else "never")
                    + (f" ({len(fired)}/{len(group)})" if 0 < len(fired) < len(group) else ""),
                    "epochs": str(group[0]["epochs"]),
                    "fine-tune kg full": f"{full_kg:.2e}",
                    "fine-tune kg @ stop": f"{statistics.fmean(stop_kg):.2e}"
                    if all(map(math.isfinite, stop_kg))
                    else "–",
                    "pretraining kg": pre,
                    "amortised kg / fine-tune": amortised,
                    "s/epoch": f"{statistics.fmean(per_epoch):.2f}" if all(map(math.isfinite, per_epoch)) else "–",
                    "load avg": f"{min(loads):.1f}–{max(loads):.1f}",
                }
            )
    return rows


def pretraining_rows(pretrainings: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "recipe": name,
            "preset": str(r["preset"]),
            "corpus": f"{r['corpus_size']:,} MOSES",
            "steps": str(r["steps"]),
            "final loss": f"{num(r['final_loss']):.3f}",
            "kg CO2-eq": f"{r['emissions_kg']:.2e}",
            "kWh": f"{r['energy_kwh']:.2e}",
            "metered min": f"{r['duration_s'] / 60:.1f}",
            "load avg": f"{r['load_before']:.1f}–{r['load_after']:.1f}",
        }
        for name, r in sorted(pretrainings.items())
    ]


def write_table(
    out: Path,
    runs: list[dict[str, Any]],
    pretrainings: dict[str, dict[str, Any]],
    settings: dict[str, Any],
    datasets: list[str],
) -> str:
    lines = [f"Settings: `{json.dumps(settings, sort_keys=True)}`", "", "Pretraining (one checkpoint per recipe):", ""]
    lines += markdown_table(pretraining_rows(pretrainings))
    lines += ["", "Fine-tuning (shadow mode, exact AN-GES; test metric mean ± sd over seeds):", ""]
    lines += markdown_table(summarise(runs, pretrainings, datasets))
    lines += ["", *[f"- `{arm.label}`: {arm.note}" for arm in ARMS]]
    text = "\n".join(lines) + "\n"
    from greenft.io import atomic_write_text

    atomic_write_text(out / "table.md", text)
    return text


def latest_pretrainings(path: Path) -> dict[str, dict[str, Any]]:
    return {r["recipe"]: r for r in read_runs(path)}


def _setting(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"--pretrain-set {item!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10, help="fine-tuning epoch budget (default 10)")
    parser.add_argument("--limit", type=int, default=800, help="sample each dataset to N molecules (0: all)")
    parser.add_argument("--preset", choices=["cpu", "gpu"], default="cpu", help="pretraining sizes")
    parser.add_argument("--pretrain-corpus", type=int, default=10_000)
    parser.add_argument("--pretrain-epochs", type=int, default=1)
    parser.add_argument(
        "--pretrain-set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="more pretraining settings (JSON values), e.g. num_layers=1 corpus_file=my.smi (tests, small runs)",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes (default 1: one at a time)")
    parser.add_argument("--meter", default="codecarbon", choices=["codecarbon", "wallclock"])
    parser.add_argument("--only", nargs="+", help="arm labels to run (default: all)")
    parser.add_argument("--report-only", action="store_true", help="rewrite table.md from the JSON-lines files")
    args = parser.parse_args(argv)
    args.pretrain_set = dict(_setting(item) for item in args.pretrain_set)
    known = {arm.label for arm in ARMS}
    unknown = sorted(set(args.only or []) - known)
    if unknown:
        raise SystemExit(f"--only {unknown}: not arms of this comparison; known: {sorted(known)}")
    todo = [arm for arm in ARMS if not args.only or arm.label in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {
        "epochs": args.epochs,
        "limit": args.limit or None,
        "split": "scaffold 80/10/10",
        "stopping": "AN-GES (exact, greenft defaults), shadow mode",
        "pretraining": {
            "preset": args.preset,
            "corpus": args.pretrain_corpus,
            "epochs": args.pretrain_epochs,
            **args.pretrain_set,
        },
        "device": args.device,
        "threads": args.threads,
        "jobs": args.jobs,
        "meter": args.meter,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    runs_file, pretrain_file = args.out / "runs.jsonl", args.out / "pretraining.jsonl"
    if not args.report_only:
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore")
        recipes = sorted(
            {arm.recipe for arm in todo if arm.recipe is not None} - set(latest_pretrainings(pretrain_file))
        )
        tasks = [
            (dataset, arm, seed)
            for seed in args.seeds  # seed-major: every row gets a first seed before any gets a second
            for dataset in args.datasets
            for arm in todo
        ]
        done = {(r["dataset"], r["arm"], int(r["seed"])) for r in read_runs(runs_file)}
        tasks = [(d, a, s) for d, a, s in tasks if (d, a.label, s) not in done]

        def record(dataset: str, arm: Arm, seed: int, row: dict[str, Any]) -> None:
            append_run(runs_file, {"dataset": dataset, "seed": seed, "settings": settings, "arm": arm.label, **row})
            write_table(args.out, read_runs(runs_file), latest_pretrainings(pretrain_file), settings, args.datasets)

        if args.jobs == 1:
            for recipe in recipes:
                print(f"pretraining {recipe} ...", file=sys.stderr, flush=True)
                append_run(pretrain_file, run_pretraining(recipe, args))
            for dataset, arm, seed in tasks:
                print(f"{dataset} {arm.label} seed {seed} ...", file=sys.stderr, flush=True)
                record(dataset, arm, seed, timed_row(dataset, arm, seed, args))
        else:
            # Parallel processes (a many-core box): CodeCarbon measures each process's own CPU share
            # (tracking_mode="process"); a shared GPU's power is not split between processes, so use --jobs 1
            # where the GPU does the work.
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
                for future in concurrent.futures.as_completed([pool.submit(run_pretraining, r, args) for r in recipes]):
                    append_run(pretrain_file, future.result())
                    print(f"pretrained {future.result()['recipe']}", file=sys.stderr, flush=True)
                futures = {pool.submit(timed_row, d, a, s, args): (d, a, s) for d, a, s in tasks}
                for future in concurrent.futures.as_completed(futures):
                    dataset, arm, seed = futures[future]
                    try:
                        row = future.result()
                    except Exception as err:  # one failed run is a row saying so, not the end of the grid
                        row = {"status": f"failed: {type(err).__name__}: {str(err).splitlines()[0][:300]}"}
                    print(f"{dataset} {arm.label} seed {seed}: {row['status']}", file=sys.stderr, flush=True)
                    record(dataset, arm, seed, row)
    text = write_table(args.out, read_runs(runs_file), latest_pretrainings(pretrain_file), settings, args.datasets)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
