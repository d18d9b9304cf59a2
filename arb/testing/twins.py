"""Generated venues: a copy of a venue arb has, under another name, for runs of more venues than arb has.

A run of five or six venues needs five or six venues; arb has fewer folders than that. A *twin* is one of
them under a new name: its facts (``connectors/<source>/venue.toml``, the title marked), its connector's
modules, its shipped file (``config/<source>.toml``, what :func:`arb.testing.configs.venue_defaults`
gives) and its recordings format are its source's, so a run reads a ``recordings/<twin>_<market>/`` folder
written for it (:func:`arb.testing.scenarios.write_venues`) or holding the source's own files, and
trades it as one more venue, its number its place in ``[strategy] venues``. Nothing of it is written under
``connectors/`` or ``config/``: it lives in this process, inside :func:`twin_venues`, and is gone after.

Tests and benchmarks only (the five-venue backtest and parity, the tick to decision at 4 and 6 venues in
``benchmarks/bench_venues.py``); nothing in ``arb/`` outside this kit knows twins exist.
"""

from __future__ import annotations

__all__ = ["source_of", "twin_venues"]

import contextlib
import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

_TWINS: dict[str, str] = {}
"""The twins in force, twin name -> the venue it copies."""

_HOMES = ("connectors", "arb.sim")
"""The packages a venue's code lives in, a folder of its name in each: a twin's modules are its source's."""


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # Imports ``connectors.<twin>...`` and ``arb.sim.<twin>...`` as the source's modules themselves (one
    # module object under two names: no second copy of a class or a compiled function).

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if self._real(fullname) else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        real = self._real(spec.name)
        assert real is not None
        module = importlib.import_module(real)
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        alias = module.__spec__  # the import system set the alias's spec on the source's module: undo it
        if alias is not None:
            module.__spec__ = self._specs.pop(alias.name, alias)

    @staticmethod
    def _real(fullname: str) -> str | None:
        for home in _HOMES:
            for twin, source in _TWINS.items():
                alias = f"{home}.{twin}"
                if fullname == alias or fullname.startswith(alias + "."):
                    return f"{home}.{source}" + fullname[len(alias) :]
        return None


def source_of(name: str) -> str:
    """The venue whose folders venue ``name`` uses: its source if it is a twin in force, else ``name``."""
    return _TWINS.get(name, name)


@contextlib.contextmanager
def twin_venues(twins: Mapping[str, str]) -> Iterator[tuple[str, ...]]:
    """While inside, each ``twin -> source`` of ``twins`` is a venue arb knows (the catalog, the connector
    registry, the recordings' folder names, the test kit's venue files); yields every venue then known.

    A twin's name is a new venue name (lower-case letters, digits, ``_``; one no venue has); its source a
    venue arb has. Not reentrant, and not for threads that read the catalog meanwhile: it changes the
    catalog of this process for the duration. ``ValueError`` for a name taken or a source unknown.
    """
    from arb import catalog
    from arb.recording import venues as recording
    from connectors import registry

    known = catalog.venue_catalog()
    real = registry.venue_names()
    for twin, source in twins.items():
        if twin in known or not re.fullmatch(r"[a-z][a-z0-9_]{1,23}", twin):
            raise ValueError(f"a twin needs a new venue name, got {twin!r}")
        if source not in real:
            raise ValueError(f"a twin copies a venue arb has ({', '.join(real)}), got {source!r}")
    patched: list[tuple[Any, str, Any]] = []
    finder = _Aliases()

    def patch(owner: Any, attr: str, value: Any) -> None:
        patched.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    try:
        for twin, source in twins.items():
            facts = known[source]
            known[twin] = dataclasses.replace(facts, name=twin, title=f"{facts.title} ({twin})", default_rank=None)  # type: ignore[index]
            _TWINS[twin] = source
        sys.meta_path.insert(0, finder)
        names = tuple(sorted({*real, *twins}))
        patch(registry, "venue_names", lambda: names)
        patch(recording, "VENUES", names)
        patch(recording, "FOLDER", re.compile(r"^(?P<venue>" + "|".join(names) + r")_(?P<market>spot|linear)$"))
        yield catalog.known_venues()
    finally:
        for owner, attr, value in reversed(patched):
            setattr(owner, attr, value)
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for name in [m for m in sys.modules if _Aliases._real(m) is not None]:
            del sys.modules[name]
        for twin in twins:
            if _TWINS.pop(twin, None) is not None:
                known.pop(twin, None)  # type: ignore[attr-defined]
