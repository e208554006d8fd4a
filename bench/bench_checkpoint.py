"""ModelCheckpoint: how long one save blocks the training loop.

For a 1M- and a 10M-parameter model (Dense 1000x1000 layers, Adam, one
step trained, so the files hold the optimizer slots too: about 3x the
weights), one group per size and format, each timing the hook call that
saves (`on_epoch_end`), with the background writer idle at the start of
every round (setup, not timed):

* `keras`: `keras.callbacks.ModelCheckpoint` (the anchor);
* `sync`: ours, `async_save=False` (atomic write + fsync + checksum);
* `async`: ours, `async_save=True` (blocked only for the snapshot copy);
* `memcpy`: `np.copyto` of the same bytes (every variable the file holds)
  into preallocated buffers, the physical floor of a snapshot, repeated
  back to back (cache-warm);
* `memcpy_after_step`: the same copy, each round right after one training
  step (`train_on_batch`), the state every save round starts from too: as
  in `fit`, the optimizer has just updated every variable; for async saves
  training steps go on until the previous write has finished (it overlaps
  them, as in `fit`);
* `get_weights`: `model.get_weights()` (what Keras callbacks copy with).

`bench_zz_checkpoint_ratios` prints the ratios of the same run.
"""


import keras
import numpy as np
import pytest

import fastcallbacks
from fastcallbacks import _ckptwriter
from fastcallbacks._weights import host_arrays

SIZES = {"1M": 1, "10M": 10}  # Dense(1000) layers on 1000 inputs
_MEDIANS = {}


_BATCH = (np.ones((8, 1000), "float32"), np.ones((8, 1000), "float32"))


def _record(benchmark, key):
    # No stats with --benchmark-disable (each function runs once, untimed).
    if benchmark.stats is not None:
        _MEDIANS[key] = benchmark.stats.stats.median


def _train_step(model):
    model.train_on_batch(*_BATCH)


def _model(layers):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((1000,))
    x = inputs
    for _ in range(layers):
        x = keras.layers.Dense(1000)(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer="adam", loss="mse")
    _train_step(model)
    return model


@pytest.fixture(scope="module", params=list(SIZES))
def sized_model(request):
    return request.param, _model(SIZES[request.param])


@pytest.mark.parametrize("how", ["memcpy", "memcpy_after_step", "get_weights"])
def bench_checkpoint_copy_floor(benchmark, sized_model, how):
    size, model = sized_model
    benchmark.group = f"checkpoint stall[{size}.weights.h5]"
    layout = _ckptwriter.record_layout(model, with_assets=False)
    src = [np.asarray(a) for a in host_arrays(layout.variables)]
    dst = [np.empty_like(a) for a in src]

    def memcpy():
        for d, s in zip(dst, src):
            np.copyto(d, s)

    def after_step():
        # Views of the variables are dropped before the step (held ones
        # make TensorFlow copy a variable on update) and taken again after
        # it, outside the timing.
        src.clear()
        _train_step(model)
        src.extend(np.asarray(a) for a in host_arrays(layout.variables))

    fn = model.get_weights if how == "get_weights" else memcpy
    benchmark.extra_info["bytes"] = sum(a.nbytes for a in dst)
    benchmark.pedantic(fn, setup=after_step if how == "memcpy_after_step" else None,
                       rounds=15, iterations=1, warmup_rounds=2)
    src.clear()
    _record(benchmark, (size, ".weights.h5", how))


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
@pytest.mark.parametrize("how", ["keras", "sync", "async"])
def bench_checkpoint_stall(benchmark, sized_model, how, suffix, tmp_path):
    size, model = sized_model
    benchmark.group = f"checkpoint stall[{size}{suffix}]"
    weights_only = suffix == ".weights.h5"
    path = str(tmp_path / f"ckpt{suffix}")
    state = {"epoch": 0}
    if how == "keras":
        cb = keras.callbacks.ModelCheckpoint(path, save_weights_only=weights_only)
        benchmark.extra_info["anchor"] = True
    else:
        cb = fastcallbacks.ModelCheckpoint(
            # With the sidecar (off by default): the measured save includes
            # the SHA-256, as docs/keras-compat.md states.
            path, save_weights_only=weights_only, async_save=how == "async",
            checksum=True)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})  # layout, buffers, first file
    if how == "async":
        cb.flush()

    def setup():
        # Outside the timing: training goes on (at least one step) while
        # the previous async write runs, as between two saves in `fit`;
        # the next save starts once that write is done. (Waiting idle in
        # flush() instead leaves the save to run on cold caches and a
        # descheduled vCPU: 1.5-2x slower here, a state `fit` never has.)
        _train_step(model)
        if how == "async":
            while cb._future is not None and not cb._future.done():
                _train_step(model)
            cb.flush()

    def fn():
        state["epoch"] += 1
        cb.on_epoch_end(state["epoch"], {"val_loss": 1.0})

    benchmark.pedantic(fn, setup=setup, rounds=7, iterations=1, warmup_rounds=1)
    cb.on_train_end()
    if how != "keras":
        assert fastcallbacks.checkpoint.verify(path)
    if how == "async":
        assert cb._snapshots.allocations == 1  # reused buffers
    _record(benchmark, (size, suffix, how))


def bench_zz_checkpoint_ratios(benchmark):
    """Prints the ratios of this run (needs the stall benchmarks above)."""
    benchmark.group = "checkpoint ratios"
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    lines = []
    for size in SIZES:
        memcpy = _MEDIANS.get((size, ".weights.h5", "memcpy"))
        after = _MEDIANS.get((size, ".weights.h5", "memcpy_after_step"))
        for suffix in (".weights.h5", ".keras"):
            k = _MEDIANS.get((size, suffix, "keras"))
            s = _MEDIANS.get((size, suffix, "sync"))
            a = _MEDIANS.get((size, suffix, "async"))
            if None in (k, s, a, memcpy, after):
                continue
            lines.append(
                f"{size}{suffix}: keras {k * 1e3:.1f} ms, sync {s * 1e3:.1f} ms "
                f"({k / s:.2f}x less), async {a * 1e3:.2f} ms ({k / a:.0f}x less "
                f"than keras; {a / after:.2f}x memcpy after a step {after * 1e3:.2f} ms, "
                f"{a / memcpy:.2f}x cache-warm memcpy {memcpy * 1e3:.2f} ms)"
            )
        g = _MEDIANS.get((size, ".weights.h5", "get_weights"))
        if g and memcpy:
            lines.append(f"{size}: get_weights {g * 1e3:.2f} ms = {g / memcpy:.2f}x memcpy")
    print("\n" + "\n".join(lines))
    benchmark.extra_info["ratios"] = lines
