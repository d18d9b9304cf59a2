"""Binance in a constructed scenario: spot depth diffs with ``U``/``u`` (``depth@100ms``) and an inline REST
snapshot, or USD-M (``depth@0ms`` diffs chained by ``pu``, a REST snapshot with ``E``/``T``) with its
``markPriceUpdate`` once a second and, when asked, the ``fundingInfo`` answer."""

from __future__ import annotations

__all__ = ["LEAD_MS", "WRITER", "BinanceStream"]

import msgspec

from arb.sim.scenario import FEED_LATENCY_NS, Book, Change, Perp, level_strings, next_funding

_enc = msgspec.json.encode
LEAD_MS = 50
"""How long before the scenario's start the file starts: its first diff, buffered ahead of the snapshot."""


def _diff(symbol: str, t: int, ids: tuple[int, int], bids: dict[float, float], asks: dict[float, float],
          linear: bool) -> dict[str, object]:  # fmt: skip
    # A depthUpdate of update ids first..last; USD-M's also carries T and pu (the previous diff's last id)
    first, last = ids
    levels = {"b": level_strings(bids, 2, 8, True), "a": level_strings(asks, 2, 8, False)}
    diff: dict[str, object] = {"e": "depthUpdate", "E": t, "s": symbol, "U": first, "u": last, **levels}
    if linear:
        diff.update({"T": t, "pu": first - 1})
    return diff


class BinanceStream:
    """One diff buffered before the REST snapshot, then the snapshot, then a diff of three update ids
    per change (a gap skips ten; a ``"snapshot"`` change is a diff here)."""

    def __init__(self, symbol: str, market: str, start_ms: int, book: Book) -> None:
        self.folder = f"binance_{market}"
        self.lines: list[tuple[int, bytes]] = []
        self._symbol = symbol
        self._linear = market == "linear"
        self._stream = f"{symbol.lower()}@{'depth@0ms' if self._linear else 'depth@100ms'}"
        self._uid = 1000
        first = _diff(symbol, start_ms - LEAD_MS, (self._uid - 5, self._uid), {}, {}, self._linear)
        self._send(start_ms - LEAD_MS, {"stream": self._stream, "data": first})
        snap: dict[str, object] = {
            "lastUpdateId": self._uid,
            "bids": level_strings(book.bids, 2, 8, True),
            "asks": level_strings(book.asks, 2, 8, False),
        }
        if self._linear:
            snap.update({"E": start_ms, "T": start_ms})
        self._send(start_ms, snap)

    def _send(self, t_ms: int, message: object, extra_ns: int = 0) -> None:
        self.lines.append((t_ms * 1_000_000 + FEED_LATENCY_NS + extra_ns, _enc(message)))

    def step(self, t_ms: int, change: Change, book: Book) -> None:
        skip = 10 if change.kind == "gap" else 0
        ids = (self._uid + 1 + skip, self._uid + 3 + skip)
        self._uid += 3 + skip
        self._send(t_ms, {"stream": self._stream, "data": _diff(self._symbol, t_ms, ids, change.bids, change.asks,
                                                                 self._linear)})  # fmt: skip

    def perpetual(self, perp: Perp, start_ms: int, duration_ms: int) -> None:
        hours = perp.reported_interval_ms // 3_600_000
        if perp.reported_interval_ms:  # fundingInfo lists the symbols that do not fund every 8 hours
            body = [{"symbol": self._symbol, "fundingIntervalHours": hours}] if hours != 8 else []
            self._send(start_ms - 200, body)
        for t in range(start_ms, start_ms + duration_ms, perp.every_ms):  # <symbol>@markPrice@1s
            funding_ms, rate = next_funding(perp, start_ms, t)
            mark = f"{perp.mark:.2f}"
            data = {"e": "markPriceUpdate", "E": t, "s": self._symbol, "p": mark, "i": mark, "P": mark,
                    "r": f"{rate:.8f}", "T": funding_ms}  # fmt: skip
            self._send(t, {"stream": f"{self._symbol.lower()}@markPrice@1s", "data": data}, 1)


WRITER = BinanceStream
