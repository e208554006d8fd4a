"""Pickle and copy.deepcopy of the core objects (tuners clone callbacks)."""

import copy
import math
import pickle

import numpy as np
import pytest


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_ring_round_trip_keeps_window_counters_and_ema(impl, how):
    r = impl.RingMonitor(4, alpha=0.3)
    r.extend([1.0, 2.0, math.inf, 4.0, 5.0, 6.0])
    c = pickle.loads(pickle.dumps(r)) if how == "pickle" else copy.deepcopy(r)
    assert type(c) is type(r)
    assert c.capacity == 4 and c.alpha == 0.3
    assert np.array_equal(c.values(), r.values())
    assert (c.total, c.nonfinite, len(c)) == (r.total, r.nonfinite, len(r)) == (6, 1, 4)
    for kind in ("mean", "median", "min", "max", "ema", "last"):
        assert _same(c.stat(kind), r.stat(kind)), kind
    # Both continue identically, and independently.
    for x in (7.0, 8.0, 9.0):
        assert _same(c.push_stat(x, "median"), r.push_stat(x, "median"))
    c.push(100.0)
    assert r.last() == 9.0 and c.last() == 100.0


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_tracker_round_trip_keeps_config_and_state(impl, how):
    t = impl.BestTracker(mode="max", min_delta=0.5, patience=3, baseline=2.0,
                         start_from=1, cooldown=2, threshold_mode="rel",
                         on_patience="reduce", float32=False)
    for step, v in enumerate([0.0, 1.0, 3.0, 3.1, 3.2]):
        t.update(v, step)
    c = pickle.loads(pickle.dumps(t)) if how == "pickle" else copy.deepcopy(t)
    assert type(c) is type(t)
    for name in ("mode", "min_delta", "patience", "baseline", "start_from", "cooldown",
                 "threshold_mode", "on_patience", "float32", "best", "best_step",
                 "wait", "cooldown_counter"):
        assert getattr(c, name) == getattr(t, name), name
    for step, v in enumerate([3.0, 9.0, 1.0, 1.0, 1.0, 1.0], start=5):
        assert c.update(v, step) == t.update(v, step)
    assert (c.best, c.wait) == (t.best, t.wait)


def test_tracker_round_trip_before_any_update(impl):
    t = impl.BestTracker()
    c = copy.deepcopy(t)
    assert c.best is None and c.best_step == -1 and c.wait == 0


def test_snapshot_copy_starts_empty_and_works(impl):
    s = impl.WeightSnapshot(max_sets=3)
    held = s.capture([np.arange(4.0)])
    c = pickle.loads(pickle.dumps(s))
    assert c.allocations == 0
    out = c.capture([np.ones(2)])
    assert np.array_equal(out[0], np.ones(2)) and np.array_equal(held[0], np.arange(4.0))


# Pickles made by 7d00e33 (before the RingMonitor façade), protocol 2, of
# RingMonitor(4, alpha=0.25) after extend([1, 2, inf, 4, 5, -6.5]).
_OLD_RING_PICKLES = {
    "cython": b"\x80\x02cfastcallbacks._core.ring\nRingMonitor\nq\x00K\x04G?\xd0\x00\x00\x00"
              b"\x00\x00\x00\x86q\x01Rq\x02(]q\x03(G\x7f\xf0\x00\x00\x00\x00\x00\x00G@\x10\x00"
              b"\x00\x00\x00\x00\x00G@\x14\x00\x00\x00\x00\x00\x00G\xc0\x1a\x00\x00\x00\x00\x00"
              b"\x00eK\x06K\x01G\x7f\xf0\x00\x00\x00\x00\x00\x00tq\x04b.",
    "python": b"\x80\x02cfastcallbacks._reference.ring\nRingMonitor\nq\x00K\x04G?\xd0\x00\x00"
              b"\x00\x00\x00\x00\x86q\x01Rq\x02(]q\x03(G\x7f\xf0\x00\x00\x00\x00\x00\x00G@\x10"
              b"\x00\x00\x00\x00\x00\x00G@\x14\x00\x00\x00\x00\x00\x00G\xc0\x1a\x00\x00\x00\x00"
              b"\x00\x00eK\x06K\x01G\x7f\xf0\x00\x00\x00\x00\x00\x00tq\x04b.",
}


def test_ring_pickles_of_7d00e33_still_load(impl):
    r = pickle.loads(_OLD_RING_PICKLES[impl.name])
    assert type(r) is impl.RingMonitor
    assert (r.capacity, r.alpha, r.total, r.nonfinite, len(r)) == (4, 0.25, 6, 1, 4)
    assert r.values().tolist() == [math.inf, 4.0, 5.0, -6.5]
    assert r.ema() == math.inf and r.median() == 4.5
    assert r.push_stat(7.0, "max") == 7.0 and r.values().tolist() == [4.0, 5.0, -6.5, 7.0]
    # And a new pickle of it loads too.
    c = pickle.loads(pickle.dumps(r))
    assert c.values().tolist() == r.values().tolist() and c.total == 7
