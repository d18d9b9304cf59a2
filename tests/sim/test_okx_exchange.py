"""ccxt 4.5.90's ``okx``, unpatched and pointed at the fake private OKX only by ``urls['api']``, trading spot
(``BTC-USDT``) and the USDT perpetual swap (``BTC-USDT-SWAP``, sizes in contracts of 0.01 BTC).

The books are built here (:func:`okx_recording`): OKX ``books`` pushes, a snapshot and then updates, so each
test knows the levels it trades against; expected fills are computed from those levels, never from the ledger's
own arithmetic. No test sleeps: they await the venue's conditions or ccxt's answers, each bounded by
``asyncio.timeout``. The venue's clock is real time plus an offset a test can move (``OffsetClock``); ccxt signs
with the venue's time through ``options['timeDifference']``.

The other ``test_okx_exchange_*`` modules use the rig defined here: the private WebSocket (``_ws``), the faults
(``_faults``), the funding account (``_assets``).
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the many literals below
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from arb.sim import fake_exchange
from arb.sim.ledger import LedgerAccount, OrderStatus, SymbolRules
from arb.sim.okx.exchange import DEFAULT_PASSPHRASE, FakeOkxExchange
from arb.sim.okx.public import OkxMarket
from arb.sim.options import VenueOptions
from tests.support.clocks import OffsetClock

KEY, SECRET, PASSPHRASE = "okxKey0123", "okxSecret0123456789", "okxPass1"
SPOT, SWAP = "BTC-USDT", "BTC-USDT-SWAP"
START_MS = 1_723_161_250_000
TIMEOUT_S = 60.0
"""A bound on a step that hangs, not on its speed: a busy machine runs these several times slower."""
Levels = Sequence[tuple[str, str]]
# The books: spot sizes in BTC, swap sizes in contracts (100 contracts = 1 BTC).
BOOKS: dict[str, tuple[Levels, Levels]] = {
    SPOT: ([("59990", "1.5"), ("59980", "2")], [("60010", "0.5"), ("60020", "2")]),
    SWAP: ([("59990", "150"), ("59980", "200")], [("60010", "50"), ("60020", "200")]),
}
BALANCES = {SPOT: {"USDT": "1000000", "BTC": "2"}, SWAP: {"USDT": "100000"}}


def okx_recording(
    path: Path, inst: str, *, changes: Sequence[tuple[Levels, Levels]] = (), heartbeats: int = 40
) -> Path:
    """A collector-format recording (``<ns> <json>`` lines, gzip) of ``inst``'s ``books``: the snapshot of
    :data:`BOOKS`, then one update per change (``(bids, asks)``, size "0" deletes), then ``heartbeats`` empty
    updates (``seqId == prevSeqId``), 100 ms apart."""
    bids, asks = BOOKS[inst]

    def push(action: str, b: Levels, a: Levels, ts: int, prev: int, seq: int) -> dict[str, Any]:
        data = {"asks": [[p, q, "0", "1"] for p, q in a], "bids": [[p, q, "0", "1"] for p, q in b], "ts": str(ts),
                "checksum": 0, "prevSeqId": prev, "seqId": seq}  # fmt: skip
        return {"arg": {"channel": "books", "instId": inst}, "action": action, "data": [data]}

    ts, seq = START_MS, 1000
    lines = [push("snapshot", bids, asks, ts, -1, seq)]
    for b, a in changes:
        ts += 100
        lines.append(push("update", b, a, ts, seq, seq + 1))
        seq += 1
    for _ in range(heartbeats):
        ts += 100
        lines.append(push("update", [], [], ts, seq, seq))
    with gzip.open(path, "wb") as out:
        for line in lines:
            stamp = int(line["data"][0]["ts"]) * 1_000_000 + 3_000_000
            out.write(f"{stamp} ".encode() + json.dumps(line, separators=(",", ":")).encode() + b"\n")
    return path


@asynccontextmanager
async def venue_for(
    tmp_path: Path, inst: str = SWAP, *, clock: OffsetClock | None = None,
    changes: Sequence[tuple[Levels, Levels]] = (), funding: dict[str, str] | None = None, **options: Any,
) -> AsyncIterator[FakeOkxExchange]:  # fmt: skip
    """A started fake OKX trading ``inst`` with one account ("alice", :data:`BALANCES`), its book's snapshot
    released (the ``changes`` not yet)."""
    recording = okx_recording(tmp_path / f"{inst}.gz", inst, changes=changes)
    market: OkxMarket = "linear" if inst == SWAP else "spot"
    venue_options = VenueOptions(clock=clock) if clock is not None else None
    async with FakeOkxExchange(recording, market=market, instruments=[inst], options=venue_options,
                               **options) as venue:  # fmt: skip
        venue.add_account("alice", api_key=KEY, api_secret=SECRET, passphrase=PASSPHRASE, balances=BALANCES[inst],
                          funding=funding)  # fmt: skip
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance(1)
        yield venue


def okx_client(
    venue: FakeOkxExchange, inst: str = SWAP, *, pro: bool = False, demo: bool = False, key: str = KEY,
    secret: str = SECRET, password: str = PASSPHRASE, clock: OffsetClock | None = None, timeout_ms: int = 10_000,
) -> Any:  # fmt: skip
    """A ccxt ``okx`` client on the venue: every REST family on its REST base, the WebSocket base
    (``/ws/v5``) on its port, markets of ``inst``'s kind only, ``demo``: ccxt's sandbox mode (the
    ``x-simulated-trading: 1`` header); signing with the venue's ``clock`` (``timeDifference``)."""
    module = ccxtpro if pro else ccxt
    kind = "swap" if inst == SWAP else "spot"
    exchange = module.okx({"apiKey": key, "secret": secret, "password": password, "enableRateLimit": False,
                           "timeout": timeout_ms, "options": {"fetchMarkets": {"types": [kind]}, "defaultType": kind,
                                                              "maxRetriesOnFailure": 0}})  # fmt: skip
    if demo:
        exchange.set_sandbox_mode(True)
    exchange.urls["api"] = {"rest": venue.rest_url, "ws": venue.ws_base_url}
    exchange.timeout_on_exit = 0  # no TLS transports to wait for
    if clock is not None:
        exchange.options["timeDifference"] = -int(clock.offset * 1000)
    return exchange


@asynccontextmanager
async def rig(tmp_path: Path, inst: str = SWAP, **options: Any) -> AsyncIterator[tuple[FakeOkxExchange, Any]]:
    """:func:`venue_for` and a ccxt client on it, markets loaded."""
    async with venue_for(tmp_path, inst, **options) as venue:
        exchange = okx_client(venue, inst, clock=options.get("clock"))
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await exchange.load_markets()
            yield venue, exchange
        finally:
            await exchange.close()


def alice(venue: FakeOkxExchange) -> LedgerAccount:
    return venue.ledger.accounts["alice"]


def symbol_of(inst: str) -> str:
    return "BTC/USDT:USDT" if inst == SWAP else "BTC/USDT"


def code_of(error: BaseException) -> str:
    """The per-order ``sCode`` (else the envelope's ``code``) of the OKX body ccxt quotes in its exception."""
    body = json.loads(str(error).split(" ", 1)[1])
    data = body.get("data") or []
    return str(data[0]["sCode"]) if data and "sCode" in data[0] else str(body["code"])


async def place(exchange: Any, inst: str, side: str, size: D | str, price: D | str, client_id: str,
                tif: str = "IOC") -> Any:  # fmt: skip
    """A limit order through ccxt (``create_order``: OKX's ``batch-orders``); ``tif`` IOC, PO or GTC."""
    params: dict[str, Any] = {"clientOrderId": client_id}
    if tif == "PO":
        params["postOnly"] = True
    elif tif != "GTC":
        params["timeInForce"] = tif
    return await exchange.create_order(symbol_of(inst), "limit", side, float(size), float(price), params)


INSTS = [SPOT, SWAP]


# -- markets and fills ------------------------------------------------------------------------------


def test_the_fake_is_found_by_the_venues_name() -> None:
    assert fake_exchange("okx") is FakeOkxExchange


async def test_the_fake_takes_rules_in_base_units_as_the_other_fakes_do(tmp_path: Path) -> None:
    # what a generic caller (arb parity --live, the rigs) passes every fake: sessions, market, rules, options
    rules = SymbolRules.of("BTCUSDT", tick_size="0.1", step_size="0.0001", min_qty="0.0002")
    async with fake_exchange("okx")(okx_recording(tmp_path / "swap.gz", SWAP), market="linear", rules=[rules],
                                    options=VenueOptions()) as venue:  # fmt: skip
        venue.add_account("alice", api_key=KEY, api_secret=SECRET, balances={"USDT": "100000"})
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance(1)
        inst = venue.instruments[SWAP]
        assert (inst.fields["lotSz"], inst.fields["minSz"], inst.fields["ctVal"]) == ("0.01", "0.02", "0.01")
        assert (inst.rules.step_size, inst.rules.min_qty) == (D("0.0001"), D("0.0002"))
        exchange = okx_client(venue, password=DEFAULT_PASSPHRASE)
        try:
            placed = await place(exchange, SWAP, "buy", "10", "60010", "generic1")
            assert (await exchange.fetch_order(placed["id"], symbol_of(SWAP)))["filled"] == 10
        finally:
            await exchange.close()
        assert alice(venue).position(SWAP).qty == D("0.1")  # 10 contracts of 0.01 BTC


@pytest.mark.parametrize("inst", INSTS)
async def test_load_markets_lists_the_instrument_with_its_code_and_rules(inst: str, tmp_path: Path) -> None:
    async with rig(tmp_path, inst) as (venue, exchange):
        market = exchange.markets[symbol_of(inst)]
        assert market["id"] == inst and market["instIdCode"] == venue.inst_id_code(inst)
        assert D(str(market["precision"]["price"])) == D("0.1")
        if inst == SWAP:
            assert market["instIdCode"] == 10459  # BTC-USDT-SWAP's code, as OKX publishes it
            assert market["contractSize"] == 0.01 and market["precision"]["amount"] == 0.01
            assert market["linear"] and market["settle"] == "USDT"
        else:
            assert D(str(market["limits"]["amount"]["min"])) == D("0.00001")
        book = await exchange.fetch_order_book(symbol_of(inst), 5)
        assert [[D(str(p)), D(str(q))] for p, q, *_ in book["asks"]] == [[D(p), D(q)] for p, q in BOOKS[inst][1]]


@pytest.mark.parametrize("inst", INSTS)
async def test_an_ioc_buy_takes_the_levels_it_crosses_and_every_query_agrees(inst: str, tmp_path: Path) -> None:
    async with rig(tmp_path, inst) as (venue, exchange):
        (ask, ask_size), (ask2, _) = BOOKS[inst][1]
        size = D(ask_size) + (D("0.1") if inst == SPOT else D(10))  # all of the best level and some of the next
        placed = await place(exchange, inst, "buy", size, "60020", "ioc1")
        assert placed["clientOrderId"] == "ioc1" and placed["status"] is None  # OKX's answer is an acknowledgement
        by_id = await exchange.fetch_order(placed["id"], symbol_of(inst))
        by_client = await exchange.fetch_order(None, symbol_of(inst), {"clientOrderId": "ioc1"})
        assert by_id["info"] == by_client["info"]
        assert by_id["status"] == "closed" and D(str(by_id["filled"])) == size
        cost = D(ask) * D(ask_size) + D(ask2) * (size - D(ask_size))
        assert D(by_id["info"]["avgPx"]) == cost / size
        (order,) = alice(venue).orders
        unit = D("0.01") if inst == SWAP else D(1)
        assert order.status is OrderStatus.FILLED and order.executed_qty == size * unit
        trades = await exchange.fetch_my_trades(symbol_of(inst))
        assert [(D(str(t["price"])), D(str(t["amount"]))) for t in trades] == [
            (D(ask), D(ask_size)), (D(ask2), size - D(ask_size))
        ]  # fmt: skip
        assert {t["takerOrMaker"] for t in trades} == {"taker"} and {t["order"] for t in trades} == {placed["id"]}
        fee_ccy = "BTC" if inst == SPOT else "USDT"  # a spot buy pays its fee in the currency received
        assert {t["fee"]["currency"] for t in trades} == {fee_ccy}
        assert all(D(t["info"]["fee"]) < 0 for t in trades)  # OKX: negative is a fee charged
        expected_fee = sum((t.fee for t in order.trades), D(0))
        assert sum((D(t["info"]["fee"]) for t in trades), D(0)) == -expected_fee


@pytest.mark.parametrize("inst", INSTS)
async def test_an_ioc_larger_than_the_book_fills_what_it_may_and_cancels_the_rest(inst: str, tmp_path: Path) -> None:
    async with rig(tmp_path, inst) as (venue, exchange):
        (ask, ask_size), _ = BOOKS[inst][1]
        size = D(ask_size) * 2
        placed = await place(exchange, inst, "buy", size, ask, "part1")  # only the best level is at its price
        found = await exchange.fetch_order(placed["id"], symbol_of(inst))
        assert found["status"] == "canceled" and D(str(found["filled"])) == D(ask_size)
        assert found["info"]["state"] == "canceled" and found["info"]["cancelSource"] == "14"
        (order,) = alice(venue).orders
        assert order.status is OrderStatus.EXPIRED and order.remaining == order.qty / 2


@pytest.mark.parametrize("inst", INSTS)
async def test_a_resting_order_is_listed_open_then_cancelled_once(inst: str, tmp_path: Path) -> None:
    async with rig(tmp_path, inst) as (venue, exchange):
        size = "0.01" if inst == SPOT else "3"
        placed = await place(exchange, inst, "buy", size, "59000", "rest1", tif="GTC")
        (listed,) = await exchange.fetch_open_orders(symbol_of(inst))
        assert listed["id"] == placed["id"] and listed["info"]["state"] == "live"
        canceled = await exchange.cancel_order(placed["id"], symbol_of(inst))
        assert canceled["id"] == placed["id"]
        found = await exchange.fetch_order(placed["id"], symbol_of(inst))
        assert found["status"] == "canceled" and found["info"]["cancelSource"] == "1"
        assert await exchange.fetch_open_orders(symbol_of(inst)) == []
        with pytest.raises(ccxt.OrderNotFound) as caught:
            await exchange.cancel_order(placed["id"], symbol_of(inst))
        assert code_of(caught.value) == "51400"
        (order,) = alice(venue).orders
        assert order.status is OrderStatus.CANCELED and order.locked == 0


@pytest.mark.parametrize("inst", INSTS)
async def test_a_post_only_that_would_take_is_accepted_then_cancelled_with_source_31(inst: str, tmp_path: Path) -> None:
    async with rig(tmp_path, inst) as (venue, exchange):
        (ask, _), _ = BOOKS[inst][1]
        size = "0.01" if inst == SPOT else "1"
        placed = await place(exchange, inst, "buy", size, ask, "po1", tif="PO")
        found = await exchange.fetch_order(placed["id"], symbol_of(inst))
        assert found["info"]["ordType"] == "post_only" and found["status"] == "canceled"
        assert found["info"]["cancelSource"] == "31" and found["filled"] == 0
        (refusal,) = venue.ledger.post_only_refusals
        assert refusal.client_id == "po1" and not refusal.refused


async def test_a_client_id_is_refused_while_an_open_order_has_it_and_free_once_it_is_done(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        first = await place(exchange, SWAP, "buy", "2", "59000", "dup1", tif="GTC")
        with pytest.raises(ccxt.InvalidOrder) as caught:
            await place(exchange, SWAP, "buy", "2", "59000", "dup1", tif="GTC")
        assert code_of(caught.value) == "51016"
        await exchange.cancel_order(first["id"], symbol_of(SWAP))
        again = await place(exchange, SWAP, "buy", "2", "59000", "dup1", tif="GTC")  # unique among open orders only
        assert again["id"] != first["id"] and venue.ledger.order_requests == [("alice", "dup1")] * 3
        with pytest.raises(ccxt.BadRequest):  # up to 32 letters and digits
            await place(exchange, SWAP, "buy", "2", "59000", "not-alphanumeric", tif="GTC")


async def test_a_batch_is_answered_per_order_with_code_2_when_some_fail(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        good = {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "limit", "px": "59000", "sz": "1",
                "clOrdId": "b1"}  # fmt: skip
        response = await exchange.privatePostTradeBatchOrders(
            [good, {**good, "clOrdId": "b2", "sz": "0.001"}, {**good, "clOrdId": "b1"}]
        )
        assert response["code"] == "2" and response["msg"] == "Bulk operation partially succeeded."
        assert [(d["clOrdId"], d["sCode"]) for d in response["data"]] == [("b1", "0"), ("b2", "51121"), ("b1", "51016")]
        assert response["data"][0]["sMsg"] == "Order placed" and "inTime" in response
        assert [(o.client_id, str(o.order_id)) for o in alice(venue).orders] == [("b1", response["data"][0]["ordId"])]


# -- the swap account -------------------------------------------------------------------------------


async def test_positions_balance_fees_and_config_follow_the_ledger(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        await place(exchange, SWAP, "buy", "30", "60010", "pos1")
        await place(exchange, SWAP, "sell", "10", "59990", "pos2")
        (position,) = await exchange.fetch_positions([symbol_of(SWAP)])
        held = alice(venue).positions[SWAP]
        assert position["contracts"] == 20 and position["side"] == "long" and held.qty == D("0.2")
        assert D(position["info"]["avgPx"]) == D("60010") and position["info"]["posSide"] == "net"
        assert D(position["info"]["pnl"]) == held.realized_pnl == (D("59990") - D("60010")) * D("0.1")
        mid = (D("59990") + D("60010")) / 2  # the fake's mark price: the book's mid
        assert D(position["info"]["upl"]) == (mid - D("60010")) * D("0.2")
        balance = await exchange.fetch_balance()
        wallet = alice(venue).balances["USDT"]
        upl = (mid - D("60010")) * D("0.2")
        assert D(str(balance["USDT"]["total"])) == wallet.total + upl
        assert D(str(balance["USDT"]["free"])) == wallet.total + upl - held.initial_margin
        fee = await exchange.fetch_trading_fee(symbol_of(SWAP))
        assert (D(str(fee["maker"])), D(str(fee["taker"]))) == (D("0.0002"), D("0.0005"))
        config = (await exchange.privateGetAccountConfig())["data"][0]
        assert (config["acctLv"], config["posMode"], config["uid"]) == ("2", "net_mode", venue.uid("alice"))
        reduce_only = {"reduceOnly": True, "timeInForce": "IOC"}
        with pytest.raises(ccxt.ExchangeError) as caught:  # more than the position
            await exchange.create_order(symbol_of(SWAP), "limit", "sell", 25, 59990, reduce_only)
        assert code_of(caught.value) == "51169" and len(alice(venue).orders) == 2
        await exchange.create_order(symbol_of(SWAP), "limit", "sell", 20, 59990, reduce_only)
        assert held.qty == 0 and await exchange.fetch_positions() == []
        (flat,) = await exchange.fetch_positions([symbol_of(SWAP)])  # named, a position once held is listed flat
        assert flat["contracts"] == 0 and D(flat["info"]["pnl"]) == held.realized_pnl


async def test_an_account_put_in_long_short_mode_reads_so_and_needs_pos_side(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.set_position_mode("alice", "long_short_mode")  # as the owner would on OKX's site
        (config,) = (await exchange.privateGetAccountConfig())["data"]
        assert (config["posMode"], config["acctLv"]) == ("long_short_mode", "2")
        with pytest.raises(ccxt.BadRequest) as caught:
            await place(exchange, SWAP, "buy", "1", "59000", "mode1", tif="GTC")
        assert code_of(caught.value) == "51000" and alice(venue).orders == []
        with pytest.raises(ValueError, match="posMode"):
            venue.set_position_mode("alice", "hedge")


async def test_long_short_mode_refuses_an_order_without_pos_side(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        await exchange.set_position_mode(True)
        assert venue.position_mode("alice") == "long_short_mode"
        with pytest.raises(ccxt.BadRequest) as caught:
            await exchange.create_order(symbol_of(SWAP), "limit", "buy", 1, 59000, {"hedged": False})
        assert code_of(caught.value) == "51000" and "Parameter posSide error" in str(caught.value)
        await exchange.set_position_mode(False)
        await place(exchange, SWAP, "buy", "1", "60010", "open1")
        with pytest.raises(ccxt.ExchangeError) as caught:  # a position is open: the mode stays
            await exchange.set_position_mode(True)
        assert code_of(caught.value) == "59000" and venue.position_mode("alice") == "net_mode"


async def test_spot_refuses_reduce_only_and_quote_sized_market_buys(tmp_path: Path) -> None:
    async with rig(tmp_path, SPOT) as (venue, exchange):
        body = {"instId": SPOT, "tdMode": "cash", "side": "sell", "ordType": "limit", "px": "60000", "sz": "0.1",
                "reduceOnly": True}  # fmt: skip
        with pytest.raises(ccxt.ExchangeError) as caught:
            await exchange.privatePostTradeOrder(body)
        assert code_of(caught.value) == "51205"
        with pytest.raises(ccxt.BadRequest) as caught:  # OKX's default for a market buy: an amount of quote
            await exchange.privatePostTradeOrder({"instId": SPOT, "tdMode": "cash", "side": "buy",
                                                  "ordType": "market", "sz": "100"})  # fmt: skip
        assert "tgtCcy" in str(caught.value)
        bought = await exchange.create_order(symbol_of(SPOT), "market", "buy", 0.1)  # ccxt sends tgtCcy=base_ccy
        found = await exchange.fetch_order(bought["id"], symbol_of(SPOT))
        assert found["status"] == "closed" and D(str(found["filled"])) == D("0.1")
        assert alice(venue).balances["BTC"].total == D("2") + D("0.1") * (1 - D("0.001"))


# -- amending ---------------------------------------------------------------------------------------


async def test_an_amended_order_keeps_its_id_and_may_take_at_its_new_price(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        placed = await place(exchange, SWAP, "buy", "10", "59000", "am1", tif="GTC")
        edited = await exchange.edit_order(placed["id"], symbol_of(SWAP), "limit", "buy", 20, 59500)
        assert edited["id"] == placed["id"]
        (order,) = alice(venue).orders
        assert (order.qty, order.price, order.status) == (D("0.2"), D("59500"), OrderStatus.NEW)
        await exchange.edit_order(placed["id"], symbol_of(SWAP), "limit", "buy", 20, 60010)  # crosses the ask
        found = await exchange.fetch_order(placed["id"], symbol_of(SWAP))
        assert found["status"] == "closed" and found["filled"] == 20 and found["average"] == 60010
        assert order.trades[0].is_maker is False
        with pytest.raises(ccxt.OrderNotFound) as caught:
            await exchange.edit_order(placed["id"], symbol_of(SWAP), "limit", "buy", 30, 59000)
        assert code_of(caught.value) == "51503"


async def test_a_post_only_amended_to_take_is_refused_and_stays_as_it_was(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        placed = await place(exchange, SWAP, "buy", "10", "59000", "am2", tif="PO")
        with pytest.raises(ccxt.ExchangeError) as caught:
            await exchange.edit_order(placed["id"], symbol_of(SWAP), "limit", "buy", 10, 60010)
        assert code_of(caught.value) == "51511"
        (order,) = alice(venue).orders
        assert (order.price, order.status) == (D("59000"), OrderStatus.NEW)
        assert order.locked == D("0.1") * D("59000") / 10  # margin at the old price, locked again


# -- the book moves ---------------------------------------------------------------------------------


async def test_a_resting_order_fills_as_maker_when_the_book_trades_through_it(tmp_path: Path) -> None:
    through = ([("59990", "0"), ("59890", "150")], [("60010", "0"), ("59900", "80")])
    async with rig(tmp_path, changes=[through]) as (venue, exchange):
        placed = await place(exchange, SWAP, "buy", "30", "59950", "mk1", tif="PO")
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance(1)  # the ask falls to 59900: the quote at 59950 fills at its own price
        found = await exchange.fetch_order(placed["id"], symbol_of(SWAP))
        assert found["status"] == "closed" and found["average"] == 59950
        (trade,) = await exchange.fetch_my_trades(symbol_of(SWAP))
        assert trade["takerOrMaker"] == "maker" and D(trade["info"]["fee"]) == -D("0.3") * D("59950") * D("0.0002")


# -- authentication ---------------------------------------------------------------------------------


async def test_a_request_is_refused_by_each_of_its_headers(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with venue_for(tmp_path, clock=clock) as venue:
        cases: list[tuple[dict[str, Any], str, type[Exception]]] = [
            ({"secret": "wrong"}, "50113", ccxt.AuthenticationError),
            ({"password": "wrong"}, "50105", ccxt.AuthenticationError),
            ({"key": "nobody"}, "50111", ccxt.AuthenticationError),
            ({"demo": True}, "50101", ccxt.AuthenticationError),
        ]
        for change, code, error in cases:
            exchange = okx_client(venue, **change)
            try:
                with pytest.raises(error) as caught:
                    await exchange.privateGetAccountBalance()
                assert code_of(caught.value) == code and venue.stats.rest_requests[-1].status == 401
            finally:
                await exchange.close()
        clock.advance(31.0)  # the venue's clock runs ahead of ccxt's: its timestamps are stale
        exchange = okx_client(venue)
        try:
            with pytest.raises(ccxt.InvalidNonce) as caught:
                await exchange.privateGetAccountBalance()
            assert code_of(caught.value) == "50102"
            exchange.options["timeDifference"] = -31_000
            assert (await exchange.privateGetAccountBalance())["code"] == "0"
        finally:
            await exchange.close()


async def test_a_demo_venue_requires_the_simulated_trading_header(tmp_path: Path) -> None:
    async with venue_for(tmp_path, demo=True) as venue:
        live, demo = okx_client(venue), okx_client(venue, demo=True)
        try:
            with pytest.raises(ccxt.AuthenticationError) as caught:
                await live.privateGetAccountBalance()
            assert code_of(caught.value) == "50101"
            await demo.load_markets()
            placed = await place(demo, SWAP, "buy", "1", "60010", "demo1")
            assert (await demo.fetch_order(placed["id"], symbol_of(SWAP)))["status"] == "closed"
        finally:
            await live.close()
            await demo.close()


# -- Cancel All After -------------------------------------------------------------------------------


async def test_cancel_all_after_cancels_every_open_order_once_it_expires(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with rig(tmp_path, clock=clock) as (venue, exchange):
        for k in range(3):
            await place(exchange, SWAP, "buy", "1", str(59000 - k), f"caa{k}", tif="GTC")
        answer = (await exchange.privatePostTradeCancelAllAfter({"timeOut": "10"}))["data"][0]
        assert int(answer["triggerTime"]) - int(answer["ts"]) == 10
        clock.advance(9.0)
        await venue.tick()
        assert len(venue.ledger.open_orders(alice(venue))) == 3
        clock.advance(1.5)
        await venue.tick()
        assert venue.ledger.open_orders(alice(venue)) == []
        (trigger,) = venue.caa_triggers
        assert trigger.account == "alice" and len(trigger.cancelled) == 3
        exchange.options["timeDifference"] = -int(clock.offset * 1000)
        found = await exchange.fetch_order(None, symbol_of(SWAP), {"clientOrderId": "caa0"})
        assert found["status"] == "canceled" and found["info"]["cancelSource"] == "20"
        with pytest.raises(ccxt.BadRequest):
            await exchange.privatePostTradeCancelAllAfter({"timeOut": "5"})  # 0 or 10..120
