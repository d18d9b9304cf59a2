"""Binance's instrument lists (``INSTRUMENTS``, a :class:`~connectors.common.instruments.InstrumentList`):
spot's ``GET /api/v3/exchangeInfo`` and USD-M's ``GET /fapi/v1/exchangeInfo``, every symbol in one answer
(no paging).

A symbol's rules are its ``filters``: ``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize`` and ``minQty``, and the
least order value, spot's ``NOTIONAL.minNotional`` (``MIN_NOTIONAL.minNotional`` before 2023) or USD-M's
``MIN_NOTIONAL.notional``. It trades when ``status`` is ``TRADING`` (spot also has ``BREAK``, ``HALT``; USD-M
``PENDING_TRADING``, ``SETTLING``, ``CLOSE``). USD-M lists dated contracts (``BTCUSDT_220325``,
``contractType`` ``CURRENT_QUARTER``) beside the perpetuals: only ``contractType`` ``PERPETUAL`` (and
``TRADIFI_PERPETUAL``) are arb's ``linear``. ``1000PEPEUSDT``'s ``baseAsset`` is ``1000PEPE``: a bundle of 1,000
PEPE (:func:`~connectors.common.instruments.asset_of`); Binance's spot lists some such bundles as assets too
(``1000SATS``).
"""

from __future__ import annotations

__all__ = ["INSTRUMENTS", "BinanceExchangeRules", "BinanceFilter", "BinanceInstruments", "BinanceSymbolRules"]

from dataclasses import dataclass

import msgspec

from connectors.binance.urls import EXCHANGE_INFO_PATH
from connectors.common.instruments import (
    Instrument,
    InstrumentPage,
    InstrumentRequest,
    instrument_named,
    instrument_page,
)

_F = msgspec.field
_PERPETUALS = ("PERPETUAL", "TRADIFI_PERPETUAL")


class BinanceFilter(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One of a symbol's ``filters`` (the fields arb reads; a filter has only its own), e.g.
    ``{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"}``."""

    filter_type: str = _F(name="filterType")
    tick_size: str = _F(name="tickSize", default="")
    """``PRICE_FILTER``: price increment, quote currency."""
    step_size: str = _F(name="stepSize", default="")
    """``LOT_SIZE``: quantity increment, base currency."""
    min_qty: str = _F(name="minQty", default="")
    """``LOT_SIZE``: smallest quantity, base currency."""
    min_notional: str = _F(name="minNotional", default="")
    """Spot ``NOTIONAL`` (and the older ``MIN_NOTIONAL``): smallest order value, quote currency."""
    notional: str = ""
    """USD-M ``MIN_NOTIONAL``: smallest order value, quote currency."""


class BinanceSymbolRules(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One ``symbols`` entry of ``exchangeInfo`` (the fields arb reads)."""

    symbol: str
    status: str = ""
    base_asset: str = _F(name="baseAsset", default="")
    quote_asset: str = _F(name="quoteAsset", default="")
    contract_type: str = _F(name="contractType", default="")
    """USD-M only: ``PERPETUAL``, ``CURRENT_QUARTER``, ``NEXT_QUARTER``, ``TRADIFI_PERPETUAL``..."""
    filters: list[BinanceFilter] = _F(default_factory=list)


class BinanceExchangeRules(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /api/v3/exchangeInfo`` (or ``/fapi/v1/exchangeInfo``), or an error answer
    (``{"code":-1121,"msg":"Invalid symbol."}``: ``symbols`` absent)::

        {"timezone":"UTC","serverTime":1634942465856,"rateLimits":[...],"exchangeFilters":[],
        "symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT",...,
        "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000",
        "tickSize":"0.01000000"},{"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000",
        "stepSize":"0.00001000"},{"filterType":"MIN_NOTIONAL","minNotional":"10.00000000",...},...]}]}
    """

    symbols: list[BinanceSymbolRules] | None = None
    code: int | None = None
    msg: str = ""


_decoder = msgspec.json.Decoder(BinanceExchangeRules, strict=False)


def _instrument(entry: BinanceSymbolRules, market: str) -> Instrument:
    # One symbol's rules; ValueError (naming the symbol and the field) for a number that is not one.
    by_type = {f.filter_type: f for f in entry.filters}
    price, lot = by_type.get("PRICE_FILTER"), by_type.get("LOT_SIZE")
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL")
    name = entry.symbol
    if price is None or lot is None:
        raise ValueError(f"binance {name}: no PRICE_FILTER or LOT_SIZE filter")
    least = (notional.min_notional or notional.notional) if notional is not None else ""
    return instrument_named(
        "binance", market, name, entry.base_asset, entry.quote_asset, tick=("tickSize", price.tick_size),
        lot=("stepSize", lot.step_size), min_qty=("minQty", lot.min_qty), min_notional=("minNotional", least),
        trading=entry.status == "TRADING", status=entry.status,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BinanceInstruments:
    """Binance's instrument lists (see the module docstring)."""

    venue: str = "binance"

    def request(self, market: str, cursor: str = "") -> InstrumentRequest:
        """``GET /api/v3/exchangeInfo`` (spot, weight 20) or ``/fapi/v1/exchangeInfo`` (linear, weight 1): every
        symbol at once, so ``cursor`` is never other than ``""``."""
        if market not in EXCHANGE_INFO_PATH:
            raise ValueError(f"binance: market must be spot or linear, got {market!r}")
        return InstrumentRequest(EXCHANGE_INFO_PATH[market])

    def parse(self, body: bytes, market: str) -> InstrumentPage:
        """``exchangeInfo``'s answer (:class:`BinanceExchangeRules`) as instruments: on ``linear`` the perpetuals
        only. ``ValueError`` for an error answer or a body without ``symbols``."""
        try:
            answer = _decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise ValueError(f"binance {market} exchangeInfo: not its answer ({exc})") from None
        if answer.symbols is None:
            raise ValueError(f"binance {market} exchangeInfo: code {answer.code}: {answer.msg or 'no symbols'}")
        # on linear the perpetuals alone, not a dated contract
        listed = (e for e in answer.symbols if market != "linear" or e.contract_type in _PERPETUALS)
        return instrument_page(listed, lambda entry: _instrument(entry, market))


INSTRUMENTS = BinanceInstruments()
"""Binance's instrument lists."""
