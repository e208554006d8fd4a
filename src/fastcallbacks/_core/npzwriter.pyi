# Stubs for fastcallbacks._core.npzwriter (cyext/fastcallbacks/_core/npzwriter.pyx):
# the compiled npz engine. The public class is fastcallbacks._npzwriter's
# NpzWriter (its stub: _npzwriter.pyi), bound here to this engine.
# C-level types are noted in trailing comments.
import os

from typing_extensions import Buffer

from .._npzwriter import NpzWriter as NpzWriter

DEFLATE_LEVEL: int  # deflate level used when compress=True
DEFLATE_LIBRARY: str  # "isa-l <version>", "libdeflate <version>" or "zlib <version>"
MAX_HELPERS: int  # deflating threads at most (`threads` is clamped to it)

class NpzEngine:
    def __init__(
        self,
        path: str | os.PathLike[str],
        compress: bool,
        durable: bool,
        queue_bytes: int,  # int64_t, 1 to 2**63 - 1 (checked by NpzWriter)
        force_zip64: bool,
        threads: int,  # deflating threads, 1 to MAX_HELPERS (checked by NpzWriter)
    ) -> None: ...

def crc32(
    data: Buffer,  # const unsigned char[::1]
    value: int = 0,  # unsigned int
) -> int: ...
