"""Data and seeded models shared by the suites that train (tests/keras,
tests/checkpoint; `pythonpath = ["tests"]` in pyproject.toml puts this
folder on sys.path).

`reused_classifier` hands out one compiled model per configuration, put back
into its initial state before each use: the same weights, optimizer
variables (step count, learning rate, moments) and `stop_training` as a
freshly built model with the same seed. A `fit()` on it therefore does
exactly what a `fit()` on a new model does (`test_reused_model_fits_like_a_new_one`
checks it bit for bit), without tracing TensorFlow's train and test functions
again: building and tracing is about half of a small `fit()`'s time.
"""

import json

import numpy as np


def binary_data(n=128, seed=0, features=4):
    """A noisy, linearly separable binary problem (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    w = np.linspace(1.0, -1.0, features).astype("float32")
    y = (x @ w + 0.5 * rng.standard_normal(n) > 0).astype("float32")
    return x, y


def classifier(seed=1, optimizer="rmsprop", metrics=("acc",), loss="binary_crossentropy",
               features=4, build=False, clear_session=False, output="sigmoid"):
    """A seeded 4 -> 8 -> 1 classifier; same seed, same initial weights.

    `output=None`: a linear output, whose loss can grow without bound on
    every backend (a sigmoid's binary cross-entropy saturates on torch and
    JAX, where Keras clips the probability instead of using the logits).

    `clear_session=True` gives fresh layer names (dense, dense_1), so that
    files written by two models compare; `build=True` builds the optimizer.
    """
    import keras

    if clear_session:
        keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation=output),
        ]
    )
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    if build:
        model.optimizer.build(model.trainable_variables)
    return model


class _Reusable:
    def __init__(self, model):
        self.model = model
        model.optimizer.build(model.trainable_variables)
        self.weights = [np.array(v.numpy()) for v in model.weights]
        self.optimizer = [np.array(v.numpy()) for v in model.optimizer.variables]

    def reset(self):
        for v, value in zip(self.model.weights, self.weights):
            v.assign(value)
        for v, value in zip(self.model.optimizer.variables, self.optimizer):
            v.assign(value)
        self.model.stop_training = False
        return self.model


_REUSABLE = {}


def _describe(obj):
    import keras

    if isinstance(obj, str):
        return obj
    config = keras.saving.serialize_keras_object(obj)
    if isinstance(obj, keras.optimizers.Optimizer):
        config["config"].pop("name")  # made unique per object (adam, adam_1, ...)
    return json.dumps(config, sort_keys=True, default=str)


def reused_classifier(seed=1, optimizer="rmsprop", metrics=("acc",),
                      loss="binary_crossentropy", features=4, output="sigmoid"):
    """`classifier(...)` in its initial state, reusing an earlier model of the
    same configuration (seed, optimizer and its arguments, metrics, loss).

    `optimizer` is an optimizer name or a fresh optimizer object (only its
    configuration is used when a model is reused). With a learning-rate
    schedule (whose state is not a variable to put back) the model is new.
    """
    import keras

    if not isinstance(optimizer, str) and isinstance(
            optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return classifier(seed=seed, optimizer=optimizer, metrics=metrics, loss=loss,
                          features=features, output=output)
    key = (seed, _describe(optimizer), tuple(_describe(m) for m in metrics), loss, features,
           output)
    if key not in _REUSABLE:
        _REUSABLE[key] = _Reusable(classifier(seed=seed, optimizer=optimizer, metrics=metrics,
                                              loss=loss, features=features, output=output))
    return _REUSABLE[key].reset()
