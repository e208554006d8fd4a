"""StopWhen in real `fit` (TensorFlow): decisions on injected streams match
the independent reference, best weights follow the first monitor, per-step
checks stop mid-epoch."""

import keras
import numpy as np
import pytest

import fastcallbacks
from fastcallbacks.criteria import GL, PQ, UP, Patience, Threshold, TimeLimit, all_of, any_of

import formulas as F
from criteria_utils import keras_early_stopping_epoch


class Inject(keras.callbacks.Callback):
    """Sets the logged values of each epoch (listed before StopWhen) and
    records the weights at each epoch end."""

    def __init__(self, va, tr):
        super().__init__()
        self.va, self.tr = va, tr
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = float(self.va[epoch])
        logs["loss"] = float(self.tr[epoch])
        self.weights.append([np.array(w) for w in self.model.get_weights()])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model, x, y


def fit(data, callbacks, epochs):
    model, x, y = data
    return model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks)


def test_stop_epoch_in_fit_matches_the_reference(data):
    rng = np.random.default_rng(11)
    for _ in range(3):
        n = 25
        va, tr = F.random_stream(rng, n), F.random_stream(rng, n)
        members = [GL(3.0), PQ(0.5, strip=4), UP(2, strip=3), Patience("val_loss", 4)]
        holds = [F.gl(va, 3.0), F.pq(va, tr, 0.5, 4), F.up(va, 2, 3), np.zeros(n, bool)]
        es = keras_early_stopping_epoch(va, 4, 0.0, "min", None)
        if es is not None:
            holds[3][es] = True
        expected = F.first(np.logical_or.reduce(holds))
        cb = fastcallbacks.StopWhen(any_of(*members))
        history = fit(data, [Inject(va, tr), cb], n)
        assert len(history.history["loss"]) == (n if expected is None else expected + 1)
        if expected is not None:
            assert cb.stopped_epoch == expected
            assert cb.stop_reason == repr(next(m for m, h in zip(members, holds) if h[expected]))


def test_best_weights_follow_the_first_monitor(data):
    va = [1.0, 0.9, 0.5, 0.7, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2]
    tr = [1.0] * 10
    inject = Inject(va, tr)
    cb = fastcallbacks.StopWhen(any_of(GL(50.0), Patience("val_loss", 6)),
                                restore_best_weights=True)
    fit(data, [inject, cb], 10)
    # GL(t) > 50 first at 0.8 / 0.5 (epoch 5); the best val_loss was at epoch 2.
    assert cb.stopped_epoch == 5 and cb.stop_reason == "GL(alpha=50.0)"
    assert cb.best_epoch == 2
    for got, want in zip(data[0].get_weights(), inject.weights[2]):
        np.testing.assert_array_equal(got, want)


def test_per_step_checks_stop_mid_epoch(data):
    model, x, y = data
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    cb = fastcallbacks.StopWhen(Threshold("loss", 1e9, "min"), check_every_n_steps=3)
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[Count(), cb])
    assert cb.stop_reason is not None and len(seen) == 3


def test_time_limit_zero_stops_after_the_first_epoch(data, capsys):
    cb = fastcallbacks.StopWhen(TimeLimit(0), verbose=1)
    history = fit(data, [cb], 5)
    assert len(history.history["loss"]) == 1 and cb.stop_reason == "TimeLimit(seconds=0.0)"
    assert "StopWhen stopping: TimeLimit(seconds=0.0)" in capsys.readouterr().out


def test_auto_mode_follows_the_compiled_metrics():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["mae", "binary_accuracy"])
    # mae is minimised (< 1e9 holds at once); binary_accuracy maximised
    # (> -1 holds at once); a wrong direction would never hold.
    crit = all_of(Threshold("mae", 1e9), Threshold("binary_accuracy", -1.0))
    cb = fastcallbacks.StopWhen(crit)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    assert len(history.epoch) == 1 and cb.stop_reason == repr(crit)
