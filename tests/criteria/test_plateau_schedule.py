"""PlateauSchedule: ReduceLROnPlateau's decisions on any variable, up or
down; VariableL2 changed in a real fit on TensorFlow and JAX; state."""

import json

import keras
import numpy as np
import pytest

import fastcallbacks
from fastcallbacks.regularizers import VariableL2

import formulas as F
import plateau_l2_script



@pytest.fixture(scope="module")
def model():
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(0.5), "mse")
    return m


def keras_lrs(model, stream, **kw):
    model.optimizer.learning_rate = 0.5
    rop = keras.callbacks.ReduceLROnPlateau(**kw)
    rop.set_model(model)
    rop.on_train_begin()
    out = []
    for epoch, v in enumerate(stream):
        rop.on_epoch_end(epoch, {"val_loss": float(v)})
        out.append(float(np.asarray(model.optimizer.learning_rate)))
    return out


def schedule_values(stream, **kw):
    var = keras.Variable(0.5, dtype="float32", trainable=False)
    cb = fastcallbacks.PlateauSchedule(var, **kw)
    cb.on_train_begin()
    out = []
    for epoch, v in enumerate(stream):
        cb.on_epoch_end(epoch, {"val_loss": float(v)})
        out.append(float(np.asarray(var)))
    return out


def test_down_decides_as_keras_reduce_lr_on_plateau(model):
    rng = np.random.default_rng(2)
    for _ in range(25):
        stream = F.random_stream(rng, int(rng.integers(1, 25)))
        kw = dict(factor=float(rng.choice([0.1, 0.5])), patience=int(rng.integers(0, 4)),
                  cooldown=int(rng.integers(0, 3)), min_delta=float(rng.choice([0.0, 0.05])),
                  mode=str(rng.choice(["min", "max"])))
        bound = float(rng.choice([0.0, 0.01]))
        assert schedule_values(stream, min_value=bound, **kw) == keras_lrs(
            model, stream, min_lr=bound, **kw), (kw, stream.tolist())


def test_up_multiplies_until_the_bound():
    stream = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    got = schedule_values(stream, factor=2.0, patience=1, cooldown=2, max_value=3.0)
    # Changes at epochs 1, 3 (Keras's cooldown of 2 leaves one epoch out),
    # 5 (up to the bound, 3.0), then none.
    assert got == [0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("kw, error, name", [
    (dict(factor=1.0), ValueError, "factor"),
    (dict(factor=0.0), ValueError, "factor"),
    (dict(factor="2"), TypeError, "factor"),
    (dict(patience=-1), ValueError, "patience"),
    (dict(log_as=3), TypeError, "log_as"),
])
def test_bad_arguments(kw, error, name):
    with pytest.raises(error, match=name):
        fastcallbacks.PlateauSchedule(keras.Variable(1.0), **kw)
    with pytest.raises(TypeError, match="variable"):
        fastcallbacks.PlateauSchedule(1.0)
    with pytest.raises(ValueError, match="scalar"):
        fastcallbacks.PlateauSchedule(keras.Variable(np.ones(2)))


def test_missing_monitor_warns_with_the_available_keys():
    cb = fastcallbacks.PlateauSchedule(keras.Variable(1.0), mode="min")
    cb.on_train_begin()
    with pytest.warns(UserWarning, match="`val_loss` which is not available. "
                                         "Available metrics are: loss"):
        cb.on_epoch_end(0, {"loss": 1.0})


def test_state_round_trip():
    stream = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0]
    whole = schedule_values(stream, factor=0.5, patience=2, mode="min")
    var = keras.Variable(0.5, dtype="float32", trainable=False)
    first = fastcallbacks.PlateauSchedule(var, factor=0.5, patience=2, mode="min")
    first.on_train_begin()
    for epoch in range(4):
        first.on_epoch_end(epoch, {"val_loss": stream[epoch]})
    state = json.loads(json.dumps(first.get_state()))
    var2 = keras.Variable(7.0, dtype="float32", trainable=False)
    second = fastcallbacks.PlateauSchedule(var2, factor=0.5, patience=2, mode="min")
    second.set_state(state)
    second.on_train_begin()
    rest = []
    for epoch in range(4, len(stream)):
        second.on_epoch_end(epoch, {"val_loss": stream[epoch]})
        rest.append(float(np.asarray(var2)))
    assert rest == whole[4:]


def test_variable_l2_config_and_validation():
    reg = VariableL2(0.25)
    assert reg.get_config() == {"l2": 0.25, "name": reg.name}
    x = keras.ops.ones((2, 2))
    assert float(reg(x)) == 1.0
    with pytest.raises(ValueError, match="l2"):
        VariableL2(-1.0)


def test_l2_strength_changes_in_fit(tmp_path):
    out = plateau_l2_script.run(str(tmp_path))
    assert out["backend"] == keras.backend.backend()

# On JAX: tests/other_backends.py runs plateau_l2_script.run (tests/backends).
