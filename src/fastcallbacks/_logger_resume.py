"""`get_state`/`set_state` of `fastcallbacks.ActivationLogger`: a resumed
run continues the same `.npz`.

The state is the list of members the file held at the backup (their
writes are committed first). On a resume the file is moved aside (a hidden
`.<name>.fcresume` next to it) and, when the logger opens its writer, those
members are copied into the new file, committed, and the aside copy is
deleted; members of epochs redone after the backup are written again by the
redone epochs. A kill during this keeps the aside copy (and the new file's
members are merged into it at the next resume), so no member of an epoch up
to the backup is lost.
"""

import os
import warnings

import numpy as np

from . import npz as _npz
from . import checkpoint as _checkpoint


def aside_path(path):
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.fcresume")


def _read(path, names):
    """{name: array} of the members of `names` the file at `path` holds
    intact (a killed writer's file included)."""
    out = {}
    if not os.path.exists(path):
        return out
    try:
        z = _npz.load(path)
    except Exception:
        _npz.recover(path)
        z = _npz.load(path)
    with z:
        present = set(z.keys())
        for name in names:
            if name in present:
                out[name] = np.array(z[name])
    return out


class ActivationLoggerState:
    """Mixin of `ActivationLogger` (uses `filepath`, `per_epoch`, `_writer`)."""

    _carried = None

    def get_state(self):
        """The members written so far (not in Keras)."""
        writer = self._writer
        if writer is not None:
            writer.commit()
        if self.per_epoch:
            return {"members": []}  # one complete file per epoch
        if writer is not None:
            return {"members": list(writer.members)}
        return {"members": list(self._carried or [])}

    def set_state(self, state):
        """Keeps the members listed in `state` for the file this run
        writes (not in Keras)."""
        needed = list(state.get("members", []))
        if self.per_epoch or not needed:
            return
        main, aside = self.filepath, aside_path(self.filepath)
        if os.path.exists(aside):
            if os.path.exists(main):
                # An earlier resume was killed: its new file may hold
                # members the aside copy lacks.
                data = _read(aside, needed)
                data.update(_read(main, [n for n in needed if n not in data]))
                tmp, fd = _checkpoint.create_temp(aside, ".npz")
                try:
                    with os.fdopen(fd, "wb") as f:
                        np.savez(f, **data)
                    _checkpoint.fsync_path(tmp)
                    os.replace(tmp, aside)
                except BaseException:
                    _checkpoint._remove_quietly(tmp)
                    raise
                os.remove(main)
        elif os.path.exists(main):
            os.replace(main, aside)
        self._carried = needed

    def _carry_over(self):
        """Copies the carried members into the newly opened writer."""
        needed, self._carried = self._carried, None
        if not needed:
            return
        aside = aside_path(self.filepath)
        data = _read(aside, needed)
        missing = [n for n in needed if n not in data]
        if missing:
            warnings.warn(f"ActivationLogger: {len(missing)} member(s) of the backup were not "
                          f"found in {aside!r}: {missing[:3]}", UserWarning, stacklevel=3)
        for name in needed:
            if name in data:
                self._writer.add(name, data[name])
        self._writer.commit()
        _checkpoint._remove_quietly(aside)
