"""Unit tests of RingMonitor, on the compiled core and on the reference."""

import math
import threading

import numpy as np
import pytest

from .floats import same, same_seq

STATS = ("mean", "median", "min", "max", "ema", "last")
NAN = math.nan
INF = math.inf


def filled(impl, values, capacity=None, alpha=None):
    r = impl.RingMonitor(capacity if capacity is not None else max(len(values), 1), alpha)
    for v in values:
        r.push(v)
    return r


# -- construction --------------------------------------------------------------


@pytest.mark.parametrize("capacity", [1.0, 2.5, "3", None, True, False, np.int64(3), [3]])
def test_capacity_must_be_an_int(impl, capacity):
    with pytest.raises(TypeError, match="`capacity`"):
        impl.RingMonitor(capacity)


@pytest.mark.parametrize("capacity", [0, -1, -(2**70)])
def test_capacity_must_be_positive(impl, capacity):
    with pytest.raises(ValueError, match="`capacity` must be >= 1"):
        impl.RingMonitor(capacity)


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.0000001, 2, NAN, INF, -INF])
def test_alpha_out_of_range(impl, alpha):
    with pytest.raises(ValueError, match="`alpha` must be in"):
        impl.RingMonitor(3, alpha)


def test_alpha_must_be_a_number(impl):
    with pytest.raises((TypeError, ValueError)):
        impl.RingMonitor(3, "fast")


def test_defaults(impl):
    r = impl.RingMonitor(3)
    assert r.capacity == 3
    assert same(r.alpha, 2.0 / 4.0)
    assert len(r) == 0 and r.total == 0 and r.nonfinite == 0
    assert same(impl.RingMonitor(9).alpha, 2.0 / 10.0)
    assert same(impl.RingMonitor(1, 1).alpha, 1.0)  # int alpha, upper bound included
    assert same(impl.RingMonitor(5, np.float32(0.25)).alpha, 0.25)
    assert "capacity=3" in repr(r) and "len=0" in repr(r)


# -- window bookkeeping ---------------------------------------------------------


def test_len_total_and_wrap_around(impl):
    r = impl.RingMonitor(3)
    for i in range(1, 8):
        r.push(float(i))
        assert len(r) == min(i, 3)
        assert r.total == i
        assert r.values().tolist() == [float(j) for j in range(max(1, i - 2), i + 1)]
    assert r.last() == 7.0
    assert r.min() == 5.0 and r.max() == 7.0
    assert "len=3" in repr(r) and "total=7" in repr(r)


def test_capacity_one(impl):
    r = impl.RingMonitor(1)
    for v in (3.0, -1.0, 2.0):
        r.push(v)
        assert r.values().tolist() == [v]
        for kind in ("mean", "median", "min", "max", "last"):
            assert same(r.stat(kind), v)
    assert r.total == 3 and len(r) == 1


def test_nonfinite_counts_every_pushed_value(impl):
    r = impl.RingMonitor(2)
    r.extend([1.0, NAN, INF, -INF, 2.0, 3.0])
    # The count covers every value pushed, not only those still in the window.
    assert r.nonfinite == 3
    assert r.total == 6
    assert r.values().tolist() == [2.0, 3.0]
    r.push(NAN)
    assert r.nonfinite == 4


def test_values_is_a_fresh_float64_array_oldest_first(impl):
    r = impl.RingMonitor(4)
    empty = r.values()
    assert empty.dtype == np.float64 and empty.shape == (0,)
    r.extend([1, 2, 3, 4, 5, 6])
    v = r.values()
    assert v.dtype == np.float64 and v.shape == (4,)
    assert v.tolist() == [3.0, 4.0, 5.0, 6.0]
    v[:] = 0.0  # a copy: the window does not change
    assert r.values().tolist() == [3.0, 4.0, 5.0, 6.0]


def test_clear(impl):
    r = impl.RingMonitor(3, 0.5)
    r.extend([1.0, NAN, 3.0, 4.0])
    r.clear()
    assert len(r) == 0 and r.total == 0 and r.nonfinite == 0
    assert r.values().tolist() == []
    for kind in STATS:
        assert math.isnan(r.stat(kind))
    assert r.capacity == 3 and r.alpha == 0.5
    # The EMA restarts from the first value after clear().
    r.push(10.0)
    assert r.ema() == 10.0 and r.mean() == 10.0 and r.values().tolist() == [10.0]


# -- push / extend inputs ---------------------------------------------------------


def test_push_accepts_what_float_accepts(impl):
    r = impl.RingMonitor(8)
    r.push(1)
    r.push(True)
    r.push(np.float32(0.1))
    r.push(np.int64(-4))
    r.push("2.5")
    r.push(" -inf ")
    r.push(np.array(7.0))  # 0-d array
    expected = [1.0, 1.0, float(np.float32(0.1)), -4.0, 2.5, -INF, 7.0]
    assert same_seq(r.values().tolist(), expected)
    for bad in (None, "x", [1.0], object()):
        with pytest.raises((TypeError, ValueError)):
            r.push(bad)
    assert r.total == len(expected)  # failed pushes change nothing


def test_extend_flattens_and_converts(impl):
    r = impl.RingMonitor(10)
    r.extend([])
    r.extend(np.empty((0, 3)))
    assert r.total == 0
    r.extend(np.arange(6, dtype=np.int32).reshape(2, 3))
    r.extend(np.array([0.5, 1.5], dtype=np.float32))
    r.extend(np.arange(10.0)[::4])  # non-contiguous
    r.extend(9.0)  # a scalar is a 1-element array
    assert r.values().tolist() == [2.0, 3.0, 4.0, 5.0, 0.5, 1.5, 0.0, 4.0, 8.0, 9.0]
    assert r.total == 12
    with pytest.raises((TypeError, ValueError)):
        r.extend(["a", "b"])


def test_extend_equals_push(impl):
    xs = [3.0, -1.0, NAN, 2.0, INF, 0.5, -0.0, 7.0]
    a = impl.RingMonitor(5, 0.3)
    b = impl.RingMonitor(5, 0.3)
    a.extend(xs)
    for x in xs:
        b.push(x)
    assert same_seq(a.values(), b.values())
    assert (a.total, a.nonfinite, len(a)) == (b.total, b.nonfinite, len(b))
    for kind in STATS:
        assert same(a.stat(kind), b.stat(kind))


# -- statistics ---------------------------------------------------------------------


def test_stats_on_known_values(impl):
    r = filled(impl, [4.0, 1.0, 3.0, 2.0], capacity=4, alpha=0.5)
    assert r.mean() == 2.5
    assert r.median() == 2.5  # even count: mean of the middle two
    assert r.min() == 1.0
    assert r.max() == 4.0
    assert r.last() == 2.0
    # ema: 4 -> 0.5*1+0.5*4=2.5 -> 0.5*3+0.5*2.5=2.75 -> 0.5*2+0.5*2.75=2.375
    assert r.ema() == 2.375
    r.push(10.0)  # window is now 1, 3, 2, 10
    assert r.mean() == 4.0
    assert r.median() == 2.5
    assert r.min() == 1.0 and r.max() == 10.0 and r.last() == 10.0
    assert r.ema() == 0.5 * 10.0 + 0.5 * 2.375  # over every value, not the window


def test_median_odd_and_even(impl):
    assert filled(impl, [5.0, 1.0, 3.0]).median() == 3.0
    assert filled(impl, [5.0, 1.0, 3.0, 9.0, 7.0]).median() == 5.0
    assert filled(impl, [5.0, 1.0]).median() == 3.0
    assert filled(impl, [2.0, 2.0, 1.0, 100.0]).median() == 2.0
    assert filled(impl, [-3.0, 4.0, 1.0, 0.0]).median() == 0.5


def test_median_of_huge_values_does_not_overflow(impl):
    big = np.finfo(np.float64).max
    assert filled(impl, [big, big]).median() == big
    assert filled(impl, [-big, -big]).median() == -big
    assert filled(impl, [big, big]).mean() == big  # overflowed sum falls back to scaled sum
    assert filled(impl, [big, big, -big]).mean() == pytest.approx(big / 3)


def test_median_keeps_signed_zeros_in_window_order(impl):
    # A stable sort keeps equal values in window order; -0.0 and 0.0 compare
    # equal but are different values.
    assert same(filled(impl, [0.0, -0.0, 1.0]).median(), -0.0)
    assert same(filled(impl, [-0.0, 0.0, 1.0]).median(), 0.0)
    assert same(filled(impl, [1.0, -0.0, 0.0, -1.0, 0.0]).median(), 0.0)
    # sorted: -1, 0.0, -0.0, -0.0, 1, 1 -> mean of -0.0 and -0.0
    assert same(filled(impl, [0.0, -0.0, -0.0, -1.0, 1.0, 1.0]).median(), -0.0)
    # sorted: -1, -0.0, -0.0, 0.0, 1, 1 -> mean of -0.0 and 0.0
    assert same(filled(impl, [-0.0, -0.0, 0.0, -1.0, 1.0, 1.0]).median(), 0.0)


def test_min_max_keep_the_first_of_equal_values(impl):
    r = filled(impl, [0.0, -0.0, 1.0])
    assert same(r.min(), 0.0) and same(r.max(), 1.0)
    r = filled(impl, [-0.0, 0.0])
    assert same(r.min(), -0.0) and same(r.max(), -0.0)


def test_ema_with_custom_alpha(impl):
    r = impl.RingMonitor(2, 0.25)
    r.push(8.0)
    assert r.ema() == 8.0  # the first value seeds the EMA
    r.push(0.0)
    assert r.ema() == 6.0
    r.push(4.0)
    assert r.ema() == 0.25 * 4.0 + 0.75 * 6.0
    r1 = filled(impl, [1.0, 2.0, 3.0], capacity=3, alpha=1.0)
    assert r1.ema() == 3.0


def test_default_alpha_ema(impl):
    r = filled(impl, [1.0, 2.0, 3.0], capacity=3)  # alpha = 0.5
    assert r.ema() == 0.5 * 3.0 + 0.5 * (0.5 * 2.0 + 0.5 * 1.0)


def test_empty_window_is_nan(impl):
    r = impl.RingMonitor(4)
    for kind in STATS:
        assert math.isnan(r.stat(kind))
    assert math.isnan(r.mean()) and math.isnan(r.median()) and math.isnan(r.min())
    assert math.isnan(r.max()) and math.isnan(r.ema()) and math.isnan(r.last())


def test_nan_in_window_propagates(impl):
    r = filled(impl, [1.0, NAN, 3.0], capacity=3)
    for kind in ("mean", "median", "min", "max", "ema"):
        assert math.isnan(r.stat(kind)), kind
    assert r.last() == 3.0  # "last" is the newest value itself
    r = filled(impl, [NAN, 1.0], capacity=2)
    assert math.isnan(r.min()) and math.isnan(r.max()) and math.isnan(r.median())
    # Once the NaN leaves the window the window statistics recover ...
    r.extend([2.0, 4.0])
    assert r.mean() == 3.0 and r.median() == 3.0 and r.min() == 2.0 and r.max() == 4.0
    # ... but the EMA covers every value ever pushed, so it stays NaN until clear().
    assert math.isnan(r.ema())
    r.clear()
    r.push(1.0)
    assert r.ema() == 1.0


def test_infinities(impl):
    r = filled(impl, [1.0, INF, 2.0])
    assert r.mean() == INF and r.max() == INF and r.min() == 1.0 and r.median() == 2.0
    r = filled(impl, [-INF, 1.0, 2.0])
    assert r.mean() == -INF and r.min() == -INF and r.median() == 1.0
    r = filled(impl, [INF, -INF])
    assert math.isnan(r.mean())  # inf - inf
    assert math.isnan(r.median())  # (inf + -inf) / 2, as numpy
    assert r.min() == -INF and r.max() == INF and r.last() == -INF
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.median([INF, -INF]))
    r = filled(impl, [INF, INF, 1.0, -INF])
    assert r.median() == INF
    assert filled(impl, [-INF, -INF]).median() == -INF


def test_stat_matches_numpy_on_finite_data(impl):
    rng = np.random.default_rng(0)
    for capacity in (1, 2, 5, 16):
        r = impl.RingMonitor(capacity)
        data = rng.normal(size=3 * capacity + 1)
        r.extend(data)
        window = data[-capacity:]
        assert r.values().tolist() == window.tolist()
        assert r.median() == np.median(window)
        assert r.min() == window.min() and r.max() == window.max()
        assert r.mean() == pytest.approx(window.mean(), rel=1e-12, abs=1e-12)


def test_push_stat(impl):
    r = impl.RingMonitor(3)
    assert r.push_stat(1.0) == 1.0  # default: mean
    assert r.push_stat(3.0, "mean") == 2.0
    assert r.push_stat(8.0, "median") == 3.0
    assert r.push_stat(-1.0, "min") == -1.0
    assert r.push_stat(0.0, "max") == 8.0
    assert r.push_stat(5.0, "last") == 5.0
    assert r.total == 6
    a = impl.RingMonitor(3, 0.5)
    b = impl.RingMonitor(3, 0.5)
    for x in (1.0, 4.0, NAN, 2.0):
        a.push(x)
        assert same(a.stat("ema"), b.push_stat(x, "ema"))


def test_unknown_stat(impl):
    r = filled(impl, [1.0, 2.0])
    for kind in ("avg", "MEAN", "", None, 0, ("mean",), ["mean"]):
        with pytest.raises(ValueError, match="Unknown statistic"):
            r.stat(kind)
    with pytest.raises(ValueError, match="Unknown statistic"):
        r.push_stat(3.0, "std")
    assert r.total == 2  # a rejected push_stat pushes nothing
    assert r.stat() == 1.5  # default: mean


def test_extend_is_atomic_with_respect_to_other_threads(impl):
    r = impl.RingMonitor(1000)
    chunk = np.arange(1000, dtype=np.float64)

    def work():
        for _ in range(20):
            r.extend(chunk)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.total == 80 * 1000
    # Each extend ran under the lock, so the window holds one whole chunk.
    assert r.values().tolist() == chunk.tolist()
