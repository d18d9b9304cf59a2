"""Books with planted spread episodes, written as Tardis.dev ``incremental_book_L2`` CSVs for the scan's tests.

Each (symbol, venue) book has five levels a side around a base price, its quantities fixed per level; every
``tick_ms`` each venue changes a far bid at half the base price (a book change that moves no top and that no
walk reaches), and at each planted
episode one venue's whole book moves by ``shift`` for ``duration_ms`` (one message to move it, one to move it
back). Every message is one run of rows at one ``local_timestamp`` (µs), as Tardis writes a venue's message.

The expected figures are worked out here from the plan, not from the books as the scan rebuilds them:
:func:`expected_cross` walks the two planted books with :class:`~decimal.Decimal` arithmetic.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

EXCHANGES = {"binance": "binance", "bybit": "bybit-spot", "okx": "okex"}
TARDIS_SYMBOL = {("okx", "BTCUSDT"): "BTC-USDT", ("okx", "ETHUSDT"): "ETH-USDT"}
HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
PERP_EXCHANGES = {"binance": "binance-futures", "bybit": "bybit"}
"""The USDT perpetuals' Tardis exchanges (two venues: amounts in base units on both)."""
TICKER_HEADER = (
    "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
    "open_interest,last_price,index_price,mark_price\n"
)
FUNDING_MS = 60_000
"""The perpetuals' funding time inside the planted span, ms after midnight."""


@dataclass(frozen=True)
class Episode:
    """``venue``'s book of ``symbol`` moved by ``shift`` from ``at_ms`` (after the day's start) for ``duration_ms``."""

    symbol: str
    venue: str
    shift: Decimal
    at_ms: int
    duration_ms: int


@dataclass(frozen=True)
class Book:
    """A symbol's planted book on every venue: levels at ``base +- k * tick`` (k = 1..5), quantities per venue."""

    base: Decimal
    tick: Decimal
    bid_qty: dict[str, tuple[Decimal, ...]]
    ask_qty: dict[str, tuple[Decimal, ...]]

    def levels(self, venue: str, shift: Decimal) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids best first, asks best first) as (price, quantity)."""
        bids = [(self.base - k * self.tick + shift, q) for k, q in enumerate(self.bid_qty[venue], 1)]
        asks = [(self.base + k * self.tick + shift, q) for k, q in enumerate(self.ask_qty[venue], 1)]
        return bids, asks


DAY = dt.date(2024, 3, 1)
START_MS = 10_000
"""The books' first snapshot, ms after midnight; the data ends at END_MS."""
END_MS = 130_000
TICK_MS = 250


def _q(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


BOOKS = {
    "BTCUSDT": Book(
        Decimal("100.00"), Decimal("0.01"),
        {"binance": _q("1", "2", "3", "4", "5"), "bybit": _q("1.5", "2.5", "3.5", "4.5", "5.5"),
         "okx": _q("0.7", "1.1", "2.9", "3.3", "8")},
        {"binance": _q("1", "2", "3", "4", "5"), "bybit": _q("0.5", "1.25", "2", "6", "1"),
         "okx": _q("2", "2", "2", "2", "2")},
    ),
    "ETHUSDT": Book(
        Decimal("2000.00"), Decimal("0.10"),
        {"binance": _q("3", "1", "4", "1", "5"), "bybit": _q("9", "2", "6", "5", "3"),
         "okx": _q("5", "8", "9", "7", "9")},
        {"binance": _q("2", "7", "1", "8", "2"), "bybit": _q("8", "1", "8", "2", "8"),
         "okx": _q("4", "5", "9", "0.5", "1")},
    ),
}  # fmt: skip

EPISODES = (
    # BTCUSDT: bybit's bids far above the others' asks (a long episode, both other venues buying there)
    Episode("BTCUSDT", "bybit", Decimal("0.40"), 20_000, 3_500),
    # okx's asks far below the others' bids for 50 ms, then for 15 ms (under the venues' 20 ms round trip)
    Episode("BTCUSDT", "okx", Decimal("-0.50"), 50_250, 50),
    Episode("BTCUSDT", "okx", Decimal("-0.50"), 60_000, 15),
    # binance up just enough that the walk stops part-way (the marginal edge falls to the threshold)
    Episode("BTCUSDT", "binance", Decimal("0.30"), 80_000, 9_900),
    # ETHUSDT: bybit down, the others sell to it
    Episode("ETHUSDT", "bybit", Decimal("-9.00"), 30_000, 1_000),
)
VENUES = ("binance", "bybit", "okx")
FEE = Decimal("0.001")


def _shift(symbol: str, venue: str, ms: int) -> Decimal:
    for e in EPISODES:
        if e.symbol == symbol and e.venue == venue and e.at_ms <= ms < e.at_ms + e.duration_ms:
            return e.shift
    return Decimal(0)


def _rows(exchange: str, name: str, local_us: int, snapshot: bool, rows: list[tuple[str, Decimal, Decimal]]) -> str:
    # One message: its rows at one receive time (the venue's time 2 ms before it).
    flag = str(snapshot).lower()
    return "".join(
        f"{exchange},{name},{local_us - 2000},{local_us},{flag},{side},{px},{qty}\n" for side, px, qty in rows
    )


def _full(book: Book, venue: str, shift: Decimal) -> list[tuple[str, Decimal, Decimal]]:
    bids, asks = book.levels(venue, shift)
    return [("bid", p, q) for p, q in bids] + [("ask", p, q) for p, q in asks]


def write_books(
    recordings: Path,
    exchanges: dict[str, str] = EXCHANGES,
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"),
    names: dict[tuple[str, str], str] = TARDIS_SYMBOL,
) -> None:
    """Every (symbol, venue) day as ``recordings/tardis/<exchange>_incremental_book_L2_<day>_<SYMBOL>.csv.gz``
    (``exchanges``: venue -> Tardis exchange, spot's by default; the venues keep their place in :data:`VENUES`)."""
    folder = recordings / "tardis"
    folder.mkdir(parents=True, exist_ok=True)
    day_us = int(dt.datetime.combine(DAY, dt.time(), dt.UTC).timestamp()) * 1_000_000
    for symbol in symbols:
        book = BOOKS[symbol]
        for n, venue in enumerate(VENUES):
            if venue not in exchanges:
                continue
            name = names.get((venue, symbol), symbol)
            exchange = exchanges[venue]
            local = day_us + 300 * n  # each venue's own microseconds
            text = [HEADER, _rows(exchange, name, local + START_MS * 1000, True, _full(book, venue, Decimal(0)))]
            mine = [e for e in EPISODES if e.symbol == symbol and e.venue == venue]
            moves = sorted({e.at_ms for e in mine} | {e.at_ms + e.duration_ms for e in mine})
            ticks = range(START_MS + TICK_MS + 37 * n, END_MS, TICK_MS)
            events = sorted([(ms, "move") for ms in moves] + [(ms, "tick") for ms in ticks])
            shift = Decimal(0)
            for i, (ms, kind) in enumerate(events):
                if kind == "move":
                    new = _shift(symbol, venue, ms)
                    new_rows = _full(book, venue, new)
                    kept = {(side, p) for side, p, _ in new_rows}
                    gone = [(side, p, Decimal(0)) for side, p, _ in _full(book, venue, shift) if (side, p) not in kept]
                    text.append(_rows(exchange, name, local + ms * 1000, False, gone + new_rows))
                    shift = new
                else:  # a far bid (half the base price: no walk reaches it) changes: a change below the top
                    text.append(
                        _rows(exchange, name, local + ms * 1000, False, [("bid", book.base / 2, Decimal(1 + i % 2))])
                    )
            path = folder / f"{exchange}_incremental_book_L2_{DAY:%Y-%m-%d}_{name}.csv.gz"
            path.write_bytes(gzip.compress("".join(text).encode(), mtime=0))


def expected_cross(symbol: str, buy: str, sell: str, shift_buy: Decimal, shift_sell: Decimal,
                   threshold_bps: Decimal) -> tuple[Decimal, Decimal, Decimal]:  # fmt: skip
    """Walk ``buy``'s asks against ``sell``'s bids, lot by lot while the marginal net edge exceeds the threshold:
    (base, quote spent, quote earned after both fees)."""
    book = BOOKS[symbol]
    _, asks = book.levels(buy, shift_buy)
    bids, _ = book.levels(sell, shift_sell)
    asks = [list(a) for a in asks]
    bids = [list(b) for b in bids]
    base = quote = edge = Decimal(0)
    while asks and bids:
        (ask, qa), (bid, qb) = asks[0], bids[0]
        if (bid * (1 - FEE) - ask * (1 + FEE)) / ask * 10_000 <= threshold_bps:
            break
        q = min(qa, qb)
        base += q
        quote += q * ask
        edge += q * (bid * (1 - FEE) - ask * (1 + FEE))
        asks[0][1] -= q
        bids[0][1] -= q
        if asks[0][1] == 0:
            asks.pop(0)
        if bids[0][1] == 0:
            bids.pop(0)
    return base, quote, edge


def expected_episodes(
    symbol: str, buy: str, sell: str, threshold_bps: Decimal
) -> list[tuple[Episode, tuple[Decimal, ...]]]:
    """The planted episodes the ordered pair (buy, sell) sees above the threshold, each with its expected cross."""
    out = []
    for e in EPISODES:
        if e.symbol != symbol or e.venue not in (buy, sell):
            continue
        sb = e.shift if e.venue == buy else Decimal(0)
        ss = e.shift if e.venue == sell else Decimal(0)
        crossed = expected_cross(symbol, buy, sell, sb, ss, threshold_bps)
        if crossed[0] > 0:
            out.append((e, crossed))
    return out


def write_perps(recordings: Path, rates: dict[str, Decimal]) -> None:
    """BTCUSDT's planted books as USDT perpetuals on :data:`PERP_EXCHANGES`' venues, each with a
    ``derivative_ticker`` announcing ``rates[venue]`` for the funding at :data:`FUNDING_MS`, then (after it
    passed) the next funding eight hours on at half that rate: one settlement of ``rates[venue]`` in the day."""
    write_books(recordings, PERP_EXCHANGES, ("BTCUSDT",), {})
    day_ms = int(dt.datetime.combine(DAY, dt.time(), dt.UTC).timestamp()) * 1000
    base = BOOKS["BTCUSDT"].base
    for venue, exchange in PERP_EXCHANGES.items():
        rate = rates[venue]
        funding = day_ms + FUNDING_MS
        rows = [TICKER_HEADER]
        for ms, (next_ms, r) in (
            (START_MS - 5, (funding, rate)),
            (FUNDING_MS + 1_000, (funding + 8 * 3_600_000, rate / 2)),
        ):
            local_us = (day_ms + ms) * 1000
            rows.append(
                f"{exchange},BTCUSDT,{local_us - 2000},{local_us},{next_ms * 1000},{r},{r},1000,{base},{base},{base}\n"
            )
        path = recordings / "tardis" / f"{exchange}_derivative_ticker_{DAY:%Y-%m-%d}_BTCUSDT.csv.gz"
        path.write_bytes(gzip.compress("".join(rows).encode(), mtime=0))
