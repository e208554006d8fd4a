"""Stopping criteria that compose, for `fastcallbacks.StopWhen`.

Each criterion is a small, serialisable description; `StopWhen` flattens the
tree it is given into the compiled core (`fastcallbacks._core.criteria`),
which updates every criterion in one call per check.

Definitions (L. Prechelt, "Early Stopping — But When?", 1998), with epochs
counted from 1 (t = Keras epoch index + 1, or the number of checks when
checking every n steps or from `start_from_epoch`), E_va the monitored value
and E_tr the training value:

- E_opt(t) = min over t' <= t of E_va(t') (NaN values are left out).
- GL(t) = 100 * (E_va(t) / E_opt(t) - 1); `GL` holds when GL(t) > alpha.
- Strips have length k = `strip` and end at t = 0 (mod k).
- P_k(t) = 1000 * (sum of E_tr over the strip / (k * min of E_tr over the
  strip) - 1), the sum taken in epoch order.
- `PQ` holds at a strip end when P_k(t) > 0 and GL(t) / P_k(t) > alpha.
- `UP` holds at a strip end t when E_va rose at the end of s successive
  strips: E_va(t) > E_va(t - k) > ... > E_va(t - s*k); never before s
  complete earlier strips exist.
- `all_of` holds when every member holds at that check, `any_of` when any
  does. Every member is updated at every check (no short circuit).

Arithmetic is IEEE 754 double precision: a division by zero gives an
infinity or NaN, and a comparison with NaN is false, so a NaN never makes
GL, PQ or UP hold (use `NonFinite` for that).
"""

import numbers
import warnings
import weakref

__all__ = ["Criterion", "Patience", "Threshold", "Divergence", "NonFinite",
           "TimeLimit", "GL", "PQ", "UP", "any_of", "all_of", "serialize",
           "deserialize"]


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    return float(value)


def _positive(name, value):
    value = _real(name, value)
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0, got {value}")
    return value


def _int_at_least(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def _monitor(name, value):
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, got {value!r}")
    return value


def _mode(cls, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(
            f"{cls}: `mode` must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


class Criterion:
    """Base class of the stopping criteria.

    A criterion is a description (its arguments); its state lives in the
    `StopWhen` callback that uses it. One criterion object can be used by one
    callback at a time.
    """

    _kind = None
    _args = ()        # constructor arguments, in order, for config and repr
    _required = 0     # how many of them are always shown in the repr

    def get_config(self):
        """The constructor arguments, as a JSON-able dict."""
        return {name: getattr(self, name) for name in self._args}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def monitors(self):
        """The metric names this criterion reads, in order."""
        return ()

    @property
    def name(self):
        """The name `StopWhen.stop_reason` gives this criterion."""
        return repr(self)

    def __repr__(self):
        parts = []
        for i, name in enumerate(self._args):
            value = getattr(self, name)
            default = self._defaults().get(name, _NO_DEFAULT)
            if i < self._required or value != default:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @classmethod
    def _defaults(cls):
        defaults = _DEFAULTS.get(cls)
        if defaults is None:
            import inspect

            defaults = {p.name: p.default for p in inspect.signature(cls).parameters.values()
                        if p.default is not inspect.Parameter.empty}
            _DEFAULTS[cls] = defaults
        return defaults

    def _children(self):
        return ()

    def _spec(self, slots, modes, children):
        """The core node specification (see `CriteriaEngine`)."""
        raise NotImplementedError


_NO_DEFAULT = object()
_DEFAULTS = {}   # class -> its constructor's defaults (for the repr)


def _node(kind, slot=-1, slot2=-1, mode="min", strip=0, s=0, param=0.0,
          min_delta=0.0, patience=0, baseline=None, children=()):
    return (kind, slot, slot2, mode, strip, s, param, min_delta, patience,
            baseline, tuple(children))


class Patience(Criterion):
    """Keras's rule: no improvement for `patience` epochs.

    Decides exactly as `keras.callbacks.EarlyStopping` with the same
    arguments (the same float32 comparison, baseline and `min_delta`; never
    at the first epoch).

    Args:
        monitor: Quantity to be monitored.
        patience: Number of checks with no improvement after which the
            criterion holds.
        min_delta: Minimum change that counts as an improvement. Defaults
            to `0`.
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`: the
            direction is taken from the compiled metric of that name.
        baseline: Value to beat before patience restarts. Defaults to `None`.
    """

    _kind = "patience"
    _args = ("monitor", "patience", "min_delta", "mode", "baseline")
    _required = 2

    def __init__(self, monitor, patience, min_delta=0, mode="auto", baseline=None):
        from .monitor_callback import _check_count  # Keras's count rules

        self.monitor = _monitor("monitor", monitor)
        _check_count("patience", patience)
        self.patience = patience
        self.min_delta = abs(_real("min_delta", min_delta))
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"Patience mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.mode = mode
        self.baseline = None if baseline is None else _real("baseline", baseline)

    @property
    def monitors(self):
        return (self.monitor,)

    def _spec(self, slots, modes, children):
        from .monitor_callback import _ceil_count

        return _node("patience", slots[self.monitor], mode=modes[id(self)],
                     min_delta=self.min_delta, patience=_ceil_count(self.patience),
                     baseline=self.baseline)


class _Bound(Criterion):
    _args = ("monitor", "value", "mode")
    _required = 2

    def __init__(self, monitor, value, mode="auto"):
        self.monitor = _monitor("monitor", monitor)
        self.value = _real("value", value)
        self.mode = _mode(type(self).__name__, mode)

    @property
    def monitors(self):
        return (self.monitor,)

    def _spec(self, slots, modes, children):
        return _node(self._kind, slots[self.monitor], mode=modes[id(self)],
                     param=self.value)


class Threshold(_Bound):
    """Holds once the monitored value is strictly better than `value`.

    Args:
        monitor: Quantity to be monitored.
        value: The target (`< value` in `"min"` mode, `> value` in `"max"`).
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`.
    """

    _kind = "threshold"


class Divergence(_Bound):
    """Holds once the monitored value is strictly worse than `value`.

    Args:
        monitor: Quantity to be monitored.
        value: The bound (`> value` in `"min"` mode, `< value` in `"max"`).
        mode: One of `{"auto", "min", "max"}`. Defaults to `"auto"`.
    """

    _kind = "divergence"


class NonFinite(Criterion):
    """Holds when the monitored value is NaN or infinite.

    Args:
        monitor: Quantity to be monitored. Defaults to `"loss"`.
    """

    _kind = "nonfinite"
    _args = ("monitor",)
    _required = 1

    def __init__(self, monitor="loss"):
        self.monitor = _monitor("monitor", monitor)

    @property
    def monitors(self):
        return (self.monitor,)

    def _spec(self, slots, modes, children):
        return _node("nonfinite", slots[self.monitor])


class TimeLimit(Criterion):
    """Holds once `seconds` have passed since training began.

    Args:
        seconds: Wall-clock time budget in seconds (checked at each check).
    """

    _kind = "timelimit"
    _args = ("seconds",)
    _required = 1

    def __init__(self, seconds):
        seconds = _real("seconds", seconds)
        if not seconds >= 0:
            raise ValueError(f"`seconds` must be >= 0, got {seconds}")
        self.seconds = seconds

    def _spec(self, slots, modes, children):
        return _node("timelimit", param=self.seconds)


class GL(Criterion):
    """Prechelt's generalization loss: holds when GL(t) > alpha.

    Args:
        alpha: Threshold in percent of the best value (> 0).
        monitor: Validation quantity, to be minimised. Defaults to
            `"val_loss"`.
    """

    _kind = "gl"
    _args = ("alpha", "monitor")
    _required = 1

    def __init__(self, alpha, monitor="val_loss"):
        self.alpha = _positive("alpha", alpha)
        self.monitor = _monitor("monitor", monitor)

    @property
    def monitors(self):
        return (self.monitor,)

    def _spec(self, slots, modes, children):
        return _node("gl", slots[self.monitor], param=self.alpha)


class PQ(Criterion):
    """Prechelt's quotient of generalization loss and progress.

    Holds at a strip end when P_k(t) > 0 and GL(t) / P_k(t) > alpha.

    Args:
        alpha: Threshold (> 0).
        strip: Strip length k (>= 1). Defaults to `5`.
        monitor: Validation quantity. Defaults to `"val_loss"`.
        train_monitor: Training quantity. Defaults to `"loss"`.
    """

    _kind = "pq"
    _args = ("alpha", "strip", "monitor", "train_monitor")
    _required = 1

    def __init__(self, alpha, strip=5, monitor="val_loss", train_monitor="loss"):
        self.alpha = _positive("alpha", alpha)
        self.strip = _int_at_least("strip", strip, 1)
        self.monitor = _monitor("monitor", monitor)
        self.train_monitor = _monitor("train_monitor", train_monitor)

    @property
    def monitors(self):
        return (self.monitor, self.train_monitor)

    def _spec(self, slots, modes, children):
        return _node("pq", slots[self.monitor], slots[self.train_monitor],
                     strip=self.strip, param=self.alpha)


class UP(Criterion):
    """Prechelt's UP_s: the value rose at the end of `s` successive strips.

    Args:
        s: Number of successive strips (>= 1).
        strip: Strip length k (>= 1). Defaults to `5`.
        monitor: Validation quantity. Defaults to `"val_loss"`.
    """

    _kind = "up"
    _args = ("s", "strip", "monitor")
    _required = 1

    def __init__(self, s, strip=5, monitor="val_loss"):
        self.s = _int_at_least("s", s, 1)
        self.strip = _int_at_least("strip", strip, 1)
        self.monitor = _monitor("monitor", monitor)

    @property
    def monitors(self):
        return (self.monitor,)

    def _spec(self, slots, modes, children):
        return _node("up", slots[self.monitor], strip=self.strip, s=self.s)


class _Combinator(Criterion):
    _function = None

    def __init__(self, *criteria):
        if not criteria:
            raise ValueError(f"{self._function}() needs at least one criterion")
        for c in criteria:
            if not isinstance(c, Criterion):
                raise TypeError(
                    f"{self._function}() takes criteria, got {c!r}")
        self.criteria = tuple(criteria)

    def _children(self):
        return self.criteria

    @property
    def monitors(self):
        out = []
        for c in self.criteria:
            out.extend(m for m in c.monitors if m not in out)
        return tuple(out)

    def get_config(self):
        return {"criteria": [serialize(c) for c in self.criteria]}

    @classmethod
    def from_config(cls, config):
        return cls(*(deserialize(c) for c in config["criteria"]))

    def __repr__(self):
        return f"{self._function}({', '.join(repr(c) for c in self.criteria)})"

    def _spec(self, slots, modes, children):
        return _node(self._kind, children=children)


class AnyOf(_Combinator):
    """Holds when any member holds (built by `any_of`)."""

    _kind = "any"
    _function = "any_of"


class AllOf(_Combinator):
    """Holds when every member holds at the same check (built by `all_of`)."""

    _kind = "all"
    _function = "all_of"


def any_of(*criteria):
    """A criterion that holds when any of `criteria` holds.

    `StopWhen.stop_reason` then names the first member that held.
    """
    return AnyOf(*criteria)


def all_of(*criteria):
    """A criterion that holds when every one of `criteria` holds at once.

    Several monitors: `all_of(Patience("val_loss", 5),
    Patience("val_auc", 5, mode="max"))` stops once both stall.
    """
    return AllOf(*criteria)


_CLASSES = {c.__name__: c for c in (Patience, Threshold, Divergence, NonFinite,
                                    TimeLimit, GL, PQ, UP, AnyOf, AllOf)}


def serialize(criterion):
    """`{"class_name": ..., "config": ...}` of a criterion (JSON-able)."""
    return {"class_name": type(criterion).__name__, "config": criterion.get_config()}


def deserialize(config):
    """The criterion that `serialize` described."""
    if isinstance(config, Criterion):
        return config
    try:
        cls = _CLASSES[config["class_name"]]
    except KeyError:
        raise ValueError(f"Unknown criterion: {config!r}") from None
    return cls.from_config(dict(config["config"]))


# -- flattening (used by StopWhen) -----------------------------------------------


def _walk(criterion):
    """The criteria of a tree in postfix order (children first)."""
    out = []

    def visit(c):
        for child in c._children():
            visit(child)
        out.append(c)

    visit(criterion)
    return out


def flatten(criterion, modes):
    """(node specs, monitor names) of a tree; `modes` maps `id(criterion)`
    to the resolved direction of the criteria that have a `mode`."""
    order = _walk(criterion)
    monitors = list(criterion.monitors)
    slots = {m: i for i, m in enumerate(monitors)}
    index = {id(c): i for i, c in enumerate(order)}
    specs = []
    for c in order:
        children = [index[id(child)] for child in c._children()]
        specs.append(c._spec(slots, modes, children))
    return specs, monitors, order


def claim(criterion, owner):
    """Marks every criterion of the tree as used by `owner`; raises
    ValueError if one is used twice in the tree or by another live owner."""
    order = _walk(criterion)
    seen = set()
    for c in order:
        if id(c) in seen:
            raise ValueError(
                f"The criterion {c!r} appears twice in {criterion!r}: create "
                "one criterion object per use.")
        seen.add(id(c))
        ref = getattr(c, "_owner", None)
        current = ref() if ref is not None else None
        if current is not None and current is not owner:
            raise ValueError(
                f"The criterion {c!r} is already used by another callback "
                f"({current!r}): create one criterion object per callback.")
    for c in order:
        c._owner = weakref.ref(owner)

