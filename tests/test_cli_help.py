"""`--help` on every command and subcommand of the real `greenft` entry point exits 0 and shows its usage.

The command tree is walked from the click group Typer builds, so a command added later is covered without
editing this test. Help text is shown literally: an option whose help holds `[/SWEEP]` once crashed `--help`
with rich's MarkupError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from greenft.cli import app


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path below ``command`` (Typer's own click-style group: ``.commands`` maps names)."""
    paths = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths += _command_paths(sub, (*prefix, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_tree_holds_every_command_group() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"train", "tune", "analyze", "agent", "sweep run", "datasets list", "checkpoint inspect"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "greenft")
def test_help_exits_0_and_shows_usage(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="greenft", env={"COLUMNS": "80"})
    assert result.exit_code == 0, f"greenft {' '.join(path)} --help: {result.output}{result.exception!r}"
    assert f"Usage: greenft {' '.join(path)}".rstrip() in " ".join(result.output.split())


def test_help_texts_with_brackets_print_literally_through_the_installed_script() -> None:
    """The same as a user types it, through `python -m greenft` (the console script's entry point)."""
    env = {**os.environ, "COLUMNS": "200"}
    for path in (("tune",), ("analyze",)):
        result = subprocess.run(
            [sys.executable, "-m", "greenft", *path, "--help"], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "wandb:ENTITY/PROJECT[/SWEEP" in result.stdout
