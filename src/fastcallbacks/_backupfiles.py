"""The files of `fastcallbacks.BackupAndRestore` and their atomic commit.

`backup_dir` holds Keras's two files, `latest.weights.h5` and
`training_metadata.json` (with `.bkp` copies under `double_checkpoint`),
plus `fastcallbacks_state.<generation>.npz`: the callbacks' states and the
metric variables. A backup is committed as one unit, in this order:

1. the new weights go to `.fastcallbacks-next-<generation>.weights.h5`,
   the new state to its own generation's name (both through temporary
   files, fsynced);
2. `training_metadata.json` is replaced atomically: it names the
   generation, its state file and the pending weights file. This is the
   commit point;
3. the pending weights file replaces `latest.weights.h5`; older states
   are deleted.

Before a backup is read, `recover` finishes a step 3 that a kill
interrupted (the pending file named by the committed metadata) and deletes
what an uncommitted backup left. A kill at any moment therefore leaves the
previous complete backup or the new one. This module needs no Keras.
"""

import io
import json
import os
import re

import numpy as np

from . import checkpoint

WEIGHTS = "latest.weights.h5"
METADATA = "training_metadata.json"
_STATE = "fastcallbacks_state.{}.npz"
_PENDING = ".fastcallbacks-next-{}.weights.h5"
_OURS = re.compile(r"^(?:fastcallbacks_state\.(\d+)\.npz|\.fastcallbacks-next-(\d+)\.weights\.h5)$")
KEY = "fastcallbacks"
_METADATA_MAX = 1 << 20
# Tests set this to a callable taking the name of each commit step
# ("weights", "state", "committed", "renamed") to kill the process there.
_fault = None


def _step(name):
    if _fault is not None:
        _fault(name)


class BackupFiles:
    """Paths and commit protocol of one backup directory."""

    def __init__(self, backup_dir):
        self.dir = os.fspath(backup_dir)
        self.weights = os.path.join(self.dir, WEIGHTS)
        self.metadata = os.path.join(self.dir, METADATA)
        self.prev_weights = self.weights + ".bkp"
        self.prev_metadata = self.metadata + ".bkp"

    def path(self, name):
        return os.path.join(self.dir, name)

    # -- reading -----------------------------------------------------------------

    def read_metadata(self, path=None):
        """The metadata dict at `path` (default: the current one), or None."""
        path = path or self.metadata
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return json.loads(f.read(_METADATA_MAX).decode("utf-8"))

    def committed_weights(self):
        """The weights file of the committed backup, read only: the pending
        file its metadata names while a writer has not renamed it yet (what
        `recover` would do), else `latest.weights.h5`."""
        try:
            meta = self.read_metadata()
        except (OSError, ValueError):
            return self.weights
        ours = meta.get(KEY) if isinstance(meta, dict) else None
        pending = ours.get("pending") if isinstance(ours, dict) else None
        if pending and os.path.exists(self.path(pending)):
            return self.path(pending)
        return self.weights

    def recover(self):
        """Finishes an interrupted commit and removes uncommitted files."""
        if not os.path.isdir(self.dir):
            return
        keep = set()
        for path in (self.metadata, self.prev_metadata):
            try:
                meta = self.read_metadata(path)
            except (OSError, ValueError):
                continue
            ours = (meta or {}).get(KEY) if isinstance(meta, dict) else None
            if not isinstance(ours, dict):
                continue
            keep.add(ours.get("state"))
            pending = ours.get("pending")
            if path == self.metadata and pending and os.path.exists(self.path(pending)):
                os.replace(self.path(pending), self.weights)
                checkpoint.fsync_dir(self.dir)
        for name in os.listdir(self.dir):
            if _OURS.match(name) and name not in keep:
                checkpoint._remove_quietly(self.path(name))
        checkpoint.remove_stale_temps(self.dir)

    def read_state(self, meta):
        """(JSON text, arrays) of the state `meta` names, or None."""
        ours = meta.get(KEY) if isinstance(meta, dict) else None
        if not isinstance(ours, dict) or not ours.get("state"):
            return None
        with np.load(self.path(ours["state"]), allow_pickle=False) as z:
            text = bytes(z["__json__"]).decode("utf-8")
            count = int(z["__count__"])
            arrays = [z[f"a{i}"] for i in range(count)]
        return text, arrays

    # -- writing -----------------------------------------------------------------

    def commit(self, generation, write_weights, state, metadata, extra, double_checkpoint):
        """Writes one backup as a unit.

        `write_weights(path, fd)` writes the weights file (given an open
        descriptor and a name that reaches it); `state` is `(text, arrays)`;
        `metadata` Keras's dict (`epoch`, `batch`); `extra` goes into its
        `"fastcallbacks"` entry.
        """
        os.makedirs(self.dir, exist_ok=True)
        pending = _PENDING.format(generation)
        state_name = _STATE.format(generation)
        # Step 1: the new weights and state, complete on disk.
        tmp, fd = checkpoint.create_temp(self.weights, ".weights.h5")
        try:
            try:
                write_weights(tmp, fd)
            finally:
                os.close(fd)
            checkpoint.fsync_path(tmp)
            os.replace(tmp, self.path(pending))
        except BaseException:
            checkpoint._remove_quietly(tmp)
            raise
        _step("weights")
        self._write_state(state_name, state)
        checkpoint.fsync_dir(self.dir)
        _step("state")
        if double_checkpoint:
            # Keras's copies of the previous backup (each atomic).
            for src, dst in ((self.weights, self.prev_weights), (self.metadata, self.prev_metadata)):
                if os.path.exists(src):
                    self._copy_atomic(src, dst)
        # Step 2: the commit point.
        meta = dict(metadata)
        meta[KEY] = {"format": 1, "generation": generation, "state": state_name,
                     "pending": pending, **extra}
        checkpoint._write_atomic(self.metadata, json.dumps(meta).encode("utf-8"))
        checkpoint.fsync_dir(self.dir)
        _step("committed")
        # Step 3: the weights under Keras's name, then the old states go.
        os.replace(self.path(pending), self.weights)
        checkpoint.fsync_dir(self.dir)
        _step("renamed")
        keep = {state_name}
        if double_checkpoint:
            try:
                prev = (self.read_metadata(self.prev_metadata) or {}).get(KEY) or {}
                keep.add(prev.get("state"))
            except (OSError, ValueError):
                pass
        for name in os.listdir(self.dir):
            m = _OURS.match(name)
            if m and m.group(1) is not None and name not in keep:
                checkpoint._remove_quietly(self.path(name))

    def _write_state(self, name, state):
        text, arrays = state
        members = {"__json__": np.frombuffer(text.encode("utf-8"), dtype=np.uint8),
                   "__count__": np.asarray(len(arrays), dtype=np.int64)}
        for i, a in enumerate(arrays):
            members[f"a{i}"] = a
        buf = io.BytesIO()
        np.savez(buf, **members)
        target = self.path(name)
        tmp, fd = checkpoint.create_temp(target, ".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getbuffer())
            checkpoint.fsync_path(tmp)
            os.replace(tmp, target)
        except BaseException:
            checkpoint._remove_quietly(tmp)
            raise

    def _copy_atomic(self, src, dst):
        tmp, fd = checkpoint.create_temp(dst)
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
            checkpoint.fsync_path(tmp)
            os.replace(tmp, dst)
        except BaseException:
            checkpoint._remove_quietly(tmp)
            raise

    def restore_previous(self):
        """Keras's fallback after a failed load: the `.bkp` copies become
        the current backup. False if there is no previous weights file."""
        if not os.path.exists(self.prev_weights):
            return False
        self._copy_atomic(self.prev_weights, self.weights)
        if os.path.exists(self.prev_metadata):
            self._copy_atomic(self.prev_metadata, self.metadata)
        elif os.path.exists(self.metadata):
            os.remove(self.metadata)
        return True

