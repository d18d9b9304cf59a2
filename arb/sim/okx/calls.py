"""The fake private OKX's requests and answers: what a handler is given and returns, OKX's codes and messages,
its signatures, and the per-user rate limits shared by REST and the private WebSocket.

Sources: OKX docs v5 ("REST Authentication", "WebSocket / Login", "Rate Limits", "Error Code" tables, in the
April 2025 copy) and ccxt 4.5.90's ``okx.sign``. Every answer is ``{"code":"0","msg":"","data":[...]}``; an
order request is answered per item (``sCode``/``sMsg`` inside an HTTP 200), the envelope's ``code`` being ``"1"``
when every item failed and ``"2"`` when some did.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "FUNDING",
    "HTTP_STATUS",
    "MSG",
    "TRADING",
    "Call",
    "Endpoint",
    "RateLimits",
    "Reply",
    "decimal_of",
    "iso_ms",
    "item",
    "items_reply",
    "message",
    "param_text",
    "refusal",
    "rest_sign",
    "text",
    "ws_sign",
]

import base64
import datetime as dt
import hashlib
import hmac
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from arb.sim.faults import OrderOperation
from arb.sim.private import RestCall

FUNDING, TRADING = "6", "18"
"""OKX's account types: the funding account (deposits, withdrawals) and the trading account (the ledger)."""

MSG: Mapping[str, str] = {
    "0": "",
    "1": "All operations failed",
    "2": "Bulk operation partially succeeded.",
    "50000": "Body for POST request cannot be empty.",
    "50001": "Service temporarily unavailable. Please try again later.",
    "50002": "JSON syntax error",
    "50004": "API endpoint request timeout. (does not mean that the request was successful or failed, please check "
    "the request result).",
    "50011": "Rate limit reached. Please refer to API documentation and throttle requests accordingly.",
    "50013": "Systems are busy. Please try again later.",
    "50014": "Parameter {0} can not be empty.",
    "50015": "Either parameter {0} or {1} is required",
    "50025": "Parameter {0} count exceeds the limit {1}.",
    "50026": "System error. Try again later",
    "50037": "Order expired.",
    "50061": "You've reached the maximum order rate limit for this account.",
    "50101": "APIKey does not match current environment.",
    "50102": "Timestamp request expired.",
    "50103": 'Request header "OK-ACCESS-KEY" cannot be empty.',
    "50104": 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.',
    "50105": 'Request header "OK-ACCESS-PASSPHRASE" incorrect.',
    "50106": 'Request header "OK-ACCESS-SIGN" cannot be empty.',
    "50107": 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.',
    "50111": "Invalid OK-ACCESS-KEY.",
    "50112": "Invalid OK-ACCESS-TIMESTAMP.",
    "50113": "Invalid signature.",
    "50120": "This API key doesn't have permission to use this function",
    "51000": "Parameter {0} error",
    "51001": "Instrument ID doesn't exist.",
    "51006": "Order price is not within the price limit (max buy price: {0} , min sell price: {1} )",
    "51008": "Order failed. Insufficient {0} balance in account",
    "51016": "Client order ID already exists.",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51071": "You've reached the maximum limit for tag level cancel all after timers.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51150": "The precision of the number of trades or the price exceeds the limit.",
    "51169": "Order failed. You don't have any positions in this contract that can be closed.",
    "51170": "Failed to place order. A reduce-only order can\u2019t be the same trading direction as your existing "
    "positions.",
    "51203": "Order amount exceeds the limit {0}.",
    "51204": "The price for the limit order cannot be empty.",
    "51205": "Reduce Only is not available.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not exist.",
    "51503": "Your order has already been filled or canceled.",
    "51511": "Modification failed as the order price did not meet the requirement for Post Only.",
    "51603": "Order does not exist.",
    "58010": "Chain {0} isn't supported",
    "58114": "Transfer amount must be greater than 0",
    "58116": "Transfer exceeds the available amount.",
    "58123": "The From parameter cannot be the same as the To parameter.",
    "58205": "Withdrawal amount exceeds the upper limit.",
    "58206": "Withdrawal amount is less than the lower limit.",
    "58207": "Withdrawal address isn't on the verified address list. (The format for withdrawal addresses with a "
    "label is \u201caddress:label\u201d.)",
    "58214": "Withdrawals suspended due to {0} maintenance",
    "58350": "Insufficient balance.",
    "59000": "Settings failed. Close any open positions or orders before modifying settings.",
    "59102": "Leverage exceeds the maximum limit. Please lower the leverage.",
}
"""OKX's message of each code this fake answers ("Error Code" tables; ``{0}``, ``{1}`` are its parameters)."""

HTTP_STATUS: Mapping[str, int] = {
    "50000": 400, "50001": 503, "50002": 400, "50004": 400, "50011": 429, "50013": 429, "50014": 400, "50015": 400,
    "50026": 500, "50101": 401, "50102": 401, "50103": 401, "50104": 401, "50105": 401, "50106": 401, "50107": 401,
    "50111": 401, "50112": 401, "50113": 401, "51000": 400, "58114": 400,
}  # fmt: skip
"""The HTTP status OKX documents with each code answered as the whole request's refusal (others: 200)."""

DEFAULT_RATE_LIMITS: Mapping[str, tuple[int, float]] = {
    "order": (60, 2.0),
    "batch-orders": (300, 2.0),
    "cancel-order": (60, 2.0),
    "cancel-batch-orders": (300, 2.0),
    "amend-order": (60, 2.0),
    "amend-batch-orders": (300, 2.0),
    "sub-account": (1000, 2.0),
    "/api/v5/trade/order": (60, 2.0),
    "/api/v5/trade/orders-pending": (60, 2.0),
    "/api/v5/trade/orders-history": (40, 2.0),
    "/api/v5/trade/fills": (60, 2.0),
    "/api/v5/trade/fills-history": (10, 2.0),
    "/api/v5/trade/cancel-all-after": (1, 1.0),
    "/api/v5/account/balance": (10, 2.0),
    "/api/v5/account/positions": (10, 2.0),
    "/api/v5/account/config": (5, 2.0),
    "/api/v5/account/trade-fee": (5, 2.0),
    "/api/v5/account/set-position-mode": (5, 2.0),
    "/api/v5/account/set-leverage": (20, 2.0),
    "/api/v5/asset/currencies": (6, 1.0),
    "/api/v5/asset/balances": (6, 1.0),
    "/api/v5/asset/deposit-address": (6, 1.0),
    "/api/v5/asset/deposit-history": (6, 1.0),
    "/api/v5/asset/withdrawal": (6, 1.0),
    "/api/v5/asset/withdrawal-history": (6, 1.0),
    "/api/v5/asset/transfer": (2, 1.0),
    "/api/v5/asset/transfer-state": (10, 1.0),
}
"""``(requests, seconds)`` per user: each order operation per instrument (``order``, ``batch-orders``... counted
by order, a batch of one counting as a single request, REST and WebSocket together), ``sub-account`` the new and
amended orders of a user over every instrument (50061), and each other path (per user and currency for
``/asset/transfer``). From each endpoint's "Rate Limit" line in the docs."""


def message(code: str, *params: object) -> str:
    """OKX's message for ``code`` with its parameters filled in (those not given left out: a scripted fault
    names a code alone)."""
    template = MSG.get(code, "")
    wanted = template.count("{")
    if len(params) >= wanted:
        return template.format(*params)
    return " ".join(template.format(*params, *[""] * (wanted - len(params))).split())


@dataclass(slots=True)
class Call(RestCall[Any]):
    """One REST request or WebSocket operation as a handler sees it: ``params`` is a JSON object body or the
    query (text values), ``items`` a JSON array body (a batch endpoint's orders)."""

    items: list[Any] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Reply:
    """A handler's answer: ``{"code","msg","data"}`` with HTTP ``status``; ``timed`` adds ``inTime``/``outTime``
    (the trade endpoints' gateway stamps, µs)."""

    data: list[Any] = field(default_factory=list)
    code: str = "0"
    msg: str = ""
    status: int = 200
    timed: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST path: its handler, whether it is signed, the order faults it takes (``None``: none but those
    scripted for ``"any"``), its rate-limit name (``""``: none of its own, the order paths count per item) and
    the parameter whose value the limit is counted per (``/asset/transfer``: per currency)."""

    handler: Callable[[Call], Reply]
    private: bool
    operation: OrderOperation | None
    limit: str = ""
    scope: str = ""


def refusal(code: str, *params: object, status: int | None = None, msg: str | None = None) -> Reply:
    """The whole request refused with ``code`` (HTTP status as OKX documents it unless ``status``)."""
    text_ = msg if msg is not None else message(code, *params)
    return Reply([], code, text_, status if status is not None else HTTP_STATUS.get(code, 200))


def item(s_code: str = "0", s_msg: str = "", **fields: Any) -> dict[str, Any]:
    """One per-order result: ``fields`` (``ordId``, ``clOrdId``, ``tag``, ``ts``...) then ``sCode``, ``sMsg``."""
    return {**fields, "sCode": s_code, "sMsg": s_msg}


def items_reply(items: list[dict[str, Any]], *, ws: bool = False) -> Reply:
    """The envelope of per-order results: code ``"0"`` all succeeded, ``"1"`` none, ``"2"`` some (REST says so
    in ``msg``; the WebSocket's ``msg`` is empty, as its examples show)."""
    succeeded = sum(1 for entry in items if entry.get("sCode") == "0")
    code = "0" if succeeded == len(items) else "1" if succeeded == 0 else "2"
    return Reply(items, code, "" if ws else MSG[code], 200, timed=True)


def param_text(params: Mapping[str, Any], key: str) -> str | None:
    """A parameter as text (JSON bodies may carry numbers or booleans); ``None`` when absent, null or empty."""
    value = params.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decimal_of(value: str | None) -> Decimal | None:
    """A finite decimal, or ``None`` for an absent or malformed one."""
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def text(value: Decimal) -> str:
    """A decimal as OKX writes numbers: plain digits, no exponent, no trailing zeros (``"51858"``, ``"0.0019"``)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def iso_ms(text_: str) -> int | None:
    """``OK-ACCESS-TIMESTAMP`` (``2020-12-08T09:08:57.715Z``) in ms since the epoch; ``None`` when malformed."""
    if not text_.endswith("Z"):
        return None
    try:
        stamp = dt.datetime.strptime(text_[:-1], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(stamp.timestamp() * 1000)


def rest_sign(secret: str, timestamp: str, method: str, request_path: str, body: str) -> str:
    """``OK-ACCESS-SIGN``: Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath[?query] + body))."""
    digest = hmac.new(secret.encode(), (timestamp + method + request_path + body).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def ws_sign(secret: str, timestamp: str) -> str:
    """A WebSocket login's ``sign``: the REST signature of ``timestamp + "GET" + "/users/self/verify"``."""
    return rest_sign(secret, timestamp, "GET", "/users/self/verify", "")


class RateLimits:
    """Sliding windows of requests per key (``(uid, limit name, instrument or currency)``), on the venue's
    ``clock`` (seconds); ``limits`` by name (:data:`DEFAULT_RATE_LIMITS` with overrides). Shared by the REST
    dispatch and the WebSocket's order operations."""

    def __init__(self, clock: Callable[[], float], limits: Mapping[str, tuple[int, float]]) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._hits: dict[tuple[str, str, str], deque[float]] = {}

    def take(self, uid: str, name: str, scope: str = "", count: int = 1) -> bool:
        """Count ``count`` requests of ``name`` for ``uid`` (and ``scope``); False (nothing counted) when that
        would pass the limit. A name without a limit is never refused."""
        limit = self.limits.get(name)
        if limit is None:
            return True
        most, window = limit
        now = self._clock()
        hits = self._hits.setdefault((uid, name, scope), deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) + count > most:
            return False
        hits.extend([now] * count)
        return True
