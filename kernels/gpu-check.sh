#!/usr/bin/env bash
# GPU check of agentworld-kernels: CUDA kernels against the CPU reference, and the benches with their floors.
#
#   bash kernels/gpu-check.sh build   here (no GPU or CUDA toolkit needed): builds the CUDA-enabled test and bench
#                                     binaries (release) and copies them to kernels/target/gpu-bin/ (git-ignored),
#                                     printing their paths and sizes.
#   bash kernels/gpu-check.sh run     on the GPU machine (no Rust needed): runs every test binary, then the bench,
#                                     then (when Nsight Compute is installed) the bench again under ncu for each
#                                     kernel's GPU duration (ncu-durations.csv; kernels/ncu-durations.py sums it up).
#                                     Output goes to stdout and, when $OUT is set, to $OUT/gpu-check.log.
#
# Before spending device time, `python3 kernels/nvrtc-check.py --wheels DIR` compiles every kernel family with NVRTC
# here (no GPU) and prints each kernel's registers and spills (see its header for the two PyPI wheels it needs).
#
# With the session's device tool: build here, then run `bash kernels/gpu-check.sh run` there with
# carry = ["kernels/target/gpu-bin"]. Without a GPU the CUDA tests print a NOTICE and pass, so a green run there
# only counts when the log shows no NOTICE lines.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/target/gpu-bin"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/agentworld/kernels-target}"

build() {
    mkdir -p "$bin"
    rm -f "$bin"/*
    local json
    json="$(mktemp)"
    cargo test -p agentworld-kernels --features cuda --release --no-run --message-format=json-render-diagnostics >"$json"
    cargo bench -p agentworld-kernels --features cuda --no-run --message-format=json-render-diagnostics >>"$json"
    python3 - "$json" "$bin" <<'PY'
import json, shutil, sys, os
src, dst = sys.argv[1], sys.argv[2]
seen = set()
for line in open(src):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    exe = msg.get("executable") if msg.get("reason") == "compiler-artifact" else None
    if not exe or not msg.get("profile", {}).get("test"):
        continue
    target = msg["target"]
    name = f'{target["kind"][0]}-{target["name"]}'
    if name in seen:
        continue
    seen.add(name)
    out = os.path.join(dst, name)
    shutil.copy2(exe, out)
    print(f"{out}  ({os.path.getsize(out) / 2**20:.1f} MiB, from {exe})")
PY
    rm -f "$json"
    if command -v strip >/dev/null; then
        strip --strip-debug "$bin"/* || true
    fi
    du -sh "$bin"
    echo "carry kernels/target/gpu-bin and run: bash kernels/gpu-check.sh run"
}

run() {
    if [ ! -d "$bin" ] || [ -z "$(ls -A "$bin" 2>/dev/null)" ]; then
        echo "no binaries in $bin: run 'bash kernels/gpu-check.sh build' first (on a machine with Rust)" >&2
        exit 2
    fi
    local log=/dev/null
    if [ -n "${OUT:-}" ]; then log="$OUT/gpu-check.log"; fi
    # cudarc opens libnvrtc by name: add the toolkit's folder when the loader does not know it. Folders named
    # stubs are skipped: their libcuda.so is a stub that would shadow the driver's and fail every call.
    if ! ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so'; then
        local dirs
        dirs="$(find /usr/local /opt -name 'libnvrtc.so*' -not -path '*/stubs/*' -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')"
        export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}${dirs%:}"
    fi
    {
        echo "== host: $(uname -srm), $(nproc) cores"
        command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi not found"
        echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
        local status=0
        for t in "$bin"/lib-* "$bin"/test-*; do
            [ -e "$t" ] || continue
            echo "== $(basename "$t")"
            if [ "$(basename "$t")" = test-cuda ]; then
                "$t" --test-threads=1 --nocapture || status=1  # show the NOTICE lines of skipped comparisons
            else
                "$t" --test-threads=1 || status=1
            fi
        done
        if [ -e "$bin/bench-kernels" ]; then
            echo "== bench"
            AW_BENCH_ITERS="${AW_BENCH_ITERS:-30}" "$bin/bench-kernels" --bench || status=1
            # Each kernel's own GPU duration, when Nsight Compute is there: the bench's event times also hold the
            # host's launch latency and, at large sizes, the clock ramp after the uploads' idle spell.
            local ncu
            ncu="$(command -v ncu || find /usr/local /opt -name ncu -type f 2>/dev/null | head -1)"
            if [ -n "$ncu" ]; then
                local csv="${OUT:-/tmp}/ncu-durations.csv"
                echo "== GPU durations (ncu, natural clocks) into $csv"
                AW_BENCH_CPU=0 AW_BENCH_ITERS=6 "$ncu" --clock-control none --csv --page raw \
                    --metrics gpu__time_duration.sum "$bin/bench-kernels" --bench >"$csv" 2>/dev/null || status=1
                if command -v python3 >/dev/null; then
                    python3 "$here/ncu-durations.py" "$csv" || true
                else
                    echo "summarise it with: python3 kernels/ncu-durations.py $csv"
                fi
            fi
        fi
        echo "== gpu-check exit status $status"
        exit "$status"
    } 2>&1 | tee "$log"
}

case "${1:-}" in
    build) build ;;
    run) run ;;
    *) echo "usage: $0 build|run" >&2; exit 2 ;;
esac
