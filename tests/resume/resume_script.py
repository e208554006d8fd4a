"""A real training script with BackupAndRestore, run (and killed) by
tests/resume/test_resume_kill.py.

    python resume_script.py OUTDIR fast|keras SAVE_FREQ ASYNC [KILL]

SAVE_FREQ: "epoch" or an int; ASYNC: 0/1. KILL (optional) says where the
process SIGKILLs itself: "epoch:K" (at the start of on_epoch_end(K), before
the other callbacks), "batch:E:B" (after batch B of epoch E, before the
other callbacks' batch hooks), "raise-epoch:K" / "raise-batch:E:B" (raise
`Interrupted` there instead: the in-process anchor), "commit:N:STEP" (inside the N-th backup
commit, at STEP: weights, state, committed, renamed). On completion it writes
OUTDIR/result.json and OUTDIR/final.npz.
"""

import json
import os
import signal
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402

EPOCHS = 16


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class Interrupted(Exception):
    """What the in-process anchor raises instead of a SIGKILL."""


def interrupt():
    raise Interrupted()


class Killer(keras.callbacks.Callback):
    def __init__(self, spec):
        super().__init__()
        self.die = interrupt if spec[0].startswith("raise-") else die
        kind = spec[0].removeprefix("raise-")
        self.spec = [kind, *map(int, spec[1:])] if kind in ("epoch", "batch") else spec
        self.epoch = 0
        if self.spec[0] == "batch":
            self.on_train_batch_end = self._batch_end

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.spec[0] == "epoch" and epoch == self.spec[1]:
            self.die()

    def _batch_end(self, batch, logs=None):
        if self.epoch == self.spec[1] and batch == self.spec[2]:
            self.die()

    def get_state(self):  # takes part (nothing to restore)
        return {}

    def set_state(self, state):
        pass


class Recorder(keras.callbacks.Callback):
    """Appends each epoch's logs to a file (a resumed run repeats epochs:
    the last line of an epoch is what counts)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "a") as f:
            f.write(json.dumps({"epoch": epoch, **{k: float(v) for k, v in logs.items()}}) + "\n")

    def get_state(self):
        return {}

    def set_state(self, state):
        pass


def main(argv, determinism=True):
    outdir, impl, save_freq, use_async = argv[:4]
    kill = argv[4].split(":") if len(argv) > 4 else None
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    keras.utils.set_random_seed(0)
    if determinism and keras.backend.backend() == "tensorflow":  # the others: CPU is
        import tensorflow as tf  # deterministic

        tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 1))
    x = rng.normal(size=(48, 6)).astype("float32")
    y = (x @ w + rng.normal(scale=0.5, size=(48, 1))).astype("float32")
    xv = rng.normal(size=(16, 6)).astype("float32")
    yv = (xv @ w + rng.normal(scale=0.5, size=(16, 1))).astype("float32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(12, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="out")])
    model.compile(keras.optimizers.SGD(0.2, momentum=0.5), "mse")

    if impl == "fast":
        import fastcallbacks as cbs
        from fastcallbacks import _backupfiles

        if kill and kill[0] == "commit":
            count = [0]
            want, step = int(kill[1]), kill[2]

            def fault(name):
                if name == "weights":
                    count[0] += 1
                if count[0] == want and name == step:
                    die()

            _backupfiles._fault = fault
        extra = [
            cbs.ModelCheckpoint(os.path.join(outdir, "top-{epoch:02d}.weights.h5"),
                                save_weights_only=True, save_top_k=2),
            cbs.ActivationLogger(os.path.join(outdir, "act.npz"), xv[:4], layers=["hidden"]),
        ]
        backup = cbs.BackupAndRestore(os.path.join(outdir, "backup"), save_freq=save_freq,
                                      async_save=use_async == "1")
    else:
        cbs = keras.callbacks
        extra = []
        backup = cbs.BackupAndRestore(os.path.join(outdir, "backup"), save_freq=save_freq)
    callbacks = [
        Killer(kill or ["none"]),
        backup,  # not last: the state saved must still be the end-of-epoch one
        cbs.EarlyStopping(patience=3, restore_best_weights=True),
        cbs.ReduceLROnPlateau(patience=1, factor=0.5),
        cbs.ModelCheckpoint(os.path.join(outdir, "best.weights.h5"), save_best_only=True,
                            save_weights_only=True),
        *extra,
        Recorder(os.path.join(outdir, "epochs.jsonl")),
    ]
    model.fit(x, y, validation_data=(xv, yv), epochs=EPOCHS, batch_size=8, shuffle=False,
              verbose=0, callbacks=callbacks)
    np.savez(os.path.join(outdir, "final.npz"), *model.get_weights())
    with open(os.path.join(outdir, "result.json"), "w") as f:
        json.dump({"stopped_epoch": callbacks[2].stopped_epoch,
                   "best_epoch": callbacks[2].best_epoch}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
