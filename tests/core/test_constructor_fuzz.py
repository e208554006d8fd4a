"""Every numeric constructor argument that reaches the core, fuzzed (issue 12, item 3).

Huge, negative, float, bool, NaN and numpy-scalar values go to RingMonitor,
BestTracker, WeightSnapshot and NpzWriter (both implementations) and to the
callbacks' arguments that size or feed the core (`window`, `patience`,
`cooldown`, `min_delta`, `baseline`, `start_from_epoch`). Each case must end
in a clean exception (TypeError, ValueError, OverflowError, MemoryError) or
an object that works. Cases run in batches in a child process
(`fuzz_worker.py --serve`, one per module and Keras backend, serving every
batch: one interpreter start and one Keras import instead of one per batch)
with a time limit per batch, so a segfault or a hang fails the test instead
of killing or stalling pytest (a dead or hung worker is replaced for the
next batch). `RingMonitor(2**61 + 1)` overflowed
its buffer size and crashed before.
"""

import json
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastcallbacks

from .impls import IMPLS

WORKER = os.path.join(os.path.dirname(__file__), "fuzz_worker.py")
# The child imports the fastcallbacks this process imported (the source
# tree in development, the installed wheel under cibuildwheel).
SRC = os.path.dirname(os.path.dirname(fastcallbacks.__file__))

EDGES = [0, 1, 2, -1, 15, 16, 17, 2**31, 2**32 + 1, 2**60 - 1, 2**60, 2**61 + 1, 2**62,
         2**63 - 1, 2**63, 2**64, 2**70, -(2**63), -(2**70), 2**1100]


def _numpy_scalar(x):
    # Only what the dtype can hold: np.int64(2**70) itself raises.
    if isinstance(x, int) and -(2**63) <= x < 2**63:
        return np.int64(x)
    return np.float64(x) if isinstance(x, float) else x


plain = st.one_of(
    st.sampled_from(EDGES),
    st.integers(-(2**70), 2**70),
    st.integers(-3, 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 1.0, 1e-300, 2.0**62, float("nan"), float("inf"), -0.0]),
    st.booleans(),
)
numbers = st.one_of(plain, plain.map(_numpy_scalar))
maybe = st.one_of(st.none(), numbers)


def core_cases(impl):
    return st.one_of(
        st.builds(lambda c, a: ("RingMonitor", impl, {"capacity": c, "alpha": a}),
                  numbers, maybe),
        st.builds(lambda c: ("RingMonitor", impl, {"capacity": c}), numbers),
        st.builds(lambda p, d, b, s, c: ("BestTracker", impl, {
            "patience": p, "min_delta": d, "baseline": b, "start_from": s, "cooldown": c}),
            numbers, numbers, maybe, numbers, numbers),
        st.builds(lambda m: ("WeightSnapshot", impl, {"max_sets": m}), numbers),
        st.builds(lambda q, t: ("NpzWriter", impl, {"queue_bytes": q, "threads": t}),
                  numbers, maybe),
        st.builds(lambda q: ("NpzWriter", impl, {"queue_bytes": q, "compress": True}),
                  numbers),
    )


callback_cases = st.one_of(
    st.builds(lambda w, p, d, b, s, sm: ("EarlyStopping", None, {
        "window": w, "patience": p, "min_delta": d, "baseline": b, "start_from_epoch": s,
        "smoothing": sm}),
        numbers, numbers, numbers, maybe, numbers,
        st.sampled_from(["mean", "median", "ema", "min", "max"])),
    st.builds(lambda w, p, c, d, sm: ("ReduceLROnPlateau", None, {
        "window": w, "patience": p, "cooldown": c, "min_delta": d, "smoothing": sm}),
        numbers, numbers, numbers, numbers, st.sampled_from(["mean", "median", "ema"])),
    st.builds(lambda w: ("EarlyStopping", None, {"window": w, "smoothing": "ema"}),
              st.sampled_from([2**60 - 1, 2**61 + 1, 2**62, 2**63 - 1, 2**64, 10**6, 3])),
)


def hooks_backend():
    """Keras's numpy backend (the hooks run without a model), which imports
    JAX; without JAX (a torch-only environment) the suite's backend."""
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        return "numpy"
    return os.environ.get("KERAS_BACKEND", "tensorflow")


class _Worker:
    """One `fuzz_worker.py --serve` process."""

    def __init__(self, backend):
        env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if backend:
            env["KERAS_BACKEND"] = backend
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, WORKER, "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        self.buffer = b""

    def send(self, tmp_path, cases):
        data = pickle.dumps((str(tmp_path), cases))
        self.proc.stdin.write(struct.pack("<I", len(data)) + data)
        self.proc.stdin.flush()

    def readline(self, deadline):
        """The next line; None at end of output (the worker died); raises
        TimeoutError past `deadline`."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def error_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        """Ends the worker: a normal exit (its interpreter teardown frees
        what the cases left) unless it is dead already; returns its exit
        status and stderr."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        err = self.error_text()
        self.stderr.close()
        return self.proc.returncode, err


@pytest.fixture(scope="module")
def workers():
    """{backend: _Worker}, started on first use; after the module each must
    exit cleanly (as each batch's own process had to before)."""
    pool = {}
    yield pool
    ends = {backend: worker.stop() for backend, worker in pool.items()}
    bad = {backend: (status, err[-3000:]) for backend, (status, err) in ends.items() if status}
    assert bad == {}, "a worker's exit failed"


def run_batch(workers, cases, tmp_path, timeout, backend=None):
    """Runs `cases` in the worker process of `backend`; fails on a crash, a
    hang, or any case that neither raised cleanly nor gave a working object."""
    if backend not in workers:
        workers[backend] = _Worker(backend)
    worker = workers[backend]
    deadline = time.monotonic() + timeout
    done = []
    try:
        worker.send(tmp_path, cases)
        while True:
            line = worker.readline(deadline)
            if line is None:   # the worker died
                status = worker.proc.wait()
                at = cases[len(done)] if len(done) < len(cases) else None
                pytest.fail(f"the worker died (status {status}) at case {at!r}:\n"
                            f"{worker.error_text()[-3000:]}")
            if line == "null":
                break
            done.append(json.loads(line))
    except TimeoutError:
        worker.proc.kill()
        pytest.fail(f"the worker hung at case {cases[len(done)]!r}")
    except BrokenPipeError:
        status = worker.proc.wait()
        pytest.fail(f"the worker had died (status {status}):\n{worker.error_text()[-3000:]}")
    finally:
        if worker.proc.poll() is not None or len(done) < len(cases):
            worker.stop()
            del workers[backend]
    assert len(done) == len(cases)
    bad = [(cases[i], rest) for i, *rest in done if rest[0] == "bad"]
    assert bad == []
    return done


@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_core_constructors_raise_cleanly_or_work(impl, tmp_path, workers, data):
    cases = data.draw(st.lists(core_cases(impl), min_size=40, max_size=40))
    run_batch(workers, cases, tmp_path, timeout=120)


KNOWN_WINDOWS = [("EarlyStopping", None, {"window": w}) for w in (2**60 - 1, 2**61 + 1, 2**62)]


@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_callback_arguments_that_reach_the_core(tmp_path, workers, data):
    # Keras is imported once by the worker of this backend (the numpy
    # backend: the hooks run without a model), which serves every batch.
    cases = KNOWN_WINDOWS + data.draw(st.lists(callback_cases, min_size=60, max_size=60))
    done = run_batch(workers, cases, tmp_path, timeout=300, backend=hooks_backend())
    # window=2**62 crashed a real fit before; now the largest window works
    # and larger ones raise at construction.
    assert [d[1:] for d in done[:3]] == [["ok"], ["raised", "OverflowError"],
                                         ["raised", "OverflowError"]]


@pytest.mark.parametrize("impl", IMPLS)
def test_known_crashers(impl, tmp_path, workers):
    # The values of the report, each checked whatever hypothesis draws.
    cases = [("RingMonitor", impl, {"capacity": c})
             for c in (2**60 - 1, 2**61 + 1, 2**62, 2**63 - 1, 2**64)]
    cases += [("WeightSnapshot", impl, {"max_sets": m}) for m in (2**62, 2**63, 1.5)]
    cases += [("NpzWriter", impl, {"queue_bytes": q}) for q in (1, 2**62, 2**63 - 1, 2**70)]
    done = run_batch(workers, cases, tmp_path, timeout=120)
    # The largest allowed capacity works; past it, a clean OverflowError.
    assert [d[1:] for d in done[:5]] == [["ok"], ["raised", "OverflowError"],
                                         ["raised", "OverflowError"],
                                         ["raised", "OverflowError"],
                                         ["raised", "OverflowError"]]
