"""Selects the compiled core or its pure-Python reference.

`FASTCALLBACKS_PURE_PYTHON=1` selects the reference; otherwise the compiled
modules are used when they import. `FASTCALLBACKS_REQUIRE_EXT=1` turns a
missing or broken compiled core into an ImportError instead of a silent
fallback.
"""

import os
import platform

MODULES = ("ring", "tracker", "snapshot", "npzwriter", "criteria")

_NAMES = {"cython": "fastcallbacks._core", "python": "fastcallbacks._reference"}


def _load(name):
    import importlib

    package = _NAMES[name]
    return {m: importlib.import_module(f"{package}.{m}") for m in MODULES}


def _initial():
    if os.environ.get("FASTCALLBACKS_PURE_PYTHON") == "1":
        return "python", None
    if platform.python_implementation() != "CPython":
        return "python", None
    try:
        _load("cython")
    except ImportError as e:
        if os.environ.get("FASTCALLBACKS_REQUIRE_EXT") == "1":
            raise ImportError(
                "FASTCALLBACKS_REQUIRE_EXT=1 but the compiled core of "
                f"fastcallbacks cannot be imported: {e}"
            ) from e
        return "python", e
    return "cython", None


name, import_error = _initial()
_mods = _load(name)
ring = _mods["ring"]
tracker = _mods["tracker"]
snapshot = _mods["snapshot"]
npzwriter = _mods["npzwriter"]
criteria = _mods["criteria"]


def use(impl):
    """Switches the implementation used by objects created from now on.

    Meant for tests and benchmarks; returns the previous name.
    """
    global name, ring, tracker, snapshot, npzwriter, criteria
    if impl not in _NAMES:
        raise ValueError(f"`impl` must be 'cython' or 'python', got {impl!r}")
    mods = _load(impl)
    previous = name
    name = impl
    ring, tracker, snapshot = mods["ring"], mods["tracker"], mods["snapshot"]
    npzwriter = mods["npzwriter"]
    criteria = mods["criteria"]
    return previous
