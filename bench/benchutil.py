"""Set-up shared by the npz writer benchmarks (bench_npzwriter.py,
bench_deflate.py): the untimed settle step, the `np.savez_compressed`
anchor and interleaved timing rounds. The `path` fixture is in conftest.py."""

import contextlib
import os
import time

import numpy as np


def settle(path):
    """Untimed, before every timed write: remove the previous file and flush
    dirty pages, so that no write runs into the kernel's writeback
    throttling left by an earlier one (stalls of 50-80 ms seen here, which
    landed on whichever method ran then)."""
    if os.path.exists(path):
        os.unlink(path)
    if hasattr(os, "sync"):
        os.sync()


def np_savez_compressed(path, arrays):
    np.savez_compressed(path, **arrays)


def interleaved(methods, args, rounds, setup=None, around=contextlib.nullcontext):
    """Median seconds of each method, rounds interleaved (round 0 a warm-up).

    `setup()` runs untimed before each call; each call is timed inside
    `with around():` (e.g. a busy Python thread).
    """
    times = {m: [] for m in methods}
    for r in range(rounds + 1):
        for name, fn in methods.items():
            if setup is not None:
                setup()
            with around():
                t0 = time.perf_counter()
                fn(*args)
                t = time.perf_counter() - t0
            if r:
                times[name].append(t)
    return {m: float(np.median(v)) for m, v in times.items()}
