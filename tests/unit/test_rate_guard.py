"""The rate guard's rule on a driven clock: what a venue may be sent in a ban, a Retry-After window and
past the headroom; and the order WebSockets' limits read as REST's headers."""

from __future__ import annotations

from arb.execution.outcome import Answer, Outcome
from arb.execution.rate_guard import RateGuard, Traffic, traffic_of_kind
from arb.strategy.types import INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, INTENT_UNWIND
from connectors.binance.private import BinancePrivate
from connectors.binance.ws_api import BinanceWsApiFraming
from connectors.bybit.private import BybitPrivate
from connectors.bybit.trade_socket import BybitTradeFraming

S = 1_000_000_000
MINUTE = 60 * S


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _binance(clock: Clock, headroom: float = 0.8) -> RateGuard:
    guard = RateGuard("binance", clock, rate_use=BinancePrivate("spot").rate_use, headroom=headroom)
    guard.limits = {"weight-1m": 100, "orders-10s": 10}
    return guard


def _limited(retry_s: float | None, *, banned: bool = False) -> Answer:
    return Answer(Outcome.REJECTED, "-1003", "Too many requests", 418 if banned else 429, retry_s, banned, True)


def _visits() -> Answer:
    # Bybit's 10006 "Too many visits": the endpoint's own limit
    return Answer(Outcome.REJECTED, "10006", "Too many visits", 200, None, False, True, endpoint_limit=True)


def test_the_traffic_of_each_intent_kind() -> None:
    assert traffic_of_kind(INTENT_HEDGE) is traffic_of_kind(INTENT_UNWIND) is Traffic.URGENT
    assert traffic_of_kind(INTENT_OPEN) is traffic_of_kind(INTENT_QUOTE) is Traffic.OPTIONAL
    assert traffic_of_kind(9) is Traffic.NEEDED  # an order by hand


def test_a_retry_after_window_lets_only_one_cancel_per_resting_order_through() -> None:
    clock = Clock(100 * MINUTE)
    blocked: list[int] = []
    guard = _binance(clock)
    guard.on_block = blocked.append
    guard.observe({"Retry-After": "7"}, _limited(7.0))
    assert blocked == [clock.now + 7 * S] and guard.blocked_until_ns == clock.now + 7 * S
    for traffic in Traffic:
        assert guard.admit(traffic, create=True) is not None  # no create, a hedge neither
    assert guard.admit(Traffic.NEEDED) is not None and guard.admit(Traffic.OPTIONAL) is not None
    assert guard.admit(Traffic.URGENT, "quote-1") is None  # its one cancel
    assert guard.admit(Traffic.URGENT, "quote-1") is not None  # no retry inside the window
    assert guard.admit(Traffic.URGENT, "quote-2") is None
    assert guard.held == 6
    clock.now += 7 * S
    assert guard.admit(Traffic.OPTIONAL, create=True) is None and guard.admit(Traffic.NEEDED) is None
    guard.observe({"Retry-After": "1"}, _limited(1.0))  # a new window: each resting order may be cancelled again
    assert guard.admit(Traffic.URGENT, "quote-1") is None


def test_a_ban_holds_everything_until_it_ends() -> None:
    clock = Clock(100 * MINUTE)
    guard = _binance(clock)
    guard.observe({"Retry-After": "120"}, _limited(120.0, banned=True))
    assert guard.banned and guard.banned_until_ns == clock.now + 120 * S
    assert guard.admit(Traffic.URGENT, "quote-1") is not None and guard.blocked() is not None
    assert "BANNED" in str(guard.blocked(Traffic.URGENT, create=False))
    clock.now += 120 * S
    assert not guard.banned and guard.admit(Traffic.URGENT, "quote-1") is None


def test_past_the_headroom_optional_traffic_stops_and_the_engine_holds_the_venue() -> None:
    clock = Clock(100 * MINUTE + 5 * S)
    guard = _binance(clock, headroom=0.5)
    guard.observe({"x-mbx-used-weight-1m": "49"})
    assert guard.blocked(Traffic.OPTIONAL) is None and guard.blocked_until_ns == 0
    guard.observe({"x-mbx-used-weight-1m": "50"})
    assert "headroom" in str(guard.blocked(Traffic.OPTIONAL))  # a new pair's leg, a quote, a routine look
    assert guard.blocked(Traffic.NEEDED, create=False) is None and guard.blocked(Traffic.URGENT) is None
    assert guard.blocked_until_ns == 101 * MINUTE  # the minute's end: no pair or quote there until then
    guard.observe({"x-mbx-used-weight-1m": "100"})  # at the limit: a Retry-After window of its own
    assert guard.blocked(Traffic.NEEDED, create=False) is not None and guard.blocked(Traffic.URGENT) is not None
    assert guard.admit(Traffic.URGENT, "quote-1") is None
    clock.now = 101 * MINUTE
    assert guard.blocked(Traffic.OPTIONAL) is None


def test_an_order_count_holds_creates_only() -> None:
    clock = Clock(100 * MINUTE + 3 * S)
    guard = _binance(clock)
    guard.observe({"x-mbx-order-count-10s": "10"})
    assert guard.blocked(Traffic.URGENT, create=True) is not None  # the venue would refuse a new order
    assert guard.blocked(Traffic.OPTIONAL, create=False) is None  # queries go on
    clock.now = 100 * MINUTE + 10 * S
    assert guard.blocked(Traffic.URGENT, create=True) is None


def _bybit() -> tuple[Clock, RateGuard, list[int]]:
    # a Bybit spot guard on a driven clock, and the times it told the engine to keep off the venue until
    clock = Clock(1_700_000_000 * S)
    blocked: list[int] = []
    return clock, RateGuard("bybit", clock, rate_use=BybitPrivate("spot").rate_use, on_block=blocked.append), blocked


def _used_up(limit: int) -> tuple[int, dict[str, str]]:
    # an answer's headers: the endpoint's limit used up, until 0.4 s after the clock's start (ms)
    reset_ms = 1_700_000_000_400
    headers = {"X-Bapi-Limit": str(limit), "X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(reset_ms)}
    return reset_ms, headers


def test_a_bybit_limit_is_kept_per_endpoint_and_a_10006_waits_for_its_reset() -> None:
    # Bybit's X-Bapi-Limit-Status is "your remaining requests for current endpoint": a create endpoint at
    # its limit holds creates (a hedge too: the venue would refuse it) until its reset, not a default
    # minute, and lets the other requests go
    clock, guard, blocked = _bybit()
    reset_ms, headers = _used_up(10)
    guard.observe(headers, _visits(), request="POST /v5/order/create", create=True)
    assert set(guard.counts) == {"endpoint POST /v5/order/create"}
    assert guard.retry_until_ns == 0 and blocked == [reset_ms * 1_000_000]  # the engine opens nothing here
    assert guard.admit(Traffic.URGENT, create=True) == "endpoint POST /v5/order/create 10 of 10 used"
    assert guard.admit(Traffic.NEEDED) is None  # a query goes to its own endpoint
    clock.now = reset_ms * 1_000_000
    assert guard.admit(Traffic.OPTIONAL, create=True) is None


def test_a_bybit_query_endpoint_at_its_limit_never_holds_a_hedge() -> None:
    clock, guard, blocked = _bybit()
    reset_ms, headers = _used_up(50)
    guard.observe(headers, request="GET /v5/order/realtime")
    assert guard.admit(Traffic.URGENT, create=True) is None and guard.admit(Traffic.OPTIONAL, create=True) is None
    assert guard.admit(Traffic.NEEDED) == "endpoint GET /v5/order/realtime 50 of 50 used"  # its own kind waits
    assert guard.admit(Traffic.URGENT, "quote-1") is None  # a cancel of a resting order is never held by it
    guard.observe(headers, _visits(), request="GET /v5/order/realtime")
    assert guard.retry_until_ns == 0 and guard.orders_until_ns == 0 and blocked == []
    assert guard.admit(Traffic.URGENT, create=True) is None  # the hedge goes
    clock.now = reset_ms * 1_000_000
    assert guard.admit(Traffic.NEEDED) is None
    # the system's frequency protection (/v5/trade 10429) is the venue's, not the endpoint's: a window
    reset_ms += 1_000
    headers["X-Bapi-Limit-Reset-Timestamp"] = str(reset_ms)
    guard.observe(headers, Answer(Outcome.REJECTED, "10429", "System level frequency protection", 200, None, False,
                                  True), request="WS order.create", create=True)  # fmt: skip
    assert guard.retry_until_ns == reset_ms * 1_000_000 and guard.admit(Traffic.NEEDED) is not None


def test_the_order_websockets_limits_read_as_rest_headers() -> None:
    binance = BinanceWsApiFraming("key", "secret").headers(
        {
            "id": "1",
            "status": 200,
            "result": {},
            "rateLimits": [
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 12},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 4043},
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                    "count": 321,
                },
            ],
        }
    )
    assert binance == {"x-mbx-order-count-10s": "12", "x-mbx-order-count-1d": "4043", "x-mbx-used-weight-1m": "321"}
    bybit = BybitTradeFraming("key", "secret").headers(
        {
            "reqId": "1",
            "retCode": 0,
            "op": "order.create",
            "header": {
                "X-Bapi-Limit": "20",
                "X-Bapi-Limit-Status": "19",
                "X-Bapi-Limit-Reset-Timestamp": "1",
                "Traceid": "t",
            },
        }
    )
    assert bybit["x-bapi-limit"] == "20" and bybit["x-bapi-limit-status"] == "19"
    assert BybitTradeFraming("key", "secret").headers({"retCode": 0}) == {}


def test_a_rate_limit_that_names_no_time_holds_creates_for_a_minute_and_nothing_else() -> None:
    clock = Clock(100 * MINUTE)
    guard = _binance(clock)
    overloaded = Answer(Outcome.REJECTED, "-1008", "Server is currently overloaded", 503, None, False, True)
    guard.observe({}, overloaded)
    assert guard.blocked(Traffic.URGENT, create=True) is not None and guard.blocked_until_ns == clock.now + MINUTE
    assert guard.admit(Traffic.NEEDED) is None and guard.admit(Traffic.OPTIONAL) is None  # reads go on
    assert guard.blocked(Traffic.URGENT, create=True, reduce_only=True) is not None  # spot exempts nothing
    clock.now += MINUTE
    assert guard.blocked(Traffic.OPTIONAL, create=True) is None


def test_binance_usdm_takes_a_reduce_only_create_through_its_throttle() -> None:
    # USD-M's -1008: "Request throttled by system-level protection. Reduce-only/close-position orders are
    # exempt": a flatten goes, any other create waits
    clock = Clock(100 * MINUTE)
    usdm = BinancePrivate("linear")
    guard = RateGuard(
        "binance", clock, rate_use=usdm.rate_use, reduce_only_past_throttle=usdm.reduce_only_past_throttle
    )
    guard.observe({}, Answer(Outcome.REJECTED, "-1008", "Request throttled", 503, None, False, True))
    assert guard.admit(Traffic.URGENT, create=True) is not None  # a hedge that is not reduce-only
    assert guard.admit(Traffic.URGENT, create=True, reduce_only=True) is None
    assert not BinancePrivate("spot").reduce_only_past_throttle
