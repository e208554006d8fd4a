"""Stopping criteria evaluated together: one compiled call per check.

A `CriteriaEngine` holds a tree of criteria flattened in postfix order
(children before their parent, the root last). Each `update()` feeds the
monitored values of one check (an epoch end or every n-th step) to every
node, in order, and reports the node that made the root hold. The
definitions are those of `fastcallbacks.criteria` (Prechelt's GL, PQ and
UP, Keras's patience rule through the tracker kernel, thresholds, a time
limit, any/all).
"""
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport isfinite, NAN
from libc.stdint cimport INT64_MAX
from libc.string cimport memset

cimport cython
from ._common cimport (float64_t, int64_t, intp_t, MODE_MIN, MODE_MAX,
                       ACTION_STOP, ACTION_IMPROVED)
from .tracker cimport tracker_t, tracker_update

import numpy as np

KINDS = ("patience", "threshold", "divergence", "nonfinite", "timelimit",
         "gl", "pq", "up", "any", "all")

cdef enum:
    K_PATIENCE = 0
    K_THRESHOLD = 1
    K_DIVERGENCE = 2
    K_NONFINITE = 3
    K_TIMELIMIT = 4
    K_GL = 5
    K_PQ = 6
    K_UP = 7
    K_ANY = 8
    K_ALL = 9

# Layout of get_state(): one row per node, then one for the best tracker.
FLOAT_FIELDS = ("e_opt", "strip_sum", "strip_min", "prev_end", "best")
INT_FIELDS = ("holds", "has_opt", "has_prev", "rises", "has_best",
              "best_step", "wait", "cooldown_counter")

cdef struct node_t:
    int kind
    int mode
    intp_t slot          # monitored value (validation value for PQ)
    intp_t slot2         # training value (PQ)
    int64_t k            # strip length
    int64_t s            # successive strips (UP)
    float64_t param      # alpha, value or seconds
    intp_t first         # children: kids[first:first + count]
    intp_t count
    # state
    bint holds
    bint has_opt
    float64_t e_opt
    float64_t strip_sum
    float64_t strip_min
    bint has_prev
    float64_t prev_end
    int64_t rises
    tracker_t tr


cdef inline void opt_update(node_t* n, float64_t x) noexcept nogil:
    # E_opt: running minimum of the values that are not NaN (earliest kept
    # on ties).
    if x == x and (not n.has_opt or x < n.e_opt):
        n.e_opt = x
        n.has_opt = True


cdef inline float64_t generalization_loss(const node_t* n, float64_t x) noexcept nogil:
    # GL(t) = 100 * (E_va(t) / E_opt(t) - 1), NaN before any non-NaN value.
    if not n.has_opt:
        return NAN
    return 100.0 * (x / n.e_opt - 1.0)


cdef bint node_update(node_t* nodes, const intp_t* kids, intp_t i,
                      const float64_t* v, int64_t t, int64_t step,
                      float64_t elapsed) noexcept nogil:
    cdef node_t* n = &nodes[i]
    cdef float64_t x, y, gl, pk
    cdef intp_t j
    cdef bint h = False
    if n.kind == K_PATIENCE:
        h = tracker_update(&n.tr, v[n.slot], step) == ACTION_STOP
    elif n.kind == K_THRESHOLD:
        x = v[n.slot]
        h = x < n.param if n.mode == MODE_MIN else x > n.param
    elif n.kind == K_DIVERGENCE:
        x = v[n.slot]
        h = x > n.param if n.mode == MODE_MIN else x < n.param
    elif n.kind == K_NONFINITE:
        h = not isfinite(v[n.slot])
    elif n.kind == K_TIMELIMIT:
        h = elapsed >= n.param
    elif n.kind == K_GL:
        x = v[n.slot]
        opt_update(n, x)
        h = generalization_loss(n, x) > n.param
    elif n.kind == K_PQ:
        x = v[n.slot]
        y = v[n.slot2]
        opt_update(n, x)
        if t % n.k == 1 or n.k == 1:   # first epoch of a strip
            n.strip_sum = y
            n.strip_min = y
        else:
            n.strip_sum = n.strip_sum + y
            if y < n.strip_min or n.strip_min != n.strip_min:
                n.strip_min = y
        if t % n.k == 0:
            pk = 1000.0 * (n.strip_sum / (<float64_t>n.k * n.strip_min) - 1.0)
            gl = generalization_loss(n, x)
            h = pk > 0.0 and gl / pk > n.param
    elif n.kind == K_UP:
        if t % n.k == 0:
            x = v[n.slot]
            if n.has_prev and x > n.prev_end:
                if n.rises < INT64_MAX:
                    n.rises += 1
            else:
                n.rises = 0
            n.prev_end = x
            n.has_prev = True
            h = n.rises >= n.s
    elif n.kind == K_ANY:
        for j in range(n.first, n.first + n.count):
            if nodes[kids[j]].holds:
                h = True
                break
    elif n.kind == K_ALL:
        h = n.count > 0
        for j in range(n.first, n.first + n.count):
            if not nodes[kids[j]].holds:
                h = False
                break
    n.holds = h
    return h


cdef intp_t engine_update(node_t* nodes, intp_t n_nodes, const intp_t* kids,
                          const float64_t* v, int64_t t, int64_t step,
                          float64_t elapsed) noexcept nogil:
    # Every node is updated (they all keep state); returns the node that
    # fired (the first holding member of an any_of, recursively), or -1.
    cdef intp_t i, j, r
    for i in range(n_nodes):
        node_update(nodes, kids, i, v, t, step, elapsed)
    r = n_nodes - 1
    if r < 0 or not nodes[r].holds:
        return -1
    while nodes[r].kind == K_ANY:
        for j in range(nodes[r].first, nodes[r].first + nodes[r].count):
            if nodes[kids[j]].holds:
                r = kids[j]
                break
    return r


cdef int _mode_code(mode) except -1:
    if mode == "min":
        return MODE_MIN
    if mode == "max":
        return MODE_MAX
    raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}")


cdef void _tracker_init(tracker_t* tr, int mode, float64_t min_delta,
                        int64_t patience, baseline) except *:
    memset(tr, 0, sizeof(tracker_t))
    tr.mode = mode
    tr.min_delta = abs(min_delta)
    tr.relative = False
    tr.f32 = True
    tr.stop = True
    tr.patience = patience
    tr.has_baseline = baseline is not None
    tr.baseline = float(baseline) if baseline is not None else 0.0
    tr.best_step = -1


cdef class CriteriaEngine:
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

    cdef node_t* _nodes
    cdef intp_t _n
    cdef intp_t* _kids
    cdef float64_t* _values
    cdef intp_t _n_slots
    cdef int64_t _t
    cdef bint _has_best
    cdef intp_t _best_slot
    cdef tracker_t _best
    cdef object _specs
    cdef object _best_spec
    cdef cython.pymutex _lock

    def __cinit__(self):
        self._nodes = NULL
        self._kids = NULL
        self._values = NULL

    def __init__(self, nodes, n_slots, best=None):
        specs = [tuple(s) for s in nodes]
        n_slots = int(n_slots)
        if n_slots < 0:
            raise ValueError(f"`n_slots` must be >= 0, got {n_slots}")
        n_kids = 0
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
                n_kids += len(spec[10])
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
        cdef node_t* nodes_ = <node_t*>PyMem_Malloc(max(len(specs), 1) * sizeof(node_t))
        cdef intp_t* kids_ = <intp_t*>PyMem_Malloc(max(n_kids, 1) * sizeof(intp_t))
        cdef float64_t* values_ = <float64_t*>PyMem_Malloc(max(n_slots, 1) * sizeof(float64_t))
        if nodes_ == NULL or kids_ == NULL or values_ == NULL:
            PyMem_Free(nodes_)
            PyMem_Free(kids_)
            PyMem_Free(values_)
            raise MemoryError()
        memset(nodes_, 0, max(len(specs), 1) * sizeof(node_t))
        cdef intp_t pos = 0
        cdef node_t* n
        try:
            for i, spec in enumerate(specs):
                kind, slot, slot2, mode, strip, s, param, min_delta, patience, baseline, children = spec
                n = &nodes_[i]
                n.kind = KINDS.index(kind)
                n.mode = _mode_code(mode)
                n.slot = slot
                n.slot2 = slot2
                n.k = strip
                n.s = s
                n.param = float(param)
                n.first = pos
                n.count = len(children) if kind in ("any", "all") else 0
                if kind in ("any", "all"):
                    for c in children:
                        kids_[pos] = c
                        pos += 1
                # Every node has a tracker (only patience uses it), so that
                # the state rows look the same for every kind.
                _tracker_init(&n.tr, n.mode, float(min_delta), patience, baseline)
            if best is not None:
                _tracker_init(&self._best, _mode_code(best[1]), float(best[2]),
                              INT64_MAX, None)
            else:
                _tracker_init(&self._best, MODE_MIN, 0.0, INT64_MAX, None)
        except BaseException:
            PyMem_Free(nodes_)
            PyMem_Free(kids_)
            PyMem_Free(values_)
            raise
        with self._lock:
            PyMem_Free(self._nodes)
            PyMem_Free(self._kids)
            PyMem_Free(self._values)
            self._nodes, self._kids, self._values = nodes_, kids_, values_
            self._n = len(specs)
            self._n_slots = n_slots
            self._t = 0
            self._has_best = best is not None
            self._best_slot = int(best[0]) if best is not None else 0
            self._specs = specs
            self._best_spec = tuple(best) if best is not None else None

    def __dealloc__(self):
        PyMem_Free(self._nodes)
        PyMem_Free(self._kids)
        PyMem_Free(self._values)

    def update(self, values, step, elapsed=0.0):
        """Feed one check's values; returns `(fired, improved)`.

        `fired` is the index of the node that made the root hold (the first
        holding member of an `any` node, recursively), or -1; `improved`
        whether the best-tracked value improved.
        """
        cdef intp_t i, fired
        cdef int64_t st = step
        cdef float64_t el = elapsed
        cdef bint improved = False
        if len(values) != self._n_slots:
            raise ValueError(f"expected {self._n_slots} values, got {len(values)}")
        with self._lock:
            for i in range(self._n_slots):
                self._values[i] = values[i]
            with nogil:
                self._t += 1
                fired = engine_update(self._nodes, self._n, self._kids,
                                      self._values, self._t, st, el)
                if self._has_best:
                    improved = tracker_update(
                        &self._best, self._values[self._best_slot], st) == ACTION_IMPROVED
        return fired, improved

    def holds(self):
        """Whether each node held at the last update, as a list of bools."""
        return [bool(self._nodes[i].holds) for i in range(self._n)]

    @property
    def t(self):
        """Number of updates so far (the epoch t of the definitions)."""
        return self._t

    @property
    def best(self):
        """Best value of the best-tracked slot, or None."""
        return self._best.best if (self._has_best and self._best.has_best) else None

    def reset(self):
        """Forgets all state, as before the first update."""
        self.set_state(None)

    def get_state(self):
        """The state as `{"t": int, "floats": array, "ints": array}` (one
        row per node and a last one for the best tracker; columns
        `FLOAT_FIELDS` and `INT_FIELDS`)."""
        f = np.zeros((self._n + 1, len(FLOAT_FIELDS)), dtype=np.float64)
        k = np.zeros((self._n + 1, len(INT_FIELDS)), dtype=np.int64)
        cdef node_t* n
        cdef tracker_t* tr
        with self._lock:
            for i in range(self._n + 1):
                if i < self._n:
                    n = &self._nodes[i]
                    tr = &n.tr
                    f[i, 0:4] = (n.e_opt, n.strip_sum, n.strip_min, n.prev_end)
                    k[i, 0:4] = (n.holds, n.has_opt, n.has_prev, n.rises)
                else:
                    tr = &self._best
                f[i, 4] = tr.best
                k[i, 4:8] = (tr.has_best, tr.best_step, tr.wait, tr.cooldown_counter)
            t = self._t
        return {"t": int(t), "floats": f, "ints": k}

    def set_state(self, state):
        """Restores what `get_state()` returned (`None`: the initial state)."""
        cdef node_t* n
        cdef tracker_t* tr
        if state is None:
            f = np.zeros((self._n + 1, len(FLOAT_FIELDS)), dtype=np.float64)
            k = np.zeros((self._n + 1, len(INT_FIELDS)), dtype=np.int64)
            k[:, 5] = -1
            t = 0
        else:
            f = np.asarray(state["floats"], dtype=np.float64)
            k = np.asarray(state["ints"], dtype=np.int64)
            t = int(state["t"])
            if f.shape != (self._n + 1, len(FLOAT_FIELDS)) or k.shape != (
                    self._n + 1, len(INT_FIELDS)):
                raise ValueError("`state` does not match this engine's nodes")
            if t < 0:
                raise ValueError(f"`state['t']` must be >= 0, got {t}")
        with self._lock:
            for i in range(self._n + 1):
                if i < self._n:
                    n = &self._nodes[i]
                    tr = &n.tr
                    n.e_opt, n.strip_sum, n.strip_min, n.prev_end = (
                        float(f[i, 0]), float(f[i, 1]), float(f[i, 2]), float(f[i, 3]))
                    n.holds, n.has_opt, n.has_prev = bool(k[i, 0]), bool(k[i, 1]), bool(k[i, 2])
                    n.rises = int(k[i, 3])
                else:
                    tr = &self._best
                tr.best = float(f[i, 4])
                tr.has_best = bool(k[i, 4])
                tr.best_step, tr.wait, tr.cooldown_counter = (
                    int(k[i, 5]), int(k[i, 6]), int(k[i, 7]))
            self._t = t

    def __reduce__(self):
        return (CriteriaEngine, (self._specs, self._n_slots, self._best_spec),
                self.get_state())

    def __setstate__(self, state):
        self.set_state(state)

    def __repr__(self):
        return f"CriteriaEngine(nodes={self._n}, t={self._t})"
