"""WeightSnapshot shared by threads or used re-entrantly (issue 12, item 4).

Every call owns the buffer set it fills until it returns, so no capture
ever hands back values another call is writing. Each returned capture is
compared with the arrays it was given.
"""

import threading

import numpy as np
import pytest

SHAPES = [(64, 256), (1000,), (3, 5)]


def sources(tag):
    # Arrays whose every element says which call they belong to.
    return [np.full(shape, float(tag)) for shape in SHAPES]


def wrong_elements(copies, tag):
    return sum(int(np.count_nonzero(c != tag)) for c in copies)


def run_threads(target, n):
    errors = []

    def guarded(k):
        try:
            target(k)
        except BaseException as e:  # reported by the test, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("method", ["capture", "capture_while"])
@pytest.mark.parametrize("n_threads", [2, 4])
def test_one_snapshot_shared_by_threads_never_returns_another_calls_data(impl, method,
                                                                         n_threads):
    snap = impl.WeightSnapshot()
    rounds = 150
    bad = []

    def worker(k):
        held = []
        for i in range(rounds):
            tag = k * 1000 + i
            if method == "capture":
                copies = snap.capture(sources(tag))
            else:
                copies, _ = snap.capture_while(sources(tag), lambda: None)
            wrong = wrong_elements(copies, tag)
            if wrong:
                bad.append((k, i, wrong))
            # Keep some captures for a while, as callers do: those buffers
            # must stay untouched too.
            held.append((tag, copies))
            if len(held) > 3:
                old_tag, old = held.pop(0)
                wrong = wrong_elements(old, old_tag)
                if wrong:
                    bad.append((k, i, "held", wrong))
            del copies

    run_threads(worker, n_threads)
    assert bad == []


@pytest.mark.parametrize("size", [1000, (8 << 20) // 8])
def test_capture_inside_capture_while_gets_its_own_buffers(impl, size):
    snap = impl.WeightSnapshot(max_sets=1)
    outer_src = [np.full(size, 1.0), np.full(7, 1.0)]
    inner_src = [np.full(size, 2.0), np.full(7, 2.0)]
    # A first capture leaves a free set of these shapes in the pool: the
    # outer call takes it, the inner one must not fill it too.
    snap.capture(outer_src)
    inner = []
    outer, result = snap.capture_while(
        outer_src, lambda: inner.append(snap.capture(inner_src)) or "fn")
    assert result == "fn"
    assert wrong_elements(outer, 1.0) == 0
    assert wrong_elements(inner[0], 2.0) == 0
    assert not any(np.shares_memory(a, b) for a, b in zip(outer, inner[0]))


def test_capture_while_inside_capture_while(impl):
    snap = impl.WeightSnapshot()
    size = (4 << 20) // 8
    a = [np.full(size, 1.0)]
    b = [np.full(size, 2.0)]
    snap.capture(a)
    inner = []
    outer, _ = snap.capture_while(a, lambda: inner.append(snap.capture_while(b, lambda: 0)))
    assert wrong_elements(outer, 1.0) == 0
    assert wrong_elements(inner[0][0], 2.0) == 0


def test_sets_are_reused_again_after_concurrent_use(impl):
    snap = impl.WeightSnapshot(max_sets=2)
    run_threads(lambda k: [snap.capture(sources(k)) for _ in range(20)], 2)
    before = snap.allocations
    for _ in range(5):
        copies = snap.capture(sources(9))
        assert wrong_elements(copies, 9) == 0
        del copies
    assert snap.allocations == before  # a free set was found every time


def test_clear_while_a_capture_is_in_flight_drops_its_set(impl):
    snap = impl.WeightSnapshot()
    src = [np.full(100, 3.0)]
    copies, _ = snap.capture_while(src, snap.clear)
    assert wrong_elements(copies, 3.0) == 0
    del copies
    snap.capture(src)
    assert snap.allocations == 2  # the set taken before clear() was not kept


@pytest.mark.parametrize("max_sets", [1.5, "2", None, True, [2]])
def test_max_sets_must_be_an_int(impl, max_sets):
    with pytest.raises(TypeError, match="`max_sets`"):
        impl.WeightSnapshot(max_sets)


def test_huge_max_sets(impl):
    with pytest.raises(OverflowError, match="`max_sets`"):
        impl.WeightSnapshot(2**63)
    snap = impl.WeightSnapshot(2**62)
    assert wrong_elements(snap.capture(sources(4)), 4) == 0
