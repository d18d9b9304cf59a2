"""Bybit v5 account wire formats for the fake venue: positions, wallet coins and instruments.

Pure functions, no I/O, as :mod:`arb.sim.bybit.wire` (orders, executions, signatures); field names,
order and JSON types follow the v5 documentation (``position``, ``account/wallet-balance``,
``market/instrument``).
"""

from __future__ import annotations

__all__ = ["instrument_entry", "position_entry", "wallet_coin_entry"]

from decimal import Decimal
from typing import Any

from arb.sim.bybit.wire import ZERO, BybitCategory, decimal_text
from arb.sim.ledger import Position, SymbolRules

# -- positions and wallet -----------------------------------------------------------------------


def position_entry(
    position: Position,
    rules: SymbolRules,
    *,
    mark_price: Decimal | None,
    cum_realised: Decimal,
    maintenance_rate: Decimal,
    created_ms: int,
    updated_ms: int,
    seq: int,
    stream: bool = False,
) -> dict[str, Any]:
    """One linear position as ``/v5/position/list`` lists it (``stream``: the ``position`` topic)."""
    size = abs(position.qty)
    side = "" if position.qty == 0 else ("Buy" if position.qty > 0 else "Sell")
    value = size * position.entry_price
    upl = ZERO if mark_price is None or size == 0 else (mark_price - position.entry_price) * position.qty
    im = position.initial_margin
    entry: dict[str, Any] = {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": position.symbol,
        "side": side,
        "size": decimal_text(size, rules.step_size),
        "avgPrice": decimal_text(position.entry_price),
        "positionValue": decimal_text(value),
        "tradeMode": 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2 if size else 0,
        "leverage": decimal_text(position.leverage),
        "breakEvenPrice": "",
        "positionBalance": decimal_text(im),
        "markPrice": decimal_text(mark_price, rules.tick_size) if mark_price is not None else "",
        "liqPrice": "",
        "bustPrice": "",
        "positionMM": decimal_text(value * maintenance_rate),
        "positionMMByMp": decimal_text(value * maintenance_rate),
        "positionIM": decimal_text(im),
        "positionIMByMp": decimal_text(im),
        "tpslMode": "Full",
        "takeProfit": "",
        "stopLoss": "",
        "trailingStop": "0",
        "unrealisedPnl": decimal_text(upl),
        "curRealisedPnl": decimal_text(cum_realised),
        "cumRealisedPnl": decimal_text(cum_realised),
        "sessionAvgPrice": "",
        "seq": seq,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "createdTime": str(created_ms),
        "updatedTime": str(updated_ms),
    }
    if stream:
        entry["category"] = "linear"
        entry["entryPrice"] = entry.pop("avgPrice")
    return entry


def wallet_coin_entry(
    coin: str,
    *,
    wallet: Decimal,
    locked: Decimal,
    order_im: Decimal,
    position_im: Decimal,
    position_mm: Decimal,
    upl: Decimal,
    cum_realised: Decimal,
    usd_price: Decimal | None,
) -> dict[str, Any]:
    """One ``coin`` of a UNIFIED wallet (``/v5/account/wallet-balance`` and the ``wallet`` topic).

    ``availableToWithdraw`` is ``""`` as Bybit sends it for UNIFIED since January 2025, so ccxt
    derives ``free`` from ``walletBalance - locked - totalOrderIM - totalPositionIM``.
    """
    equity = wallet + upl
    return {
        "availableToBorrow": "",
        "bonus": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "totalOrderIM": decimal_text(order_im),
        "equity": decimal_text(equity),
        "totalPositionMM": decimal_text(position_mm),
        "usdValue": decimal_text(equity * usd_price) if usd_price is not None else "0",
        "unrealisedPnl": decimal_text(upl),
        "collateralSwitch": True,
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "totalPositionIM": decimal_text(position_im),
        "walletBalance": decimal_text(wallet),
        "cumRealisedPnl": decimal_text(cum_realised),
        "locked": decimal_text(locked),
        "marginCollateral": True,
        "coin": coin,
        "spotBorrow": "0",
    }


# -- instruments --------------------------------------------------------------------------------


def instrument_entry(category: BybitCategory, rules: SymbolRules, *, max_leverage: Decimal) -> dict[str, Any]:
    """One ``/v5/market/instruments-info`` entry with the field names of its category.

    Spot: ``lotSizeFilter{basePrecision, quotePrecision, minOrderQty, maxOrderQty, minOrderAmt,
    maxOrderAmt, ...}`` and ``priceFilter{tickSize}``; linear: ``priceFilter{minPrice, maxPrice,
    tickSize}`` and ``lotSizeFilter{maxOrderQty, minOrderQty, qtyStep, ..., minNotionalValue}``.
    """
    tick = decimal_text(rules.tick_size)
    if category == "spot":
        return {
            "symbol": rules.symbol,
            "baseCoin": rules.base,
            "quoteCoin": rules.quote,
            "innovation": "0",
            "status": "Trading",
            "marginTrading": "utaOnly",
            "stTag": "0",
            "lotSizeFilter": {
                "basePrecision": decimal_text(rules.step_size),
                "quotePrecision": "0.00000001",
                "minOrderQty": decimal_text(rules.min_qty),
                "maxOrderQty": decimal_text(rules.max_qty),
                "minOrderAmt": decimal_text(rules.min_notional),
                "maxOrderAmt": "8000000",
                "maxLimitOrderQty": decimal_text(rules.max_qty),
                "maxMarketOrderQty": decimal_text(rules.max_qty),
                "postOnlyMaxLimitOrderSize": decimal_text(rules.max_qty * 5),
            },
            "priceFilter": {"tickSize": tick},
            "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
            "symbolType": "",
        }
    exponent = rules.tick_size.normalize().as_tuple().exponent
    price_scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return {
        "symbol": rules.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": rules.base,
        "quoteCoin": rules.quote,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(price_scale),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": decimal_text(max_leverage, Decimal("0.01")),
            "leverageStep": "0.01",
        },
        "priceFilter": {
            "minPrice": decimal_text(rules.min_price, rules.tick_size),
            "maxPrice": decimal_text(rules.max_price, rules.tick_size),
            "tickSize": tick,
        },
        "lotSizeFilter": {
            "maxOrderQty": decimal_text(rules.max_qty, rules.step_size),
            "minOrderQty": decimal_text(rules.min_qty, rules.step_size),
            "qtyStep": decimal_text(rules.step_size),
            "postOnlyMaxOrderQty": decimal_text(rules.max_qty, rules.step_size),
            "maxMktOrderQty": decimal_text(rules.max_qty, rules.step_size),
            "minNotionalValue": decimal_text(rules.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": rules.quote,
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "symbolType": "",
    }
