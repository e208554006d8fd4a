"""Two ModelCheckpoint callbacks writing the same file names with retention
(issue 12, item 14): a file stays while either callback keeps it, whatever
the order of the callbacks, and through a symlinked directory too; and
retention edge cases an outsider would try."""

import gc
import os

import pytest

import fastcallbacks
from ckpt_utils import checkpoint_files, classifier

_VALUES = [0.5, 0.9, 0.3, 0.7, 0.4, 0.8]


def _run(callbacks, model, values, async_save=False):
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    for epoch, value in enumerate(values):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        for cb in callbacks:
            cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": value})
    for cb in callbacks:
        cb.on_train_end()


def _pair(first_dir, second_dir, async_save, **second):
    a = fastcallbacks.ModelCheckpoint(
        str(first_dir / "e{epoch}.weights.h5"), save_weights_only=True,
        save_top_k=1, mode="min", async_save=async_save)
    b = fastcallbacks.ModelCheckpoint(
        str(second_dir / "e{epoch}.weights.h5"), save_weights_only=True,
        async_save=async_save, **second)
    return a, b


@pytest.mark.parametrize("async_save", [False, True])
@pytest.mark.parametrize("order", ["ab", "ba"])
@pytest.mark.parametrize("second", [
    {"save_top_k": 1, "mode": "max"},
    {"max_to_keep": 2},
    {},  # no retention: keeps everything it wrote
])
def test_a_file_stays_while_either_callback_keeps_it(tmp_path, order, async_save, second):
    a, b = _pair(tmp_path, tmp_path, async_save, **second)
    _run([a, b] if order == "ab" else [b, a], classifier(build=True), _VALUES)
    on_disk = set(checkpoint_files(tmp_path)[0])
    kept = {os.path.basename(p) for cb in (a, b) for p in cb._kept}
    # Every file a callback lists as kept exists, and nothing else is left.
    assert on_disk == kept
    assert "e3.weights.h5" in on_disk  # a's best (min)
    if second.get("mode") == "max":
        assert on_disk == {"e3.weights.h5", "e2.weights.h5"}
    elif second:
        assert on_disk == {"e3.weights.h5", "e5.weights.h5", "e6.weights.h5"}
    else:
        assert len(on_disk) == len(_VALUES)


def test_the_same_files_through_a_symlinked_directory(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    a, b = _pair(real, link, False, save_top_k=1, mode="max")
    _run([b, a], classifier(build=True), _VALUES)
    assert set(checkpoint_files(real)[0]) == {"e3.weights.h5", "e2.weights.h5"}


def test_a_callback_holds_its_files_while_it_exists(tmp_path):
    a, b = _pair(tmp_path, tmp_path, False, save_top_k=1, mode="min")
    model = classifier(build=True)
    _run([a], model, _VALUES[:2])  # a keeps e1 (0.5)
    _run([b], model, [0.9, 0.2])  # b rewrites e1, e2; keeps e2 (0.2)
    assert checkpoint_files(tmp_path)[0] == ["e1.weights.h5", "e2.weights.h5"]
    _run([b], model, [0.95])  # b rewrites e1 and drops it: a still keeps it
    assert checkpoint_files(tmp_path)[0] == ["e1.weights.h5", "e2.weights.h5"]
    del a
    gc.collect()
    _run([b], model, [0.95])  # nobody keeps e1 any more
    assert checkpoint_files(tmp_path)[0] == ["e2.weights.h5"]


def test_huge_save_top_k_and_odd_names_keep_every_file(tmp_path):
    odd = "we ird\u00e9 \n[name]{epoch}"
    cb = fastcallbacks.ModelCheckpoint(
        str(tmp_path / (odd + ".weights.h5")), save_weights_only=True,
        save_top_k=10**100, max_to_keep=2**70)
    _run([cb], classifier(build=True), _VALUES[:3])
    assert checkpoint_files(tmp_path)[0] == sorted(
        odd.format(epoch=e) + ".weights.h5" for e in (1, 2, 3))


def test_a_long_file_name_saves(tmp_path):
    # The temporary name is longer than the file's: it is shortened to fit.
    name = "n" * (255 - len(".checksum.json") - len(".weights.h5")) + ".weights.h5"
    cb = fastcallbacks.ModelCheckpoint(str(tmp_path / name), save_weights_only=True)
    _run([cb], classifier(build=True), [0.5])
    assert checkpoint_files(tmp_path)[0] == [name]
    assert fastcallbacks.checkpoint.verify(tmp_path / name)
