"""A bad country in the user's CodeCarbon configuration is refused before any work or folder, by every command
that meters (docs/errors.md: "before any run folder exists")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenft.cli import app


@pytest.fixture
def bad_codecarbon_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose .codecarbon.config names a country CodeCarbon has no energy mix for."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in [k for k in os.environ if k.lower().startswith("codecarbon_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(work)
    (work / ".codecarbon.config").write_text("[codecarbon]\ncountry_iso_code=XYZ\n")
    return work


def test_pretrain_refuses_a_bad_configured_country_before_any_run_folder(bad_codecarbon_config: Path) -> None:
    out = bad_codecarbon_config / "runs" / "p1"
    result = CliRunner().invoke(app, ["pretrain", "ecfp-mlm", "--out", str(out), "--meter", "codecarbon"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'XYZ'" in lines[0], result.output
    assert ".codecarbon.config" in lines[0]
    assert not out.exists() and not (bad_codecarbon_config / "runs").exists()
