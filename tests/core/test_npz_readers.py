"""Every reader on damaged and hostile input (issue 12 item 9).

`npz.load` (mapped and read), `status`, `scan`/`read_member` and the
`inspect` command raise only OSError, ValueError or zipfile.BadZipFile (the
command prints one line and exits 1, never a traceback), and no reader
allocates more than a member's declared size: deflate bombs are decoded in
chunks and summarised chunk by chunk.
"""

import json
import os
import importlib.util
import random
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

from fastcallbacks import npz

from .npzfiles import KINDS, bases  # noqa: F401 (bases: a fixture)

WORKER = os.path.join(os.path.dirname(__file__), "npz_reader_worker.py")
POSIX = os.name == "posix"


def env():
    e = dict(os.environ)
    src = os.path.dirname(os.path.dirname(npz.__file__))
    e["PYTHONPATH"] = src + os.pathsep + e.get("PYTHONPATH", "")
    return e


def npy(a):
    import io

    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def header(descr, shape):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def raw_zip(members, method=zipfile.ZIP_STORED):
    """A zip of `{name: bytes}` written by zipfile."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return bytearray(buf.getvalue())


def central_entries(data):
    """Offsets of the central-directory entries (from the end record)."""
    count, _, cd = struct.unpack_from("<HII", data, len(data) - 12)
    out, pos = [], cd
    for _ in range(count):
        out.append(pos)
        nlen, elen, clen = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + nlen + elen + clen
    return out


_CRAFTED = []


def crafted():
    """{name: bytes} of hand-made hostile files: built once (two 16 MiB
    bombs among them), a fresh copy of each for every caller."""
    if not _CRAFTED:
        _CRAFTED.append(_crafted())
    return {name: bytearray(data) for name, data in _CRAFTED[0].items()}


def _crafted():
    small = {"a.npy": npy(np.arange(10.0)), "b.npy": npy(np.ones((3, 3), "i4"))}
    out = {}
    d = raw_zip(small)
    e = central_entries(d)
    d[e[1] + 42:e[1] + 46] = struct.pack("<I", 0x7FFFFFF0)   # local offset past EOF
    out["offset-past-eof"] = d
    d = raw_zip(small)
    d[-6:-2] = struct.pack("<I", 0xFFFFFF00)                  # directory past EOF
    out["cd-past-eof"] = d
    d = raw_zip(small)
    d[-12:-10] = struct.pack("<H", 0xFFFF)                    # many more entries than there are
    d[-14:-12] = struct.pack("<H", 0xFFFF)
    out["count-lies"] = d
    for field, value, tag in ((8, 1, "encrypted"), (10, 99, "method-99"), (8, 1 << 5, "patched"),
                              (20, 5, "csize-lies"), (16, 0, "crc-zero")):
        d = raw_zip(small, zipfile.ZIP_DEFLATED)
        for at in central_entries(d):
            d[at + field:at + field + (4 if field >= 16 else 2)] = value.to_bytes(
                4 if field >= 16 else 2, "little")
        out[f"cd-{tag}"] = d
    big = npy(np.zeros(1 << 20, "f4"))[:128]
    out["header-declares-more"] = raw_zip({"x.npy": big + bytes(64)})
    out["huge-shape"] = raw_zip({"x.npy": header("<f8", (2 ** 40,)) + bytes(16)})
    out["object"] = raw_zip({"o.npy": header("|O", (1,)) + b"\x80\x04N."})
    out["bytes-member"] = raw_zip({"meta.json": b"{}", "a.npy": npy(np.arange(3))})
    out["name-nul"] = raw_zip({"a\x00b.npy": npy(np.arange(3))})
    d = raw_zip({"é.npy": npy(np.arange(3))})
    out["bad-utf8-name"] = d.replace("é".encode(), b"\xff\xfe")
    out["empty-zip64"] = bytearray(b"PK\x06\x06" + bytes(52) + b"PK\x06\x07" + bytes(16)
                                   + b"PK\x05\x06" + bytes(18))
    out["only-end-record"] = bytearray(b"PK\x05\x06" + bytes(18))
    out["deep-header"] = raw_zip({"x.npy": b"\x93NUMPY\x01\x00" + struct.pack("<H", 4000)
                                  + b"[" * 3999 + b"\n"})
    out["npy-not-npz"] = bytearray(npy(np.arange(5)))
    out["text"] = bytearray(b"just some text\n" * 10)
    out["empty"] = bytearray()
    # A small deflate bomb: 16 MiB of zeros declared and stored in a few KiB.
    out["bomb-16MiB"] = bomb(16 << 20)
    d = bomb(16 << 20)
    at = central_entries(d)[0]
    d[at + 24:at + 28] = struct.pack("<I", 1000)               # usize says 1000
    out["bomb-usize-lies"] = d
    return out


def bomb(nbytes):
    """A zip with one deflated float32 member of `nbytes` zeros (a multiple
    of 1 MiB): about 1,000 times smaller than what it declares."""
    import io

    head = header("<f4", (nbytes // 4,))   # what np.save writes before the data
    assert len(head) == 128
    zero = bytes(1 << 20)
    # Each MiB of zeros deflated after a full flush (history reset, byte
    # aligned) gives the same bytes: deflate one and repeat it, instead of
    # deflating every MiB at level 9 (seconds for 256 MiB).
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    mib = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    body += mib * ((nbytes >> 20) - 1) + c.compress(zero) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(nbytes >> 20):
        crc = zlib.crc32(zero, crc)
    usize = len(head) + nbytes
    name = b"layer/epoch_0000.npy"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 33, crc, len(body), usize,
                        len(name), 0) + name
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 33, crc, len(body),
                     usize, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(local) + len(body), 0)
    out = io.BytesIO()
    out.write(local + body + cd + end)
    return bytearray(out.getvalue())


def hostile_files(tmp, bases):
    """Writes 100+ hostile files to `tmp` and returns their paths."""
    rnd = random.Random(12)
    files = dict(crafted())
    for kind in KINDS:
        base = bases[kind]
        for i in range(10):
            d = bytearray(base)
            for _ in range(rnd.randint(1, 4)):
                at = (len(d) - 1 - rnd.randrange(min(600, len(d))) if i % 2
                      else rnd.randrange(len(d)))
                d[at] ^= rnd.randint(1, 255)
            files[f"{kind}-flip{i}"] = d
        for i in range(3):
            files[f"{kind}-cut{i}"] = base[:rnd.randrange(len(base))]
    for i in range(6):
        n = rnd.randrange(1, 5000)
        junk = bytes(rnd.getrandbits(8) for _ in range(n))
        files[f"random{i}"] = junk if i < 2 else (b"PK\x03\x04", b"PK\x05\x06",
                                                  b"PK\x01\x02", b"\x93NUMPY")[i - 2] + junk
    paths = []
    for name, data in files.items():
        p = os.path.join(tmp, name + ".npz")
        with open(p, "wb") as f:
            f.write(bytes(data))
        paths.append(p)
    return paths


def run_worker(paths, timeout=600):
    out = subprocess.run([sys.executable, WORKER, *paths], capture_output=True, text=True,
                         timeout=timeout, env=env())
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_every_reader_on_hostile_files(bases, tmp_path):
    paths = hostile_files(str(tmp_path), bases)
    if POSIX:
        os.mkfifo(tmp_path / "fifo.npz")
        paths.append(str(tmp_path / "fifo.npz"))
    os.mkdir(tmp_path / "dir.npz")
    paths.append(str(tmp_path / "dir.npz"))
    paths.append(str(tmp_path / "missing.npz"))
    assert len(paths) >= 100
    results = run_worker(paths)
    assert [r["path"] for r in results] == paths
    bad = [(os.path.basename(r["path"]), r["bad"]) for r in results if r["bad"]]
    assert not bad, bad
    for r in results:
        name = os.path.basename(r["path"])
        assert r["rc"] in (0, 1), (name, r)
        assert "Traceback" not in r["err"] + r["out"], (name, r)
        assert len(r["err"].splitlines()) <= 1, (name, r["err"])
        if r["rc"] == 1:   # said why, in one line
            first = (r["err"] or r["out"]).splitlines()[0]
            assert r["path"] in first, (name, r)
    # The damaged ones are reported as damaged, not listed as fine.
    by_name = {os.path.basename(r["path"]): r for r in results}
    for name in ("text.npz", "empty.npz", "npy-not-npz.npz", "fifo.npz", "dir.npz",
                 "missing.npz", "cd-past-eof.npz", "offset-past-eof.npz",
                 "bomb-usize-lies.npz", "cd-crc-zero.npz", "huge-shape.npz"):
        if name in by_name:
            assert by_name[name]["rc"] == 1, by_name[name]
    assert by_name["bomb-16MiB.npz"]["rc"] == 0
    assert "16777216" in by_name["bomb-16MiB.npz"]["out"]


@pytest.mark.parametrize("name", ["text", "offset-past-eof", "cd-method-99", "huge-shape"])
def test_cli_prints_one_line_and_exits_1(name, tmp_path):
    path = tmp_path / f"{name}.npz"
    path.write_bytes(bytes(crafted()[name]))
    out = subprocess.run([sys.executable, "-m", "fastcallbacks", "inspect", str(path)],
                         capture_output=True, text=True, timeout=300, env=env())
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr + out.stdout
    lines = (out.stdout + out.stderr).splitlines()
    assert lines and str(path) in lines[0], out


def test_load_mmap_offset_past_eof_raises_bad_zip(tmp_path):
    # c2d2a3b: struct.error.
    path = tmp_path / "o.npz"
    path.write_bytes(bytes(crafted()["offset-past-eof"]))
    with npz.load(path, mmap=True) as z:
        with pytest.raises(zipfile.BadZipFile):
            z["b"]
        np.testing.assert_array_equal(z["a"], np.arange(10.0))


def test_status_on_patched_flag_is_damaged_not_an_error(tmp_path):
    path = tmp_path / "p.npz"
    path.write_bytes(bytes(crafted()["cd-patched"]))
    assert npz.status(path) in ("damaged", "open")


def test_load_refuses_a_header_larger_than_the_member(tmp_path):
    path = tmp_path / "h.npz"
    path.write_bytes(bytes(crafted()["huge-shape"]))
    for mmap in (False, True):
        with npz.load(path, mmap=mmap) as z:
            with pytest.raises((ValueError, zipfile.BadZipFile)):
                z["x"]


def _peak_rss_mib(code, path):
    out = subprocess.run(
        [sys.executable, "-c",
         "import resource, sys\n" + code
         + "\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
         + (" // 1048576)" if sys.platform == "darwin" else " // 1024)"),
         str(path)], capture_output=True, text=True, timeout=300, env=env())
    assert out.returncode == 0, out.stderr[-3000:]
    return int(out.stdout.split()[-1]), out.stdout


@pytest.mark.skipif(importlib.util.find_spec("resource") is None,
                    reason="peak RSS is read with the resource module (POSIX only)")
def test_inspect_of_a_deflate_bomb_stays_small(tmp_path):
    """A small file declaring 256 MiB of zeros: inspect streams it.
    c2d2a3b's inspect expanded it and copied it to float64 (several GiB)."""
    nbytes = 256 << 20
    path = tmp_path / "bomb.npz"
    path.write_bytes(bytes(bomb(nbytes)))
    assert path.stat().st_size < nbytes // 500
    small = tmp_path / "small.npz"
    small.write_bytes(bytes(bomb(1 << 20)))
    code = ("from fastcallbacks.__main__ import main\n"
            "assert main(['inspect', sys.argv[1]]) in (0, 1)")
    base, _ = _peak_rss_mib(code, small)
    peak, out = _peak_rss_mib(code, path)
    assert str(nbytes) in out, out
    assert peak - base < 128, (base, peak)
    # Damaged (directory gone): the salvage listing streams it too.
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[:data.rfind(b"PK\x01\x02")])
    peak, out = _peak_rss_mib(code, cut)
    assert "damaged" in out and "1 complete member" in out, out
    assert peak - base < 128, (base, peak)


def test_many_headers_that_each_claim_the_rest_of_the_file(tmp_path):
    """Checking every such header in full would read the file once per
    header (hours); the search stops checking headers no directory points
    at once it has read a few times the file. In a subprocess with a time
    limit: inspect, scan and recover finish."""
    n = 150_000   # about 7 minutes for inspect and recover if every header is read in full
    total = n * 35
    out = bytearray()
    for i in range(n):
        rest = total - 35 * (i + 1)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 33, 1, rest, rest, 5, 0)
        out += b"x.npy"
    path = tmp_path / "headers.npz"
    path.write_bytes(bytes(out))
    code = ("import sys\nfrom fastcallbacks import npz\nfrom fastcallbacks.__main__ import main\n"
            "p = sys.argv[1]\nassert main(['inspect', p]) == 1\n"
            "try:\n    npz.recover(p)\nexcept ValueError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=300, env=env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no intact member" in done.stdout
