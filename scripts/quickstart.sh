#!/usr/bin/env bash
# The main job: build, list the bundled environments, validate every one of them (each task's reference solution,
# doing nothing, and a perturbed solution run in fresh episodes, all recorded in DuckDB), then `agentworld train`:
# 200 procedural environments with held-out domains, the untrained built-in policy evaluated, 60 GRPO iterations,
# evaluated again (curve, checkpoint, journal, report). Then the generated environments' distribution, the training
# samples exported, the actor runtime driven for a few seconds, and cross-episode questions answered from the record.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# The same build as the tests' (`cargo test --workspace`): any other selection of packages or targets resolves
# build-script features differently and rebuilds DuckDB's C++ from scratch.
cargo test --workspace --no-run
bin="$CARGO_TARGET_DIR/debug/agentworld"
record="${1:-$CARGO_TARGET_DIR/quickstart.duckdb}"
train="${2:-$CARGO_TARGET_DIR/train}"
rm -rf "$record" "$record.wal" "$record.log" "$train"
"$bin" envs list envspecs
"$bin" validate envspecs --record "$record"
"$bin" train --out "$train"
"$bin" envs stats "$train/envs"
"$bin" export "$train/journal.duckdb" --out "$train/samples"
"$bin" load --envs envspecs --journal "$record" --episodes 1000 --clients 32 --seconds 3
"$bin" report "$record"
echo "next: $bin play shop --task <id>   (an interactive episode; 'help' lists commands)"
