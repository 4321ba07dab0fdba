"""``greenft analyze`` and W&B failures (review of issue 18, item 3): the W&B logging that is on by default for a
``wandb:`` source is a warning when it fails (the report is written, exit 0), ``--wandb`` asked for makes it one
``error:`` line (exit 2), and the write-back to the source runs' summaries is opt-in (``--write-back``); a deleted
run (``wandb.Api().run`` raises ValueError) is one error line, not a traceback.

The failure is real: W&B online with no API key (wandb.init raises UsageError without touching the network). A
stand-in replaces only the W&B server behind ``wandb.Api`` (none can run here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from test_wandb_export import write_local_run
from typer.testing import CliRunner

from greenft.analysis.compute import Analysis
from greenft.analysis.reader import read_runs
from greenft.analysis.report import analyze as run_analysis
from greenft.analysis.report import write_report
from greenft.cli import app
from greenft.cli.analyze import log_to_wandb, write_back_to_source_runs

runner = CliRunner()


@pytest.fixture
def logged_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """W&B online, and no API key anywhere W&B looks (environment, netrc, its settings folder, and wandb's
    in-process settings: an earlier test in this process that logged in to a stand-in server leaves its key in
    wandb's singleton, and wandb would then try the default server until its 90 s timeout)."""
    import wandb

    wandb.teardown()
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    monkeypatch.setenv("WANDB_MODE", "online")
    yield
    wandb.teardown()


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    for seed in (0, 1):
        write_local_run(tmp_path / "runs" / f"greenft-run-{seed}", seed)
    return tmp_path / "runs"


def _analysis(runs: Path, tmp_path: Path) -> Analysis:
    """The analysis of ``runs`` as if read from ``wandb:team/proj``, its report written to ``tmp_path/report``
    (as the command does before it logs to W&B)."""
    analysis = run_analysis(read_runs(runs, cache_dir=tmp_path / "cache"), None, grid=[], source="wandb:team/proj")
    write_report(analysis, tmp_path / "report", png=False, html=False)
    return analysis


def test_default_logging_of_a_wandb_source_that_fails_is_a_warning(
    logged_out: None, runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    analysis = _analysis(runs, tmp_path)
    log_to_wandb(analysis, tmp_path / "report", "wandb:team/proj", [], explicit=False)  # returns: exit 0
    out = " ".join(capsys.readouterr().out.split())
    assert "warning: logging the analysis to W&B failed" in out and "API key" in out and "error:" not in out
    with pytest.raises(typer.Exit) as exited:
        log_to_wandb(analysis, tmp_path / "report", "wandb:team/proj", [], explicit=True)
    assert exited.value.exit_code == 2
    assert "error: logging the analysis to W&B failed" in capsys.readouterr().out


def test_an_explicit_wandb_that_fails_is_one_error_line_after_the_report(
    logged_out: None, runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    args = ["analyze", "--source", str(runs), "--out", str(out), "--no-png", "--no-html", "--no-grid", "--wandb"]
    result = runner.invoke(app, [*args, "--cache-dir", str(tmp_path / "cache")], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "logging the analysis to W&B failed" in error and "Traceback" not in result.output
    assert (out / "tradeoff_summary.csv").exists() and (out / "report.md").exists()


def test_the_default_logging_does_not_write_back_to_the_source_runs(
    monkeypatch: pytest.MonkeyPatch, runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline (no server, no key): the analysis run is written and no source run's summary is touched."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    log_to_wandb(_analysis(runs, tmp_path), tmp_path / "report", "wandb:team/proj", [], explicit=False)
    out = capsys.readouterr().out
    assert "W&B analysis run" in out and "summaries" not in out and "warning" not in out


class _DeletedRuns:
    """The W&B server behind ``wandb.Api``: ``run()`` of a deleted run raises ValueError, as wandb's client does."""

    def run(self, path: str) -> Any:
        raise ValueError(f"Could not find run {path}")


def test_write_back_to_a_deleted_run_is_one_error_line(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as exited:
        write_back_to_source_runs(_analysis(runs, tmp_path), "wandb:team/proj", [], api=_DeletedRuns())
    assert exited.value.exit_code == 2
    out = capsys.readouterr().out
    assert out.startswith("error: --write-back:") and "Could not find run team/proj/greenft-run-" in out


def test_write_back_needs_a_wandb_source_and_says_so_before_reading(runs: Path, tmp_path: Path) -> None:
    args = ["analyze", "--source", str(runs), "--out", str(tmp_path / "report"), "--write-back"]
    result = runner.invoke(app, [*args, "--cache-dir", str(tmp_path / "cache")], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: --write-back:") and str(runs) in result.output
    assert not (tmp_path / "cache").exists()  # no run was read
