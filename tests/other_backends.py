"""Parity smoke check on a non-TensorFlow backend (not collected by pytest).

Run in an environment with keras + jax or torch and fastcallbacks installed:
    KERAS_BACKEND=jax python tests/other_backends.py
    KERAS_BACKEND=torch python tests/other_backends.py
CI has TensorFlow only; this is how JAX and torch were checked.
"""
import os, sys, tempfile
import numpy as np, keras, fastcallbacks as fc
print("backend", keras.backend.backend(), "impl", fc.implementation())
# `keras.utils.set_random_seed` imports TensorFlow here when it is installed:
# the demo's and the example's seeding hide its native start-up notes.
if "tensorflow" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
    import fastcallbacks.demo
    with tempfile.TemporaryFile() as native:
        saved = os.dup(2); os.dup2(native.fileno(), 2)
        try:
            fastcallbacks.demo._set_random_seed(keras, 0)
        finally:
            os.dup2(saved, 2); os.close(saved)
        native.seek(0)
        assert native.read() == b"", "native stderr output while seeding"
    print("seeding quiet; tensorflow imported:", "tensorflow" in sys.modules)
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32"); y = (x[:, :1] > 0).astype("float32")
def run(mod, extra=()):
    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    m.compile("rmsprop", "binary_crossentropy", metrics=["acc"])
    cbs = [mod.EarlyStopping(monitor="val_acc", patience=1, restore_best_weights=True), mod.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1), mod.TerminateOnNaN(), *extra]
    h = m.fit(x, y, epochs=15, validation_split=0.25, verbose=0, callbacks=cbs, shuffle=False, batch_size=16)
    return h.history, cbs, m.get_weights()
hk, ck, wk = run(keras.callbacks)
hf, cf, wf = run(fc)
assert hk == hf, (hk, hf)
assert all(np.array_equal(a, b) for a, b in zip(wk, wf))
assert ck[0].stopped_epoch == cf[0].stopped_epoch and ck[0].best_epoch == cf[0].best_epoch
print("parity ok: stopped", cf[0].stopped_epoch, "lr", hf["learning_rate"])
# per-step check on the async path (no batch-hook override from the others)
keras.utils.set_random_seed(1)
m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
m.compile(keras.optimizers.SGD(0.0), "mse")
es = fc.EarlyStopping(monitor="loss", patience=3, check_every_n_steps=2)
h = m.fit(x, y, epochs=5, verbose=0, callbacks=[es], batch_size=8)
print("per-step: stop_reason", es.stop_reason, "epochs", len(h.epoch), "checks", es._checks, "async_safe", es.async_safe)
assert es.stop_reason == "patience" and len(h.epoch) == 1
# schedule scaling
keras.utils.set_random_seed(1)
m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
sched = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1000, decay_rate=0.9)
m.compile(keras.optimizers.SGD(sched), "mse")
rop = fc.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=10.0, schedule_mode="scale")
h = m.fit(x, y, epochs=4, verbose=0, callbacks=[rop], batch_size=64)
print("scaled lr", h.history["learning_rate"])
lr = h.history["learning_rate"]
assert lr[2] < lr[1] * 0.51 and lr[3] < lr[2] * 0.51, lr
# ModelCheckpoint: our writer's files (sync and async, .weights.h5 and
# .keras) load like Keras's own, after the same fit.
import os, tempfile, zipfile
tmp = tempfile.mkdtemp()
def ckpt_model():
    keras.utils.set_random_seed(3)
    # Fixed names: config.json is compared byte for byte.
    m = keras.Sequential([keras.Input((8,), name="in"), keras.layers.Dense(16, activation="relu", name="d1"),
                          keras.layers.Dense(1, name="d2")], name="seq")
    m.compile(keras.optimizers.Adam(0.01, name="adam"), "mse")
    return m
def ckpt_run(mod, name, **kw):
    m = ckpt_model()
    cb = mod.ModelCheckpoint(os.path.join(tmp, name), monitor="val_loss", save_best_only=True, **kw)
    m.fit(x, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[cb], shuffle=False, batch_size=32)
    return m
for suffix, wo in ((".weights.h5", True), (".keras", False)):
    ckpt_run(keras.callbacks, "k" + suffix, save_weights_only=wo)
    for async_save in (False, True):
        ckpt_run(fc, f"f{int(async_save)}" + suffix, save_weights_only=wo, async_save=async_save)
        ours, theirs = os.path.join(tmp, f"f{int(async_save)}" + suffix), os.path.join(tmp, "k" + suffix)
        assert fc.checkpoint.verify(ours), ours
        if wo:
            # Untrained models of the same architecture with the optimizer
            # built (the files hold its variables too): what they hold after
            # loading can only come from the files.
            a, b = ckpt_model(), ckpt_model()
            for fresh in (a, b):
                fresh.optimizer.build(fresh.trainable_variables)
            before = a.get_weights()
            a.load_weights(ours); b.load_weights(theirs)
            assert not all(np.array_equal(u, v) for u, v in zip(before, a.get_weights()))
        else:
            a, b = keras.saving.load_model(ours), keras.saving.load_model(theirs)
            assert a.optimizer.iterations.numpy() == b.optimizer.iterations.numpy()
            with zipfile.ZipFile(ours) as zo, zipfile.ZipFile(theirs) as zt:
                assert zo.read("config.json") == zt.read("config.json")
        assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
        print("checkpoint ok", suffix, "async" if async_save else "sync")
# ActivationLogger: the stored activations equal a plain predict of the layers.
keras.utils.set_random_seed(4)
m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="relu", name="h"), keras.layers.Dense(1, name="o")])
m.compile("sgd", "mse")
path = os.path.join(tmp, "acts.npz")
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    m.fit(x, y, epochs=2, verbose=0, callbacks=[fc.ActivationLogger(path, x[:10])])
# torch warned "The structure of `inputs` doesn't match" at every epoch
# before the extractor's inputs followed the nesting of `x`.
assert not [w for w in caught if "structure" in str(w.message)], [str(w.message) for w in caught]
feat = keras.Model(m.inputs, [m.get_layer("h").output, m.get_layer("o").output])
with np.load(path) as z:
    got = [z["h/epoch_0001"], z["o/epoch_0001"]]
want = feat.predict(x[:10], verbose=0)
assert all(np.allclose(g, w, rtol=1e-6, atol=1e-6) for g, w in zip(got, want)), "activations differ"
print("activation logger ok")
# Host reads of variables (snapshots, checkpoints): exactly `variable.value`,
# also inside a StatelessScope, for the weights and the optimizer state.
from fastcallbacks._weights import host_arrays
variables = list(m.weights) + list(m.optimizer.variables)
value = lambda v: keras.ops.convert_to_numpy(v.value)
same = lambda got: all(a.dtype == value(v).dtype and np.array_equal(a, value(v)) for a, v in zip(got, variables))
assert same(host_arrays(variables)), "host_arrays differs from variable.value"
with keras.StatelessScope(state_mapping=[(v, keras.ops.zeros(v.shape, v.dtype)) for v in m.weights]):
    got = host_arrays(variables)
    assert same(got) and not any(a.any() for a in got[:len(m.weights)]), "StatelessScope ignored"
print("host arrays ok")
# StopWhen, PlateauSchedule and VariableL2 in real fit (tests/criteria/plateau_l2_script.py).
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "criteria"))
import plateau_l2_script
with tempfile.TemporaryDirectory() as d:
    plateau_l2_script.run(d)
print("criteria ok")
print("ALL OK")
