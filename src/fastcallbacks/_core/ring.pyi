# Stubs for fastcallbacks._core.ring (cyext/fastcallbacks/_core/ring.pyx): the
# compiled ring engine. The public class is fastcallbacks._ringmonitor's
# RingMonitor (its stub: _ringmonitor.pyi), bound here to this engine: it
# derives from both, so RingEngine's methods are RingMonitor's.
# C-level types are noted in trailing comments.
from typing import SupportsFloat

import numpy as np
import numpy.typing as npt

from .._ringmonitor import RingMonitor as RingMonitor

MAX_CAPACITY: int  # sys.maxsize // 8: the largest `capacity`

class RingEngine:
    def __init__(
        self,
        capacity: int,  # intp_t, 1 to MAX_CAPACITY (checked by RingMonitor)
        alpha: float,  # float64_t in (0, 1] (checked by RingMonitor)
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
    def push(self, value: SupportsFloat) -> None: ...  # float64_t
    def extend(self, values: npt.ArrayLike) -> None: ...  # const float64_t[::1]; no GIL
    def stat(self, kind: str = "mean") -> float: ...  # float64_t
    def push_stat(self, value: SupportsFloat, kind: str = "mean") -> float: ...  # float64_t
    def values(self) -> npt.NDArray[np.float64]: ...  # ndarray[float64_t, ndim=1]
