#!/usr/bin/env bash
# Build the CPU agent image (docker/Dockerfile.cpu) with docker or podman and check, inside it, what a sweep box
# does, with the run files on a host directory bind-mounted as the runs directory:
#   (a) a 2-epoch trial: `greenft train --dataset b3db --limit 300 --max-epochs 2`, W&B offline;
#   (b) a trial started the way `wandb agent` starts one: the parameter file written by wandb's own writer
#       (wandb.sdk.lib.config_util.save_config_file_from_dict, it begins with `wandb_version: 1`), the command
#       expanded by wandb's own macro code from greenft's sweep `command`, WANDB_SWEEP_ID, WANDB_RUN_ID,
#       WANDB_SWEEP_PARAM_PATH and WANDB_MODE=offline: `python -m greenft agent key=value ...`;
#   (c) a runs directory the image's user cannot write: the entrypoint must stop with exit 2 naming the path.
# Then it checks on the host: an offline-run-* directory with a .wandb file per trial, greenft_epochs.jsonl with
# 2 epochs, status finished, the agent's run tagged sweep:<id> in greenft_config.json; and prints the image size.
# No container engine (or none that answers): prints "skipped: no container engine" and exits 0.
#
# Where no image can be pulled (no registry reachable), make a Debian base from Debian's package mirror and use
# it as BASE_IMAGE; the Dockerfile then installs Debian's python3 and python3-venv (Python 3.11 on bookworm):
#   debootstrap --variant=minbase bookworm DIR http://deb.debian.org/debian
#   tar -C DIR -c . | podman import - localhost/debian:bookworm          # or: docker import
# This script does that itself (as root) when BASE_IMAGE is neither present nor pullable and debootstrap exists.
#
# Environment:
#   ENGINE        docker or podman (default: the first whose `info` answers)
#   ENGINE_FLAGS  global flags for the engine, e.g. "--runtime runc --cgroup-manager cgroupfs" for podman on a
#                 host without systemd or crun (or set them in /etc/containers/containers.conf)
#   BASE_IMAGE    the Dockerfile's base (default python:3.11-slim-bookworm)
#   LOCAL_BASE    the debootstrap base's name (default localhost/debian:bookworm), built when BASE_IMAGE fails
#   DEBIAN_MIRROR the mirror debootstrap uses (default http://deb.debian.org/debian)
#   IMAGE         the tag to build (default localhost/greenft-agent:cpu-check)
#   TORCH_WHEELS  a directory holding a torch wheel for the image's Python (default /opt/wheels; podman only,
#                 as is HOST_CA_BUNDLE, the CA bundle pip trusts in the build: docker build has no -v, so with
#                 docker the Dockerfile's public-internet defaults apply)
#   KEEP          1 keeps the host runs directory for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim-bookworm}
LOCAL_BASE=${LOCAL_BASE:-localhost/debian:bookworm}
IMAGE=${IMAGE:-localhost/greenft-agent:cpu-check}
TORCH_VERSION=$(sed -n 's/^ARG TORCH_VERSION=//p' docker/Dockerfile.cpu)
SWEEP_ID=containercheck1
RUN_ID=cchk0001

say() { printf 'container-check: %s\n' "$*"; }
die() {
  say "FAILED: $*" >&2
  exit 1
}

if [ -z "${ENGINE:-}" ]; then
  for candidate in docker podman; do
    if command -v "$candidate" >/dev/null && "$candidate" info >/dev/null 2>&1; then
      ENGINE=$candidate
      break
    fi
  done
fi
if [ -z "${ENGINE:-}" ]; then
  say "skipped: no container engine (neither docker nor podman is installed and answering)"
  exit 0
fi
# shellcheck disable=SC2206  # ENGINE_FLAGS holds several words
engine=("$ENGINE" ${ENGINE_FLAGS:-})
say "engine: ${engine[*]}"

# --- the base image: present, pulled, or made with debootstrap -------------------------------------------------
if ! "${engine[@]}" image inspect "$BASE_IMAGE" >/dev/null 2>&1 \
  && ! timeout 300 "${engine[@]}" pull "$BASE_IMAGE" >/dev/null 2>&1; then
  say "cannot pull $BASE_IMAGE; using the Debian base $LOCAL_BASE"
  if ! "${engine[@]}" image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null \
      || die "no $BASE_IMAGE and no debootstrap to make $LOCAL_BASE (apt-get install debootstrap)"
    [ "$(id -u)" = 0 ] || die "debootstrap needs root to make $LOCAL_BASE"
    rootfs=$(mktemp -d /var/tmp/greenft-debootstrap.XXXXXX)
    say "debootstrap bookworm into $rootfs (a few minutes)"
    debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
      > "$rootfs.log" 2>&1 || { tail -n 20 "$rootfs.log"; die "debootstrap failed (log: $rootfs.log)"; }
    rm -f "$rootfs.log"
    # no downloaded .debs or package lists in the image; the Dockerfile runs `apt-get update` itself
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | "${engine[@]}" import - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs"
  fi
  BASE_IMAGE=$LOCAL_BASE
fi

# --- build ------------------------------------------------------------------------------------------------------
build=("${engine[@]}" build -f docker/Dockerfile.cpu -t "$IMAGE" --build-arg "BASE_IMAGE=$BASE_IMAGE")
if [ "$ENGINE" = podman ]; then
  # the Dockerfile's own ignore file, named (podman 4.3 also finds it by itself; older ones read only .dockerignore)
  build+=(--ignorefile docker/Dockerfile.cpu.dockerignore)
  # Local overrides for a box without the public internet, kept here and out of the Dockerfile, whose defaults
  # are for the public internet. Both are build-time mounts onto directories every base has empty (/mnt, /srv),
  # so no mount point is left behind in the image either.
  # torch from a local wheel directory (e.g. /opt/wheels on the project's machines, a CPU build of torch for
  # CPython 3.11) instead of PyTorch's CPU index:
  TORCH_WHEELS=${TORCH_WHEELS:-/opt/wheels}
  if compgen -G "$TORCH_WHEELS/torch-$TORCH_VERSION*-cp311-*.whl" >/dev/null; then
    say "torch $TORCH_VERSION from $TORCH_WHEELS (mounted into the build)"
    build+=(-v "$TORCH_WHEELS:/mnt:ro" --build-arg TORCH_FIND_LINKS=/mnt)
  fi
  # the host's CA bundle, so that pip inside the build trusts what the host trusts (a TLS-inspecting proxy's CA)
  host_ca=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  if [ -f "$host_ca" ]; then
    build+=(-v "$(dirname "$host_ca"):/srv:ro" --build-arg "PIP_CERT=/srv/$(basename "$host_ca")")
  fi
fi
say "building $IMAGE from $BASE_IMAGE"
start=$SECONDS
"${build[@]}" . || die "image build failed"
say "built in $((SECONDS - start)) s"

# --- run the trials -----------------------------------------------------------------------------------------------
runs=$(mktemp -d "${TMPDIR:-/tmp}/greenft-container-check.XXXXXX")
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    say "kept $runs"
  elif ! rm -rf "$runs" 2>/dev/null && [ "$ENGINE" = podman ]; then
    podman unshare rm -rf "$runs" # rootless podman: files of uid 10001 belong to a sub-uid
  fi
}
trap cleanup EXIT
mkdir -p "$runs/runs" "$runs/readonly"
chmod 0777 "$runs/runs" # the image's user (uid 10001, or its sub-uid under rootless podman) writes here
chmod 0555 "$runs/readonly"
run=("${engine[@]}" run --rm -e WANDB_MODE=offline -e WANDB_SILENT=true -v "$runs/runs:/home/greenft/work/runs:z")

say "(a) 2-epoch trial"
start=$SECONDS
"${run[@]}" "$IMAGE" greenft train --dataset b3db --limit 300 --max-epochs 2 --wandb-mode offline \
  > "$runs/train.log" 2>&1 || { tail -n 30 "$runs/train.log"; die "(a) the trial failed"; }
say "(a) done in $((SECONDS - start)) s"

say "(b) a trial started as wandb agent starts one"
start=$SECONDS
agent_env=(-e "WANDB_SWEEP_ID=$SWEEP_ID" -e "WANDB_RUN_ID=$RUN_ID")
if ! "${run[@]}" -i "${agent_env[@]}" "$IMAGE" python - > "$runs/agent.log" 2>&1 <<'EOF'
"""What wandb.wandb_agent.Agent._command_run does for one trial, with wandb's own functions."""
import os
import subprocess
import sys

from wandb.sdk.launch.sweeps import utils as sweep_utils
from wandb.sdk.lib import config_util

from greenft.sweeps.agent import SWEEP_COMMAND

params = {"model": "gin", "dataset": "b3db", "limit": 300, "max_epochs": 2, "num_layers": 2, "emb_dim": 32,
          "alpha": 0.9, "beta": 0.2, "W": 3, "seed": 0}
command = {"run_id": os.environ["WANDB_RUN_ID"], "args": {k: {"value": v} for k, v in params.items()}}
path = os.path.join(os.environ["WANDB_DIR"], "wandb", f"sweep-{os.environ['WANDB_SWEEP_ID']}",
                    f"config-{command['run_id']}.yaml")
os.environ["WANDB_SWEEP_PARAM_PATH"] = path
config_util.save_config_file_from_dict(path, command["args"])
with open(path) as f:
    assert f.readline().startswith("wandb_version: 1"), "wandb's writer changed"
sweep_vars = sweep_utils.create_sweep_command_args(command)
sweep_vars["env"] = ["/usr/bin/env"]
argv = []
for chunk in sweep_utils.create_sweep_command(list(SWEEP_COMMAND)):
    chunk = str(chunk)
    argv += (sweep_vars.get(chunk[2:-1]) or []) if chunk.startswith("${") and chunk.endswith("}") else [chunk]
print("command:", " ".join(argv), flush=True)
sys.exit(subprocess.run(argv, env=dict(os.environ)).returncode)
EOF
then
  tail -n 30 "$runs/agent.log"
  die "(b) the agent trial failed"
fi
say "(b) done in $((SECONDS - start)) s"

say "(c) a runs directory the image's user cannot write"
code=0
"${engine[@]}" run --rm -v "$runs/readonly:/home/greenft/work/runs:z" "$IMAGE" greenft --help \
  > "$runs/readonly.log" 2>&1 || code=$?
[ "$code" = 2 ] || { cat "$runs/readonly.log"; die "(c) expected exit 2, got $code"; }
grep -q "runs directory /home/greenft/work/runs is not writable by uid 10001" "$runs/readonly.log" \
  || { cat "$runs/readonly.log"; die "(c) the message does not name the path and uid"; }
say "(c) refused: $(tail -n 1 "$runs/readonly.log")"

# --- the run files, read on the host ------------------------------------------------------------------------------
python3 - "$runs/runs" "$SWEEP_ID" <<'EOF' || die "run files"
import glob, json, os, sys

runs, sweep_id = sys.argv[1], sys.argv[2]
dirs = sorted(glob.glob(os.path.join(runs, "wandb", "offline-run-*")))
assert len(dirs) == 2, f"expected 2 offline runs in {runs}/wandb, found {dirs}"
tagged = 0
for d in dirs:
    assert glob.glob(os.path.join(d, "run-*.wandb")), f"{d}: no .wandb file"
    with open(os.path.join(d, "files", "greenft_epochs.jsonl")) as f:
        epochs = [json.loads(line) for line in f if line.strip()]
    assert len(epochs) == 2, f"{d}: {len(epochs)} epochs logged, expected 2"
    with open(os.path.join(d, "files", "greenft_summary.json")) as f:
        status = json.load(f)["status"]
    assert status == "finished", f"{d}: status {status}"
    with open(os.path.join(d, "files", "greenft_config.json")) as f:
        config = json.load(f)
    if f"sweep:{sweep_id}" in config["logging"]["tags"]:
        assert config["sweep"]["id"] == sweep_id, config["sweep"]
        tagged += 1
    print(f"container-check: {os.path.basename(d)}: 2 epochs, {status}, tags {config['logging']['tags']}")
assert tagged == 1, f"expected one run tagged sweep:{sweep_id}, found {tagged}"
EOF

size=$("${engine[@]}" image inspect --format '{{.Size}}' "$IMAGE")
say "image $IMAGE: $((size / 1000000)) MB ($(numfmt --to=iec "$size" 2>/dev/null || echo "$size B"))"
say "passed"
