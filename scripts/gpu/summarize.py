"""One-line summaries and JSON files of the GPU checks' outputs (called by scripts/gpu/checks.sh).

Each subcommand reads the files greenft wrote and prints ONE line, and writes a JSON beside the others in the
work folder; ``merge`` gathers them into one results.json (the device returns at most 8 files).

    summarize.py imports OUT.json                      import every greenft module; name any missing package
    summarize.py train RUNS_DIR LABEL OUT.json         a `greenft train` run: per-epoch kg/s, CodeCarbon's GPU view
    summarize.py ratio GPU.json CPU.json OUT.json      cpu/cuda ratios of two train summaries
    summarize.py pretrain RUN_DIR LABEL OUT.json       a `greenft pretrain` run: s/step, kg, hardware
    summarize.py merge WORK_DIR OUT.json               every *.json of WORK_DIR into one file
"""

from __future__ import annotations

import csv
import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Any


def _write(path: str, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=1, default=str))


def imports(out: str) -> None:
    """Import every greenft module and the optional packages the checks rely on; name what is missing."""
    import greenft

    # greenft.__main__ runs the CLI when imported: not a module to import here
    modules = pkgutil.walk_packages(greenft.__path__, "greenft.")
    names = ["greenft"] + [m.name for m in modules if not m.name.endswith("__main__")]
    extra = [
        "rdkit",
        "pydantic",
        "codecarbon",
        "pynvml",
        "selfies",
        "sweeps",
        "jsonschema",
        "chemprop",
        "torch_geometric",
        "transformers",
        "tokenizers",
        "wandb",
    ]
    missing: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for name in names + extra:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            missing.setdefault(str(err.name), []).append(name)
        except (Exception, SystemExit) as err:  # report, never stop: the next device call fixes what this one names
            errors[name] = f"{type(err).__name__}: {err}"
    for package, users in sorted(missing.items()):
        print(f"MISSING MODULE {package!r} (imported by {', '.join(users[:4])}{' ...' if len(users) > 4 else ''})")
    for name, text in sorted(errors.items()):
        print(f"IMPORT ERROR {name}: {text}")
    print(
        f"imports: {len(names)} greenft modules + {len(extra)} packages tried; "
        f"{len(missing)} missing package(s) {sorted(missing)}; {len(errors)} other error(s)"
    )
    _write(
        out,
        {
            "step": "imports",
            "modules": len(names),
            "missing": missing,
            "errors": errors,
            "greenft_file": greenft.__file__,
        },
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def train(runs_dir: str, label: str, out: str) -> None:
    """Summarise the newest run under RUNS_DIR: per-epoch kg, s and kWh, and CodeCarbon's view of the GPU."""
    runs = sorted(Path(runs_dir).glob("greenft-run-*"), key=lambda p: p.stat().st_mtime)
    if not runs:
        print(f"{label}: no run directory under {runs_dir}")
        _write(out, {"step": label, "error": "no run directory"})
        return
    run = runs[-1]
    epochs = [json.loads(line) for line in (run / "greenft_epochs.jsonl").read_text().splitlines() if line.strip()]
    summary = json.loads((run / "greenft_summary.json").read_text())
    meter = json.loads((run / "greenft_meter.json").read_text()) if (run / "greenft_meter.json").is_file() else {}
    config = json.loads((run / "greenft_config.json").read_text()) if (run / "greenft_config.json").is_file() else {}
    per_epoch: list[dict[str, Any]] = []
    previous = {"kg": 0.0, "kwh": 0.0, "s": 0.0}
    for row in epochs:
        now = {
            "kg": _float(row.get("emissions/cumulative_kg")) or 0.0,
            "kwh": _float(row.get("energy/cumulative_kwh")) or 0.0,
            "s": _float(row.get("time/cumulative_s")) or 0.0,
        }
        per_epoch.append(
            {
                "epoch": row.get("epoch"),
                **{f"{k}_this_epoch": now[k] - previous[k] for k in now},
                "val": {k: v for k, v in row.items() if k.startswith("val/")},
            }
        )
        previous = now
    codecarbon: dict[str, Any] = {}
    csv_path = run / "emissions.csv"
    if csv_path.is_file():
        rows = _rows(csv_path)
        if rows:
            last = rows[-1]
            keep = (
                "duration",
                "emissions",
                "energy_consumed",
                "cpu_power",
                "gpu_power",
                "ram_power",
                "cpu_energy",
                "gpu_energy",
                "ram_energy",
                "gpu_count",
                "gpu_model",
                "tracking_mode",
                "cpu_model",
                "gpu_utilization_percent",
                "cpu_utilization_percent",
                "codecarbon_version",
            )
            codecarbon = {key: last.get(key) for key in keep}
            codecarbon["rows"] = len(rows)
    gpu_energy = _float(codecarbon.get("gpu_energy")) or 0.0
    gpu_power = _float(codecarbon.get("gpu_power")) or 0.0
    epoch_s = [e["s_this_epoch"] for e in per_epoch[1:]] or [e["s_this_epoch"] for e in per_epoch]
    payload = {
        "step": label,
        "run_dir": str(run),
        "device": config.get("device"),
        "threads": config.get("threads"),
        "epochs": len(per_epoch),
        "per_epoch": per_epoch,
        "median_epoch_s_after_first": sorted(epoch_s)[len(epoch_s) // 2] if epoch_s else None,
        "total_kg": summary.get("total/emissions_kg"),
        "total_kwh": summary.get("total/energy_kwh"),
        "total_s": summary.get("total/time_s"),
        "meter": meter,
        "codecarbon_csv_last_row": codecarbon,
        "gpu_measured_via_nvml": gpu_energy > 0 or gpu_power > 0,
    }
    _write(out, payload)
    print(
        f"{label}: {len(per_epoch)} epochs, median epoch {payload['median_epoch_s_after_first']} s, total "
        f"{payload['total_kg']} kg / {payload['total_kwh']} kWh; CodeCarbon tracking_mode="
        f"{codecarbon.get('tracking_mode')} hardware={meter.get('hardware')} gpu_model={codecarbon.get('gpu_model')} "
        f"gpu_power={gpu_power} W gpu_energy={gpu_energy} kWh -> GPU measured via NVML: "
        f"{payload['gpu_measured_via_nvml']}"
    )


def ratio(gpu: str, cpu: str, out: str) -> None:
    a, b = json.loads(Path(gpu).read_text()), json.loads(Path(cpu).read_text())

    def div(x: Any, y: Any) -> float | None:
        fx, fy = _float(x), _float(y)
        return fx / fy if fx is not None and fy else None

    payload = {
        "step": "train_ratio",
        "cpu_over_gpu_epoch_s": div(b.get("median_epoch_s_after_first"), a.get("median_epoch_s_after_first")),
        "cpu_over_gpu_total_kg": div(b.get("total_kg"), a.get("total_kg")),
        "cpu_over_gpu_total_kwh": div(b.get("total_kwh"), a.get("total_kwh")),
    }
    _write(out, payload)
    print(
        f"ratio cpu/gpu: epoch s x{payload['cpu_over_gpu_epoch_s']}, kg x{payload['cpu_over_gpu_total_kg']}, "
        f"kWh x{payload['cpu_over_gpu_total_kwh']}"
    )


def pretrain(run_dir: str, label: str, out: str) -> None:
    """Summarise a pretraining run from its checkpoint's provenance and CodeCarbon's file."""
    path = Path(run_dir) / "checkpoint" / "greenft_checkpoint.json"
    if not path.is_file():
        print(f"{label}: no checkpoint at {path}")
        _write(out, {"step": label, "error": f"no checkpoint at {path}"})
        return
    provenance = json.loads(path.read_text())["provenance"]
    steps = provenance.get("steps") or 0
    duration = _float(provenance.get("duration_s")) or 0.0
    csv_path = Path(run_dir) / "emissions.csv"
    last = _rows(csv_path)[-1] if csv_path.is_file() and _rows(csv_path) else {}
    log_path = Path(run_dir) / "pretrain_log.jsonl"
    log = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()] if log_path.is_file() else []
    payload = {
        "step": label,
        "steps": steps,
        "s_per_step": duration / steps if steps else None,
        "duration_s": duration,
        "emissions_kg": provenance.get("emissions_kg"),
        "energy_kwh": provenance.get("energy_kwh"),
        "final_loss": provenance.get("final_loss"),
        "settings": provenance.get("settings"),
        "hardware": provenance.get("hardware"),
        "codecarbon": provenance.get("codecarbon"),
        "gpu_power": last.get("gpu_power"),
        "gpu_energy": last.get("gpu_energy"),
        "log_tail": log[-3:],
    }
    _write(out, payload)
    settings = provenance.get("settings") or {}
    print(
        f"{label}: {steps} steps, {payload['s_per_step']} s/step (incl. startup of the loop), "
        f"{payload['emissions_kg']} kg, {payload['energy_kwh']} kWh, size {settings.get('num_layers')} x "
        f"{settings.get('emb_dim')}, device {(provenance.get('hardware') or {}).get('device')}, "
        f"gpu_energy {payload['gpu_energy']} kWh, final loss {payload['final_loss']}"
    )


def merge(work: str, out: str) -> None:
    merged = {}
    for path in sorted(Path(work).glob("*.json")):
        try:
            merged[path.stem] = json.loads(path.read_text())
        except ValueError as err:
            merged[path.stem] = {"error": str(err)}
    _write(out, merged)
    print(f"results: {len(merged)} step file(s) merged into {out}: {', '.join(merged)}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    try:
        {"imports": imports, "train": train, "ratio": ratio, "pretrain": pretrain, "merge": merge}[command](*args)
    except Exception:
        print(f"summarize {command} failed:")
        traceback.print_exc()
        sys.exit(1)
