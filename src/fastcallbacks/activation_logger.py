"""ActivationLogger: saves layer activations on a fixed input sample per epoch."""

import os
import re
import warnings

import keras
import numpy as np

from . import _impl, _roles
from ._logger_resume import ActivationLoggerState
from .distributed import guarded as _distributed_guard

_EPOCH_FIELD = re.compile(r"\{epoch(?::[^}]*)?\}")


def _as_inputs(x):
    """x as a numpy array, or a list / dict of them (multi-input models)."""
    if isinstance(x, dict):
        return {k: np.asarray(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [np.asarray(v) for v in x]
    return np.asarray(x)


def _leaves(x):
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, list):
        return x
    return [x]


_CHUNK = 1024  # samples per forward pass

@_distributed_guard
class ActivationLogger(ActivationLoggerState, keras.callbacks.Callback):
    """Saves the activations of chosen layers on a fixed input, every few epochs.

    Keras 3 gives callbacks no validation data, so the input sample `x` is
    passed in. At the end of every `every_n_epochs`-th epoch the callback runs
    one feature-extraction model (built once, at train begin, from the
    trained model's graph) on `x` and hands the outputs to a streaming
    `fastcallbacks.NpzWriter`: training continues while a native thread
    writes them, and the file can be loaded at any time, even after the
    process is killed.

    Files and member names:

    * `filepath` without `{epoch}`: one file for the whole `fit()` (replaced
      at each `fit()`), with members `"{layer_name}/epoch_{epoch:04d}"`, so
      `np.load(filepath)["dense/epoch_0003"]` is layer `dense` after the
      fourth epoch (epochs count from 0, as in `on_epoch_end`).
    * `filepath` with `{epoch}` (for example
      `"activations_at_epoch_{epoch}.npz"`): one file per logged epoch,
      formatted with the same 0-based epoch, with members `"{layer_name}"`.
    * A layer with several outputs gives one member per output:
      `"{layer_name}/output_{k}/..."`.

    bfloat16 activations (mixed precision) are stored as float32.

    Args:
        filepath: Path of the `.npz` file (str or PathLike), optionally
            with an `{epoch}` format field. As with `np.savez`, `.npz` is
            appended to a path that does not end with it (`"acts_{epoch}"`
            writes `acts_0.npz`, ...; `"acts.h5"` writes `acts.h5.npz`);
            the attribute `filepath` holds the name used.
        x: The input sample: an array, or a list or dict of arrays for
            models with several inputs. Its shape is checked against the
            model's inputs at train begin (`ValueError` on a mismatch).
        layers: Layer names or indices (into `model.layers`) to record;
            keyword-only. Defaults to `None`: every layer that has an
            output (not the Input layers).
        every_n_epochs: Log epochs 0, n, 2n, ...; keyword-only. Defaults to
            `1` (every epoch).
        max_samples: Use only the first `max_samples` samples of `x`;
            keyword-only. Defaults to `None` (all of them).
        compress: Whether to deflate members where it pays (see
            `NpzWriter`); keyword-only. Defaults to `False`.
        writer: (not in Keras) Whether this process writes the file when
            several processes train together. The forward pass runs on
            every process either way (engines that run it as a collective
            need all of them); only the writer writes. `None` asks the
            distribution (the chief, process 0 or rank 0 writes; see
            `docs/distributed.md`), `True` always writes, `False` never.
            Keyword-only. Defaults to `None`.

    Example:

    ```python
    logger = ActivationLogger("acts.npz", x_val[:64], layers=["dense_1"])
    model.fit(x_train, y_train, epochs=5, callbacks=[logger])
    np.load("acts.npz")["dense_1/epoch_0004"].shape   # (64, units)
    ```
    """

    def __init__(self, filepath, x, *, layers=None, every_n_epochs=1, max_samples=None,
                 compress=False, writer=None):
        super().__init__()
        _roles.check_writer_arg(writer, "ActivationLogger")
        try:
            self.filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(
                "ActivationLogger: `filepath` must be a str or os.PathLike, "
                f"got {type(filepath).__name__}") from None
        if isinstance(self.filepath, bytes):
            self.filepath = os.fsdecode(self.filepath)
        if not self.filepath.endswith(".npz"):
            # As np.savez does: "acts" and "acts.h5" write "acts.npz" and
            # "acts.h5.npz" (an npz is a zip, whatever the name says).
            self.filepath += ".npz"
        if x is None:
            raise ValueError(
                "ActivationLogger: `x` (the input sample) is required; Keras 3 "
                "gives callbacks no validation data")
        if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, (int, np.integer)) \
                or every_n_epochs < 1:
            raise ValueError(
                f"ActivationLogger: `every_n_epochs` must be an int >= 1, got {every_n_epochs!r}")
        if max_samples is not None and (
                isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer))
                or max_samples < 1):
            raise ValueError(
                f"ActivationLogger: `max_samples` must be None or an int >= 1, got {max_samples!r}")
        if not isinstance(compress, (bool, np.bool_)):
            raise TypeError(f"ActivationLogger: `compress` must be a bool, got {compress!r}")
        if layers is not None:
            if isinstance(layers, (str, int)):
                layers = [layers]
            layers = list(layers)
            for item in layers:
                if isinstance(item, bool) or not isinstance(item, (str, int, np.integer)):
                    raise TypeError(
                        "ActivationLogger: `layers` must hold layer names or indices, "
                        f"got {item!r}")
        x = _as_inputs(x)
        for leaf in _leaves(x):
            if leaf.dtype.hasobject or leaf.ndim == 0:
                raise ValueError(
                    "ActivationLogger: `x` must be a numeric array (or list/dict of "
                    f"arrays) with a batch axis, got dtype {leaf.dtype} and shape {leaf.shape}")
        if max_samples is not None:
            if isinstance(x, dict):
                x = {k: v[:max_samples] for k, v in x.items()}
            elif isinstance(x, list):
                x = [v[:max_samples] for v in x]
            else:
                x = x[:max_samples]
        self.x = x
        self.layers = layers
        self.every_n_epochs = int(every_n_epochs)
        self.max_samples = max_samples
        self.compress = bool(compress)
        self.writer = writer
        self._writes = True
        self.per_epoch = bool(_EPOCH_FIELD.search(self.filepath))
        self._extractor = None
        self._names = []
        self._writer = None
        self._unopened = False

    # -- setup ---------------------------------------------------------------
    def _selected_layers(self, model):
        all_layers = [layer for layer in model.layers
                      if not isinstance(layer, keras.layers.InputLayer)]
        if self.layers is None:
            return all_layers
        by_name = {layer.name: layer for layer in model.layers}
        chosen = []
        for item in self.layers:
            if isinstance(item, str):
                if item not in by_name:
                    raise ValueError(
                        f"ActivationLogger: no layer named {item!r} in the model; "
                        f"layers are {[layer.name for layer in model.layers]}")
                chosen.append(by_name[item])
            else:
                try:
                    chosen.append(model.layers[int(item)])
                except IndexError:
                    raise ValueError(
                        f"ActivationLogger: layer index {item} is out of range for a "
                        f"model with {len(model.layers)} layers") from None
        return chosen

    def _check_x(self, model):
        inputs = model.inputs
        leaves = _leaves(self.x)
        if len(leaves) != len(inputs):
            raise ValueError(
                f"ActivationLogger: the model has {len(inputs)} input(s) but `x` "
                f"holds {len(leaves)} array(s)")
        n = {leaf.shape[0] for leaf in leaves}
        if len(n) != 1:
            raise ValueError(
                f"ActivationLogger: the arrays of `x` have different sample counts {sorted(n)}")
        pairs = zip(leaves, inputs)
        if isinstance(self.x, dict):
            names = [getattr(t, "name", None) for t in inputs]
            if set(self.x) == set(names):
                pairs = ((self.x[nm], t) for nm, t in zip(names, inputs))
        for leaf, tensor in pairs:
            want = tuple(tensor.shape)
            got = leaf.shape
            if len(got) != len(want) or any(
                    w is not None and w != g for w, g in zip(want[1:], got[1:])):
                raise ValueError(
                    f"ActivationLogger: `x` has shape {got} but the model input "
                    f"{getattr(tensor, 'name', '')!r} expects {want}")

    def _build(self):
        model = self.model
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not inputs:
            raise ValueError(
                "ActivationLogger: the model has no defined inputs (build it with "
                "keras.Input or call it on data before fit)")
        self._check_x(model)
        outputs, names = [], []
        for layer in self._selected_layers(model):
            try:
                out = layer.output
            except (AttributeError, ValueError) as e:
                raise ValueError(
                    f"ActivationLogger: layer {layer.name!r} has no single symbolic output "
                    f"(it may be shared or unused): {e}") from None
            flat = keras.tree.flatten(out)
            if len(flat) == 1:
                outputs.append(flat[0])
                names.append(layer.name)
            else:
                for k, t in enumerate(flat):
                    outputs.append(t)
                    names.append(f"{layer.name}/output_{k}")
        if not outputs:
            raise ValueError("ActivationLogger: no layer to record")
        self._extractor = keras.Model(self._input_structure(inputs), outputs)
        self._names = names

    def _input_structure(self, inputs):
        # The extractor's inputs nested like `x`, so that calling it on `x`
        # matches its structure (Keras warns on a mismatch, e.g. a list of
        # one input called with one array).
        if isinstance(self.x, dict):
            names = [getattr(t, "name", None) for t in inputs]
            if set(self.x) == set(names):
                return dict(zip(names, inputs))
            return list(inputs)
        if isinstance(self.x, (list, tuple)):
            return list(inputs)
        return inputs[0] if len(inputs) == 1 else list(inputs)

    # -- hooks ---------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._close_writer()
        self._build()
        self._writes = _roles.is_writer(self.model, self.writer)
        self._unopened = self._writes and not self.per_epoch
        # The file is opened at the first logged epoch (or at the end), so
        # that a BackupAndRestore resume (set_state) can continue it.

    def _open_single(self):
        self._unopened = False
        self._writer = self._open_continued() or self._new_writer(self.filepath)

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every_n_epochs:
            return
        outputs = self._forward()
        if not self._writes:
            return   # same forward pass as the writer, no file
        if self.per_epoch:
            self._close_writer()   # the previous epoch's file (writes overlapped)
            path = _EPOCH_FIELD.sub(lambda m: m.group(0).format(epoch=epoch), self.filepath)
            self._writer = self._new_writer(path)
        elif self._unopened:
            self._open_single()
        for name, out in zip(self._names, outputs):
            a = np.asarray(out)
            if a.dtype.kind == "V" and a.dtype.names is None:   # bfloat16 and friends
                a = a.astype("float32")
            member = name if self.per_epoch else f"{name}/epoch_{epoch:04d}"
            self._writer.add(member, a)

    def on_train_end(self, logs=None):
        if self._unopened:
            self._open_single()
        self._close_writer()

    # -- internals -----------------------------------------------------------
    def _forward(self):
        """The extractor's outputs on `x`, as a list of numpy arrays.

        `predict_on_batch` in chunks of `_CHUNK` samples: `Model.predict`
        costs ~100 ms per call in data-adapter and callback set-up on top of
        the forward pass, which would block training at every logged epoch.
        """
        leaves = keras.tree.flatten(self.x)
        n = len(leaves[0])
        chunks = []
        for start in range(0, n, _CHUNK):
            part = keras.tree.map_structure(lambda a: a[start:start + _CHUNK], self.x)
            out = self._extractor.predict_on_batch(part)
            chunks.append(list(out) if isinstance(out, (list, tuple)) else [out])
        if len(chunks) == 1:
            return chunks[0]
        return [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]

    def _new_writer(self, path):
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        return _impl.npzwriter.NpzWriter(path, compress=self.compress)

    def _close_writer(self):
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def __del__(self):
        writer = getattr(self, "_writer", None)
        if writer is not None:
            try:
                writer.close()
            except RuntimeError:
                # A child forked while the writer was open: the file is the
                # parent's, which closes it; nothing to do here.
                pass
            except OSError as e:  # pragma: no cover - interpreter teardown
                warnings.warn(f"ActivationLogger: closing {writer.path!r} failed: {e}",
                              RuntimeWarning, stacklevel=1)
