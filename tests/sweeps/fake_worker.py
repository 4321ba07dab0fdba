"""A stand-in for ``greenft.sweeps.worker`` that speaks the same protocol but trains nothing.

The controller's bookkeeping (resume, crashes, dead workers, preemption, early termination) is tested with it
in well under a second per trial; the real worker is exercised end to end in test_sweep_e2e.py.

Behaviour by the trial's ``seed``: 7 raises (a crashed trial); 8 kills the worker process; 9 runs until
stopped (SIGTERM: preempted) on its first attempt, ten 0.2 s epochs on later ones; 10 logs five epochs of a
poor metric (an early-termination target); any other seed finishes after three epochs with
``stop/val_roc_auc = lr * 100 + seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import types
from typing import Any

from greenft.sweeps.worker import LineReader


class Stop(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--worker", type=int, default=0)
    args = parser.parse_args()
    out = os.fdopen(args.result_fd, "w", buffering=1)

    def send(event: dict[str, Any]) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    def on_term(signum: int, frame: types.FrameType | None) -> None:
        raise Stop

    signal.signal(signal.SIGTERM, on_term)
    send({"event": "ready", "pid": os.getpid(), "worker": args.worker})
    commands = LineReader(sys.stdin.fileno())
    while (line := commands.readline(timeout=None)) is not None:
        message = json.loads(line)
        if message.get("cmd") == "exit":
            break
        if message.get("cmd") != "trial":
            continue
        index, config = message["index"], message["config"]
        seed, lr = config["seed"], config["optim"]["lr"]
        print(f"trial {index} seed {seed} sweep {message['sweep']['id']} attempt {message['attempt']}", flush=True)
        send({"event": "started", "index": index, "run_id": f"fake{index}", "run_path": f"/fake/{index}"})
        if seed == 7:
            send({"event": "done", "index": index, "status": "crashed", "error": "ValueError: boom", "summary": {}})
            continue
        if seed == 8:
            os._exit(3)
        try:
            endless = seed == 9 and message["attempt"] == 1
            epochs = {9: 10, 10: 5}.get(seed, 3)
            epoch = 0
            while endless or epoch < epochs:
                epoch += 1
                value = 0.01 if seed == 10 else lr * 100 + seed
                send({"event": "epoch", "index": index, "epoch": epoch, "values": {"val/roc_auc": value}})
                time.sleep(0.05 if seed != 9 else 0.2)
                stop = commands.readline(timeout=0.05)
                if stop is not None and json.loads(stop).get("cmd") == "stop":
                    summary = {"status": "finished", "stop/external": True, "total/epochs": epoch}
                    send({"event": "done", "index": index, "status": "finished", "summary": summary})
                    break
            else:
                summary = {"status": "finished", "metric": "roc_auc", "stop/epoch": epochs, "total/epochs": epochs}
                summary["stop/val_roc_auc"] = lr * 100 + seed
                send({"event": "done", "index": index, "status": "finished", "summary": summary, "seconds": 0.1})
        except Stop:
            send({"event": "done", "index": index, "status": "preempted", "summary": {"status": "preempted"}})
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
