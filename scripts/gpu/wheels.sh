#!/usr/bin/env bash
# Run HERE (not on the device), in the checkout the device call sends (the session's main checkout): fetch the
# wheels greenft needs on the GPU machine into ./.whl, and lay out the data files it reads by package path into
# ./.gpudata/site (see scripts/gpu/README.md). Both folders are ignored through .git/info/exclude (never
# .gitignore), and travel with `run(..., carry=[".whl", ".gpudata"])`.
#
# What travels is greenft's run-time dependency closure computed from the main venv's installed metadata
# (scripts/gpu/closure.py), less every package the device image already has (scripts/gpu/device_packages.txt,
# from /work/.library/device/KINDS.md) and less scripts/gpu/leave_out.txt (what the checks never import, with
# reasons), at the SAME versions as the venv (else the nearest available version). Wheels are cp312 manylinux
# x86-64 (the device runs CPython 3.12.3), fetched with --no-deps --only-binary=:all:.
#
#   PYTHON       the venv whose versions are carried (default /work/main/.venv/bin/python)
#   GPU_CHEMPROP 1 (default) also carries chemprop and its own needs, for the chemprop-dmpnn family; 0 leaves it
#   GPU_WANDB    0 (default) leaves wandb out (its wheel is 19 MiB, most of it the Go binary wandb-core that even
#                offline runs start) and the checks run with --wandb-mode disabled; 1 carries it (then set
#                GPU_CHEMPROP=0 too, and expect to be near the limit). README: what disabled leaves unmeasured.
#   WHEEL_CACHE  where downloaded wheels are kept between runs (default ~/.cache/greenft-gpu-wheels)
#   BUDGET_MIB   fail when .whl + .gpudata exceed this (default 52: 64 MiB in all, ~3 MiB of tracked files)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/work/main/.venv/bin/python}
GPU_CHEMPROP=${GPU_CHEMPROP:-1}
GPU_WANDB=${GPU_WANDB:-0}
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/greenft-gpu-wheels}
BUDGET_MIB=${BUDGET_MIB:-52}
here=scripts/gpu

exclude="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$exclude")"
for entry in /.whl/ /.gpudata/; do
  grep -qxF "$entry" "$exclude" 2>/dev/null || echo "$entry" >>"$exclude"
done

# sweeps (W&B's sweep engine, installed --no-deps by setup.sh, so absent from greenft's metadata) is added by name.
args=(--device-packages "$here/device_packages.txt" --skip-file "$here/leave_out.txt" --add sweeps)
if [ "$GPU_CHEMPROP" = 1 ]; then args+=(--add chemprop); fi
if [ "$GPU_WANDB" != 1 ]; then args+=(--skip wandb); fi
left_log=$(mktemp)
mapfile -t pins < <("$PYTHON" "$here/closure.py" "${args[@]}" --explain 2>"$left_log")
echo "closure: ${#pins[@]} packages to carry; left out besides the device's own packages:"
grep -v 'on the device' "$left_log" | sed 's/^/  /' || true
rm -f "$left_log"

rm -rf .whl
mkdir -p .whl "$WHEEL_CACHE"
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64
  --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_35_x86_64)
fetch() { # download one requirement into a fresh folder, keep it in the cache, copy it to .whl
  local tmp
  tmp=$(mktemp -d)
  if "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d "$tmp" "$1" >/dev/null 2>&1; then
    cp "$tmp"/*.whl "$WHEEL_CACHE"/ && cp "$tmp"/*.whl .whl/
    rm -rf "$tmp"
  else
    rm -rf "$tmp"
    return 1
  fi
}
cached() { # a cached wheel of exactly NAME==VERSION usable by CPython 3.12 (wheel names spell - and . as _)
  local stem
  stem=$(echo "$1" | tr 'A-Z.-' 'a-z__')
  find "$WHEEL_CACHE" -maxdepth 1 -iname "${stem}-$2-*.whl" \
    \( -name '*-cp312-*' -o -name '*-abi3-*' -o -name '*-none-*' \) | head -1
}
for pin in "${pins[@]}"; do
  name=${pin%%==*}
  version=${pin#*==}
  hit=$(cached "$name" "$version")
  if [ -n "$hit" ]; then
    cp "$hit" .whl/
    continue
  fi
  if fetch "$pin"; then continue; fi
  # nearest: the newest release older than the venv's, else the oldest newer one
  if fetch "$name<$version"; then
    echo "note: $name $version has no cp312 manylinux wheel; took the newest older one"
  elif fetch "$name>$version"; then
    echo "note: $name $version has no cp312 manylinux wheel; took a newer one"
  else
    echo "MISSING: no cp312 manylinux x86-64 wheel for $name (the device's import check will name it)"
  fi
done
# Wheels rewritten without parts greenft never runs there (scripts/gpu/slim_wheel.py says why).
for w in .whl/pycountry-*.whl; do [ -f "$w" ] && "$PYTHON" "$here/slim_wheel.py" "$w" pycountry/locales/; done
for w in .whl/padelpy-*.whl; do [ -f "$w" ] && "$PYTHON" "$here/slim_wheel.py" "$w" padelpy/PaDEL-Descriptor/; done
# one version of each package: two stop the whole install on the device
dups=$(find .whl -name '*.whl' -printf '%f\n' | sed -E 's/-[0-9].*//' | tr 'A-Z.-' 'a-z__' | sort | uniq -d)
if [ -n "$dups" ]; then
  echo "duplicate wheels: $dups" >&2
  exit 1
fi

# Data read by package path (greenft.data.sources.package_data_dir: importlib.util.find_spec, never imported):
# only the files the checks use, laid out as the packages are, under .gpudata/site (put on PYTHONPATH there).
site=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf .gpudata
mkdir -p .gpudata/site/molalkit/data/datasets .gpudata/site/moses/dataset/data
touch .gpudata/site/molalkit/__init__.py .gpudata/site/moses/__init__.py
for f in bbbp.csv bace.csv delaney.csv lipo.csv; do # BBBP, BACE, ESOL (delaney), Lipophilicity
  cp "$site/molalkit/data/datasets/$f" .gpudata/site/molalkit/data/datasets/
done
# The pretraining corpus: the first 100,000 molecules of MOSES's training split (the full file is 10 MB; a corpus
# of a few thousand is sampled from it, so its digest differs from one drawn from all of MOSES), and MOSES's test
# split, the molecules of the descriptor sets (greenft.data.descriptors).
"$PYTHON" "$here/moses_prefix.py" "$site/moses/dataset/data/train.csv.gz" .gpudata/site/moses/dataset/data/train.csv.gz
cp "$site/moses/dataset/data/test.csv.gz" .gpudata/site/moses/dataset/data/

echo "wheels:"
find .whl -name '*.whl' -printf '%s %p\n' | sort -n | awk '{printf "  %8.2f MiB  %s\n", $1/1048576, $2}'
whl=$(du -sb .whl | cut -f1)
data=$(du -sb .gpudata | cut -f1)
# what else travels: tracked files and untracked files git does not ignore
tracked=$({ git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 stat -c %s 2>/dev/null |
  awk '{s += $1} END {print s + 0}')
mib() { awk -v b="$1" 'BEGIN {printf "%.2f", b/1048576}'; }
echo "total: .whl $(mib "$whl") MiB + .gpudata $(mib "$data") MiB + tree files $(mib "$tracked") MiB" \
  "= $(mib $((whl + data + tracked))) MiB (device limit 64 MiB)"
if [ $((whl + data)) -gt $((BUDGET_MIB * 1048576)) ]; then
  echo "over budget: .whl + .gpudata exceed $BUDGET_MIB MiB; try GPU_CHEMPROP=0" >&2
  exit 1
fi
