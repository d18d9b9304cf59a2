"""``arb rebalance``'s plan alone (:func:`arb.execution.rebalance.plan_moves`): holdings and terms in,
moves out, no venue."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817 - short for the literals below

import pytest

from arb.config.rebalance import RebalanceConfig
from arb.execution.rebalance import plan_moves
from connectors.binance.wallet import WALLET as BINANCE
from connectors.bybit.wallet import WALLET as BYBIT
from connectors.common.wallet import NetworkTerm

WALLETS = (BINANCE, BYBIT)


def term(network: str, fee: str, *, arrival_s: int | None = None, confirmations: int = 20, withdraw: bool = True,
         deposit: bool = True, minimum: str = "10") -> NetworkTerm:  # fmt: skip
    return NetworkTerm("USDT", network, network, D(fee), D(minimum), D(10**7), withdraw, deposit, confirmations,
                       arrival_s)  # fmt: skip


def terms(binance: list[NetworkTerm], bybit: list[NetworkTerm]) -> dict[str, dict[int, list[NetworkTerm]]]:
    return {"USDT": {0: binance, 1: bybit}}


BOTH = terms([term("TRC20", "1", arrival_s=120), term("ERC20", "3", arrival_s=240)],
             [term("TRC20", "1"), term("ERC20", "3", confirmations=6)])  # fmt: skip


def test_a_usdm_sender_moves_into_its_spot_wallet_first_and_bybit_pays_the_fee_beside() -> None:
    holdings = {"USDT": {0: {"spot": D(100), "linear": D(2900)}, 1: {"unified": D(1000), "funding": D(0)}}}
    transfer, withdraw = plan_moves(holdings, BOTH, WALLETS, ("linear", "linear"), RebalanceConfig())
    assert (transfer.kind, transfer.from_wallet, transfer.to_wallet, transfer.amount) == (
        "transfer", "linear", "spot", D(900))  # fmt: skip
    assert (withdraw.network, withdraw.amount, withdraw.fee, withdraw.to_wallet) == ("TRC20", D(1000), D(1), "unified")
    holdings = {"USDT": {0: {"spot": D(1000)}, 1: {"unified": D(3000), "funding": D(0)}}}
    [back] = plan_moves(holdings, BOTH, WALLETS, ("spot", "spot"), RebalanceConfig())
    assert (back.sender, back.amount, back.arrival_s) == (1, D(1000), 120)  # Binance's estimate


def test_a_slow_cheap_network_loses_to_a_fast_one_when_waiting_costs_more_than_the_fee_difference() -> None:
    slow_cheap = terms([term("BTC", "0.5", arrival_s=36_000), term("TRC20", "1", arrival_s=60)],
                       [term("BTC", "0.5"), term("TRC20", "1")])  # fmt: skip
    holdings = {"USDT": {0: {"spot": D(3000)}, 1: {"unified": D(1000)}}}
    [cheap] = plan_moves(holdings, slow_cheap, WALLETS, ("spot", "spot"), RebalanceConfig(idle_bps_per_hour=0))
    [fast] = plan_moves(holdings, slow_cheap, WALLETS, ("spot", "spot"), RebalanceConfig(idle_bps_per_hour=1))
    assert (cheap.network, fast.network) == ("BTC", "TRC20")
    assert fast.cost_bps == pytest.approx((1 + 1000 * 1e-4 * 60 / 3600) / 1000 * 1e4)


def test_within_tolerance_nothing_moves_but_a_funding_wallet_is_swept() -> None:
    holdings = {"USDT": {0: {"spot": D(1050)}, 1: {"unified": D(900), "funding": D(50)}}}
    [sweep] = plan_moves(holdings, BOTH, WALLETS, ("spot", "spot"), RebalanceConfig())
    assert (sweep.kind, sweep.sender, sweep.from_wallet, sweep.to_wallet, sweep.amount) == (
        "transfer", 1, "funding", "unified", D(50))  # fmt: skip


def test_a_move_too_dear_or_without_an_open_network_is_listed_and_not_worth_it() -> None:
    holdings = {"USDT": {0: {"spot": D(1300)}, 1: {"unified": D(1000)}}}
    [dear] = plan_moves(holdings, BOTH, WALLETS, ("spot", "spot"), RebalanceConfig(tolerance=0.05, max_cost_bps=5))
    assert (dear.amount, dear.worth, dear.cost_bps > 5) == (D(150), False, True)
    closed = terms([term("TRC20", "1", withdraw=False)], [term("ERC20", "3"), term("TRC20", "1", deposit=True)])
    [none] = plan_moves(holdings, closed, WALLETS, ("spot", "spot"), RebalanceConfig(tolerance=0.05))
    assert (none.network, none.worth) == ("", False) and "no network open" in none.why


def test_a_per_asset_share() -> None:
    settings = RebalanceConfig(shares={"USDT": 0.75})
    holdings = {"USDT": {0: {"spot": D(2000)}, 1: {"unified": D(2000)}}}
    [move] = plan_moves(holdings, BOTH, WALLETS, ("spot", "spot"), settings)
    assert (move.sender, move.amount, move.fee) == (1, D(1000), D(1))  # Bybit: the fee is paid beside the amount
