"""The configuration of one trial: what a CLI call, a YAML file or a W&B sweep agent hands over.

Everything crossing that boundary is validated here, with errors that name the field and the value, so a
typo in a sweep fails in the first second of a trial rather than after an hour of training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from greenft.data.registry import Metric, SplitKind, TaskType
from greenft.errors import UserError
from greenft.io import read_yaml_mapping
from greenft.models.config import ModelConfig
from greenft.stopping import AnGesConfig, PatienceConfig, RuleConfig, StoppingConfig
from greenft.tracking.config import TrackingConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    dataset: str = Field("b3db", description="a built-in dataset name (greenft datasets list) or 'file'")
    file: Path | None = Field(None, description="a user CSV/TSV/SDF; needs smiles_column and target_columns")
    smiles_column: str | None = None
    target_columns: list[str] = Field(default_factory=list)
    task_type: TaskType | None = None
    metric: Metric | None = None
    split: SplitKind = SplitKind.SCAFFOLD
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    limit: int | None = Field(None, ge=10, description="use a fixed random sample of N valid molecules (quick runs)")

    @model_validator(mode="after")
    def _file_needs_columns(self) -> DataConfig:
        if self.file is not None and (self.smiles_column is None or not self.target_columns):
            raise ValueError("a dataset file needs smiles_column and at least one of target_columns")
        return self


class OptimConfig(_Strict):
    lr: float = Field(1e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: int = Field(64, ge=1, le=65536)
    max_epochs: int = Field(30, ge=1, le=10000)


WandbMode = Literal["offline", "online", "disabled"]


class LoggingConfig(_Strict):
    wandb_mode: WandbMode = "offline"
    project: str = "greenft"
    entity: str | None = None
    group: str | None = None
    tags: list[str] = Field(default_factory=list)
    runs_dir: Path = Field(Path("runs"), description="W&B run files and greenft's epoch logs go here")
    name: str | None = None
    system_metrics: bool = Field(True, description="W&B system charts (CPU/GPU/memory); costs a little CPU")


def _default_shadow_rules() -> list[RuleConfig]:
    return [AnGesConfig(), PatienceConfig(patience=5)]


class TrialConfig(_Strict):
    """One fine-tuning trial. ``mode=shadow`` trains the full budget and records where each rule would stop."""

    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when available, else CPU")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: the cores free at the start)")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    stopping: StoppingConfig = Field(default_factory=AnGesConfig)
    mode: Literal["live", "shadow"] = "live"
    shadow_rules: list[StoppingConfig] = Field(
        default_factory=_default_shadow_rules,
        description="rules recorded beside `stopping` in shadow mode",
    )
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)


class ConfigError(UserError, ValueError):
    """A config that cannot be used; the message names the source, the field and the value."""


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid trial config ({source}):"]
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "<root>"
        value = item.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        lines.append(f"  {where} = {shown}: {item['msg']}")
    return "\n".join(lines)


def parse_trial_config(raw: dict[str, Any], source: str = "<dict>") -> TrialConfig:
    try:
        return TrialConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def load_trial_config(path: Path) -> TrialConfig:
    """A trial config from YAML; errors name the file, the field and the value."""
    path = Path(path)
    raw = read_yaml_mapping(path, "config file", ConfigError)
    return parse_trial_config(raw, str(path))


def deep_update(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Nested-dict merge (override wins); :func:`greenft.agents.overrides.apply_overrides` uses it."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out
