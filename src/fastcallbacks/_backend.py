"""Importing Keras, with one short error when its backend is missing.

`pip install fastcallbacks` installs Keras but no backend (TensorFlow, JAX
or torch are extras): `import keras` then ends in a long traceback with
`ModuleNotFoundError: No module named 'tensorflow'`. `import_keras` turns
that into one `ImportError` saying which backend is selected, by what, and
how to install it (from the package index and from a clone).
"""

import os

# The top-level module each Keras backend imports, by backend name.
_BACKEND_MODULES = {
    "tensorflow": "tensorflow",
    "jax": "jax",
    "jaxlib": "jax",
    "torch": "torch",
    "openvino": "openvino",
}
# Backends with an extra of their own in pyproject.toml.
_EXTRAS = ("tensorflow", "jax", "torch")


def install_hint(extra):
    """Both spellings of installing an extra: from the package index and
    from a clone of the repository."""
    return f'pip install "fastcallbacks[{extra}]" (from a clone: pip install ".[{extra}]")'


def _selected_by():
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return f"KERAS_BACKEND={chosen} selects it"
    return "KERAS_BACKEND is not set, so Keras's configuration (keras.json) or its default selects it"


def missing_backend_error(error):
    """An `ImportError` for `error`, a `ModuleNotFoundError` raised while
    importing Keras, when the missing module is a Keras backend; None for
    any other missing module."""
    top = (getattr(error, "name", None) or "").partition(".")[0]
    backend = _BACKEND_MODULES.get(top)
    if backend is None:
        return None
    if backend in _EXTRAS:
        how = f"Install it: {install_hint(backend)}"
    else:
        how = f"Install {backend}"
    return ImportError(
        f"fastcallbacks needs a Keras backend, and {backend!r} is not installed "
        f"({_selected_by()}). {how}. For JAX or torch instead, install the extra "
        "[jax] or [torch] and set KERAS_BACKEND=jax or KERAS_BACKEND=torch.",
        name=top,
    )


def import_keras():
    """Imports and returns `keras`; raises one short `ImportError` (see
    `missing_backend_error`) when the selected backend is not installed."""
    try:
        import keras
    except ModuleNotFoundError as e:
        short = missing_backend_error(e)
        if short is None:
            raise
        raise short from None
    return keras
