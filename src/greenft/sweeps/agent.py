"""What ``wandb agent`` runs for each trial of a W&B-hosted sweep: ``python -m greenft agent ...``.

A sweep YAML's ``command`` is ``[${env}, python, -m, greenft, agent, ${args_no_hyphens}]``, so the agent
starts ``python -m greenft agent alpha=0.9 beta=0.2 dataset=bbbp ...`` with ``WANDB_SWEEP_ID``, ``WANDB_RUN_ID``
and ``WANDB_SWEEP_PARAM_PATH`` (a YAML of the exact parameter values) in the environment. The parameters are
read from that file when it exists (the ``key=value`` arguments are strings, the file keeps types), else from
the arguments, and become a validated :class:`~greenft.agents.config.TrialConfig` through the same mapping the
embedded controller uses (:func:`~greenft.sweeps.params.trial_config_from_sweep`).

``wandb.init`` (inside the trial) picks the sweep up from the environment: the run joins the sweep, its config
holds the sweep parameters under their own names (W&B locks them, so a sweep parameter named like a config
section, e.g. ``model``, shows the swept value there; the full trial config stays in ``greenft_config.json``)
and ``sweep`` (id, params). Under an agent W&B is online unless ``WANDB_MODE`` says otherwise.

Stopping: ``wandb agent --forward-signals`` passes SIGTERM/SIGINT on (and a closed terminal sends SIGHUP, handled
the same way); the trial ends after closing its logs (every logged epoch kept), tells W&B it is preempting and
exits 130, so W&B re-queues it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from greenft.agents.config import ConfigError, TrialConfig
from greenft.io import read_yaml_mapping
from greenft.sweeps.params import trial_config_from_sweep

AGENT_ARGV: tuple[str, ...] = ("python", "-m", "greenft", "agent")
"""The program a sweep YAML's ``command`` runs (after W&B's ``${env}``)."""

SWEEP_COMMAND: tuple[str, ...] = ("${env}", *AGENT_ARGV, "${args_no_hyphens}")
"""The ``command`` entry every sweep YAML in ``sweeps/`` carries."""


def wandb_agent_command(sweep_path: str) -> list[str]:
    """The command that starts a W&B sweep agent on a GPU box: the same in the README, the Docker compose file
    and ``greenft sweep create``'s output. ``--forward-signals`` lets a stopped agent preempt its trial cleanly
    instead of abandoning it."""
    return ["wandb", "agent", "--forward-signals", sweep_path]


def _scalar(text: str) -> Any:
    """A ``key=value`` argument's value: YAML typing (``0.9`` float, ``3`` int, ``True`` bool); ``None`` is None."""
    if text == "None":
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_param_args(args: Sequence[str]) -> dict[str, Any]:
    """``alpha=0.9`` (``${args_no_hyphens}``) or ``--alpha=0.9`` (``${args}``) arguments as a dict."""
    params: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.lstrip("-").partition("=")
        if not sep or not key:
            raise ConfigError(f"agent argument {arg!r}: expected key=value (a sweep parameter)")
        params[key] = _scalar(value)
    return params


WANDB_CONFIG_VERSION = 1
"""The ``wandb_version`` that wandb's parameter-file writer (``config_util.save_config_file_from_dict``) puts first."""


def read_param_file(path: Path) -> dict[str, Any]:
    """The sweep parameters in the file ``wandb agent`` writes (``$WANDB_SWEEP_PARAM_PATH``), or a user's JSON/YAML.

    wandb writes ``wandb_version: 1`` followed by ``{name: {value: v}}`` entries; a user file may be flat. The
    version key is wandb's file format, not a parameter: it is checked (an unknown version would mean the
    entries below it may not be what we read them as) and dropped, as are wandb's private ``_wandb`` entries.
    """
    raw = read_yaml_mapping(Path(path), "sweep parameter file", ConfigError, "a mapping of sweep parameters")
    version = raw.pop("wandb_version", None)
    if version is not None and version != WANDB_CONFIG_VERSION:
        raise ConfigError(
            f"{path}: wandb_version = {version!r}: expected {WANDB_CONFIG_VERSION} (the format wandb's agent writes)"
        )
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if str(key).startswith("_wandb"):
            continue
        if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
            value = value["value"]
        out[str(key)] = value
    return out


def collect_params(args: Sequence[str], params_file: Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    """The trial's sweep parameters: the arguments, overridden by the exact values of the parameter file."""
    params = parse_param_args(args)
    file = params_file or (Path(env["WANDB_SWEEP_PARAM_PATH"]) if env.get("WANDB_SWEEP_PARAM_PATH") else None)
    if file is not None and (params_file is not None or file.exists()):
        params.update(read_param_file(file))
    return params


def agent_wandb_mode(env: Mapping[str, str]) -> str:
    """``WANDB_MODE`` when set; else online under ``wandb agent`` (a sweep needs the server), offline otherwise."""
    mode = env.get("WANDB_MODE", "").strip().lower()
    if mode in ("offline", "dryrun"):
        return "offline"
    if mode in ("disabled",):
        return "disabled"
    if mode in ("online", "run"):
        return "online"
    return "online" if env.get("WANDB_SWEEP_ID") else "offline"


def agent_trial(
    params: Mapping[str, Any], env: Mapping[str, str], base: TrialConfig | None = None
) -> tuple[TrialConfig, dict[str, Any]]:
    """The trial config and run metadata (``sweep``) for one agent run."""
    base_dict = (base or TrialConfig()).model_dump(mode="json")
    sweep_id = env.get("WANDB_SWEEP_ID")
    base_dict["logging"]["wandb_mode"] = agent_wandb_mode(env)
    if sweep_id:
        base_dict["logging"]["tags"] = [*base_dict["logging"].get("tags", []), f"sweep:{sweep_id}"]
    config = trial_config_from_sweep(params, TrialConfig.model_validate(base_dict))
    metadata = {
        "sweep": {
            "id": sweep_id,
            "name": None,
            "method": None,
            "trial": env.get("WANDB_RUN_ID"),
            "params": dict(params),
            "controller": "wandb" if sweep_id else "none",
        }
    }
    return config, metadata
