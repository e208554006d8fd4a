"""Host (numpy) views of Keras variables, without a backend import."""

import sys

import numpy as np

_RAW_READ = None


def _raw_read():
    # tf.raw_ops.ReadVariableOp, once TensorFlow is imported (False if not).
    global _RAW_READ
    if _RAW_READ is None:
        tf = sys.modules.get("tensorflow")
        if tf is None:
            return False
        _RAW_READ = getattr(getattr(tf, "raw_ops", None), "ReadVariableOp", None) or False
    return _RAW_READ


def host_array(variable):
    """Returns the value of a Keras variable as a numpy array.

    The array may alias the variable's host memory (read-only) where the
    backend allows it, so callers copy it before the variable changes.
    """
    return _value_to_host(variable.value)


# tf.Variable classes whose reads are plain `ReadVariableOp`s on their own
# handle (Keras's variables, and optimizer slots made inside a traced step).
# Not distributed or DTensor variables, which have reads of their own.
_PLAIN_TF_VARIABLES = frozenset(
    ["ResourceVariable", "UnliftedInitializerVariable", "UninitializedVariable"]
)


def _value_to_host(value):
    # A plain tf.Variable (not a distributed one): the raw read op on its
    # handle, which skips the tape bookkeeping of `read_value` (0.6x the
    # cost per variable; that cost dominates snapshots of many small
    # variables). The tensor shares the variable's buffer.
    if type(value).__name__ in _PLAIN_TF_VARIABLES:
        read = _raw_read()
        if read:
            return _tensor_to_host(read(resource=value.handle, dtype=value.dtype))
    # Other tf.Variables: an eager read also shares the buffer.
    # `_read_variable_op` is `read_value` without its name scope and
    # identity op (half the cost); fall back to the public method.
    read_value = getattr(value, "_read_variable_op", None) or getattr(
        value, "read_value", None
    )
    if read_value is not None:
        return _tensor_to_host(read_value())
    detach = getattr(value, "detach", None)
    if detach is not None:  # torch tensor
        return detach().cpu().numpy()
    try:
        return np.asarray(value)  # jax.Array, numpy
    except Exception:  # pragma: no cover - exotic backends
        return value.numpy()


def _tensor_to_host(tensor):
    # Zero-copy for a host tensor; `.numpy()` copies (e.g. from a GPU).
    try:
        return np.asarray(memoryview(tensor))
    except (TypeError, ValueError, NotImplementedError, BufferError):
        return tensor.numpy()


def host_arrays(variables):
    """`host_array` of each variable, in order.

    On TensorFlow, plain resource variables on one device are read by one
    op for all of them instead of one op each (the per-op eager dispatch
    cost is most of a snapshot of many small variables).
    """
    values = _values(variables)
    arrays = [None] * len(values)
    groups = {}
    for i, value in enumerate(values):
        if type(value).__name__ in _PLAIN_TF_VARIABLES:
            groups.setdefault(value.handle.device, []).append(i)
    for indices in groups.values():
        if len(indices) < 2:
            continue
        tensors = _read_many([values[i] for i in indices])
        if tensors is None:
            break
        for i, tensor in zip(indices, tensors):
            arrays[i] = _tensor_to_host(tensor)
    for i, value in enumerate(values):
        if arrays[i] is None:
            arrays[i] = _value_to_host(value)
    return arrays


_VALUE_PARTS = None


def _values(variables):
    """`variable.value` of each variable.

    Keras's property does scope lookups on every call; when
    neither a stateless nor an autocast scope is active it returns the
    variable's `_value` as is, so that is read directly.
    """
    global _VALUE_PARTS
    if _VALUE_PARTS is None:
        _VALUE_PARTS = False
        try:
            from . import _keras_internals

            _VALUE_PARTS = _keras_internals.variable_value_parts()
        except Exception:  # pragma: no cover - Keras layout changed
            pass
    if not _VALUE_PARTS:
        return [v.value for v in variables]
    prop, in_stateless_scope, get_autocast_scope = _VALUE_PARTS
    if in_stateless_scope() or get_autocast_scope() is not None:
        return [v.value for v in variables]
    values = []
    for v in variables:
        value = None
        if getattr(type(v), "value", None) is prop:
            value = v._value
        values.append(v.value if value is None else value)
    return values


_DTYPE_ENUMS = {}
_READ_MANY = None


def _read_many(resource_variables):
    """Eager values of several tf ResourceVariables on one device from one
    `_ReadVariablesOp` (TensorFlow's multi-variable read; each value shares
    its variable's buffer, as `ReadVariableOp`'s does), or None where that
    op cannot run (graph mode, a TensorFlow without it)."""
    global _READ_MANY
    if _READ_MANY is None:
        _READ_MANY = False
        try:
            from tensorflow.python.eager import context, execute

            _READ_MANY = (context, execute)
        except Exception:  # pragma: no cover - TensorFlow layout changed
            pass
    if not _READ_MANY:
        return None
    context, execute = _READ_MANY
    try:
        if not context.executing_eagerly():
            return None
        handles = [v.handle for v in resource_variables]
        dtypes = []
        for v in resource_variables:
            # `dtype` is a slow property; `_dtype` is what it reads.
            dtype = getattr(v, "_dtype", None) or v.dtype
            enum = _DTYPE_ENUMS.get(dtype)
            if enum is None:
                enum = _DTYPE_ENUMS[dtype] = dtype.as_datatype_enum
            dtypes.append(enum)
        return execute.execute(
            b"_ReadVariablesOp",
            len(handles),
            handles,
            ("N", len(handles), "dtypes", dtypes),
            context.context(),
        )
    except Exception as error:
        # The per-variable read still works (and raises what it raises);
        # an op this TensorFlow lacks is not tried again.
        if type(error).__name__ == "NotFoundError":
            _READ_MANY = False
        return None


def to_float(value):
    """`float()` of a backend scalar (variable, tensor or number)."""
    if isinstance(value, float):
        return value
    if hasattr(value, "assign") and hasattr(value, "value"):  # a Keras variable
        try:
            # The raw read of host_array: cheaper on TensorFlow than
            # float() of the variable.
            return float(host_array(value))
        except (TypeError, ValueError):
            value = value.value
    try:
        return float(value)
    except TypeError:
        return float(np.asarray(value))


def backend_rng_state():
    """The global random state of the backend where Keras's unseeded ops
    draw from it (torch: Dropout without `seed`), as a numpy array, or None.

    Not a Keras variable, so not in a weights file; a resumed run restores
    it with `set_backend_rng_state` to draw the same masks.
    """
    torch = sys.modules.get("torch")
    if torch is None or _keras_backend() != "torch":
        return None
    return np.array(torch.random.get_rng_state().numpy())


def set_backend_rng_state(state):
    """Restores what `backend_rng_state` returned (None: nothing)."""
    if state is None:
        return
    torch = sys.modules.get("torch")
    if torch is None or _keras_backend() != "torch":
        return  # saved on another backend: nothing to match it with
    torch.random.set_rng_state(torch.from_numpy(np.array(state, dtype=np.uint8)))


def _keras_backend():
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None else None
