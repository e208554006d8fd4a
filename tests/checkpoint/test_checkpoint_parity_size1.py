"""ModelCheckpoint with size-1 metric values through a real `fit()`.

`keras.metrics.F1Score` / `FBetaScore` on a one-unit output log arrays of
shape (1,). Keras's ModelCheckpoint warns that the monitored value is not a
scalar and falls back to saving every time; ours must write the same files
(same contents), warn the same, print the same and keep the same `best`, in
`mode="max"` and `mode="auto"`.
"""

import contextlib
import io
import os
import warnings

import keras
import pytest

import fastcallbacks
from ckpt_utils import binary_data, checkpoint_files, classifier, file_content, reusable
from fastcallbacks import checkpoint

CONFIGS = {
    "f1-max-best": ("f1max{epoch}.weights.h5",
                    dict(monitor="val_f1_score", mode="max", save_best_only=True,
                         save_weights_only=True, verbose=1)),
    "f1-auto-best": ("f1auto{epoch}.weights.h5",
                     dict(monitor="val_f1_score", save_best_only=True,
                          save_weights_only=True)),
    "fbeta-auto-best-keras": ("fbeta.keras",
                              dict(monitor="val_fbeta_score", save_best_only=True)),
    "fbeta-max-threshold": ("thr{epoch}.weights.h5",
                            dict(monitor="fbeta_score", mode="max", save_best_only=True,
                                 initial_value_threshold=0.3, save_weights_only=True)),
    "f1-max-every-epoch": ("all{epoch}.weights.h5",
                           dict(monitor="val_f1_score", mode="max", save_weights_only=True)),
}

EPOCHS = 3

_MODEL = []


def _model():
    """One model for Keras's run and ours (same names in the `.keras` file),
    reset before each fit: no new build and trace per fit."""
    if not _MODEL:
        _MODEL.append(reusable(lambda: classifier(metrics=[
            keras.metrics.F1Score(threshold=0.5),
            keras.metrics.FBetaScore(beta=2.0, threshold=0.5)])))
    return _MODEL[0].reset()


def _fit(lib, directory, extra=None):
    x, y = binary_data(64, seed=0)
    xv, yv = binary_data(32, seed=1)
    model = _model()
    cls = keras.callbacks.ModelCheckpoint if lib == "keras" else fastcallbacks.ModelCheckpoint
    callbacks = {name: cls(os.path.join(directory, name, path), **kwargs, **(extra or {}))
                 for name, (path, kwargs) in CONFIGS.items()}
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out):
            model.fit(x, y.reshape(-1, 1), batch_size=16, epochs=EPOCHS, verbose=0,
                      shuffle=False, validation_data=(xv, yv.reshape(-1, 1)),
                      callbacks=list(callbacks.values()))
    warns = sorted({(w.category.__name__, str(w.message).replace(str(directory), "<dir>"))
                    for w in caught if "__array__" not in str(w.message)})
    return callbacks, warns, out.getvalue().replace(str(directory), "<dir>")


_KERAS = {}


@pytest.mark.parametrize("async_save", [False, True], ids=["sync", "async"])
def test_size1_metric_values_like_keras(async_save, tmp_path, tmp_path_factory):
    if not _KERAS:
        d = tmp_path_factory.mktemp("keras-size1")
        _KERAS["run"] = (d, _fit("keras", d))
    kdir, (kcbs, kwarn, kout) = _KERAS["run"]
    ocbs, owarn, oout = _fit("ours", tmp_path, dict(async_save=async_save))
    assert owarn == kwarn
    # Not vacuous: Keras itself converted the (1,) arrays (Keras 3.15 with
    # NumPy 2.4 warns about the scalar value; Keras 3.12 with NumPy < 2.4
    # gets NumPy's deprecation of the conversion).
    assert any("scalar value" in message or "ndim > 0 to a scalar" in message
               for _, message in kwarn), kwarn
    assert oout == kout
    saved = 0
    for name in CONFIGS:
        kcb, ocb = kcbs[name], ocbs[name]
        assert type(ocb.best) is type(kcb.best) and ocb.best == kcb.best, name
        assert ocb.monitor_op is kcb.monitor_op, name
        kfiles, _ = checkpoint_files(os.path.join(kdir, name))
        ofiles, osidecars = checkpoint_files(os.path.join(tmp_path, name))
        assert ofiles == kfiles, (name, ofiles, kfiles)
        saved += len(kfiles)
        assert osidecars == []
        for f in kfiles:
            op = os.path.join(tmp_path, name, f)
            assert checkpoint.verify(op), (name, f)
            assert file_content(op) == file_content(os.path.join(kdir, name, f)), (name, f)
    # Not vacuous: files were saved (Keras 3.12 saves none for the threshold
    # configuration, where later versions save one).
    assert saved > 0

