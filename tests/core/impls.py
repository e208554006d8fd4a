"""Loads one implementation of the core by name, for the core tests."""

import importlib
import types

IMPLS = ("cython", "python")
_PACKAGES = {"cython": "fastcallbacks._core", "python": "fastcallbacks._reference"}
ACTIONS = ("SKIP", "IMPROVED", "WAIT", "COOLDOWN", "STOP", "REDUCE")


def load_impl(name):
    """A namespace with the classes and action codes of one implementation.

    Imports the modules by name (not through `fastcallbacks._impl`), so a
    missing or broken compiled core makes every "cython" test fail loudly
    instead of silently running the reference twice.
    """
    package = _PACKAGES[name]
    ring = importlib.import_module(f"{package}.ring")
    tracker = importlib.import_module(f"{package}.tracker")
    snapshot = importlib.import_module(f"{package}.snapshot")
    npzwriter = importlib.import_module(f"{package}.npzwriter")
    if name == "cython":
        for module in (ring, tracker, snapshot, npzwriter):
            # An extension module has no .py source: make sure we did not
            # pick up a stray pure-Python file of the same name.
            assert not module.__file__.endswith(".py"), module.__file__
    ns = types.SimpleNamespace(
        name=name,
        ring=ring,
        tracker=tracker,
        snapshot=snapshot,
        npzwriter=npzwriter,
        RingMonitor=ring.RingMonitor,
        BestTracker=tracker.BestTracker,
        WeightSnapshot=snapshot.WeightSnapshot,
        NpzWriter=npzwriter.NpzWriter,
    )
    for action in ACTIONS:
        setattr(ns, action, getattr(tracker, action))
    return ns
