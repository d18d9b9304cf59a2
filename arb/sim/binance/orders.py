"""The fake private Binance's order endpoints: place, query, cancel, cancel all, open and all orders,
and the account's trades, on spot (``/api/v3``) or USD-M (``/fapi/v1``).

:class:`BinanceOrders` is a part of :class:`~arb.sim.binance.exchange.FakeBinanceExchange`, usable
alone: its handlers take a :class:`~arb.sim.binance.calls.Call` and return a
:class:`~arb.sim.binance.calls.Reply`. The REST dispatch (:mod:`.private_rest`) and the WebSocket API
(:mod:`.ws_api`) both run them, so an order is the same order either way.
"""

from __future__ import annotations

__all__ = ["BinanceOrders"]

import itertools
import secrets
from collections.abc import Callable
from typing import Any

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
    rules_of,
)
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.binance.wire import futures_order, futures_trade, reject_error, spot_order, spot_trade
from arb.sim.ledger import (
    ZERO,
    LedgerOrder,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
    VenueRejectError,
)
from arb.sim.private import OrderDesk, decimal_param


class BinanceOrders:
    """The order handlers of ``desk``'s ledger (``desk`` places with the plan's order faults).

    ``dual``: whether an account is in hedge mode (USD-M's ``positionSide/dual``, which it refuses).
    """

    def __init__(self, desk: OrderDesk, *, market: BinanceMarket, dual: Callable[[str], bool]) -> None:
        self.desk = desk
        self.ledger = desk.ledger
        self.market = market
        self._dual = dual
        self._cancel_ids = itertools.count(1)
        self._cancel_client_ids: dict[tuple[str, int], str] = {}
        """The client id Binance gives each cancel (spot ``executionReport`` ``c``; the order's is in ``C``)."""

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The order endpoints of the market, by method and path."""
        spot = self.market == "spot"
        p = "/api/v3" if spot else "/fapi/v1"
        return {
            ("POST", f"{p}/order"): Endpoint(self._order_create, 1, "signed", "create", order_count=True),
            ("GET", f"{p}/order"): Endpoint(self._order_query, 4 if spot else 1, "signed", "query"),
            ("DELETE", f"{p}/order"): Endpoint(self._order_cancel, 1, "signed", "cancel"),
            ("GET", f"{p}/openOrders"): Endpoint(self._open_orders, 6 if spot else 1, "signed", "query"),
            ("GET", f"{p}/allOrders"): Endpoint(self._all_orders, 20 if spot else 5, "signed", "query"),
            ("DELETE", f"{p}/openOrders" if spot else f"{p}/allOpenOrders"): Endpoint(
                self._cancel_all, 1, "signed", "cancel"
            ),
            ("GET", f"{p}/myTrades" if spot else f"{p}/userTrades"): Endpoint(
                self._my_trades, 20 if spot else 5, "signed", "query"
            ),
        }

    def cancel_client_id(self, symbol: str, order_id: int) -> str:
        """The client id of the cancel of ``order_id`` (spot's ``executionReport`` ``c``); empty when none."""
        return self._cancel_client_ids.get((symbol, order_id), "")

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
        rules = rules_of(self.ledger.rules, params)
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
            dual = self._dual(account.name)
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
        rules = rules_of(self.ledger.rules, call.params)
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
        rules = rules_of(self.ledger.rules, call.params)
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
        rules = rules_of(self.ledger.rules, call.params)
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

    def _order_json(self, order: LedgerOrder, *, query: bool = True) -> dict[str, Any]:
        if self.market == "spot":
            return spot_order(order, kind="QUERY" if query else "RESULT")
        return futures_order(order, self.ledger.rules[order.symbol], query=query)

    def _find(self, call: Call, *, count_query: bool) -> tuple[SymbolRules, LedgerOrder | None] | Reply:
        """The symbol's rules and the order ``orderId`` or ``origClientOrderId`` names (``None``: no such
        order, or not visible yet), or the refusal of the request."""
        rules = rules_of(self.ledger.rules, call.params)
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
