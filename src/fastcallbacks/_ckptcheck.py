"""Structural check of a checkpoint that has no checksum sidecar.

`ModelCheckpoint` writes sidecars only with `checksum=True`; without one,
`checkpoint.verify` asks whether the file is a complete checkpoint of its
kind: a `.keras` zip whose members all pass their CRC-32, with
`config.json` and a weights member that reads; an HDF5 file (`.h5`,
`.weights.h5`) that opens and whose every dataset reads in full. A file
cut short or overwritten in its middle fails; a file rewritten with other
valid weights passes (only a sidecar's SHA-256 tells that). Never raises
for what it finds on disk; needs h5py (a Keras dependency) only for HDF5.
"""

import io
import os
import zipfile

from . import _tempfiles

# Suffixes the structural check knows, longest first.
SUFFIXES = (".weights.h5", ".keras", ".h5")


def checkable(name):
    """Whether `name` has a suffix of a checkpoint the check knows."""
    return name.endswith(SUFFIXES)


def _read_h5(source):
    import h5py
    import numpy as np

    def visit(_, obj):
        if isinstance(obj, h5py.Dataset):
            if obj.shape is None:  # an empty dataspace holds nothing to read
                return None
            np.asarray(obj[()])
        for value in obj.attrs.values():  # attributes read too
            np.asarray(value)
        return None

    with h5py.File(source, "r") as f:
        visit("/", f)
        f.visititems(visit)


def _read_keras_zip(f):
    with zipfile.ZipFile(f) as z:
        if z.testzip() is not None:  # reads every member, checks its CRC
            return False
        names = set(z.namelist())
        if "config.json" not in names:
            return False
        weights = [n for n in names if n.startswith("model.weights.")]
        if len(weights) != 1:
            return False
        data = z.read(weights[0])
    if weights[0].endswith(".h5"):
        _read_h5(io.BytesIO(data))
    elif weights[0].endswith(".npz"):
        import numpy as np

        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            for key in arrays.files:
                arrays[key]
    else:
        return False
    return True


def structurally_sound(path):
    """Whether the checkpoint at `path` reads as a complete file of its
    kind (see the module docstring). False for any other suffix, for what
    is not a regular file, and for any error."""
    path = os.fspath(path)
    if not checkable(path):
        return False
    try:
        fd = _tempfiles.open_regular(path, follow=True)
    except OSError:
        return False
    try:
        with open(fd, "rb") as f:
            if path.endswith(".keras"):
                return _read_keras_zip(f)
            _read_h5(f)
            return True
    except Exception:  # a damaged file may fail in any library's way
        return False
