"""Inference throughput and CO2 per 1,000 molecules of fine-tuned models at each numeric precision.

For each model family (default GIN and the SMILES transformer): fine-tune on the dataset's scaffold split with
greenft's trainer (:func:`greenft.agents.trial.run_trial`, what ``greenft train`` runs: stopping rule ``none``,
``--epochs`` epochs, W&B offline, runs under ``--models-dir``), take the run's ``model_best.pt`` (the
best-validation epoch, :mod:`greenft.models.saved`), then measure that file the way
``greenft quantize`` does (:mod:`greenft.inference.quantize`): float32, float16, bfloat16, dynamic int8 and
static int8 on the run's test molecules, one torch thread, CodeCarbon per precision. Molecules/s is
``1000 / seconds_per_1000``: featurisation, batching and forward passes (model loading excluded).

Usage::

    python benchmarks/inference.py                               # bbbp, gin + smiles-transformer, 3 epochs, CPU
    python benchmarks/inference.py --device cuda --out-dir benchmarks/results/inference-cuda   # a GPU machine
    python benchmarks/inference.py --from-json benchmarks/results/inference/precision_table.json \\
        --doc docs/inference.md                                   # re-render (into the doc, between markers)

Writes ``precision_table.json`` (PrecisionRow list, :mod:`greenft.schema.inference`), ``context.json`` (machine,
load, versions, the CodeCarbon power method, each fine-tune) and ``precision_table.md`` into ``--out-dir``; the
runs and their model files go under ``--models-dir`` (default: the temp directory; never committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from greenft.agents.config import TrialConfig
from greenft.agents.trial import run_trial
from greenft.inference.precision import parse_precisions
from greenft.inference.precision_table import precision_table
from greenft.inference.quantize import meter_factory, precision_task
from greenft.io import atomic_write_json, atomic_write_text, write_marked_section
from greenft.models.saved import load_saved_model
from greenft.schema.inference import PRECISION_TABLE_FILE, Precision, PrecisionRow, precision_rows_from_json
from greenft.schema.inference import precision_rows_to_json as rows_to_json
from greenft.schema.keys import BEST_MODEL_FILE, SPLIT_FILE
from greenft.tracking import CodeCarbonMeter
from greenft.tracking.hardware import cpu_model

DEFAULT_MODELS = ("gin", "smiles-transformer")


def fine_tune_and_save(config: TrialConfig) -> tuple[Path, dict[str, Any]]:
    """Fine-tune with greenft's trainer (:func:`run_trial`, W&B offline); the run's best-validation model file."""
    result = run_trial(config)
    path = result.files_dir / BEST_MODEL_FILE
    header = load_saved_model(path).header
    info = {
        "model": config.model.name,
        "run_path": str(result.run_path),
        "best_epoch": header.epoch,
        "stop_epoch": result.stop_epoch,
        "val_metric": header.val_metric,
        "test_metric_logged": next(r.test_metric for r in result.epochs if r.epoch == header.epoch),
        "train_kg_co2_to_best": header.emissions_kg,
        "train_kwh_to_best": header.energy_kwh,
        "test_molecules": len(json.loads((result.files_dir / SPLIT_FILE).read_text())["test"]),
    }
    return path, info


def markdown(rows: list[PrecisionRow], context: dict[str, Any]) -> str:
    lines = [
        "| family | precision | metric | parameters | file KB | molecules/s | s / 1k mol | kg CO2 / 1k mol | "
        "kWh / 1k mol | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if not r.supported:
            lines.append(f"| `{r.family}` | {r.precision} | unsupported | | | | | | | {r.note} |")
            continue
        assert r.metric is not None and r.file_bytes is not None and r.seconds_per_1000 is not None
        lines.append(
            f"| `{r.family}` | {r.precision} | {r.metric_name} {r.metric:.4f} | {r.parameters:,} | "
            f"{r.file_bytes / 1024:.1f} | {1000 / r.seconds_per_1000:,.0f} | {r.seconds_per_1000:.3f} | "
            f"{r.kg_co2_per_1000:.3e} | {r.kwh_per_1000:.3e} | |"
        )
    load = context.get("load_average_before_after", ["?", "?"])
    lines += [
        "",
        f"{context.get('dataset')}: {context.get('size')}, {context.get('epochs')} fine-tuning epochs (best "
        f"validation epoch kept), test split x {context.get('repeats')} passes per precision, device "
        f"{context.get('device')}, 1 torch thread while measuring; {context.get('cpu')} "
        f"({context.get('cpu_count')} logical CPUs), torch {context.get('torch')}; load average "
        f"{load[0]} -> {load[1]} (shared machine: other jobs ran meanwhile). Energy: {context.get('power_note')}",
    ]
    return "\n".join(lines)


BEGIN, END = "<!-- BEGIN precision_table -->", "<!-- END precision_table -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="bbbp")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--emb-dim", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="molecules (0 = the whole dataset)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="passes over the test molecules per precision")
    parser.add_argument("--precisions", default=",".join(p.value for p in Precision))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results/inference"))
    parser.add_argument("--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "greenft-inference-models")
    parser.add_argument("--from-json", type=Path, default=None, help="re-render a previous table, no measuring")
    parser.add_argument("--doc", type=Path, default=None, help="also write the Markdown table into this file")
    args = parser.parse_args()
    if args.from_json is not None:
        context_file = args.from_json.parent / "context.json"
        context = json.loads(context_file.read_text()) if context_file.is_file() else {}
        text = markdown(precision_rows_from_json(args.from_json.read_text()), context)
        print(text)
        if args.doc is not None:
            write_marked_section(args.doc, BEGIN, END, text)
        return
    precisions = parse_precisions(args.precisions)
    torch.set_num_threads(1)
    device = torch.device(args.device)
    load_before = os.getloadavg()[0]
    rows: list[PrecisionRow] = []
    trained: list[dict[str, Any]] = []
    power_note = ""
    for name in args.models:
        config = TrialConfig.model_validate(
            {
                "seed": args.seed,
                "threads": 1,
                "device": args.device,
                "data": {"dataset": args.dataset, "limit": args.limit or None},
                "model": {"name": name, "num_layers": args.layers, "emb_dim": args.emb_dim},
                "optim": {"max_epochs": args.epochs, "batch_size": args.batch_size},
                "stopping": {"rule": "none"},
                "logging": {"runs_dir": str(args.models_dir), "system_metrics": False, "wandb_mode": "offline"},
            }
        )
        print(f"fine-tuning {name} on {args.dataset} ({args.epochs} epochs) ...", file=sys.stderr)
        path, info = fine_tune_and_save(config)
        trained.append(info)
        saved = load_saved_model(path)
        task = precision_task(saved, repeats=args.repeats, device=device)
        made: list[CodeCarbonMeter] = []
        meters = meter_factory(saved.header)

        def meter(meters: Any = meters, made: list[CodeCarbonMeter] = made) -> Any:
            made.append(meters())
            return made[-1]

        print(f"measuring {name} at {', '.join(p.value for p in precisions)} ...", file=sys.stderr)
        rows += precision_table(saved.model, precisions, task, meter)
        if made:
            power_note = str(made[-1].describe().get("note", ""))
    context = {
        "dataset": args.dataset,
        "size": f"{args.layers} layers x {args.emb_dim}",
        "epochs": args.epochs,
        "repeats": args.repeats,
        "device": args.device,
        "threads_while_measuring": 1,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "power_note": power_note,
        "trained": trained,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out_dir / PRECISION_TABLE_FILE, rows_to_json(rows))
    atomic_write_json(args.out_dir / "context.json", context, indent=1)
    text = markdown(rows, context)
    atomic_write_text(args.out_dir / "precision_table.md", text + "\n")
    print(text)
    if args.doc is not None:
        write_marked_section(args.doc, BEGIN, END, text)
    print(
        "\nOn a GPU machine: python benchmarks/inference.py --device cuda --out-dir benchmarks/results/inference-cuda"
        " (int8 rows are CPU only: they read 'unsupported' there)"
    )


if __name__ == "__main__":
    main()
