# Stubs for fastcallbacks._core.criteria (cyext/fastcallbacks/_core/criteria.pyx).
# C-level types are noted in trailing comments.
from typing import Any, Final, Literal, Sequence, SupportsFloat, SupportsIndex, TypeAlias

_Kind: TypeAlias = Literal["patience", "threshold", "divergence", "nonfinite", "timelimit",
                           "gl", "pq", "up", "any", "all"]
# (kind, slot, slot2, mode, strip, s, param, min_delta, patience, baseline, children)
_Spec: TypeAlias = tuple[_Kind, int, int, Literal["min", "max"], int, int, float, float, int,
                         float | None, tuple[int, ...]]

KINDS: Final[tuple[str, ...]]
FLOAT_FIELDS: Final[tuple[str, ...]]
INT_FIELDS: Final[tuple[str, ...]]

class CriteriaEngine:
    def __init__(
        self,
        nodes: Sequence[_Spec],  # node_t[] in postfix order
        n_slots: SupportsIndex,  # intp_t
        best: tuple[int, Literal["min", "max"], float] | None = None,  # tracker_t
    ) -> None: ...
    def update(
        self,
        values: Sequence[SupportsFloat],  # float64_t[n_slots]
        step: SupportsIndex,  # int64_t
        elapsed: SupportsFloat = 0.0,  # float64_t, seconds
    ) -> tuple[int, bool]: ...  # (intp_t fired, bint improved)
    def holds(self) -> list[bool]: ...
    @property
    def t(self) -> int: ...  # int64_t
    @property
    def best(self) -> float | None: ...  # float64_t
    def reset(self) -> None: ...
    def get_state(self) -> dict[str, Any]: ...
    def set_state(self, state: dict[str, Any] | None) -> None: ...
    def __repr__(self) -> str: ...
