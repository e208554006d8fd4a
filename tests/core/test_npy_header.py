"""`.npy` headers 1.0, 2.0 and 3.0: the encoder equals what numpy writes, the
decoder reads what numpy writes and raises only ValueError on anything else,
and the writers and readers handle a 3.0 header (issue 12 item 10)."""

import io
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcallbacks import _npyheader, npz

# numpy names field names outside latin-1 only in a 3.0 header.
UNICODE_FIELDS = np.dtype([("é名", "<f4"), ("b", "<i2")])
MANY_FIELDS = np.dtype([(f"field_{i}", "<f4") for i in range(3000)])   # > 65535 bytes: 2.0


def np_save_bytes(a):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "Stored array in format 3.0"
        np.save(buf, a)
    return buf.getvalue()


def savez_member(path, **arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.savez(path, **arrays)
    with zipfile.ZipFile(path) as z:
        return {n[:-4]: z.read(n) for n in z.namelist()}


CASES = [
    (np.dtype("<f4"), (3, 4), False),
    (np.dtype("<f4"), (3, 4), True),
    (np.dtype(">i8"), (), False),
    (np.dtype("<f2"), (0,), False),
    (np.dtype("|b1"), (7, 1, 2), True),
    (np.dtype("<M8[ns]"), (5,), False),
    (np.dtype("<U3"), (2,), False),
    (np.dtype([("a", "<f4"), ("b", "<i2", (2, 3))]), (4,), False),
    (np.dtype("u1"), (1_000_003,), False),         # a long growth axis
    (UNICODE_FIELDS, (5,), False),                 # 3.0
    (MANY_FIELDS, (2,), False),                    # 2.0
]


@pytest.mark.parametrize("dtype, shape, fortran", CASES)
def test_encode_equals_np_save(dtype, shape, fortran):
    a = np.zeros(shape, dtype)
    expected = np_save_bytes(np.asfortranarray(a) if fortran and a.ndim > 1 else a)
    header = _npyheader.encode(dtype, shape, fortran and len(shape) > 1)
    assert expected[:len(header)] == header
    assert len(header) % 64 == 0
    decoded = _npyheader.decode(expected, max_header_size=10 ** 6)
    assert decoded.shape == shape and decoded.dtype == dtype and decoded.length == len(header)
    assert decoded.version == (expected[6], expected[7])


def test_versions():
    assert _npyheader.encode(np.dtype("f4"), (2,), False)[6:8] == b"\x01\x00"
    assert _npyheader.encode(MANY_FIELDS, (2,), False)[6:8] == b"\x02\x00"
    assert _npyheader.encode(UNICODE_FIELDS, (2,), False)[6:8] == b"\x03\x00"


def test_no_private_numpy_api():
    """The package uses only numpy's public `.npy` format API."""
    import fastcallbacks

    root = __import__("pathlib").Path(fastcallbacks.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for private in ("_write_array_header", "_read_array_header", "_wrap_header",
                        "_filter_header", "_format_impl"):
            assert private not in text, (path, private)


def test_writers_write_what_np_savez_writes(impl, tmp_path):
    arrays = {"u": np.arange(10, dtype="f4").astype([("é名", "<f4")]),
              "s": np.ones(3, UNICODE_FIELDS), "m": np.zeros(2, MANY_FIELDS),
              "f": np.asfortranarray(np.arange(12.0).reshape(3, 4))}
    expected = savez_member(tmp_path / "np.npz", **arrays)
    for compress in (False, True):
        path = tmp_path / f"w{compress}.npz"
        with impl.NpzWriter(path, compress=compress) as w:
            for k, v in arrays.items():
                w.add(k, v)
        with zipfile.ZipFile(path) as z:
            assert {n[:-4]: z.read(n) for n in z.namelist()} == expected
        with np.load(path, max_header_size=10 ** 6) as z:
            for k, v in arrays.items():
                np.testing.assert_array_equal(z[k], v)


@pytest.mark.parametrize("mmap", [False, True])
def test_load_and_inspect_read_a_np_savez_3_0_file(tmp_path, mmap, capsys):
    from fastcallbacks.__main__ import main

    a = np.zeros(5, UNICODE_FIELDS)
    a["é名"] = np.arange(5)
    savez_member(tmp_path / "s.npz", x=a, y=np.arange(4.0))
    with npz.load(tmp_path / "s.npz", mmap=mmap) as z:
        np.testing.assert_array_equal(z["x"], a)
        assert z["x"].dtype == UNICODE_FIELDS
    assert main(["inspect", str(tmp_path / "s.npz")]) == 0
    out = capsys.readouterr().out
    assert "2 member(s)" in out and "é名" in out


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00",
                                                 b"\x04\x00", b"\x01\x01"]))
def test_decode_raises_only_value_error(body, version):
    for data in (_npyheader.MAGIC + version + body, body):
        try:
            h = _npyheader.decode(data)
        except ValueError:
            continue
        assert isinstance(h.shape, tuple) and isinstance(h.dtype, np.dtype)


@pytest.mark.parametrize("text", [
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
    "{'descr': 'O', 'fortran_order': False, 'shape': (1,), 'x': 1}",
    "{'descr': 'zz', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2**62, 2**62), }",
    "[" * 200 + "]" * 200,
    "__import__('os')",
])
def test_decode_refuses_bad_headers(text):
    for version in ((1, 0), (3, 0)):
        with pytest.raises(ValueError):
            _npyheader.decode(_npyheader.wrap(text, version))


def test_npzformat_header_without_numpy_privates():
    """The writer's header function works where numpy has no private header
    writer (numpy 2.x's numpy.lib.format has none; c2d2a3b called one)."""
    code = textwrap.dedent("""
        import numpy as np
        from numpy.lib import format as f
        for name in ("_write_array_header", "_read_array_header"):
            if hasattr(f, name):
                delattr(f, name)
        from fastcallbacks._npzformat import npy_header
        h = npy_header(np.zeros(2, [("é名", "<f4")]), False)
        assert h[6:8] == b"\\x03\\x00", h
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
