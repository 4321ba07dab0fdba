"""The HTML report carries the report's numbers (issue 18, item 4): every table of report.md in report.html with the
same header and rows, sortable; Pareto points labelled with the runs as small points instead of error bars; the
stopping-rule grid (alpha, beta, W) as parallel coordinates, heat maps and importances.

Fast tests use hand-made runs (no training); the browser tests (headless Chromium: screenshot, rendered DOM, a
click on a table header) read the report of the shipped fixture runs (tests/fixtures/training_sweep_esol.json).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import statistics
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hand_curves import as_record, make
from scipy.stats import spearmanr

from greenft.analysis.compute import Analysis, analyze, default_grid
from greenft.analysis.fronts import RelativePoint
from greenft.analysis.grid_plotly import grid_figures, heat_map_axes
from greenft.analysis.pareto_plotly import (
    CO2_SAVED_AXIS,
    KG_AXIS,
    annotation_anchor,
    cluster_label,
    pareto_figures,
    place_labels,
)
from greenft.analysis.records import RunRecord
from greenft.analysis.rule_grid import GridPoint, rule_grid
from greenft.analysis.tradeoff import spread
from greenft.analysis.writing import write_report
from greenft.stopping import AnGesConfig, rule_label

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "training_sweep_esol.json"
SCRIPT = ROOT / "scripts" / "screenshot-report.sh"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def hand_analysis() -> Analysis:
    """Three seeds whose validation curves dip at different epochs, so the grid's configs stop at different places."""
    curves = [
        make([0.60, 0.70, 0.75, 0.74, 0.76, 0.76, 0.77, 0.77], [0.50, 0.60, 0.70, 0.72, 0.80, 0.78, 0.79, 0.79],
             run_id="s0", seed=0),
        make([0.55, 0.65, 0.66, 0.70, 0.69, 0.72, 0.72, 0.73], [0.52, 0.63, 0.64, 0.69, 0.70, 0.71, 0.74, 0.73],
             run_id="s1", seed=1),
        make([0.58, 0.62, 0.61, 0.66, 0.68, 0.67, 0.70, 0.71], [0.57, 0.60, 0.62, 0.64, 0.66, 0.67, 0.69, 0.70],
             run_id="s2", seed=2),
    ]  # fmt: skip
    return analyze([as_record(c) for c in curves], source="hand-made")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Analysis, Path]:
    analysis = hand_analysis()
    out = tmp_path_factory.mktemp("report")
    write_report(analysis, out, png=False)
    return analysis, out


def md_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every GitHub Markdown table of a page: (header, rows), ``\\|`` unescaped, cells stripped."""
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.startswith("|"):
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    out = []
    for lines in (b for b in blocks if b):
        rows = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
        assert set("".join(rows[1])) <= {"-"}, lines[1]
        out.append((rows[0], rows[2:]))
    return out


class _Tables(HTMLParser):
    """Tables (header cells, body rows) and headings of an HTML page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self.headings: list[str] = []
        self.sortable = 0
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(([], []))
            self.sortable += ("class", "sortable") in attrs
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            header, rows = self.tables[-1]
            if not header:
                header.extend(self._row)
            else:
                rows.append(self._row)
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)


def html_tables(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def test_every_table_of_report_md_is_in_report_html_with_the_same_header_and_rows(
    report: tuple[Analysis, Path],
) -> None:
    _, out = report
    markdown = (out / "report.md").read_text()
    page = html_tables((out / "report.html").read_text())
    tables = md_tables(markdown)
    assert len(tables) >= 10  # summary, per run, k, AN-GES stops, fronts, grid, life-cycle tables ...
    assert page.tables == tables
    assert page.sortable == len(tables)
    headings = [re.sub(r"`|\*\*", "", line.lstrip("#").strip()) for line in markdown.split("\n") if line[:1] == "#"]
    assert page.headings == [*headings, "Interactive figures"]  # + the per-epoch curves, HTML only
    assert "Stopping-rule grid: parameters against CO2 saved and quality" in headings


def test_the_grid_importance_is_written_as_a_table_too(report: tuple[Analysis, Path]) -> None:
    analysis, out = report
    with (out / "rule_importance.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["rule"], r["target"], r["parameter"]) for r in rows] == [
        (r.rule, r.target, r.parameter) for r in analysis.rule_grid.importance
    ]
    assert {r["parameter"] for r in rows} == {"alpha", "beta", "warmup"}  # the AN-GES grid; patience has 4 configs


def test_the_html_puts_each_interactive_figure_in_its_section_and_needs_no_network(
    report: tuple[Analysis, Path],
) -> None:
    _, out = report
    page = (out / "report.html").read_text()
    pareto, grid = page.index("<h2 id='pareto-fronts'>"), page.index("<h2 id='stopping-rule-grid")
    figure = page.index("Pareto fronts (interactive): gin on b3db")
    assert pareto < figure < grid  # the figure sits under its tables, before the next section
    heat_map, importance = page.index("Heat map of the grid: gin on b3db, anges"), page.index("<h2 id='hyperparameter")
    assert grid < heat_map < importance
    assert "greenftSortBy" in page and page.count("plotly.js v") == 1  # sorting inline, plotly inlined once
    assert not re.search(r"<script[^>]+src=['\"]https?:", page)  # nothing fetched from a CDN


def test_report_md_keeps_its_text_and_gains_the_grid_section(report: tuple[Analysis, Path]) -> None:
    _, out = report
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# greenft trade-off report\n\nSource: `hand-made`. Runs read: 3;")
    assert "Interactive version: [report.html](report.html)." in markdown
    assert markdown.endswith("\n") and not markdown.endswith("\n\n")
    for config in (r for r in default_grid() if isinstance(r, AnGesConfig)):
        name = rule_label(config) + (" (headline)" if config == AnGesConfig() else "")
        row = f"| {name} | {config.alpha:g} | {config.beta:g} | {config.warmup} | 3 |"
        assert row in markdown  # each grid config with its alpha, beta and W, read back from its label


def _front_points(analysis: Analysis) -> list[RelativePoint]:
    return [r for r in analysis.pareto_relative if (r.model, r.dataset) == ("gin", "b3db")]


def _labels(figure: Any, axis: str) -> list[str]:
    """The texts of a figure's point labels (annotations on the data of one x axis)."""
    return [a.text for a in figure.layout.annotations if a.xref == axis]


def _means(figure: Any) -> list[Any]:
    """The traces of the configs' mean markers (hover text: every config at the point with its spread)."""
    return [t for t in figure.data if t.hoverinfo == "text"]


def test_pareto_points_are_labelled_runs_drawn_as_points_and_axes_titled(report: tuple[Analysis, Path]) -> None:
    analysis, _ = report
    (_, relative), (_, absolute) = pareto_figures(analysis, "gin", "b3db")
    points = _front_points(analysis)
    assert all(t.error_x.array is None and t.error_y.array is None for t in relative.data)  # no error bars
    for panel, (y_of, front_of) in enumerate(
        ((lambda r: r.test_vs_best_val_pct, lambda r: r.on_deployed_front), (lambda r: r.metric_change_pct,
                                                                              lambda r: r.on_front))
    ):  # fmt: skip
        axis = "x" if panel == 0 else "x2"
        at: dict[tuple[float, float], list[RelativePoint]] = {}
        for r in points:
            at.setdefault((round(r.emissions_saved_pct, 6), round(y_of(r), 6)), []).append(r)
        # one label per distinct point, naming the configs there, each with a leader line to its point
        assert sorted(_labels(relative, axis)) == sorted(cluster_label(m, front_of) for m in at.values())
        assert {(round(a.x, 6), round(a.y, 6)) for a in relative.layout.annotations if a.xref == axis} == set(at)
        assert all(a.showarrow for a in relative.layout.annotations if a.xref == axis)
        hovers = " ".join(h for t in _means(relative) if t.xaxis == axis for h in t.hovertext)
        assert all(
            f"<b>{r.strategy}</b>" in hovers
            for r in points
            if len(at[(round(r.emissions_saved_pct, 6), round(y_of(r), 6))]) <= 8
        )
        line = next(t for t in relative.data if t.name.startswith("Pareto front") and t.xaxis == axis)
        front = sorted((r for r in points if front_of(r)), key=lambda r: r.emissions_saved_pct)
        assert list(line.x) == [r.emissions_saved_pct for r in front]
    assert relative.layout.xaxis.title.text.startswith(CO2_SAVED_AXIS)
    assert CO2_SAVED_AXIS == "emissions saved vs full budget (%)" and "kg CO2-eq" in KG_AXIS
    assert absolute.layout.xaxis.title.text.startswith(KG_AXIS)
    front_points = {(p.emissions_kg, p.test_metric) for p in analysis.pareto_absolute if p.on_front}
    assert {(a.x, a.y) for a in absolute.layout.annotations if a.xref == "x"} == front_points  # front labelled


def test_the_spread_over_runs_is_on_hover_and_each_run_is_a_point(report: tuple[Analysis, Path]) -> None:
    analysis, _ = report
    (_, relative), _ = pareto_figures(analysis, "gin", "b3db")
    anges = "anges_a0.9_b0.2_w3"
    saved = [c.emissions_saved_pct for c in analysis.comparisons if c.strategy == anges]
    assert len(saved) == 3
    text = f"saved %: {statistics.fmean(saved):.1f} ± {statistics.stdev(saved):.1f} [min {min(saved):.1f}, " \
           f"max {max(saved):.1f}], n 3"  # fmt: skip
    hovers = " ".join(h for t in _means(relative) for h in t.hovertext)
    assert text in hovers
    runs = next(t for t in relative.data if t.name == "runs (seeds): headline and front configs" and t.xaxis == "x")
    shown = {(row[1], round(row[3], 6), round(y, 6)) for row, y in zip(runs.customdata, runs.y, strict=True)}
    assert {(c.run_id, round(c.emissions_saved_pct, 6), round(c.test_vs_best_val_pct, 6))
            for c in analysis.comparisons if c.strategy == anges} <= shown  # fmt: skip
    assert len(shown) == len(runs.x)  # each run's point once per position


def test_label_placement_separates_labels_and_keeps_them_on_the_plot() -> None:
    """Worked by hand on a 520 x 400 px plot, labels 6 px a character + 4, 14 px high, markers 10 px boxes."""
    corners = [(0.0, 0.0), (1.0, 1.0)]
    # Two labels at one point in the middle (260, 200 px): the first up-right (box 270-280 x 176-190, free); the
    # second would cover it there, so down-right (270-280 x 210-224).
    assert place_labels([(0.5, 0.5, "a"), (0.5, 0.5, "b")], corners) == [(10, -10), (10, 10)]
    # A 17-character label (106 px) at the right edge (520, 200): to the right it would leave the plot; up-left
    # (404-510 x 176-190) is on it and free.
    assert place_labels([(1.0, 0.5, "a long label here")], corners) == [(-10, -10)]
    assert annotation_anchor((-10, -10)) == {"xanchor": "right", "yanchor": "bottom"}
    assert place_labels([(0.5, 0.5, "")], corners) == [(0, 0)]


def test_grid_points_read_their_parameters_from_the_labels_and_rank_them() -> None:
    analysis = hand_analysis()
    points = {p.strategy: p for p in analysis.rule_grid.points}
    for config in (r for r in default_grid() if isinstance(r, AnGesConfig)):
        p = points[rule_label(config)]
        assert (p.rule, p.params["alpha"], p.params["beta"], p.params["warmup"]) == (
            "anges", config.alpha, config.beta, config.warmup)  # fmt: skip
    # Outcomes set by hand: CO2 saved grows with W only; Spearman must say +1 for W (scipy agrees) and fANOVA
    # must put W first.
    rows = [
        r.__class__(**{**r.__dict__, "emissions_saved_pct": spread([10.0 * points[r.strategy].params["warmup"]])})
        for r in analysis.grid_summary
        if r.strategy in points and points[r.strategy].rule == "anges"
    ]
    grid = rule_grid(rows, set())
    saved = [r for r in grid.importance if r.target == "emissions_saved_pct"]
    by_name = {r.parameter: r for r in saved}
    members = grid.members("gin", "b3db", "anges")
    expected = spearmanr([m.params["warmup"] for m in members], [m.emissions_saved_pct.mean for m in members])
    assert by_name["warmup"].spearman == pytest.approx(float(expected.statistic)) == pytest.approx(1.0)
    assert max(saved, key=lambda r: r.importance).parameter == "warmup"


def test_heat_map_takes_the_fullest_grid_alpha_by_beta_at_w3() -> None:
    configs = [r for r in default_grid() if isinstance(r, AnGesConfig)]
    nothing = spread([])
    members = [
        GridPoint("m", "d", rule_label(c), "anges", {"alpha": c.alpha, "beta": c.beta, "warmup": float(c.warmup)},
                  False, 1, nothing, nothing, "-")
        for c in configs
    ]  # fmt: skip
    # The default grid: alpha x beta (3 x 3) at W 3 fills 9 cells; W against alpha at beta 0.2 only 6.
    assert heat_map_axes(members, ["alpha", "beta", "warmup"]) == ("alpha", "beta", [{"warmup": 3.0}])


def test_grid_figures_draw_parallel_coordinates_over_every_varying_parameter(report: tuple[Analysis, Path]) -> None:
    analysis, _ = report
    figures = dict(grid_figures(analysis.rule_grid, "gin", "b3db"))
    parcoords = figures["Parameters against outcomes: gin on b3db, anges"].data[0]
    labels = [d.label for d in parcoords.dimensions]
    assert labels == ["alpha", "beta", "W (warmup)", "CO2 saved (%)", "quality change (%)"]
    members = analysis.rule_grid.members("gin", "b3db", "anges")
    assert list(parcoords.dimensions[3].values) == [m.emissions_saved_pct.mean for m in members]
    assert "Heat map of the grid: gin on b3db, anges" in figures


# ----------------------------------------------------------------------------------------------- in a browser


class _SvgText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "text":
            self._depth += 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "text":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Analysis, Path]:
    records = [RunRecord.from_dict(d) for d in json.loads(FIXTURE.read_text())["records"]]
    analysis = analyze(records, source=str(FIXTURE.name))
    out = tmp_path_factory.mktemp("fixture_report")
    write_report(analysis, out, png=False)
    return analysis, out


needs_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and shutil.which("bash")), reason=f"no Chromium at {CHROMIUM}"
)


@pytest.mark.slow
@needs_chromium
def test_a_real_browser_renders_the_tables_and_the_labelled_pareto_points(
    fixture_report: tuple[Analysis, Path], tmp_path: Path
) -> None:
    """screenshot-report.sh: a non-trivial PNG, and the DOM after plotly ran holds the trade-off table's rows and
    the Pareto labels as SVG text."""
    analysis, out = fixture_report
    png, dom = tmp_path / "shot.png", tmp_path / "dom.html"
    env = {**os.environ, "DOM_OUT": str(dom), "CHROMIUM": CHROMIUM, "HEIGHT": "5000"}
    subprocess.run(["bash", str(SCRIPT), str(out), str(png)], check=True, env=env, timeout=300, capture_output=True)
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (1400, 5000)
        colours = image.convert("RGB").resize((140, 500)).getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 200  # text, tables and plots, not a blank page
    rendered = dom.read_text()
    page = html_tables(rendered)
    header, rows = md_tables((out / "report.md").read_text())[0]  # the trade-off table
    assert header[0] == "strategy" and (header, rows) in page.tables
    texts = _SvgText()
    texts.feed(rendered)
    (_, relative), _ = pareto_figures(analysis, "gin", "esol")
    labels = set(_labels(relative, "x") + _labels(relative, "x2"))
    assert labels and labels <= set(texts.texts)  # plotly drew every label as <text>
    assert any(t.startswith("anges_a0.9_b0.2_w3") for t in labels) and "CO2 saved (%)" in texts.texts


@pytest.mark.slow
@needs_chromium
def test_clicking_a_header_sorts_the_table_numerically_in_a_real_browser(
    fixture_report: tuple[Analysis, Path], tmp_path: Path
) -> None:
    """The page's own sorting script, run by Chromium: the summary table sorted by 'emissions saved %' (a
    'mean ± sd' column) comes out in the order of the means, descending after a second click."""
    _, out = fixture_report
    page = (out / "report.html").read_text()
    click = (
        "<script>var th = document.querySelector('table.sortable th:nth-child(4)'); th.click(); th.click();"
        "</script></body>"
    )
    probe = tmp_path / "report.html"
    probe.write_text(page.replace("</body>", click))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        check=True, capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip
    header, rows = html_tables(dom).tables[0]
    assert header[3].startswith("emissions saved %")
    means = [float(row[3].split(" ± ")[0]) for row in rows]
    _, expected = md_tables((out / "report.md").read_text())[0]
    assert means == sorted((float(r[3].split(" ± ")[0]) for r in expected), reverse=True)
    assert means != [float(r[3].split(" ± ")[0]) for r in expected] or len(set(means)) == 1
