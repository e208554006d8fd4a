"""`RingMonitor`, the public class, in front of either ring engine.

The engines (`RingEngine` in the compiled `fastcallbacks._core.ring` and in
its pure-Python twin `fastcallbacks._reference.ring`) only do the work: the
window, its statistics, the EMA, and the read-only counters. This class owns
everything else, once: argument checks, the names of the statistics,
pickling, `repr`, the documentation. Each engine module exports
`RingMonitor = bind(RingEngine, __name__)`: a class deriving from this one
and from the engine, so that both implementations have the same surface by
construction, and pickles name the module of their implementation, as
before.

The engine's methods (`push`, `push_stat`, `stat`, `extend`, ...) are the
class's own methods: the per-value hot path costs no extra Python call.
This class therefore defines none of them.
"""

import sys

# Largest capacity: the byte size of a full window must fit a Py_ssize_t.
MAX_CAPACITY = sys.maxsize // 8

STATS = ("mean", "median", "min", "max", "ema", "last")


def unknown_stat(kind):
    """The ValueError both engines raise for a statistic they do not know."""
    return ValueError(f"Unknown statistic {kind!r}; expected one of {sorted(STATS)}")


class RingMonitor:
    """Fixed-capacity window over the most recent values of a metric.

    `push(value)` appends one value, `extend(values)` a 1-D array of them
    (copied without the GIL by the compiled core). `stat(kind)` returns the
    window's `"mean"`, `"median"`, `"min"`, `"max"`, `"ema"` or `"last"`
    value; `push_stat(value, kind)` does both in one locked step. NaN in the
    window makes `"mean"`, `"median"`, `"min"` and `"max"` NaN; `"last"` is
    the newest value; `"ema"` runs over every value pushed, so after a NaN it
    stays NaN until `clear()`. An empty window gives NaN for every
    statistic. `values()` returns the window oldest first; `total` and
    `nonfinite` count the values pushed since creation or the last
    `clear()`. Every call is thread-safe.

    Args:
        capacity: Number of values kept (the window size), an int from 1 to
            `MAX_CAPACITY` (`sys.maxsize // 8`). Memory grows with the values
            pushed, up to the capacity, so a large capacity costs nothing
            until the window fills.
        alpha: Weight of the newest value in the exponential moving average,
            in (0, 1]. Defaults to `2 / (capacity + 1)`.

    Example:

    ```python
    ring = RingMonitor(3)
    for loss in (0.9, 0.7, 0.8, 0.6):
        smoothed = ring.push_stat(loss, "median")
    smoothed   # 0.7: the median of 0.7, 0.8, 0.6
    ```
    """

    __slots__ = ()

    def __init__(self, capacity, alpha=None):
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"`capacity` must be an int, got {capacity!r}")
        if capacity < 1:
            raise ValueError(f"`capacity` must be >= 1, got {capacity}")
        if capacity > MAX_CAPACITY:
            raise OverflowError(
                f"`capacity` must be <= {MAX_CAPACITY} (sys.maxsize // 8), got {capacity}")
        if alpha is None:
            alpha = 2.0 / (capacity + 1.0)
        alpha = float(alpha)
        if not (0.0 < alpha <= 1.0):
            raise ValueError(f"`alpha` must be in (0, 1], got {alpha}")
        super().__init__(int(capacity), alpha)

    def mean(self):
        """Returns `stat("mean")`."""
        return self.stat("mean")

    def median(self):
        """Returns `stat("median")`."""
        return self.stat("median")

    def min(self):
        """Returns `stat("min")`."""
        return self.stat("min")

    def max(self):
        """Returns `stat("max")`."""
        return self.stat("max")

    def ema(self):
        """Returns `stat("ema")`."""
        return self.stat("ema")

    def last(self):
        """Returns `stat("last")`."""
        return self.stat("last")

    # Pickling and copy.deepcopy (e.g. a tuner cloning callbacks): the
    # window is stored oldest first, with the counters and the EMA; the
    # same state as the classes of 7d00e33 and before, so their pickles load.
    def __reduce__(self):
        return (type(self), (self.capacity, self.alpha), self.__getstate__())

    def __getstate__(self):
        return self._get_state()

    def __setstate__(self, state):
        values, total, nonfinite, ema = state
        values = [float(v) for v in values]
        if len(values) > self.capacity:
            raise ValueError("state holds more values than the capacity")
        self._set_state(values, int(total), int(nonfinite), float(ema))

    def __repr__(self):
        return f"RingMonitor(capacity={self.capacity}, len={len(self)}, total={self.total})"


def bind(engine_type, module):
    """`RingMonitor` with `engine_type` doing the work (its second base),
    named as a class of `module` (the engine's module: pickles find it
    there)."""
    return type("RingMonitor", (RingMonitor, engine_type),
                {"__slots__": (), "__module__": module, "__qualname__": "RingMonitor",
                 "__doc__": RingMonitor.__doc__})
