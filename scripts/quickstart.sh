#!/usr/bin/env bash
# The main job as it exists so far: build, list the bundled environments, validate every one of them (each task's
# reference solution, doing nothing, and a perturbed solution run in fresh episodes, all recorded in DuckDB), generate
# 200 procedural environments (train/held-out split, every task proven) and show their distribution, drive the actor
# runtime with concurrent clients for a few seconds (journaled), then answer cross-episode questions from the record.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# The same build as the tests' (`cargo test --workspace`): any other selection of packages or targets resolves
# build-script features differently and rebuilds DuckDB's C++ from scratch.
cargo test --workspace --no-run
bin="$CARGO_TARGET_DIR/debug/agentworld"
record="${1:-$CARGO_TARGET_DIR/quickstart.duckdb}"
generated="${2:-$CARGO_TARGET_DIR/generated}"
rm -rf "$record" "$record.wal" "$record.log" "$generated"
"$bin" envs list envspecs
"$bin" validate envspecs --record "$record"
"$bin" generate --count 200 --seed 0 --split 0.2 --out "$generated"
"$bin" envs stats "$generated"
"$bin" load --envs envspecs --journal "$record" --episodes 1000 --clients 32 --seconds 3
"$bin" report "$record"
echo "next: $bin play shop --task <id>   (an interactive episode; 'help' lists commands)"
