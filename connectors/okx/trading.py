"""OKX v5's order, fill and account messages read into arb's values (pure), in arb's units.

The private ``orders`` channel and the REST ``/api/v5/trade/order``, ``orders-pending`` and
``orders-history`` rows share one shape (an order with ``state``, ``accFillSz``, ``avgPx``; a push adds the
event's own fill: ``fillSz``, ``fillPx``, ``tradeId``, ``fillFee``, ``fillFeeCcy``, ``execType``); the
``/api/v5/trade/fills`` rows are one fill each (``fillSz``, ``fillPx``, ``tradeId``, ``fee``, ``feeCcy``).

Two conversions, both OKX's own:

- **client ids.** OKX takes ``clOrdId`` of at most 32 letters and digits; arb's ids are ``arb-<run>-<n>-<v>``
  (lower-case letters, digits and dashes). A dash goes out as ``X`` (never in arb's ids) and comes back:
  :func:`okx_client_id`, :func:`arb_client_id`.
- **sizes.** A swap's ``sz``, ``accFillSz``, ``fillSz`` and ``pos`` are contracts; arb's are base units:
  contracts x ``ctVal`` x ``ctMult`` (:class:`Instruments`). Spot sizes are base units already.

Fees: OKX's ``fee``/``fillFee`` are negative when charged, positive for a rebate; arb's are positive when paid.
A trade-fee rate is the same (``-0.001`` is a 0.1 % commission).
"""

from __future__ import annotations

__all__ = [
    "Instruments",
    "account_fees",
    "arb_client_id",
    "balances",
    "fills",
    "funding_payments",
    "okx_client_id",
    "order_update",
    "position_and_entry",
]

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate
from connectors.common.private import AccountFees, FundingPayment
from connectors.okx.orders import POST_ONLY_CANCEL_SOURCE

log = logging.getLogger(__name__)

ZERO, ONE = Decimal(0), Decimal(1)
CLIENT_ID_MAX = 32
_STATES = {
    "live": OrderState.ACCEPTED,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "mmp_canceled": OrderState.CANCELED,
}
_IMMEDIATE = frozenset({"ioc", "fok", "optimal_limit_ioc", "market"})
"""Order types whose unfilled rest OKX cancels at once: arb calls that expiry."""


def okx_client_id(client_id: str) -> str:
    """arb's client id as OKX's ``clOrdId`` (the dashes as ``X``); ``ValueError`` past 32 characters or for a
    character OKX does not take."""
    wire = client_id.replace("-", "X")
    if not (wire.isascii() and wire.isalnum() and 0 < len(wire) <= CLIENT_ID_MAX):
        raise ValueError(f"okx: client id {client_id!r} is not 1-{CLIENT_ID_MAX} letters, digits and dashes")
    return wire


def arb_client_id(cl_ord_id: str) -> str:
    """OKX's ``clOrdId`` as arb's client id (:func:`okx_client_id` undone)."""
    return cl_ord_id.replace("X", "-")


@dataclass(slots=True)
class Instruments:
    """What the adapter knows of its market's instruments once the client loaded them: by ``instId``, the
    integer ``instIdCode`` WebSocket orders name it by, and the base units one contract is (1 on spot)."""

    codes: dict[str, int] = field(default_factory=dict)
    contract: dict[str, Decimal] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)
    """arb's symbol of each instrument (``BTC-USDT-SWAP`` -> ``BTCUSDT``)."""

    def base(self, inst_id: str, contracts: Any) -> Decimal:
        """``contracts`` (an OKX size) in base units; raises KeyError for an instrument not loaded."""
        return _decimal(contracts) * self.contract[inst_id]

    def symbol(self, inst_id: str) -> str:
        return self.symbols.get(inst_id) or inst_id.removesuffix("-SWAP").replace("-", "")


def _decimal(text: Any) -> Decimal:
    # OKX sends "" for a field that does not apply yet (avgPx of an unfilled order)
    if text in (None, ""):
        return ZERO
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return ZERO


def _int(text: Any) -> int:
    return int(text) if isinstance(text, (int, str)) and str(text).isdigit() else 0


def state_of(row: Mapping[str, Any]) -> OrderState:
    """arb's state of an OKX order row: an immediate order's cancelled rest is expiry, and so is a post-only
    order OKX accepted and cancelled because it would have taken (``cancelSource`` ``"31"``)."""
    state = _STATES.get(str(row.get("state", "")), OrderState.ACCEPTED)
    if state is OrderState.CANCELED and (
        str(row.get("ordType", "")) in _IMMEDIATE or str(row.get("cancelSource", "")) == POST_ONLY_CANCEL_SOURCE
    ):
        return OrderState.EXPIRED
    return state


def order_update(raw: Mapping[str, Any], instruments: Instruments) -> VenueOrderUpdate | None:
    """The order state in an ``orders`` push or an order row; an accepted order request's item (``sCode``
    ``"0"`` with ``ordId``) is the order accepted. None for anything else, and for an instrument not loaded
    (logged: its sizes cannot be read)."""
    inst_id = str(raw.get("instId", ""))
    if "state" not in raw:
        if str(raw.get("sCode", "")) == "0" and raw.get("ordId") and raw.get("clOrdId"):
            return VenueOrderUpdate(arb_client_id(str(raw["clOrdId"])), str(raw["ordId"]), OrderState.ACCEPTED, ZERO)
        return None
    try:
        executed = instruments.base(inst_id, raw.get("accFillSz"))
    except KeyError:
        log.error("okx: an order of %s, an instrument not loaded, skipped: %s", inst_id, dict(raw))
        return None
    average = _decimal(raw.get("avgPx"))
    return VenueOrderUpdate(
        client_id=arb_client_id(str(raw.get("clOrdId", ""))),
        venue_order_id=str(raw.get("ordId", "")),
        state=state_of(raw),
        executed_qty=executed,
        cum_quote=average * executed if average and executed else None,
        exch_ts_ms=_int(raw.get("uTime")),
        symbol=instruments.symbol(inst_id),
    )


def fills(raw: Mapping[str, Any], instruments: Instruments) -> list[VenueFill]:
    """The fill in an ``orders`` push (``fillSz`` > 0) or a ``/trade/fills`` row; none otherwise."""
    inst_id = str(raw.get("instId", ""))
    size, trade_id = _decimal(raw.get("fillSz")), str(raw.get("tradeId", ""))
    if size <= 0 or not trade_id:
        return []
    try:
        qty = instruments.base(inst_id, size)
    except KeyError:
        log.error("okx: a fill of %s, an instrument not loaded, skipped: %s", inst_id, dict(raw))
        return []
    pushed = "fillFee" in raw  # the orders channel names the fee fillFee; the fills rows fee
    fee = _decimal(raw.get("fillFee" if pushed else "fee"))
    fee_asset = str(raw.get("fillFeeCcy" if pushed else "feeCcy", ""))
    return [
        VenueFill(
            trade_id=trade_id,
            client_id=arb_client_id(str(raw.get("clOrdId", ""))),
            venue_order_id=str(raw.get("ordId", "")),
            side=1 if str(raw.get("side", "")) == "buy" else -1,
            price=_decimal(raw.get("fillPx")),
            qty=qty,
            fee=-fee,
            fee_asset=fee_asset,
            exch_ts_ms=_int(raw.get("fillTime")) or _int(raw.get("ts")),
            is_maker=str(raw.get("execType", "")) == "M",
            symbol=instruments.symbol(inst_id),
        )
    ]


def balances(raw: Any) -> dict[str, Decimal]:
    """``GET /api/v5/account/balance``: each currency's ``cashBal`` (free and held together)."""
    out: dict[str, Decimal] = {}
    for account in _data(raw):
        for detail in account.get("details") or []:
            if isinstance(detail, dict) and detail.get("ccy"):
                out[str(detail["ccy"])] = _decimal(detail.get("cashBal"))
    return out


def position_and_entry(raw: Any, inst_id: str, instruments: Instruments) -> tuple[Decimal, Decimal]:
    """``GET /api/v5/account/positions``: the net position of ``inst_id`` in base units (``pos`` contracts,
    signed in net mode) and its ``avgPx``; ``(0, 0)`` when none is listed."""
    for row in _data(raw):
        if row.get("instId") == inst_id and str(row.get("posSide", "net")) == "net":
            qty = instruments.base(inst_id, row.get("pos"))
            return qty, _decimal(row.get("avgPx")) if qty else ZERO
    return ZERO, ZERO


def account_fees(raw: Any, symbol: str, *, swap: bool) -> AccountFees | None:
    """``GET /api/v5/account/trade-fee``: spot's ``maker``/``taker``, a USDT swap's ``makerU``/``takerU``
    (negative: a commission), as fractions charged; None when the answer names none."""
    for row in _data(raw):
        maker, taker = (row.get("makerU"), row.get("takerU")) if swap else (row.get("maker"), row.get("taker"))
        if maker in (None, "") or taker in (None, ""):
            continue
        detail = f"level {row.get('level', '')}: maker {maker}, taker {taker} (negative: a commission)"
        return AccountFees(symbol, -_decimal(maker), -_decimal(taker), detail=detail)
    return None


def funding_payments(rows: Sequence[Any], inst_id: str, symbol: str) -> list[FundingPayment]:
    """``GET /api/v5/account/bills?type=8`` rows (funding fees) of ``inst_id``: ``balChg`` signed (> 0
    received), in ``ccy``."""
    return [
        FundingPayment(
            symbol, _decimal(r.get("balChg")), str(r.get("ccy", "")), _int(r.get("ts")), str(r.get("billId", ""))
        )
        for r in rows
        if isinstance(r, dict) and r.get("instId") == inst_id
    ]


def _data(raw: Any) -> list[dict[str, Any]]:
    data = raw.get("data") if isinstance(raw, dict) else None
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
