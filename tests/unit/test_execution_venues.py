"""Execution, live trading, commands, parity and sweeps on a run of three venues, with synthetic data: the
live executor's counts and routing, naked legs, the kill report, the rebalancer's reads and plan, the
daily limit's lines, ``--venue``, the parity report's texts, the sweep grid's venue keys, the preflight's
directions and the frame-time reader. Venue names are made up where only names matter (arb loads only the
venues it knows: a run of three is not configurable until a third venue is registered)."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from types import SimpleNamespace
from typing import Any

import msgspec
import numpy as np
import pytest

from arb.cli.venue_option import venue_numbers
from arb.config.rebalance import RebalanceConfig
from arb.errors import UsageError
from arb.execution.exposure import naked_leg_lines, naked_legs
from arb.execution.live_executor import LiveExecutor
from arb.execution.orders import OrderState
from arb.execution.rebalance import Rebalancer, plan_moves
from arb.live.auto_rebalance import within_limits
from arb.live.frame_time import exchange_ns
from arb.live.kill import KillReport
from arb.live.preflight import _directions
from arb.parity.against_dry_run import _call_text, _calls_equal, _compare_fills, _fill_text, _intent_text
from arb.strategy.types import BUY, FILL_DTYPE, HEDGE_FAILED, SELL, SENT_DTYPE, decision_dtype
from arb.sweep.grid import _parameter, _resolve
from connectors.common.wallet import NetworkTerm

VENUES = ("alpha", "beta", "gamma")


# -- the live executor ----------------------------------------------------------------------------------


def _venue(index: int, markets: tuple[int, ...] = (0,)) -> SimpleNamespace:
    # a venue executor as the live executor uses one (see tests/unit/test_live_handover.py)
    guard = SimpleNamespace(on_block=None)
    sent: list[tuple[Any, ...]] = []

    def submit(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        sent.append((index, args, kwargs))
        return (index, args)

    return SimpleNamespace(index=index, in_flight=[], markets=markets, guard=guard, blocked_until_ns=0,
                           departures=None, on_done=None, on_quote=None, on_change=None, submit=submit,
                           sent=sent, venue=VENUES[index], market="spot")  # fmt: skip


def test_the_live_executors_counts_are_as_wide_as_the_runs_venues_and_orders_go_by_venue_number() -> None:
    venues: list[Any] = [_venue(2, (0, 1)), _venue(0, (0, 1)), _venue(1, (0, 1))]  # any order
    executor = LiveExecutor(venues, n_venues=3)
    assert executor.open_counts.shape == (2, 3) and executor.unknown_counts.shape == (3,)
    assert executor.blocked_until_ns.shape == (3,) and executor.n_venues == 3
    assert executor.submit(2, BUY, 60_000.0, 0.001, 1, 7, 100, symbol=1)[0] == 2  # venue 2's executor
    assert venues[0].sent and not venues[1].sent and not venues[2].sent
    order = SimpleNamespace(venue=2, symbol_index=1, respond_ts=100, state=OrderState.SENT)
    venues[0].in_flight.append(order)
    venues[0].on_change()
    assert executor.open_counts.tolist() == [[0, 0, 0], [0, 0, 1]]
    order.state = OrderState.UNKNOWN
    venues[0].on_change()
    assert executor.unknown_counts.tolist() == [0, 0, 1]
    venues[2].guard.on_block(5_000)  # venue 1's rate guard
    assert executor.blocked_until_ns.tolist() == [0, 5_000, 0]


def test_the_live_executor_takes_the_runs_width_even_when_a_venue_is_not_open() -> None:
    executor = LiveExecutor([_venue(0)], n_venues=3)
    assert executor.open_counts.shape == (1, 3)
    assert LiveExecutor([_venue(0)]).open_counts.shape == (1, 2)  # two at least, as before
    with pytest.raises(ValueError, match="past the run's 2 venues"):
        LiveExecutor([_venue(2)], n_venues=2)


# -- exposure and the kill switch -----------------------------------------------------------------------


def _engine(positions: list[float]) -> Any:
    instrument = SimpleNamespace(lot_size=0.001, min_qty=0.001, min_notional=5.0)
    config = SimpleNamespace(
        symbols=[SimpleNamespace(name="BTCUSDT", instruments=[instrument] * 3)],
        venue_names=VENUES,
        execution=SimpleNamespace(max_hedge_attempts=3),
    )
    kernel_state = np.zeros(1, [("flags", "i8")])
    return SimpleNamespace(config=config, kernel_state=kernel_state, position=np.array([positions]),
                           last_mid=np.array([[60_000.0, 60_010.0, 60_020.0]]))  # fmt: skip


def test_a_naked_leg_is_found_on_any_of_three_venues() -> None:
    engine = _engine([0.0, 0.0, 0.002])
    assert naked_legs(engine) == []  # the kernel still hedges
    engine.kernel_state[0]["flags"] |= HEDGE_FAILED
    [leg] = naked_legs(engine)
    assert (leg.venue, leg.position, leg.value) == ("gamma", 0.002, pytest.approx(120.04))
    [line] = naked_leg_lines(engine)
    assert "gamma long 0.002" in line
    engine.position[:] = [[0.002, 0.0, -0.002]]  # hedged on the third venue: flat net
    assert naked_legs(engine) == []
    engine.position[:] = [[0.002, 0.002, -0.002]]  # two legs long, one short: the net is one leg
    assert [leg.venue for leg in naked_legs(engine)] == ["alpha", "beta", "gamma"]


def test_the_kill_report_names_an_orders_venue_by_the_run() -> None:
    order = SimpleNamespace(venue=2, symbol="BTCUSDT", side=-1, qty_text="0.002", price_text="59000",
                            reduce_only=False, fills={}, state=OrderState.FILLED)  # fmt: skip
    report = KillReport(VENUES, cancelled={"alpha": 0, "beta": 1, "gamma": 0}, orders=[order],
                        nets_before={"BTCUSDT": 0.002}, nets_after={"BTCUSDT": 0.0})  # fmt: skip
    lines = report.describe()
    assert "  beta: 1 open order(s) cancelled" in lines
    assert any(line.startswith("  gamma: sell 0.002 @ 59000 IOC") for line in lines)


# -- rebalancing ----------------------------------------------------------------------------------------


class _Wallet:
    # a venue's wallet operations on synthetic balances (one trading wallet, fee inside)
    resend_is_safe = True
    fee_inside = True

    def __init__(self, name: str) -> None:
        self.name = name

    def trading_wallet(self, market: str) -> str:
        return market

    def withdraw_wallet(self, market: str) -> str:
        return market

    def deposit_wallet(self, market: str) -> str:
        return market

    async def balances(self, client: Any, market: str, asset: str) -> dict[str, D]:
        return {market: client[asset]}

    async def networks(self, client: Any, assets: Any) -> dict[str, list[NetworkTerm]]:
        return {a: [NetworkTerm(a, "TRC20", "TRC20", D(1), D(10), D(10**7), True, True, 20, 60)] for a in assets}


def test_the_plan_sends_from_the_venue_furthest_over_to_those_under_among_three() -> None:
    wallets: Any = [_Wallet(name) for name in VENUES]
    term = [NetworkTerm("USDT", "TRC20", "TRC20", D(1), D(10), D(10**7), True, True, 20, 60)]
    holdings = {"USDT": {0: {"spot": D(6000)}, 1: {"spot": D(2000)}, 2: {"spot": D(1000)}}}
    moves = plan_moves(holdings, {"USDT": {0: term, 1: term, 2: term}}, wallets, ("spot",) * 3, RebalanceConfig())
    assert [(m.sender, m.receiver, m.amount.quantize(D(1))) for m in moves] == [(0, 2, D(2000)), (0, 1, D(1000))]
    moves = [dataclasses.replace(m, amount=m.amount.quantize(D(1))) for m in moves]  # a third is not exact
    chosen, lines = within_limits(moves, {"USDT": 2500.0}, {}, VENUES)
    assert chosen == [moves[0]] and lines == [
        "rebalance: 1000 USDT alpha -> beta not sent: over [rebalance] daily_limit USDT = 2500, 2000 withdrawn in the "
        "last 24 h"
    ]


def test_the_rebalancer_reads_every_venue_of_the_run() -> None:
    config: Any = SimpleNamespace(
        rebalance=RebalanceConfig(),
        venues=[SimpleNamespace(name=name, market="spot") for name in VENUES],
        live=SimpleNamespace(account="arb"),
    )
    clients = [{"USDT": D(amount)} for amount in (6000, 2000, 1000)]
    rebalancer = Rebalancer(config, clients, [_Wallet(n) for n in VENUES], None, asyncio.sleep)  # type: ignore[arg-type]
    moves, holdings = asyncio.run(rebalancer.plan(["USDT"]))
    assert holdings == {"USDT": {0: {"spot": D(6000)}, 1: {"spot": D(2000)}, 2: {"spot": D(1000)}}}
    assert [(m.sender, m.receiver) for m in moves] == [(0, 2), (0, 1)]
    with pytest.raises(ValueError, match="a client and a wallet per venue"):
        Rebalancer(config, clients[:2], [_Wallet(n) for n in VENUES], None, asyncio.sleep)  # type: ignore[arg-type]


# -- --venue --------------------------------------------------------------------------------------------


def test_venue_takes_any_venue_of_the_run_and_refuses_one_it_does_not_trade() -> None:
    config: Any = SimpleNamespace(venues=VENUES, venue_names=VENUES, venue_index=VENUES.index)
    assert venue_numbers(config, None, "arb reconcile") == [0, 1, 2]
    assert venue_numbers(config, "gamma", "arb order") == [2]
    with pytest.raises(UsageError, match=r"arb order: --venue: expected one of \[strategy\] venues \(alpha, beta, "
                       r"gamma\), got delta"):  # fmt: skip
        venue_numbers(config, "delta", "arb order")


# -- parity ---------------------------------------------------------------------------------------------


def test_the_parity_report_compares_and_shows_every_venues_column() -> None:
    a = np.zeros(2, decision_dtype(3))
    a["bid"], a["ask"] = [60_000.0, 60_001.0, 60_002.0], [60_000.5, 60_001.5, 60_002.5]
    b = a.copy()
    assert _calls_equal(a[0], b[0])
    b["position"][0, 2] = 0.001  # the third venue's column counts
    assert not _calls_equal(a[0], b[0])
    assert _call_text(b[0]).startswith("book 60000/60000.5 | 60001/60001.5 | 60002/60002.5, positions 0 0 0.001, ")
    sent = np.zeros(1, SENT_DTYPE)
    sent["venue"], sent["side"], sent["qty"], sent["price"] = 2, SELL, 0.001, 60_002.0
    assert _intent_text(VENUES, sent[0]).startswith("gamma sell 0.001 @ 60002")
    fills = np.zeros(1, FILL_DTYPE)
    fills["venue"], fills["side"], fills["qty"], fills["price"] = 2, BUY, 0.001, 60_002.0
    assert _fill_text(VENUES, fills[0]) == "gamma buy 0.001 @ 60002 (pair 0)"
    other = fills.copy()
    other["price"] += 20.0  # beyond 2 bps and the third venue's tick
    first, _, outside = _compare_fills(fills, other, 2.0, (0.01, 0.01, 0.1), False, VENUES)
    assert first is not None and first.backtest.startswith("gamma buy") and outside == 1


# -- sweeps ---------------------------------------------------------------------------------------------


def test_a_grid_resolves_the_keys_of_any_venue_of_the_run() -> None:
    parts, info, _ = _resolve("grid.toml", "gamma.latency.order_entry_ms", VENUES)
    assert parts == ["gamma", "latency", "order_entry_ns"] and info.key == "order_entry_ms"
    parts, info, _ = _resolve("grid.toml", "leg_faults.gamma.reject", VENUES)
    assert parts == ["leg_faults", "gamma", "reject"]
    config: Any = SimpleNamespace(venue_names=VENUES)
    every = _parameter("grid.toml", "leg_faults.reject", [0.0, 0.1], config)
    assert every.fields == ("leg_faults.alpha.reject", "leg_faults.beta.reject", "leg_faults.gamma.reject")
    assert _parameter("grid.toml", "leg_faults.beta.late", [0.1], config).fields == ("leg_faults.beta.late",)
    with pytest.raises(Exception, match="delta"):
        _resolve("grid.toml", "delta.latency.order_entry_ms", VENUES)


# -- preflight and frame times --------------------------------------------------------------------------


def test_a_pair_can_take_every_direction_among_three_venues() -> None:
    assert _directions(2) == [(0, 1), (1, 0)]
    assert _directions(3) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]


@pytest.mark.parametrize(
    ("venue", "frame", "market", "ms"),
    [
        ("bybit", {"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1733011200693, "data": {"s": "BTCUSDT"}},
         "linear", 1733011200693),  # stamped on the envelope
        ("bybit", {"success": True, "op": "subscribe"}, "linear", None),  # an answer: no time
        ("binance", {"stream": "btcusdt@depth@100ms", "data": {"e": "depthUpdate", "E": 1723161255343}}, "spot",
         1723161255343),
        ("binance", {"stream": "btcusdt@depth", "data": {"e": "depthUpdate", "E": 1723161255343, "T": 1723161255340}},
         "linear", 1723161255340),  # the transaction time on a linear market
        ("binance", {"e": "trade", "E": 1723161255343, "T": 1723161255341}, "spot", 1723161255343),  # a raw event
        ("binance", {"lastUpdateId": 5, "bids": [], "asks": []}, "spot", None),  # a snapshot: no time
    ],
)  # fmt: skip
def test_a_frames_exchange_time_is_read_where_its_venue_stamps_it(
    venue: str, frame: dict[str, Any], market: str, ms: Any
) -> None:
    raw = msgspec.json.encode(frame)
    assert exchange_ns(raw, venue, market) == (None if ms is None else ms * 1_000_000)
