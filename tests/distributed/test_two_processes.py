"""Two real processes on 127.0.0.1: JAX `jax.distributed` DataParallel and
TensorFlow MultiWorkerMirroredStrategy (with `enable_keras_multiworker`).

One launch pair per engine runs three `fit`s (see `worker.py`):

1. `callbacks`: EarlyStopping(restore_best_weights), ReduceLROnPlateau,
   ModelCheckpoint (sync `.keras` best only; async `.weights.h5` with
   save_top_k; sync every epoch), ActivationLogger, BackupAndRestore,
   AgreeOnStop;
2. `one_stops`: a user callback stops process 1 alone after epoch 1;
3. `write_fails`: process 0 has a 200-byte file-size limit, so its
   asynchronous saves fail.

Both processes must exit 0 within the launcher's bound (no hang), and every
file must have been written by process 0 alone, load, and hold the weights
of the epoch it names.
"""

import json
import os
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

ENGINES = ["jax", "tensorflow"]


def _installed(engine):
    try:
        __import__(engine)
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module", params=ENGINES)
def pair(request, run_pair):
    if not _installed(request.param):
        pytest.skip(f"{request.param} is not installed")
    result = run_pair(request.param)
    assert not result["hung"], f"killed after the time limit: {result['logs']}"
    assert result["codes"] == [0, 0], result["logs"]
    assert all(r is not None and "fatal" not in r for r in result["reports"]), result["logs"]
    return result


def _data():
    """The worker's constants (same seed, same order of draws)."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 1)).astype("float32")
    rng.normal(size=(64, 4))
    vx = rng.normal(size=(16, 4)).astype("float32")
    return w, vx[:6]


def _files(result):
    out = result["out"] / "files"
    return sorted(name for name in os.listdir(out)
                  if not name.startswith(".") and os.path.isfile(out / name))


def test_roles(pair):
    roles = [r["role"] for r in pair["reports"]]
    assert roles == [{"count": 2, "index": 0, "writer": True},
                     {"count": 2, "index": 1, "writer": False}]
    if pair["reports"][0]["engine"] == "jax":
        assert [r["role_without_keras_distribution"] for r in pair["reports"]] == roles
    if pair["reports"][0]["engine"] == "tensorflow":
        # enable_keras_multiworker applied on each worker; a second call is a no-op.
        assert [(r["fix_applied"], r["fix_again"]) for r in pair["reports"]] == [(True, False)] * 2


def test_every_file_written_by_process_0_only(pair):
    p0, p1 = pair["reports"]
    assert p1["writes"] == []
    written = {path for _, path in p0["writes"]}
    names = _files(pair)
    assert names and set(names) <= written
    assert any(op == "NpzWriter" and path == "acts.npz" for op, path in p0["writes"])


def test_same_epochs_and_stop_on_both(pair):
    a, b = (r["scenarios"]["callbacks"] for r in pair["reports"])
    assert "error" not in a and "error" not in b
    assert a["epochs_run"] == b["epochs_run"]
    assert a["stopped_epoch"] == b["stopped_epoch"] > 0   # EarlyStopping stopped
    assert [e["val_loss"] for e in a["epochs"]] == [e["val_loss"] for e in b["epochs"]]
    assert [e["lr"] for e in a["epochs"]] == [e["lr"] for e in b["epochs"]]
    assert [e["weights"] for e in a["epochs"]] == [e["weights"] for e in b["epochs"]]
    assert a["final_weights"] == b["final_weights"]


def _model():
    inp = keras.Input((4,))
    hidden = keras.layers.Dense(3, activation="relu", name="hidden")(inp)
    return keras.Model(inp, keras.layers.Dense(1, name="out")(hidden))


def _equal(model, weights):
    got = [np.asarray(w, dtype=np.float64) for w in model.get_weights()]
    want = [np.asarray(w, dtype=np.float64) for w in weights]
    return len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want))


def test_files_load_and_hold_the_trained_weights(pair):
    run = pair["reports"][0]["scenarios"]["callbacks"]
    epochs = run["epochs"]
    out = pair["out"] / "files"
    names = _files(pair)
    losses = [float(e["val_loss"]) for e in epochs]
    best = int(np.argmin(losses))
    # restore_best_weights: the final weights are the best epoch's, which
    # best.keras (save_best_only) holds too.
    assert run["best_epoch"] == best
    assert run["final_weights"] == epochs[best]["weights"]
    assert _equal(keras.saving.load_model(out / "best.keras", compile=False),
                  run["final_weights"])
    model = _model()
    every = [n for n in names if n.startswith("every") and n.endswith(".h5")]
    assert len(every) == len(epochs)
    for name in every:
        model.load_weights(out / name)
        assert _equal(model, epochs[int(name[5:7]) - 1]["weights"]), name
    # save_top_k=2 on val_loss: the two best epochs' files are left.
    kept = sorted(n for n in names if n.startswith("ep") and n.endswith(".h5"))
    top = sorted(np.argsort(losses, kind="stable")[:2])
    assert kept == [f"ep{e + 1:02d}.weights.h5" for e in top]
    for name in kept:
        model.load_weights(out / name)
        assert _equal(model, epochs[int(name[2:4]) - 1]["weights"]), name


def test_activations_written_once_and_equal_a_forward_pass(pair):
    run = pair["reports"][0]["scenarios"]["callbacks"]
    _, sample = _data()
    with np.load(pair["out"] / "files" / "acts.npz") as npz:
        members = set(npz.files)
        assert members == {f"{layer}/epoch_{e:04d}" for layer in ("hidden", "out")
                           for e in range(len(run["epochs"]))}
        for e, entry in enumerate(run["epochs"]):
            k1, b1, k2, b2 = (np.asarray(w, dtype=np.float32) for w in entry["weights"])
            hidden = np.maximum(sample @ k1 + b1, 0)
            np.testing.assert_allclose(npz[f"hidden/epoch_{e:04d}"], hidden,
                                       rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(npz[f"out/epoch_{e:04d}"], hidden @ k2 + b2,
                                       rtol=1e-5, atol=1e-6)


def test_a_stop_on_one_process_is_agreed(pair):
    a, b = (r["scenarios"]["one_stops"] for r in pair["reports"])
    assert "error" not in a and "error" not in b
    assert a["epochs_run"] == b["epochs_run"] == 2
    assert a["final_weights"] == b["final_weights"]


def test_a_write_failure_on_the_writer_fails_both(pair):
    a, b = (r["scenarios"]["write_fails"] for r in pair["reports"])
    for index, run in enumerate((a, b)):
        error = run.get("error", "")
        assert error.startswith("DistributedFailure: "), (index, error)
        assert "process 0: ModelCheckpoint" in error and "OSError" in error, error
        assert f"seen by process {index}" in error
        assert "File too large" in error or "Errno 27" in error
    assert len(a["epochs"]) == len(b["epochs"])   # failed at the same point
    # Every save under the limit failed and left no file, including one
    # still in flight when fit raised (the worker waits for it).
    assert not [n for n in _files(pair) if n.startswith("fail")]
    late = pair["reports"][0].get("write_fails_late_error")
    assert late is None or (late.startswith("OSError: ") and "File too large" in late), late
    assert "write_fails_late_error" not in pair["reports"][1]


def test_backup_written_by_the_writer_only_and_holds_the_last_epoch(pair):
    p0, p1 = pair["reports"]
    run = p0["scenarios"]["callbacks"]
    backup = pair["out"] / "files" / "backup"
    names = sorted(os.listdir(backup))
    assert "latest.weights.h5" in names and "training_metadata.json" in names
    assert p1["writes"] == []
    assert {f"backup/{n}" for n in names} <= {path for _, path in p0["writes"]}
    with open(backup / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == run["epochs_run"]
    # The last epoch's weights (EarlyStopping restores the best ones later,
    # at on_train_end, as in Keras).
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the file also holds optimizer variables
        model.load_weights(backup / "latest.weights.h5")
    assert _equal(model, run["epochs"][-1]["weights"])
