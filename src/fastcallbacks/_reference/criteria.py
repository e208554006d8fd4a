"""Pure-Python CriteriaEngine (reference of fastcallbacks._core.criteria).

A tree of stopping criteria flattened in postfix order (children before
their parent, the root last); `update()` feeds one check's values to every
node and reports the node that made the root hold.
"""

import math
import threading

import numpy as np

from .._actions import IMPROVED, STOP
from .tracker import BestTracker

KINDS = ("patience", "threshold", "divergence", "nonfinite", "timelimit",
         "gl", "pq", "up", "any", "all")
FLOAT_FIELDS = ("e_opt", "strip_sum", "strip_min", "prev_end", "best")
INT_FIELDS = ("holds", "has_opt", "has_prev", "rises", "has_best",
              "best_step", "wait", "cooldown_counter")
_INT64_MAX = 2**63 - 1


def _div(a, b):
    """a / b with IEEE 754 semantics (inf or NaN instead of ZeroDivisionError)."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _mode(mode):
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}")
    return mode


class _Node:
    __slots__ = ("kind", "mode", "slot", "slot2", "k", "s", "param", "children",
                 "holds", "has_opt", "e_opt", "strip_sum", "strip_min",
                 "has_prev", "prev_end", "rises", "tr")

    def __init__(self, spec):
        (kind, slot, slot2, mode, strip, s, param, min_delta, patience,
         baseline, children) = spec
        self.kind = kind
        self.mode = _mode(mode)
        self.slot = int(slot)
        self.slot2 = int(slot2)
        self.k = int(strip)
        self.s = int(s)
        self.param = float(param)
        self.children = tuple(int(c) for c in children) if kind in ("any", "all") else ()
        self.tr = (_tracker(mode, min_delta, patience, baseline)
                   if kind == "patience" else None)
        self.clear()

    def clear(self):
        self.holds = False
        self.has_opt = False
        self.e_opt = 0.0
        self.strip_sum = 0.0
        self.strip_min = 0.0
        self.has_prev = False
        self.prev_end = 0.0
        self.rises = 0

    def opt_update(self, x):
        # E_opt: running minimum of the values that are not NaN.
        if x == x and (not self.has_opt or x < self.e_opt):
            self.e_opt = x
            self.has_opt = True

    def gl(self, x):
        if not self.has_opt:
            return math.nan
        return 100.0 * (_div(x, self.e_opt) - 1.0)


def _tracker(mode, min_delta, patience, baseline):
    return BestTracker(mode=mode, min_delta=float(min_delta), patience=patience,
                       baseline=baseline, on_patience="stop", float32=True)


class CriteriaEngine:
    """A flattened tree of stopping criteria, evaluated in one call per check.

    Args:
        nodes: Node specifications in postfix order (children first, the
            root last), each a tuple `(kind, slot, slot2, mode, strip, s,
            param, min_delta, patience, baseline, children)`: `kind` one of
            `KINDS`; `slot`/`slot2` indices into the values passed to
            `update()`; `param` the alpha, value or seconds; `children` the
            indices of earlier nodes (combinators only).
        n_slots: Number of values passed to each `update()`.
        best: `(slot, mode, min_delta)` of the value whose improvements
            `update()` reports, or `None`.
    """

    def __init__(self, nodes, n_slots, best=None):
        specs = [tuple(s) for s in nodes]
        n_slots = int(n_slots)
        if n_slots < 0:
            raise ValueError(f"`n_slots` must be >= 0, got {n_slots}")
        for i, spec in enumerate(specs):
            if len(spec) != 11:
                raise ValueError(f"node {i}: expected 11 fields, got {len(spec)}")
            kind, slot, slot2 = spec[0], spec[1], spec[2]
            if kind not in KINDS:
                raise ValueError(f"node {i}: unknown kind {kind!r}")
            for name, value in (("slot", slot), ("slot2", slot2)):
                if not -1 <= int(value) < n_slots:
                    raise ValueError(f"node {i}: `{name}` out of range: {value}")
            if kind in ("any", "all"):
                for c in spec[10]:
                    if not 0 <= int(c) < i:
                        raise ValueError(f"node {i}: child {c} is not an earlier node")
            elif int(slot) < 0 and kind != "timelimit":
                raise ValueError(f"node {i}: `slot` out of range: {slot}")
            if kind == "pq" and int(slot2) < 0:
                raise ValueError(f"node {i}: `slot2` out of range: {slot2}")
            if kind in ("pq", "up") and int(spec[4]) < 1:
                raise ValueError(f"`strip` must be >= 1, got {spec[4]}")
            if kind == "up" and int(spec[5]) < 1:
                raise ValueError(f"`s` must be >= 1, got {spec[5]}")
        if best is not None and not 0 <= int(best[0]) < n_slots:
            raise ValueError(f"best slot out of range: {best[0]}")
        nodes_ = [_Node(spec) for spec in specs]
        best_tr = (_tracker(best[1], best[2], _INT64_MAX, None)
                   if best is not None else None)
        self._lock = threading.Lock()
        self._specs = specs
        self._nodes = nodes_
        self._n_slots = n_slots
        self._best_spec = tuple(best) if best is not None else None
        self._best_slot = int(best[0]) if best is not None else 0
        self._best = best_tr
        self._t = 0

    # -- the kernel --------------------------------------------------------------

    def _node_update(self, n, v, t, step, elapsed):
        kind = n.kind
        h = False
        if kind == "patience":
            h = n.tr.update(v[n.slot], step) == STOP
        elif kind == "threshold":
            x = v[n.slot]
            h = x < n.param if n.mode == "min" else x > n.param
        elif kind == "divergence":
            x = v[n.slot]
            h = x > n.param if n.mode == "min" else x < n.param
        elif kind == "nonfinite":
            h = not math.isfinite(v[n.slot])
        elif kind == "timelimit":
            h = elapsed >= n.param
        elif kind == "gl":
            x = v[n.slot]
            n.opt_update(x)
            h = n.gl(x) > n.param
        elif kind == "pq":
            x = v[n.slot]
            y = v[n.slot2]
            n.opt_update(x)
            if t % n.k == 1 or n.k == 1:  # first epoch of a strip
                n.strip_sum = y
                n.strip_min = y
            else:
                n.strip_sum = n.strip_sum + y
                if y < n.strip_min or n.strip_min != n.strip_min:
                    n.strip_min = y
            if t % n.k == 0:
                pk = 1000.0 * (_div(n.strip_sum, float(n.k) * n.strip_min) - 1.0)
                gl = n.gl(x)
                h = pk > 0.0 and _div(gl, pk) > n.param
        elif kind == "up":
            if t % n.k == 0:
                x = v[n.slot]
                if n.has_prev and x > n.prev_end:
                    n.rises = min(n.rises + 1, _INT64_MAX)
                else:
                    n.rises = 0
                n.prev_end = x
                n.has_prev = True
                h = n.rises >= n.s
        elif kind == "any":
            h = any(self._nodes[c].holds for c in n.children)
        elif kind == "all":
            h = bool(n.children) and all(self._nodes[c].holds for c in n.children)
        n.holds = h

    def update(self, values, step, elapsed=0.0):
        """Feed one check's values; returns `(fired, improved)`.

        `fired` is the index of the node that made the root hold (the first
        holding member of an `any` node, recursively), or -1; `improved`
        whether the best-tracked value improved.
        """
        if len(values) != self._n_slots:
            raise ValueError(f"expected {self._n_slots} values, got {len(values)}")
        v = [float(x) for x in values]
        step = int(step)
        elapsed = float(elapsed)
        with self._lock:
            self._t += 1
            t = self._t
            for n in self._nodes:
                self._node_update(n, v, t, step, elapsed)
            fired = -1
            if self._nodes and self._nodes[-1].holds:
                fired = len(self._nodes) - 1
                while self._nodes[fired].kind == "any":
                    fired = next(c for c in self._nodes[fired].children
                                 if self._nodes[c].holds)
            improved = False
            if self._best is not None:
                improved = self._best.update(v[self._best_slot], step) == IMPROVED
        return fired, improved

    def holds(self):
        """Whether each node held at the last update, as a list of bools."""
        return [n.holds for n in self._nodes]

    @property
    def t(self):
        """Number of updates so far (the epoch t of the definitions)."""
        return self._t

    @property
    def best(self):
        """Best value of the best-tracked slot, or None."""
        return self._best.best if self._best is not None else None

    def reset(self):
        """Forgets all state, as before the first update."""
        self.set_state(None)

    # -- state -------------------------------------------------------------------

    def _trackers(self):
        return [n.tr for n in self._nodes] + [self._best]

    def get_state(self):
        """The state as `{"t": int, "floats": array, "ints": array}` (one
        row per node and a last one for the best tracker; columns
        `FLOAT_FIELDS` and `INT_FIELDS`)."""
        rows = len(self._nodes) + 1
        f = np.zeros((rows, len(FLOAT_FIELDS)), dtype=np.float64)
        k = np.zeros((rows, len(INT_FIELDS)), dtype=np.int64)
        with self._lock:
            for i, tr in enumerate(self._trackers()):
                if i < len(self._nodes):
                    n = self._nodes[i]
                    f[i, 0:4] = (n.e_opt, n.strip_sum, n.strip_min, n.prev_end)
                    k[i, 0:4] = (n.holds, n.has_opt, n.has_prev, n.rises)
                if tr is None:
                    k[i, 5] = -1
                    continue
                best, best_step, wait, cooldown_counter = tr.__getstate__()
                f[i, 4] = 0.0 if best is None else best
                k[i, 4:8] = (best is not None, best_step, wait, cooldown_counter)
            t = self._t
        return {"t": int(t), "floats": f, "ints": k}

    def set_state(self, state):
        """Restores what `get_state()` returned (`None`: the initial state)."""
        rows = len(self._nodes) + 1
        if state is None:
            f = np.zeros((rows, len(FLOAT_FIELDS)), dtype=np.float64)
            k = np.zeros((rows, len(INT_FIELDS)), dtype=np.int64)
            k[:, 5] = -1
            t = 0
        else:
            f = np.asarray(state["floats"], dtype=np.float64)
            k = np.asarray(state["ints"], dtype=np.int64)
            t = int(state["t"])
            if f.shape != (rows, len(FLOAT_FIELDS)) or k.shape != (rows, len(INT_FIELDS)):
                raise ValueError("`state` does not match this engine's nodes")
            if t < 0:
                raise ValueError(f"`state['t']` must be >= 0, got {t}")
        with self._lock:
            for i, tr in enumerate(self._trackers()):
                if i < len(self._nodes):
                    n = self._nodes[i]
                    n.e_opt, n.strip_sum, n.strip_min, n.prev_end = (
                        float(f[i, 0]), float(f[i, 1]), float(f[i, 2]), float(f[i, 3]))
                    n.holds, n.has_opt, n.has_prev = bool(k[i, 0]), bool(k[i, 1]), bool(k[i, 2])
                    n.rises = int(k[i, 3])
                if tr is not None:
                    tr.__setstate__((float(f[i, 4]) if k[i, 4] else None,
                                     int(k[i, 5]), int(k[i, 6]), int(k[i, 7])))
            self._t = t

    def __reduce__(self):
        return (CriteriaEngine, (self._specs, self._n_slots, self._best_spec),
                self.get_state())

    def __setstate__(self, state):
        self.set_state(state)

    def __repr__(self):
        return f"CriteriaEngine(nodes={len(self._nodes)}, t={self._t})"
