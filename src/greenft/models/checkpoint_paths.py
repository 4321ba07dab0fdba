"""Where pretrained checkpoints live, so registry names (``smiles-mlm``, ``gin-contrastive``) find them.

The model families read these paths and ``greenft pretrain`` writes to them; both import them from here,
below both (models never import pretraining).

``greenft pretrain NAME`` writes its run directory to ``<home>/NAME/`` (resumable state, logs) with the final
checkpoint in ``<home>/NAME/checkpoint/``; ``<home>`` is ``$GREENFT_HOME/checkpoints`` when ``GREENFT_HOME`` is
set, else ``<cache>/checkpoints`` (``$GREENFT_CACHE_DIR`` or ``~/.cache/greenft``). An explicit
``model.checkpoint`` (``--checkpoint``) always wins; it may name the run directory or the checkpoint itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from greenft.data.graph_cache import default_cache_dir
from greenft.models.errors import CheckpointError

CHECKPOINT_SUBDIR = "checkpoint"

# Minutes `greenft pretrain NAME --threads 1` took with default settings on this project's shared 2-core CPU
# under load (measured, see docs/pretraining.md; ecfp-mlm and dual-view extrapolated from their per-step times);
# quoted in the "no checkpoint" error so users know the cost.
PRETRAIN_MINUTES: dict[str, int] = {
    "smiles-mlm": 8,
    "selfies-mlm": 20,
    "ecfp-mlm": 20,  # extrapolated from a 31-step run (~1.1 CPU-s per step, docs/pretraining.md), not yet run in full
    "gin-contrastive": 4,
    "gcn-contrastive": 4,
    "dual-view": 20,  # extrapolated: 781 steps x 1.1-1.5 s measured on 2,000 molecules (docs/pretraining.md)
}


class MissingPretrainedCheckpointError(CheckpointError):
    """A registry name needs a checkpoint that has not been made yet; the message says how to make it."""


def checkpoint_home() -> Path:
    home = os.environ.get("GREENFT_HOME")
    return Path(home) / "checkpoints" if home else default_cache_dir() / "checkpoints"


def default_run_dir(name: str) -> Path:
    return checkpoint_home() / name


def default_checkpoint_dir(name: str) -> Path:
    return default_run_dir(name) / CHECKPOINT_SUBDIR


def resolve_checkpoint_dir(path: Path) -> Path:
    """A run directory resolves to its ``checkpoint/``; anything else is taken as given."""
    path = Path(path)
    return path / CHECKPOINT_SUBDIR if (path / CHECKPOINT_SUBDIR).is_dir() else path


def missing_checkpoint_error(name: str, where: Path) -> MissingPretrainedCheckpointError:
    minutes = PRETRAIN_MINUTES.get(name)
    cost = f" (~{minutes} min on a 2-core CPU)" if minutes else ""
    return MissingPretrainedCheckpointError(
        f"no pretrained checkpoint for {name} at {where}; run `greenft pretrain {name}`{cost}, "
        "or pass --checkpoint DIR (model.checkpoint)"
    )


def directory_bytes(path: Path) -> int:
    """Bytes on disk of a checkpoint file or directory (what a user downloads or ships)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def checkpoint_info(path: Path, checkpoint_format: str, provenance: dict[str, object]) -> dict[str, object]:
    """What the run config logs about a pretrained start: size on disk and the pretraining's own cost.

    The pretraining emissions are logged with every fine-tune that uses the checkpoint, so analysis can
    amortise them (pretraining kg / number of fine-tunes) instead of pretending pretraining was free.
    """
    return {
        "checkpoint_path": str(path),
        "checkpoint_format": checkpoint_format,
        "checkpoint_bytes": directory_bytes(path),
        "checkpoint_provenance": provenance,
        "pretraining_emissions_kg": provenance.get("emissions_kg"),
        "pretraining_energy_kwh": provenance.get("energy_kwh"),
        "pretraining_duration_s": provenance.get("duration_s"),
    }
