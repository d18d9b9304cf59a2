"""The risk gate: limits that hold whatever the kernel asks for, in every mode.

The backtest's Numba loop and the live engine (dry run and ``arb live``) call :func:`update_equity`
and :func:`gate` with the same arguments at every decision, so one compiled gate stops the same
things everywhere. It works on whole pairs: if any leg of a pair would break a limit, every intent of
that pair is dropped, so the gate itself can never create a naked leg. Hedges and unwinds only ever
reduce exposure; they pass unless their venue has too many unanswered orders.

Limits (``[risk]``; every one added after the first four is off at 0):

- a venue that is stale or out of sync gets no opening order;
- ``position_limit``: the net position across venues stays within it whatever fills: a pair is
  judged by its worst case of leg risk, the net position if its buys or its sells filled alone;
- ``max_notional_per_venue``: each venue's position value stays within it;
- ``max_open_orders``: a venue never has more than this many unanswered orders;
- ``max_drawdown``: once trading PnL (equity minus the starting balances at today's prices: the
  starting coins' own price moves are not the strategy's losses) falls this far below its peak,
  trading halts;
- ``max_daily_loss`` (quote) and ``max_daily_loss_fraction`` (of the account's equity at the day's
  start): trading PnL lost since the day began (``daily_reset_hour_utc``) halts new pairs until the
  next day begins;
- ``max_pair_loss``: a pair that lost more than this, from the moment it was sent until the position
  was flat again with nothing unanswered, halts trading;
- ``max_pairs_per_day``: at most this many pairs in any 24 hours;
- ``min_pair_interval_ns``: at least this long between two pairs;
- ``max_imbalance_hold_ns``: a net position (beyond ``dust``, the coarser lot) held this long halts
  new pairs (the kernel keeps closing it);
- ``max_capital_use``: each venue's position value stays within this fraction of the venue's equity;
- ``max_unknown_orders``: more orders of unknown outcome on a venue than this (the live executors
  report them; 0 by default: pause until they are resolved) holds new pairs back.

A halt (``halted`` != 0: drawdown, pair loss, imbalance held, or one set from outside: the kill
switch, a failed hedge, a halt kept from an earlier run) holds until a person clears it; the drivers
keep it across restarts. Each refusal is counted per limit (``refused``) and the last one's limit and
figure are kept (``breach``, ``breach_value``, ``breach_limit``).

Breaches are also written, once per episode, into a ring of events in the state (``ev_*``): a halt or
a daily-loss pause when it trips, a venue's unknown orders when they pass the limit, and the first
refusal of a run of refusals by one limit (a pair let through ends the run). The compiled backtest
loop cannot log; it and the engine both drain the ring (:func:`drain_events`) and log each event with
:func:`event_text`, so the three modes report a breach in the same words. ``ev_count`` counts every
event; a driver that drains less often than ``EVENTS_KEPT`` events loses the oldest (``ev_lost``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb.config import RiskConfig
from arb.strategy.types import INTENT_OPEN, VENUE_OK

__all__ = [
    "BREACH_NAMES",
    "EVENTS_KEPT",
    "HALT_REASONS",
    "H_EXTERNAL",
    "RISK_DTYPE",
    "RISK_MEMORY_KEY",
    "RISK_STATE_DTYPE",
    "RiskEvent",
    "breach_text",
    "clear_day",
    "day_pause_text",
    "drain_events",
    "event_text",
    "gate",
    "make_limits",
    "new_risk_state",
    "quote_currency",
    "restore_risk_memory",
    "risk_figures",
    "risk_memory",
    "update_equity",
]

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
MAX_PAIRS_TRACKED = 4096
"""``max_pairs_per_day`` above this is refused by the configuration check."""

# Why a pair (or a hedge) was refused: index into ``refused`` and the value of ``breach``.
B_NONE = 0
B_STATUS = 1
B_POSITION = 2
B_NOTIONAL = 3
B_OPEN_ORDERS = 4
B_HALTED = 5
B_DAILY_LOSS = 6
B_PAIRS_PER_DAY = 7
B_PAIR_INTERVAL = 8
B_CAPITAL = 9
B_UNKNOWN = 10
B_DAILY_LOSS_FRACTION = 11
N_BREACHES = 12
# Events that are not refusals (in the event ring only): a halt tripping.
E_DRAWDOWN = 12
E_PAIR_LOSS = 13
E_IMBALANCE = 14
N_EVENTS = 15
EVENTS_KEPT = 64
"""Events the state's ring holds between two drains."""

BREACH_NAMES = (
    ("", ""),
    ("venue not usable (stale or out of sync)", "stale_after_ms"),
    ("net position if one side of a pair filled alone", "position_limit"),
    ("position value on one venue", "max_notional_per_venue"),
    ("unanswered orders on one venue", "max_open_orders"),
    ("trading halted", "halt"),
    ("daily loss", "max_daily_loss"),
    ("pairs in 24 hours", "max_pairs_per_day"),
    ("time since the last pair (ms)", "min_pair_interval_ms"),
    ("capital in positions on one venue (fraction of its equity)", "max_capital_use"),
    ("orders of unknown outcome on one venue", "max_unknown_orders"),
    ("daily loss (fraction of the day's starting equity)", "max_daily_loss_fraction"),
    ("trading PnL below its peak", "max_drawdown"),
    ("pair lost", "max_pair_loss"),
    ("net position held (ms)", "max_imbalance_hold_ms"),
)
"""Per breach or event code: what was measured, and the ``[risk]`` key of the limit."""

# Why trading is halted (``halted``).
H_NONE = 0
H_DRAWDOWN = 1
H_PAIR_LOSS = 2
H_IMBALANCE = 3
H_EXTERNAL = 4
HALT_REASONS = ("", "max_drawdown", "max_pair_loss", "max_imbalance_hold_ms", "halt kept from outside")

RISK_DTYPE = np.dtype(
    [
        ("position_limit", "f8"),  # |position0 + position1|, base units
        ("max_notional_per_venue", "f8"),  # |position| x mid per venue, quote
        ("max_open_orders", "i8"),  # per venue
        ("max_drawdown", "f8"),  # quote currency below the trading-PnL peak
        ("max_daily_loss", "f8"),  # quote; 0 = off
        ("max_daily_loss_fraction", "f8"),  # of the account's equity at the day's start; 0 = off
        ("daily_reset_ns", "i8"),  # the day begins this long after 00:00 UTC
        ("max_pair_loss", "f8"),  # quote; 0 = off
        ("max_pairs_per_day", "i8"),  # 0 = off
        ("min_pair_interval_ns", "i8"),  # 0 = off
        ("max_imbalance_hold_ns", "i8"),  # 0 = off
        ("dust", "f8"),  # a net position below this is flat (the coarser lot)
        ("max_capital_use", "f8"),  # fraction of a venue's equity; 0 = off
        ("max_unknown_orders", "i8"),  # per venue
    ],
    align=True,
)

RISK_STATE_DTYPE = np.dtype(
    [
        ("peak_equity", "f8"),
        ("halted", "i8"),  # H_* (0: not halted)
        ("rejected_pairs", "i8"),
        ("rejected_hedges", "i8"),
        ("day", "i8"),  # the current risk day's number (-1 before the first sample)
        ("day_start_pnl", "f8"),  # trading PnL when the day began
        ("day_start_equity", "f8"),  # the account's equity when the day began
        ("day_halted", "i8"),  # while the daily loss limit holds new pairs back: its B_* code, else 0
        ("imbalance_since", "i8"),  # when the net position left flat (0: flat)
        ("pair_open", "i8"),  # 1 while the last pair's PnL is being measured
        ("pair_start_pnl", "f8"),
        ("last_pnl", "f8"),
        ("last_pair_ns", "i8"),  # when the gate last let a pair through
        ("pair_count", "i8"),  # pairs let through in all (ring index below)
        ("pair_times", "i8", (MAX_PAIRS_TRACKED,)),
        ("unknown", "i8", (2,)),  # orders of unknown outcome per venue (the live drivers set it)
        ("breach", "i8"),  # the last refusal's B_* code
        ("breach_value", "f8"),
        ("breach_limit", "f8"),
        ("refused", "i8", (N_BREACHES,)),  # refusals per B_* code
        ("unknown_paused", "i8"),  # 1 while a venue has more unknown orders than allowed
        ("ev_last", "i8"),  # the B_* code of the run of refusals under way (0: none)
        ("ev_count", "i8"),  # events written in all (ring index below)
        ("ev_drained", "i8"),  # events the driver has taken
        ("ev_lost", "i8"),  # events overwritten before the driver took them
        ("ev_code", "i8", (EVENTS_KEPT,)),
        ("ev_ts", "i8", (EVENTS_KEPT,)),
        ("ev_value", "f8", (EVENTS_KEPT,)),
        ("ev_limit", "f8", (EVENTS_KEPT,)),
    ],
    align=True,
)


def make_limits(risk: RiskConfig, dust: float = 0.0) -> np.ndarray[Any, np.dtype[Any]]:
    """The gate's limits from ``[risk]``; ``dust``: the net position that counts as flat."""
    limits = np.zeros(1, RISK_DTYPE)
    lim = limits[0]
    lim["position_limit"] = risk.position_limit
    lim["max_notional_per_venue"] = risk.max_notional_per_venue
    lim["max_open_orders"] = risk.max_open_orders
    lim["max_drawdown"] = risk.max_drawdown
    lim["max_daily_loss"] = risk.max_daily_loss
    lim["max_daily_loss_fraction"] = risk.max_daily_loss_fraction
    lim["daily_reset_ns"] = risk.daily_reset_hour_utc * NS_PER_HOUR
    lim["max_pair_loss"] = risk.max_pair_loss
    lim["max_pairs_per_day"] = risk.max_pairs_per_day
    lim["min_pair_interval_ns"] = risk.min_pair_interval_ns
    lim["max_imbalance_hold_ns"] = risk.max_imbalance_hold_ns
    lim["dust"] = dust
    lim["max_capital_use"] = risk.max_capital_use
    lim["max_unknown_orders"] = risk.max_unknown_orders
    return limits


def new_risk_state(halted: int = H_NONE) -> np.ndarray[Any, np.dtype[Any]]:
    """A fresh gate state (no peak yet); ``halted``: a halt carried over from an earlier run."""
    state = np.zeros(1, RISK_STATE_DTYPE)
    state["peak_equity"] = -np.inf
    state["day"] = -1
    state["halted"] = halted
    return state


def risk_figures(st: Any) -> dict[str, Any]:
    """The gate state's figures for a report: its scalars, and the refusals per ``[risk]`` key."""
    figures: dict[str, Any] = {
        name: float(st[name]) for name in RISK_STATE_DTYPE.names or () if RISK_STATE_DTYPE[name].shape == ()
    }
    figures["halt_reason"] = HALT_REASONS[int(st["halted"])]
    figures["refused"] = {BREACH_NAMES[code][1]: int(st["refused"][code]) for code in range(1, N_BREACHES)}
    return figures


def breach_text(limits: Any, state: Any) -> str:
    """The last refusal in words: what, the figure, the limit and its ``[risk]`` key."""
    st = state[0]
    code = int(st["breach"])
    if code == B_HALTED:
        return f"trading halted ({HALT_REASONS[int(st['halted'])] or 'daily loss'}): no new pair until cleared"
    return event_text(code, float(st["breach_value"]), float(st["breach_limit"]), limits)


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """One breach as the gate recorded it: the code (``B_*`` refusal or ``E_*`` halt), local time in
    ns, the figure and the limit (in the units of :data:`BREACH_NAMES`)."""

    code: int
    ts: int
    value: float
    limit: float

    @property
    def key(self) -> str:
        """The ``[risk]`` key of the limit."""
        return BREACH_NAMES[self.code][1]


def drain_events(state: Any) -> list[RiskEvent]:
    """The events written since the last drain, oldest first (marks them taken)."""
    st = state[0]
    count, drained = int(st["ev_count"]), int(st["ev_drained"])
    first = max(drained, count - EVENTS_KEPT)
    st["ev_lost"] += first - drained
    events = []
    for i in range(first, count):
        k = i % EVENTS_KEPT
        events.append(RiskEvent(int(st["ev_code"][k]), int(st["ev_ts"][k]), float(st["ev_value"][k]),
                                float(st["ev_limit"][k])))  # fmt: skip
    st["ev_drained"] = count
    return events


_QUOTE_CURRENCIES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB")


def quote_currency(symbol: str) -> str:
    """The quote currency a symbol ends in (``BTCUSDT`` -> ``USDT``), or ``"quote"`` when unknown."""
    for quote in _QUOTE_CURRENCIES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return quote
    return "quote"


def _money(x: float, quote: str) -> str:
    return f"{x:,.2f} {quote}"


def event_text(code: int, value: float, limit: float, limits: Any, quote: str = "quote") -> str:
    """A breach in words: what was measured and its figure, the limit, its ``[risk]`` key and what it
    stops, e.g. ``daily loss 52.10 USDT >= limit 50.00 USDT ([risk] max_daily_loss): no new pairs
    until 00:00 UTC``. ``quote``: the quote currency's name."""
    what, key = BREACH_NAMES[code]
    where = f"([risk] {key})"
    halt = "trading halted: no new pair until a person clears it (arb halt --clear)"
    reset_hour = int(limits[0]["daily_reset_ns"]) // NS_PER_HOUR
    if code == B_STATUS:
        return f"a venue is stale or out of sync {where}: no opening order there"
    if code == B_POSITION:
        return f"net position if one side of the pair filled alone {value:.8g} > {limit:.8g} {where}: pair refused"
    if code == B_NOTIONAL:
        return (
            f"position value on one venue {_money(value, quote)} > limit {_money(limit, quote)} {where}: pair refused"
        )
    if code == B_OPEN_ORDERS:
        return f"unanswered orders on one venue {value:.0f} > limit {limit:.0f} {where}: orders refused"
    if code == B_HALTED:
        return halt
    if code == B_DAILY_LOSS:
        return (f"daily loss {_money(value, quote)} >= limit {_money(limit, quote)} {where}: "
                f"no new pairs until {reset_hour:02d}:00 UTC")  # fmt: skip
    if code == B_DAILY_LOSS_FRACTION:
        return (f"daily loss {value:.4%} of the day's starting equity >= limit {limit:.4%} {where}: "
                f"no new pairs until {reset_hour:02d}:00 UTC")  # fmt: skip
    if code == B_PAIRS_PER_DAY:
        return f"pairs in 24 hours {value:.0f} >= limit {limit:.0f} {where}: pair refused"
    if code == B_PAIR_INTERVAL:
        return f"time since the last pair {value:.0f} ms < limit {limit:.0f} ms {where}: pair refused"
    if code == B_CAPITAL:
        return f"capital in positions on one venue {value:.2%} of its equity > limit {limit:.2%} {where}: pair refused"
    if code == B_UNKNOWN:
        return (
            f"orders of unknown outcome on one venue {value:.0f} > limit {limit:.0f} {where}: no new pairs until known"
        )
    if code == E_DRAWDOWN:
        return f"trading PnL {_money(value, quote)} below its peak >= limit {_money(limit, quote)} {where}: {halt}"
    if code == E_PAIR_LOSS:
        return f"pair lost {_money(value, quote)} > limit {_money(limit, quote)} {where}: {halt}"
    if code == E_IMBALANCE:
        return f"net position held {value:.0f} ms >= limit {limit:.0f} ms {where}: {halt}"
    return f"{what} {value:.8g} against {limit:.8g} {where}"


_MEMORY = ("day", "day_start_pnl", "day_start_equity", "day_halted", "last_pair_ns", "pair_count")


def risk_memory(state: Any) -> dict[str, Any]:
    """What the gate must remember across a restart besides a halt (which the drivers keep as text):
    the risk day (its start, and whether the daily loss limit holds pairs back) and the pairs of the
    last 24 hours (for ``max_pairs_per_day`` and ``min_pair_interval_ms``). JSON-serialisable."""
    st = state[0]
    memory: dict[str, Any] = {name: st[name].item() for name in _MEMORY}
    kept = min(int(st["pair_count"]), MAX_PAIRS_TRACKED)
    memory["pair_times"] = sorted(int(t) for t in st["pair_times"][:kept])
    return memory


RISK_MEMORY_KEY = "risk_memory"
"""The journal's account-state key (and ``account.json``'s key) for :func:`risk_memory`."""


def clear_day(memory: dict[str, Any]) -> dict[str, Any]:
    """``memory`` without its risk day: a person lifted the daily loss pause (``arb halt --clear``);
    the day starts again at the next run's first sample. The pairs of the last 24 hours stay."""
    return {name: value for name, value in memory.items() if not name.startswith("day")}


def day_pause_text(memory: dict[str, Any], limits: Any, now: int) -> str | None:
    """Why a run starting at ``now`` (ns) with ``memory`` opens no pair until the next risk day, or
    None (no pause kept, or its day is over)."""
    code = int(memory.get("day_halted", 0))
    day = (now - int(limits[0]["daily_reset_ns"])) // NS_PER_DAY
    if code == 0 or day != int(memory.get("day", -1)):
        return None
    key = BREACH_NAMES[code][1]
    hour = int(limits[0]["daily_reset_ns"]) // NS_PER_HOUR
    return f"daily loss limit ([risk] {key}) reached: no new pair until {hour:02d}:00 UTC (or arb halt --clear)"


def restore_risk_memory(state: Any, memory: dict[str, Any]) -> None:
    """Continue from :func:`risk_memory`'s figures (a day that is over is replaced at the first sample)."""
    st = state[0]
    for name in _MEMORY:
        if name in memory:
            st[name] = memory[name]
    times = [int(t) for t in memory.get("pair_times", [])][-MAX_PAIRS_TRACKED:]
    st["pair_times"][:] = 0
    st["pair_count"] = len(times)
    st["pair_times"][: len(times)] = times


@nb.njit(cache=True, nogil=True)
def _mid(view: Any, v: int) -> float:
    return float(0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0]))


@nb.njit(cache=True, nogil=True)
def _venue_equity(view: Any, v: int) -> float:
    mid = _mid(view, v)
    if not (mid > 0.0):
        return np.nan
    return float(view[v]["quote_balance"] + view[v]["base_balance"] * mid)


@nb.njit(cache=True, nogil=True)
def _event(st: Any, code: int, now: int, value: float, limit: float) -> None:
    # One event into the ring.
    k = st["ev_count"] % EVENTS_KEPT
    st["ev_code"][k] = code
    st["ev_ts"][k] = now
    st["ev_value"][k] = value
    st["ev_limit"][k] = limit
    st["ev_count"] += 1


@nb.njit(cache=True, nogil=True)
def _halt(st: Any, reason: int, code: int, now: int, value: float, limit: float) -> None:
    # Halt for ``reason`` (H_*) unless already halted; the event says which limit and figure.
    if st["halted"] != H_NONE:
        return
    st["halted"] = reason
    _event(st, code, now, value, limit)
    st["ev_last"] = B_HALTED  # the refusals that follow are this episode


@nb.njit(cache=True, nogil=True)
def update_equity(limits: Any, state: Any, pnl: float, view: Any, now: int) -> None:
    """Follow trading PnL (``pnl``) at ``now``: the drawdown peak, the risk day, the last pair's PnL
    (judged whenever nothing is unanswered: marked at the mids while a leg is open, realised once
    flat), how long the net position has been off flat and the venues' unknown orders
    (``state.unknown``, set by the driver); halt or pause where a limit says so, writing an event
    when it trips."""
    lim = limits[0]
    st = state[0]
    if pnl > st["peak_equity"]:
        st["peak_equity"] = pnl
    if st["peak_equity"] - pnl >= lim["max_drawdown"]:
        _halt(st, H_DRAWDOWN, E_DRAWDOWN, now, st["peak_equity"] - pnl, lim["max_drawdown"])
    st["last_pnl"] = pnl
    day = (now - lim["daily_reset_ns"]) // NS_PER_DAY
    if day != st["day"]:
        st["day"] = day
        st["day_start_pnl"] = pnl
        st["day_start_equity"] = _venue_equity(view, 0) + _venue_equity(view, 1)
        st["day_halted"] = 0
        if st["ev_last"] == B_DAILY_LOSS or st["ev_last"] == B_DAILY_LOSS_FRACTION:
            st["ev_last"] = 0
    lost = st["day_start_pnl"] - pnl
    if st["day_halted"] == 0:
        start_equity = st["day_start_equity"]
        fraction = lim["max_daily_loss_fraction"]
        code = 0
        if lim["max_daily_loss"] > 0.0 and lost >= lim["max_daily_loss"]:
            code = B_DAILY_LOSS
            _event(st, code, now, lost, lim["max_daily_loss"])
        elif fraction > 0.0 and np.isfinite(start_equity) and start_equity > 0.0 and lost >= fraction * start_equity:
            code = B_DAILY_LOSS_FRACTION
            _event(st, code, now, lost / start_equity, fraction)
        if code != 0:
            st["day_halted"] = code
            if st["halted"] == H_NONE:
                st["ev_last"] = code
    net = abs(view[0]["position"] + view[1]["position"])
    quiet = view[0]["open_orders"] == 0 and view[1]["open_orders"] == 0
    hold = lim["max_imbalance_hold_ns"]
    if net <= lim["dust"]:
        # an imbalance that ended after the limit was held too long, even if no decision fell inside it
        if st["imbalance_since"] != 0 and 0 < hold <= now - st["imbalance_since"]:
            _halt(st, H_IMBALANCE, E_IMBALANCE, now, (now - st["imbalance_since"]) / 1e6, hold / 1e6)
        st["imbalance_since"] = 0
        if st["pair_open"] == 1 and quiet:
            st["pair_open"] = 0
            if lim["max_pair_loss"] > 0.0 and st["pair_start_pnl"] - pnl > lim["max_pair_loss"]:
                _halt(st, H_PAIR_LOSS, E_PAIR_LOSS, now, st["pair_start_pnl"] - pnl, lim["max_pair_loss"])
    elif st["imbalance_since"] == 0:
        st["imbalance_since"] = now
    elif 0 < hold <= now - st["imbalance_since"]:
        _halt(st, H_IMBALANCE, E_IMBALANCE, now, (now - st["imbalance_since"]) / 1e6, hold / 1e6)
    if (
        st["pair_open"] == 1
        and quiet
        and lim["max_pair_loss"] > 0.0
        and st["pair_start_pnl"] - pnl > lim["max_pair_loss"]
    ):
        # a leg held open with nothing unanswered: its loss at the mid counts already
        _halt(st, H_PAIR_LOSS, E_PAIR_LOSS, now, st["pair_start_pnl"] - pnl, lim["max_pair_loss"])
    worst = max(st["unknown"][0], st["unknown"][1])
    if worst > lim["max_unknown_orders"]:
        if st["unknown_paused"] == 0:
            st["unknown_paused"] = 1
            _event(st, B_UNKNOWN, now, worst, lim["max_unknown_orders"])
            if st["halted"] == H_NONE and st["day_halted"] == 0:
                st["ev_last"] = B_UNKNOWN
    else:
        st["unknown_paused"] = 0


@nb.njit(cache=True, nogil=True)
def _refuse(st: Any, code: int, value: float, limit: float) -> None:
    if st["breach"] == 0:  # the first limit found is the one reported
        st["breach"] = code
        st["breach_value"] = value
        st["breach_limit"] = limit


@nb.njit(cache=True, nogil=True)
def gate(view: Any, limits: Any, state: Any, intents: Any, n: int, now: int) -> int:
    """Drop the intents that break a limit (whole pairs at a time); compact the rest; return their count.

    ``now``: local time, ns. A refusal is counted under its limit (``refused``); the first of a run of
    refusals by one limit is also written to the event ring.
    """
    lim = limits[0]
    st = state[0]
    delta = np.zeros(2)
    orders = np.zeros(2, np.int64)
    opening = False
    longer = 0.0  # what the intents that buy add to the net position, together
    shorter = 0.0  # what the intents that sell take from it (<= 0)
    for k in range(n):
        v = intents[k]["venue"]
        signed = intents[k]["side"] * intents[k]["qty"]
        delta[v] += signed
        if signed > 0.0:
            longer += signed
        else:
            shorter += signed
        orders[v] += 1
        if intents[k]["kind"] == INTENT_OPEN:
            opening = True
    if n == 0:
        return 0
    st["breach"] = 0
    for v in range(2):
        if orders[v] == 0:
            continue
        if view[v]["open_orders"] + orders[v] > lim["max_open_orders"]:
            _refuse(st, B_OPEN_ORDERS, view[v]["open_orders"] + orders[v], lim["max_open_orders"])
        if not opening:
            continue
        if view[v]["status"] != VENUE_OK:
            _refuse(st, B_STATUS, view[v]["status"], VENUE_OK)
        mid = _mid(view, v)
        before = abs(view[v]["position"])
        after = abs(view[v]["position"] + delta[v])
        if mid > 0.0 and after > before and after * mid > lim["max_notional_per_venue"]:
            _refuse(st, B_NOTIONAL, after * mid, lim["max_notional_per_venue"])
        if lim["max_capital_use"] > 0.0 and mid > 0.0 and after > before:
            equity = _venue_equity(view, v)
            if not (equity > 0.0) or after * mid > lim["max_capital_use"] * equity:
                _refuse(st, B_CAPITAL, after * mid / equity if equity > 0.0 else np.inf, lim["max_capital_use"])
        if st["unknown"][v] > lim["max_unknown_orders"]:
            _refuse(st, B_UNKNOWN, st["unknown"][v], lim["max_unknown_orders"])
    if opening:
        # Leg risk: any leg may fill alone (the other rejected, expired or partly filled), so the net
        # position can end anywhere between the sells filling alone and the buys filling alone.
        net = view[0]["position"] + view[1]["position"]
        worst = max(abs(net + longer), abs(net + shorter))
        if worst > lim["position_limit"] and worst > abs(net):
            _refuse(st, B_POSITION, worst, lim["position_limit"])
        if st["halted"] != H_NONE:
            _refuse(st, B_HALTED, st["halted"], 0.0)
        elif st["day_halted"] == B_DAILY_LOSS:
            _refuse(st, B_DAILY_LOSS, st["day_start_pnl"] - st["last_pnl"], lim["max_daily_loss"])
        elif st["day_halted"] == B_DAILY_LOSS_FRACTION:
            lost = (st["day_start_pnl"] - st["last_pnl"]) / st["day_start_equity"]
            _refuse(st, B_DAILY_LOSS_FRACTION, lost, lim["max_daily_loss_fraction"])
        if lim["min_pair_interval_ns"] > 0 and st["pair_count"] > 0:
            since = now - st["last_pair_ns"]
            if since < lim["min_pair_interval_ns"]:
                _refuse(st, B_PAIR_INTERVAL, since / 1e6, lim["min_pair_interval_ns"] / 1e6)
        if lim["max_pairs_per_day"] > 0:
            recent = 0
            kept = min(st["pair_count"], st["pair_times"].shape[0])
            for i in range(kept):
                if now - st["pair_times"][i] < NS_PER_DAY:
                    recent += 1
            if recent >= lim["max_pairs_per_day"]:
                _refuse(st, B_PAIRS_PER_DAY, recent, lim["max_pairs_per_day"])
    if st["breach"] == 0:
        if opening:
            st["pair_times"][st["pair_count"] % st["pair_times"].shape[0]] = now
            st["pair_count"] += 1
            st["last_pair_ns"] = now
            st["ev_last"] = 0  # a pair went out: the next refusal starts a new episode
            if st["pair_open"] == 0:
                st["pair_open"] = 1
                st["pair_start_pnl"] = st["last_pnl"]
        return n
    code = st["breach"]
    st["refused"][code] += 1
    if code != st["ev_last"]:
        st["ev_last"] = code
        _event(st, code, now, st["breach_value"], st["breach_limit"])
    if opening:
        st["rejected_pairs"] += 1
    else:
        st["rejected_hedges"] += 1
    return 0
