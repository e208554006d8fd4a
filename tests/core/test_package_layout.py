"""Structure of the package: where Keras privates live, no import cycles."""

import os
import pathlib
import subprocess
import sys

import fastcallbacks

PACKAGE = pathlib.Path(fastcallbacks.__file__).parent


def test_keras_privates_are_imported_in_one_module():
    # `keras.src` is not public API: every use goes through `_keras_internals`.
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "_keras_internals.py"
        and "keras.src" in path.read_text(encoding="utf-8")
    )
    assert users == []


def test_plot_does_not_import_demo():
    # The two share file names through `_demofiles`, not through each other.
    code = ("import sys, fastcallbacks.plot\n"
            "print('fastcallbacks.demo' in sys.modules)")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
        env=os.environ.copy(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_no_reference_to_missing_project_docs():
    # A module docstring once pointed to a docs page that did not exist.
    import re

    docs = pathlib.Path(__file__).resolve().parents[2] / "docs"   # the checkout's, also when installed
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for page in re.findall(r"docs/([\w-]+\.md)", text):
            assert (docs / page).is_file(), (path.name, page)
