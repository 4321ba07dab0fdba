"""Run wandb's real sweep agent (``wandb.wandb_agent.run_agent``, what ``wandb agent`` calls) against a stand-in for
the one thing this machine lacks: the W&B server.

Everything on the agent's side is wandb's own code: it fetches the sweep's YAML and ``command``, registers,
heartbeats, writes the parameter file with ``config_util.save_config_file_from_dict``, expands the command with
its macro code (``${env}``, ``${args_no_hyphens}``), launches the trial process, forwards signals
(``--forward-signals``) and tears down. The stand-in answers the three GraphQL operations the agent sends
(``SweepWithRuns``, ``CreateAgent``, ``Heartbeat``) with the shapes the W&B server returns, and proposes each
trial's parameters with W&B's open-source sweep engine (``sweeps.next_run``), as the server does.

Usage (as a test does): ``python wandb_server_standin.py SWEEP_YAML --count N --record OUT.json
[--set name=value ...]`` with ``WANDB_MODE=offline`` in the environment, so that each trial logs W&B files
locally. ``--set`` replaces a parameter by a fixed value (shorter trials in tests). The record lists every
command handed out and every run state the agent reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ENTITY, PROJECT, SWEEP_ID = "standin-entity", "greenft", "standin01"


class StandInServer:
    """The sweep as the W&B server keeps it: the YAML, the runs proposed so far and what the agent reported."""

    def __init__(self, sweep_config: dict[str, Any], record: Path) -> None:
        self.config = sweep_config
        self.record_path = record
        self.proposed: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.agents = 0

    def _save(self) -> None:
        payload = {"commands": self.proposed, "heartbeats": self.heartbeats, "agents": self.agents}
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, self.record_path)

    def _next_command(self) -> dict[str, Any] | None:
        import sweeps

        previous = [
            sweeps.SweepRun(name=c["run_id"], config=c["args"], state=sweeps.RunState.finished) for c in self.proposed
        ]
        run = sweeps.next_run(self.config, previous, validate=True)
        if run is None:
            return None
        number = len(self.proposed) + 1
        command = {
            "id": f"cmd{number}",
            "type": "run",
            "run_id": f"standinrun{number:02d}",
            "args": {k: {"value": v["value"]} for k, v in run.config.items()},
            "program": self.config.get("program", ""),
        }
        self.proposed.append(command)
        return command

    def execute_graphql(self, query: str, variables: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "SweepWithRuns" in query:
            sweep = {
                "id": SWEEP_ID,
                "name": SWEEP_ID,
                "method": self.config.get("method"),
                "state": "RUNNING",
                "description": self.config.get("description"),
                "config": yaml.safe_dump(self.config),
                "runs": {"edges": []},
            }
            return {"project": {"sweep": sweep}}
        if "CreateAgent" in query:
            self.agents += 1
            self._save()
            return {"createAgent": {"agent": {"id": f"agent{self.agents}"}}}
        if "Heartbeat" in query:
            states = json.loads(variables.get("runState") or "{}")
            self.heartbeats.append(states)
            commands = [] if states else [c for c in [self._next_command()] if c is not None]
            self._save()
            return {"agentHeartbeat": {"agent": {"id": variables["id"]}, "commands": json.dumps(commands)}}
        raise AssertionError(f"the stand-in server does not know this query: {query[:80]!r}")


class StandInApi:
    """What ``wandb.Api()`` returns, reduced to what the agent uses: ``settings`` and ``_service_api``."""

    def __init__(self, server: StandInServer) -> None:
        self.settings = {"entity": ENTITY, "project": PROJECT}
        self._service_api = server


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--set", action="append", default=[], help="name=value: a parameter fixed to a value")
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.sweep.read_text())
    for item in args.set:
        name, _, value = item.partition("=")
        config["parameters"][name] = {"value": yaml.safe_load(value)}
    server = StandInServer(config, args.record)

    import wandb
    from wandb import wandb_agent

    wandb.Api = lambda *a, **k: StandInApi(server)  # type: ignore[assignment,misc]  # the server boundary only
    wandb_agent.run_agent(f"{ENTITY}/{PROJECT}/{SWEEP_ID}", count=args.count, forward_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
