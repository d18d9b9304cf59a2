"""Live against a backtest: ``arb report --source live --against RESULTS``.

What the live journal says arb's orders did, beside what a backtest of the same hours predicted
(made by ``arb backtest`` with ``[latency] order = "measured"``, so that it replays the latencies the
journal measured). Per venue, and per venue and symbol with several symbols, over the overlap of the
two spans only (the live records' first to last time; the backtest's data from ``meta.start_ns`` to
``meta.end_ns``):

- **orders**: the orders sent in the overlap (live: the journal's intents of this account on the
  configured venue-markets, orders placed by hand left out; backtest: its ``orders.csv``);
- **fill rate (qty)**: the quantity those orders filled over the quantity they asked for;
- **fill rate (orders)**: the orders with at least one fill over the orders;
- **slippage (bps)**: per fill, ``side x (fill price - intended price) / intended price x 10^4``
  (side +1 buy, -1 sell): positive is worse for arb (paid more, sold for less); its mean, median
  and 95th percentile over the fills (each fill one sample, whatever its size). The intended price is
  the limit price the order was sent at: the book level the strategy priced, moved by
  ``slippage_tolerance_bps`` (neither the journal nor the backtest keeps the level's own price), so a
  fill at the level it was priced on shows minus the tolerance, and no fill can be above 0;
- **round trip (ms)**: request to answer, its median and 99th percentile: live, each answered
  order's ``ack_ns - written_ns`` (what ``arb latency`` measures and exports); backtest, what its
  latency model gave each order (``orders.csv``'s ``round_trip_ns``: the measured rows
  interpolated at the order's time, or the constant ``order_entry_ms + order_response_ms``).

A fill counts with its order (sent in the overlap), whenever it came.
"""

from __future__ import annotations

__all__ = [
    "EXPLAINED",
    "MATCHED_DTYPE",
    "Comparison",
    "OrderFigures",
    "Orders",
    "backtest_orders_of",
    "compare",
    "live_orders",
    "order_figures",
    "overlap_text",
    "table_of",
]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.catalog import default_venues
from arb.errors import UsageError
from arb.formats import num, pct
from arb.reports.common import Array, name_of, utc_text
from arb.reports.files import ORDERS_CSV, SUMMARY_JSON, TRADES_CSV, read_orders_csv
from arb.reports.sent_orders import ORDER_DTYPE
from arb.reports.sources import SourceData, journal_url, load_backtest
from arb.results.venues import venue_names

MATCHED_DTYPE: Final = np.dtype([("order", "i8"), ("price", "f8"), ("qty", "f8")])
"""One fill of an order: the order's row number in its :class:`Orders`, the fill's price and quantity."""

BY_HAND: Final = 9
"""The intent kind of an order placed by hand (``arb order``): no backtest sends one."""


@dataclass(frozen=True)
class Orders:
    """One side's orders and their fills.

    Attributes:
        orders: ``ORDER_DTYPE`` rows (:mod:`arb.reports.sent_orders`), symbols numbered by ``symbols``,
            venues by ``venues``.
        fills: ``MATCHED_DTYPE`` rows, each naming its order's row.
        first_ns, last_ns: The span the side covers.
        symbols: The symbols' names by number.
        matched: False when which order a fill came from is not known (a backtest's orders.csv
            without order ids): the figures that need it are then not given.
        venues: The venues' names by number (its run's; the two sides are compared venue by venue, by
            name); default: :func:`arb.results.venues.venue_names` of as many as the default run has, or
            as the orders name.
    """

    orders: Array
    fills: Array
    first_ns: int
    last_ns: int
    symbols: tuple[str, ...]
    matched: bool = True
    venues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.venues:
            named = int(self.orders["venue"].max()) + 1 if len(self.orders) else 0
            object.__setattr__(self, "venues", venue_names(max(named, len(default_venues()))))


@dataclass(frozen=True)
class OrderFigures:
    """One venue's (or venue and symbol's) orders in the overlap; None where there is nothing to
    measure. Slippage in bps (positive: worse for arb), round trips in ms."""

    orders: int
    ordered_qty: float
    filled_qty: float | None
    qty_fill_rate: float | None
    orders_filled: int | None
    order_fill_rate: float | None
    fills: int | None
    slippage_mean_bps: float | None
    slippage_p50_bps: float | None
    slippage_p95_bps: float | None
    round_trips: int
    round_trip_p50_ms: float | None
    round_trip_p99_ms: float | None


@dataclass(frozen=True)
class ComparisonRow:
    """A venue (``symbol`` empty: every symbol) or one symbol on a venue: live beside backtest."""

    venue: str
    symbol: str
    live: OrderFigures
    backtest: OrderFigures


@dataclass(frozen=True)
class Comparison:
    """``arb report --against``: the rows, over ``start_ns`` to ``end_ns`` (the overlap)."""

    backtest: str
    start_ns: int
    end_ns: int
    live_span: tuple[int, int]
    backtest_span: tuple[int, int]
    rows: tuple[ComparisonRow, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: what the page embeds under ``against``."""
        return {
            "backtest": self.backtest,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "live_span": list(self.live_span),
            "backtest_span": list(self.backtest_span),
            "rows": [asdict(row) for row in self.rows],
            "notes": list(self.notes),
        }


def order_figures(orders: Array, fills: Array, matched: bool = True) -> OrderFigures:
    """The figures of ``orders`` (``ORDER_DTYPE``) and their ``fills`` (``MATCHED_DTYPE``, naming rows
    of ``orders``); ``matched`` False: which order a fill came from is unknown, and only the counts of
    orders and the round trips are given."""
    ordered = float(orders["qty"].sum())
    trips = orders["trip_ns"][orders["trip_ns"] >= 0].astype(np.float64) / 1e6
    p50, p99 = (float(x) for x in np.percentile(trips, [50, 99])) if len(trips) else (None, None)
    if not matched:
        return OrderFigures(len(orders), ordered, None, None, None, None, None, None, None, None, len(trips), p50, p99)
    filled = float(fills["qty"].sum())
    of = orders[fills["order"]]
    slip = of["side"] * (fills["price"] - of["price"]) / of["price"] * 1e4
    mean, s50, s95 = (
        (float(slip.mean()), *(float(x) for x in np.percentile(slip, [50, 95]))) if len(slip) else (None,) * 3
    )
    n_filled = len(np.unique(fills["order"]))
    return OrderFigures(
        orders=len(orders),
        ordered_qty=ordered,
        filled_qty=filled,
        qty_fill_rate=filled / ordered if ordered > 0 else None,
        orders_filled=n_filled,
        order_fill_rate=n_filled / len(orders) if len(orders) else None,
        fills=len(fills),
        slippage_mean_bps=mean,
        slippage_p50_bps=s50,
        slippage_p95_bps=s95,
        round_trips=len(trips),
        round_trip_p50_ms=p50,
        round_trip_p99_ms=p99,
    )


def _within(side: Orders, start_ns: int, end_ns: int, venue: str, symbol: str | None) -> tuple[Array, Array]:
    # the side's orders sent in [start_ns, end_ns] on the venue named ``venue`` (of ``symbol``, None: any),
    # and their fills renumbered to the rows kept
    o = side.orders
    number = side.venues.index(venue) if venue in side.venues else -1
    keep = (o["ts"] >= start_ns) & (o["ts"] <= end_ns) & (o["venue"] == number)
    if symbol is not None and len(o):
        keep &= np.array([name_of(side.symbols, int(s)) == symbol for s in o["symbol"]])
    rows = np.flatnonzero(keep)
    new = np.full(len(o), -1, np.int64)
    new[rows] = np.arange(len(rows))
    fills = side.fills[keep[side.fills["order"]]] if len(side.fills) else side.fills
    fills = fills.copy()
    fills["order"] = new[fills["order"]]
    return o[rows], fills


def compare(live: Orders, backtest: Orders, folder: str, notes: Sequence[str] = ()) -> Comparison:
    """Live beside backtest over the overlap of their spans, per venue (by name: the live side's venues,
    then any other the backtest traded; and per venue and symbol when both trade several). Raises
    :class:`UsageError` naming ``--against`` when the spans do not overlap."""
    start, end = max(live.first_ns, backtest.first_ns), min(live.last_ns, backtest.last_ns)
    if end < start or live.last_ns < live.first_ns or backtest.last_ns < backtest.first_ns:
        b, lv = _span_text(backtest.first_ns, backtest.last_ns), _span_text(live.first_ns, live.last_ns)
        days = ""
        if live.first_ns <= live.last_ns:  # the live session's UTC days, as arb backtest takes them
            first, last = (utc_text(ns)[:10] for ns in (live.first_ns, live.last_ns))
            days = f": arb backtest --start {first}" + (f" --end {last}" if last != first else "")
        raise UsageError(
            f"--against: the backtest in {folder} covers {b} and the live journal {lv}: they do not overlap; "
            f"backtest the hours the live session traded, on recordings of them{days}"
        )
    symbols = [None] + (sorted(set(live.symbols) & set(backtest.symbols)) if len(live.symbols) > 1 else [])
    rows = []
    venues = [*live.venues, *(name for name in backtest.venues if name not in live.venues)]
    for venue in venues:
        for symbol in symbols:
            figures = [order_figures(*_within(s, start, end, venue, symbol), s.matched) for s in (live, backtest)]
            rows.append(ComparisonRow(venue, symbol or "", *figures))
    extra = [] if backtest.matched else [f"{folder}: its orders.csv does not say which order each fill came from"]
    return Comparison(folder, start, end, (live.first_ns, live.last_ns), (backtest.first_ns, backtest.last_ns),
                      tuple(rows), (*notes, *extra))  # fmt: skip


_ROWS: Final[tuple[tuple[str, Callable[[OrderFigures], str]], ...]] = (
    ("orders sent", lambda f: f"{f.orders:,}"),
    ("fill rate (qty)", lambda f: pct(f.qty_fill_rate)),
    ("orders filled", lambda f: "n/a" if f.orders_filled is None else
        f"{f.orders_filled:,} of {f.orders:,} ({pct(f.order_fill_rate)})"),
    ("fills", lambda f: "n/a" if f.fills is None else f"{f.fills:,}"),
    ("slippage mean (bps)", lambda f: num(f.slippage_mean_bps, 2)),
    ("slippage p50 (bps)", lambda f: num(f.slippage_p50_bps, 2)),
    ("slippage p95 (bps)", lambda f: num(f.slippage_p95_bps, 2)),
    ("round trip p50 (ms)", lambda f: num(f.round_trip_p50_ms, 2)),
    ("round trip p99 (ms)", lambda f: num(f.round_trip_p99_ms, 2)),
)  # fmt: skip

EXPLAINED: Final = (
    "fill rate (qty): filled / ordered quantity; orders filled: orders with a fill; slippage: per fill, against "
    "the limit price the order was sent at, positive is worse for arb (bought dearer, sold cheaper); round trip: "
    "request to answer, live as the journal measured it, backtest as its latency model gave it; fills count with "
    "their order, sent in the overlap"
)
"""What the figures of :func:`table_of` are, in one line under the table."""


def table_of(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The comparison as text: the header (``figure``, then live and backtest of each venue, or venue
    and symbol) and one row per figure, as the terminal and the page show it."""
    header = ["figure"]
    for row in comparison.rows:
        where = f"{row.venue} {row.symbol}".strip()
        header += [f"{where} live", f"{where} backtest"]
    body = [[label, *(cell(f) for row in comparison.rows for f in (row.live, row.backtest))] for label, cell in _ROWS]
    return header, body


def overlap_text(comparison: Comparison) -> str:
    """The span compared, and each side's, in words."""
    return (
        f"over the overlap {utc_text(comparison.start_ns)} to {utc_text(comparison.end_ns)} (live records "
        f"{_span_text(*comparison.live_span)}; backtest {comparison.backtest}: {_span_text(*comparison.backtest_span)})"
    )


def _span_text(first_ns: int, last_ns: int) -> str:
    return "nothing" if last_ns < first_ns else f"{utc_text(first_ns)} to {utc_text(last_ns)}"


# -- the two sides ---------------------------------------------------------------------------------------


def backtest_orders_of(folder: Path) -> Orders:
    """A backtest's report folder: its orders (orders.csv), fills (trades.csv, matched to their orders by
    ``order_id``) and span (summary.json's ``meta.start_ns`` to ``meta.end_ns``). :class:`UsageError`
    naming ``--against`` when a file is missing (orders.csv: the backtest was run by an arb before it)."""
    for name in (SUMMARY_JSON, TRADES_CSV, ORDERS_CSV):
        if not (folder / name).is_file():
            why = " (written by an arb before orders.csv: run arb backtest again)" if name == ORDERS_CSV else ""
            raise UsageError(f"--against: expected a backtest's report folder with {name}, got {str(folder)!r}{why}")
    source: SourceData = load_backtest(folder)
    try:
        orders = read_orders_csv(folder / ORDERS_CSV, source.symbols, source.venues)
    except ValueError as exc:
        raise UsageError(f"--against: {exc}") from None
    ids = orders["order_id"]
    matched = bool(len(orders) == 0 or (ids > 0).all())
    row_of = {int(oid): i for i, oid in enumerate(ids) if oid > 0}
    fills = [(row_of[int(f["order_id"])], float(f["price"]), float(f["qty"])) for f in source.fills
             if int(f["order_id"]) in row_of]  # fmt: skip
    matched_fills = np.array(fills, MATCHED_DTYPE) if fills else np.zeros(0, MATCHED_DTYPE)
    return Orders(orders, matched_fills, source.first_ns, source.last_ns, source.symbols, matched, source.venues)


def live_orders(config: Any, first_ns: int, last_ns: int) -> Orders:
    """The live journal's orders of ``config``'s account on its venue-markets and symbols (orders placed
    by hand left out) and their fills (by client id); the span runs from the earlier of ``first_ns``
    and the first order to the later of ``last_ns`` and the last answer (``first_ns``/``last_ns``: the
    live source's, :class:`SourceData`)."""
    import sqlalchemy as sa

    from arb.journal.journal import fills as fills_table
    from arb.journal.journal import intents as intents_table

    account = config.live.account
    url, name = journal_url(config)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            intents = [dict(r._mapping) for r in conn.execute(
                sa.select(intents_table).where(intents_table.c.account == account).order_by(intents_table.c.intent_ns)
            )]  # fmt: skip
            fill_rows = [dict(r._mapping) for r in conn.execute(
                sa.select(fills_table.c.client_id, fills_table.c.price, fills_table.c.qty)
                .where(fills_table.c.account == account, fills_table.c.client_id != "")
            )]  # fmt: skip
    except sa.exc.SQLAlchemyError as exc:
        raise UsageError(f"journal {name}: cannot read it: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    names = tuple(config.symbol_names)
    orders, row_of, times = _live_rows(intents, config, names)
    fills = [
        (row_of[r["client_id"]], float(r["price"]), float(r["qty"])) for r in fill_rows if r["client_id"] in row_of
    ]
    matched = np.array(fills, MATCHED_DTYPE) if fills else np.zeros(0, MATCHED_DTYPE)
    known = [first_ns, last_ns] if last_ns >= first_ns else []  # an empty source knows of no time
    first, last = (min(known + times), max(known + times)) if known or times else (first_ns, last_ns)
    return Orders(orders, matched, first, last, names, venues=tuple(config.venue_names))


def _live_rows(intents: Sequence[Mapping[str, Any]], config: Any, names: tuple[str, ...]
               ) -> tuple[Array, dict[str, int], list[int]]:  # fmt: skip
    # the intents as ORDER_DTYPE rows (this strategy's venue-markets and symbols, none by hand), the row of
    # each client id, and every time they name
    markets = {(v.name, v.market): i for i, v in enumerate(config.venues)}
    numbers = {name: s for s, name in enumerate(names)}
    rows: list[tuple[Any, ...]] = []
    row_of: dict[str, int] = {}
    times: list[int] = []
    for r in intents:
        venue = markets.get((r["venue"], r["market"]))
        symbol = numbers.get(str(r["symbol"])) if len(names) > 1 else 0
        if venue is None or symbol is None or int(r["kind"]) == BY_HAND:
            continue
        written, ack = int(r["written_ns"] or 0), int(r["ack_ns"] or 0)
        trip = ack - written if written > 0 and ack > 0 else -1
        row_of[str(r["client_id"])] = len(rows)
        rows.append((int(r["intent_ns"]), venue, symbol, int(r["side"]), float(r["price"]), float(r["qty"]),
                     int(r["kind"]), int(r["pair_id"]), 0, trip))  # fmt: skip
        times += [t for t in (int(r["intent_ns"]), ack, int(r["done_ns"] or 0)) if t > 0]
    return (np.array(rows, ORDER_DTYPE) if rows else np.zeros(0, ORDER_DTYPE)), row_of, times
