"""The developers' guide's file-size limits: no package `.py` over 500
lines, no Cython source (`.pyx`, and the `.pxi` files they include) over
800. A concern that does not fit goes into a new module or include file."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIMITS = {".py": 500, ".pyx": 800, ".pxi": 800, ".pxd": 800}


def sources():
    for top in ("src/fastcallbacks", "cyext/fastcallbacks"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in LIMITS and path.is_file():
                yield path


def test_the_sources_are_found():
    names = {p.name for p in sources()}
    assert {"npzwriter.pyx", "_platform.pxd", "npzwriter.py", "_npzlayout.py"} <= names


@pytest.mark.parametrize("path", list(sources()), ids=lambda p: str(p.relative_to(ROOT)))
def test_source_file_is_within_its_line_limit(path):
    with open(path, encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    assert lines <= LIMITS[path.suffix], f"{path.relative_to(ROOT)}: {lines} lines"
