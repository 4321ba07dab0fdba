"""Inference throughput and CO2 per 1,000 molecules of fine-tuned models at each numeric precision.

For each model family (default GIN and the SMILES transformer): fine-tune on the dataset's scaffold split with
greenft's own training step (:func:`greenft.agents.fit.train_epoch`, Adam, no stopping rule, ``--epochs``
epochs), keep the best-validation epoch's weights and save them as a greenft model file
(:mod:`greenft.models.saved`, the format ``greenft train`` writes), then measure that file the way
``greenft quantize`` does (:mod:`greenft.inference.quantize`): float32, float16, bfloat16, dynamic int8 and
static int8 on the run's test molecules, one torch thread, CodeCarbon per precision. Molecules/s is
``1000 / seconds_per_1000``: featurisation, batching and forward passes (model loading excluded).

Usage::

    python benchmarks/inference.py                               # bbbp, gin + smiles-transformer, 3 epochs, CPU
    python benchmarks/inference.py --device cuda --out-dir benchmarks/results/inference-cuda   # a GPU machine
    python benchmarks/inference.py --from-json benchmarks/results/inference/precision_table.json \\
        --doc docs/inference.md                                   # re-render (into the doc, between markers)

Writes ``precision_table.json`` (PrecisionRow list, :mod:`greenft.schema.inference`), ``context.json`` (machine,
load, versions, the CodeCarbon power method) and ``precision_table.md`` into ``--out-dir``, and the saved
models under ``--models-dir`` (default: the temp directory; outputs, rebuilt in minutes, never committed).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from greenft.agents.config import TrialConfig
from greenft.agents.fit import TargetScaler, evaluate, train_epoch
from greenft.agents.trial import load_data, seed_everything
from greenft.data.splits import make_split
from greenft.inference.precision import parse_precisions
from greenft.inference.precision_table import precision_table
from greenft.inference.quantize import meter_factory, precision_task
from greenft.io import atomic_write_json, atomic_write_text
from greenft.models import count_parameters, get_family
from greenft.models.saved import (
    SAVED_MODEL_FORMAT,
    SAVED_MODEL_VERSION,
    SavedModelHeader,
    load_saved_model,
    save_model,
)
from greenft.models.sequence.transformer import SequencePropertyModel
from greenft.schema.inference import PRECISION_TABLE_FILE, Precision, PrecisionRow, precision_rows_from_json
from greenft.schema.inference import precision_rows_to_json as rows_to_json
from greenft.stopping import MetricDirection
from greenft.tracking import CodeCarbonMeter

DEFAULT_MODELS = ("gin", "smiles-transformer")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fine_tune_and_save(config: TrialConfig, path: Path, device: torch.device) -> tuple[Path, dict[str, Any]]:
    """Fine-tune ``config``'s model on its data and split; save the best-validation epoch as a model file."""
    molecules = load_data(config)
    metric, task = molecules.spec.metric, molecules.spec.task_type
    split = make_split(molecules.smiles, config.data.split, config.seed, config.data.split_fractions)
    family = get_family(config.model.name)
    items = family.encode(molecules.smiles, molecules.labels)
    seed_everything(config.seed)
    built = family.build(config.model, molecules.num_tasks)
    model = built.model.to(device)
    scaler = TargetScaler.fit(molecules.labels[split.train], task)
    batch = config.optim.batch_size
    train = family.loader([items[i] for i in split.train], batch, True, torch.Generator().manual_seed(config.seed))
    val = family.loader([items[i] for i in split.val], batch, shuffle=False)
    test = family.loader([items[i] for i in split.test], batch, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    meter = CodeCarbonMeter(country_iso_code=config.tracking.country_iso_code, measure_power_secs=1.0)
    meter.start()
    best: dict[str, Any] = {}
    started = time.perf_counter()
    for epoch in range(1, config.optim.max_epochs + 1):
        train_epoch(model, train, optimizer, task, scaler, device)
        val_metric = evaluate(model, val, task, metric, scaler, device)
        reading = meter.read()
        maximise = metric.direction is MetricDirection.MAXIMIZE
        if not best or (val_metric > best["val"] if maximise else val_metric < best["val"]):
            test_metric = evaluate(model, test, task, metric, scaler, device)
            state = copy.deepcopy({k: v.cpu() for k, v in model.state_dict().items()})
            best = {"epoch": epoch, "val": val_metric, "test": test_metric, "state": state, "reading": reading}
    meter.stop()
    model.load_state_dict(best["state"])
    model = model.to("cpu").eval()
    vocabulary = encoder_config = None
    if isinstance(model, SequencePropertyModel):
        vocabulary = list(model.tokenizer.tokenizer.tokens)  # type: ignore[attr-defined]
        encoder_config = model.encoder.config.to_dict()
    model_section = config.model.model_dump(mode="json") | built.applied
    header = SavedModelHeader(
        format=SAVED_MODEL_FORMAT,
        version=SAVED_MODEL_VERSION,
        greenft_version="benchmark",
        family=config.model.name,
        model={**model_section, "checkpoint": None},
        vocabulary=vocabulary,
        num_tasks=molecules.num_tasks,
        task_names=list(molecules.spec.target_columns),
        task_type=task.value,
        metric=metric.value,
        dataset=molecules.spec.name,
        target_mean=[float(v) for v in scaler.mean],
        target_std=[float(v) for v in scaler.std],
        which="best",
        epoch=best["epoch"],
        val_metric=best["val"],
        test_metric=best["test"],
        parameters=count_parameters(model),
        emissions_kg=best["reading"].emissions_kg,
        energy_kwh=best["reading"].energy_kwh,
        run_id=None,
        run_path=None,
        training_config=config.model_dump(mode="json"),
        encoder_config=encoder_config,
    )
    info = {
        "model": config.model.name,
        "best_epoch": best["epoch"],
        "val_metric": best["val"],
        "test_metric_logged": best["test"],
        "train_seconds": time.perf_counter() - started,
        "train_kg_co2_to_best": best["reading"].emissions_kg,
        "train_molecules": len(split.train),
        "test_molecules": len(split.test),
    }
    return save_model(path, model, header), info


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


def write_doc(doc: Path, text: str) -> None:
    """Put ``text`` between the markers in ``doc`` (appended with them if absent)."""
    content = doc.read_text() if doc.is_file() else ""
    if BEGIN not in content or END not in content:
        content += f"\n{BEGIN}\n{END}\n"
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(doc, f"{head}{BEGIN}\n{text}\n{END}{tail}")


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
            write_doc(args.doc, text)
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
            }
        )
        print(f"fine-tuning {name} on {args.dataset} ({args.epochs} epochs) ...", file=sys.stderr)
        path, info = fine_tune_and_save(config, args.models_dir / f"{name}.pt", device)
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
        write_doc(args.doc, text)
    print(
        "\nOn a GPU machine: python benchmarks/inference.py --device cuda --out-dir benchmarks/results/inference-cuda"
        " (int8 rows are CPU only: they read 'unsupported' there)"
    )


if __name__ == "__main__":
    main()
