#!/usr/bin/env bash
# Set up (if needed), then lint, type-check and run the fast test set. Extra arguments go to pytest
# (e.g. `-m slow` for the slow set, `-m ''` for everything).
#
# The tests run in GREENFT_TEST_WORKERS pytest-xdist processes (default 2, CI's cores; 1 runs them in this
# process), each test file on one worker (--dist loadfile: a file's module fixtures, e.g. a real trained run,
# are built once). Most of the time goes to real `python -m greenft` subprocesses and real trainings, each on
# one torch thread, so two workers keep both cores busy.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pytest ] || bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
workers=${GREENFT_TEST_WORKERS:-2}
if [ "$workers" -gt 1 ]; then
  .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
else
  .venv/bin/python -m pytest "$@"
fi
