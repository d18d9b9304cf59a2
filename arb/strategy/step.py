"""The per-decision step: one symbol's kernel and the risk gate on its view, shared by both drivers, and
the live engine's whole decision as one compiled call.

:func:`decide_symbol` is what every driver runs for a symbol at a decision once its view is filled: its
kernel, the gate on what the kernel asked for, and the decision's row in the kernel-call log. The
backtest's compiled loop (``arb.backtest.run``) and the live engine (``arb.live.engine``: dry run,
``arb live``, the replay parity check) call the very same compiled function, so they decide alike.

:func:`engine_step` is the live engine's decision at one local time, in a single compiled call (each
call from Python costs the dispatch of every argument, so there is one per decision): the executor's
open and unknown orders and blocked venues into the state, the views of the symbols whose book, sync
state or orders changed, every symbol's account in its view, the gate's trackers, then per changed
symbol ``may_act``, :func:`decide_symbol` and its sent intents logged. Python only hands the intents to
the executor.

Its state comes as a few tuples of arrays built once by the engine (see :func:`engine_step`), each
symbol's kernel and the risk gate among them as the named records of :mod:`arb.strategy.state`
(:class:`~arb.strategy.state.Kernel`, :class:`~arb.strategy.state.Risk`), the record arrays carrying their
module's dtype objects themselves (``kernel.rules.dtype is RULES_DTYPE``): Numba finds the compiled code by
its arguments' types, and an equal but distinct structured dtype costs a comparison of every field, or a new
compilation, at each call.

Units as everywhere: ``_ns`` int64 nanoseconds, prices in quote currency, quantities in base units.
"""

from __future__ import annotations

__all__ = [
    "FLAG_CONTRACT_BROKEN",
    "FLAG_EVENTS",
    "FLAG_HALTED",
    "FLAG_HEDGE_FAILED",
    "N_VENUE_ROWS",
    "V_BLOCKED",
    "V_BOOK_TS",
    "V_FEED_STALE",
    "V_OPEN",
    "V_SYNCED",
    "book_list",
    "decide_symbol",
    "engine_step",
    "fill_accounts",
    "fill_books",
    "log_equity",
    "set_book",
    "venue_status",
]

from typing import Any

import numpy as np
from numba.typed import List

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb.book import book_top
from arb.strategy.gate import gate, update_equity, value_px
from arb.strategy.guard import guarded_decide, may_decide
from arb.strategy.state import EngineLogs, EngineState, Kernel, Risk
from arb.strategy.types import (
    BUY,
    CONTRACT_BROKEN,
    HEDGE_FAILED,
    INTENT_CANCEL,
    INTENT_QUOTE,
    QUOTE_CANCELING,
    QUOTE_PENDING,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
)

# Rows of the engine's ``venues``, the per-(symbol, venue) state the step reads besides the books
# (``venues[row, s, v]``).
V_SYNCED = 0  # 1 while the feed says the book is synced
V_FEED_STALE = 1  # 1 while the feed says the book is stale
V_BOOK_TS = 2  # local time of the book's last change, ns
V_OPEN = 3  # orders of the symbol on the venue the engine has not been told the end of
V_BLOCKED = 4  # local time until which the executor refuses orders on the venue (every symbol's), ns
N_VENUE_ROWS = 5

# What :func:`engine_step` says happened besides the intents (bits of its third result).
FLAG_EVENTS = 1  # the gate wrote events the driver has not drained
FLAG_HALTED = 2  # the gate halted trading at this decision
FLAG_HEDGE_FAILED = 4  # a symbol that decided has spent its hedge attempts (HEDGE_FAILED)
FLAG_CONTRACT_BROKEN = 8  # a symbol's strategy broke its contract (CONTRACT_BROKEN): the driver halts


@nb.njit(cache=True, nogil=True)
def venue_status(venues: Any, s: int, v: int, now: int, stale_after: int) -> int:
    """What the view says of symbol ``s``'s book on venue ``v`` at ``now``: ``VENUE_OUT_OF_SYNC`` unless
    its feed says synced, ``VENUE_STALE`` when its feed says so or its last change is older than
    ``stale_after`` ns, else ``VENUE_OK``."""
    if venues[V_SYNCED, s, v] == 0:
        return VENUE_OUT_OF_SYNC
    if venues[V_FEED_STALE, s, v] != 0 or now - venues[V_BOOK_TS, s, v] > stale_after:
        return VENUE_STALE
    return VENUE_OK


@nb.njit(cache=True, nogil=True)
def fill_accounts(views: Any, account: Any, venues: Any) -> None:
    """Every symbol's position, holdings, the venue's quote and open orders into its view: the account
    (:class:`~arb.strategy.state.EngineAccount`) as the gate's totals read it (cheap: no book is read)."""
    position, init_base, init_quote, cash = account.position, account.init_base, account.init_quote, account.cash
    for v in range(views.shape[1]):
        quote = init_quote[v] + cash[0, v]
        for s in range(1, views.shape[0]):
            quote = quote + cash[s, v]
        for s in range(views.shape[0]):
            rec = views[s][v]
            rec["position"] = position[s, v]
            rec["base_balance"] = init_base[s, v] + position[s, v]
            rec["quote_balance"] = quote
            rec["open_orders"] = venues[V_OPEN, s, v]
            rec["book_local_ts"] = venues[V_BOOK_TS, s, v]
            rec["blocked_until_ns"] = venues[V_BLOCKED, s, v]


@nb.njit(cache=True, nogil=True)
def book_list(first: Any, n: int) -> Any:
    """A typed list of ``n`` books' arrays (``OrderBook.arrays``), each ``first`` until :func:`set_book`
    puts its own there: what :func:`engine_step` and :func:`fill_books` take, symbol ``s``'s book on venue
    ``v`` at ``s * n_venues + v``. A list, not a tuple: its type is the same for every venue count (one
    compiled step for them all), and handing it to compiled code costs the same for 2 venues as for 8
    (a tuple's arrays are each converted at every call, ~0.4 us a book)."""
    books = List()
    for _ in range(n):
        books.append(first)
    return books


@nb.njit(cache=True, nogil=True)
def set_book(books: Any, a: int, arrays: Any) -> None:
    """Book ``a``'s arrays into ``books`` (:func:`book_list`): when the book is made, and after it grew."""
    books[a] = arrays


@nb.njit(cache=True, nogil=True)
def fill_books(views: Any, s: int, books: Any, levels: int, venues: Any, now: int, stale_after: int,
               last_mid: Any) -> None:  # fmt: skip
    """Symbol ``s``'s view of its books (best ``levels`` a side) and the venues' status; its last finite
    mids into ``last_mid[s]``. ``books``: every symbol's ``OrderBook.arrays`` (:func:`book_list`), symbol
    ``s``'s on venue ``v`` at ``s * n_venues + v``."""
    n_venues = views.shape[1]
    for v in range(n_venues):
        rec = views[s][v]
        book_top(books[s * n_venues + v], levels, (rec["bid_px"], rec["bid_qty"], rec["ask_px"], rec["ask_qty"]))
        rec["status"] = venue_status(venues, s, v, now, stale_after)
        mid = 0.5 * (rec["bid_px"][0] + rec["ask_px"][0])
        if np.isfinite(mid):
            last_mid[s, v] = mid


@nb.njit(cache=True, nogil=True)
def _trading_pnl(cash: Any, position: Any, last_mid: Any, mark: Any, out: Any) -> float:
    # Per symbol (into ``out``) and for the account: cash + position x price over the venues (the mark
    # price where there is one, else the last mid), operation for operation as NumPy's sum of the two
    # venues does it.
    total = 0.0
    for s in range(cash.shape[0]):
        pnl: float = cash[s, 0] + position[s, 0] * value_px(mark, last_mid, s, 0)
        for v in range(1, cash.shape[1]):
            pnl = pnl + (cash[s, v] + position[s, v] * value_px(mark, last_mid, s, v))
        out[s] = pnl
        total = pnl if s == 0 else total + pnl
    return total


@nb.njit(cache=True, nogil=True, twin=True, by_address=True)
def decide_symbol(now: int, s: int, views: Any, kernel: Kernel, risk: Risk, pair_seq: Any, calls: Any, c: int) -> int:
    """Symbol ``s``'s strategy on ``views[s]`` inside arb's guard, then the gate; the call logged as
    ``calls[c]``. Returns how many of its intents (in ``kernel.intents[s]``) passed the gate.

    ``kernel``: every symbol's :class:`~arb.strategy.state.Kernel` as :func:`arb.strategy.guard.guarded_decide`
    takes it, a row (of intents: a buffer) per symbol, each symbol decided by its own strategy. ``risk``: the
    gate's :class:`~arb.strategy.state.Risk` records, as :func:`arb.strategy.gate.gate` takes them;
    ``pair_seq[0]``: the next pair id, shared by every symbol (advanced by the pairs and quotes this call
    opens)."""
    view = views[s]
    ks = kernel.state[s]
    ks["next_pair_id"] = pair_seq[0]
    buf = kernel.intents[s]
    n = guarded_decide(view, kernel, s, now)
    pair_seq[0] = ks["next_pair_id"]
    n = gate(views, s, risk.limits, risk.state, risk.symbol_state, buf, n, now)
    row = calls[c]
    row["ts"] = now
    row["symbol"] = s
    for v in range(view.shape[0]):
        row["bid"][v] = view[v]["bid_px"][0]
        row["ask"][v] = view[v]["ask_px"][0]
        row["position"][v] = view[v]["position"]
        row["status"][v] = view[v]["status"]
        row["open_orders"][v] = view[v]["open_orders"]
    row["intents"] = n
    return n


@nb.njit(cache=True, nogil=True)
def _log_sent(sent: Any, first: int, intents: Any, n: int, now: int, orders: Any, at: int, symbol: int) -> None:
    # The first n intents as sent at ``now``, into sent[first:first + n]; also their order fields as
    # plain arrays from row ``at`` (``orders``: ints (venue, side, kind, pair_id, symbol) and floats
    # (price, qty)), which Python reads far faster than the fields of a record array.
    ints, floats = orders
    for k in range(n):
        row = sent[first + k]
        it = intents[k]
        row["ts"] = now
        row["venue"] = it["venue"]
        row["side"] = it["side"]
        row["price"] = it["price"]
        row["qty"] = it["qty"]
        row["kind"] = it["kind"]
        row["pair_id"] = it["pair_id"]
        row["level"] = it["level"]
        row["symbol"] = symbol
        ints[at + k, 0] = it["venue"]
        ints[at + k, 1] = it["side"]
        ints[at + k, 2] = it["kind"]
        ints[at + k, 3] = it["pair_id"]
        ints[at + k, 4] = symbol
        floats[at + k, 0] = it["price"]
        floats[at + k, 1] = it["qty"]


@nb.njit(cache=True, internal=True, nogil=True)
def _quote_sent(rec: Any, it: Any, now: int) -> None:
    # A quote or cancel intent into its venue's view as the driver's slot will hold it once sent
    # (arb.strategy.quote_slots): a quote pending, a cancelled one cancelling.
    i = 0 if it["side"] == BUY else 1
    if it["kind"] == INTENT_QUOTE:
        rec["quote_state"][i] = QUOTE_PENDING
        rec["quote_px"][i] = it["price"]
        rec["quote_qty"][i] = it["qty"]
        rec["quote_ns"][i] = now
    else:
        rec["quote_state"][i] = QUOTE_CANCELING


@nb.njit(cache=True, nogil=True)
def engine_step(now: int, pending: Any, state: EngineState, risk: Risk, books: Any, logs: EngineLogs, n_calls: int,
                n_sent: int) -> tuple[int, int, int]:  # fmt: skip
    """The live engine's decision at local time ``now``, for the symbols with ``pending[s]`` set (their
    book, sync state or orders changed; cleared here). Returns ``(intents, calls, flags)``: the intents
    that passed the gate (rows ``[0, intents)`` of the order arrays, and of the sent log from
    ``n_sent``), the kernel calls logged (from ``n_calls``), and ``FLAG_*`` bits.

    ``state``: the engine's arrays, by name (:class:`~arb.strategy.state.EngineState`). ``risk``: the gate's
    :class:`~arb.strategy.state.Risk` records. ``books``: every book's
    ``OrderBook.arrays`` (:func:`book_list`). ``logs``: where the rows go (:class:`~arb.strategy.state.EngineLogs`).
    """
    views, kernel, venues, account = state.views, state.kernel, state.venues, state.account
    pair_seq, settings = state.pair_seq, state.settings
    last_mid, mark, pnl_sym = state.marks.last_mid, state.marks.mark, state.marks.pnl_sym
    open_counts, unknown_counts = state.executor.open_counts, state.executor.unknown_counts
    blocked_until = state.executor.blocked_until_ns
    calls, sent, orders = logs.calls, logs.sent, logs.orders
    levels, stale_after = settings[0], settings[1]
    st = risk.state[0]
    n_sym = views.shape[0]
    for v in range(views.shape[1]):
        st["unknown"][v] = unknown_counts[v]  # unanswered past [live] request_timeout_ms
        for s in range(n_sym):
            venues[V_OPEN, s, v] = open_counts[s, v]
            venues[V_BLOCKED, s, v] = blocked_until[v]
    for s in range(n_sym):
        if pending[s]:
            fill_books(views, s, books, levels, venues, now, stale_after, last_mid)
    halted_before = st["halted"]
    fill_accounts(views, account, venues)
    position, cash = account.position, account.cash
    # drawdown is measured on trading PnL: the starting coins' price moves are not losses
    trading = _trading_pnl(cash, position, last_mid, mark, pnl_sym)
    if np.isfinite(trading):
        update_equity(risk.limits, risk.state, risk.symbol_state, trading, pnl_sym, views, now)
    kernel_state, intents = kernel.state, kernel.intents
    total = 0
    called = 0
    flags = 0
    for s in range(n_sym):
        if not pending[s]:
            continue
        pending[s] = 0
        if kernel_state[s]["flags"] & HEDGE_FAILED:
            flags |= FLAG_HEDGE_FAILED
        view = views[s]
        if not may_decide(view, kernel, s, now):
            continue
        n = decide_symbol(now, s, views, kernel, risk, pair_seq, calls, n_calls + called)
        called += 1
        buf = intents[s]
        _log_sent(sent, n_sent + total, buf, n, now, orders, total, s)
        for k in range(n):  # the next symbol's gate counts them (the executor's count comes next time)
            it = buf[k]
            v = it["venue"]
            if it["kind"] == INTENT_QUOTE or it["kind"] == INTENT_CANCEL:
                _quote_sent(view[v], it, now)  # a quote is not an open order: its slot says it
                continue
            view[v]["open_orders"] += 1
            venues[V_OPEN, s, v] += 1
        total += n
        if kernel_state[s]["flags"] & HEDGE_FAILED:
            flags |= FLAG_HEDGE_FAILED
        if kernel_state[s]["flags"] & CONTRACT_BROKEN:
            flags |= FLAG_CONTRACT_BROKEN
    if st["ev_count"] != st["ev_drained"]:
        flags |= FLAG_EVENTS
    if st["halted"] != 0 and halted_before == 0:
        flags |= FLAG_HALTED
    return total, called, flags


@nb.njit(cache=True, nogil=True)
def log_equity(equity: Any, index: int, now: int, account: Any, last_mid: Any, mark: Any) -> int:
    """One sample into ``equity[index:index + symbols]``, a row per symbol: its part of the account (the
    first symbol's row holds the starting quote, every row its own cash flows and holdings at its
    prices; the rows of one time add up to the account) and its marks. ``account``: an
    :class:`~arb.strategy.state.EngineAccount`. Returns the rows written: 0 until every book has a mid."""
    position, init_base, init_quote, cash = account.position, account.init_base, account.init_quote, account.cash
    n_sym, n_venues = last_mid.shape
    for s in range(n_sym):
        for v in range(n_venues):
            if not np.isfinite(last_mid[s, v]):
                return 0
    for s in range(n_sym):
        row = equity[index + s]
        row["ts"] = now
        row["symbol"] = s
        total = 0.0
        for v in range(n_venues):
            # NumPy's init_quote + cash + (init_base + position) * last_mid, element by element
            start = init_quote[v] if s == 0 else 0.0
            per = start + cash[s, v] + (init_base[s, v] + position[s, v]) * value_px(mark, last_mid, s, v)
            row["equity_venue"][v] = per
            row["position"][v] = position[s, v]
            row["mid"][v] = last_mid[s, v]
            row["price"][v] = value_px(mark, last_mid, s, v)
            total = per if v == 0 else total + per
        row["equity"] = total
    written: int = n_sym
    return written
