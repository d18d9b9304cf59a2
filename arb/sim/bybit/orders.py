"""The fake private Bybit's order endpoints: create, cancel, cancel all, realtime and history orders,
and the executions.

:class:`BybitOrders` is a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange`, usable alone: its
handlers take a :class:`~arb.sim.bybit.calls.Call` and return a :class:`~arb.sim.bybit.calls.Reply`. The
REST dispatch (:mod:`.private_rest`) and the order-entry WebSocket (:mod:`.trade_ws`) both run them.
"""

from __future__ import annotations

__all__ = ["BybitOrders"]

import itertools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from arb.sim.bybit.calls import (
    LINK_ID,
    Call,
    Endpoint,
    OrderMeta,
    Reply,
    api_error,
    category_refusal,
    empty_page,
    flag,
    foreign_symbol,
    no_order,
    page_of,
    param_text,
    time_window,
    unknown_symbol,
)
from arb.sim.bybit.views import BybitViews
from arb.sim.bybit.wire import decimal_text, ledger_order_id, order_status, reject_code
from arb.sim.ledger import LedgerAccount, LedgerOrder, OrderType, RejectReason, Side, TimeInForce, VenueRejectError
from arb.sim.private import OrderDesk, decimal_param


class BybitOrders:
    """The order handlers of ``desk``'s ledger as ``views`` shows it (``desk`` places with the plan's
    order faults). ``hedge``: whether a symbol's positions are in hedge mode (refused as not modelled);
    ``mark_price``: a symbol's mark price (an order's ``lastPriceOnCreated``)."""

    def __init__(
        self,
        desk: OrderDesk,
        views: BybitViews,
        *,
        hedge: Callable[[str], bool],
        mark_price: Callable[[str], Decimal | None],
    ) -> None:
        self.desk = desk
        self.views = views
        self.ledger = desk.ledger
        self.category = views.category
        self._hedge = hedge
        self._mark_price = mark_price
        self._auto_link = itertools.count(1)

    def endpoints(self) -> dict[str, Endpoint]:
        """The order endpoints, by path."""
        return {
            "/v5/order/realtime": Endpoint("GET", self._order_realtime, True, "query"),
            "/v5/order/history": Endpoint("GET", self._order_history, True, "query"),
            "/v5/execution/list": Endpoint("GET", self._execution_list, True, "query"),
            "/v5/order/create": Endpoint("POST", self._order_create, True, "create"),
            "/v5/order/cancel": Endpoint("POST", self._order_cancel, True, "cancel"),
            "/v5/order/cancel-all": Endpoint("POST", self._order_cancel_all, True, "cancel"),
        }

    def _order_create(self, call: Call) -> Reply:
        """``POST /v5/order/create`` -> ``{"orderId","orderLinkId"}`` (an ack: fills come on the stream)."""
        account = call.account
        assert account is not None
        params = call.params
        spot = self.category == "spot"
        if (refusal := category_refusal(self.category, params, other=foreign_symbol(params))) is not None:
            return refusal
        if not account.can_trade:
            return api_error(10005, "Permission denied, please check your API key permissions.")
        rules = self.views.rules(param_text(params, "symbol"))
        if rules is None:
            return unknown_symbol(self.category)
        side_text = param_text(params, "side")
        if side_text not in ("Buy", "Sell"):
            return api_error(170117, "Invalid side.") if spot else api_error(10001, "params error: side invalid")
        type_text = param_text(params, "orderType")
        if type_text not in ("Limit", "Market"):
            return (
                api_error(170116, "Invalid orderType.") if spot else api_error(10001, "params error: orderType invalid")
            )
        order_type = OrderType.LIMIT if type_text == "Limit" else OrderType.MARKET
        tif_text = param_text(params, "timeInForce") or ("GTC" if order_type is OrderType.LIMIT else "IOC")
        tifs = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
                "PostOnly": TimeInForce.POST_ONLY}  # fmt: skip
        if tif_text not in tifs:
            invalid = "Invalid timeInForce."
            return api_error(170115, invalid) if spot else api_error(10001, "params error: timeInForce invalid")
        time_in_force = TimeInForce.IOC if order_type is OrderType.MARKET else tifs[tif_text]
        try:
            qty = decimal_param(param_text(params, "qty"))
            price = decimal_param(param_text(params, "price")) if order_type is OrderType.LIMIT else None
        except ValueError:
            return api_error(10001, "params error: qty or price is not a number")
        if qty is None:
            return api_error(10001, "Missing some parameters that must be filled in, qty")
        unsupported = self._unsupported(params, order_type, side_text)
        if unsupported is not None:
            return unsupported
        market_unit = ""
        if spot and order_type is OrderType.MARKET:
            market_unit = param_text(params, "marketUnit") or "baseCoin"
        link_id = param_text(params, "orderLinkId") or ""
        if link_id and not LINK_ID.match(link_id):
            return api_error(*reject_code(self.category, RejectReason.INVALID_CLIENT_ID))
        if not link_id:
            link_id = f"{next(self._auto_link) + 1_700_000_000_000_000_000}" if spot else f"~{next(self._auto_link)}"
        reduce_only = flag(params, "reduceOnly") and not spot
        try:
            side = Side.BUY if side_text == "Buy" else Side.SELL
            order = self.desk.place(account, rules, side, order_type, qty, price, time_in_force, link_id, reduce_only)
        except VenueRejectError as error:
            return api_error(*reject_code(self.category, error.reason, rules, price))
        mark = self._mark_price(rules.symbol)
        last = decimal_text(mark, rules.tick_size) if mark is not None else ""
        self.views.order_meta[order.order_id] = OrderMeta(market_unit=market_unit, last_price=last)
        link = "" if link_id.startswith("~") else link_id
        return Reply(result={"orderId": self.views.order_id(order), "orderLinkId": link})

    def _unsupported(self, params: Mapping[str, Any], order_type: OrderType, side: str) -> Reply | None:
        """Order features the fake does not model get a 10001 that says so (never a silent ignore)."""
        spot = self.category == "spot"
        for key in ("triggerPrice", "takeProfit", "stopLoss", "tpslMode", "trailingStop"):
            if param_text(params, key) not in (None, "", "0"):
                return api_error(10001, f"params error: {key} (conditional/TP/SL orders) is not modelled by the fake")
        if spot:
            if param_text(params, "isLeverage") not in (None, "0"):
                return api_error(10001, "params error: spot margin (isLeverage=1) is not modelled by the fake")
            if param_text(params, "orderFilter") not in (None, "Order"):
                return api_error(10001, "params error: only orderFilter=Order is modelled by the fake")
            unit = param_text(params, "marketUnit")
            if order_type is OrderType.MARKET and (unit == "quoteCoin" or (unit is None and side == "Buy")):
                return api_error(10001, "params error: spot market orders by value (marketUnit=quoteCoin) are not "
                                     "modelled by the fake; send marketUnit=baseCoin")  # fmt: skip
            return None
        symbol = param_text(params, "symbol") or ""
        hedge = self._hedge(symbol)
        index = param_text(params, "positionIdx") or "0"
        if index not in ("0", "1", "2") or (index == "0") == hedge:
            return api_error(10001, "position idx not match position mode")
        if hedge:
            return api_error(10001, "params error: hedge-mode positions are not modelled by the fake")
        return None

    def _order_cancel(self, call: Call) -> Reply:
        """``POST /v5/order/cancel`` by ``orderId`` (first) or ``orderLinkId`` -> ``{"orderId","orderLinkId"}``."""
        account = call.account
        assert account is not None
        if (refusal := category_refusal(self.category, call.params, other=foreign_symbol(call.params))) is not None:
            return refusal
        rules = self.views.rules(param_text(call.params, "symbol"))
        if rules is None:
            return unknown_symbol(self.category)
        wire_id = param_text(call.params, "orderId")
        link_id = param_text(call.params, "orderLinkId")
        if not wire_id and not link_id:
            return api_error(10001, "params error: orderId or orderLinkId is required")
        order_id = ledger_order_id(self.category, wire_id) if wire_id else None
        if wire_id and order_id is None:
            return no_order(self.category)
        order = self.ledger.find(account, rules.symbol, order_id=order_id, client_id=link_id, count_query=False)
        if order is None or not order.status.is_open:
            return no_order(self.category)
        self.views.meta(order).cancel_type = "CancelByUser"
        self.ledger.cancel(account, rules.symbol, order_id=order.order_id)
        return Reply(result={"orderId": self.views.order_id(order), "orderLinkId": self.views.link(order)})

    def _order_cancel_all(self, call: Call) -> Reply:
        """``POST /v5/order/cancel-all``: spot by ``symbol`` or everything; linear by ``symbol``,
        ``baseCoin`` or ``settleCoin`` (one is required) -> ``{"list":[{orderId,orderLinkId}],"success":"1"}``."""
        account = call.account
        assert account is not None
        if (
            refusal := category_refusal(self.category, call.params, other=Reply(result={"list": [], "success": "1"}))
        ) is not None:
            return refusal
        symbol = param_text(call.params, "symbol")
        base = param_text(call.params, "baseCoin")
        settle = param_text(call.params, "settleCoin")
        if symbol is not None and self.views.rules(symbol) is None:
            return unknown_symbol(self.category)
        if self.category == "linear" and symbol is None and base is None and settle is None:
            return api_error(10001, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        cancelled: list[LedgerOrder] = []
        for order in self.ledger.open_orders(account):
            rules = self.ledger.rules[order.symbol]
            if symbol is not None and order.symbol != symbol:
                continue
            if symbol is None and base is not None and rules.base != base:
                continue
            if symbol is None and base is None and settle is not None and rules.quote != settle:
                continue
            self.views.meta(order).cancel_type = "CancelByUser"
            self.ledger.cancel(account, order.symbol, order_id=order.order_id)
            cancelled.append(order)
        listed = [{"orderId": self.views.order_id(o), "orderLinkId": self.views.link(o)} for o in cancelled]
        return Reply(result={"list": listed, "success": "1"})

    def _history_query(self, call: Call) -> tuple[LedgerAccount, str | None] | Reply:
        """The account of a history query and the ``symbol`` it names (``None``: every symbol), or the
        refusal of its category or of an unknown symbol."""
        account = call.account
        assert account is not None
        params = call.params
        if (refusal := category_refusal(self.category, params, other=empty_page(params))) is not None:
            return refusal
        symbol = param_text(params, "symbol")
        if symbol is not None and self.views.rules(symbol) is None:
            return unknown_symbol(self.category)
        return account, symbol

    def _selected_orders(self, call: Call, *, history: bool) -> list[LedgerOrder] | Reply:
        """The orders a realtime/history query names, newest first (``hide_orders`` applies)."""
        if isinstance(query := self._history_query(call), Reply):
            return query
        account, symbol = query
        params = call.params
        wire_id = param_text(params, "orderId")
        link_id = param_text(params, "orderLinkId")
        if wire_id or link_id:
            order_id = ledger_order_id(self.category, wire_id) if wire_id else None
            if wire_id and order_id is None:
                return []
            found = self.ledger.find(account, symbol, order_id=order_id, client_id=link_id or None)
            if found is None or (history and found.status.is_open):
                return []
            return [found]
        base = param_text(params, "baseCoin")
        settle = param_text(params, "settleCoin")
        if self.category == "linear" and symbol is None and base is None and settle is None:
            return api_error(10001, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        open_only = (param_text(params, "openOnly") or "0") == "0"
        status = param_text(params, "orderStatus")
        selected: list[LedgerOrder] = []
        for order in reversed(account.orders):
            rules = self.ledger.rules[order.symbol]
            if order.hidden_queries > 0:
                continue
            if symbol is not None and order.symbol != symbol:
                continue
            if base is not None and rules.base != base:
                continue
            if settle is not None and rules.quote != settle:
                continue
            if history or not open_only:
                if order.status.is_open:
                    continue
            elif not order.status.is_open:
                continue
            if status is not None and order_status(self.category, order.status, order.executed_qty) != status:
                continue
            selected.append(order)
        if not history and not open_only:
            return selected[:500]  # "a maximum of recent 500 closed status records"
        return selected

    def _order_realtime(self, call: Call) -> Reply:
        """``GET /v5/order/realtime``: open orders (``openOnly=0``), the recent closed ones (``1``), or
        one order by ``orderId``/``orderLinkId`` whatever its state ("openOnly param will be ignored")."""
        return self._order_page(call, history=False)

    def _order_history(self, call: Call) -> Reply:
        """``GET /v5/order/history``: closed orders (filled, cancelled, expired), newest first."""
        return self._order_page(call, history=True)

    def _order_page(self, call: Call, *, history: bool) -> Reply:
        """A page of the orders :meth:`_selected_orders` chooses, as ``/v5/order/realtime`` and
        ``/v5/order/history`` list them."""
        selected = self._selected_orders(call, history=history)
        if isinstance(selected, Reply):
            return selected
        entries = [self.views.order_dict(self.views.order_view(o)) for o in selected]
        page, cursor = page_of(entries, call.params, 20, 50)
        return Reply(result={"list": page, "nextPageCursor": cursor, "category": self.category})

    def _execution_list(self, call: Call) -> Reply:
        """``GET /v5/execution/list``: the account's executions, newest first, 7 days by default: its
        trades (``execType`` ``Trade``) and, on linear, its funding settlements (``Funding``, at the funding
        time); ``execType`` chooses one kind."""
        if isinstance(query := self._history_query(call), Reply):
            return query
        account, symbol = query
        params = call.params
        exec_type = param_text(params, "execType")
        if exec_type is not None and exec_type not in ("Trade", "Funding"):
            return Reply(result={"list": [], "nextPageCursor": "", "category": self.category})
        window = time_window(call, capped=False)
        if isinstance(window, Reply):
            return window
        start, end = window
        wire_id = param_text(params, "orderId")
        link_id = param_text(params, "orderLinkId")
        orders = {o.order_id: o for o in account.orders}
        rows: list[tuple[int, int, dict[str, Any]]] = []  # (time, order of booking, entry)
        for k, trade in enumerate(account.trades):
            order = orders[trade.order_id]
            if exec_type == "Funding":
                break
            if wire_id is not None and self.views.order_id(order) != wire_id:
                continue
            if wire_id is None and link_id is not None and order.client_id != link_id:
                continue
            if symbol is not None and trade.symbol != symbol:
                continue
            if not start <= trade.time_ms <= end:
                continue
            rows.append((trade.time_ms, k, self.views.exec_dict(trade, order)))
        if exec_type != "Trade" and wire_id is None and link_id is None:  # funding belongs to no order of arb's
            for k, payment in enumerate(account.fundings):
                if (symbol is None or payment.symbol == symbol) and start <= payment.funding_ms <= end:
                    rows.append((payment.funding_ms, len(account.trades) + k, self.views.funding_exec_dict(payment)))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        entries = [entry for _, _, entry in rows]
        page, cursor = page_of(entries, params, 50, 100, last_cursor=True)  # Bybit's last page has a cursor too
        return Reply(result={"nextPageCursor": cursor, "category": self.category, "list": page})
