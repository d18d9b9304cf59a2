"""ccxt clients for one venue-market, pointed at the URLs arb's venue files name.

ccxt is pinned (``pyproject.toml``): its URL routing, error tables and user streams change between
releases (see ``LIVE_TRADING_NOTES.md`` in the design notes). Every client arb makes:

- talks to the venue's configured REST base (every API family of ccxt, not just ``public`` and
  ``private``, so no call wanders off to a live host) and private WebSocket base;
- never retries on its own (``maxRetriesOnFailure = 0``) and never throttles on its own
  (``enableRateLimit = False``): arb decides every retry and reads the venues' weight headers;
- makes no surprise calls: no currency or margin-pair listing at market load, only the one market
  type arb trades, Bybit's unified-account probe answered in advance;
- carries the API key and secret given here (read from the environment by the caller), nowhere else.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

__all__ = ["Market", "VenueName", "make_exchange", "rest_urls", "ws_urls"]

VenueName = Literal["binance", "bybit"]
Market = Literal["spot", "linear"]

_CCXT_CLASS: dict[tuple[str, str], str] = {
    ("binance", "spot"): "binance",
    ("binance", "linear"): "binanceusdm",
    ("bybit", "spot"): "bybit",
    ("bybit", "linear"): "bybit",
}


def _path_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/")


def rest_urls(venue: VenueName, default_api: dict[str, Any], rest_base: str) -> dict[str, Any]:
    """ccxt's ``urls['api']`` with every REST family moved onto ``rest_base`` (keeping each path).

    Binance families carry their path (``public`` -> ``/api/v3``, ``fapiPrivate`` -> ``/fapi/v1``);
    Bybit's are bare hosts. WebSocket entries (``ws``) are left to :func:`ws_urls`.
    """
    base = rest_base.rstrip("/")
    out: dict[str, Any] = {}
    for family, url in default_api.items():
        if family == "ws" or not isinstance(url, str):
            out[family] = url
        elif venue == "binance":
            out[family] = base + _path_of(url)
        else:
            out[family] = base
    return out


def ws_urls(venue: VenueName, market: Market, default_ws: dict[str, Any], ws_private: str) -> dict[str, Any]:
    """ccxt pro's ``urls['api']['ws']`` with the private stream of ``market`` on ``ws_private``.

    ``ws_private`` is the venue file's private WebSocket URL: Binance spot's WS-API
    (``wss://ws-api.binance.com:443/ws-api/v3``), Binance USD-M's user-stream base
    (``wss://fstream.binance.com/ws``: ccxt appends the listen key, or rewrites ``/ws`` to
    ``/private/ws``), Bybit's ``wss://stream.bybit.com/v5/private``.
    """
    ws = dict(default_ws)
    if venue == "binance":
        if market == "spot":
            ws["ws-api"] = {**ws.get("ws-api", {}), "spot": ws_private}
        else:
            ws["linear"] = ws_private
            ws["ws-api"] = {**ws.get("ws-api", {}), "linear": ws_private}
    else:
        private = dict(ws.get("private", {}))
        private["spot"] = {"unified": ws_private, "nonUnified": ws_private}
        private["contract"] = ws_private
        ws["private"] = private
    return ws


def make_exchange(
    venue: VenueName,
    market: Market,
    *,
    rest: str,
    ws_private: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    timeout_ms: int = 10_000,
    recv_window_ms: int = 5_000,
    session: Any = None,
    pro: bool = False,
) -> Any:
    """A ccxt async client (``pro=True``: with user streams) for ``venue``/``market`` on these URLs.

    ``session``: an ``aiohttp.ClientSession`` to send through (arb passes one with trace hooks that
    time each request); ccxt makes its own otherwise. The caller closes the client.
    """
    name = _CCXT_CLASS[(venue, market)]
    module = ccxt_pro if pro else ccxt_async
    options: dict[str, Any] = {"maxRetriesOnFailure": 0, "recvWindow": recv_window_ms}
    if venue == "binance":
        options.update(
            fetchCurrencies=False,
            fetchMargins=False,
            fetchMarkets={"types": [market]},
            warnOnFetchOpenOrdersWithoutSymbol=False,
        )
    else:
        options.update(
            fetchMarkets={"types": [market]},
            enableUnifiedAccount=True,
            enableUnifiedMargin=False,
            defaultType="spot" if market == "spot" else "swap",
        )
    config: dict[str, Any] = {"enableRateLimit": False, "timeout": timeout_ms, "options": options}
    if api_key is not None:
        config["apiKey"] = api_key
    if api_secret is not None:
        config["secret"] = api_secret
    if session is not None:
        config["session"] = session
    exchange = getattr(module, name)(config)
    api = rest_urls(venue, exchange.urls["api"], rest)
    if ws_private is not None and "ws" in api:
        api["ws"] = ws_urls(venue, market, api["ws"], ws_private)
    exchange.urls["api"] = api
    if venue == "bybit":
        exchange.has["fetchCurrencies"] = False  # Bybit has no option for it; skips /v5/asset/coin/query-info
    return exchange
