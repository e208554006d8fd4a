"""Helpers shared by the Keras parity tests (imported by name: this folder
is on sys.path, it has no __init__.py so that it cannot shadow `keras`)."""

import contextlib
import io
import warnings

import numpy as np

from fit_utils import binary_data, classifier, reused_classifier  # noqa: F401 (re-exported)


# -- feeding fit() --------------------------------------------------------------------


def fit_data(x, y, batch_size=32, validation=None):
    """`model.fit` keyword arguments that feed `(x, y)` in order, `batch_size`
    samples a step, with `validation` (`(x, y)` or None) batched alike.

    On TensorFlow: `tf.data` datasets of the same batches. Keras's array
    adapter builds a new `tf.data` iterator, with its traced slicing
    functions, for every epoch's training and validation pass: about three
    quarters of a small fit's time. The batches, hence the logs, the weights
    and every hook call, are the same (`test_fit_data_feeds_like_arrays`
    checks it bit for bit). Other backends: the arrays (their adapters are
    cheap).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        kwargs = dict(x=x, y=y, batch_size=batch_size, shuffle=False)
        if validation is not None:
            kwargs["validation_data"] = tuple(validation)
        return kwargs
    import tensorflow as tf

    options = tf.data.Options()
    # No autotuning: when the garbage collector freed one of these
    # iterators in a loaded worker, it waited for the autotuning thread to
    # wake from its sleep (gdb: the main thread in ~RootDataset::Iterator,
    # joining the thread in Model::OptimizeLoop), for up to the autotuning
    # period (a minute at most). The batches are the same.
    options.autotune.enabled = False
    kwargs = dict(x=tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
                  .with_options(options), shuffle=False)
    if validation is not None:
        kwargs["validation_data"] = tf.data.Dataset.from_tensor_slices(
            tuple(validation)).batch(batch_size).with_options(options)
    return kwargs


# -- tiny real models for direct hook calls -------------------------------------


def tiny_model(learning_rate=1.0, optimizer=None):
    """A compiled 3 -> 2 Dense model with a real SGD optimizer.

    Real Keras objects give exact parity with what the Keras callbacks read:
    `optimizer.learning_rate` (a float32 variable), `get_weights()`,
    `set_weights()`, `weights`, `metrics`, `stop_training`.
    """
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    if optimizer is None:
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    model.compile(optimizer=optimizer, loss="mse")
    model.stop_training = False
    model.set_weights(epoch_weights(model, -1))  # identical for every call
    return model


def epoch_weights(model, epoch, salt=0):
    """Deterministic, epoch-dependent weights for `model` (distinct per epoch)."""
    rng = np.random.default_rng([salt, epoch + 1])
    # Shapes and dtypes from the variables: get_weights() would read them all.
    return [
        rng.standard_normal(v.shape).astype(v.dtype) + np.float32(epoch)
        for v in model.weights
    ]


class ModelPair:
    """Two identical tiny models: one for the Keras callback, one for ours."""

    def __init__(self):
        self.keras = tiny_model()
        self.ours = tiny_model()

    def reset(self, learning_rate=1.0, salt=0):
        for m in (self.keras, self.ours):
            m.stop_training = False
            m.optimizer.learning_rate = learning_rate
            m.set_weights(epoch_weights(m, -1, salt))

    def set_epoch_weights(self, epoch, salt=0):
        w = epoch_weights(self.keras, epoch, salt)
        self.keras.set_weights(w)
        self.ours.set_weights(w)


# -- comparisons -----------------------------------------------------------------


def _isnan(x):
    try:
        return bool(np.isnan(x))
    except TypeError:
        return False


def same_scalar(ours, theirs):
    """Equal value *and* type; NaN equals NaN; None only equals None."""
    if ours is None or theirs is None:
        return ours is theirs
    if type(ours) is not type(theirs):
        return False
    if _isnan(theirs):
        return _isnan(ours)
    return ours == theirs


def assert_same_scalar(ours, theirs, what=""):
    assert same_scalar(ours, theirs), (
        f"{what}: ours={ours!r} ({type(ours).__name__}), "
        f"keras={theirs!r} ({type(theirs).__name__})"
    )


def same_arrays(ours, theirs):
    """Two lists of arrays with identical shapes, dtypes and bits (NaN==NaN)."""
    if ours is None or theirs is None:
        return ours is theirs
    if len(ours) != len(theirs):
        return False
    return all(
        np.asarray(a).dtype == np.asarray(b).dtype
        and np.array_equal(a, b, equal_nan=True)
        for a, b in zip(ours, theirs)
    )


def learning_rate(model):
    """The optimizer's learning rate as Keras's ReduceLROnPlateau reads it
    (`float(convert_to_numpy(optimizer.learning_rate))`: the same float as
    `float()` of the variable or tensor, which costs a third as much)."""
    return float(model.optimizer.learning_rate)


# -- calling both sides -------------------------------------------------------------


def _run(fn):
    """Calls fn(); returns (exception, warnings, stdout)."""
    out = io.StringIO()
    exc = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out):
            try:
                fn()
            except Exception as e:  # compared below
                exc = e
    caught = [
        (w.category, str(w.message))
        for w in caught
        # numpy 2 noise from Keras reading TF variables (see pyproject.toml).
        if not str(w.message).startswith("__array__ implementation")
    ]
    return exc, caught, out.getvalue()


def call_both(theirs, ours, hook, *args):
    """Calls `hook(*args)` on both callbacks, compares side effects.

    The last positional argument, if a dict, is copied for each side so that
    writes into the logs can be compared; returns (their_logs, our_logs).
    """
    args_k, args_o = list(args), list(args)
    logs_k = logs_o = None
    if args and isinstance(args[-1], dict):
        logs_k, logs_o = dict(args[-1]), dict(args[-1])
        args_k[-1], args_o[-1] = logs_k, logs_o
    exc_k, warn_k, out_k = _run(lambda: getattr(theirs, hook)(*args_k))
    exc_o, warn_o, out_o = _run(lambda: getattr(ours, hook)(*args_o))
    assert type(exc_o) is type(exc_k), (hook, args, exc_k, exc_o)
    if exc_k is not None:
        assert str(exc_o) == str(exc_k)
        raise exc_k
    assert warn_o == warn_k, (hook, args)
    assert out_o == out_k, (hook, args)
    return logs_k, logs_o


# -- arguments only some Keras versions take --------------------------------------


def terminate_on_nan_kwargs(raise_error):
    """TerminateOnNaN arguments for `raise_error`, as the installed Keras takes them.

    Keras 3.13+ takes `raise_error`. An older Keras rejects it, with or without
    a value: then this checks that ours raises the same TypeError, and returns
    `{}` (the default, a graceful stop) for False and None for True (nothing
    left to compare).
    """
    from fastcallbacks import _compat

    if _compat.TERMINATE_ON_NAN_RAISE_ERROR:
        return {"raise_error": raise_error}
    message = raises_like_keras(TypeError, "TerminateOnNaN", raise_error=raise_error)
    assert "unexpected keyword argument 'raise_error'" in message
    return None if raise_error else {}


def raises_like_keras(exc, name, **kwargs):
    """Constructs `keras.callbacks.<name>(**kwargs)` and ours: both must raise
    `exc` with the same message, which is returned."""
    import keras
    import pytest

    import fastcallbacks

    with pytest.raises(exc) as k:
        getattr(keras.callbacks, name)(**kwargs)
    with pytest.raises(exc) as o:
        getattr(fastcallbacks, name)(**kwargs)
    assert str(o.value) == str(k.value)
    return str(o.value)


def resets_best(name):
    """Whether the installed Keras's `name` resets `best` in on_train_begin."""
    from fastcallbacks import _compat

    return {
        "EarlyStopping": _compat.EARLY_STOPPING_RESETS_BEST,
        "ReduceLROnPlateau": _compat.REDUCE_LR_RESETS_BEST,
    }[name]


# -- callback attributes -----------------------------------------------------------


def public_attributes(cb):
    """Names of the public instance attributes of a (Keras) callback."""
    return sorted(n for n in vars(cb) if not n.startswith("_"))


def assert_same_attributes(k, o):
    """Every public attribute of the Keras callback `k` exists on `o` with
    the same value (and, for numbers, the same type)."""
    names = public_attributes(k)
    assert names, "Keras callback without public attributes?"
    for n in names:
        assert hasattr(o, n), n
        a, b = getattr(o, n), getattr(k, n)
        if n == "monitor_op":
            assert a is b, (n, a, b)
        elif n == "best_weights":
            assert same_arrays(a, b), n
        elif b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)):
            assert_same_scalar(a, b, n)
        else:
            assert a == b, (n, a, b)
    for n in ("best_epoch", "in_cooldown"):
        assert hasattr(o, n) == hasattr(k, n), n
