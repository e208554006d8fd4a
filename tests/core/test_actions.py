"""The action codes: one module, the same values in both tracker implementations."""

import ast
import pathlib

from fastcallbacks import _actions

PACKAGE = pathlib.Path(_actions.__file__).parent


def test_both_trackers_use_the_action_codes_module(impl):
    for name in _actions.NAMES:
        assert getattr(impl, name) == getattr(_actions, name), name
    assert len({getattr(_actions, n) for n in _actions.NAMES}) == len(_actions.NAMES)


def test_production_modules_never_import_the_reference():
    # Only `_impl` (which selects an implementation) may name the reference.
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "_impl.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                names = [a.name for a in node.names]
                if "_reference" in module or "_reference" in names:
                    offenders.append(f"{path.name}: from {module} import {names}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if "_reference" in a.name:
                        offenders.append(f"{path.name}: import {a.name}")
    assert offenders == []
