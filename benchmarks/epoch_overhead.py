"""What greenft's per-epoch bookkeeping costs: emission tracking, W&B, and the training step itself.

Three figures, measured on the same molecules, the same split and the same model size:

1. Seconds per epoch of greenft's full trial loop (``run_trial``, stopping rule ``none`` so every run does the
   same number of epochs) with the CodeCarbon meter vs the time-only ``WallClockMeter``, once with W&B
   disabled (W&B's cost excluded) and once with W&B offline (W&B's cost included). The overhead of emission
   tracking is ``(codecarbon - wallclock) / wallclock``.
2. Seconds per training epoch of greenft's ``train_epoch`` on its GIN vs a bare torch-geometric loop (a stack of
   ``GINEConv`` layers of the same depth and width, the same integer atom and bond features embedded, mean
   pooling, a linear head, Adam, BCE-with-logits) with no greenft code inside the timed region; a third row runs
   the bare loop on greenft's model, which splits the difference into loop code vs architecture.
3. The machine and run context: versions, threads, CPU, dataset and split sizes, parameter counts, and the
   CodeCarbon meter's own description (on a box without RAPL, CPU power is estimated from load).

On a small shared box a concurrent test run distorts timings far more than anything measured here (torch's
threads stall when a core is taken), so every measurement also records how contended it was: the cores *other*
processes used meanwhile (machine busy time minus this process and its children, e.g. W&B's service) and the
time this process's threads spent runnable but waiting for a CPU (Linux run-queue wait from
``/proc/self/task/*/schedstat``, per second of wall time). Before each measurement the script waits for other
processes to idle (``--wait-quiet`` seconds in all), re-runs a measurement whose run-queue wait exceeded
``--max-wait`` (``--retries``), keeps the least contended attempt and flags it with ``!`` if it stayed above.

Usage::

    python benchmarks/epoch_overhead.py [--dataset b3db] [--limit 2000] [--epochs 5] [--layers 3]
        [--emb-dim 128] [--batch-size 64] [--threads N] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import psutil  # type: ignore[import-untyped]  # installed with codecarbon
import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GINEConv, global_mean_pool

from greenft.agents.config import TrialConfig
from greenft.agents.fit import TargetScaler, train_epoch
from greenft.agents.trial import TrialContext, make_meter, resolve_device, run_trial
from greenft.data import LabelledMolecules, Split, TaskType, get_dataset_spec, load_molecules, make_split
from greenft.data.featurize import NUM_ATOM_TYPES, NUM_BOND_DIRECTIONS, NUM_BOND_TYPES, NUM_CHIRALITY_TAGS
from greenft.models import ModelConfig, get_family
from greenft.tracking import EmissionMeter, EmissionReading
from greenft.tracking.hardware import cpu_model

SEED = 0
LR = 1e-3
METERS = ("wallclock", "codecarbon")
WANDB_MODES = ("disabled", "offline")
T = TypeVar("T")


# --------------------------------------------------------------------------------------------------- helpers


def median(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.median(items) if items else float("nan")


def pct(new: float, base: float) -> float:
    return 100.0 * (new - base) / base if base > 0 else float("nan")


@dataclass(frozen=True)
class CpuReading:
    other_cores: float  # CPU used by other processes, in cores
    own_cpu_s: float  # CPU seconds of this process and its children
    wait: float  # run-queue wait of this process's threads, seconds per wall second (NaN where unreadable)


def _run_queue_wait_s() -> float:
    """Seconds this process's live threads have spent runnable but waiting for a CPU (Linux schedstat)."""
    total = 0
    try:
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):  # a thread that just ended
                total += int((task / "schedstat").read_text().split()[1])
    except OSError:
        return float("nan")
    return total / 1e9


class CpuMonitor:
    """Over an interval: this process tree's CPU seconds, its run-queue wait, and other processes' CPU."""

    def __init__(self) -> None:
        self._me = psutil.Process()
        self._t0 = self._busy0 = self._own0 = self._wait0 = 0.0

    @staticmethod
    def _machine_busy() -> float:
        c = psutil.cpu_times()
        return float(sum(getattr(c, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")))

    def _own(self) -> float:
        times = self._me.cpu_times()
        total = float(times.user + times.system + times.children_user + times.children_system)
        for child in self._me.children(recursive=True):  # W&B's service process, if running
            try:
                ct = child.cpu_times()
                total += float(ct.user + ct.system)
            except psutil.Error:
                pass
        return total

    def start(self) -> None:
        self._wait0 = _run_queue_wait_s()
        self._t0, self._busy0, self._own0 = time.perf_counter(), self._machine_busy(), self._own()

    def read(self) -> CpuReading:
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        own = self._own() - self._own0
        foreign = (self._machine_busy() - self._busy0) - own
        wait = max(0.0, _run_queue_wait_s() - self._wait0)
        return CpuReading(max(0.0, foreign / elapsed), own, wait / elapsed)


class QuietWaiter:
    """Before a measurement, wait (from a shared budget of ``--wait-quiet`` seconds) until other processes idle."""

    def __init__(self, budget_s: float, threshold: float, log: Console) -> None:
        self.budget_s, self.threshold, self.log = budget_s, threshold, log
        self.waited_s = 0.0

    def wait(self, what: str) -> None:
        announced = False
        while self.waited_s < self.budget_s:
            probe = CpuMonitor()
            probe.start()
            time.sleep(0.5)
            load = probe.read().other_cores
            if load <= self.threshold:
                return
            self.waited_s += 0.5
            if not announced:
                self.log.print(f"  {what}: other processes use {load:.2f} cores; waiting for them to idle ...")
                announced = True


def measure(
    run: Callable[[], T],
    load_of: Callable[[T], float],
    args: argparse.Namespace,
    quiet: QuietWaiter,
    what: str,
) -> tuple[T, int]:
    """``run()`` after waiting for quiet; again (up to ``--retries`` times) if its run-queue wait was too high.

    Returns the least contended attempt and the number of re-runs.
    """
    attempts: list[tuple[float, T]] = []
    for attempt in range(args.retries + 1):
        quiet.wait(what)
        result = run()
        wait = load_of(result)
        attempts.append((wait, result))
        if not wait > args.max_wait:  # NaN (no schedstat): accept
            break
        if attempt < args.retries:
            quiet.log.print(f"  {what}: threads waited {wait:.2f} s/s for a CPU (contended); measuring again")
    best = min(attempts, key=lambda pair: pair[0])[1]
    return best, len(attempts) - 1


class TimedMeter:
    """Wraps a greenft meter and times its calls, so the meter's in-loop cost is measured directly."""

    def __init__(self, inner: EmissionMeter) -> None:
        self.inner = inner
        self.read_s = 0.0
        self.reads = 0

    def start(self) -> None:
        self.inner.start()

    def read(self) -> EmissionReading:
        t0 = time.perf_counter()
        reading = self.inner.read()
        self.read_s += time.perf_counter() - t0
        self.reads += 1
        return reading

    def stop(self) -> EmissionReading:
        return self.inner.stop()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


# ------------------------------------------------------------------------------------- part 1: trial loop


@dataclass
class TrialTiming:
    meter: str
    wandb_mode: str
    epochs: int
    total_s: float  # wall clock around run_trial
    loop_s: float  # on_start callback -> last on_epoch callback: the epoch loop only
    records_s: float  # the run's own records: last epoch's cumulative fit + test_eval duration (meter clock)
    meter_read_s: float  # time inside meter.read() (2 reads per epoch)
    other_load: float  # cores used by other processes during the loop
    cpu_s: float  # CPU seconds of this process and its children (W&B's service) during the loop
    wait: float  # run-queue wait of this process's threads during the loop, s per wall s
    retries: int = 0
    epoch_s: list[float] = field(default_factory=list)  # intervals between consecutive callbacks

    @property
    def per_epoch(self) -> float:
        return self.loop_s / self.epochs

    @property
    def cpu_per_epoch(self) -> float:
        return self.cpu_s / self.epochs

    @property
    def records_per_epoch(self) -> float:
        return self.records_s / self.epochs

    @property
    def one_off_s(self) -> float:
        return self.total_s - self.loop_s


def trial_config(args: argparse.Namespace, meter: str, wandb_mode: str, runs_dir: Path, epochs: int) -> TrialConfig:
    return TrialConfig.model_validate(
        {
            "seed": SEED,
            "threads": args.threads,
            "device": args.device,
            "data": {"dataset": args.dataset, "limit": args.limit or None},
            "model": {"name": "gin", "num_layers": args.layers, "emb_dim": args.emb_dim},
            "optim": {"lr": LR, "batch_size": args.batch_size, "max_epochs": epochs},
            "stopping": {"rule": "none"},
            "mode": "live",
            "tracking": {"meter": meter, "measure_power_secs": args.measure_power_secs},
            "logging": {"wandb_mode": wandb_mode, "runs_dir": str(runs_dir), "project": "greenft-benchmark"},
        }
    )


def time_trial(
    args: argparse.Namespace, meter: str, wandb_mode: str, work: Path, epochs: int
) -> tuple[TrialTiming, dict[str, Any]]:
    """One ``run_trial``; per-epoch time from callback timestamps, so setup and teardown are excluded."""
    config = trial_config(args, meter, wandb_mode, work / "runs", epochs)
    meter_dir = Path(tempfile.mkdtemp(prefix=f"{meter}-", dir=work))
    timed = TimedMeter(make_meter(config, meter_dir))  # the meter run_trial would build for this config
    marks: list[float] = []
    load = CpuMonitor()
    cpu: list[CpuReading] = []

    def on_start(context: TrialContext) -> None:
        load.start()
        marks.append(time.perf_counter())

    def on_epoch(record: Any, context: TrialContext) -> None:
        marks.append(time.perf_counter())
        if record.epoch == epochs:
            cpu.append(load.read())

    t0 = time.perf_counter()
    result = run_trial(config, on_start=on_start, on_epoch=on_epoch, meter=timed)
    total = time.perf_counter() - t0
    if len(result.epochs) != epochs:
        raise RuntimeError(f"expected {epochs} epochs, the trial ran {len(result.epochs)}")
    last = result.epochs[-1]
    timing = TrialTiming(
        meter=meter,
        wandb_mode=wandb_mode,
        epochs=epochs,
        total_s=total,
        loop_s=marks[-1] - marks[0],
        records_s=last.fit.duration_s + last.test_eval.duration_s,
        meter_read_s=timed.read_s,
        other_load=cpu[0].other_cores,
        cpu_s=cpu[0].own_cpu_s,
        wait=cpu[0].wait,
        epoch_s=[b - a for a, b in itertools.pairwise(marks)],
    )
    return timing, result.meter_info


# ------------------------------------------------------------------------------ part 2: the training step


class BareGIN(nn.Module):
    """Plain PyG: atom/bond embeddings, ``GINEConv`` + BatchNorm + ReLU + dropout, mean pool, linear head."""

    def __init__(self, num_layers: int, emb_dim: int, num_tasks: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        self.atom_type = nn.Embedding(NUM_ATOM_TYPES, emb_dim)
        self.chirality = nn.Embedding(NUM_CHIRALITY_TAGS, emb_dim)
        self.bond_type = nn.ModuleList([nn.Embedding(NUM_BOND_TYPES, emb_dim) for _ in range(num_layers)])
        self.bond_dir = nn.ModuleList([nn.Embedding(NUM_BOND_DIRECTIONS, emb_dim) for _ in range(num_layers)])
        self.convs = nn.ModuleList(
            [
                GINEConv(nn.Sequential(nn.Linear(emb_dim, 2 * emb_dim), nn.ReLU(), nn.Linear(2 * emb_dim, emb_dim)))
                for _ in range(num_layers)
            ]
        )
        self.norms = nn.ModuleList([nn.BatchNorm1d(emb_dim) for _ in range(num_layers)])
        self.head = nn.Linear(emb_dim, num_tasks)

    def forward(self, data: Data) -> torch.Tensor:
        h = self.atom_type(data.x[:, 0]) + self.chirality(data.x[:, 1])
        last = len(self.convs) - 1
        for i, (conv, norm, bond_type, bond_dir) in enumerate(
            zip(self.convs, self.norms, self.bond_type, self.bond_dir, strict=True)
        ):
            edges = bond_type(data.edge_attr[:, 0]) + bond_dir(data.edge_attr[:, 1])
            h = norm(conv(h, data.edge_index, edges))
            if i < last:
                h = torch.relu(h)
            h = nn.functional.dropout(h, self.dropout, training=self.training)
        out: torch.Tensor = self.head(global_mean_pool(h, data.batch))
        return out


def bare_train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    classification: bool,
    mean: torch.Tensor,
    std: torch.Tensor,
    device: torch.device,
) -> float:
    """A textbook PyG loop: no greenft code in here (``model(data)`` is the only call into the model)."""
    model.train()
    total, batches = 0.0, 0
    for cpu_data in loader:
        data = cpu_data.to(device)
        optimizer.zero_grad()
        out = model(data)
        mask = ~torch.isnan(data.y)
        if classification:
            loss = nn.functional.binary_cross_entropy_with_logits(out[mask], data.y[mask])
        else:
            loss = nn.functional.mse_loss(out[mask], ((data.y - mean) / std)[mask])
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class LoopTiming:
    label: str
    params: int
    per_repeat_s: list[float] = field(default_factory=list)  # mean seconds per epoch, one per repeat
    epochs_s: list[float] = field(default_factory=list)  # every timed epoch
    cpu_per_repeat_s: list[float] = field(default_factory=list)  # CPU seconds per epoch, one per repeat
    other_load: list[float] = field(default_factory=list)  # cores used by other processes, one per repeat
    wait: list[float] = field(default_factory=list)  # run-queue wait, s per wall s, one per repeat
    retries: int = 0

    @property
    def per_epoch(self) -> float:
        return median(self.per_repeat_s)

    @property
    def cpu_per_epoch(self) -> float:
        return median(self.cpu_per_repeat_s)


GREENFT, BARE, HYBRID = "greenft", "bare", "hybrid"


def time_training_step(
    args: argparse.Namespace, molecules: LabelledMolecules, split: Split, graphs: list[Data], quiet: QuietWaiter
) -> dict[str, LoopTiming]:
    """The loops on the same training graphs, batches (same seeded shuffle), threads and model size.

    ``greenft``: greenft's train_epoch on its GIN with the family's loader; ``bare``: a plain PyG loop on a
    GINEConv stack with PyG's DataLoader; ``hybrid``: the plain loop on greenft's GIN.
    """
    dropout = ModelConfig().dropout
    task_type = molecules.spec.task_type
    device = resolve_device(args.device)
    family = get_family("gin")
    train_graphs = [graphs[i] for i in split.train]
    model_config = ModelConfig(name="gin", num_layers=args.layers, emb_dim=args.emb_dim, dropout=dropout)

    def pyg_loader(seed: int) -> DataLoader:  # the bare loop's: torch_geometric's own DataLoader
        return DataLoader(train_graphs, args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))

    def greenft_loader(seed: int) -> Iterable[Any]:  # run_trial's: the model family's loader
        return family.loader(train_graphs, args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))

    def greenft_model() -> nn.Module:
        torch.manual_seed(SEED)
        return family.build(model_config, molecules.num_tasks).model.to(device)

    scaler = TargetScaler.fit(molecules.labels[split.train], task_type)
    classification = task_type is TaskType.CLASSIFICATION
    mean, std = scaler.mean.to(device), scaler.std.to(device)  # the bare loop standardises regression targets

    g_model = greenft_model()
    g_opt = torch.optim.Adam(g_model.parameters(), lr=LR)
    torch.manual_seed(SEED)
    b_model = BareGIN(args.layers, args.emb_dim, molecules.num_tasks, dropout).to(device)
    b_opt = torch.optim.Adam(b_model.parameters(), lr=LR)
    h_model = greenft_model()
    h_opt = torch.optim.Adam(h_model.parameters(), lr=LR)

    runners: dict[str, Callable[[int], object]] = {
        GREENFT: lambda seed: train_epoch(g_model, greenft_loader(seed), g_opt, task_type, scaler, device),
        BARE: lambda seed: bare_train_epoch(b_model, pyg_loader(seed), b_opt, classification, mean, std, device),
        HYBRID: lambda seed: bare_train_epoch(h_model, pyg_loader(seed), h_opt, classification, mean, std, device),
    }
    timings = {
        GREENFT: LoopTiming("greenft train_epoch + greenft GIN (family loader)", count(g_model)),
        BARE: LoopTiming("bare PyG loop + GINEConv stack (no greenft code)", count(b_model)),
        HYBRID: LoopTiming("bare PyG loop + greenft GIN (loop vs model split)", count(h_model)),
    }

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def block(name: str, repeat: int) -> tuple[list[float], CpuReading]:
        """``--epochs`` timed epochs of one loop: their seconds, and the CPU reading over them."""
        load = CpuMonitor()
        load.start()
        times = []
        for epoch in range(args.epochs):
            sync()
            t0 = time.perf_counter()
            runners[name](SEED + 1 + repeat * args.epochs + epoch)  # same seed for every loop: same batches
            sync()
            times.append(time.perf_counter() - t0)
        return times, load.read()

    for run in runners.values():  # one warm-up epoch each, untimed
        run(SEED)
    names = list(runners)
    for repeat in range(args.repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]  # rotate the order to cancel drift
        for name in order:
            quiet.log.print(f"repeat {repeat + 1}/{args.repeats}: {args.epochs} training epochs, {name} loop ...")
            (times, reading), retries = measure(
                functools.partial(block, name, repeat),
                lambda result: result[1].wait,
                args,
                quiet,
                f"{name} training epochs",
            )
            timing = timings[name]
            timing.per_repeat_s.append(sum(times) / len(times))
            timing.epochs_s.extend(times)
            timing.other_load.append(reading.other_cores)
            timing.wait.append(reading.wait)
            timing.cpu_per_repeat_s.append(reading.own_cpu_s / len(times))
            timing.retries += retries
    return timings


# ------------------------------------------------------------------------------------------------ output


def fmt(seconds: float) -> str:
    return f"{seconds:.3f}"


def fmt_pct(value: float) -> str:
    return f"{value:+.1f}%"


def spread(values: list[float]) -> str:
    return ", ".join(fmt(v) for v in values)


def fmt_contention(others: list[float], waits: list[float], max_wait: float) -> str:
    """The worst run's other-process cores and run-queue wait; ``!`` where the wait exceeded ``max_wait``."""
    worst_wait = max(waits, default=0.0)
    flag = " !" if worst_wait > max_wait else ""
    return f"{max(others, default=0.0):.2f} / {worst_wait:.2f}{flag}"


def print_trial_table(console: Console, timings: list[TrialTiming], args: argparse.Namespace) -> None:
    table = Table(
        title=f"1. Full trial loop: run_trial, rule 'none', {args.epochs} epochs; {args.repeats} run(s) per row",
        title_justify="left",
    )
    columns = ("W&B", "meter", "s/epoch (median)", "per run", "CPU s/ep", "records s/ep", "read() ms/ep", "one-off s")
    for name in (*columns, "others / wait"):
        table.add_column(name, justify="left" if name in ("W&B", "meter") else "right")

    def runs(meter: str, mode: str) -> list[TrialTiming]:
        return [t for t in timings if t.meter == meter and t.wandb_mode == mode]

    for mode in WANDB_MODES:
        for meter in METERS:
            rows = runs(meter, mode)
            table.add_row(
                mode,
                meter,
                fmt(median(t.per_epoch for t in rows)),
                spread([t.per_epoch for t in rows]),
                fmt(median(t.cpu_per_epoch for t in rows)),
                fmt(median(t.records_per_epoch for t in rows)),
                f"{1000 * median(t.meter_read_s / t.epochs for t in rows):.2f}",
                f"{median(t.one_off_s for t in rows):.2f}",
                fmt_contention([t.other_load for t in rows], [t.wait for t in rows], args.max_wait),
            )
    console.print(table)

    def loop(meter: str, mode: str) -> float:
        return median(t.per_epoch for t in runs(meter, mode))

    def cpu(meter: str, mode: str) -> float:
        return median(t.cpu_per_epoch for t in runs(meter, mode))

    def read_s(meter: str, mode: str) -> float:
        return median(t.meter_read_s / t.epochs for t in runs(meter, mode))

    summary = Table(title="1b. Overheads per epoch (from the medians above)", title_justify="left")
    summary.add_column("comparison")
    summary.add_column("wall time", justify="right")
    summary.add_column("CPU time", justify="right")
    summary.add_column("direct: extra read() time", justify="right")
    for mode in WANDB_MODES:
        direct = (read_s("codecarbon", mode) - read_s("wallclock", mode)) / loop("wallclock", mode)
        summary.add_row(
            f"emission tracking (codecarbon - wallclock) / wallclock, W&B {mode}",
            fmt_pct(pct(loop("codecarbon", mode), loop("wallclock", mode))),
            fmt_pct(pct(cpu("codecarbon", mode), cpu("wallclock", mode))),
            fmt_pct(100 * direct),
        )
    for meter in METERS:
        summary.add_row(
            f"W&B offline vs disabled, {meter} meter",
            fmt_pct(pct(loop(meter, "offline"), loop(meter, "disabled"))),
            fmt_pct(pct(cpu(meter, "offline"), cpu(meter, "disabled"))),
            "",
        )
    console.print(summary)
    console.print(
        "s/epoch: (last on_epoch callback - on_start callback) / epochs = the whole epoch loop (train, validation, "
        "meter reads, test eval, rules, JSONL + W&B logging). CPU s/ep: CPU seconds of this process and its "
        "children (CodeCarbon's sampling thread, W&B's service) per epoch; less sensitive to other processes than "
        "wall time, but idle torch threads spin, so it rises under contention too. records s/ep: the run's own "
        "records, last epoch's cumulative fit + test_eval duration / epochs (meter clock, from meter start). "
        "read() ms/ep: time inside the meter's read() (2 calls per epoch). one-off s: run_trial wall time minus "
        "the loop (data loading, featurisation from the warm cache, model build, W&B init/finish, meter "
        "start/stop), excluded from s/epoch. direct: the extra read() time as a share of a wallclock epoch, a "
        "noise-free lower bound on the overhead (misses CodeCarbon's background sampling thread). others / wait: "
        "the most CPU cores other processes used during one run's loop / the most time this process's threads "
        f"waited for a CPU per second ('!' above {args.max_wait} = contended: treat that row with care)."
    )


def print_step_table(console: Console, step: dict[str, LoopTiming], args: argparse.Namespace) -> None:
    table = Table(
        title=f"2. Training epoch only: {args.repeats} repeat(s) x {args.epochs} timed epochs, after 1 warm-up epoch",
        title_justify="left",
    )
    columns = ("loop + model", "params", "s/epoch (median)", "per repeat", "fastest", "vs bare", "CPU s/ep")
    for name in (*columns, "others / wait"):
        table.add_column(name, justify="left" if name == "loop + model" else "right")
    bare = step[BARE].per_epoch
    for timing in step.values():
        table.add_row(
            timing.label,
            f"{timing.params:,}",
            fmt(timing.per_epoch),
            spread(timing.per_repeat_s),
            fmt(min(timing.epochs_s)),
            f"{timing.per_epoch / bare:.3f}x",
            fmt(timing.cpu_per_epoch),
            fmt_contention(timing.other_load, timing.wait, args.max_wait),
        )
    console.print(table)
    ratio = step[GREENFT].per_epoch / bare
    loop_part = step[GREENFT].per_epoch / step[HYBRID].per_epoch
    model_part = step[HYBRID].per_epoch / bare
    console.print(
        f"greenft / bare = {ratio:.3f} ({fmt_pct(100 * (ratio - 1))}) = loop code {loop_part:.3f} (greenft / hybrid) "
        f"x model {model_part:.3f} (hybrid / bare). s/epoch: median over repeats of each repeat's mean epoch; fastest: "
        "the fastest single epoch. Same "
        "training graphs, same seeded batches, same threads, same depth/width/parameter count. The models differ "
        "in one way: greenft's GIN (Hu et al. 2020) adds a self-loop edge per atom with its own bond embedding; "
        "GINEConv adds the node's own features instead and applies ReLU to each message."
    )


def print_context(
    console: Console,
    args: argparse.Namespace,
    molecules: LabelledMolecules,
    split: Split,
    graphs: list[Data],
    setup: dict[str, float],
    step: dict[str, LoopTiming],
    retries: int,
    waited_s: float,
    meter_info: dict[str, Any],
) -> None:
    table = Table(title="3. Context", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    nodes = sum(int(g.num_nodes) for g in graphs)
    device = resolve_device(args.device)
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("python / platform", f"{platform.python_version()} / {platform.platform()}"),
        (
            "torch / PyG / codecarbon / wandb",
            f"{torch.__version__} / {version('torch-geometric')} / {version('codecarbon')} / {version('wandb')}",
        ),
        (
            "CPU / device",
            f"{cpu_model('unknown')} ({os.cpu_count()} logical CPUs); device {device}"
            + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "; no GPU used"),
        ),
        ("torch threads", f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op"),
        (
            "dataset",
            f"{molecules.spec.name} ({molecules.spec.task_type.value}, {molecules.spec.metric.value}, "
            f"{molecules.num_tasks} task(s)): {len(molecules.smiles)} molecules"
            + (f" (--limit {args.limit}, fixed sample)" if args.limit else " (all)")
            + f", {nodes / len(graphs):.1f} atoms/molecule",
        ),
        ("split (scaffold, seed 0)", "train {} / val {} / test {}".format(*split.sizes())),
        (
            "model",
            f"{args.layers} layers x {args.emb_dim}, dropout {ModelConfig().dropout}, batch {args.batch_size}, "
            f"Adam lr {LR}; params: greenft GIN {step[GREENFT].params:,}, bare GINEConv {step[BARE].params:,}",
        ),
        (
            "one-off setup (excluded)",
            f"load+canonicalise {fmt(setup['load_s'])} s, scaffold split {fmt(setup['split_s'])} s, "
            f"featurise (cache warm-up) {fmt(setup['featurise_s'])} s, warm-up trial {fmt(setup['warmup_s'])} s",
        ),
        (
            "other processes",
            f"waited {waited_s:.0f} s for them to idle (budget {args.wait_quiet:.0f} s); measurements re-run for "
            f"contention: {retries} (--max-wait {args.max_wait} s/s, --retries {args.retries}); process nice "
            f"{os.nice(0)}",
        ),
        (
            "CodeCarbon meter",
            ", ".join(f"{k}={meter_info.get(k)}" for k in ("meter", "codecarbon_version", "hardware")),
        ),
        ("CodeCarbon note", str(meter_info.get("note"))),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if meter_info.get("cpu_power_estimated"):
        console.print(
            "NOTE: CodeCarbon reads no power sensor on this machine (no RAPL/NVML): CPU power is ESTIMATED from CPU "
            "load x TDP, so the kWh and kg CO2 it records are estimates. The timings above are measured."
        )


# -------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dataset", default="b3db", help="a built-in greenft dataset (default b3db)")
    parser.add_argument("--limit", type=int, default=2000, help="fixed sample of N molecules; 0 = all")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per trial run, and timed epochs per repeat")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--emb-dim", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="as TrialConfig.device")
    parser.add_argument("--repeats", type=int, default=2, help="runs per configuration; medians are reported")
    parser.add_argument(
        "--measure-power-secs", type=float, default=5.0, help="CodeCarbon's sampling interval (greenft default 5)"
    )
    parser.add_argument(
        "--max-other-load", type=float, default=0.25, help="wait for other processes to use less CPU (cores) first"
    )
    parser.add_argument(
        "--max-wait", type=float, default=0.1, help="run-queue wait (s per s) above which a measurement is contended"
    )
    parser.add_argument("--retries", type=int, default=2, help="re-runs of a measurement above --max-wait")
    parser.add_argument(
        "--wait-quiet", type=float, default=60.0, help="seconds in all to wait for other processes to idle first"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every raw timing to this JSON file")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1 or args.retries < 0:
        parser.error("--epochs and --repeats must be >= 1, --retries >= 0")
    if args.limit and args.limit < 10:
        parser.error("--limit must be 0 (all) or >= 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    os.environ.setdefault("WANDB_SILENT", "true")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    console = Console(width=None if sys.stdout.isatty() else 120)
    log = Console(stderr=True, width=None if sys.stderr.isatty() else 120)  # progress; the tables go to stdout
    quiet = QuietWaiter(args.wait_quiet, args.max_other_load, log)

    # One-off setup, timed but excluded: reading the data, the split, the feature cache warm-up.
    setup: dict[str, float] = {}
    t0 = time.perf_counter()
    molecules = load_molecules(get_dataset_spec(args.dataset), limit=args.limit or None)
    setup["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    split = make_split(molecules.smiles, TrialConfig().data.split, SEED, TrialConfig().data.split_fractions)
    setup["split_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    graphs = list(get_family("gin").encode(molecules.smiles, molecules.labels))  # fills the cache run_trial reads
    setup["featurise_s"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="greenft-bench-") as tmp:
        work = Path(tmp)
        # Warm-up: the first epoch in a process pays one-off costs (PyG/torch lazy init), and the first W&B
        # offline run starts W&B's service process; neither belongs to a per-epoch figure.
        log.print("warm-up trial (1 epoch, W&B offline, wallclock meter) ...")
        t0 = time.perf_counter()
        time_trial(args, "wallclock", "offline", work, epochs=1)
        setup["warmup_s"] = time.perf_counter() - t0

        timings: list[TrialTiming] = []
        meter_info: dict[str, Any] = {}
        variants = [(mode, meter) for mode in WANDB_MODES for meter in METERS]
        for repeat in range(args.repeats):
            order = variants if repeat % 2 == 0 else variants[::-1]  # interleaved, alternating: cancels drift
            for mode, meter in order:
                log.print(f"repeat {repeat + 1}/{args.repeats}: run_trial meter={meter} wandb={mode} ...")
                (timing, info), retries = measure(
                    functools.partial(time_trial, args, meter, mode, work, args.epochs),
                    lambda result: result[0].wait,
                    args,
                    quiet,
                    f"run_trial {meter}/{mode}",
                )
                timing.retries = retries
                timings.append(timing)
                if meter == "codecarbon":
                    meter_info = info

        step = time_training_step(args, molecules, split, graphs, quiet)

    retries_total = sum(t.retries for t in timings) + sum(t.retries for t in step.values())
    if args.json is not None:  # written first, so a closed pipe on stdout loses nothing
        payload = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "setup_s": setup,
            "waited_for_quiet_s": quiet.waited_s,
            "trial_runs": [
                {
                    **asdict(t),
                    "per_epoch_s": t.per_epoch,
                    "cpu_per_epoch_s": t.cpu_per_epoch,
                    "records_per_epoch_s": t.records_per_epoch,
                }
                for t in timings
            ],
            "training_step": {
                name: {**asdict(t), "per_epoch_s": t.per_epoch, "cpu_per_epoch_s": t.cpu_per_epoch}
                for name, t in step.items()
            },
            "meter_info": meter_info,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": cpu_model("unknown"),
            "molecules": len(molecules.smiles),
            "split_sizes": split.sizes(),
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    print_trial_table(console, timings, args)
    console.print()
    print_step_table(console, step, args)
    console.print()
    print_context(console, args, molecules, split, graphs, setup, step, retries_total, quiet.waited_s, meter_info)

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
