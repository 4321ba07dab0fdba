"""``greenft train --shadow`` names a shadow stop at the budget's last epoch as no early stop (it saves nothing).

A real tiny run (seed 1, 5 epochs, 120 molecules: on the reference machine AN-GES says stop at epoch 5, the
last); the check is on every shadow line, so it holds whichever epochs the rules stop at on another machine.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from greenft.cli import app

runner = CliRunner()
EPOCHS = 5


def test_a_shadow_stop_at_the_last_epoch_is_named_no_early_stop(tmp_path: Path) -> None:
    args = ["train", "--dataset", "b3db", "--seed", "1", "--shadow", "--limit", "120", "--layers", "2"]
    args += ["--emb-dim", "16", "--max-epochs", str(EPOCHS), "--threads", "1", "--runs-dir", str(tmp_path)]
    result = runner.invoke(app, args, env={"COLUMNS": "250", "WANDB_MODE": "disabled"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip().startswith("shadow ")]
    assert len(lines) >= 2, result.output  # anges and patience 5 by default
    for line in lines:
        stop = re.search(r"stops epoch (\d+)", line)
        at_last = stop is not None and int(stop[1]) == EPOCHS
        assert ("(the last epoch: no early stop)" in line) == at_last, line
        if at_last:
            assert "emissions saved 0.0%" in line, line
    assert "best-val (hindsight)" in result.output and "best-test (limit)" in result.output
