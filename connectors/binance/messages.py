"""Binance wire messages as typed structs, decoded with msgspec.

Field names are descriptive and carry their unit; ``name=`` keeps the venue's own key. Decoders
run in msgspec's lax mode so the venue's decimal strings (``"61737.63000000"``) decode straight to
float, and unknown fields are ignored (Binance adds fields without notice).
"""

from __future__ import annotations

__all__ = [
    "BinanceAggTrade",
    "BinanceBookTicker",
    "BinanceDepthSnapshot",
    "BinanceDepthUpdate",
    "BinanceError",
    "BinanceExchangeInfo",
    "BinanceExchangeInfoSymbol",
    "BinanceFundingInfo",
    "BinanceFundingRate",
    "BinanceMarkPrice",
    "BinanceProbe",
    "BinanceStream",
    "BinanceTrade",
]

from typing import Generic, TypeVar

import msgspec

from connectors.common.wire import RawLevels

P = TypeVar("P")

_F = msgspec.field


class BinanceDepthUpdate(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A diff of ``<symbol>@depth[@100ms]`` (spot) or ``@depth@0ms|100ms|250ms|500ms`` (USD-M).

    Spot sample: ``{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,
    "u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"]]}``.
    USD-M adds ``"T"`` (transaction time) and ``"pu"`` (the previous diff's ``u``).
    Quantities are absolute; 0 removes the level.
    """

    event_time_ms: int = _F(name="E")
    symbol: str = _F(name="s")
    first_update_id: int = _F(name="U")
    final_update_id: int = _F(name="u")
    bids: RawLevels = _F(name="b")
    asks: RawLevels = _F(name="a")
    transaction_time_ms: int = _F(name="T", default=0)
    prev_final_update_id: int = _F(name="pu", default=-1)
    """USD-M only; -1 when absent (spot)."""


class BinanceDepthSnapshot(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The REST depth snapshot (``GET /api/v3/depth`` or ``/fapi/v1/depth``), recorded inline.

    Spot sample: ``{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],...],
    "asks":[...]}``. USD-M adds ``"E"`` and ``"T"`` (ms).
    """

    last_update_id: int = _F(name="lastUpdateId")
    bids: RawLevels
    asks: RawLevels
    event_time_ms: int = _F(name="E", default=0)
    transaction_time_ms: int = _F(name="T", default=0)


class BinanceTrade(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``<symbol>@trade``.

    Spot sample: ``{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000",
    "q":"0.02000000","T":1723161255342,"m":true,"M":true}``. USD-M adds ``"X"`` (``MARKET`` for a
    trade on the book; ``INSURANCE_FUND``, ``ADL`` and ``NA`` are not market trades).
    """

    event_time_ms: int = _F(name="E")
    symbol: str = _F(name="s")
    trade_id: int = _F(name="t")
    price: float = _F(name="p")
    qty: float = _F(name="q")
    trade_time_ms: int = _F(name="T")
    buyer_is_maker: bool = _F(name="m")
    execution_type: str = _F(name="X", default="MARKET")


class BinanceAggTrade(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``<symbol>@aggTrade``: trades of one taker order at one price, aggregated.

    Sample: ``{"e":"aggTrade","E":1723161256560,"s":"BTCUSDT","a":2196421316,"p":"61800.30",
    "q":"0.002","f":5143312018,"l":5143312018,"T":1723161256559,"m":false}``.
    """

    event_time_ms: int = _F(name="E")
    symbol: str = _F(name="s")
    agg_trade_id: int = _F(name="a")
    price: float = _F(name="p")
    qty: float = _F(name="q")
    first_trade_id: int = _F(name="f")
    last_trade_id: int = _F(name="l")
    trade_time_ms: int = _F(name="T")
    buyer_is_maker: bool = _F(name="m")


class BinanceBookTicker(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``<symbol>@bookTicker``: best bid and offer, pushed on every change.

    Spot sample: ``{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000",
    "a":"61837.64000000","A":"1.54698000"}`` (no timestamp at all). USD-M adds ``"e"``, ``"E"``, ``"T"``.
    ``update_id`` is the order-book update id, comparable with depth ``u``.
    """

    update_id: int = _F(name="u")
    symbol: str = _F(name="s")
    bid_price: float = _F(name="b")
    bid_qty: float = _F(name="B")
    ask_price: float = _F(name="a")
    ask_qty: float = _F(name="A")
    event_time_ms: int = _F(name="E", default=0)
    transaction_time_ms: int = _F(name="T", default=0)


class BinanceMarkPrice(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``<symbol>@markPrice@1s`` (or ``@markPrice``, every 3 s): USD-M mark price and funding.

    Sample (Binance's USD-M "Mark Price Stream" page): ``{"e":"markPriceUpdate","E":1562305380000,
    "s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167",
    "T":1562306400000}``. ``r`` is ``""`` and ``T`` 0 for a delivery contract (no funding). The
    decimals stay strings here: the normalizer turns them into floats (``""`` meaning "none").
    """

    event_time_ms: int = _F(name="E")
    symbol: str = _F(name="s")
    mark_price: str = _F(name="p")
    """Mark price, quote per base."""
    index_price: str = _F(name="i", default="")
    settle_estimate: str = _F(name="P", default="")
    """Estimated settle price, "only useful in the last hour before the settlement starts"."""
    funding_rate: str = _F(name="r", default="")
    """Funding rate for the next funding time, a fraction per funding interval."""
    next_funding_time_ms: int = _F(name="T", default=0)


class BinanceFundingInfo(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of USD-M ``GET /fapi/v1/fundingInfo`` (weight 0), which lists only the symbols whose
    funding cap, floor or interval differ from the default (every 8 hours); the answer is a list of them.

    Sample (Binance's USD-M "Get Funding Rate Info" page): ``[{"symbol":"BLZUSDT",
    "adjustedFundingRateCap":"0.02500000","adjustedFundingRateFloor":"-0.02500000",
    "fundingIntervalHours":8,"disclaimer":false}]``.
    """

    symbol: str
    funding_interval_h: int = _F(name="fundingIntervalHours", default=0)
    """Hours between two funding times (1, 4 or 8); 0 when the entry does not say."""


class BinanceStream(msgspec.Struct, Generic[P], frozen=True, gc=False, kw_only=True):
    """A combined-stream frame ``{"stream": "btcusdt@depth@100ms", "data": {...}}`` whose ``data`` is a
    ``P``: ``BinanceStream[BinanceDepthUpdate]`` (``@depth``), ``[BinanceTrade]`` (``@trade``),
    ``[BinanceAggTrade]`` (``@aggTrade``), ``[BinanceBookTicker]`` (``@bookTicker``),
    ``[BinanceMarkPrice]`` (``@markPrice@1s``), or ``[msgspec.Raw]`` (any, payload left undecoded)."""

    stream: str
    data: P


class BinanceProbe(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Just enough of an unknown payload to route it.

    Bare stream messages carry ``"e"``; a REST snapshot carries ``"lastUpdateId"``; a subscription
    reply is ``{"result":null,"id":1}``; an error is ``{"code":-1003,"msg":"..."}``; a spot
    bookTicker has no ``"e"`` but has ``"u"`` and ``"b"``.
    """

    e: str = ""
    stream: str | None = None
    data: msgspec.Raw | None = None
    last_update_id: int | None = _F(name="lastUpdateId", default=None)
    u: int | None = None
    b: msgspec.Raw | None = None
    id: int | str | None = None
    result: msgspec.Raw | None = None
    code: int | None = None
    msg: str | None = None


# -- REST: funding-rate history ----------------------------------------------------------------


class BinanceFundingRate(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of ``GET /fapi/v1/fundingRate`` (USD-M "Get Funding Rate History").

    Sample (Binance's page): ``{"symbol":"BTCUSDT","fundingRate":"-0.03750000",
    "fundingTime":1570608000000,"markPrice":"34287.54619963"}``. ``markPrice`` is the mark price the
    funding used (``""`` in old entries); the rate stays a string, as the venue wrote it.
    """

    symbol: str
    funding_rate: str = _F(name="fundingRate")
    funding_time_ms: int = _F(name="fundingTime")
    mark_price: str = _F(name="markPrice", default="")


class BinanceExchangeInfoSymbol(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The part of a ``GET /fapi/v1/exchangeInfo`` symbol the funding history needs."""

    symbol: str
    contract_type: str = _F(name="contractType", default="")
    """``PERPETUAL`` for a perpetual, ``CURRENT_QUARTER`` ... for a delivery contract."""
    status: str = ""


class BinanceExchangeInfo(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /fapi/v1/exchangeInfo``: ``{"timezone":"UTC","serverTime":...,"symbols":[...],...}``."""

    symbols: list[BinanceExchangeInfoSymbol]


class BinanceError(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A REST error body: ``{"code":-1121,"msg":"Invalid symbol."}``."""

    code: int
    msg: str = ""
