"""Bybit's instrument lists (``INSTRUMENTS``, a :class:`~connectors.common.instruments.InstrumentList`):
v5 ``GET /v5/market/instruments-info?category=spot|linear`` (Bybit's "Get Instruments Info" page).

Linear pages: ``limit`` 1-1000 (default 500; Bybit lists more than 500 linear symbols), the next page asked
with ``cursor`` = the answer's ``nextPageCursor`` (``""`` or ``null`` on the last). Spot answers every pair at
once and ignores ``limit`` and ``cursor``. Without ``status`` the answer holds the ``Trading`` symbols only.

The rules: ``priceFilter.tickSize``; linear ``lotSizeFilter.qtyStep``, ``minOrderQty`` and
``minNotionalValue``; spot ``lotSizeFilter.basePrecision`` (its quantity step), ``minOrderQty`` and
``minOrderAmt`` (its least order value). Linear lists dated futures (``contractType`` ``LinearFutures``)
beside the perpetuals (``LinearPerpetual``): only the perpetuals are arb's ``linear``. Bybit spells bundles
both ways: ``1000PEPEUSDT`` (``baseCoin`` ``1000PEPE``) and ``SHIB1000USDT`` (``SHIB1000``), both a bundle of
1,000 (:func:`~connectors.common.instruments.asset_of`).
"""

from __future__ import annotations

__all__ = [
    "INSTRUMENTS",
    "PAGE_LIMIT",
    "BybitInstrumentRules",
    "BybitInstrumentRulesAnswer",
    "BybitInstrumentsList",
    "BybitLotSizeFilter",
    "BybitPriceFilter",
]

from dataclasses import dataclass

import msgspec

from connectors.bybit.urls import INSTRUMENTS_PATH, MARKETS
from connectors.common.instruments import (
    Instrument,
    InstrumentPage,
    InstrumentRequest,
    instrument_named,
    instrument_page,
)

_F = msgspec.field

PAGE_LIMIT = 1000
"""Linear entries asked per page: Bybit's most."""


class BybitPriceFilter(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``priceFilter``: ``{"minPrice":"0.10","maxPrice":"1999999.80","tickSize":"0.10"}`` (spot: ``tickSize`` only)."""

    tick_size: str = _F(name="tickSize", default="")


class BybitLotSizeFilter(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``lotSizeFilter``, whose fields differ by category (linear ``qtyStep``/``minNotionalValue``, spot
    ``basePrecision``/``minOrderAmt``; both ``minOrderQty``)."""

    qty_step: str = _F(name="qtyStep", default="")
    """Linear: quantity increment, base coin."""
    base_precision: str = _F(name="basePrecision", default="")
    """Spot: quantity increment, base coin."""
    min_order_qty: str = _F(name="minOrderQty", default="")
    """Smallest order, base coin."""
    min_notional_value: str = _F(name="minNotionalValue", default="")
    """Linear: smallest order value, quote coin."""
    min_order_amt: str = _F(name="minOrderAmt", default="")
    """Spot: smallest order value, quote coin."""


class BybitInstrumentRules(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One ``list`` entry (the fields arb reads)."""

    symbol: str
    status: str = ""
    """``Trading``, ``PreLaunch``, ``Delivering``, ``Closed``."""
    base_coin: str = _F(name="baseCoin", default="")
    quote_coin: str = _F(name="quoteCoin", default="")
    contract_type: str = _F(name="contractType", default="")
    """Linear only: ``LinearPerpetual`` or ``LinearFutures``."""
    price_filter: BybitPriceFilter = _F(name="priceFilter", default_factory=BybitPriceFilter)
    lot_size_filter: BybitLotSizeFilter = _F(name="lotSizeFilter", default_factory=BybitLotSizeFilter)


class _RulesList(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    entries: list[BybitInstrumentRules] = _F(name="list", default_factory=list)
    next_page_cursor: str | None = _F(name="nextPageCursor", default=None)


class BybitInstrumentRulesAnswer(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /v5/market/instruments-info?category=linear&limit=1000``::

        {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT",
        "contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT",...,
        "priceFilter":{"minPrice":"0.10","maxPrice":"1999999.80","tickSize":"0.10"},"lotSizeFilter":
        {"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001",...,"minNotionalValue":"5"},...}],
        "nextPageCursor":""},"retExtInfo":{},"time":1735809771618}

    ``retCode`` other than 0 is an error (``retMsg`` says which).
    """

    ret_code: int = _F(name="retCode")
    ret_msg: str = _F(name="retMsg", default="")
    result: _RulesList | None = None


_decoder = msgspec.json.Decoder(BybitInstrumentRulesAnswer, strict=False)


def _instrument(entry: BybitInstrumentRules, market: str) -> Instrument:
    # One entry's rules; ValueError (naming the symbol and the field) for a number that is not one.
    name, lots = entry.symbol, entry.lot_size_filter
    if market == "spot":
        step, least = ("basePrecision", lots.base_precision), ("minOrderAmt", lots.min_order_amt)
    else:
        step, least = ("qtyStep", lots.qty_step), ("minNotionalValue", lots.min_notional_value)
    return instrument_named(
        "bybit", market, name, entry.base_coin, entry.quote_coin, tick=("tickSize", entry.price_filter.tick_size),
        lot=step, min_qty=("minOrderQty", lots.min_order_qty), min_notional=least,
        trading=entry.status == "Trading", status=entry.status,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BybitInstrumentsList:
    """Bybit's instrument lists (see the module docstring)."""

    venue: str = "bybit"

    def request(self, market: str, cursor: str = "") -> InstrumentRequest:
        """``GET /v5/market/instruments-info?category=<market>`` (linear with ``limit=1000`` and the ``cursor``
        of the page before)."""
        if market not in MARKETS:
            raise ValueError(f"bybit: market must be spot or linear, got {market!r}")
        params = {"category": market}
        if market == "linear":
            params["limit"] = str(PAGE_LIMIT)
            if cursor:
                params["cursor"] = cursor
        return InstrumentRequest(INSTRUMENTS_PATH, params)

    def parse(self, body: bytes, market: str) -> InstrumentPage:
        """One page (:class:`BybitInstrumentRulesAnswer`) as instruments, with the next page's cursor: on
        ``linear`` the perpetuals only. ``ValueError`` for an error answer (``retCode`` not 0)."""
        try:
            answer = _decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise ValueError(f"bybit {market} instruments-info: not its answer ({exc})") from None
        if answer.ret_code != 0 or answer.result is None:
            raise ValueError(f"bybit {market} instruments-info: retCode {answer.ret_code}: {answer.ret_msg}")
        # on linear the perpetuals alone, not a dated future
        listed = (e for e in answer.result.entries if market != "linear" or e.contract_type == "LinearPerpetual")
        cursor = (answer.result.next_page_cursor or "") if market == "linear" else ""
        return instrument_page(listed, lambda entry: _instrument(entry, market), cursor)


INSTRUMENTS = BybitInstrumentsList()
"""Bybit's instrument lists."""
