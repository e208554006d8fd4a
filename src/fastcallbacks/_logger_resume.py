"""`get_state`/`set_state` of `fastcallbacks.ActivationLogger`: a resumed
run continues the same `.npz`.

The state is the list of members the file held at the backup (their
writes are committed first). The logger opens its file at the first logged
epoch, not at train begin, so a resume (`set_state`, after every callback's
`on_train_begin`) comes first; the file is then continued with
`NpzWriter(path, mode="a", keep=...)`, keeping the members of the epochs up
to the backup and dropping what a killed run wrote after it (the redone
epochs write those again). Append mode never writes the old file in place:
until the new file (with the kept members, committed) replaces it, a kill
leaves the old file as it was.
"""

import os
import warnings


class ActivationLoggerState:
    """Mixin of `ActivationLogger` (uses `filepath`, `per_epoch`,
    `compress`, `_writer`)."""

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
        """Keeps the members listed in `state` in the file this run
        continues (not in Keras)."""
        if not self.per_epoch:
            self._carried = list(state.get("members", [])) or None

    def _open_continued(self):
        """The writer continuing the file after a resume, or None."""
        from . import _impl

        needed, self._carried = self._carried, None
        if not needed or not os.path.exists(self.filepath):
            return None
        wanted = set(needed)
        writer = _impl.npzwriter.NpzWriter(self.filepath, mode="a", compress=self.compress,
                                           keep=lambda name: name in wanted)
        missing = wanted.difference(writer.members)
        if missing:
            warnings.warn(f"ActivationLogger: {len(missing)} member(s) of the backup were not "
                          f"found in {self.filepath!r}: {sorted(missing)[:3]}", UserWarning,
                          stacklevel=3)
        return writer
