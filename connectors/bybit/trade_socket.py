"""Bybit v5's order entry over WebSocket (``/v5/trade``), as an :class:`~connectors.common.order_socket.Framing`.

A connection logs in once, as the private stream does: ``{"op":"auth","args":[api_key, expires,
signature]}`` with the hex HMAC-SHA256 of ``"GET/realtime" + expires`` (ms), answered ``{"retCode":0,
"op":"auth",...}``. Each request then carries the REST body as its one argument and a header with the
timestamp and receive window: ``{"reqId":"...","header":{"X-BAPI-TIMESTAMP":"...",
"X-BAPI-RECV-WINDOW":"5000"},"op":"order.create","args":[{...}]}``; its answer echoes ``reqId`` with
``retCode``/``retMsg``, ``data`` (``orderId``, ``orderLinkId``) as the REST answer's ``result``, and a
``header`` with REST's rate-limit headers (``X-Bapi-Limit``, ``X-Bapi-Limit-Status``,
``X-Bapi-Limit-Reset-Timestamp``: :meth:`BybitTradeFraming.headers`): the same
codes, read by the same :data:`connectors.bybit.private.ANSWERS` once :meth:`BybitTradeFraming.body`
has put ``data`` where REST keeps it (``result``). A refusal for want of a login
(``10003`` "Request not authorized") comes without the ``reqId``. ``{"op":"ping"}`` keeps it open.

Operations: ``order.create``, ``order.amend``, ``order.cancel`` (Bybit's demo environment has no
``/v5/trade``).
"""

from __future__ import annotations

__all__ = ["CANCEL", "CREATE", "BybitTradeFraming"]

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgspec

CREATE = "order.create"
CANCEL = "order.cancel"
_LOGIN_VALID_MS = 10_000
_encode = msgspec.json.Encoder().encode
_PING = _encode({"op": "ping"})


class BybitTradeFraming:
    """The ``/v5/trade`` wire for one API key."""

    def __init__(self, api_key: str, api_secret: str, *, recv_window_ms: int = 5000) -> None:
        self._key = api_key
        self._secret = api_secret.encode()
        self._window = str(recv_window_ms)

    def __repr__(self) -> str:  # the key and secret stay out of every log
        return f"BybitTradeFraming(recv_window_ms={self._window})"

    def login(self, now_ms: int) -> bytes:
        expires = str(now_ms + _LOGIN_VALID_MS)
        signature = hmac.new(self._secret, b"GET/realtime" + expires.encode(), hashlib.sha256).hexdigest()
        return _encode({"op": "auth", "args": [self._key, expires, signature]})

    def login_answer(self, answer: Mapping[str, Any]) -> tuple[bool, str, str] | None:
        if answer.get("op") != "auth":
            return None
        code = str(answer.get("retCode"))
        return code == "0", code, str(answer.get("retMsg", ""))

    def request(self, request_id: str, operation: str, params: Mapping[str, Any], now_ms: int) -> bytes:
        header = {"X-BAPI-TIMESTAMP": str(now_ms), "X-BAPI-RECV-WINDOW": self._window}
        return _encode({"reqId": request_id, "header": header, "op": operation, "args": [params]})

    def status(self, answer: Mapping[str, Any]) -> int:
        return 200  # as REST: every business answer is HTTP 200, its code in retCode

    def body(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        # REST keeps the acknowledgement in "result", /v5/trade in "data"
        body = {key: value for key, value in answer.items() if key not in ("data", "reqId", "op", "header", "connId")}
        body["result"] = answer.get("data") or {}
        return body

    def headers(self, answer: Mapping[str, Any]) -> dict[str, str]:
        """The answer's ``header`` (REST's response headers: the endpoint's limit, what is left of it and
        when it resets), names in lower case."""
        header = answer.get("header")
        if not isinstance(header, Mapping):
            return {}
        return {str(k).lower(): str(v) for k, v in header.items()}

    def answer_id(self, answer: Mapping[str, Any]) -> str | None:
        request_id = answer.get("reqId")
        return None if request_id is None or answer.get("op") in ("pong", "auth") else str(request_id)

    def orphan_refusal(self, answer: Mapping[str, Any]) -> bool:
        return str(answer.get("op", "")).startswith("order.") and answer.get("retCode") not in (0, None)

    def ping(self) -> bytes:
        return _PING
