"""Helpers of the ModelCheckpoint tests (imported by name: this folder is
on sys.path and has no __init__.py, so that it cannot shadow `keras`)."""

import json
import os
import zipfile

import h5py
import numpy as np

import fit_utils
from fit_utils import binary_data  # noqa: F401 (re-exported)

from fastcallbacks.checkpoint import SIDECAR_SUFFIX


def classifier(seed=1, optimizer="adam", metrics=("acc",), features=4, build=False):
    """A seeded 4 -> 8 -> 1 classifier with fresh layer names (dense,
    dense_1), so that files of two runs compare.

    Keras's global state (the names) is reset without clear_session's
    garbage collection (free_memory=False): a full collection costs about
    0.5 s in the test process and changes no name; tests that need dead
    callbacks collected call gc.collect() themselves."""
    import keras

    keras.backend.clear_session(free_memory=False)
    return fit_utils.classifier(seed=seed, optimizer=optimizer, metrics=metrics,
                                features=features, build=build)


def reusable(factory=classifier, **kwargs):
    """A model made by `factory(**kwargs)` once, whose `reset()` puts it back
    into its initial state (weights, optimizer variables, stop_training):
    fit_utils's `reused_classifier`, but private to its caller, not shared
    through fit_utils's cache, because a legacy `.h5` model save changes that
    model's later `.keras` saves (Keras drops the compile config). Runs
    that compare files must then all use the same model (its layer names
    are in `.keras` configs)."""
    return fit_utils._Reusable(factory(**kwargs))


def checkpoint_files(directory):
    """Relative paths of the files under `directory`, sidecars apart."""
    out = []
    for root, _, files in os.walk(directory):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), directory)
            out.append(rel)
    data = sorted(p for p in out if not p.endswith(SIDECAR_SUFFIX))
    sidecars = sorted(p for p in out if p.endswith(SIDECAR_SUFFIX))
    return data, sidecars


def h5_tree(source):
    """Every group/dataset of an HDF5 file: attributes, dtype, shape, bytes."""
    out = {}
    with h5py.File(source, "r") as f:
        out["/"] = sorted((k, str(v)) for k, v in f.attrs.items())

        def visit(name, obj):
            attrs = sorted((k, str(v)) for k, v in obj.attrs.items())
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                out[name] = ("dataset", attrs, str(obj.dtype), obj.shape,
                             np.asarray(value).tobytes())
            else:
                out[name] = ("group", attrs)

        f.visititems(visit)
    return out


def _drop_ids(obj):
    # `shared_object_id` is an id() of the live object: differs per process.
    if isinstance(obj, dict):
        return {k: _drop_ids(v) for k, v in obj.items() if k != "shared_object_id"}
    if isinstance(obj, list):
        return [_drop_ids(v) for v in obj]
    return obj


def file_content(path):
    """What a checkpoint holds, comparable across writers: the HDF5 tree of
    the weights; for `.keras` also the member names and config."""
    path = str(path)
    if path.endswith(".keras"):
        import io

        with zipfile.ZipFile(path) as zf:
            names = sorted(zf.namelist())
            config = _drop_ids(json.loads(zf.read("config.json")))
            meta = json.loads(zf.read("metadata.json"))
            meta.pop("date_saved", None)
            tree = h5_tree(io.BytesIO(zf.read("model.weights.h5")))
        return {"names": names, "config": config, "meta": meta, "weights": tree}
    return {"weights": h5_tree(path)}


def loaded_state(path, weights_only, make_model=classifier):
    """Weights and optimizer variables after Keras loads `path`."""
    import keras

    if weights_only:
        model = make_model(build=True)
        model.load_weights(path)
    elif str(path).endswith(".h5"):
        # Legacy HDF5 model: Keras itself cannot restore the optimizer from
        # it (it rebuilds a different one), so compare the weights.
        model = keras.saving.load_model(path, compile=False)
        return [np.asarray(w) for w in model.get_weights()], []
    else:
        model = keras.saving.load_model(path)
    opt = [np.asarray(v.numpy()) for v in model.optimizer.variables] if model.optimizer else []
    return [np.asarray(w) for w in model.get_weights()], opt


def same_state(a, b):
    return len(a[0]) == len(b[0]) and len(a[1]) == len(b[1]) and all(
        x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a[0] + a[1], b[0] + b[1])
    )
