"""One small all-gather through the training engine's own collective.

`gather_rows(model, row)` gives every process the rows of all processes
(row `i` is process `i`'s), through:

* TensorFlow (`MultiWorkerMirroredStrategy`): `strategy.reduce("SUM", ...)`
  of a matrix where each process fills its own row;
* JAX (`jax.distributed` initialised):
  `jax.experimental.multihost_utils.process_allgather`;
* torch (`torch.distributed` initialised): `all_reduce` (sum) of the same
  matrix.

Every process must call it at the same point, the same number of times: it
is a collective. Column 0 of every row is 1 on the sending process; the
engines that count a process once per local replica (a TF worker with
several devices) give a larger value there, which `gather_rows` divides
out, so callers see exactly the rows that were sent.
"""

import sys

import numpy as np

from . import _roles


class NoCollective(RuntimeError):
    """Several processes train, but no engine collective is reachable."""


def _engine(model):
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow" and model is not None:
        try:
            strategy = model.distribute_strategy
        except Exception:  # pragma: no cover
            strategy = None
        if strategy is not None and _roles._tf_info(model) is not None \
                and _roles._tf_info(model)[0] > 1:
            return "tensorflow", strategy
    if _roles._jax_info() is not None and _roles._jax_info()[0] > 1:
        return "jax", None
    if _roles._torch_info() is not None and _roles._torch_info()[0] > 1:
        return "torch", None
    return None, None


def engine_name(model):
    """The collective `gather_rows` would use for `model`, or None."""
    return _engine(model)[0]


def gather_rows(model, row):
    """All processes' `row`s (1-D float64, same length everywhere), stacked."""
    row = np.asarray(row, dtype=np.float64).reshape(-1)
    count, index, _ = _roles.process_info(model)
    if count <= 1:
        return row[None, :].copy()
    engine, strategy = _engine(model)
    if engine == "jax":
        from jax.experimental import multihost_utils

        out = np.asarray(multihost_utils.process_allgather(row), dtype=np.float64)
        return out.reshape(count, row.size)
    matrix = np.zeros((count, row.size), dtype=np.float64)
    matrix[index] = row
    if engine == "tensorflow":
        tf = sys.modules["tensorflow"]
        out = strategy.reduce("SUM", tf.constant(matrix), axis=None)
        out = np.asarray(out, dtype=np.float64).reshape(count, row.size)
    elif engine == "torch":
        torch = sys.modules["torch"]
        tensor = torch.from_numpy(matrix)
        if torch.distributed.get_backend() == "nccl":  # pragma: no cover - GPU only
            tensor = tensor.cuda()
        torch.distributed.all_reduce(tensor)
        out = tensor.cpu().numpy().astype(np.float64).reshape(count, row.size)
    else:
        raise NoCollective(
            f"{count} processes train (RANK/WORLD_SIZE), but none of the engines "
            "fastcallbacks agrees through (a TensorFlow multi-worker strategy, "
            "jax.distributed, torch.distributed) is initialised in this process")
    weight = out[:, :1].copy()
    weight[weight == 0] = 1.0
    return out / weight
