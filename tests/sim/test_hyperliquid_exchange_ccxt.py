"""ccxt 4.5.90's ``hyperliquid``, unpatched and pointed at the fake Hyperliquid only by ``urls['api']``, signs and
trades through it: its markets from ``metaAndAssetCtxs``, an order with a cloid found, listed and cancelled, an IOC
walking the book, its fills, position and balance, ``cancelAllOrdersAfter``, and the venue's refusal raised as
ccxt's ``InvalidOrder``; ccxt pro places an order over the socket and watches its update and fill. The rig is
:mod:`.test_hyperliquid_exchange`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from tests.sim.test_hyperliquid_exchange import ACCOUNT, ACCOUNT_KEY, CLOID, venue_for

SYMBOL = "BTC/USDC:USDC"


@asynccontextmanager
async def ccxt_for(rest_url: str, ws_url: str | None = None) -> AsyncIterator[Any]:
    """ccxt's client of the fake (ccxt pro's with ``ws_url``), the builder fee and referrer calls left out."""
    options = {"builderFee": False, "approvedBuilderFee": True, "refSet": True, "fetchMarkets": {"types": ["swap"]}}
    config = {"walletAddress": ACCOUNT, "privateKey": ACCOUNT_KEY, "options": options, "enableRateLimit": False}
    exchange = ccxt.hyperliquid(config) if ws_url is None else ccxtpro.hyperliquid(config)
    exchange.urls["api"] = {"public": rest_url, "private": rest_url, "ws": {"public": ws_url}}
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_ccxt_trades_against_the_fake(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, ccxt_for(venue.rest_url) as exchange:
        markets = await exchange.load_markets()
        assert markets[SYMBOL]["precision"]["amount"] == 0.00001 and markets[SYMBOL]["limits"]["cost"]["min"] == 10
        placed = await exchange.create_order(SYMBOL, "limit", "buy", 0.001, 59000, {"clientOrderId": CLOID})
        assert placed["clientOrderId"] == CLOID
        assert (await exchange.fetch_order(placed["id"], SYMBOL))["status"] == "open"
        assert [o["id"] for o in await exchange.fetch_open_orders(SYMBOL)] == [placed["id"]]
        assert (await exchange.cancel_order(placed["id"], SYMBOL))["status"] == "success"
        taken = await exchange.create_order(SYMBOL, "limit", "buy", 0.3, 60020, {"timeInForce": "IOC"})
        assert D(str(taken["filled"])) == D("0.3")
        trades = await exchange.fetch_my_trades(SYMBOL)
        assert sorted((t["price"], t["amount"], t["takerOrMaker"]) for t in trades) == [
            (60010.0, 0.2, "taker"), (60020.0, 0.1, "taker")]  # fmt: skip
        [position] = await exchange.fetch_positions([SYMBOL])
        assert (position["contracts"], position["side"]) == (0.3, "long")
        paid = D("60010") * D("0.2") + D("60020") * D("0.1")
        fees = paid * D("0.00045")
        unrealized = D("60005") * D("0.3") - paid  # marked at the book's mid
        assert D(str((await exchange.fetch_balance())["USDC"]["total"])) == D("100000") - fees + unrealized
        assert await exchange.cancel_all_orders_after(10_000) == {"status": "ok", "response": {"type": "default"}}
        with pytest.raises(ccxt.InvalidOrder, match=r"minimum value of \$10"):
            await exchange.create_order(SYMBOL, "limit", "buy", 0.0001, 59000)
        assert venue.schedule_triggers == [] and venue.orders.schedules["alice"] > 0


async def test_ccxt_pro_places_over_the_socket_and_watches_orders_and_fills(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, ccxt_for(venue.rest_url, venue.private_ws_url) as exchange:
        await exchange.load_markets()
        orders = asyncio.create_task(exchange.watch_orders(SYMBOL))
        fills = asyncio.create_task(exchange.watch_my_trades(SYMBOL))
        await venue.wait_until(lambda: venue.user_streams_up() and venue.subscriber_count(f"userFills:{ACCOUNT}") == 1)
        placed = await exchange.create_order_ws(SYMBOL, "limit", "buy", 0.001, 59995, {"clientOrderId": CLOID})
        assert placed["clientOrderId"] == CLOID and venue.user_stream.posts == [(0, "action")]
        [watched] = await orders
        assert (watched["id"], watched["status"], watched["clientOrderId"]) == (placed["id"], "open", CLOID)
        await venue.advance(1)  # the book crosses it
        [fill] = await fills
        assert (fill["price"], fill["amount"], fill["order"]) == (59995.0, 0.001, placed["id"])
