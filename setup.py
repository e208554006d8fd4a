"""Builds the compiled core of fastcallbacks (everything else is in pyproject.toml)."""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError, SetupError

MODULES = ["ring", "tracker", "snapshot", "npzwriter", "criteria"]
CORE = "cyext/fastcallbacks/_core"
EXTRA_INCLUDES = {
    "npzwriter": [CORE],  # fc_deflate.h, npz_platform.h
    "snapshot": [CORE],  # npz_platform.h: portable threads
}

# The npz writer's CRC-32 and deflate (compress=True) come from a system
# library, linked (never copied into this repository). FASTCALLBACKS_DEFLATE
# picks one: "auto" (the default: the first of these that is found), or
# "isa-l", "libdeflate" or "zlib" (the build fails when that one is missing).
# Each is looked up with pkg-config, else with the compiler's default paths.
# name: (pkg-config module, macro for fc_deflate.h, libraries to try without
# pkg-config, packages that install it)
DEFLATE_LIBRARIES = {
    "isa-l": ("libisal", "FC_DEFLATE_ISAL", [["isal"]],
              "libisal-dev (Debian, Ubuntu), isa-l-devel (Fedora, EPEL), "
              "isa-l-dev (Alpine), isa-l (Homebrew)"),
    "libdeflate": ("libdeflate", "FC_DEFLATE_LIBDEFLATE", [["deflate"], ["libdeflate"]],
                   "libdeflate-dev (Debian, Ubuntu, Alpine), libdeflate-devel (Fedora), "
                   "libdeflate (Homebrew, vcpkg)"),
    "zlib": ("zlib", "FC_DEFLATE_ZLIB", [["z"], ["zlib"]],
             "zlib1g-dev (Debian, Ubuntu), zlib-devel (Fedora), zlib-dev (Alpine), "
             "zlib (vcpkg)"),
}
# Compiles and links what the writer uses from fc_deflate.h (not run: the
# build may be a cross-build).
DEFLATE_PROBE = """#include "fc_deflate.h"
int main(void)
{
    fc_deflater *d = fc_deflater_new();
    size_t n = fc_deflate(d, "aaaa", 4, 0, 0);
    fc_deflater_free(d);
    return (int)(fc_crc32(0, "a", 1) + n) == 0;
}
"""


def pkg_config(module):
    """Compiler settings for a pkg-config module, or None where unknown."""
    exe = os.environ.get("PKG_CONFIG") or shutil.which("pkg-config") or shutil.which("pkgconf")
    if exe is None:
        return None

    def query(*flags):
        r = subprocess.run([exe, *flags, module], capture_output=True, text=True)
        if r.returncode != 0:
            raise LookupError(r.stderr.strip())
        return r.stdout.strip()

    try:
        version = query("--modversion")
        include_dirs = [f[2:] for f in shlex.split(query("--cflags-only-I"))]
        library_dirs = [f[2:] for f in shlex.split(query("--libs-only-L"))]
        libraries = [f[2:] for f in shlex.split(query("--libs-only-l"))]
        extra_compile = shlex.split(query("--cflags-only-other"))
        extra_link = shlex.split(query("--libs-only-other"))
    except (LookupError, OSError):
        return None
    return {"version": version, "include_dirs": include_dirs, "library_dirs": library_dirs,
            "libraries": libraries, "extra_compile_args": extra_compile,
            "extra_link_args": extra_link}


class BuildExt(build_ext):
    """build_ext that links the npz writer against the deflate library found."""

    def build_extension(self, ext):
        if ext.name == "fastcallbacks._core.npzwriter":
            self._add_deflate(ext)
        super().build_extension(ext)

    def _add_deflate(self, ext):
        choice = os.environ.get("FASTCALLBACKS_DEFLATE", "auto")
        if choice != "auto" and choice not in DEFLATE_LIBRARIES:
            raise ValueError("FASTCALLBACKS_DEFLATE must be auto, isa-l, libdeflate or "
                             f"zlib, got {choice!r}")
        names = list(DEFLATE_LIBRARIES) if choice == "auto" else [choice]
        for name in names:
            found = self._find_deflate(name)
            if found is not None:
                break
            print(f"npz writer: {name} not found", flush=True)
        else:
            packages = "; ".join(DEFLATE_LIBRARIES[n][3] for n in names)
            raise SetupError(
                f"FASTCALLBACKS_DEFLATE={choice}: no usable {' or '.join(names)} "
                "(neither pkg-config nor the compiler's default paths give one that "
                f"compiles and links). Install its development package: {packages}"
                + ("; or set FASTCALLBACKS_DEFLATE=auto." if choice != "auto" else "."))
        macro, settings, how = found
        print(f"npz writer: CRC-32 and deflate from {name} ({how})", flush=True)
        ext.define_macros.append((macro, "1"))
        if "version" in settings:   # pkg-config's, where the headers lack one
            ext.define_macros.append(("FC_DEFLATE_VERSION", f'"{settings["version"]}"'))
        for key in ("include_dirs", "library_dirs", "libraries",
                    "extra_compile_args", "extra_link_args"):
            getattr(ext, key).extend(settings[key])
        # A stamp rewritten when the choice changes makes the module older
        # than its dependencies, so switching libraries rebuilds it.
        stamp = os.path.join(self._probe_dir(), "npzwriter-deflate.txt")
        chosen = f"{name} {macro} {settings!r}\n"
        if not os.path.exists(stamp) or open(stamp).read() != chosen:
            with open(stamp, "w") as f:
                f.write(chosen)
        ext.depends.append(stamp)

    def _find_deflate(self, name):
        """(macro, settings, how found) for one library, or None."""
        module, macro, fallbacks, _ = DEFLATE_LIBRARIES[name]
        empty = {"include_dirs": [], "library_dirs": [], "libraries": [],
                 "extra_compile_args": [], "extra_link_args": []}
        candidates = []
        settings = pkg_config(module)
        if settings is not None:
            candidates.append((settings, f"pkg-config {module} {settings['version']}"))
        for libraries in fallbacks:
            candidates.append(({**empty, "libraries": libraries},
                               "compiler default paths, " + " ".join(libraries)))
        for settings, how in candidates:
            if self._links(macro, settings):
                return macro, settings, how
        return None

    def _links(self, macro, settings):
        """Whether DEFLATE_PROBE compiles and links with these settings."""
        with tempfile.TemporaryDirectory(dir=self._probe_dir()) as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(DEFLATE_PROBE)
            try:
                objects = self.compiler.compile(
                    [src], output_dir=tmp, macros=[(macro, "1")],
                    include_dirs=[os.path.abspath(CORE), *settings["include_dirs"]],
                    extra_postargs=settings["extra_compile_args"])
                self.compiler.link_executable(
                    objects, "probe", output_dir=tmp, libraries=settings["libraries"],
                    library_dirs=settings["library_dirs"],
                    extra_postargs=settings["extra_link_args"])
            except (CompileError, LinkError):
                return False
        return True

    def _probe_dir(self):
        os.makedirs(self.build_temp, exist_ok=True)
        return self.build_temp


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
                [f"{CORE}/{name}.pyx"],
                include_dirs=[np.get_include(), *EXTRA_INCLUDES.get(name, [])],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=list(extra),
                extra_link_args=list(link),
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
