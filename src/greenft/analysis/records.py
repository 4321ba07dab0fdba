"""One record for a logged run, whatever it was read from, and the per-epoch curve the analysis works on.

Why a record of our own: runs reach the analysis from places that describe them differently (greenft's own
run files, read by :mod:`greenft.analysis.offline`; W&B run files of runs greenft did not write, read by
:mod:`greenft.analysis.wandb_files`; the online ``wandb.Api()``), and the reports, the replay and the tuner must
not care which. A :class:`RunRecord` holds exactly what all can give (ids, config, summary, full per-epoch
history) as plain JSON values, so it can also be cached on disk as JSON. The keys inside are those of
:mod:`greenft.schema`.

A :class:`Curve` is the part of a run that stopping rules and trade-offs need: per epoch the validation metric
(what the rule sees), the test metric (the analysis' judge) and the cumulative training emissions
(``emissions/cumulative_kg``, the ``E_i`` of AN-GES); and, for runs that logged them, the validation loss (what a
``monitor: loss`` rule sees) and the bootstrap standard errors (``anges-pp``'s dead-band). Building it is pure:
no files, no W&B, no pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from greenft.schema import METRIC_DIRECTIONS, key, match_template, number
from greenft.schema.history import EMISSIONS, EPOCH, TEST, VAL, VAL_LOSS, VAL_LOSS_SE, VAL_SE
from greenft.schema.summary import METRIC, MODE
from greenft.stopping import MetricDirection, Monitor

__all__ = [
    "METRIC_DIRECTIONS",
    "Curve",
    "CurveError",
    "RunRecord",
    "curve_from_record",
    "flatten",
    "get_dotted",
]


@dataclass(frozen=True)
class RunRecord:
    """A run as read from any source: JSON values only, so it round-trips through the on-disk cache.

    ``state`` is greenft's ``status`` when the run logged one (``finished``, ``interrupted``, ``failed``), else
    what the source knows (W&B's ``finished``/``crashed``/``running``, or ``incomplete`` for an offline file
    without an exit record, ``truncated`` for a run whose file is cut mid-record). ``source`` is ``offline`` (a
    W&B run file), ``local`` (greenft's own JSON files of a run made with W&B disabled) or ``wandb`` (the online
    API); ``location`` is the file path or the W&B path. ``note`` says, in one line naming the file, what the
    reader could not take at face value (a run killed before its summary, a file cut mid-record, the copy of
    the epochs it read instead): the commands print it and the reports give it as the reason a run is skipped.
    """

    run_id: str
    source: str
    location: str
    state: str
    config: dict[str, Any]
    summary: dict[str, Any]
    history: list[dict[str, Any]]
    name: str | None = None
    project: str | None = None
    entity: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "location": self.location,
            "state": self.state,
            "config": self.config,
            "summary": self.summary,
            "history": self.history,
            "name": self.name,
            "project": self.project,
            "entity": self.entity,
            "group": self.group,
            "tags": list(self.tags),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(
            run_id=str(data["run_id"]),
            source=str(data["source"]),
            location=str(data["location"]),
            state=str(data["state"]),
            config=dict(data["config"]),
            summary=dict(data["summary"]),
            history=[dict(row) for row in data["history"]],
            name=data.get("name"),
            project=data.get("project"),
            entity=data.get("entity"),
            group=data.get("group"),
            tags=tuple(str(tag) for tag in data.get("tags", ())),
            note=data.get("note"),
        )

    # ------------------------------------------------------------------------------ what the reports group by

    @property
    def metric(self) -> str | None:
        """The dataset's metric name: from the summary, else the derived config, else the logged ``val/`` key."""
        found = self.summary.get(METRIC) or get_dotted(self.config, "derived.dataset.metric")
        if isinstance(found, str):
            return found
        for row in self.history:
            for name in row:
                logged = match_template(name, VAL)
                if logged is not None:
                    return logged["metric"]
        return None

    @property
    def dataset(self) -> str:
        """The dataset name the reports group by; a run whose split came from a split file, a split column or a
        separate test file carries that in it (``bbbp (split file s.json#0)``): its test molecules are not those of
        a scaffold run of the same dataset, so the two must not be pooled."""
        name = get_dotted(self.config, "derived.dataset.name") or get_dotted(self.config, "data.dataset")
        return (str(name) if name is not None else "unknown") + _split_source_tag(self.config)

    @property
    def model(self) -> str:
        name = get_dotted(self.config, "model.name")
        return str(name) if name is not None else "unknown"

    @property
    def seed(self) -> int | None:
        seed = self.config.get("seed")
        return int(seed) if isinstance(seed, int | float) and not isinstance(seed, bool) else None

    @property
    def mode(self) -> str | None:
        mode = self.summary.get(MODE, self.config.get("mode"))
        return str(mode) if mode is not None else None

    @property
    def budget(self) -> int | None:
        """The epoch budget (``optim.max_epochs``), which tells a complete curve from a truncated one."""
        value = get_dotted(self.config, "optim.max_epochs")
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _split_source_tag(config: Mapping[str, Any]) -> str:
    """`` (split file s.json#0)``, `` (split column set)``, `` (test file t.csv)`` (joined), or nothing."""
    parts = []
    split_file = get_dotted(config, "data.split_file")
    if split_file:
        parts.append(f"split file {PurePath(str(split_file)).name}#{get_dotted(config, 'data.split_index') or 0}")
    split_column = get_dotted(config, "data.split_column")
    if split_column:
        parts.append(f"split column {split_column}")
    test_file = get_dotted(config, "data.test_file")
    if test_file:
        parts.append(f"test file {PurePath(str(test_file)).name}")
    return f" ({', '.join(parts)})" if parts else ""  # not [...]: rich would read it as markup


def get_dotted(tree: Mapping[str, Any], dotted: str) -> Any:
    """``tree["a"]["b"]`` for ``"a.b"``; also accepts an already flattened ``tree["a.b"]`` (W&B API configs)."""
    if dotted in tree:
        return tree[dotted]
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys (``{"optim": {"lr": 1}}`` -> ``{"optim.lr": 1}``), for one table column each."""
    out: dict[str, Any] = {}
    for part, value in tree.items():
        name = f"{prefix}{part}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


# ----------------------------------------------------------------------------------------------------- curves


class CurveError(ValueError):
    """A run that has no usable per-epoch curve (no metric, no epochs); the message says why."""


@dataclass(frozen=True)
class Curve:
    """A run's per-epoch numbers, epochs ``1..n`` without gaps.

    ``budget`` is the configured epoch budget; the curve is *complete* when it reaches it, i.e. the run was a
    full-budget (shadow or ``rule: none``) run, or a live run that never stopped. Only a complete curve can
    be replayed for any rule: a live run's curve ends at its own stop, so another rule that would have stopped
    later cannot be judged on it (its replay is then *censored*).
    """

    run_id: str
    metric: str
    direction: MetricDirection
    val: tuple[float, ...]
    test: tuple[float, ...]
    emissions_kg: tuple[float, ...]
    budget: int | None = None
    dataset: str = "unknown"
    model: str = "unknown"
    seed: int | None = None
    group: str | None = None
    val_loss: tuple[float, ...] | None = None
    val_se: tuple[float, ...] | None = None
    val_loss_se: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not (len(self.val) == len(self.test) == len(self.emissions_kg)):
            raise ValueError("val, test and emissions_kg must have one value per epoch")
        for name in ("val_loss", "val_se", "val_loss_se"):
            series = getattr(self, name)
            if series is not None and len(series) != len(self.val):
                raise ValueError(f"{name} must have one value per epoch, like val")

    @property
    def n_epochs(self) -> int:
        return len(self.val)

    def monitored(self, monitor: Monitor) -> tuple[tuple[float, ...], MetricDirection]:
        """The series a rule with ``monitor`` sees and its direction: the metric, or the loss (minimised).

        A curve without ``val/loss`` has no loss series: ``ValueError``, as feeding such a rule would be.
        """
        if Monitor(monitor) is Monitor.METRIC:
            return self.val, self.direction
        if self.val_loss is None:
            raise ValueError(f"run {self.run_id}: no val/loss logged")
        return self.val_loss, MetricDirection.MINIMIZE

    @property
    def complete(self) -> bool:
        return self.budget is None or self.n_epochs >= self.budget

    @property
    def epochs(self) -> range:
        return range(1, self.n_epochs + 1)


def curve_from_record(record: RunRecord) -> Curve:
    """The per-epoch curve of a run, from the history rows that carry ``epoch`` (docs/logging.md schema).

    Rows are ordered by epoch (a repeated epoch keeps its last row, as a resumed run would); the curve ends
    before the first missing epoch, because rules need consecutive epochs. Missing values become NaN.
    Raises :class:`CurveError` when the metric is unknown or no epoch was logged.
    """
    metric = record.metric
    if metric is None or metric not in METRIC_DIRECTIONS:
        raise CurveError(f"run {record.run_id}: no known metric (summary 'metric' / 'val/<metric>' keys)")
    by_epoch: dict[int, dict[str, Any]] = {}
    for row in record.history:
        epoch = row.get(EPOCH)
        if isinstance(epoch, int | float) and not isinstance(epoch, bool) and math.isfinite(epoch):
            by_epoch[int(epoch)] = row
    rows: list[dict[str, Any]] = []
    while len(rows) + 1 in by_epoch:
        rows.append(by_epoch[len(rows) + 1])
    if not rows:
        raise CurveError(f"run {record.run_id}: no per-epoch history (no rows with epoch 1, 2, ...)")

    def optional(name: str) -> tuple[float, ...] | None:
        """A column runs logged only from some version on: None when no epoch has it (older runs)."""
        if not any(name in row for row in rows):
            return None
        return tuple(number(row.get(name)) for row in rows)

    return Curve(
        run_id=record.run_id,
        metric=metric,
        direction=METRIC_DIRECTIONS[metric],
        val=tuple(number(row.get(key(VAL, metric))) for row in rows),
        test=tuple(number(row.get(key(TEST, metric))) for row in rows),
        emissions_kg=tuple(number(row.get(EMISSIONS)) for row in rows),
        budget=record.budget,
        dataset=record.dataset,
        model=record.model,
        seed=record.seed,
        group=record.group,
        val_loss=optional(VAL_LOSS),
        val_se=optional(key(VAL_SE, metric)),
        val_loss_se=optional(VAL_LOSS_SE),
    )
