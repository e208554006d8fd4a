"""Kill-during-save trials, run as a subprocess by test_checkpoint_faults.py.

    python kill_worker.py OUT_DIR MODES TRIALS SEED [FAULT_DIR]

MODES: "sync", "async" or both ("sync,async"; the i-th mode's trials use
the seed SEED + i). Imports Keras once, then for each trial forks a child (before any backend
op ran in this process) that saves as fast as it can, with the weights all
equal to the step number, into a templated directory and onto one fixed
file; the child is SIGKILLed at a random moment after its first save. The
files are then checked without a backend (h5py): every checkpoint file
present is complete and consistent, verifies, and `latest_good` is the
newest complete one. Prints one JSON line per trial. With FAULT_DIR it
then runs fault_worker.py's scenario in this interpreter (after the last
fork; one Keras import for all of them) and prints its report as one JSON
line {"fault": report}.
"""

import json
import os
import random
import signal
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import keras  # noqa: E402

import fastcallbacks  # noqa: E402
from fastcallbacks import checkpoint  # noqa: E402


def child(directory, async_save, signal_fd):
    # Every size takes the large-file paths: the digest on a second thread
    # during the fsync, and the replaced file deleted by its second name.
    checkpoint._DEFER_DELETE_MIN = 0
    checkpoint._PARALLEL_DIGEST_MIN = 0
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(512), keras.layers.Dense(256)]
    )
    cbs = [
        fastcallbacks.ModelCheckpoint(
            os.path.join(directory, "tpl", "s{batch:06d}.weights.h5"),
            save_weights_only=True, save_freq=1, async_save=async_save, checksum=True),
        fastcallbacks.ModelCheckpoint(
            os.path.join(directory, "fixed", "last.weights.h5"),
            save_weights_only=True, save_freq=1, async_save=async_save, checksum=True),
    ]
    shapes = [w.shape for w in model.weights]
    for cb in cbs:
        cb.set_model(model)
        cb.on_train_begin()
        cb.on_epoch_begin(0)
    step = 0
    while True:
        model.set_weights([np.full(s, step, "float32") for s in shapes])
        for cb in cbs:
            cb.on_train_batch_end(step, {"loss": 1.0})
        if step == 1:
            for cb in cbs:
                cb.flush()
            os.write(signal_fd, b"x")
        step += 1


def check(directory):
    """(problems, files checked, newest step) for one trial's output."""
    problems = []
    tpl = os.path.join(directory, "tpl")
    steps = []
    for name in sorted(os.listdir(tpl)):
        path = os.path.join(tpl, name)
        if checkpoint.is_temp_name(name) or name.endswith(checkpoint.SIDECAR_SUFFIX):
            continue
        step = int(name[1:7]) - 1
        problems += [f"{name}: {p}" for p in _consistent(path, step)]
        if not checkpoint.verify(path):
            problems.append(f"{name}: does not verify")
        steps.append(step)
    newest = os.path.join(tpl, f"s{max(steps) + 1:06d}.weights.h5") if steps else None
    if checkpoint.latest_good(tpl) != newest:
        problems.append(f"latest_good {checkpoint.latest_good(tpl)} != {newest}")
    fixed = os.path.join(directory, "fixed", "last.weights.h5")
    if not os.path.exists(fixed):
        problems.append("fixed file missing")
    else:
        with h5py.File(fixed, "r") as f:
            value = f["layers/dense/vars/0"][0, 0]
        problems += [f"fixed: {p}" for p in _consistent(fixed, int(value))]
        if not checkpoint.verify(fixed):
            problems.append("fixed: does not verify")
        if checkpoint.latest_good(os.path.dirname(fixed)) != fixed:
            problems.append("fixed: latest_good")
    return problems, len(steps), max(steps) if steps else None


def _consistent(path, step):
    out = []
    try:
        with h5py.File(path, "r") as f:
            arrays = []
            f.visititems(lambda n, o: arrays.append(o[()]) if isinstance(o, h5py.Dataset) else None)
    except Exception as e:  # a partial file
        return [f"unreadable: {e!r}"]
    if len(arrays) != 4:
        out.append(f"{len(arrays)} datasets")
    for a in arrays:
        if not np.all(a == step):
            out.append(f"values {np.unique(a)[:3]} != {step}")
    return out


def trials(out_dir, mode, trials, seed):
    rng = random.Random(seed)
    for t in range(trials):
        directory = os.path.join(out_dir, f"{mode}-{t}")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns
            os.close(r)
            try:
                child(directory, mode == "async", w)
            finally:
                os._exit(3)
        os.close(w)
        started = os.read(r, 1)
        os.close(r)
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        problems, files, newest = check(directory) if started else (["never started"], 0, None)
        # A child that died before its first save made no directories; its
        # traceback is on stderr and the trial reports "never started".
        subdirs = [os.path.join(directory, d) for d in ("tpl", "fixed")]
        temps = [n for d in subdirs if os.path.isdir(d) for n in os.listdir(d)
                 if checkpoint.is_temp_name(n)]
        print(json.dumps({"trial": t, "mode": mode, "killed": killed, "delay": delay,
                          "files": files, "newest": newest, "temps": len(temps),
                          "problems": problems}), flush=True)


def main():
    out_dir, modes, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for i, mode in enumerate(modes.split(",")):
        trials(out_dir, mode, count, seed + i)
    if len(sys.argv) > 5:
        # The file-size limit scenario, after the last fork (it runs backend
        # ops in this process; it restores RLIMIT_FSIZE itself).
        import fault_worker

        print(json.dumps({"fault": fault_worker.scenario(sys.argv[5])}), flush=True)


if __name__ == "__main__":
    main()
