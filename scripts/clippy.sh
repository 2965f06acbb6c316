#!/usr/bin/env bash
# Lints the workspace with clippy at `-D warnings`.
#
# Why not plain `cargo clippy`: on this project it re-runs libduckdb-sys's build script (another ~25 minutes of
# DuckDB C++) because the check-mode unit differs from the one `cargo test` built. Running clippy-driver as the
# workspace wrapper of an ordinary `cargo build` lints exactly the workspace crates and reuses every dependency
# that `cargo test --workspace` already built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)" \
CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
  cargo build --workspace --all-targets "$@"
