"""What a venue executor is built from: its timings, the client ids, the journal it writes, its markets."""

from __future__ import annotations

__all__ = ["MARKETS_TIMEOUT_MS", "ClientIds", "ExecutionSettings", "JournalSink", "VenueMarket", "patient"]

import contextlib
import itertools
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from arb.execution.orders import LiveOrder
from connectors.common.orders import VenueFill

NS_PER_MS = 1_000_000
ZERO = Decimal(0)


class ClientIds:
    """Client order ids unique forever: ``arb`` + a run id (time and randomness) + a sequence number.

    36 characters at most, ``[A-Za-z0-9-]`` (what the venues accept). The journal's primary key on
    the id makes a collision an error before anything is sent, never a silent reuse.
    """

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or f"{_base36(time.time_ns() // NS_PER_MS)}{_base36(secrets.randbits(30))}"
        self._seq = itertools.count(1)

    def next(self, pair_id: int, venue: int) -> str:
        return f"arb-{self.run_id}-{_base36(next(self._seq))}-{venue}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    """Timings of the live executors (from ``[live]``), int64 ns."""

    request_timeout_ns: int = 5_000 * NS_PER_MS
    unknown_check_interval_ns: int = 500 * NS_PER_MS
    unknown_checks: int = 5
    unknown_grace_ns: int = 10_000 * NS_PER_MS
    fill_check_after_ns: int = 2_000 * NS_PER_MS
    stream_retry_ns: int = 1_000 * NS_PER_MS
    """Wait before reopening a user stream that failed (doubling to 30 s while it keeps failing)."""
    rate_headroom: float = 0.8
    """The share of any of a venue's request limits at which optional traffic to it stops (see
    :mod:`arb.execution.rate_guard`)."""
    warm_interval_ns: int = 0
    """How often a create is built and signed, never sent, to keep the order path warm (0: never)."""


class JournalSink(Protocol):
    """What the executor writes to the journal (``arb.journal.Journal`` has it)."""

    def expect_run(self, run_id: str) -> None: ...
    def record_intent(self, order: LiveOrder, *, venue: str, market: str, account: str, run_id: str) -> None: ...
    def rehearse_intent(self, order: LiveOrder, *, venue: str, market: str, account: str, run_id: str) -> None: ...
    def record_state(self, order: LiveOrder, event: str, ts_ns: int, detail: dict[str, Any]) -> None: ...
    def record_fill(
        self, order: LiveOrder | None, fill: VenueFill, *, venue: str, market: str, source: str, local_ts_ns: int
    ) -> bool: ...
    def attach_fill(self, order: LiveOrder, fill: VenueFill, *, venue: str, market: str) -> None: ...
    def flush(self) -> None: ...


@dataclass(slots=True)
class VenueMarket:
    """One traded symbol's market on a venue, as the venue states it (set by :meth:`VenueExecutor.start`).

    ``index`` is the symbol's number in ``[strategy] symbols`` (the engine's per-symbol arrays),
    ``symbol`` the venue's id (``"BTCUSDT"``), ``ccxt_symbol`` ccxt's (``"BTC/USDT"``,
    ``"BTC/USDT:USDT"``); ``tick``/``step`` the price and quantity grids; ``last_fill_ms`` the venue's
    time of the last fill seen (where a REST sweep of its trades starts).
    """

    index: int
    symbol: str
    ccxt_symbol: str = ""
    tick: Decimal = ZERO
    step: Decimal = ZERO
    base_asset: str = ""
    quote_asset: str = ""
    last_fill_ms: int = 0


MARKETS_TIMEOUT_MS = 10_000
"""The least time a start's market load waits for the venue's answers, whatever ``[live] request_timeout_ms``
says: an instrument list is not an order, and a slow one (a busy venue, a busy machine) must not fail a start."""


@contextlib.contextmanager
def patient(exchange: Any, timeout_ms: int = MARKETS_TIMEOUT_MS) -> Iterator[None]:
    """The ccxt client ``exchange`` waits at least ``timeout_ms`` for each answer inside the block, as before after."""
    before = getattr(exchange, "timeout", None)
    if isinstance(before, int | float) and before < timeout_ms:
        exchange.timeout = timeout_ms
    try:
        yield
    finally:
        if before is not None:
            exchange.timeout = before
