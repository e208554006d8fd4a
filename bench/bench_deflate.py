"""Compressed writes and CRC-32 with the deflate library the build linked.

    python -m pytest --benchmark bench/bench_deflate.py -s

The npz writer takes deflate and CRC-32 from ISA-L, libdeflate or zlib
(`DEFLATE_LIBRARY`, chosen by setup.py; rebuild with
FASTCALLBACKS_DEFLATE=isa-l|libdeflate|zlib and `build_ext --inplace -f` to
measure another). Anchors, measured in the same run: `np.savez_compressed`
for compressed writes, Python's `zlib.crc32` for the CRC.
`bench_deflate_ratios` interleaves the methods round by round (the host is
shared and noisy; ratios within a round are stable) and prints the medians
and ratios; the other benchmarks give report.py's per-method table.
"""

import os
import zlib

import numpy as np
import pytest

from benchutil import interleaved, np_savez_compressed, settle
from fastcallbacks._core import npzwriter as c_npzwriter

MiB = 1 << 20
LIBRARY = c_npzwriter.DEFLATE_LIBRARY


def _activations(kind):
    """10 float32 arrays of 4 MiB: ReLU outputs (50% zeros) or sparse (90%)."""
    rng = np.random.default_rng(0)
    out = {}
    for i in range(10):
        a = rng.standard_normal(MiB).astype("f4")
        if kind == "relu":
            a = np.maximum(a, 0)
        else:
            a[rng.random(a.size) < 0.9] = 0
        out[f"layer_{i}"] = a
    return out


CASES = ("relu", "sparse")


def npzwriter_compress(path, arrays):
    with c_npzwriter.NpzWriter(path, compress=True) as w:
        for name, a in arrays.items():
            w.add(name, a)


WRITERS = {"np_savez_compressed": np_savez_compressed, "npzwriter_compress": npzwriter_compress}
CRCS = {"zlib_crc32": zlib.crc32, "npzwriter_crc32": c_npzwriter.crc32}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", list(WRITERS))
def bench_compressed_write(benchmark, path, case, method):
    arrays = _activations(case)
    benchmark.group = f"deflate ({LIBRARY}): compressed write 10x4MiB {case} float32"
    benchmark.extra_info["anchor"] = method == "np_savez_compressed"
    benchmark.extra_info["MB"] = sum(a.nbytes for a in arrays.values()) / 1e6
    benchmark.pedantic(WRITERS[method], args=(path, arrays), setup=lambda: settle(path),
                       rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.parametrize("size", ["64KiB", "64MiB"])
@pytest.mark.parametrize("method", list(CRCS))
def bench_crc32(benchmark, size, method):
    n = {"64KiB": 64 << 10, "64MiB": 64 * MiB}[size]
    data = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
    benchmark.group = f"deflate ({LIBRARY}): CRC-32 of {size}"
    benchmark.extra_info["anchor"] = method == "zlib_crc32"
    benchmark.extra_info["MB"] = n / 1e6
    benchmark(CRCS[method], data)


def bench_deflate_ratios(benchmark, path):
    """Medians and ratios from interleaved rounds, printed and in extra_info."""
    benchmark.group = "deflate: summary (ratios in extra_info)"
    info = benchmark.extra_info
    info["library"] = LIBRARY
    lines = [f"deflate library: {LIBRARY}"]
    for case in CASES:
        arrays = _activations(case)
        mb = sum(a.nbytes for a in arrays.values()) / 1e6
        t = interleaved(WRITERS, (path, arrays), rounds=5, setup=lambda: settle(path))
        sizes = {}
        for name, fn in WRITERS.items():
            fn(path, arrays)
            sizes[name] = os.path.getsize(path)
        ratio = t["np_savez_compressed"] / t["npzwriter_compress"]
        size_ratio = sizes["npzwriter_compress"] / sizes["np_savez_compressed"]
        info[f"compressed {case} 10x4MiB npzwriter / np_savez_compressed speed"] = round(ratio, 2)
        info[f"compressed {case} 10x4MiB npzwriter / np_savez_compressed size"] = \
            round(size_ratio, 3)
        lines.append(
            f"compressed write, {case} 10x4MiB float32: np.savez_compressed "
            f"{t['np_savez_compressed'] * 1e3:.0f} ms ({mb / t['np_savez_compressed']:.0f} MB/s), "
            f"NpzWriter(compress=True) {t['npzwriter_compress'] * 1e3:.0f} ms "
            f"({mb / t['npzwriter_compress']:.0f} MB/s): {ratio:.1f}x faster (target >= 10 "
            f"with ISA-L), file {size_ratio:.2f} of np.savez_compressed's")
    for label, n in (("64 KiB", 64 << 10), ("64 MiB", 64 * MiB)):
        data = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
        reps = max(1, (256 * MiB) // n)

        def repeat(fn):
            return lambda: [fn(data) for _ in range(reps)]

        t = interleaved({m: repeat(fn) for m, fn in CRCS.items()}, (), rounds=7)
        gbs = {m: reps * n / t[m] / 1e9 for m in CRCS}
        ratio = t["zlib_crc32"] / t["npzwriter_crc32"]
        info[f"crc32 {label} npzwriter / zlib.crc32 speed"] = round(ratio, 2)
        lines.append(f"CRC-32 of {label}: zlib.crc32 {gbs['zlib_crc32']:.1f} GB/s, "
                     f"npzwriter.crc32 {gbs['npzwriter_crc32']:.1f} GB/s ({ratio:.1f}x)")
    info["lines"] = lines
    print("\n" + "\n".join(lines))
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
