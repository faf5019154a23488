#!/usr/bin/env bash
# Measures the HTML report at 100, 1,000 and 10,000 calls: the file's size, and how long
# headless Chromium takes to load and draw it. Prints a Markdown table (the README quotes it).
#
#   bash scripts/html_scale.sh            # needs chromium (Debian: apt-get install chromium)
#
# Render time is measured twice: by the page itself (data-render-ms: from its script's start
# to the last chart drawn) and as the browser's whole run on the page, less its run on an
# empty page (start-up and shut-down), best of three. Nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --quiet
bin=${CARGO_TARGET_DIR:-target}/debug/parabench

browser() {
  chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$work/profile" \
    --window-size=1280,900 --dump-dom "file://$1" 2>/dev/null
}

# Best of three wall times of the browser on a page, in milliseconds.
best_ms() {
  local best=""
  for _ in 1 2 3; do
    local start end ms
    start=$(date +%s%N)
    browser "$1" >"$work/dom.html"
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

echo '<!DOCTYPE html><html><body><main id="page" data-render-ms="0"></main></body></html>' >"$work/empty.html"
baseline=$(best_ms "$work/empty.html")

echo "| calls per run | attempts drawn | HTML file | drawn by the page | browser run, less an empty page's |"
echo "|---:|---:|---:|---:|---:|"
for calls in 100 1000 10000; do
  cat >"$work/scale.toml" <<TOML
name = "scale_$calls"
description = "generated calls for the HTML report's scale figures"
seed = 7
[executor]
max_concurrency = 20
timeout = "2s"
[executor.retry]
max_attempts = 3
initial_backoff = "20ms"
[tools.search]
latency = { dist = "lognormal", median = "120ms", p99 = "800ms" }
failure_rate = 0.05
max_concurrency = 8
[tools.db]
latency = { dist = "exponential", mean = "30ms" }
failure_rate = 0.02
[[generate]]
tool = "search"
count = $((calls / 2))
id_prefix = "s"
[[generate]]
tool = "db"
count = $((calls / 2))
id_prefix = "d"
TOML
  "$bin" run "$work/scale.toml" --clock virtual --html "$work/scale.html" >/dev/null
  bytes=$(stat -c %s "$work/scale.html")
  total=$(best_ms "$work/scale.html")
  grep -q 'data-rendered="true"' "$work/dom.html" || { echo "the $calls-call page did not render" >&2; exit 1; }
  page_ms=$(grep -o 'data-render-ms="[0-9.]*"' "$work/dom.html" | grep -o '[0-9.]*')
  segments=$(grep -o 'data-attempt-segments="[0-9]*"' "$work/dom.html" | head -1 | grep -o '[0-9]*')
  size=$(awk -v b="$bytes" 'BEGIN { if (b >= 1048576) printf "%.2f MB", b / 1048576; else printf "%.0f kB", b / 1024 }')
  echo "| $calls | $segments | $size | ${page_ms} ms | $((total - baseline)) ms |"
done
echo
echo "(browser start-up and shut-down on an empty page: ${baseline} ms, subtracted above)"
