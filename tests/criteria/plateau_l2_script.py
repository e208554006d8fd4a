"""A real `fit` in which PlateauSchedule raises a VariableL2 strength at
each plateau and the training loss changes with it; then the model saves
and loads; StopWhen with restored weights. Runs on the backend of
KERAS_BACKEND: imported by the TensorFlow test and by
tests/other_backends.py (JAX, in tests/backends' subprocess)."""

import json
import os
import sys
import tempfile

import keras
import numpy as np

import fastcallbacks
from fastcallbacks.regularizers import VariableL2


class InjectPlateau(keras.callbacks.Callback):
    """Logs a validation loss that never improves after the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = 1.0


def run(directory):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    reg = VariableL2(0.01)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_regularizer=reg)])
    # A learning rate of 0 keeps the weights fixed: the loss then moves only
    # with the regularization strength.
    model.compile(keras.optimizers.SGD(0.0), "mse")
    schedule = fastcallbacks.PlateauSchedule(reg.l2, factor=10.0, patience=2, min_delta=0.0,
                                             max_value=1.0, log_as="l2")
    history = model.fit(x, y, batch_size=16, epochs=7, verbose=0,
                        callbacks=[InjectPlateau(), schedule])
    l2 = history.history["l2"]
    loss = history.history["loss"]
    kernel = np.asarray(model.layers[0].kernel)
    sumsq = float(np.sum(np.square(kernel)))
    mse = float(np.mean(np.square(x @ kernel + np.asarray(model.layers[0].bias) - y)))
    # The strength during epoch e is the one logged at its end.
    np.testing.assert_allclose(l2, [0.01, 0.01, 0.01, 0.1, 0.1, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(loss, mse + np.asarray(l2) * sumsq, rtol=1e-4)
    assert loss[3] > loss[2] and loss[5] > loss[4]
    path = os.path.join(directory, "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    reg2 = loaded.layers[0].kernel_regularizer
    assert isinstance(reg2, VariableL2), type(reg2)
    assert abs(float(np.asarray(reg2.l2)) - 1.0) < 1e-7
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    # StopWhen on the same backend: GL fires at epoch 3 (1.2 / 0.8 - 1 >
    # 40%), and the weights of the best epoch (1) come back.
    from fastcallbacks.criteria import GL, Patience, any_of

    class InjectCurve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [1.0, 0.8, 0.9, 1.2, 1.3][epoch]
            self.weights = getattr(self, "weights", []) + [
                [np.array(w) for w in self.model.get_weights()]]

    model.compile(keras.optimizers.SGD(0.01), "mse")
    inject = InjectCurve()
    stop = fastcallbacks.StopWhen(any_of(GL(40.0), Patience("val_loss", 3)),
                                  restore_best_weights=True)
    model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[inject, stop])
    assert (stop.stopped_epoch, stop.stop_reason, stop.best_epoch) == (3, "GL(alpha=40.0)", 1)
    for got, want in zip(model.get_weights(), inject.weights[1]):
        np.testing.assert_array_equal(got, want)
    return {"backend": keras.backend.backend(), "l2": l2, "loss": loss}


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(run(d)))
    print("PLATEAU L2 OK")
    sys.stdout.flush()
