"""Core throughput and GIL release.

Anchors: the pure-Python reference (same API), and for the GIL the same
work run sequentially on one thread.
"""

import threading

import numpy as np
import pytest

from fastcallbacks._core import ring as c_ring
from fastcallbacks._core import tracker as c_tracker
from fastcallbacks._reference import ring as r_ring
from fastcallbacks._reference import tracker as r_tracker

IMPLS = {"cython": (c_ring, c_tracker), "python": (r_ring, r_tracker)}


@pytest.mark.parametrize("impl", list(IMPLS))
def bench_push_stat_and_update_single_values(benchmark, impl):
    """One value from Python: ring push + median of 50 + tracker update."""
    ring_mod, tracker_mod = IMPLS[impl]
    benchmark.group = "core: push_stat(median, window=50) + update, 1000 values"
    benchmark.extra_info["anchor"] = impl == "python"
    r = ring_mod.RingMonitor(50)
    t = tracker_mod.BestTracker(patience=10**9)
    values = np.random.default_rng(0).normal(size=1000).tolist()

    def run():
        for i, v in enumerate(values):
            t.update(r.push_stat(v, "median"), i)

    benchmark.pedantic(run, rounds=20, iterations=1, warmup_rounds=1)
    benchmark.extra_info["values_per_round"] = len(values)


@pytest.mark.parametrize("cls", ["engine", "RingMonitor"])
def bench_facade_hot_path(benchmark, cls):
    """The public RingMonitor (the façade deriving from the engine) against
    the bare compiled engine: push_stat(median, window=50), 1000 values.
    The ratio stays at 1: the façade adds no call to the hot path."""
    benchmark.group = "core: RingMonitor façade vs bare engine, push_stat x 1000"
    benchmark.extra_info["anchor"] = cls == "engine"
    r = c_ring.RingEngine(50, 2 / 51) if cls == "engine" else c_ring.RingMonitor(50)
    values = np.random.default_rng(0).normal(size=1000).tolist()

    def run():
        for v in values:
            r.push_stat(v, "median")

    benchmark.pedantic(run, rounds=50, iterations=1, warmup_rounds=2)
    benchmark.extra_info["values_per_round"] = len(values)


@pytest.mark.parametrize("impl", list(IMPLS))
def bench_extend_bulk(benchmark, impl):
    """Bulk values (a numpy array) into the ring."""
    ring_mod, _ = IMPLS[impl]
    benchmark.group = "core: extend 100k values"
    benchmark.extra_info["anchor"] = impl == "python"
    r = ring_mod.RingMonitor(64)
    xs = np.random.default_rng(0).normal(size=100_000)
    benchmark.pedantic(r.extend, args=(xs,), rounds=10 if impl == "python" else 50, iterations=1)
    benchmark.extra_info["values_per_round"] = len(xs)
    assert r.total > 0


def _extend_in_threads(rings, arrays, n_threads):
    if n_threads == 1:
        for r, xs in zip(rings, arrays):
            r.extend(xs)
        return
    threads = [threading.Thread(target=r.extend, args=(xs,)) for r, xs in zip(rings, arrays)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("threads", [1, 2])
def bench_gil_release_extend(benchmark, impl, threads):
    """The same total work (2 x extend of 2M values into two rings) on one
    thread vs two threads: with the GIL released two cores give ~2x."""
    ring_mod, _ = IMPLS[impl]
    benchmark.group = f"GIL: 2 x extend({'2M' if impl == 'cython' else '100k'} values), impl={impl}"
    benchmark.extra_info["anchor"] = threads == 1
    n = 2_000_000 if impl == "cython" else 100_000
    # One array per thread (two threads reading the very same array scaled
    # poorly here, for reasons outside the ring).
    arrays = [np.random.default_rng(k).normal(size=n) for k in range(2)]
    rings = [ring_mod.RingMonitor(64), ring_mod.RingMonitor(64)]
    benchmark.pedantic(_extend_in_threads, args=(rings, arrays, threads), rounds=10, iterations=1)
    benchmark.extra_info["threads"] = threads
    assert all(r.total > 0 for r in rings)


def _hash_in_threads(data, n_threads):
    import hashlib

    if n_threads == 1:
        hashlib.sha256(data).digest()
        hashlib.sha256(data).digest()
        return
    threads = [threading.Thread(target=lambda: hashlib.sha256(data).digest()) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


@pytest.mark.parametrize("threads", [1, 2])
def bench_gil_release_anchor_hashlib(benchmark, threads):
    """Anchor for the scaling the machine allows right now: hashlib.sha256
    releases the GIL for large inputs (2 x 64 MB)."""
    benchmark.group = "GIL: anchor 2 x sha256(64 MB)"
    benchmark.extra_info["anchor"] = threads == 1
    data = b"\x01" * (64 << 20)
    benchmark.pedantic(_hash_in_threads, args=(data, threads), rounds=10, iterations=1)
    benchmark.extra_info["threads"] = threads
