"""BackupAndRestore alone against `keras.callbacks.BackupAndRestore`, through
real `fit`: the same errors, files, metadata, weights and resume epoch, and
each reads the other's backup."""

import json
import os

import keras
import numpy as np
import pytest

import fastcallbacks
from resume_models import Reused

X = np.linspace(-1, 1, 64, dtype="float32").reshape(16, 4)
Y = (X.sum(axis=1, keepdims=True) * 0.5).astype("float32")
IMPLS = {"keras": keras.callbacks.BackupAndRestore, "fast": fastcallbacks.BackupAndRestore}


def new_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


# One model, put back into new_model()'s state before each use (no new build
# and trace per fit; resume_models.py).
make_model = Reused(new_model)


class Stateless(keras.callbacks.Callback):
    """Takes part in fastcallbacks' backups with nothing to restore (else
    BackupAndRestore lists it in a UserWarning)."""

    def get_state(self):
        return {}

    def set_state(self, state):
        pass


class Interrupt(Stateless):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("Interrupting!")


class FirstEpoch(Stateless):
    first = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch


def interrupted(cls, backup_dir, stop_at=3, **kwargs):
    model = make_model()
    with pytest.raises(RuntimeError, match="Interrupting"):
        model.fit(X, Y, epochs=6, batch_size=4, verbose=0, shuffle=False,
                  callbacks=[cls(backup_dir, **kwargs), Interrupt(stop_at)])
    return model


def keras_files(directory):
    return sorted(n for n in os.listdir(directory) if not n.startswith("fastcallbacks_"))


def metadata(directory, name="training_metadata.json"):
    with open(os.path.join(directory, name)) as f:
        meta = json.load(f)
    return {"epoch": meta["epoch"], "batch": meta["batch"]}


def saved_variables(path):
    model = make_model()
    model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
    return [np.array(v) for v in model.weights + model.optimizer.variables]


@pytest.mark.parametrize("save_freq,double", [("epoch", False), (3, True), (False, False)])
def test_files_metadata_and_weights_match_keras(tmp_path, save_freq, double):
    for name, cls in IMPLS.items():
        interrupted(cls, str(tmp_path / name), save_freq=save_freq, double_checkpoint=double)
    k, f = tmp_path / "keras", tmp_path / "fast"
    assert keras_files(f) == keras_files(k)
    assert metadata(f) == metadata(k)
    if double:
        assert metadata(f, "training_metadata.json.bkp") == metadata(k, "training_metadata.json.bkp")
    for a, b in zip(saved_variables(str(f / "latest.weights.h5")),
                    saved_variables(str(k / "latest.weights.h5"))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("writer,reader", [("fast", "fast"), ("fast", "keras"), ("keras", "fast")])
def test_resume_epoch_and_weights_match_keras(tmp_path, writer, reader):
    backup = str(tmp_path / "backup")
    interrupted(IMPLS[writer], backup, stop_at=4)
    expected = saved_variables(os.path.join(backup, "latest.weights.h5"))
    model = make_model()
    first = FirstEpoch()

    class Loaded(Stateless):
        def on_epoch_begin(self, epoch, logs=None):
            if not hasattr(self, "weights"):
                self.weights = [np.array(v) for v in model.weights + model.optimizer.variables]

    loaded = Loaded()
    model.fit(X, Y, epochs=6, batch_size=4, verbose=0, shuffle=False,
              callbacks=[IMPLS[reader](backup), first, loaded])
    assert first.first == 4
    for a, b in zip(loaded.weights, expected):
        np.testing.assert_array_equal(a, b)
    assert not os.path.exists(backup)  # delete_checkpoint=True


def test_delete_checkpoint_false_keeps_the_same_files(tmp_path):
    for name, cls in IMPLS.items():
        make_model().fit(X, Y, epochs=2, batch_size=8, verbose=0,
                         callbacks=[cls(str(tmp_path / name), delete_checkpoint=False)])
    assert keras_files(tmp_path / "fast") == keras_files(tmp_path / "keras")
    assert metadata(tmp_path / "fast") == metadata(tmp_path / "keras") == {"epoch": 2, "batch": 0}


@pytest.mark.parametrize("args", [{"backup_dir": ""}, {"backup_dir": None},
                                  {"backup_dir": "d", "save_freq": "batch"},
                                  {"backup_dir": "d", "save_freq": 2.0}])
def test_constructor_errors_match_keras(args):
    with pytest.raises(ValueError) as expected:
        keras.callbacks.BackupAndRestore(**args)
    with pytest.raises(ValueError) as got:
        fastcallbacks.BackupAndRestore(**args)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("value,error", [(0, ValueError), (1.0, ValueError), (-0.1, ValueError),
                                         ("0.1", TypeError), (True, TypeError)])
def test_max_overhead_errors(value, error):
    with pytest.raises(error, match="max_overhead"):
        fastcallbacks.BackupAndRestore("d", max_overhead=value)


def test_unbuilt_model_error_matches_keras(tmp_path):
    # Keras raises on TensorFlow and JAX; on torch fit builds the model
    # first and Keras's callback does not raise: ours does what Keras does.
    messages = []
    for name, cls in IMPLS.items():
        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        try:
            model.fit(X, Y, epochs=1, verbose=0, callbacks=[cls(str(tmp_path / name))])
            messages.append(None)
        except ValueError as e:
            messages.append(str(e).split("Model <")[0])
    assert messages[0] == messages[1]
    if keras.backend.backend() == "tensorflow":
        assert "must be built" in messages[0]
