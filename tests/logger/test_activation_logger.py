"""ActivationLogger through real `model.fit`, compared with plain `predict`."""

import os
import re

import keras
import numpy as np
import pytest

import fastcallbacks
from fastcallbacks import _impl, npz
from fastcallbacks.__main__ import main as cli_main
from fastcallbacks.activation_logger import ActivationLogger


def _data(n=96, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("f4")
    y = (x[:, 0] - x[:, 1] > 0).astype("f4")
    return x, y


_MODELS = {}


def _reused(make):
    """`make()` in its initial state: built, compiled (and its train step
    traced) once per process, then put back before each use to the
    variables and optimizer state it was made with, as a new model is
    (building and tracing is most of a short fit's time)."""
    if make not in _MODELS:
        model = make()
        model.optimizer.build(model.trainable_variables)
        _MODELS[make] = (model, [np.array(v.numpy()) for v in model.variables],
                         [np.array(v.numpy()) for v in model.optimizer.variables])
    model, values, optimizer = _MODELS[make]
    for v, value in zip(model.variables, values):
        v.assign(value)
    for v, value in zip(model.optimizer.variables, optimizer):
        v.assign(value)
    model.stop_training = False
    return model


def _fit(model, x, y, batch_size=32, **kwargs):
    """`model.fit` on (x, y) in order, as tf.data batches on TensorFlow
    (Keras's array adapter builds a new tf.data iterator every epoch; see
    tests/keras/parity_utils.py `fit_data`)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size),
                         shuffle=False, verbose=0, **kwargs)
    return model.fit(x, y, batch_size=batch_size, shuffle=False, verbose=0, **kwargs)


def _sequential():
    return _reused(_new_sequential)


def _new_sequential(d=8):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((d,)),
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dropout(0.1, name="drop"),
        keras.layers.Dense(1, activation="sigmoid", name="out"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


class _Split(keras.layers.Layer):
    """A layer with two outputs."""

    def call(self, x):
        return x[:, :3], x[:, 3:] * 2.0


def _functional():
    keras.utils.set_random_seed(1)
    a = keras.Input((5,), name="a")
    b = keras.Input((3,), name="b")
    h = keras.layers.Dense(6, activation="tanh", name="h")(keras.layers.Concatenate(name="cat")([a, b]))
    left, right = _Split(name="split")(h)
    out = keras.layers.Dense(1, name="out")(keras.layers.Concatenate(name="join")([left, right]))
    model = keras.Model({"a": a, "b": b}, out)
    model.compile(optimizer="sgd", loss="mse")
    return model


class _Reference(keras.callbacks.Callback):
    """What the classic example computes: predict of the same layers per epoch."""

    def __init__(self, x, layer_names):
        super().__init__()
        self.x, self.layer_names, self.per_epoch = x, layer_names, {}

    def on_train_begin(self, logs=None):
        # One probe for the fit (its predict traced once), not one per
        # epoch: it shares the model's layers, so it computes what a new one would.
        self.probe = keras.Model(self.model.inputs,
                                 [self.model.get_layer(n).output for n in self.layer_names])

    def on_epoch_end(self, epoch, logs=None):
        outs = self.probe.predict(self.x, verbose=0)
        outs = outs if isinstance(outs, list) else [outs]
        self.per_epoch[epoch] = dict(zip(self.layer_names, outs))


@pytest.mark.reference_smoke
def test_sequential_fit_matches_predict_every_epoch(impl, tmp_path):
    x, y = _data()
    model = _sequential()
    path = tmp_path / "acts.npz"
    logger = fastcallbacks.ActivationLogger(path, x[:40])
    ref = _Reference(x[:40], ["hidden", "drop", "out"])
    _fit(model, x, y, 16, epochs=3, callbacks=[logger, ref])
    assert npz.status(path) == "closed"
    with np.load(path) as z:
        assert z.files == [f"{n}/epoch_{e:04d}" for e in range(3) for n in ("hidden", "drop", "out")]
        for e in range(3):
            for n in ("hidden", "drop", "out"):
                np.testing.assert_allclose(z[f"{n}/epoch_{e:04d}"], ref.per_epoch[e][n],
                                           rtol=1e-6, atol=1e-7)
        # Training changed the activations between epochs.
        assert not np.array_equal(z["hidden/epoch_0000"], z["hidden/epoch_0002"])
    # Dropout is inactive in the logged forward pass (inference mode).
    with np.load(path) as z:
        np.testing.assert_array_equal(z["drop/epoch_0002"], z["hidden/epoch_0002"])


@pytest.mark.reference_smoke
def test_functional_multi_input_and_multi_output_layer(impl, tmp_path):
    rng = np.random.default_rng(2)
    xa, xb = rng.standard_normal((64, 5)).astype("f4"), rng.standard_normal((64, 3)).astype("f4")
    y = rng.standard_normal((64, 1)).astype("f4")
    model = _reused(_functional)
    path = tmp_path / "f.npz"
    logger = ActivationLogger(path, {"a": xa, "b": xb}, layers=["h", "split", -1],
                              max_samples=20, every_n_epochs=2)
    _fit(model, {"a": xa, "b": xb}, y, 16, epochs=3, callbacks=[logger])
    probe = keras.Model(model.inputs, [model.get_layer("h").output,
                                       *model.get_layer("split").output,
                                       model.get_layer("out").output])
    want = probe.predict({"a": xa[:20], "b": xb[:20]}, verbose=0)
    with np.load(path) as z:
        assert z.files == [f"{n}/epoch_{e:04d}" for e in (0, 2)
                           for n in ("h", "split/output_0", "split/output_1", "out")]
        for n, w in zip(("h", "split/output_0", "split/output_1", "out"), want):
            np.testing.assert_allclose(z[f"{n}/epoch_0002"], w, rtol=1e-5, atol=1e-6)
            assert z[f"{n}/epoch_0002"].shape[0] == 20


def test_one_file_per_epoch_with_the_classic_naming(impl, tmp_path):
    x, y = _data()
    model = _sequential()
    pattern = str(tmp_path / "out" / "activations_at_epoch_{epoch}.npz")
    logger = ActivationLogger(pattern, x[:10], layers=[0, "out"], compress=True)
    _fit(model, x, y, epochs=2, callbacks=[logger])
    files = sorted(os.listdir(tmp_path / "out"))
    assert files == ["activations_at_epoch_0.npz", "activations_at_epoch_1.npz"]
    final = keras.Model(model.inputs, [model.get_layer("hidden").output,
                                       model.get_layer("out").output]).predict(x[:10], verbose=0)
    with np.load(tmp_path / "out" / files[-1]) as z:
        assert z.files == ["hidden", "out"]
        np.testing.assert_allclose(z["hidden"], final[0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(z["out"], final[1], rtol=1e-6, atol=1e-7)
    for f in files:
        assert npz.status(tmp_path / "out" / f) == "closed"


def test_bfloat16_activations_are_stored_as_float32(impl, tmp_path):
    x, y = _data(32, 4)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(8, dtype="bfloat16", name="bf"),
                              keras.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    logger = ActivationLogger(tmp_path / "bf.npz", x, layers=["bf"])
    _fit(model, x, y, epochs=1, callbacks=[logger])
    want = keras.Model(model.inputs, model.get_layer("bf").output).predict(x, verbose=0)
    with np.load(tmp_path / "bf.npz") as z:
        assert z["bf/epoch_0000"].dtype == np.float32
        np.testing.assert_array_equal(z["bf/epoch_0000"], want.astype("float32"))


def test_npzwriter_rejects_bfloat16_arrays(impl, tmp_path):
    import ml_dtypes

    with _impl.npzwriter.NpzWriter(tmp_path / "b.npz") as w:
        with pytest.raises(TypeError, match="astype"):
            w.add("b", np.zeros(3, dtype=ml_dtypes.bfloat16))


def test_wrong_x_is_a_value_error_before_the_first_epoch(impl, tmp_path):
    x, y = _data()
    seen = []
    spy = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))
    model = _sequential()
    with pytest.raises(ValueError, match=r"ActivationLogger: `x` has shape \(10, 5\)"):
        _fit(model, x, y, epochs=1,
             callbacks=[ActivationLogger(tmp_path / "w.npz", x[:10, :5]), spy])
    assert seen == []
    with pytest.raises(ValueError, match="model has 1 input"):
        _fit(model, x, y, epochs=1,
             callbacks=[ActivationLogger(tmp_path / "w.npz", [x[:4], x[:4]]), spy])
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        _fit(model, x, y, epochs=1,
             callbacks=[ActivationLogger(tmp_path / "w.npz", x[:4], layers=["nope"])])
    with pytest.raises(ValueError, match="out of range"):
        _fit(model, x, y, epochs=1,
             callbacks=[ActivationLogger(tmp_path / "w.npz", x[:4], layers=[17])])
    assert seen == []


def test_constructor_arguments_are_checked(tmp_path):
    x = np.zeros((4, 8), "f4")
    with pytest.raises(ValueError, match="`x` \\(the input sample\\) is required"):
        ActivationLogger(tmp_path / "a.npz", None)
    with pytest.raises(ValueError, match="`every_n_epochs`"):
        ActivationLogger(tmp_path / "a.npz", x, every_n_epochs=0)
    with pytest.raises(ValueError, match="`max_samples`"):
        ActivationLogger(tmp_path / "a.npz", x, max_samples=0)
    with pytest.raises(TypeError, match="`compress`"):
        ActivationLogger(tmp_path / "a.npz", x, compress="yes")
    with pytest.raises(TypeError, match="`filepath`"):
        ActivationLogger(3.0, x)
    with pytest.raises(TypeError, match="`layers`"):
        ActivationLogger(tmp_path / "a.npz", x, layers=[1.5])
    with pytest.raises(ValueError, match="batch axis"):
        ActivationLogger(tmp_path / "a.npz", np.float32(1.0))


def test_epoch_level_only_keeps_async_batch_dispatch():
    # Overriding a batch hook would switch JAX/torch to synchronous dispatch.
    for hook in ("on_batch_end", "on_train_batch_end", "on_train_batch_begin",
                 "on_test_batch_end", "on_predict_batch_end"):
        assert getattr(ActivationLogger, hook) is getattr(keras.callbacks.Callback, hook), hook


def test_inspect_command_prints_a_table(impl, tmp_path, capsys):
    x, y = _data()
    model = _sequential()
    path = tmp_path / "i.npz"
    _fit(model, x, y, epochs=2, callbacks=[ActivationLogger(path, x[:8])])
    assert cli_main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "6 member(s), closed cleanly" in out
    assert re.search(r"^hidden\s+1\s+8x16\s+float32\s+512\s", out, re.M), out
    assert re.search(r"^layer\s+epoch\s+shape\s+dtype\s+bytes\s+mean\s+std\s+zeros$", out, re.M)
    # A cut file is reported as needing recovery (exit code 1).
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert cli_main(["inspect", str(tmp_path / "cut.npz")]) == 1
    out = capsys.readouterr().out
    assert "damaged" in out
    # The members that recover() would keep, with their statistics.
    with np.load(path) as z:
        a = z["hidden/epoch_0000"]
    kept = re.search(r"(\d+) complete member", out)
    assert kept and 1 <= int(kept.group(1)) < 6, out
    assert re.search(rf"^hidden\s+1\s+8x16\s+float32\s+512\s+{float(a.mean()):.4g}\s", out, re.M), out
    # The example subcommand still parses.
    with pytest.raises(SystemExit):
        cli_main(["example", "--epochs", "0"])


def test_more_samples_than_one_forward_chunk(impl, tmp_path):
    """x larger than the logger's forward chunk: the chunks are concatenated
    in order and equal a plain predict of all samples."""
    from fastcallbacks import activation_logger

    n = activation_logger._CHUNK * 2 + 37
    x, y = _data(n=n)
    model = _sequential()
    path = tmp_path / "big.npz"
    logger = fastcallbacks.ActivationLogger(path, x)
    ref = _Reference(x, ["hidden", "out"])
    _fit(model, x[:64], y[:64], 32, epochs=1, callbacks=[logger, ref])
    with np.load(path) as z:
        for name in ("hidden", "out"):
            got = z[f"{name}/epoch_0000"]
            assert got.shape[0] == n
            np.testing.assert_allclose(got, ref.per_epoch[0][name], rtol=1e-6, atol=1e-7)


_FORKED_DEL = r"""
import gc, os, sys
import numpy as np
from fastcallbacks.activation_logger import ActivationLogger

logger = ActivationLogger(sys.argv[1], np.zeros((4, 3), "f4"))
logger._writer = logger._new_writer(sys.argv[1])
pid = os.fork()
if pid == 0:
    del logger
    gc.collect()
    sys.stderr.flush()
    os._exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
logger._close_writer()
print("done")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_collecting_a_logger_in_a_forked_child_is_silent(tmp_path):
    # Closing the parent's writer in a child raises RuntimeError; `__del__`
    # must swallow it instead of printing "Exception ignored ...".
    import importlib.util
    import subprocess
    import sys

    env = {**os.environ, "PYTHONWARNINGS": "default"}
    # The child builds no model and runs no op: Keras's numpy backend (it
    # needs JAX) is enough, and imports in about half the time TensorFlow does.
    if importlib.util.find_spec("jax") is not None:
        env["KERAS_BACKEND"] = "numpy"
    proc = subprocess.run(
        [sys.executable, "-c", _FORKED_DEL, str(tmp_path / "a.npz")],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "Exception ignored" not in proc.stderr, proc.stderr
    assert "RuntimeError" not in proc.stderr, proc.stderr


# -- what is printed and named (issue 17 item 5) -----------------------------------


def test_inspect_counts_epochs_from_1_and_says_so(impl, tmp_path, capsys):
    path = tmp_path / "e.npz"
    with fastcallbacks.NpzWriter(path) as w:
        for epoch in range(3):
            w.add(f"dense/epoch_{epoch:04d}", np.full((2, 3), epoch, "float32"))
    assert cli_main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^dense\s+(\d+)\s+2x3\s+float32\s+24\s+(\S+)", out, re.M)
    assert rows == [("1", "0"), ("2", "1"), ("3", "2")], out
    assert "member epoch_0000 is epoch 1" in out


def test_inspect_says_not_an_npz_file(impl, tmp_path, capsys):
    import zipfile

    (tmp_path / "t.txt").write_text("hello")
    (tmp_path / "w.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"x" * 100)
    for name in ("t.txt", "w.h5", "m.keras"):
        assert cli_main(["inspect", str(tmp_path / name)]) == 1
        out = capsys.readouterr().out
        assert "not an npz file" in out, out
        assert "killed" not in out and "damaged" not in out, out


@pytest.mark.parametrize("given,written", [
    ("acts.h5", ["acts.h5.npz"]),
    ("acts", ["acts.npz"]),
    ("acts_{epoch}", ["acts_0.npz", "acts_1.npz"]),
    ("acts.npz", ["acts.npz"]),
])
def test_npz_is_appended_as_np_savez_does(impl, tmp_path, given, written):
    x, y = _data(32)
    logger = ActivationLogger(str(tmp_path / given), x[:4])
    assert logger.filepath == str(tmp_path / given) + ("" if given.endswith(".npz") else ".npz")
    _fit(_sequential(), x, y, epochs=2, callbacks=[logger])
    assert sorted(os.listdir(tmp_path)) == written
    if "{" not in given:  # np.savez names the file the same way
        ref = tmp_path / "ref"
        ref.mkdir()
        np.savez(str(ref / given), a=np.zeros(1))
        assert os.listdir(ref) == written


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_the_activation_file_gets_the_mode_np_savez_gives(impl, tmp_path):
    # Issue 17 item 2: not the 0600 of the private temporary file.
    import stat

    x, y = _data(32)
    old = os.umask(0o027)
    try:
        logger = ActivationLogger(str(tmp_path / "acts.npz"), x[:4])
        _fit(_sequential(), x, y, epochs=2, callbacks=[logger])
        np.savez(str(tmp_path / "ref.npz"), a=np.zeros(1))
    finally:
        os.umask(old)
    modes = {n: stat.S_IMODE(os.stat(tmp_path / n).st_mode) for n in ("acts.npz", "ref.npz")}
    assert modes == {"acts.npz": 0o640, "ref.npz": 0o640}
