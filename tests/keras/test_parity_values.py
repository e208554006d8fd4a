"""Differential table: odd logged values and odd arguments, ours against Keras.

Every row feeds the same logged value (a string, bytes, `Decimal`,
`Fraction`, huge ints, complex, datetime64, bool, numpy scalars of every
dtype, size-1 and larger arrays, backend tensors, ...) to
`keras.callbacks.X` and `fastcallbacks.X` attached to identical tiny models,
at the first epoch and at later ones, and checks after every call:

* where Keras raises, ours raises the same exception type (and the run
  stops there, as `fit` would);
* where Keras decides, ours decides the same: `wait`, `best` (the very
  object Keras keeps), `best_epoch`, `stopped_epoch`, `stop_training`, the
  learning rate, `cooldown_counter` (value and type), the printed messages
  and the warnings.

The only values left out are the documented difference: Python floats beyond
float32 range, logged or given as `baseline`/`min_delta` (Keras on
TensorFlow raises, ours compares them as +-inf; see
`test_arguments_beyond_float32_act_as_infinity` and
`test_parity_hooks.py`).
"""

import decimal
import fractions
import math
import re
import warnings

import keras
import numpy as np
import pytest

import fastcallbacks
from parity_utils import _run, learning_rate

D = decimal.Decimal
F = fractions.Fraction


def _tensor(value, dtype=None):
    def make():
        with warnings.catch_warnings():
            # JAX without x64 makes a float64 request float32, warning so:
            # the value is then JAX's float32 tensor, for Keras and ours alike.
            warnings.filterwarnings("ignore", "Explicitly requested dtype float64",
                                    UserWarning)
            return keras.ops.convert_to_tensor(value, dtype=dtype)
    return make


def _const(value):
    return lambda: value


# (id, factory): factories, so that tensors are made inside the test.
VALUES = [
    ("str", _const("0.5")),
    ("str-abc", _const("abc")),
    ("bytes", _const(b"0.5")),
    ("Decimal", _const(D("0.5"))),
    ("Decimal-nan", _const(D("nan"))),
    ("Fraction", _const(F(1, 2))),
    ("2**80", _const(2**80)),
    ("-2**80", _const(-(2**80))),
    ("2**31", _const(2**31)),
    ("int", _const(3)),
    ("int-0", _const(0)),
    ("True", _const(True)),
    ("False", _const(False)),
    ("complex", _const(0.5 + 0j)),
    ("complex-imag", _const(0.5 + 1j)),
    ("datetime64", _const(np.datetime64("2020-01-01"))),
    ("timedelta64", _const(np.timedelta64(1, "s"))),
    ("np-str", _const(np.str_("0.5"))),
    ("np-bytes", _const(np.bytes_(b"0.5"))),
    ("f32-nan", _const(np.float32("nan"))),
    ("f16-inf", _const(np.float16("inf"))),
    ("f64-tiny-diff", _const(np.float64(0.5 + 1e-12))),
    # Below 0.5 in float64 only: Keras compares two float64 operands in
    # float64 (an improvement on 0.5), the core would round to float32.
    ("f64-just-below", _const(np.float64(0.5 - 1e-12))),
    ("(1,)-f64-just-below", _const(np.array([0.5 - 1e-12]))),
    ("0d-array", _const(np.array(0.5))),
    ("(1,)-f32", _const(np.array([0.5], np.float32))),
    ("(1,)-f64", _const(np.array([0.5]))),
    ("(1,1)-f32", _const(np.array([[0.5]], np.float32))),
    ("(1,)-int", _const(np.array([1]))),
    ("(1,)-nan", _const(np.array([np.nan], np.float32))),
    ("(2,)", _const(np.array([0.5, 0.6]))),
    ("(0,)", _const(np.array([], np.float32))),
    ("tensor", _tensor(0.5)),
    ("tensor-f64", _tensor(0.5, "float64")),
    ("tensor-int", _tensor(1)),
    ("tensor-bool", _tensor(True)),
    ("tensor-(1,)", _tensor([0.5])),
    ("tensor-(1,1)", _tensor([[0.5]])),
    ("tensor-(2,)", _tensor([0.5, 0.6])),
] + [
    (f"np-{name}", _const(getattr(np, name)(1)))
    for name in (
        "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64", "float16", "float32", "float64", "longdouble", "complex64",
        "complex128", "clongdouble",
    )
]

CONFIGS = {
    "es-min": ("EarlyStopping", dict(mode="min", patience=1)),
    "es-auto": ("EarlyStopping", dict(patience=1)),
    "es-max": ("EarlyStopping", dict(mode="max", patience=1, min_delta=0.01)),
    "es-baseline": ("EarlyStopping", dict(patience=1, baseline=0.7)),
    "rop": ("ReduceLROnPlateau", dict(patience=1, factor=0.5, cooldown=1)),
    "rop-max": ("ReduceLROnPlateau", dict(mode="max", patience=0, factor=0.5)),
}

# Where the odd value comes: first epoch, later epochs, every epoch.
SEQUENCES = {
    "first": lambda x: [x, 0.4, 0.6, 0.6, 0.6],
    "later": lambda x: [0.5, x, 0.6, x, 0.4, 0.6],
    "every": lambda x: [x, x, x, x],
}


class Pair:
    """A Keras callback and ours, each on its own identical tiny model."""

    def __init__(self, models, name, kwargs):
        self.models = models
        for m in models:
            m.stop_training = False
            m.optimizer.learning_rate = 1.0
        self.k = getattr(keras.callbacks, name)(monitor="val_loss", **kwargs)
        self.o = getattr(fastcallbacks, name)(monitor="val_loss", **kwargs)
        self.k.set_model(models[0])
        self.o.set_model(models[1])
        self.call("on_train_begin", {})

    def call(self, hook, *args):
        """Calls `hook` on both; returns the exception type (or None)."""
        exc_k, warn_k, out_k = _run(lambda: getattr(self.k, hook)(*args))
        exc_o, warn_o, out_o = _run(lambda: getattr(self.o, hook)(*args))
        assert type(exc_o) is type(exc_k), (hook, args, exc_k, exc_o)
        assert warn_o == warn_k, (hook, args)
        assert out_o == out_k, (hook, args)
        self.check(f"{hook}{args}")
        return type(exc_k) if exc_k is not None else None

    def check(self, where):
        k, o = self.k, self.o
        assert o.best is k.best, (where, o.best, k.best)
        assert type(o.wait) is type(k.wait) and o.wait == k.wait, (where, o.wait, k.wait)
        assert self.models[1].stop_training == self.models[0].stop_training, where
        for name in ("stopped_epoch", "best_epoch"):
            assert getattr(o, name, None) == getattr(k, name, None), (where, name)
        if isinstance(k, keras.callbacks.ReduceLROnPlateau):
            assert learning_rate(self.models[1]) == learning_rate(self.models[0]), where
            a, b = o.cooldown_counter, k.cooldown_counter
            assert type(a) is type(b) and (a == b or (a != a and b != b)), (where, a, b)
            assert o.in_cooldown() == k.in_cooldown(), where

    def run(self, values):
        """Feeds `values` epoch by epoch until the end or an exception."""
        for epoch, value in enumerate(values):
            self.call("on_epoch_begin", epoch, {})
            if self.call("on_epoch_end", epoch, {"val_loss": value}) is not None:
                return epoch
        self.call("on_train_end", {})
        return None


@pytest.fixture(scope="module")
def models():
    from parity_utils import tiny_model

    return tiny_model(), tiny_model()


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("vid, make", VALUES, ids=[v[0] for v in VALUES])
def test_logged_values_like_keras(models, vid, make, config):
    name, kwargs = CONFIGS[config]
    value = make()
    for where, seq in SEQUENCES.items():
        Pair(models, name, kwargs).run(seq(value))


@pytest.mark.parametrize("vid, make", VALUES, ids=[v[0] for v in VALUES])
def test_terminate_on_nan_logged_values_like_keras(models, vid, make):
    value = make()
    for m in models:
        m.stop_training = False
    k, o = keras.callbacks.TerminateOnNaN(), fastcallbacks.TerminateOnNaN()
    k.set_model(models[0])
    o.set_model(models[1])
    for batch, loss in enumerate([0.5, value, value]):
        exc_k, warn_k, out_k = _run(lambda: k.on_batch_end(batch, {"loss": loss}))
        exc_o, warn_o, out_o = _run(lambda: o.on_batch_end(batch, {"loss": loss}))
        assert type(exc_o) is type(exc_k), (exc_k, exc_o)
        assert (warn_o, out_o) == (warn_k, out_k)
        assert models[1].stop_training == models[0].stop_training
        if exc_k is not None:
            break


# -- baseline and min_delta of odd types -------------------------------------------------

ODD_NUMBERS = [
    1, 0, 2**80, -(2**80), 10**400, True, math.nan, math.inf, -math.inf,
    D("0.5"), F(1, 3), np.float32(0.7), np.float64(0.7), np.float16(0.7),
    np.int64(1), np.array([0.7]), np.array(0.7), "abc", 0.5 + 0j,
]


@pytest.mark.parametrize("baseline", ODD_NUMBERS, ids=repr)
def test_es_baseline_of_any_type_like_keras(models, baseline):
    for values in ([1.0, 0.5, 0.6, 0.6], [0.5, 2.0, 2.0], [np.array([0.5]), 0.4, 0.9]):
        Pair(models, "EarlyStopping", dict(patience=1, baseline=baseline)).run(values)


@pytest.mark.parametrize("min_delta", ODD_NUMBERS + [-0.1, 2**24 + 1], ids=repr)
@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_min_delta_of_any_type_like_keras(models, name, min_delta):
    try:
        keras_cb = getattr(keras.callbacks, name)(min_delta=min_delta)
    except Exception as e:  # abs() of a non-number: the same error
        with pytest.raises(type(e), match=re.escape(str(e))):
            getattr(fastcallbacks, name)(min_delta=min_delta)
        return
    assert keras_cb.min_delta is not None
    for mode in ("min", "max"):
        for values in ([1.0, 0.5, 0.6, 0.6, 0.2], [np.float32(1.0), 1.5, 1.5, 0.5]):
            Pair(models, name, dict(mode=mode, patience=1, min_delta=min_delta)).run(values)


# -- patience and cooldown Keras accepts ---------------------------------------------------

ODD_COUNTS = [
    math.inf, math.nan, 2**80, 2**63, 2**63 - 1, 1e300, 2.5, 0.3, True,
    np.float32(1.5), np.int64(2), F(3, 2), D("1.5"),
]


@pytest.mark.parametrize("patience", ODD_COUNTS, ids=repr)
@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_odd_patience_like_keras(models, name, patience):
    pair = Pair(models, name, dict(patience=patience, mode="min"))
    assert pair.o.patience is pair.k.patience
    stopped = pair.run([1.0] * 8)
    assert stopped is None
    if isinstance(patience, float) and not patience < 1e300:
        # inf, NaN, 1e300: never stops, never reduces.
        assert not pair.models[1].stop_training and pair.o.wait == 7
        assert learning_rate(pair.models[1]) == 1.0


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
@pytest.mark.parametrize("argument", ["baseline", "min_delta"])
def test_arguments_beyond_float32_act_as_infinity(models, name, argument):
    # The documented difference: Keras on TensorFlow raises ValueError when
    # it converts such a float to a float32 tensor; ours compares +-inf.
    if name == "ReduceLROnPlateau" and argument == "baseline":
        return
    values = [1.0, 0.5, 0.6, 0.6, -2.0, 3e38, -3e38]

    def decisions(x):
        cb = getattr(fastcallbacks, name)(monitor="val_loss", patience=1, **{argument: x})
        m = models[1]
        m.stop_training = False
        m.optimizer.learning_rate = 1.0
        cb.set_model(m)
        cb.on_train_begin({})
        out = []
        for epoch, v in enumerate(values):
            cb.on_epoch_end(epoch, {"val_loss": v})
            out.append((cb.wait, cb.best, m.stop_training, learning_rate(m)))
        return out

    for big in (1e39, -1e39):
        assert decisions(big) == decisions(math.copysign(math.inf, big))


@pytest.mark.parametrize("cooldown", ODD_COUNTS + [0, 3], ids=repr)
def test_odd_cooldown_like_keras(models, cooldown):
    pair = Pair(models, "ReduceLROnPlateau", dict(patience=1, cooldown=cooldown, factor=0.5))
    assert pair.o.cooldown is pair.k.cooldown
    assert pair.run([1.0] * 10) is None
    # Again after a hand-set counter, as Keras allows.
    for cb in (pair.k, pair.o):
        cb.cooldown_counter = cooldown
    pair.run([1.0] * 4)


# -- through a real fit: values written into the logs by an earlier callback ---------------


class _Rewrite(keras.callbacks.Callback):
    """Replaces the monitored value in the shared logs before the others run."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.fn(logs["val_loss"])


REWRITES = {
    "tensor": lambda v: keras.ops.convert_to_tensor(v),
    "tensor-(1,)": lambda v: keras.ops.convert_to_tensor([v]),
    "np-float64": np.float64,
    "np-float32": np.float32,
    "(1,1)-array": lambda v: np.array([[v]], np.float32),
    "int-per-mille": lambda v: int(v * 1000),
    "str": str,
    "(2,)-array": lambda v: np.array([v, v]),
}


def _fit_rewritten(lib, rewrite):
    from parity_utils import binary_data, fit_data, reused_classifier

    model = reused_classifier(seed=2, optimizer=keras.optimizers.Adam(0.05))
    x, y = binary_data(64, 0)
    callbacks = [_Rewrite(REWRITES[rewrite]),
                 lib.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5,
                                       min_delta=0.002),
                 lib.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.001,
                                   restore_best_weights=True)]
    error = None
    try:
        model.fit(epochs=12, verbose=0, callbacks=callbacks,
                  **fit_data(x, y, 16, binary_data(64, 1)))
    except Exception as e:  # compared below
        error = e
    # The model is reused by the next run: keep what it ended with.
    return (learning_rate(model), model.get_weights()), callbacks[1:], error


@pytest.mark.parametrize("rewrite", list(REWRITES))
def test_rewritten_logged_values_through_fit_like_keras(rewrite):
    (klr, kweights), kcbs, kerr = _fit_rewritten(keras.callbacks, rewrite)
    (olr, oweights), ocbs, oerr = _fit_rewritten(fastcallbacks, rewrite)
    assert type(oerr) is type(kerr), (kerr, oerr)
    assert olr == klr
    for a, b in zip(oweights, kweights):
        assert np.array_equal(a, b)
    for o, k in zip(ocbs, kcbs):
        assert type(o.best) is type(k.best)
        assert np.array_equal(np.asarray(o.best), np.asarray(k.best))
        assert (o.wait, getattr(o, "stopped_epoch", None)) == (
            k.wait, getattr(k, "stopped_epoch", None))


def test_float64_values_compare_in_float64_like_keras(models):
    # Formerly a documented difference (the core compared in float32).
    first, x = np.float64(0.5), np.float64(0.5 - 1e-12)
    pair = Pair(models, "EarlyStopping", dict(patience=0))
    pair.run([first, x, x])  # ours is Keras's, step by step
    # Keras's own comparison on this backend: in float64 on TensorFlow (x
    # improves once), in float32 on torch (it does not). Either way ours
    # took the same branch (Pair checks `best` by identity).
    improved = bool(keras.ops.convert_to_numpy(
        pair.k.monitor_op(x - pair.k.min_delta, first)))
    if keras.backend.backend() == "tensorflow":
        assert improved  # not vacuous on the CI backend
    assert pair.k.best is (x if improved else first)
    assert pair.k.wait == (1 if improved else 2)


def test_check_every_n_steps_accepts_size1_batch_values(models):
    # Beyond Keras: batch logs of F1Score-like metrics are (1,) arrays too.
    es = fastcallbacks.EarlyStopping(monitor="f1", mode="max", patience=1,
                                     check_every_n_steps=2)
    m = models[1]
    m.stop_training = False
    es.set_model(m)
    es.on_train_begin({})
    values = [0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    for batch, v in enumerate(values):
        es.on_train_batch_end(batch, {"f1": np.array([v], np.float32)})
    assert type(es.best) is np.ndarray and es.best == np.float32(0.3)
    assert m.stop_training and es.stop_reason == "patience"
    # A (2,) value: what Keras's own comparison raises on this backend
    # (ValueError on TensorFlow and JAX, RuntimeError on torch).
    k = keras.callbacks.EarlyStopping(monitor="f1", mode="max", patience=1)
    k.set_model(models[0])
    k.on_train_begin({})
    k.on_epoch_end(0, {"f1": np.array([0.3], np.float32)})
    with pytest.raises(Exception) as expected:
        k.on_epoch_end(1, {"f1": np.array([0.5, 0.6])})
    assert expected.type in (ValueError, RuntimeError), expected.value
    with pytest.raises(expected.type, match=re.escape(str(expected.value))):
        es.on_train_batch_end(8, {"f1": np.array([0.5, 0.6])})
        es.on_train_batch_end(9, {"f1": np.array([0.5, 0.6])})


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
@pytest.mark.parametrize("value", [0.9, np.array([0.9])], ids=["float", "array"])
def test_wait_assigned_at_the_int64_limit_saturates(models, name, value):
    cb = getattr(fastcallbacks, name)(monitor="val_loss", patience=math.inf)
    cb.set_model(models[1])
    cb.on_train_begin({})
    cb.on_epoch_end(0, {"val_loss": 0.5})
    # No OverflowError from the core's int64 counter (Keras's int grows on;
    # a hand-set wait this large is beyond any real patience).
    cb.wait = 2**63 - 1
    cb.on_epoch_end(1, {"val_loss": value})
    assert cb.wait in (0, 2**63 - 1)
