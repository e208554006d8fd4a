"""restore_best_weights snapshot: WeightSnapshot vs `model.get_weights()`
(what Keras does per improvement) vs a plain memcpy of the same bytes into
preallocated buffers (the physical floor)."""

import keras
import numpy as np
import pytest

from fastcallbacks import _impl
from fastcallbacks._weights import host_arrays

SHAPES = {
    # name: (units per layer, layers) on 1000 inputs
    "1M-2layers": [(1000, 500), (500, 1000)],
    "10M-2layers": [(1000, 5000), (5000, 1000)],
    "1M-50layers": [(141, 141)] * 50,
}


def _model(name):
    layers = SHAPES[name]
    inputs = keras.Input((layers[0][0],))
    x = inputs
    for _, units in layers:
        x = keras.layers.Dense(units)(x)
    return keras.Model(inputs, x)


@pytest.fixture(scope="module", params=list(SHAPES))
def model(request):
    return request.param, _model(request.param)


@pytest.mark.parametrize("how", ["keras_get_weights", "memcpy", "cython", "python"])
def bench_weight_snapshot(benchmark, model, how):
    name, m = model
    benchmark.group = f"snapshot[{name}]"
    benchmark.extra_info["anchor"] = how == "memcpy"
    if how == "keras_get_weights":
        fn = m.get_weights
    elif how == "memcpy":
        src = [np.asarray(a) for a in host_arrays(m.weights)]
        dst = [np.empty_like(a) for a in src]

        def fn():
            for d, s in zip(dst, src):
                np.copyto(d, s)
    else:
        previous = _impl.use(how)
        snap = _impl.snapshot.WeightSnapshot()
        _impl.use(previous)
        holder = [None]

        def fn():
            holder[0] = None
            holder[0] = snap.capture(host_arrays(m.weights))

    benchmark.pedantic(fn, rounds=15, iterations=1, warmup_rounds=2)
    if how in ("cython", "python"):
        assert snap.allocations == 1
        ref = m.get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(holder[0], ref))
