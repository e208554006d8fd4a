"""Objects that own threads or open files, used after `os.fork()`.

Only the thread that called `fork` exists in the child. An object whose
work is done by another thread (a background writer, a thread pool) must
not wait for that thread there, nor write into a file the parent is still
writing. Two policies, both set up by `os.register_at_fork` handlers that
run in the child:

- `count` (the number of forks this process descends from) lets an
  object remember the process it was created in: an NpzWriter created
  before the fork raises `created_elsewhere(...)` from every call in the
  child (the parent, which still owns the file and the writer thread, is
  unaffected);
- `restart_in_child(obj, method)` calls `obj.method()` in the child, for
  objects that can simply start over there (ModelCheckpoint's background
  saver: the child starts its own when it first saves; a save in flight
  at the fork is the parent's to finish).
"""

import os
import weakref

count = 0
_restarts = weakref.WeakKeyDictionary()  # object -> (method name, attributes kept)


def created_elsewhere(what):
    """The RuntimeError every call raises on an object of another process."""
    return RuntimeError(
        f"{what} was created in another process (before os.fork()); it cannot be "
        "used in this one: its background thread and its file belong to the "
        "parent. Create a new one in this process."
    )


def restart_in_child(obj, method, keep=()):
    """Calls `getattr(obj, method)()` in every child forked later, keeping
    the attributes named in `keep` as they were."""
    _restarts[obj] = (method, tuple(keep))


def _after_fork_in_child():
    global count
    count += 1
    for obj, (method, keep) in list(_restarts.items()):
        kept = {name: getattr(obj, name) for name in keep}
        getattr(obj, method)()
        for name, value in kept.items():
            setattr(obj, name, value)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
