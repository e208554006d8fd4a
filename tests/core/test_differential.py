"""Differential tests: the compiled core against the pure-Python reference.

Every case is a stream of operations, applied to a compiled object and to a
reference object side by side; the observable state of both is compared bit
for bit (NaN equals NaN, -0.0 differs from 0.0) after every operation. A
mismatch fails with the whole case, so it can be replayed by hand.
"""

import math
import random
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .floats import key
from .impls import load_impl

CY = load_impl("cython")
PY = load_impl("python")

STATS = ("mean", "median", "min", "max", "ema", "last")
NAN, INF = math.nan, math.inf
FLT_MAX = 3.4028234663852886e38
FLT_TRUE_MIN = 1.401298464324817e-45
DBL_TRUE_MIN = 5e-324


def examples(n):
    """Settings of one test: `n` examples, no deadline (the core is fast, the
    reference is not, and CI machines vary)."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- float helpers ---------------------------------------------------------------------


def f32(x):
    """Round to the nearest float32 (out of range: +-inf)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(INF, x)


def f32_step(x, up):
    """The float32 neighbour of float32(x) towards +inf (up) or -inf."""
    y = f32(x)
    if math.isnan(y) or (math.isinf(y) and (y > 0) == up):
        return y
    if y == 0.0:
        return FLT_TRUE_MIN if up else -FLT_TRUE_MIN
    bits = struct.unpack("<I", struct.pack("<f", y))[0]
    bits += 1 if (y > 0) == up else -1
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def show(x):
    """repr plus the exact bits of a float, for failure messages."""
    if isinstance(x, float):
        return f"{x!r}({x.hex()})" if math.isfinite(x) else repr(x)
    if isinstance(x, (list, tuple)):
        inner = ", ".join(show(v) for v in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    return repr(x)


def fail(case, where, cy_value, py_value):
    lines = ["compiled core and reference disagree", f"  at:        {where}",
             f"  compiled:  {show(cy_value)}", f"  reference: {show(py_value)}",
             "  case:"]
    lines += [f"    {name} = {show(value)}" for name, value in case.items()]
    raise AssertionError("\n".join(lines))


def check(case, where, cy_value, py_value):
    if type(cy_value) is not type(py_value) or key(cy_value) != key(py_value):
        fail(case, where, cy_value, py_value)


# -- strategies --------------------------------------------------------------------------

SPECIAL = [0.0, -0.0, NAN, INF, -INF, 1.0, -1.0, 0.5, DBL_TRUE_MIN, -DBL_TRUE_MIN,
           2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
           8.98846567431158e307, FLT_MAX, -FLT_MAX,
           # float32 overflow boundary: FLT_MAX + half an ulp rounds to inf,
           # the double just below it rounds to FLT_MAX.
           2.0**128 - 2.0**103, math.nextafter(2.0**128 - 2.0**103, 0.0), 1e39, -1e39,
           FLT_TRUE_MIN, FLT_TRUE_MIN / 2, 7.006492321624087e-46, 1.1754943508222875e-38,
           1e-300, 1e300, 0.1, 1.0 + 2.0**-52, 1.0 - 2.0**-53]

adversarial = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.floats(min_value=-1e-300, max_value=1e-300),  # tiny and subnormal
    st.sampled_from(SPECIAL),
    st.integers(-3, 3).map(float),  # exact ties
    st.floats(-4.0, 4.0, width=32).map(float),
)
alphas = st.one_of(st.none(), st.just(1.0), st.floats(0.0, 1.0, exclude_min=True))
kinds = st.sampled_from(STATS)


# -- RingMonitor -------------------------------------------------------------------------


def ring_state(r):
    return ([key(v) for v in r.values().tolist()], len(r), r.total, r.nonfinite)


def compare_rings(case, where, c, p):
    check(case, f"{where}: (values, len, total, nonfinite)", ring_state(c), ring_state(p))
    for kind in STATS:
        check(case, f"{where}: stat({kind!r})", c.stat(kind), p.stat(kind))


ring_ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), adversarial),
        st.tuples(st.just("extend"), st.lists(adversarial, max_size=70)),
        st.tuples(st.just("push_stat"), adversarial, kinds),
        st.tuples(st.just("clear")),
    ),
    max_size=60,
)


@examples(300)
@given(capacity=st.integers(1, 64), alpha=alphas, ops=ring_ops)
def test_ring_operations(capacity, alpha, ops):
    case = {"capacity": capacity, "alpha": alpha, "ops": ops}
    c, p = CY.RingMonitor(capacity, alpha), PY.RingMonitor(capacity, alpha)
    check(case, "alpha", c.alpha, p.alpha)
    compare_rings(case, "start", c, p)
    for i, op in enumerate(ops):
        where = f"ops[{i}] = {show(op)}"
        if op[0] == "push":
            c.push(op[1])
            p.push(op[1])
        elif op[0] == "extend":
            c.extend(op[1])
            p.extend(op[1])
        elif op[0] == "push_stat":
            check(case, where, c.push_stat(op[1], op[2]), p.push_stat(op[1], op[2]))
        else:
            c.clear()
            p.clear()
        compare_rings(case, where, c, p)


def expand(pool, seed, n):
    """A long stream from a small pool of values: runs, ties and noise."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        r = rng.random()
        if r < 0.3:
            out += [rng.choice(pool)] * rng.randint(1, 50)  # long runs of one value
        elif r < 0.6:
            out += [rng.choice(pool) for _ in range(rng.randint(1, 50))]
        elif r < 0.8:
            out += [rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-320, 308)
                    for _ in range(rng.randint(1, 20))]
        else:
            base = rng.choice(pool)
            out += [base + rng.choice((0.0, 1.0, -1.0)) * abs(base) * 2.0**-52
                    for _ in range(rng.randint(1, 20))]
    return out[:n]


def chunks(values, seed):
    rng = random.Random(seed)
    i = 0
    while i < len(values):
        k = rng.choice((0, 1, 2, 3, 7, 64, 65, 200, 1000))
        yield values[i:i + k]
        i += k


@examples(40)
@given(capacity=st.integers(1, 64), alpha=alphas,
       pool=st.lists(adversarial, min_size=1, max_size=12),
       seed=st.integers(0, 2**32 - 1), n=st.integers(1000, 4000))
def test_ring_long_streams_push_vs_extend(capacity, alpha, pool, seed, n):
    """Push one by one and extend in chunks, on both implementations."""
    stream = expand(pool, seed, n)
    case = {"capacity": capacity, "alpha": alpha, "pool": pool, "seed": seed, "n": n,
            "stream": stream}
    c_push, p_push = CY.RingMonitor(capacity, alpha), PY.RingMonitor(capacity, alpha)
    c_ext, p_ext = CY.RingMonitor(capacity, alpha), PY.RingMonitor(capacity, alpha)
    done = 0
    for chunk in chunks(stream, seed):
        for x in chunk:
            c_push.push(x)
            p_push.push(x)
        c_ext.extend(chunk)
        p_ext.extend(np.array(chunk, dtype=np.float64))
        done += len(chunk)
        where = f"after {done} values"
        compare_rings(case, f"{where}, compiled push vs reference push", c_push, p_push)
        compare_rings(case, f"{where}, compiled push vs compiled extend", c_push, c_ext)
        compare_rings(case, f"{where}, reference push vs reference extend", p_push, p_ext)


@examples(150)
@given(capacity=st.integers(1, 64), values=st.lists(adversarial, max_size=200), kind=kinds)
def test_ring_push_stat_every_value(capacity, values, kind):
    case = {"capacity": capacity, "kind": kind, "values": values}
    c, p = CY.RingMonitor(capacity), PY.RingMonitor(capacity)
    for i, x in enumerate(values):
        check(case, f"push_stat(values[{i}], {kind!r})", c.push_stat(x, kind),
              p.push_stat(x, kind))


@examples(100)
@given(capacity=st.integers(1, 9),
       values=st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, INF, -INF, DBL_TRUE_MIN,
                                        -DBL_TRUE_MIN]), max_size=60))
def test_ring_signed_zeros_and_ties(capacity, values):
    case = {"capacity": capacity, "values": values}
    c, p = CY.RingMonitor(capacity), PY.RingMonitor(capacity)
    for i, x in enumerate(values):
        c.push(x)
        p.push(x)
        compare_rings(case, f"after values[{i}]", c, p)


# -- BestTracker --------------------------------------------------------------------------

deltas = st.one_of(st.just(0.0), st.sampled_from([0.1, 1e-3, 2.0**-24, 2.0**-25, 1e-9, 0.5,
                                                   -0.1, 1e-45, 1e300, INF, NAN]),
                   st.floats(0.0, 10.0), st.floats(allow_nan=True, allow_infinity=True))
tracker_configs = st.fixed_dictionaries({
    "mode": st.sampled_from(["min", "max"]),
    "min_delta": deltas,
    "patience": st.one_of(st.integers(0, 1), st.integers(0, 5)),
    "baseline": st.one_of(st.none(), adversarial),
    "start_from": st.integers(0, 4),
    "cooldown": st.integers(0, 4),
    "threshold_mode": st.sampled_from(["abs", "rel"]),
    "on_patience": st.sampled_from(["stop", "reduce"]),
    "float32": st.booleans(),
})

# A move is a literal value or a value built from the tracker's current best
# (or baseline) at run time: exactly at best +- k * min_delta, then possibly
# moved to a float32-rounded neighbour or the next float64.
NUDGES = ("none", "f32", "f32_up", "f32_down", "up", "down")
moves = st.one_of(
    st.tuples(st.just("value"), adversarial),
    st.tuples(st.sampled_from(["best", "baseline"]), st.sampled_from([-2, -1, 0, 1, 2]),
              st.sampled_from(NUDGES)),
)


def resolve(move, tracker, cfg):
    if move[0] == "value":
        return move[1]
    kind, k, nudge = move
    ref = tracker.best if kind == "best" else tracker.baseline
    if ref is None:
        ref = 1.0
    delta = tracker.min_delta
    if cfg["threshold_mode"] == "rel":
        delta = delta * abs(ref)
    v = ref + k * delta
    if nudge == "f32":
        v = f32(v)
    elif nudge == "f32_up":
        v = f32_step(v, True)
    elif nudge == "f32_down":
        v = f32_step(v, False)
    elif nudge == "up":
        v = math.nextafter(v, INF)
    elif nudge == "down":
        v = math.nextafter(v, -INF)
    return v


def tracker_state(t):
    return (t.best, t.best_step, t.wait, t.cooldown_counter)


def drive(cfg, stream, first_step=0):
    """Runs both trackers over `stream`; returns the number of updates checked.

    A stream item is a move (see `moves`), optionally paired with how far
    the step advances before it (default 1; 0 repeats a step) or with the
    step itself, or one of the other calls a caller can make: reset(),
    start_cooldown() or a setter.
    """
    c, p = CY.BestTracker(**cfg), PY.BestTracker(**cfg)
    case = {"config": cfg, "first_step": first_step, "stream": stream}
    for name in ("mode", "min_delta", "patience", "baseline", "start_from", "cooldown",
                 "threshold_mode", "on_patience", "float32"):
        check(case, name, getattr(c, name), getattr(p, name))
    resolved = []
    case["resolved values"] = resolved
    step = first_step - 1
    updates = 0
    for i, item in enumerate(stream):
        where = f"stream[{i}] = {show(item)}"
        if item[0] == "call":
            getattr(c, item[1])()
            getattr(p, item[1])()
        elif item[0] == "set":
            setattr(c, item[1], item[2])
            setattr(p, item[1], item[2])
        else:
            if item[0] == "advance":
                step, move = step + item[1], item[2]
            elif item[0] == "at":  # any step, even an earlier one
                step, move = item[1], item[2]
            else:
                step, move = step + 1, item
            x = resolve(move, p, cfg)
            resolved.append(x)
            where += f": update({show(x)}, step={step})"
            if p.best is not None:
                check(case, f"{where}: is_better(value, best)", c.is_better(x, c.best),
                      p.is_better(x, p.best))
            a_c, a_p = c.update(x, step), p.update(x, step)
            updates += 1
            check(case, f"{where}: action", a_c, a_p)
            if a_c == CY.REDUCE:
                c.start_cooldown()
                p.start_cooldown()
        check(case, f"{where}: (best, best_step, wait, cooldown_counter)",
              tracker_state(c), tracker_state(p))
    return updates


other_calls = st.one_of(
    st.tuples(st.just("call"), st.sampled_from(["reset", "start_cooldown"])),
    st.tuples(st.just("set"), st.just("best"), st.one_of(st.none(), adversarial)),
    st.tuples(st.just("set"), st.sampled_from(["wait", "cooldown_counter"]),
              st.integers(0, 6)),
    st.tuples(st.just("set"), st.just("best_step"), st.integers(-1, 6)),
)
stream_items = st.one_of(
    moves, moves, moves,
    st.tuples(st.just("advance"), st.sampled_from([0, 0, 1, 2, 3]), moves),
    other_calls,
)


@examples(600)
@given(cfg=tracker_configs, first_step=st.one_of(st.just(0), st.integers(-2, 3)),
       stream=st.lists(stream_items, min_size=8, max_size=60))
def test_tracker_streams(cfg, first_step, stream):
    drive(cfg, stream, first_step)


@examples(200)
@given(cfg=tracker_configs,
       stream=st.lists(st.tuples(st.just("at"), st.integers(-1, 2), moves), min_size=2,
                       max_size=12))
def test_tracker_any_steps(cfg, stream):
    """Repeated, out-of-order and negative steps (STOP is never at step <= 0)."""
    drive(cfg, stream)


@examples(30)
@given(cfg=tracker_configs, pool=st.lists(adversarial, min_size=1, max_size=8),
       seed=st.integers(0, 2**32 - 1), n=st.integers(1000, 3000))
def test_tracker_long_streams(cfg, pool, seed, n):
    rng = random.Random(seed)
    stream = []
    for x in expand(pool, seed, n):
        r = rng.random()
        if r < 0.5:
            stream.append(("value", x))
        else:
            stream.append((rng.choice(["best", "best", "baseline"]), rng.randint(-2, 2),
                           rng.choice(NUDGES)))
    assert drive(cfg, stream) == n


@examples(200)
@given(cfg=tracker_configs, a=adversarial, b=adversarial)
def test_tracker_is_better(cfg, a, b):
    c, p = CY.BestTracker(**cfg), PY.BestTracker(**cfg)
    case = {"config": cfg, "a": a, "b": b}
    for x, y in ((a, b), (b, a), (a, a), (a, f32(a)), (f32_step(a, True), a),
                 (f32_step(a, False), a)):
        check(case, f"is_better({show(x)}, {show(y)})", c.is_better(x, y), p.is_better(x, y))


# -- WeightSnapshot -----------------------------------------------------------------------


@examples(100)
@given(max_sets=st.integers(1, 3),
       ops=st.lists(st.tuples(st.sampled_from([(2,), (3,), (2, 2), ()]),
                              st.sampled_from(["f4", "f8"]),
                              st.integers(0, 2),
                              st.sampled_from(["drop", "hold", "hold_array", "hold_view",
                                               "release"])),
                    max_size=25))
def test_snapshot_allocations(max_sets, ops):
    """Same buffer reuse (allocations) on both sides; held copies never change."""
    case = {"max_sets": max_sets, "ops": ops}
    snaps = {"cy": CY.WeightSnapshot(max_sets), "py": PY.WeightSnapshot(max_sets)}
    held = {"cy": [], "py": []}  # (arrays the caller holds, their values)
    for i, (shape, dtype, count, what) in enumerate(ops):
        arrays = [np.full(shape, i + 10 * j, dtype) for j in range(count)]
        for side, snap in snaps.items():
            if what == "release":
                held[side].clear()
            # In a function: a local left over here would hold a buffer and
            # change what the next capture may reuse.
            capture_and_hold(case, snap, arrays, what, i, held[side])
        check(case, f"ops[{i}]: allocations", snaps["cy"].allocations,
              snaps["py"].allocations)
        for side in snaps:
            check_held(case, f"ops[{i}]: {side}", held[side])


def capture_and_hold(case, snap, arrays, what, i, held):
    out = snap.capture(arrays)
    assert [a.tobytes() for a in out] == [a.tobytes() for a in arrays], case
    assert [a.shape for a in out] == [a.shape for a in arrays], case
    assert [a.dtype for a in out] == [a.dtype for a in arrays], case
    count = len(arrays)
    if what == "hold":  # the list itself
        held.append((out, [i + 10 * j for j in range(count)]))
    elif what == "hold_array" and count:  # one array of it
        held.append(([out[-1]], [i + 10 * (count - 1)]))
    elif what == "hold_view" and count:  # a view of one array
        held.append(([out[0].reshape(-1)[:1]], [i]))


def check_held(case, where, held):
    for arrays, values in held:
        for a, value in zip(arrays, values):
            if not (a == value).all():
                fail(case, f"{where}: a held copy changed", a.tolist(), value)
