"""Hyperliquid's public wire messages, typed: the WebSocket channels and the info endpoint's answers.

Field names are Hyperliquid's where they are plain, renamed to carry their unit where they are times
(``time`` -> ``time_ms``). Prices and sizes stay the strings the venue sent (``"21.277"``): the normalizer
reads them, the instrument rules count their digits.
"""

from __future__ import annotations

__all__ = [
    "HyperliquidActiveAssetCtx",
    "HyperliquidActiveAssetCtxMessage",
    "HyperliquidAsset",
    "HyperliquidAssetCtx",
    "HyperliquidBook",
    "HyperliquidBookMessage",
    "HyperliquidFunding",
    "HyperliquidLevel",
    "HyperliquidMeta",
    "HyperliquidProbe",
    "HyperliquidTrade",
    "HyperliquidTradesMessage",
]

from typing import Any

import msgspec


class HyperliquidLevel(msgspec.Struct, frozen=True):
    """One price level: ``{"px":"21.277","sz":"80.29","n":2}`` (``n``: the orders resting there)."""

    px: str
    sz: str
    n: int = 0


class HyperliquidBook(msgspec.Struct, frozen=True):
    """A whole book, the ``data`` of an ``l2Book`` push and the info endpoint's ``l2Book`` answer alike:
    ``{"coin":"HYPE","time":1736682893796,"levels":[[bids, best first],[asks, best first]]}``, up to 20
    levels a side; no update id, no checksum."""

    coin: str
    time_ms: int = msgspec.field(name="time")
    levels: list[list[HyperliquidLevel]]


class HyperliquidBookMessage(msgspec.Struct, frozen=True):
    """``{"channel":"l2Book","data":{...}}``."""

    channel: str
    data: HyperliquidBook


class HyperliquidTrade(msgspec.Struct, frozen=True):
    """``{"coin":"HYPE","side":"A","px":"21.269","sz":"7.78","time":1736682877317,"hash":"0x01…","tid":
    185481619581124,"users":["0x…","0x…"]}``; ``side`` is the taker's: ``B`` bought, ``A`` sold."""

    coin: str
    side: str
    px: str
    sz: str
    time_ms: int = msgspec.field(name="time")
    tid: int = 0


class HyperliquidTradesMessage(msgspec.Struct, frozen=True):
    """``{"channel":"trades","data":[trade, ...]}``: the first after a subscription repeats recent trades."""

    channel: str
    data: list[HyperliquidTrade]


class HyperliquidAssetCtx(msgspec.Struct, frozen=True):
    """A perpetual's context, strings on the wire: ``{"funding":"0.0000125","openInterest":"688.11",
    "oraclePx":"14.32","markPx":"14.3161","premium":"0.00031774","impactPxs":["14.3047","14.3444"],...}``.
    ``funding`` is the current hour's rate (a fraction of the position's value, paid on the hour)."""

    funding: str | None = None
    mark_px: str | None = msgspec.field(name="markPx", default=None)
    oracle_px: str | None = msgspec.field(name="oraclePx", default=None)
    mid_px: str | None = msgspec.field(name="midPx", default=None)
    open_interest: str | None = msgspec.field(name="openInterest", default=None)
    premium: str | None = None


class HyperliquidActiveAssetCtx(msgspec.Struct, frozen=True):
    """``{"coin":"BTC","ctx":{...}}``: the context carries no time of its own."""

    coin: str
    ctx: HyperliquidAssetCtx


class HyperliquidActiveAssetCtxMessage(msgspec.Struct, frozen=True):
    """``{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{...}}}``."""

    channel: str
    data: HyperliquidActiveAssetCtx


class HyperliquidProbe(msgspec.Struct, frozen=True):
    """What any frame is: a push names its ``channel`` (``subscriptionResponse``, ``pong`` and ``error`` too);
    an info answer recorded in the stream (a REST book) has ``coin`` and ``levels`` instead."""

    channel: str | None = None
    data: Any = None
    coin: str | None = None


class HyperliquidAsset(msgspec.Struct, frozen=True):
    """One perpetual of ``meta``'s universe, its place there its asset number: ``{"name":"BTC","szDecimals":5,
    "maxLeverage":40}`` (``isDelisted`` where it no longer trades)."""

    name: str
    sz_decimals: int = msgspec.field(name="szDecimals")
    max_leverage: int = msgspec.field(name="maxLeverage", default=0)
    is_delisted: bool = msgspec.field(name="isDelisted", default=False)


class HyperliquidMeta(msgspec.Struct, frozen=True):
    """``POST /info {"type":"meta"}``: ``{"universe":[asset, ...]}`` (and margin tables, not read)."""

    universe: list[HyperliquidAsset]


class HyperliquidFunding(msgspec.Struct, frozen=True):
    """One entry of ``POST /info {"type":"fundingHistory","coin":"BTC","startTime":ms}``: ``{"coin":"BTC",
    "fundingRate":"0.0000125","premium":"-0.0002","time":1730160000000}``, oldest first, at most 500 a reply."""

    coin: str
    funding_rate: str = msgspec.field(name="fundingRate")
    time_ms: int = msgspec.field(name="time")
    premium: str = ""
