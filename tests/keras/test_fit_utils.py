"""`reused_classifier` (tests/fit_utils.py) is as good as a new model: the
parity suites compare runs made on it, so a reset that left anything behind
would make them compare the wrong thing."""

import keras
import numpy as np

from fit_utils import binary_data, classifier, reused_classifier
from parity_utils import fit_data


def _fit(model, callbacks=()):
    x, y = binary_data(64, 0)
    history = model.fit(epochs=4, verbose=0, callbacks=list(callbacks),
                        **fit_data(x, y, 16, binary_data(32, 1)))
    return (history.history, model.get_weights(),
            [np.array(v.numpy()) for v in model.optimizer.variables])


def _same(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1] + a[2], b[1] + b[2]):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert len(a[1]) == len(b[1]) and len(a[2]) == len(b[2])


def test_reused_model_fits_like_a_new_one():
    def make():
        return dict(seed=4, optimizer=keras.optimizers.Adam(0.05), metrics=("acc",))

    fresh = _fit(classifier(**make()))
    # Leave the reused model changed: trained weights and moments, a reduced
    # learning rate, stop_training set.
    model = reused_classifier(**make())
    _fit(model, [keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0,
                                                   min_delta=10.0, factor=0.5),
                 keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)])
    assert model.stop_training and float(model.optimizer.learning_rate) < 0.05
    again = reused_classifier(**make())
    assert again is model  # reused, not rebuilt
    assert not again.stop_training
    _same(_fit(again), fresh)


def test_fit_data_feeds_like_arrays():
    """`parity_utils.fit_data` (tf.data on TensorFlow) gives the fit the
    arrays give: the same History, weights, optimizer state and batch logs."""
    class Batches(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append((batch, sorted(logs.items())))

        def on_test_batch_end(self, batch, logs=None):
            self.seen.append(("test", batch, sorted(logs.items())))

    x, y = binary_data(64, 0)
    validation = binary_data(32, 1)
    runs = []
    for kwargs in (dict(x=x, y=y, batch_size=16, shuffle=False, validation_data=validation),
                   fit_data(x, y, 16, validation)):
        model = reused_classifier(seed=4, optimizer=keras.optimizers.Adam(0.05))
        batches = Batches()
        history = model.fit(epochs=3, verbose=0, callbacks=[batches], **kwargs)
        runs.append(((history.history, model.get_weights(),
                      [np.array(v.numpy()) for v in model.optimizer.variables]),
                     batches.seen, history.params))
    (a, seen_a, params_a), (b, seen_b, params_b) = runs
    _same(a, b)
    assert seen_a == seen_b and len(seen_a) == 3 * (4 + 2)
    assert params_a == params_b
