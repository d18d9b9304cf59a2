"""Hyperliquid in a constructed scenario: ``l2Book`` pushes of the ``BTC`` perpetual, each the whole book (up to
20 levels a side) with the change's ``time``; a ``"gap"`` or a ``"snapshot"`` change is a book like any other
(Hyperliquid's books carry no update ids: there is no gap to write). ``activeAssetCtx`` every
``Perp.every_ms`` gives the mark and oracle price and the hour's funding rate (Hyperliquid pays every hour,
whatever the scenario's interval: the rate announced is the scenario's next one).
"""

from __future__ import annotations

__all__ = ["WRITER", "HyperliquidStream"]

import msgspec

from arb.sim.scenario import FEED_LATENCY_NS, Book, Change, Perp, level_strings, live_levels, next_funding

_LEVELS = 20


class HyperliquidStream:
    """One ``l2Book`` push a change: the book after it, best 20 levels a side."""

    def __init__(self, symbol: str, market: str, start_ms: int, book: Book) -> None:
        self.folder = f"hyperliquid_{market}"
        self.lines: list[tuple[int, bytes]] = []
        self._coin = symbol.upper().removesuffix("USDT")
        self._book(start_ms, book)

    def _send(self, t_ms: int, payload: bytes, extra_ns: int = 0) -> None:
        self.lines.append((t_ms * 1_000_000 + FEED_LATENCY_NS + extra_ns, payload))

    def _book(self, t_ms: int, book: Book) -> None:
        sides = []
        for side, bid in ((book.bids, True), (book.asks, False)):
            strings = level_strings(live_levels(side), 1, 5, bid)[:_LEVELS]
            sides.append([{"px": p, "sz": q, "n": 1} for p, q in strings])
        data = {"coin": self._coin, "time": t_ms, "levels": sides}
        self._send(t_ms, msgspec.json.encode({"channel": "l2Book", "data": data}))

    def step(self, t_ms: int, change: Change, book: Book) -> None:
        self._book(t_ms, book)

    def perpetual(self, perp: Perp, start_ms: int, duration_ms: int) -> None:
        for t in range(start_ms, start_ms + duration_ms, perp.every_ms):
            _, rate = next_funding(perp, start_ms, t)
            px = f"{perp.mark:.1f}"
            ctx = {"funding": f"{rate:.8f}", "openInterest": "1000.0", "oraclePx": px, "markPx": px,
                   "premium": "0.0", "midPx": px}  # fmt: skip
            push = {"channel": "activeAssetCtx", "data": {"coin": self._coin, "ctx": ctx}}
            self._send(t, msgspec.json.encode(push), 1)


WRITER = HyperliquidStream
