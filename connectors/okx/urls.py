"""OKX API v5 public endpoints, channel names and instrument ids (hosts come from the venue file).

arb names a market by its own symbol (``BTCUSDT``); OKX by an instrument id: ``BTC-USDT`` on spot,
``BTC-USDT-SWAP`` for the USDT-margined perpetual. :func:`inst_id` and :func:`symbol_of` map one to the
other; every other module of the connector speaks OKX's ids only on the wire.
"""

from __future__ import annotations

__all__ = [
    "BOOKS_PATH",
    "BOOK_CHANNELS",
    "BOOK_SNAPSHOT_PARAMS",
    "DEFAULT_BOOK_CHANNEL",
    "DEMO_WS",
    "FUNDING_HISTORY_PATH",
    "FUNDING_RATE_PATH",
    "INSTRUMENTS_PATH",
    "INST_TYPE",
    "MARKETS",
    "PROD_REST",
    "PROD_WS",
    "PUBLIC_WS_PATH",
    "QUOTES",
    "channels",
    "inst_id",
    "symbol_of",
]

from collections.abc import Mapping
from typing import Final

MARKETS: Final = ("spot", "linear")

INST_TYPE: Final[Mapping[str, str]] = {"spot": "SPOT", "linear": "SWAP"}
"""OKX's ``instType`` of each arb market (``linear``: the USDT-margined perpetual swaps)."""

PUBLIC_WS_PATH: Final = "/ws/v5/public"
PROD_WS: Final = "wss://ws.okx.com:8443/ws/v5/public"
"""Production public WebSocket (OKX docs v5, "Production Trading Services")."""
DEMO_WS: Final = "wss://wspap.okx.com:8443/ws/v5/public"
"""Demo-trading public WebSocket ("Demo Trading Services"); its REST host is the production one."""
PROD_REST: Final = "https://www.okx.com"

BOOKS_PATH: Final = "/api/v5/market/books"
"""``GET`` order book: ``instId``, ``sz`` (levels a side, at most 400); 40 requests per 2 s per IP."""
BOOK_SNAPSHOT_PARAMS: Final[Mapping[str, str]] = {"sz": "400", "source": "0"}
"""What the feed asks of :data:`BOOKS_PATH` besides ``instId``: the whole 400-level book, and ``source=0``
as OKX's February 2026 changelog ("How to manage a local order book correctly") spells its snapshot
request. The answer's ``seqId`` is what the buffered stream is bridged to."""
INSTRUMENTS_PATH: Final = "/api/v5/public/instruments"
"""``GET`` instruments: ``instType`` (``SPOT``/``SWAP``), ``instId``; 20 requests per 2 s per IP and type."""
FUNDING_RATE_PATH: Final = "/api/v5/public/funding-rate"
"""``GET`` the current funding rate of a swap: ``instId``; 20 requests per 2 s per IP and instrument. The answer's
entries are those of the ``funding-rate`` channel (``fundingRate``, ``fundingTime``, ``nextFundingTime``...)."""
FUNDING_HISTORY_PATH: Final = "/api/v5/public/funding-rate-history"
"""``GET`` funding-rate history: ``instId``, ``after``/``before`` (funding times, ms), ``limit`` up to 100;
newest first, the last three months; 10 requests per 2 s per IP and instrument."""

BOOK_CHANNELS: Final = ("books",)
"""Order-book channels the connector reads: the 400-level ``books`` (snapshot, then updates every
100 ms, chained by ``prevSeqId``/``seqId``). The tick-by-tick ``books-l2-tbt``/``books50-l2-tbt`` need a
login and a VIP tier; ``books5`` and ``bbo-tbt`` are snapshots, another shape."""
DEFAULT_BOOK_CHANNEL: Final = "books"

QUOTES: Final = ("USDT", "USDC", "USD", "EUR", "BTC", "ETH")
"""Quote currencies an arb symbol may end in, longest match first within each length."""


def inst_id(symbol: str, market: str) -> str:
    """OKX's instrument id of arb's ``symbol`` in ``market``: ``("BTCUSDT", "spot")`` -> ``"BTC-USDT"``,
    ``("BTCUSDT", "linear")`` -> ``"BTC-USDT-SWAP"``. ``ValueError`` when the symbol ends in no known
    quote currency or the market is neither."""
    name = symbol.upper()
    if market not in INST_TYPE:
        raise ValueError(f"okx: market must be one of {', '.join(MARKETS)}, got {market!r}")
    quote = next((q for q in sorted(QUOTES, key=len, reverse=True) if name.endswith(q) and len(name) > len(q)), None)
    if quote is None:
        raise ValueError(f"okx: cannot tell the quote currency of {symbol!r} (expected one of {', '.join(QUOTES)})")
    pair = f"{name[: -len(quote)]}-{quote}"
    return pair + "-SWAP" if market == "linear" else pair


def symbol_of(instrument: str) -> str:
    """arb's symbol of an OKX instrument id: ``"BTC-USDT-SWAP"`` and ``"BTC-USDT"`` -> ``"BTCUSDT"``."""
    return instrument.removesuffix("-SWAP").replace("-", "").upper()


def channels(instrument: str, market: str, book_channel: str = DEFAULT_BOOK_CHANNEL) -> list[dict[str, str]]:
    """The subscription args of one instrument: the book and ``trades``, and on ``linear`` the
    ``mark-price`` and ``funding-rate`` channels, e.g. ``[{"channel":"books","instId":"BTC-USDT"},
    {"channel":"trades","instId":"BTC-USDT"}]``."""
    names = [book_channel, "trades"]
    if market == "linear":
        names += ["mark-price", "funding-rate"]
    return [{"channel": name, "instId": instrument} for name in names]
