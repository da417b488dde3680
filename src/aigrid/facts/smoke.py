"""CUDA smoke check: allocate, copy, run a trivial kernel, copy back, compare.

Uses what the node has, needing nothing from the network: `nvcc` when the toolkit is
installed (compiles and runs a small program), else the CUDA driver library through
ctypes with a PTX kernel the driver JIT-compiles (the driver is always there on a GPU
node; the toolkit often is not).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

ELEMENTS = 1 << 16
KERNEL_NAME = b"add_one"

# add_one(float* data, unsigned n): data[i] += 1 for i < n. PTX ISA 8.0 for sm_75 (Turing,
# the oldest architecture CUDA 13 supports); the driver JIT-compiles it for the GPU present.
PTX = b"""
.version 8.0
.target sm_75
.address_size 64

.visible .entry add_one(.param .u64 data, .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<6>;
    .reg .b64 %rd<5>;
    .reg .f32 %f<3>;

    ld.param.u64 %rd1, [data];
    ld.param.u32 %r2, [n];
    mov.u32 %r3, %ctaid.x;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r5, %tid.x;
    mad.lo.s32 %r1, %r3, %r4, %r5;
    setp.ge.u32 %p1, %r1, %r2;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd2, %rd3;
    ld.global.f32 %f1, [%rd4];
    add.f32 %f2, %f1, 0f3F800000;
    st.global.f32 [%rd4], %f2;
DONE:
    ret;
}
"""

CUDA_PROGRAM = r"""
#include <cstdio>
#include <vector>
__global__ void add_one(float* data, unsigned n) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) data[i] += 1.0f;
}
int main() {
    const unsigned n = %(n)d;
    std::vector<float> host(n);
    for (unsigned i = 0; i < n; ++i) host[i] = float(i);
    float* device = nullptr;
    cudaError_t status = cudaMalloc(&device, n * sizeof(float));
    if (status != cudaSuccess) { printf("FAIL cudaMalloc: %%s\n", cudaGetErrorString(status)); return 1; }
    cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice);
    add_one<<<(n + 255) / 256, 256>>>(device, n);
    cudaError_t err = cudaDeviceSynchronize();
    if (err != cudaSuccess) { printf("FAIL %%s\n", cudaGetErrorString(err)); return 1; }
    cudaMemcpy(host.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(device);
    for (unsigned i = 0; i < n; ++i) if (host[i] != float(i) + 1.0f) { printf("FAIL at %%u\n", i); return 1; }
    puts("OK");
    return 0;
}
"""


class NoCuda(RuntimeError):
    """Neither nvcc nor the CUDA driver library is present."""


@dataclass(frozen=True)
class SmokeResult:
    method: Literal["nvcc", "driver-api"]
    ok: bool
    seconds: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def nvcc_path() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    default = Path("/usr/local/cuda/bin/nvcc")
    return str(default) if default.exists() else None


def smoke(method: Literal["auto", "nvcc", "driver-api"] = "auto") -> SmokeResult:
    # Both methods need the driver; without it there is nothing to check (not a failure).
    _load_driver()
    nvcc = nvcc_path()
    if method == "nvcc" or (method == "auto" and nvcc):
        if nvcc is None:
            raise NoCuda("nvcc is not installed")
        return _smoke_nvcc(nvcc)
    return _smoke_driver_api()


def _smoke_nvcc(nvcc: str) -> SmokeResult:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aigrid-smoke-") as workdir:
        source = Path(workdir) / "smoke.cu"
        binary = Path(workdir) / "smoke"
        source.write_text(CUDA_PROGRAM % {"n": ELEMENTS}, encoding="utf-8")
        build = subprocess.run(
            [nvcc, "-O2", "-arch=native", "-o", str(binary), str(source)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if build.returncode != 0:
            return SmokeResult(
                "nvcc",
                False,
                time.perf_counter() - start,
                f"nvcc failed: {(build.stderr or build.stdout).strip()[-400:]}",
            )
        run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120, check=False)
    seconds = time.perf_counter() - start
    output = run.stdout.strip()
    ok = run.returncode == 0 and output == "OK"
    detail = (
        f"compiled and ran add_one over {ELEMENTS} floats"
        if ok
        else f"program said: {output or run.stderr.strip()}"
    )
    return SmokeResult("nvcc", ok, seconds, detail)


class _CudaError(RuntimeError):
    pass


def _load_driver() -> Any:
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise NoCuda("the CUDA driver library (libcuda.so.1) is not installed")


def _smoke_driver_api() -> SmokeResult:
    cuda = _load_driver()
    start = time.perf_counter()
    c_void_p, c_uint, c_size_t, c_uint64 = ctypes.c_void_p, ctypes.c_uint, ctypes.c_size_t, ctypes.c_uint64
    cuda.cuMemcpyHtoD_v2.argtypes = [c_uint64, c_void_p, c_size_t]
    cuda.cuMemcpyDtoH_v2.argtypes = [c_void_p, c_uint64, c_size_t]
    cuda.cuMemFree_v2.argtypes = [c_uint64]
    cuda.cuLaunchKernel.argtypes = [
        c_void_p,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_void_p,
        ctypes.POINTER(c_void_p),
        ctypes.POINTER(c_void_p),
    ]
    cuda.cuModuleGetFunction.argtypes = [ctypes.POINTER(c_void_p), c_void_p, ctypes.c_char_p]
    cuda.cuModuleLoadData.argtypes = [ctypes.POINTER(c_void_p), ctypes.c_char_p]

    def check(status: int, what: str) -> None:
        if status != 0:
            name = ctypes.c_char_p()
            cuda.cuGetErrorName(status, ctypes.byref(name))
            raise _CudaError(f"{what} failed: {(name.value or b'error').decode()} ({status})")

    device, context = ctypes.c_int(), c_void_p()
    module, function, pointer = c_void_p(), c_void_p(), c_uint64()
    try:
        check(cuda.cuInit(0), "cuInit")
        check(cuda.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
        check(cuda.cuDevicePrimaryCtxRetain(ctypes.byref(context), device), "cuDevicePrimaryCtxRetain")
        check(cuda.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        check(cuda.cuModuleLoadData(ctypes.byref(module), PTX), "cuModuleLoadData (PTX JIT)")
        check(cuda.cuModuleGetFunction(ctypes.byref(function), module, KERNEL_NAME), "cuModuleGetFunction")
        size = ELEMENTS * ctypes.sizeof(ctypes.c_float)
        host = (ctypes.c_float * ELEMENTS)(*range(ELEMENTS))
        check(cuda.cuMemAlloc_v2(ctypes.byref(pointer), c_size_t(size)), "cuMemAlloc")
        check(cuda.cuMemcpyHtoD_v2(pointer.value, ctypes.addressof(host), size), "cuMemcpyHtoD")
        count = c_uint(ELEMENTS)
        params = (c_void_p * 2)(
            ctypes.cast(ctypes.byref(pointer), c_void_p), ctypes.cast(ctypes.byref(count), c_void_p)
        )
        blocks = (ELEMENTS + 255) // 256
        check(cuda.cuLaunchKernel(function, blocks, 1, 1, 256, 1, 1, 0, None, params, None), "cuLaunchKernel")
        check(cuda.cuCtxSynchronize(), "cuCtxSynchronize")
        result = (ctypes.c_float * ELEMENTS)()
        check(cuda.cuMemcpyDtoH_v2(ctypes.addressof(result), pointer.value, size), "cuMemcpyDtoH")
        wrong = [i for i in range(ELEMENTS) if result[i] != host[i] + 1.0]
        ok = not wrong
        detail = (
            f"JIT-compiled PTX and ran add_one over {ELEMENTS} floats"
            if ok
            else f"{len(wrong)} wrong results, first at element {wrong[0]}: {result[wrong[0]]} "
            f"(expected {host[wrong[0]] + 1.0})"
        )
    except _CudaError as exc:
        ok, detail = False, str(exc)
    finally:
        if pointer.value:
            cuda.cuMemFree_v2(pointer.value)
        if module.value:
            cuda.cuModuleUnload(module)
        if context.value:
            cuda.cuDevicePrimaryCtxRelease(device)
    return SmokeResult("driver-api", ok, time.perf_counter() - start, detail)
