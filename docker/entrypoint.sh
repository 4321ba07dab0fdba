#!/bin/sh
# greenft container entrypoint (PID 1 is tini, which reaps children and passes signals on to this process).
#
# 1. The W&B API key comes from the environment (WANDB_API_KEY) or from a secret file (WANDB_API_KEY_FILE,
#    default /run/secrets/wandb_api_key, which compose mounts from the `wandb_api_key` secret). It is never
#    baked into the image, echoed or logged: this script does not use `set -x` and prints only whether a key
#    was found.
# 2. Started as root with GREENFT_USER set (compose does this, so that a 0600 key file owned by whoever runs
#    compose can be read), it reads the key and then re-runs itself as GREENFT_USER (uid:gid, the image's user)
#    through `setpriv`: nothing else runs as root.
# 3. Fails loudly (exit 2, one line) when a directory the run writes to is not writable: the runs directory
#    ($WANDB_DIR, where W&B and greenft keep the run files; W&B would otherwise fall back to /tmp inside the
#    container and the files would be lost) or the cache ($GREENFT_CACHE_DIR). The line names the path and the
#    uid:gid to chown it to.
# 4. With GREENFT_REQUIRE_GPU=1 (set by the CUDA image) fails loudly when torch finds no usable GPU, unless
#    GREENFT_ALLOW_CPU=1 says that training on the CPU is intended.
# 5. With no arguments it starts a W&B sweep agent for $SWEEP_ID, exactly the command `greenft sweep create`
#    prints (`wandb agent --forward-signals ENTITY/PROJECT/SWEEP_ID`); with arguments it runs them instead
#    (e.g. `greenft sweep run sweeps/quick.yaml --count 6`, or `greenft --help`).
# `exec` hands the process over, so `docker stop`'s SIGTERM reaches the agent, which forwards it to the running
# trial: the trial closes its logs, is marked preempted and W&B re-queues it.
set -eu

fail() {
  echo "greenft: $*" >&2
  exit 2
}

if [ -z "${WANDB_API_KEY:-}" ]; then
  key_file="${WANDB_API_KEY_FILE:-/run/secrets/wandb_api_key}"
  if [ -r "$key_file" ] && [ -s "$key_file" ]; then
    WANDB_API_KEY="$(tr -d '\r\n' < "$key_file")"
    export WANDB_API_KEY
  elif [ -e "$key_file" ] && [ ! -r "$key_file" ]; then
    fail "cannot read the W&B API key file $key_file as uid $(id -u): start the container as root (compose's" \
      "user: \"0:0\"; this script drops to \$GREENFT_USER once the key is read) or make the file readable"
  fi
fi
unset WANDB_API_KEY_FILE

if [ "$(id -u)" = 0 ] && [ -n "${GREENFT_USER:-}" ]; then
  command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing: cannot drop root to $GREENFT_USER"
  exec setpriv --reuid="${GREENFT_USER%%:*}" --regid="${GREENFT_USER##*:}" --clear-groups --no-new-privs \
    -- "$0" "$@"
fi

must_write() {  # $1: what the directory is, $2: its path
  probe="$2/.greenft-write-test.$$"
  if ! (mkdir -p "$2" && : > "$probe" && rm -f "$probe") 2>/dev/null; then
    fail "$1 $2 is not writable by uid $(id -u) (gid $(id -g)), so the run's files would be lost: make what is" \
      "mounted there writable for it (on the host: chown -R $(id -u):$(id -g) HOST_DIR) or run as its owner (--user)"
  fi
}
if [ -n "${WANDB_DIR:-}" ]; then must_write "runs directory" "$WANDB_DIR"; fi
if [ -n "${GREENFT_CACHE_DIR:-}" ]; then must_write "cache directory" "$GREENFT_CACHE_DIR"; fi

if [ "${GREENFT_REQUIRE_GPU:-0}" = 1 ] && [ "${GREENFT_ALLOW_CPU:-0}" != 1 ]; then
  if ! why="$(python -c '
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import torch
    ok = torch.cuda.is_available()
if not ok:
    notes = " ".join(str(w.message).split(".")[0].strip() for w in caught)
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable GPU" + (f": {notes}" if notes else ""))
    raise SystemExit(1)
' 2>&1)"; then
    fail "$(echo "$why" | tail -n 1); run the CUDA image with GPUs (--gpus all, or compose.gpu.yaml; NVIDIA" \
      "container toolkit and a driver for CUDA 13) or set GREENFT_ALLOW_CPU=1 to train on the CPU"
  fi
fi

if [ "$#" -eq 0 ]; then
  : "${SWEEP_ID:?set SWEEP_ID=entity/project/sweep_id (printed by greenft sweep create)}"
  set -- wandb agent --forward-signals "$SWEEP_ID"
fi

case "${1:-}" in
  wandb)
    if [ -z "${WANDB_API_KEY:-}" ] && [ "${WANDB_MODE:-online}" != "offline" ]; then
      echo "greenft: no W&B API key (set WANDB_API_KEY or provide the wandb_api_key secret)" >&2
    fi
    ;;
esac

exec "$@"
