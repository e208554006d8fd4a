# Stubs for fastcallbacks._core.snapshot (cyext/fastcallbacks/_core/snapshot.pyx).
# C-level types are noted in trailing comments.
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

_T = TypeVar("_T")

class WeightSnapshot:
    def __init__(
        self,
        max_sets: int = 2,  # Py_ssize_t, >= 1 (free buffer sets kept)
    ) -> None: ...
    @property
    def allocations(self) -> int: ...  # readonly Py_ssize_t
    def clear(self) -> None: ...
    def capture(
        self,
        arrays: Iterable[npt.ArrayLike],  # copied with memcpy, without the GIL
    ) -> list[np.ndarray]: ...
    def capture_while(
        self,
        arrays: Iterable[npt.ArrayLike],  # copied by a native thread and the caller
        fn: Callable[[], _T],  # runs on the calling thread meanwhile (GIL held)
    ) -> tuple[list[np.ndarray], _T]: ...
