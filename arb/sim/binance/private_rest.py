"""The fake private Binance's REST dispatch: bans, scripted faults, request weight, order counts,
authentication (``X-MBX-APIKEY`` and the HMAC ``signature``), order faults, and the helpers the
endpoint handlers share. The handlers themselves are in :mod:`.accounts` and :mod:`.exchange`.
"""

from __future__ import annotations

__all__ = ["BinancePrivateRest"]

import hmac
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from arb.sim.binance.calls import (
    MSG_1007,
    MSG_1008,
    MSG_AHEAD,
    MSG_KEY_FORMAT,
    MSG_KEY_INVALID,
    MSG_RECV_WINDOW,
    MSG_SIGNATURE,
    Call,
    CountdownTrigger,
    Endpoint,
    Reply,
    api_error,
    int_param,
    mandatory,
    unsigned,
)
from arb.sim.binance.user_stream import BinanceUserStreams
from arb.sim.binance.wire import fixed, futures_order, plain, signature, spot_order
from arb.sim.faults import AppliedFault, FaultKind, OrderFault
from arb.sim.ledger import LedgerAccount, LedgerOrder, SymbolRules
from arb.sim.private import encode

logger = logging.getLogger(__name__)


class BinancePrivateRest(BinanceUserStreams):
    """Serves the private REST endpoints in ``self._private`` (filled by the venue's constructor)."""

    def margin_type(self, account: str, symbol: str) -> str:
        """USD-M: ``"cross"`` or ``"isolated"``, the account's margin type of ``symbol``."""
        return "isolated" if self._margin_type.get((account, symbol)) == "ISOLATED" else "cross"

    def position_mode(self, account: str) -> str:
        """USD-M: ``"one-way"`` or ``"hedge"`` (``positionSide/dual``)."""
        return "hedge" if self._dual.get(account, False) else "one-way"

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (countdown cancels, listen-key expiry), then
        send the events that caused."""
        self._check_countdowns()
        await self._expire_listen_keys()
        await self.events.flush()

    def _spot_symbol(self, symbol: str) -> dict[str, Any]:
        return self._with_limits(symbol, super()._spot_symbol(symbol), fixed)

    def _futures_symbol(self, symbol: str) -> dict[str, Any]:
        return self._with_limits(symbol, super()._futures_symbol(symbol), plain)

    def _with_limits(self, symbol: str, entry: dict[str, Any], text: Callable[[Decimal], str]) -> dict[str, Any]:
        """``entry`` (an ``exchangeInfo`` symbol) with the ledger's price and quantity limits in its
        PRICE_FILTER and LOT_SIZE filters, numbers spelled by ``text`` (spot ``fixed``, USD-M ``plain``)."""
        rules = self.ledger.rules.get(symbol)
        if rules is not None:
            for f in entry["filters"]:
                if f["filterType"] == "PRICE_FILTER":
                    f.update(minPrice=text(rules.min_price), maxPrice=text(rules.max_price))
                elif f["filterType"] == "LOT_SIZE":
                    f.update(minQty=text(rules.min_qty), maxQty=text(rules.max_qty))
        return entry

    # -- routes ------------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        for method, path in self._private:
            app.router.add_route(method, path, self._serve_private)
        if self.market == "spot":
            # requests {"id","method","params"} answered {"id","status","result"}
            app.router.add_get(self.ws_api_path, self._handle_private_ws)
        else:
            app.router.add_get("/private/ws", self._handle_listen_key_stream)

    async def _serve_private(self, request: web.Request) -> web.StreamResponse:
        """Serve one private call: hold, ban, scripted faults, weight, auth, order faults, handler."""
        endpoint = self._private[(request.method, request.path)]
        await self._begin_rest(request)
        self._check_countdowns()
        await self._expire_listen_keys()
        await self.events.flush()
        now = self._clock()
        if self.banned:
            assert self.desk.ban_until is not None
            retry = max(1, int(self.desk.ban_until - now + 0.999))
            refused = self.weight.error_body(418, None, None, retry)
            return self._send(request, 418, refused, {"Retry-After": str(retry)}, endpoint.weight)
        if (fault := self.faults.take_rest_fault(request.path)) is not None:
            headers: dict[str, str] = {}
            status, raw, content_type = self.weight.fault_answer(fault, lambda: (200, b"[]"), headers, self._record)
            self._log_rest(request, status, endpoint.weight)
            return web.Response(status=status, body=raw, headers=headers, content_type=content_type)
        window = self.weight.window
        used = self.weight.charge(endpoint.weight)
        if self.weight.window != window:
            self._refused_in_window = 0
        headers = {"x-mbx-used-weight": str(used), "x-mbx-used-weight-1m": str(used)}
        if used > self.weight.limit:
            self._refused_in_window += 1
            retry = self.weight.seconds_left()
            if self._refused_in_window > self._bans_after_429:
                self.desk.ban_until = now + self._ban_s
                self._record(AppliedFault(FaultKind.BAN, detail=f"kept sending after 429: until {self.desk.ban_until}"))
                return self._send(request, 418, self.weight.error_body(418, None, None, int(self._ban_s)),
                                  {**headers, "Retry-After": str(int(self._ban_s))}, endpoint.weight)  # fmt: skip
            headers["Retry-After"] = str(retry)
            return self._send(request, 429, self.weight.error_body(429, None, None, retry), headers, endpoint.weight)
        body = await request.text() if request.method != "GET" else ""
        account, refusal = self._authenticate(request, body, endpoint, now)
        if refusal is not None:
            return self._reply(request, refusal, headers, endpoint.weight)
        try:
            params = self._params(request, body)
        except ValueError:
            return self._reply(request, api_error(-1100, "Illegal characters found in a parameter."), headers,
                               endpoint.weight)  # fmt: skip
        if endpoint.order_count:
            self._count_order(now, headers)
        call = Call(params, account, int(now * 1000))
        order_fault = self.faults.take_order_fault(endpoint.operation) if endpoint.operation else None
        if endpoint.operation:
            call.now_ms = await self.desk.arrives(endpoint.operation)
        if order_fault is None:
            reply = await self.desk.act(partial(self._run, endpoint, call))
            return self._reply(request, reply, headers, endpoint.weight)
        return await self._faulted_order(request, endpoint, call, order_fault, headers)

    def _run(self, endpoint: Endpoint, call: Call) -> Reply:
        try:
            return endpoint.handler(call)
        except ValueError as error:
            return api_error(-1100, f"Illegal characters found in parameter '{error}'.")

    async def _faulted_order(
        self, request: web.Request, endpoint: Endpoint, call: Call, fault: OrderFault, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Answer under an order fault: the request is acted on before (``processed``) or not at all."""
        log = partial(self._log_rest, request, weight=endpoint.weight)
        outcome = await self.desk.under_fault(request, fault, call, lambda: self._run(endpoint, call), log)
        if isinstance(outcome, Reply):
            return self._reply(request, outcome, headers, endpoint.weight)
        if outcome is not None:
            return outcome
        status = fault.status or 503
        if status in (429, 418) and fault.code is None:  # the venue's own words: -1003, with its Retry-After
            retry = fault.retry_after or (self.weight.seconds_left() if status == 429 else 120)
            headers["Retry-After"] = str(retry)
            return self._send(
                request, status, self.weight.error_body(status, None, fault.msg, retry), headers, endpoint.weight
            )
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.code is not None or status == 503:
            code = fault.code if fault.code is not None else -1007
            msg = fault.msg if fault.msg is not None else {-1007: MSG_1007, -1008: MSG_1008}.get(code, "")
            return self._reply(request, api_error(code, msg, status), headers, endpoint.weight)
        text = fault.msg or ("Bad Gateway" if status == 502 else "Internal Server Error")
        self._log_rest(request, status, endpoint.weight)
        return web.Response(status=status, text=text, headers=headers, content_type="text/html")

    def _send(
        self, request: web.Request, status: int, body: bytes, headers: dict[str, str], weight: int
    ) -> web.Response:
        self._log_rest(request, status, weight)
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")

    def _reply(self, request: web.Request, reply: Reply, headers: dict[str, str], weight: int) -> web.Response:
        return self._send(request, reply.status, encode(reply.body), headers, weight)

    def _count_order(self, now: float, headers: dict[str, str]) -> None:
        counts = self._order_counts
        counts.append(now)
        while counts and counts[0] <= now - 86_400:
            counts.popleft()
        recent = sum(1 for t in counts if t > now - 10)
        headers["x-mbx-order-count-10s"] = str(recent)
        if self.market == "spot":
            headers["x-mbx-order-count-1d"] = str(len(counts))
        else:
            headers["x-mbx-order-count-1m"] = str(sum(1 for t in counts if t > now - 60))

    def _authenticate(
        self, request: web.Request, body: str, endpoint: Endpoint, now: float
    ) -> tuple[LedgerAccount | None, Reply | None]:
        """The account behind a request, or Binance's refusal: 401 ``-2014``/``-2015`` for the key, 400
        ``-1021`` for the time, ``-1022`` for the signature."""
        api_key = request.headers.get("X-MBX-APIKEY", "")
        if not api_key:
            return None, api_error(-2014, MSG_KEY_FORMAT, 401)
        account = self.ledger.account_for_key(api_key)
        if account is None:
            return None, api_error(-2015, MSG_KEY_INVALID, 401)
        if endpoint.auth == "key":
            return account, None
        query = request.rel_url.raw_query_string
        total, sent = unsigned(query, body)
        if sent is None:
            return None, mandatory("signature")
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        timestamp, window = params.get("timestamp", ""), params.get("recvWindow", "5000")
        if not timestamp.isdigit():
            return None, mandatory("timestamp")
        if not window.isdigit() or int(window) > 60_000:
            return None, api_error(-1131, "recvWindow must be less than 60000")
        server_ms = int(now * 1000)
        if int(timestamp) >= server_ms + 1000:
            return None, api_error(-1021, MSG_AHEAD)
        if server_ms - int(timestamp) > int(window):
            return None, api_error(-1021, MSG_RECV_WINDOW)
        if not hmac.compare_digest(sent, signature(account.api_secret, total)):
            return None, api_error(-1022, MSG_SIGNATURE)
        if endpoint.operation in ("create", "cancel") and not account.can_trade:
            return None, api_error(-2015, MSG_KEY_INVALID, 401)
        return account, None

    def _params(self, request: web.Request, body: str) -> dict[str, str]:
        params = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True, strict_parsing=False))
        if body.strip():
            params.update(parse_qsl(body, keep_blank_values=True, strict_parsing=False))
        return params

    # -- helpers shared by handlers ----------------------------------------------------------------

    def _rules_of(self, params: Mapping[str, str]) -> SymbolRules | Reply:
        symbol = params.get("symbol")
        if not symbol:
            return mandatory("symbol")
        rules = self.ledger.rules.get(symbol)
        if rules is None:
            return api_error(-1121, "Invalid symbol.")
        return rules

    def _symbol_and_int(self, call: Call, name: str) -> tuple[SymbolRules, int] | Reply:
        """The rules of the request's ``symbol`` and its integer parameter ``name`` (mandatory), or the
        refusal of the request."""
        rules = self._rules_of(call.params)
        if isinstance(rules, Reply):
            return rules
        assert call.account is not None
        value = int_param(call.params, name)
        if value is None:
            return mandatory(name)
        return rules, value

    def _order_json(self, order: LedgerOrder, *, query: bool = True) -> dict[str, Any]:
        if self.market == "spot":
            return spot_order(order, kind="QUERY" if query else "RESULT")
        return futures_order(order, self.ledger.rules[order.symbol], query=query)

    def _find(self, call: Call, *, count_query: bool) -> tuple[SymbolRules, LedgerOrder | None] | Reply:
        """The symbol's rules and the order ``orderId`` or ``origClientOrderId`` names (``None``: no such
        order, or not visible yet), or the refusal of the request."""
        rules = self._rules_of(call.params)
        if isinstance(rules, Reply):
            return rules
        order_id = int_param(call.params, "orderId")
        client_id = call.params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            name = "orderId" if self.market == "spot" else "orderId' or 'origClientOrderId"
            return api_error(-1102, f"Param '{name}' or 'origClientOrderId' must be sent, but both were empty/null!")
        assert call.account is not None
        return rules, self.ledger.find(call.account, rules.symbol, order_id=order_id, client_id=client_id,
                                       count_query=count_query)  # fmt: skip

    def _check_countdowns(self) -> None:
        now = self._clock()
        for key, (_, deadline) in list(self._countdowns.items()):
            if now < deadline:
                continue
            del self._countdowns[key]
            name, symbol = key
            account = self.ledger.accounts[name]
            cancelled = [o.order_id for o in self.ledger.cancel_all(account, symbol)]
            self.countdown_triggers.append(CountdownTrigger(name, symbol, now, tuple(cancelled)))
            logger.info("countdown cancel: %s %s: cancelled %d orders", name, symbol, len(cancelled))
