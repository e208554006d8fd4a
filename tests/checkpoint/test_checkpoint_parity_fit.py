"""ModelCheckpoint vs `keras.callbacks.ModelCheckpoint` in real `fit()`.

Each configuration trains the same seeded model twice, once with Keras's
callback and once with ours, and requires: the same set of files, the same
HDF5 tree (groups, attributes, dtypes, bytes) and `.keras` members/config,
the same weights and optimizer state after Keras loads each file, the same
History, the same `best` and batch counters, and no other file (no
sidecar by default: exactly Keras's files), each verifying by structure. The Keras run does not depend on the core implementation, so it is
made once per configuration and reused for both `impl` parameters.
"""

import contextlib
import io
import os
import warnings

import keras
import pytest

import fastcallbacks
from ckpt_utils import (
    binary_data,
    checkpoint_files,
    file_content,
    loaded_state,
    reusable,
    same_state,
)
from fastcallbacks import checkpoint

CONFIGS = {
    "epoch-weights": ("{epoch:02d}.weights.h5", dict(save_weights_only=True), True),
    "epoch-keras-loss-template": ("e{epoch:02d}-{val_loss:.4f}.keras", {}, True),
    "best-keras-val_loss": ("best.keras", dict(save_best_only=True), True),
    "best-max-acc": ("b{epoch}.weights.h5",
                     dict(save_best_only=True, monitor="val_acc", mode="max",
                          save_weights_only=True), True),
    "best-auto-acc-verbose": ("sub/dir/best.weights.h5",
                              dict(save_best_only=True, monitor="val_acc",
                                   save_weights_only=True, verbose=1), True),
    "threshold-min": ("t{epoch}.weights.h5",
                      dict(save_best_only=True, initial_value_threshold=0.885,
                           mode="min", save_weights_only=True), True),
    "batch-freq-3": ("e{epoch}-b{batch}.weights.h5",
                     dict(save_freq=3, save_weights_only=True), True),
    "legacy-h5": ("legacy{epoch}.h5", {}, True),
    "unknown-mode-warns": ("u{epoch}.weights.h5",
                           dict(mode="bogus", monitor="val_loss", save_weights_only=True), True),
    # Without validation data: `val_loss` is missing, Keras warns and saves.
    "batch-freq-5-best-missing-key": (
        "m{epoch}-{batch}.keras", dict(save_freq=5, save_best_only=True, verbose=1), False),
    "best-missing-key-epoch": ("miss.weights.h5",
                               dict(save_best_only=True, save_weights_only=True), False),
}

# A legacy `.h5` model save makes Keras drop the compile config from every
# later `.keras` save of that model (Keras 3.15.1), so it trains alone.
GROUPS = {
    "validation": [n for n, c in CONFIGS.items() if c[2] and n != "legacy-h5"],
    "no-validation": [n for n, c in CONFIGS.items() if not c[2]],
    "legacy": ["legacy-h5"],
}

EPOCHS = 3

# One model per group, reset before each fit (Keras's and ours): no new
# build and trace per fit. Private to its group, the legacy group's too.
_MODELS = {}


def _model(group):
    if group not in _MODELS:
        _MODELS[group] = reusable()
    return _MODELS[group].reset()


def _fit(lib, directory, group, extra=None):
    """One fit with one checkpoint callback per configuration of `group`,
    each writing into its own sub-directory."""
    validation = CONFIGS[GROUPS[group][0]][2]
    x, y = binary_data(64, seed=0)
    xv, yv = binary_data(32, seed=1)
    model = _model(group)
    cls = keras.callbacks.ModelCheckpoint if lib == "keras" else fastcallbacks.ModelCheckpoint
    out = io.StringIO()
    callbacks = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in GROUPS[group]:
            filepath, kwargs, _ = CONFIGS[name]
            kw = dict(kwargs)
            kw.update(extra or {})
            callbacks[name] = cls(os.path.join(directory, name, filepath), **kw)
        with contextlib.redirect_stdout(out):
            history = model.fit(
                x, y, batch_size=16, epochs=EPOCHS, verbose=0, shuffle=False,
                validation_data=(xv, yv) if validation else None,
                callbacks=list(callbacks.values()),
            )
    warns = sorted({(w.category.__name__, str(w.message)) for w in caught
                    if "__array__" not in str(w.message)})
    return callbacks, history.history, warns, out.getvalue().replace(str(directory), "<dir>")


_KERAS_RUNS = {}
_KERAS_LOADED = {}


def _keras_run(group, tmp_path_factory):
    if group not in _KERAS_RUNS:
        d = tmp_path_factory.mktemp(f"keras-{group}")
        _KERAS_RUNS[group] = (d, _fit("keras", d, group))
    return _KERAS_RUNS[group]


def _compare(group, kdir, krun, odir, orun):
    kcbs, khist, kwarn, kout = krun
    ocbs, ohist, owarn, oout = orun
    assert ohist == khist
    assert owarn == kwarn
    assert oout == kout
    for name in GROUPS[group]:
        kcb, ocb = kcbs[name], ocbs[name]
        for attr in ("best", "_batches_seen_since_last_saving", "_last_batch_seen",
                     "_current_epoch", "min_delta", "mode", "monitor", "save_freq",
                     "filepath", "save_best_only", "save_weights_only", "verbose"):
            a, b = getattr(ocb, attr), getattr(kcb, attr)
            if attr == "filepath":
                a, b = os.path.relpath(a, odir), os.path.relpath(b, kdir)
            assert a == b and type(a) is type(b), (name, attr, a, b)
        assert ocb.monitor_op is kcb.monitor_op, name
        kd, od = os.path.join(kdir, name), os.path.join(odir, name)
        kfiles, ksidecars = checkpoint_files(kd)
        ofiles, osidecars = checkpoint_files(od)
        assert ksidecars == []
        assert ofiles == kfiles, (name, ofiles, kfiles)
        assert osidecars == []
        weights_only = CONFIGS[name][1].get("save_weights_only", False)
        for f in kfiles:
            kp, op = os.path.join(kd, f), os.path.join(od, f)
            assert checkpoint.verify(op), (name, f)
            # Same groups, attributes, dtypes and bytes as Keras's file.
            assert file_content(op) == file_content(kp), (name, f)
        # What Keras loads from the last file (the legacy .h5 only this way).
        if kfiles:
            kp, op = os.path.join(kd, kfiles[-1]), os.path.join(od, kfiles[-1])
            if kp not in _KERAS_LOADED:  # Keras's files are the same for sync and async
                _KERAS_LOADED[kp] = loaded_state(kp, weights_only)
            assert same_state(loaded_state(op, weights_only),
                              _KERAS_LOADED[kp]), (name, kfiles[-1])
    written = sum(len(checkpoint_files(os.path.join(kdir, n))[0]) for n in GROUPS[group])
    assert written >= len(GROUPS[group])


@pytest.mark.parametrize("async_save", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_same_files_as_keras(group, async_save, tmp_path, tmp_path_factory):
    kdir, krun = _keras_run(group, tmp_path_factory)
    orun = _fit("ours", tmp_path, group, extra=dict(async_save=async_save))
    _compare(group, kdir, krun, tmp_path, orun)
