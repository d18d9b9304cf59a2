"""Tick to decision inside ``arb live``, for a benchmark: every ``Engine.on_batches`` call timed.

Loaded by ``sitecustomize`` (this folder first on ``PYTHONPATH``) when ``ARB_ENGINE_PROBE`` names a file:
when ``arb.live.engine`` is imported, its ``Engine.on_batches`` is wrapped to take ``time.perf_counter_ns()``
before and after each call, which is what the ops watch's ``tick_to_decision`` histogram records (the
session loop's clock before the engine takes an arrival, the watch's after it; no watcher runs before the
watch). At the end of the process the records go to that file as one JSON line each: ``[took_ns, sent]``
(``sent``: how many intents the call sent). The wrapper costs about 0.3 us a call, the same for every
checkout measured with it.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_PATH = os.environ.get("ARB_ENGINE_PROBE", "")
_records: list[tuple[int, int]] = []


def _wrap(module: ModuleType) -> None:
    engine = module.Engine
    on_batches = engine.on_batches
    perf, records = time.perf_counter_ns, _records

    def timed(self: Any, now: int, batches: Any) -> None:
        log = self.log.sent
        sent = getattr(log, "total", log.n)  # every intent ever logged (an older engine's log keeps them all: n)
        t0 = perf()
        on_batches(self, now, batches)
        took = perf() - t0
        records.append((took, getattr(log, "total", log.n) - sent))

    engine.on_batches = timed


class _Finder(importlib.abc.MetaPathFinder):
    # Finds arb.live.engine as the path finder does, and wraps it once its module ran
    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name != "arb.live.engine":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _wrap(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _write() -> None:
    with open(_PATH, "w", encoding="utf-8") as out:
        for record in _records:
            out.write(json.dumps(record))
            out.write("\n")


if _PATH:
    sys.meta_path.insert(0, _Finder())
    atexit.register(_write)
