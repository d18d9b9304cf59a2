"""A fake private Binance venue (spot or USD-M) on loopback, that ccxt trades against.

:class:`FakeBinanceExchange` is the public :class:`~arb.sim.binance.public.FakeBinanceVenue` (the
same recorded market data, depth snapshots and ``exchangeInfo`` on the same port) plus Binance's
private side, served from its own :class:`~arb.sim.ledger.Ledger`: orders match against the
book the venue is replaying.

REST, as Binance documents it: form-encoded parameters in the query (GET, DELETE) or the body (POST,
PUT); errors are ``{"code":-2010,"msg":"..."}`` with a real HTTP status (400 business errors, 401 bad
keys, 429 rate limit, 418 ban, 5xx unknown). Signed requests carry ``X-MBX-APIKEY`` and the
parameters ``timestamp``, ``recvWindow`` and ``signature`` (hex HMAC-SHA256 of the query string and
body without the signature, :func:`~arb.sim.binance.wire.signature`). Every answer carries
``x-mbx-used-weight`` and ``x-mbx-used-weight-1m``; order requests ``x-mbx-order-count-*``.

* spot: ``POST/GET/DELETE /api/v3/order``, ``GET/DELETE /api/v3/openOrders``, ``GET /api/v3/allOrders``,
  ``/api/v3/account``, ``/api/v3/myTrades``; the user stream on the WebSocket API ``/ws-api/v3``
  (``userDataStream.subscribe.signature``; events arrive as ``{"subscriptionId":N,"event":{...}}``:
  ``executionReport``, ``outboundAccountPosition``).
* USD-M: ``POST/GET/DELETE /fapi/v1/order``, ``GET /fapi/v1/openOrders``, ``DELETE /fapi/v1/allOpenOrders``,
  ``GET /fapi/v1/allOrders``, ``/fapi/v1/userTrades``, ``/fapi/v2|v3/balance``, ``/fapi/v2|v3/account``,
  ``/fapi/v2|v3/positionRisk``, ``GET /fapi/v1/income`` (commissions, realised PnL and funding fees),
  ``POST /fapi/v1/countdownCancelAll`` (dead-man's switch), ``/fapi/v1/leverage``,
  ``/fapi/v1/marginType``, ``GET/POST /fapi/v1/positionSide/dual``, and the listen key
  (``POST/PUT/DELETE /fapi/v1/listenKey``, key only) whose stream is ``/private/ws?listenKey=...``
  (``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``, ``listenKeyExpired``).
* Orders over the WebSocket API (:mod:`.ws_api`): ``order.place``, ``order.cancel``, ``order.status`` on
  spot's ``/ws-api/v3`` and USD-M's ``/ws-fapi/v1``, each signed per request and run by the REST
  endpoint's handler.

USD-M funding: each funding time the ``<symbol>@markPrice`` stream shows passing (its ``T`` moves on;
recorded frames and those of a ``funding=`` schedule alike) is settled on the ledger at the rate and
mark price the stream announced for it (:class:`~arb.sim.funding.FundingAnnouncements`): the
wallet moves, ``/fapi/v1/income`` lists a ``FUNDING_FEE``, and the user stream sends an
``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` and the balance alone, as Binance does for a cross position.

Time is the venue's ``clock`` (seconds): request timestamps, the weight window, bans, listen-key
expiry and countdown cancels are read from it; a test moves time by moving its clock and calling
:meth:`FakeBinanceExchange.tick`. Faults are the venue's :class:`~arb.sim.faults.FaultPlan`.
"""

from __future__ import annotations

__all__ = ["FakeBinanceExchange"]

import secrets

from arb.sim.binance.calls import (
    DAY_MS,
    FUTURES_CLIENT_ID,
    MSG_NO_ORDER,
    MSG_UNKNOWN_ORDER,
    ORDER_PARAMS,
    SPOT_CLIENT_ID,
    UNMODELLED,
    Call,
    Endpoint,
    Reply,
    api_error,
    int_param,
    mandatory,
)
from arb.sim.binance.wire import futures_order, futures_trade, reject_error, spot_order, spot_trade
from arb.sim.binance.ws_api import BinanceWsApi
from arb.sim.ledger import ZERO, OrderStatus, OrderType, RejectReason, Side, TimeInForce, VenueRejectError
from arb.sim.private import decimal_param


class FakeBinanceExchange(BinanceWsApi):
    """Fake Binance with trading: spot (``market="spot"``) or USD-M perpetuals (``"linear"``).

    ``rules``: each tradable symbol's filters (tick, step, min/max qty, min notional, min/max price),
    reported by ``exchangeInfo`` and enforced on orders. ``options``
    (:class:`~arb.sim.options.VenueOptions`): how it serves, and its trading terms: fees default to
    Binance's base rates (spot 0.1 %/0.1 %, USD-M 0.05 % taker / 0.02 % maker), a spot fee is paid in
    the asset received (a buy's in the base coin, as without BNB) unless ``spot_fee_asset="quote"``,
    leverage up to 125, maintenance rate 0.4 %. ``weight_limit`` is the per-minute request weight;
    a client that keeps sending after ``bans_after_429`` answers of 429 in one window is banned for
    ``ban_s`` (HTTP 418), as Binance bans IPs that do not back off. ``listen_key_ttl_s`` is how long a
    USD-M listen key lives without a keep-alive (Binance: 60 minutes). The options' ``clock``
    (seconds) is the venue's time.
    """

    def _endpoint_table(self) -> dict[tuple[str, str], Endpoint]:
        spot = self.market == "spot"
        p = "/api/v3" if spot else "/fapi/v1"
        endpoints_: dict[tuple[str, str], Endpoint] = {
            ("POST", f"{p}/order"): Endpoint(self._order_create, 1, "signed", "create", order_count=True),
            ("GET", f"{p}/order"): Endpoint(self._order_query, 4 if spot else 1, "signed", "query"),
            ("DELETE", f"{p}/order"): Endpoint(self._order_cancel, 1, "signed", "cancel"),
            ("GET", f"{p}/openOrders"): Endpoint(self._open_orders, 6 if spot else 1, "signed", "query"),
            ("GET", f"{p}/allOrders"): Endpoint(self._all_orders, 20 if spot else 5, "signed", "query"),
        }
        if spot:
            endpoints_.update({
                ("DELETE", "/api/v3/openOrders"): Endpoint(self._cancel_all, 1, "signed", "cancel"),
                ("GET", "/api/v3/account"): Endpoint(self._spot_account, 20, "signed", "query"),
                ("GET", "/api/v3/myTrades"): Endpoint(self._my_trades, 20, "signed", "query"),
            })  # fmt: skip
        else:
            endpoints_.update({
                ("DELETE", "/fapi/v1/allOpenOrders"): Endpoint(self._cancel_all, 1, "signed", "cancel"),
                ("GET", "/fapi/v1/userTrades"): Endpoint(self._my_trades, 5, "signed", "query"),
                ("GET", "/fapi/v2/balance"): Endpoint(self._futures_balance, 5, "signed", "query"),
                ("GET", "/fapi/v3/balance"): Endpoint(self._futures_balance, 5, "signed", "query"),
                ("GET", "/fapi/v2/account"): Endpoint(self._futures_account_v2, 5, "signed", "query"),
                ("GET", "/fapi/v3/account"): Endpoint(self._futures_account_v3, 5, "signed", "query"),
                ("GET", "/fapi/v2/positionRisk"): Endpoint(self._position_risk_v2, 5, "signed", "query"),
                ("GET", "/fapi/v3/positionRisk"): Endpoint(self._position_risk_v3, 5, "signed", "query"),
                ("GET", "/fapi/v1/income"): Endpoint(self._income, 30, "signed", "query"),
                ("POST", "/fapi/v1/countdownCancelAll"): Endpoint(self._countdown, 10, "signed"),
                ("POST", "/fapi/v1/leverage"): Endpoint(self._set_leverage, 1, "signed"),
                ("GET", "/fapi/v1/leverageBracket"): Endpoint(self._leverage_brackets, 1, "signed"),
                ("POST", "/fapi/v1/marginType"): Endpoint(self._set_margin_type, 1, "signed"),
                ("GET", "/fapi/v1/positionSide/dual"): Endpoint(self._get_dual, 30, "signed"),
                ("POST", "/fapi/v1/positionSide/dual"): Endpoint(self._set_dual, 1, "signed"),
                ("POST", "/fapi/v1/listenKey"): Endpoint(self._listen_key_new, 1, "key"),
                ("PUT", "/fapi/v1/listenKey"): Endpoint(self._listen_key_keep, 1, "key"),
                ("DELETE", "/fapi/v1/listenKey"): Endpoint(self._listen_key_close, 1, "key"),
            })  # fmt: skip
        return endpoints_

    # -- order handlers ----------------------------------------------------------------------------

    def _order_create(self, call: Call) -> Reply:
        """``POST /api/v3/order`` (ACK/RESULT/FULL; FULL by default) or ``/fapi/v1/order`` (ACK/RESULT)."""
        account = call.account
        assert account is not None
        params = call.params
        spot = self.market == "spot"
        unknown = [k for k in params if k not in ORDER_PARAMS]
        if unknown:
            what = "not modelled by the fake" if any(k in UNMODELLED for k in unknown) else "not read"
            return api_error(-1104, f"Not all sent parameters were read; {', '.join(sorted(unknown))} {what}.")
        rules = self._rules_of(params)
        if isinstance(rules, Reply):
            return rules
        side_text = params.get("side")
        if side_text not in ("BUY", "SELL"):
            return mandatory("side") if not side_text else api_error(-1117, "Invalid side.")
        type_text = params.get("type")
        types = ("LIMIT", "MARKET", "LIMIT_MAKER") if spot else ("LIMIT", "MARKET")
        if type_text not in types:
            return mandatory("type") if not type_text else api_error(-1116, "Invalid orderType.")
        order_type = OrderType.MARKET if type_text == "MARKET" else OrderType.LIMIT
        tif_text = params.get("timeInForce")
        tifs = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
        if not spot:
            tifs["GTX"] = TimeInForce.POST_ONLY
        if type_text == "LIMIT":
            if tif_text is None:
                return mandatory("timeInForce")
            if tif_text not in tifs:
                return api_error(-1115, "Invalid timeInForce.")
            time_in_force = tifs[tif_text]
        elif type_text == "LIMIT_MAKER":
            time_in_force = TimeInForce.POST_ONLY
        else:
            if tif_text is not None:
                return api_error(-1106, "Parameter 'timeInForce' sent when not required.")
            time_in_force = TimeInForce.IOC
        try:
            qty = decimal_param(params.get("quantity"))
            price = decimal_param(params.get("price"))
        except ValueError as error:
            return api_error(-1100, f"Illegal characters found in parameter '{error}'.")
        if qty is None:
            return mandatory("quantity")
        if qty <= 0:
            return api_error(-4003, "Quantity less than or equal to zero.") if not spot else api_error(
                -1013, "Filter failure: LOT_SIZE")  # fmt: skip
        if order_type is OrderType.MARKET:
            if price is not None:
                return api_error(-1106, "Parameter 'price' sent when not required.")
        elif price is None:
            return api_error(*reject_error(self.market, RejectReason.PRICE_REQUIRED))
        respond = params.get("newOrderRespType") or ("FULL" if spot and type_text != "LIMIT_MAKER" else "ACK")
        if respond not in (("ACK", "RESULT", "FULL") if spot else ("ACK", "RESULT")):
            return api_error(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
        reduce_only = (params.get("reduceOnly") or "false").lower() == "true"
        if spot and "reduceOnly" in params:
            return api_error(*reject_error("spot", RejectReason.REDUCE_ONLY))
        if not spot:
            side_param = params.get("positionSide", "BOTH")
            dual = self._dual.get(account.name, False)
            if side_param not in ("BOTH", "LONG", "SHORT") or (side_param == "BOTH") == dual:
                return api_error(-4061, "Order's position side does not match user's setting.")
            if dual:
                return api_error(-1104, "Not all sent parameters were read; hedge-mode positions are not modelled "
                                     "by the fake.")  # fmt: skip
        client_id = params.get("newClientOrderId")
        pattern = SPOT_CLIENT_ID if spot else FUTURES_CLIENT_ID
        if client_id is not None and not pattern.match(client_id):
            return api_error(*reject_error(self.market, RejectReason.INVALID_CLIENT_ID))
        if not client_id:
            prefix = "web_" if spot else "autoclose-"
            client_id = prefix + secrets.token_hex(11)
        try:
            side = Side.BUY if side_text == "BUY" else Side.SELL
            order = self.desk.place(account, rules, side, order_type, qty, price, time_in_force, client_id, reduce_only)
        except VenueRejectError as error:
            return api_error(*reject_error(self.market, error.reason, rules, price))
        if spot:
            return Reply(body=spot_order(order, kind=respond))  # type: ignore[arg-type]
        if respond == "ACK":
            first = order.trades[0].time_ms if order.trades else order.created_ms
            return Reply(body=futures_order(order, rules, status=OrderStatus.NEW, executed=ZERO, quote=ZERO)
                          | {"updateTime": first})  # fmt: skip
        return Reply(body=futures_order(order, rules))

    def _order_query(self, call: Call) -> Reply:
        """``GET /api/v3/order`` / ``/fapi/v1/order`` by ``orderId`` or ``origClientOrderId``; ``-2013``
        when there is no such order (or it is not visible yet)."""
        if isinstance(looked := self._find(call, count_query=True), Reply):
            return looked
        found = looked[1]
        if found is None:
            return api_error(-2013, MSG_NO_ORDER)
        return Reply(body=self._order_json(found))

    def _order_cancel(self, call: Call) -> Reply:
        """``DELETE /api/v3/order`` / ``/fapi/v1/order``: ``-2011`` unless the order is open."""
        if isinstance(looked := self._find(call, count_query=False), Reply):
            return looked
        rules, found = looked
        assert call.account is not None
        if found is None or not found.status.is_open:
            return api_error(-2011, MSG_UNKNOWN_ORDER)
        cancel_id = call.params.get("newClientOrderId") or f"web_cancel{next(self._cancel_ids):06d}"
        self._cancel_client_ids[found.symbol, found.order_id] = cancel_id
        self.ledger.cancel(call.account, rules.symbol, order_id=found.order_id)
        if self.market == "spot":
            return Reply(body=spot_order(found, kind="CANCEL", cancel_client_id=cancel_id))
        return Reply(body=futures_order(found, rules))

    def _cancel_all(self, call: Call) -> Reply:
        """Spot ``DELETE /api/v3/openOrders`` (``-2011`` with none open) or USD-M ``DELETE
        /fapi/v1/allOpenOrders`` (``{"code":200,"msg":"The operation of cancel all open order is done."}``)."""
        rules = self._rules_of(call.params)
        if isinstance(rules, Reply):
            return rules
        assert call.account is not None
        open_orders = self.ledger.open_orders(call.account, rules.symbol)
        for order in open_orders:
            self._cancel_client_ids[order.symbol, order.order_id] = f"web_cancel{next(self._cancel_ids):06d}"
            self.ledger.cancel(call.account, rules.symbol, order_id=order.order_id)
        if self.market != "spot":
            return Reply(body={"code": 200, "msg": "The operation of cancel all open order is done."})
        if not open_orders:
            return api_error(-2011, MSG_UNKNOWN_ORDER)
        return Reply(body=[spot_order(o, kind="CANCEL", cancel_client_id=self._cancel_client_ids[o.symbol, o.order_id])
                            for o in open_orders])  # fmt: skip

    def _open_orders(self, call: Call) -> Reply:
        """``GET /api/v3/openOrders`` / ``/fapi/v1/openOrders`` (``symbol`` optional)."""
        assert call.account is not None
        symbol = call.params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return api_error(-1121, "Invalid symbol.")
        orders = [o for o in self.ledger.open_orders(call.account, symbol) if o.hidden_queries <= 0]
        return Reply(body=[self._order_json(o) for o in orders])

    def _all_orders(self, call: Call) -> Reply:
        """``GET /api/v3/allOrders`` / ``/fapi/v1/allOrders``: oldest first from ``orderId`` or a time span."""
        rules = self._rules_of(call.params)
        if isinstance(rules, Reply):
            return rules
        assert call.account is not None
        from_id = int_param(call.params, "orderId")
        start, end = int_param(call.params, "startTime"), int_param(call.params, "endTime")
        limit = max(1, min(int_param(call.params, "limit") or 500, 1000))
        orders = [
            o for o in call.account.orders
            if o.symbol == rules.symbol and o.hidden_queries <= 0
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.created_ms >= start) and (end is None or o.created_ms <= end)
        ]  # fmt: skip
        chosen = orders[:limit] if from_id is not None or start is not None else orders[-limit:]
        return Reply(body=[self._order_json(o) for o in chosen])

    def _my_trades(self, call: Call) -> Reply:
        """Spot ``GET /api/v3/myTrades`` (a span of at most 24 h) or USD-M ``GET /fapi/v1/userTrades`` (at
        most 7 days; the last 7 days by default), oldest first."""
        rules = self._rules_of(call.params)
        if isinstance(rules, Reply):
            return rules
        assert call.account is not None
        spot = self.market == "spot"
        order_id = int_param(call.params, "orderId")
        from_id = int_param(call.params, "fromId")
        start, end = int_param(call.params, "startTime"), int_param(call.params, "endTime")
        limit = max(1, min(int_param(call.params, "limit") or 500, 1000))
        span = DAY_MS if spot else 7 * DAY_MS
        if start is not None and end is not None and end - start > span:
            return api_error(-1127, "More than 24 hours between startTime and endTime." if spot
                          else "The time between startTime and endTime cannot be longer than 7 days.")  # fmt: skip
        if not spot and order_id is None and from_id is None and start is None and end is None:
            start = call.now_ms - span
        if start is not None and end is None and order_id is None:
            end = start + span
        trades = self.ledger.trades(call.account, rules.symbol, start_ms=start, end_ms=end, from_id=from_id,
                                    order_id=order_id, limit=limit)  # fmt: skip
        if spot:
            return Reply(body=[spot_trade(t) for t in trades])
        return Reply(body=[futures_trade(t, rules) for t in trades])
