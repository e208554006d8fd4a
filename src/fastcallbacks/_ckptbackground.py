"""The background side of `ModelCheckpoint`: waiting for a background save,
surfacing its errors, warnings and messages on the training thread, and
deleting replaced files off the training thread."""

import concurrent.futures
import re
import warnings

from . import _compat
from . import checkpoint
from ._callback_state import ModelCheckpointState  # noqa: F401 - ModelCheckpoint's base
from ._keras_internals import print_msg


class BackgroundSaves:
    """Mixin of `ModelCheckpoint`. Uses its `_future`, `_inflight`,
    `_deleter`, `_lock`, `_events` and `verbose`."""

    def flush(self):
        """Blocks until the background save (if any) has finished.

        Re-raises its error, if it failed, and reports what it skipped.
        """
        future = self._future
        if future is not None:
            concurrent.futures.wait([future])
        if self._deleter is not None:
            self._deleter.shutdown(wait=True)
            self._deleter = None
        self._poll()

    def _poll(self):
        """Raises the error of a finished background save, emits its
        warnings and messages (on the training thread)."""
        future = self._future
        if future is not None and future.done():
            self._future = None
            filepath, epoch = self._inflight or ("?", 0)
            self._inflight = None
            error = future.exception()
            if error is not None:
                self._report()
                raise _background_error(error, filepath)
            if self.verbose > 0 and not self._pending_skip(filepath):
                self._finished(epoch, filepath)
        self._report()

    def _finished(self, epoch, filepath):
        """Keras's message after a save (3.13 and later)."""
        if self.verbose > 0 and _compat.CHECKPOINT_FINISHED_MESSAGE:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _pending_skip(self, filepath):
        with self._lock:
            return any(kind == "skip" and filepath in text for kind, text in self._events)

    def _report(self):
        with self._lock:
            events, self._events = self._events, []
        for kind, text in events:
            warnings.warn(text, stacklevel=3)


    def _delete_later(self, path):
        """Deletes a replaced checkpoint (by its temporary second name) on
        a background thread; `flush` and `on_train_end` wait for it."""
        try:
            if self._deleter is None:
                self._deleter = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="fastcallbacks-delete"
                )
            self._deleter.submit(checkpoint._remove_quietly, path)
        except RuntimeError:  # no new threads (interpreter shutting down)
            checkpoint._remove_quietly(path)

    def _skip_event(self, filepath, deferred):
        text = (
            f"ModelCheckpoint skipped saving {filepath}: the model weights "
            "contain NaN or infinity (skip_non_finite=True)."
        )
        if deferred:
            with self._lock:
                self._events.append(("skip", text))
        else:
            warnings.warn(text, stacklevel=4)


# A temporary name (`.<name>.fctmp-...`, or a file in a temporary folder,
# possibly reached through /proc/self/fd) in an error message.
_TEMP_NAME = re.compile(r"""(?:/proc/self/fd/\d+|[^\s'"]*\.fctmp-[^\s'"/]*)(?:/[^\s'"]*)?""")


def _background_error(error, filepath):
    return named_error(error, filepath, background=True)


def named_error(error, filepath, background=False):
    """The error of a failed save, naming `filepath`, the file the user
    asked for, instead of the temporary name it was written under: an
    `OSError` with an errno becomes the same subclass with that errno and
    `filename=filepath`, chained from the original (`__cause__`); one
    without an errno whose message names a temporary file gets that name
    replaced by `filepath` (same class, chained); other errors get a note
    naming `filepath` and are returned themselves."""
    if isinstance(error, OSError) and error.errno is not None:
        if background:
            text = (f"ModelCheckpoint: the background save to {filepath} failed: "
                    f"{error.strerror}; the previous file there is unchanged")
        else:
            text = error.strerror
        try:
            new = type(error)(error.errno, text, filepath)
        except Exception:  # a subclass with another constructor
            new = OSError(error.errno, text, filepath)
        new.__cause__ = error
        new.__suppress_context__ = True
        return new
    if isinstance(error, OSError) and _TEMP_NAME.search(str(error)):
        # No errno (h5py's errors): the message itself names the temporary
        # file, or the private folder Keras's saver wrote into.
        text = _TEMP_NAME.sub(lambda _: filepath, str(error))
        try:
            new = type(error)(text)
        except Exception:  # a subclass with another constructor
            new = OSError(text)
        new.__cause__ = error
        new.__suppress_context__ = True
        return new
    what = "background save" if background else "save"
    note = f"(raised by the {what} to {filepath})"
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:  # Python 3.10: no add_note; keep the note where 3.11 keeps it
        error.__notes__ = [*getattr(error, "__notes__", ()), note]
    return error

