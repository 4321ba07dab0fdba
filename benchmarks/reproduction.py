"""Reproduction table: published pretrained GNNs vs random init on MoleculeNet, with per-epoch emissions.

The grid is datasets x models x seeds, every run in greenft's *shadow* mode: the full epoch budget is trained
while AN-GES (and patience) record where they would have stopped, so one run yields three numbers — the test
metric at the best validation epoch, at the AN-GES stop and at the full budget — with the kg CO2-eq spent to
reach each. Splits are the deterministic scaffold split (Hu et al. / MoleculeNet: scaffold sets by size,
80/10/10), so seeds vary the initialisation of the head (and of the whole model for random init) and the batch
order, as in both papers.

Models (each 5 layers x 300, mean pooling, a linear head):

* ``gin-random``   — greenft's GIN in Hu et al.'s layout, random init (the papers' "no pretraining" baseline);
* ``gcn-hu2020``   — Hu et al. 2020 GCN, context-prediction pretraining (``hu2020_gcn_contextpred.pth``);
* ``gcn-molclr``   — MolCLR GCN, contrastive pretraining (``molclr_gcn.pth``);
* anything given with ``--model LABEL=NAME[:CHECKPOINT][,dropout=P]`` (e.g. greenft's own pretrained encoders,
  or ``gcn-hu2020-d0=gcn:.../hu2020_gcn_contextpred.pth,dropout=0``: Hu et al.'s GCN barely trains at the
  paper's dropout 0.5 in a short budget, see docs/reproduction.md).

Presets: ``cpu`` finishes on a 2-core CPU (see ``PRESETS``: fewer epochs, a batch of 64, Lipophilicity
sampled to 1,500 molecules); ``paper`` is the papers' budget (100 epochs, batch 32, full datasets, 10 seeds)
for a GPU box. Results are appended run by run to ``runs.csv`` in the output folder (a rerun with the same
settings skips what is done, so an interrupted grid resumes), and ``table.md`` / ``table.csv`` are rewritten
after every run, so a partial grid always has a partial table.

Usage::

    python benchmarks/reproduction.py --preset cpu --out benchmarks/results/reproduction-cpu
    python benchmarks/reproduction.py --preset paper --device cuda --out results/reproduction-paper
    python benchmarks/reproduction.py --report-only --out benchmarks/results/reproduction-cpu
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenft.agents.config import parse_trial_config
from greenft.agents.trial import run_trial
from greenft.data import get_dataset_spec
from greenft.schema import SPLIT_FILE, Point, point_key, shadow_key, shadow_stop_epochs
from greenft.schema.summary import (
    AT_EMISSIONS,
    AT_EPOCH,
    AT_TEST,
    AT_VAL,
    METER,
    SHADOW_STOP_EPOCH,
    SHADOW_TEST,
    STOP_TRIGGERED,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINTS = REPO.parent / "shared" / "checkpoints"
DATASETS = ["bbbp", "bace", "clintox", "esol", "freesolv-moleculenet", "lipo"]

PRESETS: dict[str, dict[str, Any]] = {
    # 2-core CPU: ~1 h for the 6 x 3 x 3 grid when the machine is otherwise idle
    "cpu": {"max_epochs": 15, "batch_size": 64, "seeds": [0, 1, 2], "limits": {"lipo": 1500}, "threads": 1},
    # the papers' fine-tuning budget (Hu et al.: 100 epochs, batch 32, 10 seeds; MolCLR: 100 epochs, batch 32)
    "paper": {"max_epochs": 100, "batch_size": 32, "seeds": list(range(10)), "limits": {}, "threads": None},
}

RUN_FIELDS = [
    "dataset",
    "model",
    "registry_model",
    "checkpoint",
    "seed",
    "metric",
    "molecules",
    "train",
    "val",
    "test",
    "budget",
    "best_epoch",
    "best_val",
    "best_test",
    "best_kg",
    "anges_epoch",
    "anges_test",
    "anges_kg",
    "patience_epoch",
    "patience_test",
    "full_test",
    "full_kg",
    "time_s",
    "meter",
    "status",
]


@dataclass(frozen=True)
class ModelSpec:
    label: str
    name: str
    checkpoint: Path | None
    dropout: float


def default_models(checkpoints: Path) -> list[ModelSpec]:
    # dropout: Hu et al. fine-tune with 0.5, MolCLR with 0.3 (config_finetune.yaml)
    return [
        ModelSpec("gin-random", "gin", None, 0.5),
        ModelSpec("gcn-hu2020", "gcn", checkpoints / "hu2020_gcn_contextpred.pth", 0.5),
        ModelSpec("gcn-molclr", "gcn-molclr", checkpoints / "molclr_gcn.pth", 0.3),
    ]


def parse_model(text: str) -> ModelSpec:
    """``LABEL=NAME[:CHECKPOINT][,dropout=P]`` -> a model of the grid (dropout 0.5 unless given)."""
    spec, _, option = text.partition(",dropout=")
    label, _, rest = spec.partition("=")
    name, _, checkpoint = rest.partition(":")
    if not label or not name:
        raise SystemExit(f"--model {text!r}: expected LABEL=NAME[:CHECKPOINT][,dropout=P]")
    try:
        dropout = float(option) if option else 0.5
    except ValueError:
        raise SystemExit(f"--model {text!r}: dropout {option!r} is not a number") from None
    return ModelSpec(label, name, Path(checkpoint) if checkpoint else None, dropout)


def trial_dict(dataset: str, model: ModelSpec, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    return {
        "seed": seed,
        "device": args.device,
        "threads": args.threads,
        "data": {"dataset": dataset, "split": "scaffold", "limit": args.limits.get(dataset)},
        "model": {
            "name": model.name,
            "num_layers": 5,
            "emb_dim": 300,
            "dropout": model.dropout,
            "pooling": "mean",
            "checkpoint": str(model.checkpoint) if model.checkpoint else None,
        },
        "optim": {"lr": 1e-3, "batch_size": args.batch_size, "max_epochs": args.max_epochs},
        "mode": "shadow",
        "stopping": {"rule": "anges", "alpha": 0.9, "beta": 0.2, "warmup": 3},
        "shadow_rules": [{"rule": "patience", "patience": 5}],
        "tracking": {"meter": args.meter, "country_iso_code": "USA", "measure_power_secs": 5.0},
        "logging": {"wandb_mode": "disabled", "runs_dir": str(args.runs_dir or out / "runs"), "system_metrics": False},
    }


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def run_one(dataset: str, model: ModelSpec, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    config = parse_trial_config(trial_dict(dataset, model, seed, args, out), "reproduction grid")
    started = time.perf_counter()
    result = run_trial(config)
    s, m = result.summary, result.metric.value
    patience = next((label for label in shadow_stop_epochs(s) if label.startswith("patience")), "")
    sizes = {"train": 0, "val": 0, "test": 0}
    split_file = result.files_dir / SPLIT_FILE
    if split_file.is_file():
        sizes = {k: len(v) for k, v in json.loads(split_file.read_text()).items()}
    return {
        "dataset": dataset,
        "model": model.label,
        "registry_model": model.name,
        "checkpoint": model.checkpoint.name if model.checkpoint else "",
        "seed": seed,
        "metric": m,
        "molecules": sum(sizes.values()),
        **sizes,
        "budget": args.max_epochs,
        "best_epoch": s.get(point_key(Point.BEST, AT_EPOCH)),
        "best_val": s.get(point_key(Point.BEST, AT_VAL, m)),
        "best_test": s.get(point_key(Point.BEST, AT_TEST, m)),
        "best_kg": s.get(point_key(Point.BEST, AT_EMISSIONS)),
        "anges_epoch": s.get(point_key(Point.STOP, AT_EPOCH)) if s.get(STOP_TRIGGERED) else "",
        "anges_test": s.get(point_key(Point.STOP, AT_TEST, m)),
        "anges_kg": s.get(point_key(Point.STOP, AT_EMISSIONS)),
        "patience_epoch": s.get(shadow_key(SHADOW_STOP_EPOCH, patience)) if patience else "",
        "patience_test": s.get(shadow_key(SHADOW_TEST, patience, m)) if patience else "",
        "full_test": s.get(point_key(Point.FULL, AT_TEST, m)),
        "full_kg": s.get(point_key(Point.FULL, AT_EMISSIONS)),
        "time_s": round(time.perf_counter() - started, 1),
        "meter": s.get(METER),
        "status": result.status,
    }


def read_runs(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def append_run(path: Path, row: dict[str, Any]) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RUN_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        handle.flush()
        os.fsync(handle.fileno())


def _mean_sd(values: Iterable[float], scale: float = 1.0, digits: int = 3) -> str:
    finite = [v * scale for v in values if math.isfinite(v)]
    if not finite:
        return "–"
    mean = statistics.fmean(finite)
    sd = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def summarise(runs: list[dict[str, str]]) -> list[dict[str, str]]:
    """One row per dataset x model: test metric mean ± sd at best-val / AN-GES / full budget, epochs, kg."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for run in runs:
        key = (run["dataset"], run["model"], run["seed"])
        if run.get("status") == "finished" and key not in seen:  # two workers may have run the same seed
            seen.add(key)
            groups.setdefault((run["dataset"], run["model"]), []).append(run)
    rows = []
    order = {name: i for i, name in enumerate(DATASETS)}
    for (dataset, model), group in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        metric = group[0]["metric"]
        scale, digits = (100.0, 1) if metric == "roc_auc" else (1.0, 3)
        full_kg = statistics.fmean(_num(r["full_kg"]) for r in group)
        anges_kg = statistics.fmean(_num(r["anges_kg"]) for r in group)
        stops = [_num(r["anges_epoch"]) for r in group]
        fired = [e for e in stops if math.isfinite(e)]
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "metric": "ROC-AUC (%)" if metric == "roc_auc" else metric.upper(),
                "seeds": str(len(group)),
                "molecules (train/val/test)": f"{group[0]['train']}/{group[0]['val']}/{group[0]['test']}",
                "test @ best val": _mean_sd((_num(r["best_test"]) for r in group), scale, digits),
                "best-val epoch": f"{statistics.fmean(_num(r['best_epoch']) for r in group):.1f}",
                "test @ AN-GES stop": _mean_sd((_num(r["anges_test"]) for r in group), scale, digits),
                "AN-GES epoch": (f"{statistics.fmean(fired):.1f}" if fired else "never")
                + (f" ({len(fired)}/{len(group)} fired)" if len(fired) != len(group) else ""),
                "test @ full budget": _mean_sd((_num(r["full_test"]) for r in group), scale, digits),
                "budget": group[0]["budget"],
                "kg CO2 full": f"{full_kg:.2e}",
                "kg CO2 @ AN-GES": f"{anges_kg:.2e}",
                "saved": f"{100 * (1 - anges_kg / full_kg):.0f}%" if full_kg > 0 else "–",
            }
        )
    return rows


def write_tables(out: Path, runs: list[dict[str, str]], settings: dict[str, Any], planned: int) -> None:
    """``table.csv`` and ``table.md``; rows with fewer seeds than the fullest row are marked partial."""
    rows = summarise(runs)
    done = sum(1 for r in runs if r.get("status") == "finished")
    most = max((int(r["seeds"]) for r in rows), default=0)
    partial = [f"{r['dataset']}/{r['model']}" for r in rows if int(r["seeds"]) < most]
    if rows:
        with (out / "table.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    status = f"{done} runs finished (this invocation planned {planned})"
    if partial:
        status += f"; PARTIAL, fewer than {most} seeds for {', '.join(partial)}: rerun the command to complete it"
    lines = [status, "", f"Settings: `{json.dumps(settings, sort_keys=True)}`", ""]
    if rows:
        header = list(rows[0])
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(row[h] for h in header) + " |" for row in rows]
    (out / "table.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "reproduction-cpu")
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--max-epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--meter", default="codecarbon", choices=["codecarbon", "wallclock"])
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_CHECKPOINTS, help="folder of published .pth")
    parser.add_argument(
        "--model", action="append", default=[], help="extra LABEL=NAME[:CHECKPOINT][,dropout=P] (repeat)"
    )
    parser.add_argument("--only-models", nargs="+", help="labels of the models to run (default: all)")
    parser.add_argument("--runs-dir", type=Path, help="per-run files (split indices, epochs; default OUT/runs)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the tables from runs.csv, train nothing")
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    args.seeds = args.seeds or preset["seeds"]
    args.max_epochs = args.max_epochs or preset["max_epochs"]
    args.batch_size = args.batch_size or preset["batch_size"]
    args.threads = args.threads if args.threads is not None else preset["threads"]
    args.limits = preset["limits"]
    for name in args.datasets:
        get_dataset_spec(name)  # fail now on a typo, not after an hour
    models = default_models(args.checkpoints) + [parse_model(text) for text in args.model]
    if args.only_models:
        models = [m for m in models if m.label in args.only_models]
    missing = [m for m in models if m.checkpoint is not None and not m.checkpoint.is_file()]
    for model in missing:
        print(f"skipping {model.label}: checkpoint {model.checkpoint} not found", file=sys.stderr)
    models = [m for m in models if m not in missing]

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "preset": args.preset,
        "max_epochs": args.max_epochs,
        "batch_size": args.batch_size,
        "limits": args.limits,
        "split": "scaffold 80/10/10",
        "lr": 1e-3,
        "layers x width": "5 x 300",
        "stopping": "AN-GES a0.9 b0.2 W3 (shadow), patience 5 (shadow)",
        "meter": args.meter,
    }
    settings_file = out / "settings.json"
    if settings_file.is_file() and json.loads(settings_file.read_text()) != settings:
        raise SystemExit(f"{out} holds runs made with other settings ({settings_file}); use another --out")
    settings_file.write_text(json.dumps(settings, indent=2, sort_keys=True))
    runs_file = out / "runs.csv"
    # seed-major: every dataset x model gets its first seed before any gets a second, so a grid stopped early
    # still gives a (partial) table with every row
    grid = [(d, m, s) for s in args.seeds for d in args.datasets for m in models]
    if args.report_only:
        write_tables(out, read_runs(runs_file), settings, len(grid))
        print((out / "table.md").read_text())
        return 0

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    for index, (dataset, model, seed) in enumerate(grid, 1):
        # re-read before every run: several workers (e.g. one per seed) may share one output folder
        done = {(r["dataset"], r["model"], r["seed"]) for r in read_runs(runs_file) if r.get("status") == "finished"}
        if (dataset, model.label, str(seed)) in done:
            continue
        print(f"[{index}/{len(grid)}] {dataset} {model.label} seed {seed} ...", flush=True)
        row = run_one(dataset, model, seed, args, out)
        append_run(runs_file, row)
        print(
            f"    best-val test {row['best_test']}, AN-GES epoch {row['anges_epoch'] or 'never'} "
            f"test {row['anges_test']}, full test {row['full_test']}, {row['time_s']} s",
            flush=True,
        )
        write_tables(out, read_runs(runs_file), settings, len(grid))
    write_tables(out, read_runs(runs_file), settings, len(grid))
    print((out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
