"""Roles, `writer=`, AgreeOnStop and the MWMS fix in one process.

The collective is replaced by a stand-in that plays the peer's row, so the
agreement logic (stop flags, deferred errors, messages) is checked through
direct hook calls in milliseconds; `test_two_processes.py` runs it for real.
"""

import numpy as np
import pytest

import fastcallbacks
import peer_standin  # tests/distributed/peer_standin.py
from fastcallbacks import _roles, distributed

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d"),
                          keras.layers.Dense(1, name="o")])
    m.compile(optimizer="sgd", loss="mse")
    return m


# -- roles ---------------------------------------------------------------------------

def test_single_process(model):
    assert _roles.process_info(model) == (1, 0, True)
    assert distributed.is_writer(model) is True


@pytest.mark.parametrize("rank,writes", [("0", True), ("1", False)])
def test_rank_and_world_size_last_resort(monkeypatch, rank, writes):
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _roles.process_info(None) == (2, int(rank), writes)
    assert _roles.is_writer(None, writer=not writes) is (not writes)   # override wins


def test_world_size_one_is_single(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert _roles.process_info(None) == (1, 0, True)


@pytest.mark.parametrize("cls,args", [
    (fastcallbacks.ActivationLogger, ("a.npz", np.zeros((2, 3)))),
    (fastcallbacks.ModelCheckpoint, ("m.keras",)),
])
def test_writer_must_be_a_bool(cls, args):
    with pytest.raises(TypeError, match="writer"):
        cls(*args, writer="yes")


@pytest.mark.parametrize("writer", [False, None])
def test_activation_logger_non_writer_runs_forward_but_writes_nothing(
        tmp_path, model, monkeypatch, writer):
    if writer is None:   # process 1 of 2, by the environment
        monkeypatch.setenv("RANK", "1")
        monkeypatch.setenv("WORLD_SIZE", "2")
    logger = fastcallbacks.ActivationLogger(tmp_path / "a.npz", np.ones((4, 3)),
                                            writer=writer)
    calls = []
    real = logger._forward
    logger._forward = lambda: calls.append(1) or real()
    logger.set_model(model)
    logger.on_train_begin()
    logger.on_epoch_end(0)
    logger.on_train_end()
    assert calls == [1] and list(tmp_path.iterdir()) == []


# -- AgreeOnStop ----------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(every_n_steps=0), dict(every_n_steps=True),
                                dict(timeout=0), dict(timeout="1")])
def test_bad_arguments(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        fastcallbacks.AgreeOnStop(**kw)


def test_one_process_does_nothing(model):
    agree = fastcallbacks.AgreeOnStop(every_n_steps=1)
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[agree])
    assert agree.agreements == 0


@pytest.fixture
def two(monkeypatch):
    """This process is index 0 of 2; the peer sends `peer` (a dict)."""
    return peer_standin.install(monkeypatch)


def test_a_peers_stop_stops_everyone(model, two):
    peer, sent = two
    agree = fastcallbacks.AgreeOnStop()
    agree.set_model(model)
    model.stop_training = False
    agree.on_epoch_end(0)
    assert model.stop_training is False
    peer["stop"] = 1.0
    agree.on_epoch_end(1)
    assert model.stop_training is True
    assert [r[1] for r in sent] == [0.0, 0.0] and agree.agreements == 2
    agree.on_train_end()


def test_a_peers_failure_is_raised_here(model, two):
    peer, _ = two
    peer["error"] = "ModelCheckpoint.on_epoch_end: OSError: disk full"
    agree = fastcallbacks.AgreeOnStop()
    agree.set_model(model)
    with pytest.raises(distributed.DistributedFailure,
                       match="process 1: ModelCheckpoint.on_epoch_end: OSError: disk full") as e:
        agree.on_epoch_end(0)
    assert e.value.failures == {1: peer["error"]}


def test_a_local_hook_error_waits_for_the_agreement(model, two, tmp_path):
    _, sent = two
    ckpt = fastcallbacks.ModelCheckpoint(tmp_path / "m.keras")
    agree = fastcallbacks.AgreeOnStop()
    for cb in (ckpt, agree):
        cb.set_model(model)

    def boom(*args, **kwargs):
        raise OSError("no space left")

    ckpt._save_model = boom
    ckpt.on_epoch_end(0, {"val_loss": 1.0})        # deferred, not raised
    with pytest.raises(distributed.DistributedFailure,
                       match=r"process 0: ModelCheckpoint.on_epoch_end: OSError: no space") as e:
        agree.on_epoch_end(0)
    assert isinstance(e.value.__cause__, OSError)
    assert sent[-1][2] == 1.0


def test_without_agree_on_stop_errors_raise_at_once(model, two, tmp_path):
    ckpt = fastcallbacks.ModelCheckpoint(tmp_path / "m.keras")
    ckpt.set_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]))

    def boom(*args, **kwargs):
        raise OSError("no space left")

    ckpt._save_model = boom
    with pytest.raises(OSError, match="no space"):
        ckpt.on_epoch_end(0, {"val_loss": 1.0})


def test_early_stopping_agrees_when_no_agree_on_stop(two):
    peer, sent = two
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    early = fastcallbacks.EarlyStopping(monitor="loss", patience=5)
    early.set_model(m)
    early.on_train_begin()
    m.stop_training = False
    peer["stop"] = 1.0
    early.on_epoch_end(0, {"loss": 1.0})
    assert len(sent) == 1 and m.stop_training is True


# -- enable_keras_multiworker ----------------------------------------------------------

def _fixed_build(self, iterator=None, data_batch=None):
    return None


def _fixed_reduce(values, strategy, reduction):
    return values


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fix is for TF")
@pytest.mark.parametrize("case,match", [
    ("fixed", "bugs look fixed"),
    ("differs", "differs from the one"),
])
def test_mwms_fix_refuses(monkeypatch, case, match):
    from fastcallbacks import _keras_internals, _mwmsfix

    tft = _keras_internals.tensorflow_trainer_module()
    monkeypatch.setattr(_mwmsfix, "_APPLIED", {})
    before = (tft.TensorFlowTrainer._maybe_symbolic_build, tft.reduce_per_replica)
    if case == "fixed":
        monkeypatch.setattr(tft.TensorFlowTrainer, "_maybe_symbolic_build", _fixed_build)
        monkeypatch.setattr(tft, "reduce_per_replica", _fixed_reduce)
    else:
        monkeypatch.setattr(tft, "reduce_per_replica", lambda values, strategy: values)
    patched = (tft.TensorFlowTrainer._maybe_symbolic_build, tft.reduce_per_replica)
    with pytest.raises(RuntimeError, match=match):
        distributed.enable_keras_multiworker()
    assert (tft.TensorFlowTrainer._maybe_symbolic_build, tft.reduce_per_replica) == patched
    assert patched != before


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fix is for TF")
def test_mwms_fix_recognises_the_installed_keras():
    # The bug is in the installed Keras (3.12-3.15): the checks find both
    # spots (the real patching runs in test_two_processes, in MWMS workers).
    from fastcallbacks import _keras_internals, _mwmsfix

    build, reduce = _mwmsfix._sources(_keras_internals.tensorflow_trainer_module())
    assert _mwmsfix._BUG1 in build and _mwmsfix._BUG2 in reduce


_HUNG_PEER = r"""
import time, numpy as np, keras, fastcallbacks
from fastcallbacks import _collective, _roles
_roles.process_info = lambda model=None: (2, 0, True)
_collective.gather_rows = lambda model, row: time.sleep(60)   # a peer that never comes
m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
agree = fastcallbacks.AgreeOnStop(timeout=0.5)
agree.set_model(m)
agree.on_epoch_end(0)
print("returned")
"""


def test_timeout_ends_a_process_stuck_in_an_agreement():
    import os
    import subprocess
    import sys

    import importlib.util

    # Keras's numpy backend imports JAX; without JAX (torch only) the
    # suite's backend.
    backend = ("numpy" if importlib.util.find_spec("jax") is not None
               else os.environ.get("KERAS_BACKEND", "tensorflow"))
    proc = subprocess.run([sys.executable, "-c", _HUNG_PEER], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, KERAS_BACKEND=backend))
    assert proc.returncode == 70, proc.stderr[-2000:]
    assert "waited 0.5 s in the agreement at AgreeOnStop.on_epoch_end" in proc.stderr
    assert "returned" not in proc.stdout


def test_every_n_steps_agrees_on_those_batches(model, two):
    peer, sent = two
    agree = fastcallbacks.AgreeOnStop(every_n_steps=2)
    agree.set_model(model)
    model.stop_training = False
    for batch in range(5):
        agree.on_train_batch_end(batch)
    assert len(sent) == 2 and model.stop_training is False   # after batches 1 and 3
    peer["stop"] = 1.0
    agree.on_train_batch_end(5)
    assert len(sent) == 3 and model.stop_training is True
    agree.on_train_end()


def test_after_an_agreed_failure_errors_raise_at_once_again(model, two, tmp_path):
    peer, _ = two
    peer["error"] = "X.on_epoch_end: ValueError: bad"
    agree = fastcallbacks.AgreeOnStop()
    agree.set_model(model)
    with pytest.raises(distributed.DistributedFailure):
        agree.on_epoch_end(0)
    # That fit is over: a later one without AgreeOnStop is not waited for.
    assert not distributed._state(model).agreeing()


def test_jax_imported_but_not_initialised_is_one_process():
    jax = pytest.importorskip("jax")
    assert not jax.distributed.is_initialized()
    assert _roles._jax_info() is None
    assert _roles.process_info(None) == (1, 0, True)
