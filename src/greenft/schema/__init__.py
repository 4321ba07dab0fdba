"""What a run logs: file names, metric names and directions, history and summary keys, and their builders.

The one home of that contract (docs/logging.md documents it; a test holds the two together). The trainer
builds its rows and summary here, the W&B logger takes its chart prefixes from here, and the analysis, the
sweeps and the CLI read keys through the names defined here. Pure stdlib apart from ``MetricDirection``
(:mod:`greenft.stopping`), so every layer can import it; :mod:`greenft.schema.files` is the only module that
touches the disk, to read greenft's own files back.

Modules: :mod:`~greenft.schema.keys` (names, templates, builders), :mod:`~greenft.schema.history` (the
per-epoch row), :mod:`~greenft.schema.summary` (the run summary), :mod:`~greenft.schema.codec` (NaN and
infinity in JSON), :mod:`~greenft.schema.catalog` (a concrete key looked up in the tables),
:mod:`~greenft.schema.files` (reading a run's files).
"""

from greenft.schema import history, summary
from greenft.schema.catalog import KeyInfo, find_key, history_kinds, summary_kinds
from greenft.schema.codec import decode_floats, number, to_json_value
from greenft.schema.files import (
    RunFiles,
    files_dir_of,
    is_greenft_run,
    read_json_if_present,
    read_jsonl,
    read_run_files,
    read_summary,
)
from greenft.schema.history import epoch_row, history_prefixes
from greenft.schema.keys import (
    CODECARBON_FILE,
    CONFIG_FILE,
    DEPLOYED_MODEL_FILE,
    DROPPED_ROWS_FILE,
    EPOCHS_FILE,
    METER_FILE,
    METRIC_DIRECTIONS,
    POINTS,
    RUN_FILES,
    SPLIT_FILE,
    SUMMARY_FILE,
    Decision,
    Mode,
    Point,
    RunStatus,
    key,
    match_template,
    metric_sign,
    point_key,
    shadow_key,
)
from greenft.schema.summary import (
    Deploy,
    SummaryFacts,
    build_summary,
    deployed_index,
    hindsight_best,
    shadow_stop_epochs,
)

__all__ = [
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
    "SUMMARY_FILE",
    "Decision",
    "Deploy",
    "KeyInfo",
    "Mode",
    "Point",
    "RunFiles",
    "RunStatus",
    "SummaryFacts",
    "build_summary",
    "decode_floats",
    "deployed_index",
    "epoch_row",
    "files_dir_of",
    "find_key",
    "hindsight_best",
    "history",
    "history_kinds",
    "history_prefixes",
    "is_greenft_run",
    "key",
    "match_template",
    "metric_sign",
    "number",
    "point_key",
    "read_json_if_present",
    "read_jsonl",
    "read_run_files",
    "read_summary",
    "shadow_key",
    "shadow_stop_epochs",
    "summary",
    "summary_kinds",
    "to_json_value",
]
