# Stubs for fastcallbacks._npzwriter: the public NpzWriter, in front of the
# engine of fastcallbacks._core.npzwriter (C-level types in trailing
# comments) or of fastcallbacks._reference.npzwriter.
import os
from collections.abc import Callable
from types import TracebackType
from typing import Literal

import numpy.typing as npt

def bind(engine_type: type, module: str) -> type[NpzWriter]: ...

class NpzWriter:
    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: Literal["w", "a"] = "w",
        *,
        keep: Callable[[str], bool] | None = None,  # mode="a": which members to keep
        compress: bool = False,
        durable: bool = False,
        queue_bytes: int = 67108864,  # int64_t, >= 1
        force_zip64: bool = False,
        threads: int | None = None,  # deflating threads, 1..4 used (None: one per core)
    ) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def mode(self) -> str: ...
    @property
    def compress(self) -> bool: ...
    @property
    def durable(self) -> bool: ...
    @property
    def queue_bytes(self) -> int: ...
    @property
    def members(self) -> tuple[str, ...]: ...
    @property
    def threads(self) -> int: ...
    @property
    def pending(self) -> int: ...
    def add(
        self,
        name: str,
        array: npt.ArrayLike,  # copied with memcpy, or written in place while add() waits
        *,
        copy: bool = True,
    ) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> NpzWriter: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def __repr__(self) -> str: ...
