"""Selection of the implementation: compiled core or pure-Python reference."""

import os
import subprocess
import sys
import textwrap

import pytest

import fastcallbacks
from fastcallbacks import _impl

ENV_VARS = ("FASTCALLBACKS_PURE_PYTHON", "FASTCALLBACKS_REQUIRE_EXT")

# Makes the compiled RingMonitor unimportable, as a broken or missing
# extension would be, before fastcallbacks is imported.
BLOCK_CORE = textwrap.dedent("""
    import sys
    import importlib.abc

    class BlockCore(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "fastcallbacks._core.ring":
                raise ModuleNotFoundError("blocked by the test: " + name, name=name)
            return None

    sys.meta_path.insert(0, BlockCore())
""")

REPORT = textwrap.dedent("""
    try:
        import fastcallbacks
    except ImportError as e:
        print("IMPORT-ERROR:", e)
    else:
        from fastcallbacks import _impl
        print("IMPL:", fastcallbacks.implementation())
        print("RING:", fastcallbacks.RingMonitor.__module__)
        print("CORE-IMPORTED:", "fastcallbacks._core.ring" in sys.modules)
        print("FALLBACK-ERROR:", type(_impl.import_error).__name__)
""")


def run_python(code, tmp_path, **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(env_vars)
    proc = subprocess.run([sys.executable, "-c", "import sys\n" + code], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)


@pytest.fixture
def restore_impl():
    previous = _impl.name
    yield
    _impl.use(previous)
    assert fastcallbacks.implementation() == previous


def test_compiled_core_is_used_here():
    expected = "python" if os.environ.get("FASTCALLBACKS_PURE_PYTHON") == "1" else "cython"
    assert fastcallbacks.implementation() == expected
    if expected == "cython":
        assert _impl.import_error is None
        assert fastcallbacks.RingMonitor.__module__ == "fastcallbacks._core.ring"
        assert fastcallbacks.BestTracker.__module__ == "fastcallbacks._core.tracker"
        assert fastcallbacks.WeightSnapshot.__module__ == "fastcallbacks._core.snapshot"


def test_use_switches_the_implementation(restore_impl):
    import fastcallbacks._core.tracker as core_tracker
    import fastcallbacks._reference.tracker as ref_tracker

    _impl.use("cython")
    assert fastcallbacks.implementation() == "cython"
    cy_ring = fastcallbacks.RingMonitor(3)
    assert _impl.use("python") == "cython"  # returns the previous name
    assert fastcallbacks.implementation() == "python"
    assert _impl.tracker is ref_tracker
    assert fastcallbacks.BestTracker is ref_tracker.BestTracker
    assert fastcallbacks.RingMonitor.__module__ == "fastcallbacks._reference.ring"
    assert fastcallbacks.WeightSnapshot.__module__ == "fastcallbacks._reference.snapshot"
    # Objects made earlier keep their implementation.
    assert type(cy_ring).__module__ == "fastcallbacks._core.ring"
    assert _impl.use("cython") == "python"
    assert _impl.tracker is core_tracker
    assert fastcallbacks.BestTracker is core_tracker.BestTracker


@pytest.mark.parametrize("bad", ["pure", "Cython", "", None, "c"])
def test_use_rejects_unknown_names(restore_impl, bad):
    before = (_impl.name, _impl.ring, _impl.tracker, _impl.snapshot)
    with pytest.raises(ValueError, match="`impl` must be 'cython' or 'python'"):
        _impl.use(bad)
    assert (_impl.name, _impl.ring, _impl.tracker, _impl.snapshot) == before


def test_pure_python_environment_variable(tmp_path):
    out = run_python(REPORT, tmp_path, FASTCALLBACKS_PURE_PYTHON="1")
    assert out["IMPL"] == "python"
    assert out["RING"] == "fastcallbacks._reference.ring"
    assert out["CORE-IMPORTED"] == "False"  # not even tried
    assert out["FALLBACK-ERROR"] == "NoneType"


def test_default_environment_uses_the_compiled_core(tmp_path):
    out = run_python(REPORT, tmp_path)
    assert out["IMPL"] == "cython"
    assert out["RING"] == "fastcallbacks._core.ring"


def test_broken_core_falls_back_to_python(tmp_path):
    out = run_python(BLOCK_CORE + REPORT, tmp_path)
    assert out["IMPL"] == "python"
    assert out["RING"] == "fastcallbacks._reference.ring"
    assert out["FALLBACK-ERROR"] == "ModuleNotFoundError"


def test_broken_core_with_require_ext_raises(tmp_path):
    out = run_python(BLOCK_CORE + REPORT, tmp_path, FASTCALLBACKS_REQUIRE_EXT="1")
    assert "IMPL" not in out
    assert "FASTCALLBACKS_REQUIRE_EXT" in out["IMPORT-ERROR"]
    assert "blocked by the test" in out["IMPORT-ERROR"]  # the cause is shown


def test_require_ext_with_a_working_core(tmp_path):
    out = run_python(REPORT, tmp_path, FASTCALLBACKS_REQUIRE_EXT="1")
    assert out["IMPL"] == "cython"
