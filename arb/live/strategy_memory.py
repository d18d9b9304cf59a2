"""The strategy's memory in the live account's journal, so that a restart of ``arb live`` resumes it.

A strategy keeps one record per symbol (its ``memory`` layout, :class:`arb.strategy.seam.Strategy`;
``engine.bound.memory``), changed by its compiled ``decide`` at every decision. :class:`StrategyMemory`
keeps it in the account's state (key :data:`STRATEGY_MEMORY_KEY`) at the journal's pace, not the
decisions': a hook each journal flush calls first (:meth:`ExecutionJournal.on_flush
<arb.execution.journaling.ExecutionJournal.on_flush>`) queues the record with the flush's other writes
when, and only when, its bytes changed since the last one queued; :meth:`StrategyMemory.watch` flushes
once a second while the memory changed and no order made the journal flush (a strategy that learns for
hours without trading), and the session's close flushes the last of it. A crash loses at most what
changed since that last flush, as for every other queued write.

At the start (:meth:`StrategyMemory.restore`, before the first decision) each symbol's record is put back
when the journal holds one of the same strategy (its name) and the same layout (its dtype); otherwise
the memory starts at zero, and the console says why (another strategy, a changed layout).

The value is JSON: the strategy's name, its memory's dtype (``numpy.dtype.descr`` as text), and per symbol
the record's bytes in hex (exact: NaNs, infinities and every bit of a float come back as they went).
"""

from __future__ import annotations

__all__ = ["STRATEGY_MEMORY_KEY", "StrategyMemory"]

import asyncio
import json
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from arb.live.engine import Engine

STRATEGY_MEMORY_KEY = "strategy-memory"
"""The account-state key of the strategy's memory (the journal prefixes it with the account)."""

_WATCH_S = 1.0


class _StateStore(Protocol):
    def get_state(self, key: str) -> str | None: ...
    def defer_state(self, key: str, value: str) -> None: ...
    def on_flush(self, hook: Any) -> None: ...
    def flush(self) -> None: ...


class StrategyMemory:
    """The strategy's memory of one ``arb live`` session kept in ``journal`` (module docstring)."""

    def __init__(self, journal: _StateStore) -> None:
        self.journal = journal
        self.engine: Engine | None = None
        self._written = b""  # the memory's bytes as last queued (or restored)

    def restore(self, engine: Engine, console: Console) -> None:
        """Put back ``engine``'s strategy memory from the journal where it is the same strategy's, say so on
        ``console``, and from then on keep it at every flush of the journal."""
        self.engine = engine
        memory = engine.bound.memory
        strategy = engine.bound.strategies[0]
        raw = self.journal.get_state(STRATEGY_MEMORY_KEY)
        kept = json.loads(raw) if raw else None
        if isinstance(kept, dict):
            why = _other(kept, strategy.name, memory.dtype)
            if why:
                console.print(f"strategy {escape(strategy.name)!r}: its memory starts at zero ({escape(why)})",
                              highlight=False, soft_wrap=True)  # fmt: skip
            else:
                symbols = kept.get("symbols") or {}
                resumed = []
                for s, name in enumerate(engine.symbols):
                    if isinstance(symbols.get(name), str):
                        memory[s : s + 1] = np.frombuffer(bytes.fromhex(symbols[name]), memory.dtype, count=1)
                        resumed.append(name)
                if resumed:
                    console.print(f"strategy {escape(strategy.name)!r}: its memory resumed from the journal "
                                  f"({', '.join(resumed)})", highlight=False, soft_wrap=True)  # fmt: skip
        self._written = memory.tobytes()
        self.journal.on_flush(self.queue)

    def queue(self) -> None:
        """Queue the memory with the journal's flush when it changed since it was last queued (the hook)."""
        engine = self.engine
        if engine is None:
            return
        memory = engine.bound.memory
        now = memory.tobytes()
        if now == self._written:
            return
        value = {
            "strategy": engine.bound.strategies[0].name,
            "dtype": str(memory.dtype.descr),
            "symbols": {name: memory[s : s + 1].tobytes().hex() for s, name in enumerate(engine.symbols)},
        }
        self.journal.defer_state(STRATEGY_MEMORY_KEY, json.dumps(value))
        self._written = now

    @property
    def changed(self) -> bool:
        """The memory changed since it was last queued."""
        return self.engine is not None and self.engine.bound.memory.tobytes() != self._written

    async def watch(self, interval_s: float = _WATCH_S) -> None:
        """Until cancelled: each ``interval_s``, flush the journal when the memory changed and nothing else
        did (a strategy that learns without trading), so a crash loses at most that long of it."""
        while True:
            await asyncio.sleep(interval_s)
            if self.changed:
                self.journal.flush()


def _other(kept: dict[str, Any], name: str, dtype: np.dtype[Any]) -> str:
    # Why the memory ``kept`` is not this strategy's to resume ("" when it is).
    if kept.get("strategy") != name:
        return f"the journal holds the memory of strategy {kept.get('strategy')!r}"
    if kept.get("dtype") != str(dtype.descr):
        return f"its layout changed: the journal's is {kept.get('dtype')}, now {dtype.descr}"
    return ""
