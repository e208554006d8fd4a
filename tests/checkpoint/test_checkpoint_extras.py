"""The features beyond Keras: retention (save_top_k, max_to_keep),
asynchronous saves, non-finite skipping, checksums, role gating."""

import concurrent.futures
import errno
import hashlib
import os
import threading

import h5py
import keras
import numpy as np
import pytest

import fastcallbacks
from ckpt_utils import checkpoint_files, classifier, loaded_state
from fastcallbacks import _ckptwriter, checkpoint


def _epochs(cb, model, values, monitor="val_loss"):
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate(values):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
    cb.on_train_end()


def _fill(model, value):
    model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])


def _first_value(path):
    with h5py.File(path, "r") as f:
        return float(f["layers/dense/vars/0"][0, 0])


# -- retention -----------------------------------------------------------------


@pytest.mark.parametrize("async_save", [False, True])
def test_max_to_keep_keeps_latest_and_the_best(tmp_path, async_save):
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}.weights.h5"), save_weights_only=True,
        max_to_keep=2, async_save=async_save, checksum=True)
    _epochs(cb, classifier(build=True), [0.5, 0.9, 0.8, 0.7, 0.6])
    data, sidecars = checkpoint_files(tmp_path)
    # e1 holds the best val_loss: never deleted; e4, e5 are the latest two.
    assert data == ["e1.weights.h5", "e4.weights.h5", "e5.weights.h5"]
    assert sidecars == [f + checkpoint.SIDECAR_SUFFIX for f in data]


@pytest.mark.parametrize("mode,expected", [
    ("min", ["e3.weights.h5", "e5.weights.h5"]),
    ("max", ["e2.weights.h5", "e4.weights.h5"]),
])
def test_save_top_k_keeps_the_k_best(tmp_path, mode, expected):
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}.weights.h5"), save_weights_only=True,
        save_top_k=2, mode=mode)
    _epochs(cb, classifier(build=True), [0.5, 0.9, 0.3, 0.7, 0.4])
    assert checkpoint_files(tmp_path)[0] == expected


def test_top_k_and_max_to_keep_compose_and_missing_values_rank_last(tmp_path):
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}.weights.h5"), save_weights_only=True,
        save_top_k=1, max_to_keep=1, monitor="val_auc", mode="max")
    model = classifier(build=True)
    cb.set_model(model)
    for epoch, logs in enumerate([{"val_auc": 0.6}, {"val_auc": 0.9}, {"val_auc": 0.7}, {}]):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, logs)
    # the best (e2) by the top-k rule, the latest (e4, no value) by max_to_keep
    assert checkpoint_files(tmp_path)[0] == ["e2.weights.h5", "e4.weights.h5"]


def test_save_best_only_with_fixed_name_and_max_to_keep(tmp_path):
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"), save_weights_only=True,
        save_best_only=True, max_to_keep=1)
    model = classifier(build=True)
    cb.set_model(model)
    for epoch, (value, w) in enumerate([(0.5, 1.0), (0.7, 2.0), (0.4, 3.0)]):
        _fill(model, w)
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"val_loss": value})
    assert checkpoint_files(tmp_path)[0] == ["best.weights.h5"]
    assert _first_value(tmp_path / "best.weights.h5") == 3.0
    assert cb.best == 0.4


# -- asynchronous saves --------------------------------------------------------


def test_async_save_writes_the_snapshot_not_later_weights(tmp_path):
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}.keras"), async_save=True)
    model = classifier(build=True)
    cb.set_model(model)
    _fill(model, 1.0)
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    _fill(model, 2.0)  # while the file may still be written
    cb.on_train_end()
    weights, _ = loaded_state(str(tmp_path / "e1.keras"), weights_only=False)
    assert all(np.all(w == 1.0) for w in weights)
    assert checkpoint.verify(tmp_path / "e1.keras")


def test_async_second_save_waits_for_the_first(tmp_path, monkeypatch):
    release = threading.Event()
    entered = threading.Event()
    real = _ckptwriter.write_weights_h5

    def slow(path, layout, arrays, **kwargs):
        entered.set()
        assert release.wait(20)
        return real(path, layout, arrays, **kwargs)

    monkeypatch.setattr(_ckptwriter, "write_weights_h5", slow)
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}.weights.h5"), save_weights_only=True, async_save=True)
    cb.set_model(classifier(build=True))
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    assert entered.wait(20)
    second = threading.Thread(target=cb.on_epoch_end, args=(1, {"val_loss": 1.0}))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # blocked behind the first save
    # (only the first save's temporary file exists)
    assert [n for n in checkpoint_files(tmp_path)[0] if not checkpoint.is_temp_name(n)] == []
    release.set()
    second.join(20)
    assert not second.is_alive()
    cb.on_train_end()
    assert checkpoint_files(tmp_path)[0] == ["e1.weights.h5", "e2.weights.h5"]


@pytest.mark.parametrize("surface", ["next_hook", "train_end"])
def test_async_error_is_raised_later_and_previous_file_survives(tmp_path, monkeypatch, surface):
    path = tmp_path / "last.weights.h5"
    cb = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True, async_save=True)
    model = classifier(build=True)
    _fill(model, 1.0)
    cb.set_model(model)
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.flush()
    good = path.read_bytes()

    def full_disk(tmp, layout, arrays, **kwargs):
        with open(tmp, "wb") as f:
            f.write(b"\0" * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_ckptwriter, "write_weights_h5", full_disk)
    _fill(model, 2.0)
    cb.on_epoch_begin(1)
    cb.on_epoch_end(1, {"val_loss": 1.0})  # returns: the write is in flight
    with pytest.raises(OSError) as info:
        if surface == "next_hook":
            concurrent.futures.wait([cb._future])  # done, not yet reported
            cb.on_epoch_begin(2)
        else:
            cb.on_train_end()
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value) and "unchanged" in str(info.value)
    assert path.read_bytes() == good and checkpoint.verify(path)
    assert checkpoint_files(tmp_path)[0] == ["last.weights.h5"]  # no temp file
    cb.on_train_end()  # the error was raised once


@pytest.mark.parametrize("fails", [False, True])
def test_async_save_in_flight_when_fit_raises_ends_at_flush(tmp_path, monkeypatch, fails):
    # Keras runs no on_train_end after an error: the save started at the
    # epoch end before it goes on in the background; flush() waits for it
    # and raises its error (the user's `finally`, or AgreeOnStop's worker).
    path = tmp_path / "last.weights.h5"
    started, release = threading.Event(), threading.Event()
    real = _ckptwriter.write_weights_h5

    def slow(tmp, layout, arrays, **kwargs):
        started.set()
        release.wait(20)
        if fails:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(tmp, layout, arrays, **kwargs)

    class Fails(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("a later callback failed")

    monkeypatch.setattr(_ckptwriter, "write_weights_h5", slow)
    cb = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True, async_save=True)
    model = classifier()
    with pytest.raises(RuntimeError, match="a later callback failed"):
        model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=3, verbose=0,
                  callbacks=[cb, Fails()])
    assert started.wait(20)   # the save runs on after fit raised
    assert not path.exists()
    release.set()
    if fails:
        with pytest.raises(OSError) as info:
            cb.flush()
        assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
        assert checkpoint_files(tmp_path)[0] == []   # no file, no temporary file
    else:
        cb.flush()
        assert checkpoint_files(tmp_path)[0] == ["last.weights.h5"]
        assert checkpoint.verify(path)
        np.testing.assert_array_equal(loaded_state(path, True)[0][0],
                                      model.get_weights()[0])
    cb.flush()   # reported once
    cb.on_train_end()


def test_async_error_without_errno_is_raised_with_a_note(tmp_path, monkeypatch):
    path = tmp_path / "last.weights.h5"
    cb = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True, async_save=True)
    cb.set_model(classifier(build=True))

    def broken(tmp, layout, arrays, **kwargs):
        raise RuntimeError("writer broke")

    monkeypatch.setattr(_ckptwriter, "write_weights_h5", broken)
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    with pytest.raises(RuntimeError, match="writer broke") as info:
        cb.on_train_end()
    # The error itself, with a note naming the file (Python 3.10 too).
    assert info.value.__notes__ == [f"(raised by the background save to {path})"]
    assert checkpoint_files(tmp_path)[0] == []


# -- non-finite weights --------------------------------------------------------


@pytest.mark.parametrize("async_save", [False, True])
def test_non_finite_weights_are_not_saved(tmp_path, async_save):
    path = tmp_path / "last.weights.h5"
    cb = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True,
                                       async_save=async_save)
    model = classifier(build=True)
    _fill(model, 1.0)
    cb.set_model(model)
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.flush()
    w = model.get_weights()
    w[2][0, 0] = np.inf
    model.set_weights(w)
    with pytest.warns(UserWarning, match="NaN or infinity"):
        cb.on_epoch_begin(1)
        cb.on_epoch_end(1, {"val_loss": 1.0})
        cb.on_train_end()
    assert _first_value(path) == 1.0 and checkpoint.verify(path)
    off = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True,
                                        skip_non_finite=False, async_save=async_save)
    off.set_model(model)
    off.on_epoch_begin(0)
    off.on_epoch_end(0, {"val_loss": 1.0})
    off.on_train_end()
    with h5py.File(path, "r") as f:
        assert np.isinf(f["layers/dense_1/vars/0"][0, 0])


def test_all_finite_checks_floats_only():
    assert _ckptwriter.all_finite([np.zeros(3), np.arange(3), np.zeros(0)])
    assert not _ckptwriter.all_finite([np.array([1.0, np.nan])])
    assert not _ckptwriter.all_finite([np.array([-np.inf], "float32")])


# -- checksums -----------------------------------------------------------------


def test_verify_detects_corruption_truncation_and_missing_sidecar(tmp_path):
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"),
                                       save_weights_only=True, checksum=True)
    _epochs(cb, classifier(build=True), [0.5, 0.4, 0.3])
    e1, e2, e3 = (tmp_path / f"e{i}.weights.h5" for i in (1, 2, 3))
    assert all(checkpoint.verify(p) for p in (e1, e2, e3))
    assert checkpoint.latest_good(tmp_path) == str(e3)
    data = bytearray(e3.read_bytes())
    data[len(data) // 2] ^= 0xFF
    e3.write_bytes(bytes(data))  # same size, one bit pattern changed
    assert not checkpoint.verify(e3)
    assert checkpoint.latest_good(tmp_path) == str(e2)
    e2.write_bytes(e2.read_bytes()[:-10])
    assert not checkpoint.verify(e2)
    assert checkpoint.latest_good(tmp_path) == str(e1)
    # Without its sidecar, e1 is checked for structure (intact: it verifies).
    os.remove(str(e1) + checkpoint.SIDECAR_SUFFIX)
    assert checkpoint.verify(e1)
    assert checkpoint.latest_good(tmp_path) == str(e1)
    e1.write_bytes(e1.read_bytes()[:-10])
    assert not checkpoint.verify(e1)
    assert checkpoint.latest_good(tmp_path) is None
    assert checkpoint.latest_good(tmp_path / "missing") is None


@pytest.mark.parametrize("kwargs", [{}, {"checksum": False}], ids=["default", "false"])
def test_no_sidecar_by_default_and_files_verify_by_structure(tmp_path, kwargs):
    cbs = [fastcallbacks.ModelCheckpoint(str(tmp_path / "k{epoch}.keras"), **kwargs),
           fastcallbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.weights.h5"),
                                         save_weights_only=True, **kwargs),
           fastcallbacks.ModelCheckpoint(str(tmp_path / "legacy.h5"), **kwargs)]
    model = classifier(build=True)
    for cb in cbs:
        cb.set_model(model)
    for epoch in range(2):
        for cb in cbs:
            cb.on_epoch_begin(epoch)
            cb.on_epoch_end(epoch, {"val_loss": 1.0})
    for cb in cbs:
        cb.on_train_end()
    files = ["k1.keras", "k2.keras", "legacy.h5", "w1.weights.h5", "w2.weights.h5"]
    assert checkpoint_files(tmp_path) == (files, [])
    assert all(checkpoint.verify(tmp_path / f) for f in files)
    # Newest by modification time; a damaged newest file is passed over.
    times = {f: 10**18 + i * 10**9 for i, f in enumerate(files)}
    for f, t in times.items():
        os.utime(tmp_path / f, ns=(t, t))
    assert checkpoint.latest_good(tmp_path) == str(tmp_path / "w2.weights.h5")
    w2 = tmp_path / "w2.weights.h5"
    w2.write_bytes(w2.read_bytes()[: w2.stat().st_size // 2])
    os.utime(w2, ns=(times["w2.weights.h5"],) * 2)
    assert not checkpoint.verify(w2)
    assert checkpoint.latest_good(tmp_path) == str(tmp_path / "w1.weights.h5")
    # A .keras zip: a changed byte fails its member's CRC-32.
    k2 = tmp_path / "k2.keras"
    data = bytearray(k2.read_bytes())
    data[len(data) // 3] ^= 0xFF
    k2.write_bytes(bytes(data))
    assert not checkpoint.verify(k2)
    # Not a checkpoint, another suffix, not a regular file: never verifies.
    (tmp_path / "junk.keras").write_bytes(b"PK not a zip")
    (tmp_path / "junk.weights.h5").write_bytes(b"\x89HDF\r\n")
    (tmp_path / "notes.bin").write_bytes(b"x")
    os.mkdir(tmp_path / "dir.keras")
    for name in ("junk.keras", "junk.weights.h5", "notes.bin", "dir.keras", "absent.keras"):
        assert not checkpoint.verify(tmp_path / name), name
    assert checkpoint.latest_good(tmp_path) == str(tmp_path / "w1.weights.h5")


def test_sidecar_accepts_old_and_new_during_a_replacement(tmp_path):
    """The state between steps 1 and 2 of a commit: both contents verify."""
    path = tmp_path / "f.bin"
    for content in (b"old", b"new"):
        tmp = checkpoint.temp_path(path)
        with open(tmp, "wb") as f:
            f.write(content)
        checkpoint.commit(tmp, path)
    entry_new = checkpoint._read_sidecar(path)
    path.write_bytes(b"old")
    assert not checkpoint.verify(path)
    tmp = checkpoint.temp_path(path)
    with open(tmp, "wb") as f:
        f.write(b"newer")
    size, digest = checkpoint.file_digest(tmp)
    checkpoint._write_atomic(checkpoint.sidecar_path(path), checkpoint._sidecar_bytes(
        [{"size": size, "sha256": digest, "time_ns": 2}] + entry_new))
    path.write_bytes(b"new")  # the old file, still in place
    assert checkpoint.verify(path)
    os.replace(tmp, path)
    assert checkpoint.verify(path)


def _commit_bytes(path, content, **kwargs):
    tmp = checkpoint.temp_path(path)
    with open(tmp, "wb") as f:
        f.write(content)
    return checkpoint.commit(tmp, path, **kwargs)


@pytest.mark.parametrize("checksum", [True, False])
def test_commit_hands_the_replaced_file_to_delete_under_a_second_name(
        tmp_path, monkeypatch, checksum):
    monkeypatch.setattr(checkpoint, "_DEFER_DELETE_MIN", 4)
    path = tmp_path / "f.bin"
    handed = []

    def delete(name):
        # Called last: the new file and its sidecar are complete by now.
        assert path.read_bytes() == b"new content"
        assert not checksum or checkpoint.verify(path)
        with open(name, "rb") as f:
            handed.append((name, f.read()))

    _commit_bytes(path, b"old content", checksum=checksum, delete=delete)
    assert handed == []  # nothing was replaced
    _commit_bytes(path, b"new content", checksum=checksum, delete=delete)
    (name, content), = handed
    assert content == b"old content"  # the old file, by its second name
    assert os.path.dirname(name) == str(tmp_path)
    assert checkpoint.is_temp_name(os.path.basename(name))
    os.remove(name)
    # Below the size limit, or without `delete`, the replace deletes it.
    monkeypatch.setattr(checkpoint, "_DEFER_DELETE_MIN", 1 << 20)
    _commit_bytes(path, b"newer", checksum=checksum, delete=delete)
    _commit_bytes(path, b"newest", checksum=checksum)
    assert len(handed) == 1
    assert sorted(os.listdir(tmp_path)) == (
        ["f.bin", "f.bin" + checkpoint.SIDECAR_SUFFIX] if checksum else ["f.bin"])


def test_commit_without_hard_links_replaces_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "_DEFER_DELETE_MIN", 0)
    path = tmp_path / "f.bin"
    _commit_bytes(path, b"old")

    def no_link(src, dst):
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_link)
    handed = []
    _commit_bytes(path, b"new", delete=handed.append)
    assert handed == [] and path.read_bytes() == b"new" and checkpoint.verify(path)
    assert len(os.listdir(tmp_path)) == 2


def test_commit_failed_replace_keeps_the_old_file_and_no_second_name(
        tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "_DEFER_DELETE_MIN", 0)
    path = tmp_path / "f.bin"
    _commit_bytes(path, b"old")
    real_replace = os.replace

    def failing_replace(src, dst):
        if os.path.basename(str(dst)) == "f.bin":
            raise OSError(errno.EIO, "replace failed")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    handed = []
    tmp = checkpoint.temp_path(path)
    with open(tmp, "wb") as f:
        f.write(b"new")
    with pytest.raises(OSError, match="replace failed"):
        checkpoint.commit(tmp, path, delete=handed.append)
    os.remove(tmp)
    assert handed == [] and path.read_bytes() == b"old" and checkpoint.verify(path)
    assert sorted(os.listdir(tmp_path)) == ["f.bin", "f.bin" + checkpoint.SIDECAR_SUFFIX]


def test_digest_during_fsync_matches_and_passes_errors_on(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "_PARALLEL_DIGEST_MIN", 0)
    path = tmp_path / "f.bin"
    data = np.random.default_rng(0).bytes(3 << 20)
    path.write_bytes(data)
    assert checkpoint._fsync_and_digest(str(path)) == checkpoint.file_digest(str(path))
    assert checkpoint._fsync_and_digest(str(path))[1] == hashlib.sha256(data).hexdigest()

    # An error on either thread reaches the caller.
    for name, error in (("file_digest", OSError(errno.EIO, "read failed")),
                        ("fsync_path", OSError(errno.ENOSPC, "no space"))):
        def broken(p, error=error):
            raise error

        with monkeypatch.context() as m:
            m.setattr(checkpoint, name, broken)
            with pytest.raises(OSError, match=error.strerror):
                checkpoint._fsync_and_digest(str(path))


_LAYOUTS = {}


def _layout_and_arrays(features):
    # Made once per size (the two tests with features=3000 share it: a fit
    # each was most of their time); the writer only reads them.
    if features not in _LAYOUTS:
        model = classifier(features=features, build=True)
        model.fit(np.ones((4, features)), np.ones((4, 1)), epochs=1, verbose=0)
        layout = _ckptwriter.record_layout(model, with_assets=False)
        _LAYOUTS[features] = layout, [keras.ops.convert_to_numpy(v.value)
                                      for v in layout.variables]
    layout, arrays = _LAYOUTS[features]
    return layout, list(arrays)


@pytest.mark.parametrize("features", [4, 3000])
def test_weights_h5_digest_taken_while_writing_is_the_files(tmp_path, features):
    # features=3000: kernels large enough to be written raw (around HDF5's
    # own bytes); features=4: nothing raw, so no digest is offered.
    layout, arrays = _layout_and_arrays(features)
    path = str(tmp_path / "w.weights.h5")
    pending = _ckptwriter.write_weights_h5(path, layout, arrays, digest=True)
    if features == 4:
        assert pending is None
        return
    assert pending.result() == checkpoint.file_digest(path)
    # The layout it assumed does not hold (a region past the end): None,
    # and commit then hashes the file.
    bad = checkpoint._in_background(
        checkpoint._file_digest_with, path, [(os.path.getsize(path) - 4, arrays[0])])
    assert bad.result() is None
    entry = checkpoint.commit(path, str(tmp_path / "final.weights.h5"), pending_digest=bad)
    assert (entry["size"], entry["sha256"]) == checkpoint.file_digest(
        str(tmp_path / "final.weights.h5"))
    assert checkpoint.verify(tmp_path / "final.weights.h5")


def test_weights_h5_digest_errors_reach_the_caller(tmp_path, monkeypatch):
    layout, arrays = _layout_and_arrays(3000)
    path = str(tmp_path / "w.weights.h5")
    started = []
    real_background = checkpoint._in_background

    def background(*args):
        started.append(real_background(*args))
        return started[-1]

    monkeypatch.setattr(checkpoint, "_in_background", background)

    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "no space")

    with monkeypatch.context() as m:
        m.setattr(_ckptwriter, "_pwrite", full)
        with pytest.raises(OSError, match="no space"):
            _ckptwriter.write_weights_h5(path, layout, arrays, digest=True)
    # The digest thread had finished before the error left the writer.
    assert len(started) == 1 and started[0].done()
    os.remove(path)
    # The digest thread failing: the error comes out of commit.
    pending = _ckptwriter.write_weights_h5(path, layout, arrays, digest=True)
    pending.result()
    pending = concurrent.futures.Future()
    pending.set_exception(OSError(errno.EIO, "read failed"))
    with pytest.raises(OSError, match="read failed"):
        checkpoint.commit(path, str(tmp_path / "final.weights.h5"), pending_digest=pending)
    assert not os.path.exists(tmp_path / "final.weights.h5")
    # The fsync failing: its error is reported, after the digest finished.
    calls = []

    def read_failed():
        calls.append(1)
        raise OSError(errno.EIO, "read failed")

    digest = real_background(read_failed)

    def no_space(p):
        raise OSError(errno.ENOSPC, "no space")

    with monkeypatch.context() as m:
        m.setattr(checkpoint, "fsync_path", no_space)
        with pytest.raises(OSError, match="no space"):
            checkpoint.commit(path, str(tmp_path / "final.weights.h5"), pending_digest=digest)
    assert calls == [1] and not os.path.exists(tmp_path / "final.weights.h5")


@pytest.mark.parametrize("template", ["w.weights.h5", "m.keras", "legacy.h5"])
def test_sync_saves_delete_replaced_files_in_the_background(
        tmp_path, monkeypatch, template):
    monkeypatch.setattr(checkpoint, "_DEFER_DELETE_MIN", 0)
    removed = []
    real_remove = checkpoint._remove_quietly

    def remove(name):
        removed.append((threading.current_thread().name, os.path.basename(name)))
        real_remove(name)

    monkeypatch.setattr(checkpoint, "_remove_quietly", remove)
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / template), save_weights_only=template.endswith(".weights.h5"))
    _epochs(cb, classifier(build=True), [0.5, 0.4, 0.3])
    # Two replacements, each deleted by its second name on the deleter
    # thread; nothing is left once training has ended.
    second = [r for r in removed if r[1].endswith(".old")]
    assert len(second) == 2, removed
    assert all(t.startswith("fastcallbacks-delete") for t, _ in second), removed
    assert checkpoint_files(tmp_path)[0] == [template]
    assert sorted(os.listdir(tmp_path)) == [template]
    assert checkpoint.verify(tmp_path / template)
    assert cb._deleter is None


def test_delete_later_deletes_inline_when_no_thread_can_start(tmp_path, monkeypatch):
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"))

    class Refusing:
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, *args):
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Refusing)
    victim = tmp_path / ".w.weights.h5.fctmp-x.old"
    victim.write_bytes(b"old")
    cb._delete_later(str(victim))
    assert not victim.exists()


# -- roles ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["d{epoch}.weights.h5", "legacy{epoch}.h5"])
def test_non_writer_decides_but_writes_nothing(tmp_path, target):
    kw = dict(save_weights_only=True) if target.endswith(".weights.h5") else {}
    writer = fastcallbacks.ModelCheckpoint(str(tmp_path / "w" / target),
                                           save_best_only=True, **kw)
    other = fastcallbacks.ModelCheckpoint(str(tmp_path / "o" / target),
                                          save_best_only=True, writer=False, **kw)
    for cb in (writer, other):
        _epochs(cb, classifier(build=True), [0.5, 0.7, 0.3])
    assert other.best == writer.best == 0.3
    assert len(checkpoint_files(tmp_path / "w")[0]) == 2
    assert not (tmp_path / "o").exists()


def test_single_process_is_the_writer():
    from fastcallbacks import _roles

    assert _roles.is_writer(classifier()) is True


# -- leftovers of killed saves -------------------------------------------------


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("writer", [None, False])
def test_train_begin_removes_only_this_hosts_temps_of_dead_processes(tmp_path, writer):
    dead = _dead_pid()
    tag = checkpoint._host_tag()
    mark = checkpoint._TMP_MARK
    names = {
        "dead": f".m.keras{mark}{tag}-{dead}-0123456789ab.keras",
        "dead_sidecar": f".m.keras.checksum.json{mark}{tag}-{dead}-0123456789ab",
        "live": os.path.basename(checkpoint.temp_path(tmp_path / "m.keras", ".keras")),
        "other_host": f".m.keras{mark}{'0' * 8 if tag != '0' * 8 else '1' * 8}-{dead}-0123456789ab",
        "not_ours": ".m.keras.tmp",
        "checkpoint": "m.keras",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / "m.keras"), writer=writer)
    cb.set_model(classifier())
    cb.on_train_begin()
    left = set(os.listdir(tmp_path))
    if writer is False or os.name == "nt":
        # A non-writer never deletes; Windows cannot probe a pid safely.
        assert left == set(names.values())
    else:
        assert left == set(names.values()) - {names["dead"], names["dead_sidecar"]}


def test_remove_stale_temps_returns_what_it_removed(tmp_path):
    dead = _dead_pid()
    name = f".x.h5{checkpoint._TMP_MARK}{checkpoint._host_tag()}-{dead}-0123456789ab.h5"
    (tmp_path / name).write_bytes(b"x")
    expected = [] if os.name == "nt" else [str(tmp_path / name)]
    assert checkpoint.remove_stale_temps(tmp_path) == expected
    assert checkpoint.remove_stale_temps(tmp_path) == []
    assert checkpoint.remove_stale_temps(tmp_path / "missing") == []
