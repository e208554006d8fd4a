"""CRC-32 and deflate of the npz writer, from the library the build linked.

The compiled writer takes both from a system library (ISA-L, libdeflate or
zlib, see setup.py and `DEFLATE_LIBRARY`); the reference from Python's zlib.
Each check here runs on both implementations, whichever library the build
found: build with FASTCALLBACKS_DEFLATE=isa-l, libdeflate or zlib
(`python setup.py build_ext --inplace -f`) to run them on another.
"""

import os
import re
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

from fastcallbacks._core import npzwriter as c_npzwriter

from .exact_arrays import assert_array_identical

LIBRARY_FILES = {"isa-l": "libisal", "libdeflate": "libdeflate", "zlib": "libz"}


def _bytes(n, seed):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_deflate_library_names_a_linked_library_and_its_version():
    lib = c_npzwriter.DEFLATE_LIBRARY
    assert re.fullmatch(r"(isa-l|libdeflate|zlib) \d+(\.\d+)+[\w.-]*", lib), lib


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/maps")
def test_the_library_is_a_shared_library_loaded_with_the_module():
    # Not compiled into the module from copied sources: importing the writer
    # maps the system's (or, in a wheel, the bundled) shared library.
    name = c_npzwriter.DEFLATE_LIBRARY.split(" ")[0]
    code = ("import fastcallbacks._core.npzwriter, os\n"
            "print(open(f'/proc/{os.getpid()}/maps').read())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    mapped = {os.path.basename(line.split()[-1]) for line in out.splitlines()
              if len(line.split()) >= 6}
    assert any(m.startswith(LIBRARY_FILES[name] + "-") or m.startswith(LIBRARY_FILES[name] + ".")
               for m in mapped), sorted(mapped)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                               127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 4097,
                               65535, 65536, 65537, (1 << 20) + 3, (48 << 20) + 13])
def test_crc32_matches_zlib_for_any_length(impl, n):
    data = _bytes(n, seed=n)
    assert impl.npzwriter.crc32(data) == zlib.crc32(data)
    assert impl.npzwriter.crc32(data, 0xDEADBEEF) == zlib.crc32(data, 0xDEADBEEF)


@pytest.mark.parametrize("offset", range(16))
def test_crc32_matches_zlib_at_any_alignment(impl, offset):
    buf = memoryview(_bytes(8192 + 64, seed=offset))
    for n in (0, 1, 5, 16, 63, 64, 100, 1000, 4097, 8192):
        piece = buf[offset:offset + n]
        assert impl.npzwriter.crc32(piece) == zlib.crc32(piece), (offset, n)


def test_crc32_continues_across_any_split(impl):
    data = _bytes(300_000, seed=1)
    rng = np.random.default_rng(2)
    cuts = sorted(set(rng.integers(0, len(data), 40).tolist()) | {0, 1, len(data) - 1})
    for cut in cuts:
        first = impl.npzwriter.crc32(data[:cut])
        assert impl.npzwriter.crc32(data[cut:], first) == zlib.crc32(data), cut
    # Many small pieces, as the writer feeds it.
    crc, pos = 0, 0
    for step in rng.integers(0, 5000, 200).tolist():
        crc = impl.npzwriter.crc32(data[pos:pos + step], crc)
        pos += step
    assert crc == zlib.crc32(data[:pos])


def test_crc32_of_random_buffers_of_random_sizes(impl):
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(0, 20_000))
        offset = int(rng.integers(0, 8))
        data = memoryview(_bytes(n + offset, seed=int(rng.integers(1 << 30))))[offset:]
        value = int(rng.integers(0, 1 << 32))
        assert impl.npzwriter.crc32(data, value) == zlib.crc32(data, value)


def _members(path):
    """{name: (compress_type, raw member bytes, CRC)} read from the zip."""
    out = {}
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist():
            f.seek(info.header_offset)
            head = f.read(30)
            start = info.header_offset + 30 + int.from_bytes(head[26:28], "little") \
                + int.from_bytes(head[28:30], "little")
            f.seek(start)
            out[info.filename] = (info.compress_type, f.read(info.compress_size), info.CRC)
    return out


def test_compressed_members_are_raw_deflate_zlib_inflates(impl, tmp_path):
    rng = np.random.default_rng(7)
    relu = np.maximum(rng.standard_normal(3 << 20).astype("f4"), 0)   # 12 MiB
    arrays = {"empty": np.empty(0, "u1"), "one": np.zeros(1, "u1"),
              "zeros": np.zeros(40 << 20, "u1"), "relu": relu,
              "runs": np.repeat(rng.integers(0, 256, 5000, dtype="u1"), 97),
              "noise": rng.integers(0, 256, 1 << 20, dtype="u1")}
    path = tmp_path / "c.npz"
    with impl.NpzWriter(path, compress=True) as w:
        for name, a in arrays.items():
            w.add(name, a)
    with np.load(path) as z:
        assert z.files == list(arrays)
        for name, a in arrays.items():
            assert_array_identical(z[name], a)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    members = _members(path)
    for name in ("zeros", "relu", "runs"):
        method, raw, crc = members[name + ".npy"]
        assert method == zipfile.ZIP_DEFLATED, name
        # A raw deflate stream (no zlib or gzip wrapper) ending at its end.
        d = zlib.decompressobj(-15)
        npy = d.decompress(raw) + d.flush()
        assert d.eof and d.unused_data == b"", name
        assert zlib.crc32(npy) == crc, name
        assert len(raw) < len(npy) * 7 // 8, name
    assert members["noise.npy"][0] == zipfile.ZIP_STORED
    # Deflate at level 1 shrinks zeros at least 100-fold with any library.
    assert len(members["zeros.npy"][1]) * 100 < arrays["zeros"].nbytes
