"""RingMonitor's buffers grow with the values pushed, up to the capacity.

A capacity is only a bound: `RingMonitor(2**60 - 1)` allocates nothing up
front (it used to compute `capacity * 8` unchecked: `2**61 + 1` wrapped to
8 bytes and `push` wrote past them). These tests check the window across
every growth step, with single pushes, bulk extends, pickling and clear.
"""

import pickle
import sys

import numpy as np
import pytest


def check_window(ring, pushed):
    window = pushed[-ring.capacity:]
    assert len(ring) == len(window)
    assert ring.values().tolist() == window
    assert ring.stat("median") == float(np.median(window))
    assert ring.stat("min") == min(window) and ring.stat("max") == max(window)
    assert ring.stat("last") == window[-1]


@pytest.mark.parametrize("capacity", [17, 100, 1000, 2**60 - 1])
def test_window_is_exact_across_growth(impl, capacity):
    rng = np.random.default_rng(capacity % 1000)
    ring = impl.RingMonitor(capacity)
    pushed = []
    for step in range(12):
        if step % 3 == 0:
            chunk = rng.standard_normal(int(rng.integers(1, 300))).tolist()
            ring.extend(chunk)
            pushed += chunk
        else:
            for _ in range(int(rng.integers(1, 200))):
                x = float(rng.standard_normal())
                ring.push(x)
                pushed.append(x)
        ring.median()  # keeps the sorted copy current across the next growth
        check_window(ring, pushed)
    clone = pickle.loads(pickle.dumps(ring))
    check_window(clone, pushed)
    clone.push(5.0)
    check_window(clone, pushed + [5.0])
    ring.clear()
    ring.extend([3.0, 1.0, 2.0])
    check_window(ring, [3.0, 1.0, 2.0])


def test_compiled_and_reference_agree_across_growth():
    from .impls import load_impl

    cy, py = load_impl("cython"), load_impl("python")
    rng = np.random.default_rng(7)
    values = rng.standard_normal(3000)
    values[::97] = np.nan
    for capacity in (33, 500, 2**40):
        a, b = cy.RingMonitor(capacity), py.RingMonitor(capacity)
        for i, x in enumerate(values):
            a.push(x)
            b.push(x)
            if i % 37 == 0:
                for kind in ("mean", "median", "min", "max", "ema", "last"):
                    assert np.array_equal(a.stat(kind), b.stat(kind), equal_nan=True)
        assert np.array_equal(a.values(), b.values(), equal_nan=True)


@pytest.mark.parametrize("capacity", [2**60, 2**61 + 1, 2**62, sys.maxsize, 2**64, 2**100])
def test_capacity_beyond_the_limit_raises_overflow_error(impl, capacity):
    assert impl.ring.MAX_CAPACITY == sys.maxsize // 8
    with pytest.raises(OverflowError, match="`capacity` must be <="):
        impl.RingMonitor(capacity)
