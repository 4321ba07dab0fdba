"""Write the report folder ``greenft analyze`` produces, from an :class:`~greenft.analysis.compute.Analysis`.

``report.md`` (everything in one readable page, figures embedded), ``report.html`` (the same blocks: every table,
sortable, with interactive plotly figures), ``*.png`` (matplotlib), and the tables ``runs.csv``, ``epochs.csv``,
``tradeoff_runs.csv``,
``tradeoff_summary.csv``, ``tradeoff_overall.csv``, ``grid_summary.csv``, ``pareto_relative.csv``,
``pareto_absolute.csv``, ``hypervolume.csv``, ``replay_check.csv``, ``anges_stops.csv``, ``importance.csv``,
``rule_importance.csv``,
``phase_runs.csv``, ``phase_summary.csv``, ``break_even.csv``, ``precision_table.csv`` and
``break_even_measured.csv``; for a training sweep also ``training_params.csv`` and ``training_runs.csv``.

Why apart from the computing and the Markdown: this is the only part that touches the disk and the heavy
stacks (pandas for CSV, matplotlib and plotly for figures), each imported when the report is written.

Every file is written atomically (the tables and the Markdown through :mod:`greenft.io`; the figures are drawn
in a hidden staging folder inside the report folder and moved into place one by one, ``write_files_into``), so a
report that cannot be finished (a full disk) leaves each earlier file whole, old or new, never half of one; the
error is one line naming the file (:class:`~greenft.io.OutputError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenft.analysis.compute import Analysis
from greenft.analysis.markdown import render_markdown
from greenft.io import atomic_file, atomic_write_text, output_errors, write_files_into

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportFiles", "write_report"]

REPORT_FOLDER = "report folder"


@dataclass
class ReportFiles:
    """Paths of what :func:`write_report` wrote."""

    out_dir: Path
    markdown: Path
    html: Path | None
    tables: list[Path]
    pngs: list[Path]


def write_report(
    analysis: Analysis,
    out_dir: Path,
    *,
    png: bool = True,
    html: bool = True,
    max_curves: int = 12,
) -> ReportFiles:
    """Write the report folder (see the module docstring); returns the paths written."""
    import pandas as pd

    from greenft.analysis.reader import epochs_frame, runs_frame

    with output_errors(out_dir, REPORT_FOLDER):
        out_dir.mkdir(parents=True, exist_ok=True)
    tables: list[Path] = []

    def table(name: str, rows: Sequence[dict[str, Any]] | pd.DataFrame) -> Path:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        path = out_dir / name
        with atomic_file(path) as handle:
            frame.to_csv(handle, index=False)
        tables.append(path)
        return path

    table("runs.csv", runs_frame(analysis.records))
    table("epochs.csv", epochs_frame(analysis.records))
    table("tradeoff_runs.csv", [c.as_dict() for c in analysis.comparisons])
    if analysis.worth:
        table("baselines.csv", [r.as_dict() for r in analysis.worth])
    table("tradeoff_summary.csv", [r.as_flat_dict() for r in analysis.summary])
    table("tradeoff_overall.csv", [r.as_flat_dict() for r in analysis.overall])
    table("grid_summary.csv", [r.as_flat_dict() for r in analysis.grid_summary])
    table("pareto_relative.csv", [p.as_dict() for p in analysis.pareto_relative])
    table("pareto_absolute.csv", [p.as_dict() for p in analysis.pareto_absolute])
    table("hypervolume.csv", [h.as_dict() for h in analysis.hypervolumes])
    table("replay_check.csv", [c.as_dict() for c in analysis.replay_checks])
    table("anges_stops.csv", [c.__dict__ for c in analysis.anges_checks])
    table("importance.csv", analysis.importance.rows)
    table("rule_importance.csv", [r.as_dict() for r in analysis.rule_grid.importance])  # alpha / beta / W ...
    if analysis.training.active:  # a training sweep (greenft.analysis.training_params)
        table("training_params.csv", [c.as_dict() for c in analysis.training.correlations])
        table("training_runs.csv", [r.as_dict() for runs in analysis.training.runs.values() for r in runs])
    table("phase_runs.csv", [r.as_dict() for r in analysis.phase_runs])
    table("phase_summary.csv", [r.as_flat_dict() for r in analysis.phases])
    table("break_even.csv", [r.as_flat_dict() for r in analysis.break_even])
    table("precision_table.csv", [r.as_flat_dict() for r in analysis.precision])
    table("break_even_measured.csv", [r.as_dict() for r in analysis.break_even_measured])

    pngs: list[Path] = []
    html_path: Path | None = None
    if png or html:
        from greenft.analysis import plots

        if png:
            pngs = write_files_into(
                out_dir, lambda staging: plots.write_pngs(analysis, staging, max_curves=max_curves), REPORT_FOLDER
            )
        if html:
            (html_path,) = write_files_into(
                out_dir,
                lambda staging: [plots.write_html(analysis, staging / "report.html", max_curves=max_curves, pngs=pngs)],
                REPORT_FOLDER,
            )
    markdown = atomic_write_text(out_dir / "report.md", render_markdown(analysis, pngs, html_path))
    return ReportFiles(out_dir, markdown, html_path, tables, pngs)
