"""Bybit v5 public WebSocket messages and the REST answers arb reads, as typed structs, decoded with
msgspec (lax: numeric strings decode to numbers, unknown fields are ignored)."""

from __future__ import annotations

__all__ = [
    "BybitControl",
    "BybitFundingHistory",
    "BybitFundingRate",
    "BybitInstrument",
    "BybitInstruments",
    "BybitOrderbook",
    "BybitOrderbookData",
    "BybitProbe",
    "BybitRestHead",
    "BybitTicker",
    "BybitTickerMessage",
    "BybitTrade",
    "BybitTradeMessage",
]

import msgspec

from connectors.common.wire import RawLevels

_F = msgspec.field


class BybitOrderbookData(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The ``data`` of an ``orderbook.{depth}.{symbol}`` message."""

    symbol: str = _F(name="s")
    bids: RawLevels = _F(name="b")
    asks: RawLevels = _F(name="a")
    update_id: int = _F(name="u")
    """Per topic; each delta's ``u`` is the previous ``u`` + 1. ``u == 1`` on a snapshot means the
    venue's book service restarted."""
    seq: int = 0
    """Cross sequence, comparable across depths of one symbol."""


class BybitOrderbook(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``orderbook.{1,50,200,500,1000}.{SYMBOL}``, spot and linear.

    Sample (linear, from Bybit's ob500 archive): ``{"topic":"orderbook.500.XRPUSDT","type":"delta",
    "ts":1733011200693,"data":{"s":"XRPUSDT","b":[["1.9531","6198"]],"a":[["1.9535","8415"]],
    "u":20254870,"seq":92403237830},"cts":1733011200689}``. ``type`` is ``snapshot`` (replace the
    book) or ``delta`` (size 0 removes the level). ``ts`` is when the venue pushed it, ``cts`` the
    matching engine's time.
    """

    topic: str
    type: str
    ts_ms: int = _F(name="ts")
    data: BybitOrderbookData
    cts_ms: int = _F(name="cts", default=0)


class BybitTrade(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One trade of a ``publicTrade.{SYMBOL}`` message.

    Sample: ``{"T":1758841135823,"s":"BTCUSDT","S":"Buy","v":"0.020","p":"109378.90",
    "L":"ZeroPlusTick","i":"2a74ac78-691c-5b54-9dbe-5aafe8364627","BT":false}``. ``S`` is the taker's side.
    """

    trade_time_ms: int = _F(name="T")
    symbol: str = _F(name="s")
    taker_side: str = _F(name="S")
    qty: float = _F(name="v")
    price: float = _F(name="p")
    trade_id: str = _F(name="i", default="")
    block_trade: bool = _F(name="BT", default=False)


class BybitTradeMessage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``publicTrade.{SYMBOL}``: one or more trades."""

    topic: str
    ts_ms: int = _F(name="ts")
    data: list[BybitTrade]
    type: str = "snapshot"


class BybitTicker(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The ``data`` of a ``tickers.{SYMBOL}`` message. Linear tickers carry the best bid and offer,
    the mark and index prices and the funding rate (a ``snapshot`` all of them, a ``delta`` only the
    fields that changed: a field that is absent kept its value); spot tickers carry none of these.

    ``None`` means "not in this message". The mark and funding fields stay strings (``""`` is what
    Bybit sends for a value it does not have, e.g. before a listing): the normalizer parses them.
    """

    symbol: str
    bid_price: float | None = _F(name="bid1Price", default=None)
    bid_size: float | None = _F(name="bid1Size", default=None)
    ask_price: float | None = _F(name="ask1Price", default=None)
    ask_size: float | None = _F(name="ask1Size", default=None)
    last_price: float | None = _F(name="lastPrice", default=None)
    mark_price: str | None = _F(name="markPrice", default=None)
    """Mark price, quote per base (linear)."""
    index_price: str | None = _F(name="indexPrice", default=None)
    funding_rate: str | None = _F(name="fundingRate", default=None)
    """Funding rate for the next funding time, a fraction per funding interval (linear)."""
    next_funding_time_ms: str | None = _F(name="nextFundingTime", default=None)
    """Next funding time, ms since the epoch as a decimal string (linear)."""


class BybitTickerMessage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``tickers.{SYMBOL}``.

    Linear snapshot, from Bybit's v5 "Ticker" page: ``{"topic":"tickers.BTCUSDT","type":"snapshot",
    "data":{"symbol":"BTCUSDT","tickDirection":"PlusTick","price24hPcnt":"0.017103",
    "lastPrice":"17216.00",...,"markPrice":"17217.33","indexPrice":"17227.36",...,
    "nextFundingTime":"1673280000000","fundingRate":"-0.000212","bid1Price":"17215.50",
    "bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},"cs":24987956059,"ts":1673272861686}``;
    a delta carries ``"type":"delta"`` and only the fields that changed. ``ts`` (ms) is when the
    venue generated the data.
    """

    topic: str
    ts_ms: int = _F(name="ts")
    data: BybitTicker
    type: str = "snapshot"


class BybitControl(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A reply to a request: subscribe ack, pong, or an error.

    Linear sample: ``{"success":true,"ret_msg":"","conn_id":"ceo4lah8ub4fmsiqrtb0","req_id":"1",
    "op":"subscribe"}``; spot pong: ``{"op":"pong","args":["1675418560633"],"conn_id":"..."}``.
    """

    op: str = ""
    success: bool | None = None
    ret_msg: str = ""
    conn_id: str = ""
    req_id: str = ""


class BybitProbe(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Enough of an unknown payload to route it."""

    topic: str | None = None
    op: str | None = None
    success: bool | None = None


# -- REST: funding-rate history ----------------------------------------------------------------


class BybitRestHead(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """What every v5 REST answer starts with: ``{"retCode":0,"retMsg":"OK","result":{...},...}``
    (``retCode`` 0 is success; ccxt's recorded answers spell it ``"0"``, which lax decoding accepts)."""

    ret_code: int = _F(name="retCode")
    ret_msg: str = _F(name="retMsg", default="")


class BybitFundingRate(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of ``GET /v5/market/funding/history``: ``{"symbol":"ETHPERP","fundingRate":"0.0001",
    "fundingRateTimestamp":"1672041600000"}`` (the time is a decimal string of ms)."""

    symbol: str
    funding_rate: str = _F(name="fundingRate")
    funding_time_ms: int = _F(name="fundingRateTimestamp")


class _FundingList(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    category: str = ""
    entries: list[BybitFundingRate] = _F(name="list", default_factory=list)


class BybitFundingHistory(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /v5/market/funding/history`` (Bybit's "Get Funding Rate History" page)::

        {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"ETHPERP",
        "fundingRate":"0.0001","fundingRateTimestamp":"1672041600000"}]},"retExtInfo":{},
        "time":1672051897447}

    Newest first. ``retCode`` other than 0 is an error (``retMsg`` says which; ``result`` is ``{}``).
    """

    ret_code: int = _F(name="retCode")
    ret_msg: str = _F(name="retMsg", default="")
    result: _FundingList | None = None


class BybitInstrument(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The part of a linear ``/v5/market/instruments-info`` entry the funding history needs."""

    symbol: str
    contract_type: str = _F(name="contractType", default="")
    """``LinearPerpetual`` for a perpetual, ``LinearFutures`` for a dated contract."""
    status: str = ""
    funding_interval_min: int = _F(name="fundingInterval", default=0)
    """Minutes between funding times (480: every 8 hours)."""


class _InstrumentList(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    entries: list[BybitInstrument] = _F(name="list", default_factory=list)


class BybitInstruments(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /v5/market/instruments-info?category=linear&symbol=...``: an unknown symbol is an empty list."""

    ret_code: int = _F(name="retCode")
    ret_msg: str = _F(name="retMsg", default="")
    result: _InstrumentList | None = None
