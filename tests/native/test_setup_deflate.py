"""setup.py's choice of the npz writer's deflate library (FASTCALLBACKS_DEFLATE).

setup.py is run with `setup()` stubbed out (and Cython stubbed, which the
test environment need not have); its build_ext command then looks for the
libraries as a build would: the selection rules with a stand-in for the
compile-and-link probe, and the probe itself with this machine's compiler.
"""

import os
import runpy
import sys
import types

import pytest
import setuptools
from setuptools import Distribution, Extension
from setuptools.errors import SetupError

from fastcallbacks._core import npzwriter as c_npzwriter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MACROS = {"isa-l": "FC_DEFLATE_ISAL", "libdeflate": "FC_DEFLATE_LIBDEFLATE",
          "zlib": "FC_DEFLATE_ZLIB"}


@pytest.fixture
def build_ext(monkeypatch, tmp_path):
    """setup.py's build_ext command, ready to look for a library."""
    monkeypatch.setenv("FASTCALLBACKS_PURE_PYTHON", "1")
    monkeypatch.delenv("FASTCALLBACKS_DEFLATE", raising=False)
    cython = types.ModuleType("Cython")
    cython_build = types.ModuleType("Cython.Build")
    cython_build.cythonize = lambda *args, **kwargs: []
    monkeypatch.setitem(sys.modules, "Cython", cython)
    monkeypatch.setitem(sys.modules, "Cython.Build", cython_build)
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: None)
    monkeypatch.chdir(ROOT)
    ns = runpy.run_path(os.path.join(ROOT, "setup.py"), run_name="setup")
    cmd = ns["BuildExt"](Distribution({"name": "probe"}))
    cmd.finalize_options()
    cmd.build_temp = str(tmp_path)

    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler

    cmd.compiler = new_compiler()
    customize_compiler(cmd.compiler)
    return cmd


def _npzwriter():
    return Extension("fastcallbacks._core.npzwriter", ["npzwriter.pyx"])


def _only(monkeypatch, cmd, names):
    """Makes the probe link the named libraries only."""
    macros = {MACROS[n] for n in names}
    monkeypatch.setattr(cmd, "_links", lambda macro, settings: macro in macros)


@pytest.mark.parametrize("available, expected", [
    (["isa-l", "libdeflate", "zlib"], "isa-l"),
    (["libdeflate", "zlib"], "libdeflate"),
    (["isa-l", "zlib"], "isa-l"),
    (["zlib"], "zlib"),
])
def test_auto_takes_the_first_library_that_links(build_ext, monkeypatch, available, expected):
    _only(monkeypatch, build_ext, available)
    ext = _npzwriter()
    build_ext._add_deflate(ext)
    macros = [m for m, _ in ext.define_macros if m.startswith("FC_DEFLATE_")
              and m != "FC_DEFLATE_VERSION"]
    assert macros == [MACROS[expected]]
    assert ext.libraries, "no library to link"


@pytest.mark.parametrize("forced", ["isa-l", "libdeflate", "zlib"])
def test_a_forced_library_is_used_or_the_build_fails(build_ext, monkeypatch, forced):
    monkeypatch.setenv("FASTCALLBACKS_DEFLATE", forced)
    _only(monkeypatch, build_ext, ["isa-l", "libdeflate", "zlib"])
    ext = _npzwriter()
    build_ext._add_deflate(ext)
    assert (MACROS[forced], "1") in ext.define_macros
    # Missing: no fallback to another library, and the message names it.
    others = [n for n in MACROS if n != forced]
    _only(monkeypatch, build_ext, others)
    with pytest.raises(SetupError, match=f"FASTCALLBACKS_DEFLATE={forced}: no usable {forced}"):
        build_ext._add_deflate(_npzwriter())


def test_no_library_at_all_fails_naming_the_packages(build_ext, monkeypatch):
    _only(monkeypatch, build_ext, [])
    with pytest.raises(SetupError, match="libisal-dev.*libdeflate-dev.*zlib1g-dev"):
        build_ext._add_deflate(_npzwriter())


def test_an_unknown_choice_is_a_value_error(build_ext, monkeypatch):
    monkeypatch.setenv("FASTCALLBACKS_DEFLATE", "zstd")
    with pytest.raises(ValueError, match="FASTCALLBACKS_DEFLATE must be auto, isa-l"):
        build_ext._add_deflate(_npzwriter())


@pytest.mark.skipif(os.name != "posix", reason="the POSIX C compiler Python was built with")
def test_zlib_links_without_pkg_config(build_ext, monkeypatch):
    # A fresh machine: CPython, a compiler and zlib's headers, no pkg-config.
    monkeypatch.setenv("PKG_CONFIG", os.devnull)
    found = build_ext._find_deflate("zlib")
    assert found is not None
    macro, settings, how = found
    assert macro == "FC_DEFLATE_ZLIB" and how.startswith("compiler default paths")


@pytest.mark.skipif(os.name != "posix", reason="the POSIX C compiler Python was built with")
def test_the_library_of_this_build_links(build_ext):
    name = c_npzwriter.DEFLATE_LIBRARY.split(" ")[0]
    found = build_ext._find_deflate(name)
    assert found is not None and found[0] == MACROS[name]
