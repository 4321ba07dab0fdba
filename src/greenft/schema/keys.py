"""The names a run is logged under: files, metrics, statuses and key templates, and the builders that fill them.

Why one module: the trainer writes these names, and the W&B logger, the analysis, the sweeps and the CLI read
them. Spelled in each of those places, a rename (or a typo) would silently split writers from readers. Every
other module imports the names from here; docs/logging.md documents them (a test holds the two together).

Key templates hold two placeholders: ``{metric}`` (the dataset's metric, e.g. ``roc_auc``) and ``{rule}`` (a
stopping-rule label such as ``anges_a0.9_b0.2_w3``). :func:`key` fills them; :func:`match_key` parses a
concrete key back. Which keys exist, their types and how their values are computed is the business of the
tables in :mod:`greenft.schema.history` and :mod:`greenft.schema.summary`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from greenft.stopping import MetricDirection

__all__ = [
    "BEST_MODEL_FILE",
    "CODECARBON_FILE",
    "CONFIG_FILE",
    "DEPLOYED_MODEL_FILE",
    "DROPPED_ROWS_FILE",
    "EPOCHS_FILE",
    "METER_FILE",
    "METRIC_DIRECTIONS",
    "POINTS",
    "RUN_FILES",
    "SPLIT_FILE",
    "STOP_MODEL_FILE",
    "SUMMARY_FILE",
    "Decision",
    "Mode",
    "Point",
    "RunStatus",
    "key",
    "match_template",
    "metric_sign",
    "point_key",
    "shadow_key",
    "template_pattern",
]

# ------------------------------------------------------------------------------------------------ run files
# All in the run's files directory (W&B's ``files/``, or the run directory itself when W&B is disabled).

EPOCHS_FILE = "greenft_epochs.jsonl"  # one history row per epoch, flushed and fsynced
SUMMARY_FILE = "greenft_summary.json"  # the summary, at the end (also on Ctrl-C)
CONFIG_FILE = "greenft_config.json"  # the run config (rewritten once when the meter is known)
SPLIT_FILE = "greenft_split.json"  # train / val / test row indices
DROPPED_ROWS_FILE = "greenft_dropped_rows.json"  # rows the loader dropped, and why
METER_FILE = "greenft_meter.json"  # how energy is measured
CODECARBON_FILE = "emissions.csv"  # CodeCarbon's own log (written by CodeCarbon, named here for the docs)
DEPLOYED_MODEL_FILE = "deployed_model.pt"  # the weights the run hands over (deploy: best | last), at the end
BEST_MODEL_FILE = "model_best.pt"  # a saved model (greenft.models.saved) of the best validation epoch <= the stop
STOP_MODEL_FILE = "model_stop.pt"  # a saved model of the live rule's stop epoch (or the last epoch trained)
RUN_FILES = (
    EPOCHS_FILE,
    SUMMARY_FILE,
    CONFIG_FILE,
    SPLIT_FILE,
    DROPPED_ROWS_FILE,
    METER_FILE,
    CODECARBON_FILE,
    DEPLOYED_MODEL_FILE,
    BEST_MODEL_FILE,
    STOP_MODEL_FILE,
)

# --------------------------------------------------------------------------------------------------- metrics

#: Every metric greenft logs and which way is better (``greenft.data.Metric`` takes its directions from here).
METRIC_DIRECTIONS: dict[str, MetricDirection] = {
    "roc_auc": MetricDirection.MAXIMIZE,
    "rmse": MetricDirection.MINIMIZE,
    "mae": MetricDirection.MINIMIZE,
    "prc_auc": MetricDirection.MAXIMIZE,
    "accuracy": MetricDirection.MAXIMIZE,
    "f1": MetricDirection.MAXIMIZE,
    "mcc": MetricDirection.MAXIMIZE,
    "r2": MetricDirection.MAXIMIZE,
}


def metric_sign(metric: str | None) -> float:
    """+1 for a maximised metric, -1 for a minimised one: ``sign * value`` is "higher is better" for both."""
    return -1.0 if METRIC_DIRECTIONS.get(metric or "") is MetricDirection.MINIMIZE else 1.0


# ---------------------------------------------------------------------------------------------------- words


class RunStatus(StrEnum):
    """The summary's ``status``."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # Ctrl-C / SIGTERM
    PREEMPTED = "preempted"  # the same in a sweep trial: retried
    FAILED = "failed"


class Mode(StrEnum):
    """The summary's ``mode``: ``live`` stops at the live rule, ``shadow`` trains the full budget."""

    LIVE = "live"
    SHADOW = "shadow"


class Decision(StrEnum):
    """``stop/decision`` and ``shadow/<rule>/decision``."""

    CONTINUE = "continue"
    STOP = "stop"  # this epoch
    STOPPED = "stopped"  # an earlier epoch (shadow mode trains on)


class Point(StrEnum):
    """The summary's epochs of interest; each gets the same fields (``<point>/epoch``, ``<point>/val_<metric>``...)."""

    STOP = "stop"  # where the live rule stopped (or the last epoch)
    DEPLOYED = "deployed"  # the epoch whose weights the run saved (deploy: best | last, at the end of training)
    BEST = "best"  # best validation metric, ties: earliest
    ORACLE = "oracle"  # best test metric, the hindsight limit
    FULL = "full"  # shadow mode: the full budget's last epoch


POINTS: tuple[Point, ...] = tuple(Point)

# ----------------------------------------------------------------------------------------------- templates

METRIC_SLOT = "{metric}"
RULE_SLOT = "{rule}"


def key(template: str, metric: str = "", rule: str = "") -> str:
    """A concrete key from a template: ``key("val/{metric}", "rmse") == "val/rmse"``."""
    return template.replace(METRIC_SLOT, metric).replace(RULE_SLOT, rule)


def point_key(point: Point | str, field: str, metric: str = "") -> str:
    """``point_key("best", "val_{metric}", "rmse") == "best/val_rmse"``; ``field`` is a point-field template."""
    return key(f"{Point(point).value}/{field}", metric)


def shadow_key(template: str, rule: str, metric: str = "") -> str:
    """A ``shadow/{rule}/...`` template filled for one rule label."""
    return key(template, metric, rule)


@lru_cache(maxsize=256)
def template_pattern(template: str) -> re.Pattern[str]:
    """A regex for the keys a template stands for: any known metric, any rule label (slashes excluded)."""
    metrics = "|".join(re.escape(m) for m in METRIC_DIRECTIONS)
    parts = re.split(r"(\{metric\}|\{rule\})", template)
    body = "".join(
        f"(?P<metric>{metrics})" if part == METRIC_SLOT else "(?P<rule>[^/]+)" if part == RULE_SLOT else re.escape(part)
        for part in parts
    )
    return re.compile(body)


def match_template(name: str, template: str) -> dict[str, str] | None:
    """The placeholders' values when ``name`` is an instance of ``template`` (``{}`` without any), else None."""
    found = template_pattern(template).fullmatch(name)
    return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}
