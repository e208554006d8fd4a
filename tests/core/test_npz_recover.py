"""`npz.recover` never makes a file worse (issue 12 item 8).

A file `np.load` reads is left byte for byte; a file that is not a zip raises
ValueError and is left as is; otherwise the salvage replaces the file only if
`np.load` reads from it every member it read before. The property test runs
random truncations and byte flips of real files through it.
"""

import io
import os
import stat
import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastcallbacks import npz

from .npzfiles import KINDS, arrays, bases, readable  # noqa: F401 (bases: a fixture)


def leftovers(directory, keep):
    return sorted(set(os.listdir(directory)) - set(keep))


# -- regressions ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_loadable_file_is_left_byte_for_byte(kind, bases, tmp_path):
    path = tmp_path / "f.npz"
    path.write_bytes(bases[kind])
    keys = list(readable(path))
    assert npz.recover(path) == keys
    assert path.read_bytes() == bases[kind]


@pytest.mark.parametrize("kind", ["cython", "savez", "descriptors"])
def test_a_flipped_crc_in_a_local_header_changes_nothing(kind, bases, tmp_path):
    # np.load ignores local CRCs; c2d2a3b's recover truncated the file there.
    data = bytearray(bases[kind])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        infos = z.infolist()
    for info in infos:
        data[info.header_offset + 14] ^= 0x5A
    path = tmp_path / "f.npz"
    path.write_bytes(bytes(data))
    before = readable(path)
    assert len(before) == len(infos)
    assert npz.recover(path) == list(before)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("text", [b"hello, this is a text file\n", b"", b"\x93NUMPY\x01\x00",
                                  bytes(range(256)) * 40])
def test_not_an_npz_raises_and_is_left_as_is(text, tmp_path):
    path = tmp_path / "f.npz"
    path.write_bytes(text)
    with pytest.raises(ValueError, match="left unchanged"):
        npz.recover(path)
    assert path.read_bytes() == text
    assert leftovers(tmp_path, ["f.npz"]) == []


@pytest.mark.parametrize("kind", ["descriptors", "descriptors-deflate"])
def test_data_descriptor_members_are_salvaged(kind, bases, tmp_path):
    data = bases[kind]
    cd = struct.unpack_from("<I", data, len(data) - 6)[0]   # the end record's CD offset
    path = tmp_path / "f.npz"
    path.write_bytes(data[:cd - 10])   # lose the directory and the last descriptor
    expected = readable(io.BytesIO(data))
    names = npz.recover(path)
    assert names == list(expected)[:-1]
    got = readable(path)
    assert got == {k: expected[k] for k in names}
    assert npz.status(path) == "closed"


def test_a_flipped_crc_in_the_directory_is_repaired(bases, tmp_path):
    data = bytearray(bases["cython"])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        key = z.namelist()[2]
    entries = [i for i in range(len(data)) if data[i:i + 4] == b"PK\x01\x02"]
    for at in entries:
        nlen = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + nlen] == key.encode():
            data[at + 16] ^= 0xFF
    path = tmp_path / "f.npz"
    path.write_bytes(bytes(data))
    before = readable(path)
    assert key[:-4] not in before and len(before) == 6
    assert npz.recover(path) == list(arrays())
    assert readable(path) == readable(io.BytesIO(bases["cython"]))


def test_salvage_that_would_lose_a_member_is_not_written(bases, tmp_path):
    # A member np.load reads whose local header no longer has its signature:
    # the salvage cannot find it, so the file stays as it is.
    data = bytearray(bases["cython"])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        infos = z.infolist()
    data[infos[1].header_offset + 40] ^= 1     # m1 unreadable (CRC)
    data[infos[3].header_offset + 4] ^= 1      # m3 still read by np.load (version field)
    data[infos[3].header_offset] ^= 1          # ...but its signature is gone
    path = tmp_path / "f.npz"
    path.write_bytes(bytes(data))
    before = readable(path)
    if infos[3].filename[:-4] in before:   # zipfile checks the signature: then unreadable
        with pytest.raises(ValueError, match="would lose"):
            npz.recover(path)
        assert path.read_bytes() == bytes(data)
    else:
        assert set(npz.recover(path)) >= set(before)
    assert leftovers(tmp_path, ["f.npz"]) == []


def test_recover_keeps_the_mode_and_leaves_no_temporary(bases, tmp_path):
    path = tmp_path / "f.npz"
    path.write_bytes(bases["cython"][:-40])
    os.chmod(path, 0o640)
    npz.recover(path)
    if os.name == "posix":   # Windows keeps only a read-only bit
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert leftovers(tmp_path, ["f.npz"]) == []


# -- the property ----------------------------------------------------------------

edits = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                 max_size=4)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), flips=edits,
       cut=st.one_of(st.none(), st.floats(0, 1)), tail_bias=st.booleans())
def test_recover_never_loses_a_member_np_load_reads(bases, tmp_path, kind, flips, cut,
                                                   tail_bias):
    data = bytearray(bases[kind])
    for where, xor in flips:
        # Half the time aim at the directory and end records at the tail.
        at = int(where * (min(len(data), 600) if tail_bias else len(data)))
        data[len(data) - 1 - at if tail_bias else at] ^= xor
    if cut is not None:
        data = data[:int(cut * len(data))]
    path = tmp_path / "f.npz"
    path.write_bytes(bytes(data))
    before = readable(path)
    try:
        names = npz.recover(path)
    except ValueError:
        assert path.read_bytes() == bytes(data)   # refused: untouched
    else:
        after = readable(path)
        lost = {k for k, v in before.items() if after.get(k) != v}
        assert not lost, (kind, flips, cut)
        assert set(names) == set(after), (kind, flips, cut)
    assert leftovers(tmp_path, ["f.npz"]) == []


def _cd_entry(data, name):
    for at in range(len(data) - 46):
        if data[at:at + 4] == b"PK\x01\x02":
            nlen = struct.unpack_from("<H", data, at + 28)[0]
            if data[at + 46:at + 46 + nlen] == name.encode():
                return at
    raise AssertionError(name)


@pytest.mark.parametrize("damage, kind", [("local-method", "cython-deflate"),
                                          ("cd-csize-too-large", "descriptors-deflate")])
def test_members_zipfile_reads_by_their_directory_entry_are_kept(damage, kind, bases,
                                                                 tmp_path):
    """Local fields zipfile ignores, or a deflate stream it reads although its
    directory entry states too large a size (no sizes in the local header:
    bit 3): the salvage keeps these members and the ones after them (found
    by the fuzz)."""
    data = bytearray(bases[kind])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        infos = z.infolist()
    data[infos[1].header_offset + 80] ^= 0xFF       # m1: bad CRC, so recover must salvage
    if damage == "local-method":
        data[infos[3].header_offset + 8] ^= 2
    elif damage == "cd-csize-too-large":   # reaches into the next member; zipfile stops at the end mark
        at = _cd_entry(data, infos[3].filename)
        struct.pack_into("<I", data, at + 20, infos[3].compress_size + 256)
    path = tmp_path / "f.npz"
    path.write_bytes(bytes(data))
    before = readable(path)
    # Every member but m1 reads (Python 3.13's zipfile also refuses the
    # overlong m3, whose entry overlaps the next member; older ones read it).
    others = {i.filename[:-4] for i in infos} - {infos[1].filename[:-4], infos[3].filename[:-4]}
    assert others <= set(before) and infos[1].filename[:-4] not in before
    if damage == "local-method":
        assert len(before) == len(infos) - 1
    names = npz.recover(path)
    after = readable(path)
    assert set(names) == set(after) and {k: after[k] for k in before} == before
    assert set(after) - set(before) <= {infos[3].filename[:-4]}   # the salvage may read m3 where zipfile refused it
    assert len(after) == len(infos) - 1


def test_a_file_that_changes_during_recover_is_left_alone(bases, tmp_path, monkeypatch):
    from fastcallbacks import _npzsalvage

    path = tmp_path / "f.npz"
    cut = bases["cython"][:-40]
    path.write_bytes(cut)
    real = _npzsalvage.write_salvage

    def write_then_grow(*args, **kwargs):   # a writer appends meanwhile
        tmp = real(*args, **kwargs)
        with open(path, "ab") as f:
            f.write(b"more")
        return tmp

    monkeypatch.setattr(_npzsalvage, "write_salvage", write_then_grow)
    with pytest.raises(ValueError, match="changed while"):
        npz.recover(path)
    assert path.read_bytes() == cut + b"more"
    assert leftovers(tmp_path, ["f.npz"]) == []


def test_a_huge_sparse_file_is_scanned_by_its_data_only(bases, tmp_path):
    """A writer killed while its file was sparse (end records far beyond the
    members) leaves a file of many GiB that is nearly all hole: scan,
    inspect and recover look only at the data (SEEK_DATA), so they finish
    in about the time the members take. In a subprocess with a time limit."""
    import subprocess
    import sys

    data = bases["cython"]
    cd = struct.unpack_from("<I", data, len(data) - 6)[0]   # directory offset
    path = tmp_path / "sparse.npz"
    with open(path, "wb") as f:
        f.write(data[:cd])          # the members, then only a hole
        f.truncate((1 << 40) if sys.platform.startswith("linux") else (256 << 20))
    if sys.platform.startswith("linux"):
        assert os.stat(path).st_blocks * 512 < 64 << 20, "the file system is not sparse"
    code = ("import sys\nfrom fastcallbacks import npz\nfrom fastcallbacks.__main__ import main\n"
            "p = sys.argv[1]\nassert npz.status(p) == 'damaged'\n"
            "assert len(npz.scan(p)[0]) == 7\nassert main(['inspect', p]) == 1\n"
            "print(npz.recover(p))\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(npz.__file__)) + os.pathsep + env.get(
        "PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines()[-1] == str(list(arrays()))
    assert os.stat(path).st_size <= len(data)
    assert readable(path) == readable(io.BytesIO(data))
