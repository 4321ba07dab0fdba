#!/usr/bin/env bash
# Look at a report the way a reader does: open REPORT_DIR/report.html in headless Chromium, let plotly draw,
# and save a screenshot (default REPORT_DIR/report.png; not committed). With DOM_OUT=FILE it also writes the
# DOM after the page's scripts ran (plotly's SVG <text> labels, the sorted tables), for tests to read.
#
#   scripts/screenshot-report.sh report [report.png]
#   WIDTH=1400 HEIGHT=9000 BUDGET_MS=20000 CHROMIUM=/usr/bin/chromium DOM_OUT=dom.html scripts/screenshot-report.sh report
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 REPORT_DIR [OUT.png]" >&2
  exit 2
fi
report_dir=$1
page="$report_dir/report.html"
if [[ ! -f $page ]]; then
  echo "error: $page not found: REPORT_DIR must be a folder written by greenft analyze (with report.html)" >&2
  exit 2
fi
out=${2:-$report_dir/report.png}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
  echo "error: CHROMIUM=$chromium is not an executable Chromium" >&2
  exit 2
fi
# A file:// URL, percent-encoded: a folder name with '#', '%', '?' or a space would otherwise cut or change it.
url=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$page")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$profile"
  --virtual-time-budget="${BUDGET_MS:-20000}" --window-size="${WIDTH:-1400},${HEIGHT:-9000}")
"$chromium" "${flags[@]}" --screenshot="$(realpath -m "$out")" "$url" 2>/dev/null
if [[ -n ${DOM_OUT:-} ]]; then
  "$chromium" "${flags[@]}" --dump-dom "$url" >"$DOM_OUT" 2>/dev/null
fi
echo "$out"
