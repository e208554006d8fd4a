"""ModelCheckpoint vs Keras's through its API and direct hook calls:
signature, defaults, errors, attributes, batch-hook installation, state
across fits, and the Keras crash that is fixed."""

import copy
import inspect
import os
import pickle
import warnings

import keras
import pytest
from keras.src.utils.python_utils import is_default

import fastcallbacks
from ckpt_utils import checkpoint_files, classifier
from fastcallbacks import checkpoint

KerasMC = keras.callbacks.ModelCheckpoint
BATCH_HOOKS = ("on_batch_end", "on_train_batch_end", "on_test_batch_end",
               "on_predict_batch_end")
EXTRAS = {"async_save": False, "save_top_k": None, "max_to_keep": None,
          "skip_non_finite": True, "checksum": False, "writer": None}


def test_signature_extends_keras():
    k = inspect.signature(KerasMC.__init__).parameters
    o = inspect.signature(fastcallbacks.ModelCheckpoint.__init__).parameters
    assert list(o)[: len(k)] == list(k)
    for name, p in k.items():
        assert o[name].default == p.default and o[name].kind == p.kind, name
    extra = {n: p for n, p in o.items() if n not in k}
    assert {n: p.default for n, p in extra.items()} == EXTRAS
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in extra.values())


def _both(*args, **kwargs):
    """Constructs both; returns (keras error, our error) or the callbacks."""
    out = []
    for cls in (KerasMC, fastcallbacks.ModelCheckpoint):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out.append((cls(*args, **kwargs), None, [str(w.message) for w in caught]))
            except Exception as e:
                out.append((None, e, [str(w.message) for w in caught]))
    return out


@pytest.mark.parametrize(
    "args,kwargs",
    [
        (("m.keras",), dict(save_freq="batch")),
        (("m.keras",), dict(save_freq=2.0)),
        (("m.h5",), dict(save_weights_only=True)),
        (("m.keras",), dict(save_weights_only=True)),
        (("m.ckpt",), dict(save_weights_only=True)),
        (("m.hdf5",), {}),
        (("m.tf",), {}),
        (("m",), {}),
        (("m.keras",), dict(period=2)),
        (("m.keras",), dict(options=None)),
        (("m.keras",), dict(load_weights_on_restart=True)),
    ],
)
def test_constructor_errors_match_keras(args, kwargs):
    (k, ke, _), (o, oe, _) = _both(*args, **kwargs)
    assert k is None and o is None
    assert type(oe) is type(ke)
    assert str(oe).replace("fastcallbacks.", "") == str(ke) or isinstance(ke, TypeError)
    if isinstance(ke, TypeError):
        assert list(kwargs)[0] in str(oe)


@pytest.mark.parametrize(
    "args,kwargs",
    [
        (("m.keras",), {}),
        (("m.h5",), {}),
        (("w.weights.h5",), dict(save_weights_only=True, save_freq=True)),
        (("w.weights.h5",), dict(save_weights_only=True, save_freq=False, verbose=1)),
        (("m.keras",), dict(mode="bogus", monitor="acc")),
        (("m.keras",), dict(initial_value_threshold=0.3, mode="max")),
    ],
)
def test_attributes_and_warnings_match_keras(args, kwargs):
    (k, _, kw), (o, _, ow) = _both(*args, **kwargs)
    assert ow == kw
    for name in vars(k):
        assert hasattr(o, name), name
        a, b = getattr(o, name), getattr(k, name)
        if name == "monitor_op":
            assert a is b
        elif not name.startswith("_") or name in ("_batches_seen_since_last_saving",
                                                   "_last_batch_seen"):
            assert a == b and type(a) is type(b), name


def test_pathlike_filepath():
    import pathlib

    cb = fastcallbacks.ModelCheckpoint(pathlib.Path("a") / "m.keras")
    assert cb.filepath == os.path.join("a", "m.keras")


@pytest.mark.parametrize(
    "kwargs,error,word",
    [
        (dict(save_top_k=2), ValueError, "filepath"),
        (dict(save_top_k=0, filepath="{epoch}.keras"), ValueError, "save_top_k"),
        (dict(save_top_k="2", filepath="{epoch}.keras"), TypeError, "save_top_k"),
        (dict(max_to_keep=0), ValueError, "max_to_keep"),
        (dict(max_to_keep=1.5), TypeError, "max_to_keep"),
        (dict(writer="chief"), TypeError, "writer"),
    ],
)
def test_extra_argument_errors_name_the_argument(kwargs, error, word):
    kwargs = dict(kwargs)
    filepath = kwargs.pop("filepath", "m.keras")
    with pytest.raises(error, match=word):
        fastcallbacks.ModelCheckpoint(filepath, **kwargs)


def test_batch_hook_only_with_integer_save_freq():
    epoch = fastcallbacks.ModelCheckpoint("m.keras")
    for hook in BATCH_HOOKS:
        assert is_default(getattr(epoch, hook)), hook
    # Keras's overrides on_train_batch_end even in epoch mode (forcing
    # synchronous dispatch on JAX/torch); ours does not.
    assert not is_default(KerasMC("m.keras").on_train_batch_end)
    batch = fastcallbacks.ModelCheckpoint("m.keras", save_freq=3)
    assert not is_default(batch.on_train_batch_end)
    assert not getattr(batch, "async_safe", False)
    assert is_default(fastcallbacks.ModelCheckpoint.on_train_batch_end)


def _hooks(cb, model, sequence, tmp_path):
    """Feeds epoch ends with val_loss values; returns files written."""
    cb.set_model(model)
    for epoch, value in sequence:
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": value})
    cb.on_train_end()
    return checkpoint_files(tmp_path)[0]


@pytest.mark.reference_smoke
def test_best_and_counters_carry_over_between_fits(tmp_path):
    """No on_train_begin reset: a worse second fit saves nothing, and the
    batch counter keeps counting across fits (as in Keras)."""
    results = {}
    for lib, cls in (("keras", KerasMC), ("ours", fastcallbacks.ModelCheckpoint)):
        d = tmp_path / lib
        best = cls(str(d / "e{epoch}.weights.h5"), save_best_only=True,
                   save_weights_only=True)
        batch = cls(str(d / "b{epoch}-{batch}.weights.h5"), save_weights_only=True,
                    save_freq=3)
        model = classifier(build=True)
        for fit, (value, batches) in enumerate([(0.5, 2), (0.7, 2)]):
            for cb in (best, batch):
                cb.set_model(model)
                cb.on_train_begin()
                cb.on_epoch_begin(0)
            for b in range(batches):
                batch.on_train_batch_end(b, {"loss": 1.0})
            for cb in (best, batch):
                cb.on_epoch_end(0, {"val_loss": value})
                cb.on_train_end()
        results[lib] = (best.best, batch._batches_seen_since_last_saving,
                        batch._last_batch_seen, checkpoint_files(d)[0])
    assert results["ours"] == results["keras"]
    assert results["ours"] == (0.5, 1, 1, ["b1-1.weights.h5", "e1.weights.h5"])


def test_first_batch_index_counts_like_keras(tmp_path):
    """With steps_per_execution=2 the hook sees batches 1, 3, 5: Keras 3.14+
    counts the first as 2 batches (`_last_batch_seen` starts as None), older
    Keras as 1 (it starts as 0), and so saves at different batches."""
    results = {}
    for lib, cls in (("keras", KerasMC), ("ours", fastcallbacks.ModelCheckpoint)):
        d = tmp_path / lib
        cb = cls(str(d / "e{epoch}-b{batch}.weights.h5"), save_weights_only=True,
                 save_freq=2)
        cb.set_model(classifier(build=True))
        for epoch in range(2):
            cb.on_epoch_begin(epoch)
            for batch in (1, 3, 5):
                cb.on_train_batch_end(batch, {"loss": 1.0})
        results[lib] = (cb._batches_seen_since_last_saving, cb._last_batch_seen,
                        checkpoint_files(d)[0])
    assert results["ours"] == results["keras"]
    assert len(results["ours"][2]) >= 5


def test_batch_level_save_best_only_does_not_crash(tmp_path):
    """Keras raises TypeError ('NoneType' object is not callable) at the
    second batch-level save with a monitor present in the batch logs; ours
    resolves the direction as the epoch end would and keeps deciding."""
    losses = [1.0, 0.9, 0.95, 0.8, 0.8]
    k = KerasMC(str(tmp_path / "k" / "b{batch}.weights.h5"), monitor="loss",
                save_best_only=True, save_weights_only=True, save_freq=1)
    k.set_model(classifier(build=True))
    k.on_epoch_begin(0)
    k.on_train_batch_end(0, {"loss": losses[0]})
    with pytest.raises(TypeError, match="not callable"):
        k.on_train_batch_end(1, {"loss": losses[1]})
    o = fastcallbacks.ModelCheckpoint(
        str(tmp_path / "o" / "b{batch}.weights.h5"), monitor="loss",
        save_best_only=True, save_weights_only=True, save_freq=1)
    o.set_model(classifier(build=True))
    o.on_epoch_begin(0)
    for batch, loss in enumerate(losses):
        o.on_train_batch_end(batch, {"loss": loss})
    assert o.best == 0.8
    assert o.monitor_op is keras.ops.less
    assert checkpoint_files(tmp_path / "o")[0] == [
        "b1.weights.h5", "b2.weights.h5", "b4.weights.h5"]


def test_missing_placeholder_key_error_matches_keras(tmp_path):
    errors = []
    for cls in (KerasMC, fastcallbacks.ModelCheckpoint):
        cb = cls(str(tmp_path / "{val_auc}.keras"))
        cb.set_model(classifier())
        cb.on_epoch_begin(0)
        with pytest.raises(KeyError) as info:
            cb.on_epoch_end(0, {"val_loss": 1.0})
        errors.append(str(info.value).replace("fastcallbacks.", ""))
    assert errors[0] == errors[1]
    assert os.listdir(tmp_path) == []


def test_directory_target_error_matches_keras(tmp_path):
    target = tmp_path / "adir.weights.h5"
    target.mkdir()
    errors = []
    for cls in (KerasMC, fastcallbacks.ModelCheckpoint):
        cb = cls(str(target), save_weights_only=True)
        cb.set_model(classifier(build=True))
        cb.on_epoch_begin(0)
        with pytest.raises(OSError) as info:
            cb.on_epoch_end(0, {"val_loss": 1.0})
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
    assert sorted(os.listdir(tmp_path)) == ["adir.weights.h5"]
    assert os.listdir(target) == []


def test_copies_keep_configuration_and_hook(tmp_path):
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / "b{batch}.weights.h5"),
                                       save_weights_only=True, save_freq=2,
                                       async_save=True, max_to_keep=2)
    cb.best = 0.25
    for clone in (copy.deepcopy(cb), pickle.loads(pickle.dumps(cb))):
        assert clone.best == 0.25 and clone.save_freq == 2 and clone.max_to_keep == 2
        assert clone.on_train_batch_end.__self__ is clone
        clone.set_model(classifier(build=True))
        clone.on_epoch_begin(0)
        clone.on_train_batch_end(0, {"loss": 1.0})
        clone.on_train_batch_end(1, {"loss": 1.0})
        clone.on_train_end()
    assert checkpoint_files(tmp_path)[0] == ["b2.weights.h5"]
    assert checkpoint.verify(tmp_path / "b2.weights.h5")


def test_lazy_exports():
    assert fastcallbacks.ModelCheckpoint.__module__ == "fastcallbacks.model_checkpoint"
    assert fastcallbacks.checkpoint.verify is checkpoint.verify
    assert "checkpoint" in dir(fastcallbacks) and "ModelCheckpoint" in dir(fastcallbacks)
