"""Host (numpy) views of Keras variables, without a backend import."""

import numpy as np


def host_array(variable):
    """Returns the value of a Keras variable as a numpy array.

    The array may alias the variable's host memory (read-only) where the
    backend allows it, so callers copy it before the variable changes.
    """
    value = variable.value
    # tf.Variable: an eager read gives a tensor that shares the variable's
    # buffer. `_read_variable_op` is `read_value` without its name scope and
    # identity op (half the cost); fall back to the public method.
    read_value = getattr(value, "_read_variable_op", None) or getattr(
        value, "read_value", None
    )
    if read_value is not None:
        tensor = read_value()
        try:
            return np.asarray(memoryview(tensor))
        except (TypeError, ValueError, NotImplementedError, BufferError):
            return tensor.numpy()
    detach = getattr(value, "detach", None)
    if detach is not None:  # torch tensor
        return detach().cpu().numpy()
    try:
        return np.asarray(value)  # jax.Array, numpy
    except Exception:  # pragma: no cover - exotic backends
        return variable.numpy()


def host_arrays(variables):
    """`host_array` of each variable, in order."""
    return [host_array(v) for v in variables]


def to_float(value):
    """`float()` of a backend scalar (variable, tensor or number)."""
    if isinstance(value, float):
        return value
    if hasattr(value, "assign") and hasattr(value, "value"):  # a Keras variable
        value = value.value  # float() of the backend tensor skips a copy
    try:
        return float(value)
    except TypeError:
        return float(np.asarray(value))
