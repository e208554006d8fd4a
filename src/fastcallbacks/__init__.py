"""fastcallbacks: exact, fast drop-in replacements for Keras 3 callbacks.

The callbacks are imported lazily, so the compiled core can be used (and
tested) without importing Keras.
"""

from . import _impl

__version__ = "0.1.0"

_CALLBACKS = {
    "EarlyStopping": "early_stopping",
    "ReduceLROnPlateau": "reduce_lr_on_plateau",
    "TerminateOnNaN": "terminate_on_nan",
    "ModelCheckpoint": "model_checkpoint",
    "ActivationLogger": "activation_logger",
    "StopWhen": "stop_when",
    "PlateauSchedule": "plateau_schedule",
    "BackupAndRestore": "backup_and_restore",
    "AgreeOnStop": "distributed",
}

# Submodules loaded on first access (`fastcallbacks.checkpoint.verify`).
_SUBMODULES = ("checkpoint", "criteria", "regularizers", "distributed")

__all__ = ["implementation", "RingMonitor", "BestTracker", "WeightSnapshot",
           "NpzWriter", "npz", "checkpoint", "criteria", "regularizers", "distributed", *_CALLBACKS]


def implementation():
    """Returns `"cython"` when the compiled core is in use, else `"python"`."""
    return _impl.name


def __getattr__(name):
    if name in _CALLBACKS:
        import importlib

        from . import _backend

        _backend.import_keras()  # one short ImportError without a backend
        module = importlib.import_module(f".{_CALLBACKS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        import importlib

        if name == "distributed":   # imports Keras: the same short error
            from . import _backend

            _backend.import_keras()
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name == "RingMonitor":
        return _impl.ring.RingMonitor
    if name == "BestTracker":
        return _impl.tracker.BestTracker
    if name == "WeightSnapshot":
        return _impl.snapshot.WeightSnapshot
    if name == "NpzWriter":
        return _impl.npzwriter.NpzWriter
    if name == "npz":
        import importlib

        return importlib.import_module(".npz", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
