"""Parity through a real `model.fit()` on the TensorFlow backend.

Every configuration trains the same seeded model twice, once with the Keras
callbacks and once with ours, and requires the same History (including the
`learning_rate` key), the same stop epoch, the same final weights and the
same public callback attributes. The Keras run does not depend on the core
implementation, so it is made once per configuration and reused for both
`impl` parameters.

The second half exercises the features beyond Keras through `fit()`.
"""

import contextlib
import io
import math

import keras
import numpy as np
import pytest
from keras.src.utils.python_utils import is_default

import fastcallbacks
from parity_utils import (
    assert_same_attributes,
    assert_same_scalar,
    binary_data,
    fit_data,
    learning_rate,
    reused_classifier,
    same_arrays,
    terminate_on_nan_kwargs,
)

BATCH_HOOKS = ("on_batch_end", "on_train_batch_end", "on_test_batch_end",
               "on_predict_batch_end")


class Recorder(keras.callbacks.Callback):
    """Records the events it sees and the log keys at each epoch end."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.epoch_keys = []
        self.train_batches = 0
        self.batch_losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.train_batches += 1
        if logs and "loss" in logs:
            self.batch_losses.append(logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch))
        self.epoch_keys.append(sorted(logs))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


class Run:
    def __init__(self, history, model, callbacks, recorders, error=None, out=""):
        self.history = history.history if history is not None else None
        self.epochs = history.epoch if history is not None else None
        self.weights = model.get_weights()
        self.stop_training = model.stop_training
        self.lr = learning_rate(model) if not isinstance(
            model.optimizer._learning_rate,
            keras.optimizers.schedules.LearningRateSchedule) else None
        self.callbacks = callbacks
        self.recorders = recorders
        self.error = error
        self.out = out  # what the callbacks printed


def fit(lib, make_callbacks, *, optimizer=lambda: keras.optimizers.Adam(0.05),
        metrics=("acc",), n=64, nval=64, epochs=12, batch_size=16, x=None, y=None,
        validation=None, seed=1, loss="binary_crossentropy", output="sigmoid"):
    """Builds the seeded classifier and fits it with `make_callbacks(lib)`.

    `make_callbacks` returns a list that may contain `Recorder()`s; they are
    kept to compare what the callbacks around ours saw.
    """
    model = reused_classifier(seed=seed, optimizer=optimizer(), metrics=metrics, loss=loss,
                              output=output)
    if x is None:
        x, y = binary_data(n, 0)
    if validation is None:
        validation = binary_data(nval, 1)
    callbacks = make_callbacks(lib)
    recorders = [c for c in callbacks if isinstance(c, Recorder)]
    history, error = None, None
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            history = model.fit(epochs=epochs, verbose=0, callbacks=callbacks,
                                **fit_data(x, y, batch_size, validation))
    except RuntimeError as e:
        error = e
    return Run(history, model, callbacks, recorders, error, out.getvalue())


_KERAS_RUNS = {}


def keras_run(key, *args, **kwargs):
    if key not in _KERAS_RUNS:
        _KERAS_RUNS[key] = fit(keras.callbacks, *args, **kwargs)
    return _KERAS_RUNS[key]


def assert_same_history(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert len(ours[key]) == len(theirs[key]), key
        for i, (a, b) in enumerate(zip(ours[key], theirs[key])):
            assert_same_scalar(a, b, f"history[{key!r}][{i}]")


def assert_same_run(o, k):
    assert (o.error is None) == (k.error is None)
    if k.error is not None:
        assert type(o.error) is type(k.error) and str(o.error) == str(k.error)
    else:
        assert_same_history(o.history, k.history)
        assert o.epochs == k.epochs
    assert same_arrays(o.weights, k.weights), "final weights differ"
    assert o.stop_training == k.stop_training
    assert o.out == k.out
    assert_same_scalar(o.lr, k.lr, "final learning rate")
    assert len(o.callbacks) == len(k.callbacks)
    for oc, kc in zip(o.callbacks, k.callbacks):
        if isinstance(kc, Recorder):
            assert oc.events == kc.events
            assert oc.epoch_keys == kc.epoch_keys
            assert oc.train_batches == kc.train_batches
            assert np.array_equal(oc.batch_losses, kc.batch_losses, equal_nan=True)
        else:
            assert type(oc).__name__ == type(kc).__name__
            assert_same_attributes(kc, oc)


# -- Keras parity ----------------------------------------------------------------------


def es_val_loss(lib):
    return [lib.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)]


def es_val_acc(lib):
    return [lib.EarlyStopping(monitor="val_acc", patience=2, min_delta=0.01,
                              restore_best_weights=True, start_from_epoch=1)]


def es_baseline_verbose(lib):
    # val_loss never gets below the baseline: patience is never restarted.
    return [lib.EarlyStopping(monitor="val_loss", patience=2, baseline=0.25, verbose=1,
                              restore_best_weights=True)]


def rop_cooldown_min_lr(lib):
    return [Recorder(),
            lib.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=1,
                                  min_lr=0.1, min_delta=0.02, verbose=1),
            Recorder()]


def es_then_rop(lib):
    return [Recorder(),
            lib.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
            Recorder(),
            lib.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=1, cooldown=1,
                                  min_lr=1e-3),
            Recorder()]


def rop_then_es(lib):
    return [lib.ReduceLROnPlateau(monitor="val_acc", factor=0.3, patience=1, min_lr=1e-3),
            Recorder(),
            lib.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True,
                              min_delta=1e-3),
            Recorder()]


def es_restore_when_another_callback_stops(lib):
    return [lib.EarlyStopping(monitor="val_acc", patience=10, restore_best_weights=True),
            lib.TerminateOnNaN()]


# A loss that can overflow on every backend (a sigmoid's cross-entropy
# saturates on torch and JAX).
DIVERGING = dict(loss="mse", output=None)

CONFIGS = {
    "es-val_loss-restore": (es_val_loss, dict(epochs=14)),
    "es-val_acc-start_from_epoch": (es_val_acc, dict(epochs=14)),
    "es-baseline-verbose": (es_baseline_verbose, dict(epochs=14)),
    "rop-cooldown-min_lr": (rop_cooldown_min_lr,
                            dict(optimizer=lambda: keras.optimizers.SGD(0.5), epochs=12)),
    "es-then-rop": (es_then_rop, dict(epochs=14)),
    "rop-then-es": (rop_then_es, dict(epochs=14)),
    # Gradient ascent: the loss overflows within a few epochs and
    # TerminateOnNaN stops training; EarlyStopping restores its best weights
    # anyway. A linear output and MSE: unbounded on every backend.
    "es-restore-when-ton-stops": (es_restore_when_another_callback_stops,
                                  dict(optimizer=lambda: keras.optimizers.SGD(-1.0),
                                       epochs=8, **DIVERGING)),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_fit_parity(config):
    make, kwargs = CONFIGS[config]
    k = keras_run(config, make, **kwargs)
    o = fit(fastcallbacks, make, **kwargs)
    assert_same_run(o, k)
    epochs = kwargs["epochs"]
    # Each configuration exercises what it is named after.
    if config.startswith("es-val_loss"):
        es = o.callbacks[0]
        assert 0 < es.stopped_epoch < epochs - 1 and es.best_epoch < es.stopped_epoch
        # Best weights restored, not the last ones.
        assert same_arrays(o.weights, es.best_weights)
    if config == "es-restore-when-ton-stops":
        es = o.callbacks[0]
        assert es.stopped_epoch == 0 and len(o.epochs) < epochs
        assert same_arrays(o.weights, es.best_weights)
        assert all(np.isfinite(w).all() for w in o.weights)
    if config.startswith("es-val_acc"):
        assert o.callbacks[0].stopped_epoch > 0 and len(o.epochs) < epochs
    if config.startswith("es-baseline"):
        es = o.callbacks[0]
        assert es.stopped_epoch == es.best_epoch + 1 and es.wait > es.patience
        assert f"Epoch {es.stopped_epoch + 1}: early stopping" in o.out
        assert f"the end of the best epoch: {es.best_epoch + 1}." in o.out
    if "rop" in config:
        lrs = o.history["learning_rate"]
        assert len(set(lrs)) >= 3, lrs
        if config == "rop-cooldown-min_lr":
            assert lrs[-1] == float(np.float32(0.1))  # min_lr
            assert "ReduceLROnPlateau reducing learning rate to 0.25" in o.out
            # The key is written into the shared logs: visible after ROP only.
            before, after = o.recorders
            assert "learning_rate" not in before.epoch_keys[0]
            assert "learning_rate" in after.epoch_keys[0]


@pytest.mark.reference_smoke
def test_book_example_runs_like_keras():
    """The textbook snippet, with only the import changed."""
    def make(lib):
        return [lib.EarlyStopping(monitor="val_acc", patience=1),
                lib.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10)]

    def run(lib):
        x, y = binary_data(128, 0)
        xv, yv = binary_data(64, 1)
        model = reused_classifier(seed=1, optimizer="rmsprop", metrics=["acc"])
        callbacks = make(lib)
        history = model.fit(x, y, epochs=10, validation_data=(xv, yv), callbacks=callbacks,
                            verbose=0, shuffle=False)
        return history, model.get_weights(), callbacks  # the model is reused

    if "book" not in _KERAS_RUNS:
        _KERAS_RUNS["book"] = run(keras.callbacks)
    kh, km, kc = _KERAS_RUNS["book"]
    oh, om, oc = run(fastcallbacks)
    assert_same_history(oh.history, kh.history)
    assert "learning_rate" in oh.history and "val_acc" in oh.history
    assert same_arrays(om, km)
    assert oc[0].stopped_epoch == kc[0].stopped_epoch
    for a, b in zip(oc, kc):
        assert_same_attributes(b, a)
    assert oc[0].monitor_op is keras.ops.greater  # "acc" resolves to max


def _two_fits(lib):
    """One EarlyStopping and one ReduceLROnPlateau, reused for a second fit()
    whose validation labels are flipped (its val_loss never beats the first's)."""
    x, y = binary_data(128, 0)
    xv, yv = binary_data(64, 1)
    model = reused_classifier(seed=1, optimizer=keras.optimizers.Adam(0.05))
    es = lib.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    rop = lib.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    runs = []
    for labels in (yv, 1 - yv):
        history = model.fit(epochs=8, callbacks=[es, rop], verbose=0,
                            **fit_data(x, y, 16, (xv, labels)))
        runs.append((history.history, es.stopped_epoch, es.best_epoch, es.best, es.wait,
                     rop.best, rop.wait, rop.cooldown_counter, model.get_weights()))
    return runs


@pytest.mark.reference_smoke
def test_callbacks_reused_for_a_second_fit_like_keras():
    """What carries over into the next fit() and what is reset is Keras's
    (`best`: reset from Keras 3.15, carried over before)."""
    if "two-fits" not in _KERAS_RUNS:
        _KERAS_RUNS["two-fits"] = _two_fits(keras.callbacks)
    theirs = _KERAS_RUNS["two-fits"]
    ours = _two_fits(fastcallbacks)
    for fit_index, (o, k) in enumerate(zip(ours, theirs)):
        assert_same_history(o[0], k[0])
        for i, (a, b) in enumerate(zip(o[1:-1], k[1:-1])):
            assert_same_scalar(a, b, f"fit {fit_index} value {i}")
        assert same_arrays(o[-1], k[-1]), fit_index


# -- TerminateOnNaN ---------------------------------------------------------------------


# A NaN label gives a NaN MSE on every backend (torch's binary
# cross-entropy rejects a target outside [0, 1] with a RuntimeError).
NAN_LOSS = dict(loss="mse")


def nan_data(n=128, row=40):
    """A NaN label (a NaN feature may vanish in a ReLU on TF); fit with
    `NAN_LOSS`."""
    x, y = binary_data(n, 0)
    y = y.copy()
    y[row] = np.nan
    return x, y


def ton(**ton_kwargs):
    def make(lib):
        return [Recorder(), lib.TerminateOnNaN(**ton_kwargs), Recorder()]
    return make


@pytest.mark.parametrize("raise_error", [False, True])
def test_terminate_on_nan_data(raise_error):
    ton_kwargs = terminate_on_nan_kwargs(raise_error)
    if ton_kwargs is None:  # Keras < 3.13: both rejected raise_error alike
        return
    x, y = nan_data()
    kwargs = dict(x=x, y=y, epochs=4, batch_size=32, **NAN_LOSS)
    k = keras_run(("ton", raise_error), ton(**ton_kwargs), **kwargs)
    o = fit(fastcallbacks, ton(**ton_kwargs), **kwargs)
    assert_same_run(o, k)
    o_out = o.out
    before, after = o.recorders
    # Row 40 is in batch 1: two train batches, then the epoch ends normally.
    assert before.train_batches == 2
    if raise_error:
        assert str(o.error) == (
            "NaN or Inf loss encountered at batch 1. Loss value: nan. "
            "Terminating training immediately."
        )
        assert before.events == [] and after.events == []  # no on_train_end
    else:
        assert o.error is None and "Batch 1: Invalid loss, terminating training" in o_out
        assert before.events == [("epoch_end", 0), ("train_end",)]
        assert math.isnan(o.history["loss"][0]) and len(o.epochs) == 1


def test_terminate_on_nan_diverging_loss():
    """A learning rate so large (gradient ascent) that the loss overflows."""
    kwargs = dict(optimizer=lambda: keras.optimizers.SGD(-1.0), epochs=8, **DIVERGING)
    k = keras_run("ton-diverge", ton(), **kwargs)
    o = fit(fastcallbacks, ton(), **kwargs)
    assert_same_run(o, k)
    loss = o.history["loss"]
    assert len(loss) < 8 and not np.isfinite(loss[-1]), loss
    assert all(np.isfinite(loss[:-1])), loss
    assert "Invalid loss, terminating training" in o.out


# -- batch hooks and async dispatch --------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: fastcallbacks.EarlyStopping(),
        lambda: fastcallbacks.EarlyStopping(monitor="loss", restore_best_weights=True,
                                            window=3, check_finite=True),
        lambda: fastcallbacks.ReduceLROnPlateau(),
        lambda: fastcallbacks.ReduceLROnPlateau(monitor="loss", window=2,
                                                schedule_mode="scale"),
    ],
    ids=["es", "es-extras", "rop", "rop-extras"],
)
def test_epoch_callbacks_keep_every_batch_hook_default(make):
    cb = make()
    for hook in BATCH_HOOKS:
        assert is_default(getattr(cb, hook)), hook
        assert is_default(getattr(type(cb), hook)), hook
    assert not getattr(cb, "async_safe", False)
    k = keras.callbacks.EarlyStopping()
    assert all(is_default(getattr(k, h)) for h in BATCH_HOOKS)


def test_check_every_n_steps_installs_an_async_safe_batch_hook():
    cb = fastcallbacks.EarlyStopping(monitor="loss", check_every_n_steps=3)
    assert not is_default(cb.on_train_batch_end)
    assert cb.async_safe is True
    # Only this instance: the class and other instances keep the defaults.
    assert is_default(fastcallbacks.EarlyStopping.on_train_batch_end)
    assert is_default(fastcallbacks.EarlyStopping(monitor="loss").on_train_batch_end)
    assert not getattr(fastcallbacks.EarlyStopping(), "async_safe", False)


def test_terminate_on_nan_overrides_on_batch_end_like_keras():
    for cb in (keras.callbacks.TerminateOnNaN(), fastcallbacks.TerminateOnNaN()):
        assert not is_default(cb.on_batch_end)
        assert is_default(cb.on_test_batch_end) and is_default(cb.on_predict_batch_end)
        assert not getattr(cb, "async_safe", False)


# -- beyond Keras, through fit() ---------------------------------------------------------------


def _check_values(batch_losses, every):
    """The batch losses the check at every `every`-th training step sees."""
    return batch_losses[every - 1::every]


def test_check_every_n_steps_stops_mid_epoch_on_a_plateau():
    """Identical batches and a tiny learning rate: the batch `loss` does not
    move. Checks every 3 steps (4 steps per epoch): check 0 at step 3 is the
    first best, check 1 at step 6 (batch 1 of epoch 1) exhausts patience=1."""
    def make(lib):
        return [Recorder(), lib.EarlyStopping(monitor="loss", patience=1, min_delta=0.01,
                                              check_every_n_steps=3)]

    x, y = binary_data(32, 0)
    x, y = np.repeat(x[:1], 32, axis=0), np.repeat(y[:1], 32)  # identical batches
    o = fit(fastcallbacks, make, optimizer=lambda: keras.optimizers.SGD(1e-6), x=x, y=y,
            batch_size=8, epochs=5)
    rec, es = o.callbacks
    assert np.ptp(rec.batch_losses) < 1e-4, rec.batch_losses  # a plateau
    assert es.stop_reason == "patience"
    assert es.stopped_epoch == 1
    assert rec.train_batches == 6  # stopped inside epoch 1, after its 2nd batch
    assert len(o.epochs) == 2  # the interrupted epoch still ends normally
    assert o.stop_training is True
    assert es.best == rec.batch_losses[2] and es.wait == 1


@pytest.mark.parametrize("every, patience", [(2, 1), (2, 2), (3, 0), (5, 1)])
def test_check_every_n_steps_follows_the_batch_losses(every, patience):
    """Decisions on the batch `loss` seen at every `every`-th step, recomputed
    here with Keras's rule from the losses a Recorder saw."""
    def make(lib):
        return [Recorder(), lib.EarlyStopping(monitor="loss", patience=patience,
                                              check_every_n_steps=every)]

    o = fit(fastcallbacks, make, optimizer=lambda: keras.optimizers.Adam(0.2), n=32,
            batch_size=8, epochs=6)
    rec, es = o.callbacks
    checks = _check_values(rec.batch_losses, every)
    stopped, best, best_check = _simulate_es(checks, patience)
    assert es.best == best
    if stopped is None:
        assert es.stop_reason is None and rec.train_batches == 24
    else:
        assert es.stop_reason == "patience"
        assert rec.train_batches == every * (stopped + 1)
        assert es.stopped_epoch == (every * (stopped + 1) - 1) // 4


def nan_validation():
    """A NaN validation label; fit with `NAN_LOSS`."""
    xv, yv = binary_data(64, 1)
    yv = yv.copy()
    yv[5] = np.nan
    return xv, yv


def test_check_finite_stops_on_nan_val_loss():
    xv, yv = nan_validation()

    def make(lib):
        return [lib.EarlyStopping(monitor="val_loss", patience=5)]

    def make_finite(lib):
        return [lib.EarlyStopping(monitor="val_loss", patience=5, check_finite=True)]

    # Without check_finite we behave like Keras: NaN becomes the best and
    # training goes on until patience runs out.
    k = keras_run("nan-val", make, validation=(xv, yv), epochs=10, **NAN_LOSS)
    o = fit(fastcallbacks, make, validation=(xv, yv), epochs=10, **NAN_LOSS)
    assert_same_run(o, k)
    assert len(o.epochs) == 6 and o.callbacks[0].stop_reason == "patience"

    o = fit(fastcallbacks, make_finite, validation=(xv, yv), epochs=10, **NAN_LOSS)
    es = o.callbacks[0]
    assert math.isnan(o.history["val_loss"][0])
    assert len(o.epochs) == 1
    assert es.stop_reason == "non_finite" and es.stopped_epoch == 0


def test_rop_check_finite_stops_training():
    xv, yv = nan_validation()

    def make(lib):
        return [lib.ReduceLROnPlateau(monitor="val_loss", check_finite=True)]

    o = fit(fastcallbacks, make, validation=(xv, yv), epochs=5, **NAN_LOSS)
    assert len(o.epochs) == 1 and o.callbacks[0].stop_reason == "non_finite"


def no_callbacks(lib):
    return []


def test_stopping_threshold():
    ref = keras_run("plain", no_callbacks, epochs=10).history["loss"]
    assert all(a > b for a, b in zip(ref, ref[1:])), ref  # decreasing
    threshold = (ref[3] + ref[4]) / 2

    def make(lib):
        return [lib.EarlyStopping(monitor="loss", patience=100,
                                  stopping_threshold=threshold)]

    o = fit(fastcallbacks, make, epochs=10)
    es = o.callbacks[0]
    expected = next(i for i, v in enumerate(ref) if v < threshold)
    assert expected == 4
    assert es.stop_reason == "stopping_threshold" and es.stopped_epoch == expected
    assert o.history["loss"] == ref[: expected + 1]


def test_divergence_threshold():
    kwargs = dict(optimizer=lambda: keras.optimizers.SGD(-0.5), epochs=8)
    ref = keras_run("ascent", no_callbacks, **kwargs).history["loss"]
    assert all(a < b for a, b in zip(ref, ref[1:])), ref  # gradient ascent
    threshold = (ref[2] + ref[3]) / 2

    def make(lib):
        return [lib.EarlyStopping(monitor="loss", patience=100,
                                  divergence_threshold=threshold)]

    o = fit(fastcallbacks, make, **kwargs)
    es = o.callbacks[0]
    assert es.stop_reason == "divergence" and es.stopped_epoch == 3
    assert o.history["loss"] == ref[:4]
    assert es.best == ref[0] and es.wait == 3


def _f32(x):
    return float(np.float32(x))


def _simulate_es(values, patience):
    """Keras's EarlyStopping rule (min mode, min_delta 0, no baseline)."""
    best, best_epoch, wait = None, 0, 0
    for epoch, v in enumerate(values):
        wait += 1
        if best is None or _f32(v) < _f32(best):
            best, best_epoch, wait = v, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best, best_epoch
    return None, best, best_epoch


# A noisy validation loss, the same on every backend: it falls to 0.4 at
# epoch 4, then wanders above it, with one more low at epoch 9.
NOISY_VAL_LOSS = [1.0, 0.6, 0.9, 0.7, 0.4, 0.8, 0.65, 0.62, 0.75, 0.3, 0.7, 0.68, 0.72, 0.71]


class InjectValLoss(keras.callbacks.Callback):
    """Sets `logs["val_loss"]` to `NOISY_VAL_LOSS[epoch]`, for the callbacks
    after it (and the History)."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = NOISY_VAL_LOSS[epoch]


@pytest.mark.reference_smoke
def test_window_median_decides_on_the_median():
    """The decision follows the running median of 3 of the logged values
    (computed here from the History), through a real fit."""
    kwargs = dict(epochs=len(NOISY_VAL_LOSS), batch_size=32)

    def make(lib):
        return [InjectValLoss(), lib.EarlyStopping(monitor="val_loss", patience=3, window=3,
                                                   smoothing="median")]

    o = fit(fastcallbacks, make, **kwargs)
    es = o.callbacks[1]
    raw = o.history["val_loss"]
    assert raw == NOISY_VAL_LOSS[: len(raw)]
    medians = [float(np.median(raw[max(0, i - 2): i + 1])) for i in range(len(raw))]
    stopped, best, best_epoch = _simulate_es(medians, patience=3)
    assert stopped is not None and stopped == len(raw) - 1
    assert es.stopped_epoch == stopped and es.stop_reason == "patience"
    assert es.best == best and es.best_epoch == best_epoch
    # The smoothing changed the outcome: on the raw values Keras's rule
    # stops at another epoch, or keeps another best.
    k = keras_run("median-raw", lambda lib: [InjectValLoss(), lib.EarlyStopping(
        monitor="val_loss", patience=3)], **kwargs)
    raw_stop = _simulate_es(k.history["val_loss"], patience=3)
    assert raw_stop[0] == k.callbacks[1].stopped_epoch
    assert (raw_stop[0], raw_stop[2]) != (stopped, best_epoch)


def test_rop_scale_mode_scales_a_schedule():
    """schedule_mode="scale": the schedule's output is multiplied by `factor`
    at each reduction, the scaled LR is logged, and the train step uses it."""
    steps = 4  # 32 samples / batch 8

    def base():
        return keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4,
                                                           decay_rate=0.5)

    def make(lib):
        # min_delta so large that nothing after epoch 0 improves: a
        # reduction at the end of every epoch from epoch 1 on.
        return [lib.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                      min_delta=100.0, schedule_mode="scale")]

    epochs = 6
    o = fit(fastcallbacks, make, n=32, batch_size=8, epochs=epochs, metrics=(),
            optimizer=lambda: keras.optimizers.SGD(base()))
    assert len(o.epochs) == epochs and not o.stop_training
    logged = o.history["learning_rate"]
    for e, lr in enumerate(logged):
        # Logged at the end of epoch e: schedule at step 4(e+1), times the
        # reductions made at the ends of epochs 1 .. e-1.
        expected = 0.1 * 0.5 ** ((e + 1) * steps / 4) * 0.5 ** max(0, e - 1)
        assert lr == pytest.approx(expected, rel=1e-6), (e, logged)

    class Expected(keras.optimizers.schedules.LearningRateSchedule):
        """What the optimizer should have used at each step."""

        def __init__(self):
            self.base = base()

        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            k = keras.ops.maximum(keras.ops.floor(step / steps) - 1.0, 0.0)
            return self.base(step) * keras.ops.power(0.5, k)

    ref = keras_run("expected-schedule", no_callbacks, n=32, batch_size=8, epochs=epochs,
                    metrics=(), optimizer=lambda: keras.optimizers.SGD(Expected()))
    for a, b in zip(o.weights, ref.weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    unscaled = keras_run("unscaled-schedule", no_callbacks, n=32, batch_size=8,
                         epochs=epochs, metrics=(),
                         optimizer=lambda: keras.optimizers.SGD(base()))
    assert not same_arrays(o.weights, unscaled.weights)
