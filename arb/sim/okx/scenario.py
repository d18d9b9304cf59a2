"""OKX v5 in a constructed scenario: the ``books`` channel (a ``snapshot`` with ``prevSeqId`` -1, then
``update`` messages whose ``prevSeqId`` is the previous ``seqId``, each with the CRC32 checksum of the best
25 levels of the book it leaves, as OKX sent them in 2024), on spot ``BTC-USDT`` or the swap
``BTC-USDT-SWAP``. The swap's sizes are contracts of :data:`CONTRACT_VALUE` base units, so its stream
starts with the instruments answer the feed records before subscribing; it adds ``mark-price`` and
``funding-rate`` every ``Perp.every_ms`` (OKX pushes the funding rate every 30 to 90 s: a client that
subscribes some time after the recording starts still learns the next funding time before it passes).

The message shapes and the checksum are the fake venue's (:mod:`arb.sim.okx.wire`), so the scenario and
the venue that replays it agree on every string the checksum covers.
"""

from __future__ import annotations

__all__ = ["CONTRACT_VALUE", "WRITER", "OkxStream"]

from typing import Final

import msgspec

from arb.sim.okx.instruments import inst_id_of
from arb.sim.okx.wire import DEFAULT_INSTRUMENTS, book_message, checksum, instrument_entry
from arb.sim.scenario import FEED_LATENCY_NS, Book, Change, Perp, level_strings, live_levels, next_funding

CONTRACT_VALUE: Final = float(DEFAULT_INSTRUMENTS["SWAP"]["ctVal"])
"""Base units per contract of the scenario's swap (the fake venue's default instrument rules)."""
_SEQ_START: Final = 10_000_000_000
_GAP: Final = 5


class OkxStream:
    """One ``books`` message a change: ``seqId`` up one, ``prevSeqId`` the last one (a gap: ``prevSeqId``
    :data:`_GAP` ahead of it, so the chain breaks); a ``"snapshot"`` change is a ``snapshot`` (``prevSeqId``
    -1), as after a resubscription."""

    def __init__(self, symbol: str, market: str, start_ms: int, book: Book) -> None:
        self.folder = f"okx_{market}"
        self.lines: list[tuple[int, bytes]] = []
        self._inst = inst_id_of(symbol, market)
        self._scale = CONTRACT_VALUE if market == "linear" else 1.0
        self._qty_dec = 2 if market == "linear" else 8
        self._seq = _SEQ_START
        if market == "linear":  # GET /api/v5/public/instruments, as the feed records it before subscribing
            entry = instrument_entry(self._inst, DEFAULT_INSTRUMENTS["SWAP"])
            self._send(start_ms - 200, msgspec.json.encode({"code": "0", "msg": "", "data": [entry]}))
        self._book(start_ms, "snapshot", book, (live_levels(book.bids), live_levels(book.asks)), -1)

    def _send(self, t_ms: int, payload: bytes, extra_ns: int = 0) -> None:
        self.lines.append((t_ms * 1_000_000 + FEED_LATENCY_NS + extra_ns, payload))

    def _levels(self, side: dict[float, float], bid: bool) -> list[tuple[str, str, str]]:
        strings = level_strings(side, 1, self._qty_dec, bid, self._scale)
        return [(p, q, "0" if float(q) == 0 else "1") for p, q in strings]

    def _book(self, t: int, action: str, book: Book, sides: tuple[dict[float, float], dict[float, float]],
              prev: int) -> None:  # fmt: skip
        # One books push of ``sides`` (bids, asks) at t, with the checksum of ``book`` (after the change)
        top = (self._levels(live_levels(book.bids), True)[:25], self._levels(live_levels(book.asks), False)[:25])
        ids = (t, checksum(*top), prev, self._seq)
        text = book_message("books", self._inst, action, (self._levels(sides[0], True), self._levels(sides[1], False)),
                            ids)  # fmt: skip
        self._send(t, text.encode())

    def step(self, t_ms: int, change: Change, book: Book) -> None:
        if change.kind == "snapshot":
            self._seq += 1
            self._book(t_ms, "snapshot", book, (live_levels(book.bids), live_levels(book.asks)), -1)
            return
        prev = self._seq + (_GAP if change.kind == "gap" else 0)
        self._seq = prev + 1
        self._book(t_ms, "update", book, (change.bids, change.asks), prev)

    def perpetual(self, perp: Perp, start_ms: int, duration_ms: int) -> None:
        for t in range(start_ms, start_ms + duration_ms, perp.every_ms):
            funding_ms, rate = next_funding(perp, start_ms, t)
            mark = {"instType": "SWAP", "instId": self._inst, "markPx": f"{perp.mark:.1f}", "ts": str(t)}
            self._send(t, msgspec.json.encode({"arg": {"channel": "mark-price", "instId": self._inst},
                                               "data": [mark]}), 1)  # fmt: skip
            following, _ = next_funding(perp, start_ms, funding_ms)
            entry = {"instId": self._inst, "instType": "SWAP", "fundingRate": f"{rate:.8f}",
                     "fundingTime": str(funding_ms), "nextFundingTime": str(following),
                     "nextFundingRate": "", "method": "current_period", "ts": str(t)}  # fmt: skip
            self._send(t, msgspec.json.encode({"arg": {"channel": "funding-rate", "instId": self._inst},
                                               "data": [entry]}), 2)  # fmt: skip


WRITER = OkxStream
