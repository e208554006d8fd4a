"""Every private part of Keras that fastcallbacks relies on, in one place.

Keras 3 keeps these under `keras.src` or behind a leading underscore: they
are not public API and may move between releases. Each one is imported or
read here, so that a Keras upgrade that moves one breaks (or falls back) in
this module only. Heavy or optional imports are made lazily, on first use.

Attribute reads that stay at their call site (too hot to wrap): `_weights`
reads `Variable._value` once `variable_value_parts()` confirmed the
`value` property is Keras's own; `_ckptwriter` calls `_save_state` and
`_serialize_model_as_json` of `saving_lib()`.
"""

import keras

# -- imported at load time -------------------------------------------------------------

try:  # where Keras keeps the containers of compiled metrics
    from keras.src.trainers.compile_utils import CompileMetrics, MetricsList

    METRIC_CONTAINERS = (CompileMetrics, MetricsList)
except ImportError:  # pragma: no cover - layout changed
    METRIC_CONTAINERS = None

try:  # Keras's own progress messages (honours `io_utils` interactive logging)
    from keras.src.utils.io_utils import print_msg
except ImportError:  # pragma: no cover - layout changed
    print_msg = print

from keras.src import backend  # noqa: E402 - `backend.is_tensor`
from keras.src.utils import file_utils  # noqa: E402 - remote-aware path helpers

# -- ModelCheckpoint's helpers, borrowed unchanged -------------------------------------

_KerasModelCheckpoint = keras.callbacks.ModelCheckpoint
checkpoint_should_save_on_batch = _KerasModelCheckpoint._should_save_on_batch
checkpoint_get_file_path = _KerasModelCheckpoint._get_file_path
checkpoint_exists = _KerasModelCheckpoint._checkpoint_exists
checkpoint_most_recent_file = (
    _KerasModelCheckpoint._get_most_recently_modified_file_matching_pattern
)


def is_metric_container(m):
    """Whether `m` is one of Keras's containers of compiled metrics."""
    if METRIC_CONTAINERS is not None:
        return isinstance(m, METRIC_CONTAINERS)
    return type(m).__name__ in ("CompileMetrics", "MetricsList")


def metric_direction(m):
    """`"up"` if a Keras metric's `_direction` is `"up"`, `"down"` for any
    other value (as Keras's `MonitorCallback` reads it), None if it has no
    `_direction`."""
    if not hasattr(m, "_direction"):
        return None
    return "up" if m._direction == "up" else "down"


def optimizer_learning_rate(optimizer):
    """The optimizer's stored learning rate (a variable or a schedule)."""
    return optimizer._learning_rate


def set_optimizer_learning_rate(optimizer, learning_rate):
    """Replaces the optimizer's stored learning rate (e.g. with a schedule)."""
    optimizer._learning_rate = learning_rate


# -- imported on first use -------------------------------------------------------------


def saving_lib():
    """`keras.src.saving.saving_lib` (H5IOStore, `_save_state`, ...)."""
    from keras.src.saving import saving_lib as lib

    return lib


def optimizer_saver_code():
    """The code object of `BaseOptimizer.save_own_variables`, or None."""
    try:
        from keras.src.optimizers.base_optimizer import BaseOptimizer
    except ImportError:  # pragma: no cover - layout changed
        return None
    return BaseOptimizer.save_own_variables.__code__


def variable_value_parts():
    """(`Variable.value` property, `in_stateless_scope`, `get_autocast_scope`).

    Raises whatever the import raises when Keras's layout changed.
    """
    from keras.src.backend.common import variables as kv

    return kv.Variable.value, kv.in_stateless_scope, kv.get_autocast_scope


def tensorflow_trainer_module():
    """`keras.src.backend.tensorflow.trainer` (for `_mwmsfix`; TF backend only)."""
    from keras.src.backend.tensorflow import trainer

    return trainer
