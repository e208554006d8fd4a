"""Unit tests of BestTracker, on the compiled core and on the reference."""

import math

import numpy as np
import pytest


NAN = math.nan
INF = math.inf


def run(t, values, first_step=0):
    """Feed `values` at consecutive steps; return [(action, wait), ...]."""
    out = []
    for i, v in enumerate(values):
        out.append((t.update(v, first_step + i), t.wait))
    return out


def actions(t, values, first_step=0):
    return [a for a, _ in run(t, values, first_step)]


def run_reduce(t, values):
    """ReduceLROnPlateau driving: start_cooldown() after every REDUCE."""
    out = []
    for step, v in enumerate(values):
        a = t.update(v, step)
        if a == 5:  # REDUCE, checked against the namespace below
            t.start_cooldown()
        out.append(a)
    return out


# -- constants and construction ------------------------------------------------------


def test_action_codes(impl):
    codes = (impl.SKIP, impl.IMPROVED, impl.WAIT, impl.COOLDOWN, impl.STOP, impl.REDUCE)
    assert codes == (0, 1, 2, 3, 4, 5)
    assert all(type(c) is int for c in codes)


def test_defaults(impl):
    t = impl.BestTracker()
    assert t.mode == "min"
    assert t.min_delta == 0.0
    assert t.patience == 0 and t.cooldown == 0 and t.start_from == 0
    assert t.baseline is None and t.best is None and t.best_step == -1
    assert t.wait == 0 and t.cooldown_counter == 0
    assert t.threshold_mode == "abs" and t.on_patience == "stop"
    assert t.float32 is True
    assert "mode='min'" in repr(t) and "best=None" in repr(t)


def test_constructor_arguments_are_stored(impl):
    t = impl.BestTracker(mode="max", min_delta=-0.25, patience=np.int64(3), baseline=2,
                         start_from=4, cooldown=5, threshold_mode="rel",
                         on_patience="reduce", float32=0)
    assert t.mode == "max"
    assert t.min_delta == 0.25  # the sign is ignored
    assert t.patience == 3 and type(t.patience) is int
    assert t.baseline == 2.0 and type(t.baseline) is float
    assert t.start_from == 4 and t.cooldown == 5
    assert t.threshold_mode == "rel" and t.on_patience == "reduce"
    assert t.float32 is False


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"mode": "auto"}, ValueError, "`mode`"),
    ({"mode": None}, ValueError, "`mode`"),
    ({"threshold_mode": "absolute"}, ValueError, "`threshold_mode`"),
    ({"on_patience": "halt"}, ValueError, "`on_patience`"),
    ({"patience": -1}, ValueError, "`patience` must be >= 0"),
    ({"patience": 1.5}, TypeError, "`patience` must be an int"),
    ({"patience": "2"}, TypeError, "`patience` must be an int"),
    ({"patience": None}, TypeError, "`patience` must be an int"),
    ({"cooldown": -2}, ValueError, "`cooldown` must be >= 0"),
    ({"cooldown": 0.5}, TypeError, "`cooldown` must be an int"),
    ({"start_from": -1}, ValueError, "`start_from` must be >= 0"),
    ({"start_from": [1]}, TypeError, "`start_from` must be an int"),
])
def test_invalid_arguments(impl, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        impl.BestTracker(**kwargs)


INT64_MAX = 2**63 - 1


@pytest.mark.parametrize("name", ["patience", "cooldown", "start_from"])
@pytest.mark.parametrize("value", [2**63, 2**80, np.uint64(2**63)])
def test_counts_beyond_int64_raise_overflow_error_naming_the_argument(impl, name, value):
    # The compiled core stores int64; the reference must refuse the same.
    with pytest.raises(OverflowError, match=f"`{name}`"):
        impl.BestTracker(**{name: value})
    t = impl.BestTracker()
    if name != "start_from":
        with pytest.raises(OverflowError, match=f"`{name}`"):
            setattr(t, name, value)
        assert getattr(t, name) == 0


@pytest.mark.parametrize("name", ["wait", "cooldown_counter", "best_step"])
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**80])
def test_counters_beyond_int64_raise_overflow_error(impl, name, value):
    t = impl.BestTracker()
    with pytest.raises(OverflowError, match=f"`{name}`"):
        setattr(t, name, value)
    setattr(t, name, INT64_MAX)
    assert getattr(t, name) == INT64_MAX
    setattr(t, name, -(2**63))
    assert getattr(t, name) == -(2**63)


@pytest.mark.parametrize("step", [2**63, -(2**63) - 1, 2**100])
def test_update_step_beyond_int64_raises_overflow_error(impl, step):
    t = impl.BestTracker()
    with pytest.raises(OverflowError, match="`step`"):
        t.update(1.0, step)
    assert t.best is None and t.wait == 0
    assert t.update(1.0, INT64_MAX) == impl.IMPROVED


def test_counts_at_the_int64_limit_work(impl):
    t = impl.BestTracker(patience=INT64_MAX, cooldown=INT64_MAX, start_from=0)
    assert actions(t, [1.0, 1.0, 1.0]) == [impl.IMPROVED, impl.WAIT, impl.WAIT]
    assert t.patience == INT64_MAX and type(t.patience) is int


@pytest.mark.parametrize("on_patience, last", [("stop", 4), ("reduce", 5)])
def test_wait_saturates_at_the_int64_limit(impl, on_patience, last):
    # `wait` assigned at the limit: the next increments stay there (the
    # compiled core must not overflow a signed int64).
    t = impl.BestTracker(patience=INT64_MAX, on_patience=on_patience, baseline=0.0)
    t.update(1.0, 0)
    t.wait = INT64_MAX
    assert t.update(2.0, 1) == last and t.wait == INT64_MAX
    assert t.update(0.5, 2) == impl.IMPROVED and t.wait == INT64_MAX  # baseline not beaten
    t.wait = INT64_MAX - 1
    assert t.update(3.0, 3) == last and t.wait == INT64_MAX


def test_integral_floats_are_accepted_as_counts(impl):
    t = impl.BestTracker(patience=2.0, cooldown=np.float64(1.0), start_from=np.int32(3))
    assert (t.patience, t.cooldown, t.start_from) == (2, 1, 3)
    assert type(t.patience) is int


# -- is_better ----------------------------------------------------------------------


def test_is_better_abs(impl):
    t = impl.BestTracker("min", min_delta=0.5, float32=False)
    assert t.is_better(0.4, 1.0)
    assert not t.is_better(0.5, 1.0)  # value + min_delta must be strictly below
    assert not t.is_better(1.0, 1.0)
    t = impl.BestTracker("max", min_delta=0.5, float32=False)
    assert t.is_better(1.6, 1.0)
    assert not t.is_better(1.5, 1.0)
    assert not t.is_better(NAN, 1.0) and not t.is_better(1.0, NAN)
    assert t.is_better(INF, 1.0) and not t.is_better(INF, INF)
    assert type(t.is_better(2.0, 1.0)) is bool


def test_is_better_rel(impl):
    t = impl.BestTracker("min", min_delta=0.1, threshold_mode="rel", float32=False)
    assert t.is_better(8.9, 10.0)  # 8.9 + 1.0 < 10
    assert not t.is_better(9.5, 10.0)
    assert t.is_better(-11.5, -10.0)  # |reference| scales the delta
    assert not t.is_better(-10.5, -10.0)
    # An infinite reference or a zero delta gives a zero delta.
    assert t.is_better(1e300, INF)
    assert not t.is_better(INF, INF)
    t = impl.BestTracker("max", min_delta=0.1, threshold_mode="rel", float32=False)
    assert t.is_better(11.5, 10.0)
    assert not t.is_better(10.5, 10.0)
    assert t.is_better(-8.5, -10.0) and not t.is_better(-9.5, -10.0)
    assert t.is_better(1e300, -INF)


def test_is_better_accepts_what_float_accepts(impl):
    t = impl.BestTracker(float32=False)
    assert t.is_better("0.5", np.float32(1.0))
    assert not t.is_better(np.int64(2), "1")
    with pytest.raises((TypeError, ValueError)):
        t.is_better(None, 1.0)


# -- every update path ------------------------------------------------------------------


def test_skip_before_start_from(impl):
    t = impl.BestTracker(start_from=2, patience=1)
    assert actions(t, [5.0, 4.0, 3.0, 3.5]) == [impl.SKIP, impl.SKIP, impl.IMPROVED, impl.STOP]
    assert t.best == 3.0 and t.best_step == 2
    # Skipped updates leave no trace at all.
    t = impl.BestTracker(start_from=10)
    assert t.update(1.0, 9) == impl.SKIP
    assert t.best is None and t.best_step == -1 and t.wait == 0


def test_first_value_improves_and_sets_best(impl):
    t = impl.BestTracker()
    assert t.update(3.0, 7) == impl.IMPROVED
    assert t.best == 3.0 and t.best_step == 7 and t.wait == 0
    assert type(t.best) is float


def test_nan_first_value_becomes_best_then_nothing_improves(impl):
    for mode in ("min", "max"):
        t = impl.BestTracker(mode, patience=3)
        assert t.update(NAN, 0) == impl.IMPROVED
        assert math.isnan(t.best) and t.best_step == 0
        assert run(t, [-INF, 0.0, INF], 1) == [(impl.WAIT, 1), (impl.WAIT, 2), (impl.STOP, 3)]
        assert math.isnan(t.best) and t.best_step == 0


def test_nan_after_best_never_improves(impl):
    t = impl.BestTracker(patience=1)
    assert actions(t, [1.0, NAN]) == [impl.IMPROVED, impl.STOP]
    assert t.best == 1.0


def test_infinite_values(impl):
    t = impl.BestTracker("min", patience=5, float32=False)
    assert actions(t, [INF, 1e300, -1e300, -INF, -INF]) == [
        impl.IMPROVED, impl.IMPROVED, impl.IMPROVED, impl.IMPROVED, impl.WAIT]
    assert t.best == -INF and t.best_step == 3


def test_wait_then_stop(impl):
    t = impl.BestTracker(patience=2)
    assert run(t, [1.0, 1.5, 0.5, 0.7, 0.6, 0.6]) == [
        (impl.IMPROVED, 0), (impl.WAIT, 1), (impl.IMPROVED, 0),
        (impl.WAIT, 1), (impl.STOP, 2), (impl.STOP, 3)]


def test_stop_never_at_step_zero(impl):
    t = impl.BestTracker(patience=0)
    t.best = 0.5  # e.g. restored state
    assert t.update(1.0, 0) == impl.WAIT
    assert t.wait == 1
    assert t.update(1.0, 1) == impl.STOP


def test_reduce_is_returned_at_step_zero(impl):
    t = impl.BestTracker(patience=0, on_patience="reduce")
    t.best = 0.5
    assert t.update(1.0, 0) == impl.REDUCE


def test_cooldown_path(impl):
    t = impl.BestTracker(patience=1, cooldown=2, on_patience="reduce")
    assert t.update(1.0, 0) == impl.IMPROVED
    assert t.update(1.0, 1) == impl.REDUCE
    assert t.wait == 1
    t.start_cooldown()
    assert t.cooldown_counter == 2 and t.wait == 0
    assert t.update(1.0, 2) == impl.COOLDOWN
    assert t.cooldown_counter == 1 and t.wait == 0
    # An improvement during cooldown still counts, and uses up a cooldown step.
    assert t.update(0.5, 3) == impl.IMPROVED
    assert t.cooldown_counter == 0 and t.wait == 0 and t.best == 0.5
    assert t.update(0.5, 4) == impl.REDUCE


def test_start_cooldown_without_cooldown_only_restarts_patience(impl):
    t = impl.BestTracker(patience=3, cooldown=0)
    run(t, [1.0, 2.0, 2.0])
    assert t.wait == 2
    t.start_cooldown()
    assert t.wait == 0 and t.cooldown_counter == 0
    assert t.update(2.0, 3) == impl.WAIT


def test_cooldown_also_applies_in_stop_mode(impl):
    t = impl.BestTracker(patience=0, cooldown=2)
    t.update(1.0, 0)
    t.start_cooldown()
    assert run(t, [1.0, 1.0], 1) == [(impl.COOLDOWN, 0), (impl.STOP, 1)]
    # cooldown=1 is used up by the update that follows start_cooldown().
    t = impl.BestTracker(patience=0, cooldown=1)
    t.update(1.0, 0)
    t.start_cooldown()
    assert run(t, [1.0], 1) == [(impl.STOP, 1)]


def test_reset(impl):
    t = impl.BestTracker(patience=1, cooldown=3, on_patience="reduce")
    run_reduce(t, [1.0, 1.0])
    assert t.cooldown_counter == 3
    t.reset()
    assert t.best is None and t.best_step == -1 and t.wait == 0 and t.cooldown_counter == 0
    # Settings survive a reset.
    assert t.patience == 1 and t.cooldown == 3 and t.on_patience == "reduce"
    assert t.update(9.0, 5) == impl.IMPROVED and t.best == 9.0 and t.best_step == 5


def test_update_accepts_what_float_and_int_accept(impl):
    t = impl.BestTracker(patience=5)
    assert t.update(np.float32(2.0), np.int64(0)) == impl.IMPROVED
    assert t.update("1.5", 1.0) == impl.IMPROVED
    assert t.best == 1.5 and t.best_step == 1 and type(t.best_step) is int
    assert t.update(np.array(1.0), True) == impl.IMPROVED
    with pytest.raises((TypeError, ValueError)):
        t.update(None, 3)
    with pytest.raises((TypeError, ValueError)):
        t.update(1.0, "three")
    assert t.best == 1.0 and t.wait == 0


# -- Keras EarlyStopping traces (mode min, one update per epoch) -------------------------


def test_es_patience0_equal_values(impl):
    t = impl.BestTracker(patience=0)
    assert actions(t, [1.0, 1.0]) == [impl.IMPROVED, impl.STOP]


def test_es_patience1(impl):
    t = impl.BestTracker(patience=1)
    assert run(t, [1.0, 0.9, 0.95]) == [(impl.IMPROVED, 0), (impl.IMPROVED, 0), (impl.STOP, 1)]
    assert t.best == 0.9 and t.best_step == 1


def test_es_min_delta(impl):
    t = impl.BestTracker(patience=0, min_delta=0.1)
    assert actions(t, [1.0, 0.95]) == [impl.IMPROVED, impl.STOP]
    assert t.best == 1.0


def test_es_baseline_not_beaten(impl):
    t = impl.BestTracker(patience=2, baseline=0.5)
    trace = run(t, [1.0, 0.9, 0.8, 0.7, 0.75])
    assert [w for _, w in trace] == [1, 2, 3, 4, 5]
    assert [a for a, _ in trace] == [impl.IMPROVED] * 4 + [impl.STOP]
    assert t.best == 0.7 and t.best_step == 3


def test_es_baseline_beaten(impl):
    t = impl.BestTracker(patience=1, baseline=0.5)
    assert run(t, [0.4, 0.45]) == [(impl.IMPROVED, 0), (impl.STOP, 1)]


def test_es_baseline_beaten_later_restarts_patience(impl):
    t = impl.BestTracker(patience=3, baseline=0.5)
    assert run(t, [1.0, 0.9, 0.4, 0.45]) == [
        (impl.IMPROVED, 1), (impl.IMPROVED, 2), (impl.IMPROVED, 0), (impl.WAIT, 1)]


def test_es_max_mode_min_delta(impl):
    t = impl.BestTracker("max", min_delta=0.01, patience=5)
    assert actions(t, [0.5, 0.505]) == [impl.IMPROVED, impl.WAIT]
    assert t.best == 0.5
    assert t.update(0.52, 2) == impl.IMPROVED and t.best == 0.52


# -- ReduceLROnPlateau traces -----------------------------------------------------------


def test_rlrop_constant_patience2(impl):
    t = impl.BestTracker(patience=2, on_patience="reduce")
    assert impl.REDUCE == 5
    got = run_reduce(t, [1.0] * 6)
    assert got == [impl.IMPROVED, impl.WAIT, impl.REDUCE, impl.WAIT, impl.REDUCE, impl.WAIT]


def test_rlrop_cooldown(impl):
    t = impl.BestTracker(patience=1, cooldown=2, on_patience="reduce")
    got = run_reduce(t, [1.0] * 9)
    assert got == [impl.IMPROVED, impl.REDUCE, impl.COOLDOWN, impl.REDUCE, impl.COOLDOWN,
                   impl.REDUCE, impl.COOLDOWN, impl.REDUCE, impl.COOLDOWN]
    assert [i for i, a in enumerate(got) if a == impl.REDUCE] == [1, 3, 5, 7]


def test_rlrop_without_start_cooldown_keeps_reducing(impl):
    # The caller decides whether a reduction happened (e.g. not at min_lr).
    t = impl.BestTracker(patience=1, cooldown=2, on_patience="reduce")
    assert actions(t, [1.0, 1.0, 1.0]) == [impl.IMPROVED, impl.REDUCE, impl.REDUCE]
    assert t.wait == 2


# -- float32 comparison -------------------------------------------------------------------


def test_float32_rounds_before_comparing(impl):
    t32 = impl.BestTracker(patience=5, float32=True)
    t64 = impl.BestTracker(patience=5, float32=False)
    for t in (t32, t64):
        assert t.update(1.0 + 1e-9, 0) == impl.IMPROVED
    assert t32.update(1.0, 1) == impl.WAIT  # both round to float32 1.0
    assert t32.best == 1.0 + 1e-9  # the stored best is not rounded
    assert t64.update(1.0, 1) == impl.IMPROVED
    assert not t32.is_better(1.0, 1.0 + 1e-9)
    assert t64.is_better(1.0, 1.0 + 1e-9)


def test_float32_min_delta_is_added_before_rounding(impl):
    # float32 spacing below 1.0 is 2**-24. value + min_delta is computed in
    # float64 and only then rounded (Keras: float32(value - (-min_delta))).
    t32 = impl.BestTracker(min_delta=2.0**-25, float32=True)
    t64 = impl.BestTracker(min_delta=2.0**-25, float32=False)
    v = 1.0 - 3 * 2.0**-26  # float32(v) == 1 - 2**-24 < 1
    assert impl.BestTracker(float32=True).is_better(v, 1.0)
    # v + 2**-25 == 1 - 2**-26: float32 rounds it to 1.0, float64 keeps it below.
    assert t64.is_better(v, 1.0)
    assert not t32.is_better(v, 1.0)
    v = 1.0 - 2.0**-23  # v + 2**-25 == 1 - 3 * 2**-25 stays below 1.0 in float32
    assert t64.is_better(v, 1.0) and t32.is_better(v, 1.0)


def test_float32_out_of_range_values_are_infinite(impl):
    t32 = impl.BestTracker(patience=5, float32=True)
    t64 = impl.BestTracker(patience=5, float32=False)
    for t in (t32, t64):
        assert t.update(1e39, 0) == impl.IMPROVED
    assert t32.update(5e38, 1) == impl.WAIT  # inf < inf is False
    assert t64.update(5e38, 1) == impl.IMPROVED
    assert t32.update(3e38, 2) == impl.IMPROVED  # finite in float32
    assert t32.best == 3e38
    assert t32.is_better(-1e39, -1e300) is False  # -inf vs -inf
    assert t32.is_better(-1e39, 1e300) is True
    assert t32.is_better(1e300, 1e308) is False
    assert t32.is_better(1e-50, 1e-46) is False  # both underflow to 0.0
    tmax = impl.BestTracker("max", float32=True)
    assert tmax.is_better(1e39, 3e38) and not tmax.is_better(1e39, 1e40)


# -- properties ----------------------------------------------------------------------------


def test_best_setter(impl):
    t = impl.BestTracker(patience=3)
    t.update(1.0, 0)
    t.best = None
    assert t.best is None
    assert t.update(5.0, 1) == impl.IMPROVED and t.best == 5.0  # first value again
    t.best = np.float32(0.5)
    assert t.best == 0.5 and type(t.best) is float
    assert t.update(1.0, 2) == impl.WAIT
    t.best = "0.25"
    assert t.best == 0.25


def test_baseline_setter(impl):
    t = impl.BestTracker(patience=3, baseline=0.5)
    t.baseline = None
    assert t.baseline is None
    assert run(t, [1.0]) == [(impl.IMPROVED, 0)]
    t.baseline = 0.1
    assert t.baseline == 0.1
    assert run(t, [0.9], 1) == [(impl.IMPROVED, 1)]


def test_counter_setters(impl):
    t = impl.BestTracker(patience=3, on_patience="reduce", cooldown=4)
    t.update(1.0, 0)
    t.wait = 2
    assert t.wait == 2
    assert t.update(1.0, 1) == impl.REDUCE and t.wait == 3
    t.wait = np.int64(0)
    assert t.wait == 0 and type(t.wait) is int
    t.cooldown_counter = 1
    assert t.cooldown_counter == 1
    assert t.update(1.0, 2) == impl.WAIT  # the last cooldown step was used up first
    assert t.cooldown_counter == 0 and t.wait == 1
    t.cooldown_counter = 2.0
    assert t.cooldown_counter == 2 and type(t.cooldown_counter) is int
    assert t.update(1.0, 3) == impl.COOLDOWN
    t.best_step = 17
    assert t.best_step == 17
    t.best_step = np.int32(3)
    assert t.best_step == 3 and type(t.best_step) is int


def test_patience_and_cooldown_setters_validate(impl):
    t = impl.BestTracker()
    t.patience = 4
    t.cooldown = 2
    assert t.patience == 4 and t.cooldown == 2
    with pytest.raises(ValueError, match="`patience` must be >= 0"):
        t.patience = -1
    with pytest.raises(TypeError, match="`patience` must be an int"):
        t.patience = 2.5
    with pytest.raises(ValueError, match="`cooldown` must be >= 0"):
        t.cooldown = -3
    with pytest.raises(TypeError, match="`cooldown` must be an int"):
        t.cooldown = "x"
    assert t.patience == 4 and t.cooldown == 2  # unchanged by failed sets


def test_mode_setter(impl):
    t = impl.BestTracker("min", float32=False)
    t.mode = "max"
    assert t.mode == "max" and t.is_better(2.0, 1.0)
    with pytest.raises(ValueError, match="`mode`"):
        t.mode = "auto"
    assert t.mode == "max"


def test_min_delta_setter_is_signed(impl):
    t = impl.BestTracker(float32=False)
    t.min_delta = 0.5
    assert t.min_delta == 0.5
    assert not t.is_better(0.6, 1.0) and t.is_better(0.4, 1.0)
    # A negative delta loosens the threshold (Keras's signed min_delta).
    t.min_delta = -0.5
    assert t.min_delta == -0.5
    assert t.is_better(1.4, 1.0) and not t.is_better(1.6, 1.0)


def test_constructor_takes_the_magnitude_of_min_delta(impl):
    assert impl.BestTracker(min_delta=-0.5).min_delta == 0.5


def test_float32_setter(impl):
    t = impl.BestTracker()
    assert t.float32 and not t.is_better(1.0, 1.0 + 1e-9)
    t.float32 = False
    assert not t.float32 and t.is_better(1.0, 1.0 + 1e-9)


@pytest.mark.parametrize("name", ["threshold_mode", "on_patience", "start_from"])
def test_read_only_properties(impl, name):
    t = impl.BestTracker()
    before = getattr(t, name)
    with pytest.raises(AttributeError):
        setattr(t, name, before)
    assert getattr(t, name) == before
