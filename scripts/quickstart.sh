#!/usr/bin/env bash
# Set up (if needed) and run the main job on the embedded default: GIN fine-tuned on B3DB (blood-brain barrier,
# 7,807 molecules, scaffold split), CodeCarbon offline every epoch, the default stopping rule (anges-pp: AN-GES on a smoothed
# signal; add --rule anges for the exact rule), W&B offline run files in ./runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/greenft ] || bash scripts/setup.sh
exec .venv/bin/greenft train --dataset b3db --model gin --max-epochs 30 --runs-dir runs "$@"
