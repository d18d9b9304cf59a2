"""The fake private OKX's REST dispatch: the ban, scripted faults, authentication (``OK-ACCESS-KEY``,
``OK-ACCESS-SIGN``, ``OK-ACCESS-TIMESTAMP``, ``OK-ACCESS-PASSPHRASE``, and ``x-simulated-trading: 1`` on a demo
venue), per-user rate limits and order faults, in front of the endpoint handlers (:mod:`.orders`,
:mod:`.queries`, :mod:`.accounts`, :mod:`.assets`).

:class:`OkxRest` is a part of :class:`~arb.sim.okx.exchange.FakeOkxExchange`: an aiohttp handler
(:meth:`OkxRest.serve`) for every ``(method, path)`` of its endpoint table, usable on an application of its own.

A signed request is refused (HTTP 401) with 50103/50104/50106/50107 for a missing header, 50111 an unknown key,
50112 a malformed timestamp, 50102 one more than 30 s from the venue's clock, 50105 a wrong passphrase, 50101 a
request whose ``x-simulated-trading`` does not match the venue (demo keys on production or the reverse), 50113 a
wrong signature (``timestamp + METHOD + path?query + body``). While the venue is banned every request is answered
HTTP 429 ``{"code":"50013","msg":"Systems are busy. Please try again later."}``.
"""

from __future__ import annotations

__all__ = ["AUTH_WINDOW_MS", "OkxRest", "gateway_code"]

import hmac
import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Unpack

from aiohttp import web

from arb.sim.faults import FaultPlan, OrderFault, RestFault
from arb.sim.ledger import LedgerAccount
from arb.sim.okx.calls import (
    Call,
    Endpoint,
    RateLimits,
    Reply,
    iso_ms,
    item,
    items_reply,
    message,
    param_text,
    refusal,
    rest_sign,
)
from arb.sim.okx.orders import REST_OPS, answer_ids
from arb.sim.okx.views import OkxViews
from arb.sim.private import OrderDesk, encode
from arb.sim.rest_server import PrivateRest, RestHooks

AUTH_WINDOW_MS = 30_000
"""How far ``OK-ACCESS-TIMESTAMP`` may be from the venue's clock (the login's documented 30 s)."""
_GATEWAY_CODES = {200: "50026", 400: "50004", 429: "50011", 500: "50026", 503: "50001"}
_GATEWAY_TEXT = {502: "Bad Gateway", 504: "Gateway Timeout"}


def gateway_code(status: int) -> str | None:
    """The code OKX documents with an error answer of HTTP ``status`` (``None``: such an answer carries no JSON)."""
    return _GATEWAY_CODES.get(status)


class OkxRest(PrivateRest[tuple[str, str], Endpoint]):
    """Serves ``endpoints`` (by ``(method, path)``) for ``desk``'s ledger, with ``views``' users.

    ``limits``: the per-user rate limits (shared with the WebSocket); ``passphrase(account)``: the passphrase
    of an account's key; ``demo``: the venue is OKX's demo trading. ``begin`` awaits a request's way in (the
    plan's ``rest_hold``), ``tick`` what is due before it is served (Cancel All After, transfers, events),
    ``log`` records its answer ``(request, status, weight)``; ``record`` appends a fault that landed.
    """

    def __init__(
        self,
        desk: OrderDesk,
        views: OkxViews,
        faults: FaultPlan,
        endpoints: Mapping[tuple[str, str], Endpoint],
        *,
        limits: RateLimits,
        passphrase: Callable[[str], str],
        demo: bool = False,
        **hooks: Unpack[RestHooks],
    ) -> None:
        super().__init__(desk, faults, endpoints, **hooks)
        self.views = views
        self.limits = limits
        self.demo = demo
        self._passphrase = passphrase

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST call: hold, ban, scripted faults, auth, rate limit, order faults, handler."""
        endpoint, now = await self.opening(request)
        if self.desk.banned:
            return self._respond(request, refusal("50013"))
        body = await request.text() if request.method == "POST" else ""
        if (fault := self.faults.take_rest_fault(request.path)) is not None:
            return self._rest_fault(request, fault)
        account: LedgerAccount | None = None
        if endpoint.private:
            account, refused = self.authenticate(request, body, now)
            if refused is not None:
                return self._respond(request, refused)
        try:
            params, items = self._params(request, body)
        except ValueError:
            return self._respond(request, refusal("50002"))
        if account is not None and endpoint.limit:
            scope = param_text(params, endpoint.scope) or "" if endpoint.scope else ""
            if not self.limits.take(self.views.uid(account.name), endpoint.limit, scope):
                return self._respond(request, refusal("50011", msg="Too Many Requests"))
        call = Call(params, account, int(now * 1000), items=items, headers=dict(request.headers))
        return await self.dispatch(
            request, call, partial(endpoint.handler, call), operation=endpoint.operation,
            faulted=(endpoint.operation or "any") if endpoint.private else None,
            answer=lambda reply: self._respond(request, reply),
            refuse=lambda fault: self._refused(request, call, fault),
        )  # fmt: skip

    def authenticate(self, request: web.Request, body: str, now: float) -> tuple[LedgerAccount | None, Reply | None]:
        """The account behind a signed request, or OKX's refusal of it (see the module docstring)."""
        headers = request.headers
        names = ("OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE")
        key, sign, timestamp, passphrase = (headers.get(name, "") for name in names)
        for value, code in ((key, "50103"), (sign, "50106"), (timestamp, "50107"), (passphrase, "50104")):
            if not value:
                return None, refusal(code)
        account = self.desk.ledger.account_for_key(key)
        if account is None:
            return None, refusal("50111")
        stamp_ms = iso_ms(timestamp)
        if stamp_ms is None:
            return None, refusal("50112")
        if abs(stamp_ms - int(now * 1000)) > AUTH_WINDOW_MS:
            return None, refusal("50102")
        if not hmac.compare_digest(passphrase, self._passphrase(account.name)):
            return None, refusal("50105")
        if (headers.get("x-simulated-trading") == "1") != self.demo:
            return None, refusal("50101")
        expected = rest_sign(account.api_secret, timestamp, request.method, request.raw_path, body)
        if not hmac.compare_digest(sign, expected):
            return None, refusal("50113")
        return account, None

    @staticmethod
    def _params(request: web.Request, body: str) -> tuple[dict[str, Any], list[Any]]:
        # the query (GET), or the JSON body: an object's keys, or an array's items (a batch); ValueError if bad JSON
        if request.method != "POST":
            return dict(request.query), []
        if not body.strip():
            return {}, []
        parsed = json.loads(body)
        if isinstance(parsed, list):
            return {}, parsed
        if not isinstance(parsed, dict):
            raise ValueError("the body is neither a JSON object nor an array")
        return parsed, []

    def _refused(self, request: web.Request, call: Call, fault: OrderFault) -> web.StreamResponse:
        """OKX's refusal under an order fault (the request acted on before, ``processed``, or not at all):
        ``fault.code`` or the gateway's for the status. An order request's error of HTTP 200 is OKX's per-item
        refusal: ``{"code":"1","data":[{...,"sCode":code,"sMsg"}]}``, one item per order the request named."""
        status = fault.status or 200
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        code = str(fault.code) if fault.code is not None else gateway_code(status)
        if code is None:
            self._log_rest(request, status, 0)
            text_ = fault.msg or _GATEWAY_TEXT.get(status, "Internal Server Error")
            return web.Response(status=status, text=text_, headers=headers)
        if status == 200 and (op := REST_OPS.get(request.path)) is not None:
            # an order request's refusal inside an HTTP 200: each item answered with the code as its sCode
            entries = call.items or [call.params]
            items = [item(code, fault.msg or message(code), **answer_ids(op, e, call.now_ms)) for e in entries]
            return self._respond(request, items_reply(items), headers)
        answer = refusal(code, status=status, msg=fault.msg or message(code))
        return self._respond(request, answer, headers)

    def _rest_fault(self, request: web.Request, fault: RestFault) -> web.Response:
        return self.scripted_fault(request, fault, lambda: encode(self.envelope(Reply([]))), self._fault_body)

    def _fault_body(self, fault: RestFault) -> bytes:
        """A scripted error's body: OKX's JSON refusal with ``fault.code`` or the gateway's, else the gateway's text."""
        code = str(fault.code) if fault.code is not None else gateway_code(fault.status)
        if code is not None:
            return encode(self.envelope(refusal(code, msg=fault.msg or message(code))))
        return (fault.msg or _GATEWAY_TEXT.get(fault.status, "Service Unavailable")).encode()

    def envelope(self, reply: Reply) -> dict[str, Any]:
        """``{"code","msg","data"}`` (and the gateway's ``inTime``/``outTime``, µs, for a trade answer)."""
        out: dict[str, Any] = {"code": reply.code, "msg": reply.msg, "data": reply.data}
        if reply.timed:
            stamp = str(int(self._clock() * 1_000_000))
            out["inTime"], out["outTime"] = stamp, stamp
        return out

    def _respond(self, request: web.Request, reply: Reply, headers: Mapping[str, str] | None = None) -> web.Response:
        self._log_rest(request, reply.status, 0)
        return web.Response(status=reply.status, body=encode(self.envelope(reply)), headers=dict(headers or {}),
                            content_type="application/json")  # fmt: skip
