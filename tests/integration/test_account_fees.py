"""The account's own fees: each fake venue's fee endpoint in the venue's documented shape, read through
ccxt by the live executor; a fee paid in BNB valued at BNB's price at the fill.

No test sleeps: each awaits a condition, bounded; the fakes listen on 127.0.0.1.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.errors import VenueError
from arb.sim import VenueOptions
from arb.strategy.types import BUY
from tests.support.live_rig import (
    ALL_SPECS,
    BINANCE_SPOT,
    VenueSpec,
    account,
    answered_order,
    at_ask,
    each_spec,
    venue_and_session,
)

spec = each_spec(ALL_SPECS)

ENDPOINT = {
    ("binance", "spot"): ("privateGetAccountCommission", {"symbol": "BTCUSDT"}),
    ("binance", "linear"): ("fapiPrivateGetCommissionRate", {"symbol": "BTCUSDT"}),
    ("bybit", "spot"): ("privateGetV5AccountFeeRate", {"category": "spot", "symbol": "BTCUSDT"}),
    ("bybit", "linear"): ("privateGetV5AccountFeeRate", {"category": "linear", "symbol": "XRPUSDT"}),
}
"""Each venue-market's fee endpoint, as ccxt's implicit method and its parameters."""


def _documented_shape(spec: VenueSpec, body: dict[str, Any]) -> None:
    # the keys each venue's documentation shows, and no other
    if spec.venue == "binance" and spec.market == "spot":
        assert set(body) == {"symbol", "standardCommission", "specialCommission", "taxCommission", "discount"}
        assert set(body["standardCommission"]) == {"maker", "taker", "buyer", "seller"}
        assert set(body["discount"]) == {"enabledForAccount", "enabledForSymbol", "discountAsset", "discount"}
    elif spec.venue == "binance":
        assert set(body) == {"symbol", "makerCommissionRate", "takerCommissionRate"}
    else:
        assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
        result = body["result"]
        assert set(result) == ({"category", "list"} if spec.market == "spot" else {"list"})  # futures: no category
        assert [set(row) for row in result["list"]] == [{"symbol", "takerFeeRate", "makerFeeRate"}]


async def test_each_venue_answers_its_fee_endpoint_as_documented_with_the_rates_its_ledger_charges(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = VenueOptions(taker_fee="0.00085", maker_fee="0.00015")
    async with venue_and_session(spec, tmp_path, monkeypatch, options=options) as (venue, session):
        executor = session.executors[spec.index]
        method, params = ENDPOINT[(spec.venue, spec.market)]
        _documented_shape(spec, await executor.request(method, params))
        fees = await executor.adapter.account_fees(executor, spec.symbol)
        assert (fees.symbol, fees.maker, fees.taker, fees.coin) == (spec.symbol, Decimal("15e-5"), Decimal("85e-5"), "")
        ask, qty = at_ask(venue, spec, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        (trade,) = account(venue).orders[0].trades
        paid = trade.fee * (trade.price if trade.fee_asset == spec.rules.base else 1)  # a spot buy pays in base
        assert order.fill_qty > 0 and paid == trade.price * trade.qty * fees.taker  # what the endpoint said


async def test_the_fee_endpoints_check_the_signature(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_session(spec, tmp_path, monkeypatch) as (_, session):
        executor = session.executors[spec.index]
        executor.exchange.secret = "not-the-secret-0123456789"
        with pytest.raises(VenueError) as refused:
            await executor.adapter.account_fees(executor, spec.symbol)
        assert refused.value.code == {"binance": "-1022", "bybit": "10004"}[spec.venue]


async def test_a_fee_paid_in_bnb_enters_the_pnl_at_bnbs_price_at_the_fill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance spot with its BNB discount on: the commission endpoint says so, the ledger charges 0.75 of the
    # rate in BNB, the start reads BNB's price, and the fee enters the order's (the engine's) fee in quote at
    # the price read last before the fill, not at the one of the start.
    from arb.live.engine import Engine

    options = VenueOptions(fee_coin=("BNB", Decimal("500")))
    async with venue_and_session(BINANCE_SPOT, tmp_path, monkeypatch, options=options) as (venue, session):
        executor = session.executors[BINANCE_SPOT.index]
        (fees,) = await executor.account_fees()
        assert (fees.maker, fees.taker, fees.coin) == (Decimal("0.00075"), Decimal("0.00075"), "BNB")
        assert await executor.read_coin_price("BNB") and executor.coin_prices == {"BNB": Decimal("500")}
        venue.ledger.fee_coin = ("BNB", Decimal("520"))  # BNB moves; the executor's next read sees it
        assert await executor.read_coin_price("BNB") and executor.coin_prices["BNB"] == Decimal("520")
        ask, qty = at_ask(venue, BINANCE_SPOT, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        (trade,) = account(venue).orders[0].trades
        assert trade.fee_asset == "BNB" and trade.fee == (trade.price * trade.qty * Decimal("0.00075") / 520).quantize(
            Decimal("1e-8")
        )
        assert order.fee == pytest.approx(float(trade.fee * 520)) and executor.counters["unvalued_fees"] == 0
        (done,) = [e for e in session.journal.journal.order_events(order.client_id) if e["kind"] == "done"]
        assert done["detail"]["fee_prices"] == {"BNB": "520"}
        engine = Engine(session.config)
        engine.book_answer(order)
        cost = float(trade.price * trade.qty)
        assert engine.cash[0, BINANCE_SPOT.index] == pytest.approx(-cost - float(trade.fee * 520))


async def test_without_a_price_of_the_coin_the_fee_is_counted_and_kept_out_of_the_pnl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = VenueOptions(fee_coin=("BNB", Decimal("500")))
    async with venue_and_session(BINANCE_SPOT, tmp_path, monkeypatch, options=options) as (venue, session):
        executor = session.executors[BINANCE_SPOT.index]
        assert not await executor.read_coin_price("XYZ")  # no such market: said, nothing kept
        ask, qty = at_ask(venue, BINANCE_SPOT, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        assert order.fee == 0.0 and executor.counters["unvalued_fees"] == 1 and not executor.coin_prices
