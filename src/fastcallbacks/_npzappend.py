"""`NpzWriter(path, mode="a")`: continuing an existing `.npz` file.

The file is never written in place. The writer starts a new archive under
a hidden temporary name next to `path` (`_tempfiles.temp_path`), copies the
kept members of the existing file into it (read with `npz.load`, written
with the writer's own `add`, in the order they were added), commits them,
and only then moves it over `path` with `os.replace`. Until that rename
`path` is the old file, untouched; after it, the file holds every kept
member, committed, and the writer continues it with every guarantee of a
new one (see docs/design-npz.md). A kill in between leaves the old file and
a temporary file that `_tempfiles.remove_stale_temps` deletes later.

An existing file that `np.load` cannot open (a writer killed at a bad
moment, a torn copy) is repaired first with `npz.recover`, which never
makes a file worse; a file it cannot repair raises ValueError and is left
as it is. The new file keeps the old file's permission bits.
"""

import os

from . import _tempfiles


def check_mode(mode, keep):
    """Validates `mode` and `keep` of NpzWriter."""
    if mode not in ("w", "a"):
        raise ValueError(f"NpzWriter: `mode` must be 'w' or 'a', got {mode!r}")
    if keep is not None and not callable(keep):
        raise TypeError(f"NpzWriter: `keep` must be None or a callable, got {keep!r}")
    if keep is not None and mode != "a":
        raise ValueError("NpzWriter: `keep` applies to mode='a' only")


class Existing:
    """The members of the file an appending writer continues."""

    def __init__(self, path, keep):
        from . import npz

        if npz.status(path) == "damaged":
            npz.recover(path)
        self.mode = os.stat(path).st_mode & 0o7777
        self.map = npz.load(path)
        try:
            # In the order they were added: an open file's directory lists
            # the newest first, a closed one the oldest first.
            infos = sorted(self.map._infos.items(), key=lambda kv: kv[1].header_offset)
            names = [name for name, _ in infos]
            if keep is not None:
                names = [name for name in names if _kept(keep, name)]
            self.names = names
        except BaseException:
            self.map.close()
            raise

    def close(self):
        self.map.close()


def _kept(keep, name):
    verdict = keep(name)
    if not isinstance(verdict, bool) and type(verdict).__name__ != "bool_":
        raise TypeError(f"NpzWriter: `keep` must return a bool, got {verdict!r} for {name!r}")
    return bool(verdict)


def open_existing(path, keep):
    """The kept members of `path` (an `Existing`), or None when there is no
    file at `path` (mode 'a' then creates one, as zipfile does)."""
    if not os.path.lexists(path):
        return None
    return Existing(path, keep)


def carry_over(writer, existing, target, path, durable):
    """Copies the kept members into the writer (writing `target`), commits
    them, and moves `target` over `path`. On any failure the writer is
    closed, `target` removed, and `path` left as it was."""
    try:
        with existing.map:
            for name in existing.names:
                writer.add(name, existing.map[name])
        writer.commit()
        os.chmod(target, existing.mode)
        os.replace(target, path)
    except BaseException:
        try:
            writer._abandon()
        finally:
            _tempfiles.remove_quietly(target)
        raise
    if durable:
        _tempfiles.fsync_dir(path)
