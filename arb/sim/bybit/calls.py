"""The fake private Bybit's requests and answers: what a handler is given, what it returns, the
per-UID rate limits, and the messages Bybit answers with (``{"retCode":10001,"retMsg":"..."}``)."""

from __future__ import annotations

__all__ = [
    "CATEGORIES",
    "CURSOR_OFFSET",
    "DEFAULT_RATE_LIMITS",
    "HTTP_TEXT",
    "LINK_ID",
    "MSG_BAN",
    "MSG_SYSTEM",
    "MSG_TOO_MANY",
    "SEVEN_DAYS_MS",
    "STABLE_COINS",
    "AuthFailure",
    "Call",
    "DcpTrigger",
    "Endpoint",
    "OrderMeta",
    "PrivateSession",
    "Reply",
    "Ticker",
    "TickerMessage",
    "TradeAnswer",
    "api_error",
    "category_refusal",
    "decode_ticker",
    "empty_page",
    "flag",
    "foreign_symbol",
    "no_order",
    "page_of",
    "param_text",
    "time_window",
    "unknown_symbol",
]

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from arb.sim.bybit.wire import BybitCategory, reject_code
from arb.sim.connection import VenueConnection
from arb.sim.faults import OrderOperation
from arb.sim.ledger import RejectReason
from arb.sim.private import CancelTrigger, RestCall

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
CURSOR_OFFSET = re.compile(r"(\d+)$")
SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000

DEFAULT_RATE_LIMITS: Mapping[str, Mapping[str, int]] = {
    "spot": {
        "/v5/order/create": 20,
        "/v5/order/cancel": 20,
        "/v5/order/cancel-all": 20,
    },
    "linear": {
        "/v5/order/create": 10,
        "/v5/order/cancel": 10,
        "/v5/order/cancel-all": 10,
        "/v5/position/list": 50,
        "/v5/position/set-leverage": 10,
        "/v5/position/switch-mode": 10,
    },
    "any": {
        "/v5/order/realtime": 50,
        "/v5/order/history": 50,
        "/v5/execution/list": 50,
        "/v5/order/disconnected-cancel-all": 5,
        "/v5/account/wallet-balance": 50,
        "/v5/account/transaction-log": 30,
        "/v5/account/info": 50,
        "/v5/user/query-api": 10,
        "/v5/asset/coin/query-info": 5,
        "/v5/position/list": 50,
        "/v5/position/set-leverage": 10,
        "/v5/position/switch-mode": 10,
    },
}
"""Requests per second per UID and endpoint (v5 "Rate Limit Rules", UTA 2.0 Pro, not upgraded)."""

MSG_TOO_MANY = "Too many visits!"
MSG_BAN = "access too frequent"
MSG_SYSTEM = "Internal system error."
HTTP_TEXT = {
    403: MSG_BAN,
    429: "System level frequency protection. Please retry when encounter this",  # v5 "Error Codes", HTTP 429
}
STABLE_COINS = frozenset({"USDT", "USDC"})
CATEGORIES = ("spot", "linear", "inverse", "option")


AuthFailure = Literal["params", "key", "sign"]
"""Why a WebSocket ``op: auth`` failed: malformed or expired, an unknown key, a wrong signature."""

DcpTrigger = CancelTrigger
"""One disconnection-protection cancel: ``account``'s orders of the DCP ``product`` cancelled at venue
time ``at_s``."""


@dataclass(slots=True)
class PrivateSession:
    """A private connection's state: the private stream's, or the order-entry connection's."""

    conn: VenueConnection
    account: str | None = None
    req_ids: set[str] = field(default_factory=set)
    """The order-entry connection's ``reqId`` values so far (Bybit refuses a repeated one)."""


@dataclass(frozen=True, slots=True)
class TradeAnswer:
    """One answer the order-entry connection (``/v5/trade``) sent."""

    connection: int
    op: str
    req_id: Any
    """The request's ``reqId`` as sent (``None``: none, or left out of the answer)."""
    ret_code: int
    ret_msg: str
    time: float = 0.0
    """The venue's clock when it answered, seconds."""


@dataclass(slots=True)
class OrderMeta:
    market_unit: str = ""
    last_price: str = ""
    cancel_type: str = ""


Call = RestCall[Any]
"""A Bybit REST call: its parameters are the query string's (text) or the JSON body's (any JSON value)."""


@dataclass(slots=True)
class Reply:
    """A handler's answer: HTTP 200 with ``retCode``/``retMsg``/``result`` unless ``raw`` is set."""

    ret_code: int = 0
    ret_msg: str = "OK"
    result: Any = field(default_factory=dict)
    raw: dict[str, Any] | None = None
    """A whole body as documented where it is not the usual envelope (DCP: ``{"retCode":0,"retMsg":"success"}``)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    handler: Callable[[Call], Reply]
    private: bool
    operation: OrderOperation | None


def api_error(code: int, msg: str) -> Reply:
    return Reply(code, msg)


def category_refusal(
    category: BybitCategory, params: Mapping[str, Any], *, other: Reply, allowed: tuple[str, ...] = CATEGORIES
) -> Reply | None:
    """``None`` when the request's ``category`` is the venue's; ``other`` for another market (which the venue
    holds nothing of: an empty list, or an unknown symbol); Bybit's refusal for a bad value."""
    asked = param_text(params, "category")
    if asked not in allowed:
        return api_error(10001, "Illegal category")
    return None if asked == category else other


def empty_page(params: Mapping[str, Any]) -> Reply:
    return Reply(result={"list": [], "nextPageCursor": "", "category": param_text(params, "category")})


def foreign_symbol(params: Mapping[str, Any]) -> Reply:
    category: BybitCategory = "spot" if param_text(params, "category") == "spot" else "linear"
    return api_error(*reject_code(category, RejectReason.UNKNOWN_SYMBOL))


def unknown_symbol(category: BybitCategory) -> Reply:
    return api_error(*reject_code(category, RejectReason.UNKNOWN_SYMBOL))


def no_order(category: BybitCategory) -> Reply:
    return (
        api_error(170213, "Order does not exist.") if category == "spot" else api_error(110001, "Order does not exist.")
    )


def param_text(params: Mapping[str, Any], key: str) -> str | None:
    """A parameter as text (JSON bodies may carry numbers or booleans); ``None`` when absent or null."""
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flag(params: Mapping[str, Any], key: str) -> bool:
    return (param_text(params, key) or "").lower() in ("true", "1")


def page_of(
    items: list[Any], params: Mapping[str, Any], default: int, maximum: int, *, last_cursor: bool = False
) -> tuple[list[Any], str]:
    """One page of ``items`` by ``limit`` and ``cursor``; the cursor of the next page, ``""`` at the end
    (``last_cursor``: the last page's cursor too, to an empty page, as ``/v5/execution/list`` does)."""
    try:
        limit = int(param_text(params, "limit") or default)
    except ValueError:
        limit = default
    limit = max(1, min(limit, maximum))
    offset = 0
    cursor = param_text(params, "cursor")
    if cursor:
        match = CURSOR_OFFSET.search(cursor)
        offset = int(match.group(1)) if match else 0
    page = items[offset : offset + limit]
    following = offset + limit
    more = following < len(items) or (last_cursor and bool(page))
    return page, (f"page%3D{min(following, len(items))}" if more else "")


class Ticker(msgspec.Struct, frozen=True):
    """The fields of a linear ``tickers`` item the funding follows (a delta carries only what changed):
    ``{"symbol":"BTCUSDT","markPrice":"60300.0","fundingRate":"0.0003","nextFundingTime":"1714982400000",...}``."""

    symbol: str
    mark_price: str | None = msgspec.field(name="markPrice", default=None)
    funding_rate: str | None = msgspec.field(name="fundingRate", default=None)
    next_funding_ms: str | None = msgspec.field(name="nextFundingTime", default=None)


class TickerMessage(msgspec.Struct, frozen=True):
    """``{"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{...},"cs":...,"ts":...}``."""

    data: Ticker


decode_ticker = msgspec.json.Decoder(TickerMessage)


def time_window(call: Call, *, capped: bool) -> tuple[int, int] | Reply:
    """``startTime``/``endTime`` (ms) of a history query: the 7 days up to now when neither is given,
    7 days from (or up to) the one given; ``capped``: a longer span given is refused."""
    try:
        start = int(param_text(call.params, "startTime") or 0) or None
        end = int(param_text(call.params, "endTime") or 0) or None
    except ValueError:
        return api_error(10001, "params error: startTime or endTime invalid")
    if capped and start is not None and end is not None and end - start > SEVEN_DAYS_MS:
        return api_error(10001, "params error: The time range between startTime and endTime cannot exceed 7 days")
    if start is None and end is None:
        return call.now_ms - SEVEN_DAYS_MS, call.now_ms
    if start is None:
        assert end is not None
        return end - SEVEN_DAYS_MS, end
    return start, end if end is not None else start + SEVEN_DAYS_MS
