"""The Keras-version flags of `fastcallbacks._compat` against what the
installed Keras does, checked another way than `_compat` reads them
(through `fit()`, hook calls and printed messages)."""

import contextlib
import io

import keras
import pytest

from fastcallbacks import _compat
from parity_utils import binary_data, classifier, fit_data, reused_classifier

# The release that brought each behaviour (README, "Requirements").
INTRODUCED = {
    "TERMINATE_ON_NAN_RAISE_ERROR": (3, 13, 0),
    "CHECKPOINT_FINISHED_MESSAGE": (3, 13, 0),
    "EARLY_STOPPING_RESETS_BEST": (3, 15, 0),
    "REDUCE_LR_RESETS_BEST": (3, 15, 0),
    "REDUCE_LR_PER_OPTIMIZER": (3, 15, 0),
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3.12.4", (3, 12, 4)),
        ("3.15.1", (3, 15, 1)),
        ("3.13.0.dev2025120403", (3, 13, 0)),
        ("3.14.0rc1", (3, 14, 0)),
        ("3.16", (3, 16, 0)),
    ],
)
def test_parse_version(text, expected):
    assert _compat.parse_version(text) == expected


def test_keras_version_is_the_installed_one():
    assert _compat.KERAS_VERSION == _compat.parse_version(keras.__version__)
    assert _compat.KERAS_VERSION >= (3, 12, 0)


@pytest.mark.parametrize("flag", sorted(INTRODUCED))
def test_flags_match_the_release_notes(flag):
    assert getattr(_compat, flag) == (_compat.KERAS_VERSION >= INTRODUCED[flag])


def test_terminate_on_nan_raise_error_flag():
    try:
        cb = keras.callbacks.TerminateOnNaN(raise_error=True)
    except TypeError:
        accepted = False
    else:
        accepted = cb.raise_error is True
    assert _compat.TERMINATE_ON_NAN_RAISE_ERROR == accepted


class _BestAtTrainBegin(keras.callbacks.Callback):
    """Placed after the watched callback: records its `best` at each
    on_train_begin (after the watched one ran its own)."""

    def __init__(self, watched):
        super().__init__()
        self.watched = watched
        self.seen = []

    def on_train_begin(self, logs=None):
        self.seen.append(self.watched.best)


@pytest.mark.parametrize(
    "name, flag",
    [("EarlyStopping", "EARLY_STOPPING_RESETS_BEST"),
     ("ReduceLROnPlateau", "REDUCE_LR_RESETS_BEST")],
)
def test_resets_best_flags_in_fit(name, flag):
    x, y = binary_data(32, 0)
    model = reused_classifier()
    cb = getattr(keras.callbacks, name)(monitor="loss")
    probe = _BestAtTrainBegin(cb)
    for _ in range(2):
        model.fit(epochs=1, verbose=0, callbacks=[cb, probe], **fit_data(x, y, 16))
    assert probe.seen[0] is None  # a fresh callback
    assert getattr(_compat, flag) == (probe.seen[1] is None)


class _Optimizers:
    def __init__(self):
        self.optimizers = [keras.optimizers.SGD(0.1, name="opt0")]


class _Model:
    def __init__(self):
        self.optimizer = _Optimizers()
        self.stop_training = False


def test_reduce_lr_per_optimizer_flag():
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", mode="min")
    cb.set_model(_Model())
    cb.on_train_begin()
    logs = {"loss": 1.0}
    try:
        cb.on_epoch_end(0, logs)
    except AttributeError:
        per_optimizer = False
    else:
        per_optimizer = "learning_rate_opt0" in logs
    assert _compat.REDUCE_LR_PER_OPTIMIZER == per_optimizer


def test_checkpoint_flags(tmp_path):
    cb = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "w.weights.h5"), save_weights_only=True, verbose=1, save_freq=1)
    assert cb._last_batch_seen == _compat.CHECKPOINT_FIRST_LAST_BATCH
    assert _compat.CHECKPOINT_FIRST_LAST_BATCH in (None, 0)
    cb.set_model(classifier())
    cb.on_epoch_begin(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cb.on_train_batch_end(0, {"loss": 1.0})
    assert (tmp_path / "w.weights.h5").exists()
    assert "saving model to" in out.getvalue()
    finished = "finished saving model to" in out.getvalue()
    assert _compat.CHECKPOINT_FINISHED_MESSAGE == finished
