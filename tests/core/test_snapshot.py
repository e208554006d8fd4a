"""Unit tests of WeightSnapshot, on the compiled core and on the reference."""

import numpy as np
import pytest

from .exact_arrays import assert_array_identical

DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int64, np.uint16, np.bool_,
          np.complex128, ">f8", "<i4", "M8[s]",
          np.dtype([("a", "<f4"), ("b", "i2")])]
SHAPES = [(), (0,), (3,), (2, 0, 4), (3, 4), (2, 3, 5)]


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 100, size=shape)
    dtype = np.dtype(dtype)
    if dtype.names:
        out = np.zeros(shape, dtype)
        out["a"] = raw / 3
        out["b"] = -raw
        return out
    if dtype.kind == "M":
        return raw.astype("M8[s]")
    if dtype.kind == "c":
        return (raw / 7 - 1j * raw).astype(dtype)
    if dtype.kind == "b":
        return raw % 2 == 1
    return (raw / 3 if dtype.kind == "f" else raw).astype(dtype)


def check_equal(out, srcs):
    assert isinstance(out, list)
    assert len(out) == len(srcs)
    for o, s in zip(out, srcs):
        s = np.asarray(s)
        assert isinstance(o, np.ndarray)
        assert o.dtype == s.dtype
        assert o.shape == s.shape
        assert o.flags.c_contiguous
        assert o.tobytes() == np.ascontiguousarray(s).tobytes()
        assert not np.shares_memory(o, s)


def test_max_sets_validation(impl):
    with pytest.raises(ValueError, match="`max_sets` must be >= 1"):
        impl.WeightSnapshot(0)
    with pytest.raises(ValueError, match="`max_sets` must be >= 1"):
        impl.WeightSnapshot(max_sets=-3)
    assert impl.WeightSnapshot(1).allocations == 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_capture_copies_every_dtype_and_shape(impl, dtype):
    srcs = [sample(shape, dtype, seed=i) for i, shape in enumerate(SHAPES)]
    snap = impl.WeightSnapshot()
    out = snap.capture(srcs)
    check_equal(out, srcs)
    assert snap.allocations == 1


def test_capture_mixed_and_array_likes(impl):
    srcs = [np.float32(1.5), 3, [1.0, 2.0], [[1, 2], [3, 4]], np.arange(12.0)[::3],
            np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)), np.empty(0)]
    snap = impl.WeightSnapshot()
    out = snap.capture(srcs)
    check_equal(out, [np.asarray(s) for s in srcs])
    assert out[4].tolist() == [0.0, 3.0, 6.0, 9.0]
    assert out[5].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert out[0].shape == () and out[0].dtype == np.float32
    assert snap.capture([]) == []


def test_capture_is_a_copy_of_the_sources(impl):
    src = [np.arange(5.0), np.ones((2, 2), np.int32)]
    snap = impl.WeightSnapshot()
    out = snap.capture(src)
    src[0][:] = -1.0
    src[1][:] = 7
    assert out[0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert out[1].tolist() == [[1, 1], [1, 1]]
    out[0][:] = 99.0  # and the sources do not see writes to the copy
    assert src[0].tolist() == [-1.0] * 5


def test_buffers_are_reused_when_the_previous_snapshot_is_dropped(impl):
    snap = impl.WeightSnapshot()
    w = [np.zeros((4, 3), np.float32), np.zeros(3, np.float32)]
    for i in range(10):
        w[0][:] = i
        w[1][:] = -i
        out = snap.capture(w)
        assert out[0].tolist() == [[float(i)] * 3] * 4
        assert out[1].tolist() == [float(-i)] * 3
        del out
        assert snap.allocations == 1


def test_a_held_list_is_never_overwritten(impl):
    snap = impl.WeightSnapshot()
    held = snap.capture([np.full(4, 1.0), np.full(2, 1, np.int8)])
    for i in range(2, 6):
        out = snap.capture([np.full(4, float(i)), np.full(2, i, np.int8)])
        assert out[0].tolist() == [float(i)] * 4
        del out
    assert held[0].tolist() == [1.0] * 4 and held[1].tolist() == [1, 1]
    # One set for the held list, one reused for all the others.
    assert snap.allocations == 2


def test_a_held_array_is_never_overwritten(impl):
    snap = impl.WeightSnapshot(max_sets=1)
    first = snap.capture([np.zeros(3), np.ones(2)])
    keep = first[1]
    del first
    out = snap.capture([np.full(3, 5.0), np.full(2, 5.0)])
    assert keep.tolist() == [1.0, 1.0]
    assert out[1].tolist() == [5.0, 5.0]
    assert not np.shares_memory(keep, out[1])
    assert snap.allocations == 2


def test_a_held_view_is_never_overwritten(impl):
    snap = impl.WeightSnapshot()
    first = snap.capture([np.arange(6.0)])
    view = first[0][2:4]
    del first
    for i in range(3):
        out = snap.capture([np.full(6, -1.0 - i)])
        del out
    assert view.tolist() == [2.0, 3.0]
    assert snap.allocations == 2
    # A memoryview exports the buffer just as well.
    second = snap.capture([np.arange(6.0) * 10])
    mv = memoryview(second[0])
    del second
    out = snap.capture([np.zeros(6)])
    assert list(mv) == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    assert out[0].tolist() == [0.0] * 6


def test_pool_reuses_any_free_set(impl):
    snap = impl.WeightSnapshot(max_sets=2)
    a = snap.capture([np.full(3, 1.0)])
    b = snap.capture([np.full(3, 2.0)])
    assert snap.allocations == 2
    del b
    c = snap.capture([np.full(3, 3.0)])  # reuses b's set, a is held
    assert snap.allocations == 2
    assert a[0].tolist() == [1.0] * 3 and c[0].tolist() == [3.0] * 3
    del a
    d = snap.capture([np.full(3, 4.0)])  # reuses a's set, c is held
    assert snap.allocations == 2
    assert c[0].tolist() == [3.0] * 3 and d[0].tolist() == [4.0] * 3


def test_max_sets_bounds_the_pool(impl):
    snap = impl.WeightSnapshot(max_sets=1)
    a = snap.capture([np.full(2, 1.0)])
    b = snap.capture([np.full(2, 2.0)])  # a held: new set; a's set leaves the pool
    assert snap.allocations == 2
    del a, b
    c = snap.capture([np.full(2, 3.0)])  # only b's set is pooled, and free
    assert snap.allocations == 2
    assert c[0].tolist() == [3.0, 3.0]


def test_shape_dtype_or_count_change_allocates(impl):
    snap = impl.WeightSnapshot()
    out = snap.capture([np.zeros(3)])
    del out
    out = snap.capture([np.zeros(4)])
    del out
    assert snap.allocations == 2
    out = snap.capture([np.zeros(4, np.float32)])
    del out
    assert snap.allocations == 3
    out = snap.capture([np.zeros(4, np.float32), np.zeros(1)])
    assert snap.allocations == 4
    check_equal(out, [np.zeros(4, np.float32), np.zeros(1)])
    del out
    out = snap.capture([np.zeros(4, np.float32), np.zeros(1)])
    assert snap.allocations == 4


def test_capturing_a_previous_snapshot(impl):
    snap = impl.WeightSnapshot()
    first = snap.capture([np.arange(3.0)])
    second = snap.capture(first)
    assert second[0].tolist() == [0.0, 1.0, 2.0]
    assert not np.shares_memory(first[0], second[0])
    assert snap.allocations == 2


def test_clear_drops_the_buffers(impl):
    snap = impl.WeightSnapshot()
    out = snap.capture([np.zeros(3)])
    del out
    snap.clear()
    out = snap.capture([np.ones(3)])
    assert snap.allocations == 2
    assert out[0].tolist() == [1.0] * 3


def test_object_arrays_are_rejected(impl):
    snap = impl.WeightSnapshot()
    with pytest.raises(TypeError, match="object arrays"):
        snap.capture([np.zeros(2), np.array([1, "a"], dtype=object)])
    with pytest.raises(TypeError, match="object arrays"):
        snap.capture([np.array([None, None])])
    assert snap.allocations == 0
    out = snap.capture([np.zeros(2)])
    assert out[0].tolist() == [0.0, 0.0]
    assert snap.allocations == 1


@pytest.mark.parametrize("sizes", [
    [3 << 20],                              # one array split in the middle
    [1, 5 << 20, 0, 7, 4 << 20, 3],         # the split lands inside one of several
    [1 << 20] * 9 + [13],                   # many equal pieces, split on a boundary
    [(8 << 20) // 8 + 1],                   # just above the parallel threshold
])
def test_large_captures_copied_in_two_halves_are_exact(impl, sizes):
    """Captures of 8 MiB or more are split between two threads in the
    compiled core; every byte must land where a single memcpy puts it."""
    rng = np.random.default_rng(len(sizes))
    arrays = [rng.integers(0, 2**63, size=n, dtype=np.int64) for n in sizes]
    s = impl.WeightSnapshot()
    out = s.capture(arrays)
    assert [a.shape for a in out] == [a.shape for a in arrays]
    for got, want in zip(out, arrays):
        assert np.array_equal(got, want)
    # Reused buffers, new contents: still exact.
    arrays2 = [a[::-1].copy() for a in arrays]
    del got, want  # the loop variables still reference the buffers
    out = None
    out = s.capture(arrays2)
    assert s.allocations == 1
    for got, want in zip(out, arrays2):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("sizes", [
    [],
    [0, 0],
    [1, (1 << 20) // 4, 3],                       # exactly one piece
    [(3 << 20) // 4 + 5, 0, 7, (5 << 20) // 4 + 1],   # pieces split inside arrays
])
def test_capture_while_copies_while_fn_runs(impl, sizes):
    rng = np.random.default_rng(len(sizes))
    srcs = [rng.standard_normal(n).astype("f4") for n in sizes] + [np.array(7, "i8")]
    snap = impl.WeightSnapshot(max_sets=1)
    calls = []
    copies, result = snap.capture_while(srcs, lambda: calls.append(1) or "done")
    assert result == "done" and calls == [1]
    assert len(copies) == len(srcs)
    for c, s in zip(copies, srcs):
        assert c.shape == s.shape and c.dtype == s.dtype
        assert_array_identical(c, s)
        assert not np.shares_memory(c, s)
    # Same buffer reuse rules as capture().
    del copies, c
    again, _ = snap.capture_while([s + 1 for s in srcs], lambda: None)
    assert snap.allocations == 1
    for c, s in zip(again, srcs):
        assert_array_identical(c, s + 1)


def test_capture_while_finishes_the_copy_when_fn_raises(impl):
    src = np.arange((6 << 20) // 8, dtype="f8")
    snap = impl.WeightSnapshot(max_sets=1)

    def boom():
        raise KeyError("from fn")

    with pytest.raises(KeyError, match="from fn"):
        snap.capture_while([src], boom)
    # No thread is left writing into the set: the next capture reuses it
    # and gets exact contents.
    copies = snap.capture([src[::-1].copy()])
    assert_array_identical(copies[0], src[::-1])
    assert snap.allocations == 1
