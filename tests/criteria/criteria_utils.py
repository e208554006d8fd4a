"""Helpers shared by the stopping-criteria tests (a module name of its own:
`conftest` is ambiguous when several test folders are collected)."""


class FakeModel:
    """What StopWhen touches of a model in direct hook calls."""

    def __init__(self):
        self.stop_training = False
        self.metrics = []


def keras_early_stopping_epoch(va, patience, min_delta, mode, baseline):
    import keras

    es = keras.callbacks.EarlyStopping("val_loss", min_delta=min_delta, patience=patience,
                                       mode=mode, baseline=baseline)
    model = FakeModel()
    es.set_model(model)
    es.on_train_begin()
    for epoch, v in enumerate(va):
        es.on_epoch_end(epoch, {"val_loss": float(v)})
        if model.stop_training:
            return epoch
    return None
