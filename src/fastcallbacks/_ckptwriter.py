"""Writes Keras checkpoint files from host arrays, off the training thread.

Why our own writer and not a shadow model saved by Keras in a thread: a
Keras save runs backend code (it even builds throwaway optimizers, whose
variables are collectives under a distribution strategy), needs a second
copy of the model on the device, and is not thread-safe on TensorFlow in
Keras's sense. Here the *layout* of the file is taken from Keras itself, by
running Keras's own `saving_lib._save_state` once against a recording store
(on the training thread, on every worker, like any Keras save). It gives,
for every dataset, the group path, key, metadata and the variable it comes
from. A save then only needs the variables' values: copied into reused host
buffers (`WeightSnapshot`, the GIL released) and written by h5py and
`os.pwrite` (the GIL released for the bulk bytes) in exactly the groups,
names, attributes and dtypes Keras writes, so `load_weights`/`load_model`
read the files like Keras's own.

Layouts we cannot reproduce exactly (assets, savers that store computed
values, legacy `.h5` models, models that are not built) return None and the
callback falls back to Keras's saver.
"""

import concurrent.futures
import errno
import os
import sys
import zipfile

import numpy as np

from . import _tempfiles
from . import checkpoint

# Datasets at least this large are allocated by HDF5 and filled with
# os.pwrite (the GIL released); smaller ones are written by h5py directly.
RAW_MIN_BYTES = 1 << 16
_PWRITE_CHUNK = 1 << 26
_COPY_CHUNK = 1 << 22


class Unsupported(Exception):
    """The layout cannot be reproduced without Keras's saver."""


def _h5py():
    import h5py

    return h5py


def _saving_lib():
    from . import _keras_internals

    return _keras_internals.saving_lib()


def _optimizer_saver_code():
    from . import _keras_internals

    return _keras_internals.optimizer_saver_code()


class SaveLayout:
    """What one Keras save writes: groups, datasets and their sources.

    `groups`: list of (saveable path, attrs) in creation order; each makes
    `<path>/vars` (or `vars` at the root). `datasets`: list of
    (group index, key, variable index). `variables`: the distinct Keras
    variables the datasets read, in first-use order. `model_weights`:
    indices (into `variables`) of the model's own weights, for the
    non-finite check. `signature`: identities of the model's and
    optimizer's variables when the layout was taken.
    """

    def __init__(self, groups, datasets, variables, model_weights, signature):
        self.groups = groups
        self.datasets = datasets
        self.variables = variables
        self.model_weights = model_weights
        self.signature = signature

    @property
    def nbytes(self):
        return sum(_nbytes(v) for v in self.variables)


def _nbytes(variable):
    n = 1
    for d in variable.shape:
        n *= int(d)
    return n * np.dtype(_np_dtype(variable)).itemsize


def _np_dtype(variable):
    try:
        return np.dtype(variable.dtype)
    except TypeError:
        import ml_dtypes  # noqa: F401 - registers bfloat16 & co.

        return np.dtype(variable.dtype)


def signature(model):
    """Cheap identity of the variable set a layout was recorded for."""
    ids = [id(v) for v in model.variables]
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        ids.extend(id(v) for v in getattr(opt, "variables", ()))
    return tuple(ids)


def _recording_store_class():
    saving_lib = _saving_lib()
    opt_code = _optimizer_saver_code()

    class RecordingStore(saving_lib.H5IOStore):
        """An H5IOStore that writes nothing and records what it is given."""

        def __init__(self):  # noqa: D107 - the base opens a file
            self.mode = "w"
            self.archive = None
            self.io_file = None
            self.path_or_io = None
            self.groups = []
            self.entries = []  # (group index, key, variable)
            self._path = None
            self._group = None
            self._keys = []

        def __bool__(self):
            return True

        def make(self, path, metadata=None):
            self._path = path
            self._group = None
            self._keys = []
            if metadata:
                self._create(path, metadata)
            return self

        def _create(self, path, metadata=None):
            self.groups.append((path, dict(metadata or {})))
            self._group = len(self.groups) - 1

        def __setitem__(self, key, value):
            if self._group is None:
                self._create(self._path)
            variable = _source_variable(value, opt_code)
            self.entries.append((self._group, str(key), variable))
            self._keys.append(str(key))

        def __len__(self):
            return len(self._keys)

        def keys(self):
            return list(self._keys)

        def __contains__(self, item):
            return item in self._keys

        def __getitem__(self, key):
            raise Unsupported("a saver reads back what it stored")

        def __delitem__(self, key):
            raise Unsupported("a saver deletes what it stored")

        def close(self):
            pass

    class RecordingAssets(saving_lib.DiskIOStore):
        def __init__(self):  # noqa: D107 - the base makes a directory
            self.mode = "w"
            self.archive = None
            self.tmp_dir = None

        def make(self, path):
            raise Unsupported("the model saves assets")

        def close(self):
            pass

    return RecordingStore, RecordingAssets


def _source_variable(value, opt_code):
    import keras

    if isinstance(value, keras.Variable):
        return value
    # Keras's optimizer saver stores `variable.numpy()`; the variable is a
    # local of its frame. Any other computed value cannot be re-read later.
    frame = sys._getframe(2)
    if opt_code is not None and frame.f_code is opt_code:
        variable = frame.f_locals.get("variable")
        if isinstance(variable, keras.Variable):
            return variable
    raise Unsupported("a saver stores a computed value")


_CLASSES = None


def record_layout(model, with_assets):
    """The layout Keras's saver would write for `model`, or None.

    Runs Keras's own traversal, so it must run where a Keras save would
    run (the training thread, every worker).
    """
    global _CLASSES
    if not getattr(model, "built", False):
        return None
    if _CLASSES is None:
        _CLASSES = _recording_store_class()
    store_cls, assets_cls = _CLASSES
    store = store_cls()
    assets = assets_cls() if with_assets else None
    try:
        _saving_lib()._save_state(
            model,
            weights_store=store,
            assets_store=assets,
            inner_path="",
            visited_saveables=set(),
        )
    except Unsupported:
        return None
    except Exception:
        # Keras's own saver will raise (or handle) it the Keras way.
        return None
    variables, index, datasets = [], {}, []
    for group, key, variable in store.entries:
        i = index.get(id(variable))
        if i is None:
            i = index[id(variable)] = len(variables)
            variables.append(variable)
        datasets.append((group, key, i))
    model_weights = sorted(
        {index[id(v)] for v in model.weights if id(v) in index}
    )
    return SaveLayout(store.groups, datasets, variables, model_weights, signature(model))


# -- writing -------------------------------------------------------------------


def _raw_ok(a):
    return (
        a.dtype.kind in "iuf"
        and a.dtype.isnative
        and a.nbytes >= RAW_MIN_BYTES
        and a.flags.c_contiguous
    )


def all_finite(arrays):
    """Whether every floating array holds only finite values.

    min/max propagate NaN and show ±inf, without a temporary array; numpy
    releases the GIL for the reductions.
    """
    for a in arrays:
        if a.size == 0 or a.dtype.kind in "biu":
            continue
        if a.dtype.kind == "f":
            if not (np.isfinite(a.min()) and np.isfinite(a.max())):
                return False
        elif a.dtype.kind in "cV":
            try:
                if not np.isfinite(a).all():
                    return False
            except TypeError:
                continue
    return True


def _pwrite(fd, data, offset):
    """os.pwrite where it exists (POSIX); seek + write elsewhere (Windows:
    the descriptor is private to this writer)."""
    pwrite = getattr(os, "pwrite", None)
    if pwrite is not None:
        return pwrite(fd, data, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, data)


def _reserve(fd, nbytes):
    """Allocates `nbytes` to the new file `fd`, so that a full disk or the
    file-size limit fails here, as a plain OSError, and not inside HDF5
    (whose failed writes at close can leave h5py's objects in a state that
    crashes the interpreter). h5py's "w" mode truncates the file again."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(fd, 0, nbytes)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise


def write_weights_h5(path, layout, arrays, digest=False, fd=None):
    """Writes `arrays` (aligned with `layout.variables`) to `path` in the
    `.weights.h5` layout. The file is closed, not yet fsynced.

    `fd`: a descriptor of the new empty file `path` (`checkpoint.create_temp`),
    through which it is written. Without it `path` is created here, never
    over an existing file or symlink.

    With `digest=True`, returns a `concurrent.futures.Future` giving
    `(size, sha256 hex)` of the file or None (then hash the file itself),
    or None when no array is written raw. The digest is taken on a second
    thread from the arrays in memory and HDF5's own bytes between them,
    while the arrays are written and, if the caller fsyncs before calling
    it, while the file is fsynced.
    """
    own = fd is None
    if own:
        fd = os.open(path, _tempfiles._WRITE_FLAGS, 0o666)
    try:
        return _write_weights_h5(path, fd, layout, arrays, digest)
    finally:
        if own:
            os.close(fd)


def _write_weights_h5(path, fd, layout, arrays, digest):
    h5py = _h5py()
    raw = []
    data = sum(np.asarray(arrays[vi]).nbytes for _, _, vi in layout.datasets)
    _reserve(fd, data + 8192 * (len(layout.groups) + len(layout.datasets)) + (1 << 20))
    # HDF5 opens by name: a name that reaches `fd`'s file, whatever is at
    # `path` by then.
    with h5py.File(_tempfiles.fd_path(fd, path), "w") as f:
        groups = []
        for gpath, attrs in layout.groups:
            g = f.create_group(gpath).create_group("vars") if gpath else f.create_group("vars")
            for k, v in attrs.items():
                g.attrs[k] = v
            groups.append(g)
        for gi, key, vi in layout.datasets:
            a = np.asarray(arrays[vi])
            g = groups[gi]
            if _raw_ok(a):
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
                dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
                ds = g.create_dataset(key, shape=a.shape, dtype=a.dtype, dcpl=dcpl)
                offset = ds.id.get_offset()
                if offset is None:  # pragma: no cover - not allocated
                    ds[...] = a
                else:
                    raw.append((offset, a))
            elif a.dtype.name == "bfloat16":
                ds = g.create_dataset(key, data=a)
                ds.attrs["dtype"] = "bfloat16"
            else:
                g[key] = a
    pending = (checkpoint._in_background(checkpoint._file_digest_with, path, raw)
               if digest and raw else None)
    if raw:
        try:
            for offset, a in raw:
                view = memoryview(a).cast("B")
                done = 0
                while done < len(view):
                    done += _pwrite(fd, view[done : done + _PWRITE_CHUNK], offset + done)
        except BaseException:
            if pending is not None:
                concurrent.futures.wait([pending])  # it reads the file: done before it goes
            raise
    return pending


def write_keras(path, layout, arrays, config_json, metadata_json, fd=None):
    """Writes a `.keras` archive: metadata.json, config.json and
    model.weights.h5, stored uncompressed as Keras stores them.

    `fd`: a descriptor of the new empty file `path`, through which it is
    written. Without it `path` is created here, never over an existing
    file or symlink. The weights go through a temporary file of their own.
    """
    own = fd is None
    if own:
        fd = os.open(path, _tempfiles._WRITE_FLAGS, 0o666)
    try:
        _write_keras(fd, path, layout, arrays, config_json, metadata_json)
    finally:
        if own:
            os.close(fd)


def _write_keras(fd, path, layout, arrays, config_json, metadata_json):
    h5tmp, h5fd = checkpoint.create_temp(path, ".weights.h5")
    try:
        write_weights_h5(h5tmp, layout, arrays, fd=h5fd)
        size = os.fstat(h5fd).st_size
        os.lseek(h5fd, 0, os.SEEK_SET)
        with open(fd, "wb", closefd=False) as out, zipfile.ZipFile(out, "w") as zf:
            zf.writestr("metadata.json", metadata_json)
            zf.writestr("config.json", config_json)
            # Copied in large chunks: zlib.crc32 and the file I/O release
            # the GIL (ZipFile.write would loop over 8 KiB pieces).
            buf = bytearray(_COPY_CHUNK)
            view = memoryview(buf)
            with open(h5fd, "rb", buffering=0, closefd=False) as src, zf.open(
                "model.weights.h5", "w", force_zip64=size > zipfile.ZIP64_LIMIT
            ) as dst:
                while True:
                    n = src.readinto(buf)
                    if not n:
                        break
                    dst.write(view[:n])
    finally:
        os.close(h5fd)
        checkpoint._remove_quietly(h5tmp)


def config_json(model):
    """(config_json, metadata_json) exactly as Keras's `.keras` saver makes
    them (the training thread: it reads the model's configuration)."""
    return _saving_lib()._serialize_model_as_json(model)
