"""The risk gate: whole pairs pass or fail together; hedges pass unless impossible; every limit stops
what it says, counted under its key, and the halts hold."""

from __future__ import annotations

import numpy as np

from arb.execution import risk
from arb.execution.risk import (
    EVENTS_KEPT,
    RISK_DTYPE,
    breach_text,
    drain_events,
    event_text,
    new_risk_state,
    new_symbol_risk_state,
    quote_currency,
    restore_risk_memory,
    risk_figures,
    risk_memory,
)
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, SELL, VENUE_OK, VENUE_STALE, new_intents, new_view

# Most tests here trade one symbol: each account state gets the one symbol state that goes with it.
_SYMBOL_STATES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def sym(state: np.ndarray) -> np.ndarray:
    return _SYMBOL_STATES.setdefault(id(state), (state, new_symbol_risk_state(1)))[1]


def gate(view: np.ndarray, lim: np.ndarray, state: np.ndarray, intents: np.ndarray, n: int, now: int) -> int:
    return int(risk.gate(view[None], 0, lim, state, sym(state), intents, n, now))


def update_equity(lim: np.ndarray, state: np.ndarray, pnl: float, view: np.ndarray, now: int) -> None:
    risk.update_equity(lim, state, sym(state), pnl, np.array([pnl]), view[None], now)


def limits(**over: float) -> np.ndarray:
    lim = np.zeros(1, RISK_DTYPE)
    lim["position_limit"] = over.get("position_limit", 1.0)
    lim["max_notional_per_venue"] = over.get("max_notional_per_venue", 1e9)
    lim["max_open_orders"] = over.get("max_open_orders", 4)
    lim["max_drawdown"] = over.get("max_drawdown", 100.0)
    for name in ("max_daily_loss", "max_daily_loss_fraction", "max_pair_loss", "max_capital_use", "dust",
                 "max_symbol_share", "max_total_notional"):  # fmt: skip
        lim[name] = over.get(name, 0.0)
    for name in ("daily_reset_ns", "max_pairs_per_day", "min_pair_interval_ns", "max_imbalance_hold_ns"):
        lim[name] = int(over.get(name, 0))
    lim["max_unknown_orders"] = int(over.get("max_unknown_orders", 0))
    return lim


NOW = 1_723_075_200_000_000_000  # 2024-08-08 00:00 UTC
HOUR = 3_600_000_000_000


def book() -> np.ndarray:
    v = new_view()
    v["status"] = VENUE_OK
    v["bid_px"][:, 0] = 59990.0
    v["ask_px"][:, 0] = 60010.0
    return v


def pair(qty: float = 0.1, ask: float = 60010.0, bid: float = 59990.0, pair_id: int = 7) -> tuple[np.ndarray, int]:
    """Two opening intents of ``qty``: a buy on Binance at ``ask`` and a sell on Bybit at ``bid``, and
    their count."""
    out = new_intents()
    out[0] = (0, BUY, ask, qty, INTENT_OPEN, pair_id, 0)
    out[1] = (1, SELL, bid, qty, INTENT_OPEN, pair_id, 0)
    return out, 2


def test_a_pair_within_limits_passes_whole() -> None:
    intents, n = pair()
    assert gate(book(), limits(), new_risk_state(), intents, n, NOW) == 2


def test_notional_limit_rejects_the_whole_pair() -> None:
    intents, n = pair(0.1)
    state = new_risk_state()
    assert gate(book(), limits(max_notional_per_venue=5000.0), state, intents, n, NOW) == 0  # 0.1 x 60000 = 6000
    assert state[0]["rejected_pairs"] == 1


def test_stale_venue_gets_no_opening_order() -> None:
    v = book()
    v[1]["status"] = VENUE_STALE
    intents, n = pair()
    assert gate(v, limits(), new_risk_state(), intents, n, NOW) == 0


def test_a_venue_the_executor_holds_orders_back_from_gets_no_order_hedges_included() -> None:
    v = book()
    v[0]["blocked_until_ns"] = NOW + 1  # a rate limit: the executor would refuse the order unsent
    intents, n = pair()
    state = new_risk_state()
    assert gate(v, limits(), state, intents, n, NOW) == 0
    hedge = new_intents()
    hedge[0] = (0, BUY, 60010.0, 0.1, INTENT_HEDGE, 7, 0)
    assert gate(v, limits(), state, hedge, 1, NOW) == 0 and state[0]["rejected_hedges"] == 1
    assert "holds orders back" in event_text(risk.B_STATUS, -1.0, 0.0, limits())
    assert gate(v, limits(), state, hedge, 1, NOW + 1) == 1  # the block has ended
    hedge[0]["venue"] = 1
    assert gate(v, limits(), state, hedge, 1, NOW) == 1  # the other venue takes it meanwhile


def test_open_orders_limit() -> None:
    v = book()
    v[0]["open_orders"] = 4
    intents, n = pair()
    assert gate(v, limits(max_open_orders=4), new_risk_state(), intents, n, NOW) == 0


def test_reducing_orders_pass_the_notional_and_net_limits() -> None:
    v = book()
    v[0]["position"] = 0.2  # long 0.2 on Binance alone: over both limits below
    intents = new_intents()
    intents[0] = (1, SELL, 59990.0, 0.2, INTENT_HEDGE, 3, 0)
    assert gate(v, limits(position_limit=0.1, max_notional_per_venue=100.0), new_risk_state(), intents, 1, NOW) == 1


def test_position_limit_judges_a_pair_by_either_side_filling_alone() -> None:
    # A balanced pair never moves the net position, but either leg may fill alone: 0.1 then is a net
    # position of 0.1, beyond a limit of 0.05.
    intents, n = pair(0.1)
    state = new_risk_state()
    assert gate(book(), limits(position_limit=0.05), state, intents, n, NOW) == 0
    assert _refused(state) == {"position_limit": 1}
    assert state[0]["breach_value"] == 0.1
    assert "one side of the pair filled alone" in breach_text(limits(position_limit=0.05), state)
    assert gate(book(), limits(position_limit=0.1), new_risk_state(), intents, n, NOW) == 2  # at the limit


def test_position_limit_counts_the_net_position_already_held() -> None:
    v = book()
    v[0]["position"] = 0.04  # long 0.04 net: the pair's buy filling alone would make it 0.09
    intents, n = pair(0.05)
    state = new_risk_state()
    assert gate(v, limits(position_limit=0.08), state, intents, n, NOW) == 0
    assert abs(state[0]["breach_value"] - 0.09) < 1e-12
    v[0]["position"] = -0.03  # short 0.03: the sell alone makes -0.08, the buy alone +0.02
    assert gate(v, limits(position_limit=0.08), new_risk_state(), intents, n, NOW) == 2


def test_position_limit_adds_up_the_levels_of_one_side() -> None:
    # a buy over two levels: both may fill while the sell does not
    out = new_intents()
    out[0] = (0, BUY, 60010.0, 0.03, INTENT_OPEN, 7, 0)
    out[1] = (0, BUY, 60020.0, 0.03, INTENT_OPEN, 7, 1)
    out[2] = (1, SELL, 59990.0, 0.06, INTENT_OPEN, 7, 0)
    assert gate(book(), limits(position_limit=0.05), new_risk_state(), out, 3, NOW) == 0
    assert gate(book(), limits(position_limit=0.06), new_risk_state(), out, 3, NOW) == 3


def test_a_hedge_passes_the_position_limit_whatever_its_size() -> None:
    v = book()
    v[1]["position"] = -0.2  # the sell filled alone: short 0.2 net, beyond the limit
    hedge = new_intents()
    hedge[0] = (0, BUY, 60010.0, 0.2, INTENT_HEDGE, 7, 0)
    assert gate(v, limits(position_limit=0.05), new_risk_state(), hedge, 1, NOW) == 1


def test_drawdown_halts_new_pairs_but_not_hedges() -> None:
    lim = limits(max_drawdown=50.0)
    state = new_risk_state()
    update_equity(lim, state, 10_000.0, book(), NOW)
    update_equity(lim, state, 9_960.0, book(), NOW)
    intents, n = pair()
    assert gate(book(), lim, state, intents, n, NOW) == 2
    update_equity(lim, state, 9_950.0, book(), NOW)  # 50 below the peak
    assert state[0]["halted"] == 1
    assert gate(book(), lim, state, intents, n, NOW) == 0
    hedge = new_intents()
    hedge[0] = (1, SELL, 59990.0, 0.1, INTENT_HEDGE, 3, 0)
    v = book()
    v[0]["position"] = 0.1
    assert gate(v, lim, state, hedge, 1, NOW) == 1
    update_equity(lim, state, 10_100.0, book(), NOW)  # recovering does not lift the halt
    assert gate(book(), lim, state, intents, n, NOW) == 0
    assert "max_drawdown" in breach_text(lim, state)


def _refused(state: np.ndarray) -> dict[str, int]:
    return {key: n for key, n in risk_figures(state[0])["refused"].items() if n}


def test_daily_loss_stops_new_pairs_until_the_next_day_begins_at_the_reset_hour() -> None:
    lim = limits(max_daily_loss=30.0, daily_reset_ns=8 * HOUR)
    state = new_risk_state()
    intents, n = pair()
    update_equity(lim, state, 100.0, book(), NOW + 9 * HOUR)  # the day began at 08:00
    update_equity(lim, state, 69.0, book(), NOW + 10 * HOUR)  # 31 lost
    assert gate(book(), lim, state, intents, n, NOW + 10 * HOUR) == 0
    assert _refused(state) == {"max_daily_loss": 1} and "daily loss 31" in breach_text(lim, state)
    update_equity(lim, state, 69.0, book(), NOW + 31 * HOUR)  # 07:00 next day: still the same risk day
    assert gate(book(), lim, state, intents, n, NOW + 31 * HOUR) == 0
    update_equity(lim, state, 69.0, book(), NOW + 32 * HOUR)  # 08:00: a new day
    assert gate(book(), lim, state, intents, n, NOW + 32 * HOUR) == 2 and state[0]["halted"] == 0


def test_daily_loss_as_a_fraction_of_the_days_starting_equity() -> None:
    v = book()
    v["quote_balance"] = 10_000.0  # two venues, 20,000 in all
    lim = limits(max_daily_loss_fraction=0.001)  # 20
    state = new_risk_state()
    intents, n = pair()
    update_equity(lim, state, 0.0, v, NOW)
    update_equity(lim, state, -19.0, v, NOW + 1)
    assert gate(v, lim, state, intents, n, NOW + 1) == 2
    update_equity(lim, state, -20.0, v, NOW + 2)
    assert gate(v, lim, state, intents, n, NOW + 2) == 0 and _refused(state) == {"max_daily_loss_fraction": 1}
    assert "daily loss 0.1000% of the day's starting equity >= limit 0.1000%" in breach_text(lim, state)


def _pair_passed_at_100(**over: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Limits ``over``, a risk state in which ``pair()`` passed the gate with the equity at 100, and
    that pair's intents and count."""
    lim = limits(**over)
    state = new_risk_state()
    intents, n = pair()
    update_equity(lim, state, 100.0, book(), NOW)
    assert gate(book(), lim, state, intents, n, NOW) == 2
    return lim, state, intents, n


def test_a_pair_that_lost_more_than_its_limit_halts_once_it_is_closed() -> None:
    lim, state, intents, n = _pair_passed_at_100(max_pair_loss=5.0, dust=0.001)
    open_ = book()
    open_[0]["open_orders"] = 1
    update_equity(lim, state, 90.0, open_, NOW + 1)  # still on its way: not judged yet
    assert state[0]["halted"] == 0
    update_equity(lim, state, 94.0, book(), NOW + 2)  # flat, nothing out: lost 6
    assert state[0]["halted"] == 2
    assert gate(book(), lim, state, intents, n, NOW + 3) == 0 and "max_pair_loss" in breach_text(lim, state)


def test_at_most_so_many_pairs_in_any_24_hours() -> None:
    lim = limits(max_pairs_per_day=2)
    state = new_risk_state()
    intents, n = pair()
    assert gate(book(), lim, state, intents, n, NOW) == 2
    assert gate(book(), lim, state, intents, n, NOW + HOUR) == 2
    assert gate(book(), lim, state, intents, n, NOW + 2 * HOUR) == 0
    assert _refused(state) == {"max_pairs_per_day": 1}
    assert gate(book(), lim, state, intents, n, NOW + 24 * HOUR) == 2  # the first one left the window


def test_a_minimum_interval_between_pairs() -> None:
    lim = limits(min_pair_interval_ns=500_000_000)
    state = new_risk_state()
    intents, n = pair()
    assert gate(book(), lim, state, intents, n, NOW) == 2
    assert gate(book(), lim, state, intents, n, NOW + 499_000_000) == 0
    assert "time since the last pair 499 ms < limit 500 ms ([risk] min_pair_interval_ms)" in breach_text(lim, state)
    assert gate(book(), lim, state, intents, n, NOW + 500_000_000) == 2


def test_an_imbalance_held_too_long_halts_new_pairs_but_not_its_hedge() -> None:
    lim = limits(max_imbalance_hold_ns=2 * HOUR, dust=0.001)
    state = new_risk_state()
    v = book()
    v[0]["position"] = 0.01
    update_equity(lim, state, 0.0, v, NOW)
    update_equity(lim, state, 0.0, v, NOW + HOUR)
    assert state[0]["halted"] == 0
    update_equity(lim, state, 0.0, v, NOW + 2 * HOUR)
    assert state[0]["halted"] == 3
    hedge = new_intents()
    hedge[0] = (1, SELL, 59990.0, 0.01, INTENT_HEDGE, 3, 0)
    assert gate(v, lim, state, hedge, 1, NOW + 2 * HOUR) == 1
    intents, n = pair()
    assert gate(book(), lim, state, intents, n, NOW + 3 * HOUR) == 0  # flat again: still halted
    assert "max_imbalance_hold_ms" in breach_text(lim, state)


def test_capital_use_per_venue_counts_the_venues_own_equity() -> None:
    v = book()
    v["quote_balance"] = 10_000.0
    lim = limits(max_capital_use=0.5)
    state = new_risk_state()
    small, n = pair(0.08)  # 0.08 x 60,000 = 4,800: 48 % of 10,000
    assert gate(v, lim, state, small, n, NOW) == 2
    big, n = pair(0.09)  # 5,400: 54 %
    assert gate(v, lim, state, big, n, NOW) == 0 and _refused(state) == {"max_capital_use": 1}


def test_an_order_of_unknown_outcome_holds_new_pairs_back_until_resolved() -> None:
    lim = limits()  # max_unknown_orders 0: pause at the first
    state = new_risk_state()
    intents, n = pair()
    state[0]["unknown"][1] = 1
    assert gate(book(), lim, state, intents, n, NOW) == 0 and _refused(state) == {"max_unknown_orders": 1}
    state[0]["unknown"][1] = 0
    assert gate(book(), lim, state, intents, n, NOW) == 2


def test_a_halt_carried_over_from_an_earlier_run_holds_until_cleared() -> None:
    state = new_risk_state(halted=4)
    intents, n = pair()
    assert gate(book(), limits(), state, intents, n, NOW) == 0
    assert "halt kept from outside" in breach_text(limits(), state)


def test_each_breach_is_one_event_per_episode_with_its_figures() -> None:
    lim = limits(max_daily_loss=30.0, min_pair_interval_ns=500_000_000)
    state = new_risk_state()
    intents, n = pair()
    assert gate(book(), lim, state, intents, n, NOW) == 2
    assert gate(book(), lim, state, intents, n, NOW + 1) == 0
    assert gate(book(), lim, state, intents, n, NOW + 2) == 0  # the same run of refusals: no new event
    assert gate(book(), lim, state, intents, n, NOW + 500_000_000) == 2  # a pair went out: the run ended
    assert gate(book(), lim, state, intents, n, NOW + 500_000_001) == 0
    update_equity(lim, state, 100.0, book(), NOW + 600_000_000)
    update_equity(lim, state, 52.0, book(), NOW + 700_000_000)  # 48 lost: the pause is one event ...
    assert gate(book(), lim, state, intents, n, NOW + 1_200_000_000) == 0  # ... and its refusals are that episode
    events = drain_events(state)
    assert [(e.key, e.ts - NOW) for e in events] == [
        ("min_pair_interval_ms", 1),
        ("min_pair_interval_ms", 500_000_001),
        ("max_daily_loss", 700_000_000),
    ]
    assert event_text(events[2].code, events[2].value, events[2].limit, lim, "USDT") == (
        "daily loss 48.00 USDT >= limit 30.00 USDT ([risk] max_daily_loss): no new pairs until 00:00 UTC"
    )
    assert drain_events(state) == []  # taken once


def test_a_driver_that_drains_too_seldom_loses_the_oldest_events_and_is_told() -> None:
    lim = limits(min_pair_interval_ns=10)
    state = new_risk_state()
    intents, n = pair()
    for k in range(EVENTS_KEPT + 3):  # each pass ends a run, each refusal starts one
        assert gate(book(), lim, state, intents, n, NOW + 100 * k) == 2
        assert gate(book(), lim, state, intents, n, NOW + 100 * k + 1) == 0
    assert len(drain_events(state)) == EVENTS_KEPT and state[0]["ev_lost"] == 3


def test_an_imbalance_that_ended_after_the_limit_halts_even_without_a_decision_inside_it() -> None:
    lim = limits(max_imbalance_hold_ns=5_000_000, dust=0.001)
    state = new_risk_state()
    v = book()
    v[0]["position"] = 0.01
    update_equity(lim, state, 0.0, v, NOW)  # the lone leg is seen
    update_equity(lim, state, 0.0, book(), NOW + 7_000_000)  # hedged 7 ms later
    assert state[0]["halted"] == 3
    [event] = drain_events(state)
    assert (event.key, event.value, event.limit) == ("max_imbalance_hold_ms", 7.0, 5.0)


def test_a_lone_leg_held_with_nothing_unanswered_counts_its_marked_loss() -> None:
    lim, state, _, _ = _pair_passed_at_100(max_pair_loss=5.0, dust=0.001)
    lone = book()
    lone[0]["position"] = 0.1
    update_equity(lim, state, 96.0, lone, NOW + 1)
    assert state[0]["halted"] == 0
    update_equity(lim, state, 94.0, lone, NOW + 2)  # 6 lost at the mids, not flat yet
    assert state[0]["halted"] == 2


def test_unknown_orders_past_the_limit_are_one_event_even_when_nothing_is_sent() -> None:
    lim = limits()
    state = new_risk_state()
    state[0]["unknown"][0] = 2
    update_equity(lim, state, 0.0, book(), NOW)
    update_equity(lim, state, 0.0, book(), NOW + 1)
    state[0]["unknown"][0] = 0
    update_equity(lim, state, 0.0, book(), NOW + 2)
    state[0]["unknown"][0] = 1
    update_equity(lim, state, 0.0, book(), NOW + 3)
    assert [(e.key, e.ts - NOW, e.value) for e in drain_events(state)] == [
        ("max_unknown_orders", 0, 2.0),
        ("max_unknown_orders", 3, 1.0),
    ]


def test_the_gates_memory_round_trips_the_risk_day_and_the_pairs() -> None:
    lim = limits(max_daily_loss=30.0, max_pairs_per_day=2)
    state = new_risk_state()
    intents, n = pair()
    assert gate(book(), lim, state, intents, n, NOW) == 2
    assert gate(book(), lim, state, intents, n, NOW + HOUR) == 2
    update_equity(lim, state, 100.0, book(), NOW + HOUR)
    update_equity(lim, state, 60.0, book(), NOW + HOUR + 1)
    memory = risk_memory(state, sym(state), ["BTCUSDT"])
    again = new_risk_state()  # a restart
    restore_risk_memory(again, sym(again), memory, ["BTCUSDT"])
    update_equity(lim, again, 60.0, book(), NOW + 2 * HOUR)  # the same risk day: still paused, 2 pairs in 24 h
    assert gate(book(), lim, again, intents, n, NOW + 2 * HOUR) == 0
    assert _refused(again) == {"max_daily_loss": 1}
    update_equity(lim, again, 60.0, book(), NOW + 24 * HOUR)  # the next day: the pause is over ...
    assert gate(book(), lim, again, intents, n, NOW + 24 * HOUR) == 2
    assert gate(book(), lim, again, intents, n, NOW + 24 * HOUR + 1) == 0  # the pair of 01:00 still counts
    assert _refused(again) == {"max_daily_loss": 1, "max_pairs_per_day": 1}


def test_the_quote_currency_of_a_symbol() -> None:
    assert (quote_currency("BTCUSDT"), quote_currency("ETHBTC"), quote_currency("XYZ")) == ("USDT", "BTC", "quote")


# --- several symbols: per-symbol limits, account-wide limits, one halt --------------------------------


def two_symbols(**over: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Views, limits, account state and symbol states for BTC (symbol 0, ~60,000) and ETH (1, ~2,500)."""
    views = np.stack([book(), book()])
    views[1]["bid_px"][:, 0] = 2499.0
    views[1]["ask_px"][:, 0] = 2501.0
    lim = np.concatenate([limits(**over), limits(**over)])
    return views, lim, new_risk_state(), new_symbol_risk_state(2)


def eth_pair(qty: float = 1.0) -> tuple[np.ndarray, int]:
    """``pair`` on ETHUSDT's book (2,499 / 2,501)."""
    return pair(qty, 2501.0, 2499.0, 9)


def test_position_limit_holds_per_symbol_in_its_own_units() -> None:
    views, lim, state, symbol_state = two_symbols()
    lim[0]["position_limit"] = 0.05  # BTC
    lim[1]["position_limit"] = 2.0  # ETH
    btc, n = pair(0.1)
    eth, m = eth_pair(1.5)
    assert risk.gate(views, 0, lim, state, symbol_state, btc, n, NOW) == 0
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 2
    assert symbol_state[0]["refused"][2] == 1 and symbol_state[1]["refused"].sum() == 0  # B_POSITION, counted for BTC
    assert state[0]["breach_symbol"] == 0 and state[0]["refused"][2] == 1
    assert [(e.key, e.symbol) for e in drain_events(state)] == [("position_limit", 0)]


def test_open_orders_count_every_symbols_orders_on_the_venue() -> None:
    views, lim, state, symbol_state = two_symbols(max_open_orders=4)
    views[0][0]["open_orders"] = 3  # BTC's on Binance
    eth, m = eth_pair()  # one leg on each venue: 3 + 1 on Binance is the limit
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 2
    views[0][0]["open_orders"] = 4
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 0
    assert risk_figures(state[0])["refused"]["max_open_orders"] == 1


def test_capital_use_adds_every_symbols_positions_on_the_venue() -> None:
    views, lim, state, symbol_state = two_symbols(max_capital_use=0.5)
    views["quote_balance"] = 10_000.0
    views["base_balance"] = 0.0
    views[0][0]["position"] = 0.06  # BTC long 0.06 on Binance: 3,600 of 10,000
    eth, m = eth_pair(0.6)  # ETH adds 0.6 x 2,500 = 1,500 on Binance: 5,100 > 5,000
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 0
    assert risk_figures(state[0])["refused"]["max_capital_use"] == 1
    eth, m = eth_pair(0.5)  # 1,250: 4,850
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 2


def test_no_symbol_above_its_share_of_the_accounts_equity() -> None:
    views, lim, state, symbol_state = two_symbols(max_symbol_share=0.1)
    views["quote_balance"] = 10_000.0  # 20,000 over both venues
    views["base_balance"] = 0.0
    eth, m = eth_pair(0.4)  # 0.4 x 2,500 on each venue = 2,000: 10 %
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 2
    eth, m = eth_pair(0.5)  # 2,500: 12.5 %
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 0
    assert "one symbol's positions 12.50% of the account's equity > limit 10.00%" in breach_text(lim, state)


def test_every_symbols_positions_together_stay_within_the_total_notional() -> None:
    views, lim, state, symbol_state = two_symbols(max_total_notional=10_000.0)
    views[0][0]["position"] = 0.05  # BTC: 3,000 on each venue
    views[0][1]["position"] = -0.05
    eth, m = eth_pair(0.9)  # ETH: 2 x 2,250 = 4,500 more: 10,500
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 0
    assert risk_figures(state[0])["refused"]["max_total_notional"] == 1
    eth, m = eth_pair(0.8)  # 4,000: 10,000
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW) == 2


def test_a_halt_on_one_symbol_stops_every_symbol_and_names_it() -> None:
    views, lim, state, symbol_state = two_symbols(max_imbalance_hold_ns=HOUR, dust=0.001)
    views[1][0]["position"] = 1.0  # ETH's lone leg
    pnl = np.zeros(2)
    risk.update_equity(lim, state, symbol_state, 0.0, pnl, views, NOW)
    risk.update_equity(lim, state, symbol_state, 0.0, pnl, views, NOW + HOUR)
    assert state[0]["halted"] == 3
    [event] = drain_events(state)
    assert (event.key, event.symbol) == ("max_imbalance_hold_ms", 1)
    btc, n = pair()
    assert risk.gate(views, 0, lim, state, symbol_state, btc, n, NOW + HOUR) == 0  # BTC is halted too
    assert "halt" in breach_text(lim, state)


def test_pairs_per_day_and_the_interval_are_each_symbols_own() -> None:
    views, lim, state, symbol_state = two_symbols(min_pair_interval_ns=500_000_000)
    btc, n = pair()
    eth, m = eth_pair()
    assert risk.gate(views, 0, lim, state, symbol_state, btc, n, NOW) == 2
    assert risk.gate(views, 1, lim, state, symbol_state, eth, m, NOW + 1) == 2  # ETH's first pair: no wait
    assert risk.gate(views, 0, lim, state, symbol_state, btc, n, NOW + 2) == 0  # BTC's second: too soon


def test_the_memory_keeps_each_symbols_pairs_and_reads_a_single_symbol_memory() -> None:
    views, lim, state, symbol_state = two_symbols(max_pairs_per_day=1)
    btc, n = pair()
    assert risk.gate(views, 0, lim, state, symbol_state, btc, n, NOW) == 2
    memory = risk_memory(state, symbol_state, ["BTCUSDT", "ETHUSDT"])
    assert memory["symbols"]["ETHUSDT"]["pair_times"] == [] and memory["symbols"]["BTCUSDT"]["pair_times"] == [NOW]
    again, sagain = new_risk_state(), new_symbol_risk_state(2)
    restore_risk_memory(again, sagain, memory, ["ETHUSDT", "BTCUSDT"])  # matched by name, not by place
    assert sagain[1]["pair_count"] == 1 and sagain[0]["pair_count"] == 0
    old = {"day": 5, "day_start_pnl": 1.0, "day_start_equity": 2.0, "day_halted": 0, "last_pair_ns": NOW,
           "pair_count": 1, "pair_times": [NOW]}  # fmt: skip
    restore_risk_memory(again, sagain, old, ["BTCUSDT", "ETHUSDT"])
    assert sagain[0]["pair_times"][0] == NOW and sagain[1]["pair_count"] == 0 and again[0]["day"] == 5
