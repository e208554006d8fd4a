"""Repository-level pytest set-up.

* `pytest` runs tests/, `pytest --benchmark` runs bench/.
* The Keras suites (tests/keras, tests/checkpoint, tests/logger, tests/demo)
  get the `keras` marker and the TensorFlow backend unless `KERAS_BACKEND`
  says otherwise (set here, before any test module imports Keras); every
  test of tests/keras, tests/checkpoint, tests/logger and tests/resume runs
  under the `core_impl` fixture that switches the core implementation
  (`impl` is its value; tests/core has its own `impl`, over both).
* The Keras suites run once, on the compiled core: tests/core proves the
  compiled core and the pure-Python reference bit-identical (differential
  tests), so running every parity test twice proves nothing more. Tests
  marked `reference_smoke` also run on the reference, and
  `--reference-parity` runs every Keras-suite test on both.
* Scratch files (`tmp_path`, `tempfile`, the children's too) go to a RAM
  file system when there is a large one (`/dev/shm` on Linux) and `TMPDIR`
  is not set: the suite writes about 2 GB, much of it with `fsync`, and a
  shared disk made tests wait on it (docs/CONTRIBUTING.md has the timings).
  What the tests check is unchanged: their
  crashes are SIGKILLs, which a RAM file system survives like a disk (the
  page cache is the same), and the disk-full tests mount their own tmpfs.
  Set `TMPDIR` to choose another place.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gc  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).parent
RAM_SCRATCH = "/dev/shm"
RAM_SCRATCH_MIN_FREE = 4 << 30   # a run holds under 1 GiB there at its peak


def _scratch_in_ram():
    """`TMPDIR=/dev/shm` for this process and its children if /dev/shm is a
    writable tmpfs with RAM_SCRATCH_MIN_FREE free and TMPDIR is not set."""
    if "TMPDIR" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        with open("/proc/self/mounts") as f:
            mounts = {fields[1]: fields[2] for fields in (line.split() for line in f)
                      if len(fields) > 2}
        free = os.statvfs(RAM_SCRATCH)
    except OSError:
        return
    if (mounts.get(RAM_SCRATCH) == "tmpfs" and os.access(RAM_SCRATCH, os.W_OK | os.X_OK)
            and free.f_bavail * free.f_frsize >= RAM_SCRATCH_MIN_FREE):
        os.environ["TMPDIR"] = RAM_SCRATCH
        tempfile.tempdir = None   # gettempdir() reads TMPDIR again


_scratch_in_ram()
KERAS_SUITES = ("keras", "checkpoint", "logger", "demo", "resume")
# The test files that take longest (wall time on 3 workers, 2 cores), longest
# first: `--dist loadfile` hands files out in collection order
# (`pytest_configure` turns off xdist's reordering by test count), so these
# start early and the last files to finish are short ones, not a worker
# left alone with a long file (docs/CONTRIBUTING.md has the timings). The
# list is only an order: a file not in it runs after them, as collected.
LONGEST_FIRST = (
    "tests/keras/test_parity_fit.py",
    "tests/distributed/test_two_processes.py",
    "tests/demo/test_demo_cli.py",
    "tests/core/test_npzwriter.py",
    "tests/docs/test_docs.py",
    "tests/resume/test_state_protocol.py",
    "tests/core/test_differential.py",
    "tests/keras/test_parity_values.py",
    "tests/core/test_npz_readers.py",
    "tests/resume/test_resume_kill.py",
    "tests/core/test_npzlayout.py",
    "tests/checkpoint/test_checkpoint_faults.py",
    "tests/distributed/test_backup_roles.py",
    "tests/keras/test_parity_hooks.py",
    "tests/checkpoint/test_checkpoint_parity_fit.py",
    "tests/keras/test_example_cli.py",
    "tests/backends/test_backend_jax.py",
    "tests/logger/test_activation_logger.py",
)
IMPL_SUITES = ("keras", "checkpoint", "logger", "resume")


def _relative(path):
    """`path` relative to the repository root (ValueError outside it)."""
    return Path(path).resolve().relative_to(ROOT.resolve())


def _suite(path):
    """The folder under tests/ that `path` is in, or None."""
    parts = _relative(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else None


def pytest_addoption(parser):
    parser.addoption(
        "--benchmark",
        action="store_true",
        default=False,
        help="run the benchmarks in bench/ (pytest-benchmark) instead of the tests",
    )
    parser.addoption(
        "--reference-parity",
        action="store_true",
        default=False,
        help="run every Keras-suite test on the pure-Python reference core too "
        "(by default only the tests marked reference_smoke)",
    )


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook
def pytest_xdist_auto_num_workers(config):
    """`-n auto` (addopts): no workers for the benchmarks (timings need a
    quiet machine; pytest-benchmark turns itself off under xdist) or when
    the arguments name a single test file (one worker would run it all, after
    every worker had imported Keras); otherwise half again as many workers as
    CPUs, since about a third of a worker's time goes to waiting on its
    subprocesses, forks, kills and timeouts (docs/CONTRIBUTING.md has the
    timings). PYTEST_XDIST_AUTO_NUM_WORKERS still decides when it is set."""
    if config.getoption("--benchmark"):
        return 0
    files = {str(arg).split("::")[0] for arg in config.args}
    if len(files) == 1 and next(iter(files)).endswith(".py"):
        return 0
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None   # xdist's own implementation reads it
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return cpus + (cpus + 1) // 2


def pytest_ignore_collect(collection_path, config):
    bench = config.getoption("--benchmark")
    path = Path(collection_path).resolve()
    if path.is_relative_to(ROOT / "bench"):
        return None if bench else True
    if path.is_relative_to(ROOT / "tests"):
        return True if bench else None
    return None


def pytest_configure(config):
    missing = [name for name in LONGEST_FIRST if not (ROOT / name).is_file()]
    if missing:   # a renamed file would silently lose its place
        raise pytest.UsageError(f"conftest.LONGEST_FIRST names missing files: {missing}")
    if hasattr(config.option, "loadscopereorder"):   # pytest-xdist >= 3.6
        config.option.loadscopereorder = False        # LONGEST_FIRST orders the files


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Moves what collection made (Keras, TensorFlow and the test modules,
    alive until the run ends) out of the garbage collector's reach
    (`gc.freeze`): each full collection during the tests then walks only
    what the tests made, not the imports (docs/CONTRIBUTING.md has the
    timings)."""
    gc.collect()
    gc.freeze()


def _file_rank(item, ranks={name: i for i, name in enumerate(LONGEST_FIRST)}):
    try:
        name = _relative(item.path).as_posix()
    except ValueError:
        return len(LONGEST_FIRST)
    return ranks.get(name, len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_file_rank)   # stable: each file's tests keep their order
    for item in items:
        if _suite(item.path) in KERAS_SUITES:
            item.add_marker(pytest.mark.keras)


def pytest_runtest_setup(item):
    """`@pytest.mark.backend("tensorflow", reason=...)`: a test inherently
    about one backend (tf.distribute, TensorFlow's variable reads) runs on
    that backend and is skipped, naming the reason, on the others."""
    for marker in item.iter_markers("backend"):
        name = marker.args[0]
        reason = marker.kwargs.get("reason")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: backend marker without a reason")
        current = os.environ.get("KERAS_BACKEND", "tensorflow")
        if current != name:
            pytest.skip(f"needs the {name} backend ({reason}); KERAS_BACKEND={current}")


def pytest_generate_tests(metafunc):
    """`core_impl`: the compiled core; the reference too for tests marked
    `reference_smoke` or with `--reference-parity`."""
    if "core_impl" not in metafunc.fixturenames or _suite(metafunc.definition.path) not in IMPL_SUITES:
        return
    both = (metafunc.definition.get_closest_marker("reference_smoke") is not None
            or metafunc.config.getoption("--reference-parity"))
    metafunc.parametrize("core_impl", ("cython", "python") if both else ("cython",),
                         indirect=True)


@pytest.fixture(autouse=True)
def core_impl(request):
    """Switches the core implementation for one test of tests/keras,
    tests/checkpoint, tests/logger or tests/resume and restores it after (elsewhere: None,
    nothing switched).

    Callbacks bind their core at construction, so tests build them inside
    the test body.
    """
    if not hasattr(request, "param"):
        yield None
        return
    import fastcallbacks
    from fastcallbacks import _impl

    previous = _impl.use(request.param)
    try:
        if request.param == "cython":
            # A compiled core, not a stray pure-Python module of that name.
            for module in (_impl.ring, _impl.tracker, _impl.snapshot, _impl.npzwriter):
                assert not module.__file__.endswith(".py"), module.__file__
        assert fastcallbacks.implementation() == request.param
        yield request.param
    finally:
        _impl.use(previous)


@pytest.fixture
def impl(core_impl):
    """The core implementation of this test: "cython", or "python" for the
    `reference_smoke` tests' second run (see `core_impl`)."""
    return core_impl
