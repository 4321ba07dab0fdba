#!/bin/sh
# greenft container entrypoint.
#
# 1. The W&B API key comes from the environment (WANDB_API_KEY) or from a secret file (WANDB_API_KEY_FILE,
#    default /run/secrets/wandb_api_key, which docker compose mounts from the `wandb_api_key` secret). It is never
#    baked into the image, echoed or logged: this script does not use `set -x` and prints only whether a key
#    was found.
# 2. With no arguments it starts a W&B sweep agent for $SWEEP_ID, exactly the command `greenft sweep create`
#    prints (`wandb agent --forward-signals ENTITY/PROJECT/SWEEP_ID`); with arguments it runs them instead
#    (e.g. `greenft sweep run sweeps/quick.yaml --count 6`, or `greenft --help`).
# `exec` hands the process over, so `docker stop`'s SIGTERM reaches the agent, which forwards it to the running
# trial: the trial closes its logs, is marked preempted and W&B re-queues it.
set -eu

if [ -z "${WANDB_API_KEY:-}" ]; then
  key_file="${WANDB_API_KEY_FILE:-/run/secrets/wandb_api_key}"
  if [ -r "$key_file" ] && [ -s "$key_file" ]; then
    WANDB_API_KEY="$(tr -d '\r\n' < "$key_file")"
    export WANDB_API_KEY
  fi
fi
unset WANDB_API_KEY_FILE

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
