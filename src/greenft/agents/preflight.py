"""The mistakes a trial config can hold that are found without torch, checked before the trial imports it.

Why: ``greenft train`` (and ``greenft agent``) import torch, PyTorch Geometric, RDKit and pandas before the
trial reads its data, which takes seconds (tens on a busy machine); an unknown dataset or model name or a
missing file would otherwise be reported only after that. These checks raise the same user errors, with the
same messages, as the loaders that would find the mistake later, so only the waiting changes.
"""

from __future__ import annotations

from greenft.agents.config import ConfigError, TrialConfig
from greenft.agents.metrics import run_extra_metrics
from greenft.agents.objective import check_loss_before_data
from greenft.data.registry import get_dataset_spec, select_targets
from greenft.data.split_file import read_split_file
from greenft.models.errors import CheckpointError
from greenft.models.names import check_model_name
from greenft.tracking.grid import choose_grid


def check_before_heavy_work(config: TrialConfig) -> None:
    """Raise a :class:`~greenft.errors.UserError` for an unknown dataset or model, a file that does not exist, an
    extra metric that does not fit a built-in dataset's task type, a loss that does not fit a task type already
    known (greenft.agents.objective), or a grid country CodeCarbon does not know in the user's CodeCarbon
    configuration (greenft.tracking.grid).

    A path that exists but cannot be used (a folder, an empty or unreadable file) is left to its loader, which
    says what is wrong with it.
    """
    if config.data.file is None:
        run_extra_metrics(config.data, get_dataset_spec(config.data.dataset))
        select_targets(get_dataset_spec(config.data.dataset), config.data.target)  # an unknown target name
    elif not config.data.file.exists():
        raise ConfigError(f"dataset file not found: {config.data.file}")
    if config.data.test_file is not None and not config.data.test_file.exists():
        raise ConfigError(f"data.test_file: test file not found: {config.data.test_file}")
    if config.data.split_file is not None:  # the JSON alone: a broken file, a bad index list, an overlap
        read_split_file(config.data.split_file, config.data.split_index, config.data.test_file)
    check_loss_fits_task(config)
    check_model_name(config.model.name)
    checkpoint = config.model.checkpoint
    if checkpoint is not None and not checkpoint.exists():
        raise CheckpointError(f"checkpoint not found: {checkpoint}")
    if config.tracking.meter == "codecarbon":  # an unknown country in the user's .codecarbon.config / environment
        choose_grid(config.tracking.country_iso_code)  # (CodeCarbon's config reader: under a second, no torch)


def check_loss_fits_task(config: TrialConfig) -> None:
    """``optim.loss`` against the task type where it is known before the data load (greenft.agents.objective)."""
    data = config.data
    known_task = data.task_type or (data.metric.task_type if data.metric is not None else None)
    check_loss_before_data(config.optim.loss, data.dataset, data.file, known_task)
