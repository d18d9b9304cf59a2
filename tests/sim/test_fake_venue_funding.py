"""The trading fakes book funding as the real venues do: Binance USD-M and Bybit linear replay a
recording whose mark-price streams announce a funding time, and at it each account's position pays or
earns ``position x mark x rate`` in its wallet, shown by the venue's own endpoints (balances, Binance's
``FUNDING_FEE`` income, Bybit's ``SETTLEMENT`` transaction and ``Funding`` execution), read through ccxt
as arb reads them.

The recording is made for the present (its times just ahead of the wall clock, which is the venues'
clock), so trades made now come before the funding time, as on a venue.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.execution.ccxt_setup import make_exchange
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.ledger import FundingPayment, LedgerAccount, OrderType, Side, TimeInForce
from arb.sim.options import VenueOptions
from arb.testing.pair_rig import SECRET, symbol_rules
from arb.testing.scenarios import Book, Perp, write_scenario

BINANCE_LINEAR_BTC_RULES = symbol_rules("binance", "linear")
BYBIT_LINEAR_BTC_RULES = symbol_rules("bybit", "linear")

FUNDING_MS = 3000
PERPS = {
    "binance": Perp(mark=60_000.0, rate=0.0001, funding_ms=FUNDING_MS, next_rate=0.0002),
    "bybit": Perp(mark=60_300.0, rate=0.0003, funding_ms=FUNDING_MS, next_rate=-0.0001),
}
WALLET = Decimal(10_000)


def _recording(tmp_path: Path, venue: str) -> tuple[Path, int]:
    # both venues' books and marks, starting at the next whole second (a second or two ahead of now)
    start_ms = (time.time_ns() // 1_000_000 // 1000 + 1) * 1000
    day = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).date()
    files = write_scenario(
        tmp_path / "recordings", day,
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}), Book(bids={60290.0: 2.0}, asks={60300.0: 2.0}), [],
        duration_ms=5000, heartbeat_ms=500, markets=("linear", "linear"), perps=PERPS, start_ms=start_ms,
    )  # fmt: skip
    return files[0 if venue == "binance" else 1], start_ms


def _trade(fake: Any, account: LedgerAccount, side: Side, qty: str) -> None:
    price = Decimal("70000") if side is Side.BUY else Decimal("50000")  # marketable: takes the top of the book
    fake.ledger.place(account, symbol="BTCUSDT", side=side, type=OrderType.LIMIT, qty=Decimal(qty), price=price,
                      time_in_force=TimeInForce.IOC, client_id=f"{account.name}-{side.value}")  # fmt: skip


@pytest.mark.parametrize("venue", ["binance", "bybit"])
async def test_a_linear_fake_books_funding_on_a_long_and_a_short_and_shows_it_as_the_venue_does(
    tmp_path: Path, venue: str
) -> None:
    recording, start_ms = _recording(tmp_path, venue)
    funding_ms = start_ms + FUNDING_MS
    perp = PERPS[venue]
    mark, rate = Decimal(f"{perp.mark:.2f}"), Decimal(f"{perp.rate:.8f}")
    fake: Any = (
        FakeBinanceExchange(
            recording, market="linear", rules=[BINANCE_LINEAR_BTC_RULES], options=VenueOptions(ping_interval=None)
        )
        if venue == "binance"
        else FakeBybitExchange(recording, market="linear", rules=[BYBIT_LINEAR_BTC_RULES])
    )
    async with fake:
        accounts = {
            name: fake.add_account(name, api_key=f"{name}Key0123456789", api_secret=SECRET, balances={"USDT": WALLET})
            for name in ("long", "short")
        }
        while not (fake.book("BTCUSDT", 1).bids and fake.book("BTCUSDT", 1).asks):
            assert await fake.advance(1) == 1
        _trade(fake, accounts["long"], Side.BUY, "0.03")
        _trade(fake, accounts["short"], Side.SELL, "0.02")
        assert all(t.time_ms < funding_ms for a in accounts.values() for t in a.trades)
        await fake.drain()  # the rest of the recording: the funding time passes (and the next is announced)

        # by hand: -position x mark x rate, the long pays a positive rate and the short receives it
        expected = {"long": -Decimal("0.03") * mark * rate, "short": Decimal("0.02") * mark * rate}
        assert expected == (
            {"long": Decimal("-0.18"), "short": Decimal("0.12")}
            if venue == "binance"
            else {"long": Decimal("-0.5427"), "short": Decimal("0.3618")}
        )
        for name, account in accounts.items():
            (payment,) = account.fundings
            assert (payment.funding_ms, payment.rate, payment.mark_price, payment.payment) == (
                funding_ms, rate, mark, expected[name])  # fmt: skip
            fees = sum((t.fee for t in account.trades), Decimal(0))
            assert account.balance("USDT").total == WALLET - fees + expected[name]
            await _venue_shows_it(fake, venue, name, account, payment)


async def _venue_shows_it(fake: Any, venue: str, name: str, account: LedgerAccount, payment: FundingPayment) -> None:
    # the venue's own endpoints, read through ccxt (signed as arb signs them)
    key = f"{name}Key0123456789"
    exchange = make_exchange(venue, "linear", rest=fake.rest_url, api_key=key, api_secret=SECRET)  # type: ignore[arg-type]
    window = {"startTime": payment.funding_ms - 60_000, "endTime": payment.funding_ms + 60_000}
    wallet = account.balance("USDT").total
    try:
        await exchange.load_markets()
        history = await exchange.fetch_funding_history("BTC/USDT:USDT", since=window["startTime"])
        (row,) = history
        assert row["timestamp"] == payment.funding_ms
        if venue == "binance":
            assert Decimal(str(row["amount"])) == payment.payment  # income: > 0 flowed in
            income = await exchange.fapiPrivateGetIncome({"symbol": "BTCUSDT", **window})
            kinds = [(r["incomeType"], Decimal(r["income"])) for r in income]
            assert ("FUNDING_FEE", payment.payment) in kinds
            assert [k for k, _ in kinds].count("COMMISSION") == len(account.trades)
            balances = await exchange.fapiPrivateV2GetBalance({})
            assert Decimal(next(b["balance"] for b in balances if b["asset"] == "USDT")) == wallet
        else:
            info = row["info"]  # a Funding execution: execFee is what the position paid
            assert info["execType"] == "Funding" and Decimal(info["execFee"]) == -payment.payment
            assert info["side"] == ("Buy" if name == "long" else "Sell") and info["orderLinkId"] == ""
            log = await exchange.privateGetV5AccountTransactionLog(
                {"accountType": "UNIFIED", "category": "linear", "currency": "USDT", **window}
            )
            rows = log["result"]["list"]
            assert [r["type"] for r in rows] == ["SETTLEMENT"] + ["TRADE"] * len(account.trades)  # newest first
            settlement = rows[0]
            assert Decimal(settlement["funding"]) == Decimal(settlement["change"]) == payment.payment
            assert Decimal(settlement["cashBalance"]) == wallet
            assert Decimal(settlement["size"]) == payment.position
            assert Decimal(settlement["feeRate"]) == (payment.rate if name == "long" else -payment.rate)
            # the trades' cash balances lead to it: each is the one before less its fee
            assert Decimal(rows[1]["cashBalance"]) == wallet - payment.payment
            # Bybit's execution list holds both kinds; a trade-history sweep filtering on Trade sees trades only
            both = await exchange.privateGetV5ExecutionList({"category": "linear", "symbol": "BTCUSDT", **window})
            assert sorted(r["execType"] for r in both["result"]["list"]) == ["Funding"] + ["Trade"] * len(
                account.trades
            )
            trades = await exchange.privateGetV5ExecutionList({"category": "linear", "execType": "Trade", **window})
            assert {r["execType"] for r in trades["result"]["list"]} == {"Trade"}
            coins = (await exchange.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"}))["result"]["list"]
            assert Decimal(next(c["walletBalance"] for c in coins[0]["coin"] if c["coin"] == "USDT")) == wallet
            position = await exchange.privateGetV5PositionList({"category": "linear", "symbol": "BTCUSDT"})
            fees = sum((t.fee for t in account.trades), Decimal(0))
            assert Decimal(position["result"]["list"][0]["cumRealisedPnl"]) == payment.payment - fees
    finally:
        await exchange.close()
