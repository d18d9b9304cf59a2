"""OKX API v5 public WebSocket messages and the REST answers arb reads, as typed structs, decoded with
msgspec (lax: numeric strings decode to numbers where a field is a number, unknown fields are ignored).

Every push names its channel and instrument in ``arg``; prices and sizes are decimal strings. Book
levels stay strings (``[px, sz, "0", numOrders]``): the checksum is computed over the text exactly as
received, so the normalizer parses the numbers itself.
"""

from __future__ import annotations

__all__ = [
    "OkxArg",
    "OkxBookData",
    "OkxBookMessage",
    "OkxEvent",
    "OkxFundingHistory",
    "OkxFundingHistoryEntry",
    "OkxFundingRate",
    "OkxFundingRateMessage",
    "OkxFundingRates",
    "OkxInstrument",
    "OkxInstruments",
    "OkxMarkPrice",
    "OkxMarkPriceMessage",
    "OkxProbe",
    "OkxRestBook",
    "OkxRestBooks",
    "OkxRestHead",
    "OkxRestProbe",
    "OkxTrade",
    "OkxTradeMessage",
    "RawLevel",
]

import msgspec

_F = msgspec.field

RawLevel = list[str]
"""One book level as sent: ``["8476.98", "415", "0", "13"]``: price, size (base currency on spot,
**contracts** on swaps), a deprecated field always ``"0"``, and the number of orders at the price."""


class OkxArg(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``arg`` of a push or an event: ``{"channel":"books","instId":"BTC-USDT"}``."""

    channel: str
    inst_id: str = _F(name="instId", default="")


class OkxBookData(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of a ``books`` push's ``data`` (OKX sends exactly one)."""

    asks: list[RawLevel]
    bids: list[RawLevel]
    ts_ms: int = _F(name="ts")
    """When OKX generated the book, ms since the epoch (a decimal string on the wire)."""
    checksum: int = 0
    """CRC32 of the top 25 levels as a signed int32; 0 where OKX sends none (every message since its
    June 2026 deprecation) or the field is absent."""
    prev_seq_id: int | None = _F(name="prevSeqId", default=None)
    """The ``seqId`` of the previous message of the instrument; -1 on a snapshot. Absent before OKX
    introduced sequence ids (2022 history)."""
    seq_id: int | None = _F(name="seqId", default=None)
    """The message's sequence id, per instrument, the same on every connection. A heartbeat (no change
    for about 60 s) repeats it (``seqId == prevSeqId``, no levels); after maintenance it may restart
    lower. Absent in 2022 history."""


class OkxBookMessage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``books`` push (OKX docs v5, "WS / Order book channel")::

        {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98",
        "415","0","13"],...],"bids":[["8476.97","256","0","12"],...],"ts":"1597026383085",
        "checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}

    ``action`` is ``snapshot`` (replace the book) or ``update`` (absolute sizes; ``"0"`` deletes).
    """

    arg: OkxArg
    action: str = ""
    data: list[OkxBookData]


class OkxTrade(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of a ``trades`` push: one taker order at one price (``count`` fills aggregated,
    ``tradeId`` the last of them). ``side`` is the taker's; ``sz`` is base currency on spot, contracts
    on swaps."""

    inst_id: str = _F(name="instId")
    trade_id: str = _F(name="tradeId", default="")
    px: float
    sz: float
    side: str
    ts_ms: int = _F(name="ts")
    count: int = 1


class OkxTradeMessage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``trades`` push ("WS / Trades channel")::

    {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
    "tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897",
    "count":"3"}]}
    """

    arg: OkxArg
    data: list[OkxTrade]


class OkxMarkPrice(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of a ``mark-price`` push; ``markPx`` stays a string (the normalizer parses it)."""

    inst_id: str = _F(name="instId")
    inst_type: str = _F(name="instType", default="")
    mark_px: str = _F(name="markPx")
    """Mark price, quote currency per unit of base."""
    ts_ms: int = _F(name="ts")


class OkxMarkPriceMessage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``mark-price`` push ("Mark price channel": every 200 ms while it changes, else every 10 s)::

    {"arg":{"channel":"mark-price","instId":"LTC-USD-190628"},"data":[{"instType":"FUTURES",
    "instId":"LTC-USD-190628","markPx":"0.1","ts":"1597026383085"}]}
    """

    arg: OkxArg
    data: list[OkxMarkPrice]


class OkxFundingRate(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of a ``funding-rate`` push. Times stay strings (``""`` where OKX has none)."""

    inst_id: str = _F(name="instId")
    funding_rate: str = _F(name="fundingRate", default="")
    """The rate of the upcoming settlement at ``fundingTime``, a fraction per funding interval."""
    funding_time_ms: str = _F(name="fundingTime", default="")
    """The upcoming settlement's time, ms since the epoch."""
    next_funding_time_ms: str = _F(name="nextFundingTime", default="")
    """The settlement after it: ``nextFundingTime - fundingTime`` is the instrument's interval."""
    next_funding_rate: str = _F(name="nextFundingRate", default="")
    sett_funding_rate: str = _F(name="settFundingRate", default="")
    method: str = ""
    ts_ms: int = _F(name="ts")


class OkxFundingRateMessage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``funding-rate`` push ("Funding rate channel", every 30 to 90 s)::

    {"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{"formulaType":"noRate",
    "fundingRate":"0.0001875391284828","fundingTime":"1700726400000","impactValue":"",
    "instId":"BTC-USD-SWAP","instType":"SWAP","interestRate":"","method":"current_period",
    "maxFundingRate":"0.00375","minFundingRate":"-0.00375","nextFundingRate":"",
    "nextFundingTime":"1700755200000","premium":"0.0001233824646391",
    "settFundingRate":"0.0001699799259033","settState":"settled","ts":"1700724675402"}]}
    """

    arg: OkxArg
    data: list[OkxFundingRate]


class OkxEvent(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A reply or notice: ``{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},
    "connId":"a4d3ae55"}``; an error: ``{"event":"error","code":"60012","msg":"Invalid request: ...",
    "connId":"a4d3ae55"}``; a notice 30 s before a service upgrade closes the connection:
    ``{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.
    Please reconnect.","connId":"a4d3ae55"}``."""

    event: str
    code: str = ""
    msg: str = ""
    conn_id: str = _F(name="connId", default="")
    arg: OkxArg | None = None


class OkxProbe(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Enough of an unknown payload to route it."""

    arg: OkxArg | None = None
    event: str | None = None
    code: str | None = None


# -- REST ----------------------------------------------------------------------------------------


class OkxRestHead(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """What every v5 REST answer starts with: ``{"code":"0","msg":"","data":[...]}``; ``code`` other
    than ``"0"`` is an error named by ``msg`` (OKX's own 404 page spells ``code`` as a number:
    it is read as given)."""

    code: str | int
    msg: str = ""

    @property
    def ok(self) -> bool:
        """True for ``code`` ``"0"``: the answer holds the data."""
        return str(self.code) == "0"


class _RestEntry(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    asks: msgspec.Raw = _F(default=msgspec.Raw(b""))
    """The book's asks, left undecoded (empty when the entry has none)."""
    inst_type: str | None = _F(name="instType", default=None)
    funding_time: str | int | None = _F(name="fundingTime", default=None)
    """Present in a funding-rate answer only (an instrument has ``instType`` too, but no ``fundingTime``)."""


class OkxRestProbe(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Enough of a REST answer recorded in the stream to tell an order book (``asks``) from a funding
    rate (``fundingTime``) and an instruments list (``instType``)."""

    code: str
    data: list[_RestEntry] = _F(default_factory=list)


class OkxRestBook(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One order book of ``GET /api/v5/market/books``."""

    asks: list[RawLevel]
    bids: list[RawLevel]
    ts_ms: int = _F(name="ts")
    seq_id: int | None = _F(name="seqId", default=None)
    """The book's sequence id (OKX's 2026 snapshot recipe bridges the buffered stream to it); absent in
    answers before that change."""


class OkxRestBooks(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /api/v5/market/books?instId=BTC-USDT&sz=400`` ("GET / Order book")::

        {"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","0","1"]],
        "bids":[["41006.3","0.30178218","0","2"]],"ts":"1629966436396"}]}

    (``seqId`` beside ``ts`` since OKX's 2026 change.)
    """

    code: str
    msg: str = ""
    data: list[OkxRestBook] = _F(default_factory=list)


class OkxFundingRates(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /api/v5/public/funding-rate?instId=BTC-USDT-SWAP`` ("Get funding rate"): the entries of a
    ``funding-rate`` push, ``ts`` the time of the answer::

        {"code":"0","data":[{"formulaType":"noRate","fundingRate":"0.0000182221218054",
        "fundingTime":"1743609600000","impactValue":"","instId":"BTC-USDT-SWAP","instType":"SWAP",
        "interestRate":"","maxFundingRate":"0.00375","method":"current_period","minFundingRate":"-0.00375",
        "nextFundingRate":"","nextFundingTime":"1743638400000","premium":"0.0000910113652644",
        "settFundingRate":"0.0000145824401745","settState":"settled","ts":"1743588686291"}],"msg":""}
    """

    code: str
    msg: str = ""
    data: list[OkxFundingRate] = _F(default_factory=list)


class OkxInstrument(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of ``GET /api/v5/public/instruments``: the trading rules. Numbers stay strings as OKX
    writes them (``""`` where a field does not apply, e.g. ``ctVal`` on spot)."""

    inst_type: str = _F(name="instType")
    inst_id: str = _F(name="instId")
    state: str = ""
    """``live``, ``suspend``, ``preopen`` or ``test``."""
    tick_sz: str = _F(name="tickSz")
    """Price increment, quote currency."""
    lot_sz: str = _F(name="lotSz")
    """Size increment: base currency on spot, contracts on swaps."""
    min_sz: str = _F(name="minSz")
    """Smallest order size, in the unit of ``lotSz``."""
    ct_val: str = _F(name="ctVal", default="")
    """Contract value, in ``ctValCcy`` (the base currency of a linear swap: ``"0.01"`` BTC)."""
    ct_mult: str = _F(name="ctMult", default="")
    ct_val_ccy: str = _F(name="ctValCcy", default="")
    ct_type: str = _F(name="ctType", default="")
    """``linear`` or ``inverse`` (swaps)."""
    base_ccy: str = _F(name="baseCcy", default="")
    quote_ccy: str = _F(name="quoteCcy", default="")
    settle_ccy: str = _F(name="settleCcy", default="")


class OkxInstruments(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /api/v5/public/instruments?instType=SPOT&instId=BTC-USDT`` ("GET / Instruments")::

    {"code":"0","msg":"","data":[{"alias":"","baseCcy":"BTC","category":"1","ctMult":"",
    "ctType":"","ctVal":"","ctValCcy":"","instId":"BTC-USDT","instType":"SPOT","lotSz":"0.00000001",
    "minSz":"0.00001","quoteCcy":"USDT","state":"live","tickSz":"0.1",...}]}
    """

    code: str
    msg: str = ""
    data: list[OkxInstrument] = _F(default_factory=list)


class OkxFundingHistoryEntry(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One settled funding of ``GET /api/v5/public/funding-rate-history``."""

    inst_id: str = _F(name="instId")
    funding_rate: str = _F(name="fundingRate", default="")
    """The predicted rate as last announced."""
    realized_rate: str = _F(name="realizedRate", default="")
    """The rate actually settled (what arb records; the predicted one where it is empty)."""
    funding_time_ms: int = _F(name="fundingTime")
    method: str = ""


class OkxFundingHistory(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """``GET /api/v5/public/funding-rate-history?instId=BTC-USD-SWAP`` ("Get funding rate history")::

        {"code":"0","msg":"","data":[{"formulaType":"noRate","fundingRate":"0.0000746604960499",
        "fundingTime":"1703059200000","instId":"BTC-USD-SWAP","instType":"SWAP","method":"next_period",
        "realizedRate":"0.0000746572360545"},...]}

    Newest first.
    """

    code: str
    msg: str = ""
    data: list[OkxFundingHistoryEntry] = _F(default_factory=list)
