"""Concurrent use of the core from several threads (Keras's async dispatch
calls batch hooks from a worker thread while the main thread runs epoch
hooks)."""

import threading

import numpy as np
import pytest

from fastcallbacks._core import ring as c_ring
from fastcallbacks._core import snapshot as c_snapshot
from fastcallbacks._core import tracker as c_tracker
from fastcallbacks._reference import ring as r_ring
from fastcallbacks._reference import snapshot as r_snapshot
from fastcallbacks._reference import tracker as r_tracker

IMPLS = {
    "cython": (c_ring, c_tracker, c_snapshot),
    "python": (r_ring, r_tracker, r_snapshot),
}


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()


@pytest.mark.parametrize("name", IMPLS)
def test_ring_concurrent_push_and_extend_loses_nothing(name):
    ring_mod = IMPLS[name][0]
    r = ring_mod.RingMonitor(64)
    chunk = np.ones(1000)
    n_threads, per_thread = 4, 50
    errors = []

    def pusher():
        try:
            for _ in range(per_thread):
                r.extend(chunk)
                r.push(1.0)
                assert r.stat("mean") == 1.0
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    _run([threading.Thread(target=pusher) for _ in range(n_threads)])
    assert errors == []
    assert r.total == n_threads * per_thread * (len(chunk) + 1)
    assert len(r) == 64
    assert r.nonfinite == 0
    assert r.stat("ema") == 1.0


@pytest.mark.parametrize("name", IMPLS)
def test_tracker_concurrent_updates_count_every_value(name):
    tracker_mod = IMPLS[name][1]
    t = tracker_mod.BestTracker(mode="min", patience=10**9)
    t.update(0.0, 0)  # best = 0.0; every later 1.0 is a non-improvement
    n_threads, per_thread = 4, 2000

    def worker():
        for i in range(per_thread):
            assert t.update(1.0, i + 1) == tracker_mod.WAIT

    _run([threading.Thread(target=worker) for _ in range(n_threads)])
    assert t.wait == n_threads * per_thread
    assert t.best == 0.0


@pytest.mark.parametrize("name", IMPLS)
def test_snapshot_from_threads_returns_consistent_copies(name):
    snap_mod = IMPLS[name][2]
    snaps = [snap_mod.WeightSnapshot() for _ in range(4)]
    sources = [[np.full((256, 256), float(k)), np.arange(100.0) + k] for k in range(4)]
    results = [None] * 4

    def worker(k):
        out = None
        for _ in range(20):
            out = None
            out = snaps[k].capture(sources[k])
        results[k] = out

    _run([threading.Thread(target=worker, args=(k,)) for k in range(4)])
    for k in range(4):
        assert np.array_equal(results[k][0], sources[k][0])
        assert np.array_equal(results[k][1], sources[k][1])
        assert snaps[k].allocations == 1
