"""Regularizers whose strength is a variable (not in Keras).

`VariableL2` reads its strength from a `keras.Variable` at every step, so a
callback (e.g. `fastcallbacks.PlateauSchedule`) can change it during `fit`
without retracing the compiled train step.
"""

from ._backend import import_keras

keras = import_keras()  # one short ImportError when no backend is installed
ops = keras.ops

__all__ = ["VariableL2"]


@keras.saving.register_keras_serializable(package="fastcallbacks")
class VariableL2(keras.layers.Layer, keras.regularizers.Regularizer):
    """An L2 regularizer whose strength is a non-trainable variable.

    The penalty is `l2 * sum(square(x))`, as `keras.regularizers.L2`, with
    `l2` read from the variable `self.l2` at every step. It is a layer too
    (with no inputs): assigned to a layer's `kernel_regularizer`, its
    variable becomes part of the model's non-trainable state, which is what
    lets a change reach a compiled train step on every backend (on JAX the
    train step receives the model's variables as arguments) and what saves
    and loads it with the model's weights.

    Args:
        l2: Initial strength (>= 0). Defaults to `0.01`.
        **kwargs: Layer arguments (e.g. `name`).

    Example:

    >>> reg = fastcallbacks.regularizers.VariableL2(1e-3)
    >>> layer = keras.layers.Dense(8, kernel_regularizer=reg)
    >>> schedule = fastcallbacks.PlateauSchedule(reg.l2, factor=2.0, patience=3,
    ...                                          max_value=1e-1)
    """

    def __init__(self, l2=0.01, **kwargs):
        super().__init__(**kwargs)
        l2 = float(l2)
        if not l2 >= 0:
            raise ValueError(f"`l2` must be >= 0, got {l2}")
        self.l2 = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(l2), trainable=False,
            name="l2", dtype="float32")
        self.built = True

    def __call__(self, x):
        return ops.cast(self.l2, x.dtype) * ops.sum(ops.square(x))

    def get_config(self):
        return {"l2": float(ops.convert_to_numpy(self.l2)), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
