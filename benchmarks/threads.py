"""How many torch threads a greenft epoch should use: 1 vs 2 threads, idle vs busy machine, OpenMP wait policy.

Why: on a 2-core box shared with other work, torch's default (one thread per core) made an epoch many times
slower than one thread, and CodeCarbon's load-based CPU estimate as many times larger. This measures it on
greenft's own training step, so the default (:mod:`greenft.agents.threads`) can be chosen from figures.

Each cell is a fresh process (``OMP_WAIT_POLICY`` is read by OpenMP once, when torch loads it, so it has to be
set before torch is imported) running greenft's epoch loop: the same molecules (``--dataset``, a fixed
``--limit`` sample), scaffold split, GIN model (``--layers`` x ``--emb-dim``), batch size, ``train_epoch`` then
``evaluate`` on the validation split, one warm-up epoch and ``--epochs`` timed epochs. Reported per cell:
median wall seconds per epoch and CPU seconds per epoch (user + system of the process: what a load-based
energy estimate follows). "busy" starts one competing process spinning on one core (CPU 0 where the affinity
allows) for the duration of the cell, as another job on a small shared box does. The machine's load average
(``uptime``) is printed before and after, and the competing process is stopped between cells.

Usage::

    python benchmarks/threads.py [--dataset b3db] [--limit 500] [--layers 3] [--emb-dim 64] [--epochs 4]
        [--threads 1 2] [--policies default PASSIVE ACTIVE] [--repeats 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _child(args: argparse.Namespace) -> None:
    """One cell: greenft's epoch loop with ``--threads`` torch threads; prints one JSON line."""
    import torch

    from greenft.agents.config import TrialConfig
    from greenft.agents.fit import TargetScaler, evaluate, train_epoch
    from greenft.agents.trial import load_data, seed_everything
    from greenft.data.splits import make_split
    from greenft.models.registry import get_family

    torch.set_num_threads(args.threads[0])
    config = TrialConfig.model_validate(
        {
            "seed": 0,
            "data": {"dataset": args.dataset, "limit": args.limit},
            "model": {"name": "gin", "num_layers": args.layers, "emb_dim": args.emb_dim},
            "optim": {"batch_size": args.batch_size},
        }
    )
    molecules = load_data(config)
    split = make_split(molecules.smiles, config.data.split, config.seed, config.data.split_fractions)
    family = get_family(config.model.name)
    items = family.encode(molecules.smiles, molecules.labels)
    seed_everything(config.seed)
    model = family.build(config.model, molecules.num_tasks).model
    device = torch.device("cpu")
    task, metric = molecules.spec.task_type, molecules.spec.metric
    scaler = TargetScaler.fit(molecules.labels[split.train], task)
    generator = torch.Generator().manual_seed(config.seed)
    train_loader = family.loader([items[i] for i in split.train], args.batch_size, shuffle=True, generator=generator)
    val_loader = family.loader([items[i] for i in split.val], args.batch_size, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    wall: list[float] = []
    cpu: list[float] = []
    for epoch in range(args.epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        train_epoch(model, train_loader, optimizer, task, scaler, device)
        evaluate(model, val_loader, task, metric, scaler, device)
        if epoch > 0:  # the first epoch warms allocators and caches up
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    print(
        "RESULT="
        + json.dumps(
            {
                "threads": torch.get_num_threads(),
                "wall_s": statistics.median(wall),
                "cpu_s": statistics.median(cpu),
                "wall_all": wall,
                "train_molecules": len(split.train),
            }
        )
    )


def _spin() -> None:
    """The competing job: one process that keeps one core busy."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    while True:
        pass


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _cell(args: argparse.Namespace, threads: int, policy: str, busy: bool) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    command = [sys.executable, __file__, "--child", "--threads", str(threads)]
    command += ["--dataset", args.dataset, "--limit", str(args.limit), "--layers", str(args.layers)]
    command += ["--emb-dim", str(args.emb_dim), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    spinner = multiprocessing.Process(target=_spin, daemon=True) if busy else None
    if spinner is not None:
        spinner.start()
    load_before = os.getloadavg()[0]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=args.timeout)
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT=")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"cell threads={threads} policy={policy} busy={busy} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[0].removeprefix("RESULT="))
    result.update(policy=policy, busy=busy, load1_before=load_before, load1_after=os.getloadavg()[0])
    return result


def _median_cell(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One cell over its repeats: the median of each repeat's median, and every repeat's figure."""
    cell = dict(results[0])
    cell["wall_s"] = statistics.median(r["wall_s"] for r in results)
    cell["cpu_s"] = statistics.median(r["cpu_s"] for r in results)
    cell["wall_repeats"] = [r["wall_s"] for r in results]
    cell["load1_before"] = min(r["load1_before"] for r in results)
    cell["load1_after"] = max(r["load1_after"] for r in results)
    return cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="b3db")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--emb-dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4, help="timed epochs per cell (after one warm-up)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--policies", nargs="+", default=["default", "PASSIVE", "ACTIVE"])
    parser.add_argument("--repeats", type=int, default=1, help="runs of the whole grid; medians are reported")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one cell may take")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    before = _uptime()
    grid = [(threads, policy, busy) for busy in (False, True) for policy in args.policies for threads in args.threads]
    runs: dict[tuple[int, str, bool], list[dict[str, Any]]] = {key: [] for key in grid}
    for repeat in range(args.repeats):  # the order rotates, so a busier minute of the machine hits every cell
        shift = repeat * len(grid) // max(1, args.repeats)
        for threads, policy, busy in grid[shift:] + grid[:shift]:
            result = _cell(args, threads, policy, busy)
            runs[(threads, policy, busy)].append(result)
            print(f"  {result['wall_s']:.2f} s/epoch: threads {threads} {policy} busy={busy}", file=sys.stderr)
    after = _uptime()
    cells = [_median_cell(runs[key]) for key in grid]

    cores = len(os.sched_getaffinity(0))
    molecules = cells[0]["train_molecules"]
    print(f"{args.dataset} --limit {args.limit} ({molecules} train molecules), GIN {args.layers} x {args.emb_dim}, ")
    print(
        f"batch {args.batch_size}; median of {args.epochs} epochs after a warm-up, median of {args.repeats} "
        f"repeat(s); {cores} usable CPUs"
    )
    print(f"uptime before: {before}")
    print(f"uptime after:  {after}")
    one = {(c["policy"], c["busy"]): c for c in cells if c["threads"] == 1}
    print(f"{'machine':8} {'OMP_WAIT_POLICY':16} {'threads':>7} {'s/epoch':>8} {'CPU s/epoch':>12} {'vs 1 thread':>12}")
    for c in cells:
        base = one.get((c["policy"], c["busy"]))
        ratio = f"{c['wall_s'] / base['wall_s']:.2f}x" if base else "-"
        cpu_ratio = f" (CPU {c['cpu_s'] / base['cpu_s']:.2f}x)" if base else ""
        machine = "busy" if c["busy"] else "idle"
        print(
            f"{machine:8} {c['policy']:16} {c['threads']:>7} {c['wall_s']:>8.3f} {c['cpu_s']:>12.3f} "
            f"{ratio:>12}{cpu_ratio}  load {c['load1_before']:.2f}..{c['load1_after']:.2f}"
            f"  repeats {' '.join(f'{w:.2f}' for w in c['wall_repeats'])}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"uptime_before": before, "uptime_after": after, "cells": cells}, indent=2))


if __name__ == "__main__":
    main()
