"""How long the command line takes to answer: ``greenft --help``, ``greenft train --help`` and user errors.

Each command is started as a user starts it (``python -m greenft ...``, a fresh interpreter every time) and timed
from outside, start to exit, imports included; nothing is cached between runs except what the operating system
caches (the first, warm-up run of each command is not counted). The median of ``--runs`` runs is reported with
the fastest and slowest, beside the machine's load average before and after (``uptime``): on a busy machine every
figure grows, so compare figures taken in the same call.

``--baseline-src DIR`` times a second checkout's ``src`` (e.g. the commit before the lazy imports) in the same
call, interleaved run by run with this checkout's, and prints the ratio of the medians.

Usage::

    python benchmarks/cli_startup.py [--runs 7] [--baseline-src ../other-checkout/src] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

COMMANDS: dict[str, list[str]] = {
    "greenft --help": ["--help"],
    "greenft train --help": ["train", "--help"],
    "bad flag (train --bogus)": ["train", "--bogus"],
    "unknown dataset (train --dataset nope)": ["train", "--dataset", "nope"],
}


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        load = os.getloadavg()
        return f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


def _time_once(src: Path, args: list[str], workdir: Path) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(src), "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "greenft", *args], cwd=workdir, env=env, capture_output=True, check=False
    )
    return time.perf_counter() - start, done.returncode


def measure(sources: dict[str, Path], runs: int, workdir: Path) -> dict[str, dict[str, dict[str, float]]]:
    """``{command: {source label: {median, min, max, exit}}}``, the sources interleaved run by run."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, args in COMMANDS.items():
        times: dict[str, list[float]] = {name: [] for name in sources}
        codes: dict[str, int] = {}
        for src in sources.values():  # warm-up: file system caches, .pyc files
            _time_once(src, args, workdir)
        for _ in range(runs):
            for name, src in sources.items():
                seconds, codes[name] = _time_once(src, args, workdir)
                times[name].append(seconds)
        results[label] = {
            name: {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "exit": codes[name],
            }
            for name, values in times.items()
        }
        print(f"  measured {label}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command and source (after a warm-up)")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src/ to time in the same call")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    sources = {"this checkout": SRC}
    if args.baseline_src is not None:
        sources = {"baseline": args.baseline_src.resolve(), **sources}
    workdir = Path(os.environ.get("TMPDIR", "/tmp"))
    before = _uptime()
    results = measure(sources, args.runs, workdir)
    after = _uptime()

    print(f"CPUs usable: {len(os.sched_getaffinity(0))}; python {sys.version.split()[0]}")
    print(f"uptime before: {before}")
    print(f"uptime after:  {after}")
    header = f"{'command':42}" + "".join(f"{name + ' median (min-max) s':>34}" for name in sources)
    if "baseline" in sources:
        header += f"{'speed-up':>10}"
    print(header)
    for label, by_source in results.items():
        row = f"{label:42}"
        for name in sources:
            r = by_source[name]
            row += f"{r['median']:>12.2f} ({r['min']:.2f}-{r['max']:.2f}) exit {int(r['exit'])}".rjust(34)
        if "baseline" in sources:
            row += f"{by_source['baseline']['median'] / by_source['this checkout']['median']:>9.1f}x"
        print(row)
    if args.json is not None:
        payload = {"uptime_before": before, "uptime_after": after, "runs": args.runs, "results": results}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
