"""The run reader: online W&B through an injected fake API (never the network), local greenft run dirs,
the cache, the tables and the errors for unreachable or empty sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from greenft.analysis.reader import (
    Source,
    SourceError,
    epochs_frame,
    parse_source,
    read_runs,
    runs_frame,
)


def history(n: int, metric: str = "roc_auc") -> list[dict[str, Any]]:
    return [
        {
            "_step": i,
            "epoch": i + 1,
            f"val/{metric}": 0.6 + 0.05 * i,
            f"test/{metric}": 0.55 + 0.05 * i,
            "emissions/cumulative_kg": 1e-6 * (i + 1),
            "stop/decision": "continue",
        }
        for i in range(n)
    ]


class FakeSummary:
    def __init__(self, data: dict[str, Any]) -> None:
        self._json_dict = data


class FakeRun:
    def __init__(self, run_id: str, *, seed: int = 0, heartbeat: str = "t1", tags: tuple[str, ...] = ()) -> None:
        self.id = run_id
        self.name = f"name-{run_id}"
        self.group = "g"
        self.tags = list(tags)
        self.state = "finished"
        self.lastHistoryStep = 2
        self._attrs = {"heartbeatAt": heartbeat}
        # The public API returns config values already unwrapped, but sweep configs can hold {"value": ...}.
        self.config = {"seed": {"value": seed}, "data": {"dataset": "b3db"}, "optim": {"max_epochs": 3}, "_wandb": {}}
        self.summary = FakeSummary({"metric": "roc_auc", "status": "finished", "mode": "shadow", "_wandb": {"x": 1}})
        self.scans = 0

    def scan_history(self, page_size: int = 1000) -> list[dict[str, Any]]:
        self.scans += 1
        return history(3)


class FakeApi:
    def __init__(self, runs: list[FakeRun]) -> None:
        self._runs = runs
        self.calls: list[tuple[str, Any]] = []

    def runs(self, path: str, filters: dict[str, Any] | None = None) -> list[FakeRun]:
        self.calls.append((path, filters))
        return self._runs


def test_parse_source() -> None:
    assert parse_source("runs") == Source("offline", path=Path("runs"))
    assert parse_source("wandb:me/proj") == Source("wandb", entity="me", project="proj")
    assert parse_source("wandb:me/proj/abc123", ["t"]) == Source("wandb", None, "me", "proj", "abc123", ("t",))
    with pytest.raises(SourceError, match="wandb:ENTITY/PROJECT"):
        parse_source("wandb:proj")


def test_online_runs_with_filters_cache_and_schema(tmp_path: Path) -> None:
    runs = [FakeRun("a", seed=0), FakeRun("b", seed=1)]
    api = FakeApi(runs)
    progress: list[tuple[int, int]] = []
    src = parse_source("wandb:me/proj/sw1", tags=["paper"])
    records = read_runs(
        src, cache_dir=tmp_path, api_factory=lambda: api, progress=lambda d, t, w: progress.append((d, t))
    )
    assert api.calls == [("me/proj", {"sweep": "sw1", "tags": {"$in": ["paper"]}})]
    assert progress == [(0, 2), (1, 2), (2, 2)]
    a = records[0]
    assert (a.run_id, a.source, a.location, a.state, a.entity, a.project) == (
        "a", "wandb", "me/proj/a", "finished", "me", "proj"
    )  # fmt: skip
    assert a.config["seed"] == 0 and "_wandb" not in a.config and "_wandb" not in a.summary
    assert a.seed == 0 and a.dataset == "b3db" and a.metric == "roc_auc" and a.budget == 3 and len(a.history) == 3
    # A second read hits the cache: no history scans; a changed heartbeat invalidates one run.
    read_runs(src, cache_dir=tmp_path, api_factory=lambda: api)
    assert [r.scans for r in runs] == [1, 1]
    runs[1]._attrs["heartbeatAt"] = "t2"
    read_runs(src, cache_dir=tmp_path, api_factory=lambda: api)
    assert [r.scans for r in runs] == [1, 2]
    read_runs(src, cache_dir=tmp_path, api_factory=lambda: api, use_cache=False)
    assert [r.scans for r in runs] == [2, 3]
    # The two sources share one table schema.
    frame = runs_frame(records)
    assert {"run_id", "dataset", "seed", "config.optim.max_epochs", "summary.metric"} <= set(frame.columns)
    epochs = epochs_frame(records)
    assert len(epochs) == 6 and epochs["val_metric"].iloc[0] == pytest.approx(0.6)


def test_unreachable_api_is_a_clear_error(tmp_path: Path) -> None:
    def broken() -> Any:
        raise ConnectionError("Name or service not known")

    with pytest.raises(SourceError, match=r"wandb:me/proj: ConnectionError: Name or service not known.*wandb login"):
        read_runs("wandb:me/proj", cache_dir=tmp_path, api_factory=broken)

    class Failing(FakeApi):
        def runs(self, path: str, filters: dict[str, Any] | None = None) -> list[FakeRun]:
            raise PermissionError("permission denied for entity me")

    with pytest.raises(SourceError, match=r"me/proj.*permission denied"):
        read_runs("wandb:me/proj", cache_dir=tmp_path, api_factory=lambda: Failing([]))
    with pytest.raises(SourceError, match="has no runs"):
        read_runs("wandb:me/proj", cache_dir=tmp_path, api_factory=lambda: FakeApi([]))

    class BadRun(FakeRun):
        def scan_history(self, page_size: int = 1000) -> list[dict[str, Any]]:
            raise TimeoutError("read timed out")

    with pytest.raises(SourceError, match="me/proj/x: TimeoutError"):
        read_runs("wandb:me/proj", cache_dir=tmp_path, api_factory=lambda: FakeApi([BadRun("x")]))


def test_offline_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_runs(tmp_path / "nope", cache_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no runs under"):
        read_runs(tmp_path / "empty", cache_dir=tmp_path)


def write_local_run(folder: Path, n: int, *, status: str | None = "finished", torn: bool = False) -> None:
    """A run made with wandb_mode=disabled: only greenft's JSON files."""
    folder.mkdir(parents=True)
    config = {"seed": 3, "data": {"dataset": "freesolv"}, "model": {"name": "gin"}, "optim": {"max_epochs": n}}
    (folder / "greenft_config.json").write_text(json.dumps(config))
    rows = [json.dumps({**row, "val/rmse": 2.0 - 0.1 * i, "test/rmse": None}) for i, row in enumerate(history(n, "x"))]
    (folder / "greenft_epochs.jsonl").write_text("\n".join(rows) + ('\n{"epoch": 9, ' if torn else "\n"))
    if status is not None:
        (folder / "greenft_summary.json").write_text(json.dumps({"status": status, "metric": "rmse"}))


def test_local_runs_and_cache_invalidation(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_local_run(root / "greenft-run-1", 4)
    write_local_run(root / "greenft-run-2", 2, status=None, torn=True)  # killed: no summary, torn last line
    cache = tmp_path / "cache"
    records = read_runs(root, cache_dir=cache)
    assert [r.run_id for r in records] == ["greenft-run-1", "greenft-run-2"]
    one, two = records
    assert (one.source, one.state, one.metric, one.dataset, one.seed, one.budget) == (
        "local", "finished", "rmse", "freesolv", 3, 4
    )  # fmt: skip
    assert len(one.history) == 4 and one.history[0]["test/rmse"] is None  # NaN as greenft's JSON writes it
    assert two.state == "incomplete" and len(two.history) == 2 and two.metric == "rmse"  # metric from val/ keys
    assert len(list((cache / "runs").glob("*.json"))) == 2
    # Appending an epoch changes size/mtime: the run is read again, not served stale from the cache.
    with (root / "greenft-run-2" / "greenft_epochs.jsonl").open("w") as fh:
        fh.write("\n".join(json.dumps(r) for r in history(3)) + "\n")
    again = read_runs(root, cache_dir=cache)
    assert len(again[1].history) == 3
    assert [r.run_id for r in read_runs(root, cache_dir=cache, include_unfinished=False)] == ["greenft-run-1"]
