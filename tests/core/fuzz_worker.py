"""Runs constructor cases of test_constructor_fuzz in a child process.

Usage: `python fuzz_worker.py DIR < cases.pickle`, or `python fuzz_worker.py
--serve`: batches one after another on stdin (each a 4-byte little-endian
length and a pickle of `(DIR, cases)`), each answered like a single run and
then a `null` line, so one interpreter start (and one Keras import) serves
every batch of a test module. Each case is `(target, impl, kwargs)`. A constructor may refuse its arguments with the
exception types Keras uses (TypeError, ValueError, OverflowError,
MemoryError); an object it returns must work: the worker uses it and checks
the results. One JSON line per case is printed as soon as the case is done,
so a crash (which kills this process) points at the case that caused it.
"""

import importlib
import json
import math
import os
import pickle
import struct
import sys
import types

import numpy as np

CLEAN = (TypeError, ValueError, OverflowError, MemoryError)
PACKAGES = {"cython": "fastcallbacks._core", "python": "fastcallbacks._reference"}


def module(impl, name):
    return importlib.import_module(f"{PACKAGES[impl]}.{name}")


def use_ring(ring):
    values = [float(i % 7) - 3.0 for i in range(40)]
    for x in values:
        ring.push(x)
    ring.extend(np.arange(100.0))
    window = (values + [float(i) for i in range(100)])[-min(ring.capacity, 140):]
    assert list(ring.values()) == window, "window"
    assert ring.stat("last") == 99.0
    assert ring.stat("max") == max(window)
    assert ring.stat("min") == min(window)
    assert ring.stat("median") == float(np.median(window))
    assert math.isfinite(ring.stat("mean")) and math.isfinite(ring.stat("ema"))
    clone = pickle.loads(pickle.dumps(ring))
    assert list(clone.values()) == window, "pickled window"
    clone.push(1.0)
    assert len(clone) == min(ring.capacity, 141)


def use_tracker(tracker):
    for step, x in enumerate([3.0, 2.0, 2.5, float("nan"), 1.0, 4.0, 0.5]):
        action = tracker.update(x, step)
        assert isinstance(action, int), action
    tracker.start_cooldown()
    tracker.update(0.25, 10)
    tracker.reset()


def use_snapshot(snap):
    src = [np.arange(12.0).reshape(3, 4), np.array(5, "i4"), np.zeros(0, "f2")]
    for k in range(3):
        arrays = [a + k for a in src]
        out = snap.capture(arrays)
        assert all(np.array_equal(o, a) for o, a in zip(out, arrays))
        del out
    out, result = snap.capture_while(src, lambda: "fn")
    assert result == "fn" and all(np.array_equal(o, a) for o, a in zip(out, src))


def use_writer(writer, path):
    arrays = {"a": np.arange(10.0), "b": np.ones((3, 3), "f4"), "c": np.array(7)}
    for name, a in arrays.items():
        writer.add(name, a)
    writer.commit()
    writer.close()
    with np.load(path) as f:
        assert sorted(f.files) == sorted(arrays)
        for name, a in arrays.items():
            assert np.array_equal(f[name], a)


def use_monitor_callback(cb):
    import keras

    lr = keras.Variable(0.1)
    model = types.SimpleNamespace(stop_training=False,
                                  optimizer=types.SimpleNamespace(learning_rate=lr))
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(8):
        cb.on_epoch_end(epoch, {"val_loss": 1.0 + (epoch % 3) * 0.5})
    cb.on_train_end()


def run(target, impl, kwargs, tmp, index):
    path = None
    if target == "RingMonitor":
        make = lambda: module(impl, "ring").RingMonitor(**kwargs)  # noqa: E731
        use = use_ring
    elif target == "BestTracker":
        make = lambda: module(impl, "tracker").BestTracker(**kwargs)  # noqa: E731
        use = use_tracker
    elif target == "WeightSnapshot":
        make = lambda: module(impl, "snapshot").WeightSnapshot(**kwargs)  # noqa: E731
        use = use_snapshot
    elif target == "NpzWriter":
        path = os.path.join(tmp, f"case{index}.npz")
        make = lambda: module(impl, "npzwriter").NpzWriter(path, **kwargs)  # noqa: E731
        use = lambda w: use_writer(w, path)  # noqa: E731
    else:  # a callback
        import fastcallbacks

        make = lambda: getattr(fastcallbacks, target)(  # noqa: E731
            monitor="val_loss", mode="min", **kwargs)
        use = use_monitor_callback
    try:
        obj = make()
    except CLEAN as e:
        return ["raised", type(e).__name__]
    except BaseException as e:
        return ["bad", f"construction raised {type(e).__name__}: {e}"]
    try:
        use(obj)
    except BaseException as e:
        if keras_raises_too(target, kwargs, e):
            return ["raised", type(e).__name__]   # a drop-in raises what Keras raises
        return ["bad", f"using the object raised {type(e).__name__}: {e}"]
    return ["ok"]


def keras_raises_too(target, kwargs, error):
    """True when Keras's own callback, given the arguments Keras has, raises
    the same exception type in the same use (e.g. a `baseline` beyond any
    float: Keras cannot compare with it either)."""
    if target not in ("EarlyStopping", "ReduceLROnPlateau") or not isinstance(error, CLEAN):
        return False
    import inspect

    import keras

    cls = getattr(keras.callbacks, target)
    names = inspect.signature(cls).parameters
    try:
        cb = cls(monitor="val_loss", mode="min", **{k: v for k, v in kwargs.items() if k in names})
        use_monitor_callback(cb)
    except BaseException as e:
        return type(e) is type(error)
    return False


def run_batch(tmp, cases):
    for index, (target, impl, kwargs) in enumerate(cases):
        result = run(target, impl, kwargs, tmp, index)
        print(json.dumps([index] + result), flush=True)


def serve():
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        (size,) = struct.unpack("<I", head)
        tmp, cases = pickle.loads(stdin.read(size))
        run_batch(tmp, cases)
        print("null", flush=True)


def main():
    if sys.argv[1] == "--serve":
        serve()
        return
    run_batch(sys.argv[1], pickle.load(sys.stdin.buffer))


if __name__ == "__main__":
    main()
