"""One `on_epoch_end` decision: fastcallbacks (compiled, reference) vs Keras.

Anchor: the same callback from `keras.callbacks`, same model, same logs.
"""

import keras
import pytest

import fastcallbacks
from fastcallbacks import _impl


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _make(kind, cls_name, **kwargs):
    if kind == "keras":
        cls = getattr(keras.callbacks, cls_name)
    else:
        previous = _impl.use(kind)
        try:
            cls = getattr(fastcallbacks, cls_name)
            cb = cls(**kwargs)
        finally:
            _impl.use(previous)
        return cb
    return cls(**kwargs)


def _epoch_end_bench(benchmark, cb, improving):
    model = _model()
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 1.0, "loss": 1.0})  # resolves mode="auto"
    state = {"epoch": 1, "value": 1.0}

    def step():
        if improving:
            state["value"] *= 0.999
        cb.on_epoch_end(state["epoch"], {"val_loss": state["value"], "loss": 1.0})
        state["epoch"] += 1

    benchmark.pedantic(step, rounds=300, iterations=10, warmup_rounds=5)
    assert not model.stop_training


def _mark(benchmark, impl):
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["anchor"] = impl == "keras"


@pytest.mark.parametrize("improving", [False, True], ids=["plateau", "improving"])
@pytest.mark.parametrize("impl", ["keras", "cython", "python"])
def bench_early_stopping_on_epoch_end(benchmark, impl, improving):
    benchmark.group = f"EarlyStopping.on_epoch_end[{'improving' if improving else 'plateau'}]"
    _mark(benchmark, impl)
    cb = _make(impl, "EarlyStopping", monitor="val_loss", patience=10**9)
    _epoch_end_bench(benchmark, cb, improving)


@pytest.mark.parametrize("improving", [False, True], ids=["plateau", "improving"])
@pytest.mark.parametrize("impl", ["keras", "cython", "python"])
def bench_reduce_lr_on_plateau_on_epoch_end(benchmark, impl, improving):
    benchmark.group = f"ReduceLROnPlateau.on_epoch_end[{'improving' if improving else 'plateau'}]"
    _mark(benchmark, impl)
    cb = _make(impl, "ReduceLROnPlateau", monitor="val_loss", patience=10**9)
    _epoch_end_bench(benchmark, cb, improving)


@pytest.mark.parametrize("impl", ["keras", "cython", "python"])
def bench_terminate_on_nan_on_batch_end(benchmark, impl):
    benchmark.group = "TerminateOnNaN.on_batch_end"
    _mark(benchmark, impl)
    cb = _make(impl, "TerminateOnNaN")
    cb.set_model(_model())
    logs = {"loss": 0.5}
    benchmark(cb.on_batch_end, 3, logs)
