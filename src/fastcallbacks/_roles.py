"""Which process writes files when several train together.

One place in the library decides it: decisions (when to stop, reduce the
learning rate or save) run on every worker from the same logs, and only the
file writes are gated by `is_writer()`. Roles come from public APIs only,
first match wins:

1. TensorFlow: the model's `distribute_strategy` (hooks run outside the
   strategy scope, so never `tf.distribute.get_strategy()`): its
   `cluster_resolver` gives the task and the cluster size, and
   `extended.should_checkpoint` says who writes (the chief).
2. JAX: `jax.process_index()` / `jax.process_count()` when
   `jax.distributed` is initialised, with or without a Keras distribution.
3. torch: `torch.distributed.get_rank()` / `get_world_size()` when
   initialised.
4. The `RANK` / `WORLD_SIZE` environment variables (torchrun, MPI
   launchers), as the last resort.

Anything else is a single process, which writes. No backend is imported
here; a backend module is only looked at when the program already imported
it.
"""

import os
import sys


def check_writer_arg(writer, who):
    """Validates the `writer=` argument shared by the file-writing callbacks."""
    if writer is not None and not isinstance(writer, bool):
        raise TypeError(f"{who}: `writer` must be None, True or False, got {writer!r}")
    return writer


def _tf_info(model):
    """(index, count, writer) from the model's TF strategy, or None."""
    if "tensorflow" not in sys.modules or model is None:
        return None
    try:
        strategy = getattr(model, "distribute_strategy", None)
    except Exception:  # pragma: no cover - a backend without strategies
        return None
    if strategy is None:
        return None
    should = getattr(getattr(strategy, "extended", None), "should_checkpoint", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    index, count = 0, 1
    task_type = getattr(resolver, "task_type", None)
    if resolver is not None and task_type is not None:
        try:
            spec = resolver.cluster_spec().as_dict()
        except Exception:  # pragma: no cover - a resolver without a spec
            spec = {}
        chiefs = len(spec.get("chief", ()))
        workers = spec.get("worker", ())
        count = chiefs + len(workers)
        task_id = int(getattr(resolver, "task_id", 0) or 0)
        index = task_id if task_type == "chief" else chiefs + task_id
    if should is None:
        if count <= 1:
            return None
        should = index == 0
    return max(count, 1), index, bool(should)


def _jax_info():
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    try:
        if not jax.distributed.is_initialized():
            return None
        return jax.process_count(), jax.process_index()
    except Exception:  # pragma: no cover - a jax without these APIs
        return None


def _torch_info():
    torch = sys.modules.get("torch")
    dist_mod = getattr(torch, "distributed", None) if torch is not None else None
    try:
        if dist_mod is not None and dist_mod.is_available() and dist_mod.is_initialized():
            return dist_mod.get_world_size(), dist_mod.get_rank()
    except Exception:  # pragma: no cover
        pass
    return None


def _env_info():
    rank, size = os.environ.get("RANK"), os.environ.get("WORLD_SIZE")
    if rank is None or size is None:
        return None
    try:
        return max(int(size), 1), int(rank)
    except ValueError:
        return None


def process_info(model=None):
    """`(count, index, writer)` for this process.

    `count` is how many processes train together, `index` this process's
    place among them (0 for a single process) and `writer` whether it
    writes files.
    """
    tf_info = _tf_info(model)
    if tf_info is not None and tf_info[0] > 1:
        return tf_info
    for found in (_jax_info(), _torch_info(), _env_info()):
        if found is not None and found[0] > 1:
            count, index = found
            return count, index, index == 0
    if tf_info is not None:
        return tf_info   # a one-process strategy: its own answer (True)
    return 1, 0, True


def process_count(model=None):
    """How many processes train `model` together (1 when not distributed)."""
    return process_info(model)[0]


def process_index(model=None):
    """This process's index among those training `model` (0 when alone)."""
    return process_info(model)[1]


def is_writer(model, writer=None):
    """True if this process should write files for `model`.

    `writer` (a callback's `writer=` argument) overrides the detection when
    it is not None: `True` writes, `False` never writes, whatever the role.
    """
    if writer is not None:
        return bool(writer)
    return process_info(model)[2]
