"""BackupAndRestore: what backups cost a whole `fit()`.

The benchmark model: an MLP of about 0.6M parameters (Adam, so a backup
holds about 1.8M floats, ~7 MB), 200 steps of batch 64 per epoch, 2 epochs.
One group; the anchor is the same `fit()` without a backup (`none`):

* `keras-epoch`, `keras-50`: `keras.callbacks.BackupAndRestore` every epoch
  / every 50 steps;
* `sync-epoch`, `sync-50`, `async-epoch`, `async-50`: ours (with
  `async_save=False/True`), which also saves the callbacks' states
  (EarlyStopping and ReduceLROnPlateau are in every configuration);
* `async-1-overhead3.5%`: ours with `save_freq=1, max_overhead=0.035`: the
  interval is chosen from the measured cost (CheckFreq's rule).

`bench_zz_backup_ratios` gives the overhead figures: paired, interleaved
rounds (each fit divided by the same round's fit without backups; median
and quartiles), and, for ours, the share of the fit's time the training
thread spent in backups (`BackupAndRestore.blocked_seconds`, measured in
the same fit), and the paired ratio of the process's CPU time (every
thread: the background writer's work shows there even when a spare core
hides it from the wall clock). The `async-1-overhead3.5%` case is in the groups only.
"""

import os
import shutil
import tempfile
import time

import keras
import numpy as np
import pytest

import fastcallbacks

STEPS, BATCH, EPOCHS = 200, 64, 2
CONFIGS = ["none", "keras-epoch", "keras-50", "sync-epoch", "sync-50", "async-epoch", "async-50",
           "async-1-overhead3.5%"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 256)).astype("float32")
    y = rng.normal(size=(STEPS * BATCH, 1)).astype("float32")
    return x, y


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(1024, activation="relu"),
                              keras.layers.Dense(256, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _backup(config, directory):
    if config == "none":
        return []
    impl, freq = config.split("-")[:2]
    save_freq = "epoch" if freq == "epoch" else int(freq)
    if impl == "keras":
        return [keras.callbacks.BackupAndRestore(directory, save_freq=save_freq)]
    overhead = 0.035 if config.endswith("overhead3.5%") else None
    return [fastcallbacks.BackupAndRestore(directory, save_freq=save_freq,
                                           async_save=impl == "async", max_overhead=overhead)]


def _timed_fit(model, x, y, config, directory):
    """One benchmark `fit()` with `config`'s backup in `directory`: its wall
    time, its process CPU time, and the share of the wall time the training
    thread spent in backups (None for Keras's callback or none)."""
    backup = _backup(config, directory)
    callbacks = [fastcallbacks.EarlyStopping(monitor="loss", patience=100),
                 fastcallbacks.ReduceLROnPlateau(monitor="loss", patience=100), *backup]
    start, start_cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=False,
              callbacks=callbacks)
    elapsed = time.perf_counter() - start
    share = (backup[0].blocked_seconds / elapsed
             if backup and hasattr(backup[0], "blocked_seconds") else None)
    return elapsed, time.process_time() - start_cpu, share


@pytest.mark.parametrize("config", CONFIGS)
def bench_fit_with_backups(benchmark, data, config):
    benchmark.group = "BackupAndRestore: fit(), 2 epochs of 200 steps, 0.6M params"
    benchmark.extra_info["anchor"] = config == "none"
    x, y = data
    model = _model()
    model.fit(x[:BATCH], y[:BATCH], epochs=1, verbose=0)  # traced once, outside the timing
    scratch = tempfile.mkdtemp(prefix="fcbench-backup-")
    shares = []

    def run():
        share = _timed_fit(model, x, y, config, f"{scratch}/b")[2]
        if share is not None:
            shares.append(share)

    try:
        benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if shares:
        benchmark.extra_info["blocked_share"] = min(shares)


# FASTCALLBACKS_BENCH_PAIRED (a comma-separated subset, "none" always
# included) and FASTCALLBACKS_BENCH_ROUNDS narrow the paired run: fewer
# configurations put each fit closer in time to its anchor, more rounds
# tighten the median, e.g. FASTCALLBACKS_BENCH_PAIRED=async-50,sync-50
# FASTCALLBACKS_BENCH_ROUNDS=16.
# By default every configuration but the overhead-bounded one.
PAIRED = ["none", *[config for config in os.environ.get(
    "FASTCALLBACKS_BENCH_PAIRED",
    ",".join(c for c in CONFIGS if "overhead" not in c)).split(",")
    if config and config != "none"]]
PAIRED_ROUNDS = int(os.environ.get("FASTCALLBACKS_BENCH_ROUNDS", "10"))
if not set(PAIRED) <= set(CONFIGS) or PAIRED_ROUNDS < 1:
    raise ValueError(f"FASTCALLBACKS_BENCH_PAIRED must name configurations of {CONFIGS} and "
                     f"FASTCALLBACKS_BENCH_ROUNDS must be >= 1; got {PAIRED} and {PAIRED_ROUNDS}")


def bench_zz_backup_ratios(data):
    """The overhead ratios, paired: every round fits each configuration once,
    in a shuffled order, and each fit's time is divided by the same round's
    fit without backups; the median of those ratios (and their quartiles) is
    printed. Each configuration trains its own model (traced once, outside
    the timing). On a shared machine whose load drifts from minute to minute,
    this is far steadier than comparing the per-configuration groups above,
    which run one after the other."""
    x, y = data
    models = {}
    for config in PAIRED:
        models[config] = _model()
        models[config].fit(x[:BATCH], y[:BATCH], epochs=1, verbose=0)
    scratch = tempfile.mkdtemp(prefix="fcbench-backup-")
    order = np.random.default_rng(1)
    times = {config: [] for config in PAIRED}
    cpu = {config: [] for config in PAIRED}
    shares = {config: [] for config in PAIRED}
    try:
        for r in range(PAIRED_ROUNDS + 1):  # round 0: warm-up
            for config in order.permutation(PAIRED):
                elapsed, cpu_time, share = _timed_fit(models[config], x, y, config,
                                                      f"{scratch}/{config}-{r}")
                if r:
                    times[config].append(elapsed)
                    cpu[config].append(cpu_time)
                    if share is not None:
                        shares[config].append(share)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = np.array(times["none"])
    print(f"\n  paired ratios to fit() without backups, median [quartiles] of "
          f"{PAIRED_ROUNDS} rounds; fit without backups: median {np.median(base):.3f} s")
    for config in PAIRED[1:]:
        ratios = np.array(times[config]) / base
        q1, med, q3 = np.percentile(ratios, [25, 50, 75])
        cpu_ratio = np.median(np.array(cpu[config]) / np.array(cpu["none"]))
        share = (f", training thread in backups {np.median(shares[config]):.2%}"
                 if shares[config] else "")
        print(f"  backup {config:>12}: {med:6.3f}x [{q1:.3f}, {q3:.3f}], CPU time (all "
              f"threads) {cpu_ratio:.3f}x{share}")
