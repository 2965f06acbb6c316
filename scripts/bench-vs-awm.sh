#!/usr/bin/env bash
# Side by side with AWM's own runtime. Starts a real AgentWorldModel-1K environment served exactly as AWM serves it
# (its generated FastAPI program + SQLite + fastapi-mcp, ../shared/bench/awm-baseline/), then runs the `serve`
# bench with AW_AWM_URL set: the same MCP load generator drives AWM's server and ours (in-process, release build)
# in turn on comparable tools, and prints the ratios; it also serves the same AWM environment through our Python
# bridge (agentworld-awm), so both runtimes run the same program and tools.
# Usage: bash scripts/bench-vs-awm.sh [SECONDS]. Needs python3, and PyPI the first time (pinned, cached venv).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="$(cd "${AW_SHARED:-../shared}" && pwd)"
source scripts/deps.sh
source scripts/python-deps.sh
VENV="${AW_AWM_VENV:-$HOME/.cache/agentworld/awm-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "fastapi==0.115.12" "fastapi-mcp==0.4.0" "sqlalchemy==2.0.41" "mcp==1.26.0" "pydantic==2.12.5" "uvicorn==0.54.0"
fi
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$VENV/bin/python" "$SHARED/bench/awm-baseline/serve_awm_env.py" "$SHARED/awm-1k-sample" content_platform_1 18001 "$WORK/awm" 2>"$WORK/awm.log" &
for _ in $(seq 150); do grep -q "ready in" "$WORK/awm.log" 2>/dev/null && break; sleep 0.2; done
cat "$WORK/awm.log"
AW_AWM_URL=http://127.0.0.1:18001/mcp AW_BENCH_ONLY=vs-awm AW_BENCH_SECS="${1:-5}" cargo bench --workspace --bench serve
