# Stubs for fastcallbacks._ringmonitor: the public RingMonitor, in front of
# the engine of fastcallbacks._core.ring (C-level types in trailing comments)
# or of fastcallbacks._reference.ring.
from typing import Literal, SupportsFloat, SupportsIndex, TypeAlias

import numpy as np
import numpy.typing as npt

_FloatLike: TypeAlias = SupportsFloat | SupportsIndex | str | bytes
_Stat: TypeAlias = Literal["mean", "median", "min", "max", "ema", "last"]

MAX_CAPACITY: int  # sys.maxsize // 8: the largest `capacity`
STATS: tuple[str, ...]  # the statistics `stat` knows

def unknown_stat(kind: object) -> ValueError: ...
def bind(engine_type: type, module: str) -> type[RingMonitor]: ...

class RingMonitor:
    def __init__(
        self,
        capacity: int,  # intp_t, 1 to MAX_CAPACITY; memory grows with the values pushed
        alpha: float | None = None,  # float64_t in (0, 1]; None: 2 / (capacity + 1)
    ) -> None: ...
    @property
    def capacity(self) -> int: ...  # intp_t
    @property
    def alpha(self) -> float: ...  # float64_t
    @property
    def total(self) -> int: ...  # int64_t
    @property
    def nonfinite(self) -> int: ...  # int64_t
    def __len__(self) -> int: ...  # intp_t
    def clear(self) -> None: ...
    def push(
        self,
        value: _FloatLike,  # float64_t
    ) -> None: ...
    def extend(
        self,
        values: npt.ArrayLike,  # const float64_t[::1], flattened
    ) -> None: ...  # runs without the GIL
    def stat(self, kind: _Stat = "mean") -> float: ...  # float64_t
    def push_stat(
        self,
        value: _FloatLike,  # float64_t
        kind: _Stat = "mean",
    ) -> float: ...  # float64_t
    def mean(self) -> float: ...  # float64_t
    def median(self) -> float: ...  # float64_t
    def min(self) -> float: ...  # float64_t
    def max(self) -> float: ...  # float64_t
    def ema(self) -> float: ...  # float64_t
    def last(self) -> float: ...  # float64_t
    def values(self) -> npt.NDArray[np.float64]: ...  # ndarray[float64_t, ndim=1]
    def __repr__(self) -> str: ...
