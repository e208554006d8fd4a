"""ModelCheckpoint: save the model or its weights during training."""

import concurrent.futures
import os
import shutil
import string
import tempfile
import threading
import warnings

import numpy as np

from . import _ckptwriter, _compat, _forks, _impl, _retention, _roles, _tempfiles
from . import checkpoint
from . import _keras_internals as _ki
from ._keras_internals import backend, file_utils, print_msg
from ._weights import host_arrays
from ._ckptbackground import BackgroundSaves, ModelCheckpointState, named_error
from .monitor_callback import MonitorCallback, _check_int
from .distributed import guarded as _distributed_guard


def _has_placeholder(pattern):
    try:
        return any(field is not None for _, field, _, _ in string.Formatter().parse(pattern))
    except ValueError:
        return False


@_distributed_guard
class ModelCheckpoint(ModelCheckpointState, MonitorCallback, BackgroundSaves):
    """Save the model or its weights at some frequency, atomically.

    A drop-in replacement for `keras.callbacks.ModelCheckpoint`: the same
    arguments, defaults, attributes, file names, warnings, messages and
    errors, and files that `keras.saving.load_model` / `model.load_weights`
    read exactly like Keras's. Decisions (`save_best_only`) are made by the
    compiled core. Unlike Keras, every file is written to a temporary file
    in the target directory, fsynced and moved into place with `os.replace`,
    so a crash never leaves a partial checkpoint; with `checksum=True` it
    also gets a sidecar checksum (`fastcallbacks.checkpoint.verify`).

    Args:
        filepath: Path of the file to write; may contain `{epoch}`,
            `{batch}` and any key of the logs as format fields. Must end in
            `.weights.h5` with `save_weights_only=True`, else in `.keras`
            (or the legacy `.h5`).
        monitor: Metric compared for `save_best_only`. Defaults to
            `"val_loss"`.
        verbose: Verbosity mode, 0 (silent) or 1 (a message per
            decision). Defaults to `0`.
        save_best_only: Whether to save only when the monitored value
            improves. Defaults to `False`.
        save_weights_only: Whether to save only the weights
            (`model.save_weights(...)`) instead of the whole model.
            Defaults to `False`.
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`: the
            direction is taken from the compiled metric of that name.
        save_freq: `"epoch"` or an integer number of training batches.
            Defaults to `"epoch"`.
        initial_value_threshold: Initial "best" value for `save_best_only`.
            Defaults to `None`.
        async_save: (not in Keras) If `True`, training is blocked only
            while the weights are copied into reused host buffers; the file
            is written by a background thread. A save waits for the previous
            one; errors of a background save are raised at the next callback
            hook or at the end of training; every write finishes before
            `fit` returns. Keyword-only. Defaults to `False`.
        save_top_k: (not in Keras) Keep only the k files with the best
            monitored values (needs a `filepath` with a format field).
            Keyword-only. Defaults to `None` (keep every file).
        max_to_keep: (not in Keras) Keep only the N most recently written
            files. With `save_top_k` too, a file is kept if either rule
            keeps it. The file with the best monitored value is never
            deleted, and only files written by this callback are ever
            deleted. Keyword-only. Defaults to `None` (keep every file).
        skip_non_finite: (not in Keras) Whether to skip (with a warning) a
            save whose model weights contain NaN or infinity. Keyword-only.
            Defaults to `True`.
        checksum: (not in Keras) Whether to write a `<file>.checksum.json`
            sidecar (size and SHA-256) next to each file; without it the
            files are exactly Keras's. Keyword-only. Defaults to `False`.
        writer: (not in Keras) Whether this process writes files; every
            process makes the same decisions either way. `None` asks the
            distribution strategy (the chief, process 0 or rank 0 writes).
            Keyword-only. Defaults to `None`.

    Example:

    >>> callback = fastcallbacks.ModelCheckpoint(
    ...     "ckpt/{epoch:02d}.weights.h5", save_weights_only=True,
    ...     async_save=True, max_to_keep=3)
    >>> model.fit(x, y, epochs=10, callbacks=[callback])
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        *,
        async_save=False,
        save_top_k=None,
        max_to_keep=None,
        skip_non_finite=True,
        checksum=False,
        writer=None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = file_utils.path_to_string(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = _compat.CHECKPOINT_FIRST_LAST_BATCH

        if self.save_freq != "epoch" and not isinstance(self.save_freq, int):
            raise ValueError(
                f"Unrecognized save_freq: {self.save_freq}. "
                "Expected save_freq are 'epoch' or integer values"
            )

        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`"
                    ", the filepath provided must end in `.weights.h5` "
                    "(Keras weights format). Received: "
                    f"filepath={self.filepath}"
                )
        else:
            if not any(self.filepath.endswith(ext) for ext in (".keras", ".h5")):
                raise ValueError(
                    "The filepath provided must end in `.keras` "
                    "(Keras model format). Received: "
                    f"filepath={self.filepath}"
                )

        if save_top_k is not None:
            _check_int("save_top_k", save_top_k, 1)
            if not _has_placeholder(self.filepath):
                raise ValueError(
                    "`save_top_k` keeps several files, so `filepath` needs a "
                    "format field such as `{epoch}` or `{val_loss}`. "
                    f"Received: filepath={self.filepath}"
                )
        if max_to_keep is not None:
            _check_int("max_to_keep", max_to_keep, 1)
        if writer is not None and not isinstance(writer, bool):
            raise TypeError(f"`writer` must be None, True or False, got {writer!r}")
        self.async_save = bool(async_save)
        self.save_top_k = save_top_k
        self.max_to_keep = max_to_keep
        self.skip_non_finite = bool(skip_non_finite)
        self.checksum = bool(checksum)
        self.writer = writer
        self._init_runtime()
        # Files this callback wrote and keeps: path -> (sequence, value)
        # (guarded by `_retention`'s lock).
        self._kept = {}
        self._sequence = 0
        if isinstance(save_freq, int):
            # Bound on the instance only: in epoch mode the class keeps
            # Keras's default batch hooks, so JAX and torch keep their
            # asynchronous batch dispatch.
            self.on_train_batch_end = self._on_train_batch_end_save

    def _init_runtime(self):
        self._layout = None
        self._executor = None
        self._future = None
        self._inflight = None  # (filepath, epoch) of the background save
        self._snapshots = None
        self._deleter = None  # deletes replaced files (synchronous saves)
        self._lock = threading.Lock()
        self._events = []  # (kind, text) reported by the writer thread
        # A forked child starts over without the parent's saver threads.
        _forks.restart_in_child(self, "_init_runtime", keep=("_layout",))

    # -- copies (tuners clone callbacks) ---------------------------------------

    def __getstate__(self):
        state = dict(self.__dict__)
        for name in ("_layout", "_executor", "_future", "_inflight", "_snapshots",
                     "_deleter", "_lock", "_events", "on_train_batch_end"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_runtime()
        if isinstance(self.save_freq, int):
            self.on_train_batch_end = self._on_train_batch_end_save

    def __deepcopy__(self, memo):
        import copy

        new = object.__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

    # -- hooks -------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # Nothing of Keras's state is reset here (Keras has no
        # on_train_begin: `best` and the batch counters carry over).
        self._poll()
        self._layout = None
        self._remove_stale_temps()
        _retention.register(self)

    def _remove_stale_temps(self):
        # Temporary files of saves killed earlier on this host (never
        # another host's, never a live process's): see
        # `fastcallbacks.checkpoint.remove_stale_temps`.
        directory = os.path.dirname(os.fspath(self.filepath)) or "."
        if "{" in directory or file_utils.is_remote_path(directory):
            return
        if self._is_writer(self.model):
            checkpoint.remove_stale_temps(directory)

    def _is_writer(self, model):
        """Whether this process writes files (`writer`, else its role)."""
        return (model is not None or self.writer is not None) and _roles.is_writer(
            model, self.writer)

    def _on_train_batch_end_save(self, batch, logs=None):
        self._poll()
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._poll()
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._poll()
        if self.monitor_op is None:
            # Delay setup until the model's metrics are all built
            self._set_monitor_op()

        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def on_train_end(self, logs=None):
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- Keras's helpers, unchanged ----------------------------------------------

    _should_save_on_batch = _ki.checkpoint_should_save_on_batch
    _get_file_path = _ki.checkpoint_get_file_path
    _checkpoint_exists = _ki.checkpoint_exists
    _get_most_recently_modified_file_matching_pattern = _ki.checkpoint_most_recent_file

    # -- decisions ---------------------------------------------------------------

    def _should_save_model(self, epoch, batch, logs, filepath):
        """Whether to save now; the same rules and messages as Keras."""
        logs = logs or {}
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"Can save best model only with {self.monitor} available.",
                    stacklevel=2,
                )
                return True
            elif (
                isinstance(current, np.ndarray) or backend.is_tensor(current)
            ) and len(current.shape) > 0:
                warnings.warn(
                    "Can save best model only when `monitor` is "
                    f"a scalar value. Received: {current}. "
                    "Falling back to `save_best_only=False`."
                )
                return True
            else:
                best_str = "None" if self.best is None else f"{self.best:.5f}"
                if self.best is not None and self.monitor_op is None:
                    # Keras calls `monitor_op` while it is still None here
                    # (a batch-level save before the first epoch end) and
                    # raises TypeError; resolve it as the epoch end would.
                    self._set_monitor_op()
                if self._is_improvement(current, self.best):
                    if self.verbose > 0:
                        print_msg(
                            f"\nEpoch {epoch + 1}: {self.monitor} "
                            f"improved from {best_str} to {current:.5f}, "
                            f"saving model to {filepath}"
                        )
                    self.best = current
                    return True
                else:
                    if self.verbose > 0:
                        print_msg(
                            f"\nEpoch {epoch + 1}: "
                            f"{self.monitor} did not improve from {best_str}"
                        )
                    return False
        else:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True

    def _save_model(self, epoch, batch, logs):
        """Saves the model (or not), as Keras's `_save_model` does."""
        filepath = self._get_file_path(epoch, batch, logs)

        try:
            if self._should_save_model(epoch, batch, logs, filepath):
                if os.path.isdir(filepath):
                    raise IsADirectoryError(filepath)
                done = self._write(filepath, epoch, logs)
                if done:
                    self._finished(epoch, filepath)
        except IsADirectoryError:  # h5py 3.x
            raise IOError(
                "Please specify a non-directory filepath for "
                "ModelCheckpoint. Filepath used is an existing "
                f"directory: {filepath}"
            )
        except IOError as e:  # h5py 2.x
            # `e.errno` appears to be `None` so checking the content of
            # `e.args[0]`.
            if e.args and "is a directory" in str(e.args[0]).lower():
                raise IOError(
                    "Please specify a non-directory filepath for "
                    "ModelCheckpoint. Filepath used is an existing "
                    f"directory: f{filepath}"
                )
            # Any other cause: the same error, naming `filepath`.
            raise named_error(e, filepath)

    # -- writing -----------------------------------------------------------------

    def _value_for(self, logs):
        current = (logs or {}).get(self.monitor)
        if isinstance(current, (int, float, np.floating, np.integer)) and not isinstance(current, bool):
            return float(current)
        return None

    def _needs_direction(self):
        return self.save_top_k is not None or self.max_to_keep is not None

    def _write(self, filepath, epoch, logs):
        """Writes `filepath` (or has it written); returns True when it is
        complete on return (the synchronous paths)."""
        model = self.model
        if self._needs_direction() and self.monitor_op is None and self._value_for(logs) is not None:
            self._set_monitor_op()
        mode = self._tracker.mode
        value = self._value_for(logs)
        is_writer = self._is_writer(model)
        zipped = not self.save_weights_only and filepath.endswith(".keras")
        layout = None
        if self.save_weights_only or zipped:
            layout = self._current_layout(model, with_assets=zipped)
        if layout is None:
            return self._keras_save(model, filepath, is_writer, value, mode)
        if not is_writer:
            # Same decisions and the same Keras traversal as the writer; our
            # writer runs no collective, so nothing more to do here.
            if zipped:
                _ckptwriter.config_json(model)
            return True
        dirname = os.path.dirname(filepath)
        if dirname and not file_utils.exists(dirname):
            file_utils.makedirs(dirname)
        if self.async_save:
            self.flush()  # one save in flight at most
            if self._snapshots is None:
                self._snapshots = _impl.snapshot.WeightSnapshot(max_sets=1)
            variables = host_arrays(layout.variables)
            if zipped:
                # Keras's configuration JSON (Python, training thread) is
                # made while a native thread copies the variables.
                arrays, config = self._snapshots.capture_while(
                    variables, lambda: _ckptwriter.config_json(model))
            else:
                arrays, config = self._snapshots.capture(variables), None
            del variables
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="fastcallbacks-checkpoint"
                )
            self._inflight = (filepath, epoch)
            self._future = self._executor.submit(
                self._write_file, filepath, layout, arrays, config, value, mode, True
            )
            return False
        config = _ckptwriter.config_json(model) if zipped else None
        arrays = host_arrays(layout.variables)
        return self._write_file(filepath, layout, arrays, config, value, mode, False)

    def _current_layout(self, model, with_assets):
        layout = self._layout
        if layout is None or layout.signature != _ckptwriter.signature(model):
            layout = _ckptwriter.record_layout(model, with_assets)
            self._layout = layout
        return layout

    def _write_file(self, filepath, layout, arrays, config, value, mode, deferred):
        """Writes one file from host arrays (the writer thread when async)."""
        with _retention.writing(self, filepath):
            return self._write_file_now(filepath, layout, arrays, config, value, mode, deferred)

    def _write_file_now(self, filepath, layout, arrays, config, value, mode, deferred):
        if self.skip_non_finite and not _ckptwriter.all_finite(
            [arrays[i] for i in layout.model_weights]
        ):
            self._skip_event(filepath, deferred)
            return False
        suffix = ".keras" if config is not None else ".weights.h5"
        tmp, fd = checkpoint.create_temp(filepath, suffix)
        try:
            digest = None
            try:
                if config is None:
                    # The checksum is taken while the file is written.
                    digest = _ckptwriter.write_weights_h5(
                        tmp, layout, arrays, digest=self.checksum, fd=fd)
                else:
                    _ckptwriter.write_keras(tmp, layout, arrays, *config, fd=fd)
            finally:
                os.close(fd)
            # A synchronous save leaves deleting the file it replaces to a
            # background thread; the writer thread deletes it itself.
            checkpoint.commit(tmp, filepath, self.checksum, pending_digest=digest,
                       delete=None if deferred else self._delete_later)
        except BaseException:
            checkpoint._remove_quietly(tmp)
            raise
        finally:
            del arrays
        self._retain(filepath, value, mode)
        return True

    def _keras_save(self, model, filepath, is_writer, value, mode):
        """Keras's own saver, through a temporary file (layouts our writer
        does not reproduce, legacy `.h5`, models that are not built)."""
        if self.async_save:
            self.flush()
        if self.skip_non_finite and getattr(model, "built", False):
            if not _ckptwriter.all_finite(host_arrays(model.weights)):
                self._skip_event(filepath, False)
                return False
        if self.save_weights_only:
            suffix = ".weights.h5"
        else:
            suffix = ".keras" if filepath.endswith(".keras") else ".h5"
        if not is_writer:
            # Keras's saver may run collectives, so every worker runs it;
            # non-writers write into a private directory removed at once.
            scratch = tempfile.mkdtemp(prefix="fastcallbacks-nonwriter-")
            try:
                self._keras_save_to(model, os.path.join(scratch, "ckpt" + suffix))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return True
        dirname = os.path.dirname(filepath)
        if dirname and not file_utils.exists(dirname):
            file_utils.makedirs(dirname)
        # Keras's saver opens files by name: it writes into a private
        # (0700) directory, reached through a descriptor of it where the OS
        # allows, so nothing planted at a temporary name is followed.
        with _retention.writing(self, filepath):
            tmpdir, dirfd = _tempfiles.create_temp_dir(filepath)
            try:
                tmp = os.path.join(_tempfiles.fd_path(dirfd, tmpdir), "checkpoint" + suffix)
                self._keras_save_to(model, tmp)
                checkpoint.commit(tmp, filepath, self.checksum, delete=self._delete_later)
            finally:
                if dirfd is not None:
                    os.close(dirfd)
                _tempfiles.remove_temp_dir(tmpdir)
            self._retain(filepath, value, mode)
        return True

    def _keras_save_to(self, model, path):
        if self.save_weights_only:
            model.save_weights(path, overwrite=True)
        else:
            model.save(path, overwrite=True)

    # -- retention ---------------------------------------------------------------

    def _retain(self, filepath, value, mode):
        """Records a written file and deletes those no rule keeps (and no
        other live callback keeps: see `_retention`)."""
        _retention.retain(self, filepath, value, mode)
