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

import os
import time
from types import ModuleType
from typing import Any

from probe_parts import after_import, write_at_exit

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


if _PATH:
    after_import("arb.live.engine", _wrap)
    write_at_exit(_PATH, lambda: _records)
