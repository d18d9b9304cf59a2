"""The risk gate as the drivers and a person see it: limits from ``[risk]``, the gate's state as
figures for a report, a breach in words, what it remembers across a restart.

The compiled checks (:func:`gate`, :func:`update_equity`) are in :mod:`arb.strategy.gate`, which
describes every limit, and its records in :mod:`arb.strategy.records`; both are re-exported here. The
backtest's Numba loop and the live engine (dry run and ``arb live``) run them at every decision with
the same arguments, so one compiled gate stops the same things everywhere.

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

__all__ = [
    "ACCOUNT",
    "BREACH_NAMES",
    "B_DAILY_LOSS",
    "B_HALTED",
    "B_LIQUIDATION",
    "B_MARGIN",
    "B_STATUS",
    "EVENTS_KEPT",
    "E_DRAWDOWN",
    "E_IMBALANCE",
    "E_PAIR_LOSS",
    "HALT_REASONS",
    "H_EXTERNAL",
    "MAX_PAIRS_TRACKED",
    "N_BREACHES",
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
    "memory_figures",
    "new_gate",
    "new_risk_state",
    "new_symbol_risk_state",
    "position_at",
    "quote_currency",
    "restore_risk_memory",
    "risk_figures",
    "risk_memory",
    "symbol_event_text",
    "symbol_risk_figures",
    "update_equity",
    "value_px",
]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arb.config import AppConfig, RiskConfig, quote_currency
from arb.strategy.gate import (
    ACCOUNT,
    B_CAPITAL,
    B_DAILY_LOSS,
    B_DAILY_LOSS_FRACTION,
    B_HALTED,
    B_LIQUIDATION,
    B_MARGIN,
    B_NOTIONAL,
    B_OPEN_ORDERS,
    B_PAIR_INTERVAL,
    B_PAIRS_PER_DAY,
    B_POSITION,
    B_STATUS,
    B_SYMBOL_SHARE,
    B_TOTAL_NOTIONAL,
    B_UNKNOWN,
    E_DRAWDOWN,
    E_IMBALANCE,
    E_PAIR_LOSS,
    H_EXTERNAL,
    H_NONE,
    NS_PER_DAY,
    NS_PER_HOUR,
    gate,
    liquidation_distance,
    position_at,
    update_equity,
    value_px,
)
from arb.strategy.records import (
    EVENTS_KEPT,
    MAX_PAIRS_TRACKED,
    N_BREACHES,
    RISK_DTYPE,
    RISK_STATE_DTYPE,
    SYMBOL_RISK_DTYPE,
)
from arb.strategy.rules import copy_settings
from arb.strategy.state import Risk

HALT_REASONS = ("", "max_drawdown", "max_pair_loss", "max_imbalance_hold_ms", "halt kept from outside")
"""Why trading is halted, by ``halted`` code (``H_*``)."""

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
    ("net PnL below its peak", "max_drawdown"),
    ("pair lost", "max_pair_loss"),
    ("net position held (ms)", "max_imbalance_hold_ms"),
)
"""Per breach or event code: what was measured, and the ``[risk]`` key of the limit."""


def make_limits(risk: RiskConfig, dust: float = 0.0) -> np.ndarray[Any, np.dtype[Any]]:
    """The gate's limits from ``[risk]`` as one row; ``dust``: the net position that counts as flat."""
    limits = np.zeros(1, RISK_DTYPE)
    lim = limits[0]
    copy_settings(lim, risk, (
        "position_limit", "max_notional_per_venue", "max_open_orders", "max_drawdown", "max_daily_loss",
        "max_daily_loss_fraction", "max_pair_loss", "max_pairs_per_day", "min_pair_interval_ns",
        "max_imbalance_hold_ns", "max_capital_use", "max_unknown_orders", "max_symbol_share", "max_total_notional",
        "min_liquidation_distance",
    ))  # fmt: skip
    lim["daily_reset_ns"] = risk.daily_reset_hour_utc * NS_PER_HOUR
    lim["dust"] = dust
    return limits


def limits_of(config: AppConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """One row of limits per symbol: each symbol's ``[risk]`` (its overrides applied), its dust the
    coarser of its two lots, and each linear venue's ``[perpetual]`` margin settings."""
    rows = [make_limits(sym.risk, dust=max(i.lot_size for i in sym.instruments)) for sym in config.symbols]
    # ``RISK_DTYPE`` itself (concatenating one row makes an equal copy, which compiled calls compare in full)
    limits: np.ndarray[Any, np.dtype[Any]] = np.concatenate(rows).view(RISK_DTYPE)
    for v, venue in enumerate(config.venues):
        if venue.market == "linear":
            limits["leverage"][:, v] = venue.perpetual.leverage
            limits["maintenance_rate"][:, v] = venue.perpetual.maintenance_margin_rate
            limits["isolated"][:, v] = int(venue.perpetual.margin_mode == "isolated")
    return limits


def new_gate(config: AppConfig) -> Risk:
    """The gate's records for a run of ``config``: its limits (:func:`limits_of`), the account's state
    (:func:`new_risk_state`) and each symbol's (:func:`new_symbol_risk_state`)."""
    return Risk(limits_of(config), new_risk_state(), new_symbol_risk_state(len(config.symbols)))


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


_UNTIL_RESET = "no new pairs until {reset_hour:02d}:00 UTC"
_EVENT_TEXTS: dict[int, str] = {
    B_POSITION: "net position if one side of the pair filled alone {value:.8g} > {limit:.8g} {where}: pair refused",
    B_NOTIONAL: "position value on one venue {value_q} > limit {limit_q} {where}: pair refused",
    B_OPEN_ORDERS: "unanswered orders on one venue {value:.0f} > limit {limit:.0f} {where}: orders refused",
    B_HALTED: "{halt}",
    B_DAILY_LOSS: "daily loss {value_q} >= limit {limit_q} {where}: " + _UNTIL_RESET,
    B_DAILY_LOSS_FRACTION: "daily loss {value:.4%} of the day's starting equity >= limit {limit:.4%} {where}: "
    + _UNTIL_RESET,
    B_PAIRS_PER_DAY: "pairs in 24 hours {value:.0f} >= limit {limit:.0f} {where}: pair refused",
    B_PAIR_INTERVAL: "time since the last pair {value:.0f} ms < limit {limit:.0f} ms {where}: pair refused",
    B_CAPITAL: "capital in positions on one venue {value:.2%} of its equity > limit {limit:.2%} {where}: pair refused",
    B_UNKNOWN: "orders of unknown outcome on one venue {value:.0f} > limit {limit:.0f} {where}: "
    "no new pairs until known",
    B_SYMBOL_SHARE: "one symbol's positions {value:.2%} of the account's equity > limit {limit:.2%} {where}: "
    "pair refused",
    B_TOTAL_NOTIONAL: "every symbol's positions together {value_q} > limit {limit_q} {where}: pair refused",
    B_MARGIN: "initial margin on one venue {value_q} > its equity {limit_q} ([perpetual] leverage): pair refused",
    B_LIQUIDATION: "estimated liquidation price {value:.2%} from the mark < limit {limit:.2%} {where}: pair refused",
    E_DRAWDOWN: "net PnL {value_q} below its peak >= limit {limit_q} {where}: {halt}",
    E_PAIR_LOSS: "pair lost {value_q} > limit {limit_q} {where}: {halt}",
    E_IMBALANCE: "net position held {value:.0f} ms >= limit {limit:.0f} ms {where}: {halt}",
}
"""Each breach's and event's words (:func:`event_text`): ``value`` and ``limit`` as measured (``value_q``,
``limit_q`` as money), ``where`` its ``[risk]`` key, ``halt`` what a halt stops, ``reset_hour`` the risk day's."""


def event_text(code: int, value: float, limit: float, limits: Any, quote: str = "quote") -> str:
    """A breach in words: what was measured and its figure, the limit, its ``[risk]`` key and what it
    stops, e.g. ``daily loss 52.10 USDT >= limit 50.00 USDT ([risk] max_daily_loss): no new pairs
    until 00:00 UTC``. ``quote``: the quote currency's name."""
    what, key = BREACH_NAMES[code]
    where = f"([risk] {key})"
    halt = "trading halted: no new pair until a person clears it (arb halt shows how)"
    reset_hour = int(limits[0]["daily_reset_ns"]) // NS_PER_HOUR
    if code == B_STATUS:
        if value < 0.0:
            return "a venue arb holds orders back from (a rate limit or a ban): no order there until it ends"
        return f"a venue is stale or out of sync {where}: no opening order there"
    template = _EVENT_TEXTS.get(code)
    if template is not None:
        return template.format(value=value, limit=limit, where=where, halt=halt, reset_hour=reset_hour,
                               value_q=_money(value, quote), limit_q=_money(limit, quote))  # fmt: skip
    return f"{what} {value:.8g} against {limit:.8g} {where}"


def symbol_event_text(event: RiskEvent, limits: Any, quote: str, symbols: Sequence[str]) -> str:
    """:func:`event_text` of ``event``, after its symbol's name when there are several ``symbols``."""
    text = event_text(event.code, event.value, event.limit, limits, quote)
    return f"{symbols[event.symbol]}: {text}" if len(symbols) > 1 and event.symbol >= 0 else text


_DAY_MEMORY = ("day", "day_start_pnl", "day_start_equity", "day_halted")
_PAIR_MEMORY = ("last_pair_ns", "pair_count", "last_pair_id")


def risk_memory(state: Any, symbol_state: Any, symbols: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """What the gate must remember across a restart besides a halt (which the drivers keep as text):
    the risk day (its start, and whether the daily loss limit holds pairs back) and, per symbol (by
    name), the pairs of the last 24 hours (for ``max_pairs_per_day`` and ``min_pair_interval_ms``).
    JSON-serialisable."""
    st = state[0]
    memory: dict[str, Any] = {name: st[name].item() for name in _DAY_MEMORY}
    memory["symbols"] = {}
    for s, symbol in enumerate(symbols):
        sst = symbol_state[s]
        kept = min(int(sst["pair_count"]), MAX_PAIRS_TRACKED)
        pairs: dict[str, Any] = {name: sst[name].item() for name in _PAIR_MEMORY}
        pairs["pair_times"] = sorted(int(t) for t in sst["pair_times"][:kept])
        memory["symbols"][symbol] = pairs
    return memory


def memory_figures(state: Any, symbol_state: Any) -> tuple[Any, ...]:
    """The figures :func:`risk_memory` keeps, but the pairs' times (they change only with a pair's count):
    equal for two states when their memories are equal. A few microseconds, for a change check."""
    st = state[0]
    day = tuple(st[name].item() for name in _DAY_MEMORY)
    return day + tuple(symbol_state[name].tobytes() for name in _PAIR_MEMORY)


RISK_MEMORY_KEY = "risk_memory"
"""The account-state key of :func:`risk_memory` in the live journal and in the paper account's journal."""


def clear_day(memory: dict[str, Any]) -> dict[str, Any]:
    """``memory`` without its risk day: a person lifted the daily loss pause (``arb halt --clear``);
    the day starts again at the next run's first sample. The pairs of the last 24 hours stay."""
    return {name: value for name, value in memory.items() if not name.startswith("day")}


def day_pause_text(memory: dict[str, Any], limits: Any, now: int, *, clear: str) -> str | None:
    """Why a run starting at ``now`` (ns) with ``memory`` opens no pair until the next risk day, or
    None (no pause kept, or its day is over). ``clear``: the command that lifts this account's pause
    (:func:`~arb.execution.halt_hints.clear_halt_command`)."""
    code = int(memory.get("day_halted", 0))
    day = (now - int(limits[0]["daily_reset_ns"])) // NS_PER_DAY
    if code == 0 or day != int(memory.get("day", -1)):
        return None
    key = BREACH_NAMES[code][1]
    hour = int(limits[0]["daily_reset_ns"]) // NS_PER_HOUR
    return f"daily loss limit ([risk] {key}) reached: no new pair until {hour:02d}:00 UTC (or {clear})"


def restore_risk_memory(
    state: Any, symbol_state: Any, memory: dict[str, Any], symbols: tuple[str, ...] | list[str]
) -> None:
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
        sst = symbol_state[s]
        sst["last_pair_ns"] = int(pairs.get("last_pair_ns", 0))
        sst["last_pair_id"] = int(pairs.get("last_pair_id", 0))
        times = [int(t) for t in pairs.get("pair_times", [])][-MAX_PAIRS_TRACKED:]
        sst["pair_times"][:] = 0
        sst["pair_count"] = len(times)
        sst["pair_times"][: len(times)] = times
