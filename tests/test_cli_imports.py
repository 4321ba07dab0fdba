"""The command line answers before the heavy stack is imported: ``greenft --help`` and the user errors found
before any work (a bad flag, an unknown name, a missing file) must not import torch, W&B, PyTorch Geometric or
RDKit, which take seconds (tens on a busy machine).

Each check runs in a fresh interpreter and reads ``sys.modules``: what was imported, not how long it took.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

QUICK_SWEEP = str(Path(__file__).resolve().parents[1] / "sweeps" / "quick.yaml")

HEAVY = (
    "torch",
    "wandb",
    "torch_geometric",
    "rdkit",
    "pandas",
    "sklearn",
    "transformers",
    "codecarbon",
    "optuna",
    "chemprop",  # the chemprop-dmpnn family imports it when it trains only
    "lightning",
)
"""Top-level packages none of which ``import greenft.cli`` may load."""

LAZY_PACKAGES = ("greenft.agents", "greenft.data", "greenft.models", "greenft.models.sequence", "greenft.tracking")


def _loaded_after(code: str, cwd: Path | None = None) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    """Run ``code`` in a fresh interpreter; the heavy packages loaded when it exited (even by SystemExit)."""
    report = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print('LOADED=' + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}}"
        f" & set({HEAVY!r})))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", report + code], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("LOADED=")]
    return json.loads(line.removeprefix("LOADED=")), done


def test_importing_the_cli_loads_none_of_the_heavy_stack() -> None:
    loaded, done = _loaded_after("import greenft.cli")
    assert done.returncode == 0, done.stderr
    assert loaded == []


def _cli(args: list[str]) -> str:
    return f"import sys, runpy\nsys.argv = ['greenft', *{args!r}]\nrunpy.run_module('greenft', run_name='__main__')\n"


@pytest.mark.parametrize(
    ("args", "exit_code", "expected"),
    [
        (["--help"], 0, "Usage:"),
        (["train", "--help"], 0, "--max-epochs"),
        (["sweep", "run", "--help"], 0, "--workers"),
        (["train", "--bogus"], 2, "error: No such option: --bogus"),
        (["train", "--lr", "abc"], 2, "error: Invalid value for '--lr'"),
        (["nope"], 2, "error: No such command 'nope'"),
        (["train", "--max-epochs", "0"], 2, "optim.max_epochs = 0"),
        (["train", "--dataset", "nope"], 2, "error: unknown dataset 'nope'"),
        (["train", "--model", "nope"], 2, "error: unknown model 'nope'"),
        (["train", "--checkpoint", "absent.pth"], 2, "error: checkpoint not found: absent.pth"),
        (["train", "--data-file", "absent.csv", "--smiles-column", "s", "--target-column", "t"], 2, "absent.csv"),
        (["agent", "model=nope"], 2, "error: unknown model 'nope'"),
        (["pretrain", "nope"], 2, "error: unknown pretraining recipe 'nope'"),
        (["checkpoint", "inspect", "absent.pth"], 2, "error: checkpoint not found: absent.pth"),
        (["datasets", "show", "nope"], 2, "error: unknown dataset 'nope'"),
        (["baseline", "--dataset", "nope"], 2, "error: unknown dataset 'nope'"),
        (["sweep", "validate", QUICK_SWEEP], 0, "ok "),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_help_and_early_user_errors_answer_without_the_heavy_stack(
    args: list[str], exit_code: int, expected: str, tmp_path: Path
) -> None:
    loaded, done = _loaded_after(_cli(args), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == exit_code, output
    assert expected in output, output
    assert "Traceback" not in output
    assert loaded == [], f"greenft {' '.join(args)} imported {loaded} before answering"


def test_the_model_names_known_without_torch_are_the_registry_names() -> None:
    from greenft.models.names import BUILTIN_MODELS
    from greenft.models.registry import MODEL_FAMILIES

    assert sorted(MODEL_FAMILIES) == sorted(BUILTIN_MODELS)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018  # the attribute access is what is tested


def test_sweep_validate_names_an_unknown_model_without_the_heavy_stack(tmp_path: Path) -> None:
    text = Path(QUICK_SWEEP).read_text(encoding="utf-8").replace("values: [gin, gcn]", "values: [gin, nope]")
    sweep = tmp_path / "bad-model.yaml"
    sweep.write_text(text, encoding="utf-8")
    loaded, done = _loaded_after(_cli(["sweep", "validate", str(sweep)]), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "unknown model 'nope'" in output, output
    assert loaded == [], f"greenft sweep validate imported {loaded} before answering"
