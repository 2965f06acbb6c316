#!/usr/bin/env python3
"""Compiles every CUDA kernel family of agentworld-kernels with NVRTC, as the CUDA backend does at run time, and
prints ptxas's register, spill and shared-memory report for each kernel. No GPU or CUDA toolkit is needed. It
catches compile errors and register spills before any device time is spent (`kernels/gpu-check.sh` runs them).

Needs NVIDIA's NVRTC and nvcc wheels from PyPI (once, about 130 MB):

    python3 -m pip download --no-deps --only-binary=:all: nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-nvcc==13.0.88 -d /tmp/nv
    python3 kernels/nvrtc-check.py --wheels /tmp/nv [--arch sm_90] [--dump DIR]

With `--dump DIR` it also writes each family's PTX and cubin to DIR, and its SASS when the nvdisasm wheel is in the
same folder (`nvidia-cuda-nvdisasm==13.2.51`: the oldest release on PyPI; it reads sm_90 cubins from ptxas 13.0).

Each family is compiled exactly as `src/cuda/mod.rs` does: `common.cuh` in front, a `#line` directive, the
family's virtual architecture (compute_80 for `policy_tc`, NVRTC's default otherwise). `--arch` picks the real GPU
architecture ptxas assembles for (sm_90: H100/H200).
"""

import argparse
import ctypes
import glob
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CUDA = os.path.join(HERE, "src", "cuda")
# (family, virtual architecture); None is NVRTC's default, as in mod.rs's SOURCES
FAMILIES = [("advantage", None), ("policy", None), ("optim", None), ("probe", None), ("policy_tc", "compute_80")]


def unpack(wheels: str, dest: str) -> tuple[str, str]:
    for whl in glob.glob(os.path.join(wheels, "nvidia_cuda_*.whl")):
        with zipfile.ZipFile(whl) as z:
            z.extractall(dest)
    nvrtc = glob.glob(os.path.join(dest, "**", "libnvrtc.so.*"), recursive=True)
    ptxas = glob.glob(os.path.join(dest, "**", "bin", "ptxas"), recursive=True)
    if not nvrtc or not ptxas:
        sys.exit(f"no libnvrtc.so.* or ptxas in the wheels under {wheels} (see this script's header)")
    os.chmod(ptxas[0], 0o755)
    return sorted(nvrtc)[0], ptxas[0]


def find_nvdisasm(dest: str):
    """nvdisasm from an optional nvidia-cuda-nvdisasm wheel among the unpacked ones, or None."""
    found = glob.glob(os.path.join(dest, "**", "bin", "nvdisasm"), recursive=True)
    if not found:
        return None
    os.chmod(found[0], 0o755)
    return found[0]


def compile_family(lib, family: str, arch, common: bytes) -> tuple[bool, str, bytes]:
    name = f"{family}.cu"
    with open(os.path.join(CUDA, name), "rb") as f:
        src = common + b'\n#line 1 "' + name.encode() + b'"\n' + f.read()
    prog = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(prog), src, name.encode(), 0, None, None) != 0:
        return False, "nvrtcCreateProgram failed", b""
    opts = [b"--fmad=true"] + ([f"--gpu-architecture={arch}".encode()] if arch else [])
    arr = (ctypes.c_char_p * len(opts))(*opts)
    rc = lib.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    ptx = b""
    if rc == 0:
        lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetPTX(prog, buf)
        ptx = buf.value
    return rc == 0, log.value.decode(errors="replace"), ptx


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", required=True, help="folder holding the nvidia-cuda-nvrtc and nvidia-cuda-nvcc wheels")
    ap.add_argument("--arch", default="sm_90", help="real architecture for ptxas's report (default sm_90)")
    ap.add_argument("--dump", metavar="DIR", help="also write each family's .ptx and .cubin there, and its .sass "
                    "when an nvidia-cuda-nvdisasm wheel is among the wheels (to read load batching and registers)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        nvrtc, ptxas = unpack(a.wheels, tmp)
        # NVRTC loads its builtins library from beside itself
        os.environ["LD_LIBRARY_PATH"] = os.path.dirname(nvrtc) + ":" + os.environ.get("LD_LIBRARY_PATH", "")
        ctypes.CDLL(glob.glob(os.path.join(os.path.dirname(nvrtc), "libnvrtc-builtins.so*"))[0], ctypes.RTLD_GLOBAL)
        lib = ctypes.CDLL(nvrtc)
        with open(os.path.join(CUDA, "common.cuh"), "rb") as f:
            common = f.read()
        failed = False
        out_dir = a.dump or tmp  # where each family's PTX (and, with --dump, its cubin and SASS) is written
        if a.dump:
            os.makedirs(a.dump, exist_ok=True)
        nvdisasm = find_nvdisasm(tmp) if a.dump else None
        for family, arch in FAMILIES:
            ok, log, ptx = compile_family(lib, family, arch, common)
            print(f"== {family}.cu ({arch or 'NVRTC default'}): {'compiled' if ok else 'FAILED'}")
            if log.strip():
                print(log.rstrip())
            if not ok:
                failed = True
                continue
            path = os.path.join(out_dir, f"{family}.ptx")
            with open(path, "wb") as f:
                f.write(ptx)
            cubin = os.path.join(a.dump, f"{family}.cubin") if a.dump else os.devnull
            out = subprocess.run([ptxas, f"-arch={a.arch}", "-v", path, "-o", cubin],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr.rstrip())
                failed = True
                continue
            if nvdisasm:
                with open(os.path.join(a.dump, f"{family}.sass"), "w") as f:
                    subprocess.run([nvdisasm, "-c", "-g", cubin], stdout=f, check=False)
            kernel, spill = None, ""
            for line in out.stderr.splitlines():
                if "Compiling entry function" in line:
                    kernel = line.split("'")[1]
                elif "spill" in line:
                    spill = line.split("ptxas info    :")[-1].strip()
                elif "Used" in line and kernel:
                    used = line.split("ptxas info    :")[-1].strip()
                    print(f"  {kernel:<26} {used}; {spill}")
                    kernel = None
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
