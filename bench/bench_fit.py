"""Whole `fit()` overhead per step with a tiny model and many small batches.

Anchors in the same run: `fit()` without callbacks, and Keras's own
EarlyStopping + ReduceLROnPlateau + TerminateOnNaN. The per-step check
(`check_every_n_steps=1, window=50, smoothing="median"`) is compared with a
plain-Python callback computing the same median per step.
"""

import statistics
from collections import deque

import keras
import numpy as np
import pytest

import fastcallbacks

STEPS = 1000
BATCH = 8


class PythonMedianStop(keras.callbacks.Callback):
    """What a user would write by hand: median of the last 50 losses per step."""

    def __init__(self, window=50, patience=10**9):
        super().__init__()
        self.window = deque(maxlen=window)
        self.best = None
        self.wait = 0
        self.patience = patience

    def on_train_batch_end(self, batch, logs=None):
        self.window.append(logs["loss"])
        value = statistics.median(self.window)
        if self.best is None or value < self.best:
            self.best = value
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True


class NoopBatchHook(keras.callbacks.Callback):
    """Keras's fixed cost of dispatching to one batch-level callback."""

    def on_train_batch_end(self, batch, logs=None):
        pass


def _callbacks(config):
    if config == "none":
        return []
    if config == "keras":
        return [
            keras.callbacks.EarlyStopping(monitor="loss", patience=10**9),
            keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=10**9),
            keras.callbacks.TerminateOnNaN(),
        ]
    if config == "fastcallbacks":
        return [
            fastcallbacks.EarlyStopping(monitor="loss", patience=10**9),
            fastcallbacks.ReduceLROnPlateau(monitor="loss", patience=10**9),
            fastcallbacks.TerminateOnNaN(),
        ]
    if config == "fastcallbacks_per_step_median":
        return [
            fastcallbacks.EarlyStopping(
                monitor="loss", patience=10**9, check_every_n_steps=1,
                window=50, smoothing="median",
            )
        ]
    if config == "python_per_step_median":
        return [PythonMedianStop()]
    if config == "noop_batch_hook":
        return [NoopBatchHook()]
    raise ValueError(config)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 16)).astype("float32")
    y = rng.normal(size=(STEPS * BATCH, 1)).astype("float32")
    return x, y


@pytest.mark.parametrize(
    "config",
    ["none", "keras", "fastcallbacks", "fastcallbacks_per_step_median", "python_per_step_median"],
)
def bench_fit_per_step(benchmark, data, config):
    benchmark.group = f"fit(): {STEPS} steps of batch {BATCH}, tiny model"
    benchmark.extra_info["anchor"] = config == "none"
    x, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x[:BATCH * 10], y[:BATCH * 10], batch_size=BATCH, epochs=1, verbose=0)  # trace

    def run():
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
                  callbacks=_callbacks(config))

    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["steps"] = STEPS


@pytest.mark.parametrize(
    "config",
    ["none", "noop_batch_hook", "fastcallbacks_per_step_median", "python_per_step_median", "keras"],
)
def bench_batch_end_dispatch(benchmark, config):
    """The per-step cost inside fit's hooks, without the training step's
    noise: `CallbackList.on_train_batch_end` with the logs a train step
    returns (a scalar tensor), History included as in fit(). The "none"
    row is Keras's fixed dispatch cost, "noop_batch_hook" that of one
    batch-level callback doing nothing; the others add to it."""
    benchmark.group = "per step: CallbackList.on_train_batch_end"
    benchmark.extra_info["anchor"] = config == "noop_batch_hook"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    cbs = keras.callbacks.CallbackList(
        _callbacks(config), add_history=True, add_progbar=False, model=model,
        verbose=0, epochs=1, steps=10**6,
    )
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    values = [keras.ops.convert_to_tensor(v) for v in np.linspace(2.0, 1.0, 64, dtype="float32")]
    state = {"i": 0}

    def step():
        i = state["i"]
        cbs.on_train_batch_end(i, {"loss": values[i % 64]})
        state["i"] = i + 1

    benchmark.pedantic(step, rounds=2000, iterations=1, warmup_rounds=50)
    assert not model.stop_training
