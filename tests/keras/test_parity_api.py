"""API parity: signatures, attributes, warnings and errors match Keras."""

import inspect
import warnings

import keras
import numpy as np
import pytest

import fastcallbacks
from parity_utils import (
    assert_same_attributes,
    assert_same_scalar,
    binary_data,
    call_both,
    classifier,
    fit_data,
    raises_like_keras,
    resets_best,
    reused_classifier,
    terminate_on_nan_kwargs,
    tiny_model,
)

NAMES = ("EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN")


def pairs(name):
    return getattr(keras.callbacks, name), getattr(fastcallbacks, name)


# -- signatures -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_subclass_of_keras_callback(name):
    theirs, ours = pairs(name)
    assert issubclass(ours, keras.callbacks.Callback)
    assert ours.__name__ == theirs.__name__


@pytest.mark.parametrize("name", NAMES)
def test_signature_extends_keras_with_keyword_only_arguments(name):
    theirs, ours = pairs(name)
    k_params = list(inspect.signature(theirs).parameters.values())
    o_params = list(inspect.signature(ours).parameters.values())
    k_names = [p.name for p in k_params]

    # Keras's arguments, in Keras's order, with the same kind, default and
    # annotation (so positional calls and keyword calls bind identically).
    shared = [p for p in o_params if p.name in k_names]
    assert [p.name for p in shared] == k_names
    for o, k in zip(shared, k_params):
        assert (o.kind, o.default, o.annotation) == (k.kind, k.default, k.annotation), o.name

    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    assert [p.name for p in o_params if p.kind in positional] == [
        p.name for p in k_params if p.kind in positional
    ]
    extras = [p for p in o_params if p.name not in k_names]
    for p in extras:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, p.name
    if name != "TerminateOnNaN":
        assert {p.name for p in extras} >= {"window", "smoothing", "threshold_mode",
                                            "check_finite"}


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_positional_arguments_bind_like_keras(name):
    theirs, ours = pairs(name)
    args = ("val_acc", 0.5, 3, 1, "max") if name == "ReduceLROnPlateau" else (
        "val_acc", 0.2, 3, 1, "max", 0.9, True, 2)
    k, o = theirs(*args), ours(*args)
    assert_same_attributes(k, o)


# -- attributes ------------------------------------------------------------------------


ES_KWARGS = [
    {},
    dict(monitor="loss", min_delta=-0.25, patience=4, verbose=1, mode="min",
         baseline=0.75, restore_best_weights=True, start_from_epoch=2),
    dict(monitor="val_auc", mode="max", min_delta=0.1, baseline=1),
    dict(patience=2.5, min_delta=1),
]
ROP_KWARGS = [
    {},
    dict(monitor="loss", factor=0.5, patience=3, verbose=1, mode="min",
         min_delta=-0.01, cooldown=2, min_lr=1e-3),
    dict(monitor="val_auc", mode="max", factor=0.0, min_delta=0),
]


@pytest.mark.parametrize(
    "name, kwargs",
    [("EarlyStopping", kw) for kw in ES_KWARGS]
    + [("ReduceLROnPlateau", kw) for kw in ROP_KWARGS]
    + [("TerminateOnNaN", {}), ("TerminateOnNaN", {"raise_error": True})],
)
def test_attributes_after_construction_train_begin_and_first_epoch(name, kwargs):
    theirs, ours = pairs(name)
    if name == "TerminateOnNaN" and kwargs:
        kwargs = terminate_on_nan_kwargs(kwargs["raise_error"])
        if kwargs is None:  # Keras < 3.13: both rejected raise_error alike
            return
    k, o = theirs(**kwargs), ours(**kwargs)
    assert_same_attributes(k, o)
    if name == "TerminateOnNaN":
        if hasattr(k, "raise_error"):
            assert o.raise_error is kwargs.get("raise_error", False)
        else:
            assert not hasattr(o, "raise_error")
        return
    assert not hasattr(o, "best_epoch")
    assert o.monitor_op is None and k.monitor_op is None
    assert o.min_delta == abs(kwargs.get("min_delta", 0 if name == "EarlyStopping" else 1e-4))
    assert o.best is None

    mk, mo = tiny_model(), tiny_model()
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_train_begin", {})
    assert_same_attributes(k, o)
    if name == "EarlyStopping":
        assert o.best_epoch == 0 and o.wait == 0 and o.stopped_epoch == 0
    else:
        assert o.cooldown_counter == 0 and o.in_cooldown() is False

    monitor = kwargs.get("monitor", "val_loss")
    first = kwargs.get("start_from_epoch", 0)  # the first monitored epoch
    call_both(k, o, "on_epoch_end", first, {monitor: 0.5})
    assert_same_attributes(k, o)
    expected_op = keras.ops.greater if kwargs.get("mode") == "max" else keras.ops.less
    assert o.monitor_op is expected_op
    magnitude = abs(kwargs.get("min_delta", 0 if name == "EarlyStopping" else 1e-4))
    assert o.min_delta == (magnitude if expected_op is keras.ops.greater else -magnitude)
    assert_same_scalar(o.best, 0.5, "best")

    # A second fit keeps `monitor_op` and the sign of `min_delta`; `best` is
    # reset by Keras 3.15+ and carried over by older Keras.
    call_both(k, o, "on_train_begin", {})
    assert_same_attributes(k, o)
    assert o.monitor_op is expected_op
    if resets_best(name):
        assert o.best is None
    else:
        assert_same_scalar(o.best, 0.5, "best")


def test_rop_in_cooldown_matches():
    k = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, cooldown=2)
    o = fastcallbacks.ReduceLROnPlateau(monitor="loss", patience=0, cooldown=2)
    mk, mo = tiny_model(), tiny_model()
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_train_begin", {})
    seen = []
    for epoch in range(6):
        call_both(k, o, "on_epoch_end", epoch, {"loss": 1.0})
        assert o.in_cooldown() is k.in_cooldown()
        assert o.cooldown_counter == k.cooldown_counter
        seen.append(o.in_cooldown())
    assert True in seen and False in seen


# -- Keras's errors and warnings ---------------------------------------------------------


@pytest.mark.parametrize("factor", [1.0, 1, 2.5])
def test_rop_factor_at_least_one_raises_like_keras(factor):
    message = raises_like_keras(ValueError, "ReduceLROnPlateau", factor=factor)
    assert "factor >= 1.0" in message


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
@pytest.mark.parametrize("mode", ["minimum", "MAX", None])
def test_unknown_mode_warns_and_falls_back_to_auto(name, mode):
    theirs, ours = pairs(name)
    with pytest.warns(UserWarning) as k_rec:
        k = theirs(mode=mode)
    with pytest.warns(UserWarning) as o_rec:
        o = ours(mode=mode)
    assert [str(w.message) for w in o_rec] == [str(w.message) for w in k_rec]
    assert f"{name} mode '{mode}' is unknown, fallback to auto mode." == str(o_rec[0].message)
    assert o.mode == k.mode == "auto"


def test_es_unknown_keyword_raises_type_error_like_keras():
    raises_like_keras(TypeError, "EarlyStopping", epsilon=0.1)


def test_ton_unknown_keyword_raises_type_error_like_keras():
    raises_like_keras(TypeError, "TerminateOnNaN", monitor="loss")


def test_rop_unknown_keywords_are_silently_ignored_like_keras():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = keras.callbacks.ReduceLROnPlateau(epsilon=0.5, lr=3, whatever=None)
        o = fastcallbacks.ReduceLROnPlateau(epsilon=0.5, lr=3, whatever=None)
    assert o.min_delta == k.min_delta == 1e-4
    assert not hasattr(o, "epsilon") and not hasattr(k, "epsilon")
    assert_same_attributes(k, o)


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_missing_monitor_warns_like_keras(name):
    theirs, ours = pairs(name)
    k, o = theirs(monitor="val_auc", mode="max"), ours(monitor="val_auc", mode="max")
    mk, mo = tiny_model(), tiny_model()
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_train_begin", {})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        k_logs, o_logs = call_both(k, o, "on_epoch_end", 0, {"loss": 0.3, "val_loss": 0.4})
        o.on_epoch_end(1, {"loss": 0.3, "val_loss": 0.4})
    messages = [str(w.message) for w in rec if issubclass(w.category, UserWarning)]
    # call_both compared the (recorded) warnings of both sides; check the text.
    assert len(messages) == 1
    if name == "EarlyStopping":
        assert messages[0] == (
            "Early stopping conditioned on metric `val_auc` which is not "
            "available. Available metrics are: loss,val_loss"
        )
        assert o.wait == 0 and o.best is None
    else:
        assert messages[0] == (
            "Learning rate reduction is conditioned on metric `val_auc` which "
            "is not available. Available metrics are: "
            "loss,val_loss,learning_rate."
        )
        assert o_logs["learning_rate"] == k_logs["learning_rate"] == 1.0


_FIT_CACHE = {}


def _fit_unresolvable(lib, name):
    """fit() with monitor=val_acc but metrics=['accuracy']; returns (exc, epochs)."""
    model = reused_classifier(metrics=("accuracy",))
    x, y = binary_data(64, 0)
    xv, yv = binary_data(32, 1)
    epochs = []
    recorder = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(e))
    cb = getattr(lib, name)(monitor="val_acc")
    with pytest.raises(ValueError) as info:
        model.fit(epochs=3, verbose=0, callbacks=[recorder, cb],
                  **fit_data(x, y, 32, (xv, yv)))
    return str(info.value), epochs


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_auto_mode_unresolvable_monitor_raises_in_fit_like_keras(name):
    key = ("unresolvable", name)
    if key not in _FIT_CACHE:
        _FIT_CACHE[key] = _fit_unresolvable(keras.callbacks, name)
    k_msg, k_epochs = _FIT_CACHE[key]
    o_msg, o_epochs = _fit_unresolvable(fastcallbacks, name)
    assert o_msg == k_msg
    assert o_msg.startswith(f"{name} callback received monitor=val_acc, but Keras")
    # Raised at the end of the first epoch, after it trained and validated.
    assert o_epochs == k_epochs == [0]


def test_rop_learning_rate_schedule_raises_at_first_reduction():
    """Keras logs a schedule's LR fine and raises TypeError when assigning."""

    def scheduled_sgd():
        sched = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
        return keras.optimizers.SGD(learning_rate=sched)

    mk, mo = tiny_model(optimizer=scheduled_sgd()), tiny_model(optimizer=scheduled_sgd())
    k = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=1)
    o = fastcallbacks.ReduceLROnPlateau(monitor="loss", patience=1)
    assert o.schedule_mode == "raise"
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_train_begin", {})
    logs_k, logs_o = call_both(k, o, "on_epoch_end", 0, {"loss": 1.0})
    assert_same_scalar(logs_o["learning_rate"], logs_k["learning_rate"], "lr")
    assert logs_o["learning_rate"] == float(np.float32(0.1))
    # call_both checks that both raise the same type with the same message.
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule`"):
        call_both(k, o, "on_epoch_end", 1, {"loss": 1.0})


# -- our own arguments ------------------------------------------------------------------


BAD_EXTRAS = [
    ("EarlyStopping", dict(window=0), ValueError, "window"),
    ("EarlyStopping", dict(window=-1), ValueError, "window"),
    ("EarlyStopping", dict(window=1.5), TypeError, "window"),
    ("EarlyStopping", dict(window=True), TypeError, "window"),
    ("EarlyStopping", dict(smoothing="average"), ValueError, "smoothing"),
    ("EarlyStopping", dict(threshold_mode="relative"), ValueError, "threshold_mode"),
    ("EarlyStopping", dict(patience=-1), ValueError, "patience"),
    ("EarlyStopping", dict(patience="3"), TypeError, "patience"),
    ("EarlyStopping", dict(monitor="loss", check_every_n_steps=0), ValueError,
     "check_every_n_steps"),
    ("EarlyStopping", dict(monitor="loss", check_every_n_steps=-2), ValueError,
     "check_every_n_steps"),
    ("EarlyStopping", dict(monitor="loss", check_every_n_steps=1.5), TypeError,
     "check_every_n_steps"),
    ("EarlyStopping", dict(monitor="loss", check_every_n_steps="2"), TypeError,
     "check_every_n_steps"),
    ("EarlyStopping", dict(monitor="val_loss", check_every_n_steps=2), ValueError,
     "check_every_n_steps"),
    ("EarlyStopping", dict(check_every_n_steps=2), ValueError, "check_every_n_steps"),
    ("ReduceLROnPlateau", dict(window=0), ValueError, "window"),
    ("ReduceLROnPlateau", dict(window=2.0), TypeError, "window"),
    ("ReduceLROnPlateau", dict(smoothing="mode"), ValueError, "smoothing"),
    ("ReduceLROnPlateau", dict(threshold_mode="ABS"), ValueError, "threshold_mode"),
    ("ReduceLROnPlateau", dict(patience=-1), ValueError, "patience"),
    ("ReduceLROnPlateau", dict(cooldown=-1), ValueError, "cooldown"),
    ("ReduceLROnPlateau", dict(schedule_mode="rescale"), ValueError, "schedule_mode"),
]


@pytest.mark.parametrize(
    "name, kwargs, exc, argument",
    BAD_EXTRAS,
    ids=[f"{n}-{'-'.join(f'{k}={v!r}' for k, v in kw.items())}" for n, kw, _, _ in BAD_EXTRAS],
)
def test_bad_extra_arguments_raise_naming_the_argument(name, kwargs, exc, argument):
    with pytest.raises(exc, match=f"`{argument}`"):
        getattr(fastcallbacks, name)(**kwargs)


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_window_accepts_numpy_ints_and_names_itself_when_too_large(name):
    cls = getattr(fastcallbacks, name)
    cb = cls(monitor="loss", window=np.int64(5))
    assert cb.window == 5 and type(cb.window) is int
    for too_large in (2**62, 2**70):
        with pytest.raises(OverflowError, match="`window`"):
            cls(monitor="loss", window=too_large)


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_extras_accept_their_documented_values(name):
    cls = getattr(fastcallbacks, name)
    for smoothing in ("mean", "median", "min", "max", "ema"):
        cb = cls(monitor="loss", window=3, smoothing=smoothing, threshold_mode="rel",
                 check_finite=True)
        assert (cb.window, cb.smoothing, cb.threshold_mode, cb.check_finite) == (
            3, smoothing, "rel", True)
    if name == "EarlyStopping":
        cb = cls(monitor="loss", check_every_n_steps=5, stopping_threshold=0.1,
                 divergence_threshold=10.0)
        assert cb.check_every_n_steps == 5 and cb.stop_reason is None
    else:
        assert cls(schedule_mode="scale").schedule_mode == "scale"


# -- auto mode: which names resolve ------------------------------------------------------


def _my_metric(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred))


@pytest.fixture(scope="module")
def many_metrics_model():
    """A model whose compiled metrics are built (one short fit; run eagerly:
    its two steps cost less than tracing the train step, and the metrics
    are built alike)."""
    model = classifier(metrics=("acc", "accuracy", "mse", "mae", "hinge",
                                keras.metrics.F1Score(), keras.metrics.AUC(),
                                keras.metrics.Precision(), _my_metric,
                                keras.metrics.TruePositives()))
    model.run_eagerly = True
    x, y = binary_data(32, 0)
    model.fit(x, y[:, None], epochs=1, batch_size=16, verbose=0)
    return model


AUTO_MONITORS = [
    "loss", "val_loss", "acc", "val_acc", "accuracy", "val_accuracy", "mse", "val_mae",
    "hinge", "val_f1_score", "auc", "val_precision", "_my_metric", "val__my_metric",
    "true_positives", "unknown", "val_val_loss", "val_",
]


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
@pytest.mark.parametrize("monitor", AUTO_MONITORS)
def test_auto_mode_resolution_like_keras(many_metrics_model, name, monitor):
    theirs, ours = pairs(name)
    k, o = theirs(monitor=monitor), ours(monitor=monitor)
    k.set_model(many_metrics_model)
    o.set_model(many_metrics_model)
    k.on_train_begin()
    o.on_train_begin()
    try:
        call_both(k, o, "on_epoch_end", 0, {monitor: 0.5})
    except ValueError as e:  # same type and message on both sides
        assert "isn't able to automatically determine" in str(e)
        assert monitor in ("_my_metric", "val__my_metric", "true_positives", "unknown",
                           "val_val_loss", "val_")
        assert o.monitor_op is None
    else:
        assert o.monitor_op is k.monitor_op
        up = monitor.removeprefix("val_") in ("acc", "accuracy", "f1_score", "auc",
                                              "precision")
        assert o.monitor_op is (keras.ops.greater if up else keras.ops.less)
        assert_same_attributes(k, o)
