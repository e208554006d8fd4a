"""Files the npz writer makes get the mode `open()` would give them
(issue 17 item 2): `0o666` less the umask, not the 0600 of a private temp.

The umask is process-wide: each test sets it and puts it back (the tests
of this file run one at a time, in one thread).
"""

import os
import stat

import numpy as np
import pytest

from fastcallbacks import _tempfiles, npz

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


@pytest.fixture(params=[0o022, 0o077, 0o027])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_default_mode_follows_the_umask(umask):
    assert _tempfiles.default_mode() == 0o666 & ~umask
    # open() agrees.
    assert _tempfiles._read_umask() in (umask, None)


def test_apply_default_mode_on_a_descriptor_and_a_path(umask, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    fd = os.open(a, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        assert _tempfiles.apply_default_mode(fd) == 0o666 & ~umask
    finally:
        os.close(fd)
    b.write_bytes(b"")
    os.chmod(b, 0o600)
    _tempfiles.apply_default_mode(str(b))
    with open(tmp_path / "c", "w"):
        pass
    assert mode_of(a) == mode_of(b) == mode_of(tmp_path / "c") == 0o666 & ~umask


def test_without_proc_the_umask_read_at_import_is_used(monkeypatch):
    monkeypatch.setattr(_tempfiles, "_read_umask", lambda: None)
    monkeypatch.setattr(_tempfiles, "_IMPORT_UMASK", 0o037)
    assert _tempfiles.default_mode() == 0o640


def test_npz_writer_file_gets_the_mode_open_would(impl, umask, tmp_path):
    path = tmp_path / "acts.npz"
    with impl.NpzWriter(path) as w:
        assert mode_of(path) == 0o666 & ~umask   # already while it is open
        w.add("x", np.arange(5.0))
    assert mode_of(path) == 0o666 & ~umask
    with np.load(path) as z:
        assert np.array_equal(z["x"], np.arange(5.0))
    assert sorted(os.listdir(tmp_path)) == ["acts.npz"]


def test_recover_keeps_the_mode_the_file_had(umask, tmp_path):
    path = tmp_path / "f.npz"
    with npz.NpzWriter(path) as w:
        w.add("a", np.arange(3))
        w.add("b", np.arange(4))
    os.chmod(path, 0o640)
    data = path.read_bytes()
    path.write_bytes(data[:-30])     # lose the end record
    assert npz.recover(path) == ["a", "b"]
    assert mode_of(path) == 0o640
