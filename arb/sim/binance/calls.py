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
    "rules_of",
    "send_ws_answer",
    "symbol_and_int",
    "unsigned",
    "verify_ws_signed",
]

import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from arb.sim.binance.wire import signature, ws_payload, ws_text
from arb.sim.connection import VenueConnection
from arb.sim.faults import OrderOperation
from arb.sim.ledger import Ledger, LedgerAccount, SymbolRules
from arb.sim.private import CancelTrigger, RestCall, encode

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
    auth: Literal["signed", "key", "none"]
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


def rules_of(rules: Mapping[str, SymbolRules], params: Mapping[str, str]) -> SymbolRules | Reply:
    """The rules of the request's ``symbol``, or the refusal of the request (``-1102``, ``-1121``)."""
    symbol = params.get("symbol")
    if not symbol:
        return mandatory("symbol")
    found = rules.get(symbol)
    if found is None:
        return api_error(-1121, "Invalid symbol.")
    return found


def symbol_and_int(rules: Mapping[str, SymbolRules], call: Call, name: str) -> tuple[SymbolRules, int] | Reply:
    """The rules of the request's ``symbol`` and its integer parameter ``name`` (mandatory), or the
    refusal of the request."""
    found = rules_of(rules, call.params)
    if isinstance(found, Reply):
        return found
    value = int_param(call.params, name)
    if value is None:
        return mandatory(name)
    return found, value


def verify_ws_signed(
    ledger: Ledger, params: Mapping[str, Any], now_ms: int
) -> tuple[LedgerAccount | None, tuple[int, int, str] | None]:
    """The account a signed WS-API request's ``apiKey`` names, or its refusal ``(status, code, msg)``:
    401 ``-2015`` for the key, 400 ``-1102`` or ``-1021`` for the time, ``-1131`` for the window,
    ``-1022`` for the ``signature`` (over the other params sorted by name, :func:`ws_payload`)."""
    api_key = str(params.get("apiKey", ""))
    account = ledger.account_for_key(api_key) if api_key else None
    timestamp = ws_text(params.get("timestamp", ""))
    window = ws_text(params.get("recvWindow", "5000"))
    if account is None:
        return None, (401, -2015, MSG_KEY_INVALID)
    if not timestamp.isdigit() or not window.isdigit():
        return None, (400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    if int(window) > 60_000:
        return None, (400, -1131, "recvWindow must be less than 60000")
    if int(timestamp) >= now_ms + 1000:
        return None, (400, -1021, MSG_AHEAD)
    if now_ms - int(timestamp) > int(window):
        return None, (400, -1021, MSG_RECV_WINDOW)
    expected = signature(account.api_secret, ws_payload(params))
    if not hmac.compare_digest(ws_text(params.get("signature", "")), expected):
        return None, (400, -1022, MSG_SIGNATURE)
    return account, None


async def send_ws_answer(
    conn: VenueConnection, request_id: Any, status: int, rate_limits: Sequence[Mapping[str, Any]], *,
    result: Any = None, error: tuple[int, str] | None = None, error_data: Mapping[str, Any] | None = None,
) -> None:  # fmt: skip
    """Send a WS-API answer ``{"id","status","result"|"error","rateLimits"}``; an empty ``rate_limits``
    leaves the field out (``returnRateLimits`` false)."""
    answer: dict[str, Any] = {"id": request_id, "status": status}
    if error is not None:
        answer["error"] = {"code": error[0], "msg": error[1], **({"data": error_data} if error_data else {})}
    else:
        answer["result"] = result
    if rate_limits:
        answer["rateLimits"] = rate_limits
    await conn.send_control(encode(answer).decode())
