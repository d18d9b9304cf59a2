"""The backtest's compiled loop: hftbacktest's events to decision points, each symbol's kernel and the
risk gate at each, and the orders they send (see :mod:`arb.backtest.run`, its Python driver).
"""

from __future__ import annotations

__all__: list[str] = []  # compiled internals of arb.backtest.run

from typing import Any

import numpy as np
from hftbacktest import ALL_ASSETS
from hftbacktest.intrinsic import address_as_void_pointer
from hftbacktest.order import GTX, LIMIT, order_dtype
from hftbacktest.types import state_values_dtype
from numba.np.numpy_support import carray

from arb._alloc import zeros
from arb._jit import njit
from arb.backtest.hbt_abi import (
    bt_cancel,
    bt_clear_inactive_orders,
    bt_current_timestamp,
    bt_depth,
    bt_elapse,
    bt_orders,
    bt_position,
    bt_state_values,
    bt_submit_buy_order,
    bt_submit_sell_order,
    bt_wait_next_feed,
    depth_ask_qty_at_tick,
    depth_best_ask,
    depth_best_ask_tick,
    depth_best_bid,
    depth_best_bid_tick,
    depth_bid_qty_at_tick,
    depth_tick_size,
    orders_get,
)
from arb.backtest.hbt_orders import (
    C_CALLS,
    C_CURSOR,
    C_DECISION_POINTS,
    C_DONE,
    C_EQUITY,
    C_INTENTS,
    C_KERNEL_CALLS,
    C_NEXT_ORDER_ID,
    C_NEXT_PAIR_ID,
    C_NEXT_SAMPLE,
    C_SUBMIT_ERRORS,
    _log_sent,
    _open_orders,
    _outputs_full,
)
from arb.backtest.hbt_quotes import ANSWER_FILLED, ANSWER_NONE, cancel_sent, quote_answer, quote_sent
from arb.backtest.loop_state import Account, Tape
from arb.backtest.perp_step import has_perp, perp_step
from arb.backtest.step_call import call_step
from arb.backtest.taker_fills import (
    answer_orders,
    arrive_orders,
    forget_levels,
    latencies,
    next_due,
    route_order,
    send_order,
    unknown_per_venue,
)
from arb.backtest.transfers import TRANSFER_NONE, add_moved, held_value, log_full, move_inventory
from arb.execution.liquidity import SWEEP_LEVELS, TAKEN_SLOTS
from arb.execution.risk import value_px
from arb.strategy.gate import follow_pnl
from arb.strategy.guard import may_decide
from arb.strategy.quote_slots import Q_OID, any_quote, quote_views
from arb.strategy.state import Risk
from arb.strategy.step import decide_symbol
from arb.strategy.types import (
    BUY,
    INTENT_CANCEL,
    INTENT_QUOTE,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
)

_MAX_SCAN_TICKS = 2_000  # ticks walked from the best price when filling deeper levels
_MAX_SAME_TIME = 10_000
_NONE_DUE = np.iinfo(np.int64).max  # next_due's answer when no order is on its way
_NO_PROGRESS = -1_000  # _run_loop's code when orders keep being answered without time passing


@njit(cache=True, internal=True)
def _side_top(depth: Any, bids: bool, levels: int, scan: int, px: Any, qty: Any) -> None:
    # One side's best ``levels`` price levels from hftbacktest's depth into px and qty (NaN price, 0
    # quantity past the last), walking ticks from the best price (down for bids, up for asks) at most
    # ``scan`` ticks deep.
    k = 0
    if np.isfinite(depth_best_bid(depth) if bids else depth_best_ask(depth)):
        tick = depth_tick_size(depth)
        best = depth_best_bid_tick(depth) if bids else depth_best_ask_tick(depth)
        step = -1 if bids else 1
        t = best
        while k < levels and abs(t - best) <= scan:
            q = depth_bid_qty_at_tick(depth, t) if bids else depth_ask_qty_at_tick(depth, t)
            if q > 0.0:
                px[k] = t * tick
                qty[k] = q
                k += 1
            t += step
    for j in range(k, levels):
        px[j] = np.nan
        qty[j] = 0.0


@njit(cache=True, internal=True)
def _fill_top(bt: int, views: Any, levels: int, scan: int, lo: int, hi: int, mask: Any) -> None:
    # Best ``levels`` price levels of the assets lo <= a < hi whose ``mask[a]`` is set (asset a is symbol
    # a // n on venue a % n, n the run's venues) from hftbacktest's depth.
    n_venues = views.shape[1]
    for a in range(lo, hi):
        if mask[a] == 0:
            continue
        rec = views[a // n_venues][a % n_venues]
        depth = bt_depth(bt, a)
        _side_top(depth, True, levels, scan, rec["bid_px"], rec["bid_qty"])
        _side_top(depth, False, levels, scan, rec["ask_px"], rec["ask_qty"])


@njit(cache=True, internal=True)
def _fill_deeper(bt: int, views: Any, levels: int, lo: int, hi: int, deep: Any) -> None:
    # What ``_fill_top`` with ``levels`` levels and ``_MAX_SCAN_TICKS`` gives the assets lo <= a < hi, the
    # depth walked only for an asset whose book changed since its last walk. ``deep``: ``(kept, walked)``,
    # each asset's levels as last walked (``kept[a]``: bid prices, bid quantities, ask prices, ask
    # quantities) and whether they are still its book's (``walked[a]``; the loop clears it when the asset
    # ticks: hftbacktest changes a book only with its depth rows, which are the asset's decision points).
    # Walking ticks is a hash lookup a tick, up to hundreds of them on a fine tick grid.
    kept, walked = deep
    n_venues = views.shape[1]
    for a in range(lo, hi):
        rec = views[a // n_venues][a % n_venues]
        sides = (rec["bid_px"], rec["bid_qty"], rec["ask_px"], rec["ask_qty"])
        if walked[a] == 0:
            depth = bt_depth(bt, a)
            _side_top(depth, True, levels, _MAX_SCAN_TICKS, sides[0], sides[1])
            _side_top(depth, False, levels, _MAX_SCAN_TICKS, sides[2], sides[3])
            for k in range(4):
                side = sides[k]
                for j in range(levels):  # element by element: a slice copy compiles a shape check and its message
                    kept[a, k, j] = side[j]
            walked[a] = 1
        else:
            for k in range(4):
                side = sides[k]
                for j in range(levels):
                    side[j] = kept[a, k, j]


@njit(cache=True, internal=True, inline="always")
def _last_at(times: Any, at: int, hi: int, now: int) -> int:
    # The last index i < hi with times[i] <= now, from ``at``, the one found at an earlier ``now`` (times
    # sorted, ``now`` never going back: the loop's clock), walking on: each row is passed once over a run,
    # where a binary search at every decision cost six searches a decision point.
    while at + 1 < hi and times[at + 1] <= now:
        at += 1
    return at


@njit(cache=True, internal=True, inline="always")
def _status(now: int, a: int, tape: Any, seen: Any, stale_after: int) -> tuple[int, int]:
    # (status, time of the last book update) of asset a at ``now``; each asset's times are the slice
    # of the tape's concatenated arrays between its offsets. ``seen[0, a]`` / ``seen[1, a]``: the last
    # sync row / book row of asset a found so far (its offset - 1 before the first), moved on to ``now``.
    sync_off, book_off = tape.sync_off, tape.book_off
    i = _last_at(tape.sync_ts, seen[0, a], sync_off[a + 1], now)
    j = _last_at(tape.book_ts, seen[1, a], book_off[a + 1], now)
    seen[0, a] = i
    seen[1, a] = j
    synced = i >= sync_off[a] and tape.sync_state[i] == 1
    last = tape.book_ts[j] if j >= book_off[a] else 0
    if not synced:
        return VENUE_OUT_OF_SYNC, last
    if now - last > stale_after:
        return VENUE_STALE, last
    return VENUE_OK, last


@njit(cache=True, internal=True, inline="always")
def _trading_pnl(view: Any, cash: Any, mark: Any, last_mid: Any, s: int) -> float:
    # Symbol s's trading PnL: every venue's cash flows and position at its price (the mark price where
    # there is one, else the last mid); the cash summed first, then the positions, in venue order.
    n_venues = view.shape[0]
    pnl: float = cash[s, 0]
    for v in range(1, n_venues):
        pnl = pnl + cash[s, v]
    for v in range(n_venues):
        pnl = pnl + view[v]["position"] * value_px(mark, last_mid, s, v)
    return pnl


@njit(cache=True, internal=True, inline="always")
def _any_ticked(ticked: Any, lo: int, hi: int) -> bool:
    # Whether any asset lo <= a < hi ticked.
    for a in range(lo, hi):  # noqa: SIM110 - a generator in any() does not compile in nopython mode
        if ticked[a] != 0:
            return True
    return False


@njit(cache=True, internal=True, inline="always")
def _next_due(flight: Any, open_count: Any) -> int:
    # :func:`next_due`, without reading the flight's slots while no taker order is on its way: every order
    # put on its way is counted in ``open_count`` (its asset's) until its answer frees its slot, so all
    # zero means every slot is free. Most steps have none out: the slots are ``_MAX_PENDING`` an asset.
    for a in range(open_count.shape[0]):
        if open_count[a] != 0:
            return next_due(flight)
    return _NONE_DUE


@njit(cache=True, internal=True, inline="always")
def _submit(bt: int, a: int, oid: int, side: int, price: float, qty: float, tif: int) -> int:
    # One limit order to hftbacktest (``tif``: GTX for a post-only quote); its return code.
    if side == BUY:
        return int(bt_submit_buy_order(bt, a, oid, price, qty, tif, LIMIT, 0))
    return int(bt_submit_sell_order(bt, a, oid, price, qty, tif, LIMIT, 0))


@njit(cache=True, internal=True)
def _follow_quotes(bt: int, now: int, quotes: Any, fills: Any, run: Any, answered: Any) -> int:
    # hftbacktest's answers about the resting quotes (arb.backtest.hbt_quotes): bit 1 when one
    # changed (its symbol is marked in ``answered``), bit 2 when one filled (positions must be read again).
    # ``quotes`` None: a run without quotes (0; quote_answer is not compiled).
    if quotes is None:
        return 0
    ints = quotes[0]
    n_venues = run.settings[0]["n_venues"]
    out = 0
    for a in range(ints.shape[0]):
        for i in range(2):
            oid = ints[a, i, Q_OID]
            if oid == 0:
                continue
            found = orders_get(bt_orders(bt, a), np.uint64(oid))
            if found == 0:  # cleared: nothing more can come of it
                ints[a, i, Q_OID] = 0
                answered[a // n_venues] = 1
                out |= 1
                continue
            order = carray(address_as_void_pointer(found), 1, dtype=order_dtype)
            got = quote_answer(fills, run, now, order, quotes, a, i)
            if got != ANSWER_NONE:
                answered[a // n_venues] = 1
                out |= 3 if got == ANSWER_FILLED else 1
    return out


@njit(cache=True, internal=True)
def _observe(now: int, views: Any, run: Any, tape: Any, account: Any, orders: Any, risk: Risk, outs: Any) -> None:
    # At a decision point, with the views' books and accounts current: every venue's status, equity,
    # the gate's trackers and unknown orders, the equity sample when due (a row per symbol, as the
    # live engine writes them). The tuples are _run_loop's.
    settings, counters, init_base, last_mid = run.settings, run.counters, run.init_base, run.last_mid
    cash, eq_venue, pnl_sym, open_count, mark, seen = (account.cash, account.eq_venue, account.pnl_sym,
                                                       account.open_count, account.mark, account.seen)  # fmt: skip
    flight = orders.flight
    gate_st = risk.state[0]  # the account's gate state
    equity = outs.equity
    cfg = settings[0]
    stale_after = cfg["stale_after_ns"]
    init_quote = cfg["init_quote"]
    moving = cfg["transfer_policy"] != TRANSFER_NONE
    n_symbols, n_venues = views.shape
    waiting = False
    for a in range(open_count.shape[0]):
        rec = views[a // n_venues][a % n_venues]
        rec["open_orders"] = open_count[a]
        st, last = _status(now, a, tape, seen, stale_after)
        rec["status"] = st
        rec["book_local_ts"] = last
        if open_count[a] > 0:
            waiting = True
    trading = 0.0
    for s in range(n_symbols):
        view = views[s]
        for v in range(n_venues):
            mid = 0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0])
            if np.isfinite(mid):
                last_mid[s, v] = mid
            start = init_quote[v] if s == 0 else 0.0
            px = value_px(mark, last_mid, s, v)
            eq_venue[s, v] = start + cash[s, v] + (init_base[s, v] + view[v]["position"]) * px
            if moving:  # what transfers sent there, or took away
                eq_venue[s, v] += held_value(run.inventory, s, v, px)
        # drawdown is measured on trading PnL: the starting coins' price moves are not losses
        pnl = _trading_pnl(view, cash, mark, last_mid, s)
        pnl_sym[s] = pnl
        trading = pnl if s == 0 else trading + pnl
    if waiting:
        unknown_per_venue(flight, now, cfg["request_timeout_ns"], gate_st["unknown"], n_venues)
    else:
        gate_st["unknown"][:] = 0
    if np.isfinite(trading):  # update_equity's body, one call less
        follow_pnl(risk.limits, gate_st, risk.symbol_state, trading, pnl_sym, views, now)
    final = counters[C_DONE] == 1 or now >= cfg["end_ns"]
    due = now >= counters[C_NEXT_SAMPLE] or final
    if not due:
        return
    for s in range(n_symbols):
        for v in range(n_venues):
            if not np.isfinite(last_mid[s, v]):
                return
    m = counters[C_EQUITY]
    for s in range(n_symbols):
        row = equity[m + s]
        row["ts"] = now
        row["symbol"] = s
        total = eq_venue[s, 0]
        for v in range(n_venues):
            if v > 0:
                total = total + eq_venue[s, v]
            row["equity_venue"][v] = eq_venue[s, v]
            row["position"][v] = views[s][v]["position"]
            row["mid"][v] = last_mid[s, v]
            row["price"][v] = value_px(mark, last_mid, s, v)
        row["equity"] = total
    counters[C_EQUITY] = m + n_symbols
    equity_interval = cfg["equity_interval_ns"]
    counters[C_NEXT_SAMPLE] = (now // equity_interval + 1) * equity_interval


@njit(cache=True, internal=True, inline="always")
def _ticks(decision_ts: Any, decision_assets: Any, counters: Any, now: int, ticked: Any) -> bool:
    # Every decision row due by ``now``: mark its asset in ``ticked``; True when there was one.
    i = counters[C_CURSOR]
    any_ = False
    while i < decision_ts.shape[0] and decision_ts[i] <= now:
        ticked[decision_assets[i]] = 1
        i += 1
        any_ = True
    counters[C_CURSOR] = i
    return any_


@njit(cache=True, internal=True)
def _wait(
    bt: int, until_ns: int, tape: Any, counters: Any, flight: Any, open_count: Any, quoting: bool
) -> tuple[int, int]:
    # The loop's time step: on to the next decision time, order due or ``until_ns``, whichever is first
    # (quoting: sooner if a feed event comes, a resting quote's answer can come at any time). Returns
    # hftbacktest's code (0 when no time passes: an order is due now) and when the next order is due.
    now = bt_current_timestamp(bt)
    i = counters[C_CURSOR]
    target = until_ns
    if i < tape.decision_ts.shape[0] and tape.decision_ts[i] < target:
        target = tape.decision_ts[i]
    due = _next_due(flight, open_count)  # an order reaching its venue, or answered
    if due < target:
        target = due
    if due <= now:
        rc = 0  # an order is due now: no time passes
    elif quoting:
        rc = bt_wait_next_feed(bt, 1, max(target - now, 1))
    elif target > now:
        rc = bt_elapse(bt, target - now)
    else:
        rc = 0
    return rc, due


@njit(cache=True, internal=True)
def _forget_ticked(bt: int, ticked: Any, held: Any, taken: Any, slot_ticks: Any, slot_shown: Any, deep: Any) -> None:
    # Books changed: what was taken from a level that changed is there again, its deeper levels unknown.
    for a in range(ticked.shape[0]):
        if ticked[a] != 0:
            if held[a] != 0:  # only an asset whose levels our orders may have taken from
                held[a] = forget_levels(bt, a, taken, slot_ticks, slot_shown)
            deep[1][a] = 0  # its deeper levels must be walked again


@njit(cache=True, internal=True)
def _read_accounts(bt: int, views: Any, run: Any, cash: Any, own: Any, paid: Any, transfers: bool) -> None:
    # After a fill (or at the start): every view's position and balances, and the cash, read again from
    # hftbacktest's positions and state values and what the taker fills and the funding moved.
    own_pos, own_cash = own
    init_quote = run.settings[0]["init_quote"]
    n_symbols, n_venues = views.shape
    for a in range(n_venues * n_symbols):
        s = a // n_venues
        v = a % n_venues
        rec = views[s][v]
        rec["position"] = bt_position(bt, a) + own_pos[a]
        sv = carray(address_as_void_pointer(bt_state_values(bt, a)), 1, state_values_dtype)
        cash[s, v] = sv[0].balance - sv[0].fee + paid[s, v] + own_cash[a]
    for s in range(n_symbols):
        for v in range(n_venues):
            quote = init_quote[v]
            for o in range(n_symbols):
                quote = quote + cash[o, v]
            views[s][v]["base_balance"] = run.init_base[s, v] + views[s][v]["position"]
            views[s][v]["quote_balance"] = quote
            if transfers:  # what transfers moved to or from the venue
                add_moved(views, run.inventory, s, v)


@njit(cache=True, internal=True)
def _send_maker(bt: int, now: int, s: int, a: int, it: Any, run: Any, orders: Any, outs: Any) -> None:
    # A quote (sent to hftbacktest as a post-only order) or a cancel of one, from symbol s's intent ``it``.
    counters = run.counters
    if it["kind"] == INTENT_QUOTE:
        oid = counters[C_NEXT_ORDER_ID]
        counters[C_NEXT_ORDER_ID] = oid + 1
        if _submit(bt, a, oid, it["side"], it["price"], it["qty"], GTX) == 0:
            quote_sent(orders.quotes, outs.sent, counters, now, it, s, a, oid)
        else:
            counters[C_SUBMIT_ERRORS] += 1
        return
    oid = cancel_sent(orders.quotes, outs.sent, counters, now, it, s, a)
    if oid != 0 and bt_cancel(bt, a, oid, 0) != 0:
        counters[C_SUBMIT_ERRORS] += 1


@njit(cache=True, internal=True, inline="always")
def _decide(bt: int, now: int, s: int, symbols: Any, run: Any, orders: Any, outs: Any, open_count: Any) -> None:
    # The decision point of symbol s: the step (kernel, guard, gate), then the orders for what it passed.
    # The engine's very step (arb.strategy.step.decide_symbol), by its address: Numba optimises and
    # generates the machine code of everything a function links once per function, and decide_symbol
    # links the guard and the risk gate (arb.backtest.step_call). Pair ids are shared by the symbols.
    counters = run.counters
    intents = symbols.kernel.intents
    n_venues = symbols.views.shape[1]
    counters[C_KERNEL_CALLS] += 1
    c = counters[C_CALLS]
    pair_seq = counters[C_NEXT_PAIR_ID : C_NEXT_PAIR_ID + 1]
    n = call_step(symbols.step, (now, s, symbols.views, symbols.kernel, symbols.risk, pair_seq, outs.calls, c))
    counters[C_INTENTS] += n
    counters[C_CALLS] = c + 1
    for k in range(n):
        it = intents[s][k]
        a = n_venues * s + it["venue"]
        if it["kind"] == INTENT_QUOTE or it["kind"] == INTENT_CANCEL:
            _send_maker(bt, now, s, a, it, run, orders, outs)
            continue
        oid, fault, fillable, arrive, answer = route_order(now, s, k, symbols.kernel, run)
        if send_order(orders.flight, now, oid, a, it, fillable, fault, (arrive, answer)):
            _log_sent(now, s, k, fault, symbols, counters, open_count, outs.sent)
        else:
            counters[C_SUBMIT_ERRORS] += 1


@njit(cache=True, internal=True)
def _unseen(tape: Any, n_assets: int) -> Any:
    # _status's rows at the start: none found yet, each asset's offset - 1 (sync changes, book changes)
    seen = zeros((2, n_assets), np.int64)
    for a in range(n_assets):
        seen[0, a] = tape.sync_off[a] - 1
        seen[1, a] = tape.book_off[a] - 1
    return seen


@njit(cache=True, internal=True)
def _lots_held(rules: Any, n_venues: int, n_assets: int) -> tuple[Any, Any]:
    # Per asset its lot size, and 1 (held: a level of it may be remembered as taken, until known not to be)
    lots = zeros(n_assets, np.float64)
    held = zeros(n_assets, np.int64)  # per asset, 0 once known that no level of it is remembered as taken
    for a in range(n_assets):
        lots[a] = rules[a // n_venues]["lot_size"][a % n_venues]
        held[a] = 1
    return lots, held


@njit(cache=True, internal=True)
def _any_maker(rules: Any, n_symbols: int) -> bool:
    # Whether a symbol quotes (the maker_taker style)
    maker = False
    for s in range(n_symbols):
        if rules[s]["quotes"]:
            maker = True
    return maker


@njit(cache=True, internal=True, inline="always")  # see the comment below
def _decision_point(
    bt: int, now: int, flags: Any, state: Any, symbols: Any, orders: Any, outs: Any, marks: Any
) -> None:
    # What happens at a decision time: the views' best levels and accounts made current, the perpetuals,
    # the transfers and the gate's trackers followed, then (``act``) each symbol whose book ticked or
    # whose order was answered decides. ``flags``: (act, fresh: the accounts read again, transfers,
    # maker, perp_on); ``state``: (tape, perp, run, account); ``marks``: (ticked, answered, deep), the
    # assets that ticked and the symbols answered are cleared after. Inlined into the loop (as ``_decide`` is into
    # it), as the decision time was before it was a helper: called, it took every record of the loop's state as
    # arguments at each decision time, and the sample's backtest loop ran 5 % slower (bench_backtest.py).
    act, fresh, transfers, maker, perp_on = flags
    tape, perp, run, account = state
    ticked, answered, deep = marks
    views, kernel, quotes = symbols.views, symbols.kernel, orders.quotes
    n_symbols, n_venues = views.shape
    levels = kernel.rules[0]["book_levels"]
    one = levels - levels + 1  # the best level only, typed as ``levels`` (one compile of _fill_top, not two)
    run.counters[C_DECISION_POINTS] += 1
    # The views: the best level of the books that ticked; deeper levels only if a kernel may act.
    _fill_top(bt, views, one, one - 1, 0, n_venues * n_symbols, ticked)
    if fresh:
        _read_accounts(bt, views, run, account.cash, orders.own, perp.paid, transfers)
    if transfers:
        move_inventory(now, views, run.settings, run.inventory)
    if perp_on:
        perp_step(now, views, run, account, perp, outs)
    _observe(now, views, run, tape, account, orders, symbols.risk, outs)
    if maker:
        quote_views(views, quotes)
    if act and run.counters[C_DONE] == 0:
        for s in range(n_symbols):
            if answered[s] == 0 and not _any_ticked(ticked, n_venues * s, n_venues * s + n_venues):
                continue
            if not may_decide(views[s], kernel, s, now):
                continue
            if levels > 1:
                _fill_deeper(bt, views, levels, n_venues * s, n_venues * s + n_venues, deep)
            _decide(bt, now, s, symbols, run, orders, outs, account.open_count)
            if maker:
                quote_views(views, quotes)  # the next symbol's gate counts these quotes
            if levels > 1:
                # deeper levels are not kept current between decisions: drop them from the view
                for v in range(n_venues):
                    views[s][v]["bid_px"][1:levels] = np.nan
                    views[s][v]["ask_px"][1:levels] = np.nan
    ticked[:] = 0
    answered[:] = 0


@njit(cache=True)
def _run_loop(bt: int, until_ns: int, tape: Any, perp: Any, run: Any, symbols: Any, orders: Any, outs: Any) -> int:
    """Run until local time ``until_ns`` (or the end of data, or a full output buffer).

    Returns 0 when it stopped at ``until_ns``, 1 at the end of the data, 2 when an output buffer is
    full (the caller grows it and calls again), < 0 on an hftbacktest error.

    Assets are symbol ``a // n`` on venue ``a % n`` (``n`` the run's venues, ``settings.n_venues``); at a
    decision point every symbol whose book changed, or whose order was answered, gets its kernel called
    (when ``may_act`` allows).

    Taker orders (every intent but quotes and cancels) are the loop's own (:mod:`arb.backtest.taker_fills`):
    each reaches its venue after the entry latency and fills there against hftbacktest's depth by the
    paper venue's rule (:mod:`arb.execution.liquidity`: level by level, never more than a level shows
    net of what our orders took from it while it showed that quantity), and is answered after the
    response latency. At each time the loop stops it first forgets what was taken from levels that
    changed, then lets the orders due arrive (in the order they were sent) and answers those due, as
    the paper executor does everything due at one time before its driver decides.

    Leg faults (``leg_faults``, one ``LEG_FAULTS_DTYPE`` record): every intent draws its fault from
    its order id (:func:`arb.execution.leg_faults.draw_fault`, as the paper executor does). A rejected
    order fills nothing and is answered at the time an accepted one would be; a partial one may fill
    only the drawn part of its quantity; a late one leaves ``late_ns`` later.

    An order unanswered ``settings.request_timeout_ns`` after it was sent counts as unknown to the gate
    (``risk.state["unknown"]``) until its answer, as arb live counts a request that timed out.

    Perpetuals (``perp``: each asset's funding settlements and mark prices, see
    :class:`~arb.backtest.run.Loop`): at each decision point the settlements due are booked into
    ``funding`` and the cash, and positions on a linear venue are valued at its mark price.

    Transfers (``settings.transfer_policy``, ``run.inventory``; :mod:`arb.backtest.transfers`): at each
    decision point, once the views' balances are current, the transfers due arrive and a venue short
    of an asset is sent more; the balances the kernel sees and the equity include what moved. Each
    transfer is logged (``run.inventory.log``; the loop returns 2 when the log is full).

    ``bt`` is hftbacktest's backtester by its address (``hbt.ptr``; :mod:`arb.backtest.hbt_abi` calls it, so
    this loop is compiled once and then loaded from Numba's cache). The state comes as named records,
    one per concern (:mod:`arb.backtest.loop_state`; :meth:`arb.backtest.run.Loop.run` builds them):
    ``tape`` the decision schedule, ``perp`` the funding tape, ``run`` the settings, counters and measured
    latencies, ``symbols`` the kernels, gate and views, ``orders`` the taker orders on their way, the
    resting quotes (the ``maker_taker`` style's post-only orders, sent to hftbacktest as GTX), what our
    orders took from the levels and what the taker fills moved, ``outs`` the output buffers, filled
    from ``run.counters``' positions on.

    Kept whole: its body is the order of the loop's steps, each a helper of its own (the wait ``_wait``,
    the books that ticked ``_forget_ticked``, the decision time ``_decision_point``), with the locals they
    share from one turn to the next (the scratch arrays, ``fresh``, ``same_time``); this docstring, the
    loop's contract, is most of its length.
    """
    settings, counters = run.settings, run.counters
    views, rules, intents = symbols.views, symbols.kernel.rules, symbols.kernel.intents
    gate_state = symbols.risk.state
    flight, quotes, taken = orders.flight, orders.quotes, orders.taken
    n_symbols, n_venues = views.shape
    perp_on = has_perp(perp)
    n_assets = n_venues * n_symbols
    levels = rules[0]["book_levels"]
    cash, eq_venue, pnl_sym, open_count, ticked = _open_orders(flight, n_symbols, n_venues)
    account = Account(
        cash, eq_venue, pnl_sym, open_count, perp.mark, _unseen(tape, n_assets)
    )  # what _observe and perp_step take
    answered = zeros(n_symbols, np.int64)  # symbols whose orders were answered since the last decision
    deep = (zeros((n_assets, 4, levels), np.float64), zeros(n_assets, np.int64))  # _fill_deeper's, nothing walked yet
    lots, held = _lots_held(rules, n_venues, n_assets)
    # the levels an arriving order may take
    scratch = (zeros(SWEEP_LEVELS, np.float64), zeros(SWEEP_LEVELS, np.float64))
    slot_ticks = zeros((2, TAKEN_SLOTS), np.int64)
    slot_shown = zeros((2, TAKEN_SLOTS), np.float64)
    same_time = 0  # steps in a row without time passing (orders answered at once with zero latency)
    last_now = bt_current_timestamp(bt)
    fresh = True  # positions and balances must be read again (start, or after a fill)
    transfers = settings[0]["transfer_policy"] != TRANSFER_NONE  # the backtest moves inventory
    maker = _any_maker(rules, n_symbols)  # a symbol quotes (the maker_taker style)
    while True:
        if _outputs_full(outs, flight, intents, gate_state, counters):
            return 2
        if transfers and log_full(run.inventory):
            return 2
        quoting = maker and any_quote(quotes)  # a resting quote's answer can come at any time
        rc, due = _wait(bt, until_ns, tape, counters, flight, open_count, quoting)
        if rc == 1:
            counters[C_DONE] = 1
        elif rc < 0 or rc > 3:
            return int(-abs(rc))
        now = bt_current_timestamp(bt)
        same_time = same_time + 1 if now == last_now else 0
        if same_time > _MAX_SAME_TIME:
            return _NO_PROGRESS
        last_now = now
        act = _ticks(tape.decision_ts, tape.decision_assets, counters, now, ticked)
        if act:
            _forget_ticked(bt, ticked, held, taken, slot_ticks, slot_shown, deep)

        # Taker orders reaching their venue (filled there), then the answers due.
        if due <= now:
            arrive_orders(bt, now, flight, taken, run, lots, scratch)
            held[:] = 1  # they may have taken from any asset's levels
            got = answer_orders(now, flight, run, orders.own, outs.fills, open_count, answered)
            if got != 0:
                act = True
                fresh = fresh or got & 2 != 0
        if quoting:
            followed = _follow_quotes(bt, now, quotes, outs.fills, run, answered)
            if followed != 0:
                act = True
                fresh = fresh or followed & 2 != 0
            bt_clear_inactive_orders(bt, ALL_ASSETS)  # what became of every quote has been read

        if act or counters[C_DONE] == 1 or now >= until_ns:
            flags = (act, fresh, transfers, maker, perp_on)
            _decision_point(bt, now, flags, (tape, perp, run, account), symbols, orders, outs, (ticked, answered, deep))
            fresh = False
        if counters[C_DONE] == 1:
            return 1
        if now >= until_ns:
            return 0


def _step_args(loop: Any) -> tuple[Any, ...]:
    """Values of the types :func:`_run_loop` hands :func:`~arb.strategy.step.decide_symbol` (through
    :func:`~arb.backtest.step_call.call_step`), taken from ``loop`` (an :class:`arb.backtest.run.Loop`):
    what its address is compiled for."""
    i64 = np.int64(0)
    pair_seq = loop.counters[C_NEXT_PAIR_ID : C_NEXT_PAIR_ID + 1]  # as _run_loop slices it
    symbols = loop._symbols()  # the kernel and the gate as the run hands them
    return (i64, i64, symbols.views, symbols.kernel, symbols.risk, pair_seq, loop.calls, i64)


_STEP_HALF = (
    _fill_deeper, arrive_orders, send_order, next_due, unknown_per_venue, latencies, forget_levels,
    route_order, answer_orders, decide_symbol,
)  # fmt: skip
"""What the warm-up's half 0 (:func:`arb.backtest.run.warm_loop`) compiles, in this order: the views'
deeper levels and the taker fills' helpers (first: the loop links them, and loads them from Numba's cache
when this half has written them there), then the step (the guard and the risk gate); about 6 s of CPU on
the project's 2-core VM. Half 1 compiles the loop's other helpers (the bookkeeping at a decision point
first, then the views' best levels, ``_fill_top``) and then the loop (about the same), beside the run's own
process, which compiles the strategy (about 2 s). Measured with a listener on Numba's compile event in each
process of a first run (``benchmarks/bench_first_run.py``): with ``_fill_top`` here, the halves ended
0.45-0.72 s apart in six first runs (0.56 s on average), this one last in five; with it in half 1,
0.02-0.79 s apart (0.35 s), this one last in all six."""


def _helper_calls(loop: Any) -> list[tuple[Any, tuple[Any, ...]]]:
    """The cached helpers :func:`_run_loop` calls, each with values of the types it passes it, taken
    from ``loop`` (an :class:`arb.backtest.run.Loop`): what the warm-up compiles beside the kernel (the
    rest, small, compile with the loop). Listed so that the two halves of the warm-up take about equal
    CPU (``benchmarks/bench_compile.py``)."""
    i64 = np.int64(0)
    flags = np.zeros(loop.n_venues * loop.n_symbols, np.int64)
    grid = np.zeros((loop.n_symbols, loop.n_venues))
    per_symbol = np.zeros(loop.n_symbols)
    intent = loop.intents[0, 0]
    perp, run, symbols, orders, outs = loop._state()
    risk = symbols.risk
    account = Account(grid, grid, per_symbol, flags, grid, np.zeros((2, loop.n_venues * loop.n_symbols), np.int64))
    order = np.zeros(1, order_dtype)
    n_assets = loop.n_venues * loop.n_symbols
    levels = np.zeros(SWEEP_LEVELS)
    quotes = orders.quotes  # None when no symbol quotes: their helpers compile to nothing, quote_answer not at all
    maker = [(quote_answer, (loop.fills, run, i64, order, quotes, i64, i64))] if quotes is not None else []
    tape = Tape(*(np.zeros(1, np.int64) for _ in range(7)))  # the schedule's seven int64 arrays
    deep = (np.zeros((n_assets, 4, 1)), np.zeros(n_assets, np.int64))  # _fill_deeper's walked levels
    return [
        (_observe, (i64, loop.views, run, tape, account, orders, symbols.risk, outs)),
        (_fill_top, (i64, loop.views, i64, i64, i64, i64, flags)),
        (_fill_deeper, (i64, loop.views, i64, i64, i64, deep)),
        *maker,
        (any_quote, (quotes,)),
        (quote_views, (loop.views, quotes)),
        (quote_sent, (quotes, loop.sent, loop.counters, i64, intent, i64, i64, i64)),
        (cancel_sent, (quotes, loop.sent, loop.counters, i64, intent, i64, i64)),
        (perp_step, (i64, loop.views, run, account, perp, outs)),
        (move_inventory, (i64, loop.views, loop.settings, run.inventory)),
        (held_value, (run.inventory, i64, i64, 0.0)),
        (log_full, (run.inventory,)),
        (decide_symbol, _step_args(loop)),
        (_log_sent, (i64, i64, i64, i64, symbols, loop.counters, flags, loop.sent)),
        (latencies, (run, i64, i64)),
        (route_order, (i64, i64, i64, symbols.kernel, run)),
        (send_order, (loop.flight, i64, i64, i64, intent, 0.0, i64, (i64, i64))),
        (next_due, (loop.flight,)),
        (arrive_orders, (i64, i64, loop.flight, loop.taken, run, np.zeros(n_assets), (levels, levels))),
        (forget_levels, (i64, i64, loop.taken, np.zeros((2, TAKEN_SLOTS), np.int64), np.zeros((2, TAKEN_SLOTS)))),
        (answer_orders, (i64, loop.flight, run, loop.own, loop.fills, flags, np.zeros(loop.n_symbols, np.int64))),
        (unknown_per_venue, (loop.flight, i64, i64, risk.state[0]["unknown"], i64)),
        (follow_pnl, (risk.limits, risk.state[0], risk.symbol_state, 0.0, per_symbol, loop.views, i64)),
    ]
