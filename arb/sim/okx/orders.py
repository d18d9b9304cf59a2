"""The fake private OKX's order entry: place, cancel and amend one order or a batch (REST ``/api/v5/trade/...``
and the WebSocket's ``order``, ``batch-orders``, ``cancel-order``, ``batch-cancel-orders``, ``amend-order``,
``batch-amend-orders`` alike), under the per-instrument rate limits both share.

:class:`OkxOrders` is a part of :class:`~arb.sim.okx.exchange.FakeOkxExchange`, usable alone: each request is a
list of items (JSON objects as OKX documents them, the instrument named by ``instId``), each answered with its
own ``sCode``/``sMsg`` (an item refused never stops the others). Its queries and the dead man's switch are in
:mod:`.queries`.

What OKX documents and the fake does: ``clOrdId`` up to 32 letters and digits, unique among open orders and in
the request (51016); ``tdMode`` ``cash`` on spot, ``cross``/``isolated`` on a swap (sizes in contracts); in
``long_short_mode`` an order without ``posSide`` long or short is refused (51000 "Parameter posSide error ");
``reduceOnly`` on a swap in net mode only (51205 on spot); ``ordType`` ``limit``, ``post_only``, ``ioc``,
``fok``, ``market``, ``optimal_limit_ioc`` (swaps); a post-only order that would take is accepted, then
cancelled (``cancelSource`` 31); ``expTime`` past: not processed (50037). What it does not model is refused
with 51000 and a message saying so, never ignored: long/short positions, spot margin (``tdMode`` cross or
isolated, ``ccy``), spot market buys by quote amount (``tgtCcy`` ``quote_ccy``, OKX's default for a buy: ccxt
sends ``base_ccy``), attached TP/SL, options prices.
"""

from __future__ import annotations

__all__ = ["OPS", "ORDER_TYPES", "REST_OPS", "OkxOrders", "answer_ids", "reject_code"]

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arb.sim.ledger import (
    LedgerAccount,
    LedgerOrder,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    VenueRejectError,
)
from arb.sim.okx.calls import (
    Call,
    Endpoint,
    RateLimits,
    Reply,
    decimal_of,
    item,
    items_reply,
    message,
    param_text,
    refusal,
    text,
)
from arb.sim.okx.instruments import OkxInstrument
from arb.sim.okx.ledger import OkxLedger
from arb.sim.okx.views import OkxViews, OrderMeta
from arb.sim.private import OrderDesk

ORDER_TYPES: Mapping[str, tuple[OrderType, TimeInForce]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "post_only": (OrderType.LIMIT, TimeInForce.POST_ONLY),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "fok": (OrderType.LIMIT, TimeInForce.FOK),
    "market": (OrderType.MARKET, TimeInForce.IOC),
    "optimal_limit_ioc": (OrderType.MARKET, TimeInForce.IOC),
}
"""The order types the fake trades, as the ledger's type and time in force."""
OPS: Mapping[str, tuple[str, str, str]] = {
    "order": ("order", "order", "batch-orders"),
    "batch-orders": ("order", "order", "batch-orders"),
    "cancel-order": ("cancel-order", "cancel-order", "cancel-batch-orders"),
    "batch-cancel-orders": ("cancel-order", "cancel-order", "cancel-batch-orders"),
    "amend-order": ("amend-order", "amend-order", "amend-batch-orders"),
    "batch-amend-orders": ("amend-order", "amend-order", "amend-batch-orders"),
}
"""Each operation (the WebSocket's ``op``): what it does to each item, and the rate limits it counts against for
one item and for several (:data:`~arb.sim.okx.calls.DEFAULT_RATE_LIMITS`)."""
REST_OPS: Mapping[str, str] = {
    "/api/v5/trade/order": "order",
    "/api/v5/trade/batch-orders": "batch-orders",
    "/api/v5/trade/cancel-order": "cancel-order",
    "/api/v5/trade/cancel-batch-orders": "batch-cancel-orders",
    "/api/v5/trade/amend-order": "amend-order",
    "/api/v5/trade/amend-batch-orders": "batch-amend-orders",
}
"""The operation (a key of :data:`OPS`) each order-entry path is."""
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_TAG = re.compile(r"^[A-Za-z0-9]{1,16}$")
_UNMODELLED = ("attachAlgoOrds", "tpTriggerPx", "slTriggerPx", "tpOrdPx", "slOrdPx", "pxUsd", "pxVol", "ccy",
               "closeFraction", "triggerPx", "callbackRatio", "callbackSpread")  # fmt: skip
_BATCH_MAX = 20
_POS_SIDE_ERROR = "Parameter posSide error "
"""OKX's own text (with its trailing space), as its answers quote it."""


@dataclass(frozen=True, slots=True)
class _Checked:
    """An order's parameters as OKX accepted them (``qty`` in base units)."""

    inst: OkxInstrument
    meta: OrderMeta
    side: Side
    type: OrderType
    tif: TimeInForce
    qty: Decimal
    price: Decimal | None
    reduce_only: bool


def reject_code(
    reason: RejectReason, inst: OkxInstrument, order: LedgerOrder | None, account: LedgerAccount
) -> tuple[str, str]:
    """OKX's ``sCode`` and ``sMsg`` for a ledger refusal of an order on ``inst``."""
    rules = inst.rules
    if reason is RejectReason.INSUFFICIENT_BALANCE:
        if inst.swap:
            return "51008", f"Order failed. Insufficient {rules.quote} margin in account"
        side = order.side if order is not None else Side.BUY
        return "51008", message("51008", rules.quote if side is Side.BUY else rules.base)
    if reason is RejectReason.REDUCE_ONLY and order is not None:
        held = account.position(inst.inst_id).qty
        return ("51170", message("51170")) if held * order.side.sign > 0 else ("51169", message("51169"))
    simple = {
        RejectReason.UNKNOWN_SYMBOL: ("51001",), RejectReason.PRICE_TICK: ("51150",),
        RejectReason.QTY_STEP: ("51121",), RejectReason.QTY_MIN: ("51020",), RejectReason.NOTIONAL_MIN: ("51020",),
        RejectReason.QTY_MAX: ("51203", inst.fields["maxLmtSz"]), RejectReason.DUPLICATE_CLIENT_ID: ("51016",),
        RejectReason.INVALID_CLIENT_ID: ("51000", "clOrdId"), RejectReason.PRICE_REQUIRED: ("51204",),
        RejectReason.POST_ONLY_TAKES: ("51511",), RejectReason.REDUCE_ONLY: ("51169",),
        RejectReason.PRICE_RANGE: ("51006", text(rules.max_price), text(rules.min_price)),
        RejectReason.FOK_UNFILLED: ("51000", "ordType"),
    }  # fmt: skip
    code, *params = simple[reason]
    return code, message(code, *params)


class OkxOrders:
    """Places, cancels and amends orders on ``desk``'s ledger as ``views`` shows it, counting each against
    ``limits`` (per user and instrument). ``position_mode(account)`` is the account's ``posMode``."""

    def __init__(
        self, desk: OrderDesk, views: OkxViews, limits: RateLimits, *, position_mode: Callable[[str], str]
    ) -> None:
        self.desk = desk
        self.views = views
        self.limits = limits
        ledger = desk.ledger
        assert isinstance(ledger, OkxLedger)
        self.ledger = ledger
        self._position_mode = position_mode
        self._auto_ids = 0

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The order-entry endpoints, by ``(method, path)``."""
        return {
            ("POST", "/api/v5/trade/order"): Endpoint(self._order, True, "create"),
            ("POST", "/api/v5/trade/batch-orders"): Endpoint(self._batch_orders, True, "create"),
            ("POST", "/api/v5/trade/cancel-order"): Endpoint(self._cancel_order, True, "cancel"),
            ("POST", "/api/v5/trade/cancel-batch-orders"): Endpoint(self._cancel_batch, True, "cancel"),
            ("POST", "/api/v5/trade/amend-order"): Endpoint(self._amend_order, True, "any"),
            ("POST", "/api/v5/trade/amend-batch-orders"): Endpoint(self._amend_batch, True, "any"),
        }

    # -- what REST and the WebSocket share -----------------------------------------------------------

    def run(
        self, op: str, account: LedgerAccount, items: list[Any], now_ms: int, *, exp_ms: int | None = None,
        counted: bool = False,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Act on the items of one request of ``op`` (a key of :data:`OPS`) in turn: each charged to its
        instrument's limit (a batch of one as a single request; ``counted``: already charged by
        :meth:`allowed`), answered with its own ``sCode``. ``exp_ms``: the request's ``expTime`` (ms), past
        which nothing is done (50037)."""
        kind, single, batch = OPS[op]
        bucket = single if len(items) == 1 else batch
        act = {"order": self._place, "cancel-order": self._cancel, "amend-order": self._amend}[kind]
        out: list[dict[str, Any]] = []
        requested: set[str] = set()
        uid = self.views.uid(account.name)
        for entry in items:
            if not isinstance(entry, dict):
                out.append(item("51000", message("51000", "args"), ordId="", clOrdId="", ts=str(now_ms)))
                continue
            ids = answer_ids(op, entry, now_ms)
            inst = self.views.instrument(param_text(entry, "instId"))
            if exp_ms is not None and now_ms > exp_ms:
                out.append(item("50037", message("50037"), **ids))
            elif inst is not None and not counted and not self.limits.take(uid, bucket, inst.inst_id):
                out.append(item("50011", message("50011"), **ids))
            elif kind != "cancel-order" and not self.limits.take(uid, "sub-account"):
                out.append(item("50061", message("50061"), **ids))
            elif kind == "order" and ids["clOrdId"] and ids["clOrdId"] in requested:
                out.append(item("51016", message("51016"), **ids))
            else:
                requested.add(ids["clOrdId"])
                out.append(act(account, entry, inst, ids))
        return out

    def allowed(self, account: LedgerAccount, op: str, entry: Mapping[str, Any]) -> bool:
        """Whether a single-order request of ``op`` naming ``entry``'s instrument may go on under that
        instrument's limit (counted here: run it with ``counted``)."""
        inst = self.views.instrument(param_text(entry, "instId"))
        return inst is None or self.limits.take(self.views.uid(account.name), OPS[op][1], inst.inst_id)

    # -- placing ---------------------------------------------------------------------------------

    def _place(
        self, account: LedgerAccount, entry: dict[str, Any], inst: OkxInstrument | None, ids: dict[str, str]
    ) -> dict[str, Any]:
        """Place one order (``POST /api/v5/trade/order``'s body) -> ``{"clOrdId","ordId","tag","ts","sCode",
        "sMsg":"Order placed"}``; fills come on the ``orders`` channel."""
        checked = self._checked(account, entry, inst)
        if isinstance(checked, tuple):
            return item(*checked, **ids)
        inst, meta, side, order_type, tif = checked.inst, checked.meta, checked.side, checked.type, checked.tif
        qty, price, reduce_only = checked.qty, checked.price, checked.reduce_only
        client_id = ids["clOrdId"]
        if not client_id:
            self._auto_ids += 1
            client_id = f"~{self._auto_ids}"
        try:
            order = self.desk.place(account, inst.rules, side, order_type, qty, price, tif, client_id, reduce_only)
        except VenueRejectError as error:
            probe = LedgerOrder(0, client_id, account.name, inst.inst_id, side, order_type, tif, price, qty,
                                reduce_only, 0, 0)  # fmt: skip
            return item(*reject_code(error.reason, inst, probe, account), **ids)
        self.views.meta[order.order_id] = meta
        if inst.swap:
            self.views.margin_modes.setdefault((account.name, inst.inst_id), meta.td_mode)
        return item("0", "Order placed", **{**ids, "ordId": str(order.order_id)})

    def _checked(self, account: LedgerAccount, entry: dict[str, Any], inst: OkxInstrument | None) -> (
        _Checked | tuple[str, str]
    ):  # fmt: skip
        """An order's parameters checked as OKX checks them, or the ``(sCode, sMsg)`` refusing it."""
        if not account.can_trade:
            return "50120", "This API key doesn't have permission to use this function"
        for key in ("instId", "tdMode", "side", "ordType", "sz"):
            if param_text(entry, key) is None:
                return "50014", message("50014", key)
        if inst is None:
            return "51001", message("51001")
        client_id, tag = param_text(entry, "clOrdId"), param_text(entry, "tag")
        if client_id is not None and not _ID.match(client_id):
            return "51000", message("51000", "clOrdId")
        if tag is not None and not _TAG.match(tag):
            return "51000", message("51000", "tag")
        side_text, ord_type, td_mode = (
            param_text(entry, "side"),
            param_text(entry, "ordType") or "",
            param_text(entry, "tdMode"),
        )
        if side_text not in ("buy", "sell"):
            return "51000", message("51000", "side")
        if ord_type not in ORDER_TYPES or (ord_type == "optimal_limit_ioc" and not inst.swap):
            return "51000", message("51000", "ordType")
        if (td_mode == "cash") == inst.swap or td_mode not in ("cash", "cross", "isolated"):
            spot_margin = not inst.swap and td_mode in ("cross", "isolated")
            return "51000", message("51000", "tdMode") + (": spot margin is not modelled by the fake" if spot_margin
                                                           else "")  # fmt: skip
        if (unmodelled := next((k for k in _UNMODELLED if param_text(entry, k) is not None), None)) is not None:
            return "51000", message("51000", unmodelled) + ": not modelled by the fake"
        pos_side = param_text(entry, "posSide") or ""
        if inst.swap:
            hedged = self._position_mode(account.name) == "long_short_mode"
            if pos_side not in ("", "net", "long", "short") or (pos_side in ("long", "short")) != hedged:
                return "51000", _POS_SIDE_ERROR
            if hedged:
                return "51000", _POS_SIDE_ERROR + "(long/short positions are not modelled by the fake)"
        elif pos_side:
            return "51000", _POS_SIDE_ERROR
        reduce_only = (param_text(entry, "reduceOnly") or "false").lower() == "true"
        if reduce_only and not inst.swap:
            return "51205", message("51205")
        order_type, tif = ORDER_TYPES[ord_type]
        size, price = decimal_of(param_text(entry, "sz")), decimal_of(param_text(entry, "px"))
        if size is None or size <= 0:
            return "51000", message("51000", "sz")
        if order_type is OrderType.LIMIT and price is None:
            return ("51204", message("51204")) if param_text(entry, "px") is None else ("51000", message("51000", "px"))
        tgt_ccy = param_text(entry, "tgtCcy") or ""
        if not inst.swap and order_type is OrderType.MARKET:
            tgt_ccy = tgt_ccy or ("quote_ccy" if side_text == "buy" else "base_ccy")
            if tgt_ccy != "base_ccy":
                return "51000", message("51000", "tgtCcy") + ": market orders by quote amount are not modelled by " \
                    "the fake; send tgtCcy=base_ccy"  # fmt: skip
        meta = OrderMeta(ord_type, td_mode or "", "net" if inst.swap else "", tgt_ccy, tag or "")
        side = Side.BUY if side_text == "buy" else Side.SELL
        limit_price = price if order_type is OrderType.LIMIT else None
        return _Checked(inst, meta, side, order_type, tif, inst.base(size), limit_price, reduce_only)

    # -- cancelling and amending -----------------------------------------------------------------------

    def _found(self, account: LedgerAccount, entry: dict[str, Any], inst: OkxInstrument | None) -> (
        LedgerOrder | tuple[str, str] | None
    ):  # fmt: skip
        """The open order an item names by ``ordId`` (first) or ``clOrdId``; ``None`` when there is none open;
        the refusal of a missing or unknown instrument or identifier."""
        if param_text(entry, "instId") is None:
            return "50014", message("50014", "instId")
        if inst is None:
            return "51001", message("51001")
        ord_id, client_id = param_text(entry, "ordId"), param_text(entry, "clOrdId")
        if ord_id is None and client_id is None:
            return "50015", message("50015", "ordId", "clOrdId")
        if ord_id is not None and not ord_id.isdigit():
            return None
        order = self.ledger.find(account, inst.inst_id, order_id=int(ord_id) if ord_id else None, client_id=client_id,
                                 count_query=False)  # fmt: skip
        return order if order is not None and order.status.is_open else None

    def _cancel(
        self, account: LedgerAccount, entry: dict[str, Any], inst: OkxInstrument | None, ids: dict[str, str]
    ) -> dict[str, Any]:
        """Cancel one open order -> ``{"clOrdId","ordId","ts","sCode":"0","sMsg":""}`` (accepted: the
        ``orders`` channel shows it ``canceled``), 51400 when it is filled, cancelled or unknown."""
        found = self._found(account, entry, inst)
        if isinstance(found, tuple):
            return item(*found, **ids)
        if found is None:
            return item("51400", message("51400"), **ids)
        self.views.meta_of(found).cancel_source = "1"
        self.ledger.cancel(account, found.symbol, order_id=found.order_id)
        return item("0", "", **{**ids, "ordId": str(found.order_id), "clOrdId": self.views.client_id(found)})

    def _amend(
        self, account: LedgerAccount, entry: dict[str, Any], inst: OkxInstrument | None, ids: dict[str, str]
    ) -> dict[str, Any]:
        """Amend one open limit order's ``newSz`` (contracts on a swap, the filled part included) and/or ``newPx``
        -> ``{"clOrdId","ordId","ts","reqId","sCode":"0","sMsg":""}``; 51503 when it is filled, cancelled or
        unknown. A refused amendment with ``cxlOnFail`` true cancels the order instead (``amendResult`` 1)."""
        found = self._found(account, entry, inst)
        if isinstance(found, tuple):
            return item(*found, **ids)
        if found is None:
            return item("51503", message("51503"), **ids)
        assert inst is not None
        req_id = ids.get("reqId", "")
        if req_id and not _ID.match(req_id):
            return item("51000", message("51000", "reqId"), **ids)
        new_size, new_price = param_text(entry, "newSz"), param_text(entry, "newPx")
        if new_size is None and new_price is None:
            return item("50015", message("50015", "newSz", "newPx"), **ids)
        size, price = decimal_of(new_size), decimal_of(new_price)
        if (new_size is not None and (size is None or size <= 0)) or (new_price is not None and price is None):
            return item("51000", message("51000", "newSz" if new_size is not None and size is None else "newPx"),
                        **ids)  # fmt: skip
        ids = {**ids, "ordId": str(found.order_id), "clOrdId": self.views.client_id(found)}
        meta = self.views.meta_of(found)
        meta.req_id = req_id
        try:
            meta.amend_result = "0"
            self.ledger.amend(account, found, qty=inst.base(size) if size is not None else None, price=price)
        except VenueRejectError as error:
            if (param_text(entry, "cxlOnFail") or "false").lower() == "true":
                meta.amend_result, meta.cancel_source = "1", "0"
                self.ledger.cancel(account, found.symbol, order_id=found.order_id)
                return item("0", "", **ids)
            meta.amend_result = "-1"
            return item(*reject_code(error.reason, inst, found, account), **ids)
        return item("0", "", **ids)

    # -- the REST endpoints ------------------------------------------------------------------------

    def _single(self, op: str, call: Call) -> Reply:
        # one order: past its instrument's limit the whole request is refused (HTTP 429), as OKX documents 50011
        assert call.account is not None
        if not self.allowed(call.account, op, call.params):
            return refusal("50011", msg="Too Many Requests")
        return items_reply(self.run(op, call.account, [call.params], call.now_ms, exp_ms=_exp_ms(call), counted=True))

    def _batch(self, op: str, call: Call) -> Reply:
        assert call.account is not None
        items = call.items
        if not items:
            return refusal("50000") if not call.params else refusal("51000", "body")
        if len(items) > _BATCH_MAX:
            return refusal("50025", "orders", _BATCH_MAX, status=200)
        return items_reply(self.run(op, call.account, items, call.now_ms, exp_ms=_exp_ms(call)))

    def _order(self, call: Call) -> Reply:
        """``POST /api/v5/trade/order`` ``{"instId","tdMode","clOrdId","side","ordType","px","sz",...}``."""
        return self._single("order", call)

    def _batch_orders(self, call: Call) -> Reply:
        """``POST /api/v5/trade/batch-orders`` ``[{...}, ...]`` (at most 20), ccxt's ``create_order``."""
        return self._batch("batch-orders", call)

    def _cancel_order(self, call: Call) -> Reply:
        """``POST /api/v5/trade/cancel-order`` ``{"instId","ordId"|"clOrdId"}``."""
        return self._single("cancel-order", call)

    def _cancel_batch(self, call: Call) -> Reply:
        """``POST /api/v5/trade/cancel-batch-orders`` ``[{"instId","ordId"|"clOrdId"}, ...]``."""
        return self._batch("batch-cancel-orders", call)

    def _amend_order(self, call: Call) -> Reply:
        """``POST /api/v5/trade/amend-order`` ``{"instId","ordId"|"clOrdId","newSz"?,"newPx"?,"reqId"?}``."""
        return self._single("amend-order", call)

    def _amend_batch(self, call: Call) -> Reply:
        """``POST /api/v5/trade/amend-batch-orders`` ``[{...}, ...]``."""
        return self._batch("batch-amend-orders", call)


def answer_ids(op: str, entry: Any, now_ms: int) -> dict[str, str]:
    """The identifying fields an item of ``op`` is answered with, as the request named them: ``clOrdId``, an
    empty ``ordId``, ``tag`` and ``ts`` for an order; ``ordId``, ``clOrdId``, ``ts`` (and an amendment's
    ``reqId``) otherwise."""
    fields: dict[str, Any] = entry if isinstance(entry, dict) else {}
    client_id, ts = param_text(fields, "clOrdId") or "", str(now_ms)
    kind = OPS[op][0]
    if kind == "order":
        return {"clOrdId": client_id, "ordId": "", "tag": param_text(fields, "tag") or "", "ts": ts}
    ids = {"ordId": param_text(fields, "ordId") or "", "clOrdId": client_id, "ts": ts}
    if kind == "amend-order":
        ids["reqId"] = param_text(fields, "reqId") or ""
    return ids


def _exp_ms(call: Call) -> int | None:
    # the request's deadline: the ``expTime`` header (REST) or field (WebSocket), ms
    value = call.headers.get("expTime") or param_text(call.params, "expTime")
    return int(value) if value is not None and value.isdigit() else None
