"""What a user finds on disk and in error messages (issue 17 items 2-4).

* A default ModelCheckpoint writes exactly Keras's files: in one `fit`,
  Keras's callback and ours, configured alike, side by side, leave the same
  names (hidden files and folders included) in their folders.
* Every file (checkpoints, sidecars) gets the mode `open()` would give,
  0666 & ~umask, as Keras's do: checked under umask 022 and 077.
* A failed save names the file the user asked for, not the temporary name,
  keeps the OS error's class and errno, and chains the original error;
  synchronous and asynchronous.
"""

import errno
import os
import stat

import keras
import pytest

import fastcallbacks
from ckpt_utils import binary_data, classifier, reusable
from fastcallbacks import _tempfiles, checkpoint

# name -> (filepath, kwargs of both, extra kwargs of ours)
CONFIGS = {
    "keras": ("m.keras", {}, {}),
    "weights-epoch": ("{epoch:02d}.weights.h5", dict(save_weights_only=True), {}),
    "weights-epoch-async": ("{epoch:02d}.weights.h5", dict(save_weights_only=True),
                            dict(async_save=True)),
    "legacy-h5": ("legacy.h5", {}, {}),
    "best": ("best.keras", dict(save_best_only=True), {}),
    "best-template-async": ("e{epoch}-{val_loss:.3f}.weights.h5",
                            dict(save_best_only=True, save_weights_only=True),
                            dict(async_save=True)),
    "batches": ("sub/b{epoch}-{batch}.weights.h5", dict(save_freq=3, save_weights_only=True),
                {}),
    "checksum": ("c.weights.h5", dict(save_weights_only=True), dict(checksum=True)),
}


def _listing(directory):
    """Every entry under `directory` (folders with a trailing /), hidden
    ones included, with its permission bits."""
    out = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory) + ("/" if name in dirs else "")
            out[rel] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


_MODEL = []


@pytest.fixture(scope="module", params=[0o022, 0o077], ids=["umask022", "umask077"])
def same_fit(request, tmp_path_factory):
    """One fit with Keras's callbacks and ours side by side, under a umask."""
    umask = request.param
    root = tmp_path_factory.mktemp(f"files-{umask:03o}")
    x, y = binary_data(48, seed=0)
    xv, yv = binary_data(16, seed=1)
    if not _MODEL:
        # One model for both umasks, reset before each fit (one build and
        # trace); only names and modes are compared here, so its legacy
        # .h5 saves changing its later .keras saves does not matter.
        _MODEL.append(reusable())
    model = _MODEL[0].reset()
    callbacks = []
    for name, (filepath, kwargs, extra) in CONFIGS.items():
        callbacks.append(keras.callbacks.ModelCheckpoint(
            str(root / "keras" / name / filepath), **kwargs))
        callbacks.append(fastcallbacks.ModelCheckpoint(
            str(root / "ours" / name / filepath), **kwargs, **extra))
    old = os.umask(umask)
    try:
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False,
                  validation_data=(xv, yv), callbacks=callbacks)
    finally:
        os.umask(old)
    return root, umask


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_default_checkpoint_writes_exactly_keras_files(same_fit, name):
    root, _ = same_fit
    theirs = _listing(root / "keras" / name)
    ours = _listing(root / "ours" / name)
    assert [f for f in theirs if not f.endswith("/")], name  # not vacuous
    if CONFIGS[name][2].get("checksum"):
        expected = set(theirs) | {f + checkpoint.SIDECAR_SUFFIX for f in theirs
                                  if not f.endswith("/")}
        assert set(ours) == expected
    else:
        assert set(ours) == set(theirs)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_files_get_the_mode_open_gives(same_fit, name):
    root, umask = same_fit
    theirs = _listing(root / "keras" / name)
    ours = _listing(root / "ours" / name)
    for rel, mode in ours.items():
        if rel.endswith("/"):
            assert mode == 0o777 & ~umask, (rel, oct(mode))
            continue
        assert mode == 0o666 & ~umask, (rel, oct(mode))
        if rel in theirs:
            assert mode == theirs[rel], (rel, oct(mode), oct(theirs[rel]))


# -- errors name the user's path ------------------------------------------------


def _save_once(cb, model):
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})


@pytest.mark.parametrize("target,kwargs", [
    ("m.keras", {}),
    ("m.weights.h5", {"save_weights_only": True}),
    ("m.h5", {}),  # Keras's own saver, through a private temporary folder
])
def test_a_failed_save_names_the_users_path(tmp_path, target, kwargs):
    (tmp_path / "afile").write_bytes(b"x")
    path = tmp_path / "afile" / target  # its folder is a regular file
    cb = fastcallbacks.ModelCheckpoint(str(path), **kwargs)
    with pytest.raises(NotADirectoryError) as info:
        _save_once(cb, classifier(build=True))
    e = info.value
    assert e.errno == errno.ENOTDIR and e.filename == str(path)
    assert str(path) in str(e) and ".fctmp-" not in str(e)
    # The OS's own error, at the temporary name, is kept as the cause.
    assert isinstance(e.__cause__, NotADirectoryError)
    assert ".fctmp-" in e.__cause__.filename


def test_a_permission_error_keeps_its_class_and_errno(tmp_path, monkeypatch):
    # (The tests run as root here, where a read-only folder does not stop a
    # write: the OS's refusal is injected where the temporary file is made.)
    real = _tempfiles.os.open

    def refuse(name, flags, *args):
        if _tempfiles.is_temp_name(os.path.basename(name)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return real(name, flags, *args)

    monkeypatch.setattr(_tempfiles.os, "open", refuse)
    path = tmp_path / "m.weights.h5"
    cb = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True)
    with pytest.raises(PermissionError) as info:
        _save_once(cb, classifier(build=True))
    assert info.value.errno == errno.EACCES and info.value.filename == str(path)
    assert str(info.value) == f"[Errno 13] Permission denied: {str(path)!r}"
    assert not path.exists()


def test_a_failed_background_save_surfaces_at_the_next_hook(tmp_path):
    (tmp_path / "afile").write_bytes(b"x")
    path = tmp_path / "afile" / "m.weights.h5"
    cb = fastcallbacks.ModelCheckpoint(str(path), save_weights_only=True, async_save=True)
    _save_once(cb, classifier(build=True))  # returns: written in the background
    cb._future.exception()  # wait until it has failed
    with pytest.raises(NotADirectoryError) as info:
        cb.on_epoch_begin(1)
    e = info.value
    assert e.errno == errno.ENOTDIR and e.filename == str(path)
    assert "background save to" in str(e) and ".fctmp-" not in str(e)
    assert ".fctmp-" in e.__cause__.filename
    cb.on_train_end()  # reported once


def test_an_error_without_errno_names_the_users_path(tmp_path, monkeypatch):
    # h5py raises OSError without an errno, naming the file in its message:
    # here the temporary file Keras's saver writes (legacy .h5).
    def failing_save(self, model, path):
        raise OSError(f"Unable to synchronously create file (unable to open file: "
                      f"name = '{path}', errno = 28, error message = 'No space left')")

    monkeypatch.setattr(fastcallbacks.ModelCheckpoint, "_keras_save_to", failing_save)
    path = tmp_path / "m.h5"
    cb = fastcallbacks.ModelCheckpoint(str(path))
    with pytest.raises(OSError) as info:
        _save_once(cb, classifier(build=True))
    assert f"name = '{path}', errno = 28" in str(info.value), str(info.value)
    cause = str(info.value.__cause__)  # the temporary folder, or its /proc/self/fd name
    assert ".fctmp-" in cause or "/proc/self/fd/" in cause, cause
    assert os.listdir(tmp_path) == []
