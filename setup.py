"""Builds the compiled core of fastcallbacks (everything else is in pyproject.toml)."""
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

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

if os.environ.get("FASTCALLBACKS_PURE_PYTHON") == "1":
    ext_modules = []
else:
    debug = os.environ.get("FASTCALLBACKS_CYTHON_DEBUG") == "1"
    # Bit-identical results with the pure-Python reference need plain IEEE
    # double arithmetic: no fused multiply-add contraction.
    extra = [] if sys.platform == "win32" else ["-ffp-contract=off"]
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

setup(ext_modules=ext_modules)
