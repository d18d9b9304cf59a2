"""ccxt 4.5.90, unpatched and pointed at the fake private Bybit only by URLs, trading spot and linear.

Every client is built by ``arb.execution.ccxt_setup.make_exchange``. The books are the recordings:
spot BTCUSDT (``recordings/bybit_spot/btcusdt_20240808.gz``, generated) and linear XRPUSDT (the real
``orderbook.500`` archive in ``tests/fixtures``). Expected fills are computed here from the venue's
book, never from the ledger's own arithmetic. No test sleeps: they await the venue's conditions or
ccxt's answers, each bounded by ``asyncio.timeout``. The venue's clock is real time plus an offset a
test can move (ccxt signs with the real clock).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the many literals below
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from arb.execution.ccxt_setup import make_exchange
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.bybit.wire import ws_signature
from arb.sim.faults import FaultKind
from arb.sim.ledger import LedgerAccount, OrderStatus
from arb.sim.options import VenueOptions
from arb.testing.pair_rig import symbol_rules
from tests.support.captures import BYBIT_OB500, RECORDINGS
from tests.support.clocks import OffsetClock

BYBIT_LINEAR_XRP_RULES = symbol_rules("bybit", "linear", "XRPUSDT")
BYBIT_SPOT_RULES = symbol_rules("bybit", "spot")

SPOT_RECORDING = RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz"
KEY, SECRET = "fakeKey0123", "fakeSecret0123456789"
TIMEOUT_S = 60.0
"""A bound on a test that hangs, not on its speed: a busy machine runs these several times slower."""

SPOT_RULES, LINEAR_RULES = BYBIT_SPOT_RULES, BYBIT_LINEAR_XRP_RULES


class Market:
    """What differs between the spot and the linear rig."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.spot = name == "spot"
        self.recording = SPOT_RECORDING if self.spot else BYBIT_OB500
        self.rules = SPOT_RULES if self.spot else LINEAR_RULES
        self.symbol = "BTC/USDT" if self.spot else "XRP/USDT:USDT"
        self.balances = {"USDT": "1000000", "BTC": "2"} if self.spot else {"USDT": "10000"}


MARKETS = [Market("spot"), Market("linear")]
BY_NAME = {m.name: m for m in MARKETS}


@asynccontextmanager
async def venue_for(market: Market, **options: Any) -> AsyncIterator[FakeBybitExchange]:
    """A started venue with one account ("alice") and its first book snapshot released."""
    async with FakeBybitExchange(market.recording, market=market.name, rules=[market.rules], **options) as venue:
        venue.add_account("alice", api_key=KEY, api_secret=SECRET, balances=market.balances)
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance_until(lambda frame: frame.stream.startswith("orderbook."))
        yield venue


@asynccontextmanager
async def client_for(
    venue: FakeBybitExchange, market: Market, *, secret: str = SECRET, key: str = KEY, timeout_ms: int = 3000
) -> AsyncIterator[Any]:
    exchange = make_exchange(
        "bybit", market.name, rest=venue.rest_url, ws_private=venue.private_ws_url, api_key=key, api_secret=secret,
        timeout_ms=timeout_ms, pro=True,
    )  # fmt: skip
    try:
        yield exchange
    finally:
        await exchange.close()


@asynccontextmanager
async def rig(market: Market, **options: Any) -> AsyncIterator[tuple[FakeBybitExchange, Any]]:
    async with venue_for(market, **options) as venue, client_for(venue, market) as exchange:
        async with asyncio.timeout(TIMEOUT_S):
            await exchange.load_markets()
        yield venue, exchange


def ret_code(error: BaseException) -> int:
    """The ``retCode`` of the venue body ccxt quotes in its exception (``"bybit {...}"``)."""
    return int(json.loads(str(error).split(" ", 1)[1])["retCode"])


def alice(venue: FakeBybitExchange) -> LedgerAccount:
    return venue.ledger.accounts["alice"]


def best(venue: FakeBybitExchange, market: Market) -> tuple[D, D, D, D]:
    """Best bid price and qty, best ask price and qty of the venue's book now."""
    view = venue.book(market.rules.symbol, 1)
    (bid, bid_qty), (ask, ask_qty) = view.bids[0], view.asks[0]
    return D(bid), D(bid_qty), D(ask), D(ask_qty)


def filling_qty(venue: FakeBybitExchange, market: Market) -> tuple[D, D]:
    """A quantity the best ask covers, above the minimums, and that ask."""
    _, _, ask, ask_qty = best(venue, market)
    rules = market.rules
    qty = max(rules.min_qty, (rules.min_notional / ask).quantize(rules.step_size) + rules.step_size)
    assert qty <= ask_qty
    return qty, ask


def raw_order(market: Market, **fields: Any) -> dict[str, Any]:
    """A ``/v5/order/create`` body sent as is (ccxt's ``create_order`` would round it onto the grid)."""
    body = {"category": market.name, "symbol": market.rules.symbol, "side": "Buy", "orderType": "Limit",
            "timeInForce": "IOC"}  # fmt: skip
    body.update({k: str(v) if isinstance(v, D) else v for k, v in fields.items()})
    return body


async def ioc_buy(exchange: Any, market: Market, qty: D | float, price: D, client_id: str) -> Any:
    """An IOC limit buy of ``qty`` at ``price`` sent through ccxt as ``client_id``; ccxt's answer."""
    return await exchange.create_order(market.symbol, "limit", "buy", float(qty), float(price),
                                       {"timeInForce": "IOC", "clientOrderId": client_id})  # fmt: skip


async def status_of(exchange: Any, market: Market, link: str) -> str:
    """The ``orderStatus`` ``/v5/order/realtime`` answers for the one order ``link`` names."""
    (found,) = await realtime(exchange, market, orderLinkId=link)
    return str(found["orderStatus"])


async def watching(venue: FakeBybitExchange, watch: Coroutine[Any, Any, Any], topic: str) -> asyncio.Task[Any]:
    """``watch`` (a ccxt watch) running as a task, once the venue has its subscription to ``topic``."""
    task = asyncio.create_task(watch)
    async with asyncio.timeout(TIMEOUT_S):
        await venue.wait_for_subscription(topic)
    return task


async def realtime(exchange: Any, market: Market, **params: Any) -> list[dict[str, Any]]:
    response = await exchange.privateGetV5OrderRealtime(
        {"category": market.name, "symbol": market.rules.symbol, **params}
    )
    assert response["retCode"] == 0
    return list(response["result"]["list"])


# -- markets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_load_markets_reports_the_fakes_rules(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        loaded = exchange.markets[market.symbol]
        rules = market.rules
        assert list(exchange.markets) == [market.symbol]
        assert D(str(loaded["precision"]["price"])) == rules.tick_size
        assert D(str(loaded["precision"]["amount"])) == rules.step_size
        assert D(str(loaded["limits"]["amount"]["min"])) == rules.min_qty
        assert D(str(loaded["limits"]["amount"]["max"])) == rules.max_qty
        assert D(str(loaded["limits"]["cost"]["min"])) == rules.min_notional
        assert loaded["spot"] is market.spot and loaded["swap"] is not market.spot
        if not market.spot:
            assert D(str(loaded["limits"]["price"]["min"])) == rules.min_price
            assert loaded["settle"] == "USDT" and loaded["linear"] is True
        book = await exchange.fetch_order_book(market.symbol, 5)
        view = venue.book(rules.symbol, 5)
        assert [[D(str(p)), D(str(q))] for p, q in book["bids"]] == [[D(p), D(q)] for p, q in view.bids]
        assert [[D(str(p)), D(str(q))] for p, q in book["asks"]] == [[D(p), D(q)] for p, q in view.asks]
        paths = [r.path for r in venue.stats.rest_requests]
        assert "/v5/user/query-api" not in paths and "/v5/asset/coin/query-info" not in paths


# -- IOC fills --------------------------------------------------------------------------------------


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_ioc_that_the_best_level_covers_fills_whole(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        _, _, ask, ask_qty = best(venue, market)
        qty = max(market.rules.min_qty, (ask_qty / 2).quantize(market.rules.step_size))
        qty = max(qty, (market.rules.min_notional / ask).quantize(market.rules.step_size) + market.rules.step_size)
        ack = await ioc_buy(exchange, market, qty, ask, "full-1")
        assert ack["status"] is None and ack["clientOrderId"] == "full-1"  # Bybit's create answer is an ack
        (order,) = await realtime(exchange, market, orderLinkId="full-1")
        assert order["orderStatus"] == "Filled" and order["orderId"] == ack["id"]
        assert D(order["cumExecQty"]) == qty and D(order["avgPrice"]) == ask and D(order["leavesQty"]) == 0
        (ledger_order,) = alice(venue).orders
        assert ledger_order.status is OrderStatus.FILLED and ledger_order.executed_qty == qty
        parsed = await exchange.fetch_closed_order(ack["id"], market.symbol)
        assert parsed["status"] == "closed" and parsed["filled"] == float(qty)


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_ioc_larger_than_the_levels_it_may_take_fills_part_and_the_rest_is_cancelled(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        _, _, ask, ask_qty = best(venue, market)
        qty = ask_qty + market.rules.step_size * 1000
        await ioc_buy(exchange, market, qty, ask, "part-1")
        (order,) = await realtime(exchange, market, orderLinkId="part-1")
        # Bybit: spot has PartiallyFilledCanceled; derivatives report Cancelled with an executed qty.
        assert order["orderStatus"] == ("PartiallyFilledCanceled" if market.spot else "Cancelled")
        assert D(order["cumExecQty"]) == ask_qty and order["rejectReason"] == "EC_CancelForNoFullFill"
        (ledger_order,) = alice(venue).orders
        assert ledger_order.status is OrderStatus.EXPIRED and ledger_order.executed_qty == ask_qty
        parsed = (await exchange.fetch_canceled_and_closed_orders(market.symbol))[0]
        assert parsed["clientOrderId"] == "part-1" and parsed["filled"] == float(ask_qty)
        assert parsed["status"] == ("closed" if market.spot else "canceled")


# -- rejections -------------------------------------------------------------------------------------

SPOT_REJECTIONS = [
    ("price-tick", {"qty": "0.001", "price": "ASK+0.05"}, 170134, ccxt.InvalidOrder),
    ("qty-decimals", {"qty": "0.0010001", "price": "ASK"}, 170137, ccxt.InvalidOrder),
    ("qty-min", {"qty": "0.000010", "price": "ASK"}, 170136, ccxt.InvalidOrder),
    ("value-min", {"qty": "0.00005", "price": "ASK"}, 170140, ccxt.InvalidOrder),
    ("balance", {"qty": "20", "price": "ASK"}, 170131, ccxt.InsufficientFunds),
    ("price-high", {"qty": "0.001", "price": "3000000"}, 170132, ccxt.InvalidOrder),
    ("symbol", {"qty": "0.001", "price": "ASK", "symbol": "ETHUSDT"}, 170121, ccxt.InvalidOrder),
    ("link-id", {"qty": "0.001", "price": "ASK", "orderLinkId": "no spaces allowed"}, 170130, ccxt.BadRequest),
]
LINEAR_REJECTIONS = [
    ("notional-min", {"qty": "2", "price": "ASK"}, 110094, ccxt.InvalidOrder),
    ("price-range", {"qty": "10", "price": "500"}, 110003, ccxt.InvalidOrder),
    ("margin", {"qty": "600000", "price": "ASK"}, 110007, ccxt.InsufficientFunds),
    ("reduce-only", {"qty": "10", "price": "BID", "side": "Sell", "reduceOnly": True}, 110017, ccxt.InvalidOrder),
    ("qty-step", {"qty": "10.5", "price": "ASK"}, 10001, ccxt.BadRequest),
    ("price-tick", {"qty": "10", "price": "ASK+0.00005"}, 10001, ccxt.BadRequest),
    ("qty-min", {"qty": "0", "price": "ASK"}, 10001, ccxt.BadRequest),
    ("symbol", {"qty": "10", "price": "ASK", "symbol": "DOGEUSDT"}, 10001, ccxt.BadRequest),
]


@pytest.mark.parametrize(
    ("market_name", "case", "fields", "code", "error"),
    [("spot", *case) for case in SPOT_REJECTIONS] + [("linear", *case) for case in LINEAR_REJECTIONS],
    ids=[f"spot-{c[0]}" for c in SPOT_REJECTIONS] + [f"linear-{c[0]}" for c in LINEAR_REJECTIONS],
)
async def test_rejections_carry_the_venues_retcode(
    market_name: str, case: str, fields: dict[str, Any], code: int, error: type[Exception]
) -> None:
    market = BY_NAME[market_name]
    async with rig(market) as (venue, exchange):
        bid, _, ask, _ = best(venue, market)
        price = str(fields["price"]).replace("ASK", str(ask)).replace("BID", str(bid))
        if "+" in price:
            base, extra = price.split("+")
            price = str(D(base) + D(extra))
        body = raw_order(market, **{"orderLinkId": f"rej-{case}", **fields, "price": price})
        with pytest.raises(error) as caught:
            await exchange.privatePostV5OrderCreate(body)
        assert ret_code(caught.value) == code
        assert alice(venue).orders == [] and alice(venue).trades == []


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_an_order_link_id_is_never_reused(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        await ioc_buy(exchange, market, qty, ask, "same")
        with pytest.raises(ccxt.InvalidOrder) as caught:
            await ioc_buy(exchange, market, qty, ask, "same")
        assert ret_code(caught.value) == (170141 if market.spot else 110072)
        assert len(alice(venue).orders) == 1


# -- authentication ---------------------------------------------------------------------------------


async def test_a_wrong_secret_is_refused_with_10004() -> None:
    market = BY_NAME["spot"]
    async with venue_for(market) as venue, client_for(venue, market, secret="not-the-secret") as exchange:
        with pytest.raises(ccxt.AuthenticationError) as caught:
            await exchange.fetch_balance()
        assert ret_code(caught.value) == 10004
        assert "error sign!" in str(caught.value)


async def test_an_unknown_key_is_refused_with_10003() -> None:
    market = BY_NAME["linear"]
    async with venue_for(market) as venue, client_for(venue, market, key="nobodysKey") as exchange:
        with pytest.raises(ccxt.AuthenticationError) as caught:
            await exchange.fetch_positions([market.symbol])
        assert ret_code(caught.value) == 10003


async def test_a_timestamp_outside_recv_window_is_refused_with_10002() -> None:
    market = BY_NAME["spot"]
    clock = OffsetClock()
    async with venue_for(market, options=VenueOptions(clock=clock)) as venue, client_for(venue, market) as exchange:
        await exchange.load_markets()
        clock.advance(6.0)  # the venue is 6 s ahead: ccxt's timestamp falls out of its 5 s recv_window
        with pytest.raises(ccxt.InvalidNonce) as caught:
            await exchange.fetch_balance()
        assert ret_code(caught.value) == 10002
        message = json.loads(str(caught.value).split(" ", 1)[1])["retMsg"]
        assert message.startswith("invalid request, please check your server timestamp or recv_window param.")
        assert "req_timestamp[" in message and "],server_timestamp[" in message and "],recv_window[5000]" in message
        clock.advance(-5.5)  # within the window again (0.5 s ahead)
        assert (await exchange.fetch_balance())["total"]["USDT"] == 1_000_000


# -- queries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_realtime_finds_a_closed_order_by_link_id_and_fetch_order_none_does_not(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        await ioc_buy(exchange, market, qty, ask, "find-me")
        assert await realtime(exchange, market) == []  # openOnly=0: open orders only, and it is done
        (found,) = await realtime(exchange, market, orderLinkId="find-me")  # "openOnly ignored" by id
        assert found["orderStatus"] == "Filled" and found["orderLinkId"] == "find-me"
        (closed,) = await realtime(exchange, market, openOnly=1)
        assert closed["orderId"] == found["orderId"]
        history = await exchange.privateGetV5OrderHistory({"category": market.name, "orderLinkId": "find-me"})
        assert history["result"]["list"][0]["orderId"] == found["orderId"]
        with pytest.raises(ccxt.OrderNotFound):  # ccxt sends orderId=None: looked up by orderLinkId
            await exchange.fetch_order(None, market.symbol, {"orderLinkId": "find-me", "acknowledged": True})


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_cancel_one_by_id_one_by_link_id_then_cancel_all(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        bid, _, _, _ = best(venue, market)
        below = bid - market.rules.tick_size * 50
        qty = D("0.001") if market.spot else D("10")
        ids = []
        for n in range(4):
            ack = await exchange.create_order(market.symbol, "limit", "buy", float(qty), float(below),
                                              {"clientOrderId": f"rest-{n}"})  # fmt: skip
            ids.append(ack["id"])
        assert {o["id"] for o in await exchange.fetch_open_orders(market.symbol)} == set(ids)
        cancelled = await exchange.cancel_order(ids[0], market.symbol)
        assert cancelled["id"] == ids[0]
        await exchange.cancel_order(None, market.symbol, {"orderLinkId": "rest-1"})
        with pytest.raises(ccxt.OrderNotFound) as caught:
            await exchange.cancel_order(ids[0], market.symbol)
        assert ret_code(caught.value) == (170213 if market.spot else 110001)
        rest = await exchange.cancel_all_orders(market.symbol)
        assert sorted(o["id"] for o in rest) == sorted(ids[2:])
        orders = alice(venue).orders
        assert all(o.status is OrderStatus.CANCELED for o in orders) and len(orders) == 4
        balance = alice(venue).balance("USDT")
        assert balance.locked == 0 and balance.free == D(market.balances["USDT"])
        (entry,) = await realtime(exchange, market, orderLinkId="rest-1")
        assert entry["orderStatus"] == "Cancelled" and entry["cancelType"] == "CancelByUser"


async def test_linear_cancel_all_without_a_symbol_uses_the_settle_coin() -> None:
    market = BY_NAME["linear"]
    async with rig(market) as (venue, exchange):
        bid, _, _, _ = best(venue, market)
        for n in range(2):
            await exchange.create_order(market.symbol, "limit", "buy", 10, float(bid - D("0.01")),
                                        {"clientOrderId": f"gtc-{n}"})  # fmt: skip
        cancelled = await exchange.cancel_all_orders()  # ccxt sends settleCoin=USDT
        assert len(cancelled) == 2
        assert venue.stats.rest_requests[-1].path == "/v5/order/cancel-all"
        assert not venue.ledger.open_orders(alice(venue))


# -- balances, positions, trades --------------------------------------------------------------------


async def test_spot_balances_equal_the_ledger() -> None:
    market = BY_NAME["spot"]
    async with rig(market) as (venue, exchange):
        _, _, ask, _ = best(venue, market)
        await exchange.create_order(market.symbol, "limit", "buy", 0.01, float(ask), {"timeInForce": "IOC"})
        await exchange.create_order(market.symbol, "limit", "sell", 0.5, float(ask + 100))  # rests, locks BTC
        balance = await exchange.fetch_balance()
        for coin in ("BTC", "USDT"):
            ledger = alice(venue).balance(coin)
            assert D(str(balance[coin]["total"])) == ledger.total
            assert D(str(balance[coin]["used"])) == ledger.locked
            assert D(str(balance[coin]["free"])) == ledger.free
        assert alice(venue).balance("BTC").locked == D("0.5")


async def test_linear_balance_and_positions_equal_the_ledger() -> None:
    market = BY_NAME["linear"]
    async with rig(market) as (venue, exchange):
        bid, _, ask, _ = best(venue, market)
        await exchange.create_order(market.symbol, "limit", "buy", 300, float(ask), {"timeInForce": "IOC"})
        await exchange.create_order(market.symbol, "limit", "buy", 100, float(bid - D("0.01")))  # margin locked
        position = alice(venue).position("XRPUSDT")
        (fetched,) = await exchange.fetch_positions([market.symbol])
        assert D(str(fetched["contracts"])) == position.qty == 300
        assert D(str(fetched["entryPrice"])) == position.entry_price and fetched["side"] == "long"
        assert fetched["leverage"] == 10 and D(str(fetched["initialMargin"])) == position.initial_margin
        assert [p["symbol"] for p in await exchange.fetch_positions()] == [market.symbol]  # settleCoin: open only
        wallet = alice(venue).balance("USDT")
        balance = (await exchange.fetch_balance())["USDT"]
        assert D(str(balance["total"])) == wallet.total
        assert D(str(balance["used"])) == wallet.locked + position.initial_margin
        assert D(str(balance["free"])) == wallet.free - position.initial_margin
        await exchange.set_leverage(5, market.symbol)
        assert position.leverage == 5
        with pytest.raises(ccxt.BadRequest) as caught:
            await exchange.set_leverage(5, market.symbol)
        assert ret_code(caught.value) == 110043
        with pytest.raises(ccxt.NoChange):  # already one-way
            await exchange.set_position_mode(False, market.symbol)
        (fetched,) = await exchange.fetch_positions([market.symbol])
        assert fetched["leverage"] == 5


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_fetch_my_trades_equals_the_ledgers_trades(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        view = venue.book(market.rules.symbol, 2)
        (p1, q1), (p2, _) = view.asks
        qty = D(q1) + market.rules.step_size * 10  # takes the whole first level and some of the second
        await ioc_buy(exchange, market, qty, D(p2), "two-levels")
        trades = await exchange.fetch_my_trades(market.symbol)
        ledger = alice(venue).trades
        assert len(ledger) == 2 and [(D(p1), D(q1)), (D(p2), market.rules.step_size * 10)] == [
            (t.price, t.qty) for t in ledger
        ]
        by_id = {t["id"]: t for t in trades}
        assert set(by_id) == {venue.exec_id(t) for t in ledger}
        for trade in ledger:
            got = by_id[venue.exec_id(trade)]
            assert D(str(got["price"])) == trade.price and D(str(got["amount"])) == trade.qty
            assert D(got["info"]["execFee"]) == trade.fee and got["fee"]["currency"] == trade.fee_asset
            assert got["symbol"] == market.symbol and got["takerOrMaker"] == "taker"


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_a_resting_order_fills_as_maker_when_the_replayed_book_crosses_it(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        bid, _, ask, _ = best(venue, market)
        # In the spot recording the best ask falls below 61830 within ~15 frames of the snapshot; in the linear
        # one the best bid reaches 1.9535 at frame ~29: each resting order is crossed later by the recording.
        side, price, qty = ("buy", D("61830.0"), D("0.002")) if market.spot else ("sell", D("1.9535"), D("50"))
        assert (price < ask) if market.spot else (price > bid)
        await exchange.create_order(market.symbol, "limit", side, float(qty), float(price), {"clientOrderId": "maker"})
        (order,) = alice(venue).orders
        assert order.status is OrderStatus.NEW
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance_until(lambda _: order.status is not OrderStatus.NEW)
        assert order.trades and all(t.is_maker and t.price == price for t in order.trades)
        (entry,) = await realtime(exchange, market, orderLinkId="maker")
        assert D(entry["cumExecQty"]) == order.executed_qty and entry["orderStatus"] in ("Filled", "PartiallyFilled")


# -- rate limits and bans ---------------------------------------------------------------------------


async def test_the_per_endpoint_limit_answers_10006_and_counts_in_the_headers() -> None:
    market = BY_NAME["spot"]
    clock = OffsetClock()
    async with rig(market, options=VenueOptions(clock=clock), rate_limits={"/v5/order/realtime": 2}) as (
        venue,
        exchange,
    ):
        statuses = []
        for _ in range(2):
            await realtime(exchange, market)
            headers = {k.lower(): v for k, v in exchange.last_response_headers.items()}
            assert headers["x-bapi-limit"] == "2"
            statuses.append(headers["x-bapi-limit-status"])
            assert abs(int(headers["x-bapi-limit-reset-timestamp"]) - clock() * 1000) < 2000
        assert statuses == ["1", "0"]
        with pytest.raises(ccxt.RateLimitExceeded) as caught:
            await realtime(exchange, market)
        assert ret_code(caught.value) == 10006 and "Too many visits!" in str(caught.value)
        assert venue.stats.rest_requests[-1].status == 200  # Bybit answers the limit with HTTP 200
        clock.advance(1.1)  # the rolling one-second window has passed
        assert await realtime(exchange, market) == []


async def test_an_ip_ban_answers_403_until_the_venue_clock_passes_it() -> None:
    market = BY_NAME["linear"]
    clock = OffsetClock()
    async with rig(market, options=VenueOptions(clock=clock), ip_limit=(6, 5.0), ip_ban_s=600.0) as (venue, exchange):
        venue.ban(30.0)
        with pytest.raises(ccxt.RateLimitExceeded):  # ccxt maps Bybit's 403 to RateLimitExceeded
            await exchange.fetch_time()
        assert venue.stats.rest_requests[-1].status == 403 and venue.banned
        clock.advance(31.0)
        assert not venue.banned
        assert await exchange.fetch_time() > 0
        for _ in range(5):  # the IP limit: 6 requests per 5 s counted here, the 7th starts a 10-minute ban
            await exchange.fetch_time()
        with pytest.raises(ccxt.RateLimitExceeded):
            await exchange.fetch_time()
        assert venue.banned and venue.faults.count(FaultKind.BAN) == 2
        clock.advance(601.0)
        assert await exchange.fetch_time() > 0


# -- unknown outcomes -------------------------------------------------------------------------------


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_a_timeout_leaves_the_order_unknown_then_a_query_resolves_it_with_one_order(market: Market) -> None:
    async with venue_for(market) as venue, client_for(venue, market, timeout_ms=300) as exchange:
        await exchange.load_markets()
        qty, ask = filling_qty(venue, market)
        venue.faults.order_timeout(processed=True)
        with pytest.raises(ccxt.RequestTimeout):
            await ioc_buy(exchange, market, qty, ask, "unknown-1")
        assert await status_of(exchange, market, "unknown-1") == "Filled"
        assert len(alice(venue).orders) == 1 and alice(venue).orders[0].client_id == "unknown-1"
        assert venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1
        venue.faults.release_orders()


async def test_an_unprocessed_timeout_places_the_order_only_once_released() -> None:
    market = BY_NAME["spot"]
    async with venue_for(market) as venue, client_for(venue, market, timeout_ms=300) as exchange:
        await exchange.load_markets()
        _, _, ask, _ = best(venue, market)
        venue.faults.order_timeout(processed=False)
        with pytest.raises(ccxt.RequestTimeout):
            await ioc_buy(exchange, market, 0.001, ask, "late")
        assert await realtime(exchange, market, orderLinkId="late") == []
        venue.faults.release_orders()
        async with asyncio.timeout(TIMEOUT_S):
            await venue.wait_until(lambda: len(alice(venue).orders) == 1)


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_hidden_orders_answer_an_empty_list_for_n_queries(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        venue.faults.hide_orders(queries=2)
        await ioc_buy(exchange, market, qty, ask, "shy")
        assert await realtime(exchange, market, orderLinkId="shy") == []
        assert await realtime(exchange, market, orderLinkId="shy") == []
        assert await status_of(exchange, market, "shy") == "Filled" and len(alice(venue).trades) == 1
        assert venue.faults.count(FaultKind.ORDER_HIDDEN) == 1


async def test_a_system_error_answer_can_hide_an_order_that_exists() -> None:
    market = BY_NAME["linear"]
    async with rig(market) as (venue, exchange):
        _, _, ask, _ = best(venue, market)
        venue.faults.order_error(200, processed=True)  # retCode 10016 "Internal system error."
        with pytest.raises(ccxt.ExchangeError) as caught:
            await ioc_buy(exchange, market, 10, ask, "exists")
        assert ret_code(caught.value) == 10016 and "Internal system error." in str(caught.value)
        assert [o.client_id for o in alice(venue).orders] == ["exists"]
        venue.faults.order_error(503)  # not processed: a gateway error, nothing placed
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ioc_buy(exchange, market, 10, ask, "never")
        assert [o.client_id for o in alice(venue).orders] == ["exists"]
        assert venue.faults.count(FaultKind.ORDER_ERROR) == 2


async def test_a_dropped_connection_after_the_request_was_read() -> None:
    market = BY_NAME["spot"]
    async with rig(market) as (venue, exchange):
        _, _, ask, _ = best(venue, market)
        venue.faults.order_drop(processed=True)
        with pytest.raises(ccxt.NetworkError):  # ccxt: ExchangeNotAvailable, as for a DNS failure
            await ioc_buy(exchange, market, 0.001, ask, "dropped")
        assert await status_of(exchange, market, "dropped") == "Filled"
        assert venue.faults.count(FaultKind.ORDER_DROP) == 1


# -- the private stream -----------------------------------------------------------------------------


async def until(condition: Any, watch: Any) -> None:
    """Await ccxt ``watch()`` calls until ``condition()`` holds (checked first: messages may be in)."""
    async with asyncio.timeout(TIMEOUT_S):
        while not condition():
            await watch()


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_watch_orders_and_my_trades_get_the_iocs_events(market: Market) -> None:
    async with rig(market) as (venue, exchange):
        orders_task = asyncio.create_task(exchange.watch_orders())
        trades_task = asyncio.create_task(exchange.watch_my_trades())
        async with asyncio.timeout(TIMEOUT_S):
            await venue.wait_until(lambda: venue.subscriber_count("order") and venue.subscriber_count("execution"))
        view = venue.book(market.rules.symbol, 2)
        qty = D(view.asks[0][1]) + market.rules.step_size * 10
        await exchange.create_order(market.symbol, "limit", "buy", float(qty), float(D(view.asks[1][0])),
                                    {"timeInForce": "IOC", "clientOrderId": "streamed"})  # fmt: skip
        async with asyncio.timeout(TIMEOUT_S):
            await orders_task
            await trades_task
        ledger = alice(venue)
        await until(lambda: len(exchange.myTrades or []) == len(ledger.trades), exchange.watch_my_trades)
        await until(lambda: exchange.orders[-1]["status"] != "open", exchange.watch_orders)
        assert [t["id"] for t in exchange.myTrades] == [venue.exec_id(t) for t in ledger.trades]
        assert {t["symbol"] for t in exchange.myTrades} == {market.symbol}  # spot events map to the spot market
        (order,) = exchange.orders
        assert order["symbol"] == market.symbol and order["clientOrderId"] == "streamed"
        assert D(str(order["filled"])) == ledger.orders[0].executed_qty == qty
        streamed = [json.loads(m.text) for m in venue.user_stream_log if m.topic == "order"]
        statuses = [m["data"][0]["orderStatus"] for m in streamed]
        assert statuses == ["New", "PartiallyFilled", "Filled"]
        entry = streamed[-1]["data"][0]
        assert entry["category"] == market.name
        # ccxt tells spot from contract orders by "tpslMode" alone: spot messages must not carry it.
        assert ("tpslMode" in entry) is (not market.spot) and ("createType" in entry) is (not market.spot)
        executions = [json.loads(m.text)["data"][0] for m in venue.user_stream_log if m.topic == "execution"]
        assert [e["execId"] for e in executions] == [venue.exec_id(t) for t in ledger.trades]
        assert all(e["orderLinkId"] == "streamed" and e["isMaker"] is False for e in executions)


async def test_linear_stream_sends_position_and_wallet() -> None:
    market = BY_NAME["linear"]
    async with rig(market) as (venue, exchange):
        async with asyncio.timeout(TIMEOUT_S):
            # ccxt's first watch_positions answers the REST snapshot (linear and inverse position lists)
            # without subscribing; the second subscribes to "position".
            assert await exchange.watch_positions() == []
        positions = asyncio.create_task(exchange.watch_positions())
        balance = asyncio.create_task(exchange.watch_balance())
        async with asyncio.timeout(TIMEOUT_S):
            await venue.wait_until(lambda: venue.subscriber_count("position") and venue.subscriber_count("wallet"))
        _, _, ask, _ = best(venue, market)
        await exchange.create_order(market.symbol, "limit", "buy", 20, float(ask), {"timeInForce": "IOC"})
        async with asyncio.timeout(TIMEOUT_S):
            got = await positions
            wallet = await balance
        assert any(p["symbol"] == market.symbol and p["contracts"] == 20 for p in got)
        # ccxt's watch_balance reads "equity" (wallet + unrealised PnL) as the total, unlike fetch_balance.
        position = alice(venue).position("XRPUSDT")
        bid, _, ask, _ = best(venue, market)
        upl = ((bid + ask) / 2 - position.entry_price) * position.qty  # the fake marks at the book's mid
        assert D(str(wallet["USDT"]["total"])) == alice(venue).balance("USDT").total + upl


async def test_a_silenced_stream_delivers_nothing_while_rest_shows_the_fill() -> None:
    market = BY_NAME["spot"]
    async with rig(market) as (venue, exchange):
        watch = await watching(venue, exchange.watch_my_trades(), "execution")
        venue.faults.silence_user_stream()
        _, _, ask, _ = best(venue, market)
        await ioc_buy(exchange, market, 0.001, ask, "quiet")
        assert await status_of(exchange, market, "quiet") == "Filled"
        assert len(await exchange.fetch_my_trades(market.symbol)) == 1
        assert venue.user_stream_log and not any(m.sent for m in venue.user_stream_log)
        assert venue.faults.count(FaultKind.USER_STREAM_SILENT) > 1
        assert not watch.done()
        venue.faults.resume_user_stream()  # what was withheld is lost; new events flow
        await exchange.create_order(market.symbol, "limit", "buy", 0.001, float(ask), {"timeInForce": "IOC"})
        async with asyncio.timeout(TIMEOUT_S):
            trades = await watch
        assert [t["id"] for t in trades] == [venue.exec_id(alice(venue).trades[-1])]


async def test_dropped_user_streams_make_the_watch_raise_and_a_new_watch_authenticates_again() -> None:
    market = BY_NAME["linear"]
    async with rig(market) as (venue, exchange):
        first = await watching(venue, exchange.watch_orders(), "order")
        assert await venue.drop_user_streams() == 1
        with pytest.raises(ccxt.NetworkError):
            async with asyncio.timeout(TIMEOUT_S):
                await first
        second = await watching(venue, exchange.watch_orders(), "order")
        assert [ok for _, _, ok in venue.auth_log] == [True, True]
        assert venue.faults.count(FaultKind.USER_STREAM_DROP) == 1
        _, _, ask, _ = best(venue, market)
        await exchange.create_order(market.symbol, "limit", "buy", 10, float(ask), {"timeInForce": "IOC"})
        async with asyncio.timeout(TIMEOUT_S):
            orders = await second
        assert orders[0]["symbol"] == market.symbol


async def test_ccxt_watch_with_a_wrong_secret_fails_authentication() -> None:
    market = BY_NAME["spot"]
    async with venue_for(market) as venue, client_for(venue, market, secret="wrong") as exchange:
        await exchange.load_markets()
        # ccxt raises ExchangeError, not AuthenticationError, for Bybit's documented failure shape
        # ({"success":false,"ret_msg":..,"op":"auth","conn_id":..} has no "request" key).
        with pytest.raises(ccxt.ExchangeError) as caught:
            async with asyncio.timeout(TIMEOUT_S):
                await exchange.watch_orders()
        assert "Request not authorized" in str(caught.value)
        assert venue.auth_log[-1][1:] == ("Request not authorized", False)


@asynccontextmanager
async def raw_private(venue: FakeBybitExchange) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(venue.private_ws_url) as ws:
        yield ws


async def ask_ws(ws: aiohttp.ClientWebSocketResponse, request: dict[str, Any]) -> dict[str, Any]:
    await ws.send_json(request)
    async with asyncio.timeout(TIMEOUT_S):
        reply: dict[str, Any] = await ws.receive_json()
    return reply


async def test_private_stream_auth_ping_and_subscribe_answers() -> None:
    market = BY_NAME["spot"]
    async with venue_for(market) as venue, raw_private(venue) as ws:
        refused = await ask_ws(ws, {"op": "subscribe", "args": ["order"], "req_id": "s0"})
        assert refused["success"] is False and refused["op"] == "subscribe" and refused["req_id"] == "s0"
        expired = str(int(time.time() * 1000) - 1000)
        reply = await ask_ws(ws, {"op": "auth", "args": [KEY, expired, ws_signature(SECRET, expired)]})
        assert reply == {"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": reply["conn_id"]}
        expires = str(int(time.time() * 1000) + 10_000)
        reply = await ask_ws(ws, {"op": "auth", "args": [KEY, expires, ws_signature("wrong", expires)]})
        assert reply["success"] is False and reply["ret_msg"] == "Request not authorized"
        reply = await ask_ws(ws, {"op": "auth", "args": [KEY, expires, ws_signature(SECRET, expires)]})
        assert reply == {"success": True, "ret_msg": "", "op": "auth", "conn_id": reply["conn_id"]}
        pong = await ask_ws(ws, {"op": "ping", "req_id": "p1"})
        assert pong["op"] == "pong" and pong["req_id"] == "p1" and pong["args"][0].isdigit()
        assert set(pong) == {"req_id", "op", "args", "conn_id"}
        ack = await ask_ws(ws, {"op": "subscribe", "args": ["order", "execution", "wallet"], "req_id": "s1"})
        assert ack == {"success": True, "ret_msg": "", "op": "subscribe", "conn_id": ack["conn_id"], "req_id": "s1"}
        bad = await ask_ws(ws, {"op": "subscribe", "args": ["orderbook.1.BTCUSDT"]})
        assert bad["success"] is False


async def test_categorised_and_fast_execution_topics() -> None:
    market = BY_NAME["linear"]
    async with rig(market) as (venue, exchange), raw_private(venue) as ws:
        expires = str(int(time.time() * 1000) + 10_000)
        assert (await ask_ws(ws, {"op": "auth", "args": [KEY, expires, ws_signature(SECRET, expires)]}))["success"]
        topics = ["order.linear", "execution.fast", "order.spot"]  # the spot topic never carries linear events
        assert (await ask_ws(ws, {"op": "subscribe", "args": topics}))["success"]
        _, _, ask, _ = best(venue, market)
        await ioc_buy(exchange, market, 10, ask, "fast")
        received = []
        async with asyncio.timeout(TIMEOUT_S):
            while len(received) < 3:
                received.append(await ws.receive_json())
        assert [m["topic"] for m in received] == ["order.linear", "execution.fast", "order.linear"]
        fast = received[1]["data"][0]
        (trade,) = alice(venue).trades
        assert set(fast) == {"category", "symbol", "execId", "execPrice", "execQty", "orderId", "isMaker",
                             "orderLinkId", "side", "execTime", "seq"}  # fmt: skip
        assert fast["execId"] == venue.exec_id(trade) and fast["orderLinkId"] == "fast" and fast["execQty"] == "10"
        assert received[-1]["data"][0]["orderStatus"] == "Filled"


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_dcp_cancels_orders_when_the_dcp_stream_stays_down_past_the_window(market: Market) -> None:
    clock = OffsetClock()
    async with rig(market, options=VenueOptions(clock=clock)) as (venue, exchange):
        answer = await exchange.cancel_all_orders_after(10_000, {"type": "spot" if market.spot else "swap"})
        assert answer == {"retCode": 0, "retMsg": "success"}
        bid, _, _, _ = best(venue, market)
        qty = 0.001 if market.spot else 10
        await exchange.create_order(market.symbol, "limit", "buy", qty, float(bid - market.rules.tick_size * 20))
        (order,) = alice(venue).orders
        async with raw_private(venue) as ws:
            expires = str(int(time.time() * 1000) + 10_000)
            assert (await ask_ws(ws, {"op": "auth", "args": [KEY, expires, ws_signature(SECRET, expires)]}))["success"]
            refused = await ask_ws(ws, {"op": "subscribe", "args": ["dcp"]})  # Bybit names only dcp.<product>
            assert not refused["success"] and refused["ret_msg"] == "error:handler not found,topic:dcp"
            topic = "dcp.spot" if market.spot else "dcp.future"
            assert topic == venue.dcp_topic
            assert (await ask_ws(ws, {"op": "subscribe", "args": [topic]}))["success"]
        async with asyncio.timeout(TIMEOUT_S):
            await venue.wait_for_disconnects(1)
        clock.advance(9.0)
        await venue.tick()
        assert order.status is OrderStatus.NEW and venue.dcp_triggers == []
        clock.advance(2.0)
        await venue.tick()
        assert order.status is OrderStatus.CANCELED
        (trigger,) = venue.dcp_triggers
        assert trigger.cancelled == (order.order_id,) and trigger.product == ("SPOT" if market.spot else "DERIVATIVES")
        clock.advance(-11.0)  # back within ccxt's recv_window to read the order over REST
        (entry,) = await realtime(exchange, market, orderId=venue.order_id(order))
        assert entry["orderStatus"] == "Cancelled" and entry["cancelType"] == "CancelByDCP"
