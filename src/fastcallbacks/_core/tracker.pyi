# Stubs for fastcallbacks._core.tracker (cyext/fastcallbacks/_core/tracker.pyx).
# C-level types are noted in trailing comments.
from typing import Final, Literal, SupportsFloat, SupportsIndex, SupportsInt, TypeAlias

_FloatLike: TypeAlias = SupportsFloat | SupportsIndex | str | bytes
_IntLike: TypeAlias = SupportsInt | SupportsIndex | str | bytes
_Action: TypeAlias = Literal[0, 1, 2, 3, 4, 5]

# Action codes returned by BestTracker.update().
SKIP: Final = 0  # ACTION_SKIP
IMPROVED: Final = 1  # ACTION_IMPROVED
WAIT: Final = 2  # ACTION_WAIT
COOLDOWN: Final = 3  # ACTION_COOLDOWN
STOP: Final = 4  # ACTION_STOP
REDUCE: Final = 5  # ACTION_REDUCE

class BestTracker:
    def __init__(
        self,
        mode: Literal["min", "max"] = "min",  # int: MODE_MIN / MODE_MAX
        min_delta: float = 0.0,  # float64_t, sign ignored
        patience: int = 0,  # int64_t, >= 0
        baseline: float | None = None,  # float64_t + bint has_baseline
        start_from: int = 0,  # int64_t, >= 0
        cooldown: int = 0,  # int64_t, >= 0
        threshold_mode: Literal["abs", "rel"] = "abs",  # bint relative
        on_patience: Literal["stop", "reduce"] = "stop",  # bint stop
        float32: bool = True,  # bint
    ) -> None: ...
    def update(
        self,
        value: _FloatLike,  # float64_t
        step: _IntLike,  # int64_t
    ) -> _Action: ...  # int
    def is_better(
        self,
        value: _FloatLike,  # float64_t
        reference: _FloatLike,  # float64_t
    ) -> bool: ...  # bint
    def start_cooldown(self) -> None: ...
    def reset(self) -> None: ...
    @property
    def mode(self) -> Literal["min", "max"]: ...
    @mode.setter
    def mode(self, value: Literal["min", "max"]) -> None: ...
    @property
    def min_delta(self) -> float: ...  # float64_t
    @min_delta.setter
    def min_delta(self, value: _FloatLike) -> None: ...  # float64_t, signed (negative loosens)
    @property
    def threshold_mode(self) -> Literal["abs", "rel"]: ...
    @property
    def on_patience(self) -> Literal["stop", "reduce"]: ...
    @property
    def float32(self) -> bool: ...  # bint
    @float32.setter
    def float32(self, value: object) -> None: ...  # bint
    @property
    def patience(self) -> int: ...  # int64_t
    @patience.setter
    def patience(self, value: int) -> None: ...  # int64_t, >= 0
    @property
    def cooldown(self) -> int: ...  # int64_t
    @cooldown.setter
    def cooldown(self, value: int) -> None: ...  # int64_t, >= 0
    @property
    def start_from(self) -> int: ...  # int64_t
    @property
    def baseline(self) -> float | None: ...  # float64_t
    @baseline.setter
    def baseline(self, value: _FloatLike | None) -> None: ...
    @property
    def best(self) -> float | None: ...  # float64_t; None before the first update
    @best.setter
    def best(self, value: _FloatLike | None) -> None: ...
    @property
    def best_step(self) -> int: ...  # int64_t; -1 before the first update
    @best_step.setter
    def best_step(self, value: _IntLike) -> None: ...  # int64_t
    @property
    def wait(self) -> int: ...  # int64_t
    @wait.setter
    def wait(self, value: _IntLike) -> None: ...  # int64_t
    @property
    def cooldown_counter(self) -> int: ...  # int64_t
    @cooldown_counter.setter
    def cooldown_counter(self, value: _IntLike) -> None: ...  # int64_t
    def __repr__(self) -> str: ...
