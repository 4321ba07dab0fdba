#!/usr/bin/env bash
# The GPU checks, run THERE (on the device machine, in the repo root, as root) by ONE `run` call; see README.md.
# Every step is independent (a failure prints "step X failed rc=N" and the next step runs), has its own `timeout`,
# prints one summary line and writes a JSON into $WORK; at the end they are merged into $OUT/results.json, the
# whole log is $OUT/log.txt and the run folders (no weights) are $OUT/work.tar.gz (3 files: the device returns 8).
#
#   GPU_CHECKS_DRY=1  CPU dry mode for THIS machine: the main venv, device cpu, tiny sizes, 1 thread, no pip
#                     install; catches syntax and flag errors before device time is spent (OUT defaults to
#                     /tmp/gpuout)
#   GPU_STEPS         which steps to run, default "env imports train epoch pretrain new" (e.g. GPU_STEPS="new")
#   GPU_CHEMPROP=0    leave chemprop-dmpnn out of the epoch-time step
#   GPU_NEW_RECIPES, GPU_NEW_MODELS  the names the hook (new_family_checks) tries; defaults: the new families
#   GPU_BUDGET_S      seconds all steps may take together (default 420; x4 in dry mode): a command is cut to what
#                     is left and later steps are skipped, so the results are merged before the call's timeout
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export PYTHONUNBUFFERED=1 WANDB_SILENT=true WANDB_DISABLE_GIT=true TOKENIZERS_PARALLELISM=false
DRY=${GPU_CHECKS_DRY:-0}
STEPS=${GPU_STEPS:-env imports train epoch pretrain new}
T0=$(date +%s)

if [ "$DRY" = 1 ]; then
  OUT=${OUT:-/tmp/gpuout}
  PY=${PY:-/work/main/.venv/bin/python}
  DEVICE=cpu
  THREADS=1
  # tiny sizes: every flag and code path of the device run, seconds each
  TRAIN_ARGS=(--limit 120 --max-epochs 3 --layers 2 --emb-dim 16)
  EPOCH_ARGS=(--epochs 1 --size gin=2x16 --size graphormer=2x16x2 --size smiles-transformer=2x16x2
    --size chemprop-dmpnn=2x16)
  PRETRAIN_ARGS=(--preset cpu --steps 3 --corpus-size 200 --layers 2 --emb-dim 16)
  SCALE=4 # timeouts x SCALE: this machine is slow and shared
else
  OUT=${OUT:?OUT is set by the device tool}
  PY=${PY:-python3}
  DEVICE=cuda
  THREADS=16
  TRAIN_ARGS=(--max-epochs 5)
  # published GPU sizes (docs/models.md): Hu/MolCLR GIN 5x300, Graphormer-base 12x768 32 heads, ChemBERTa 6x768 12
  # heads; chemprop's own default 3x300
  EPOCH_ARGS=(--epochs 3 --size gin=5x300 --size graphormer=12x768x32 --size smiles-transformer=6x768x12
    --size chemprop-dmpnn=3x300)
  PRETRAIN_ARGS=(--preset gpu --steps 40 --corpus-size 3000)
  SCALE=1
fi
WORK=/tmp/gpuwork
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/log.txt") 2>&1
echo "gpu checks: dry=$DRY device=$DEVICE steps: $STEPS"
if [ "$DRY" != 1 ]; then
  echo "installing wheels from .whl into /tmp/site"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl ||
    echo "step pip failed rc=$?"
fi
# greenft from this tree's src; the data packages' files (molalkit's MoleculeNet CSVs, MOSES) from .gpudata/site,
# found by importlib.util.find_spec as if installed (greenft reads them by path, never imports them)
export PYTHONPATH=/tmp/site:$PWD/src:$PWD/.gpudata/site${PYTHONPATH:+:$PYTHONPATH}
export GREENFT_CACHE_DIR=/tmp/greenft-cache
BUDGET=$((${GPU_BUDGET_S:-420} * SCALE))
# t SECONDS COMMAND...: an external command under a time limit (x SCALE in dry mode), cut to what is left of the
# budget; 124 when it ran out
t() {
  local limit=$(($1 * SCALE)) left=$((BUDGET - ($(date +%s) - T0)))
  shift
  if [ "$left" -lt 5 ]; then
    echo "skipped: the ${BUDGET}s budget is spent ($*)"
    return 124
  fi
  if [ "$limit" -gt "$left" ]; then limit=$left; fi
  timeout --kill-after=10 "$limit" "$@"
}
greenft() { t "$1" "$PY" -m greenft "${@:2}"; } # greenft SECONDS ARGS...
summarize() { t 60 "$PY" scripts/gpu/summarize.py "$@"; }
# step NAME COMMAND...: one check; its failure is printed and the script goes on
step() {
  local name=$1
  shift
  echo
  echo "=== step $name (t+$(($(date +%s) - T0))s)"
  "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then echo "step $name failed rc=$rc$([ $rc -eq 124 ] && echo ' (timed out)')"; fi
  return 0
}
wants() { [[ " $STEPS " == *" $1 "* ]]; }

env_step() {
  t 60 "$PY" - <<'EOF'
import platform, sys
import torch
print("python", sys.version.split()[0], platform.machine())
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, f"{p.total_memory / 2**30:.1f} GiB", p.multi_processor_count, "SMs")
from importlib.metadata import version, PackageNotFoundError
for name in ("torch-geometric", "transformers", "tokenizers", "numpy", "pandas", "rdkit", "pydantic", "codecarbon",
             "nvidia-ml-py", "chemprop", "wandb", "selfies"):
    try:
        print(f"{name} {version(name)}")
    except PackageNotFoundError:
        print(f"{name} NOT INSTALLED")
EOF
  if command -v nvidia-smi >/dev/null; then nvidia-smi; else echo "no nvidia-smi"; fi
  echo "cpus $(getconf _NPROCESSORS_ONLN), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# (a) CodeCarbon on the GPU: gin at its default size, 5 epochs, full budget (--shadow), cuda then cpu
train_step() {
  local device=$1 threads=$2
  greenft 150 train --dataset bbbp --model gin "${TRAIN_ARGS[@]}" --shadow --device "$device" --threads "$threads" \
    --wandb-mode disabled --meter codecarbon --runs-dir "$WORK/train-$device" --save-models none || return $?
  summarize train "$WORK/train-$device" "train_gin_$device" "$WORK/train_gin_$device.json"
}

# (b) seconds per epoch at GPU / published sizes (benchmarks/family_epoch_time.py), one family per process
epoch_step() {
  local model=$1
  t 120 "$PY" benchmarks/family_epoch_time.py --dataset bbbp --models "$model" "${EPOCH_ARGS[@]}" --device "$DEVICE" \
    --threads "$THREADS" --json "$WORK/epoch_$model.json"
}

# (c) pretraining step time and kg at the GPU preset (device: CUDA when available, greenft.pretrain.runner)
pretrain_step() {
  greenft 150 pretrain smiles-mlm "${PRETRAIN_ARGS[@]}" --threads "$THREADS" --out "$WORK/pretrain-smiles-mlm" \
    --overwrite || return $?
  summarize pretrain "$WORK/pretrain-smiles-mlm" pretrain_smiles_mlm "$WORK/pretrain_smiles_mlm.json"
}

# (d) ===================== HOOK: the new families' commands (ecfp-mlm, dual-view, schnet) =====================
# Other helpers are building these now. Each runs only if this tree knows the name (so the script works before
# and after their merge); edit the commands here once their flags are known. Keep each under ~60 s on the GPU.
# GPU_NEW_RECIPES / GPU_NEW_MODELS override the names (the dry run tests this hook with existing ones).
new_family_checks() {
  local known recipes
  known=$("$PY" -c 'from greenft.models import known_models; print(" ".join(known_models()))' 2>/dev/null)
  recipes=$("$PY" -c 'from greenft.pretrain.recipes import RECIPES; print(" ".join(RECIPES))' 2>/dev/null)
  echo "models: $known"
  echo "pretrain recipes: $recipes"
  local r
  for r in ${GPU_NEW_RECIPES:-ecfp-mlm dual-view}; do
    if [[ " $recipes " == *" $r "* ]]; then
      step "pretrain_$r" greenft 120 pretrain "$r" "${PRETRAIN_ARGS[@]}" --threads "$THREADS" \
        --out "$WORK/pretrain-$r" --overwrite
      step "summary_pretrain_$r" summarize pretrain "$WORK/pretrain-$r" "pretrain_$r" "$WORK/pretrain_${r//-/_}.json"
    else
      echo "hook: pretrain recipe $r not in this tree yet: skipped"
    fi
  done
  local m
  for m in ${GPU_NEW_MODELS:-schnet ecfp-mlm dual-view-seq dual-view-graph dual-view-both}; do
    if [[ " $known " == *" $m "* ]]; then
      # fine-tune from the CLI on the GPU at the family's default size (random init where no checkpoint is given)
      local from=() data=(--dataset bbbp)
      case "$m" in  # pretrained names need the checkpoint the pretrain step above wrote (not the default place)
        dual-view-*) from=(--checkpoint "$WORK/pretrain-dual-view") ;;
        ecfp-mlm) from=(--checkpoint "$WORK/pretrain-ecfp-mlm") ;;
        schnet) data=(--dataset qm9 --target U0 --limit 3000) ;;  # 3D: needs qm9pack under .gpudata/site (not copied by wheels.sh yet)
      esac
      step "train_$m" greenft 120 train "${data[@]}" --model "$m" "${TRAIN_ARGS[@]}" ${from[@]+"${from[@]}"} \
        --device "$DEVICE" --threads "$THREADS" --wandb-mode disabled --runs-dir "$WORK/train-$m" --save-models none
      step "summary_train_$m" summarize train "$WORK/train-$m" "train_$m" "$WORK/train_${m//-/_}.json"
    else
      echo "hook: model $m not in this tree yet: skipped"
    fi
  done
  # e.g. epoch time of a new family at a GPU size:  step epoch_schnet epoch_step schnet   (add its --size above)
}
# =============================================================================================================

wants env && step env env_step
wants imports && step imports summarize imports "$WORK/imports.json"
if wants train; then
  step "train_$DEVICE" train_step "$DEVICE" "$THREADS"
  step train_cpu train_step cpu "$THREADS"
  step train_ratio summarize ratio "$WORK/train_gin_$DEVICE.json" "$WORK/train_gin_cpu.json" "$WORK/train_ratio.json"
fi
if wants epoch; then
  families=(gin graphormer smiles-transformer)
  if [ "${GPU_CHEMPROP:-1}" = 1 ]; then
    if "$PY" -c 'import chemprop' 2>/dev/null; then families+=(chemprop-dmpnn); else echo "chemprop not importable: chemprop-dmpnn skipped"; fi
  fi
  for f in "${families[@]}"; do step "epoch_$f" epoch_step "$f"; done
fi
wants pretrain && step pretrain_smiles_mlm pretrain_step
wants new && new_family_checks

echo
echo "=== results (t+$(($(date +%s) - T0))s)"
"$PY" scripts/gpu/summarize.py merge "$WORK" "$OUT/results.json"
tar -czf "$OUT/work.tar.gz" -C "$WORK" --exclude='*.pt' --exclude='*.safetensors' --exclude='*.bin' . 2>/dev/null ||
  echo "tar failed"
ls -la "$OUT"
echo "done in $(($(date +%s) - T0)) s"
