#!/usr/bin/env bash
# Runs the frameworks harness: each framework's agent on the same plan, with local tools
# (traced, then read by `parabench analyze`) and with the tools served by `parabench
# serve` over MCP (the framework's default MCP client, and one shared session where the
# framework allows it). Writes what it measured to $OUT, and docs/frameworks.md when every
# framework ran.
#
# usage: frameworks/run.sh [--check] [--record] [FRAMEWORK...]
#
#   FRAMEWORK  any of: pydantic_ai langgraph openai_agents smolagents strands llamaindex adk
#              (default: all seven)
#   --check    fail unless every run found exactly the plan (2 steps: search x4 + db x2,
#              then fetch x3) and each framework's known executor limits
#   --record   copy the local traces (and pydantic_ai's joined one) to
#              tests/traces/frameworks/, the fixtures cargo tests read
#
# Environment:
#   PARABENCH                 the binary (default: target/release/parabench, built if missing)
#   PARABENCH_FRAMEWORKS_DIR  venvs and outputs (default: target/frameworks); a venv is
#                             rebuilt when its framework's requirements.txt changes
#   PYTHON                    the Python that makes the venvs (default: python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
all=(pydantic_ai langgraph openai_agents smolagents strands llamaindex adk)

check=0
record=0
chosen=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --record) record=1 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $arg (expected --check or --record)" >&2; exit 1 ;;
    *)
      if [[ ! -f "$here/$arg/agent.py" ]]; then
        echo "run.sh: no framework $arg (expected one of: ${all[*]})" >&2
        exit 1
      fi
      chosen+=("$arg")
      ;;
  esac
done
[[ ${#chosen[@]} -gt 0 ]] || chosen=("${all[@]}")

dir="${PARABENCH_FRAMEWORKS_DIR:-$root/target/frameworks}"
out="$dir/out"
python="${PYTHON:-python3}"
mkdir -p "$out"
parabench="${PARABENCH:-$root/target/release/parabench}"
if [[ ! -x "$parabench" ]]; then
  (cd "$root" && cargo build --release --locked)
fi
parabench="$(cd "$(dirname "$parabench")" && pwd)/$(basename "$parabench")"

# The tracing variants of a framework's local run: where it has more than one
# instrumentation (LangGraph) or span schema (ADK), each is recorded.
variants() {
  case "$1" in
    langgraph) echo "openinference openllmetry" ;;
    adk) echo "default legacy" ;;
    *) echo "default" ;;
  esac
}

# A venv per framework: their pins conflict (mcp 1.x and 2.x, opentelemetry-sdk <=1.44).
venv() {
  local fw="$1" env="$dir/venv/$1"
  local stamp
  stamp="$(sha256sum "$here/$fw/requirements.txt" | cut -d' ' -f1)"
  if [[ ! -f "$env/.requirements" || "$(cat "$env/.requirements")" != "$stamp" ]]; then
    echo "== $fw: installing its pinned requirements" >&2
    rm -rf "$env"
    "$python" -m venv "$env"
    "$env/bin/pip" install -q --disable-pip-version-check -r "$here/$fw/requirements.txt" >&2
    echo "$stamp" >"$env/.requirements"
  fi
  echo "$env/bin/python"
}

serve_pid=""
stop_serve() {
  if [[ -n "$serve_pid" ]]; then
    kill -INT "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=""
  fi
}
trap stop_serve EXIT

# One MCP run: `parabench serve` on a free port, the agent against it, then Ctrl-C.
mcp_run() {
  local fw="$1" py="$2" session="$3" name="$out/$1.mcp-$3"
  rm -f "$name".*
  "$parabench" serve "$here/plan.toml" --http 127.0.0.1:0 --step-gap 100ms --json "$name.served.json" \
    --trace-file "$name.server.jsonl" 2>"$name.serve.err" >/dev/null &
  serve_pid=$!
  local url=""
  for _ in $(seq 1 100); do
    url="$(sed -n 's/^listening: \(http:[^ ]*\).*/\1/p' "$name.serve.err" | head -1)"
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  if [[ -z "$url" ]]; then
    cat "$name.serve.err" >&2
    echo "run.sh: parabench serve did not start" >&2
    exit 1
  fi
  local status=0
  "$py" "$here/$fw/agent.py" mcp --url "$url" --session "$session" --trace "$name.agent.jsonl" \
    >"$name.out" 2>"$name.err" || status=$?
  stop_serve
  case "$status" in
    0) "$parabench" analyze "$name.agent.jsonl" "$name.server.jsonl" --json "$name.joined.json" >/dev/null 2>&1 ;;
    3) echo "== $fw: no shared session ($(tail -1 "$name.err"))" >&2; rm -f "$name.served.json" ;;
    *) cat "$name.err" >&2; echo "run.sh: $fw over MCP ($session) failed" >&2; exit 1 ;;
  esac
}

for fw in "${chosen[@]}"; do
  py="$(venv "$fw")"
  for variant in $(variants "$fw"); do
    suffix=""
    [[ "$variant" == default ]] || suffix="_$variant"
    name="$out/$fw$suffix.local"
    echo "== $fw$suffix: local tools" >&2
    tracing=()
    [[ "$variant" == default ]] || tracing=(--tracing "$variant")
    "$py" "$here/$fw/agent.py" local --trace "$name.jsonl" "${tracing[@]}" >"$name.out" 2>"$name.err" || {
      cat "$name.err" >&2
      echo "run.sh: $fw$suffix with local tools failed" >&2
      exit 1
    }
    "$parabench" analyze "$name.jsonl" --json "$name.analysis.json" >/dev/null
    if [[ "$record" -eq 1 ]]; then
      cp "$name.jsonl" "$root/tests/traces/frameworks/$fw$suffix.jsonl"
    fi
  done
  for session in default shared; do
    echo "== $fw: MCP, $session session" >&2
    mcp_run "$fw" "$py" "$session"
  done
  if [[ "$record" -eq 1 && "$fw" == pydantic_ai ]]; then
    cat "$out/$fw.mcp-default.agent.jsonl" "$out/$fw.mcp-default.server.jsonl" \
      >"$root/tests/traces/frameworks/pydantic_ai_joined.jsonl"
  fi
done

args=("$out" --frameworks "${chosen[@]}")
[[ "$check" -eq 1 ]] && args+=(--check)
"$python" "$here/table.py" "${args[@]}" >"$out/frameworks.md"
if [[ ${#chosen[@]} -eq ${#all[@]} ]]; then
  cp "$out/frameworks.md" "$root/docs/frameworks.md"
  echo "== wrote docs/frameworks.md" >&2
else
  echo "== wrote $out/frameworks.md (docs/frameworks.md is written when all seven run)" >&2
fi
