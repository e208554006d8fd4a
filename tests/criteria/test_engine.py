"""The compiled CriteriaEngine and its pure-Python twin: the same API, and
bit-identical decisions and state on random streams."""

import pickle

import numpy as np
import pytest

from fastcallbacks._core import criteria as compiled
from fastcallbacks._reference import criteria as reference

import formulas as F

SPECS = [
    ("gl", 0, -1, "min", 0, 0, 1.0, 0.0, 0, None, ()),
    ("pq", 0, 1, "min", 3, 0, 0.5, 0.0, 0, None, ()),
    ("up", 0, -1, "min", 2, 2, 0.0, 0.0, 0, None, ()),
    ("patience", 0, -1, "min", 0, 0, 0.0, 0.01, 3, None, ()),
    ("threshold", 1, -1, "max", 0, 0, 5.0, 0.0, 0, None, ()),
    ("divergence", 0, -1, "min", 0, 0, 10.0, 0.0, 0, None, ()),
    ("nonfinite", 1, -1, "min", 0, 0, 0.0, 0.0, 0, None, ()),
    ("timelimit", -1, -1, "min", 0, 0, 100.0, 0.0, 0, None, ()),
    ("all", -1, -1, "min", 0, 0, 0.0, 0.0, 0, None, (0, 1)),
    ("any", -1, -1, "min", 0, 0, 0.0, 0.0, 0, None, (8, 2, 3, 4, 5, 6, 7)),
]
BEST = (0, "min", 0.0)


def feed(engine, va, tr, elapsed=None):
    out = []
    for i, (a, b) in enumerate(zip(va, tr)):
        out.append(engine.update([a, b], i, 0.0 if elapsed is None else elapsed[i]))
        out.append(tuple(engine.holds()))
    return out


def test_twins_are_bit_identical_on_random_streams():
    rng = np.random.default_rng(3)
    for _ in range(150):
        n = int(rng.integers(1, 40))
        va, tr = F.random_stream(rng, n), F.random_stream(rng, n)
        elapsed = np.sort(rng.random(n) * 200)
        a = compiled.CriteriaEngine(SPECS, 2, BEST)
        b = reference.CriteriaEngine(SPECS, 2, BEST)
        assert feed(a, va, tr, elapsed) == feed(b, va, tr, elapsed)
        sa, sb = a.get_state(), b.get_state()
        assert sa["t"] == sb["t"] == n
        np.testing.assert_array_equal(sa["floats"], sb["floats"])
        np.testing.assert_array_equal(sa["ints"], sb["ints"])
        assert (a.best is None and b.best is None) or a.best == b.best or (
            a.best != a.best and b.best != b.best)


def test_state_round_trip_continues_identically(engine_module):
    rng = np.random.default_rng(4)
    va, tr = F.random_stream(rng, 30), F.random_stream(rng, 30)
    whole = engine_module.CriteriaEngine(SPECS, 2, BEST)
    expected = feed(whole, va, tr)
    first = engine_module.CriteriaEngine(SPECS, 2, BEST)
    got = feed(first, va[:13], tr[:13])
    state = first.get_state()
    # Across implementations too: the state layout is shared.
    other = (reference if engine_module is compiled else compiled).CriteriaEngine(SPECS, 2, BEST)
    other.set_state(state)
    rest = []
    for i in range(13, 30):
        rest.append(other.update([va[i], tr[i]], i, 0.0))
        rest.append(tuple(other.holds()))
    assert got + rest == expected
    clone = pickle.loads(pickle.dumps(first))
    assert clone.get_state()["t"] == 13
    first.reset()
    assert first.t == 0 and first.best is None


def test_reason_is_the_first_holding_member_of_any(engine_module):
    specs = [("threshold", 0, -1, "min", 0, 0, 5.0, 0.0, 0, None, ()),
             ("threshold", 0, -1, "min", 0, 0, 3.0, 0.0, 0, None, ()),
             ("any", -1, -1, "min", 0, 0, 0.0, 0.0, 0, None, (1, 0))]
    e = engine_module.CriteriaEngine(specs, 1)
    assert e.update([4.0], 0) == (0, False)   # only node 0 holds
    assert e.update([2.0], 1) == (1, False)   # both: the first listed child
    assert e.update([9.0], 2) == (-1, False)


def test_time_limit_and_empty_all(engine_module):
    e = engine_module.CriteriaEngine([("timelimit", -1, -1, "min", 0, 0, 2.0, 0, 0, None, ())], 0)
    assert e.update([], 0, 1.999)[0] == -1
    assert e.update([], 1, 2.0)[0] == 0


@pytest.mark.parametrize("spec, match", [
    (("gl", 5, -1, "min", 0, 0, 1.0, 0.0, 0, None, ()), "slot"),
    (("pq", 0, -1, "min", 3, 0, 1.0, 0.0, 0, None, ()), "slot2"),
    (("pq", 0, 0, "min", 0, 0, 1.0, 0.0, 0, None, ()), "strip"),
    (("up", 0, -1, "min", 2, 0, 1.0, 0.0, 0, None, ()), "`s`"),
    (("any", -1, -1, "min", 0, 0, 0.0, 0.0, 0, None, (0,)), "earlier"),
    (("nope", 0, -1, "min", 0, 0, 0.0, 0.0, 0, None, ()), "kind"),
    (("gl", 0, -1, "up", 0, 0, 1.0, 0.0, 0, None, ()), "mode"),
])
def test_bad_specs_raise_value_error(engine_module, spec, match):
    with pytest.raises(ValueError, match=match):
        engine_module.CriteriaEngine([spec], 1)


def test_bad_values_raise_before_any_state_changes(engine_module):
    e = engine_module.CriteriaEngine(SPECS, 2, BEST)
    with pytest.raises(ValueError, match="expected 2 values"):
        e.update([1.0], 0)
    with pytest.raises(TypeError):
        e.update([1.0, None], 0)
    assert e.t == 0
    with pytest.raises(ValueError, match="does not match"):
        e.set_state({"t": 1, "floats": np.zeros((2, 5)), "ints": np.zeros((2, 8))})
