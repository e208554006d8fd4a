"""Size-1 metric values through a real `fit()`: ours against Keras.

`keras.metrics.F1Score` and `FBetaScore` on a one-unit output log arrays of
shape (1,) (numpy 2 no longer turns them into Python floats). Keras's
EarlyStopping and ReduceLROnPlateau accept them and keep the array as
`best`; ours must decide the same, keep the same `best` (type, shape, dtype,
value) and leave the same History, weights and learning rate, in
`mode="max"` and `mode="auto"` (the direction comes from the metric).
"""

import contextlib
import io
import types

import keras
import numpy as np
import pytest

import fastcallbacks
from parity_utils import binary_data, fit_data, learning_rate, reused_classifier, same_arrays


def _metrics():
    return [keras.metrics.F1Score(threshold=0.5),
            keras.metrics.FBetaScore(beta=2.0, threshold=0.5)]


def _fit(lib, make, epochs=10):
    model = reused_classifier(seed=3, optimizer=keras.optimizers.Adam(0.05), metrics=_metrics())
    x, y = binary_data(64, 0)
    xv, yv = binary_data(64, 1)
    callbacks = make(lib)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = model.fit(epochs=epochs, verbose=0, callbacks=callbacks,
                            **fit_data(x, y.reshape(-1, 1), 16, (xv, yv.reshape(-1, 1))))
    # The model is reused by the next run: keep what it ended with.
    state = types.SimpleNamespace(weights=model.get_weights(), lr=learning_rate(model))
    return state, history, callbacks, out.getvalue()


def _same_logged(a, b):
    if isinstance(b, np.ndarray):
        return (type(a) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    return type(a) is type(b) and (a == b or (a != a and b != b))


CONFIGS = {
    "es-f1-max": lambda lib: [lib.EarlyStopping(
        monitor="val_f1_score", mode="max", patience=1, restore_best_weights=True,
        verbose=1)],
    "es-f1-auto": lambda lib: [lib.EarlyStopping(
        monitor="val_f1_score", patience=1, min_delta=0.005)],
    "es-fbeta-auto-baseline": lambda lib: [lib.EarlyStopping(
        monitor="val_fbeta_score", patience=2, baseline=0.6, restore_best_weights=True)],
    "es-fbeta-max-train": lambda lib: [lib.EarlyStopping(
        monitor="fbeta_score", mode="max", patience=1, start_from_epoch=2)],
    "rop-f1-max": lambda lib: [lib.ReduceLROnPlateau(
        monitor="val_f1_score", mode="max", patience=1, factor=0.5, verbose=1)],
    "rop-fbeta-auto": lambda lib: [lib.ReduceLROnPlateau(
        monitor="val_fbeta_score", patience=0, factor=0.5, cooldown=1, min_delta=0.01)],
    "es-and-rop-f1-auto": lambda lib: [
        lib.ReduceLROnPlateau(monitor="val_f1_score", patience=1, factor=0.3),
        lib.EarlyStopping(monitor="val_f1_score", patience=3, restore_best_weights=True)],
}

_KERAS = {}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_size1_metric_values_through_fit_like_keras(config):
    make = CONFIGS[config]
    if config not in _KERAS:
        _KERAS[config] = _fit(keras.callbacks, make)
    km, kh, kcbs, kout = _KERAS[config]
    om, oh, ocbs, oout = _fit(fastcallbacks, make)
    assert oh.epoch == kh.epoch
    assert sorted(oh.history) == sorted(kh.history)
    for key, values in kh.history.items():
        assert all(_same_logged(a, b) for a, b in zip(oh.history[key], values)), key
    assert same_arrays(om.weights, km.weights)
    assert om.lr == km.lr
    assert oout == kout
    for o, k in zip(ocbs, kcbs):
        # Keras keeps the logged array itself as `best`.
        assert isinstance(k.best, np.ndarray) and k.best.shape == (1,)
        assert _same_logged(o.best, k.best), (o.best, k.best)
        assert o.wait == k.wait
        for name in ("stopped_epoch", "best_epoch", "cooldown_counter"):
            assert getattr(o, name, None) == getattr(k, name, None), name
        assert same_arrays(getattr(o, "best_weights", None), getattr(k, "best_weights", None))


def test_the_runs_decide_something():
    """The table above is not vacuous: some runs stop early, some reduce."""
    stops = reductions = 0
    for config, make in CONFIGS.items():
        if config not in _KERAS:
            _KERAS[config] = _fit(keras.callbacks, make)
        model, history, _, _ = _KERAS[config]
        stops += len(history.epoch) < 10
        reductions += model.lr < 0.05 * 0.99
    assert stops >= 2 and reductions >= 2, (stops, reductions)


def test_window_statistics_accept_size1_metric_values():
    # Beyond Keras: the window statistic and the relative threshold take the
    # array's value.
    make = lambda lib: [  # noqa: E731
        lib.EarlyStopping(monitor="val_f1_score", patience=2, window=3, smoothing="median",
                          check_finite=True),
        lib.ReduceLROnPlateau(monitor="val_fbeta_score", patience=1, threshold_mode="rel",
                              min_delta=0.01, check_finite=True)]
    model, history, (es, rop), _ = _fit(fastcallbacks, make, epochs=6)
    assert type(es.best) is float and type(rop.best) is float
    assert es.stop_reason in (None, "patience")
