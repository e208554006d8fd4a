"""Builds and runs tests/native/deflate_piece_check.c against fc_deflate.h.

Compiled for the deflate library the extension was built with (see
`fastcallbacks._core.npzwriter.DEFLATE_LIBRARY`), with the C compiler Python
was built with, and run with tiny and normal input/output pieces: the loops
that feed ISA-L's and zlib's 32-bit counters, which members of 4 GiB and
more would otherwise be needed to reach.
"""

import os
import pathlib
import shlex
import shutil
import subprocess
import sysconfig

import pytest

from fastcallbacks._core import npzwriter as c_npzwriter

ROOT = pathlib.Path(__file__).resolve().parents[2]
# library: (macro, pkg-config module, libraries without pkg-config)
LIBRARIES = {"isa-l": ("FC_DEFLATE_ISAL", "libisal", ["-lisal"]),
             "libdeflate": ("FC_DEFLATE_LIBDEFLATE", "libdeflate", ["-ldeflate"]),
             "zlib": ("FC_DEFLATE_ZLIB", "zlib", [])}


def _flags(module, default):
    pkg_config = shutil.which("pkg-config") or shutil.which("pkgconf")
    if pkg_config is not None:
        r = subprocess.run([pkg_config, "--cflags", "--libs", module],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return shlex.split(r.stdout)
    return default


@pytest.mark.skipif(os.name != "posix", reason="builds with the POSIX C compiler Python used")
@pytest.mark.parametrize("piece", [777, 65536, None])
def test_deflate_and_crc_in_pieces_match_zlib(tmp_path, piece):
    name = c_npzwriter.DEFLATE_LIBRARY.split(" ")[0]
    macro, module, default = LIBRARIES[name]
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    exe = tmp_path / "check"
    cmd = [*cc, "-O2", f"-D{macro}", f"-I{ROOT / 'cyext/fastcallbacks/_core'}",
           *([f"-DPIECE={piece}"] if piece else []),
           str(ROOT / "tests/native/deflate_piece_check.c"), "-o", str(exe),
           *_flags(module, default), "-lz"]
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, (cmd, build.stderr)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    # The same library; its version may differ: DEFLATE_LIBRARY reports the
    # one loaded in this process, where an extension module loaded earlier
    # may have brought another zlib (seen: 1.3.1 under Python 3.10 against
    # the system's 1.2.13 that the check program links).
    assert lines[0].split(" ")[0] == name, (lines[0], c_npzwriter.DEFLATE_LIBRARY)
    assert len(lines) == 12 and all(line.endswith("ok=1 tight=0") for line in lines[1:]), lines
