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
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web

from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, OrderFault, RestFault
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

AUTH_WINDOW_MS = 30_000
"""How far ``OK-ACCESS-TIMESTAMP`` may be from the venue's clock (the login's documented 30 s)."""
_GATEWAY_CODES = {200: "50026", 400: "50004", 429: "50011", 500: "50026", 503: "50001"}
_GATEWAY_TEXT = {502: "Bad Gateway", 504: "Gateway Timeout"}


def gateway_code(status: int) -> str | None:
    """The code OKX documents with an error answer of HTTP ``status`` (``None``: such an answer carries no JSON)."""
    return _GATEWAY_CODES.get(status)


class OkxRest:
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
        clock: Callable[[], float],
        begin: Callable[[web.Request], Awaitable[None]],
        tick: Callable[[], Awaitable[None]],
        log: Callable[[web.Request, int, int], None],
        record: Callable[[AppliedFault], None],
        limits: RateLimits,
        passphrase: Callable[[str], str],
        demo: bool = False,
    ) -> None:
        self.desk = desk
        self.views = views
        self.faults = faults
        self.endpoints = dict(endpoints)
        """The endpoints served, by ``(method, path)``."""
        self.limits = limits
        self.demo = demo
        self._clock = clock
        self._begin = begin
        self._tick = tick
        self._log_rest = log
        self._record = record
        self._passphrase = passphrase

    def add_routes(self, app: web.Application) -> None:
        """Route every endpoint's method and path to :meth:`serve`."""
        for method, path in self.endpoints:
            app.router.add_route(method, path, self.serve)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST call: hold, ban, scripted faults, auth, rate limit, order faults, handler."""
        endpoint = self.endpoints[(request.method, request.path)]
        await self._begin(request)
        await self._tick()
        now = self._clock()
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
        order_fault = self.faults.take_order_fault(endpoint.operation or "any") if endpoint.private else None
        if endpoint.operation:
            call.now_ms = await self.desk.arrives(endpoint.operation)
        if order_fault is None:
            return self._respond(request, await self.desk.act(partial(endpoint.handler, call)))
        return await self._faulted(request, endpoint, call, order_fault)

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

    async def _faulted(self, request: web.Request, endpoint: Endpoint, call: Call, fault: OrderFault) -> (
        web.StreamResponse
    ):  # fmt: skip
        """Answer under an order fault: the request is acted on before (``processed``) or not at all, then the
        answer is held (until released), dropped, or an error: ``fault.code`` or the gateway's for the status.
        An order request's error of HTTP 200 is OKX's per-item refusal: ``{"code":"1","data":[{...,"sCode":
        code,"sMsg"}]}``, one item per order the request named."""

        def log(status: int) -> None:
            self._log_rest(request, status, 0)

        outcome = await self.desk.under_fault(request, fault, call, partial(endpoint.handler, call), log)
        if isinstance(outcome, Reply):
            return self._respond(request, outcome)
        if outcome is not None:
            return outcome
        status = fault.status or 200
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        code = str(fault.code) if fault.code is not None else gateway_code(status)
        if code is None:
            log(status)
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
        if fault.kind is FaultKind.REST_MALFORMED:
            body = encode(self.envelope(Reply([])))
            body = body[: max(1, len(body) // 2)]
            self._record(AppliedFault(FaultKind.REST_MALFORMED, detail=request.path))
            self._log_rest(request, 200, 0)
            return web.Response(status=200, body=body, content_type="application/json")
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        code = str(fault.code) if fault.code is not None else gateway_code(fault.status)
        if fault.body is not None:
            body = fault.body
        elif code is not None:
            body = encode(self.envelope(refusal(code, msg=fault.msg or message(code))))
        else:
            body = (fault.msg or _GATEWAY_TEXT.get(fault.status, "Service Unavailable")).encode()
        content_type = "application/json" if body.lstrip().startswith(b"{") else "text/plain"
        self._record(AppliedFault(FaultKind.REST_ERROR, detail=f"{fault.status} {body[:80]!r}"))
        self._log_rest(request, fault.status, 0)
        return web.Response(status=fault.status, body=body, headers=headers, content_type=content_type)

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
