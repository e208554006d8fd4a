"""StopWhen against the independent reference of `formulas.py`, through
`on_epoch_end`, on thousands of random (loss, val_loss) streams with ties,
NaN, infinities, zeros and every strip edge."""

import numpy as np
import pytest

import fastcallbacks
from fastcallbacks import _impl
from fastcallbacks.criteria import (GL, PQ, UP, Divergence, NonFinite, Patience, Threshold,
                                    all_of, any_of)

import formulas as F
from criteria_utils import FakeModel, keras_early_stopping_epoch


def run(criterion, va, tr):
    """(stop epoch or None, stop_reason) of StopWhen fed these streams."""
    cb = fastcallbacks.StopWhen(criterion)
    model = FakeModel()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(len(va)):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"loss": float(tr[epoch]), "val_loss": float(va[epoch])})
        if model.stop_training:
            return epoch, cb.stop_reason
    return None, cb.stop_reason


def random_case(rng):
    n = int(rng.integers(1, 41))
    va = F.random_stream(rng, n)
    tr = F.random_stream(rng, n)
    alpha = float(rng.choice([0.1, 0.5, 1.0, 2.0, 5.0, 20.0, 1e-9]))
    k = int(rng.integers(1, 7))
    s = int(rng.integers(1, 4))
    return n, va, tr, alpha, k, s


@pytest.fixture(params=("cython", "python"))
def which(request):
    previous = _impl.use(request.param)
    yield request.param
    _impl.use(previous)


def count(which, big, small):
    return big if which == "cython" else small


def test_gl_pq_up_single(which):
    rng = np.random.default_rng(16)
    for _ in range(count(which, 800, 200)):
        n, va, tr, alpha, k, s = random_case(rng)
        for crit, holds in (
            (GL(alpha), F.gl(va, alpha)),
            (PQ(alpha, strip=k), F.pq(va, tr, alpha, k)),
            (UP(s, strip=k), F.up(va, s, k)),
        ):
            expected = F.first(holds)
            got, reason = run(crit, va, tr)
            assert got == expected, (crit, va.tolist(), tr.tolist())
            assert reason == (None if expected is None else repr(crit))


def test_bounds_and_non_finite(which):
    rng = np.random.default_rng(61)
    for _ in range(count(which, 500, 100)):
        n, va, tr, alpha, k, s = random_case(rng)
        value = float(rng.choice([0.5, 1.0, 1.5]))
        mode = str(rng.choice(["min", "max"]))
        for crit, holds in (
            (Threshold("val_loss", value, mode), F.threshold(va, value, mode)),
            (Divergence("val_loss", value, mode), F.divergence(va, value, mode)),
            (NonFinite("val_loss"), F.nonfinite(va)),
        ):
            assert run(crit, va, tr)[0] == F.first(holds), (crit, va.tolist())


def test_any_of_all_of(which):
    """Combinators: any_of fires at the first epoch any member holds and
    names the first member holding there; all_of where all hold at once."""
    rng = np.random.default_rng(7)
    for _ in range(count(which, 500, 100)):
        n, va, tr, alpha, k, s = random_case(rng)
        members = [GL(alpha), PQ(alpha * 0.1 + 1e-9, strip=k), UP(s, strip=k)]
        holds = [F.gl(va, alpha), F.pq(va, tr, alpha * 0.1 + 1e-9, k), F.up(va, s, k)]
        anyh = np.logical_or.reduce(holds)
        expected = F.first(anyh)
        got, reason = run(any_of(*members), va, tr)
        assert got == expected, (va.tolist(), tr.tolist())
        if expected is not None:
            firing = next(m for m, h in zip(members, holds) if h[expected])
            assert reason == repr(firing)
        # Nested: all_of(GL, any_of(PQ, UP)).
        nested = all_of(GL(alpha), any_of(PQ(alpha * 0.1 + 1e-9, strip=k), UP(s, strip=k)))
        allh = holds[0] & (holds[1] | holds[2])
        got, reason = run(nested, va, tr)
        assert got == F.first(allh), (va.tolist(), tr.tolist())
        if got is not None:
            assert reason == repr(nested)


def test_patience_decides_as_keras_early_stopping(which):
    rng = np.random.default_rng(5)
    for _ in range(count(which, 300, 60)):
        n = int(rng.integers(1, 30))
        va = F.random_stream(rng, n)
        patience = int(rng.integers(0, 5))
        min_delta = float(rng.choice([0.0, 0.01, 0.3]))
        mode = str(rng.choice(["min", "max"]))
        baseline = None if rng.random() < 0.6 else float(rng.choice([0.5, 1.0, 1.2]))
        expected = keras_early_stopping_epoch(va, patience, min_delta, mode, baseline)
        crit = Patience("val_loss", patience, min_delta=min_delta, mode=mode, baseline=baseline)
        assert run(crit, va, va)[0] == expected, (patience, min_delta, mode, baseline,
                                                  va.tolist())


@pytest.mark.long
def test_large_sweep_against_the_reference():
    """The same comparisons on 20 000 streams (python -m pytest -m long)."""
    rng = np.random.default_rng(2026)
    for _ in range(20000):
        n, va, tr, alpha, k, s = random_case(rng)
        members = [GL(alpha), PQ(alpha, strip=k), UP(s, strip=k)]
        holds = [F.gl(va, alpha), F.pq(va, tr, alpha, k), F.up(va, s, k)]
        expected = F.first(np.logical_or.reduce(holds))
        got, reason = run(any_of(*members), va, tr)
        assert got == expected, (alpha, k, s, va.tolist(), tr.tolist())
        if expected is not None:
            assert reason == repr(next(m for m, h in zip(members, holds) if h[expected]))
