"""``greenft checkpoint inspect PATH``: what a checkpoint is and whether it loads into a greenft encoder.

Before spending energy on a fine-tune, a user can check that a published file (Hu et al., MolCLR) or one of
greenft's own loads cleanly: format, architecture, parameters, and the encoder keys loaded / missing /
unexpected / mis-shaped, with the projection or prediction head the authors saved beside the encoder listed as
ignored. Exit 0 when every encoder key fits, 1 when some do not, 2 when the file cannot be read at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from greenft.cli.app import app, command_group, console, fail
from greenft.models.config import CHECKPOINT_FORMATS
from greenft.models.errors import CheckpointError

if TYPE_CHECKING:
    from greenft.models.published import LoadReport

checkpoint_app = command_group("Pretrained encoder checkpoints.")
app.add_typer(checkpoint_app, name="checkpoint")


def _keys(keys: list[str], limit: int = 6) -> str:
    if not keys:
        return "0"
    shown = ", ".join(keys[:limit]) + (f", ... (+{len(keys) - limit})" if len(keys) > limit else "")
    return f"{len(keys)}: {shown}"


def report_as_dict(report: LoadReport) -> dict[str, object]:
    """The inspection as plain data (``--json``), with the same fields as the table."""
    detected = report.detected
    layout = detected.layout
    return {
        "path": str(detected.path),
        "format": detected.format_label,
        "format_given": detected.format_given,
        "model": layout.model,
        "architecture": {
            "description": layout.description,
            "conv": layout.conv,
            "num_layers": detected.num_layers,
            "emb_dim": detected.emb_dim,
            "atom_vocabulary": layout.num_atom_types,
            "bond_vocabulary": layout.num_bond_types,
        },
        "featurizer": layout.featurizer.name,
        "encoder_parameters": report.encoder_parameters,
        "file_tensors": detected.file_tensors,
        "encoder_keys_loaded": len(report.loaded_keys),
        "missing_encoder_keys": report.missing_keys,
        "unexpected_encoder_keys": report.unexpected_keys,
        "mis_shaped_encoder_keys": report.mismatched,
        "ignored_head_keys": detected.ignored_head_keys,
        "provenance": detected.provenance,
        "evidence": detected.evidence,
        "loads_cleanly": report.ok,
    }


@checkpoint_app.command("inspect")
def inspect(
    path: Annotated[Path, typer.Argument(help="a .pth / .pt checkpoint (Hu et al., MolCLR or greenft)")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"one of {', '.join(CHECKPOINT_FORMATS)}; auto detects it")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Format, architecture, parameters, and whether the encoder loads with no missing or unexpected keys."""
    try:
        if not path.exists():  # told before torch is imported; the reader says the same of a missing file
            raise CheckpointError(f"checkpoint not found: {path}")
        from greenft.models.published import inspect_checkpoint

        report = inspect_checkpoint(path, fmt)
    except CheckpointError as err:
        fail(err)
    data = report_as_dict(report)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        _print(report)
    raise typer.Exit(code=0 if report.ok else 1)


def _print(report: LoadReport) -> None:
    detected, layout = report.detected, report.detected.layout
    table = Table(show_header=False, title=escape(f"checkpoint {detected.path}"), title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    given = " (given)" if detected.format_given else " (detected)"
    table.add_row("format", detected.format_label + given)
    table.add_row(
        "architecture",
        f"{layout.description}: {detected.num_layers} layers x {detected.emb_dim}, atom vocabulary "
        f"{layout.num_atom_types}, bond vocabulary {layout.num_bond_types}",
    )
    table.add_row("greenft model", f"{layout.model} (featuriser {layout.featurizer.name})")
    table.add_row("encoder parameters", f"{report.encoder_parameters:,} ({detected.file_tensors} tensors in file)")
    table.add_row("encoder keys loaded", f"{len(report.loaded_keys)} of {len(report.encoder.state_dict())}")
    table.add_row("missing encoder keys", escape(_keys(report.missing_keys)))
    table.add_row("unexpected encoder keys", escape(_keys(report.unexpected_keys)))
    table.add_row("mis-shaped encoder keys", escape(_keys(report.mismatched, limit=3)))
    table.add_row("ignored head keys", escape(_keys(detected.ignored_head_keys)))
    if detected.provenance:
        table.add_row("provenance", escape(json.dumps(detected.provenance, default=str)))
    table.add_row("why this format", escape("; ".join(detected.evidence)))
    console.print(table)
    if report.ok:
        console.print(
            f"[green]loads cleanly[/] into a greenft {layout.model} encoder: "
            + escape(f"greenft train --model {layout.model} --checkpoint {detected.path}"),
            soft_wrap=True,
        )
    else:
        console.print(f"[red]does not load cleanly[/]: {escape(report.problems())}", soft_wrap=True)
