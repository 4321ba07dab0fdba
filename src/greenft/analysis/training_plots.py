"""Per-epoch validation curves of a training sweep, grouped by each varying parameter (the seed's figures 6-13).

One figure per parameter and (model, dataset): every run a thin line coloured by its parameter value (a range's
runs in 3 groups, :func:`~greenft.analysis.training_params.group_by_value`), each group's per-epoch mean
(:func:`~greenft.analysis.training_params.mean_curve`) a thick line of the same colour.
Both panels are always drawn, linear and log y, rather than a ``--log-y`` flag: the seed needed the log scale to
see where the curves flatten, and the linear one to see the early epochs; one figure answers both without a
second run of ``greenft analyze``. A row for the validation metric, and one for the validation loss (the seed's
``val_loss``) when the runs logged it.

Each run's line carries ``gid = "run:<run id>"`` and each mean ``gid = "mean:<group label>"``, so a test can count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from greenft.analysis.records import Curve
from greenft.analysis.training_params import (
    TrainingStudy,
    VaryingParameter,
    figure_name,
    group_by_value,
    mean_curve,
)

__all__ = ["grouped_curves_figure", "write_training_pngs"]


def grouped_curves_figure(
    parameter: VaryingParameter, groups: dict[str, list[Curve]], title: str, *, with_loss: bool
) -> Figure:
    """The figure (not saved): rows validation metric [and loss], columns linear and log y."""
    series = [("val", "validation metric")] + ([("val_loss", "validation loss")] if with_loss else [])
    fig, axes = plt.subplots(len(series), 2, figsize=(11.0, 3.6 * len(series)), squeeze=False)
    cmap = plt.get_cmap("viridis" if parameter.numeric else "tab10")
    values = list(groups)
    for r, (attr, ylabel) in enumerate(series):
        for c, scale in enumerate(("linear", "log")):
            ax = axes[r][c]
            for k, value in enumerate(values):
                color = (
                    cmap(0.85 * k / max(1, len(values) - 1)) if parameter.numeric else cmap(k % 10)
                )  # no pale yellow
                lines: list[Sequence[float]] = []
                for curve in groups[value]:
                    ys = getattr(curve, attr) or ()
                    lines.append(ys)
                    ax.plot(range(1, len(ys) + 1), ys, color=color, lw=0.9, alpha=0.55, gid=f"run:{curve.run_id}")
                mean = mean_curve(lines)
                ax.plot(
                    range(1, len(mean) + 1),
                    mean,
                    color=color,
                    lw=2.8,
                    gid=f"mean:{value}",
                    label=f"{value} (n={len(lines)})",
                )
            ax.set_yscale(scale)
            ax.set_xlabel("epoch")
            metric = groups[values[0]][0].metric if attr == "val" else "loss"
            ax.set_ylabel(f"{ylabel} ({metric})")
            ax.set_title(f"{scale} y", fontsize=9)
            ax.grid(alpha=0.3, which="both")
    axes[0][1].legend(title=parameter.name, fontsize=8, title_fontsize=8, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def write_training_pngs(study: TrainingStudy, curves: Sequence[Curve], out_dir: Path) -> list[Path]:
    """One PNG per varying parameter and (model, dataset) group of ``study``."""
    by_id = {c.run_id: c for c in curves}
    written = []
    for (model, dataset), params in study.parameters.items():
        runs = study.runs[(model, dataset)]
        members = [by_id[r.run_id] for r in runs if r.run_id in by_id]
        with_loss = bool(members) and all(c.val_loss is not None for c in members)
        for parameter in params:
            groups = {
                value: [by_id[i] for i in ids if i in by_id] for value, ids in group_by_value(runs, parameter).items()
            }
            title = f"{model} on {dataset}: per-epoch validation curves by {parameter.name} (thick: mean per group)"
            fig = grouped_curves_figure(parameter, groups, title, with_loss=with_loss)
            path = out_dir / figure_name(parameter.name, model, dataset)
            fig.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(fig)
            written.append(path)
    return written
