#!/usr/bin/env python3
"""Median GPU duration of each kernel (and grid size) in an Nsight Compute CSV, as `gpu-check.sh run` records it.

    python3 kernels/ncu-durations.py ncu-durations.csv [more.csv ...]

The CSV comes from `ncu --csv --page raw --metrics gpu__time_duration.sum ...` run over the kernels bench; the
bench's own output is interleaved with it, and only the lines that start with a quote are ncu's. A kernel's GPU
duration excludes the host's launch latency and the clock ramp after an idle spell, which both show up in the
bench's event times (see BENCHMARKS.md, kernels section): it is the number to set beside the bandwidth or compute
floor, with an empty kernel's duration (`noop`) as the fixed cost of a launch.
"""

import collections
import csv
import io
import statistics
import sys


def summarize(path: str) -> None:
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line for line in f if line.startswith('"')]
    rows = list(csv.reader(io.StringIO("".join(lines))))
    if not rows:
        print(f"== {path}: no ncu rows")
        return
    header = rows[0]
    name, grid, dur = header.index("Kernel Name"), header.index("Grid Size"), header.index("gpu__time_duration.sum")
    unit = rows[1][dur] if len(rows) > 1 else "ns"
    scale = {"ns": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}.get(unit, 1e-3)
    times = collections.OrderedDict()
    for r in rows[2:]:
        if len(r) <= dur or r[0] == "ID":
            continue
        try:
            value = float(r[dur].replace(",", "")) * scale
        except ValueError:
            continue
        times.setdefault((r[name], r[grid]), []).append(value)
    print(f"== {path}")
    print(f"  {'kernel':<28} {'grid':>16} {'n':>4} {'median us':>10} {'min':>8} {'max':>8}")
    for (kernel, g), v in times.items():
        print(f"  {kernel[:28]:<28} {g:>16} {len(v):>4} {statistics.median(v):>10.2f} {min(v):>8.2f} {max(v):>8.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        summarize(p)
