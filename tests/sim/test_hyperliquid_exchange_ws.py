"""The fake Hyperliquid's private streams (``orderUpdates``, ``userFills`` and its snapshot), an action posted over
the socket, and its faults: an answer dropped or held after the order was placed (the outcome unknown, then found by
``orderStatus`` by cloid), an HTTP error, the private stream dropped. The rig is :mod:`.test_hyperliquid_exchange`'s.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from arb.sim.faults import FaultKind
from tests.sim.test_hyperliquid_exchange import ACCOUNT, CLOID, client_for, order, statuses, venue_for


async def _subscribe(ws: ClientConnection, kind: str, user: str = ACCOUNT) -> None:
    await ws.send(json.dumps({"method": "subscribe", "subscription": {"type": kind, "user": user}}))
    ack = json.loads(await ws.recv())
    assert ack == {"channel": "subscriptionResponse",
                   "data": {"method": "subscribe", "subscription": {"type": kind, "user": user}}}  # fmt: skip


async def _next(ws: ClientConnection, channel: str) -> Any:
    while True:
        message = json.loads(await ws.recv())
        if message["channel"] == channel:
            return message["data"]


async def test_order_updates_and_user_fills_follow_the_ledger(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice, connect(venue.private_ws_url) as ws:
        statuses(await alice.act(order("60010", "0.1", tif="Ioc")))  # a fill before the subscription
        await _subscribe(ws, "orderUpdates")
        await _subscribe(ws, "userFills")
        snapshot = await _next(ws, "userFills")
        assert snapshot["isSnapshot"] is True and snapshot["user"] == ACCOUNT
        assert [(f["px"], f["sz"], f["crossed"]) for f in snapshot["fills"]] == [("60010.0", "0.1", True)]
        assert venue.user_streams_up()
        [resting] = statuses(await alice.act(order("59995", "0.1", cloid=CLOID)))
        [update] = await _next(ws, "orderUpdates")
        assert (update["status"], update["order"]["oid"], update["order"]["cloid"]) == (
            "open", resting["resting"]["oid"], CLOID)  # fmt: skip
        await venue.advance(1)  # the book crosses it: its fill and its new status, one message each
        got = {m["channel"]: m["data"] for m in [json.loads(await ws.recv()) for _ in range(2)]}
        assert "isSnapshot" not in got["userFills"]
        assert [(f["px"], f["sz"], f["crossed"], f["cloid"]) for f in got["userFills"]["fills"]] == [
            ("59995.0", "0.1", False, CLOID)]  # fmt: skip
        assert [u["status"] for u in got["orderUpdates"]] == ["filled"]


async def test_an_action_posted_over_the_socket_is_answered_on_the_post_channel(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice, connect(venue.private_ws_url) as ws:
        payload = alice.signed(order("59000", "0.001", cloid=CLOID))
        await ws.send(json.dumps({"method": "post", "id": 7, "request": {"type": "action", "payload": payload}}))
        answer = await _next(ws, "post")
        assert answer["id"] == 7 and answer["response"]["type"] == "action"
        [resting] = statuses(answer["response"]["payload"])
        assert resting["resting"]["cloid"] == CLOID
        info = {"type": "orderStatus", "user": ACCOUNT, "oid": CLOID}
        await ws.send(json.dumps({"method": "post", "id": 8, "request": {"type": "info", "payload": info}}))
        answer = await _next(ws, "post")
        assert answer["response"]["payload"]["data"]["order"]["status"] == "open"


@pytest.mark.parametrize("fault", ["drop", "timeout"])
async def test_an_unknown_outcome_is_resolved_by_order_status_by_cloid(tmp_path: Path, fault: str) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        if fault == "drop":
            venue.faults.order_drop(processed=True)
            with pytest.raises(aiohttp.ClientError):
                await alice.act(order("59000", "0.001", cloid=CLOID))
        else:
            venue.faults.order_timeout(processed=True)
            sent = asyncio.create_task(alice.act(order("59000", "0.001", cloid=CLOID)))
            await venue.wait_until(lambda: venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1)
        status = await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": CLOID})
        assert (status["status"], status["order"]["status"]) == ("order", "open")
        if fault == "timeout":
            venue.faults.release_orders()
            [late] = statuses(await sent)
            assert late["resting"]["oid"] == status["order"]["order"]["oid"]
        assert len(venue.ledger.accounts["alice"].orders) == 1


async def test_an_http_error_leaves_the_order_unplaced_unless_processed(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        venue.faults.order_error(502)
        async with alice.session.post(venue.exchange_url, json=alice.signed(order("59000", "0.001"))) as response:
            assert response.status == 502
        assert venue.ledger.accounts["alice"].orders == []
        venue.faults.order_error(502, processed=True)
        async with alice.session.post(venue.exchange_url, json=alice.signed(order("59000", "0.001"))) as response:
            assert response.status == 502
        assert len(venue.ledger.accounts["alice"].orders) == 1


async def test_dropped_private_streams_close_and_a_silenced_one_withholds(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice, connect(venue.private_ws_url) as ws:
        await _subscribe(ws, "orderUpdates")
        venue.faults.silence_user_stream()
        statuses(await alice.act(order("59000", "0.001")))
        assert [m.sent for m in venue.user_stream_log] == [False]
        assert await venue.drop_user_streams() == 1
        with pytest.raises(ConnectionClosed):
            await ws.recv()


async def test_a_refusal_inside_a_200_and_the_ips_weight(tmp_path: Path) -> None:
    async with venue_for(tmp_path, ip_weight=5) as venue, client_for(venue) as alice:
        venue.faults.order_error(200, msg="Insufficient margin to place order. asset=0")
        assert statuses(await alice.act(order("59000", "0.001"))) == [
            {"error": "Insufficient margin to place order. asset=0"}]  # fmt: skip
        assert venue.ledger.accounts["alice"].orders == []
        await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": 1})  # weight 2: 3 of 5 used
        await alice.act({"type": "noop"})
        await alice.act({"type": "noop"})
        async with alice.session.post(venue.exchange_url, json=alice.signed({"type": "noop"})) as response:
            assert (response.status, venue.ip_weight.refused) == (429, 1)
