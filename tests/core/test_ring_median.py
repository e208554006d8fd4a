"""The compiled median keeps a sorted copy of the window up to date across
single pushes and rebuilds it after bulk extends; it must equal the
reference bit for bit on streams full of ties, signed zeros, NaN and inf."""

import math
import struct

import numpy as np
import pytest

from fastcallbacks._core.ring import RingMonitor as CRing
from fastcallbacks._reference.ring import RingMonitor as RRing


def _bits(x):
    return struct.pack("<d", x)


@pytest.mark.parametrize("capacity", [1, 2, 3, 8, 33])
@pytest.mark.parametrize("seed", range(6))
def test_incremental_median_matches_reference(capacity, seed):
    rng = np.random.default_rng(seed)
    pool = [0.0, -0.0, 1.0, -1.0, 2.5, math.nan, math.inf, -math.inf, 1e308, -5e-324]
    c, r = CRing(capacity), RRing(capacity)
    for step in range(1500):
        op = rng.random()
        if op < 0.05:
            chunk = [pool[i] for i in rng.integers(0, len(pool), rng.integers(0, 2 * capacity + 2))]
            c.extend(chunk)
            r.extend(chunk)
        elif op < 0.06:
            c.clear()
            r.clear()
        else:
            x = pool[rng.integers(0, len(pool))]
            got, want = c.push_stat(x, "median"), r.push_stat(x, "median")
            assert _bits(got) == _bits(want) or (math.isnan(got) and math.isnan(want)), (
                f"step {step}: capacity={capacity} seed={seed} window={r.values().tolist()} "
                f"compiled={got!r} reference={want!r}"
            )
