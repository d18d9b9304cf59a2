"""What the journal's moves of money (``transfers``) put into and took out of a venue's wallets, as
reconciliation and the engine count them (arb.journal.transfers), and the running engine's balances
following a move (:meth:`arb.live.engine.Engine.transferred`)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D  # noqa: N817 - short for the literals below

import pytest

from arb.config import load_config
from arb.journal.transfers import (
    TransferRow,
    TransferState,
    fees_paid,
    in_transit,
    moved_in_wallet,
    trading_wallet_moves,
)
from tests.support.captures import ROOT

WITHDRAW = TransferRow("w1", "main", "withdraw", "USDT", "binance", "bybit", "spot", "unified", "BEP20", "0x1",
                       "10000", "0.29", TransferState.SENT)  # fmt: skip
"""Binance (the fee inside the amount) sends 10,000 USDT to Bybit (deposits land in its funding wallet)."""


def binance_spot(*rows: TransferRow) -> dict[str, D]:
    return moved_in_wallet(rows, "binance", "spot", fee_inside=True, deposit_wallet="spot")


def bybit_unified(*rows: TransferRow) -> dict[str, D]:
    return moved_in_wallet(rows, "bybit", "unified", fee_inside=False, deposit_wallet="funding")


@pytest.mark.parametrize("state", [TransferState.SENDING, TransferState.SENT, TransferState.ON_CHAIN])
def test_a_withdrawal_leaves_the_sender_when_sent_and_is_nobodys_in_transit(state: TransferState) -> None:
    row = dataclasses.replace(WITHDRAW, state=state)
    assert binance_spot(row) == {"USDT": D(-10000)} and bybit_unified(row) == {}
    assert in_transit([row], "bybit") == in_transit([row], "binance") == [f"10000 USDT binance -> bybit (w1, {state})"]


def test_it_arrives_where_the_receiver_credits_it_then_in_the_trading_wallet() -> None:
    credited = dataclasses.replace(WITHDRAW, state=TransferState.CREDITED, credited="9999.71")
    assert bybit_unified(credited) == {}  # in Bybit's funding wallet: not yet where arb trades
    assert moved_in_wallet([credited], "bybit", "funding", fee_inside=False, deposit_wallet="funding") == {
        "USDT": D("9999.71")
    }
    done = dataclasses.replace(credited, state=TransferState.DONE)
    assert bybit_unified(done) == {"USDT": D("9999.71")} and binance_spot(done) == {"USDT": D(-10000)}
    assert in_transit([done], "bybit") == []
    # Binance credits into spot, its trading wallet: counted from "credited" on
    back = dataclasses.replace(credited, from_venue="bybit", to_venue="binance", from_wallet="unified",
                               to_wallet="spot", amount="500", fee="1", credited="500")  # fmt: skip
    assert binance_spot(back) == {"USDT": D(500)}
    assert bybit_unified(back) == {"USDT": D(-501)}  # Bybit charges the fee beside the amount


@pytest.mark.parametrize("state", [TransferState.REFUSED, TransferState.FAILED])
def test_a_refused_or_failed_move_moves_nothing(state: TransferState) -> None:
    row = dataclasses.replace(WITHDRAW, state=state, credited="")
    transfer = TransferRow("t1", "main", "transfer", "BTC", "bybit", "bybit", "funding", "unified", "", "", "0.01",
                           "0", state)  # fmt: skip
    assert binance_spot(row, transfer) == bybit_unified(row, transfer) == {}
    assert in_transit([row, transfer], "binance") == []


def test_a_move_between_wallets_counts_on_its_venue_only_and_the_trading_wallet_is_the_markets() -> None:
    sweep = TransferRow("t1", "main", "transfer", "BTC", "bybit", "bybit", "funding", "unified", "", "", "0.01", "0",
                        TransferState.DONE)  # fmt: skip
    into_spot = TransferRow("t2", "main", "transfer", "USDT", "binance", "binance", "linear", "spot", "", "", "600",
                            "0", TransferState.DONE)  # fmt: skip
    rows = [sweep, into_spot, dataclasses.replace(WITHDRAW, from_wallet="spot")]
    assert trading_wallet_moves(rows, "bybit", "spot") == {"BTC": D("0.01")}
    assert trading_wallet_moves(rows, "binance", "spot") == {"USDT": D(600 - 10000)}
    assert trading_wallet_moves(rows, "binance", "linear") == {"USDT": D(-600)}  # a USD-M account's wallet
    assert trading_wallet_moves(rows, "nowhere", "spot") == {}


def test_the_engine_moves_the_holdings_it_started_from_not_its_positions_or_cash() -> None:
    from arb.live.engine import Engine

    config = load_config(ROOT / "config" / "arbitrage.toml")
    engine = Engine(config)
    quote, base = engine.init_quote.copy(), engine.init_base.copy()
    engine._pending[:] = 0  # what the next decision looks at
    assert engine.transferred(0, "USDT", -10000.0) and engine.transferred(1, "USDT", 9999.71)
    assert engine.init_quote.tolist() == [quote[0] - 10000.0, quote[1] + 9999.71]
    assert engine.transferred(1, "BTC", 0.5) and engine.init_base[0, 1] == base[0, 1] + 0.5
    assert not engine.transferred(0, "ETH", 1.0)  # no symbol trades it
    assert not engine.position.any() and not engine.cash.any() and engine._pending.all()


def test_the_fee_is_the_senders_from_the_send_on_and_nothing_for_a_move_that_moved_nothing() -> None:
    sent = [dataclasses.replace(WITHDRAW, state=s) for s in (TransferState.SENDING, TransferState.ON_CHAIN)]
    done = dataclasses.replace(WITHDRAW, client_id="w2", state=TransferState.DONE, credited="9999.71")
    back = dataclasses.replace(WITHDRAW, client_id="w3", from_venue="bybit", to_venue="binance", fee="1")
    refused = dataclasses.replace(WITHDRAW, client_id="w4", state=TransferState.REFUSED)
    assert fees_paid([sent[0], done, back, refused], "binance") == {"USDT": D("0.58")}
    assert fees_paid([sent[1], back], "bybit") == {"USDT": D(1)}
