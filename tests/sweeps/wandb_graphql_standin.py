"""A stand-in for the W&B server over HTTP (``WANDB_BASE_URL``), for the one thing this machine lacks.

Everything on the client side is wandb's own code: ``wandb sync`` (wandb-core uploading an offline run: its
``UpsertBucket`` and ``CreateRunFiles`` mutations, the file uploads and the file stream), ``wandb.Api()``'s login
check (``Viewer``), ``wandb.sweep(..., prior_runs=...)`` (``UpsertSweep``) and the state change ``wandb sweep
--stop`` makes (``SweepWithRuns``, then ``UpsertSweep`` with a state). The stand-in answers with the shapes the W&B
server returns and keeps what a server would: the runs of each project (created by ``UpsertBucket``), the sweeps,
and the runs a sweep's ``priorRunsFilters`` matched among the project's runs *when the sweep was created* (what the
server does with ``prior_runs``). Unknown GraphQL operations (and a refused state change) are recorded in
``unknown`` and answered with an error.

Only the requests matter here, not W&B's storage: uploaded files are counted, not kept.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_ENTITY = "standin-entity"


@dataclass
class ServerState:
    runs: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    """(entity, project) -> run id -> what UpsertBucket sent (tags, group, config)."""
    sweeps: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _operation(query: str) -> str:
    found = re.search(r"(?:query|mutation)\s+(\w+)", query)
    return found.group(1) if found else "?"


class StandInServer:
    """``with StandInServer() as server:`` serves on ``server.url`` until the block ends."""

    def __init__(self, refuse_state_change: bool = False) -> None:
        self.state = ServerState()
        self.refuse_state_change = refuse_state_change
        """Answer the state change (``wandb sweep --stop``'s mutation) with an error, as a server refusing it."""
        state = self.state
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, payload: Any, status: int = 200) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def do_PUT(self) -> None:
                self._body()
                with state.lock:
                    state.uploads.append(self.path)
                self._reply({})

            def do_POST(self) -> None:
                body = self._body()
                if self.path != "/graphql":  # the file stream, wandb's telemetry
                    self._reply({"exitcode": None, "limits": {}} if self.path.endswith("/file_stream") else {})
                    return
                request = json.loads(body)
                query, variables = request.get("query", ""), request.get("variables") or {}
                with state.lock:
                    name = _operation(query)
                    state.operations.append(name)
                    data = outer.answer(name, query, variables)
                if data is None:
                    state.unknown.append(name)
                    self._reply({"errors": [{"message": f"stand-in does not know {name}"}]})
                else:
                    self._reply({"data": data})

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> StandInServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    # ------------------------------------------------------------------------------------------------- answers
    def _project(self, entity: str, project: str) -> dict[str, Any]:
        return {"id": f"p-{project}", "name": project, "entity": {"id": f"e-{entity}", "name": entity}}

    def answer(self, name: str, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        state = self.state
        if "viewer" in query and name in ("Viewer", "GetDefaultEntity", "?"):
            viewer = {"id": "u1", "entity": DEFAULT_ENTITY, "username": "standin", "email": "", "flags": None}
            return {"viewer": {**viewer, "teams": {"edges": []}}}
        if name == "UpsertBucket":
            entity, project = variables.get("entity") or DEFAULT_ENTITY, variables["project"]
            runs = state.runs.setdefault((entity, project), {})
            run = runs.setdefault(variables["name"], {"tags": [], "group": None})
            for key, value in (("tags", variables.get("tags")), ("group", variables.get("groupName"))):
                if value:
                    run[key] = value
            bucket = {
                "id": f"b-{variables['name']}",
                "name": variables["name"],
                "displayName": variables.get("displayName") or variables["name"],
                "description": None,
                "config": variables.get("config"),
                "sweepName": None,
                "project": self._project(entity, project),
                "historyLineCount": 0,
            }
            return {"upsertBucket": {"bucket": bucket, "inserted": len(runs[variables["name"]]) == 2}}
        if name == "CreateRunFiles":
            base = f"/upload/{variables['project']}/{variables['run']}"
            files = [{"name": f, "uploadUrl": f"{self.url}{base}/{f}"} for f in variables["files"]]
            return {"createRunFiles": {"runID": f"b-{variables['run']}", "uploadHeaders": [], "files": files}}
        if name == "UpsertSweep" and variables.get("config"):
            entity = variables.get("entityName") or DEFAULT_ENTITY
            project = variables.get("projectName") or "uncategorized"
            filters = json.loads(variables.get("priorRunsFilters") or '{"$or": []}')
            wanted = [f["name"] for f in filters["$or"]]
            existing = state.runs.get((entity, project), {})
            sweep_id = f"sw{len(state.sweeps) + 1:06d}"
            state.sweeps[sweep_id] = {
                "id": f"obj-{sweep_id}",
                "entity": entity,
                "project": project,
                "config": variables["config"],
                "state": "PENDING",
                "prior_runs_requested": wanted,
                "runs": [run for run in wanted if run in existing],  # linked: only runs that exist now
            }
            sweep = {"name": sweep_id, "project": self._project(entity, project)}
            return {"upsertSweep": {"sweep": sweep, "configValidationWarnings": []}}
        if name == "SweepWithRuns":
            sweep = state.sweeps.get(variables["sweep"])
            if sweep is None:
                return {"project": {"sweep": None}}
            found = {"id": sweep["id"], "name": variables["sweep"], "state": sweep["state"], "runs": {"edges": []}}
            return {"project": {"sweep": found}}
        if name == "UpsertSweep" and variables.get("state"):
            if self.refuse_state_change:
                return None
            sweep = next(s for s in state.sweeps.values() if s["id"] == variables["id"])
            sweep["state"] = variables["state"]
            return {"upsertSweep": {"sweep": {"name": variables["id"]}}}
        return None
