#!/usr/bin/env bash
# `greenft tune` workers sharing one study on a real PostgreSQL server, started here in a temporary directory.
#
#   bash scripts/postgres-check.sh            # about 15 minutes on 2 CPU cores (REPEATS=1: about 7)
#
# What it does and checks (exit 1 on any failure, 77 = skipped because no PostgreSQL server binaries exist):
#   1. initdb + pg_ctl on a free local port, password authentication (scram-sha-256) with a random password,
#      the socket and data in a temp dir; as root the server runs as the `postgres` user (or PG_USER).
#   2. three small shadow runs (8-epoch GIN on a B3DB sample, W&B disabled): the curves replay tuning needs.
#   3. schema race: RACE_ROUNDS fresh databases, two workers started together on each; none may crash.
#   4. the acceptance run: on fresh databases, two workers started together with default (fresh) seeds, 2 x 100
#      trials, against one worker doing the 200 trials alone, and against two workers both given --seed 0 (what
#      every worker did before seeds were drawn per worker). Repeated REPEATS times. Reported per study:
#      duplicates (trials whose config -- the rule and its parameters -- an earlier trial of the same study had) and, for two workers,
#      how many of worker A's first 15 sampled configs worker B also sampled among its first 15.
#      Required: no crash; 200 COMPLETE trials in every study; distinct seeds per worker; fresh-seeded workers
#      share <= 1 of their first 15 proposals; no study stores a duplicate: a sampler's repeat of a config the
#      study holds is rejected before it is scored and replaced by a fresh config
#      (greenft.analysis.fresh_proposals), and each config is claimed in the database before it is scored
#      (table greenft_config_claims, greenft.analysis.config_claims), so a config the other worker scored since
#      the last sync is a repeat too; and the fresh-seeded pair proposes fewer repeats in total (stored +
#      replaced) than the same-seed pair, whose first proposals are the same. Each worker's printed counts are
#      shown: repeats replaced, and of those, configs the other worker had claimed first.
#   5. the password appears in no output file and in no line the workers printed.
#
# Environment: PG_BIN (server binaries; default: pg_config --bindir, else the newest /usr/lib/postgresql/*/bin),
# PG_USER (non-root user that runs the server when this runs as root; default postgres), REPEATS (default 3),
# RACE_ROUNDS (default 3), TRIALS (per worker, default 100), KEEP=1 keeps the temp dir for inspection.
# The PostgreSQL driver is greenft's `postgres` extra (psycopg 3); it is installed into .venv if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=$ROOT/.venv/bin/python
GREENFT=$ROOT/.venv/bin/greenft
REPEATS=${REPEATS:-3}
RACE_ROUNDS=${RACE_ROUNDS:-3}
TRIALS=${TRIALS:-100}

find_pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local dir
  dir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ]; then echo "$dir"; return; fi
  dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)"
}
PG_BIN=$(find_pg_bin)
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
  echo "SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl) found; install postgresql or set PG_BIN" >&2
  exit 77
fi
[ -x "$GREENFT" ] || { echo "no $GREENFT: run bash scripts/setup.sh first" >&2; exit 1; }
if ! "$PY" -c "import psycopg" 2>/dev/null; then
  echo "installing the postgres extra's driver (psycopg[binary]) into .venv"
  "$PY" -m pip install -q 'psycopg[binary]>=3.1'
fi

WORK=$(mktemp -d /tmp/greenft-pgcheck.XXXXXX)
chmod 755 "$WORK"
PASSWORD="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "${PG_USER:-postgres}" -- "$@"; else "$@"; fi
}
cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "== PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $WORK)"
printf '%s\n' "$PASSWORD" >"$WORK/pwfile"
if [ "$(id -u)" = 0 ]; then chown -R "${PG_USER:-postgres}" "$WORK"; fi
as_pg "$PG_BIN/initdb" -D "$WORK/data" -U greenft --auth=scram-sha-256 --pwfile="$WORK/pwfile" >"$WORK/initdb.log"
rm -f "$WORK/pwfile"
as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
URL_BASE="postgresql://greenft:$PASSWORD@127.0.0.1:$PORT"
createdb() {
  PGPASSWORD=$PASSWORD "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U greenft -d postgres -c "CREATE DATABASE $1"
}

echo "== shadow runs for the curves"
RUNS=$WORK/runs
mkdir -p "$WORK/curves"
cat >"$WORK/curves/small.yaml" <<EOF
threads: 1
data: {dataset: b3db, limit: 300}
model: {num_layers: 2, emb_dim: 32, dropout: 0.0}
optim: {max_epochs: 8, batch_size: 64}
tracking: {measure_power_secs: 1.0}
logging: {runs_dir: $RUNS, system_metrics: false, wandb_mode: disabled}
EOF
for seed in 0 1 2; do
  "$GREENFT" train --config "$WORK/curves/small.yaml" --seed "$seed" --shadow >"$WORK/curves/train-$seed.log" 2>&1
done
echo "   $(find "$RUNS" -name greenft_summary.json | wc -l) shadow runs in $RUNS"

# worker NAME DB [greenft tune options...]: one worker in the background; its output in $WORK/NAME.log
PIDS=()
worker() {
  local name=$1 db=$2
  shift 2
  COLUMNS=200 "$GREENFT" tune --source "$RUNS" --out "$WORK/out/$name" --cache-dir "$WORK/cache" \
    --storage "$URL_BASE/$db" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!:$name")
}
wait_workers() {
  local failed=0 entry
  for entry in "${PIDS[@]}"; do
    if ! wait "${entry%%:*}"; then
      echo "FAIL: worker ${entry#*:} crashed; its output:" >&2
      tail -n 20 "$WORK/${entry#*:}.log" >&2
      failed=1
    fi
  done
  PIDS=()
  return $failed
}
# study DB: trials, states, duplicates and the workers' seeds, as one JSON line
study() {
  "$PY" - "$URL_BASE/$1" <<'EOF'
import collections, json, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
trials = optuna.load_study(study_name="greenft-anges", storage=sys.argv[1]).trials
def config(t):  # the rule and every parameter it drew (the search space is conditional on the rule)
    return tuple(sorted(t.params.items()))
keys = [config(t) for t in trials if t.params]
seeds = collections.Counter(t.user_attrs.get("sampler_seed") for t in trials)
states = collections.Counter(t.state.name for t in trials)
sampled = collections.defaultdict(list)  # worker -> its sampled configs in order (not the enqueued defaults)
for t in trials:
    if t.system_attrs.get("fixed_params") is None or "replaces_repeat" in t.user_attrs:
        sampled[t.user_attrs.get("worker")].append(config(t))
firsts = [set(v[:15]) for v in sampled.values()]
print(json.dumps({"trials": len(trials), "complete": states["COMPLETE"], "states": dict(states),
                  "distinct": len(set(keys)), "duplicates": len(keys) - len(set(keys)),
                  "n_seeds": len(seeds), "first15_shared": len(firsts[0] & firsts[1]) if len(firsts) == 2 else -1}))
EOF
}
field() { "$PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

echo "== schema race: $RACE_ROUNDS fresh databases, two workers started together on each"
for round in $(seq 1 "$RACE_ROUNDS"); do
  createdb "race$round"
  worker "race$round-a" "race$round" --trials 3
  worker "race$round-b" "race$round" --trials 3
  wait_workers || exit 1
  info=$(study "race$round")
  [ "$(field "$info" complete)" = 6 ] || { echo "FAIL: race round $round: $info" >&2; exit 1; }
done
echo "   $RACE_ROUNDS rounds: no crash, 6 COMPLETE trials each"

echo "== duplicates: 2 x $TRIALS trials (fresh seeds) vs 1 x $((2 * TRIALS)) vs 2 x $TRIALS with --seed 0"
total_two=0 total_one=0 total_same=0 rep_two=0 rep_one=0 rep_same=0
row() { printf '   %-7s %-44s %-26s %-44s\n' "$@"; }
row repeat "two workers, fresh seeds" "one worker alone" "two workers, both --seed 0"
for r in $(seq 1 "$REPEATS"); do
  createdb "two$r"
  createdb "one$r"
  createdb "same$r"
  worker "two$r-a" "two$r" --trials "$TRIALS"
  worker "two$r-b" "two$r" --trials "$TRIALS"
  wait_workers || exit 1
  worker "one$r" "one$r" --trials "$((2 * TRIALS))"
  wait_workers || exit 1
  worker "same$r-a" "same$r" --trials "$TRIALS" --seed 0
  worker "same$r-b" "same$r" --trials "$TRIALS" --seed 0
  wait_workers || exit 1
  two=$(study "two$r") one=$(study "one$r") same=$(study "same$r")
  for info in "$two" "$one" "$same"; do
    if [ "$(field "$info" complete)" != "$((2 * TRIALS))" ] || [ "$(field "$info" trials)" != "$((2 * TRIALS))" ]; then
      echo "FAIL: repeat $r: a study does not hold $((2 * TRIALS)) COMPLETE trials: $info" >&2
      exit 1
    fi
  done
  [ "$(field "$two" n_seeds)" = 2 ] || { echo "FAIL: the two workers did not draw distinct seeds: $two" >&2; exit 1; }
  if [ "$(field "$two" first15_shared)" -gt 1 ]; then
    echo "FAIL: first proposals shared: fresh seeds $(field "$two" first15_shared), same seed $(field "$same" first15_shared)" >&2
    exit 1
  fi
  d_two=$(field "$two" duplicates) d_one=$(field "$one" duplicates) d_same=$(field "$same" duplicates)
  total_two=$((total_two + d_two)) total_one=$((total_one + d_one)) total_same=$((total_same + d_same))
  # replaced LOGS: repeats the workers replaced; claimed LOGS: of those, configs the other worker claimed first
  replaced() { grep -ho '[0-9]* repeated proposals replaced' "$@" | awk '{n += $1} END {print n + 0}'; }
  claimed() { grep -ho '[0-9]* of them claimed first' "$@" | awk '{n += $1} END {print n + 0}'; }
  p_two=$(replaced "$WORK/two$r"-?.log) p_one=$(replaced "$WORK/one$r.log") p_same=$(replaced "$WORK/same$r"-?.log)
  rep_two=$((rep_two + d_two + p_two)) rep_one=$((rep_one + d_one + p_one)) rep_same=$((rep_same + d_same + p_same))
  row "$r" "$d_two dup, $p_two replaced ($(claimed "$WORK/two$r"-?.log) claimed), 15: $(field "$two" first15_shared)" \
    "$d_one dup, $p_one replaced" \
    "$d_same dup, $p_same replaced ($(claimed "$WORK/same$r"-?.log) claimed), 15: $(field "$same" first15_shared)"
  if [ "$d_one" -ne 0 ] || [ "$d_two" -ne 0 ] || [ "$d_same" -ne 0 ]; then
    echo "FAIL: repeat $r: stored duplicates (each must be 0): two workers $d_two, one worker $d_one, same seed $d_same" >&2
    exit 1
  fi
done
row total "$total_two dup, $rep_two repeats proposed" "$total_one dup, $rep_one proposed" \
  "$total_same dup, $rep_same repeats proposed"
if [ "$rep_two" -ge "$rep_same" ]; then
  echo "FAIL: fresh-seeded workers proposed as many repeats as same-seeded ones ($rep_two >= $rep_same)" >&2
  exit 1
fi

echo "== credentials"
if grep -rl -F -- "$PASSWORD" "$WORK/out" "$WORK"/*.log; then
  echo "FAIL: the password is in the files above" >&2
  exit 1
fi
echo "   the password is in none of $(find "$WORK/out" -type f | wc -l) output files and $(find "$WORK" -maxdepth 1 -name "*.log" | wc -l) logs"
echo "   e.g. $(grep -h 'browse the study' "$WORK/two1-a.log")"
echo "OK: postgres check passed in ${SECONDS} s"
