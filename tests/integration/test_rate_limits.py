"""Rate limits against the fake venues: what arb sends a venue after a 429, a ban, or near a limit.

Each test stages the limit on a fake venue (a 429 with ``Retry-After`` over REST or over the order
WebSocket, a 418 ban, a small request weight) while the executor has reasons to keep sending (an unknown
order it queries every 50 ms), then counts on the fake, by the venue's clock, the requests that
followed: none inside the window but what the rule allows (:mod:`arb.execution.rate_guard`).
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.execution.orders import OrderState
from arb.execution.venue_quotes import QuotingVenueExecutor
from arb.live.trading_session import KIND_MANUAL, trading_session
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.replay import FrameKind
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN
from tests.support.live_rig import (
    ALL_SPECS,
    BINANCE_LINEAR,
    BINANCE_SPOT,
    BYBIT_LINEAR,
    BYBIT_SPOT,
    KEY,
    SECRET,
    WAIT_S,
    VenueSpec,
    at_ask,
    best,
    create_requests,
    each_spec,
    eventually,
    load,
    set_keys,
    venue_and_config,
    venue_and_executor,
    write_live_config,
)

spec = each_spec(ALL_SPECS)

pytestmark = pytest.mark.wall_clock  # each test waits out the venue's Retry-After or ban

RETRY_S = 2
"""The venue's Retry-After in these tests: long enough that the executor's 50 ms resolver would have sent
dozens of requests inside it."""


def _sent_after(venue: Any, learned_ns: int) -> list[tuple[float, str]]:
    """Every request the venue answered that its client signed after ``learned_ns`` (when arb read the
    limit; a request signed before was on its way already), REST and orders over the WebSocket, with the
    venue's time of the answer, in order. A REST request's signature has a millisecond's resolution: one
    signed in the millisecond arb learned the limit counts if it reached the venue after the limit's answer
    (the request answered with it was signed before, often in the same millisecond)."""
    learned_ms = learned_ns // 1_000_000
    requests = venue.stats.rest_requests
    limited = next((i for i, r in enumerate(requests) if r.status in (429, 418)), len(requests))
    rest = [(r.time, f"{r.method} {r.path}") for i, r in enumerate(requests)
            if r.sent_ms is not None
            and (r.sent_ms > learned_ms or (r.sent_ms == learned_ms and i > limited))]  # fmt: skip
    socket = [(a.time, f"WS {a.method}") for a in getattr(venue, "ws_api_log", [])]
    socket += [(a.time, f"WS {a.op}") for a in getattr(venue, "trade_log", []) if a.op != "auth"]
    return sorted(rest + [r for r in socket if r[0] * 1e9 > learned_ns])


def _limited_at(venue: Any, statuses: tuple[int, ...] = (429, 418)) -> float | None:
    """The venue's time of its first rate-limit (or ban) answer, REST or WebSocket, or None."""
    times = [r.time for r in venue.stats.rest_requests if r.status in statuses]
    times += [a.time for a in getattr(venue, "ws_api_log", []) if a.status in statuses]
    times += [a.time for a in getattr(venue, "trade_log", []) if a.ret_code in (10429, 10006)]
    return min(times) if times else None


async def _unknown_order(executor: Any, venue: Any, spec: VenueSpec) -> Any:
    """An order whose create the venue holds unanswered (not acted on): unknown, queried every 50 ms."""
    ask, qty = at_ask(venue, spec, Decimal("0.25"))
    venue.faults.order_timeout(processed=False)
    order = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
    await eventually(lambda: executor.counters["unknown"] == 1, executor)
    return order


async def _requests_after(venue: Any, executor: Any) -> list[tuple[float, str]]:
    """Once arb has read a rate limit and sent the venue something since: every request it sent since."""
    await eventually(lambda: executor.guard.limited_ns > 0, executor, venue)
    learned = executor.guard.limited_ns
    await eventually(lambda: bool(_sent_after(venue, learned)), venue)
    return _sent_after(venue, learned)


async def test_after_a_rest_429_nothing_goes_to_the_venue_until_its_retry_after(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {"request_timeout_ms": 300, "unknown_checks": 1000}
    async with venue_and_executor(spec, tmp_path, monkeypatch, live=live) as (venue, executor):
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            order = await _unknown_order(executor, venue, spec)
            venue.faults.rest_error(429, retry_after=RETRY_S, path=QUERY_PATHS[spec.id])  # the next query
            await eventually(lambda: _limited_at(venue) is not None, venue)
            limited = _limited_at(venue)
            assert limited is not None
            following = await _requests_after(venue, executor)
            executor.stop()
            venue.faults.release_orders()
        assert following[0][0] >= limited + RETRY_S, following[:5]  # nothing inside the window
        assert executor.guard.rate_limited >= 1 and order.state is OrderState.UNKNOWN


@pytest.mark.parametrize("spec", [BINANCE_SPOT, BINANCE_LINEAR, BYBIT_SPOT, BYBIT_LINEAR], ids=lambda s: s.id)
async def test_after_a_429_on_the_order_websocket_nothing_goes_to_the_venue_until_it_allows(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_keys(monkeypatch, spec)
    live = {"request_timeout_ms": 300, "unknown_checks": 1000}
    async with (
        venue_and_config(spec, tmp_path, monkeypatch, live=live, order_entry="websocket") as (venue, config),
        trading_session(config, [spec.index]) as session,
    ):
        executor = session.executors[spec.index]
        assert executor.order_entry is not None and executor.order_entry.ready
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await _unknown_order(executor, venue, spec)  # its create over the socket, unanswered
            venue.faults.order_error(429, retry_after=RETRY_S)  # the next create over the socket
            ask, qty = at_ask(venue, spec, Decimal("0.25"))
            refused = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 2, executor.clock())
            await eventually(lambda: refused.answered, executor)
            limited = _limited_at(venue)
            assert limited is not None and refused.state is OrderState.REJECTED
            blocked = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 3, executor.clock())
            assert blocked.rejection is not None and blocked.rejection.code == "local"  # never sent
            following = await _requests_after(venue, executor)
            executor.stop()
            venue.faults.release_orders()
    assert following[0][0] >= limited + RETRY_S - 0.001, following[:5]  # the venue's reset is in whole ms


async def test_a_418_ban_stops_every_request_until_it_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BINANCE_SPOT
    live = {"request_timeout_ms": 300, "unknown_checks": 1000}
    async with venue_and_executor(spec, tmp_path, monkeypatch, live=live) as (venue, executor):
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await _unknown_order(executor, venue, spec)
            ends = time.time() + RETRY_S  # the venue's clock: the ban ends at this time or a moment later
            venue.ban(RETRY_S)
            following = await _requests_after(venue, executor)
            executor.stop()
            venue.faults.release_orders()
        assert following[0][0] >= ends, following[:5]  # nothing before the ban's end
        assert executor.guard.banned_until_ns >= executor.guard.limited_ns + RETRY_S * 1_000_000_000 - 1_000_000_000


async def test_optional_traffic_stops_at_the_headroom_before_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request weight of 100 a minute and a headroom of 0.5: past 50 a new pair's leg is refused locally
    and the engine is told the venue is held, while a hedge still goes out; the weight stays under 100."""
    spec = BINANCE_SPOT
    set_keys(monkeypatch, spec)
    start = time.time_ns()
    minute_ns = 60_000_000_000

    def clock() -> int:  # the executor's minute starts with the test: no window resets under it
        return time.time_ns() - start % minute_ns

    async with FakeBinanceExchange(spec.recording, market="spot", rules=[spec.rules], weight_limit=100) as venue:
        venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances=spec.balances)
        async with asyncio.timeout(WAIT_S):
            await venue.advance_until(lambda frame: frame.kind is FrameKind.REST_SNAPSHOT)
            await venue.advance_until(lambda frame: "@depth" in frame.stream)
        config = load(write_live_config(tmp_path, spec, venue, live={"rate_headroom": 0.5}))
        async with trading_session(config, [spec.index], clock=clock) as session:
            executor = session.executors[spec.index]
            assert executor.guard.limits["weight-1m"] == 100
            while executor.guard.used_weight < 50:
                await executor.balances()  # weight 20 each: needed traffic, sent until the limit
            assert 50 <= executor.guard.used_weight < 100
            assert executor.blocked_until_ns > clock()  # the engine holds the venue: no pair, no quote there
            ask, qty = at_ask(venue, spec, Decimal("0.1"))
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                leg = executor.submit(BUY, float(ask), float(qty), INTENT_OPEN, 1, executor.clock())
                hedge = executor.submit(BUY, float(ask), float(qty), INTENT_HEDGE, 1, executor.clock())
                await eventually(lambda: leg.answered and hedge.answered, executor)
                executor.stop()
        assert leg.rejection is not None and leg.rejection.code == "local" and "headroom" in leg.rejection.message
        assert hedge.state is OrderState.FILLED
        assert max(r.weight for r in venue.stats.rest_requests) > 0
        assert all(r.status != 429 for r in venue.stats.rest_requests)


@pytest.mark.parametrize("spec", [BINANCE_SPOT, BINANCE_LINEAR, BYBIT_SPOT, BYBIT_LINEAR], ids=lambda s: s.id)
async def test_the_limits_an_order_websocket_answer_carries_are_read(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Binance's ``rateLimits`` and Bybit's ``header`` in the answer to an order over the WebSocket feed
    the guard as REST's headers do (the order counts come from nowhere else: no order went by REST)."""
    async with (
        venue_and_config(spec, tmp_path, monkeypatch, order_entry="websocket") as (venue, config),
        trading_session(config, [spec.index]) as session,
    ):
        executor = session.executors[spec.index]
        ask, qty = at_ask(venue, spec, Decimal("0.25"))
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            order = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
            await eventually(lambda: order.answered, executor)
            executor.stop()
        assert order.state is OrderState.FILLED
        assert not create_requests(venue)  # the order went over the socket
        counts = executor.guard.counts
        if spec.venue == "binance":
            orders = counts["orders-10s"]
            assert (orders.used, orders.limit, orders.orders_only) == (1, 100 if spec.market == "spot" else 300, True)
            assert counts["weight-1m"].limit is not None and counts["weight-1m"].used > 0
        else:
            create = counts["endpoint WS order.create"]
            assert create.limit is not None and create.used == 1


QUERY_PATHS = {"binance-spot": "/api/v3/order", "binance-linear": "/fapi/v1/order",
               "bybit-spot": "/v5/order/realtime", "bybit-linear": "/v5/order/realtime"}  # fmt: skip
CANCEL_PATHS = {"binance-spot": "/api/v3/order", "binance-linear": "/fapi/v1/order", "bybit-spot": "/v5/order/cancel",
                "bybit-linear": "/v5/order/cancel"}  # fmt: skip


async def test_inside_a_retry_after_window_a_resting_quote_gets_one_cancel(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one thing the rule lets through a Retry-After window: a cancel of a resting quote, once. The
    first cancel fails (503), the second is held, and after the window the quote is cancelled."""
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        assert isinstance(executor, QuotingVenueExecutor)
        bid, _, _, _ = best(venue, spec)
        price = (bid * Decimal("0.97")).quantize(spec.rules.tick_size)  # far from the book: it rests
        qty = max((spec.rules.min_notional / price).quantize(spec.rules.step_size) + spec.rules.step_size,
                  spec.rules.min_qty)  # fmt: skip
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            quote = executor.submit_quote(BUY, float(price), float(qty), 1, executor.clock())
            await eventually(lambda: quote.state is OrderState.ACCEPTED, executor)
            venue.faults.rest_error(429, retry_after=RETRY_S, path=QUERY_PATHS[spec.id])  # the quote's routine look
            await eventually(lambda: executor.guard.limited_ns > 0, executor)
            learned = executor.guard.limited_ns
            window_end = _limited_at(venue)
            assert window_end is not None
            window_end += RETRY_S
            venue.faults.rest_error(503, path=CANCEL_PATHS[spec.id])
            assert executor.cancel_quote(quote.order_id, executor.clock())  # urgent: it goes out
            await eventually(lambda: executor.counters["cancel_failures"] == 1, executor)
            assert executor.cancel_quote(quote.order_id, executor.clock())  # its second inside the window: held
            await eventually(lambda: executor.counters["cancel_failures"] >= 2, executor)
            await eventually(lambda: quote.answered, executor, venue)  # after the window, cancelled
            executor.stop()
        inside = [r for r in _sent_after(venue, learned) if r[0] < window_end]
        assert [what for _, what in inside] == [f"{'POST' if spec.venue == 'bybit' else 'DELETE'} "
                                                f"{CANCEL_PATHS[spec.id]}"], inside  # fmt: skip
        assert quote.state is OrderState.CANCELED
