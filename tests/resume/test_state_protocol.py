"""The get_state/set_state protocol: its encoding, each callback's state,
the warning for callbacks outside it, the consistency of what a backup
holds wherever BackupAndRestore sits, and the one-unit commit."""

import json
import os

import keras
import numpy as np
import pytest

import fastcallbacks
from fastcallbacks import _backupfiles, _callback_state
from resume_models import Reused

X = np.linspace(-1, 1, 96, dtype="float32").reshape(24, 4)
Y = (np.sin(X.sum(axis=1, keepdims=True) * 2)).astype("float32")


def new_model(lr=0.05):
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(4, activation="tanh", name="hidden"),
                              keras.layers.Dense(1, name="out")])
    model.compile(keras.optimizers.SGD(lr), "mse")
    return model


# One model, put back into new_model()'s state before each use (no new build
# and trace per fit; resume_models.py). A test that compiles the model
# again uses new_model().
make_model = Reused(new_model)


def roundtrip(state):
    text, arrays = _callback_state.encode(state, "test")
    json.loads(text)  # plain JSON
    return _callback_state.decode(text, arrays)


def assert_same(a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert type(a) is type(b) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert type(a) is type(b) and a == b


class Stateless(keras.callbacks.Callback):
    def get_state(self):
        return {}

    def set_state(self, state):
        pass


def test_encoding_roundtrip():
    state = {"a": None, "b": True, "c": 3, "d": 1.5, "e": float("nan"), "f": "x",
             "g": [1, [2.0, {"h": np.arange(3, dtype=np.int16)}]],
             "i": np.float32(0.25), "j": [np.zeros((2, 0)), np.ones(2, dtype=bool)]}
    assert_same(state, roundtrip(state))
    assert roundtrip({"t": (1, 2)}) == {"t": [1, 2]}


@pytest.mark.parametrize("bad", [{"s": {1, 2}}, {"o": np.array([None])}, {1: 2}, [1],
                                 {"n": {"k": object()}}])
def test_encoding_rejects_what_json_and_arrays_cannot_hold(bad):
    with pytest.raises(TypeError, match="test"):
        _callback_state.encode(bad, "test")


def fit(model, callbacks, epochs=5):
    return model.fit(X, Y, epochs=epochs, batch_size=8, verbose=0, shuffle=False,
                     validation_data=(X[:8], Y[:8]), callbacks=callbacks)


def test_early_stopping_state_roundtrip():
    es = fastcallbacks.EarlyStopping(patience=10, window=3, smoothing="ema",
                                     restore_best_weights=True)
    fit(make_model(), [es], epochs=4)
    state = es.get_state()
    assert state["ring"]["total"] == 4 and state["best_weights"] is not None
    other = fastcallbacks.EarlyStopping(patience=10, window=3, smoothing="ema",
                                        restore_best_weights=True)
    other.set_state(roundtrip(state))
    assert_same(roundtrip(state), roundtrip(other.get_state()))
    assert other.wait == es.wait and other.best == es.best and other.best_epoch == es.best_epoch
    # the restored ring goes on as the original does
    assert other._ring.push_stat(0.5, "ema") == es._ring.push_stat(0.5, "ema")


def test_reduce_lr_state_keeps_the_schedule_scale():
    def model():
        m = new_model()
        m.compile(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.9)),
                  "mse")
        return m

    rlr = fastcallbacks.ReduceLROnPlateau(patience=0, factor=0.5, min_delta=10.0,
                                          schedule_mode="scale", cooldown=2)
    fit(model(), [rlr], epochs=4)
    state = rlr.get_state()
    assert state["scales"][0][0] < 1.0
    other = fastcallbacks.ReduceLROnPlateau(patience=0, factor=0.5, min_delta=10.0,
                                            schedule_mode="scale", cooldown=2)
    other.set_model(model())
    other.set_state(roundtrip(state))
    assert_same(roundtrip(state), roundtrip(other.get_state()))
    assert other.cooldown_counter == rlr.cooldown_counter and other.wait == rlr.wait


def test_model_checkpoint_state_keeps_the_top_k_registry(tmp_path):
    path = str(tmp_path / "m-{epoch:02d}.weights.h5")
    mc = fastcallbacks.ModelCheckpoint(path, save_weights_only=True, save_top_k=2, save_freq=5)
    fit(make_model(), [mc], epochs=4)
    state = mc.get_state()
    assert len(state["kept"]) == 2
    other = fastcallbacks.ModelCheckpoint(path, save_weights_only=True, save_top_k=2, save_freq=5)
    other.set_state(roundtrip(state))
    assert_same(roundtrip(state), roundtrip(other.get_state()))


def test_callbacks_outside_the_protocol_are_listed_once(tmp_path):
    class Plain(keras.callbacks.Callback):
        pass

    with pytest.warns(UserWarning, match=r"state of these callbacks .*\): Plain\.") as record:
        fit(make_model(), [fastcallbacks.BackupAndRestore(str(tmp_path / "b")), Plain(),
                           fastcallbacks.TerminateOnNaN()], epochs=3)
    assert len([w for w in record if "Plain" in str(w.message)]) == 1


class Stop(Stateless):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("stop here")


def saved_state(directory):
    files = _backupfiles.BackupFiles(directory)
    meta = files.read_metadata()
    return meta, _callback_state.decode(*files.read_state(meta))


@pytest.mark.parametrize("first", [True, False])
def test_backup_holds_the_state_after_every_callbacks_epoch_end(tmp_path, first):
    """Lightning #1464: wherever BackupAndRestore sits, the state saved for
    epoch k is the one after all callbacks ran on_epoch_end(k)."""
    es = fastcallbacks.EarlyStopping(patience=10, min_delta=1e-3)
    rlr = fastcallbacks.ReduceLROnPlateau(patience=1, factor=0.5, min_delta=1e-3)
    backup = fastcallbacks.BackupAndRestore(str(tmp_path / "b"))
    callbacks = [backup, es, rlr] if first else [es, rlr, backup]
    with pytest.raises(RuntimeError, match="stop here"):
        fit(make_model(), [Stop(4), *callbacks], epochs=6)
    meta, state = saved_state(str(tmp_path / "b"))
    assert meta["epoch"] == 4
    assert_same(roundtrip(es.get_state()), state["callbacks"]["EarlyStopping#0"])
    assert_same(roundtrip(rlr.get_state()), state["callbacks"]["ReduceLROnPlateau#0"])
    assert state["callbacks"]["History#0"]["epoch"] == [0, 1, 2, 3]


@pytest.mark.parametrize("step", ["weights", "state", "committed", "renamed"])
def test_a_failed_commit_leaves_one_whole_backup(tmp_path, step, monkeypatch):
    """A commit that fails at any step leaves the previous backup or the new
    one, weights, metadata and states of the same epoch (the SIGKILL version
    is in test_resume_kill.py)."""
    weights = {}

    class Record(Stateless):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch] = [np.array(v) for v in self.model.weights]

    count = [0]

    def fault(name):
        if name == "weights":
            count[0] += 1
        if count[0] == 3 and name == step:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(_backupfiles, "_fault", fault)
    directory = str(tmp_path / "b")
    with pytest.raises(OSError, match="No space"):
        fit(make_model(), [Record(), fastcallbacks.BackupAndRestore(directory)], epochs=6)
    monkeypatch.setattr(_backupfiles, "_fault", None)
    files = _backupfiles.BackupFiles(directory)
    files.recover()
    meta, state = saved_state(directory)
    assert meta["epoch"] in (2, 3)
    assert meta["epoch"] == (3 if step in ("committed", "renamed") else 2)
    assert state["callbacks"]["History#0"]["epoch"] == list(range(meta["epoch"]))
    model = make_model()
    model.load_weights(files.weights)
    for a, b in zip(model.weights, weights[meta["epoch"] - 1]):
        np.testing.assert_array_equal(np.array(a), b)
    names = sorted(os.listdir(directory))
    assert names == sorted(["latest.weights.h5", "training_metadata.json",
                            f"fastcallbacks_state.{meta['epoch']}.npz"])


def new_dropout_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.02), "mse")
    return model



@pytest.mark.parametrize("save_freq", ["epoch", 2])
def test_resume_with_dropout_is_exact(tmp_path, save_freq):
    """In one process: interrupted at epoch 3 and resumed, a run with
    Dropout (its seed generator is a variable outside the weights file),
    EarlyStopping and ReduceLROnPlateau ends as the uninterrupted run."""

    def run(directory, stop):
        # A new model each run: on torch, a reused model's first fit differs
        # from its later ones (an unseeded Dropout draws from torch's global
        # generator, which that first fit leaves elsewhere), so a reset is
        # not a new model there.
        model = new_dropout_model()
        es = fastcallbacks.EarlyStopping(patience=2, restore_best_weights=True)
        callbacks = [Stop(stop), fastcallbacks.BackupAndRestore(directory, save_freq=save_freq),
                     es, fastcallbacks.ReduceLROnPlateau(patience=1, factor=0.5)]
        history = fit(model, callbacks, epochs=8)
        return history.history, [np.array(w) for w in model.weights], es.stopped_epoch

    expected = run(str(tmp_path / "a"), stop=-1)
    directory = str(tmp_path / "b")
    with pytest.raises(RuntimeError, match="stop here"):
        run(directory, stop=3)
    got = run(directory, stop=-1)
    assert got[0] == expected[0] and got[2] == expected[2]
    for a, b in zip(got[1], expected[1]):
        np.testing.assert_array_equal(a, b)


def count_commits(monkeypatch, fail_at=None):
    count = [0]

    def fault(name):
        if name == "weights":
            count[0] += 1
        if fail_at is not None and count[0] == fail_at[0] and name == fail_at[1]:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(_backupfiles, "_fault", fault)
    return count


def test_max_overhead_lengthens_the_interval(tmp_path, monkeypatch):
    count = count_commits(monkeypatch)
    fit(make_model(), [fastcallbacks.BackupAndRestore(str(tmp_path / "a"), save_freq=1)], epochs=2)
    assert count[0] == 6  # 3 batches x 2 epochs
    count[0] = 0
    # A share no backup can fit in: after the first backup (which measures
    # the cost) the interval outgrows the run.
    fit(make_model(), [fastcallbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=1,
                                                      max_overhead=1e-9)], epochs=2)
    assert count[0] == 1


def test_async_backup_error_surfaces_at_the_next_hook(tmp_path, monkeypatch):
    count_commits(monkeypatch, fail_at=(2, "state"))
    backup = fastcallbacks.BackupAndRestore(str(tmp_path / "b"), async_save=True,
                                            delete_checkpoint=False)
    with pytest.raises(OSError, match="Input/output error") as e:
        fit(make_model(), [backup], epochs=4)
    assert "background backup" in " ".join(getattr(e.value, "__notes__", []))
    # the backup of epoch 1 is whole
    monkeypatch.setattr(_backupfiles, "_fault", None)
    _backupfiles.BackupFiles(str(tmp_path / "b")).recover()
    meta, state = saved_state(str(tmp_path / "b"))
    assert meta["epoch"] == 1 and state["callbacks"]["History#0"]["epoch"] == [0]


class StopAtBatch(Stateless):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None
        self.on_train_batch_end = self._batch_end

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("stop here")


def test_backups_in_the_first_resumed_epoch_name_that_epoch(tmp_path):
    """Keras's callback counts epochs at on_epoch_end only: a fresh instance
    resuming mid-epoch would write its next backups as epoch 0."""
    directory = str(tmp_path / "b")
    x, y = np.concatenate([X, X[:8]]), np.concatenate([Y, Y[:8]])  # 4 batches of 8

    def run(stop):
        make_model().fit(x, y, epochs=4, batch_size=8, verbose=0, shuffle=False,
                         callbacks=[stop, fastcallbacks.BackupAndRestore(directory, save_freq=2)])

    with pytest.raises(RuntimeError, match="stop here"):
        run(StopAtBatch(1, 2))  # backups after batches 1, 3 of epoch 0 and 1 of epoch 1
    assert saved_state(directory)[0]["epoch"] == 1
    with pytest.raises(RuntimeError, match="stop here"):
        run(Stop(2))  # resumed at epoch 1: its batch 3 is backed up
    meta = saved_state(directory)[0]
    assert (meta["epoch"], meta["batch"], meta["fastcallbacks"]["position"]) == (1, 3, "batch")


def test_activation_logger_continues_its_file(tmp_path):
    """Interrupted after ActivationLogger logged epoch 3 but before that
    epoch's backup: the resumed run keeps epochs 0-2 of the file and
    writes epochs 3-4 again; the file ends as the uninterrupted run's."""

    class StopAtEnd(Stateless):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 3:
                raise RuntimeError("stop here")

    def run(name, stop):
        logger = fastcallbacks.ActivationLogger(str(tmp_path / name / "act.npz"), X[:4])
        callbacks = [fastcallbacks.BackupAndRestore(str(tmp_path / name / "b")), logger]
        try:
            fit(make_model(), callbacks + ([StopAtEnd()] if stop else []), epochs=5)
        finally:
            # The interrupted process ends here. Its writer may still be
            # committing epoch 3 in the background (and the traceback keeps
            # the logger alive on some backends), so finish it as exit would.
            logger._close_writer()

    run("a", False)
    with pytest.raises(RuntimeError, match="stop here"):
        run("b", True)
    with np.load(tmp_path / "b" / "act.npz") as z:
        assert sum(k.endswith("epoch_0003") for k in z.files) > 0  # written past the backup
    run("b", False)
    with np.load(tmp_path / "a" / "act.npz") as a, np.load(tmp_path / "b" / "act.npz") as b:
        assert a.files == b.files and len(a.files) >= 5
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
