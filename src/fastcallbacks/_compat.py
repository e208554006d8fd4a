"""What the installed Keras does, where Keras 3.12 to 3.15 differ.

Every flag is read once, at import, off the installed Keras: from a
signature, a class attribute or a freshly constructed Keras callback (no
model, no files) where the behaviour shows there, and from the version
only for a printed message. The callbacks follow the flags, so each of
them matches the Keras it runs with.
"""

import inspect
import re

import keras


def parse_version(text):
    """(major, minor, patch) of a version string: "3.13.0.dev1" -> (3, 13, 0)."""
    numbers = [int(n) for n in re.findall(r"\d+", text)[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))


KERAS_VERSION = parse_version(keras.version())

# `TerminateOnNaN(raise_error=...)`, new in Keras 3.13. Without it the class
# has no constructor of its own and rejects every argument.
TERMINATE_ON_NAN_RAISE_ERROR = (
    "raise_error" in inspect.signature(keras.callbacks.TerminateOnNaN).parameters
)


def _train_begin_resets_best(callback):
    callback.best = 0.0
    callback.on_train_begin()
    return callback.best is None


# `on_train_begin` also resets `best` (Keras 3.15); before, `best` carried
# over from one `fit()` into the next.
EARLY_STOPPING_RESETS_BEST = _train_begin_resets_best(keras.callbacks.EarlyStopping())
REDUCE_LR_RESETS_BEST = _train_begin_resets_best(keras.callbacks.ReduceLROnPlateau())

# ReduceLROnPlateau reads and reduces each optimizer of a model whose
# optimizer has `optimizers` (keys `learning_rate_<name>`), Keras 3.15;
# before, it only reads `optimizer.learning_rate`.
REDUCE_LR_PER_OPTIMIZER = hasattr(
    keras.callbacks.ReduceLROnPlateau, "_reduce_optimizer_lr"
)

# ModelCheckpoint's `_last_batch_seen` before the first batch: `None`
# (Keras 3.14) or `0`. Ours borrows Keras's `_should_save_on_batch`, which
# counts from its own starting value.
CHECKPOINT_FIRST_LAST_BATCH = keras.callbacks.ModelCheckpoint(
    "probe.keras"
)._last_batch_seen

# `ModelCheckpoint(verbose=1)` prints "finished saving model to ..." after
# each save since Keras 3.13 (only the message changed, so by version).
CHECKPOINT_FINISHED_MESSAGE = KERAS_VERSION >= (3, 13)
