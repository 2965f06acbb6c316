# Sourced by .ci/run and scripts/quickstart.sh: installs what the build needs and picks the target folder.
# - libclang: rusqlite's session extension (row-level changesets) generates its bindings at build time.
# - CARGO_TARGET_DIR: a persistent cache under $HOME (DuckDB's bundled C++ takes ~25 min to build from scratch
#   on 2 cores; a machine that already built reuses it). Set CARGO_TARGET_DIR to override.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agentworld/target}"
mkdir -p "$CARGO_TARGET_DIR"
if ! ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q 'libclang\.so'; then
  echo "installing libclang-dev (needed by rusqlite's session extension bindings)" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
  fi
fi
