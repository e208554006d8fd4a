"""TerminateOnNaN: stop training when the loss becomes NaN or infinite."""

import math

import keras
import numpy as np

from . import _compat
from ._callback_state import StatelessState
from ._keras_internals import print_msg
from .distributed import guarded as _distributed_guard

_RAISE_ERROR = _compat.TERMINATE_ON_NAN_RAISE_ERROR


@_distributed_guard
class TerminateOnNaN(StatelessState, keras.callbacks.Callback):
    """Stops training when a NaN or infinite loss is encountered.

    A drop-in replacement for `keras.callbacks.TerminateOnNaN`, with the same
    batch hook (`on_batch_end`, so Keras dispatches it synchronously, as it
    does the original) and a cheaper check for the Python floats `fit()`
    passes.

    Args:
        raise_error: Whether to raise a `RuntimeError` at the first NaN or
            infinite loss instead of stopping training gracefully (setting
            `model.stop_training`). Accepted only with Keras 3.13 or later,
            as in Keras: with an older Keras the class takes no arguments.
            Defaults to `False`.

    Example:

    ```python
    callback = fastcallbacks.TerminateOnNaN()
    model.fit(x, y, epochs=10, callbacks=[callback])
    ```
    """

    if _RAISE_ERROR:

        def __init__(self, raise_error: bool = False):
            super().__init__()
            self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        """Checks the batch loss; stops (or raises) if it is NaN or inf."""
        logs = logs or {}
        loss = logs.get("loss")
        if loss is None:
            return
        if type(loss) is float:
            if math.isfinite(loss):
                return
        elif not (np.isnan(loss) or np.isinf(loss)):
            return
        if _RAISE_ERROR and self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. "
                f"Loss value: {loss}. Terminating training immediately."
            )
        print_msg(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
