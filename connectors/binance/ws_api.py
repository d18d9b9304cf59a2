"""Binance's WebSocket API for orders (spot ``/ws-api/v3``, USD-M ``/ws-fapi/v1``), as an
:class:`~connectors.common.order_socket.Framing`.

A request is ``{"id":"...","method":"order.place","params":{...}}`` whose params are the REST
endpoint's, plus ``apiKey``, ``timestamp`` (a JSON integer, ms) and ``recvWindow``, signed like REST:
``signature`` is the hex HMAC-SHA256 of every other param as ``key=value`` joined by ``&``, sorted by
name. With an HMAC key there is no session login (``session.logon`` takes Ed25519 keys only): every
request carries its signature. The answer echoes ``id`` with ``status`` (HTTP's) and either ``result``
(the REST reply's body) or ``error`` (``{"code","msg"}``, REST's error body), so the adapter's answer
rules read both paths alike. Its ``rateLimits`` (``[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE",
"intervalNum":1,"limit":6000,"count":70}, {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,
...}]``) are REST's ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-10S`` headers (:meth:`headers`).
The server pings at the WebSocket level; the client library answers.

Methods: ``order.place``, ``order.cancel``, ``order.status`` on both markets.
"""

from __future__ import annotations

__all__ = ["CANCEL", "PLACE", "STATUS", "BinanceWsApiFraming"]

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgspec

PLACE = "order.place"
CANCEL = "order.cancel"
STATUS = "order.status"
_encode = msgspec.json.Encoder().encode


class BinanceWsApiFraming:
    """The WebSocket API's wire for one HMAC API key."""

    def __init__(self, api_key: str, api_secret: str, *, recv_window_ms: int = 5000) -> None:
        self._key = api_key
        self._mac = hmac.new(api_secret.encode(), digestmod=hashlib.sha256)  # keyed once, copied per request
        self._window = recv_window_ms

    def __repr__(self) -> str:  # the key and secret stay out of every log
        return f"BinanceWsApiFraming(recv_window_ms={self._window})"

    def login(self, now_ms: int) -> None:
        return None

    def login_answer(self, answer: Mapping[str, Any]) -> tuple[bool, str, str] | None:
        return None

    def request(self, request_id: str, operation: str, params: Mapping[str, Any], now_ms: int) -> bytes:
        signed: dict[str, Any] = {**params, "apiKey": self._key, "recvWindow": self._window, "timestamp": now_ms}
        payload = "&".join(f"{name}={signed[name]}" for name in sorted(signed))
        mac = self._mac.copy()
        mac.update(payload.encode())
        signed["signature"] = mac.hexdigest()
        return _encode({"id": request_id, "method": operation, "params": signed})

    def status(self, answer: Mapping[str, Any]) -> int:
        status = answer.get("status")
        return status if isinstance(status, int) else 500  # an answer without one: its outcome is unknown

    def body(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        body = answer.get("result") if answer.get("status") == 200 else answer.get("error")
        return dict(body) if isinstance(body, Mapping) else {}

    def headers(self, answer: Mapping[str, Any]) -> dict[str, str]:
        """``rateLimits`` as REST's headers: ``x-mbx-used-weight-<n><m|s|h|d>`` for ``REQUEST_WEIGHT``,
        ``x-mbx-order-count-<n><...>`` for ``ORDERS``, each its ``count``."""
        out: dict[str, str] = {}
        limits = answer.get("rateLimits")
        for entry in limits if isinstance(limits, list) else ():
            if not isinstance(entry, Mapping):
                continue
            kind = {"REQUEST_WEIGHT": "x-mbx-used-weight", "ORDERS": "x-mbx-order-count"}.get(
                str(entry.get("rateLimitType"))
            )
            interval, num, count = str(entry.get("interval", "")), entry.get("intervalNum"), entry.get("count")
            if kind and interval and isinstance(num, int) and isinstance(count, int):
                out[f"{kind}-{num}{interval[0].lower()}"] = str(count)
        return out

    def answer_id(self, answer: Mapping[str, Any]) -> str | None:
        request_id = answer.get("id")
        return None if request_id is None else str(request_id)

    def orphan_refusal(self, answer: Mapping[str, Any]) -> bool:
        # an answer with "id": null refuses a request the venue could not read; ours always carry an id
        return False

    def ping(self) -> None:
        return None
