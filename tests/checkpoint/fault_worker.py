"""A background save that hits the file-size limit, run as a subprocess
by test_checkpoint_faults.py (RLIMIT_FSIZE applies to the whole process).

    python fault_worker.py OUT_DIR

Writes a good checkpoint, lowers RLIMIT_FSIZE below the file's size, saves
again asynchronously (to the same file, then to a new one), and reports as
one JSON line: the errors raised at the next hook and at on_train_end, and
the state of the directory after the limit is lifted. test_checkpoint_faults
runs it through kill_worker.py (`scenario`, one Keras import for both).
"""

import json
import os
import resource
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import keras  # noqa: E402

import fastcallbacks  # noqa: E402
from fastcallbacks import checkpoint  # noqa: E402


def fill(model, value):
    model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])


def first_value(path):
    with h5py.File(path, "r") as f:
        return float(f["layers/dense/vars/0"][0, 0])


def scenario(out):
    """The scenario's report (also run by kill_worker.py after its trials)."""
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(512), keras.layers.Dense(256)]
    )
    path = os.path.join(out, "last.weights.h5")
    cb = fastcallbacks.ModelCheckpoint(path, save_weights_only=True, async_save=True)
    cb.set_model(model)
    cb.on_train_begin()
    fill(model, 1.0)
    cb.on_epoch_begin(0)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.flush()
    size = os.path.getsize(path)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    report = {"size": size}
    resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, hard))
    try:
        fill(model, 2.0)
        cb.on_epoch_begin(1)
        cb.on_epoch_end(1, {"val_loss": 1.0})  # returns: written in the background
        while cb._future is not None and not cb._future.done():
            pass
        try:
            cb.on_epoch_begin(2)  # the next hook raises
            report["next_hook"] = None
        except Exception as e:
            report["next_hook"] = [type(e).__name__, getattr(e, "errno", None), str(e)]
        cb2 = fastcallbacks.ModelCheckpoint(os.path.join(out, "other.weights.h5"),
                                            save_weights_only=True, async_save=True)
        cb2.set_model(model)
        cb2.on_epoch_begin(0)
        cb2.on_epoch_end(0, {"val_loss": 1.0})
        try:
            cb2.on_train_end()  # waits for the write, raises its error
            report["train_end"] = None
        except Exception as e:
            report["train_end"] = [type(e).__name__, getattr(e, "errno", None), str(e)]
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    report["files"] = sorted(os.listdir(out))
    report["verifies"] = checkpoint.verify(path)
    report["value"] = first_value(path)
    report["latest_good"] = checkpoint.latest_good(out)
    return report


def main():
    print(json.dumps(scenario(sys.argv[1])), flush=True)


if __name__ == "__main__":
    main()
