"""The opt-in fix that lets Keras 3 `fit` run under multi-worker MWMS.

Keras 3 (checked on 3.12 to 3.15) cannot train under TensorFlow's
`MultiWorkerMirroredStrategy` with more than one worker (Keras bugs
tensorflow/tensorflow#72388 and keras-team/keras#20585), both in
`keras/src/backend/tensorflow/trainer.py`:

1. `TensorFlowTrainer._maybe_symbolic_build` reduces the whole first data
   batch (a nest of `PerReplica` values) with `strategy.reduce(...,
   axis=None)`, which the multi-worker collective path cannot take
   ("Attempt to convert a value (PerReplica:...").
2. `reduce_per_replica` reduces the scalar metric results of each step
   with `axis=0` in multi-worker mode ("Invalid reduction dimension 0 for
   input with 0 dimensions").

The fix replaces both, in multi-worker mode only: the symbolic build gets
this worker's local replica batch (it needs only shapes and dtypes, so no
communication), and scalars are reduced with `axis=None`. Everything else
goes to Keras's own functions unchanged. These are private parts of Keras:
the fix checks that they are still the ones described here and refuses
otherwise.
"""

import inspect
import sys

_APPLIED = {}

_BUG1 = "distribute_strategy.reduce("
_BUG2 = 'strategy.reduce("MEAN", v, axis=0)'


def _sources(tft):
    build = getattr(getattr(tft, "TensorFlowTrainer", None), "_maybe_symbolic_build", None)
    reduce = getattr(tft, "reduce_per_replica", None)
    multi = getattr(tft, "_collective_all_reduce_multi_worker", None)
    if build is None or reduce is None or multi is None:
        return None
    try:
        params = list(inspect.signature(build).parameters)
        if params != ["self", "iterator", "data_batch"]:
            return None
        if list(inspect.signature(reduce).parameters) != ["values", "strategy", "reduction"]:
            return None
        return inspect.getsource(build), inspect.getsource(reduce)
    except (OSError, TypeError, ValueError):
        return None


def enable_keras_multiworker():
    """Lets Keras 3 `fit` train under multi-worker `MultiWorkerMirroredStrategy`.

    Opt-in and version-guarded: it patches two private functions of the
    installed Keras's TensorFlow trainer (for the Keras bugs
    tensorflow/tensorflow#72388 and keras-team/keras#20585), only after
    checking that they are the ones it was written for, and only changes
    what they do in multi-worker mode. Call it once, on every worker,
    before `fit`; calling it again does nothing. See `docs/distributed.md`
    for what it changes, and for the JAX path, which needs no patch.

    Returns:
        `True` when this call applied the fix, `False` when it was already
        applied.

    Raises:
        RuntimeError: The Keras backend is not TensorFlow, Keras's internals
            differ from the ones the fix was written for, or the installed
            Keras no longer has the bugs (nothing is patched then).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "enable_keras_multiworker: the Keras backend is "
            f"{keras.backend.backend()!r}; the fix is for the TensorFlow backend "
            "(JAX multi-process training needs no fix)")
    from ._keras_internals import tensorflow_trainer_module

    tft = tensorflow_trainer_module()

    if _APPLIED.get("module") is tft:
        return False
    found = _sources(tft)
    if found is None:
        raise RuntimeError(
            f"enable_keras_multiworker: Keras {keras.__version__}'s TensorFlow trainer "
            "differs from the one this fix was written for (TensorFlowTrainer."
            "_maybe_symbolic_build, reduce_per_replica); nothing was patched")
    build_src, reduce_src = found
    has1, has2 = _BUG1 in build_src, _BUG2 in reduce_src
    if not has1 and not has2:
        raise RuntimeError(
            f"enable_keras_multiworker: Keras {keras.__version__} no longer reduces the "
            "data batch in _maybe_symbolic_build nor scalars with axis=0 in "
            "reduce_per_replica: the bugs look fixed; nothing was patched")
    if has1 != has2:
        raise RuntimeError(
            f"enable_keras_multiworker: Keras {keras.__version__} has one of the two bugs "
            f"(symbolic build: {has1}, scalar reduce: {has2}), a state this fix was not "
            "written for; nothing was patched")
    tf = sys.modules["tensorflow"]
    original_build = tft.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = tft.reduce_per_replica
    multi_worker = tft._collective_all_reduce_multi_worker

    def local(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is not None and strategy is not None and multi_worker(strategy):
            for _, _, it in iterator:
                data_batch = keras.tree.map_structure(
                    lambda v: local(strategy, v), next(it))
                break
            iterator = None
        return original_build(self, iterator=iterator, data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy) \
                and not isinstance(strategy, tf.distribute.TPUStrategy):
            def reduce(v):
                rank = local(strategy, v).shape.rank
                return strategy.reduce("MEAN", v, axis=0 if rank else None)

            return keras.tree.map_structure(reduce, values)
        return original_reduce(values, strategy, reduction)

    _maybe_symbolic_build.__wrapped__ = original_build
    reduce_per_replica.__wrapped__ = original_reduce
    tft.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    tft.reduce_per_replica = reduce_per_replica
    _APPLIED["module"] = tft
    return True
