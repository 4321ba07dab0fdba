"""The configuration of one trial: what a CLI call, a YAML file or a W&B sweep agent hands over.

Everything crossing that boundary is validated here, with errors that name the field and the value, so a
typo in a sweep fails in the first second of a trial rather than after an hour of training.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from greenft.agents.objective import LossName, OptimizerName
from greenft.data.registry import BUILTIN_DATASETS, Metric, SplitKind, TaskType, metrics_for
from greenft.errors import GreenftWarning, UserError
from greenft.io import read_yaml_mapping
from greenft.models.config import LrSchedule, ModelConfig
from greenft.schema import Deploy
from greenft.stopping import DEFAULT_FORECAST_AFTER, RULES, AnGesConfig, PatienceConfig, RuleConfig, StoppingConfig
from greenft.tracking.config import TrackingConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    dataset: str = Field("b3db", description="a built-in dataset name (greenft datasets list) or 'file'")
    file: Path | None = Field(None, description="a user CSV/TSV/SDF; needs smiles_column and target_columns")
    smiles_column: str | None = None
    target_columns: list[str] = Field(default_factory=list)
    target: list[str] | None = Field(
        None,
        description="built-in sets: the target(s) to train, by name (qm9: mu, alpha, homo, lumo, gap, r2, zpve, U0, U, "
        "H, G, Cv; a comma-separated string or a list); unset: the set's default (qm9: U0), else all its targets",
    )
    task_type: TaskType | None = None
    metric: Metric | None = None
    split: SplitKind = SplitKind.SCAFFOLD
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    limit: int | None = Field(None, ge=10, description="use a fixed random sample of N valid molecules (quick runs)")
    split_file: Path | None = Field(
        None,
        description="chemprop-style JSON split: {train, val, test} lists of 0-based data rows of the input table, "
        "or a list of such splits (split_index picks one); replaces split and split_fractions",
    )
    split_index: int = Field(0, ge=0, description="which split of a split_file that holds a list (0-based)")
    split_column: str | None = Field(
        None, description="a column of the data file whose value per row is train, val or test (case-insensitive)"
    )
    test_file: Path | None = Field(
        None,
        description="a separate labelled test file with the same columns: it is the whole test part, and the data "
        "are split into train/val (split_fractions renormalised over train + val)",
    )
    extra_metrics: list[Metric] = Field(
        default_factory=list,
        description="metrics logged beside data.metric each epoch (val and test) and in the summary; data.metric "
        "alone drives stopping, deployment and analysis",
    )

    @field_validator("target", mode="before")
    @classmethod
    def _target_names(cls, value: Any) -> Any:
        """``U0`` or ``U0,homo`` (a sweep's value, a flag, repeated or not) or a list of them: a list of names."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [part.strip() for v in value for part in v.split(",") if part.strip()] or None
        return value

    @model_validator(mode="before")
    @classmethod
    def _dataset_default_split(cls, raw: Any) -> Any:
        """A built-in set's own split when ``split`` is not given (qm9: random, as its benchmarks split); recorded
        in the run config as what trained. The registry is read without pandas or RDKit."""
        if isinstance(raw, dict) and "split" not in raw and raw.get("file") is None:
            spec = BUILTIN_DATASETS.get(str(raw.get("dataset", "")))
            if spec is not None and spec.default_split is not None:
                return {**raw, "split": spec.default_split}
        return raw

    @field_validator("split_fractions")
    @classmethod
    def _fractions_sum_to_one(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        """Checked here, where the config is read, so a bad value is one line before any data loads (the
        splitter's own check would fire after loading, outside the config's error handling)."""
        if any(f < 0 for f in value) or abs(sum(value) - 1.0) > 1e-6:
            raise ValueError(f"train/val/test fractions must be >= 0 and sum to 1, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _metrics_fit_one_task_type(self) -> DataConfig:
        """The metrics must all score one task type (``task_type`` when given), known before any data loads; a
        built-in set's own task type is checked before loading (:mod:`greenft.agents.preflight`), an inferred
        one right after it (:func:`greenft.agents.metrics.run_metrics`)."""
        named = [m for m in (self.metric, *self.extra_metrics) if m is not None]
        duplicated = sorted({m.value for m in self.extra_metrics if self.extra_metrics.count(m) > 1})
        if duplicated:
            raise ValueError(f"extra_metrics names {', '.join(duplicated)} twice")
        if self.metric is not None and self.metric in self.extra_metrics:
            raise ValueError(f"extra_metrics holds {self.metric.value}, which is data.metric already")
        if self.task_type is not None:
            misfits = [m.value for m in named if not m.fits(self.task_type)]
            if misfits:
                raise ValueError(
                    f"metric {', '.join(misfits)} does not fit task type {self.task_type.value} (its metrics: "
                    f"{', '.join(metrics_for(self.task_type))})"
                )
        elif named and not any(all(m.fits(t) for m in named) for t in TaskType):
            fits = "; ".join(f"{t.value}: {', '.join(metrics_for(t))}" for t in TaskType)
            raise ValueError(f"metrics {', '.join(m.value for m in named)} fit no one task type ({fits})")
        return self

    @model_validator(mode="after")
    def _file_needs_columns(self) -> DataConfig:
        if self.file is not None and (self.smiles_column is None or not self.target_columns):
            raise ValueError("a dataset file needs smiles_column and at least one of target_columns")
        return self

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        """A file's columns without a file would be recorded but never read: refused. A file beside a built-in
        name trains on the file, so ``dataset: file`` is what is recorded (with a warning when a name was given).

        Why: the run config is what analysis groups runs by, and a run recorded as ``dataset: b3db`` that trained
        on the user's file was a silent wrong result. A built-in name beside a file is not refused here because a
        config is often a template that names a dataset with a file added later (the command line, where both
        are typed at once, refuses it: :func:`greenft.agents.overrides.apply_overrides`).
        """
        if self.file is not None and self.dataset != "file":
            if "dataset" in self.model_fields_set:
                warnings.warn(
                    GreenftWarning(
                        f"data.dataset = {self.dataset!r} not applied: data.file '{self.file}' is the dataset; the "
                        "run config records dataset: file"
                    ),
                    stacklevel=2,
                )
            self.dataset = "file"
        if self.file is not None and self.target:
            raise ValueError(
                f"target = {self.target!r} picks a built-in dataset's targets; a dataset file's are target_columns "
                "(--target-column)"
            )
        if self.file is None:
            for name, value in (("smiles_column", self.smiles_column), ("target_columns", self.target_columns)):
                if value:
                    raise ValueError(
                        f"{name} = {value!r} applies to a dataset file (data.file / --data-file) only; "
                        f"the built-in dataset {self.dataset!r} has its own columns"
                    )
        return self

    @model_validator(mode="after")
    def _split_sources(self) -> DataConfig:
        """The split comes from one source (greenft's splitter, a split file or a split column; the last two
        replace ``split`` and ``split_fractions``), checked here so a conflict is one line before any data loads
        (greenft.data.split_sources reads the files)."""
        if self.split_file is not None and self.split_column is not None:
            raise ValueError(
                f"split_file = '{self.split_file}' and split_column = {self.split_column!r} both give the split; "
                "give one"
            )
        if self.split_index and self.split_file is None:
            raise ValueError(f"split_index = {self.split_index} picks a split of a split_file; none is given")
        if self.test_file is not None and self.split_fractions[0] + self.split_fractions[1] <= 0:
            raise ValueError(
                f"split_fractions = {list(self.split_fractions)}: with a test_file the data are split into train/val, "
                "so train + val must be > 0"
            )
        return self


class OptimConfig(_Strict):
    lr: float = Field(1e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: int = Field(64, ge=1, le=65536)
    max_epochs: int = Field(30, ge=1, le=10000)
    lr_schedule: LrSchedule | None = Field(
        None,
        description="learning-rate schedule per optimiser step: constant, or noam (chemprop's: linear warm-up from "
        "lr*lr_start_ratio to lr over warmup_epochs, then exponential decay to lr*lr_end_ratio at max_epochs); "
        "unset: the model family's default (chemprop-dmpnn: noam, the others: constant)",
    )
    warmup_epochs: float = Field(2.0, ge=0.0, le=10000.0, description="noam: epochs of linear warm-up")
    lr_start_ratio: float = Field(0.1, gt=0.0, le=1.0, description="noam: the first step's lr as a fraction of lr")
    lr_end_ratio: float = Field(0.1, gt=0.0, le=1.0, description="noam: the last step's lr as a fraction of lr")
    loss: LossName | None = Field(
        None,
        description="training loss (greenft.agents.objective): regression mse, l1 or huber (delta 1.0 on the "
        "standardised targets), classification bce, multiclass cross_entropy; unset: the task's default, recorded "
        "as trained",
    )
    optimizer: OptimizerName = Field(
        "adam",
        description="adam (weight_decay is an L2 penalty added to the gradient) or adamw (weight_decay decoupled: "
        "each step shrinks the weights by lr * weight_decay)",
    )


WandbMode = Literal["offline", "online", "disabled"]
SaveModels = Literal["both", "best", "stop", "none"]
"""Which saved models a trial writes (greenft.agents.saved_models): model_best.pt, model_stop.pt, both, none."""
WANDB_NAME_MAX = 128
WANDB_TAG_MAX = 64
WANDB_PROJECT_FORBIDDEN = ("/", "\\", "#", "?", "%", ":")
"""W&B's limits on project names and tags (``wandb.sdk.wandb_settings``), checked before any work starts."""


class LoggingConfig(_Strict):
    wandb_mode: WandbMode = "offline"
    project: str = "greenft"
    entity: str | None = None
    group: str | None = None
    tags: list[str] = Field(default_factory=list)
    runs_dir: Path = Field(Path("runs"), description="W&B run files and greenft's epoch logs go here")
    name: str | None = None
    system_metrics: bool = Field(True, description="W&B system charts (CPU/GPU/memory); costs a little CPU")

    @field_validator("project")
    @classmethod
    def _wandb_project(cls, value: str) -> str:
        """W&B's own rules for a project name, checked before any work: W&B refuses such a name only when the run
        starts (after the data are loaded, with a message about logging in), and files a blank one under
        ``uncategorized`` online, so the run would not be where the user looks for it."""
        if not value.strip():
            raise ValueError("a blank project name is filed by W&B under 'uncategorized'; give a name")
        if len(value) > WANDB_NAME_MAX:
            raise ValueError(f"W&B project names have at most {WANDB_NAME_MAX} characters (this one {len(value)})")
        found = [c for c in WANDB_PROJECT_FORBIDDEN if c in value]
        if found:
            forbidden = " ".join(WANDB_PROJECT_FORBIDDEN)
            raise ValueError(f"W&B project names cannot contain {forbidden} (found {''.join(found)})")
        return value

    @field_validator("tags")
    @classmethod
    def _wandb_tags(cls, value: list[str]) -> list[str]:
        """W&B refuses an empty tag or one over 64 characters when the run starts; refused here, before work."""
        for tag in value:
            if not 1 <= len(tag) <= WANDB_TAG_MAX:
                raise ValueError(f"tag {tag!r}: W&B tags have 1 to {WANDB_TAG_MAX} characters")
        return value


def default_stopping() -> RuleConfig:
    """The live rule a trial uses when its config names none: AN-GES with two pre-processors, ``anges-pp``
    (``smoothing: 0.6, consecutive: 2``), deploying the best-so-far checkpoint.

    Why not the exact rule: with its defaults exact AN-GES stops at the first non-improving epoch after warm-up,
    which on small noisy validation sets is epoch 3-4. On the frontier benchmark (54 shadow runs, 6 datasets x 3
    families x 3 seeds; docs/stopping.md, "Frontier benchmark") exact AN-GES saved 79.4 % CO2 at -9.3 % median test
    quality against the full run's best-val checkpoint (13/54 runs within 1 %); this configuration saved 57.4 % at
    0.0 % (33/54), more than patience 5 with best-so-far deploy (44.0 % at 0.0 %, 34/54). The exact rule is one
    flag away and unchanged: ``--rule anges`` (``stopping: {rule: anges}``), and shadow runs record it beside.
    """
    return RULES.validate({"rule": "anges-pp", "smoothing": 0.6, "consecutive": 2})


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
    stopping: StoppingConfig = Field(default_factory=default_stopping)
    mode: Literal["live", "shadow"] = "live"
    shadow_rules: list[StoppingConfig] = Field(
        default_factory=_default_shadow_rules,
        description="rules recorded beside `stopping` in shadow mode",
    )
    deploy: Deploy = Field(
        Deploy.BEST,
        description="weights saved at the end: best (best validation epoch so far, kept in memory) or last",
    )
    save_models: SaveModels = Field(
        "both",
        description="saved models written at the end (greenft.models.saved): model_best.pt (best validation epoch "
        "up to the stop), model_stop.pt (the live rule's stop), both, or none",
    )
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    forecast_after: int = Field(
        DEFAULT_FORECAST_AFTER, ge=1, description="epochs measured before the full-budget emission forecast"
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig)


class ConfigError(UserError, ValueError):
    """A config that cannot be used; the message names the source, the field and the value."""


def nearest(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate to a misspelt ``name``, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _is_rule_tag(loc: Sequence[Any], index: int) -> bool:
    """Whether ``loc[index]`` is the discriminator tag pydantic puts in a rule's path (``stopping.anges.alpha``)."""
    before = loc[index - 1] if index > 0 else None
    return loc[index] in RULES.names() and (before == "stopping" or isinstance(before, int))


def _section_fields(loc: Sequence[Any]) -> tuple[str, list[str]] | None:
    """The name and fields of the section at ``loc`` (with rule tags), or ``None`` when it is not a section."""
    section: type[BaseModel] = TrialConfig
    name = "the trial config"
    for index, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if _is_rule_tag(loc, index):
            section, name = RULES[part].config, f"stopping rule {part!r}"
            continue
        info = section.model_fields.get(str(part))
        kind = info.annotation if info is not None else None
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return None
        section, name = kind, str(part)
    return name, list(section.model_fields)


def _describe(item: Any) -> str:
    loc: tuple[Any, ...] = tuple(item["loc"])
    where = ".".join(str(p) for p in loc) or "<root>"  # a rule's tag stays: stopping.anges.alpha names the rule
    value = item.get("input")
    if item["type"] == "extra_forbidden" and loc:
        known = _section_fields(loc[:-1])
        if known is not None:
            section, fields = known
            owner = RULES.owner_of([str(loc[-1])]) if section.startswith("stopping rule") else None
            if owner is not None:
                return f"{where}: {section} has no field {loc[-1]!r}; it belongs to rule {owner!r} (set rule: {owner})"
            hint = nearest(str(loc[-1]), fields)
            return f"{where}: {section} has no field {loc[-1]!r}{hint} (it has {', '.join(fields)})"
    message = str(item["msg"]).removeprefix("Value error, ")
    if isinstance(value, dict):  # a section-wide check: its message names the fields
        return f"{where}: {message}"
    return f"{where} = {value!r}: {message}"


def _format_validation_error(err: ValidationError, source: str) -> str:
    """All of pydantic's complaints on one line (the CLI prints a user error as exactly one line)."""
    return f"invalid trial config ({source}): " + "; ".join(_describe(item) for item in err.errors())


def parse_trial_config(raw: dict[str, Any], source: str = "<dict>") -> TrialConfig:
    try:
        return TrialConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def load_trial_config(path: Path) -> TrialConfig:
    """A trial config from YAML; errors name the file, the field and the value.

    An empty file (0 bytes, only comments, or ``{}``) is refused: it would silently run the whole default job
    (every molecule of the default dataset, 30 epochs), which is never what a user who wrote a file meant
    (a file saved empty by mistake, the wrong path to a template).
    """
    path = Path(path)
    raw = read_yaml_mapping(path, "config file", ConfigError)
    if not raw:
        raise ConfigError(
            f"{path}: the config file has no settings (it is empty or only comments); write the settings to "
            "change (e.g. data: {dataset: bbbp}), or leave --config out to run the defaults"
        )
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
