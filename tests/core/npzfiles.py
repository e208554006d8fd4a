"""Real `.npz` files of every kind the readers meet, and what `np.load`
reads from a file: shared by the recover and reader tests."""

import io
import os
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest

from .impls import load_impl


def readable(path):
    """{key: (dtype, shape, bytes)} of every member `np.load` reads."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            z = np.load(path)
        except Exception:
            return out
        if not isinstance(z, np.lib.npyio.NpzFile):
            return out
        with z:
            for k in z.files:
                try:
                    a = z[k]
                except Exception:
                    continue
                out[k] = (a.dtype.str, a.shape, a.tobytes()) if isinstance(
                    a, np.ndarray) else ("bytes", (), bytes(a))
    return out


def arrays(n=6, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        a = rng.normal(size=(3 + i, 5)).astype("f4")
        a[a < 0.3] = 0   # compressible
        out[f"layer{i % 2}/epoch_{i:04d}"] = a
    out["ints"] = np.arange(300, dtype="i8").reshape(20, 15)
    return out


class _Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek: it writes data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def descriptor_zip(members, compress):
    raw = _Unseekable()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for k, a in members.items():
            with z.open(k + ".npy", "w") as f:
                np.lib.format.write_array(f, a)
    data = bytes(raw.buf)
    assert struct.unpack_from("<H", data, 6)[0] & 0x8   # bit 3: data descriptors
    return data


def make(kind, tmp):
    """Bytes of a real npz of the given kind."""
    a = arrays()
    path = os.path.join(tmp, f"base-{kind}.npz")
    if kind in ("cython", "python", "cython-deflate", "python-zip64"):
        impl = load_impl(kind.split("-")[0])
        with impl.NpzWriter(path, compress=kind.endswith("deflate"),
                            force_zip64=kind.endswith("zip64")) as w:
            for k, v in a.items():
                w.add(k, v)
    elif kind == "open-writer":   # committed, never closed: a killed writer
        # In a child that exits without closing. A writer may keep its end
        # records far beyond the members (a sparse file of the file system's
        # size); the file-size limit keeps that within a few MiB here.
        source = os.path.join(tmp, "arrays.npz")
        np.savez(source, **a)
        code = textwrap.dedent(f"""
            import os
            try:
                import resource
                soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
                resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, hard))
            except (ImportError, ValueError, OSError):
                pass
            import numpy as np
            from fastcallbacks._core.npzwriter import NpzWriter
            with np.load({source!r}) as z:
                w = NpzWriter({path!r})
                for k in z.files:
                    w.add(k, z[k])
            w.commit()
            os._exit(0)
        """)
        from fastcallbacks import npz

        env = dict(os.environ)
        env["PYTHONPATH"] = (os.path.dirname(os.path.dirname(npz.__file__)) + os.pathsep
                             + env.get("PYTHONPATH", ""))
        subprocess.run([sys.executable, "-c", code], check=True, timeout=300, env=env)
    elif kind == "savez":
        np.savez(path, **a)
    elif kind == "savez_compressed":
        np.savez_compressed(path, **a)
    elif kind in ("descriptors", "descriptors-deflate"):
        return descriptor_zip(a, kind.endswith("deflate"))
    with open(path, "rb") as f:
        return f.read()


KINDS = ["cython", "python", "cython-deflate", "python-zip64", "open-writer", "savez",
         "savez_compressed", "descriptors", "descriptors-deflate"]


_BASES = {}


class _Bases:
    """The base files' bytes, made once (not a hypothesis argument: too large
    to print)."""

    def __getitem__(self, kind):
        if kind not in _BASES:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                _BASES[kind] = make(kind, tmp)
        return _BASES[kind]

    def __repr__(self):
        return "bases"


@pytest.fixture(scope="module")
def bases():
    return _Bases()
