"""BackupAndRestore with several processes, in one process: only the writer
writes in `backup_dir`, every process restores from it, `writer=` overrides
the role, and a backup failing on the writer becomes an agreed failure.

Roles come from RANK/WORLD_SIZE (the last-resort detection) or `writer=`;
the collective is the stand-in of peer_standin.py (the peer's row is
played), so every test is a short real `fit` of a tiny model.
"""

import os
import shutil

import numpy as np
import pytest

import fastcallbacks
import peer_standin  # tests/distributed/peer_standin.py
from fastcallbacks import _backupfiles, distributed

keras = pytest.importorskip("keras")

X = np.linspace(-1, 1, 64, dtype="float32").reshape(16, 4)
Y = (X.sum(axis=1, keepdims=True) * 0.5).astype("float32")
EPOCHS = 5


def make_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


class Probe(keras.callbacks.Callback):
    """Records the first epoch run; can interrupt the fit at an epoch."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.stop_at = stop_at
        self.first = None
        self.count = 0

    def get_state(self):
        return {"count": self.count}

    def set_state(self, state):
        self.count = state["count"]

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch
        if epoch == self.stop_at:
            raise RuntimeError("Interrupting!")

    def on_epoch_end(self, epoch, logs=None):
        self.count += 1


def fit(backup_dir, stop_at=None, model=None, **kwargs):
    model = model or make_model()
    probe = Probe(stop_at)
    callbacks = [fastcallbacks.BackupAndRestore(backup_dir, **kwargs), probe]
    if stop_at is None:
        model.fit(X, Y, epochs=EPOCHS, batch_size=4, verbose=0, shuffle=False,
                  callbacks=callbacks)
    else:
        with pytest.raises(RuntimeError, match="Interrupting"):
            model.fit(X, Y, epochs=EPOCHS, batch_size=4, verbose=0, shuffle=False,
                      callbacks=callbacks)
    return model, probe


def snapshot(directory):
    """{name: bytes} of every file in `directory`."""
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = f.read()
    return out


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A writer's backup directory after a fit interrupted at epoch 3, and
    the weights at the end of the writer's own resumed fit."""
    base = tmp_path_factory.mktemp("backup")
    fit(str(base / "b"), stop_at=3, save_freq="epoch")
    shutil.copytree(base / "b", base / "resumed")
    model, probe = fit(str(base / "resumed"), save_freq="epoch", delete_checkpoint=False)
    assert probe.first == 3 and probe.count == EPOCHS
    return base / "b", [np.array(w) for w in model.weights]


@pytest.fixture
def rank1(monkeypatch):
    """This process is rank 1 of 2 by RANK/WORLD_SIZE (not the writer)."""
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")


def test_writer_must_be_a_bool():
    with pytest.raises(TypeError, match="writer"):
        fastcallbacks.BackupAndRestore("b", writer="yes")


@pytest.mark.parametrize("how", ["rank1", "writer=False"])
def test_a_non_writer_writes_nothing(tmp_path, monkeypatch, how):
    kwargs = {}
    if how == "rank1":
        monkeypatch.setenv("RANK", "1")
        monkeypatch.setenv("WORLD_SIZE", "2")
    else:
        kwargs["writer"] = False
    fit(str(tmp_path / "b"), save_freq=1, delete_checkpoint=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_writer_true_overrides_the_role(tmp_path, rank1):
    fit(str(tmp_path / "b"), stop_at=3, writer=True)
    names = os.listdir(tmp_path / "b")
    assert "latest.weights.h5" in names and "training_metadata.json" in names


def test_a_non_writer_resumes_from_the_writers_files(tmp_path, interrupted, rank1):
    directory, weights = interrupted
    before = snapshot(directory)
    model, probe = fit(str(directory), save_freq="epoch")   # delete_checkpoint=True: not ours
    assert probe.first == 3 and probe.count == EPOCHS   # callback state restored too
    for a, b in zip(weights, model.weights):
        np.testing.assert_array_equal(a, np.array(b))
    assert snapshot(directory) == before


def test_a_non_writer_reads_a_commit_the_writer_has_not_finished(tmp_path, interrupted,
                                                                 monkeypatch, rank1):
    """Killed between the commit point and the rename: the non-writer
    resumes from the pending file without renaming or deleting anything."""
    directory, weights = interrupted
    work = tmp_path / "b"
    shutil.copytree(directory, work)
    model = make_model()

    class Killed(BaseException):
        pass

    def fault(step):
        if step == "committed":
            raise Killed()

    # The writer backs up epoch 3 and is "killed" before the rename.
    monkeypatch.setattr(_backupfiles, "_fault", fault)
    with pytest.raises(Killed):
        fit(str(work), model=model, save_freq="epoch", writer=True)
    monkeypatch.setattr(_backupfiles, "_fault", None)
    names = os.listdir(work)
    assert any(n.startswith(".fastcallbacks-next-") for n in names)
    before = snapshot(work)
    resumed, probe = fit(str(work), save_freq="epoch")
    assert probe.first == 4
    for a, b in zip(weights, resumed.weights):
        np.testing.assert_array_equal(a, np.array(b))
    assert snapshot(work) == before


# -- agreed failures --------------------------------------------------------------

@pytest.fixture
def two(monkeypatch):
    """This process is index 0 of 2 (the writer); the peer sends `peer`."""
    return peer_standin.install(monkeypatch)


def failing_backup(tmp_path, **kwargs):
    backup = fastcallbacks.BackupAndRestore(str(tmp_path / "b"), **kwargs)

    def commit(*args, **kw):
        raise OSError("disk full")

    backup._files.commit = commit
    return backup


@pytest.mark.parametrize("async_save", [True, False])
def test_a_failing_backup_on_the_writer_is_held_and_agreed(tmp_path, two, async_save):
    _, sent = two
    backup = failing_backup(tmp_path, async_save=async_save)
    agree = fastcallbacks.AgreeOnStop()
    probe = Probe()
    with pytest.raises(distributed.DistributedFailure,
                       match=r"process 0: BackupAndRestore\.on_epoch_\w+: OSError: disk full") as e:
        make_model().fit(X, Y, epochs=EPOCHS, batch_size=4, verbose=0, shuffle=False,
                         callbacks=[backup, probe, agree])
    # Held until the next agreement (epoch 1's end), which carried the failure.
    # A background failure surfaces at the next hook that polls it: epoch
    # 1's begin, or epoch 1's backup if it was still running then.
    assert probe.count in ((2, 3) if async_save else (2,))
    assert sent[-1][2] == 1.0 and list(e.value.failures) == [0]


def test_a_peers_failing_backup_is_raised_here(tmp_path, two):
    peer, _ = two
    peer["error"] = "BackupAndRestore.on_epoch_begin: OSError: disk full"
    with pytest.raises(distributed.DistributedFailure, match="process 1: BackupAndRestore"):
        make_model().fit(X, Y, epochs=EPOCHS, batch_size=4, verbose=0, shuffle=False,
                         callbacks=[fastcallbacks.BackupAndRestore(str(tmp_path / "b")),
                                    fastcallbacks.AgreeOnStop()])


def test_without_agree_on_stop_a_failing_backup_raises_at_once(tmp_path):
    probe = Probe()
    with pytest.raises(OSError, match="disk full"):
        make_model().fit(X, Y, epochs=EPOCHS, batch_size=4, verbose=0, shuffle=False,
                         callbacks=[failing_backup(tmp_path), probe])
    assert probe.count == 1
