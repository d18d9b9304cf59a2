"""Bybit v5 in a constructed scenario: ``orderbook.50`` (a snapshot, then deltas with ``u`` and ``seq``; a
``"snapshot"`` change is a snapshot, as on a resubscribe), the same on spot and linear, and on linear the
``tickers`` stream (a snapshot, then deltas with the mark price) and, when asked, ``instruments-info``."""

from __future__ import annotations

__all__ = ["WRITER", "BybitStream"]

import msgspec

from arb.sim.scenario import FEED_LATENCY_NS, Book, Change, Perp, level_strings, live_levels, next_funding

_enc = msgspec.json.encode


class BybitStream:
    """The subscription's snapshot at the start, then one message a change (``u`` up one, ten on a gap)."""

    def __init__(self, symbol: str, market: str, start_ms: int, book: Book) -> None:
        self.folder = f"bybit_{market}"
        self.lines: list[tuple[int, bytes]] = []
        self._symbol = symbol
        self._u = 500
        self._seq = 9_000_000
        self._book(start_ms, "snapshot", book.bids, book.asks)

    def _send(self, t_ms: int, message: object, extra_ns: int = 0) -> None:
        self.lines.append((t_ms * 1_000_000 + FEED_LATENCY_NS + extra_ns, _enc(message)))

    def _book(self, t: int, kind: str, bids: dict[float, float], asks: dict[float, float]) -> None:
        # A v5 orderbook.50 message (a snapshot or a delta) sent at t
        data = {"s": self._symbol, "b": level_strings(bids, 1, 6, True), "a": level_strings(asks, 1, 6, False),
                "u": self._u, "seq": self._seq}  # fmt: skip
        self._send(t, {"topic": f"orderbook.50.{self._symbol}", "type": kind, "ts": t, "data": data, "cts": t - 1})

    def step(self, t_ms: int, change: Change, book: Book) -> None:
        self._u += 10 if change.kind == "gap" else 1
        self._seq += 7
        if change.kind == "snapshot":
            self._book(t_ms, "snapshot", live_levels(book.bids), live_levels(book.asks))
        else:
            self._book(t_ms, "delta", change.bids, change.asks)

    def perpetual(self, perp: Perp, start_ms: int, duration_ms: int) -> None:
        if perp.reported_interval_ms:
            entry = {"symbol": self._symbol, "contractType": "LinearPerpetual",
                     "fundingInterval": perp.reported_interval_ms // 60_000}  # fmt: skip
            self._send(
                start_ms - 200, {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [entry]}}
            )
        # tickers.<SYMBOL>: a snapshot, then a delta with the mark price every perp.every_ms (and the next
        # funding time and its rate once the funding time passed)
        cs = 7_000_000
        announced = None
        for t in range(start_ms, start_ms + duration_ms, perp.every_ms):
            funding_ms, rate = next_funding(perp, start_ms, t)
            mark = f"{perp.mark:.2f}"
            data: dict[str, str] = {"symbol": self._symbol, "markPrice": mark}
            if announced is None:
                kind = "snapshot"
                data.update({"indexPrice": mark, "lastPrice": mark, "fundingRate": f"{rate:.8f}",
                             "nextFundingTime": str(funding_ms)})  # fmt: skip
            else:
                kind = "delta"
                if announced != funding_ms:
                    data.update({"fundingRate": f"{rate:.8f}", "nextFundingTime": str(funding_ms)})
            announced = funding_ms
            cs += 1
            self._send(t, {"topic": f"tickers.{self._symbol}", "type": kind, "data": data, "cs": cs, "ts": t}, 1)


WRITER = BybitStream
