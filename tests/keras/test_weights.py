"""Host reads of Keras variables (`fastcallbacks._weights`): the batched
TensorFlow read must return exactly what `variable.value` holds, under
every scope Keras defines, and fall back cleanly where it cannot run."""

import keras
import numpy as np
import pytest

from fastcallbacks import _weights


_MADE = []


def _variables():
    """The variables of `_make_variables`, made (and trained) once per
    module and put back to their values after that fit on every call: a
    test that assigns leaves nothing behind for the next one."""
    if not _MADE:
        variables = _make_variables()
        _MADE.append((variables, [np.array(a) for a in _expected(variables)]))
    variables, values = _MADE[0]
    for v, value in zip(variables, values):
        v.assign(value)
    _same(_expected(variables), values)
    return list(variables)


def _make_variables():
    # Mixed dtypes and shapes, optimizer state included (int64 counter).
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(2)]
    )
    model.compile("adam", "mse")
    model.fit(np.ones((8, 5)), np.zeros((8, 2)), epochs=1, verbose=0)
    wide = "float32" if keras.backend.backend() == "jax" else "float64"
    extra = [
        # (JAX has no float64 unless x64 is enabled.)
        keras.Variable(np.arange(6.0).reshape(2, 3), dtype=wide),
        keras.Variable(7, dtype="int32", trainable=False),
        keras.Variable(np.array([True, False]), trainable=False),
        keras.Variable(np.float16(1.5), dtype="float16"),
    ]
    return list(model.weights) + list(model.optimizer.variables) + extra


def _expected(variables):
    return [keras.ops.convert_to_numpy(v.value) for v in variables]


def _same(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert isinstance(a, np.ndarray)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def spy(monkeypatch):
    """Records what the batched read returned (None: it did not run)."""
    calls = []
    real = _weights._read_many

    def read_many(values):
        out = real(values)
        calls.append(out)
        return out

    monkeypatch.setattr(_weights, "_read_many", read_many)
    return calls


@pytest.mark.keras
def test_batched_read_matches_value(spy):
    variables = _variables()
    got = _weights.host_arrays(variables)
    _same(got, _expected(variables))
    if keras.backend.backend() == "tensorflow":
        # The whole set sits on one device: one op read all of it, and
        # each array shares its variable's memory, so none is writable.
        assert len(spy) == 1 and spy[0] is not None
        assert len(spy[0]) == len(variables)
        assert not any(a.flags.writeable for a in got)
    else:
        assert spy == []


@pytest.mark.keras
def test_arrays_follow_assign():
    variables = _variables()
    before = _weights.host_arrays(variables)
    before = [a.copy() for a in before]
    variables[0].assign(variables[0].value + 1.0)
    after = _weights.host_arrays(variables)
    np.testing.assert_array_equal(after[0], before[0] + 1.0)
    _same(after, _expected(variables))


@pytest.mark.keras
def test_per_variable_fallback_same_result(monkeypatch):
    variables = _variables()
    expected = _expected(variables)
    monkeypatch.setattr(_weights, "_READ_MANY", False)
    _same(_weights.host_arrays(variables), expected)
    _same([_weights.host_array(v) for v in variables], expected)


@pytest.mark.keras
@pytest.mark.backend("tensorflow", reason="the batched read is TensorFlow's _ReadVariablesOp")
def test_batched_read_error_falls_back(monkeypatch):
    from tensorflow.python.framework import errors

    variables = _variables()
    expected = _expected(variables)
    _weights._read_many([variables[0].value])  # load the parts
    context, execute = _weights._READ_MANY

    class Execute:
        def __init__(self, error):
            self.error = error

        def execute(self, *args, **kwargs):
            raise self.error

    # Any other error: this call falls back, the next one tries again.
    monkeypatch.setattr(
        _weights, "_READ_MANY",
        (context, Execute(errors.InvalidArgumentError(None, None, "bad"))),
    )
    _same(_weights.host_arrays(variables), expected)
    assert _weights._READ_MANY
    # An op TensorFlow lacks: never tried again.
    monkeypatch.setattr(
        _weights, "_READ_MANY",
        (context, Execute(errors.NotFoundError(None, None, "no such op"))),
    )
    _same(_weights.host_arrays(variables), expected)
    assert _weights._READ_MANY is False


@pytest.mark.keras
def test_stateless_scope_values():
    variables = _variables()[:3]
    mapping = [(v, np.full(v.shape, 9.0, dtype=v.dtype)) for v in variables]
    with keras.StatelessScope(state_mapping=mapping):
        expected = _expected(variables)
        got = _weights.host_arrays(variables)
    _same(got, expected)
    assert all((a == 9.0).all() for a in got)


@pytest.mark.keras
def test_autocast_scope_values():
    from keras.src.backend.common.variables import AutocastScope

    variables = _variables()[:2]
    with AutocastScope("float16"):
        expected = _expected(variables)
        got = _weights.host_arrays(variables)
    assert all(a.dtype == np.float16 for a in expected)
    _same(got, expected)


@pytest.mark.keras
def test_overridden_value_property_is_used():
    class Shifted(keras.Variable):
        @property
        def value(self):
            return super().value + 1

    v = Shifted(np.zeros(3, "float32"))
    (got,) = _weights.host_arrays([v])
    np.testing.assert_array_equal(got, np.ones(3, "float32"))


_TWO_DEVICES = r"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
from fastcallbacks import _weights
calls = []
real = _weights._read_many
_weights._read_many = lambda values: calls.append(real(values)) or calls[-1]
# Plain variables on two devices: one batched read per device.
variables = []
for device, base in (("/cpu:0", 0), ("/cpu:1", 10)):
    with tf.device(device):
        variables += [keras.Variable(np.full(3, base + i, "float32")) for i in range(3)]
got = _weights.host_arrays(variables)
assert [a.tolist() for a in got] == [[float(v)] * 3 for v in (0, 1, 2, 10, 11, 12)], got
assert len(calls) == 2 and all(c is not None and len(c) == 3 for c in calls), calls
# Mirrored variables keep their own read.
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", "mse")
model.fit(np.ones((8, 4)), np.zeros((8, 3)), epochs=1, verbose=0)
variables = list(model.weights) + list(model.optimizer.variables)
assert "MirroredVariable" in {type(v.value).__name__ for v in variables}
got = _weights.host_arrays(variables)
for a, v in zip(got, variables):
    b = v.numpy()
    assert a.dtype == b.dtype and np.array_equal(a, b), v.path
print("ok")
"""


@pytest.mark.keras
@pytest.mark.backend("tensorflow", reason="tf.distribute.MirroredStrategy and TF device placement")
def test_devices_and_mirrored_variables():
    # Two logical CPUs must be set up before TensorFlow starts: a new process.
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _TWO_DEVICES], capture_output=True, text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
