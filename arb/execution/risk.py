"""The risk gate: limits that hold whatever the kernel asks for, in every mode.

The backtest's Numba loop and the live engine (dry run and ``arb live``) call :func:`update_equity`
and :func:`gate` with the same arguments at every decision, so one compiled gate stops the same
things everywhere. With several symbols there is one gate for the account: ``views`` holds every
symbol's view of both venues (``views[s]``, what the kernel of symbol ``s`` reads), ``limits`` one
row per symbol, ``state`` the account's record and ``sstate`` one record per symbol. It works on
whole pairs: if any leg of a pair would break a limit, every intent of that pair is dropped, so the
gate itself can never create a naked leg. Hedges and unwinds only ever
reduce exposure; they pass unless their venue has too many unanswered orders.

Limits (``[risk]``; every one added after the first four is off at 0). Per symbol: the venue
status, ``position_limit``, ``max_notional_per_venue``, ``max_pair_loss``, ``max_pairs_per_day``,
``min_pair_interval_ns``, ``max_imbalance_hold_ns``; every other one holds for the whole account.

- a venue that is stale or out of sync gets no opening order, and one the executor holds orders back
  from (``blocked_until_ns``: a rate limit or a ban) gets no order at all, hedges included;
- ``position_limit``: the symbol's net position across venues stays within it whatever fills: a pair is
  judged by its worst case of leg risk, the net position if its buys or its sells filled alone;
- ``max_notional_per_venue``: the symbol's position value on each venue stays within it;
- ``max_open_orders``: a venue never has more than this many unanswered orders (every symbol's);
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
- ``max_capital_use``: each venue's position value (every symbol's) stays within this fraction of
  the venue's equity;
- ``max_unknown_orders``: more orders of unknown outcome on a venue than this (the live executors
  report them; 0 by default: pause until they are resolved) holds new pairs back;
- ``max_symbol_share``: no symbol's position value (both venues) above this fraction of the
  account's equity;
- ``max_total_notional``: every symbol's position value on every venue together stays within it;
- margin (a linear venue, always on): the initial margin of the venue's positions after the pair
  (every symbol's value over the ``[perpetual]`` leverage) stays within the venue's equity;
- ``min_liquidation_distance``: a linear venue's position after the pair keeps its estimated
  liquidation price at least this fraction of its price away (:func:`liquidation_distance`).

A quantity is valued at the mid of the symbol's view (its book as the symbol last decided); the margin
checks value a linear position at its mark price where the venue's stream gave one.

A halt (``halted`` != 0: drawdown, pair loss, imbalance held, or one set from outside: the kill
switch, a failed hedge, a halt kept from an earlier run) holds until a person clears it; the drivers
keep it across restarts. Each refusal is counted per limit (``refused``) and the last one's limit and
figure are kept (``breach``, ``breach_value``, ``breach_limit``, ``breach_symbol``); each symbol's
record counts its own refusals too.

Breaches are also written, once per episode, into a ring of events in the state (``ev_*``): a halt or
a daily-loss pause when it trips, a venue's unknown orders when they pass the limit, and the first
refusal of a run of refusals by one limit (a pair let through ends the run). The compiled backtest
loop cannot log; it and the engine both drain the ring (:func:`drain_events`) and log each event with
:func:`event_text`, so the three modes report a breach in the same words. ``ev_count`` counts every
event; a driver that drains less often than ``EVENTS_KEPT`` events loses the oldest (``ev_lost``).
Each event names its symbol (-1: the account's own, such as the drawdown or a daily loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb.config import AppConfig, RiskConfig, quote_currency
from arb.strategy.types import INTENT_OPEN, VENUE_OK

__all__ = [
    "BREACH_NAMES",
    "EVENTS_KEPT",
    "HALT_REASONS",
    "H_EXTERNAL",
    "RISK_DTYPE",
    "RISK_MEMORY_KEY",
    "RISK_STATE_DTYPE",
    "SYMBOL_RISK_DTYPE",
    "RiskEvent",
    "breach_text",
    "clear_day",
    "day_pause_text",
    "drain_events",
    "event_text",
    "gate",
    "limits_of",
    "liquidation_distance",
    "make_limits",
    "new_risk_state",
    "new_symbol_risk_state",
    "position_at",
    "quote_currency",
    "restore_risk_memory",
    "risk_figures",
    "risk_memory",
    "symbol_risk_figures",
    "update_equity",
    "value_px",
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
B_SYMBOL_SHARE = 12
B_TOTAL_NOTIONAL = 13
B_MARGIN = 14
B_LIQUIDATION = 15
N_BREACHES = 16
# Events that are not refusals (in the event ring only): a halt tripping.
E_DRAWDOWN = 16
E_PAIR_LOSS = 17
E_IMBALANCE = 18
N_EVENTS = 19
EVENTS_KEPT = 64
"""Events the state's ring holds between two drains."""
ACCOUNT = -1
"""The symbol of an event that concerns the whole account (drawdown, daily loss, unknown orders)."""

BREACH_NAMES = (
    ("", ""),
    ("venue not usable (stale, out of sync, or held back after a rate limit or ban)", "stale_after_ms"),
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
    ("one symbol's positions (fraction of the account's equity)", "max_symbol_share"),
    ("every symbol's positions together", "max_total_notional"),
    ("initial margin on one venue", "leverage"),
    ("distance to the estimated liquidation price", "min_liquidation_distance"),
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
        ("position_limit", "f8"),  # the symbol's |position0 + position1|, base units
        ("max_notional_per_venue", "f8"),  # the symbol's |position| x mid per venue, quote
        ("max_open_orders", "i8"),  # per venue, every symbol's
        ("max_drawdown", "f8"),  # quote currency below the account's trading-PnL peak
        ("max_daily_loss", "f8"),  # quote; 0 = off
        ("max_daily_loss_fraction", "f8"),  # of the account's equity at the day's start; 0 = off
        ("daily_reset_ns", "i8"),  # the day begins this long after 00:00 UTC
        ("max_pair_loss", "f8"),  # quote; 0 = off
        ("max_pairs_per_day", "i8"),  # the symbol's; 0 = off
        ("min_pair_interval_ns", "i8"),  # the symbol's; 0 = off
        ("max_imbalance_hold_ns", "i8"),  # 0 = off
        ("dust", "f8"),  # a net position of the symbol below this is flat (the coarser lot)
        ("max_capital_use", "f8"),  # fraction of a venue's equity; 0 = off
        ("max_unknown_orders", "i8"),  # per venue
        ("max_symbol_share", "f8"),  # fraction of the account's equity; 0 = off
        ("max_total_notional", "f8"),  # quote; 0 = off
        ("leverage", "f8", (2,)),  # per venue; 0: a spot venue (no margin)
        ("maintenance_rate", "f8", (2,)),  # per venue: maintenance margin, fraction of position value
        ("isolated", "i8", (2,)),  # per venue: 1 for isolated margin, 0 cross
        ("min_liquidation_distance", "f8"),  # fraction of the price; 0 = off
    ],
    align=True,
)
"""One row per symbol: its own limits and the account's (the same in every row)."""

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
        ("last_pnl", "f8"),  # the account's trading PnL at the last update
        ("unknown", "i8", (2,)),  # orders of unknown outcome per venue (the live drivers set it)
        ("breach", "i8"),  # the last refusal's B_* code
        ("breach_value", "f8"),
        ("breach_limit", "f8"),
        ("breach_symbol", "i8"),  # whose pair (or hedge) it was
        ("refused", "i8", (N_BREACHES,)),  # refusals per B_* code, every symbol's
        ("unknown_paused", "i8"),  # 1 while a venue has more unknown orders than allowed
        ("ev_count", "i8"),  # events written in all (ring index below)
        ("ev_drained", "i8"),  # events the driver has taken
        ("ev_lost", "i8"),  # events overwritten before the driver took them
        ("ev_code", "i8", (EVENTS_KEPT,)),
        ("ev_ts", "i8", (EVENTS_KEPT,)),
        ("ev_value", "f8", (EVENTS_KEPT,)),
        ("ev_limit", "f8", (EVENTS_KEPT,)),
        ("ev_symbol", "i8", (EVENTS_KEPT,)),
    ],
    align=True,
)
"""The account's gate state (one record)."""

SYMBOL_RISK_DTYPE = np.dtype(
    [
        ("imbalance_since", "i8"),  # when the symbol's net position left flat (0: flat)
        ("pair_open", "i8"),  # 1 while the symbol's last pair's PnL is being measured
        ("pair_start_pnl", "f8"),
        ("last_pnl", "f8"),  # the symbol's trading PnL at the last update
        ("last_pair_ns", "i8"),  # when the gate last let one of its pairs through
        ("pair_count", "i8"),  # its pairs let through in all (ring index below)
        ("pair_times", "i8", (MAX_PAIRS_TRACKED,)),
        ("rejected_pairs", "i8"),
        ("rejected_hedges", "i8"),
        ("refused", "i8", (N_BREACHES,)),  # its refusals per B_* code
        ("ev_last", "i8"),  # the B_* code of its run of refusals under way (0: none)
    ],
    align=True,
)
"""One symbol's gate state (one record per symbol)."""


def make_limits(risk: RiskConfig, dust: float = 0.0) -> np.ndarray[Any, np.dtype[Any]]:
    """The gate's limits from ``[risk]`` as one row; ``dust``: the net position that counts as flat."""
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
    lim["max_symbol_share"] = risk.max_symbol_share
    lim["max_total_notional"] = risk.max_total_notional
    lim["min_liquidation_distance"] = risk.min_liquidation_distance
    return limits


def limits_of(config: AppConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """One row of limits per symbol: each symbol's ``[risk]`` (its overrides applied), its dust the
    coarser of its two lots, and each linear venue's ``[perpetual]`` margin settings."""
    rows = [make_limits(sym.risk, dust=max(i.lot_size for i in sym.instruments)) for sym in config.symbols]
    limits: np.ndarray[Any, np.dtype[Any]] = np.concatenate(rows)
    for v, venue in enumerate(config.venues):
        if venue.market == "linear":
            limits["leverage"][:, v] = venue.perpetual.leverage
            limits["maintenance_rate"][:, v] = venue.perpetual.maintenance_margin_rate
            limits["isolated"][:, v] = int(venue.perpetual.margin_mode == "isolated")
    return limits


def new_risk_state(halted: int = H_NONE) -> np.ndarray[Any, np.dtype[Any]]:
    """A fresh account gate state (no peak yet); ``halted``: a halt carried over from an earlier run."""
    state = np.zeros(1, RISK_STATE_DTYPE)
    state["peak_equity"] = -np.inf
    state["day"] = -1
    state["halted"] = halted
    return state


def new_symbol_risk_state(n: int = 1) -> np.ndarray[Any, np.dtype[Any]]:
    """Fresh gate states for ``n`` symbols."""
    return np.zeros(n, SYMBOL_RISK_DTYPE)


def risk_figures(st: Any) -> dict[str, Any]:
    """The account gate state's figures for a report: its scalars, and the refusals per ``[risk]`` key."""
    figures: dict[str, Any] = {
        name: float(st[name]) for name in RISK_STATE_DTYPE.names or () if RISK_STATE_DTYPE[name].shape == ()
    }
    figures["halt_reason"] = HALT_REASONS[int(st["halted"])]
    figures["refused"] = {BREACH_NAMES[code][1]: int(st["refused"][code]) for code in range(1, N_BREACHES)}
    return figures


def symbol_risk_figures(sst: Any) -> dict[str, Any]:
    """One symbol's gate figures: pairs let through and refused, and its refusals per ``[risk]`` key."""
    return {
        "pairs": int(sst["pair_count"]),
        "rejected_pairs": int(sst["rejected_pairs"]),
        "rejected_hedges": int(sst["rejected_hedges"]),
        "refused": {BREACH_NAMES[code][1]: int(sst["refused"][code]) for code in range(1, N_BREACHES)},
    }


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
    ns, the figure and the limit (in the units of :data:`BREACH_NAMES`), and the symbol number it
    concerns (:data:`ACCOUNT`, -1, for the whole account)."""

    code: int
    ts: int
    value: float
    limit: float
    symbol: int = ACCOUNT

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
                                float(st["ev_limit"][k]), int(st["ev_symbol"][k])))  # fmt: skip
    st["ev_drained"] = count
    return events


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
        if value < 0.0:
            return "a venue arb holds orders back from (a rate limit or a ban): no order there until it ends"
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
    if code == B_SYMBOL_SHARE:
        return f"one symbol's positions {value:.2%} of the account's equity > limit {limit:.2%} {where}: pair refused"
    if code == B_TOTAL_NOTIONAL:
        return (f"every symbol's positions together {_money(value, quote)} > limit {_money(limit, quote)} {where}: "
                "pair refused")  # fmt: skip
    if code == B_MARGIN:
        return (f"initial margin on one venue {_money(value, quote)} > its equity {_money(limit, quote)} "
                "([perpetual] leverage): pair refused")  # fmt: skip
    if code == B_LIQUIDATION:
        return (f"estimated liquidation price {value:.2%} from the mark < limit {limit:.2%} {where}: "
                "pair refused")  # fmt: skip
    if code == E_DRAWDOWN:
        return f"trading PnL {_money(value, quote)} below its peak >= limit {_money(limit, quote)} {where}: {halt}"
    if code == E_PAIR_LOSS:
        return f"pair lost {_money(value, quote)} > limit {_money(limit, quote)} {where}: {halt}"
    if code == E_IMBALANCE:
        return f"net position held {value:.0f} ms >= limit {limit:.0f} ms {where}: {halt}"
    return f"{what} {value:.8g} against {limit:.8g} {where}"


_DAY_MEMORY = ("day", "day_start_pnl", "day_start_equity", "day_halted")
_PAIR_MEMORY = ("last_pair_ns", "pair_count")


def risk_memory(state: Any, sstate: Any, symbols: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """What the gate must remember across a restart besides a halt (which the drivers keep as text):
    the risk day (its start, and whether the daily loss limit holds pairs back) and, per symbol (by
    name), the pairs of the last 24 hours (for ``max_pairs_per_day`` and ``min_pair_interval_ms``).
    JSON-serialisable."""
    st = state[0]
    memory: dict[str, Any] = {name: st[name].item() for name in _DAY_MEMORY}
    memory["symbols"] = {}
    for s, symbol in enumerate(symbols):
        sst = sstate[s]
        kept = min(int(sst["pair_count"]), MAX_PAIRS_TRACKED)
        pairs: dict[str, Any] = {name: sst[name].item() for name in _PAIR_MEMORY}
        pairs["pair_times"] = sorted(int(t) for t in sst["pair_times"][:kept])
        memory["symbols"][symbol] = pairs
    return memory


RISK_MEMORY_KEY = "risk_memory"
"""The account-state key of :func:`risk_memory` in the live journal and in the paper account's journal."""


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


def restore_risk_memory(state: Any, sstate: Any, memory: dict[str, Any], symbols: tuple[str, ...] | list[str]) -> None:
    """Continue from :func:`risk_memory`'s figures (a day that is over is replaced at the first sample).
    A symbol the memory does not name starts afresh; a memory written by a single-symbol arb (its
    pairs at the top level) is the first symbol's."""
    st = state[0]
    for name in _DAY_MEMORY:
        if name in memory:
            st[name] = memory[name]
    by_symbol = memory.get("symbols")
    if by_symbol is None and "pair_times" in memory:
        by_symbol = {symbols[0]: memory}
    for s, symbol in enumerate(symbols):
        pairs = (by_symbol or {}).get(symbol, {})
        sst = sstate[s]
        sst["last_pair_ns"] = int(pairs.get("last_pair_ns", 0))
        times = [int(t) for t in pairs.get("pair_times", [])][-MAX_PAIRS_TRACKED:]
        sst["pair_times"][:] = 0
        sst["pair_count"] = len(times)
        sst["pair_times"][: len(times)] = times


@nb.njit(cache=True, nogil=True)
def value_px(mark: Any, last_mid: Any, s: int, v: int) -> float:
    """What a unit of symbol ``s`` held on venue ``v`` is worth: the venue's mark price (a perpetual's,
    once its stream gave one; NaN otherwise), else the book's last mid. Both arrays by (symbol, venue)."""
    m = mark[s, v]
    return float(m if m == m else last_mid[s, v])


@nb.njit(cache=True, nogil=True)
def position_at(fills: Any, n: int, s: int, v: int, at_ns: int, position: float) -> float:
    """Symbol ``s``'s position on venue ``v`` at the venue's time ``at_ns`` (a funding time), from its
    ``position`` now: ``position`` less the fills the venue made after ``at_ns`` (``fills[:n]``,
    ``FILL_DTYPE`` in the order they became known; a fill known locally by ``at_ns`` was made by then,
    so the scan stops there). What a venue charges funding on is the position it held at the time."""
    k = n - 1
    while k >= 0 and fills[k]["local_ts"] > at_ns:
        row = fills[k]
        if row["symbol"] == s and row["venue"] == v and row["exch_ts"] > at_ns:
            position -= row["side"] * row["qty"]
        k -= 1
    return position


@nb.njit(cache=True, nogil=True)
def _mid(view: Any, v: int) -> float:
    return float(0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0]))


@nb.njit(cache=True, nogil=True)
def _venue_equity(views: Any, v: int) -> float:
    # The account's equity on venue v: its quote plus every symbol's holdings there at the mids; NaN
    # while a symbol's book has no mid.
    equity = float(views[0][v]["quote_balance"])
    for s in range(views.shape[0]):
        mid = _mid(views[s], v)
        if not (mid > 0.0):
            return np.nan
        equity += views[s][v]["base_balance"] * mid
    return equity


@nb.njit(cache=True, nogil=True)
def liquidation_distance(position: float, px: float, equity: float, maintenance_rate: float) -> float:
    """How far the price may move against ``position`` (signed, base units, valued at ``px``) before
    the venue liquidates it, as a fraction of ``px``: the price at which ``equity`` (the margin backing
    it: cross, the venue's equity less the other positions' maintenance margin; isolated, the
    position's own margin) plus the move's loss equals the maintenance margin (``maintenance_rate`` x
    value). Long: ``(q px - E) / (q (1 - m))``; short: ``(E + |q| px) / (|q| (1 + m))``. 1.0 when the
    position cannot be liquidated (long, with equity at least its value) or is flat."""
    if position == 0.0 or not (px > 0.0):
        return 1.0
    if position > 0.0:
        liq = (position * px - equity) / (position * (1.0 - maintenance_rate))
        return 1.0 if liq <= 0.0 else float((px - liq) / px)
    size = -position
    liq = (equity + size * px) / (size * (1.0 + maintenance_rate))
    return float((liq - px) / px)


@nb.njit(cache=True, nogil=True)
def _margin_px(views: Any, s: int, v: int) -> float:
    # What the venue values symbol s's position at: its mark price where known, else the mid.
    m = views[s][v]["mark_px"]
    return float(m if m > 0.0 else _mid(views[s], v))


@nb.njit(cache=True, nogil=True)
def _check_margin(views: Any, s: int, v: int, position: float, lim: Any, st: Any) -> None:
    # A linear venue after a pair leaves symbol s at ``position`` there: its initial margin (every
    # symbol's) within the venue's equity, and (when asked) the liquidation estimate far enough.
    leverage = lim["leverage"][v]
    rate = lim["maintenance_rate"][v]
    equity = _venue_equity(views, v)
    px = _margin_px(views, s, v)
    if not (equity > 0.0) or not (px > 0.0):
        _refuse(st, B_MARGIN, np.inf, equity if equity == equity else 0.0)
        return
    used = abs(position) * px / leverage
    others_maintenance = 0.0
    for o in range(views.shape[0]):
        held = views[o][v]["position"]
        if o == s or held == 0.0:
            continue
        pxo = _margin_px(views, o, v)
        if pxo > 0.0:
            used += abs(held) * pxo / leverage
            others_maintenance += rate * abs(held) * pxo
    if used > equity:
        _refuse(st, B_MARGIN, used, equity)
    wanted = lim["min_liquidation_distance"]
    if wanted > 0.0:
        backing = abs(position) * px / leverage if lim["isolated"][v] == 1 else equity - others_maintenance
        distance = liquidation_distance(position, px, backing, rate)
        if distance < wanted:
            _refuse(st, B_LIQUIDATION, distance, wanted)


@nb.njit(cache=True, nogil=True)
def _value(views: Any, s: int, v: int, position: float) -> float:
    # |position| of symbol s on venue v at its mid (0 while it has none).
    mid = _mid(views[s], v)
    return abs(position) * mid if mid > 0.0 else 0.0


@nb.njit(cache=True, nogil=True)
def _event(st: Any, code: int, now: int, value: float, limit: float, symbol: int) -> None:
    # One event into the ring.
    k = st["ev_count"] % EVENTS_KEPT
    st["ev_code"][k] = code
    st["ev_ts"][k] = now
    st["ev_value"][k] = value
    st["ev_limit"][k] = limit
    st["ev_symbol"][k] = symbol
    st["ev_count"] += 1


@nb.njit(cache=True, nogil=True)
def _episode(sstate: Any, code: int) -> None:
    # Every symbol's refusals that follow belong to the episode of ``code`` (a halt, a pause).
    for s in range(sstate.shape[0]):
        sstate[s]["ev_last"] = code


@nb.njit(cache=True, nogil=True)
def _halt(st: Any, sstate: Any, reason: int, code: int, now: int, value: float, limit: float, symbol: int) -> None:
    # Halt for ``reason`` (H_*) unless already halted; the event says which limit and figure.
    if st["halted"] != H_NONE:
        return
    st["halted"] = reason
    _event(st, code, now, value, limit, symbol)
    _episode(sstate, B_HALTED)


@nb.njit(cache=True, nogil=True)
def update_equity(limits: Any, state: Any, sstate: Any, pnl: float, pnl_sym: Any, views: Any, now: int) -> None:
    """Follow trading PnL at ``now``: the account's (``pnl``: the drawdown peak, the risk day) and each
    symbol's (``pnl_sym[s]``: its last pair's PnL, judged whenever none of its orders is unanswered:
    marked at the mids while a leg is open, realised once flat), how long each symbol's net position
    has been off flat, and the venues' unknown orders (``state.unknown``, set by the driver); halt or
    pause where a limit says so, writing an event when it trips. ``views``: every symbol's view."""
    lim = limits[0]
    st = state[0]
    if pnl > st["peak_equity"]:
        st["peak_equity"] = pnl
    if st["peak_equity"] - pnl >= lim["max_drawdown"]:
        _halt(st, sstate, H_DRAWDOWN, E_DRAWDOWN, now, st["peak_equity"] - pnl, lim["max_drawdown"], ACCOUNT)
    st["last_pnl"] = pnl
    day = (now - lim["daily_reset_ns"]) // NS_PER_DAY
    if day != st["day"]:
        st["day"] = day
        st["day_start_pnl"] = pnl
        st["day_start_equity"] = _venue_equity(views, 0) + _venue_equity(views, 1)
        st["day_halted"] = 0
        for s in range(sstate.shape[0]):
            if sstate[s]["ev_last"] == B_DAILY_LOSS or sstate[s]["ev_last"] == B_DAILY_LOSS_FRACTION:
                sstate[s]["ev_last"] = 0
    lost = st["day_start_pnl"] - pnl
    if st["day_halted"] == 0:
        start_equity = st["day_start_equity"]
        fraction = lim["max_daily_loss_fraction"]
        code = 0
        if lim["max_daily_loss"] > 0.0 and lost >= lim["max_daily_loss"]:
            code = B_DAILY_LOSS
            _event(st, code, now, lost, lim["max_daily_loss"], ACCOUNT)
        elif fraction > 0.0 and np.isfinite(start_equity) and start_equity > 0.0 and lost >= fraction * start_equity:
            code = B_DAILY_LOSS_FRACTION
            _event(st, code, now, lost / start_equity, fraction, ACCOUNT)
        if code != 0:
            st["day_halted"] = code
            if st["halted"] == H_NONE:
                _episode(sstate, code)
    for s in range(sstate.shape[0]):
        _follow_symbol(limits[s], st, sstate, s, pnl_sym[s], views[s], now)
    worst = max(st["unknown"][0], st["unknown"][1])
    if worst > lim["max_unknown_orders"]:
        if st["unknown_paused"] == 0:
            st["unknown_paused"] = 1
            _event(st, B_UNKNOWN, now, worst, lim["max_unknown_orders"], ACCOUNT)
            if st["halted"] == H_NONE and st["day_halted"] == 0:
                _episode(sstate, B_UNKNOWN)
    else:
        st["unknown_paused"] = 0


@nb.njit(cache=True, nogil=True)
def _follow_symbol(lim: Any, st: Any, sstate: Any, s: int, pnl: float, view: Any, now: int) -> None:
    # One symbol's imbalance hold and pair loss (``pnl``: its trading PnL).
    sst = sstate[s]
    sst["last_pnl"] = pnl
    net = abs(view[0]["position"] + view[1]["position"])
    quiet = view[0]["open_orders"] == 0 and view[1]["open_orders"] == 0
    hold = lim["max_imbalance_hold_ns"]
    if net <= lim["dust"]:
        # an imbalance that ended after the limit was held too long, even if no decision fell inside it
        if sst["imbalance_since"] != 0 and 0 < hold <= now - sst["imbalance_since"]:
            _halt(st, sstate, H_IMBALANCE, E_IMBALANCE, now, (now - sst["imbalance_since"]) / 1e6, hold / 1e6, s)
        sst["imbalance_since"] = 0
        if sst["pair_open"] == 1 and quiet:
            sst["pair_open"] = 0
            if lim["max_pair_loss"] > 0.0 and sst["pair_start_pnl"] - pnl > lim["max_pair_loss"]:
                _halt(st, sstate, H_PAIR_LOSS, E_PAIR_LOSS, now, sst["pair_start_pnl"] - pnl, lim["max_pair_loss"], s)
    elif sst["imbalance_since"] == 0:
        sst["imbalance_since"] = now
    elif 0 < hold <= now - sst["imbalance_since"]:
        _halt(st, sstate, H_IMBALANCE, E_IMBALANCE, now, (now - sst["imbalance_since"]) / 1e6, hold / 1e6, s)
    if (
        sst["pair_open"] == 1
        and quiet
        and lim["max_pair_loss"] > 0.0
        and sst["pair_start_pnl"] - pnl > lim["max_pair_loss"]
    ):
        # a leg held open with nothing unanswered: its loss at the mid counts already
        _halt(st, sstate, H_PAIR_LOSS, E_PAIR_LOSS, now, sst["pair_start_pnl"] - pnl, lim["max_pair_loss"], s)


@nb.njit(cache=True, nogil=True)
def _refuse(st: Any, code: int, value: float, limit: float) -> None:
    if st["breach"] == 0:  # the first limit found is the one reported
        st["breach"] = code
        st["breach_value"] = value
        st["breach_limit"] = limit


@nb.njit(cache=True, nogil=True)
def gate(views: Any, s: int, limits: Any, state: Any, sstate: Any, intents: Any, n: int, now: int) -> int:
    """Drop symbol ``s``'s intents that break a limit (whole pairs at a time); compact the rest; return
    their count.

    ``views``: every symbol's view (``views[s]`` is the one the kernel decided on); ``limits``: a row
    per symbol; ``state``: the account's record; ``sstate``: a record per symbol. ``now``: local time,
    ns. A refusal is counted under its limit (``refused``, the account's and the symbol's); the first of
    a run of refusals by one limit is also written to the event ring.
    """
    lim = limits[s]
    st = state[0]
    sst = sstate[s]
    view = views[s]
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
    n_sym = views.shape[0]
    for v in range(2):
        if orders[v] == 0:
            continue
        open_orders = 0
        for o in range(n_sym):
            open_orders += views[o][v]["open_orders"]
        if open_orders + orders[v] > lim["max_open_orders"]:
            _refuse(st, B_OPEN_ORDERS, open_orders + orders[v], lim["max_open_orders"])
        if now < view[v]["blocked_until_ns"]:  # the executor would refuse it unsent: no order, hedge or not
            _refuse(st, B_STATUS, -1.0, VENUE_OK)
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
            equity = _venue_equity(views, v)
            used = 0.0
            for o in range(n_sym):
                if o != s:
                    used += _value(views, o, v, views[o][v]["position"])
            used += after * mid
            if not (equity > 0.0) or used > lim["max_capital_use"] * equity:
                _refuse(st, B_CAPITAL, used / equity if equity > 0.0 else np.inf, lim["max_capital_use"])
        if lim["leverage"][v] > 0.0 and after > before:
            _check_margin(views, s, v, view[v]["position"] + delta[v], lim, st)
        if st["unknown"][v] > lim["max_unknown_orders"]:
            _refuse(st, B_UNKNOWN, st["unknown"][v], lim["max_unknown_orders"])
    if opening and (lim["max_symbol_share"] > 0.0 or lim["max_total_notional"] > 0.0):
        mine_before = 0.0
        mine_after = 0.0
        others = 0.0
        for v in range(2):
            mine_before += _value(views, s, v, view[v]["position"])
            mine_after += _value(views, s, v, view[v]["position"] + delta[v])
            for o in range(n_sym):
                if o != s:
                    others += _value(views, o, v, views[o][v]["position"])
        if mine_after > mine_before:
            if lim["max_symbol_share"] > 0.0:
                equity = _venue_equity(views, 0) + _venue_equity(views, 1)
                if not (equity > 0.0) or mine_after > lim["max_symbol_share"] * equity:
                    share = mine_after / equity if equity > 0.0 else np.inf
                    _refuse(st, B_SYMBOL_SHARE, share, lim["max_symbol_share"])
            if lim["max_total_notional"] > 0.0 and others + mine_after > lim["max_total_notional"]:
                _refuse(st, B_TOTAL_NOTIONAL, others + mine_after, lim["max_total_notional"])
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
        if lim["min_pair_interval_ns"] > 0 and sst["pair_count"] > 0:
            since = now - sst["last_pair_ns"]
            if since < lim["min_pair_interval_ns"]:
                _refuse(st, B_PAIR_INTERVAL, since / 1e6, lim["min_pair_interval_ns"] / 1e6)
        if lim["max_pairs_per_day"] > 0:
            recent = 0
            kept = min(sst["pair_count"], sst["pair_times"].shape[0])
            for i in range(kept):
                if now - sst["pair_times"][i] < NS_PER_DAY:
                    recent += 1
            if recent >= lim["max_pairs_per_day"]:
                _refuse(st, B_PAIRS_PER_DAY, recent, lim["max_pairs_per_day"])
    if st["breach"] == 0:
        if opening:
            sst["pair_times"][sst["pair_count"] % sst["pair_times"].shape[0]] = now
            sst["pair_count"] += 1
            sst["last_pair_ns"] = now
            sst["ev_last"] = 0  # a pair went out: the next refusal starts a new episode
            if sst["pair_open"] == 0:
                sst["pair_open"] = 1
                sst["pair_start_pnl"] = sst["last_pnl"]
        return n
    code = st["breach"]
    st["breach_symbol"] = s
    st["refused"][code] += 1
    sst["refused"][code] += 1
    if code != sst["ev_last"]:
        sst["ev_last"] = code
        _event(st, code, now, st["breach_value"], st["breach_limit"], s)
    if opening:
        st["rejected_pairs"] += 1
        sst["rejected_pairs"] += 1
    else:
        st["rejected_hedges"] += 1
        sst["rejected_hedges"] += 1
    return 0
