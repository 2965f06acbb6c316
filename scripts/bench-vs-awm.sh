#!/usr/bin/env bash
# Side by side with AWM's own runtime: the same MCP load generator drives (1) a real AgentWorldModel-1K
# environment served exactly as AWM serves it (generated FastAPI program + SQLite + fastapi-mcp, see
# ../shared/bench/awm-baseline/) and (2) `agentworld serve` on a bundled environment, on comparable tools: a point
# read, a filtered search and a write, first one client (latency), then 32 clients (throughput).
# Usage: bash scripts/bench-vs-awm.sh [SECONDS]   (release binary: cargo build --release --bin agentworld first,
# or set AW_BIN). Needs python3 and network access to PyPI the first time (pinned packages, cached venv).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
SHARED="${AW_SHARED:-../shared}"
source scripts/deps.sh
BIN="${AW_BIN:-$CARGO_TARGET_DIR/release/agentworld}"
VENV="${AW_AWM_VENV:-$HOME/.cache/agentworld/awm-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "fastapi==0.115.12" "fastapi-mcp==0.4.0" "sqlalchemy==2.0.41" "mcp==1.26.0" "pydantic==2.12.5" "uvicorn==0.54.0"
fi
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$VENV/bin/python" "$SHARED/bench/awm-baseline/serve_awm_env.py" "$SHARED/awm-1k-sample" content_platform_1 18001 "$WORK/awm" 2>"$WORK/awm.log" &
"$BIN" serve --port 18002 --journal "$WORK/journal.duckdb" >"$WORK/aw.out" 2>"$WORK/aw.log" &
for _ in $(seq 100); do
  grep -q "ready in" "$WORK/awm.log" 2>/dev/null && grep -q "listening on" "$WORK/aw.out" 2>/dev/null && break
  sleep 0.2
done
sleep 1
AWM=http://127.0.0.1:18001/mcp
AW=http://127.0.0.1:18002/mcp/shop
run() { # label url clients call
  local out
  out=$("$BIN" loadgen mcp "$2" --clients "$3" --seconds "$SECS" --call "$4" --json)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); l=r["latency"]; print(f"| {sys.argv[2]} | {sys.argv[3]} | {r[\"calls_per_s\"]:.0f} | {l[\"p50_us\"]/1000:.2f} | {l[\"p99_us\"]/1000:.2f} | {r[\"errors\"]} |")' "$out" "$1" "$3"
}
echo "| server / call | clients | calls/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
for clients in 1 32; do
  run "AWM point read get_channel_by_id" "$AWM" "$clients" 'get_channel_by_id {"channel_id": 1}'
  run "agentworld point read get_product" "$AW" "$clients" 'get_product {"product_id": 3}'
  run "AWM search search_videos" "$AWM" "$clients" 'search_videos {"query": "a"}'
  run "agentworld search search_products" "$AW" "$clients" 'search_products {"query": "a"}'
  run "AWM write set_default_playback_quality" "$AWM" "$clients" 'set_default_playback_quality {"default_playback_quality": "1080p"}'
  run "agentworld write update_profile" "$AW" "$clients" 'update_profile {"phone": "555-0100"}'
done
