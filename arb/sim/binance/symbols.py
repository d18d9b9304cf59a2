"""Binance's symbol descriptions for the fake venues: ``exchangeInfo`` bodies and request weights.

Pure functions: :class:`~arb.sim.binance.public.FakeBinanceVenue` serves what they build, from a
:class:`SymbolSpec` per symbol.
"""

from __future__ import annotations

__all__ = [
    "BinanceMarket",
    "SymbolSpec",
    "depth_weight",
    "exchange_info",
    "futures_symbol",
    "spot_symbol",
    "symbol_assets",
]

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

BinanceMarket = Literal["spot", "linear"]

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY")


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Trading rules the venue reports in exchangeInfo for one symbol (decimal strings)."""

    tick_size: str
    lot_size: str
    min_notional: str = "5"
    base_asset: str | None = None
    quote_asset: str | None = None


def depth_weight(market: BinanceMarket, limit: int) -> int:
    """The request weight Binance documents for a depth request with ``limit``.

    Spot ``GET /api/v3/depth``: 1-100 -> 5, 101-500 -> 25, 501-1000 -> 50, 1001-5000 -> 250.
    USD-M ``GET /fapi/v1/depth``: 5/10/20/50 -> 2, 100 -> 5, 500 -> 10, 1000 -> 20.
    """
    if market == "spot":
        if limit <= 100:
            return 5
        if limit <= 500:
            return 25
        return 50 if limit <= 1000 else 250
    if limit <= 50:
        return 2
    if limit <= 100:
        return 5
    return 10 if limit <= 500 else 20


def symbol_assets(spec: SymbolSpec, symbol: str) -> tuple[str, str]:
    """``(base, quote)`` of ``symbol``: the spec's, else the quote its name ends with (USDT when none)."""
    base, quote = spec.base_asset, spec.quote_asset
    if base is None or quote is None:
        quote = next((q for q in _QUOTES if symbol.endswith(q) and len(symbol) > len(q)), "USDT")
        base = symbol[: -len(quote)] if symbol.endswith(quote) else symbol
    return base, quote


def exchange_info(
    market: BinanceMarket, server_time: int, weight_limit: int, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``exchangeInfo`` body: the venue's rate limits and ``entries``, one per symbol."""
    weight = {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight_limit}
    if market == "spot":
        return {
            "timezone": "UTC",
            "serverTime": server_time,
            "rateLimits": [
                weight,
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": entries,
        }
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            weight,
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [],
        "symbols": entries,
    }


def spot_symbol(symbol: str, spec: SymbolSpec, base: str, quote: str) -> dict[str, Any]:
    """A spot ``exchangeInfo`` symbol with PRICE_FILTER, LOT_SIZE and NOTIONAL from ``spec``."""
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _fixed8(spec.tick_size),
                "maxPrice": _fixed8("1000000"),
                "tickSize": _fixed8(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _fixed8(spec.lot_size),
                "maxQty": _fixed8("9000"),
                "stepSize": _fixed8(spec.lot_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": _fixed8(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": _fixed8("9000000"),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def futures_symbol(symbol: str, spec: SymbolSpec, base: str, quote: str) -> dict[str, Any]:
    """A USD-M ``exchangeInfo`` symbol with PRICE_FILTER, LOT_SIZE and MIN_NOTIONAL from ``spec``."""
    return {
        "symbol": symbol,
        "pair": symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "marginAsset": quote,
        "pricePrecision": _decimals(spec.tick_size),
        "quantityPrecision": _decimals(spec.lot_size),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "maxPrice": "1000000",
                "minPrice": spec.tick_size,
                "tickSize": spec.tick_size,
            },
            {
                "filterType": "LOT_SIZE",
                "maxQty": "1000",
                "minQty": spec.lot_size,
                "stepSize": spec.lot_size,
            },
            {"filterType": "MIN_NOTIONAL", "notional": spec.min_notional},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def _decimals(value: str) -> int:
    exponent = Decimal(value).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _fixed8(value: str) -> str:
    return f"{Decimal(value):.8f}"
