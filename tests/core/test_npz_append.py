"""`NpzWriter(path, "a", keep=...)` continues an existing file (issue 14
item 5): closed, left open by a killed writer, or damaged (repaired first);
the kept members stay, in order, new ones follow; a kill at any moment
leaves the old file or the continued one, never less."""

import os
import random
import signal
import stat
import struct
import time

import numpy as np
import pytest

from fastcallbacks import _tempfiles, npz

from .children import fork, read_first_ints, read_ints, wait
from .exact_arrays import assert_array_identical
from .impls import load_impl

POSIX = os.name == "posix"


def old(i):
    return np.arange(i + 3, dtype="f8") * (i + 1)


def new(i):
    return np.full((2, i % 5 + 1), -i, dtype="i4")


def base(impl, path, n=6, close=True):
    w = impl.NpzWriter(path)
    for i in range(n):
        w.add(f"m{i:03d}", old(i))
    if close:
        w.close()
        return None
    w.commit()
    return w   # left open, as a killed writer leaves it


def names_and_arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def temps(directory):
    return [n for n in os.listdir(directory) if _tempfiles.is_temp_name(n)]


def test_continues_a_closed_file_keeping_order_and_members(impl, tmp_path):
    path = tmp_path / "a.npz"
    base(impl, path)
    with impl.NpzWriter(path, "a") as w:
        assert w.mode == "a"
        assert w.members == tuple(f"m{i:03d}" for i in range(6))
        w.add("m006", new(6))
        with pytest.raises(ValueError, match="already added"):
            w.add("m002", new(2))
    got = names_and_arrays(path)
    assert list(got) == [f"m{i:03d}" for i in range(7)]
    for i in range(6):
        assert_array_identical(got[f"m{i:03d}"], old(i))
    assert_array_identical(got["m006"], new(6))
    assert npz.status(path) == "closed"
    assert temps(tmp_path) == []


def test_keep_drops_members_after_a_point_and_they_can_be_rewritten(impl, tmp_path):
    # ActivationLogger's names: keep the epochs up to 2, redo the rest.
    path = tmp_path / "acts.npz"
    with impl.NpzWriter(path) as w:
        for epoch in range(5):
            for layer in ("dense", "out"):
                w.add(f"{layer}/epoch_{epoch:04d}", old(epoch))
    upto = 2
    with impl.NpzWriter(path, "a", keep=lambda name: int(name[-4:]) <= upto) as w:
        assert w.members == tuple(f"{layer}/epoch_{e:04d}" for e in range(3)
                                  for layer in ("dense", "out"))
        w.add("dense/epoch_0003", new(3))
    got = names_and_arrays(path)
    assert list(got) == list(w.members) and w.members[-1] == "dense/epoch_0003"
    assert_array_identical(got["dense/epoch_0003"], new(3))
    assert_array_identical(got["out/epoch_0002"], old(2))


def test_continues_the_file_of_a_killed_writer(impl, tmp_path):
    path = tmp_path / "open.npz"
    left = base(impl, path, close=False)
    assert npz.status(path) == "open"      # listed newest first
    with impl.NpzWriter(path, "a") as w:
        assert w.members == tuple(f"m{i:03d}" for i in range(6))   # add order
        w.add("x", new(1))
    assert list(names_and_arrays(path)) == [f"m{i:03d}" for i in range(6)] + ["x"]
    left.close()   # the old writer finishes the replaced (unlinked) file
    assert list(names_and_arrays(path))[-1] == "x"


def test_a_damaged_file_is_recovered_first(impl, tmp_path):
    path = tmp_path / "d.npz"
    base(impl, path)
    data = path.read_bytes()
    path.write_bytes(data[:-40])   # the end records are gone
    assert npz.status(path) == "damaged"
    with impl.NpzWriter(path, "a") as w:
        assert w.members == tuple(f"m{i:03d}" for i in range(6))
        w.add("x", new(0))
    assert len(names_and_arrays(path)) == 7


@pytest.mark.parametrize("text", [b"not an npz at all\n", b""])
def test_a_file_that_is_not_an_npz_raises_and_is_left_as_is(impl, tmp_path, text):
    path = tmp_path / "t.npz"
    path.write_bytes(text)
    with pytest.raises(ValueError, match="left unchanged"):
        impl.NpzWriter(path, "a")
    assert path.read_bytes() == text
    assert sorted(os.listdir(tmp_path)) == ["t.npz"]


def test_append_without_a_file_creates_one(impl, tmp_path):
    path = tmp_path / "new.npz"
    with impl.NpzWriter(path, "a") as w:
        w.add("a", new(1))
    assert list(names_and_arrays(path)) == ["a"]


def test_the_continued_file_keeps_its_permissions(impl, tmp_path):
    path = tmp_path / "p.npz"
    base(impl, path)
    os.chmod(path, 0o640)
    with impl.NpzWriter(path, "a") as w:
        w.add("x", new(0))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_bad_mode_and_keep_raise_before_touching_the_file(impl, tmp_path):
    path = tmp_path / "b.npz"
    base(impl, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="`mode`"):
        impl.NpzWriter(path, "x")
    with pytest.raises(TypeError, match="`keep`"):
        impl.NpzWriter(path, "a", keep="m000")
    with pytest.raises(ValueError, match="`keep`"):
        impl.NpzWriter(path, "w", keep=lambda n: True)
    with pytest.raises(TypeError, match="must return a bool"):
        impl.NpzWriter(path, "a", keep=lambda n: n)

    def boom(name):
        raise KeyError(name)

    with pytest.raises(KeyError):
        impl.NpzWriter(path, "a", keep=boom)
    assert path.read_bytes() == before
    assert temps(tmp_path) == []


def test_a_failed_copy_leaves_the_old_file_and_no_temp(impl, tmp_path, monkeypatch):
    path = tmp_path / "f.npz"
    base(impl, path)
    before = path.read_bytes()
    real = os.replace

    def failing(src, dst):
        if os.fspath(dst) == os.fspath(path):   # the final rename only
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    try:
        with pytest.raises(OSError):
            impl.NpzWriter(path, "a")
    finally:
        monkeypatch.setattr(os, "replace", real)
    assert path.read_bytes() == before
    assert temps(tmp_path) == []


def test_both_engines_continue_a_file_to_the_same_bytes(tmp_path):
    outs = []
    for name in ("cython", "python"):
        impl = load_impl(name)
        path = tmp_path / f"{name}.npz"
        base(impl, path, n=9)
        with impl.NpzWriter(path, "a", keep=lambda n: n not in ("m003", "m007")) as w:
            for i in range(4):
                w.add(f"n{i}", new(i))
        outs.append(path.read_bytes())
    assert outs[0] == outs[1]


# -- kill -9 -------------------------------------------------------------------------

def _child_appender(impl_name, path, fd, n_new):
    impl = load_impl(impl_name)
    os.write(fd, struct.pack("<i", -2))   # ready: the kill's delay counts from here
    w = impl.NpzWriter(path, "a", keep=lambda n: n < "m004")
    os.write(fd, struct.pack("<i", 0))   # continued: the old file is replaced
    for i in range(n_new):
        w.add(f"n{i:03d}", new(i))
        w.commit()
        os.write(fd, struct.pack("<i", i + 1))
    w.close()


def kill_trials(impl, tmp_path, delays):
    outcomes = []
    for trial, delay in enumerate(delays):
        path = str(tmp_path / f"k{trial}.npz")
        left = base(impl, path, close=trial % 2 == 0)   # closed, or a killed writer's
        # An open file is sparse, as large as the file system: compare its
        # identity, size and time (the old file is never written in place).
        st = os.stat(path)
        before = (st.st_ino, st.st_size, st.st_mtime_ns)
        pid, r = fork(_child_appender, impl.name, path, n_new=30)
        # The delay counts from the child's "ready" (a loaded machine can
        # take longer than the longest delay to start a child).
        assert read_first_ints(r, 1) == [-2], "the child did not start"
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        wait(pid)
        reported = read_ints(r)
        st = os.stat(path)
        untouched = (st.st_ino, st.st_size, st.st_mtime_ns) == before
        got = names_and_arrays(path)
        if left is not None:
            left.close()   # finishes whichever file it has open
        if untouched:
            assert not reported
            outcomes.append(-1)      # killed before the rename: the old file
        else:
            kept = [f"m{i:03d}" for i in range(4)]
            assert sorted(got)[:4] == kept, sorted(got)
            added = sorted(n for n in got if n.startswith("n"))
            assert added == [f"n{i:03d}" for i in range(len(added))]
            assert len(added) >= max(reported, default=0)
            for i in range(4):
                assert_array_identical(got[f"m{i:03d}"], old(i))
            for i in range(len(added)):
                assert_array_identical(got[f"n{i:03d}"], new(i))
            outcomes.append(len(added))
        if not untouched:
            assert set(npz.recover(path)) == set(got)
        # What a killed continuation leaves behind is a stale temp only.
        _tempfiles.remove_stale_temps(str(tmp_path))
        assert temps(tmp_path) == []
    return outcomes


def test_sigkill_while_continuing_a_file_leaves_the_old_or_the_continued_file(impl, tmp_path):
    assert POSIX, "this test needs fork() and SIGKILL"
    outcomes = kill_trials(impl, tmp_path, [0.0, 0.003, 0.01, 0.03, 0.1, 0.3])
    # The kills landed at different moments: before and after the rename.
    assert -1 in outcomes and max(outcomes) > 0, outcomes


@pytest.mark.long
def test_sigkill_while_continuing_many_trials(impl, tmp_path):
    rnd = random.Random(14)
    outcomes = kill_trials(impl, tmp_path, [rnd.uniform(0.0, 0.15) for _ in range(60)])
    assert len(set(outcomes)) >= 4, outcomes
