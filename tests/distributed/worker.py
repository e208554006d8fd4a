"""One of two training processes (JAX `jax.distributed` or TF MWMS).

    python worker.py ENGINE INDEX PORT OUT

Runs every scenario of `test_two_processes.py` in one process launch (the
start-up, not the training, is what costs time), with fastcallbacks's
callbacks writing into OUT/files, and writes OUT/report_INDEX.json. Every
write this process makes under OUT/files is recorded (os.open for writing,
open, os.replace/rename/link/remove/unlink, the NpzWriter constructor), so
the test can check that exactly one process wrote each file.
"""

import builtins
import json
import os
import resource
import signal
import sys
import time
import traceback

ENGINE, INDEX, PORT, OUT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
FILES = os.path.join(OUT, "files")
PRIVATE = os.path.join(OUT, f"private_{INDEX}")
os.makedirs(PRIVATE, exist_ok=True)
T0 = time.time()
REPORT = {"index": INDEX, "engine": ENGINE, "writes": [], "scenarios": {}, "events": []}


def event(text):
    REPORT["events"].append(f"{time.time() - T0:6.1f}s {text}")
    try:   # stdout is a file: under the file-size limit of scenario 3 it fails
        print(f"[{ENGINE} {INDEX}] {time.time() - T0:6.1f}s {text}", flush=True)
    except OSError:
        pass


def dump():
    with open(os.path.join(OUT, f"report_{INDEX}.json"), "w") as f:
        json.dump(REPORT, f, indent=1)


# -- write audit ---------------------------------------------------------------------

def _record(op, path):
    try:
        path = os.fspath(path)
    except TypeError:
        return
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    full = os.path.abspath(path)
    if full.startswith(os.path.abspath(FILES) + os.sep):
        REPORT["writes"].append([op, os.path.relpath(full, FILES)])


def _audit():
    real_open, real_os_open = builtins.open, os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def os_open(path, flags, *args, **kwargs):
        if flags & writing:
            _record("os.open", path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if not isinstance(file, int) and any(c in mode for c in "wax+"):
            _record("open", file)
        return real_open(file, mode, *args, **kwargs)

    os.open, builtins.open = os_open, open_
    for name in ("replace", "rename", "link", "remove", "unlink"):
        real = getattr(os, name)

        def wrapped(*args, _real=real, _name=name, **kwargs):
            for a in args[:2]:
                _record(f"os.{_name}", a)
            return _real(*args, **kwargs)

        setattr(os, name, wrapped)


_audit()

# -- engine set-up ----------------------------------------------------------------------

if ENGINE == "jax":
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    keras.distribution.initialize(job_addresses=f"127.0.0.1:{PORT}", num_processes=2,
                                  process_id=INDEX)
    keras.distribution.set_distribution(keras.distribution.DataParallel(
        devices=keras.distribution.list_devices("cpu"), auto_shard_dataset=False))
    strategy = None
else:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    # PORT and PORT+1 were both found free by the launcher.
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{PORT}", f"127.0.0.1:{PORT + 1}"]},
        "task": {"type": "worker", "index": INDEX}})
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import keras

import numpy as np  # noqa: E402

import fastcallbacks as fc  # noqa: E402
from fastcallbacks import _impl  # noqa: E402

if ENGINE == "tensorflow":
    REPORT["fix_applied"] = fc.distributed.enable_keras_multiworker()
    REPORT["fix_again"] = fc.distributed.enable_keras_multiworker()

_real_npz = _impl.npzwriter.NpzWriter


def _npz(path, *args, **kwargs):
    _record("NpzWriter", path)
    return _real_npz(path, *args, **kwargs)


_impl.npzwriter.NpzWriter = _npz
REPORT["role"] = None

# -- data and model ---------------------------------------------------------------------

rng = np.random.default_rng(0)
W = rng.normal(size=(4, 1)).astype("float32")
X = rng.normal(size=(64, 4)).astype("float32")
Y = X @ W
VX = rng.normal(size=(16, 4)).astype("float32")
VY = -3 * (VX @ W)     # validation gets worse as training fits X: early stop
SAMPLE = VX[:6]


def data():
    """This process's share: JAX is fed per process, MWMS shards itself."""
    if ENGINE == "jax":
        return (X[INDEX::2], Y[INDEX::2]), (VX[INDEX::2], VY[INDEX::2]), 16
    return (X, Y), (VX, VY), 32


def build():
    keras.utils.set_random_seed(1)

    def make():
        inp = keras.Input((4,))
        hidden = keras.layers.Dense(3, activation="relu", name="hidden")(inp)
        model = keras.Model(inp, keras.layers.Dense(1, name="out")(hidden))
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        return model

    if strategy is not None:
        with strategy.scope():
            return make()
    return make()


def weights(model):
    return [np.asarray(w, dtype=np.float64).tolist() for w in model.get_weights()]


class Record(keras.callbacks.Callback):
    """Weights and val_loss every epoch (first in the list)."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def on_epoch_end(self, epoch, logs=None):
        self.log.append({"epoch": epoch, "val_loss": repr(float(logs["val_loss"])),
                         "lr": float(np.asarray(self.model.optimizer.learning_rate)),
                         "weights": weights(self.model)})


class StopHere(keras.callbacks.Callback):
    """A user's callback that stops on one process only."""

    def __init__(self, index, epoch):
        super().__init__()
        self.index, self.epoch = index, epoch

    def on_epoch_end(self, epoch, logs=None):
        if INDEX == self.index and epoch == self.epoch:
            self.model.stop_training = True


def fit(name, callbacks, epochs, save_report=True):
    model = build()
    (x, y), val, batch = data()
    log = []
    result = {"epochs": log}
    t = time.time()
    try:
        history = model.fit(x, y, validation_data=val, epochs=epochs, batch_size=batch,
                            verbose=0, callbacks=[Record(log)] + callbacks)
        result["epochs_run"] = len(history.epoch)
        result["final_weights"] = weights(model)
    except Exception as e:  # noqa: BLE001 - the report carries it to the test
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()[-3000:]
    result["seconds"] = round(time.time() - t, 2)
    REPORT["scenarios"][name] = result
    event(f"{name}: {result.get('epochs_run')} epochs, error {result.get('error', '-')[:200]}")
    if save_report:
        dump()
    return model, result


def main():
    model = build()
    REPORT["role"] = {"count": fc.distributed.process_count(model),
                      "index": fc.distributed.process_index(model),
                      "writer": fc.distributed.is_writer(model)}
    # 1. every callback, one writer, same stop.
    early = fc.EarlyStopping(patience=2, restore_best_weights=True)
    _, result = fit("callbacks", [
        early,
        fc.ReduceLROnPlateau(factor=0.5, patience=1),
        fc.ModelCheckpoint(os.path.join(FILES, "best.keras"), save_best_only=True),
        fc.ModelCheckpoint(os.path.join(FILES, "ep{epoch:02d}.weights.h5"),
                           save_weights_only=True, async_save=True, save_top_k=2),
        fc.ModelCheckpoint(os.path.join(FILES, "every{epoch:02d}.weights.h5"),
                           save_weights_only=True),
        fc.ActivationLogger(os.path.join(FILES, "acts.npz"), SAMPLE),
        fc.BackupAndRestore(os.path.join(FILES, "backup"), delete_checkpoint=False),
        fc.AgreeOnStop(),
    ], epochs=8)
    result["stopped_epoch"] = early.stopped_epoch
    result["best_epoch"] = early.best_epoch
    dump()
    # 2. a stop asked by process 1 alone, agreed by AgreeOnStop.
    fit("one_stops", [fc.EarlyStopping(patience=50, restore_best_weights=True),
                      StopHere(1, 1), fc.AgreeOnStop()], epochs=5)
    # 3. a write failure on the writer only: file-size limit on process 0.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if INDEX == 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG, not a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, hard))
    failing = fc.ModelCheckpoint(os.path.join(FILES, "fail{epoch:02d}.weights.h5"),
                                 save_weights_only=True, async_save=True)
    try:
        fit("write_fails", [failing, fc.AgreeOnStop(timeout=120)], epochs=4,
            save_report=False)
    finally:
        # A guarded hook's error is reported at the epoch's agreement, so
        # the epoch end before it may have started one more save; fit
        # raises with it in flight (no on_train_end after an error, as in
        # Keras). It ends here, still under the limit: else it could
        # succeed once the limit is lifted, after the report is written.
        try:
            failing.flush()
        except Exception as e:  # noqa: BLE001 - the report carries it to the test
            REPORT["write_fails_late_error"] = f"{type(e).__name__}: {e}"
        if INDEX == 0:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    if ENGINE == "jax":
        # jax.distributed stays initialised without a Keras distribution:
        # still two processes, still one writer.
        keras.distribution.set_distribution(None)
        plain = build()
        REPORT["role_without_keras_distribution"] = {
            "count": fc.distributed.process_count(plain),
            "index": fc.distributed.process_index(plain),
            "writer": fc.distributed.is_writer(plain)}
    dump()
    event("done")


try:
    main()
except BaseException as e:  # noqa: BLE001
    REPORT["fatal"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()[-3000:]}"
    dump()
    raise
