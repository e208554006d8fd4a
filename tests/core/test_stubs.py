"""The .pyi stubs of the compiled core and of the public façades match the
modules.

Every public name of a compiled module (classes, constants, functions) is in
its stub and vice versa; within classes the same holds for methods,
properties (with or without a setter) and the special methods the class
defines; parameter names and defaults agree too. The public classes that
front an engine pair (`fastcallbacks._ringmonitor.RingMonitor`) have their
stub next to their Python module, checked against the class as bound to
the compiled engine (it derives from the façade and the engine, so the
engine's methods are its methods); an engine module re-exports its bound
class (`from .._ringmonitor import RingMonitor as RingMonitor` in its stub).
"""

import ast
import importlib
import inspect
import pathlib
import types

import pytest

MODULES = ("ring", "tracker", "snapshot", "npzwriter", "criteria")
# Façade module -> the compiled module that binds its class to an engine.
FACADES = {"_ringmonitor": "ring", "_npzwriter": "npzwriter"}
NO_DEFAULT = "<required>"
# Instances used to find out which properties of a compiled class can be set.
SAMPLES = {"RingEngine": lambda cls: cls(2, 0.5), "BestTracker": lambda cls: cls(),
           "WeightSnapshot": lambda cls: cls(), "CriteriaEngine": lambda cls: cls([], 0)}
# Special methods of a Python class that, as in a compiled class, are
# pickling glue rather than interface.
PICKLING = {"__reduce__", "__reduce_ex__", "__getstate__", "__setstate__"}


def compiled(name):
    module = importlib.import_module(f"fastcallbacks._core.{name}")
    assert not module.__file__.endswith(".py")
    return module


def facade(name):
    module = importlib.import_module(f"fastcallbacks.{name}")
    assert module.__file__.endswith(".py")
    return module


def all_modules():
    return [compiled(n) for n in MODULES] + [facade(n) for n in FACADES]


def parse_stub(module):
    path = pathlib.Path(module.__file__).with_name(module.__name__.rsplit(".", 1)[1] + ".pyi")
    assert path.is_file(), f"missing stub {path}"
    return ast.parse(path.read_text(), filename=str(path))


def stub_params(fn):
    """[(name, default)] of an ast.FunctionDef, defaults as Python values."""
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults = [NO_DEFAULT] * (len(positional) - len(args.defaults))
    defaults += [ast.literal_eval(d) for d in args.defaults]
    out = list(zip([a.arg for a in positional], defaults))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append((a.arg, NO_DEFAULT if d is None else ast.literal_eval(d)))
    assert args.vararg is None and args.kwarg is None, fn.name
    return out


def runtime_params(obj):
    return [(p.name, NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
            for p in inspect.signature(obj).parameters.values()]


def init_params(cls):
    """Parameters of a cdef class's __init__, from its embedded signature."""
    first = cls.__doc__.splitlines()[0]
    assert first.startswith(cls.__name__ + "("), first
    fn = ast.parse(f"def __init__{first[len(cls.__name__):].replace('(', '(self, ', 1)}: pass")
    return stub_params(fn.body[0])


def decorator_kind(fn):
    """("method", None), ("property", None) or ("setter", property name)."""
    for d in fn.decorator_list:
        if isinstance(d, ast.Name) and d.id == "property":
            return "property"
        if isinstance(d, ast.Attribute) and d.attr == "setter":
            return "setter"
        raise AssertionError(f"unexpected decorator on {fn.name}: {ast.dump(d)}")
    return "method"


def stub_class(node):
    methods, properties, setters = {}, set(), set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            kind = decorator_kind(item)
            if kind == "property":
                properties.add(item.name)
            elif kind == "setter":
                setters.add(item.name)
            else:
                methods[item.name] = stub_params(item)
        elif isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
            continue  # a docstring
        else:
            raise AssertionError(f"unexpected stub statement in {node.name}: {ast.dump(item)}")
    assert setters <= properties, setters - properties
    return methods, properties, setters


def stub_module(tree):
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname is not None and alias.asname == alias.name:
                    names[alias.name] = node   # `from m import X as X`: a re-export
            continue
        if isinstance(node, ast.Import):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            names[node.targets[0].id] = node
        else:
            raise AssertionError(f"unexpected stub statement: {ast.dump(node)}")
    return {k: v for k, v in names.items() if not k.startswith("_")}


def public_names(module):
    return {n for n in dir(module)
            if not n.startswith("_") and not isinstance(getattr(module, n), types.ModuleType)}


def python_class(cls):
    methods, properties, setters = {}, set(), set()
    for name, value in vars(cls).items():
        if isinstance(value, property):
            properties.add(name)
            if value.fset is not None:
                setters.add(name)
        elif name.startswith("__") and name.endswith("__"):
            if inspect.isfunction(value) and name not in PICKLING:
                methods[name] = runtime_params(value)
        elif name.startswith("_"):
            continue
        elif inspect.isfunction(value):
            methods[name] = runtime_params(value)
        else:
            raise AssertionError(f"unexpected class attribute {cls.__name__}.{name}")
    return methods, properties, setters


def bound_class(cls):
    """What a façade bound to an engine offers: the classes of its MRO
    (without itself and object), earlier ones winning."""
    methods, properties, setters = {}, set(), set()
    for base in cls.__mro__[1:-1]:
        m, p, st = runtime_class(base)
        for k, v in m.items():
            methods.setdefault(k, v)
        properties |= p
        setters |= st
    return methods, properties, setters


def runtime_class(cls):
    if inspect.isfunction(vars(cls).get("__init__")):   # a class written in Python
        return python_class(cls)
    methods, properties, setters = {}, set(), set()
    sample = None
    for name, value in vars(cls).items():
        if type(value).__name__ == "wrapper_descriptor":  # a special method it defines
            methods[name] = None
        elif name.startswith("_"):
            continue  # __new__, __doc__, Cython's pickling and vtable glue
        elif type(value).__name__ == "getset_descriptor":
            properties.add(name)
            if sample is None:
                sample = SAMPLES[cls.__name__](cls)
            try:
                setattr(sample, name, getattr(sample, name))
            except AttributeError:
                pass
            else:
                setters.add(name)
        elif callable(value):
            methods[name] = runtime_params(value)
        else:
            raise AssertionError(f"unexpected class attribute {cls.__name__}.{name}")
    return methods, properties, setters


def stub_for(name):
    return compiled(name) if name in MODULES else facade(name)


@pytest.mark.parametrize("name", MODULES + tuple(FACADES))
def test_stub_has_every_public_name_and_nothing_else(name):
    module = stub_for(name)
    stub = stub_module(parse_stub(module))
    runtime = public_names(module)
    assert sorted(runtime - set(stub)) == [], "missing from the stub"
    assert sorted(set(stub) - runtime) == [], "in the stub but not in the module"
    for key, node in stub.items():
        value = getattr(module, key)
        if isinstance(node, ast.ImportFrom):
            # A re-exported public class: the engine module's binding of it.
            source = importlib.import_module(
                node.module.lstrip(".") and f"fastcallbacks.{node.module.lstrip('.')}")
            assert isinstance(value, type) and issubclass(value, getattr(source, key)), key
        elif isinstance(node, ast.ClassDef):
            assert isinstance(value, type), key
        elif isinstance(node, ast.FunctionDef):
            assert callable(value) and not isinstance(value, type), key
            assert stub_params(node) == runtime_params(value), key
        else:
            assert not callable(value), key
            if node.value is not None:  # e.g. `SKIP: Final = 0`
                assert ast.literal_eval(node.value) == value, key


@pytest.mark.parametrize("name", MODULES + tuple(FACADES))
def test_stub_classes_match(name):
    module = stub_for(name)
    stub = stub_module(parse_stub(module))
    classes = {k: v for k, v in stub.items() if isinstance(v, ast.ClassDef)}
    assert classes, "no class in the stub"
    for cls_name, node in classes.items():
        cls = getattr(module, cls_name)
        s_methods, s_props, s_setters = stub_class(node)
        if name in FACADES:
            cls = getattr(compiled(FACADES[name]), cls_name)
            r_methods, r_props, r_setters = bound_class(cls)
        else:
            r_methods, r_props, r_setters = runtime_class(cls)
        where = f"{module.__name__}.{cls_name}"
        assert sorted(s_methods) == sorted(r_methods), f"{where}: methods"
        assert sorted(s_props) == sorted(r_props), f"{where}: properties"
        assert sorted(s_setters) == sorted(r_setters), f"{where}: settable properties"
        for meth, params in r_methods.items():
            if meth == "__init__" and params is None:
                params = init_params(cls)
            elif params is None:  # other special methods: no introspectable signature
                continue
            assert s_methods[meth] == params, f"{where}.{meth}: parameters"


def test_stubs_parse_as_stubs():
    # Every stub body is `...`: no implementation leaks into a .pyi.
    for module in all_modules():
        for node in ast.walk(parse_stub(module)):
            if isinstance(node, ast.FunctionDef):
                assert len(node.body) == 1, node.name
                body = node.body[0]
                assert isinstance(body, ast.Expr) and body.value.value is Ellipsis, node.name
