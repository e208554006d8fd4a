"""Which process writes files when several train together.

One place in the library decides it: decisions (when to stop, reduce the
learning rate or save) run on every worker from the same logs, and only the
file writes are gated by `is_writer()`. No backend is imported here; a backend module is only
looked at when the program already imported it.
"""

import os
import sys


def is_writer(model):
    """True if this process should write checkpoint files for `model`.

    * TensorFlow: `model.distribute_strategy.extended.should_checkpoint`
      (True on the chief, and for the default and mirrored strategies).
    * JAX with `keras.distribution`: process 0.
    * torch with an initialised `torch.distributed`: rank 0.
    * Anything else (a single process): True.
    """
    strategy = None
    try:
        strategy = getattr(model, "distribute_strategy", None)
    except Exception:  # pragma: no cover - a backend without strategies
        strategy = None
    if strategy is not None:
        should = getattr(getattr(strategy, "extended", None), "should_checkpoint", None)
        if should is not None:
            return bool(should)
    try:
        from keras import distribution

        dist = distribution.distribution()
    except Exception:  # pragma: no cover - backends without distribution
        dist = None
    if dist is not None and getattr(dist, "_num_processes", 1) > 1:
        return getattr(dist, "_process_id", 0) == 0
    torch = sys.modules.get("torch")
    if torch is not None:
        dist_mod = getattr(torch, "distributed", None)
        try:
            if dist_mod is not None and dist_mod.is_available() and dist_mod.is_initialized():
                return dist_mod.get_rank() == 0
        except Exception:  # pragma: no cover
            pass
    rank = os.environ.get("RANK")
    if rank is not None and os.environ.get("WORLD_SIZE", "1") != "1":
        return rank == "0"
    return True
