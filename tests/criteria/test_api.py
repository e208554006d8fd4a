"""Criteria and StopWhen: validation, names, configs, warnings, state."""

import gc
import json
import warnings

import numpy as np
import pytest

import fastcallbacks
from fastcallbacks import criteria as C

from criteria_utils import FakeModel


@pytest.mark.parametrize("make, name", [
    (lambda: C.GL(0), "alpha"),
    (lambda: C.GL(-1.0), "alpha"),
    (lambda: C.GL(float("nan")), "alpha"),
    (lambda: C.PQ(0.0), "alpha"),
    (lambda: C.PQ(1.0, strip=0), "strip"),
    (lambda: C.UP(0), "`s`"),
    (lambda: C.UP(1, strip=0), "strip"),
    (lambda: C.TimeLimit(-1), "seconds"),
    (lambda: C.Threshold("val_loss", 1.0, "up"), "mode"),
    (lambda: C.Patience("val_loss", -1), "patience"),
    (lambda: C.any_of(), "at least one"),
])
def test_bad_arguments_raise_value_error_naming_them(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("make", [
    lambda: C.GL("5"), lambda: C.UP(1.5), lambda: C.PQ(1.0, strip=2.0),
    lambda: C.TimeLimit(None), lambda: C.any_of(C.GL(1.0), "GL"),
    lambda: fastcallbacks.StopWhen("GL(5)"),
])
def test_wrong_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_names_and_configs_round_trip():
    tree = C.any_of(C.GL(5), C.PQ(0.5, strip=3), C.UP(2),
                    C.all_of(C.Patience("val_loss", 5),
                             C.Patience("val_auc", 5, mode="max")),
                    C.TimeLimit(3600), C.NonFinite())
    assert repr(C.GL(5)) == "GL(alpha=5.0)"
    assert repr(C.PQ(0.5, strip=3)) == "PQ(alpha=0.5, strip=3)"
    assert repr(C.Patience("val_auc", 5, mode="max")) == (
        "Patience(monitor='val_auc', patience=5, mode='max')")
    config = json.loads(json.dumps(C.serialize(tree)))
    again = C.deserialize(config)
    assert repr(again) == repr(tree)
    assert tree.monitors == ("val_loss", "loss", "val_auc")
    with pytest.raises(ValueError, match="Unknown criterion"):
        C.deserialize({"class_name": "Nope", "config": {}})


def test_one_criterion_in_two_callbacks_raises():
    gl = C.GL(5.0)
    first = fastcallbacks.StopWhen(gl)
    with pytest.raises(ValueError, match="already used"):
        fastcallbacks.StopWhen(C.any_of(C.UP(2), gl))
    with pytest.raises(ValueError, match="appears twice"):
        fastcallbacks.StopWhen(C.any_of(C.UP(3), C.UP(3), pq := C.PQ(1.0), pq))
    del first
    gc.collect()
    fastcallbacks.StopWhen(gl)   # free again once the first callback is gone


def test_missing_monitor_warns_with_the_available_keys():
    cb = fastcallbacks.StopWhen(C.any_of(C.GL(5.0), C.Patience("val_auc", 2, mode="max")))
    cb.set_model(FakeModel())
    cb.on_train_begin()
    with pytest.warns(UserWarning, match=r"`val_auc` which is not available. "
                                         r"Available metrics are: loss,val_loss"):
        cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})


def test_auto_mode_it_cannot_resolve_raises_as_keras():
    cb = fastcallbacks.StopWhen(C.Threshold("val_thing", 1.0))
    cb.set_model(FakeModel())
    cb.on_train_begin()
    with pytest.raises(ValueError, match="automatically determine"):
        cb.on_epoch_end(0, {"val_thing": 1.0})


def test_per_step_checks_refuse_validation_monitors():
    with pytest.raises(ValueError, match="val_loss"):
        fastcallbacks.StopWhen(C.GL(5.0), check_every_n_steps=2)
    with pytest.raises(ValueError, match="check_every_n_steps"):
        fastcallbacks.StopWhen(C.GL(5.0, monitor="loss"), check_every_n_steps=0)
    with pytest.raises(ValueError, match="start_from_epoch"):
        fastcallbacks.StopWhen(C.GL(5.0), start_from_epoch=-1)


def feed(cb, values, start=0):
    model = FakeModel()
    cb.set_model(model)
    for epoch in range(start, len(values)):
        cb.on_epoch_end(epoch, {"loss": values[epoch], "val_loss": values[epoch]})
        if model.stop_training:
            return epoch
    return None


def test_get_state_set_state_resumes_identically():
    values = [1.0, 0.8, 0.7, 0.72, 0.69, 0.75, 0.8, 0.9, 1.0, 1.2, 1.3, 1.5]
    make = lambda: C.any_of(C.UP(2, strip=2), C.Patience("val_loss", 4))  # noqa: E731
    whole = fastcallbacks.StopWhen(make())
    whole.on_train_begin()
    expected = feed(whole, values)
    first = fastcallbacks.StopWhen(make())
    first.on_train_begin()
    assert feed(first, values[:5]) is None
    state = first.get_state()
    json.dumps({k: v for k, v in state.items() if k not in ("engine", "best_weights")})
    resumed = fastcallbacks.StopWhen(make())
    resumed.set_state(state)        # before fit, as BackupAndRestore would
    resumed.on_train_begin()
    assert feed(resumed, values, start=5) == expected
    assert resumed.stop_reason == whole.stop_reason is not None
    with pytest.raises(ValueError, match="another criterion"):
        fastcallbacks.StopWhen(C.GL(1.0)).set_state(state)


def test_start_from_epoch_hides_early_epochs():
    cb = fastcallbacks.StopWhen(C.Threshold("val_loss", 0.5, "min"), start_from_epoch=3)
    cb.on_train_begin()
    assert feed(cb, [0.1, 0.1, 0.1, 0.9, 0.1]) == 4


def test_non_float_values_are_accepted():
    cb = fastcallbacks.StopWhen(C.Threshold("val_loss", 0.5, "min"))
    cb.on_train_begin()
    model = FakeModel()
    cb.set_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cb.on_epoch_end(0, {"val_loss": np.float32(0.7)})
        cb.on_epoch_end(1, {"val_loss": np.array([0.25], dtype=np.float32)})
    assert model.stop_training and cb.stop_reason == "Threshold(monitor='val_loss', value=0.5, mode='min')"


def test_public_names():
    assert fastcallbacks.StopWhen.__module__ == "fastcallbacks.stop_when"
    assert fastcallbacks.PlateauSchedule.__module__ == "fastcallbacks.plateau_schedule"
    assert fastcallbacks.criteria.GL is C.GL
    assert fastcallbacks.regularizers.VariableL2.__name__ == "VariableL2"
    assert {"StopWhen", "PlateauSchedule", "criteria", "regularizers"} <= set(fastcallbacks.__all__)


def test_the_core_is_bound_at_construction():
    from fastcallbacks import _impl

    previous = _impl.use("python")
    try:
        cb = fastcallbacks.StopWhen(C.GL(1.0))
    finally:
        _impl.use(previous)
    cb.on_train_begin()
    feed(cb, [1.0])
    assert type(cb._engine).__module__ == "fastcallbacks._reference.criteria"
