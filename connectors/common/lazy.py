"""Modules of compiled code, loaded when first used: a conversion that never calls them never imports Numba.

A module that defines Numba-compiled functions imports Numba when it is imported (``arb._jit.njit`` makes
the dispatchers then): about 0.75 s of a process's start (Numba's import and its CPU target), more than a
small conversion takes in all. :func:`lazy_module` gives the module object at once but runs its code
(and so imports Numba) only at the first access to one of its attributes (``importlib.util.LazyLoader``);
a path that never reaches into it, such as the Numba-free conversion of a small recording
(:mod:`arb.recording.plain`), never pays for it.
"""

from __future__ import annotations

__all__ = ["lazy_module"]

import importlib.util
import sys
import threading
from types import ModuleType

_guard = threading.Lock()


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, executed at the first access to one of its attributes (at once when it is
    imported already). Every importer shares the one module object (it is put in ``sys.modules``)."""
    with _guard:
        found = sys.modules.get(name)
        if found is not None:
            return found
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"no module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module
