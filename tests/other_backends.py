"""Parity smoke check on a non-TensorFlow backend (not collected by pytest).

Run in an environment with keras + jax or torch and fastcallbacks installed:
    KERAS_BACKEND=jax python tests/other_backends.py
    KERAS_BACKEND=torch python tests/other_backends.py
CI has TensorFlow only; this is how JAX and torch were checked.
"""
import numpy as np, keras, fastcallbacks as fc
print("backend", keras.backend.backend(), "impl", fc.implementation())
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
print("ALL OK")
