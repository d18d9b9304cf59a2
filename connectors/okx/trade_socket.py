"""OKX v5's order entry over the private WebSocket (``/ws/v5/private``), as an
:class:`~connectors.common.order_socket.Framing`.

A connection logs in once: ``{"op":"login","args":[{"apiKey","passphrase","timestamp","sign"}]}`` with
``timestamp`` in seconds and ``sign`` the Base64 HMAC-SHA256 of ``timestamp + "GET" + "/users/self/verify"``,
answered ``{"event":"login","code":"0"}`` (a refusal: ``{"event":"error","code":"60009",...}``, and OKX closes
the connection). Each request is ``{"id","op","args":[{...}]}`` with ``id`` at most 32 letters and digits;
its answer echoes ``id`` and ``op`` with REST's envelope: ``code`` (``"0"``, ``"1"`` every item failed),
``msg`` and ``data``, one item per order with its own ``sCode``/``sMsg``: :meth:`OkxTradeFraming.body` keeps
that envelope, so :data:`connectors.okx.private.ANSWERS` reads a WebSocket answer as a REST one. OKX states
no request counts on its answers (no headers). The text ``ping`` keeps the connection open (OKX closes one
idle for 30 s), answered ``pong``.

Operations: ``order``, ``cancel-order``, ``amend-order``; an order names its instrument by the integer
``instIdCode`` (``instId`` is ignored there since 2026).
"""

from __future__ import annotations

__all__ = ["AMEND", "CANCEL", "CREATE", "OkxTradeFraming", "login_sign"]

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgspec

CREATE = "order"
CANCEL = "cancel-order"
AMEND = "amend-order"
_OPERATIONS = frozenset({CREATE, CANCEL, AMEND, "batch-orders", "batch-cancel-orders", "batch-amend-orders"})
_encode = msgspec.json.Encoder().encode
_SEPARATOR, _SEPARATOR_ON_WIRE = "-", "X"
"""The order socket's request ids are ``<hex>-<n>``; OKX takes letters and digits only: the dash goes out as
``X`` (never a hex digit) and comes back."""


def login_sign(secret: str, timestamp_s: str) -> str:
    """The login's ``sign``: Base64 HMAC-SHA256 of ``timestamp + "GET/users/self/verify"``."""
    digest = hmac.new(secret.encode(), f"{timestamp_s}GET/users/self/verify".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class OkxTradeFraming:
    """The ``/ws/v5/private`` order wire for one API key and its passphrase."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str) -> None:
        self._key, self._secret, self._passphrase = api_key, api_secret, passphrase

    def __repr__(self) -> str:  # the key, the secret and the passphrase stay out of every log
        return "OkxTradeFraming()"

    def login(self, now_ms: int) -> bytes:
        stamp = str(now_ms // 1000)
        sign = login_sign(self._secret, stamp)
        args = {"apiKey": self._key, "passphrase": self._passphrase, "timestamp": stamp, "sign": sign}
        return _encode({"op": "login", "args": [args]})

    def login_answer(self, answer: Mapping[str, Any]) -> tuple[bool, str, str] | None:
        event = answer.get("event")
        if event not in ("login", "error"):
            return None
        code = str(answer.get("code", ""))
        return event == "login" and code == "0", code, str(answer.get("msg", ""))

    def request(self, request_id: str, operation: str, params: Mapping[str, Any], now_ms: int) -> bytes:
        wire_id = request_id.replace(_SEPARATOR, _SEPARATOR_ON_WIRE)
        return _encode({"id": wire_id, "op": operation, "args": [params]})

    def status(self, answer: Mapping[str, Any]) -> int:
        return 200  # as REST's order endpoints: the refusal is in the code and each item's sCode

    def body(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        """REST's envelope: ``code``, ``msg``, ``data`` (the items, each with ``sCode``/``sMsg``)."""
        data = answer.get("data")
        return {"code": str(answer.get("code", "")), "msg": str(answer.get("msg", "")),
                "data": data if isinstance(data, list) else []}  # fmt: skip

    def headers(self, answer: Mapping[str, Any]) -> dict[str, str]:
        return {}  # OKX states no request counts on its answers

    def answer_id(self, answer: Mapping[str, Any]) -> str | None:
        request_id = answer.get("id")
        if request_id is None or answer.get("op") not in _OPERATIONS:
            return None
        return str(request_id).replace(_SEPARATOR_ON_WIRE, _SEPARATOR)

    def orphan_refusal(self, answer: Mapping[str, Any]) -> bool:
        # {"event":"error","code":"60013","msg":"Invalid args"} names no request: every one in flight is lost
        return answer.get("event") == "error" and "id" not in answer

    def ping(self) -> bytes:
        return b"ping"
