"""Differential tests of the epoch hooks, called directly.

Each test builds a `keras.callbacks.X` and a `fastcallbacks.X` with the same
arguments, attaches each to its own (identical) tiny real model, feeds both
the same metric values epoch by epoch and compares every piece of public
state after every call: `wait`, `best` (value and type), `best_epoch`,
`stopped_epoch`, `model.stop_training`, `best_weights`, `cooldown_counter`,
the optimizer's learning rate, the `learning_rate` key written into the
logs, the warnings raised and the messages printed.

The random streams mix ordinary values with the cases that break naive
re-implementations: NaN, +-inf, exact ties, values exactly at
`best +- min_delta`, values that differ from the best only beyond float32
precision (Keras compares float32 tensors), huge values near the float32
limit, and numpy scalars.
"""

import math

import keras
import numpy as np
import pytest

import fastcallbacks
from parity_utils import (
    call_both,
    assert_same_scalar,
    epoch_weights,
    learning_rate,
    resets_best,
    same_arrays,
    terminate_on_nan_kwargs,
)
from fastcallbacks import _compat

# -- EarlyStopping ------------------------------------------------------------------


def assert_es_same(k, o, pair, where):
    assert type(o.wait) is type(k.wait) and o.wait == k.wait, (where, o.wait, k.wait)
    assert_same_scalar(o.best, k.best, f"{where} best")
    assert o.best_epoch == k.best_epoch, (where, o.best_epoch, k.best_epoch)
    assert o.stopped_epoch == k.stopped_epoch, where
    assert pair.ours.stop_training == pair.keras.stop_training, where
    assert o.monitor_op is k.monitor_op, where
    assert_same_scalar(o.min_delta, k.min_delta, f"{where} min_delta")
    assert same_arrays(o.best_weights, k.best_weights), f"{where} best_weights"


class ESRun:
    """One EarlyStopping pair driven through a fit-like sequence of hooks."""

    def __init__(self, pair, salt=0, **kwargs):
        self.pair = pair
        self.salt = salt
        pair.reset(salt=salt)
        self.k = keras.callbacks.EarlyStopping(**kwargs)
        self.o = fastcallbacks.EarlyStopping(**kwargs)
        self.k.set_model(pair.keras)
        self.o.set_model(pair.ours)
        assert not hasattr(self.o, "best_epoch") and not hasattr(self.k, "best_epoch")
        call_both(self.k, self.o, "on_train_begin", {})
        assert_es_same(self.k, self.o, pair, "on_train_begin")
        self.epoch = 0
        self.held = []  # (object we hold, copy of its contents at the time)
        self.stops = []

    def hold(self, how):
        """Keeps a reference to (part of) our current best_weights."""
        bw = self.o.best_weights
        if bw is None:
            return
        if how == "list":
            obj = bw
        elif how == "array":
            obj = [bw[0]]
        else:  # a view into the first array
            obj = [bw[0].reshape(-1)[:1]]
        self.held.append((obj, [np.array(a, copy=True) for a in obj]))

    def epoch_end(self, value, monitor="val_loss", missing=False):
        epoch = self.epoch
        self.pair.set_epoch_weights(epoch, self.salt)
        call_both(self.k, self.o, "on_epoch_begin", epoch, {})
        logs = {"other": 0.5} if missing else {"other": 0.5, monitor: value}
        call_both(self.k, self.o, "on_epoch_end", epoch, logs)
        if self.pair.keras.stop_training and not self.stops:
            self.stops.append(epoch)
        assert_es_same(self.k, self.o, self.pair, f"epoch {epoch} value {value!r}")
        self.epoch += 1

    def train_end(self):
        call_both(self.k, self.o, "on_train_end", {})
        assert_es_same(self.k, self.o, self.pair, "on_train_end")
        for a, b in zip(self.pair.ours.get_weights(), self.pair.keras.get_weights()):
            assert np.array_equal(a, b)
        for obj, copy in self.held:
            for a, c in zip(obj, copy):
                assert np.array_equal(a, c), "a held best_weights was overwritten"


# Section 1.2 of the contract: (kwargs, values, stopped at, extra checks).
ES_TRACES = [
    pytest.param(dict(patience=0), [1.0, 1.0], 1, {}, id="p0-never-at-epoch-0"),
    pytest.param(
        dict(patience=1), [1.0, 0.9, 0.95], 2, {"wait": [0, 0, 1]}, id="p1-wait-0-0-1"
    ),
    pytest.param(dict(patience=0, min_delta=0.1), [1.0, 0.95], 1, {}, id="min_delta+"),
    pytest.param(dict(patience=0, min_delta=-0.1), [1.0, 0.95], 1, {}, id="min_delta-"),
    pytest.param(
        dict(patience=2, baseline=0.5),
        [1.0, 0.9, 0.8, 0.7, 0.75],
        4,
        {"wait": [1, 2, 3, 4, 5]},
        id="baseline-not-beaten",
    ),
    pytest.param(
        dict(patience=1, baseline=0.5), [0.4, 0.45], 1, {"wait": [0, 1]}, id="baseline-beaten"
    ),
    pytest.param(
        dict(patience=1, start_from_epoch=2),
        [5.0, 4.0, 3.0, 3.5],
        3,
        {"best": 3.0, "best_epoch": 2, "wait": [0, 0, 0, 1]},
        id="start_from_epoch",
    ),
    pytest.param(
        dict(patience=1, restore_best_weights=True),
        [1.0, 0.5, 0.7],
        2,
        {"restored": 1},
        id="restore-stop",
    ),
    pytest.param(
        dict(patience=1, restore_best_weights=True),
        [1.0, 0.5, 0.4, 0.3],
        None,
        {"restored": 3},
        id="restore-no-stop",
    ),
    pytest.param(
        dict(patience=5, restore_best_weights=True, start_from_epoch=1),
        [1.0, 0.9, 0.95],
        None,
        {"restored": 1},
        id="restore-start_from_epoch",
    ),
    pytest.param(dict(patience=1), [math.nan, 1.0], 1, {"best": math.nan}, id="nan-first"),
    pytest.param(
        dict(mode="max", min_delta=0.01), [0.5, 0.505], 1, {"best": 0.5}, id="max-min_delta"
    ),
]


@pytest.mark.reference_smoke
@pytest.mark.parametrize("kwargs, values, stopped_at, checks", ES_TRACES)
def test_es_contract_traces(model_pair, kwargs, values, stopped_at, checks):
    kwargs = {"mode": "min", **kwargs}
    run = ESRun(model_pair, **kwargs)
    waits = []
    for v in values:
        run.epoch_end(v)
        waits.append(run.k.wait)
    # Keras does what the contract documents, and we do what Keras does.
    assert run.stops == ([] if stopped_at is None else [stopped_at])
    assert run.o.stopped_epoch == (stopped_at or 0)
    if "wait" in checks:
        assert waits == checks["wait"]
    if "best" in checks:
        assert_same_scalar(run.k.best, checks["best"], "keras best")
    if "best_epoch" in checks:
        assert run.k.best_epoch == checks["best_epoch"]
    run.train_end()
    if "restored" in checks:
        expected = epoch_weights(model_pair.keras, checks["restored"])
        assert same_arrays(model_pair.ours.get_weights(), expected)
        assert same_arrays(model_pair.keras.get_weights(), expected)
        assert run.o.best_epoch == checks["restored"]


class Stream:
    """Random metric values, some of them chosen from the Keras state."""

    KINDS = (
        ["walk"] * 10
        + ["tie_best", "tie_prev", "best_minus", "best_plus", "baseline"] * 2
        + ["nan", "inf", "ninf", "f32eps", "f32eps", "huge", "nhuge", "f32", "f64"]
    )

    def __init__(self, rng, min_delta=0.0, baseline=None):
        self.rng = rng
        self.md = abs(min_delta)
        self.baseline = baseline
        self.scale = float(rng.choice([1e-3, 0.03, 0.3]))
        self.drift = float(rng.choice([-1.0, 0.0, 1.0])) * self.scale * 0.3
        self.prev = 1.0

    def next(self, best):
        rng = self.rng
        kind = rng.choice(self.KINDS)
        finite_best = best is not None and math.isfinite(best) and abs(best) < 1e30
        if kind in ("tie_best", "best_minus", "best_plus") and not finite_best:
            kind = "walk"
        if kind == "baseline" and self.baseline is None:
            kind = "walk"
        sign = float(rng.choice([-1.0, 1.0]))
        if kind == "walk":
            v = self.prev + self.drift + self.scale * float(rng.standard_normal())
        elif kind == "tie_best":
            v = best
        elif kind == "tie_prev":
            v = self.prev
        elif kind == "best_minus":
            v = float(best) - self.md
        elif kind == "best_plus":
            v = float(best) + self.md
        elif kind == "baseline":
            v = self.baseline + sign * self.md
        elif kind == "nan":
            v = math.nan
        elif kind == "inf":
            v = math.inf
        elif kind == "ninf":
            v = -math.inf
        elif kind == "f32eps":
            # Equal to the reference in float32, not in float64.
            ref = float(best) if finite_best and rng.random() < 0.5 else 1.0
            v = ref + sign * 1e-9 * max(abs(ref), 1.0)
        elif kind == "huge":
            v = float(rng.choice([3e38, 1e38, 2.9e38]))
        elif kind == "nhuge":
            v = -float(rng.choice([3e38, 1e38, 2.9e38]))
        elif kind == "f32":
            v = np.float32(self.prev + self.scale * float(rng.standard_normal()))
        else:  # f64
            v = np.float64(self.prev + self.scale * float(rng.standard_normal()))
        if kind in ("walk", "f32", "f64"):
            self.prev = float(v)
        return v


def _es_config(rng):
    mode = str(rng.choice(["min", "max", "auto"]))
    monitor = "val_loss" if mode == "auto" else str(rng.choice(["val_loss", "score"]))
    min_delta = [0, 0.0, 0.01, 0.1, -0.1, 0.5, 1e-9][rng.integers(7)]
    baseline = None if rng.random() < 0.6 else 1.0 + 0.3 * float(rng.standard_normal())
    return dict(
        monitor=monitor,
        mode=mode,
        min_delta=min_delta,
        patience=[0, 1, 2, 3, 5, 1.5][rng.integers(6)],
        baseline=baseline,
        start_from_epoch=int(rng.choice([0, 0, 1, 3])),
        restore_best_weights=bool(rng.random() < 0.6),
        verbose=int(rng.random() < 0.3),
    )


@pytest.mark.parametrize("seed", range(160))
def test_es_random_streams(model_pair, seed):
    rng = np.random.default_rng(seed)
    kwargs = _es_config(rng)
    run = ESRun(model_pair, salt=seed, **kwargs)
    stream = Stream(rng, kwargs["min_delta"], kwargs["baseline"])
    hold = rng.choice(["none", "list", "array", "view"])
    for _ in range(int(rng.integers(4, 18))):
        missing = rng.random() < 0.05
        run.epoch_end(stream.next(run.k.best), kwargs["monitor"], missing=missing)
        if hold != "none" and rng.random() < 0.5:
            run.hold(hold)
    run.train_end()


def test_es_best_weights_lists_are_never_overwritten(model_pair):
    """Earlier `best_weights` lists (and arrays, and views) stay unchanged."""
    run = ESRun(model_pair, salt=7, monitor="val_loss", patience=100,
                restore_best_weights=True)
    values = [1.0, 0.9, 0.8, 0.95, 0.7, 0.6, 0.5, 0.55, 0.4, 0.3, 0.2]
    lists = []
    for i, v in enumerate(values):
        run.epoch_end(v)
        run.hold(["list", "array", "view"][i % 3])
        lists.append(run.o.best_weights)
    # A new list per improvement, as Keras's get_weights() gives.
    improving = [i for i, v in enumerate(values) if v == min(values[: i + 1])]
    assert len({id(x) for x in lists}) == len(improving)
    for i, bw in zip(improving, [lists[i] for i in improving]):
        assert same_arrays(bw, epoch_weights(model_pair.keras, i, 7))
    run.train_end()
    assert same_arrays(model_pair.ours.get_weights(), epoch_weights(model_pair.keras, 10, 7))


def test_es_refit_resets_like_keras(model_pair):
    """State set by hand or left by a first fit is reset by on_train_begin
    (`best` only by Keras 3.15+: older Keras carries it over)."""
    run = ESRun(model_pair, monitor="val_loss", patience=1, restore_best_weights=True,
                min_delta=0.05)
    for v in [1.0, 2.0, 3.0]:
        run.epoch_end(v)
    call_both(run.k, run.o, "on_train_end", {})
    for cb in (run.k, run.o):
        cb.best = 0.123
        cb.wait = 7
        cb.stopped_epoch = 9
        cb.best_epoch = 4
    model_pair.reset()
    call_both(run.k, run.o, "on_train_begin", {})
    assert_es_same(run.k, run.o, model_pair, "second on_train_begin")
    assert run.o.min_delta == run.k.min_delta == -0.05  # sign kept across fits
    run.epoch = 0
    for v in [5.0, 4.0, 4.5, 4.5]:
        run.epoch_end(v)
    run.train_end()


# -- values Keras cannot compare ------------------------------------------------------


@pytest.mark.parametrize("mode", ["min", "max"])
def test_documented_difference_values_beyond_float32(model_pair, mode):
    """Keras on TF raises ValueError for 1e39 (a tensor cannot hold it); we
    compare it as the float32 it rounds to, i.e. inf. Not parity on TF: a
    documented difference. On torch and JAX Keras itself rounds it to inf,
    and there ours decides exactly as Keras does."""
    model_pair.reset()
    values = [1.0, 3e38, 1e39, -3e38, -1e39, 2.0]

    def decisions(lib, m, big):
        es = lib.EarlyStopping(mode=mode, patience=2)
        m.stop_training = False
        es.set_model(m)
        es.on_train_begin()
        out = []
        for epoch, v in enumerate([1.0, 3e38, big, -3e38, -big, 2.0]):
            es.on_epoch_end(epoch, {"val_loss": v})
            out.append((es.wait, es.best_epoch, es.stopped_epoch, m.stop_training))
        return out

    try:
        theirs = decisions(keras.callbacks, model_pair.keras, 1e39)
    except ValueError:
        theirs = None
    if keras.backend.backend() == "tensorflow":
        assert theirs is None  # the documented difference still exists
    else:
        assert theirs == decisions(fastcallbacks, model_pair.ours, 1e39), values
    assert decisions(fastcallbacks, model_pair.ours, 1e39) == decisions(
        fastcallbacks, model_pair.ours, math.inf)
    assert decisions(fastcallbacks, model_pair.ours, 1e39) != decisions(
        fastcallbacks, model_pair.ours, 3e38)


# -- ReduceLROnPlateau ---------------------------------------------------------------


def assert_rop_same(k, o, pair, where, logs_k=None, logs_o=None):
    assert type(o.wait) is type(k.wait) and o.wait == k.wait, (where, o.wait, k.wait)
    assert type(o.cooldown_counter) is type(k.cooldown_counter), where
    assert o.cooldown_counter == k.cooldown_counter, where
    assert o.in_cooldown() == k.in_cooldown(), where
    assert_same_scalar(o.best, k.best, f"{where} best")
    assert o.monitor_op is k.monitor_op, where
    assert_same_scalar(o.min_delta, k.min_delta, f"{where} min_delta")
    assert_same_scalar(learning_rate(pair.ours), learning_rate(pair.keras), f"{where} lr")
    assert pair.ours.stop_training == pair.keras.stop_training, where
    if logs_k is not None:
        assert sorted(logs_o) == sorted(logs_k), where
        for key in logs_k:
            assert_same_scalar(logs_o[key], logs_k[key], f"{where} logs[{key!r}]")


class ROPRun:
    def __init__(self, pair, lr=1.0, **kwargs):
        self.pair = pair
        pair.reset(learning_rate=lr)
        self.k = keras.callbacks.ReduceLROnPlateau(**kwargs)
        self.o = fastcallbacks.ReduceLROnPlateau(**kwargs)
        self.k.set_model(pair.keras)
        self.o.set_model(pair.ours)
        assert_rop_same(self.k, self.o, pair, "constructed")
        call_both(self.k, self.o, "on_train_begin", {})
        assert_rop_same(self.k, self.o, pair, "on_train_begin")
        self.epoch = 0
        self.logged = []

    def epoch_end(self, value, monitor="val_loss", missing=False):
        epoch = self.epoch
        call_both(self.k, self.o, "on_epoch_begin", epoch, {})
        logs = {"other": 0.5} if missing else {"other": 0.5, monitor: value}
        logs_k, logs_o = call_both(self.k, self.o, "on_epoch_end", epoch, logs)
        assert_rop_same(self.k, self.o, self.pair, f"epoch {epoch} value {value!r}",
                        logs_k, logs_o)
        self.logged.append(logs_k["learning_rate"])
        self.epoch += 1


def f32(x):
    return float(np.float32(x))


# Section 1.4 of the contract: (lr, kwargs, values, logged learning rates).
ROP_TRACES = [
    pytest.param(1.0, dict(patience=2, factor=0.5), [1.0] * 6,
                 [1, 1, 1, 0.5, 0.5, 0.25], id="patience2"),
    pytest.param(1.0, dict(patience=1, factor=0.5, cooldown=2), [1.0] * 8,
                 [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125], id="cooldown2"),
    pytest.param(0.3, dict(patience=1, factor=0.5, min_lr=0.1), [1.0] * 5,
                 [0.3, 0.3, 0.15, 0.1, 0.1], id="min_lr"),
    pytest.param(1.0, dict(patience=1), [1.0, 0.99995, 0.9998],
                 [1, 1, 0.1], id="default-min_delta"),
]


@pytest.mark.reference_smoke
@pytest.mark.parametrize("lr, kwargs, values, logged", ROP_TRACES)
def test_rop_contract_traces(model_pair, lr, kwargs, values, logged):
    run = ROPRun(model_pair, lr=lr, monitor="loss", **kwargs)
    waits = []
    for v in values:
        run.epoch_end(v, "loss")
        waits.append(run.k.wait)
    assert run.logged == [f32(x) for x in logged]
    if kwargs.get("min_lr"):
        # Clipped at min_lr, nothing is reduced any more and `wait` grows.
        assert waits[-2:] == [1, 2]
    if len(values) == 3:
        assert waits == [0, 0, 0] and run.k.best == 0.9998


def _rop_config(rng):
    mode = str(rng.choice(["min", "max", "auto"]))
    monitor = "val_loss" if mode == "auto" else str(rng.choice(["val_loss", "score"]))
    return dict(
        monitor=monitor,
        mode=mode,
        factor=float(rng.choice([0.0, 0.1, 0.5, 0.9])),
        patience=[0, 1, 2, 3, 1.5][rng.integers(5)],
        cooldown=int(rng.choice([0, 0, 1, 2, 3])),
        min_lr=float(rng.choice([0.0, 1e-4, 0.05, 0.3])),
        min_delta=[1e-4, 0, 0.0, 0.01, 0.1, -0.1][rng.integers(6)],
        verbose=int(rng.random() < 0.3),
    )


@pytest.mark.parametrize("seed", range(120))
def test_rop_random_streams(model_pair, seed):
    rng = np.random.default_rng(1000 + seed)
    kwargs = _rop_config(rng)
    lr = float(rng.choice([1.0, 0.3, 0.1, 1e-3]))
    run = ROPRun(model_pair, lr=lr, **kwargs)
    stream = Stream(rng, kwargs["min_delta"])
    for _ in range(int(rng.integers(4, 18))):
        missing = rng.random() < 0.05
        run.epoch_end(stream.next(run.k.best), kwargs["monitor"], missing=missing)


def test_rop_refit_resets_like_keras(model_pair):
    run = ROPRun(model_pair, monitor="loss", patience=1, cooldown=3, factor=0.5)
    for v in [1.0, 1.0, 1.0]:
        run.epoch_end(v, "loss")
    assert run.k.cooldown_counter > 0
    for cb in (run.k, run.o):
        cb.best = 0.5
        cb.wait = 3
    call_both(run.k, run.o, "on_train_begin", {})
    assert_rop_same(run.k, run.o, model_pair, "second on_train_begin")
    assert run.o.cooldown_counter == 0
    assert run.o.best == (None if resets_best("ReduceLROnPlateau") else 0.5)
    run.epoch = 0
    for v in [2.0, 2.0, 1.0, 1.5, 1.5, 1.5]:
        run.epoch_end(v, "loss")


# -- attributes assigned by hand -------------------------------------------------------


def _es_state(cb, model):
    return (cb.wait, cb.best, cb.best_epoch, cb.stopped_epoch, model.stop_training)


@pytest.mark.parametrize(
    "op", [keras.ops.greater, keras.ops.less, np.greater, np.less],
    ids=["ops.greater", "ops.less", "np.greater", "np.less"],
)
@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_monitor_op_assigned_before_training_is_used(model_pair, op, name):
    """Keras only resolves `monitor_op` while it is None: one assigned by
    hand (Keras 2 code did `es.monitor_op = np.greater`) decides. The
    monitor `val_score` cannot be resolved in auto mode, so without the
    assignment both would raise."""
    model_pair.reset()
    k = getattr(keras.callbacks, name)(monitor="val_score", patience=1, min_delta=0)
    o = getattr(fastcallbacks, name)(monitor="val_score", patience=1, min_delta=0)
    k.monitor_op = op
    o.monitor_op = op
    k.set_model(model_pair.keras)
    o.set_model(model_pair.ours)
    call_both(k, o, "on_train_begin", {})
    for epoch, v in enumerate([0.5, 0.6, 0.7, 0.65, 0.4, 0.3]):
        call_both(k, o, "on_epoch_end", epoch, {"val_score": v})
        assert o.monitor_op is op
        if name == "EarlyStopping":
            state = _es_state(o, model_pair.ours), _es_state(k, model_pair.keras)
        else:
            state = [(cb.wait, cb.best, learning_rate(m)) for cb, m in
                     ((o, model_pair.ours), (k, model_pair.keras))]
        assert state[0] == state[1], (epoch, v)


@pytest.mark.parametrize(
    "attrs",
    [
        dict(patience=1),
        dict(patience=3, baseline=0.5),
        dict(start_from_epoch=2, restore_best_weights=True),
        dict(min_delta=0.2),
        dict(best=0.3),
    ],
    ids=lambda d: "-".join(d),
)
def test_es_attributes_assigned_before_training_are_used(model_pair, attrs):
    run = ESRun(model_pair, monitor="val_loss", patience=10, mode="min")
    for cb in (run.k, run.o):
        for name, value in attrs.items():
            setattr(cb, name, value)
    if "best" in attrs:
        # Overwritten by on_train_begin in Keras 3.15+ (Keras's own tests
        # rely on that); older Keras starts from it.
        call_both(run.k, run.o, "on_train_begin", {})
        assert run.o.best == (None if resets_best("EarlyStopping") else 0.3)
    for v in [1.0, 0.9, 0.85, 0.95, 0.6, 0.62, 0.61, 0.7, 0.2]:
        run.epoch_end(v)
    run.train_end()


def test_es_signed_min_delta_assigned_after_resolution(model_pair):
    """After the first epoch `min_delta` carries the sign of the direction;
    assigning a new (correctly signed) value changes the threshold."""
    run = ESRun(model_pair, monitor="val_loss", patience=10, mode="min", min_delta=0.01)
    run.epoch_end(1.0)
    for cb in (run.k, run.o):
        cb.min_delta = -0.2
    for v in [0.9, 0.7, 0.75, 0.45, 0.5]:
        run.epoch_end(v)
    assert run.k.best == 0.45 and run.k.best_epoch == 4


def test_rop_attributes_assigned_before_training_are_used(model_pair):
    run = ROPRun(model_pair, lr=1.0, monitor="val_loss", patience=10)
    for cb in (run.k, run.o):
        cb.patience = 1
        cb.cooldown = 2
        cb.factor = 0.5
        cb.min_lr = 0.2
    for v in [1.0] * 8:
        run.epoch_end(v)
    assert run.logged[-1] == f32(0.25) or run.logged[-1] == f32(0.2)
    assert len(set(run.logged)) >= 3


# Keras takes these arguments as they come: numpy integers (e.g. from a
# hyper-parameter grid) and integral floats work there.
NUMERIC_ARGS = [
    ("EarlyStopping", dict(patience=np.int64(2))),
    ("EarlyStopping", dict(patience=np.int32(1), start_from_epoch=np.int64(1))),
    ("ReduceLROnPlateau", dict(patience=np.int64(1))),
    ("ReduceLROnPlateau", dict(patience=1, cooldown=np.int64(2))),
    ("ReduceLROnPlateau", dict(patience=1, cooldown=2.0)),
]


@pytest.mark.parametrize(
    "name, kwargs", NUMERIC_ARGS,
    ids=[f"{n}-" + "-".join(f"{k}={type(v).__name__}" for k, v in kw.items())
         for n, kw in NUMERIC_ARGS],
)
def test_numpy_and_float_counts_are_accepted_like_keras(model_pair, name, kwargs):
    model_pair.reset()
    k = getattr(keras.callbacks, name)(monitor="val_loss", **kwargs)
    o = getattr(fastcallbacks, name)(monitor="val_loss", **kwargs)  # Keras accepts it
    k.set_model(model_pair.keras)
    o.set_model(model_pair.ours)
    call_both(k, o, "on_train_begin", {})
    for epoch, v in enumerate([1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.4, 0.7, 0.7, 0.7]):
        call_both(k, o, "on_epoch_end", epoch, {"val_loss": v})
        assert o.wait == k.wait and o.best == k.best, epoch
        if name == "EarlyStopping":
            assert _es_state(o, model_pair.ours) == _es_state(k, model_pair.keras)
        else:
            assert o.cooldown_counter == k.cooldown_counter
            assert learning_rate(model_pair.ours) == learning_rate(model_pair.keras)


# -- more models ------------------------------------------------------------------------


@pytest.mark.reference_smoke
def test_es_restores_non_trainable_weights_like_keras():
    """BatchNormalization's moving statistics are restored as well."""
    def bn_model():
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        m.stop_training = False
        return m

    mk, mo = bn_model(), bn_model()
    assert len(mk.weights) > len(mk.trainable_weights)
    k = keras.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    o = fastcallbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_train_begin", {})
    for epoch, v in enumerate([1.0, 0.8, 0.9, 0.7, 0.75, 0.9]):
        w = epoch_weights(mk, epoch, 3)
        mk.set_weights(w)
        mo.set_weights(w)
        call_both(k, o, "on_epoch_end", epoch, {"loss": v})
        assert same_arrays(o.best_weights, k.best_weights)
    call_both(k, o, "on_train_end", {})
    assert k.stopped_epoch == 5 and o.stopped_epoch == 5
    assert same_arrays(mo.get_weights(), epoch_weights(mk, 3, 3))
    assert same_arrays(mo.get_weights(), mk.get_weights())


class _MultiOptimizer:
    def __init__(self, *lrs):
        self.optimizers = [keras.optimizers.SGD(learning_rate=lr, name=f"opt{i}")
                           for i, lr in enumerate(lrs)]


class _StubModel:
    """What ReduceLROnPlateau touches: `optimizer`, `stop_training`."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.stop_training = False


def test_rop_multi_optimizer_like_keras():
    mk, mo = _StubModel(_MultiOptimizer(1.0, 0.05)), _StubModel(_MultiOptimizer(1.0, 0.05))
    kwargs = dict(monitor="loss", patience=1, factor=0.5, min_lr=0.04, verbose=1)
    k = keras.callbacks.ReduceLROnPlateau(**kwargs)
    o = fastcallbacks.ReduceLROnPlateau(**kwargs)
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_train_begin", {})
    if not _compat.REDUCE_LR_PER_OPTIMIZER:
        # Keras < 3.15 reads `optimizer.learning_rate` only: both fail alike.
        with pytest.raises(AttributeError, match="no attribute 'learning_rate'"):
            call_both(k, o, "on_epoch_end", 0, {"loss": 1.0})
        return
    for epoch in range(7):
        logs_k, logs_o = call_both(k, o, "on_epoch_end", epoch, {"loss": 1.0})
        assert "learning_rate" not in logs_o
        assert sorted(logs_o) == sorted(logs_k) == ["learning_rate_opt0",
                                                    "learning_rate_opt1", "loss"]
        for key in logs_k:
            assert_same_scalar(logs_o[key], logs_k[key], key)
        assert (o.wait, o.cooldown_counter) == (k.wait, k.cooldown_counter)
    # opt1 hits min_lr while opt0 keeps being reduced.
    assert logs_o["learning_rate_opt1"] == f32(0.04)
    assert logs_o["learning_rate_opt0"] < 0.1


# -- TerminateOnNaN ---------------------------------------------------------------------

TON_LOSSES = [
    1.0, 0.0, -5.0, 3e38, math.nan, math.inf, -math.inf,
    np.float32("nan"), np.float64("inf"), np.float32(2.0), np.float64(-math.inf),
    np.array(math.nan), np.array(1.5), None,
]


@pytest.mark.parametrize("raise_error", [False, True])
@pytest.mark.parametrize("loss", TON_LOSSES, ids=[repr(v) for v in TON_LOSSES])
@pytest.mark.parametrize("hook", ["on_batch_end", "on_train_batch_end"])
def test_terminate_on_nan_hook_like_keras(raise_error, loss, hook):
    kwargs = terminate_on_nan_kwargs(raise_error)
    if kwargs is None:  # Keras < 3.13: both rejected raise_error alike
        return
    mk, mo = _StubModel(None), _StubModel(None)
    k = keras.callbacks.TerminateOnNaN(**kwargs)
    o = fastcallbacks.TerminateOnNaN(**kwargs)
    k.set_model(mk)
    o.set_model(mo)
    logs = {"accuracy": 0.5} if loss is None else {"loss": loss}
    bad = loss is not None and not np.isfinite(loss)
    try:
        call_both(k, o, hook, 3, logs)  # also compares the printed message
    except RuntimeError as e:
        assert raise_error and bad
        assert str(e).startswith("NaN or Inf loss encountered at batch 3. Loss value: ")
    else:
        assert not (raise_error and bad)
    assert mo.stop_training == mk.stop_training == (bad and not raise_error)
    # Validation and prediction batches are not looked at.
    call_both(k, o, "on_test_batch_end", 0, {"loss": math.nan})
    call_both(k, o, "on_predict_batch_end", 0, {"loss": math.nan})
    assert mo.stop_training == mk.stop_training


def test_terminate_on_nan_without_logs():
    mk, mo = _StubModel(None), _StubModel(None)
    k, o = keras.callbacks.TerminateOnNaN(), fastcallbacks.TerminateOnNaN()
    k.set_model(mk)
    o.set_model(mo)
    call_both(k, o, "on_batch_end", 0)
    call_both(k, o, "on_batch_end", 0, None)
    assert not mo.stop_training and not mk.stop_training


# -- duck-typed models ------------------------------------------------------------------


class _DuckModel:
    """Only what Keras's EarlyStopping uses: `stop_training`, `get_weights()`,
    `set_weights()`. Keras's own early_stopping_test drives the callback
    with such a model whose "weights" are a plain int."""

    def __init__(self, weights):
        self.stop_training = False
        self.weights = weights

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


@pytest.mark.parametrize("kind", ["int", "numpy"])
def test_es_restore_with_a_duck_typed_model(kind):
    def weights_at(epoch):
        return epoch if kind == "int" else [np.full((2, 3), float(epoch)), np.arange(3.0)]

    def run(lib):
        model = _DuckModel(weights_at(-1))
        es = lib.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        es.set_model(model)
        es.on_train_begin()
        for epoch, v in enumerate([0.2, 0.15, 0.1, 0.11, 0.12, 0.13]):
            model.weights = weights_at(epoch)
            es.on_epoch_end(epoch, {"val_loss": v})
            if model.stop_training:
                break
        es.on_train_end()
        return model.get_weights(), es.stopped_epoch, es.best_epoch

    theirs = run(keras.callbacks)
    assert theirs[1:] == (4, 2)
    ours = run(fastcallbacks)
    assert ours[1:] == theirs[1:]
    if kind == "int":
        assert ours[0] == theirs[0] == 2
    else:
        assert same_arrays(ours[0], theirs[0]) and same_arrays(ours[0], weights_at(2))


# -- state assigned mid-training, private helpers, missing logs ----------------------------


def test_es_state_assigned_mid_training(model_pair):
    """Subclasses and user code write `best`/`wait` between epochs."""
    run = ESRun(model_pair, monitor="val_loss", patience=3, mode="min",
                restore_best_weights=True)
    for v in [1.0, 0.9, 0.95]:
        run.epoch_end(v)
    for cb in (run.k, run.o):
        cb.best = 0.5
        cb.wait = 2
    for v in [0.6, 0.45, 0.47, 0.46, 0.5, 0.5]:
        run.epoch_end(v)
    # wait 2 -> 3 stops at epoch 3; fed on, the last stop is at epoch 8.
    assert run.stops == [3] and run.k.best == 0.45 and run.k.stopped_epoch == 8
    run.train_end()


def test_rop_state_assigned_mid_training(model_pair):
    run = ROPRun(model_pair, lr=1.0, monitor="val_loss", patience=2, cooldown=3,
                 factor=0.5)
    for v in [1.0, 0.9, 0.95]:
        run.epoch_end(v)
    for cb in (run.k, run.o):
        cb.best = 0.5
        cb.wait = 1
        cb.cooldown_counter = 2
    for v in [0.6, 0.45, 0.47, 0.46, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]:
        run.epoch_end(v)
    assert len(set(run.logged)) >= 2


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("min_delta", [0, 0.1, 1e-9])
def test_is_improvement_like_keras(model_pair, mode, min_delta):
    """`_is_improvement` (used by subclasses) answers like Keras's, whose
    answer is a float32 tensor comparison."""
    k = keras.callbacks.EarlyStopping(monitor="val_loss", mode=mode, min_delta=min_delta)
    o = fastcallbacks.EarlyStopping(monitor="val_loss", mode=mode, min_delta=min_delta)
    for cb, m in ((k, model_pair.keras), (o, model_pair.ours)):
        cb.set_model(m)
        cb.on_train_begin()
        cb.on_epoch_end(0, {"val_loss": 1.0})
    rng = np.random.default_rng(42)
    refs = [1.0, 0.0, -2.5, 3e38, math.inf, -math.inf, math.nan, 1.0 + 1e-9, 0.1]
    for ref in refs:
        cands = [ref, ref + min_delta, ref - min_delta, ref * (1 + 1e-9), ref + 1e-8,
                 math.nan, math.inf, -math.inf, float(rng.normal())]
        for v in cands:
            if not (abs(v) < 3.3e38 or not math.isfinite(v)):
                continue
            assert bool(o._is_improvement(v, ref)) == bool(k._is_improvement(v, ref)), (v, ref)
        assert bool(o._is_improvement(ref, None)) and bool(k._is_improvement(ref, None))


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_epoch_end_without_logs_warns_like_keras(model_pair, name):
    model_pair.reset()
    k = getattr(keras.callbacks, name)(monitor="val_loss")
    o = getattr(fastcallbacks, name)(monitor="val_loss")
    k.set_model(model_pair.keras)
    o.set_model(model_pair.ours)
    call_both(k, o, "on_train_begin")
    call_both(k, o, "on_epoch_end", 0)  # compares the warnings of both sides
    call_both(k, o, "on_epoch_end", 1, None)
    call_both(k, o, "on_epoch_end", 2, {})
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        o.on_epoch_end(3)
    assert o.best is None and o.wait == k.wait == 0


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
@pytest.mark.parametrize("assigned", [0.1, -0.1, 0.3])
def test_min_delta_assigned_after_resolution_keeps_keras_sign_rule(model_pair, name, assigned):
    """Keras keeps `min_delta` signed and compares `monitor_op(current -
    min_delta, best)`: a positive value assigned after "min" was resolved
    loosens the threshold. We follow that rule exactly."""
    model_pair.reset()
    k = getattr(keras.callbacks, name)(monitor="val_loss", patience=2, min_delta=0.05)
    o = getattr(fastcallbacks, name)(monitor="val_loss", patience=2, min_delta=0.05)
    k.set_model(model_pair.keras)
    o.set_model(model_pair.ours)
    call_both(k, o, "on_train_begin", {})
    stream = [1.0, 0.98, 1.05, 0.9, 1.2, 1.15, 1.1, 1.3]
    for epoch, v in enumerate(stream):
        if epoch == 1:
            k.min_delta = assigned
            o.min_delta = assigned
        call_both(k, o, "on_epoch_end", epoch, {"val_loss": v})
        assert (o.wait, o.best, o.min_delta) == (k.wait, k.best, k.min_delta), (epoch, v)


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_unknown_monitor_op_assigned_by_hand_is_called_like_keras(model_pair, name):
    """A comparison function the core does not know decides through the
    same rule, calling the function as Keras does."""
    model_pair.reset()
    calls = {"keras": 0, "ours": 0}

    def make_op(who):
        def op(a, b):
            calls[who] += 1
            return a <= b  # non-strict: ties improve

        return op

    k = getattr(keras.callbacks, name)(monitor="val_score", patience=1)
    o = getattr(fastcallbacks, name)(monitor="val_score", patience=1)
    k.monitor_op = make_op("keras")
    o.monitor_op = make_op("ours")
    k.set_model(model_pair.keras)
    o.set_model(model_pair.ours)
    call_both(k, o, "on_train_begin", {})
    for epoch, v in enumerate([1.0, 1.0, 1.0, 0.5, 0.7, 0.7, 0.7]):
        call_both(k, o, "on_epoch_end", epoch, {"val_score": v})
        assert (o.wait, o.best) == (k.wait, k.best), (epoch, v)
        assert model_pair.ours.stop_training == model_pair.keras.stop_training
    assert calls["ours"] == calls["keras"] > 0
