"""How ``greenft train`` builds its trial config: a YAML file, then flags, through the same merge as sweeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenft.cli import app

runner = CliRunner()

QUICK = ["--dataset", "b3db", "--limit", "300", "--layers", "1", "--emb-dim", "16", "--max-epochs", "1"]
QUICK += ["--wandb-mode", "disabled", "--meter", "wallclock", "--threads", "1"]


@pytest.mark.parametrize(
    ("flags", "label"),
    [(["--patience", "3"], "patience_p3_d0.0"), (["--rule", "none"], "none")],
    ids=["patience", "rule-none"],
)
def test_a_stopping_flag_replaces_the_yaml_rule_instead_of_mixing_their_fields(
    tmp_path: Path, flags: list[str], label: str
) -> None:
    """Regression: a YAML holding only ``seed: 1`` plus ``--patience 3`` exited 2 with "Extra inputs are not
    permitted", because the CLI merged the default AN-GES fields into the patience rule."""
    trial = tmp_path / "trial.yaml"
    trial.write_text("seed: 1\n")
    args = ["train", "--config", str(trial), *flags, *QUICK, "--runs-dir", str(tmp_path / "runs")]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert f"stopping {label} (live mode)" in result.output
