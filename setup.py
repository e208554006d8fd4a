"""Builds the compiled core of fastcallbacks (everything else is in pyproject.toml)."""
import os
import platform
import shutil
import subprocess
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ["ring", "tracker", "snapshot", "npzwriter"]

# libdeflate (MIT, vendored unmodified under cyext/third_party/libdeflate):
# CRC-32 and deflate for the npz writer.
LIBDEFLATE = "cyext/third_party/libdeflate"
EXTRA_SOURCES = {
    "npzwriter": [
        f"{LIBDEFLATE}/lib/{name}"
        for name in ("crc32.c", "deflate_compress.c", "utils.c",
                     "x86/cpu_features.c", "arm/cpu_features.c")
    ],
}
EXTRA_INCLUDES = {
    "npzwriter": [LIBDEFLATE, "cyext/fastcallbacks/_core"],
    "snapshot": ["cyext/fastcallbacks/_core"],  # npz_platform.h: portable threads
}

# ISA-L (BSD-3-Clause, vendored unmodified under cyext/third_party/isa-l):
# igzip's level-1 deflate for the npz writer's compress=True, built with its
# own makefile. Its x86-64 kernels need nasm; without nasm (or when that build
# fails) its portable C code is built instead. FASTCALLBACKS_DEFLATE picks:
# "auto" (default: ISA-L on POSIX systems when `make` works, else libdeflate),
# "isa-l" (fail without it) or "libdeflate". Windows builds use libdeflate.
ISAL = "cyext/third_party/isa-l"


def _isal_targets():
    """(name, make arguments) of the ISA-L builds to try, best first."""
    machine = platform.machine().lower()
    pic = "-fPIC"
    if machine in ("aarch64", "arm64"):
        # Makefile.unx knows "aarch64" only, not macOS's "arm64".
        return [("aarch64", ["host_cpu=aarch64", "arch=aarch64", f"CFLAGS_aarch64={pic}"])]
    portable = ("portable C", ["arch=noarch", f"CFLAGS_noarch={pic}"])
    if machine in ("x86_64", "amd64") and shutil.which("nasm"):
        # arch stays what Makefile.unx derives from uname (ELF or Mach-O).
        return [("x86_64", [f"CFLAGS_={pic}", f"CFLAGS_Darwin={pic}"]), portable]
    return [portable]


def build_isal(build_temp):
    """Builds ISA-L's igzip into build_temp; returns (library, name) or None."""
    make = shutil.which("gmake") or shutil.which("make")
    if make is None:
        return None
    jobs = str(max(1, min(os.cpu_count() or 1, 8)))
    for name, args in _isal_targets():
        out = os.path.join(build_temp, "isa-l-" + name.split()[0])
        lib = os.path.join(out, "bin", "isa-l.a")
        if os.path.exists(lib):
            return lib, name
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(ISAL, out)
        cmd = [make, "-f", "Makefile.unx", "-j", jobs, "units=igzip", "bin/isa-l.a", *args]
        print("building ISA-L (%s): %s" % (name, " ".join(cmd)), flush=True)
        if subprocess.run(cmd, cwd=out).returncode == 0 and os.path.exists(lib):
            return lib, name
        print("ISA-L (%s) did not build" % name, flush=True)
    return None


class BuildExt(build_ext):
    """build_ext that first builds ISA-L for the npz writer, when it can."""

    def build_extension(self, ext):
        if ext.name == "fastcallbacks._core.npzwriter":
            self._add_deflate(ext)
        super().build_extension(ext)

    def _add_deflate(self, ext):
        choice = os.environ.get("FASTCALLBACKS_DEFLATE", "auto")
        if choice not in ("auto", "isa-l", "libdeflate"):
            raise ValueError("FASTCALLBACKS_DEFLATE must be auto, isa-l or libdeflate, "
                             f"got {choice!r}")
        built = None
        if choice != "libdeflate" and sys.platform != "win32":
            os.makedirs(self.build_temp, exist_ok=True)
            built = build_isal(os.path.abspath(self.build_temp))
        if built is None:
            if choice == "isa-l":
                raise RuntimeError("FASTCALLBACKS_DEFLATE=isa-l, but ISA-L did not build "
                                   "(needs make and a C compiler; nasm for x86-64 kernels)")
            return
        lib, name = built
        ext.include_dirs.append(f"{ISAL}/include")
        ext.extra_objects.append(lib)
        ext.define_macros += [("FC_DEFLATE_ISAL", "1"), ("FC_ISAL_KERNELS", f'"{name}"')]


if os.environ.get("FASTCALLBACKS_PURE_PYTHON") == "1":
    ext_modules = []
else:
    debug = os.environ.get("FASTCALLBACKS_CYTHON_DEBUG") == "1"
    # Bit-identical results with the pure-Python reference need plain IEEE
    # double arithmetic: no fused multiply-add contraction.
    extra = [] if sys.platform == "win32" else ["-ffp-contract=off"]
    # FASTCALLBACKS_SANITIZE=address: an AddressSanitizer build (GCC/Clang),
    # for tests run with its runtime preloaded (and libstdc++, whose C++
    # exceptions ASan's interceptor must find: matplotlib throws some):
    # LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
    # ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
    sanitize = os.environ.get("FASTCALLBACKS_SANITIZE", "")
    if sanitize not in ("", "address"):
        raise ValueError(f"FASTCALLBACKS_SANITIZE must be empty or address, got {sanitize!r}")
    link = []
    if sanitize == "address":
        extra += ["-fsanitize=address", "-fno-omit-frame-pointer"]
        link = ["-fsanitize=address"]
    ext_modules = cythonize(
        [
            Extension(
                f"fastcallbacks._core.{name}",
                [f"cyext/fastcallbacks/_core/{name}.pyx", *EXTRA_SOURCES.get(name, [])],
                include_dirs=[np.get_include(), *EXTRA_INCLUDES.get(name, [])],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                # libdeflate needs C11 (MSVC defaults to an older mode).
                extra_compile_args=extra + (
                    ["/std:c11"] if sys.platform == "win32" and name in EXTRA_SOURCES else []
                ),
                extra_link_args=link,
            )
            for name in MODULES
        ],
        include_path=["cyext"],
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug,
            "wraparound": debug,
            "initializedcheck": debug,
            "cdivision": True,
            "embedsignature": True,
        },
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": BuildExt})
