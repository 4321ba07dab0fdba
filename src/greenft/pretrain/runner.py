"""The pretraining loop shared by every objective: resumable, emission-metered, reproducible.

Reproducibility and resumption. The batch order of epoch ``e`` is a permutation seeded by ``(seed, e)`` and
every step ``s`` reseeds torch's global RNG (dropout) and a private generator (masking, augmentations) from
``(seed, s)``. A run's randomness is therefore a function of the step number alone, and a resumed run that
restores model, optimizer and LR schedule at step ``s`` computes exactly what an uninterrupted run computes
(tested). The state (``pretrain_state.pt`` in the run directory: weights, optimizer, schedule, step, settings,
corpus hash, emissions so far) is written atomically every ``save_every`` steps and when the run is stopped:
the first Ctrl-C or SIGTERM lets the current step finish, saves, and ends the run (exit 130); a second Ctrl-C
interrupts at once (then at most ``save_every`` steps are redone on resume).

Emissions. A CodeCarbon meter runs over the whole loop (corpus loading and featurisation excluded; they are
cached and shared between runs). A resumed run adds its own measurement to what the state carried, so the
checkpoint's ``emissions_kg`` is the cost of all sessions together. Work done after the last saved state of
a run that was killed outright (SIGKILL, power loss) is redone on resume; its emissions are not counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import shutil
import signal
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from greenft.agents.threads import apply_threads, choose_threads
from greenft.data.corpus import Corpus, load_corpus
from greenft.io import atomic_save
from greenft.models.checkpoint_paths import CHECKPOINT_SUBDIR, default_run_dir, directory_bytes
from greenft.models.torch_io import load_torch_file
from greenft.pretrain.recipes import PretrainConfigError, PretrainSettings, Recipe, get_recipe, make_settings
from greenft.signals import handling
from greenft.tracking import EmissionMeter, EmissionReading, make_emission_meter
from greenft.tracking.hardware import cpu_model

STATE_FILE = "pretrain_state.pt"  # in the run directory, beside checkpoint/
STATE_FORMAT = "greenft-pretrain-state"
STATE_VERSION = 1
LOG_FILE = "pretrain_log.jsonl"
LOG_EVERY = 10


class PretrainTask(Protocol):
    """An objective the loop steps through. A task whose loss has named parts may also keep the last step's parts
    as ``last_terms`` (``{"loss_<part>": value}``, e.g. dual-view's three losses): the log then carries each
    part's mean beside ``loss``; tasks without it log ``loss`` alone, as before."""

    @property
    def model(self) -> nn.Module: ...
    @property
    def num_examples(self) -> int: ...
    def loss(self, indices: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor: ...
    def save(self, target: Path, provenance: dict[str, Any]) -> Path: ...
    def describe(self) -> dict[str, Any]: ...


class PretrainInterrupted(KeyboardInterrupt):
    """The run was stopped (Ctrl-C / SIGTERM) after saving a resumable state."""

    def __init__(self, step: int, total_steps: int, run_dir: Path) -> None:
        super().__init__(f"stopped at step {step} of {total_steps}; state saved in {run_dir}")
        self.step, self.total_steps, self.run_dir = step, total_steps, run_dir


@dataclass
class PretrainPlan:
    """What to run: the recipe, its settings, where, and the state to resume from (if any)."""

    recipe: Recipe
    settings: PretrainSettings
    run_dir: Path
    state: dict[str, Any] | None = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / CHECKPOINT_SUBDIR


@dataclass(frozen=True)
class PretrainProgress:
    step: int
    total_steps: int
    epoch: int
    loss: float  # mean over the steps since the previous report
    lr: float
    elapsed_s: float
    terms: dict[str, float] = field(default_factory=dict)  # each named loss part's mean (dual-view), else empty


@dataclass
class PretrainStart:
    """What a display needs before the first step."""

    plan: PretrainPlan
    corpus: Corpus
    task_info: dict[str, Any]
    parameters: int
    steps_per_epoch: int
    total_steps: int
    start_step: int
    meter_info: dict[str, Any]
    device: str


@dataclass
class PretrainResult:
    name: str
    run_dir: Path
    checkpoint: Path
    steps: int
    total_steps: int
    resumed_from: int
    emissions: EmissionReading
    provenance: dict[str, Any] = field(default_factory=dict)
    already_finished: bool = False


# ----------------------------------------------------------------------------------------------- planning


def _load_state(path: Path) -> dict[str, Any]:
    state = load_torch_file(path, "pretraining state")
    if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
        raise PretrainConfigError(f"{path}: not a greenft pretraining state (format/version)")
    return state


def plan_run(
    name: str,
    run_dir: Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    preset: str = "cpu",
    overrides: dict[str, Any] | None = None,
) -> PretrainPlan:
    """Settings and state for ``greenft pretrain NAME``; refuses to clobber or silently change a run.

    Resuming takes the settings stored in the state; an override that changes what the run computes (sizes,
    corpus, learning rate, steps...) is an error naming the setting, since the result would be neither run.
    """
    recipe = get_recipe(name)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(name)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    state_path = run_dir / STATE_FILE
    if resume and overwrite:
        raise PretrainConfigError("--resume and --overwrite exclude each other")
    if resume:
        if not state_path.is_file():
            raise PretrainConfigError(f"nothing to resume: {state_path} does not exist (start without --resume)")
        state = _load_state(state_path)
        if state.get("recipe") != name:
            raise PretrainConfigError(f"{state_path}: is a {state.get('recipe')!r} run, not {name!r}")
        stored = make_settings(recipe, "cpu", **state["settings"])
        changed = [
            f"{k} = {v!r} (the run uses {stored.result_fields().get(k)!r})"
            for k, v in overrides.items()
            if k in stored.result_fields() and make_settings(recipe, "cpu", **{**state["settings"], k: v}) != stored
        ]
        if changed:
            raise PretrainConfigError(f"cannot resume {run_dir} with different settings: {'; '.join(changed)}")
        execution = {k: v for k, v in overrides.items() if k in PretrainSettings.EXECUTION_FIELDS}
        return PretrainPlan(recipe, stored.model_copy(update=execution), run_dir, state)
    if state_path.is_file() or (run_dir / CHECKPOINT_SUBDIR).exists():
        if not overwrite:
            raise PretrainConfigError(
                f"{run_dir} already holds a pretraining run; pass --resume to continue it or --overwrite to "
                "start again (or --out another directory)"
            )
        state_path.unlink(missing_ok=True)
        shutil.rmtree(run_dir / CHECKPOINT_SUBDIR, ignore_errors=True)
        (run_dir / LOG_FILE).unlink(missing_ok=True)
    return PretrainPlan(recipe, make_settings(recipe, preset, **overrides), run_dir, None)


# ----------------------------------------------------------------------------------------------- tasks


def make_task(
    recipe: Recipe, settings: PretrainSettings, corpus: Corpus, cache_dir: Path | None = None
) -> PretrainTask:
    """The recipe's objective over ``corpus``; the model is initialised from ``settings.seed``."""
    torch.manual_seed(settings.seed)
    if recipe.objective == "dual-view":
        from greenft.pretrain.dual_view import DualViewTask

        return DualViewTask(settings, corpus, cache_dir)
    if recipe.objective == "mlm":
        from greenft.pretrain.mlm import MlmTask

        assert recipe.kind is not None
        return MlmTask.from_settings(recipe.kind, corpus.smiles, settings, recipe.name, corpus.provenance())
    from greenft.models.graph_layouts import graph_encoder
    from greenft.models.pretrained_graph import graph_checkpoint_saver
    from greenft.models.registry import get_family
    from greenft.pretrain.contrastive import ContrastiveTask

    assert recipe.base_model is not None
    family = get_family(recipe.base_model)
    graphs = family.encode(list(corpus.smiles), np.zeros((len(corpus), 1)), cache_dir)
    torch.manual_seed(settings.seed)
    encoder = graph_encoder(recipe.base_model, settings.num_layers, settings.emb_dim, settings.dropout)
    architecture = {
        "type": recipe.base_model,
        "num_layers": settings.num_layers,
        "emb_dim": settings.emb_dim,
    }
    saver = graph_checkpoint_saver(recipe.base_model, recipe.name, architecture)
    return ContrastiveTask(
        graphs, encoder, saver, architecture, settings.temperature, settings.augmentation_rate, settings.augmentations
    )


# ----------------------------------------------------------------------------------------------- helpers


def step_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + 17) % (2**63 - 1)


def epoch_order(seed: int, epoch: int, n: int) -> list[int]:
    generator = torch.Generator().manual_seed((seed * 1_000_033 + epoch * 104_729 + 5) % (2**63 - 1))
    return torch.randperm(n, generator=generator).tolist()


def schedule(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """LR multiplier: linear warm-up over ``warmup_fraction`` of the steps, then linear decay to 0."""
    warmup = max(1, round(warmup_fraction * total_steps)) if warmup_fraction > 0 else 0

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        remaining = total_steps - step
        return max(0.0, remaining / max(1, total_steps - warmup))

    return factor


def _fingerprint(recipe: Recipe, settings: PretrainSettings, corpus_digest: str) -> str:
    payload = json.dumps([recipe.name, settings.result_fields(), corpus_digest], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _atomic_torch_save(payload: dict[str, Any], path: Path) -> None:
    atomic_save(path, lambda handle: torch.save(payload, handle))


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


class _StopRequest:
    """First SIGINT/SIGTERM: set a flag (the loop saves and stops after this step); second SIGINT: interrupt now."""

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        def handler(signum: int, frame: types.FrameType | None) -> None:
            if self.requested and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.requested = True

        with handling(handler):
            yield


def make_pretrain_meter(settings: PretrainSettings, run_dir: Path) -> EmissionMeter:
    return make_emission_meter(
        settings.meter,
        settings.country_iso_code,
        settings.measure_power_secs,
        run_dir,
        "greenft-pretrain",
        run_dir.name,  # emissions.csv's experiment_id: one row per session of this run (docs/logging.md)
    )


def resolve_device() -> torch.device:
    """CUDA when torch sees a GPU (pretraining is where a GPU pays most), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------------------------- the loop


def run_pretraining(
    plan: PretrainPlan,
    *,
    corpus: Corpus | None = None,
    emission_meter: EmissionMeter | None = None,
    on_start: Callable[[PretrainStart], None] | None = None,
    on_progress: Callable[[PretrainProgress], None] | None = None,
    cache_dir: Path | None = None,
    stop_after: int | None = None,
) -> PretrainResult:
    """Run (or resume) ``plan`` to its last step and write the checkpoint; see the module docstring.

    ``stop_after`` ends the session after that many steps as if Ctrl-C had been pressed (tests, time boxes).
    """
    recipe, settings, run_dir = plan.recipe, plan.settings, plan.run_dir
    apply_threads(choose_threads(settings.threads))  # the same default as a trial's: the cores actually free
    if corpus is None:
        corpus = load_corpus(settings.corpus_size, settings.corpus_seed, settings.corpus_file, cache_dir=cache_dir)
    fingerprint = _fingerprint(recipe, settings, corpus.digest)
    state = plan.state
    if state is not None and state.get("fingerprint") != fingerprint:
        raise PretrainConfigError(
            f"{run_dir / STATE_FILE}: the corpus or settings differ from the run being resumed (corpus sha256 "
            f"{corpus.digest[:12]} vs {str(state.get('corpus_sha256'))[:12]})"
        )
    if state is not None and state.get("finished"):
        checkpoint = plan.checkpoint_dir
        if checkpoint.exists():
            emissions = EmissionReading(**state["emissions"])
            return PretrainResult(
                recipe.name, run_dir, checkpoint, int(state["step"]), int(state["step"]), int(state["step"]),
                emissions, dict(state.get("provenance", {})), already_finished=True,
            )  # fmt: skip
        raise PretrainConfigError(f"{run_dir}: the run finished but its checkpoint is missing; use --overwrite")

    task = make_task(recipe, settings, corpus, cache_dir)
    device = resolve_device()
    model = task.model.to(device)
    n = task.num_examples
    steps_per_epoch = max(1, n // settings.batch_size)
    total_steps = settings.steps if settings.steps is not None else settings.epochs * steps_per_epoch
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(total_steps, settings.warmup_fraction))
    start_step, sessions = 0, 1
    carried = EmissionReading()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_step = int(state["step"])
        sessions = int(state.get("sessions", 1)) + 1
        carried = EmissionReading(**state["emissions"])
    run_dir.mkdir(parents=True, exist_ok=True)
    active_meter = emission_meter if emission_meter is not None else make_pretrain_meter(settings, run_dir)
    active_meter.start()
    meter_info = active_meter.describe()
    if on_start is not None:
        on_start(
            PretrainStart(
                plan, corpus, task.describe(), sum(p.numel() for p in model.parameters()), steps_per_epoch,
                total_steps, start_step, meter_info, str(device),
            )
        )  # fmt: skip

    def state_payload(step: int, emissions: EmissionReading, finished: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "recipe": recipe.name,
            "settings": settings.result_fields(),
            "fingerprint": fingerprint,
            "corpus_sha256": corpus.digest,
            "step": step,
            "total_steps": total_steps,
            "sessions": sessions,
            "finished": finished,
            "emissions": {
                "emissions_kg": emissions.emissions_kg,
                "energy_kwh": emissions.energy_kwh,
                "duration_s": emissions.duration_s,
            },
            "rng": {"scheme": "per-step seeds derived from (seed, step); per-epoch order from (seed, epoch)"},
        }
        if not finished:
            payload["model"] = model.state_dict()
            payload["optimizer"] = optimizer.state_dict()
            payload["scheduler"] = scheduler.state_dict()
        return payload

    stop = _StopRequest()
    step = start_step
    losses: list[float] = []
    last_loss = float("nan")
    term_values: dict[str, list[float]] = {}
    last_terms: dict[str, float] = {}
    started = time.perf_counter()
    order: list[int] = []
    order_epoch = -1
    log_path = run_dir / LOG_FILE
    try:
        with stop.installed(), log_path.open("a") as log:
            model.train()
            while step < total_steps:
                epoch, position = divmod(step, steps_per_epoch)
                if epoch != order_epoch:
                    order, order_epoch = epoch_order(settings.seed, epoch, n), epoch
                indices = order[position * settings.batch_size : (position + 1) * settings.batch_size]
                seed = step_seed(settings.seed, step)
                torch.manual_seed(seed)
                generator = torch.Generator().manual_seed(seed + 1)
                optimizer.zero_grad(set_to_none=True)
                loss = task.loss(indices, generator, device)
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
                optimizer.step()
                scheduler.step()
                step += 1
                losses.append(float(loss.detach()))
                for name, value in getattr(task, "last_terms", {}).items():
                    term_values.setdefault(name, []).append(value)
                if step % LOG_EVERY == 0 or step == total_steps:
                    last_loss = sum(losses) / len(losses)
                    last_terms = {name: sum(values) / len(values) for name, values in term_values.items()}
                    lr = float(scheduler.get_last_lr()[0])
                    line = {"step": step, "epoch": epoch + 1, "loss": last_loss, **last_terms, "lr": lr}
                    log.write(json.dumps(line) + "\n")
                    log.flush()
                    losses, term_values = [], {}
                    if on_progress is not None:
                        elapsed = time.perf_counter() - started
                        on_progress(
                            PretrainProgress(step, total_steps, epoch + 1, last_loss, lr, elapsed, dict(last_terms))
                        )
                if step < total_steps and (step % settings.save_every == 0):
                    _atomic_torch_save(state_payload(step, carried.plus(active_meter.read())), run_dir / STATE_FILE)
                if step < total_steps and (
                    stop.requested or (stop_after is not None and step - start_step >= stop_after)
                ):
                    raise PretrainInterrupted(step, total_steps, run_dir)
    except PretrainInterrupted:
        # A clean stop between two steps: the state is exact, save it with this session's emissions.
        reading = active_meter.stop()
        _atomic_torch_save(state_payload(step, carried.plus(reading)), run_dir / STATE_FILE)
        raise
    except KeyboardInterrupt:
        # A hard interrupt (second Ctrl-C) may land inside an optimizer step: the weights in memory are not
        # a consistent state, so the last periodic state is kept and resuming redoes the steps since then.
        with contextlib.suppress(Exception):
            active_meter.stop()
        saved = _load_state(run_dir / STATE_FILE).get("step", start_step) if (run_dir / STATE_FILE).is_file() else 0
        raise PretrainInterrupted(int(saved), total_steps, run_dir) from None
    except BaseException:
        with contextlib.suppress(Exception):
            active_meter.stop()
        raise
    total = carried.plus(active_meter.stop())
    provenance = {
        "recipe": recipe.name,
        "objective": task.describe().get("objective"),
        "made_by": f"greenft pretrain {recipe.name}",
        "greenft_version": _package_version("greenft"),
        "torch_version": str(torch.__version__),
        "transformers_version": _package_version("transformers") if recipe.objective != "contrastive" else None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "corpus": corpus.provenance(),
        "steps": total_steps,
        "epochs": round(total_steps / steps_per_epoch, 3),
        "batch_size": settings.batch_size,
        "seed": settings.seed,
        "settings": settings.result_fields(),
        "final_loss": last_loss if math.isfinite(last_loss) else None,
        **({"final_loss_terms": last_terms} if last_terms else {}),
        "emissions_kg": total.emissions_kg,
        "energy_kwh": total.energy_kwh,
        "duration_s": total.duration_s,
        "sessions": sessions,
        "codecarbon": meter_info,
        "hardware": {"device": str(device), "cpu": cpu_model(), "threads": torch.get_num_threads()},
    }
    checkpoint = task.save(plan.checkpoint_dir, provenance)
    provenance["checkpoint_bytes"] = directory_bytes(checkpoint)
    final_state = state_payload(total_steps, total, finished=True)
    final_state["provenance"] = provenance
    _atomic_torch_save(final_state, run_dir / STATE_FILE)
    return PretrainResult(recipe.name, run_dir, checkpoint, total_steps, total_steps, start_step, total, provenance)


def pretrain(
    name: str,
    run_dir: Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    preset: str = "cpu",
    corpus: Corpus | None = None,
    emission_meter: EmissionMeter | None = None,
    on_progress: Callable[[PretrainProgress], None] | None = None,
    stop_after: int | None = None,
    **overrides: Any,
) -> PretrainResult:
    """One call from a recipe name to a checkpoint (the Python face of ``greenft pretrain``)."""
    plan = plan_run(name, run_dir, resume=resume, overwrite=overwrite, preset=preset, overrides=overrides)
    return run_pretraining(
        plan, corpus=corpus, emission_meter=emission_meter, on_progress=on_progress, stop_after=stop_after
    )
