"""Order entry over the venues' WebSockets in ``arb live``'s executor: the venue file's
``order_entry = "websocket"`` against the fake private venues (Binance's WebSocket API, spot
``/ws-api/v3`` and USD-M ``/ws-fapi/v1``; Bybit's ``/v5/trade``), ccxt unpatched for the rest.

Creates and cancels go over arb's own client while it is up, with the REST body and the client id
REST would send; answers are read by the same outcome rule as REST's. A request handed to the socket
and not answered (connection dropped, answer held past the request timeout) is unknown, found out by a
query, never sent again; a socket that cannot start leaves REST in charge, and says so. No test
sleeps: each awaits a condition, bounded.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from arb.execution.orders import OrderState
from arb.execution.price_grid import wire
from arb.execution.venue_executor import VenueExecutor
from arb.live.trading_session import trading_session
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.faults import FaultKind
from arb.strategy.types import BUY
from connectors.common.order_entry import SignedRest
from connectors.common.private import OrderRequest, TimeInForce
from connectors.common.rest_lane import RestOutgoing
from tests.support.live_rig import (
    ALL_SPECS,
    VenueSpec,
    account,
    answered_order,
    assert_journal_matches_ledgers,
    at_ask,
    create_requests,
    eventually,
    load,
    venue_and_config,
    venue_and_executor,
    write_live_config,
)

pytestmark = pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.id)


WS = {"order_entry": "websocket"}


def socket_answers(venue: Any) -> list[tuple[str, int]]:
    """The (operation, code) of every order request the venue answered over its order WebSocket (Bybit's
    logins left out)."""
    if isinstance(venue, FakeBinanceExchange):
        return [(a.method, a.code) for a in venue.ws_api_log]
    return [(a.op, a.ret_code) for a in venue.trade_log if a.op != "auth"]


def _placed(venue: Any, client_id: str) -> int:
    """How many of the ledger's orders carry ``client_id``."""
    return sum(o.client_id == client_id for o in account(venue).orders)


async def test_ioc_orders_fill_over_the_websocket_and_the_journal_equals_the_ledger(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch, **WS) as (venue, executor):
        assert executor.order_entry is not None and executor.order_entry.ready
        orders = []
        for intent in (1, 2):
            ask, qty = at_ask(venue, spec, Decimal("0.25"))
            order = await answered_order(executor, BUY, ask, qty, intent)
            assert order.state is OrderState.FILLED and order.filled == qty
            assert order.intent_ns < order.written_ns <= order.ack_ns
            orders.append(order)
        create = "order.place" if spec.venue == "binance" else "order.create"
        assert socket_answers(venue) == [(create, 0), (create, 0)] and create_requests(venue) == []
        assert [o.client_id for o in account(venue).orders] == [o.client_id for o in orders]
        assert_journal_matches_ledgers(executor.journal.journal, {spec.venue: venue})  # type: ignore[attr-defined]
        # a cancel goes over the socket too: the order is done, so the venue says it is not open
        assert not await executor.adapter.cancel(executor, spec.symbol, orders[0].client_id)
        assert socket_answers(venue)[-1][0] == "order.cancel"
        assert not [r for r in venue.stats.rest_requests if r.method in ("DELETE", "POST") and "cancel" in r.path]
        assert executor.counters["unknown"] == 0


REJECTS = {"binance-spot": -2010, "binance-linear": -2019, "bybit-spot": 170131, "bybit-linear": 110007}
"""What each venue-market answers an order beyond the balance (or margin)."""


async def test_a_reject_over_the_socket_is_journaled_as_the_same_reject_by_rest(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch, **WS) as (venue, executor):
        ask, _ = at_ask(venue, spec, Decimal("0.25"))
        leverage = 1 if spec.market == "spot" else 10  # the fakes' default leverage
        qty = (Decimal(spec.balances["USDT"]) * leverage / ask * 2).quantize(spec.rules.step_size)
        over_socket = await answered_order(executor, BUY, ask, qty, 1)
        entry, executor.order_entry = executor.order_entry, None
        by_rest = await answered_order(executor, BUY, ask, qty, 2)
        executor.order_entry = entry
        assert len(create_requests(venue)) == 1 and len(socket_answers(venue)) == 1
        journal = executor.journal.journal  # type: ignore[attr-defined]
        rows = [journal.intent(o.client_id) for o in (over_socket, by_rest)]
        for order, row in zip((over_socket, by_rest), rows, strict=True):
            assert order.state is OrderState.REJECTED and order.rejection is not None
            assert order.rejection.code == REJECTS[spec.id] and row["state"] == "rejected"
        assert over_socket.rejection == by_rest.rejection and rows[0]["reject_code"] == rows[1]["reject_code"]
        assert account(venue).orders == []


@pytest.mark.parametrize("fault", ["drop", "held"])
async def test_an_unanswered_request_is_unknown_then_found_by_query_never_resent(
    spec: VenueSpec, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {"request_timeout_ms": 300}
    async with venue_and_executor(spec, tmp_path, monkeypatch, live=live, **WS) as (venue, executor):
        entry = executor.order_entry
        assert entry is not None and entry.ready
        ask, qty = at_ask(venue, spec, Decimal("0.25"))
        if fault == "drop":
            venue.faults.order_drop(processed=True)  # the socket closes after the venue placed the order
        else:
            venue.faults.order_timeout(processed=True)  # placed, the answer held past the request timeout
        order = await answered_order(executor, BUY, ask, qty)
        assert executor.counters["unknown"] == 1 and executor.counters["resolved"] == 1
        assert order.state is OrderState.FILLED and order.filled == qty
        assert _placed(venue, order.client_id) == 1 and create_requests(venue) == []  # never sent again, by any way
        events = [e["kind"] for e in executor.journal.journal.order_events(order.client_id)]  # type: ignore[attr-defined]
        assert "unknown" in events and events[-1] == "done"
        kind = FaultKind.ORDER_DROP if fault == "drop" else FaultKind.ORDER_TIMEOUT
        assert venue.faults.count(kind) == 1
        if fault == "held":
            venue.faults.release_orders()
            await eventually(lambda: entry.socket.late_answers == 1, entry.socket)  # counted, not delivered
            assert order.state is OrderState.FILLED
        else:
            await eventually(lambda: entry.ready, entry.socket)  # reopened in the background
            assert entry.reopened == 1
        assert_journal_matches_ledgers(executor.journal.journal, {spec.venue: venue})  # type: ignore[attr-defined]


async def test_a_socket_that_cannot_connect_leaves_rest_in_charge_and_says_so(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"ws://127.0.0.1:{closed.getsockname()[1]}/v5/trade"
    caplog.set_level(logging.INFO)
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, _):
        config_path = write_live_config(tmp_path, spec, venue, order_entry="websocket", ws_orders=nowhere)
        async with trading_session(load(config_path), [spec.index]) as session:
            executor: VenueExecutor = session.executors[spec.index]
            assert executor.order_entry is not None and not executor.order_entry.ready
            ask, qty = at_ask(venue, spec, Decimal("0.25"))
            order = await answered_order(executor, BUY, ask, qty)
        assert order.state is OrderState.FILLED and len(create_requests(venue)) == 1 and socket_answers(venue) == []
        (said,) = [r.getMessage() for r in caplog.records if "cannot start" in r.getMessage()]
        assert f"order entry over the WebSocket {nowhere} cannot start" in said and "orders go by REST" in said


async def test_the_socket_sends_the_body_ccxt_builds_for_rest(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "the same request, another transport": for every time in force arb knows, both sides, reduce-only
    # or not, the socket's parameters are those ccxt's create_order puts in the REST body
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (_, executor):
        adapter, exchange = executor.adapter, executor.exchange
        market = executor.markets[0]
        create_path = "/api/v3/order" if spec.market == "spot" else "/fapi/v1/order"
        qty, price = wire(spec.rules.min_qty * 3), wire(spec.rules.tick_size * 50_000)  # as the executor words them
        for tif, side, reduce_only in itertools.product(TimeInForce, (1, -1), (False, True)):
            order = OrderRequest(market.symbol, market.ccxt_symbol, side, qty, price,
                                 "arb-same-1-0", reduce_only=reduce_only, time_in_force=tif)  # fmt: skip
            args = (order.ccxt_symbol, "limit", "buy" if side > 0 else "sell", order.qty, order.price)
            rest = exchange.create_order_request(
                *args, adapter.create_params(order), *([True] * (spec.venue == "bybit"))
            )
            _, params = adapter.socket_create(order)
            assert {k: str(v).lower() for k, v in params.items()} == {k: str(v).lower() for k, v in rest.items()}
            # without the socket, the same body goes by REST, signed ahead (on the REST lane) by the venue's own
            # signing, the request ccxt's sign makes (tests/unit/test_create_signing.py)
            lane = adapter.prepare_create(executor, order)
            assert isinstance(lane, RestOutgoing) and executor.create_signer is not None
            signed = lane.signed
            assert isinstance(signed, SignedRest) and signed.method == "POST"
            assert urlsplit(signed.url).path == ("/v5/order/create" if spec.venue == "bybit" else create_path)
            sent = (
                json.loads(signed.body)
                if spec.venue == "bybit"
                else dict(parse_qsl(signed.body or urlsplit(signed.url).query))
            )
            for key in ("timestamp", "recvWindow", "signature"):
                sent.pop(key, None)
            assert {k: str(v).lower() for k, v in sent.items()} == {k: str(v).lower() for k, v in rest.items()}
