"""`python -m fastcallbacks demo`: a short training run on real data, with pictures.

Trains a small Keras classifier on scikit-learn's bundled handwritten digits
(1797 8x8 images, read from scikit-learn's installed data files: nothing is
downloaded) with fastcallbacks' EarlyStopping, ModelCheckpoint (async),
ReduceLROnPlateau and ActivationLogger plus Keras's own CSVLogger, then
prints a summary (why training stopped, the best epoch, the learning-rate
reductions, the files written and how long the callbacks blocked training)
and draws `training.png` and `activations.png` (`fastcallbacks.plot`).

Epoch numbers in everything printed and drawn count from 1, as Keras's
progress bar does; the files keep Keras's 0-based indices (the `epoch`
column of the CSV, the `epoch_0000` members of the activations).
"""

import json
import os
import sys
import threading
import time

from . import _roles

# Every name the run writes into its output directory.
from ._backend import install_hint as _install_hint
from ._demofiles import ACTIVATIONS, CHECKPOINT, METRICS, SUMMARY  # noqa: F401

MONITOR = "val_loss"
LOGGED_LAYERS = ("hidden_1", "hidden_2", "probs")

# Settings of the default run and of `--quick` (CI). With the default seed
# the default run reduces the learning rate and then stops early.
DEFAULTS = {
    "epochs": 60, "es_patience": 5, "lr_patience": 2, "lr_factor": 0.3,
    "learning_rate": 3e-3, "batch_size": 32, "log_samples": 256,
}
QUICK = {
    "epochs": 5, "es_patience": 2, "lr_patience": 1, "lr_factor": 0.3,
    "learning_rate": 1e-2, "batch_size": 64, "log_samples": 64,
}

_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
    "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
    "on_predict_batch_end",
)


class DemoError(Exception):
    """A problem the user can fix (missing extra, unwritable directory)."""


class HookTimer:
    """Measures the time spent inside callbacks' hooks with `perf_counter`.

    `instrument(callback, label)` wraps, on the instance, only the hooks the
    callback really implements (Keras's no-op defaults, marked
    `_is_default`, are left alone), so `CallbackList` sees the same batch
    hooks and makes the same asynchronous-dispatch decision as without the
    timer, and the callback object itself stays in the list (its attributes,
    `isinstance` checks and behaviour are unchanged). Nested hook calls (a
    hook calling another wrapped hook) are counted once.
    """

    def __init__(self):
        self.seconds = {}
        self.calls = {}
        self.durations = {}   # label -> [(hook name, seconds), ...]
        self._lock = threading.Lock()
        self._local = threading.local()

    def instrument(self, callback, label):
        self.seconds.setdefault(label, 0.0)
        self.calls.setdefault(label, 0)
        self.durations.setdefault(label, [])
        for name in _HOOKS:
            method = getattr(callback, name, None)
            # Keras marks its no-op hooks with `_is_default` (what
            # CallbackList checks to allow asynchronous batch dispatch).
            if method is None or getattr(method, "_is_default", False):
                continue
            setattr(callback, name, self._wrap(method, label, name))
        return callback

    def _wrap(self, method, label, hook):
        local = self._local

        def timed(*args, **kwargs):
            depth = getattr(local, "depth", 0)
            if depth:
                return method(*args, **kwargs)
            local.depth = 1
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                local.depth = 0
                with self._lock:
                    self.seconds[label] += dt
                    self.calls[label] += 1
                    self.durations[label].append((hook, dt))

        return timed

    @property
    def total(self):
        return sum(self.seconds.values())


def check_output_dir(out):
    """Creates `out` if needed and proves that a file can be written in it."""
    out = os.path.abspath(os.fspath(out))
    if os.path.exists(out) and not os.path.isdir(out):
        raise DemoError(f"output directory {out!r} exists and is not a directory")
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, f".fastcallbacks-write-test-{os.getpid()}")
        with open(probe, "wb") as f:
            f.write(b"ok")
        os.remove(probe)
    except OSError as e:
        reason = e.strerror or str(e)
        raise DemoError(f"cannot write to output directory {out!r}: {reason}") from None
    return out


def _digits():
    """(x, y) of scikit-learn's bundled digits: 1797 x 64 pixel values 0..16, labels."""
    import importlib.util

    import numpy as np

    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise DemoError(
            "the demo trains on scikit-learn's bundled digits data set, and "
            f"scikit-learn is not installed: {_install_hint('demo')}")
    # The file load_digits() reads; reading it directly spares importing
    # scikit-learn and SciPy (about a second). Any surprise: ask load_digits.
    for root in spec.submodule_search_locations or ():
        path = os.path.join(root, "datasets", "data", "digits.csv.gz")
        try:
            table = np.loadtxt(path, delimiter=",")
        except (OSError, ValueError):
            continue
        if table.shape == (1797, 65):
            return table[:, :-1], table[:, -1].astype("int64")
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise DemoError(f"scikit-learn cannot be imported ({e}): "
                        f"{_install_hint('demo')}") from None
    digits = load_digits()
    return digits.data, digits.target.astype("int64")


def load_data(seed):
    """scikit-learn's bundled digits, split 75/25 (stratified), scaled to [0, 1]."""
    import numpy as np

    x, y = _digits()
    x = (x / 16.0).astype("float32")
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        val[rng.choice(idx, size=len(idx) // 4, replace=False)] = True
    train_idx = rng.permutation(np.flatnonzero(~val))
    val_idx = rng.permutation(np.flatnonzero(val))
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def build_model(keras, learning_rate):
    model = keras.Sequential(
        [
            keras.Input((64,), name="pixels"),
            keras.layers.Dense(128, activation="relu", name="hidden_1"),
            keras.layers.Dense(64, activation="relu", name="hidden_2"),
            keras.layers.Dense(10, activation="softmax", name="probs"),
        ],
        name="digits_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _ms(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _import_keras(error=None):
    """Imports Keras with TensorFlow's start-up noise hidden. Failing, it
    raises a `DemoError` naming the `demo` extra, or with `error=ImportError`
    the short missing-backend error of `_backend` (else the original)."""
    from . import _backend

    error = error or DemoError
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with _startup_notes_hidden("keras"):
            import keras
    except ImportError as e:
        if error is DemoError:
            raise DemoError(f"Keras or its backend cannot be imported ({e}): "
                            f"{_install_hint('demo')}") from None
        short = _backend.missing_backend_error(e) if isinstance(e, ModuleNotFoundError) else None
        if short is None:
            raise
        raise short from None
    return keras


def _set_random_seed(keras, seed):
    """`keras.utils.set_random_seed`, which seeds TensorFlow too when it is
    installed: on the other backends that imports it, and its start-up
    notes are hidden as in `_import_keras`."""
    with _startup_notes_hidden("tensorflow"):
        keras.utils.set_random_seed(seed)


def _startup_notes_hidden(first_import_of):
    """Hides the native stderr while the block runs if it may import
    `first_import_of` (not imported yet) and TF_CPP_MIN_LOG_LEVEL is 3:
    TensorFlow's C++ start-up notes (oneDNN, absl) ignore that level.
    Python errors are raised, and printed, after stderr is restored."""
    return _native_stderr_hidden(first_import_of not in sys.modules
                                 and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3")


class _native_stderr_hidden:
    def __init__(self, active):
        self.active = active
        self.saved = None

    def __enter__(self):
        if self.active:
            try:
                sys.stderr.flush()
                self.saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            except OSError:
                self.saved = None
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            os.dup2(self.saved, 2)
            os.close(self.saved)
        return False


def run(out="fastcallbacks-demo", epochs=None, quick=False, seed=0, plot=True, stdout=None):
    """Runs the demo; returns a dict of the run's facts (also in summary.json).

    Raises `DemoError` for a problem the user can fix.
    """
    stdout = stdout or sys.stdout
    settings = dict(QUICK if quick else DEFAULTS)
    if epochs is not None:
        settings["epochs"] = int(epochs)
    out = check_output_dir(out)
    x_train, y_train, x_val, y_val = load_data(seed)
    keras = _import_keras()

    import numpy as np

    import fastcallbacks

    def say(*args):
        print(*args, file=stdout, flush=True)

    _set_random_seed(keras, seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    model = build_model(keras, settings["learning_rate"])
    paths = {
        "checkpoint": os.path.join(out, CHECKPOINT),
        "activations": os.path.join(out, ACTIVATIONS),
        "metrics": os.path.join(out, METRICS),
    }
    early = fastcallbacks.EarlyStopping(
        monitor=MONITOR, patience=settings["es_patience"], restore_best_weights=True)
    reduce_lr = fastcallbacks.ReduceLROnPlateau(
        monitor=MONITOR, factor=settings["lr_factor"], patience=settings["lr_patience"],
        min_lr=1e-5)
    checkpoint = fastcallbacks.ModelCheckpoint(
        paths["checkpoint"], monitor=MONITOR, save_best_only=True, async_save=True)
    activations = fastcallbacks.ActivationLogger(
        paths["activations"], x_val, layers=list(LOGGED_LAYERS), every_n_epochs=1,
        max_samples=settings["log_samples"], compress=True)
    # CSVLogger after ReduceLROnPlateau: it writes the `learning_rate` key into
    # the logs, and CSVLogger fixes its columns at the first epoch's end.
    csv_logger = keras.callbacks.CSVLogger(paths["metrics"])
    # Several processes: only the writer writes the CSV, the summary and the
    # plots (the fastcallbacks callbacks gate their own files).
    writes = _roles.is_writer(model)
    callbacks = [early, reduce_lr, checkpoint, activations] + ([csv_logger] if writes else [])
    timer = HookTimer()
    for cb in callbacks:
        timer.instrument(cb, type(cb).__name__)

    say(f"fastcallbacks {fastcallbacks.__version__} ({fastcallbacks.implementation()} core), "
        f"keras {keras.__version__} ({keras.backend.backend()} backend), seed {seed}"
        + (", --quick" if quick else ""))
    say(f"data: scikit-learn digits, 8x8 images of 0-9: {len(x_train)} train / "
        f"{len(x_val)} validation samples")
    say(f"model: 64 -> Dense 128 relu -> Dense 64 relu -> Dense 10 softmax, "
        f"Adam(learning_rate={settings['learning_rate']:g}), batch {settings['batch_size']}, "
        f"at most {settings['epochs']} epochs")
    say(f"callbacks: EarlyStopping({MONITOR}, patience={settings['es_patience']}, "
        f"restore_best_weights), ReduceLROnPlateau({MONITOR}, "
        f"factor={settings['lr_factor']:g}, patience={settings['lr_patience']}), "
        f"ModelCheckpoint(save_best_only, async_save), ActivationLogger("
        f"{', '.join(LOGGED_LAYERS)} on {settings['log_samples']} validation samples, "
        f"every epoch), keras CSVLogger")
    say(f"output: {out}")
    say("")

    t0 = time.perf_counter()
    history = model.fit(
        x_train, y_train,
        validation_data=(x_val, y_val),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        callbacks=callbacks,
        # Keras's progress bar in a terminal; one line per epoch otherwise.
        verbose=1 if getattr(stdout, "isatty", lambda: False)() else 2,
    )
    fit_seconds = time.perf_counter() - t0

    epochs_run = len(history.epoch)
    lrs = [float(v) for v in history.history.get("learning_rate", [])]
    lrs.append(float(np.asarray(keras.ops.convert_to_numpy(model.optimizer.learning_rate))))
    reductions = [
        {"epoch": e + 1, "from": lrs[e], "to": lrs[e + 1]}
        for e in range(len(lrs) - 1) if lrs[e + 1] < lrs[e]
    ]
    best_epoch = int(early.best_epoch) + 1
    best_value = float(early.best)
    val_acc = history.history.get("val_accuracy", [])
    best_acc = float(val_acc[best_epoch - 1]) if len(val_acc) >= best_epoch else None
    if early.stop_reason is not None:
        why = {
            "patience": f"early stop: {MONITOR} did not improve for "
                        f"{settings['es_patience']} epochs (patience)",
        }.get(early.stop_reason, f"early stop ({early.stop_reason})")
        stopped = int(early.stopped_epoch) + 1
    else:
        why = f"reached the maximum number of epochs ({settings['epochs']})"
        stopped = None
    # The restored weights are the best ones: check them on the validation data.
    restored = model.evaluate(x_val, y_val, verbose=0, return_dict=True)

    facts = {
        "monitor": MONITOR,
        "mode": "min",
        "epochs_max": settings["epochs"],
        "epochs_run": epochs_run,
        "stop_reason": early.stop_reason,
        "stopped_epoch": stopped,
        "stop_explanation": why,
        "es_patience": settings["es_patience"],
        "best_epoch": best_epoch,
        "best_value": best_value,
        "best_val_accuracy": best_acc,
        "restored": {k: float(v) for k, v in restored.items()},
        "lr_reductions": reductions,
        "lr_factor": settings["lr_factor"],
        "lr_patience": settings["lr_patience"],
        "learning_rate_initial": lrs[0],
        "learning_rate_final": lrs[-1],
        "logged_layers": list(LOGGED_LAYERS),
        "seed": seed,
        "quick": bool(quick),
        "fit_seconds": fit_seconds,
        "callback_seconds": dict(timer.seconds),
        "callback_calls": dict(timer.calls),
        "epoch_numbering": "1-based, as printed by Keras; files keep 0-based indices",
    }
    if writes:
        with open(os.path.join(out, SUMMARY), "w") as f:
            json.dump(facts, f, indent=2)

    plot_note = None
    if plot and writes:
        from . import plot as plotting

        try:
            plotting.plot_run(out)
        except plotting.MatplotlibMissing as e:
            plot_note = str(e)

    say("")
    say("summary")
    say(f"  epochs run:      {epochs_run} of at most {settings['epochs']}; stopped because: {why}")
    acc = f" (val_accuracy {best_acc:.4f})" if best_acc is not None else ""
    say(f"  best epoch:      {best_epoch}: {MONITOR} {best_value:.4f}{acc}; its weights were "
        f"restored (evaluated again: val_loss {restored['loss']:.4f}, "
        f"val_accuracy {restored['accuracy']:.4f}) and are in {CHECKPOINT}")
    if reductions:
        steps = ", ".join(f"after epoch {r['epoch']}: {r['from']:.3g} -> {r['to']:.3g}"
                          for r in reductions)
        say(f"  LR reductions:   {len(reductions)} ({steps})")
    else:
        say(f"  LR reductions:   none (learning rate stayed {lrs[0]:.3g})")
    say("  files written:")
    for name in sorted(os.listdir(out)):
        full = os.path.join(out, name)
        if os.path.isfile(full):
            say(f"    {_size(os.path.getsize(full)):>10}  {full}")
    blocked = timer.total
    say(f"  time in callbacks: {_ms(blocked)} of {_ms(fit_seconds)} in fit() "
        f"({100 * blocked / fit_seconds:.1f}%; Keras's progress bar and History not counted)")
    for label, seconds in sorted(timer.seconds.items(), key=lambda kv: -kv[1]):
        say(f"    {label:<18} {_ms(seconds):>9}  ({timer.calls[label]} hook calls)")
    if plot_note:
        say(f"  plots: skipped: {plot_note}")
    return facts


def add_arguments(parser):
    parser.add_argument("--out", default="fastcallbacks-demo",
                        help="output directory (created; default: ./fastcallbacks-demo)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"maximum number of epochs (default {DEFAULTS['epochs']}, "
                             f"--quick {QUICK['epochs']})")
    parser.add_argument("--quick", action="store_true",
                        help="a few-second run (fewer epochs, shorter patience), for CI")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plots")


def validate(parser, args):
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    if not 0 <= args.seed < 2**32:
        parser.error(f"--seed must be in [0, 2**32), got {args.seed}")
