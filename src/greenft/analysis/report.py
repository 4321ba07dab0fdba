"""The trade-off report: from runs to tables (CSV + Markdown), Pareto fronts, replay checks and plots.

The entry points ``greenft analyze`` (and the tuner, for its Markdown tables) use. The work is split by kind:
:mod:`greenft.analysis.compute` computes (:func:`analyze`, pure), :mod:`greenft.analysis.markdown` renders
the page (:func:`render_markdown`, :func:`markdown_table`, pure) and :mod:`greenft.analysis.writing` writes
the folder (:func:`write_report`: CSV tables, PNG and HTML figures, ``report.md``).
"""

from greenft.analysis.compute import Analysis, ReplayCheck, analyze, default_grid, default_rules
from greenft.analysis.markdown import markdown_table, render_markdown
from greenft.analysis.writing import ReportFiles, write_report

__all__ = [
    "Analysis",
    "ReplayCheck",
    "ReportFiles",
    "analyze",
    "default_grid",
    "default_rules",
    "markdown_table",
    "render_markdown",
    "write_report",
]
