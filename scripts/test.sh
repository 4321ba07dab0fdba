#!/usr/bin/env bash
# Set up (if needed), then lint, type-check and run the fast test set. Extra arguments go to pytest
# (e.g. `-m slow` for the slow set, `-m ''` for everything).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pytest ] || bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
