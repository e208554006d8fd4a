"""One `on_epoch_end` of `StopWhen(any_of(GL, PQ, UP, Patience))` vs Keras.

Anchor: `keras.callbacks.EarlyStopping` (one patience rule on one metric)
with the same model and logs, in the same run. The target of issue 16 is a
ratio of at least 20 (StopWhen, four criteria, at least 20x cheaper).

    python -m pytest --benchmark bench/bench_criteria.py -s
"""

import keras
import pytest

import fastcallbacks
from fastcallbacks import _impl
from fastcallbacks.criteria import GL, PQ, UP, Patience, any_of

GROUP = "StopWhen(any_of(GL, PQ, UP, Patience)).on_epoch_end"
_medians = {}


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _callback(impl):
    if impl == "keras":
        return keras.callbacks.EarlyStopping(monitor="val_loss", patience=10**9)
    previous = _impl.use(impl)
    try:
        return fastcallbacks.StopWhen(any_of(GL(5.0), PQ(0.5), UP(3),
                                             Patience("val_loss", 10**9)))
    finally:
        _impl.use(previous)


@pytest.mark.parametrize("improving", [False, True], ids=["plateau", "improving"])
@pytest.mark.parametrize("impl", ["keras", "cython", "python"])
def bench_stop_when_on_epoch_end(benchmark, impl, improving):
    benchmark.group = f"{GROUP}[{'improving' if improving else 'plateau'}]"
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["anchor"] = impl == "keras"
    model = _model()
    cb = _callback(impl)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 1.0, "loss": 1.0})  # resolves the modes
    state = {"epoch": 1, "value": 1.0}

    def step():
        if improving:
            state["value"] *= 0.999
        cb.on_epoch_end(state["epoch"], {"val_loss": state["value"], "loss": 1.0})
        state["epoch"] += 1

    benchmark.pedantic(step, rounds=300, iterations=10, warmup_rounds=5)
    assert not model.stop_training
    _medians[(benchmark.group, impl)] = benchmark.stats.stats.median
    anchor = _medians.get((benchmark.group, "keras"))
    if anchor and impl != "keras":
        print(f"\n{benchmark.group} {impl}: {anchor / benchmark.stats.stats.median:.1f}x "
              "cheaper than keras.callbacks.EarlyStopping")
