"""What the probes of this folder share: wrapping a module of arb's once it has been imported, and writing
their records as JSON lines when the process ends."""

from __future__ import annotations

__all__ = ["after_import", "write_at_exit"]

import atexit
import importlib.abc
import importlib.machinery
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any


def after_import(name: str, wrap: Callable[[ModuleType], None]) -> None:
    """Call ``wrap(module)`` once module ``name`` has been imported (found as the path finder finds it,
    and run): the probe patches what it times before anything uses it."""

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, wanted: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
            if wanted != name:
                return None
            spec = importlib.machinery.PathFinder.find_spec(wanted, path)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def run_then_wrap(module: ModuleType) -> None:
                exec_module(module)
                wrap(module)

            spec.loader.exec_module = run_then_wrap  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


def write_at_exit(path: str, rows: Callable[[], Iterable[Any]]) -> None:
    """When the process ends, write ``rows()`` to ``path``, one JSON line each."""

    def write() -> None:
        with open(path, "w", encoding="utf-8") as out:
            for row in rows():
                out.write(json.dumps(row))
                out.write("\n")

    atexit.register(write)
