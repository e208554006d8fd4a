"""`python -m fastcallbacks demo --quick` end to end: every promised file exists and loads."""

import csv
import json
import re

import numpy as np
import pytest

FILES = ("best.keras", "activations.npz", "metrics.csv",
         "summary.json", "training.png", "activations.png")
LAYERS = {"hidden_1": 128, "hidden_2": 64, "probs": 10}

BLOCK_MATPLOTLIB = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None
sys.meta_path.insert(0, _Block())
"""


# One interpreter runs two demos (a TensorFlow start-up is most of a quick
# demo's time): first `demo --quick --epochs 2` with matplotlib blocked from
# the start (test_demo_without_matplotlib_...), then, with the block removed,
# `demo --quick` (every other test). Each run's stdout, stderr and exit code
# are cut out at marker lines written, flushed, between the runs.
TWO_DEMOS = BLOCK_MATPLOTLIB + """
import os, sys, traceback
from fastcallbacks.__main__ import main

def demo(args):
    try:
        code = main(args)
    except SystemExit as e:    # argparse's error(): exit code 2
        code = e.code
    except Exception:          # what would have ended the process: exit 1
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    for stream in (sys.stdout, sys.stderr):
        print(f"@@@ demo {args!r} exit {code} @@@", file=stream, flush=True)

demo(["demo", "--quick", "--epochs", "2", "--out", sys.argv[1]])
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Block"]
demo(["demo", "--quick", "--out", sys.argv[2]])
"""


class _Run:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _split(text, count):
    """[(text, exit code)] of each run; what the interpreter writes after the
    last marker (at exit) belongs to the last run, as it did to the process."""
    parts = re.split(r"^@@@ demo .* exit (\S+) @@@\n", text, flags=re.M)
    assert len(parts) == 2 * count + 1, text[-4000:]
    runs = [[parts[2 * i], parts[2 * i + 1]] for i in range(count)]
    runs[-1][0] += parts[-1]
    return [tuple(run) for run in runs]


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """{"no_matplotlib": (run directory, run), "quick": (run directory, run)}."""
    import os
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("demo")
    dirs = base / "no-matplotlib", base / "run"
    import fastcallbacks

    # The fastcallbacks under test, wherever it is imported from.
    src = os.path.dirname(os.path.dirname(os.path.abspath(fastcallbacks.__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-c", TWO_DEMOS, *map(str, dirs)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    out, err = _split(proc.stdout, 2), _split(proc.stderr, 2)
    runs = []
    for (stdout, code), (stderr, code_again) in zip(out, err):
        assert code == code_again
        runs.append(_Run(int(code) if code.lstrip("-").isdigit() else code, stdout, stderr))
    return {"no_matplotlib": (dirs[0], runs[0]), "quick": (dirs[1], runs[1])}


@pytest.fixture(scope="module")
def quick_run(demo_runs):
    """The `demo --quick` run shared by the tests: (run directory, run)."""
    out, run = demo_runs["quick"]
    assert run.returncode == 0, f"demo failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return out, run


@pytest.fixture(scope="module")
def summary(quick_run):
    out, _ = quick_run
    with open(out / "summary.json") as f:
        return json.load(f)


def test_every_file_is_written(quick_run):
    out, proc = quick_run
    for name in FILES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
        assert str(path) in proc.stdout, f"{name} missing from the summary's file list"


def test_summary_is_printed(quick_run, summary):
    _, proc = quick_run
    text = proc.stdout
    assert "Epoch 1/" in text                     # Keras's per-epoch progress
    for needle in ("summary", "epochs run:", "stopped because:", "best epoch:",
                   "LR reductions:", "files written:", "time in callbacks:",
                   "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
                   "ActivationLogger", "CSVLogger"):
        assert needle in text, needle
    assert f"epochs run:      {summary['epochs_run']} of at most {summary['epochs_max']}" in text
    assert summary["quick"] is True
    # The hook timer saw every callback (what it measured is reported, not
    # tested: speed belongs in bench/).
    names = {"EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "ActivationLogger",
             "CSVLogger"}
    assert set(summary["callback_seconds"]) == names
    assert all(summary["callback_calls"][n] > 0 for n in names)
    assert proc.stderr.strip() == "", proc.stderr


def test_metrics_csv(quick_run, summary):
    out, _ = quick_run
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary["epochs_run"]
    assert [int(r["epoch"]) for r in rows] == list(range(len(rows)))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert key in rows[0], key
    val_loss = [float(r["val_loss"]) for r in rows]
    assert summary["best_epoch"] == int(np.argmin(val_loss)) + 1
    assert summary["best_value"] == pytest.approx(min(val_loss), rel=1e-6)
    lrs = [float(r["learning_rate"]) for r in rows]
    seen = [i + 1 for i in range(len(lrs) - 1) if lrs[i + 1] < lrs[i]]
    assert seen == [r["epoch"] for r in summary["lr_reductions"] if r["epoch"] < len(lrs)]


def test_activations_load_with_np_load(quick_run, summary):
    out, _ = quick_run
    with np.load(out / "activations.npz") as z:
        names = set(z.files)
        expected = {f"{layer}/epoch_{e:04d}" for layer in LAYERS
                    for e in range(summary["epochs_run"])}
        assert names == expected
        for layer, units in LAYERS.items():
            a = z[f"{layer}/epoch_0000"]
            assert a.shape == (64, units) and a.dtype == np.float32
            assert np.isfinite(a).all()
        probs = z[f"probs/epoch_{summary['epochs_run'] - 1:04d}"]
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)
        assert (z["hidden_1/epoch_0000"] >= 0).all()   # ReLU


def test_checkpoint_loads_with_keras(quick_run, summary):
    import keras

    from fastcallbacks import demo

    out, _ = quick_run
    model = keras.saving.load_model(out / "best.keras")
    assert [layer.name for layer in model.layers] == list(LAYERS)
    _, _, x_val, y_val = demo.load_data(summary["seed"])
    result = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    # The best epoch's weights: what the demo restored and evaluated.
    assert result["loss"] == pytest.approx(summary["restored"]["loss"], rel=1e-4)
    assert result["loss"] == pytest.approx(summary["best_value"], rel=1e-4)
    # The same weights load into a freshly built model of the same architecture.
    fresh = demo.build_model(keras, 1e-3)
    fresh.set_weights(model.get_weights())
    np.testing.assert_allclose(fresh.predict(x_val[:8], verbose=0),
                               model.predict(x_val[:8], verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["training.png", "activations.png"])
def test_png_decodes(quick_run, name):
    import matplotlib.image

    out, _ = quick_run
    img = matplotlib.image.imread(out / name)
    h, w = img.shape[:2]
    assert w >= 400 and h >= 300, (w, h)
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.05                 # not one flat colour
    assert _distinct_colours(rgb) > 50


def _distinct_colours(rgb):
    """The number of distinct RGB triples: `len(np.unique(rows, axis=0))`,
    counted on one packed integer per pixel for an 8-bit image (what Agg
    writes: every value is k/255), which is exact and ~30x faster."""
    rows = rgb.reshape(-1, 3)
    levels = np.round(rows * 255.0)
    if not np.array_equal((levels / 255.0).astype(rows.dtype), rows):
        return len(np.unique(rows, axis=0))        # not 8-bit: the general count
    packed = levels.astype(np.uint32)
    return len(np.unique((packed[:, 0] << 16) | (packed[:, 1] << 8) | packed[:, 2]))


def test_plot_command_infers_markers_without_summary(quick_run, tmp_path, cli):
    out, _ = quick_run
    for name in ("metrics.csv", "activations.npz"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    proc = cli("plot", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(tmp_path / "training.png"),
                                   str(tmp_path / "activations.png")]
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "training.png").shape[1] >= 400


def test_plot_without_matplotlib_says_what_to_install(quick_run, cli):
    out, _ = quick_run
    proc = cli("plot", out, pre=BLOCK_MATPLOTLIB)
    assert proc.returncode == 1
    assert 'pip install "fastcallbacks[plot]"' in proc.stderr
    assert "matplotlib" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_without_matplotlib_trains_and_says_what_to_install(demo_runs):
    tmp_path, proc = demo_runs["no_matplotlib"]
    assert proc.returncode == 0, proc.stderr
    # The first run of its interpreter: TensorFlow's start-up noise hidden.
    assert proc.stderr.strip() == "", proc.stderr
    assert 'plots: skipped' in proc.stdout
    assert 'pip install "fastcallbacks[plot]"' in proc.stdout
    for name in ("best.keras", "activations.npz", "metrics.csv", "summary.json"):
        assert (tmp_path / name).is_file(), name
    assert not (tmp_path / "training.png").exists()


def test_demo_without_scikit_learn_says_what_to_install(cli, tmp_path):
    block = BLOCK_MATPLOTLIB.replace('"matplotlib"', '"sklearn"').replace(
        '"matplotlib."', '"sklearn."')
    proc = cli("demo", "--quick", "--out", tmp_path, pre=block)
    assert proc.returncode == 2
    assert "scikit-learn" in proc.stderr
    assert 'pip install "fastcallbacks[demo]"' in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["demo", "--epochs", "0"], "--epochs must be >= 1"),
    (["demo", "--epochs", "-3"], "--epochs must be >= 1"),
    (["demo", "--epochs", "ten"], "invalid int value"),
    (["demo", "--seed", "-1"], "--seed must be in"),
    (["demo", "--bogus"], "unrecognized arguments: --bogus"),
    (["demo", "--out"], "expected one argument"),
    (["plot"], "the following arguments are required: run_dir"),
])
def test_bad_arguments_exit_nonzero(cli, args, message):
    proc = cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_output_dir(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = cli("demo", "--quick", "--out", blocker / "run")
    assert proc.returncode == 2
    assert "cannot write to output directory" in proc.stderr
    assert str(blocker / "run") in proc.stderr
    proc = cli("demo", "--quick", "--out", blocker)
    assert proc.returncode == 2
    assert "exists and is not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr



def test_plot_bad_run_dir(cli, tmp_path):
    proc = cli("plot", tmp_path / "missing")
    assert proc.returncode == 2 and "no such directory" in proc.stderr
    proc = cli("plot", tmp_path)
    assert proc.returncode == 2 and "nothing to plot" in proc.stderr


def test_hook_timer_keeps_batch_hook_structure():
    """Wrapping hooks changes neither the default-hook marks nor async dispatch."""
    import keras

    import fastcallbacks
    from fastcallbacks import demo

    def make():
        return [fastcallbacks.EarlyStopping(), fastcallbacks.ReduceLROnPlateau(),
                fastcallbacks.ActivationLogger("unused.npz", np.zeros((2, 64), "float32")),
                keras.callbacks.CSVLogger("unused.csv"), fastcallbacks.TerminateOnNaN()]

    plain, timed = make(), make()
    timer = demo.HookTimer()
    for cb in timed:
        timer.instrument(cb, type(cb).__name__)
    for a, b in zip(plain, timed):
        for hook in demo._HOOKS:
            assert getattr(getattr(a, hook), "_is_default", False) == \
                getattr(getattr(b, hook), "_is_default", False), (type(a).__name__, hook)
    lists = [keras.callbacks.CallbackList(c) for c in (plain, timed)]
    assert [(cl._async_train, cl._async_test, cl._async_predict) for cl in lists][0] == \
        [(cl._async_train, cl._async_test, cl._async_predict) for cl in lists][1]
    timed[0].on_epoch_begin(0)
    timed[-1].on_train_batch_end(0, {"loss": 1.0})
    assert timer.calls["EarlyStopping"] == 1 and timer.calls["TerminateOnNaN"] == 1
    assert timer.calls["CSVLogger"] == 0


def test_plot_claims_restored_weights_only_from_a_summary():
    # A metrics.csv alone cannot tell whether weights were restored; the
    # demo's summary (with the evaluation of the restored weights) can.
    from fastcallbacks import plot

    metrics = {"epoch": [0, 1, 2], "loss": [1.0, 0.5, 0.6], "val_loss": [1.0, 0.4, 0.7],
               "accuracy": [0.5, 0.7, 0.6], "val_accuracy": [0.5, 0.8, 0.6]}
    facts = plot._facts(metrics, None)
    assert facts["best_epoch"] == 2 and facts["restored"] is False
    summary = {"monitor": "val_loss", "best_epoch": 2, "best_value": 0.4,
               "restored": {"loss": 0.4}}
    assert plot._facts(metrics, summary)["restored"] is True
    assert plot._facts({"epoch": [0], "val_acc": [0.5]}, None)["higher_is_better"] is True


def test_activations_figure_layout(tmp_path, monkeypatch):
    # issue 17 item 6: empty bins masked (transparent), legends outside the
    # data, no zeros panel for a layer without zeros, the 99th percentile
    # below the top frame.
    from fastcallbacks import plot

    figures = []
    real = plot._matplotlib

    def capturing():
        Figure, colors, ticker = real()

        class Captured(Figure):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                figures.append(self)

        return Captured, colors, ticker

    monkeypatch.setattr(plot, "_matplotlib", capturing)
    rng = np.random.default_rng(0)
    relu = {e: np.maximum(rng.standard_normal((32, 8)), 0) for e in range(4)}
    logits = {e: rng.standard_normal((32, 10)) * (1 + 3 * e) for e in range(4)}
    soft = {e: np.exp(v) / np.exp(v).sum(axis=1, keepdims=True) for e, v in logits.items()}
    plot.plot_activations({"relu": relu, "soft": soft}, str(tmp_path / "a.png"),
                          {"best_epoch": 3})
    (fig,) = figures
    titles = [ax.get_title() for ax in fig.axes]
    assert "relu: zeros" in titles and "soft: zeros" not in titles, titles
    assert any(t.startswith("soft:") and "no zeros, no dead units" in t for t in titles)
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:3] == ["median", "99th percentile", "best epoch 3"], labels
    heat = [ax for ax in fig.axes if "distribution" in ax.get_title()]
    assert len(heat) == 2
    for ax in heat:
        (mesh,) = ax.collections
        assert np.ma.getmaskarray(mesh.get_array()).any()  # empty bins are masked
        assert ax.get_facecolor()[3] == 0  # and nothing is painted under them
        p99 = next(line for line in ax.get_lines() if line.get_label() == "99th percentile")
        top, high = ax.get_ylim()[1], np.nanmax(p99.get_ydata())
        if ax.get_yscale() == "log":
            bottom = ax.get_ylim()[0]
            assert np.log(top / high) > 0.05 * np.log(top / bottom)
        else:
            assert top - high > 0.05 * (top - ax.get_ylim()[0])
