"""Bitwise float comparison for the core tests."""

import math
import struct


def key(x):
    """A hashable, bitwise-exact key: all NaNs are equal, -0.0 != 0.0."""
    if x is None:
        return None
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple((type(v).__name__, key(v)) for v in x))
    return x


def same(a, b):
    """True when `a` and `b` are the same value, bit for bit (NaN == NaN).

    Tuples and lists compare element by element, types included.
    """
    return type(a) is type(b) and key(a) == key(b)


def same_seq(xs, ys):
    return len(xs) == len(ys) and all(same(float(a), float(b)) for a, b in zip(xs, ys))
