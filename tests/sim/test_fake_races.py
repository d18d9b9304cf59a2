"""The fakes' races between the book and a client: the order hold (``FaultPlan.order_hold``: a request that
reaches the venue only once so many market frames have been released, as one crossing the network while the
book moves) and the lagging feed (``FaultPlan.lag_feed``: the venue matches on its book at once, its public
stream shows the move later). ccxt, unpatched, against both fake spot venues replaying a constructed book
(``arb.testing.scenarios``), released frame by frame.

- A cancel held while the book trades through its resting post-only buy finds the order filled (a maker
  fill at its own price) and is answered "unknown order" (Binance ``-2011``, Bybit ``170213``).
- A post-only create held while the book moves down through its price would take when it arrives:
  Binance refuses it (``-2010``), Bybit acknowledges it and cancels it (``EC_PostOnlyWillTakeLiquidity``);
  the ledger lists both in ``post_only_refusals``.
- With the feed lagging, the frame that trades through a resting quote fills it at once, and reaches the
  public stream's subscriber only after the lag, in order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from arb.execution.ccxt_setup import make_exchange
from arb.sim.faults import FaultKind
from arb.sim.ledger import OrderStatus
from arb.testing.pair_rig import KEY, SECRET, account, spot_pair
from arb.testing.scenarios import Book, Change, write_scenario

BOUND_S = 20.0
"""A bound on a step that hangs (each takes milliseconds when nothing does)."""
THROUGH_MS = 100
"""When the venue's book moves down through 59950: ask 59900, bid 59890 (ms after the recording starts)."""
DAY = dt.date(2024, 5, 6)
START_MS = int(dt.datetime(2024, 5, 6, 0, 0, 1, tzinfo=dt.UTC).timestamp() * 1000)


@asynccontextmanager
async def rig(tmp_path: Path, name: str) -> AsyncIterator[tuple[Any, Any]]:
    """The fake spot venue ``name`` on a book 59990 / 60010 that moves down to 59890 / 59900 at
    ``THROUGH_MS``, released up to that frame (excluded), and a ccxt client on it, markets loaded."""
    steady = Book(bids={59990.0: 1.0}, asks={60010.0: 1.0})
    through = Change(THROUGH_MS, name, bids={59990.0: 0.0, 59890.0: 1.0}, asks={60010.0: 0.0, 59900.0: 1.0})
    files = write_scenario(tmp_path, DAY, Book(dict(steady.bids), dict(steady.asks)),
                           Book(dict(steady.bids), dict(steady.asks)), [through], duration_ms=2_000,
                           heartbeat_ms=500, start_ms=START_MS)  # fmt: skip
    async with spot_pair(*files) as venues:
        venue = venues[0] if name == "binance" else venues[1]
        async with asyncio.timeout(BOUND_S):
            await venue.advance_until((START_MS + THROUGH_MS) * 1_000_000)  # every frame before it
        exchange = make_exchange(name, "spot", rest=venue.rest_url, api_key=KEY, api_secret=SECRET, timeout_ms=5000)
        try:
            async with asyncio.timeout(BOUND_S):
                await exchange.load_markets()
            yield venue, exchange
        finally:
            await exchange.close()


def _post_only(name: str, client_id: str) -> dict[str, Any]:
    key = "newClientOrderId" if name == "binance" else "orderLinkId"
    return {"timeInForce": "PO", key: client_id}


@pytest.mark.parametrize("name", ["binance", "bybit"])
async def test_a_held_cancel_finds_its_quote_filled_meanwhile_and_is_answered_unknown_order(
    name: str, tmp_path: Path
) -> None:
    async with rig(tmp_path, name) as (venue, exchange):
        async with asyncio.timeout(BOUND_S):
            placed = await exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 59950.0, _post_only(name, "q-1"))
        (order,) = account(venue).orders
        assert order.status is OrderStatus.NEW
        venue.faults.order_hold(1, operation="cancel")
        cancel = asyncio.create_task(exchange.cancel_order(placed["id"], "BTC/USDT"))
        async with asyncio.timeout(BOUND_S):
            await venue.wait_until(lambda: venue.faults.count(FaultKind.ORDER_HOLD) == 1)
        assert not cancel.done() and order.status is OrderStatus.NEW  # held: the venue has not seen it yet
        async with asyncio.timeout(BOUND_S):
            await venue.advance(1)  # the book trades through 59950: the quote fills as a maker
            with pytest.raises(ccxt.OrderNotFound, match=r"-2011|170213"):
                await cancel
        assert order.status is OrderStatus.FILLED and order.executed_qty == Decimal("0.01")
        (trade,) = order.trades
        assert trade.is_maker and trade.price == Decimal("59950")


@pytest.mark.parametrize("name", ["binance", "bybit"])
async def test_a_held_post_only_create_meets_the_book_that_moved_through_its_price(name: str, tmp_path: Path) -> None:
    async with rig(tmp_path, name) as (venue, exchange):
        venue.faults.order_hold(1, operation="create")
        create = asyncio.create_task(
            exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 59950.0, _post_only(name, "q-2"))
        )
        async with asyncio.timeout(BOUND_S):
            await venue.wait_until(lambda: venue.faults.count(FaultKind.ORDER_HOLD) == 1)
            assert account(venue).orders == [] and venue.ledger.order_requests == []
            await venue.advance(1)  # the ask falls to 59900: a buy at 59950 would take
            if name == "binance":
                with pytest.raises(ccxt.InvalidOrder, match="Order would immediately match and take"):
                    await create
            else:
                await create  # acknowledged; the venue cancels it at once
        (refusal,) = venue.ledger.post_only_refusals
        assert (refusal.client_id, refusal.refused) == ("q-2", name == "binance")
        assert venue.ledger.order_requests == [("arb", "q-2")]
        if name == "binance":
            assert account(venue).orders == []
        else:
            (order,) = account(venue).orders
            assert order.status is OrderStatus.EXPIRED and order.executed_qty == 0


@pytest.mark.parametrize("name", ["binance", "bybit"])
async def test_a_lagging_feed_shows_the_move_after_the_venue_matched_on_it(name: str, tmp_path: Path) -> None:
    stream = "btcusdt@depth@100ms" if name == "binance" else "orderbook.50.BTCUSDT"
    async with rig(tmp_path, name) as (venue, exchange), aiohttp.ClientSession() as http:
        async with asyncio.timeout(BOUND_S):
            await exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 59950.0, _post_only(name, "q-3"))
        url = venue.ws_urls[0] + (f"?streams={stream}" if name == "binance" else "")
        async with http.ws_connect(url) as ws:
            async with asyncio.timeout(BOUND_S):
                if name == "bybit":
                    await ws.send_json({"op": "subscribe", "args": [stream]})
                    assert (await ws.receive_json())["success"] is True
                    assert (await ws.receive_json())["type"] == "snapshot"
                await venue.wait_for_subscription(stream)
            venue.faults.lag_feed(0.2)
            async with asyncio.timeout(BOUND_S):
                await venue.advance(1)  # the book trades through 59950: the quote fills at once
            (order,) = account(venue).orders
            assert order.status is OrderStatus.FILLED
            with pytest.raises(TimeoutError):  # the move is not on the stream yet (it lags 0.2 s)
                await asyncio.wait_for(ws.receive(), 0.05)
            async with asyncio.timeout(BOUND_S):
                shown = await ws.receive_json()
            asks = {float(price): float(qty) for price, qty in shown["data"]["a"]}
            assert asks[59900.0] == 1.0 and asks[60010.0] == 0.0  # the frame that moved the book
        assert venue.faults.count(FaultKind.FEED_LAG) == 1
