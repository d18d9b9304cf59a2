"""Hyperliquid's trading rules from its info endpoint, in the units arb's configuration uses.

Hyperliquid states no tick size. A perpetual's price may have at most five significant figures and at most
``6 - szDecimals`` decimals (an integer price is always allowed); its size is a multiple of
``10^-szDecimals``; an order is worth at least 10 USDC (docs: "Tick and lot size", "Error responses"). So the
tick moves with the price: BTC (``szDecimals`` 5) ticks by 1 from 10,000 to 99,999 and by 0.1 from 1,000 to
9,999. arb's instrument has one fixed tick, so it is fixed from the price when the rules are read
(:func:`tick_at`, the mark price of ``metaAndAssetCtxs``), as ccxt fixes its precision from the mark at load;
it is stale once the price crosses a power of ten, which docs/hyperliquid.md tells the user to check.

``INSTRUMENTS`` (an :class:`~connectors.common.instruments.InstrumentList`) lists the perpetuals for ``arb scan``
from ``POST /info {"type":"metaAndAssetCtxs"}``: the universe (each coin's ``szDecimals``, ``isDelisted``) and,
in the same order, each one's context (its ``markPx``). A ``k`` coin (``kPEPE``) is priced and sized per 1,000
tokens: its asset is ``PEPE`` with multiplier 1000. Its quote is USDT: the perpetuals settle in USDC but are
priced by a USDT oracle (docs/hyperliquid.md, "Symbols and the quote").
"""

from __future__ import annotations

__all__ = ["INSTRUMENTS", "HyperliquidInstrumentList", "HyperliquidRules", "listed_coins", "rules_of", "tick_at"]

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import msgspec

from connectors.common.instruments import Instrument, InstrumentPage, InstrumentRequest, instrument_page
from connectors.hyperliquid.messages import HyperliquidAsset, HyperliquidAssetCtx, HyperliquidMeta
from connectors.hyperliquid.orders import MIN_ORDER_VALUE
from connectors.hyperliquid.urls import INFO_PATH, KILO_COINS, symbol_of

MAX_DECIMALS = 6
"""A perpetual's price has at most ``MAX_DECIMALS - szDecimals`` decimals (spot: 8)."""
SIGNIFICANT_FIGURES = 5
"""A price has at most this many significant figures, unless it is an integer."""

_meta = msgspec.json.Decoder(HyperliquidMeta)
_meta_and_contexts = msgspec.json.Decoder(tuple[HyperliquidMeta, list[HyperliquidAssetCtx]])


def tick_at(price: Decimal, sz_decimals: int) -> Decimal:
    """The price increment a perpetual of ``sz_decimals`` allows near ``price``: five significant figures,
    at most ``6 - sz_decimals`` decimals, never coarser than 1 (integers are always allowed). BTC
    (``sz_decimals`` 5) at 97,000: 1; at 9,700: 0.1; a coin of ``sz_decimals`` 0 at 0.2: 0.000001."""
    if not price.is_finite() or price <= 0:
        raise ValueError(f"hyperliquid: a tick needs a positive price, got {price}")
    decimals = max(0, min(MAX_DECIMALS - sz_decimals, SIGNIFICANT_FIGURES - 1 - price.adjusted()))
    return Decimal(1).scaleb(-decimals)


@dataclass(frozen=True, slots=True)
class HyperliquidRules:
    """One perpetual's rules, in arb's units."""

    symbol: str
    """arb's symbol (``BTCUSDT``)."""
    coin: str
    """Hyperliquid's coin (``BTC``)."""
    asset: int
    """Its place in ``meta``'s universe: the asset number its orders name."""
    tick_size: Decimal
    """Price increment near the price the rules were read at (:func:`tick_at`)."""
    lot_size: Decimal
    """``10^-szDecimals``, base units."""
    min_notional: Decimal
    """10 USDC."""
    live: bool
    """Not delisted."""


def rules_of(asset: HyperliquidAsset, number: int, price: Decimal) -> HyperliquidRules:
    """The rules of ``meta``'s entry ``asset`` (number ``number``) at ``price``."""
    if not 0 <= asset.sz_decimals <= MAX_DECIMALS:
        raise ValueError(f"hyperliquid {asset.name}: szDecimals {asset.sz_decimals} is not 0..{MAX_DECIMALS}")
    return HyperliquidRules(
        symbol=symbol_of(asset.name),
        coin=asset.name,
        asset=number,
        tick_size=tick_at(price, asset.sz_decimals),
        lot_size=Decimal(1).scaleb(-asset.sz_decimals),
        min_notional=Decimal(MIN_ORDER_VALUE),  # 10.0 is exact: Decimal("10")
        live=not asset.is_delisted,
    )


def listed_coins(body: bytes) -> dict[str, HyperliquidAsset]:
    """``POST /info {"type":"meta"}``'s answer as coin -> entry, the delisted ones left out, e.g. from
    ``{"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":40},...]}``. ``ValueError`` for another body."""
    try:
        meta = _meta.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"hyperliquid meta: not its answer ({exc})") from None
    return {asset.name: asset for asset in meta.universe if not asset.is_delisted}


def _listed(asset: HyperliquidAsset, number: int, ctx: HyperliquidAssetCtx) -> Instrument:
    try:
        price = Decimal(ctx.mark_px or ctx.oracle_px or "")
    except InvalidOperation:
        raise ValueError(f"hyperliquid {asset.name}: no usable mark price ({ctx.mark_px!r})") from None
    rules = rules_of(asset, number, price)
    kilo = asset.name in KILO_COINS
    return Instrument(
        venue="hyperliquid",
        market="linear",
        symbol=rules.symbol,
        name=asset.name,
        base=asset.name[1:] if kilo else asset.name.upper(),
        quote="USDT",
        multiplier=Decimal(1000) if kilo else Decimal(1),
        tick=rules.tick_size,
        lot=rules.lot_size,
        min_qty=rules.lot_size,
        min_notional=rules.min_notional,
        trading=rules.live,
        status="delisted" if asset.is_delisted else "listed",
    )


@dataclass(frozen=True, slots=True)
class HyperliquidInstrumentList:
    """Hyperliquid's perpetuals (see the module docstring)."""

    venue: str = "hyperliquid"

    def request(self, market: str, cursor: str = "") -> InstrumentRequest:
        """``POST /info {"type":"metaAndAssetCtxs"}`` (weight 20): every perpetual at once, ``cursor`` never
        other than ``""``. ``ValueError`` for a market other than ``linear``."""
        if market != "linear":
            raise ValueError(f"hyperliquid: market must be linear (its perpetuals), got {market!r}")
        return InstrumentRequest(INFO_PATH, body={"type": "metaAndAssetCtxs"})

    def parse(self, body: bytes, market: str) -> InstrumentPage:
        """``[{"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":40},...]},[{"markPx":"97000.0",...},...]]``
        as instruments, the tick fixed at each one's mark price. ``ValueError`` for another body."""
        try:
            meta, contexts = _meta_and_contexts.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"hyperliquid {market} instruments: not its answer ({exc})") from None
        listed = (
            (asset, number, ctx) for number, (asset, ctx) in enumerate(zip(meta.universe, contexts, strict=False))
        )
        return instrument_page(listed, lambda entry: _listed(*entry))


INSTRUMENTS = HyperliquidInstrumentList()
"""Hyperliquid's instrument lists."""
