"""Seconds per epoch of every model family at its default (CPU) size, on the same molecules and split.

What is timed is greenft's own training step (``greenft.agents.fit.train_epoch``: forward, masked loss,
backward, Adam step) over the training split, and one evaluation pass over the validation split, for each
family at ``ModelConfig()``'s default size (3 layers x 128 wide; transformers: 4 heads, max_length 128,
FFN 512; ``chemprop-dmpnn``, listed when chemprop is installed, at chemprop's defaults: 3 x 300).
Featurisation / tokenisation is timed apart (done once per trial, cached for graphs). The first
epoch is a warm-up and is not counted. Random initialisation is used: weights do not change the cost.

``--device cuda`` times the same loop on a GPU (each epoch ends with ``torch.cuda.synchronize()``), and
``--size NAME=LAYERSxWIDTH[xHEADS]`` sets a family's size (e.g. ``gin=5x300``, ``graphormer=12x768x32``,
``smiles-transformer=6x768x12``: the published GPU sizes of docs/models.md) instead of the CPU default.

Usage::

    python benchmarks/family_epoch_time.py [--dataset bbbp] [--epochs 3] [--threads 1] [--device cpu|cuda]
        [--size gin=5x300 ...]
        [--models gin gcn smiles-transformer selfies-transformer graphormer] [--batch-size 64] [--json out.json]
        [--doc docs/pretraining.md]          # also write the Markdown table there (between markers)
    python benchmarks/family_epoch_time.py --from-json out.json --doc docs/pretraining.md   # re-render only

On a machine shared with other jobs, one thread is usually much faster than two (two threads spin while
waiting for a core); the figures printed say how many threads were used and what the load was.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from greenft.agents.fit import TargetScaler, evaluate, train_epoch
from greenft.agents.trial import seed_everything
from greenft.data import get_dataset_spec, load_molecules, make_split
from greenft.data.registry import select_targets
from greenft.data.splits import SplitKind
from greenft.io import write_marked_section
from greenft.models import ModelConfig, get_family, known_models
from greenft.models.items import encode_items
from greenft.tracking.hardware import cpu_model

THREE_D_DATASET = "qm9"
"""Where a 3D family (one that ``needs_structures``) is timed: the other sets have no coordinates."""
DEFAULT_MODELS = (
    "gin",
    "gcn",
    "smiles-transformer",
    "selfies-transformer",
    "graphormer",
    "schnet",  # on as many QM9 molecules as the dataset has (it needs coordinates)
    *(("chemprop-dmpnn",) if importlib.util.find_spec("chemprop") else ()),  # the optional chemprop extra
)


def parse_size(text: str) -> tuple[str, dict[str, int]]:
    """``NAME=LAYERSxWIDTH[xHEADS]`` -> (name, ModelConfig fields)."""
    name, _, dims = text.partition("=")
    parts = [int(p) for p in dims.lower().split("x")]
    if not name or len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"--size {text!r}: expected NAME=LAYERSxWIDTH[xHEADS], e.g. gin=5x300")
    fields = {"num_layers": parts[0], "emb_dim": parts[1]}
    if len(parts) == 3:
        fields["num_heads"] = parts[2]
    return name, fields


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_family(
    name: str,
    dataset: str,
    epochs: int,
    batch_size: int,
    seed: int,
    device: torch.device | None = None,
    size: dict[str, int] | None = None,
) -> dict[str, Any]:
    molecules = load_molecules(get_dataset_spec(dataset))
    family = get_family(name)
    kind = SplitKind.SCAFFOLD
    if family.needs_structures:  # a 3D family (schnet): as many QM9 molecules (target U0), QM9's random split
        molecules = load_molecules(select_targets(get_dataset_spec(THREE_D_DATASET), None), limit=len(molecules.smiles))
        kind = SplitKind.RANDOM
    split = make_split(molecules.smiles, kind, seed)
    started = time.perf_counter()
    items = encode_items(family, molecules)
    encode_s = time.perf_counter() - started
    seed_everything(seed)
    device = device if device is not None else torch.device("cpu")
    built = family.build(ModelConfig(name=name, **(size or {})), molecules.num_tasks)
    model = built.model.to(device)
    task, metric = molecules.spec.task_type, molecules.spec.metric
    scaler = TargetScaler.fit(molecules.labels[split.train], task)
    train_loader = family.loader(
        [items[i] for i in split.train], batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    val_loader = family.loader([items[i] for i in split.val], batch_size, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_s: list[float] = []
    eval_s: list[float] = []
    for epoch in range(epochs + 1):
        _sync(device)
        t0 = time.perf_counter()
        train_epoch(model, train_loader, optimizer, task, scaler, device)
        _sync(device)
        t1 = time.perf_counter()
        evaluate(model, val_loader, task, metric, scaler, device)
        _sync(device)
        t2 = time.perf_counter()
        if epoch > 0:  # epoch 0 warms up allocators and caches
            train_s.append(t1 - t0)
            eval_s.append(t2 - t1)
    info = built.info
    return {
        "model": name,
        "device": str(device),
        "size": f"{info['num_layers']} x {info['emb_dim']}",
        "parameters": info["parameters"],
        "encode_s": encode_s,
        "train_s_per_epoch": statistics.median(train_s),
        "eval_s_per_epoch": statistics.median(eval_s),
        "epoch_s": statistics.median(a + b for a, b in zip(train_s, eval_s, strict=True)),
        "train_molecules": len(split.train),
        "val_molecules": len(split.val),
        "dataset": f"{molecules.spec.name} ({kind.value} split)",
    }


BEGIN, END = "<!-- BEGIN epoch_time -->", "<!-- END epoch_time -->"


def markdown(rows: list[dict[str, Any]], context: dict[str, Any]) -> str:
    lines = [
        "| model | size | parameters | train s/epoch | validation s/epoch | epoch s | encode s (once) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['model']}` | {row['size']} | {row['parameters']:,} | {row['train_s_per_epoch']:.2f} | "
            f"{row['eval_s_per_epoch']:.2f} | {row['epoch_s']:.2f} | {row['encode_s']:.2f} |"
        )
    others = [
        f"`{r['model']}` on {r['dataset']}"
        for r in rows
        if r.get("dataset", context["dataset"]).split()[0] != context["dataset"]
    ]
    load = context["load_average_before_after"]
    lines.append("")
    lines.append(
        f"{context['dataset']}, {context['split']} split ({rows[0]['train_molecules']} train / "
        f"{rows[0]['val_molecules']} validation molecules), batch {context['batch_size']}, median of "
        f"{context['timed_epochs']} timed epochs after one warm-up, "
        f"{'GPU ' + context['gpu'] + ', ' if context.get('gpu') else ''}{context['threads']} torch thread(s), "
        f"{context['cpu']} ({context['cpu_count']} logical CPUs), torch {context['torch']}; load average "
        f"{load[0]} -> {load[1]} (shared machine: other jobs ran meanwhile, so the figures are noisy)."
        + (f" {', '.join(others)}: as many molecules, it needs 3D coordinates." if others else "")
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="bbbp")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per family (after one warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the loop runs")
    parser.add_argument(
        "--size", type=parse_size, action="append", default=[], help="NAME=LAYERSxWIDTH[xHEADS] (repeat)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--doc", type=Path, default=None, help="write the Markdown table into this file")
    parser.add_argument("--from-json", type=Path, default=None, help="render a previous --json file, no timing")
    args = parser.parse_args()
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        text = markdown(saved["rows"], saved["context"])
        print(text)
        if args.doc is not None:
            write_marked_section(args.doc, BEGIN, END, text)
        return
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    unknown = [m for m in args.models if m not in known_models()]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {', '.join(known_models())}")
    load_before = os.getloadavg()[0]
    device = torch.device(args.device)
    sizes = dict(args.size)
    rows = [
        time_family(m, args.dataset, args.epochs, args.batch_size, args.seed, device, sizes.get(m)) for m in args.models
    ]
    context = {
        "dataset": args.dataset,
        "split": "scaffold",
        "batch_size": args.batch_size,
        "timed_epochs": args.epochs,
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "torch": str(torch.__version__),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
    }
    console = Console(width=160)
    where = f"{device}" + (f" ({context['gpu']})" if context["gpu"] else "")
    sized = "sizes as given (--size)" if sizes else "default size"
    table = Table(
        title=f"seconds per epoch at {sized} on {where} — {args.dataset}, scaffold split, batch {args.batch_size}"
    )
    for column in ("model", "size", "parameters", "train s/epoch", "val s/epoch", "epoch s", "encode s (once)"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for row in rows:
        table.add_row(
            row["model"],
            row["size"],
            f"{row['parameters']:,}",
            f"{row['train_s_per_epoch']:.2f}",
            f"{row['eval_s_per_epoch']:.2f}",
            f"{row['epoch_s']:.2f}",
            f"{row['encode_s']:.2f}",
        )
    console.print(table)
    console.print(
        f"train {rows[0]['train_molecules']} / val {rows[0]['val_molecules']} molecules; "
        f"{context['threads']} thread(s) on {context['cpu']} ({context['cpu_count']} logical CPUs); "
        f"load average {context['load_average_before_after'][0]} -> {context['load_average_before_after'][1]}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"context": context, "rows": rows}, indent=1))
    if args.doc is not None:
        write_marked_section(args.doc, BEGIN, END, markdown(rows, context))


if __name__ == "__main__":
    main()
