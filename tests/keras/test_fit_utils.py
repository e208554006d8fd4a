"""`reused_classifier` (tests/fit_utils.py) is as good as a new model: the
parity suites compare runs made on it, so a reset that left anything behind
would make them compare the wrong thing."""

import keras
import numpy as np

from fit_utils import binary_data, classifier, reused_classifier


def _fit(model, callbacks=()):
    x, y = binary_data(64, 0)
    history = model.fit(x, y, validation_data=binary_data(32, 1), epochs=4, batch_size=16,
                        shuffle=False, verbose=0, callbacks=list(callbacks))
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
