"""BackupAndRestore: Keras's callback, plus the state of every other callback."""

import concurrent.futures
import math
import numbers
import os
import shutil
import tempfile
import time
import warnings

import keras
import numpy as np

from . import _backupfiles, _callback_state, _ckptwriter, _forks, _impl, _roles, _weights
from ._backuplist import (_Tail, _assign, _find_callback_list, _members, _seed_variables,
                          _warn_outsiders)
from ._keras_internals import file_utils
from ._weights import host_arrays
from .distributed import _guard
from .distributed import guarded as _distributed_guard


@_distributed_guard
class BackupAndRestore(keras.callbacks.Callback):
    """Callback to back up and restore the training state.

    A drop-in for `keras.callbacks.BackupAndRestore`: the same arguments,
    errors and files in `backup_dir` (`latest.weights.h5`,
    `training_metadata.json`, their `.bkp` copies), and the same resume
    epoch. Beyond Keras, it also backs up the state of the other callbacks
    of the same `fit()` that implement `get_state()` / `set_state(state)`
    (this package's callbacks, Keras's `History`, and any callback of yours
    that defines them; see docs/backup-and-restore.md), the metric
    variables, and whether training was stopping. What is saved for epoch
    k is every callback's state after all of them ran `on_epoch_end(k)`,
    wherever this callback sits in the list. A backup (weights, optimizer
    state, callback states, metadata) is committed as one unit: a kill at
    any moment leaves the previous complete backup or the new one.

    With an integer `save_freq`, a run resumed from a backup taken after
    batch b of epoch e repeats batches 0 to b of epoch e (Keras restarts
    the epoch) and then puts back the state saved after batch b, so the
    rest of the run is the one an uninterrupted run would have done.

    With several processes, only the writer (see `writer`) writes, recovers
    or deletes files in `backup_dir`; every process restores from it at the
    start of `fit()` (a file system shared by all processes is assumed),
    so their callbacks' states stay in lockstep. An error of a backup on
    the writer becomes an agreed failure when `fastcallbacks.AgreeOnStop`
    takes part (see docs/distributed.md).

    Args:
        backup_dir: String, path of directory where to store the data
            needed to restore the model. The directory cannot be reused
            elsewhere to store other files.
        save_freq: `"epoch"`, integer, or `False`. When set to `"epoch"`
            the callback saves the checkpoint at the end of each epoch.
            When set to an integer, the callback saves the checkpoint every
            `save_freq` batches. Defaults to `"epoch"`.
        double_checkpoint: Boolean. If enabled, the 2 last training states
            (current and previous) are kept; if the current one can't be
            loaded, the previous one is restored. Defaults to `False`.
        delete_checkpoint: Boolean. If `True`, the checkpoint is deleted
            after training is finished. Defaults to `True`.
        async_save: (not in Keras) If `True`, training is blocked only
            while the backup is copied to host memory; the files are
            written by a background thread, and its errors are raised at
            the next hook. Defaults to `False`.
        max_overhead: (not in Keras) `None`, or a fraction of training
            time in (0, 1), e.g. `0.035`: the callback measures what a
            backup costs and lengthens the interval between backups (in
            batches for an integer `save_freq`, else in epochs) so that
            backups take at most that share of training time. Defaults to
            `None` (every `save_freq`).
        writer: (not in Keras) Whether this process writes the backup
            files; every process restores from them either way. `None`
            asks the distribution strategy (the chief, process 0 or rank 0
            writes). Keyword-only. Defaults to `None`.
    """

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        double_checkpoint=False,
        delete_checkpoint=True,
        *,
        async_save=False,
        max_overhead=None,
        writer=None,
    ):
        super().__init__()
        self.writer = _roles.check_writer_arg(writer, "BackupAndRestore")
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir = backup_dir
        self._weights_path = file_utils.join(backup_dir, "latest.weights.h5")
        self._training_metadata_path = file_utils.join(backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(
                "Invalid value for argument `save_freq`. "
                f"Received: save_freq={save_freq}. "
                "Expected either 'epoch' or an integer value."
            )
        if max_overhead is not None:
            if isinstance(max_overhead, bool) or not isinstance(max_overhead, numbers.Real):
                raise TypeError(f"`max_overhead` must be None or a number, got {max_overhead!r}")
            if not 0 < max_overhead < 1:
                raise ValueError(f"`max_overhead` must be in (0, 1), got {max_overhead}")
            max_overhead = float(max_overhead)
        self.async_save = bool(async_save)
        self.max_overhead = max_overhead
        self._files = _backupfiles.BackupFiles(os.fspath(backup_dir))
        self._init_runtime()
        if isinstance(save_freq, int):
            # Bound on the instance only: in epoch mode the class keeps
            # Keras's default batch hooks (JAX and torch dispatch batches
            # asynchronously then).
            self.on_train_batch_end = self._count_batch

    def _init_runtime(self):
        self._executor = None
        self._future = None
        self._snapshots = None
        self._layout = None
        self._list = None
        self._tail = None
        self._members = []
        self._restore = None  # (metadata, decoded state) read at on_train_begin
        self._writes = True   # this process writes files (set at on_train_begin)
        self._restored_from = None  # the weights file the restore read
        self._forward = None  # (epoch, batch) to fast-forward to
        self._due = False
        self._generation = 0
        self._epoch = 0
        self._interval = 1
        self._since = 0
        self._cost = None
        self._work = 0.0
        self._units = 0
        self._clock = None
        # Seconds the training thread spent in backups during the last fit
        # (not in Keras).
        self.blocked_seconds = 0.0
        _forks.restart_in_child(self, "_init_runtime")

    def __getstate__(self):
        state = dict(self.__dict__)
        for name in ("_executor", "_future", "_snapshots", "_layout", "_list", "_tail",
                     "_members", "_restore", "on_train_batch_end"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_runtime()
        if isinstance(self.save_freq, int):
            self.on_train_batch_end = self._count_batch

    # -- restoring ---------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._poll()
        self._list = _find_callback_list(self)
        self._writes = _roles.is_writer(self.model, self.writer)
        if self._writes:
            self._files.recover()
            try:
                self._load_model()
            except OSError as e:
                # Weights may be corrupted. Trying to load previous one.
                if not self._files.restore_previous():
                    raise e
                self._files.recover()
                self._load_model()
        else:
            # Read only: the writer recovers and owns the directory.
            try:
                try:
                    self._load_model(self._files.committed_weights())
                except OSError:
                    self._load_model()   # the writer renamed the pending file meanwhile
            except OSError as e:
                if not os.path.exists(self._files.prev_weights):
                    raise e
                self._load_model(self._files.prev_weights, self._files.prev_metadata)
        self._interval = self._base_interval()
        self._since, self._units, self._work, self._cost = 0, 0, 0.0, None
        self.blocked_seconds = 0.0
        self._clock = time.perf_counter()
        tail = _Tail(self)
        if isinstance(self.save_freq, int):
            tail.on_train_batch_end = tail._batch_end
        if self._list is not None:
            # Appended while the list runs on_train_begin: the tail's
            # on_train_begin runs after everyone else's. (A tail left by a
            # fit that raised goes first.)
            self._list.callbacks[:] = [c for c in self._list.callbacks
                                       if not (isinstance(c, _Tail) and c._owner is self)]
            self._members = _members(self._list.callbacks, self)
            self._list.callbacks.append(tail)
            self._tail = tail
        else:
            self._members = []
            self._tail = None
            tail.on_train_begin(logs)

    def _load_model(self, weights=None, metadata=None):
        """Keras's checks and loading, plus the callbacks' state (from
        `weights` and `metadata`; default: the current backup's files)."""
        weights = weights or self._files.weights
        model = self.model
        if not model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, "
                "you model must be built before you call `fit()`. "
                f"Model {model} is unbuilt. You can build it "
                "beforehand by calling it on a batch of data."
            )
        self._restore = None
        self._restored_from = weights
        if os.path.exists(weights):
            if model.optimizer is not None and not model.optimizer.built:
                # Make sure optimizer weights exist before loading.
                model.optimizer.build(model.trainable_variables)
            model.load_weights(weights)
        meta = self._files.read_metadata(metadata)
        if meta is not None:
            model._initial_epoch = meta["epoch"]
            ours = meta.get(_backupfiles.KEY)
            if isinstance(ours, dict):
                self._generation = int(ours.get("generation", 0))
                raw = self._files.read_state(meta)
                state = _callback_state.decode(*raw) if raw is not None else None
                self._restore = (meta, ours, state)

    def _apply_restore(self):
        """Runs after every callback's on_train_begin (the tail's)."""
        if self._list is not None:
            _warn_outsiders(self._list.callbacks, self)
        if self._restore is None:
            return
        meta, ours, state = self._restore
        if state is not None:
            _assign(_seed_variables(self.model), state.get("seeds", []))
            _weights.set_backend_rng_state(state.get("backend_rng"))
            self._set_states(state)
        if ours.get("position") == "batch":
            self._forward = (int(meta["epoch"]), int(meta["batch"]), ours, state)
            if self._tail is not None:
                self._tail.on_train_batch_end = self._tail._batch_end
        elif ours.get("stop_training"):
            # The backed-up run had stopped at that epoch: run no more epochs.
            self.model._initial_epoch = self.params.get("epochs") if self.params else meta["epoch"]

    def _set_states(self, state):
        saved = state.get("callbacks", {})
        # A callback the backup has no state for (new in this run) keeps
        # its fresh state.
        for key, cb in self._members:
            if key in saved:
                cb.set_state(saved[key])

    def _fast_forward(self, batch):
        """At the saved batch of the resumed epoch: the state saved there
        replaces the one the repeated batches made."""
        epoch, saved_batch, ours, state = self._forward
        if self._epoch != epoch or batch < saved_batch:
            return
        self._forward = None
        if batch != saved_batch:
            warnings.warn(f"BackupAndRestore: the backup was taken after batch {saved_batch}, "
                          f"but batch {batch} ended first (steps_per_execution?); the run "
                          "resumes from there, not exactly.", UserWarning, stacklevel=3)
            return
        model = self.model
        path = self._restored_from or self._files.weights
        if not os.path.exists(path):   # a pending file the writer has renamed since
            path = self._files.weights
        model.load_weights(path)
        if state is not None:
            _assign(model.metrics_variables, state.get("metrics", []))
            _assign(_seed_variables(model), state.get("seeds", []))
            _weights.set_backend_rng_state(state.get("backend_rng"))
            self._set_states(state)
        model.stop_training = bool(ours.get("stop_training", False))
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = saved_batch

    # -- saving ------------------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        self._poll()
        self._epoch = epoch
        # Keras counts epochs only at on_epoch_end, so its backups after
        # batches of a resumed run's first epoch say epoch 0; here they say
        # the epoch they were taken in.
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._poll()
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0

    def _count_batch_unguarded(self, batch, logs=None):
        """Keras's batch counting (steps_per_execution included)."""
        self._poll()
        if batch <= self._last_batch_seen:  # a new epoch
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        self._since += add
        self._units += add
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            if self._since >= self._interval:
                self._due = True

    def _after_batch(self, batch):
        if self._forward is not None:
            self._fast_forward(batch)
            self._due = False
            return
        if self._due:
            self._due = False
            self._save("batch", self._current_epoch, self._last_batch_seen)

    def _after_epoch(self, epoch):
        if self._forward is not None:
            warnings.warn(f"BackupAndRestore: epoch {epoch} ended before the batch the backup "
                          f"was taken after ({self._forward[1]}); the run resumes from here, "
                          "not exactly.", UserWarning, stacklevel=3)
            self._forward = None
            return
        if self.save_freq != "epoch":
            return
        self._units += 1
        self._since += 1
        if self._since >= self._interval:
            self._save("epoch", self._current_epoch, self._last_batch_seen)

    def _save(self, position, epoch, batch):
        start = time.perf_counter()
        self._work += start - self._clock
        self.flush()  # one backup in flight at most
        model = self.model
        layout = self._current_layout(model)
        state = {
            "callbacks": {key: cb.get_state() for key, cb in self._members},
            "metrics": [np.array(a) for a in host_arrays(model.metrics_variables)],
            # Seed generators' states (Dropout...): variables, not weights,
            # so not in Keras's weights file.
            "seeds": [np.array(a) for a in host_arrays(_seed_variables(model))],
            "backend_rng": _weights.backend_rng_state(),  # torch's unseeded Dropout
        }
        encoded = _callback_state.encode(state, "BackupAndRestore")
        metadata = {"epoch": epoch, "batch": batch}
        extra = {"position": position, "stop_training": bool(getattr(model, "stop_training", False))}
        self._generation += 1
        gen = self._generation
        if not self._writes:
            # Same decisions and states as the writer (reading the metric
            # variables may be a collective, e.g. MWMS's on-read ones), no
            # file. Keras's saver may run collectives too, so it runs here
            # (into a private directory removed at once).
            if layout is None:
                _keras_writer(model)(None, None)
        elif layout is None:
            self._files.commit(gen, _keras_writer(model), encoded, metadata, extra,
                               self.double_checkpoint)
        elif self.async_save:
            if self._snapshots is None:
                self._snapshots = _impl.snapshot.WeightSnapshot(max_sets=1)
            arrays = self._snapshots.capture(host_arrays(layout.variables))
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="fastcallbacks-backup")
            self._future = self._executor.submit(
                self._files.commit, gen, _h5_writer(layout, arrays), encoded, metadata, extra,
                self.double_checkpoint)
            del arrays
        else:
            arrays = host_arrays(layout.variables)
            self._files.commit(gen, _h5_writer(layout, arrays), encoded, metadata, extra,
                               self.double_checkpoint)
        self._since = 0
        end = time.perf_counter()
        self.blocked_seconds += end - start
        self._adapt(end - start)
        self._clock = end

    def _current_layout(self, model):
        layout = self._layout
        if layout is None or layout.signature != _ckptwriter.signature(model):
            layout = self._layout = _ckptwriter.record_layout(model, False)
        return layout

    def _base_interval(self):
        return 1

    def _adapt(self, cost):
        """CheckFreq's rule: the interval whose backups cost at most
        `max_overhead` of the training time between them."""
        if self.max_overhead is None:
            return
        self._cost = cost if self._cost is None else 0.5 * (self._cost + cost)
        if self._units <= 0 or self._work <= 0:
            return
        per_unit = self._work / self._units
        base = 1 if self.save_freq == "epoch" else max(int(self.save_freq), 1)
        self._interval = max(base, math.ceil(self._cost / (self.max_overhead * per_unit)))

    # -- background --------------------------------------------------------------------

    def flush(self):
        """Blocks until the background backup (if any) has finished, and
        re-raises its error (not in Keras)."""
        future = self._future
        if future is not None:
            concurrent.futures.wait([future])
        self._poll()

    def _poll(self):
        future = self._future
        if future is not None and future.done():
            self._future = None
            error = future.exception()
            if error is not None:
                note = f"(raised by the background backup to {self.backup_dir})"
                if hasattr(error, "add_note"):
                    error.add_note(note)
                else:  # Python 3.10: no add_note; keep the note where 3.11 keeps it
                    error.__notes__ = [*getattr(error, "__notes__", ()), note]
                raise error

    def on_train_end(self, logs=None):
        try:
            self.flush()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            if self._list is not None and self._tail is not None:
                self._list.callbacks[:] = [c for c in self._list.callbacks if c is not self._tail]
            self._list = self._tail = None
            self._members = []
            self._restore = None
            self._forward = None
        if self.delete_checkpoint and self._writes and file_utils.exists(self.backup_dir):
            file_utils.rmtree(self.backup_dir)


def _h5_writer(layout, arrays):
    def write(path, fd):
        _ckptwriter.write_weights_h5(path, layout, arrays, fd=fd)
    return write


def _keras_writer(model):
    def write(path, fd):
        scratch = tempfile.mkdtemp(prefix="fastcallbacks-backup-")
        try:
            name = os.path.join(scratch, "latest.weights.h5")
            model.save_weights(name, overwrite=True)
            if fd is None:   # a non-writer: the save only
                return
            with open(name, "rb") as f, os.fdopen(os.dup(fd), "wb") as out:
                shutil.copyfileobj(f, out, 1 << 20)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return write


# The hooks the tail runs and the instance-bound batch hook are outside the
# class decorator's reach: their errors become agreed failures too.
BackupAndRestore._apply_restore = _guard(BackupAndRestore._apply_restore, "on_train_begin")
BackupAndRestore._after_epoch = _guard(BackupAndRestore._after_epoch, "on_epoch_end")
BackupAndRestore._after_batch = _guard(BackupAndRestore._after_batch, "on_train_batch_end")
BackupAndRestore._count_batch = _guard(BackupAndRestore._count_batch_unguarded,
                                       "on_train_batch_end")
