"""Retention of `ModelCheckpoint` files (`save_top_k`, `max_to_keep`).

Each callback records the files it wrote and keeps; a file that no rule of
its callback keeps any more is deleted, unless another live callback keeps
it or is writing it. A callback is live from its first `on_train_begin` or
save for as long as it exists (it is held weakly): its kept files carry
over between fits, as `best` does. So two callbacks with the same file
names in one directory (through a symlinked directory too) behave as each
alone would: a file stays while either keeps it, and is deleted by the last
one that drops it.
"""

import contextlib
import os
import threading
import weakref

from . import checkpoint

_lock = threading.Lock()
_live = weakref.WeakSet()
# callback -> {path as written: key naming the file, whatever the path}
_keys = weakref.WeakKeyDictionary()
# callback -> {key: number of saves of it in progress}
_writing = weakref.WeakKeyDictionary()


def register(callback):
    """Makes `callback`'s kept files count for every other callback."""
    with _lock:
        _live.add(callback)


@contextlib.contextmanager
def writing(callback, path):
    """While a save of `path` by `callback` is in progress, no other
    callback deletes `path` (it is about to be kept)."""
    with _lock:
        _live.add(callback)
        key = _key(callback, path)
        counts = _writing.setdefault(callback, {})
        counts[key] = counts.get(key, 0) + 1
    try:
        yield
    finally:
        with _lock:
            counts[key] -= 1
            if not counts[key]:
                del counts[key]


def _key(callback, path):
    keys = _keys.setdefault(callback, {})
    key = keys.get(path)
    if key is None:
        directory, name = os.path.split(os.path.abspath(path))
        key = keys[path] = os.path.normcase(os.path.join(os.path.realpath(directory), name))
    return key


def retain(callback, filepath, value, mode):
    """Records that `callback` wrote `filepath` (monitored value `value`,
    None if none) and deletes the files no rule keeps."""
    with _lock:
        _live.add(callback)
        callback._sequence += 1
        callback._kept[filepath] = (callback._sequence, value)
        _key(callback, filepath)
        if callback.save_top_k is None and callback.max_to_keep is None:
            return
        items = list(callback._kept.items())
        keep = kept(items, mode, callback.save_top_k, callback.max_to_keep)
        dropped = [path for path, _ in items if path not in keep]
        if not dropped:
            return
        elsewhere = set()
        for other in list(_live):
            if other is not callback:
                elsewhere.update(_key(other, path) for path in other._kept)
                elsewhere.update(_writing.get(other, ()))
        keys = _keys.setdefault(callback, {})
        for path in dropped:
            key = _key(callback, path)
            del callback._kept[path]
            del keys[path]
            if key not in elsewhere:
                checkpoint.remove_checkpoint(path)


def kept(items, mode, save_top_k, max_to_keep):
    """The paths of `items` ((path, (sequence, value)), ...) that the rules
    keep: the `save_top_k` best, the `max_to_keep` latest, and the best."""
    keep = set()
    ranked = sorted(items, key=lambda kv: _rank_key(kv[1], mode))
    if ranked and _has_value(ranked[0][1]):
        keep.add(ranked[0][0])  # the current best is never deleted
    if save_top_k is not None:
        keep.update(p for p, _ in ranked[:save_top_k])
    if max_to_keep is not None:
        latest = sorted(items, key=lambda kv: -kv[1][0])
        keep.update(p for p, _ in latest[:max_to_keep])
    return keep


def _has_value(entry):
    value = entry[1]
    return value is not None and value == value


def _rank_key(entry, mode):
    """Best first: valued files by value (direction of `mode`), then those
    without a (finite-comparable) value; ties: the earlier file first."""
    sequence, value = entry
    if value is None or value != value:
        return (1, 0.0, sequence)
    return (0, value if mode == "min" else -value, sequence)
