"""The fake private Binance's requests and answers: what a handler is given, what it returns, and the
errors and messages Binance answers with (``{"code":-1102,"msg":"..."}``)."""

from __future__ import annotations

__all__ = [
    "DAY_MS",
    "FIRST_TRADE_TRAN_ID",
    "FUTURES_CLIENT_ID",
    "INCOME_TYPES",
    "MSG_1007",
    "MSG_1008",
    "MSG_AHEAD",
    "MSG_KEY_FORMAT",
    "MSG_KEY_INVALID",
    "MSG_NO_LISTEN_KEY",
    "MSG_NO_ORDER",
    "MSG_RECV_WINDOW",
    "MSG_SIGNATURE",
    "MSG_UNKNOWN_ORDER",
    "ORDER_PARAMS",
    "SPOT_CLIENT_ID",
    "UNMODELLED",
    "Call",
    "CountdownTrigger",
    "Endpoint",
    "ListenKey",
    "Reply",
    "WsApiAnswer",
    "WsApiSession",
    "api_error",
    "int_param",
    "mandatory",
    "unsigned",
]

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from arb.sim.faults import OrderOperation
from arb.sim.private import CancelTrigger, RestCall
from arb.sim.venue import VenueConnection

SPOT_CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
FUTURES_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
DAY_MS = 24 * 3600 * 1000

MSG_KEY_FORMAT = "API-key format invalid."
MSG_KEY_INVALID = "Invalid API-key, IP, or permissions for action."
MSG_SIGNATURE = "Signature for this request is not valid."
MSG_RECV_WINDOW = "Timestamp for this request is outside of the recvWindow."
MSG_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_NO_ORDER = "Order does not exist."
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_1007 = "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
MSG_1008 = "Server is currently overloaded with other requests. Please try again in a few minutes."
"""-1008 SERVER_BUSY (spot ``errors.md``): the request was refused, not executed."""
MSG_NO_LISTEN_KEY = "This listenKey does not exist."

ORDER_PARAMS = frozenset({
    "symbol", "side", "type", "timeInForce", "quantity", "price", "newClientOrderId", "newOrderRespType",
    "timestamp", "recvWindow", "signature", "selfTradePreventionMode", "positionSide", "reduceOnly",
})  # fmt: skip
"""Parameters an order create may carry; others Binance reads (stops, icebergs, ...) are not modelled."""
INCOME_TYPES = frozenset({
    "TRANSFER", "WELCOME_BONUS", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "INSURANCE_CLEAR", "REFERRAL_KICKBACK",
    "COMMISSION_REBATE", "API_REBATE", "CONTEST_REWARD", "CROSS_COLLATERAL_TRANSFER", "OPTIONS_PREMIUM_FEE",
    "OPTIONS_SETTLE_PROFIT", "INTERNAL_TRANSFER", "AUTO_EXCHANGE", "DELIVERED_SETTELMENT", "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW", "POSITION_LIMIT_INCREASE_FEE", "STRATEGY_UMFUTURES_TRANSFER", "FEE_RETURN", "BFUSD_REWARD",
})  # fmt: skip
"""``incomeType`` values USD-M's "Get Income History" documents; the fake books COMMISSION, REALIZED_PNL and
FUNDING_FEE (another type answers an empty list)."""
FIRST_TRADE_TRAN_ID = 9_689_000_001
"""The ``tranId`` of an account's first trade's COMMISSION (and REALIZED_PNL) income; one more per trade."""
UNMODELLED = ("stopPrice", "icebergQty", "quoteOrderQty", "trailingDelta", "closePosition", "activationPrice",
               "callbackRate", "priceMatch", "goodTillDate", "workingType", "priceProtect")  # fmt: skip


CountdownTrigger = CancelTrigger
"""One USD-M countdown cancel: ``account``'s open orders on ``symbol`` cancelled at venue time ``at_s``."""


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)


Call = RestCall[str]
"""A Binance REST call: its parameters are the query string's and the body's, as text."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    handler: Callable[[Call], Reply]
    weight: int
    auth: Literal["signed", "key"]
    operation: OrderOperation | None = None
    order_count: bool = False


@dataclass(slots=True)
class WsApiSession:
    """A spot WS-API connection and its user-data subscriptions."""

    conn: VenueConnection
    account: str | None = None
    subscriptions: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WsApiAnswer:
    """One answer the WebSocket API sent to an order request (``order.place``, ``.cancel``, ``.status``)."""

    connection: int
    method: str
    request_id: Any
    status: int
    code: int
    """The error's ``code``; 0 for a success."""
    time: float = 0.0
    """The venue's clock when it answered, seconds."""


@dataclass(slots=True)
class ListenKey:
    account: str
    expires_s: float


def api_error(code: int, msg: str, status: int = 400) -> Reply:
    return Reply(status, {"code": code, "msg": msg})


def mandatory(name: str) -> Reply:
    return api_error(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def int_param(params: Mapping[str, str], key: str) -> int | None:
    text = params.get(key)
    if text is None or text == "":
        return None
    if not text.lstrip("-").isdigit():
        raise ValueError(key)
    return int(text)


def unsigned(query: str, body: str) -> tuple[str, str | None]:
    """The request's ``totalParams`` (query string then body) without ``signature``, and the signature sent."""
    sent: str | None = None
    parts: list[str] = []
    for source in (query, body):
        kept = []
        for item in source.split("&") if source else []:
            if item.startswith("signature="):
                sent = item[len("signature=") :]
            else:
                kept.append(item)
        parts.append("&".join(kept))
    total = parts[0] + parts[1] if parts[0] and parts[1] else parts[0] or parts[1]
    return total, sent
