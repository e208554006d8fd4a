"""An independent reference of the stopping criteria, written from the
definitions of issue 16 with numpy (no code shared with fastcallbacks).

Each function takes whole streams (epoch 1 first) and returns a boolean
array: whether the criterion holds at each epoch t = 1..n.
"""

import functools
import operator

import numpy as np


def _f(a):
    return np.asarray(a, dtype=np.float64)


def gl_values(va):
    """GL(t) = 100 * (E_va(t) / E_opt(t) - 1), E_opt the running minimum
    of the values seen so far (NaN ignored)."""
    va = _f(va)
    with np.errstate(all="ignore"):
        e_opt = np.fmin.accumulate(va)
        return 100.0 * (va / e_opt - 1.0)


def gl(va, alpha):
    with np.errstate(invalid="ignore"):
        return gl_values(va) > alpha


def pq(va, tr, alpha, k):
    va, tr = _f(va), _f(tr)
    g = gl_values(va)
    out = np.zeros(len(va), dtype=bool)
    for t in range(k, len(va) + 1, k):      # strip ends, t = 1-based
        strip = tr[t - k:t]
        with np.errstate(all="ignore"):
            total = functools.reduce(operator.add, strip)   # in epoch order
            p = 1000.0 * (total / (np.float64(k) * np.min(strip)) - 1.0)
            out[t - 1] = bool(p > 0) and bool(g[t - 1] / p > alpha)
    return out


def up(va, s, k):
    va = _f(va)
    out = np.zeros(len(va), dtype=bool)
    for t in range(k, len(va) + 1, k):
        if t - s * k < k:      # needs s complete earlier strips
            continue
        out[t - 1] = all(va[t - 1 - i * k] > va[t - 1 - (i + 1) * k] for i in range(s))
    return out


def threshold(v, value, mode):
    v = _f(v)
    return v < value if mode == "min" else v > value


def divergence(v, value, mode):
    v = _f(v)
    return v > value if mode == "min" else v < value


def nonfinite(v):
    return ~np.isfinite(_f(v))


def first(holds):
    """The first epoch index (0-based) at which `holds`, or None."""
    idx = np.flatnonzero(holds)
    return int(idx[0]) if idx.size else None


def random_stream(rng, n):
    """A validation-like stream with ties, zeros, NaN and infinities."""
    kind = rng.integers(4)
    if kind == 0:      # smooth-ish curve: falls then rises
        t = np.arange(n)
        v = 1.0 / (1 + t) + 0.01 * t * rng.random() + 0.02 * rng.random(n)
    elif kind == 1:    # many ties
        v = rng.choice([0.5, 1.0, 1.5, 2.0], size=n)
    elif kind == 2:    # noisy log-normal
        v = np.exp(rng.normal(0, 0.3, n))
    else:              # float32-rounded values, as Keras logs them
        v = np.float32(np.abs(rng.normal(1, 0.2, n))).astype(np.float64)
    special = rng.random(n)
    v = np.where(special < 0.03, np.nan, v)
    v = np.where((special >= 0.03) & (special < 0.05), np.inf, v)
    v = np.where((special >= 0.05) & (special < 0.06), -np.inf, v)
    v = np.where((special >= 0.06) & (special < 0.07), 0.0, v)
    return v
