"""``greenft pretrain NAME``: self-supervised pretraining on the offline corpus, with a progress bar.

Ctrl-C (or SIGTERM) finishes the current step, saves a resumable state and exits with 130;
``greenft pretrain NAME --resume`` continues exactly where it stopped. Errors a user can fix print one line
and exit with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from greenft.cli.app import USER_ERRORS, app, console, fail
from greenft.io import ensure_writable_directory, output_errors
from greenft.pretrain.recipes import RECIPES, GraphModel, Preset, SequenceTokens, get_recipe, make_settings
from greenft.tracking.config import Meter
from greenft.tracking.grid import choose_grid, grid_line


@app.command()
def pretrain(
    name: Annotated[str, typer.Argument(help=f"the recipe: {', '.join(RECIPES)}")],
    corpus_size: Annotated[int | None, typer.Option(help="molecules sampled from MOSES (default 50,000)")] = None,
    epochs: Annotated[int | None, typer.Option(help="passes over the corpus (default 1)")] = None,
    steps: Annotated[int | None, typer.Option(help="optimizer steps in total (overrides --epochs)")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory (default $GREENFT_HOME/checkpoints/NAME)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run saved in the run directory")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="discard a previous run in the directory")] = False,
    preset: Annotated[
        Preset, typer.Option(help="cpu (3 x 128) or gpu (ChemBERTa 6 x 768 / Hu-MolCLR 5 x 300)")
    ] = "cpu",
    batch_size: Annotated[int | None, typer.Option(help="molecules per step")] = None,
    lr: Annotated[float | None, typer.Option(help="peak learning rate")] = None,
    layers: Annotated[int | None, typer.Option(help="encoder layers")] = None,
    emb_dim: Annotated[int | None, typer.Option(help="hidden width")] = None,
    heads: Annotated[int | None, typer.Option(help="attention heads (transformers)")] = None,
    max_length: Annotated[int | None, typer.Option(help="tokens per molecule incl. <s> </s> (transformers)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of initialisation, order, masking")] = None,
    vocab_size: Annotated[
        int | None, typer.Option(help="ecfp-mlm only: BPE vocabulary size, an upper bound (default 10,000)")
    ] = None,
    min_frequency: Annotated[
        int | None, typer.Option(help="ecfp-mlm only: corpus count a BPE merge needs (default 2)")
    ] = None,
    corpus_file: Annotated[Path | None, typer.Option(help="your own SMILES file instead of MOSES")] = None,
    save_every: Annotated[int | None, typer.Option(help="steps between resumable states (default 200)")] = None,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads")] = None,
    country: Annotated[
        str | None,
        typer.Option(help="ISO-3 country for grid carbon intensity (default: your CodeCarbon config, else USA)"),
    ] = None,
    meter: Annotated[Meter | None, typer.Option(help="codecarbon (default), or wallclock (time only)")] = None,
    sequence_tokens: Annotated[
        SequenceTokens | None, typer.Option(help="dual-view: the sequence view's tokens (default smiles)")
    ] = None,
    graph_model: Annotated[
        GraphModel | None, typer.Option(help="dual-view: the graph view's GNN (default gin)")
    ] = None,
    graph_layers: Annotated[int | None, typer.Option(help="dual-view: GNN layers (default --layers)")] = None,
    graph_emb_dim: Annotated[int | None, typer.Option(help="dual-view: GNN width (default --emb-dim)")] = None,
    mlm_weight: Annotated[float | None, typer.Option(help="dual-view: weight of the masked-LM loss (1)")] = None,
    contrastive_weight: Annotated[
        float | None, typer.Option(help="dual-view: weight of the graph views' NT-Xent loss (1)")
    ] = None,
    consistency_weight: Annotated[
        float | None, typer.Option(help="dual-view: weight of 2(1 - cos(h_cls, W [h_g1; h_g2])) (1)")
    ] = None,
) -> None:
    """Pretrain a model on the offline MOSES corpus (labelled datasets' molecules excluded) and save a checkpoint."""
    overrides: dict[str, Any] = {
        "corpus_size": corpus_size,
        "epochs": epochs,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "num_layers": layers,
        "emb_dim": emb_dim,
        "num_heads": heads,
        "max_length": max_length,
        "seed": seed,
        "vocab_size": vocab_size,
        "min_frequency": min_frequency,
        "corpus_file": corpus_file,
        "save_every": save_every,
        "threads": threads,
        "country_iso_code": country,
        "meter": meter,
        "sequence_tokens": sequence_tokens,
        "graph_model": graph_model,
        "graph_num_layers": graph_layers,
        "graph_emb_dim": graph_emb_dim,
        "mlm_weight": mlm_weight,
        "contrastive_weight": contrastive_weight,
        "consistency_weight": consistency_weight,
    }
    try:
        recipe = get_recipe(name)  # a wrong name or value is told before torch is imported
        if not resume:
            settings = make_settings(recipe, preset, **overrides)
            if settings.meter == "codecarbon":  # a bad country in .codecarbon.config: told before torch and folders
                choose_grid(settings.country_iso_code)
    except USER_ERRORS as err:
        fail(err)
    from greenft.pretrain.runner import PretrainInterrupted, PretrainProgress, PretrainStart, plan_run, run_pretraining

    try:
        plan = plan_run(name, out, resume=resume, overwrite=overwrite, preset=preset, overrides=overrides)
        if resume and plan.settings.meter == "codecarbon":  # the stored country; plan_run creates nothing
            choose_grid(plan.settings.country_iso_code)
        ensure_writable_directory(plan.run_dir, "pretraining run folder (--out)")  # before the corpus and model
    except USER_ERRORS as err:
        fail(err)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    state: dict[str, Any] = {}

    def on_start(start: PretrainStart) -> None:
        corpus = start.corpus.provenance()
        task = start.task_info
        sizes = f"{task.get('num_layers')} layers x {task.get('emb_dim')}"
        graph = task.get("graph")
        if isinstance(graph, dict):  # dual-view: two encoders
            sizes += f" + {graph.get('type')} {graph.get('num_layers')} layers x {graph.get('emb_dim')}"
        lines = [
            f"[bold]recipe[/] {name}: {task.get('objective')}",
            f"[bold]corpus[/] {corpus['size']:,} molecules from {corpus['source']} (sha256 {corpus['sha256'][:12]}); "
            f"excluded {corpus['excluded_candidates']} candidates found in labelled datasets "
            f"({', '.join(corpus['excluded_datasets']) or 'none'})",
            f"[bold]model[/] {task.get('type')} {sizes}, {start.parameters:,} parameters (with pretraining head), "
            f"device {start.device}",
            f"[bold]steps[/] {start.total_steps:,} ({start.steps_per_epoch:,} per epoch, batch "
            f"{start.plan.settings.batch_size})"
            + (f", resuming at step {start.start_step:,}" if start.start_step else ""),
            *(
                [
                    f"[bold]tokens[/] {task['tokenizer']['kind']}, vocabulary {task['tokenizer']['vocab_size']:,}; "
                    f"{task['truncated_molecules']:,} corpus molecules truncated at max_length {task['max_length']}"
                ]
                if "truncated_molecules" in task
                else []
            ),
            f"[bold]emissions[/] {start.meter_info.get('meter')}: {start.meter_info.get('note')}",
            *([f"[bold]grid[/] {grid}"] if (grid := grid_line(start.meter_info)) else []),
            f"[bold]run directory[/] {start.plan.run_dir}",
        ]
        console.print(Panel("\n".join(lines), title="greenft pretrain", expand=False))
        state["task"] = progress.add_task(name, total=start.total_steps, completed=start.start_step, loss="-")
        progress.start()

    def on_progress(update: PretrainProgress) -> None:
        parts = ", ".join(f"{name.removeprefix('loss_')} {value:.4f}" for name, value in update.terms.items())
        progress.update(
            state["task"], completed=update.step, loss=f"{update.loss:.4f}" + (f" ({parts})" if parts else "")
        )

    console.print(f"preparing corpus and model for {name} (the first run samples and caches the corpus)...")
    try:
        with output_errors(plan.run_dir, disk_only=True):  # a disk that fills up mid-run: one line, state kept
            result = run_pretraining(plan, on_start=on_start, on_progress=on_progress)
    except PretrainInterrupted as stop:
        progress.stop()
        where = "" if out is None else f" --out {out}"
        console.print(
            f"[yellow]stopped[/] at step {stop.step:,} of {stop.total_steps:,}; state saved in {stop.run_dir}.\n"
            f"continue with: greenft pretrain {name} --resume{where}",
            soft_wrap=True,
        )
        raise typer.Exit(code=130) from None
    except KeyboardInterrupt:  # a stop before the first step (corpus, model, start): nothing trained, nothing saved
        progress.stop()
        console.print(f"[yellow]interrupted[/] before the first step of {name}: nothing was trained or saved")
        raise typer.Exit(code=130) from None
    except USER_ERRORS as err:
        progress.stop()
        fail(err)
    progress.stop()
    p = result.provenance
    if result.already_finished:
        console.print(f"{name}: the run in {result.run_dir} had already finished; checkpoint {result.checkpoint}")
        return
    console.print(
        f"[bold green]checkpoint[/] {result.checkpoint} ({p.get('checkpoint_bytes', 0) / 1e6:.1f} MB), "
        f"{result.steps:,} steps, final loss {p.get('final_loss') or float('nan'):.4f}"
        + "".join(f", {k.removeprefix('loss_')} {v:.4f}" for k, v in (p.get("final_loss_terms") or {}).items()),
        soft_wrap=True,
    )
    console.print(
        f"[bold]pretraining cost[/] {result.emissions.emissions_kg:.3e} kg CO2-eq, {result.emissions.energy_kwh:.3e} "
        f"kWh, {result.emissions.duration_s:.0f} s ({p.get('sessions', 1)} session(s)); stored in the checkpoint and "
        "logged with every fine-tune that starts from it (amortised cost = this / number of fine-tunes)",
        soft_wrap=True,
    )
    models = get_recipe(name).models
    use = f"--model {models[0]}" + ("" if out is None else f" --checkpoint {result.checkpoint}")
    others = f" (or --model {', '.join(models[1:])})" if len(models) > 1 else ""
    console.print(f"fine-tune from it: greenft train {use} --dataset bbbp{others}", soft_wrap=True)
