"""Encoder and decoder of `.npy` headers (format versions 1.0, 2.0 and 3.0).

Written from the format's documentation (`numpy.lib.format`), using only
numpy's public API (`dtype_to_descr`, `descr_to_dtype`), so that it works on
every numpy the package supports. The encoder produces the bytes `np.save`
writes for the same array: the dict literal with sorted keys, the spare room
numpy leaves for the growth axis, and padding with spaces and a newline to a
multiple of 64 bytes. The oldest version that can hold the header is used:
1.0 (2-byte length, latin-1), 2.0 (4-byte length, latin-1), 3.0 (4-byte
length, UTF-8, needed for field names outside latin-1).

The decoder is the reading side for the package's own readers: it never
allocates more than the header it is given, and raises only `ValueError` on
malformed input.
"""

import ast
import struct

import numpy as np
from numpy.lib import format as npformat

MAGIC = b"\x93NUMPY"
PREFIX_LEN = 8                 # magic + major + minor
ALIGN = 64                     # header (with prefix) length is a multiple of this
GROWTH_AXIS_MAX_DIGITS = 21    # numpy's spare room for rewriting the growth axis
MAX_HEADER_SIZE = 10000        # np.load's default limit on the header text

# version: (length field format, text encoding)
VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}


class Header:
    """A decoded `.npy` header: `shape`, `fortran_order`, `dtype`, `version`
    and `length` (bytes from the magic to the first data byte)."""

    __slots__ = ("shape", "fortran_order", "dtype", "version", "length")

    def __init__(self, shape, fortran_order, dtype, version, length):
        self.shape, self.fortran_order, self.dtype = shape, fortran_order, dtype
        self.version, self.length = version, length

    @property
    def count(self):
        """The number of elements (1 for a 0-d array)."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def data_size(self):
        """The number of data bytes that follow the header."""
        return self.count * self.dtype.itemsize

    def __repr__(self):
        return (f"Header(shape={self.shape}, fortran_order={self.fortran_order}, "
                f"dtype={self.dtype}, version={self.version}, length={self.length})")


def header_text(dtype, shape, fortran_order):
    """The header's dict literal as `np.save` formats it, with its spare room."""
    d = {"descr": npformat.dtype_to_descr(dtype), "fortran_order": bool(fortran_order),
         "shape": tuple(int(s) for s in shape)}
    text = "{" + "".join(f"{k!r}: {d[k]!r}, " for k in sorted(d)) + "}"
    shape = d["shape"]
    if shape:
        axis = shape[-1 if d["fortran_order"] else 0]
        text += " " * max(GROWTH_AXIS_MAX_DIGITS - len(repr(axis)), 0)
    return text


def wrap(text, version):
    """Prefix, encoded text, padding and newline for `version`.

    Raises ValueError when the text does not fit the version's length field
    and UnicodeEncodeError (a ValueError) when it cannot be encoded.
    """
    length_format, encoding = VERSIONS[version]
    body = text.encode(encoding)
    prefix_len = PREFIX_LEN + struct.calcsize(length_format)
    hlen = len(body) + 1
    pad = ALIGN - (prefix_len + hlen) % ALIGN
    try:
        length = struct.pack(length_format, hlen + pad)
    except struct.error:
        raise ValueError(f"header of {hlen} bytes is too long for .npy format "
                         f"{version[0]}.{version[1]}") from None
    return MAGIC + bytes(version) + length + body + b" " * pad + b"\n"


def encode(dtype, shape, fortran_order):
    """The `.npy` header bytes `np.save` writes for an array of this dtype,
    shape and order, in the oldest format version that can hold it."""
    text = header_text(dtype, shape, fortran_order)
    for version in ((1, 0), (2, 0)):
        try:
            return wrap(text, version)
        except ValueError:   # too long, or not latin-1 (UnicodeEncodeError)
            pass
    return wrap(text, (3, 0))


def _shape(value):
    if not isinstance(value, tuple) or not all(
            isinstance(x, int) and x >= 0 for x in value):
        raise ValueError(f"shape is not valid: {value!r}")
    return value


def parse_text(text, version, length):
    """A `Header` from the decoded header text; raises ValueError."""
    try:
        d = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as e:
        raise ValueError(f"cannot parse .npy header: {type(e).__name__}") from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise ValueError("the .npy header is not a dict with the keys 'descr', "
                         "'fortran_order' and 'shape'")
    shape = _shape(d["shape"])
    if not isinstance(d["fortran_order"], bool):
        raise ValueError(f"fortran_order is not a valid bool: {d['fortran_order']!r}")
    try:
        dtype = npformat.descr_to_dtype(d["descr"])
    except Exception as e:   # numpy raises TypeError, ValueError, KeyError...
        raise ValueError(f"descr is not a valid dtype descriptor: {type(e).__name__}") from None
    header = Header(shape, d["fortran_order"], dtype, version, length)
    if header.count * max(dtype.itemsize, 1) > 1 << 62:
        raise ValueError(f"the .npy header declares an impossible size: shape {shape}")
    return header


def read(readexact, max_header_size=MAX_HEADER_SIZE):
    """Reads and decodes a header.

    Args:
        readexact: a function `n -> bytes` returning up to `n` bytes (fewer
            only at the end of the stream).
        max_header_size: the longest header text accepted, like `np.load`'s
            argument. Defaults to 10000.

    Returns:
        A `Header`. Raises ValueError for anything that is not a valid
        `.npy` header of version 1.0, 2.0 or 3.0.
    """
    prefix = readexact(PREFIX_LEN)
    if len(prefix) < PREFIX_LEN or prefix[:6] != MAGIC:
        raise ValueError("not a .npy member: the magic string is not correct")
    version = (prefix[6], prefix[7])
    if version not in VERSIONS:
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    length_format, encoding = VERSIONS[version]
    size = struct.calcsize(length_format)
    raw = readexact(size)
    if len(raw) < size:
        raise ValueError("EOF in the .npy header length")
    hlen = struct.unpack(length_format, raw)[0]
    # The text is never longer than its encoding; refuse before reading it.
    if hlen > 4 * max_header_size + ALIGN:
        raise ValueError(f"the .npy header is too long ({hlen} bytes)")
    body = readexact(hlen)
    if len(body) < hlen:
        raise ValueError("EOF in the .npy header")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        raise ValueError(f"the .npy header is not valid {encoding}") from None
    if len(text) > max_header_size:
        raise ValueError(f"the .npy header is too long ({len(text)} characters)")
    return parse_text(text, version, PREFIX_LEN + size + hlen)


def decode(buf, max_header_size=MAX_HEADER_SIZE):
    """A `Header` from the start of a bytes-like `.npy` stream; ValueError if
    it has none."""
    view = memoryview(buf)
    pos = 0

    def readexact(n):
        nonlocal pos
        out = bytes(view[pos:pos + n])
        pos += len(out)
        return out

    return read(readexact, max_header_size)


def empty_array(header):
    """An uninitialised array for `header` (used by readers after checking
    the declared size against the member size)."""
    return np.empty(header.shape, header.dtype, order="F" if header.fortran_order else "C")
