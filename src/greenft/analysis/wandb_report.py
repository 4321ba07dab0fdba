"""A W&B Report (``wandb-workspaces``) over the source project: the ``green/*`` keys and the analysis run.

Why: the analysis run holds the tables; a Report is the page a team reads. This one puts the metric-free run
summary (:mod:`greenft.schema.green`) where W&B draws it: a parallel-coordinates panel of stop epoch, CO2 saved and
quality change with the rule's alpha/beta/W, a scatter of CO2 saved against quality change, and a link to the
analysis run. Online only (a Report lives on the server; saving needs ``wandb login``) and optional
(``pip install greenft[workspaces]``). Unverified here: no W&B server on the test machines; the test only checks
that the panels are built from these keys with the installed library.
"""

from __future__ import annotations

from typing import Any

from greenft.errors import UserError
from greenft.schema.summary import GREEN_CO2_SAVED, GREEN_QUALITY_CHANGE, GREEN_STOP_EPOCH

__all__ = ["REPORT_CONFIG", "REPORT_SUMMARY", "build_report", "save_report"]

#: The parallel-coordinates axes: the live AN-GES rule's parameters (run config), then the green summary keys.
REPORT_CONFIG = ("stopping.alpha", "stopping.beta", "stopping.warmup")
REPORT_SUMMARY = (GREEN_STOP_EPOCH, GREEN_CO2_SAVED, GREEN_QUALITY_CHANGE)


class WorkspacesMissing(UserError, ImportError):
    """``--wandb-report`` without the optional ``wandb-workspaces`` package."""


def _workspaces() -> Any:
    try:
        import wandb_workspaces.reports.v2 as wr
    except ImportError as err:
        raise WorkspacesMissing(
            "--wandb-report needs wandb-workspaces: pip install 'greenft[workspaces]' (or wandb-workspaces)"
        ) from err
    return wr


def build_report(entity: str, project: str, source: str, analysis_url: str | None) -> Any:
    """The Report object (not saved): a heading, a paragraph naming the source and the analysis run, one panel
    grid over the project's runs."""
    wr = _workspaces()
    columns = [wr.ParallelCoordinatesPlotColumn(metric=wr.Config(name)) for name in REPORT_CONFIG]
    columns += [wr.ParallelCoordinatesPlotColumn(metric=wr.SummaryMetric(name)) for name in REPORT_SUMMARY]
    panels = [
        wr.ParallelCoordinatesPlot(columns=columns, title="alpha, beta, W against stop, CO2 saved, quality"),
        wr.ScatterPlot(
            title="CO2 saved (%) vs quality change vs best-val (%)",
            x=wr.SummaryMetric(GREEN_CO2_SAVED),
            y=wr.SummaryMetric(GREEN_QUALITY_CHANGE),
        ),
    ]
    text = f"greenft analyze --source {source}: runs with green/* summary keys (shadow runs: quality change)."
    if analysis_url:
        text += f" The analysis run (trade-off table, Pareto chart, report artifact): {analysis_url}"
    return wr.Report(
        project=project,
        entity=entity,
        title=f"greenft: CO2 saved vs quality ({source})",
        blocks=[
            wr.H1("CO2 saved vs quality"),
            wr.P(text),
            wr.PanelGrid(runsets=[wr.Runset(entity=entity, project=project, name="runs")], panels=panels),
        ],
    )


def save_report(report: Any) -> str:
    """Save the Report on the server; returns its URL."""
    report.save()
    return str(report.url)
