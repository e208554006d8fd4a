"""Runs every `.npz` reader (and `recover`, on a copy) over the files named on the command line and
prints one JSON line per file: the undocumented exceptions each reader
raised, and what the `inspect` command returned and printed.

Run in a subprocess (with a time limit) by tests/core/test_npz_readers.py,
so that a crash or a hang fails the test instead of the test run.
"""

import contextlib
import io
import json
import sys
import zipfile

from fastcallbacks import npz
from fastcallbacks.__main__ import main

DOCUMENTED = (OSError, ValueError, zipfile.BadZipFile)


def load_all(path, mmap):
    with npz.load(path, mmap=mmap) as z:
        for key in z.files:
            try:
                z[key]
            except DOCUMENTED:
                pass


def scan_all(path):
    members, _ = npz.scan(path)
    for m in members:
        try:
            npz.read_member(path, m)
        except DOCUMENTED:
            pass


def recover_copy(path):
    """`recover` on a copy (raises only ValueError or OSError)."""
    import os
    import shutil
    import stat
    import tempfile

    if not stat.S_ISREG(os.stat(path).st_mode):
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "f.npz")
        shutil.copyfile(path, copy)
        try:
            npz.recover(copy)
        except (ValueError, OSError):
            pass
        left = os.listdir(tmp)
        if left != ["f.npz"]:
            raise AssertionError(f"recover left {left}")


READERS = {
    "load(mmap=True)": lambda p: load_all(p, True),
    "load(mmap=False)": lambda p: load_all(p, False),
    "status": npz.status,
    "scan/read_member": scan_all,
    "recover": recover_copy,
}


def run(path):
    bad = []
    for name, reader in READERS.items():
        try:
            reader(path)
        except DOCUMENTED:
            pass
        except BaseException as e:   # noqa: BLE001 (this is what the test looks for)
            bad.append(f"{name}: {type(e).__name__}: {e}"[:300])
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["inspect", path])
    except BaseException as e:   # noqa: BLE001
        rc = None
        bad.append(f"inspect: {type(e).__name__}: {e}"[:300])
    return {"path": path, "bad": bad, "rc": rc, "out": out.getvalue()[:2000],
            "err": err.getvalue()}


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(json.dumps(run(p)), flush=True)
